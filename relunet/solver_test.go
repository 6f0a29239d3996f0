package relunet

import (
	"math"
	"runtime"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/relunet/relunet/relunet/internal/parallel"
	"github.com/relunet/relunet/relunet/internal/spd"
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
	opts := DefaultAnalyticOptions(3)
	var nilDense *mat.Dense
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
		{"nil", nil, Y, opts, "must not be nil", true},
		{"typed nil", nilDense, Y, opts, "must not be nil", true},
		{"h=0", X, Y, AnalyticOptions{Ridge: 1e-3}, "Hidden must be positive", true},
		{"negative ridge", X, Y, AnalyticOptions{Hidden: 2, Ridge: -1}, "Ridge λ must be finite and non-negative", false},
		{"infinite ridge", X, Y, AnalyticOptions{Hidden: 2, Ridge: math.Inf(1)}, "Ridge λ must be finite", false},
		{"alpha", X, Y, AnalyticOptions{Hidden: 2, Alpha: 1.5}, "leaky slope", true},
		{"CGMaxIter", X, Y, AnalyticOptions{Hidden: 2, CGMaxIter: -1}, "CGMaxIter must not be negative", false},
		{"CGTol", X, Y, AnalyticOptions{Hidden: 2, CGTol: math.Inf(1)}, "CGTol must be in [0, 1)", false},
		{"Workers", X, Y, AnalyticOptions{Hidden: 2, Workers: -3}, "Workers must not be negative", false},
		{"Iterations", X, Y, AnalyticOptions{Hidden: 2, Iterations: -1}, "Iterations must not be negative", false},
		{"Tol", X, Y, AnalyticOptions{Hidden: 2, Tol: -1}, "Tol must be finite and non-negative", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				if r := recover(); r != nil {
					t.Fatalf("panic: %v", r)
				}
			}()
			_, err := NewAnalytic(tc.X, tc.Y, tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want %q", err, tc.want)
			}
			if !tc.data {
				return
			}
			if _, err := NewDescent(tc.X, tc.Y, DescentOptions{Method: MethodSGD, Hidden: max(tc.opts.Hidden, 0), LR: 0.1, Alpha: tc.opts.Alpha}); err == nil {
				t.Errorf("descent accepted it")
			}
			if _, err := NewLBFGS(tc.X, tc.Y, LBFGSOptions{Hidden: max(tc.opts.Hidden, 0), Alpha: tc.opts.Alpha}); err == nil {
				t.Errorf("lbfgs accepted it")
			}
		})
	}
}

func TestDeterminism(t *testing.T) {
	X, Y := randomProblem(2, 300, 3, 1)
	run := func() []Record {
		a, err := NewAnalytic(X, Y, DefaultAnalyticOptions(8))
		if err != nil {
			t.Fatal(err)
		}
		for a.Step() {
		}
		return a.History()
	}
	r1, r2 := run(), run()
	for i := range r1 {
		if math.Float64bits(r1[i].Loss) != math.Float64bits(r2[i].Loss) {
			t.Fatalf("iteration %d: %v vs %v", i, r1[i].Loss, r2[i].Loss)
		}
	}
}

// TestDeterminismAcrossGOMAXPROCS checks that a run over several row chunks
// gives the same bits whatever the number of threads.
func TestDeterminismAcrossGOMAXPROCS(t *testing.T) {
	X, Y := randomProblem(12, 2*parallel.ChunkRows+101, 10, 2)
	run := func(procs int) []Record {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
		opts := DefaultAnalyticOptions(6)
		opts.Iterations, opts.Alpha = 4, 0.05
		a, err := NewAnalytic(X, Y, opts)
		if err != nil {
			t.Fatal(err)
		}
		for a.Step() {
		}
		return a.History()
	}
	ref := run(1)
	for _, procs := range []int{2, 8} {
		for i, r := range run(procs) {
			if math.Float64bits(r.Loss) != math.Float64bits(ref[i].Loss) || math.Float64bits(r.Hidden.Surrogate) != math.Float64bits(ref[i].Hidden.Surrogate) {
				t.Fatalf("GOMAXPROCS %d, iteration %d: loss %v vs %v", procs, i, r.Loss, ref[i].Loss)
			}
		}
	}
}

func TestCGMatchesDirect(t *testing.T) {
	for _, alpha := range []float64{0, 0.1} {
		X, Y := randomProblem(6, 400, 4, 2)
		opts := DefaultAnalyticOptions(6)
		opts.Alpha = alpha
		direct, _ := NewAnalytic(X, Y, opts)
		opts.Solver, opts.CGTol = HiddenCG, 1e-12
		cg, _ := NewAnalytic(X, Y, opts)
		if _, err := direct.HiddenStep(); err != nil {
			t.Fatal(err)
		}
		res, err := cg.HiddenStep()
		if err != nil {
			t.Fatal(err)
		}
		var diff mat.Dense
		diff.Sub(direct.net.W, cg.net.W)
		if r := mat.Norm(&diff, 2) / mat.Norm(direct.net.W, 2); r > 1e-7 || res.Solve != SolveCG {
			t.Errorf("alpha %v: CG differs from the direct solve by %g (%d iterations, %s)", alpha, r, res.CGIters, res.Solve)
		}
	}
}

func TestDeadNeuronsKeepTheirWeights(t *testing.T) {
	X, Y := randomProblem(8, 100, 2, 1)
	init, _ := NewNet(3, 2, 1, 0)
	init.W.SetRow(0, []float64{1, 1, 0})
	init.W.SetRow(1, []float64{-100, 0, 0}) // never active
	init.W.SetRow(2, []float64{0, 0, 1})
	opts := DefaultAnalyticOptions(3)
	opts.Init = init
	opts.Ridge = 0 // dead neurons would make the system singular
	a, res := hiddenStep(t, X, Y, opts)
	if res.Dead != 1 || a.net.W.At(1, 0) != -100 {
		t.Errorf("dead %d, weight %v", res.Dead, a.net.W.At(1, 0))
	}
	if !spd.AllFinite(a.net.W) {
		t.Error("non-finite weights")
	}
}

func TestPredictPattern(t *testing.T) {
	X, Y := randomProblem(9, 60, 3, 2)
	opts := DefaultAnalyticOptions(5)
	opts.Alpha = 0.1
	a := newAnalytic(t, X, Y, opts)
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
	opts := DefaultSGDOptions(3)
	opts.Epochs, opts.LR, opts.DecayEvery, opts.DecayFactor, opts.MaxDecays = 7, 0.01, 2, 0.5, 2
	s, err := NewDescent(X, Y, opts)
	if err != nil {
		t.Fatal(err)
	}
	for s.Step() {
	}
	want := []float64{1, 1, 0.5, 0.5, 0.25, 0.25, 0.25}
	for i, r := range s.History()[1:] {
		if r.LR != 0.01*want[i] {
			t.Errorf("epoch %d: learning rate %v, want %v", r.Iter, r.LR, 0.01*want[i])
		}
	}
	opts.MaxDecays = -1
	if _, err := NewDescent(X, Y, opts); err == nil || !strings.Contains(err.Error(), "MaxDecays") {
		t.Errorf("MaxDecays -1: error %v", err)
	}
}
