package plots

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/relunet/relunet/relunet"
	"github.com/relunet/relunet/relunet/experiment"
)

// The training curves: one series per configuration for the seed and data
// set asked for, the study bold; a run that diverged is drawn and marked,
// one refused before its first loss (no curve to draw) is left out, also
// when it was read back from a results file, where errors are text.
func TestTrainingSeries(t *testing.T) {
	run := func(label, dataset string, seed uint64, err error) *experiment.Result {
		c, perr := experiment.ParseConfig(label, 4)
		if perr != nil {
			t.Fatal(perr)
		}
		c.Seed = seed
		r := &experiment.Result{Dataset: dataset, Config: c, Err: err, Curve: []float64{3, 2, 1}, CurveSeconds: []float64{0.1, 0.2, 0.3}}
		switch {
		case err == nil:
		case strings.Contains(err.Error(), "diverged"):
			r.Curve, r.CurveSeconds = []float64{3, math.Inf(1)}, []float64{0.1, 0.2}
		default:
			r.Curve, r.CurveSeconds = []float64{math.NaN()}, []float64{0.1}
		}
		return r
	}
	diverged := errors.New((&relunet.DivergedError{Method: relunet.MethodSGD, Epoch: 2, LR: 0.03, Loss: math.Inf(1)}).Error())
	results := []*experiment.Result{
		run("analytic+auto", "bike", 0, nil),
		run("sgd", "bike", 0, diverged),
		run("lm", "bike", 0, errors.New("experiment: lm: one LM step is too long for the budget")),
		run("adam", "bike", 1, nil),          // another seed
		run("adam", "abalone", 0, nil),       // another data set
		run("analytic+auto", "bike", 0, nil), // a second run of one configuration
	}
	it, tm, title := trainingSeries(results, "bike", 0, "analytic+auto")
	if title != "bike" || len(it) != 2 || len(tm) != 2 {
		t.Fatalf("title %q, %d and %d series; want bike, 2 and 2", title, len(it), len(tm))
	}
	for i, want := range []struct {
		name           string
		diverged, bold bool
	}{{"analytic+auto", false, true}, {"sgd", true, false}} {
		for _, s := range []Series{it[i], tm[i]} {
			if s.Name != want.name || s.Diverged != want.diverged || s.Bold != want.bold {
				t.Errorf("series %d: %s, diverged %v, bold %v; want %+v", i, s.Name, s.Diverged, s.Bold, want)
			}
		}
	}
	if it[0].X[0] != 1 || tm[0].X[2] != 0.3 {
		t.Errorf("x of the first series: %v by iteration, %v by time", it[0].X, tm[0].X)
	}
}
