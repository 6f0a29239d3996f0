package relunet

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/relunet/relunet/relunet/internal/parallel"
	"github.com/relunet/relunet/relunet/internal/spd"
)

// randomProblem returns n×d inputs and n×m targets from a seeded generator.
func randomProblem(seed uint64, n, d, m int) (*mat.Dense, *mat.Dense) {
	rng := rand.New(rand.NewPCG(seed, 1))
	X, Y := mat.NewDense(n, d, nil), mat.NewDense(n, m, nil)
	for i := 0; i < n; i++ {
		for j := 0; j < d; j++ {
			X.Set(i, j, rng.NormFloat64())
		}
		for o := 0; o < m; o++ {
			Y.Set(i, o, math.Sin(X.At(i, 0)*float64(o+1))+0.1*rng.NormFloat64())
		}
	}
	return X, Y
}

func newAnalytic(t testing.TB, X, Y mat.Matrix, opts AnalyticOptions) *Analytic {
	t.Helper()
	a, err := NewAnalytic(X, Y, opts)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// hiddenStep returns a solver for the problem and the result of its first
// hidden step, failing the test on an error.
func hiddenStep(t *testing.T, X, Y *mat.Dense, opts AnalyticOptions) (*Analytic, HiddenResult) {
	t.Helper()
	a := newAnalytic(t, X, Y, opts)
	res, err := a.HiddenStep()
	if err != nil {
		t.Fatal(err)
	}
	return a, res
}

// trueMSE evaluates net on the data from scratch, by Predict.
func trueMSE(t testing.TB, net *Net, X, Y *mat.Dense) float64 {
	t.Helper()
	f, err := net.Predict(X)
	if err != nil {
		t.Fatal(err)
	}
	return meanSquares(f, Y)
}

func TestCriticalPoints(t *testing.T) {
	for _, tc := range []struct {
		name  string
		alpha float64
		m, n  int
	}{{"relu", 0, 1, 300}, {"leaky", 0.1, 1, 300}, {"relu-multi", 0, 3, 300}, {"leaky-multi", 0.2, 2, 300},
		{"several-chunks", 0.1, 2, 2*parallel.ChunkRows + 37}} {
		t.Run(tc.name, func(t *testing.T) {
			X, Y := randomProblem(7, tc.n, 4, tc.m)
			opts := DefaultAnalyticOptions(6)
			opts.Alpha = tc.alpha
			checkCriticalPoints(t, newAnalytic(t, X, Y, opts), 3)
		})
	}
}

// checkCriticalPoints runs iters alternations step by step and checks that
// each sub-step lands on a critical point of its sub-problem.
func checkCriticalPoints(t *testing.T, a *Analytic, iters int) {
	t.Helper()
	if g, _ := a.SubGradients(); g > 1e-8 {
		t.Errorf("after the initial output step: relative gradient %g", g)
	}
	for it := 0; it < iters; it++ {
		if _, err := a.HiddenStep(); err != nil {
			t.Fatal(err)
		}
		if _, g := a.SubGradients(); g > 1e-7 {
			t.Errorf("iteration %d, hidden step: relative gradient %g", it, g)
		}
		a.UpdatePattern()
		if _, err := a.OutputStep(); err != nil {
			t.Fatal(err)
		}
		if g, _ := a.SubGradients(); g > 1e-8 {
			t.Errorf("iteration %d, output step: relative gradient %g", it, g)
		}
	}
}

// checkHonest checks that the solver's loss, last record, history and best
// describe its network as it is: each against a fresh evaluation.
func checkHonest(t *testing.T, what string, a *Analytic, X, Y *mat.Dense) {
	t.Helper()
	want := trueMSE(t, a.Net(), X, Y)
	if got := a.Loss(); math.Abs(got-want) > 1e-12*want {
		t.Errorf("%s: Loss() = %v, the network's training MSE is %v", what, got, want)
	}
	last, hist := a.Last(), a.History()
	if !sameRecords([]Record{last}, hist[len(hist)-1:]) || last.Elapsed != hist[len(hist)-1].Elapsed || last.Loss != a.Loss() || last.Iter != a.Iter() {
		t.Errorf("%s: Last() %+v is not the last history record or does not match Loss and Iter", what, last)
	}
	best, bestLoss, bestIter := a.Best()
	for _, r := range hist {
		if r.Loss < bestLoss {
			t.Errorf("%s: record %d has loss %v below Best's %v", what, r.Iter, r.Loss, bestLoss)
		}
	}
	if b := trueMSE(t, best, X, Y); math.Abs(b-bestLoss) > 1e-12*b {
		t.Errorf("%s: Best() says %v, its network has %v", what, bestLoss, b)
	}
	found := false
	for _, r := range hist {
		found = found || (r.Iter == bestIter && r.Loss == bestLoss)
	}
	if !found {
		t.Errorf("%s: Best() points at iteration %d with loss %v, which no record has", what, bestIter, bestLoss)
	}
}

// After every sub-step, in every order, the loss, the records and the best
// iterate describe the network as it now is, and the records number the
// alternations as documented.
func TestSubStepsAreHonest(t *testing.T) {
	X, Y := randomProblem(21, 400, 3, 2)
	steps := map[byte]Steps{'h': StepHidden, 'p': StepPattern, 'o': StepOutput}
	for _, order := range []string{"hpo", "hop", "oph", "pho", "hhoo", "ohp", "hpohpo", "phpo", "hoh"} {
		t.Run(order, func(t *testing.T) {
			a := newAnalytic(t, X, Y, DefaultAnalyticOptions(5))
			checkHonest(t, "start", a, X, Y)
			cycle := Steps(0)
			for k := range order {
				iter := a.Iter()
				switch order[k] {
				case 'h':
					if _, err := a.HiddenStep(); err != nil {
						t.Fatal(err)
					}
				case 'p':
					a.UpdatePattern()
				case 'o':
					if _, err := a.OutputStep(); err != nil {
						t.Fatal(err)
					}
				}
				what := fmt.Sprintf("after %s", order[:k+1])
				checkHonest(t, what, a, X, Y)
				// A sub-step continues the alternation when it follows the
				// ones before it in the order hidden, pattern, output.
				s := steps[order[k]]
				wantIter := iter + 1
				if cycle != 0 && cycle < s {
					wantIter = iter
				} else {
					cycle = 0
				}
				cycle |= s
				if cycle == Alternation {
					cycle = 0
				}
				if r := a.Last(); r.Steps != s || r.Iter != wantIter {
					t.Errorf("%s: record has steps %v at iteration %d, want %v at %d", what, r.Steps, r.Iter, s, wantIter)
				}
			}
			// Step then runs a whole alternation of its own.
			before := a.Iter()
			if !a.Step() {
				t.Fatal(a.Err())
			}
			checkHonest(t, "after Step", a, X, Y)
			if r := a.Last(); r.Steps != Alternation || r.Iter != before+1 {
				t.Errorf("Step made a record with steps %v at iteration %d, want all at %d", r.Steps, r.Iter, before+1)
			}
		})
	}
}

// The surrogate recorded by a hidden step is the frozen-pattern MSE of the
// new W, and its Loss the MSE with the pattern the new W induces.
func TestHiddenStepRecordsBothLosses(t *testing.T) {
	X, Y := randomProblem(22, 300, 2, 1)
	a := newAnalytic(t, X, Y, DefaultAnalyticOptions(6))
	G := a.Pattern()
	hr, err := a.HiddenStep()
	if err != nil {
		t.Fatal(err)
	}
	frozen, err := a.Net().PredictPattern(X, G)
	if err != nil {
		t.Fatal(err)
	}
	if s := meanSquares(frozen, Y); math.Abs(s-hr.Surrogate) > 1e-12*s || a.Last().Hidden.Surrogate != hr.Surrogate {
		t.Errorf("surrogate %v recorded, frozen-pattern MSE %v", hr.Surrogate, s)
	}
	if l := trueMSE(t, a.Net(), X, Y); math.Abs(l-a.Last().Loss) > 1e-12*l {
		t.Errorf("record loss %v, true MSE %v", a.Last().Loss, l)
	}
}

// With the safeguard every Step's loss is at most the true loss before it,
// also after sub-steps called on their own have raised it.
func TestSafeguardComparesTheTrueLoss(t *testing.T) {
	X, Y := randomProblem(23, 300, 2, 1)
	for seed := uint64(0); seed < 4; seed++ {
		opts := DefaultAnalyticOptions(12)
		opts.Safeguard, opts.Seed = true, seed
		a := newAnalytic(t, X, Y, opts)
		for k := 0; k < 12; k++ {
			if k%3 == 1 {
				// A hidden step alone: its true loss can be far above the
				// surrogate, and above the loss before it.
				if _, err := a.HiddenStep(); err != nil {
					t.Fatal(err)
				}
			}
			before := a.Loss()
			if !a.Step() {
				t.Fatalf("seed %d: stopped: %v %v", seed, a.Status(), a.Err())
			}
			if after := a.Loss(); after > before {
				t.Errorf("seed %d, step %d: the safeguarded loss rose from %v to %v", seed, k, before, after)
			}
		}
	}
}

// The run stops at the first alternation that meets a stopping rule, and
// only there: a fixed point (no flips, a relative loss change within Tol:
// Converged) or Patience alternations without progress of the best loss
// (NoProgress). With no iteration limit every run ends by one of them.
func TestStoppingRules(t *testing.T) {
	X, Y := randomProblem(24, 300, 2, 1)
	const tol, patience = 1e-7, 100
	counts := map[Status]int{}
	for seed := uint64(0); seed < 12; seed++ {
		a := newAnalytic(t, X, Y, AnalyticOptions{Hidden: 4, Ridge: 1e-3, Seed: seed})
		for a.Step() {
			if a.Iter() > 20000 {
				t.Fatalf("seed %d: still going after %d alternations", seed, a.Iter())
			}
		}
		counts[a.Status()]++
		hist := a.History()
		best, improved := hist[0].Loss, 0
		for i := 1; i < len(hist); i++ {
			r := hist[i]
			if r.Loss < best*(1-tol) {
				improved = r.Iter
			}
			best = math.Min(best, r.Loss)
			fixed := r.Flips == 0 && math.Abs(r.Loss-hist[i-1].Loss) <= tol*hist[i-1].Loss
			stalled := r.Iter-improved >= patience
			last := i == len(hist)-1
			if (fixed || stalled) != last {
				t.Fatalf("seed %d: record %d of %d: fixed point %v, stalled %v", seed, i, len(hist)-1, fixed, stalled)
			}
			if last && (fixed && a.Status() != Converged || !fixed && a.Status() != NoProgress) {
				t.Errorf("seed %d: status %v for fixed point %v, stalled %v", seed, a.Status(), fixed, stalled)
			}
		}
		if a.Step() {
			t.Errorf("seed %d: Step went on after %v", seed, a.Status())
		}
	}
	t.Logf("statuses over 12 seeds: %v", counts)
	// A sub-step called after the stop lets Step go on.
	a := newAnalytic(t, X, Y, AnalyticOptions{Hidden: 4, Ridge: 1e-3, Patience: 3})
	for a.Step() {
	}
	if a.Status() == NotTerminated {
		t.Fatalf("status %v", a.Status())
	}
	a.UpdatePattern()
	if a.Status() != NotTerminated || !a.Step() {
		t.Errorf("after a sub-step: status %v", a.Status())
	}
}

func TestIterationLimit(t *testing.T) {
	X, Y := randomProblem(25, 100, 2, 1)
	opts := DefaultAnalyticOptions(3)
	opts.Iterations, opts.Tol, opts.Patience = 7, math.NaN(), -1
	a := newAnalytic(t, X, Y, opts)
	n := 0
	for a.Step() {
		n++
		if a.Status() != NotTerminated {
			t.Fatalf("status %v while stepping", a.Status())
		}
	}
	if n != 7 || a.Iter() != 7 || a.Status() != IterationLimit || a.Err() != nil || len(a.History()) != 8 {
		t.Errorf("%d steps, Iter %d, status %v, err %v, %d records", n, a.Iter(), a.Status(), a.Err(), len(a.History()))
	}
}

// The hidden step's eigenvalue floor is below the normal matrix's smallest
// eigenvalue and proves its condition below spd.MaxCond for the usual
// ridge; with a ridge too small to matter it proves nothing, and a
// rank-deficient system still goes to the eigen fallback through the
// condition estimate.
func TestHiddenFloor(t *testing.T) {
	for _, tc := range []struct {
		name   string
		alpha  float64
		n, m   int
		scale  float64
		ridge  float64
		proves bool
		solve  string
	}{
		{"relu", 0, 3000, 1, 1, 1e-3, true, SolveCholesky},
		{"leaky", 0.1, 3000, 2, 1, 1e-3, true, SolveCholesky},
		{"large-x", 0, 3000, 1, 1e3, 1e-3, true, SolveCholesky},
		// 100 rows for 264 unknowns: condition about ‖A‖/λ ≥ 1e16.
		{"rank-deficient", 0, 100, 1, 1, 1e-13, false, SolveEigen},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const d, h = 32, 8 // hD = 264
			X, Y := randomProblem(3, tc.n, d, tc.m)
			X.Scale(tc.scale, X)
			opts := DefaultAnalyticOptions(h)
			opts.Alpha, opts.Ridge, opts.Solver = tc.alpha, tc.ridge, HiddenDirect
			a := newAnalytic(t, X, Y, opts)
			floor, normal := a.hiddenFloor(), a.Normal()
			res, err := a.HiddenStep()
			if err != nil {
				t.Fatal(err)
			}
			var eig mat.EigenSym
			if !eig.Factorize(normal, false) {
				t.Fatal("eigen-decomposition failed")
			}
			low := eig.Values(nil)[0]
			norm1 := mat.Norm(normal, 1)
			bound := norm1 * math.Sqrt(float64(h*(d+1))) / floor
			proved := floor > 0 && bound < spd.MaxCond
			t.Logf("floor %.6g, smallest eigenvalue %.6g, condition bound %.3g, solved by %s", floor, low, bound, res.Solve)
			// The eigen solver's own error is within a small multiple of
			// N·ε·‖A‖₂, and ‖A‖₂ ≤ ‖A‖₁.
			if tol := 10 * float64(h*(d+1)) * 0x1p-52 * norm1; floor > low+tol {
				t.Errorf("floor %v above the smallest eigenvalue %v (± %.2g)", floor, low, tol)
			}
			if floor > tc.ridge {
				t.Errorf("floor %v above the ridge %v", floor, tc.ridge)
			}
			if proved != tc.proves {
				t.Errorf("proves the condition: %v, want %v", proved, tc.proves)
			}
			if res.Solve != tc.solve {
				t.Errorf("solved by %s, want %s", res.Solve, tc.solve)
			}
		})
	}
}

