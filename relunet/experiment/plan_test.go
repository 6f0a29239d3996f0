package experiment

import (
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
	} {
		c, err := ParseConfig(label, 4)
		if err != nil {
			t.Fatalf("%s: %v", label, err)
		}
		if c.Label() != label {
			t.Errorf("ParseConfig(%q).Label() = %q", label, c.Label())
		}
	}
	for _, bad := range []string{"analytic+restarts=1", "analytic+restarts=x", "analytic+polish=sgd", "analytic+polish=analytic", "sgd+restarts", "lbfgs+polish=lm", "analytic+fast", "analytic+restarts+parallel=1"} {
		if _, err := ParseConfig(bad, 4); err == nil || !strings.Contains(err.Error(), bad) {
			t.Errorf("ParseConfig(%q): error %v, want one naming the label", bad, err)
		}
	}
	c, _ := ParseConfig("analytic+restarts", 4)
	if _, err := Run(teacherSplit(t), c); err == nil || !strings.Contains(err.Error(), "Budget") {
		t.Errorf("restarts without a count and without a budget: error %v", err)
	}
	c, _ = ParseConfig("analytic+parallel=2", 4)
	if _, err := Run(teacherSplit(t), c); err == nil || !strings.Contains(err.Error(), "need restarts") {
		t.Errorf("parallel starts without restarts: error %v", err)
	}
}

// With restarts, the run keeps the start with the lowest training MSE: it
// equals the lowest of the same starts run one by one (start k seeded by
// RestartSeed), and its curve is the lowest so far, so it never rises.
func TestRestartsKeepTheBest(t *testing.T) {
	sp := teacherSplit(t)
	cfg, _ := ParseConfig("analytic+restarts=3", 8)
	cfg.Seed, cfg.Iterations = 5, 6
	r, err := Run(sp, cfg)
	if err != nil {
		t.Fatal(err)
	}
	lowest, steps := math.Inf(1), 0
	for k := 0; k < 3; k++ {
		one := DefaultConfig(relunet.MethodAnalytic, 8)
		one.Seed, one.Iterations = RestartSeed(5, k), 6
		s, err := one.Solver(sp.XTrain, sp.YTrain)
		if err != nil {
			t.Fatal(err)
		}
		for s.Step() {
			steps++
		}
		net, _, _ := s.Best()
		m, err := sp.Evaluate(net)
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
	base := DefaultConfig(relunet.MethodAnalytic, 6)
	base.Iterations, base.Safeguard = 8, true
	plain, err := Run(sp, base)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []relunet.Method{relunet.MethodLBFGS, relunet.MethodLM} {
		cfg := base
		cfg.Polish = p
		r, err := Run(sp, cfg)
		if err != nil {
			t.Fatalf("%v: %v", p, err)
		}
		if math.Abs(r.Curve[plain.Iterations+1]-plain.TrainMSE) > 1e-9*plain.TrainMSE {
			t.Errorf("%v: polish starts at %v, the analytic run ended at %v", p, r.Curve[plain.Iterations+1], plain.TrainMSE)
		}
		curveNeverRises(t, r, plain.Iterations+1, 1e-12)
		if !(r.TrainMSE <= plain.TrainMSE*(1+1e-12)) || r.Iterations <= plain.Iterations {
			t.Errorf("%v: polished training MSE %v after %d steps, analytic %v after %d", p, r.TrainMSE, r.Iterations, plain.TrainMSE, plain.Iterations)
		}
	}
}

// A budget bounds the wall time: no step starts after it, and a run that
// it stops says so with RuntimeLimit (restarts without a count use it all,
// whatever the speed of the machine; L-BFGS may stop sooner on its own).
func TestBudget(t *testing.T) {
	sp := teacherSplit(t)
	const budget = 150 * time.Millisecond
	for _, label := range []string{"sgd", "analytic+safeguard+restarts", "analytic+restarts+polish=lbfgs"} {
		cfg, _ := ParseConfig(label, 8)
		cfg.Budget = budget
		r, err := Run(sp, cfg)
		if err != nil {
			t.Fatalf("%s: %v", label, err)
		}
		n := len(r.CurveSeconds)
		stopped := r.Status == relunet.RuntimeLimit && r.CurveSeconds[n-1] >= budget.Seconds()
		if cfg.Polish != relunet.MethodAnalytic && r.Status == relunet.NoProgress {
			stopped = true
		}
		if !stopped || (n > 1 && r.CurveSeconds[n-2] >= budget.Seconds()) {
			t.Errorf("%s: status %v, last points at %v s and %v s, budget %v", label, r.Status, r.CurveSeconds[max(n-2, 0)], r.CurveSeconds[n-1], budget)
		}
	}
}

// A budgeted LM run whose single step cannot end within the budget fails
// at once with a message that says why, as a result.
func TestLMBeyondTheBudget(t *testing.T) {
	sp := teacherSplit(t)
	cfg := DefaultConfig(relunet.MethodLM, 2000)
	cfg.Budget = time.Millisecond
	r, err := Run(sp, cfg)
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
			cfg, _ := ParseConfig(label, 4)
			cfg.Seed, cfg.Iterations = seed, 5
			if label == "sgd" && seed == 2 {
				cfg.LR = 1e200 // diverges
			}
			r, _ := Run(sp, cfg)
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
	cfg, _ := ParseConfig("analytic+explore", 8)
	cfg.Seed, cfg.Iterations = 2, 15
	r, err := Run(sp, cfg)
	if err != nil {
		t.Fatal(err)
	}
	plain := DefaultConfig(relunet.MethodAnalytic, 8)
	plain.Seed, plain.Iterations = 2, 15
	s, _ := plain.Solver(sp.XTrain, sp.YTrain)
	for s.Step() {
	}
	net, _, _ := s.Best()
	m, _ := sp.Evaluate(net)
	if !(r.TrainMSE <= m.TrainMSE*(1+1e-12)) || r.Iterations <= s.Iter() || r.Starts != 1 {
		t.Errorf("explore: training MSE %v after %d steps; the plain stage's best %v after %d", r.TrainMSE, r.Iterations, m.TrainMSE, s.Iter())
	}
	curveNeverRises(t, r, 0, 0)
}

// A configuration that failed on every seed is named so in the table, not
// left as a test with too few seeds.
func TestPairedTableAllFailed(t *testing.T) {
	sp := teacherSplit(t)
	var results []*Result
	for seed := uint64(0); seed < 2; seed++ {
		a, _ := ParseConfig("analytic", 4)
		b, _ := ParseConfig("sgd", 4)
		a.Seed, a.Iterations, b.Seed, b.Iterations, b.LR = seed, 3, seed, 3, 1e200
		ra, _ := Run(sp, a)
		rb, _ := Run(sp, b)
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
	cfg, _ := ParseConfig("analytic+safeguard+restarts=5", 8)
	cfg.Seed, cfg.Iterations = 3, 6
	one, err := Run(sp, cfg)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Parallel = 3
	par, err := Run(sp, cfg)
	if err != nil {
		t.Fatal(err)
	}
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
