package experiment

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/relunet/relunet/relunet"
)

// Every label that Label writes, ParseConfig reads back as the same
// configuration; labels that name nothing are errors.
func TestLabelsRoundTrip(t *testing.T) {
	for _, label := range []string{
		"analytic", "analytic+safeguard", "analytic+datainit", "analytic+restarts", "analytic+restarts=4",
		BudgetLabel, "analytic+polish=lbfgs", "analytic+explore+restarts=2", "analytic+restarts+parallel=2", "analytic+safeguard+datainit+restarts+polish=lm", "sgd", "adam", "lbfgs", "lm",
		"analytic+damping=0.01", "analytic+damping=0.001+balance+datainit+restarts", "analytic+safeguard+balance+explore+restarts",
		"analytic+damping=0.01/0.001+balance+datainit+restarts",
	} {
		c, err := ParseConfig(label, 4)
		if err != nil {
			t.Fatalf("%s: %v", label, err)
		}
		if c.Label() != label {
			t.Errorf("ParseConfig(%q).Label() = %q", label, c.Label())
		}
	}
	for _, tc := range []struct{ label, why string }{
		{"analytic+restarts=1", "from 2"}, {"analytic+restarts=x", "from 2"}, {"analytic+polish=sgd", "polish=lbfgs or polish=lm"},
		{"analytic+polish=analytic", "polish=lbfgs or polish=lm"}, {"sgd+restarts", "takes no option"}, {"lbfgs+polish=lm", "takes no option"},
		{"analytic+fast", "no option"}, {"analytic+restarts+parallel=1", "from 2"}, {"analytic+parallel=5", "need restarts"},
		{"analytic+restarts+parallel=4611686018427387904", "to 64"}, {"analytic+restarts+parallel=2147483648", "to 64"},
		{"analytic+safeguard+safeguard", "safeguard is given twice"}, {"analytic+polish=lbfgs+polish=lm", "polish is given twice"},
		{"analytic+restarts=3+restarts", "restarts is given twice"}, {"newton", "unknown method"},
		{"sgd+balance", "takes no option"}, {"analytic+auto+balance", "give it alone"},
		{"analytic+damping=0.01/", "X/Y"}, {"analytic+damping=0.01/-1", "X/Y"}, {"analytic+damping=/0.01", "X/Y"},
		{"analytic+damping=0.01/0.001/0.1", "X/Y"}, {"analytic+damping=0.01/1e13", "X/Y"},
	} {
		if _, err := ParseConfig(tc.label, 4); err == nil || !strings.Contains(err.Error(), tc.label) || !strings.Contains(err.Error(), tc.why) {
			t.Errorf("ParseConfig(%q): error %v, want one naming the label and saying %q", tc.label, err, tc.why)
		}
	}
	if c := mustConfig(t, "analytic+damping=0.01/0.001", 4); c.Damping != 0.01 || c.AltDamping != 0.001 {
		t.Errorf("damping=0.01/0.001: Damping %v, AltDamping %v", c.Damping, c.AltDamping)
	}
	// A Config made in code: a second damping needs a first, which its
	// label would not show otherwise.
	for _, c := range []Config{{Hidden: 4, AltDamping: 0.001}, {Hidden: 4, Damping: 0.01, AltDamping: -1}, {Hidden: 4, Damping: 0.01, AltDamping: math.NaN()}} {
		if _, err := Run(bg, teacherSplit(t), c); err == nil || !strings.Contains(err.Error(), "AltDamping") {
			t.Errorf("Damping %v, AltDamping %v: error %v, want one naming AltDamping", c.Damping, c.AltDamping, err)
		}
	}
	c := mustConfig(t, "analytic+restarts", 4)
	if _, err := Run(bg, teacherSplit(t), c); err == nil || !strings.Contains(err.Error(), "Budget") {
		t.Errorf("restarts without a count and without a budget: error %v", err)
	}
}

