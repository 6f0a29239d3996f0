package experiment

import (
	"bytes"
	"context"
	"math"
	"slices"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/relunet/relunet/relunet"
	"github.com/relunet/relunet/relunet/data"
)

// bg is the context of the tests' runs: never cancelled.
var bg = context.Background()

func teacherSplit(t *testing.T) *Split { return teacherSplitOf(t, 300, 2, 3, 0.01, 4) }

// teacherSplitOf is the reference split of data.Teacher(n, d, h, noise, seed).
func teacherSplitOf(t *testing.T, n, d, h int, noise float64, seed uint64) *Split {
	t.Helper()
	ds, _, err := data.Teacher(n, d, h, noise, seed)
	if err != nil {
		t.Fatal(err)
	}
	sp, err := Prepare(ds, Reference())
	if err != nil {
		t.Fatal(err)
	}
	return sp
}

// A run's curve has one point per step, ends at the evaluated training MSE,
// and its metrics are those of the final network.
func TestRunContract(t *testing.T) {
	sp := teacherSplit(t)
	for _, label := range []string{"analytic", "analytic+safeguard", "sgd", "adam", "lbfgs", "lm"} {
		cfg := mustConfig(t, label, 8)
		cfg.Iterations = 12
		var calls int
		cfg.Progress = func(r relunet.Record, done, total int) {
			calls++
			if done != calls || total != 12 || r.Iter != done {
				t.Errorf("%s: progress %d of %d at record %d", label, done, total, r.Iter)
			}
		}
		r, err := Run(bg, sp, cfg)
		if err != nil {
			t.Fatalf("%s: %v", label, err)
		}
		if cfg.Label() != label || r.Config.Label() != label {
			t.Errorf("label %q, want %q", r.Config.Label(), label)
		}
		if len(r.Curve) != r.Iterations+1 || len(r.CurveSeconds) != len(r.Curve) || calls != r.Iterations {
			t.Errorf("%s: curve of %d points for %d steps, %d progress calls", label, len(r.Curve), r.Iterations, calls)
		}
		if r.Curve[len(r.Curve)-1] != r.TrainMSE {
			t.Errorf("%s: curve ends at %g, metrics say %g", label, r.Curve[len(r.Curve)-1], r.TrainMSE)
		}
		if math.IsNaN(r.TestMSE) || r.NTrain != 240 || r.NTest != 60 {
			t.Errorf("%s: test MSE %g, %d/%d rows", label, r.TestMSE, r.NTrain, r.NTest)
		}
		for i := 1; i < len(r.CurveSeconds); i++ {
			if r.CurveSeconds[i] < r.CurveSeconds[i-1] {
				t.Errorf("%s: time goes back at %d", label, i)
			}
		}
	}
}

// A diverging run is a result with Status Failure, its curve up to the
// last finite epoch, and undefined metrics.
func TestRunFailureIsAResult(t *testing.T) {
	sp := teacherSplit(t)
	cfg := Config{Method: relunet.MethodSGD, Hidden: 4}
	cfg.LR, cfg.Batch, cfg.Iterations = 1e6, 16, 20
	r, err := Run(bg, sp, cfg)
	if err == nil || r == nil || r.Status != relunet.Failure || r.Err != err || !r.Failed() {
		t.Fatalf("result %+v, error %v", r, err)
	}
	if !math.IsNaN(r.TrainMSE) || len(r.Curve) != r.Iterations+1 {
		t.Errorf("metrics %+v, curve %v after %d epochs", r.Metrics, r.Curve, r.Iterations)
	}
	for _, v := range r.Curve {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			t.Errorf("curve %v: the diverged epoch is drawn", r.Curve)
		}
	}
	sums := Summarize([]*Result{r})
	if sums[0].Failed != 1 || sums[0].TrainMSE.N != 0 || sums[0].TrainMSE.String() != "n/a (no run)" {
		t.Errorf("summary %+v", sums[0])
	}
}