// Normal is the matrix the hidden step solves: its solution, through
// gonum's Cholesky, is the hidden step's W.
func TestNormalIsTheSolvedSystem(t *testing.T) {
	X, Y := randomProblem(26, 200, 3, 2)
	a := newAnalytic(t, X, Y, DefaultAnalyticOptions(4))
	N := a.Normal()
	rhs := a.as.RHS(a.pr.x, a.pr.y, a.pat.act, a.net.Alpha, a.net.Beta, a.net.Beta0)
	var chol mat.Cholesky
	if !chol.Factorize(N) {
		t.Fatal("not positive definite")
	}
	var w mat.Dense
	if err := chol.SolveTo(&w, mat.NewDense(4*4, 1, rhs.RawMatrix().Data)); err != nil {
		t.Fatal(err)
	}
	if _, err := a.HiddenStep(); err != nil {
		t.Fatal(err)
	}
	got := mat.NewDense(4*4, 1, mat.DenseCopyOf(a.net.W).RawMatrix().Data)
	if !mat.EqualApprox(got, &w, 1e-9) {
		t.Error("the hidden step's W is not the solution of Normal()")
	}
}

// With more hidden units than rows, the output step solves the n×n dual
// system: its solution is the same ridge solution, at a critical point.
func TestDualOutputStep(t *testing.T) {
	X, Y := randomProblem(31, 40, 2, 2)
	for _, h := range []int{20, 39, 40, 120} {
		a := newAnalytic(t, X, Y, DefaultAnalyticOptions(h))
		if a.dualOutput() != (h+1 > 40) {
			t.Errorf("h %d: dual %v", h, a.dualOutput())
		}
		if g, _ := a.SubGradients(); g > 1e-9 {
			t.Errorf("h %d: output relative gradient %g", h, g)
		}
		primal, _, err := a.ridge()
		if err != nil {
			t.Fatal(err)
		}
		dual, _, err := a.ridgeDual()
		if err != nil {
			t.Fatal(err)
		}
		if !mat.EqualApprox(primal, dual, 1e-8*mat.Norm(primal, math.Inf(1))) {
			t.Errorf("h %d: primal and dual solutions differ", h)
		}
	}
}

