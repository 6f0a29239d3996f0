package relunet

import (
	"bytes"
	"math"
	"runtime"
	"slices"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/relunet/relunet/relunet/internal/parallel"
)

// Every solver is a Solver.
var (
	_ Solver = (*Analytic)(nil)
	_ Solver = (*Descent)(nil)
	_ Solver = (*LBFGS)(nil)
	_ Solver = (*LM)(nil)
)

func TestMethodNames(t *testing.T) {
	for _, m := range Methods() {
		got, err := ParseMethod(m.String())
		if err != nil || got != m {
			t.Errorf("%v: ParseMethod gives %v, %v", m, got, err)
		}
	}
	if _, err := ParseMethod("analytic-safeguard"); err == nil || !strings.Contains(err.Error(), "have analytic, sgd, adam, lbfgs") {
		t.Errorf("a pseudo-method: error %v", err)
	}
	if s := (StepHidden | StepOutput).String(); s != "hidden+output" {
		t.Errorf("Steps string %q", s)
	}
}

func TestBadInput(t *testing.T) {
	X, Y := randomProblem(1, 10, 2, 1)
	nan := mat.DenseCopyOf(X)
	nan.Set(3, 1, math.NaN())
	inf := mat.DenseCopyOf(Y)
	inf.Set(5, 0, math.Inf(-1))
	opts := AnalyticOptions{Hidden: 3}
	var nilDense *mat.Dense
	other, err := NewNet(3, 2, 1, 0.1)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		X, Y mat.Matrix
		opts AnalyticOptions
		want string
		data bool // an error of the data, which the other solvers must report too
	}{
		{"nan", nan, Y, opts, "X has NaN at row 4, column 2", true},
		{"inf", X, inf, opts, "Y has -Inf at row 6, column 1", true},
		{"rows", X, Y.Slice(0, 9, 0, 1), opts, "X has 10 rows but Y has 9", true},
		{"zero rows", &mat.Dense{}, &mat.Dense{}, opts, "zero rows", true},
		{"no columns", mat.NewDense(50, 1, nil).Slice(0, 50, 0, 0), mat.NewDense(50, 1, nil), opts, "X has no columns", true},
		{"nil", nil, Y, opts, "must not be nil", true},
		{"typed nil", nilDense, Y, opts, "must not be nil", true},
		{"h=0", X, Y, AnalyticOptions{}, "Hidden must be positive", true},
		{"h huge", X, Y, AnalyticOptions{Hidden: math.MaxInt}, "needs more than any memory (its sizes overflow)", true},
		{"h 2^56", X, Y, AnalyticOptions{Hidden: 1 << 56}, "needs more than any memory (its sizes overflow)", true},
		{"infinite ridge", X, Y, AnalyticOptions{Hidden: 2, Ridge: math.Inf(1)}, "Ridge λ must be finite", false},
		{"alpha", X, Y, AnalyticOptions{Hidden: 2, Alpha: 1.5}, "leaky slope", true},
		{"CGTol", X, Y, AnalyticOptions{Hidden: 2, CGTol: math.Inf(1)}, "CGTol must be below 1", false},
		{"Workers", X, Y, AnalyticOptions{Hidden: 2, Workers: -3}, "Workers must not be negative", false},
		{"Tol", X, Y, AnalyticOptions{Hidden: 2, Tol: math.NaN()}, "Tol must be finite", false},
		{"MaxBacktracks", X, Y, AnalyticOptions{Hidden: 2, Safeguard: true, MaxBacktracks: math.MaxInt}, "MaxBacktracks is at most 1075", false},
		{"Init of another slope", X, Y, AnalyticOptions{Hidden: 3, Init: other}, "Init has leaky slope 0.1, Alpha is 0", false},
		{"Init of another size", X, Y, AnalyticOptions{Hidden: 4, Init: other, Alpha: 0.1}, "Init has 3 hidden units, Hidden is 4", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				if r := recover(); r != nil {
					t.Fatalf("panic: %v", r)
				}
			}()
			_, err := NewAnalytic(bg, tc.X, tc.Y, tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want %q", err, tc.want)
			}
			if !tc.data {
				return
			}
			h := max(tc.opts.Hidden, 0)
			for _, f := range []func() error{
				func() error {
					_, err := NewDescent(bg, tc.X, tc.Y, DescentOptions{Method: MethodSGD, Hidden: h, Alpha: tc.opts.Alpha})
					return err
				},
				func() error {
					_, err := NewLBFGS(bg, tc.X, tc.Y, LBFGSOptions{Hidden: h, Alpha: tc.opts.Alpha})
					return err
				},
				func() error { _, err := NewLM(bg, tc.X, tc.Y, LMOptions{Hidden: h, Alpha: tc.opts.Alpha}); return err },
			} {
				if err := f(); err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Errorf("a gradient solver: error %v, want %q", err, tc.want)
				}
			}
		})
	}
	if _, err := NewAnalytic(nil, X, Y, opts); err == nil || !strings.Contains(err.Error(), "nil context") { //nolint:staticcheck // a nil context is the case
		t.Errorf("nil context: error %v", err)
	}
}

