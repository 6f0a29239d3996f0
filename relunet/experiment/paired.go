package experiment

import (
	"fmt"
	"io"
	"math"
	"strings"
	"text/tabwriter"

	"gonum.org/v1/gonum/stat"
	"gonum.org/v1/gonum/stat/distuv"
)

// Significance is the level below which Paired calls a difference
// significant.
const Significance = 0.05

// Paired compares configuration A with configuration B on a data set, seed
// by seed. Runs with the same seed were trained on the same split (Compare
// and the command line tool prepare one split per seed), so their errors
// pair up, and the paired test takes out how hard each split is.
type Paired struct {
	Dataset string
	A, B    string // the configurations' labels
	// Train and Test compare the training and test MSE over the seeds
	// where both runs finished.
	Train, Test PairedStat
	// AFailed and BFailed count the seeds where only A, or only B, failed
	// (a diverged gradient method): they are in no statistic.
	AFailed, BFailed int
}

// PairedStat is the paired comparison of one error over N seeds.
type PairedStat struct {
	N int
	// Diff is the mean of A's error minus B's: negative when A's is lower.
	Diff float64
	// ALower and BLower count the seeds where A's error, or B's, is lower.
	ALower, BLower int
	// P is the two-sided p-value of the paired t-test of a zero mean
	// difference (which assumes normal differences); NaN below two seeds.
	P float64
}

// NewPairedStat returns the paired statistic of the errors a[i] and b[i].
func NewPairedStat(a, b []float64) PairedStat {
	if len(a) != len(b) {
		panic("experiment: NewPairedStat: lengths differ")
	}
	s := PairedStat{N: len(a), Diff: math.NaN(), P: math.NaN()}
	if s.N == 0 {
		return s
	}
	// The differences are taken on values divided by the largest magnitude,
	// so that errors near the limits of float64 neither overflow nor lose
	// the test: t does not depend on the scale.
	big := 0.0
	for i := range a {
		big = math.Max(big, math.Max(math.Abs(a[i]), math.Abs(b[i])))
	}
	if big == 0 || math.IsInf(big, 0) || math.IsNaN(big) {
		big = 1
	}
	d := make([]float64, len(a))
	for i := range a {
		d[i] = a[i]/big - b[i]/big
		switch {
		case d[i] < 0:
			s.ALower++
		case d[i] > 0:
			s.BLower++
		}
	}
	mean, sd := stat.MeanStdDev(d, nil)
	s.Diff = mean * big
	switch {
	case s.N < 2 || math.IsNaN(mean) || math.IsNaN(sd):
	case sd == 0 && mean == 0:
		s.P = 1
	case sd == 0:
		s.P = 0
	default:
		t := mean / (sd / math.Sqrt(float64(s.N)))
		s.P = 2 * distuv.StudentsT{Mu: 0, Sigma: 1, Nu: float64(s.N - 1)}.Survival(math.Abs(t))
	}
	return s
}

// Verdict says which configuration has the lower error and whether the
// difference is significant at the level Significance.
func (s PairedStat) Verdict(a, b string) string {
	switch {
	case s.N < 2 || math.IsNaN(s.P):
		return "too few seeds to test"
	case s.P >= Significance:
		return fmt.Sprintf("no significant difference (p = %s)", digits(s.P, 2))
	case s.Diff < 0:
		return fmt.Sprintf("%s lower (p = %s)", a, digits(s.P, 2))
	}
	return fmt.Sprintf("%s lower (p = %s)", b, digits(s.P, 2))
}

// PairedTests compares the configuration labelled a with every other
// configuration, per data set, over the seeds where both ran. Runs are
// matched by data set, label and seed, as Summarize groups them: results of
// configurations that differ only in what the label does not show (LR,
// Batch, Ridge, Budget, ...) must not be mixed in one call.
func PairedTests(results []*Result, a string) []Paired {
	type key struct {
		ds, label string
		seed      uint64
	}
	runs := map[key]*Result{}
	type pair struct{ ds, label string }
	var order []pair
	seen := map[pair]bool{}
	for _, r := range results {
		if r == nil {
			continue // no run
		}
		k := key{r.Dataset, r.Config.Label(), r.Config.Seed}
		runs[k] = r
		if p := (pair{r.Dataset, k.label}); k.label != a && !seen[p] {
			seen[p] = true
			order = append(order, p)
		}
	}
	var out []Paired
	for _, p := range order {
		pr := Paired{Dataset: p.ds, A: a, B: p.label}
		var atr, btr, ate, bte []float64
		found := false
		for _, r := range results {
			if r.Dataset != p.ds || r.Config.Label() != p.label {
				continue
			}
			ra := runs[key{p.ds, a, r.Config.Seed}]
			if ra == nil {
				continue
			}
			found = true
			switch {
			case ra.Failed() && r.Failed():
			case ra.Failed():
				pr.AFailed++
			case r.Failed():
				pr.BFailed++
			default:
				atr, btr = append(atr, ra.TrainMSE), append(btr, r.TrainMSE)
				if !math.IsNaN(ra.TestMSE) && !math.IsNaN(r.TestMSE) {
					ate, bte = append(ate, ra.TestMSE), append(bte, r.TestMSE)
				}
			}
		}
		if !found {
			continue
		}
		pr.Train, pr.Test = NewPairedStat(atr, btr), NewPairedStat(ate, bte)
		out = append(out, pr)
	}
	return out
}

// PairedTable returns the paired tests as a header and rows of text: data
// set, A, B, the seeds (and failures), then for the training and the test
// MSE the seeds on which A was lower, the mean difference A − B and the
// verdict.
func PairedTable(ps []Paired) (header []string, rows [][]string) {
	header = []string{"data", "A", "B", "seeds", "train: A lower", "mean A−B", "verdict", "test: A lower", "mean A−B", "verdict"}
	for _, p := range ps {
		seeds := fmt.Sprint(p.Train.N)
		if p.AFailed > 0 || p.BFailed > 0 {
			seeds += fmt.Sprintf(" (failed: A %d, B %d)", p.AFailed, p.BFailed)
		}
		trainVerdict, testVerdict := p.Train.Verdict("A", "B"), p.Test.Verdict("A", "B")
		if p.Train.N == 0 && p.BFailed > 0 && p.AFailed == 0 {
			trainVerdict, testVerdict = "B failed on every seed", "B failed on every seed"
		}
		rows = append(rows, []string{p.Dataset, p.A, p.B, seeds,
			fmt.Sprintf("%d of %d", p.Train.ALower, p.Train.N), Format(p.Train.Diff), trainVerdict,
			fmt.Sprintf("%d of %d", p.Test.ALower, p.Test.N), Format(p.Test.Diff), testVerdict})
	}
	return header, rows
}

// WritePaired writes the paired tests as an aligned text table (see
// PairedTable).
func WritePaired(w io.Writer, ps []Paired) error {
	header, rows := PairedTable(ps)
	return writeAligned(w, header, rows)
}

// writeAligned writes a header and rows as tab-aligned columns.
func writeAligned(w io.Writer, header []string, rows [][]string) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	return tw.Flush()
}