// The memory limit decides the hidden step's solver, and a request that
// fits nowhere fails at once, naming the sizes and the option.
func TestMemoryPlan(t *testing.T) {
	X, Y := randomProblem(32, 300, 7, 1) // D = 8, 1600 unknowns for 300 rows
	base := baseBytes(300, 200, 8, 1)
	direct, dualB, cg := directBytes(1600), dualBytes(300, 200, 1), cgBytes(300, 200, 8, 1)
	if !(cg < dualB && dualB < direct) {
		t.Fatalf("the case needs CG < dual < direct in memory: %d, %d, %d", cg, dualB, direct)
	}
	for _, tc := range []struct {
		name   string
		limit  int64
		solver HiddenSolver
		solve  string
		err    string
	}{
		{"room: the cheaper dual", 0, HiddenAuto, SolveDual, ""},
		{"direct asked", 0, HiddenDirect, SolveCholesky, ""},
		{"only the dual and CG fit", base + (direct+dualB)/2, HiddenAuto, SolveDual, ""},
		{"direct asked, does not fit", base + (direct+dualB)/2, HiddenDirect, "", "Solver: HiddenAuto solves it in its dual form"},
		{"only CG fits", base + (dualB+cg)/2, HiddenAuto, SolveCG, ""},
		{"nothing fits", base + cg/2, HiddenAuto, "", "left of the memory limit (AnalyticOptions.MemoryLimit, -memory)"},
		{"buffers do not fit", base / 2, HiddenAuto, "", "of buffers, more than the memory limit"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, err := NewAnalytic(X, Y, AnalyticOptions{Hidden: 200, Ridge: 1e-3, MemoryLimit: tc.limit, Solver: tc.solver, CGMaxIter: 100})
			if err == nil {
				var res HiddenResult
				res, err = a.HiddenStep()
				if err == nil && res.Solve != tc.solve {
					t.Errorf("solved by %s, want %s", res.Solve, tc.solve)
				}
			}
			if (err != nil) != (tc.err != "") || err != nil && !strings.Contains(err.Error(), tc.err) {
				t.Errorf("error %v, want %q", err, tc.err)
			}
		})
	}
}