// The zero value of every option is its documented default, and Options
// shows them resolved; the same options repeat the run bit for bit.
func TestOptionsResolved(t *testing.T) {
	X, Y := randomProblem(5, 120, 3, 2)
	a := mustAnalytic(t, X, Y, AnalyticOptions{Hidden: 4, MemoryLimit: 1 << 30, Workers: 3})
	o := a.Options()
	want := AnalyticOptions{Hidden: 4, Ridge: 1e-3, Iterations: 30, Tol: 1e-7, Patience: 100, MaxBacktracks: 8,
		HiddenSolve: SolvePrimal, CGTol: 1e-10, CGMaxIter: 4 * 4 * 4, MemoryLimit: 1 << 30, Workers: 3}
	init := o.Init
	o.Init = nil
	if o != want {
		t.Errorf("Options() = %+v,\nwant %+v", o, want)
	}
	// The first output step refits β and keeps W: the start's W is the
	// network's until the first hidden step.
	if init == nil || !mat.Equal(init.W, a.Net().W) || mat.Norm(init.Beta, 1) != 0 {
		t.Error("Options().Init is not the starting network")
	}
	// The resolved options, Init included, repeat the run.
	b := mustAnalytic(t, X, Y, a.Options())
	for a.Step() {
	}
	for b.Step() {
	}
	if d := sameState(a, b); d != "" {
		t.Errorf("a run from the resolved options differs in its %s", d)
	}
	// A negative value turns a limit off and stays negative.
	c := mustAnalytic(t, X, Y, AnalyticOptions{Hidden: 2, Iterations: -1, Tol: -1, Patience: -1, Ridge: -1, MemoryLimit: -1})
	if o := c.Options(); o.Iterations != -1 || o.Tol != -1 || o.Patience != -1 || o.Ridge != -1 || o.MemoryLimit != -1 {
		t.Errorf("turned off: %+v", o)
	}
	for _, tc := range []struct {
		name string
		got  any
		want any
	}{
		{"sgd", mustDescent(t, X, Y, DescentOptions{Method: MethodSGD, Hidden: 2, MemoryLimit: 1 << 30}).Options(),
			DescentOptions{Method: MethodSGD, Hidden: 2, Epochs: 300, Batch: 2048, LR: 0.03, DecayEvery: 100, DecayFactor: 0.1, MaxDecays: 2,
				Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, MemoryLimit: 1 << 30}},
		{"adam", mustDescent(t, X, Y, DescentOptions{Method: MethodAdam, Hidden: 2, MemoryLimit: 1 << 30}).Options(),
			DescentOptions{Method: MethodAdam, Hidden: 2, Epochs: 300, Batch: 256, LR: 0.001, DecayEvery: -1, DecayFactor: 0.1, MaxDecays: 2,
				Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, MemoryLimit: 1 << 30}},
	} {
		o := tc.got.(DescentOptions)
		if o.Init == nil {
			t.Errorf("%s: no starting network", tc.name)
		}
		o.Init = nil
		if o != tc.want {
			t.Errorf("%s: Options() = %+v,\nwant %+v", tc.name, o, tc.want)
		}
	}
	l, err := NewLBFGS(bg, X, Y, LBFGSOptions{Hidden: 2, MemoryLimit: 1 << 30})
	if err != nil {
		t.Fatal(err)
	}
	if o := l.Options(); o.Iterations != 500 || o.Store != 15 || o.GradTol != 1e-10 || o.MemoryLimit != 1<<30 || o.Init == nil {
		t.Errorf("lbfgs: Options() = %+v", o)
	}
	m, err := NewLM(bg, X, Y, LMOptions{Hidden: 2, MemoryLimit: 1 << 30})
	if err != nil {
		t.Fatal(err)
	}
	if o := m.Options(); o.Iterations != 100 || o.Damping != 1e-3 || o.GradTol != 1e-10 || o.MaxTries != 30 || o.MemoryLimit != 1<<30 || o.Init == nil {
		t.Errorf("lm: Options() = %+v", o)
	}
}