// Undefined metrics (a constant target) are NaN, never a crash, and print
// as "n/a".
func TestUndefinedMetrics(t *testing.T) {
	X := mat.NewDense(5, 1, []float64{1, 2, 3, 4, 5})
	Y := mat.NewDense(5, 1, []float64{5, 5, 5, 5, 5})
	sp, err := Prepare(&data.Dataset{Name: "c5", X: X, Y: Y}, Reference())
	if err != nil {
		t.Fatal(err)
	}
	r, err := Run(bg, sp, Config{Method: relunet.MethodAnalytic, Hidden: 2})
	if err != nil {
		t.Fatal(err)
	}
	if !math.IsNaN(r.TrainR2) || !math.IsNaN(r.TestR2) || r.TrainMSE != 0 {
		t.Errorf("metrics %+v", r.Metrics)
	}
	if Finite(r.TrainR2) != nil || Format(r.TrainR2) != "n/a" {
		t.Error("an undefined R² is not null / n/a")
	}
	var b bytes.Buffer
	if err := WriteTable(&b, Summarize([]*Result{r})); err != nil || !strings.Contains(b.String(), "n/a") {
		t.Errorf("table %q, %v", b.String(), err)
	}
}

// Compare runs every configuration on the same split per seed, and
// Summarize gives each its mean ± sd, computed from the runs.
func TestCompareAndSummarize(t *testing.T) {
	ds, _, err := data.Teacher(200, 2, 3, 0.05, 1)
	if err != nil {
		t.Fatal(err)
	}
	var cfgs []Config
	for _, l := range []string{"analytic", "lbfgs"} {
		c := mustConfig(t, l, 4)
		c.Iterations = 5
		cfgs = append(cfgs, c)
	}
	done := 0
	seeds, err := Seeds(3, 3)
	if err != nil {
		t.Fatal(err)
	}
	res, err := Compare(bg, ds, Reference(), cfgs, seeds, func(d, total int, _ *Result) {
		done++
		if d != done || total != 6 {
			t.Errorf("progress %d of %d", d, total)
		}
	})
	if err != nil || len(res) != 6 {
		t.Fatalf("%d results, %v", len(res), err)
	}
	for i, r := range res {
		if want := uint64(3 + i/2); r.Config.Seed != want {
			t.Errorf("result %d has seed %d, want %d", i, r.Config.Seed, want)
		}
	}
	sums := Summarize(res)
	if len(sums) != 2 || sums[0].Label != "analytic" || sums[1].Label != "lbfgs" || sums[0].Runs != 3 {
		t.Fatalf("summaries %+v", sums)
	}
	var v []float64
	for _, r := range res {
		if r.Config.Label() == "analytic" {
			v = append(v, r.TrainMSE)
		}
	}
	mean := (v[0] + v[1] + v[2]) / 3
	sd := math.Sqrt(((v[0]-mean)*(v[0]-mean) + (v[1]-mean)*(v[1]-mean) + (v[2]-mean)*(v[2]-mean)) / 2)
	if s := sums[0].TrainMSE; math.Abs(s.Mean-mean) > 1e-15*mean || math.Abs(s.SD-sd) > 1e-12*sd || s.N != 3 {
		t.Errorf("train MSE %+v, want %v ± %v", s, mean, sd)
	}
}