// The dual hidden step finds the primal one's W: the same ridge solution,
// with one or several outputs, ReLU or leaky, dead neurons left as they are.
func TestDualHiddenStep(t *testing.T) {
	for _, tc := range []struct {
		name  string
		n, d  int
		m, h  int
		alpha float64
		dead  bool
	}{{"relu", 60, 3, 1, 8, 0, false}, {"leaky-multi", 50, 2, 3, 10, 0.1, false}, {"dead", 40, 2, 2, 6, 0, true}, {"wide", 30, 4, 1, 40, 0, false}} {
		t.Run(tc.name, func(t *testing.T) {
			X, Y := randomProblem(34, tc.n, tc.d, tc.m)
			want := map[HiddenSolver]string{HiddenDirect: SolveCholesky, HiddenDual: SolveDual}
			var ws []*mat.Dense
			for _, solver := range []HiddenSolver{HiddenDirect, HiddenDual} {
				opts := DefaultAnalyticOptions(tc.h)
				opts.Alpha, opts.Solver = tc.alpha, solver
				if tc.dead {
					init, _ := NewNet(tc.h, tc.d, tc.m, 0)
					init.InitNormal(rand.New(rand.NewPCG(1, 1)))
					init.W.SetRow(1, append([]float64{-100}, make([]float64, tc.d)...)) // never active
					opts.Init = init
				}
				a, res := hiddenStep(t, X, Y, opts)
				if res.Solve != want[solver] {
					t.Errorf("solved by %s, want %s", res.Solve, want[solver])
				}
				ws = append(ws, a.Net().W)
			}
			var diff mat.Dense
			diff.Sub(ws[0], ws[1])
			if r := mat.Norm(&diff, 2) / mat.Norm(ws[0], 2); r > 1e-8 {
				t.Errorf("dual W differs from primal by %g", r)
			}
		})
	}
}

