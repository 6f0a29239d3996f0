package plots

import (
	"math"

	"github.com/relunet/relunet/relunet/experiment"
)

// Training draws the training curves of results: for every configuration
// its run with the given seed on the given data set (every data set when
// dataset is ""), against iterations or epochs (byIter) and against wall
// time (byTime). The series labelled study, when there is one, is drawn
// bold: the method the figure is about. A run that failed is drawn to its
// last finite point and marked there (a diverged gradient method, say);
// one that failed before it had a finite loss (refused for its cost or its
// memory) has no curve and is left out.
// The command line's compare -out and the notebooks draw their curves here.
func Training(results []*experiment.Result, dataset string, seed uint64, study string) (byIter, byTime *Figure, err error) {
	it, tm, title := trainingSeries(results, dataset, seed, study)
	if title != "" {
		title += ": "
	}
	if byIter, err = Lines(Axes{Title: title + "training MSE per iteration or epoch",
		X: "iteration or epoch + 1 (1 = the initial network)", Y: "training MSE", LogX: true, LogY: true}, it...); err != nil {
		return nil, nil, err
	}
	// A time of 0 (an initial network made in no measurable time) is left
	// out of the logarithmic axis.
	byTime, err = Lines(Axes{Title: title + "training MSE against wall time", X: "seconds", Y: "training MSE",
		LogX: true, LogY: true}, tm...)
	return byIter, byTime, err
}

// trainingSeries returns the series of Training, against iterations and
// against time, and the data set's name for the title.
func trainingSeries(results []*experiment.Result, dataset string, seed uint64, study string) (it, tm []Series, title string) {
	seen := map[string]bool{}
	title = dataset
	for _, r := range results {
		l := r.Config.Label()
		if dataset != "" && r.Dataset != dataset || r.Config.Seed != seed || seen[l] ||
			r.Failed() && !anyFinite(r.Curve) {
			continue
		}
		seen[l] = true
		if title == "" {
			title = r.Dataset
		}
		x := make([]float64, len(r.Curve))
		for i := range x {
			x[i] = float64(i + 1)
		}
		it = append(it, Series{Name: l, X: x, Y: r.Curve, Diverged: r.Failed(), Bold: l == study})
		tm = append(tm, Series{Name: l, X: r.CurveSeconds, Y: r.Curve, Diverged: r.Failed(), Bold: l == study})
	}
	return it, tm, title
}

// anyFinite reports whether some value of v is finite.
func anyFinite(v []float64) bool {
	for _, x := range v {
		if !math.IsNaN(x) && !math.IsInf(x, 0) {
			return true
		}
	}
	return false
}