// Results survive the JSON round trip, failures and undefined values
// included.
func TestJSONRoundTrip(t *testing.T) {
	sp := teacherSplit(t)
	ok, err := Run(bg, sp, Config{Method: relunet.MethodAnalytic, Hidden: 3, Ridge: 1e-3, Iterations: 4, Safeguard: true})
	if err != nil {
		t.Fatal(err)
	}
	bad, err := Run(bg, sp, Config{Method: relunet.MethodSGD, Hidden: 3, LR: 1e6, Batch: 8, Iterations: 5})
	if bad == nil || !bad.Failed() {
		t.Fatalf("the diverging run: %v, %v", bad, err)
	}
	var b bytes.Buffer
	if err := WriteJSON(&b, []*Result{ok, bad}); err != nil {
		t.Fatal(err)
	}
	back, err := ReadJSON(&b)
	if err != nil || len(back) != 2 {
		t.Fatalf("%d results, %v", len(back), err)
	}
	for i, r := range []*Result{ok, bad} {
		g := back[i]
		if g.Config.Label() != r.Config.Label() || g.Status != r.Status || g.Failed() != r.Failed() || g.Iterations != r.Iterations ||
			len(g.Curve) != len(r.Curve) || !sameFloat(g.TrainMSE, r.TrainMSE) || !sameFloat(g.TestR2, r.TestR2) || g.Config.LR != r.Config.LR {
			t.Errorf("result %d: %+v, want %+v", i, g, r)
		}
		for k := range r.Curve {
			if !sameFloat(g.Curve[k], r.Curve[k]) && !(math.IsInf(r.Curve[k], 0) && math.IsNaN(g.Curve[k])) {
				t.Errorf("result %d: curve[%d] %v, want %v", i, k, g.Curve[k], r.Curve[k])
			}
		}
	}
}

func sameFloat(a, b float64) bool { return a == b || math.IsNaN(a) && math.IsNaN(b) }

// Summaries are scale-free: values near the limits of float64 give a
// finite mean and deviation, and a deviation beyond it is told as such.
func TestStatScaleFree(t *testing.T) {
	s := NewStat([]float64{1e300, 3e300})
	if s.Mean != 2e300 || math.Abs(s.SD-math.Sqrt2*1e300) > 1e285 || strings.Contains(s.String(), "Inf") || strings.Contains(s.String(), "NaN") {
		t.Errorf("stat %+v, %s", s, s)
	}
	huge := NewStat([]float64{-1.7e308, 1.7e308})
	if huge.String() != "0 ± n/a (overflow)" {
		t.Errorf("a deviation beyond float64: %s", huge)
	}
	p := NewPairedStat([]float64{9e299, 9.1e299, 9.3e299}, []float64{1e300, 1.05e300, 1.1e300})
	if math.IsNaN(p.P) || p.P <= 0 || p.P >= 1 || p.ALower != 3 {
		t.Errorf("paired at 1e300: %+v", p)
	}
	for _, c := range []struct {
		v    []float64
		want string
	}{
		{nil, "n/a (no run)"},
		{[]float64{math.NaN(), math.NaN()}, "n/a (undefined)"},
		{[]float64{math.NaN(), 1}, "1 (1 of 2 runs)"},
		{[]float64{1, math.Inf(1), 3}, "2 ± 1.4 (2 of 3 runs)"},
		{[]float64{2}, "2 (1 run)"},
	} {
		if got := NewStat(c.v).String(); got != c.want {
			t.Errorf("%v: %q, want %q", c.v, got, c.want)
		}
	}
}

func TestLowest(t *testing.T) {
	st := func(m float64) Stat { return Stat{Mean: m, N: 3} }
	sums := []Summary{
		{Dataset: "a", Label: "x", TrainMSE: st(2), TestMSE: st(5)},
		{Dataset: "b", Label: "x", TrainMSE: st(1), TestMSE: st(1)},
		{Dataset: "a", Label: "y", TrainMSE: st(1), TestMSE: st(6)},
		{Dataset: "a", Label: "z", Failed: 3, TrainMSE: Stat{}, TestMSE: Stat{}},
		{Dataset: "c", Label: "z", Failed: 3},
	}
	sets, train, test := Lowest(sums)
	if !slices.Equal(sets, []string{"a", "b", "c"}) || !slices.Equal(train, []string{"y", "x", ""}) || !slices.Equal(test, []string{"x", "x", ""}) {
		t.Errorf("Lowest: %v %v %v", sets, train, test)
	}
}