// With many hidden units and few rows the plan takes the dual solve: the
// step that would factor a 40000-unknown matrix solves a 161×161 system.
func TestPlanTakesTheDual(t *testing.T) {
	X, Y := randomProblem(35, 161, 1, 1)
	a := newAnalytic(t, X, Y, AnalyticOptions{Hidden: 20000, Ridge: 1e-3, Iterations: 1})
	if !a.Step() {
		t.Fatal(a.Err())
	}
	if r := a.Last().Hidden; r.Solve != SolveDual {
		t.Errorf("solved by %s, want %s", r.Solve, SolveDual)
	}
}

// Conjugate gradients, capped by default at 100(nm + 1) iterations,
// converge on a system of few rows, and say so; a cap that stops them early
// is reported, and the step still lowers the surrogate.
func TestCGConvergesOnFewRows(t *testing.T) {
	X, Y := randomProblem(33, 30, 3, 1)
	a := newAnalytic(t, X, Y, AnalyticOptions{Hidden: 500, Ridge: 1e-3, Solver: HiddenCG})
	res, err := a.HiddenStep()
	if err != nil {
		t.Fatal(err)
	}
	if !res.CGConverged || res.CGIters > 100*31 || !(res.CGResid <= 1e-10) {
		t.Errorf("%d iterations, residual %g, converged %v", res.CGIters, res.CGResid, res.CGConverged)
	}
	// Warm-started CG lowers the step's objective, the frozen-pattern sum
	// of squares plus λ‖W‖² (here mostly the penalty: with 500 units on 30
	// rows the start fits the data almost exactly).
	b := newAnalytic(t, X, Y, AnalyticOptions{Hidden: 500, Ridge: 1e-3, Solver: HiddenCG, CGMaxIter: 5})
	objective := func(sse float64) float64 { w := mat.Norm(b.net.W, 2); return sse + 1e-3*w*w }
	before := objective(30 * b.Loss())
	res, err = b.HiddenStep()
	if after := objective(30 * res.Surrogate); err != nil || res.CGConverged || res.CGIters != 5 || !(after < before) {
		t.Errorf("capped: %v, %d iterations, converged %v, objective %v from %v", err, res.CGIters, res.CGConverged, after, before)
	}
}