func mustDescent(t testing.TB, X, Y mat.Matrix, opts DescentOptions) *Descent {
	t.Helper()
	s, err := NewDescent(bg, X, Y, opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// Two runs of the same options give the same records, bit for bit.
func TestDeterminism(t *testing.T) {
	X, Y := randomProblem(2, 300, 3, 1)
	run := func() []Record {
		a := mustAnalytic(t, X, Y, AnalyticOptions{Hidden: 8})
		for a.Step() {
		}
		if a.Err() != nil {
			t.Fatal(a.Err())
		}
		return a.History()
	}
	r1, r2 := run(), run()
	if len(r1) != 31 || !sameRecords(r1, r2) {
		t.Errorf("%d and %d records, equal: %v", len(r1), len(r2), sameRecords(r1, r2))
	}
}

// TestDeterminismAcrossGOMAXPROCS checks that a run over several row chunks
// gives the same bits whatever the number of threads.
func TestDeterminismAcrossGOMAXPROCS(t *testing.T) {
	X, Y := randomProblem(12, 2*parallel.ChunkRows+101, 10, 2)
	run := func(procs int) []Record {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
		a := mustAnalytic(t, X, Y, AnalyticOptions{Hidden: 6, Iterations: 4, Alpha: 0.05})
		for a.Step() {
		}
		if a.Err() != nil {
			t.Fatal(a.Err())
		}
		return a.History()
	}
	ref := run(1)
	for _, procs := range []int{2, 8} {
		if got := run(procs); len(ref) != 5 || !sameRecords(got, ref) {
			t.Errorf("GOMAXPROCS %d: %d records against %d, equal: %v", procs, len(got), len(ref), sameRecords(got, ref))
		}
	}
}

func TestCGMatchesDirect(t *testing.T) {
	for _, alpha := range []float64{0, 0.1} {
		X, Y := randomProblem(6, 400, 4, 2)
		direct, res0 := hiddenStep(t, X, Y, AnalyticOptions{Hidden: 6, Alpha: alpha})
		cg, res := hiddenStep(t, X, Y, AnalyticOptions{Hidden: 6, Alpha: alpha, HiddenSolve: SolveCG, CGTol: 1e-12})
		var diff mat.Dense
		diff.Sub(direct.net.W, cg.net.W)
		if r := mat.Norm(&diff, 2) / mat.Norm(direct.net.W, 2); r > 1e-7 || res.Solve != SolveCG || res0.Solve != SolvePrimal {
			t.Errorf("alpha %v: CG differs from the direct solve by %g (%d iterations, %v)", alpha, r, res.CGIters, res.Solve)
		}
	}
}

// SolveCGOrPrimal gives W by conjugate gradients when they reach CGTol
// within the cap, and otherwise by the primal solve, the same bits as the
// primal solve alone, which then runs alone, also after Save and Load; the
// result reports which.
func TestCGOrPrimal(t *testing.T) {
	for _, tc := range []struct {
		alpha, damping float64
	}{{0, 0}, {0.1, 0}, {0, 1e-3}} {
		X, Y := randomProblem(6, 400, 4, 2)
		opts := AnalyticOptions{Hidden: 6, Alpha: tc.alpha, Damping: tc.damping, CGTol: 1e-12}
		direct, res0 := hiddenStep(t, X, Y, opts)
		opts.HiddenSolve = SolveCGOrPrimal
		for _, cap := range []int{1000, 2} {
			a := mustAnalytic(t, X, Y, opts)
			a.cgCap = cap // the plan's cap for this small problem would be 0
			res, err := a.HiddenStep()
			if err != nil {
				t.Fatal(err)
			}
			var diff mat.Dense
			diff.Sub(direct.net.W, a.net.W)
			r := mat.Norm(&diff, 2) / mat.Norm(direct.net.W, 2)
			switch {
			case res0.Solve != SolvePrimal:
				t.Fatalf("the reference step ran %v", res0.Solve)
			case cap == 1000 && (res.Solve != SolveCG || !res.CGConverged || res.CGIters == 0 || res.CGIters > cap || r > 1e-7):
				t.Errorf("%+v, cap %d: %v after %d iterations (converged %t), W differs from the primal solve's by %g",
					tc, cap, res.Solve, res.CGIters, res.CGConverged, r)
			case cap == 2 && (res.Solve != SolvePrimal || res.CGConverged || res.CGIters != 2 || !mat.Equal(a.net.W, direct.net.W)):
				t.Errorf("%+v, cap %d: %v after %d iterations (converged %t), W differs from the primal solve's by %g",
					tc, cap, res.Solve, res.CGIters, res.CGConverged, r)
			}
			if cap != 2 {
				continue
			}
			// From then on the primal solve runs alone, also in a solver
			// loaded from a saved one.
			var buf bytes.Buffer
			if err := a.Save(&buf); err != nil {
				t.Fatal(err)
			}
			loaded, err := Load(bg, &buf, X, Y)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range []*Analytic{a, loaded.(*Analytic)} {
				s.cgCap = 1000
				if _, err := s.OutputStep(); err != nil {
					t.Fatal(err)
				}
				res, err := s.HiddenStep()
				if err != nil || res.Solve != SolvePrimal || res.CGIters != 0 {
					t.Errorf("%+v: the step after the fallback ran %v with %d iterations (%v)", tc, res.Solve, res.CGIters, err)
				}
			}
			if _, err := direct.OutputStep(); err != nil {
				t.Fatal(err)
			}
			if _, err := direct.HiddenStep(); err != nil {
				t.Fatal(err)
			}
			if !mat.Equal(a.net.W, direct.net.W) {
				t.Errorf("%+v: the second step differs from the primal solver's", tc)
			}
		}
	}
}

// SolveAuto takes SolveCGOrPrimal where the cost model's cap leaves room
// for the iterations it expects, the normal equations are determined (nm ≥
// hD) and CGTol is positive: on the patches' shape (on a sample of them
// also with h = 16: the factorisation does not shrink with the rows), not
// on abalone's or the year set's.
func TestPlanCGOrPrimal(t *testing.T) {
	for _, tc := range []struct {
		name      string
		n, d, m   int
		h         int
		cgTol     float64
		want      HiddenSolve
		wantAbove int // the cap's floor
	}{
		{"patches", 22045, 225, 225, 32, 1e-10, SolveCGOrPrimal, cgExpected},
		{"patches, no tolerance", 22045, 225, 225, 32, -1, SolvePrimal, cgExpected},
		{"patches, h = 16", 22045, 225, 225, 16, 1e-10, SolvePrimal, 0},
		{"a tenth of the patches, h = 16", 2205, 225, 225, 16, 1e-10, SolveCGOrPrimal, cgExpected},
		{"abalone", 3341, 8, 1, 32, 1e-10, SolvePrimal, 0},
		{"year", 463715, 90, 1, 64, 1e-10, SolvePrimal, 0},
		{"underdetermined", 2052, 128, 1, 32, 1e-10, SolveDual, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := &Analytic{pr: &problem{n: tc.n, d: tc.d, m: tc.m}, mem: memory{limit: math.MaxInt64},
				opts: AnalyticOptions{Hidden: tc.h, CGTol: tc.cgTol}}
			got, _, err := a.plan(SolveAuto, 0)
			if err != nil || got != tc.want || a.cgCap < tc.wantAbove {
				t.Errorf("plan: %v (cap %d, %v), want %v", got, a.cgCap, err, tc.want)
			}
		})
	}
}

func TestPredictPattern(t *testing.T) {
	X, Y := randomProblem(9, 60, 3, 2)
	opts := AnalyticOptions{Hidden: 5}
	opts.Alpha = 0.1
	a := mustAnalytic(t, X, Y, opts)
	net := a.Net()
	// With the pattern of the current W, the frozen model is the network itself.
	frozen, err := net.PredictPattern(X, a.Pattern())
	if err != nil {
		t.Fatal(err)
	}
	pred, _ := net.Predict(X)
	if !mat.EqualApprox(frozen, pred, 1e-12) {
		t.Error("PredictPattern with the current pattern differs from Predict")
	}
	if _, err := net.PredictPattern(X, mat.NewDense(60, 4, nil)); err == nil {
		t.Error("pattern of the wrong width accepted")
	}
}

// Library edges: nil and malformed networks and inputs are errors.
func TestNetEdges(t *testing.T) {
	X, _ := randomProblem(1, 5, 2, 1)
	var nilNet *Net
	var nilX *mat.Dense
	good, _ := NewNet(2, 2, 1, 0)
	bad := good.Clone()
	bad.Beta0 = nil
	for _, tc := range []struct {
		name string
		net  *Net
		X    mat.Matrix
	}{{"nil net", nilNet, X}, {"empty net", &Net{}, X}, {"no output biases", bad, X}, {"nil X", good, nil}, {"typed nil X", good, nilX}, {"wide X", good, mat.NewDense(5, 3, nil)}} {
		if _, err := tc.net.Predict(tc.X); err == nil {
			t.Errorf("%s: Predict accepted it", tc.name)
		}
		if _, err := tc.net.PredictPattern(tc.X, mat.NewDense(5, 2, nil)); err == nil {
			t.Errorf("%s: PredictPattern accepted it", tc.name)
		}
	}
}

// MaxDecays caps the learning-rate cuts: with cuts every 2 epochs by 0.5
// and at most 2 of them, the rates of epochs 1 to 7 are 1, 1, 0.5, 0.5,
// 0.25, 0.25, 0.25 times the first.
func TestMaxDecays(t *testing.T) {
	X, Y := randomProblem(1, 40, 2, 1)
	opts := DescentOptions{Method: MethodSGD, Hidden: 3}
	opts.Epochs, opts.LR, opts.DecayEvery, opts.DecayFactor, opts.MaxDecays = 7, 0.01, 2, 0.5, 2
	s, err := NewDescent(bg, X, Y, opts)
	if err != nil {
		t.Fatal(err)
	}
	for s.Step() {
	}
	want := []float64{1, 1, 0.5, 0.5, 0.25, 0.25, 0.25}
	for i, r := range s.History()[1:] {
		if r.Descent.LR != 0.01*want[i] {
			t.Errorf("epoch %d: learning rate %v, want %v", r.Iter, r.Descent.LR, 0.01*want[i])
		}
	}
}

func TestWeights(t *testing.T) {
	n := &Net{W: mat.NewDense(2, 3, []float64{1, 2, 3, 4, 5, 6}), Beta: mat.NewDense(2, 1, []float64{7, 8}), Beta0: []float64{9}}
	got := n.Weights([]float64{0})
	if want := []float64{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}; !slices.Equal(got, want) {
		t.Errorf("Weights: %v, want %v", got, want)
	}
}