// mustConfig returns the configuration of a label.
func mustConfig(t testing.TB, label string, h int) Config {
	t.Helper()
	c, err := ParseConfig(label, h)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// mustRun runs the configuration, failing the test on an error.
func mustRun(t testing.TB, sp *Split, cfg Config) *Result {
	t.Helper()
	r, err := Run(bg, sp, cfg)
	if err != nil {
		t.Fatalf("%s: %v", cfg.Label(), err)
	}
	return r
}

// The paper's comparison: five labels, each method's length where it was
// given one and its default where it was not.
func TestPaperComparison(t *testing.T) {
	cs, err := PaperComparison(16, 60, 150)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int{"analytic": 0, "analytic+safeguard": 0, "sgd": 60, "adam": 60, "lbfgs": 150}
	if len(cs) != len(want) {
		t.Fatalf("%d configurations, want %d", len(cs), len(want))
	}
	for _, c := range cs {
		if it, ok := want[c.Label()]; !ok || c.Iterations != it || c.Hidden != 16 {
			t.Errorf("%s: %d iterations, %d hidden units; want %d and 16", c.Label(), c.Iterations, c.Hidden, it)
		}
	}
	if _, err := PaperComparison(16, -1, 0); err == nil {
		t.Error("negative epochs accepted")
	}
	if _, err := ParseConfig("analytic", 0); err == nil {
		t.Error("a label with no hidden units accepted")
	}
}

// With restarts, the run keeps the start with the lowest training MSE: it
// equals the lowest of the same starts run one by one (start k seeded by
// RestartSeed), and its curve is the lowest so far, so it never rises.
func TestRestartsKeepTheBest(t *testing.T) {
	sp := teacherSplit(t)
	cfg := mustConfig(t, "analytic+restarts=3", 8)
	cfg.Seed, cfg.Iterations = 5, 6
	r := mustRun(t, sp, cfg)
	lowest, steps := math.Inf(1), 0
	for k := 0; k < 3; k++ {
		one := Config{Method: relunet.MethodAnalytic, Hidden: 8}
		one.Seed, one.Iterations = RestartSeed(5, k), 6
		s, err := one.Solver(bg, sp.XTrain, sp.YTrain)
		if err != nil {
			t.Fatal(err)
		}
		for s.Step() {
			steps++
		}
		m, err := sp.Evaluate(s.Best().Net)
		if err != nil {
			t.Fatal(err)
		}
		lowest = math.Min(lowest, m.TrainMSE)
	}
	if r.Starts != 3 || r.Iterations != steps || len(r.Curve) != steps+3 {
		t.Errorf("%d starts, %d steps, %d curve points; want 3, %d, %d", r.Starts, r.Iterations, len(r.Curve), steps, steps+3)
	}
	if math.Abs(r.TrainMSE-lowest) > 1e-12*lowest {
		t.Errorf("kept training MSE %v, the best start's is %v", r.TrainMSE, lowest)
	}
	curveNeverRises(t, r, 0, 0)
	if math.Abs(r.Curve[len(r.Curve)-1]-r.TrainMSE) > 1e-9*r.TrainMSE {
		t.Errorf("curve ends at %v, metrics say %v", r.Curve[len(r.Curve)-1], r.TrainMSE)
	}
}

// A polish starts from the kept analytic network, and L-BFGS's line search
// and LM's damping accept only steps that lower the loss: the polished
// training MSE is at most the analytic one, and the polish stage's curve
// does not rise.
func TestPolishStartsFromTheAnalyticNetwork(t *testing.T) {
	sp := teacherSplit(t)
	base := Config{Method: relunet.MethodAnalytic, Hidden: 6}
	base.Iterations, base.Safeguard = 8, true
	plain := mustRun(t, sp, base)
	for _, p := range []Polish{PolishLBFGS, PolishLM} {
		cfg := base
		cfg.Polish = p
		r := mustRun(t, sp, cfg)
		if math.Abs(r.Curve[plain.Iterations+1]-plain.TrainMSE) > 1e-9*plain.TrainMSE {
			t.Errorf("%v: polish starts at %v, the analytic run ended at %v", p, r.Curve[plain.Iterations+1], plain.TrainMSE)
		}
		curveNeverRises(t, r, plain.Iterations+1, 1e-12)
		if !(r.TrainMSE <= plain.TrainMSE*(1+1e-12)) || r.Iterations <= plain.Iterations {
			t.Errorf("%v: polished training MSE %v after %d steps, analytic %v after %d", p, r.TrainMSE, r.Iterations, plain.TrainMSE, plain.Iterations)
		}
	}
}

// A budget bounds the wall time: no step starts after it and the one under
// way is abandoned, so that no curve point comes later than the budget
// (but for the moment of recording a step that ended just in time), and a
// run that it stops says so with RuntimeLimit and has used all of it
// (restarts without a count use it all, whatever the speed of the machine;
// L-BFGS may stop sooner on its own).
func TestBudget(t *testing.T) {
	sp := teacherSplit(t)
	// Long enough that a start is made within it on a loaded machine.
	const budget = 400 * time.Millisecond
	const slack = time.Second // the time to record a point, on a loaded machine
	for _, label := range []string{"sgd", "analytic+safeguard+restarts", "analytic+restarts+polish=lbfgs", "lm"} {
		cfg := mustConfig(t, label, 8)
		cfg.Budget = budget
		r := mustRun(t, sp, cfg)
		n := len(r.CurveSeconds)
		// L-BFGS and LM may stop by their own rules before the budget.
		own := r.Status == relunet.NoProgress || r.Status == relunet.Converged
		stopped := r.Status == relunet.RuntimeLimit || (cfg.Polish != NoPolish || cfg.Method == relunet.MethodLM) && own
		if !stopped || r.CurveSeconds[n-1] > (budget+slack).Seconds() {
			t.Errorf("%s: status %v, last point at %v s, budget %v", label, r.Status, r.CurveSeconds[n-1], budget)
		}
		// Seconds is the run's wall time: a run the budget stopped used all
		// of it, whenever its last step ended (with a polish, RuntimeLimit
		// may be the analytic stage's, and the polish stop on its own).
		if r.Seconds < r.CurveSeconds[n-1] || r.Status == relunet.RuntimeLimit && cfg.Polish == NoPolish && r.Seconds < budget.Seconds() {
			t.Errorf("%s: status %v, %v s, last point at %v s, budget %v", label, r.Status, r.Seconds, r.CurveSeconds[n-1], budget)
		}
	}
}

// A run whose context ends (an interrupt) is no result: Run returns the
// context's error, at once, whatever the configuration.
func TestRunStopsWhenCancelled(t *testing.T) {
	sp := teacherSplit(t)
	for _, label := range []string{"analytic+safeguard+restarts", "sgd", "lbfgs", "lm"} {
		cfg := mustConfig(t, label, 8)
		cfg.Budget = time.Hour
		ctx, cancel := context.WithCancelCause(context.Background())
		stop := errors.New("interrupted")
		cfg.Progress = func(_ relunet.Record, done, _ int) {
			if done == 3 {
				cancel(stop)
			}
		}
		start := time.Now()
		r, err := Run(ctx, sp, cfg)
		if r != nil || !errors.Is(err, stop) {
			t.Errorf("%s: result %v, error %v", label, r, err)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("%s: stopped after %v", label, d)
		}
	}
}

// A budgeted LM run whose single step cannot end within the budget fails
// at once with a message that says why, as a result.
func TestLMBeyondTheBudget(t *testing.T) {
	sp := teacherSplit(t)
	cfg := Config{Method: relunet.MethodLM, Hidden: 2000}
	cfg.Budget = time.Millisecond
	r, err := Run(bg, sp, cfg)
	if r == nil || !r.Failed() || err == nil || !strings.Contains(err.Error(), "multiply-adds") || r.Seconds > 1 {
		t.Fatalf("result %+v, error %v", r, err)
	}
}

// The paired t-test on a hand-computed case: differences -1, -2, -2 have
// mean -5/3 and standard error 1/3, so t = -5 with 2 degrees of freedom,
// whose two-sided p-value is 1 - 5/√27 in closed form.
func TestPairedStat(t *testing.T) {
	s := NewPairedStat([]float64{1, 2, 3}, []float64{2, 4, 5})
	if s.N != 3 || s.ALower != 3 || s.BLower != 0 || math.Abs(s.Diff+5.0/3) > 1e-15 {
		t.Errorf("stat %+v", s)
	}
	if want := 1 - 5/math.Sqrt(27); math.Abs(s.P-want) > 1e-12 {
		t.Errorf("p = %v, want %v", s.P, want)
	}
	if v := s.Verdict("A", "B"); !strings.HasPrefix(v, "A lower") {
		t.Errorf("verdict %q", v)
	}
	if v := NewPairedStat([]float64{1, 3}, []float64{2, 2}).Verdict("A", "B"); !strings.HasPrefix(v, "no significant") {
		t.Errorf("verdict %q for differences -1 and 1", v)
	}
	if s := NewPairedStat([]float64{1}, []float64{2}); !math.IsNaN(s.P) {
		t.Errorf("one pair: p = %v", s.P)
	}
}

// PairedTests pairs runs by seed and counts a failed run against the
// configuration that failed, outside the statistics.
func TestPairedTests(t *testing.T) {
	sp := teacherSplit(t)
	var results []*Result
	for seed := uint64(0); seed < 3; seed++ {
		for _, label := range []string{"analytic", "sgd"} {
			cfg := mustConfig(t, label, 4)
			cfg.Seed, cfg.Iterations = seed, 5
			if label == "sgd" && seed == 2 {
				cfg.LR = 1e200 // diverges
			}
			r, err := Run(bg, sp, cfg)
			if r == nil {
				t.Fatal(err)
			}
			results = append(results, r)
		}
	}
	ps := PairedTests(results, "analytic")
	if len(ps) != 1 || ps[0].B != "sgd" || ps[0].Train.N != 2 || ps[0].BFailed != 1 || ps[0].AFailed != 0 {
		t.Fatalf("paired %+v", ps)
	}
	var a, b []float64
	for i := 0; i < 4; i += 2 {
		a, b = append(a, results[i].TrainMSE), append(b, results[i+1].TrainMSE)
	}
	if want := NewPairedStat(a, b); ps[0].Train != want {
		t.Errorf("train %+v, want %+v", ps[0].Train, want)
	}
}

// Explore runs the plain alternation, then the safeguarded one from its
// best network: the result is at most the plain stage's best, and the curve
// (the lowest so far) never rises.
func TestExplore(t *testing.T) {
	sp := teacherSplit(t)
	cfg := mustConfig(t, "analytic+explore", 8)
	cfg.Seed, cfg.Iterations = 2, 15
	r := mustRun(t, sp, cfg)
	plain := Config{Method: relunet.MethodAnalytic, Hidden: 8, Seed: 2, Iterations: 15}
	s, err := plain.Solver(bg, sp.XTrain, sp.YTrain)
	if err != nil {
		t.Fatal(err)
	}
	for s.Step() {
	}
	m, err := sp.Evaluate(s.Best().Net)
	if err != nil {
		t.Fatal(err)
	}
	if !(r.TrainMSE <= m.TrainMSE*(1+1e-12)) || r.Iterations <= s.Last().Iter || r.Starts != 1 {
		t.Errorf("explore: training MSE %v after %d steps; the plain stage's best %v after %d", r.TrainMSE, r.Iterations, m.TrainMSE, s.Last().Iter)
	}
	curveNeverRises(t, r, 0, 0)
}

// A configuration that failed on every seed is named so in the table, not
// left as a test with too few seeds.
func TestPairedTableAllFailed(t *testing.T) {
	sp := teacherSplit(t)
	var results []*Result
	for seed := uint64(0); seed < 2; seed++ {
		a := Config{Method: relunet.MethodAnalytic, Hidden: 4, Seed: seed, Iterations: 3}
		b := Config{Method: relunet.MethodSGD, Hidden: 4, Seed: seed, Iterations: 3, LR: 1e200}
		ra := mustRun(t, sp, a)
		rb, err := Run(bg, sp, b)
		if rb == nil || !rb.Failed() {
			t.Fatalf("the diverging run: %v, %v", rb, err)
		}
		results = append(results, ra, rb)
	}
	_, rows := PairedTable(PairedTests(results, "analytic"))
	if len(rows) != 1 || rows[0][3] != "0 (failed: A 0, B 2)" || rows[0][6] != "B failed on every seed" {
		t.Errorf("rows %q", rows)
	}
}

// Parallel starts keep the same network as the same starts one after the
// other (the lowest training MSE, the lowest-numbered start among equals),
// and count every start and step.
func TestParallelStarts(t *testing.T) {
	sp := teacherSplit(t)
	cfg := mustConfig(t, "analytic+safeguard+restarts=5", 8)
	cfg.Seed, cfg.Iterations = 3, 6
	one := mustRun(t, sp, cfg)
	cfg.Parallel = 3
	par := mustRun(t, sp, cfg)
	if par.TrainMSE != one.TrainMSE || par.TestMSE != one.TestMSE || par.Starts != 5 || par.Iterations != one.Iterations {
		t.Errorf("parallel: training MSE %v, test %v, %d starts, %d steps; one at a time: %v, %v, %d, %d",
			par.TrainMSE, par.TestMSE, par.Starts, par.Iterations, one.TrainMSE, one.TestMSE, one.Starts, one.Iterations)
	}
	curveNeverRises(t, par, 0, 0)
}

// curveNeverRises checks that a run's curve, from point from on, neither
// rises by more than the relative tol nor goes back in time.
func curveNeverRises(t *testing.T, r *Result, from int, tol float64) {
	t.Helper()
	for i := from + 1; i < len(r.Curve); i++ {
		if r.Curve[i] > r.Curve[i-1]*(1+tol) || r.CurveSeconds[i] < r.CurveSeconds[i-1] {
			t.Errorf("%s: curve point %d: %v at %v s after %v at %v s", r.Config.Label(), i, r.Curve[i], r.CurveSeconds[i], r.Curve[i-1], r.CurveSeconds[i-1])
		}
	}
}

// FuzzLabels parses arbitrary labels: each is refused with an error that
// names it, or is a configuration whose Label reads back as the same one
// and whose settings can run (given a budget, which "restarts" needs).
func FuzzLabels(f *testing.F) {
	for _, l := range []string{"analytic", BudgetLabel, "analytic+explore+restarts=3+parallel=2+polish=lm", "sgd", "lm",
		"analytic+restarts=99999999999999999999", "analytic+parallel=2", "analytic++safeguard", "analytic+polish=", "+", "analytic+restarts=-5"} {
		f.Add(l)
	}
	f.Fuzz(func(t *testing.T, label string) {
		c, err := ParseConfig(label, 4)
		if err != nil {
			if !strings.Contains(err.Error(), fmt.Sprintf("%q", label)) {
				t.Fatalf("%q: the error does not name the label: %v", label, err)
			}
			return
		}
		c.Budget = time.Second
		if err := c.check(); err != nil {
			t.Fatalf("%q: accepted, but cannot run: %v", label, err)
		}
		back, err := ParseConfig(c.Label(), 4)
		if err != nil || back.Label() != c.Label() {
			t.Fatalf("%q: Label %q reads back as %q, %v", label, c.Label(), back.Label(), err)
		}
	})
}