// With DataInit every hidden hyperplane passes through a training row, a
// different one for each unit while there are enough rows; the first
// output step then refits β as always.
func TestDataInit(t *testing.T) {
	for _, c := range []struct{ n, h int }{{50, 8}, {5, 8}} {
		X, Y := randomProblem(3, c.n, 3, 1)
		opts := DefaultAnalyticOptions(c.h)
		opts.DataInit = true
		a, err := NewAnalytic(X, Y, opts)
		if err != nil {
			t.Fatal(err)
		}
		net := a.Net()
		used := map[int]int{}
		for j := 0; j < c.h; j++ {
			through := -1
			for i := 0; i < c.n; i++ {
				v, mag := net.W.At(j, 0), math.Abs(net.W.At(j, 0))
				for k := 0; k < 3; k++ {
					v += net.W.At(j, k+1) * X.At(i, k)
					mag += math.Abs(net.W.At(j, k+1) * X.At(i, k))
				}
				if math.Abs(v) <= 1e-14*mag {
					through = i
				}
			}
			if through < 0 {
				t.Fatalf("n=%d: unit %d passes through no training row", c.n, j)
			}
			used[through]++
		}
		if want := min(c.n, c.h); len(used) != want {
			t.Errorf("n=%d, h=%d: hyperplanes through %d distinct rows, want %d", c.n, c.h, len(used), want)
		}
		if a.Loss() != a.Last().Loss || a.Last().Steps != StepPattern|StepOutput {
			t.Errorf("the first record is not the refit start")
		}
	}
}
