package relunet

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"

	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/mat"

	"github.com/relunet/relunet/relunet/internal/spd"
)

// bg is the context of the tests' solvers: never cancelled.
var bg = context.Background()

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

func mustAnalytic(t testing.TB, X, Y mat.Matrix, opts AnalyticOptions) *Analytic {
	t.Helper()
	a, err := NewAnalytic(bg, X, Y, opts)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// mustSubStep calls the sub-step named by c ('h', 'p' or 'o') and fails the
// test on an error.
func mustSubStep(t testing.TB, a *Analytic, c byte) {
	t.Helper()
	var err error
	switch c {
	case 'h':
		_, err = a.HiddenStep()
	case 'p':
		_, err = a.UpdatePattern()
	case 'o':
		_, err = a.OutputStep()
	default:
		t.Fatalf("no sub-step %q", c)
	}
	if err != nil {
		t.Fatal(err)
	}
}

// hiddenStep returns a solver for the problem and the result of its first
// hidden step, failing the test on an error.
func hiddenStep(t *testing.T, X, Y *mat.Dense, opts AnalyticOptions) (*Analytic, HiddenResult) {
	t.Helper()
	a := mustAnalytic(t, X, Y, opts)
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

// checkHonest checks that the solver's last record, history and best
// describe its network as it is: each against a fresh evaluation.
func checkHonest(t *testing.T, what string, a *Analytic, X, Y *mat.Dense) {
	t.Helper()
	want := trueMSE(t, a.Net(), X, Y)
	last, hist := a.Last(), a.History()
	if math.Abs(last.Loss-want) > 1e-12*want {
		t.Errorf("%s: Last().Loss = %v, the network's training MSE is %v", what, last.Loss, want)
	}
	if !sameRecords([]Record{last}, hist[len(hist)-1:]) || last.Elapsed != hist[len(hist)-1].Elapsed {
		t.Errorf("%s: Last() %+v is not the last history record", what, last)
	}
	best := a.Best()
	for _, r := range hist {
		if r.Loss < best.Loss {
			t.Errorf("%s: record %d has loss %v below Best's %v", what, r.Iter, r.Loss, best.Loss)
		}
	}
	if b := trueMSE(t, best.Net, X, Y); math.Abs(b-best.Loss) > 1e-12*b {
		t.Errorf("%s: Best() says %v, its network has %v", what, best.Loss, b)
	}
	found := false
	for _, r := range hist {
		found = found || (r.Iter == best.Iter && r.Loss == best.Loss)
	}
	if !found {
		t.Errorf("%s: Best() points at iteration %d with loss %v, which no record has", what, best.Iter, best.Loss)
	}
}

// After every sub-step, in every order, the records and the best iterate
// describe the network as it now is, and the records number the
// alternations as documented: a sub-step continues the alternation when it
// comes after the ones before it in the order hidden, pattern, output.
func TestSubStepsAreHonest(t *testing.T) {
	X, Y := randomProblem(21, 400, 3, 2)
	steps := map[byte]Steps{'h': StepHidden, 'p': StepPattern, 'o': StepOutput}
	for _, tc := range []struct {
		order string
		iters []int // the Iter of each sub-step's record
	}{
		{"hpo", []int{1, 1, 1}},
		{"hop", []int{1, 1, 2}},
		{"oph", []int{1, 2, 3}},
		{"pho", []int{1, 2, 2}},
		{"hhoo", []int{1, 2, 2, 3}},
		{"ohp", []int{1, 2, 2}},
		{"hpohpo", []int{1, 1, 1, 2, 2, 2}},
		{"phpo", []int{1, 2, 2, 2}},
		{"hoh", []int{1, 1, 2}},
	} {
		t.Run(tc.order, func(t *testing.T) {
			a := mustAnalytic(t, X, Y, AnalyticOptions{Hidden: 5})
			checkHonest(t, "start", a, X, Y)
			for k := range tc.order {
				mustSubStep(t, a, tc.order[k])
				what := fmt.Sprintf("after %s", tc.order[:k+1])
				checkHonest(t, what, a, X, Y)
				if r := a.Last(); r.Analytic.Steps != steps[tc.order[k]] || r.Iter != tc.iters[k] {
					t.Errorf("%s: record has steps %v at iteration %d, want %v at %d", what, r.Analytic.Steps, r.Iter, steps[tc.order[k]], tc.iters[k])
				}
			}
			// Step then runs a whole alternation of its own.
			if !a.Step() {
				t.Fatal(a.Err())
			}
			checkHonest(t, "after Step", a, X, Y)
			if r, want := a.Last(), tc.iters[len(tc.iters)-1]+1; r.Analytic.Steps != Alternation || r.Iter != want {
				t.Errorf("Step made a record with steps %v at iteration %d, want all at %d", r.Analytic.Steps, r.Iter, want)
			}
		})
	}
}

// Each record holds the parts of the detail it covers, and nil for the
// others: the initial model's the output step, a hidden step's its
// surrogate, a pattern update's only its flips.
func TestRecordDetails(t *testing.T) {
	X, Y := randomProblem(27, 200, 2, 1)
	a := mustAnalytic(t, X, Y, AnalyticOptions{Hidden: 4})
	mustSubStep(t, a, 'h')
	mustSubStep(t, a, 'p')
	mustSubStep(t, a, 'o')
	if !a.Step() {
		t.Fatal(a.Err())
	}
	for k, want := range []struct {
		steps          Steps
		hidden, output bool
	}{{StepPattern | StepOutput, false, true}, {StepHidden, true, false}, {StepPattern, false, false}, {StepOutput, false, true}, {Alternation, true, true}} {
		r := a.History()[k]
		if r.Descent != nil || r.LBFGS != nil || r.LM != nil || r.Analytic == nil {
			t.Fatalf("record %d has another method's detail: %+v", k, r)
		}
		if d := r.Analytic; d.Steps != want.steps || (d.Hidden != nil) != want.hidden || (d.Output != nil) != want.output {
			t.Errorf("record %d: steps %v, hidden %v, output %v; want %v, %v, %v", k, d.Steps, d.Hidden != nil, d.Output != nil, want.steps, want.hidden, want.output)
		}
	}
}

// The surrogate recorded by a hidden step is the frozen-pattern MSE of the
// new W, and its Loss the MSE with the pattern the new W induces.
func TestHiddenStepRecordsBothLosses(t *testing.T) {
	X, Y := randomProblem(22, 300, 2, 1)
	a := mustAnalytic(t, X, Y, AnalyticOptions{Hidden: 6})
	G := a.Pattern()
	hr, err := a.HiddenStep()
	if err != nil {
		t.Fatal(err)
	}
	frozen, err := a.Net().PredictPattern(X, G)
	if err != nil {
		t.Fatal(err)
	}
	if s := meanSquares(frozen, Y); math.Abs(s-hr.Surrogate) > 1e-12*s || a.Last().Analytic.Hidden.Surrogate != hr.Surrogate {
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
		a := mustAnalytic(t, X, Y, AnalyticOptions{Hidden: 12, Safeguard: true, Seed: seed})
		for k := 0; k < 12; k++ {
			if k%3 == 1 {
				// A hidden step alone: its true loss can be far above the
				// surrogate, and above the loss before it.
				mustSubStep(t, a, 'h')
			}
			before := a.Last().Loss
			if !a.Step() {
				t.Fatalf("seed %d: stopped: %v %v", seed, a.Status(), a.Err())
			}
			if after := a.Last().Loss; after > before {
				t.Errorf("seed %d, step %d: the safeguarded loss rose from %v to %v", seed, k, before, after)
			}
		}
	}
}

// safeguardTrace writes the safeguard's work on each alternation after the
// initial model as one letter: K a look-ahead kept, s a look-ahead skipped,
// F a look-ahead that failed (the search back ran or the step was
// rejected), . no rise; a record of a sub-step called on its own is h.
func safeguardTrace(recs []Record) string {
	var b strings.Builder
	for _, r := range recs[1:] {
		switch ar := r.Analytic; {
		case ar.Steps != Alternation:
			b.WriteByte('h')
		case ar.Lookahead:
			b.WriteByte('K')
		case ar.LookaheadSkipped:
			b.WriteByte('s')
		case ar.Backtracks > 0 || ar.Rejected:
			b.WriteByte('F')
		default:
			b.WriteByte('.')
		}
	}
	return b.String()
}

// The look-ahead's back-off on histories built by hand: at each rise the
// outcome of a look-ahead, if lookAhead asks for one, comes from outcomes
// (K kept, F failed), and the trace must show the documented schedule.
func TestLookAheadBacksOff(t *testing.T) {
	s := strings.Repeat
	for _, tc := range []struct {
		name     string
		events   string // per alternation: r a rise, . none, h a sub-step on its own
		outcomes string // of the look-aheads tried, in order
		want     string
	}{
		{"every look-ahead fails: skip 1, 3, 7, then 15 at most",
			s("r", 80), s("F", 8),
			"FsFsssFsssssssF" + s("s", 15) + "F" + s("s", 15) + "F" + s("s", 15) + "F" + s("s", 15) + "F" + s("s", 1)},
		{"one kept resets the count",
			s("r", 14), "FFKFFK" + s("F", 4),
			"FsFsssKFsFsssK"},
		{"every one kept: never skipped",
			s("r", 6), s("K", 6), s("K", 6)},
		{"alternations without a rise and sub-steps do not count",
			"r.rh.rrrh.r.r", s("F", 8),
			"F.sh.Fssh.s.F"},
	} {
		recs := []Record{{Analytic: &AnalyticRecord{Steps: StepPattern | StepOutput}}}
		tried := 0
		for _, e := range tc.events {
			ar := &AnalyticRecord{Steps: Alternation}
			switch {
			case e == 'h':
				ar.Steps = StepHidden
			case e == '.':
			case !lookAhead(recs):
				ar.LookaheadSkipped, ar.Backtracks = true, 8
			case tc.outcomes[tried] == 'K':
				ar.Lookahead = true
				tried++
			default:
				ar.Backtracks = 8
				tried++
			}
			recs = append(recs, Record{Iter: len(recs), Analytic: ar})
		}
		if got := safeguardTrace(recs); got != tc.want {
			t.Errorf("%s:\n got %s\nwant %s", tc.name, got, tc.want)
		}
	}
}

// In real safeguarded runs, Step follows the back-off: replayed as a
// countdown from the outcomes the records show, the rises it skipped are
// exactly those the schedule skips; and a run saved in the middle of a
// back-off resumes bit for bit.
func TestSafeguardLookaheadSchedule(t *testing.T) {
	var kept, skipped int
	for _, sz := range [][3]int{{300, 2, 12}, {400, 3, 20}, {200, 2, 30}} {
		X, Y := randomProblem(23, sz[0], sz[1], 1)
		for seed := uint64(0); seed < 4; seed++ {
			opts := AnalyticOptions{Hidden: sz[2], Safeguard: true, Seed: seed, Iterations: 200, Patience: -1, Tol: -1}
			a := mustAnalytic(t, X, Y, opts)
			for a.Step() {
			}
			if a.Err() != nil {
				t.Fatal(a.Err())
			}
			trace := safeguardTrace(a.History())
			fails, wait := 0, 0
			for i, c := range trace {
				if c == '.' {
					continue
				}
				if (c == 's') != (wait > 0) {
					t.Errorf("%v seed %d: alternation %d of %s: skipped %v, with %d rises still to skip", sz, seed, i+1, trace, c == 's', wait)
					break
				}
				switch c {
				case 's':
					wait--
					skipped++
					continue
				case 'K':
					fails = 0
					kept++
				case 'F':
					fails++
				}
				wait = min(1<<fails-1, maxLookaheadSkip)
			}
			// Resumed from the middle of the run, where a back-off is
			// under way on most of these runs.
			if k := len(trace) / 2; k > 0 {
				checkResume(t, fmt.Sprintf("%v seed %d", sz, seed), mustAnalytic(t, X, Y, opts), X, Y, k, nil)
			}
		}
	}
	if kept == 0 || skipped == 0 {
		t.Errorf("%d look-aheads kept and %d rises skipped: the runs do not exercise the back-off", kept, skipped)
	}
}

// alternations returns analytic records of the given losses and flips, the
// first the initial model's, as the stopping rule reads them.
func alternations(losses []float64, flips []int, rejected int) []Record {
	recs := make([]Record, len(losses))
	for i, l := range losses {
		recs[i] = Record{Iter: i, Loss: l, Analytic: &AnalyticRecord{Steps: Alternation, Flips: flips[i], Rejected: i == rejected}}
	}
	return recs
}

// The stopping rule on histories written out by hand.
func TestStopRule(t *testing.T) {
	for _, tc := range []struct {
		name     string
		losses   []float64
		flips    []int
		rejected int // index of the rejected record, or -1
		tol      float64
		patience int
		want     Status
	}{
		{"fixed point", []float64{1, 0.5, 0.5}, []int{0, 3, 0}, -1, 1e-7, 100, Converged},
		{"no flips, but the loss moved", []float64{1, 0.5, 0.4}, []int{0, 3, 0}, -1, 1e-7, 100, NotTerminated},
		{"loss still, but flips", []float64{1, 0.5, 0.5}, []int{0, 3, 2}, -1, 1e-7, 100, NotTerminated},
		{"within tol", []float64{1, 0.5, 0.5 * (1 - 5e-8)}, []int{0, 3, 0}, -1, 1e-7, 100, Converged},
		{"tol off", []float64{1, 0.5, 0.5}, []int{0, 3, 0}, -1, -1, 100, NotTerminated},
		{"rejected", []float64{1, 0.5, 0.5}, []int{0, 3, 0}, 2, -1, -1, NoProgress},
		// The best, 0.5, came at iteration 1: iterations 2 and 3 did not
		// lower it, so patience 2 ends the run at 3, and patience 3 does not.
		{"patience 2", []float64{1, 0.5, 0.6, 0.55}, []int{0, 1, 1, 1}, -1, 1e-7, 2, NoProgress},
		{"patience 3", []float64{1, 0.5, 0.6, 0.55}, []int{0, 1, 1, 1}, -1, 1e-7, 3, NotTerminated},
		{"patience off", []float64{1, 0.5, 0.6, 0.55}, []int{0, 1, 1, 1}, -1, 1e-7, -1, NotTerminated},
		// 0.499999 lowers the best by 2e-6, more than tol 1e-7: progress.
		{"a small improvement", []float64{1, 0.5, 0.6, 0.499999}, []int{0, 1, 1, 1}, -1, 1e-7, 2, NotTerminated},
		// By less than tol (0.5·(1 - 1e-8)) it is no progress.
		{"below tol", []float64{1, 0.5, 0.6, 0.5 * (1 - 1e-8)}, []int{0, 1, 1, 1}, -1, 1e-7, 2, NoProgress},
	} {
		if got := stopRule(alternations(tc.losses, tc.flips, tc.rejected), tc.tol, tc.patience); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

// Without an iteration limit every run ends by the stopping rules, and
// Step returns false from then on; a sub-step called after such a stop
// lets Step go on.
func TestRunsStopByTheirRules(t *testing.T) {
	X, Y := randomProblem(24, 300, 2, 1)
	counts := map[Status]int{}
	for seed := uint64(0); seed < 12; seed++ {
		a := mustAnalytic(t, X, Y, AnalyticOptions{Hidden: 4, Seed: seed, Iterations: -1})
		for a.Step() {
			if a.Last().Iter > 20000 {
				t.Fatalf("seed %d: still going after %d alternations", seed, a.Last().Iter)
			}
		}
		if s := a.Status(); s != Converged && s != NoProgress || a.Err() != nil {
			t.Errorf("seed %d: stopped with %v, %v", seed, s, a.Err())
		}
		counts[a.Status()]++
		if a.Step() {
			t.Errorf("seed %d: Step went on after %v", seed, a.Status())
		}
	}
	t.Logf("statuses over 12 seeds: %v", counts)
	a := mustAnalytic(t, X, Y, AnalyticOptions{Hidden: 4, Patience: 3, Iterations: -1})
	for a.Step() {
	}
	if a.Status() != NoProgress && a.Status() != Converged {
		t.Fatalf("status %v", a.Status())
	}
	mustSubStep(t, a, 'p')
	if a.Status() != NotTerminated || !a.Step() {
		t.Errorf("after a sub-step: status %v", a.Status())
	}
}

func TestIterationLimit(t *testing.T) {
	X, Y := randomProblem(25, 100, 2, 1)
	a := mustAnalytic(t, X, Y, AnalyticOptions{Hidden: 3, Iterations: 7, Tol: -1, Patience: -1})
	n := 0
	for a.Step() {
		n++
		if a.Status() != NotTerminated {
			t.Fatalf("status %v while stepping", a.Status())
		}
	}
	if n != 7 || a.Last().Iter != 7 || a.Status() != IterationLimit || a.Err() != nil || len(a.History()) != 8 {
		t.Errorf("%d steps, Iter %d, status %v, err %v, %d records", n, a.Last().Iter, a.Status(), a.Err(), len(a.History()))
	}
}

// The hidden step's eigenvalue floor is below the normal matrix's smallest
// eigenvalue and proves its condition below spd.MaxCond for the usual
// ridge; with a ridge too small to matter it proves nothing, and a
// rank-deficient system still goes to the eigen fallback through the
// condition estimate.
func TestHiddenFloor(t *testing.T) {
	for _, tc := range []struct {
		name     string
		alpha    float64
		n, m     int
		scale    float64
		ridge    float64
		proves   bool
		fallback bool
	}{
		{"relu", 0, 3000, 1, 1, 1e-3, true, false},
		{"leaky", 0.1, 3000, 2, 1, 1e-3, true, false},
		{"large-x", 0, 3000, 1, 1e3, 1e-3, true, false},
		// 100 rows for 264 unknowns: condition about ‖A‖/λ ≥ 1e16.
		{"rank-deficient", 0, 100, 1, 1, 1e-13, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const d, h = 32, 8 // hD = 264
			X, Y := randomProblem(3, tc.n, d, tc.m)
			X.Scale(tc.scale, X)
			a := mustAnalytic(t, X, Y, AnalyticOptions{Hidden: h, Alpha: tc.alpha, Ridge: tc.ridge, HiddenSolve: SolvePrimal})
			floor := a.hiddenFloor(false)
			normal, err := a.Normal()
			if err != nil {
				t.Fatal(err)
			}
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
			t.Logf("floor %.6g, smallest eigenvalue %.6g, condition bound %.3g, fallback %v", floor, low, bound, res.Fallback)
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
			if res.Solve != SolvePrimal || res.Fallback != tc.fallback {
				t.Errorf("solved by %v with fallback %v, want primal with %v", res.Solve, res.Fallback, tc.fallback)
			}
		})
	}
}

// Normal is the matrix the hidden step solves: its solution, through
// gonum's Cholesky, is the hidden step's W.
func TestNormalIsTheSolvedSystem(t *testing.T) {
	X, Y := randomProblem(26, 200, 3, 2)
	a := mustAnalytic(t, X, Y, AnalyticOptions{Hidden: 4})
	N, err := a.Normal()
	if err != nil {
		t.Fatal(err)
	}
	rhs := a.as.RHS(a.pr.x, a.pr.y, a.pat.act, a.net.Alpha, a.net.Beta, a.net.Beta0)
	var chol mat.Cholesky
	if !chol.Factorize(N) {
		t.Fatal("not positive definite")
	}
	var w mat.Dense
	if err := chol.SolveTo(&w, mat.NewDense(4*4, 1, rhs.RawMatrix().Data)); err != nil {
		t.Fatal(err)
	}
	mustSubStep(t, a, 'h')
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
		a := mustAnalytic(t, X, Y, AnalyticOptions{Hidden: h})
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

// The memory limit decides the hidden step's solve when the solver is
// made, and a request that fits nowhere fails at once, naming the sizes
// and the option, as a MemoryError.
func TestMemoryPlan(t *testing.T) {
	const n, d, h = 300, 7, 200 // D = 8, 1600 unknowns for 300 rows
	X, Y := randomProblem(32, n, d, 1)
	data := int64(8*n*(d+1) + 8*n)
	base := data + baseBytes(n, h, d+1, 1)
	direct, dualB, cg := directBytes(n, h, d+1, runtime.GOMAXPROCS(0)), dualBytes(n, h, d+1, 1), cgBytes(n, h, d+1, 1)
	if !(cg < dualB && dualB < direct) {
		t.Fatalf("the case needs CG < dual < direct in memory: %d, %d, %d", cg, dualB, direct)
	}
	for _, tc := range []struct {
		name  string
		limit int64
		want  HiddenSolve
		solve HiddenSolve
		err   string
	}{
		{"room: the cheaper dual", 0, SolveAuto, SolveDual, ""},
		{"primal asked", 0, SolvePrimal, SolvePrimal, ""},
		{"only the dual and CG fit", base + (direct+dualB)/2, SolveAuto, SolveDual, ""},
		{"primal asked, does not fit", base + (direct+dualB)/2, SolvePrimal, 0, "HiddenSolve SolveAuto solves it in its dual form"},
		{"only CG fits", base + (dualB+cg)/2, SolveAuto, SolveCG, ""},
		{"nothing fits", base + cg/2, SolveAuto, 0, "left of the memory limit (AnalyticOptions.MemoryLimit, -memory)"},
		{"buffers do not fit", base / 2, SolveAuto, 0, "an analytic solver's buffers for 300 rows and 200 hidden units needs"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, err := NewAnalytic(bg, X, Y, AnalyticOptions{Hidden: h, MemoryLimit: tc.limit, HiddenSolve: tc.want, CGMaxIter: 100})
			if tc.err != "" {
				var me *MemoryError
				if err == nil || !strings.Contains(err.Error(), tc.err) || !errors.As(err, &me) || !errors.Is(err, ErrMemory) {
					t.Fatalf("error %v, want a MemoryError saying %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := a.Options().HiddenSolve; got != tc.solve {
				t.Errorf("Options says %v, want %v", got, tc.solve)
			}
			res, err := a.HiddenStep()
			if err != nil || res.Solve != tc.solve {
				t.Errorf("solved by %v (error %v), want %v", res.Solve, err, tc.solve)
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
			var ws []*mat.Dense
			for _, solve := range []HiddenSolve{SolvePrimal, SolveDual} {
				opts := AnalyticOptions{Hidden: tc.h, Alpha: tc.alpha, HiddenSolve: solve}
				if tc.dead {
					init, err := NewNet(tc.h, tc.d, tc.m, 0)
					if err != nil {
						t.Fatal(err)
					}
					init.InitNormal(rand.New(rand.NewPCG(1, 1)))
					init.W.SetRow(1, append([]float64{-100}, make([]float64, tc.d)...)) // never active
					opts.Init = init
				}
				a, res := hiddenStep(t, X, Y, opts)
				if res.Solve != solve {
					t.Errorf("solved by %v, want %v", res.Solve, solve)
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

// Without a ridge and with every row twice, ΦΦᵀ is singular: the dual
// step's factorisation, which overwrites the system, fails, the system is
// formed again for the eigen fallback, and the step finds the primal
// step's W, the minimum-norm least-squares solution Φ⁺y of both.
func TestDualHiddenStepFallback(t *testing.T) {
	X0, Y0 := randomProblem(37, 30, 2, 1)
	X, Y := mat.NewDense(60, 2, nil), mat.NewDense(60, 1, nil)
	X.Stack(X0, X0)
	Y.Stack(Y0, Y0)
	var ws []*mat.Dense
	for _, solve := range []HiddenSolve{SolvePrimal, SolveDual} {
		a, res := hiddenStep(t, X, Y, AnalyticOptions{Hidden: 40, Ridge: -1, HiddenSolve: solve})
		if res.Solve != solve || !res.Fallback {
			t.Fatalf("solved by %v with fallback %v, want %v with the fallback", res.Solve, res.Fallback, solve)
		}
		ws = append(ws, a.Net().W)
	}
	var diff mat.Dense
	diff.Sub(ws[0], ws[1])
	// The two forms truncate different spectra at rounding level: they
	// agree to 3·10⁻⁸ here, and differ by 94 times W's norm when the
	// fallback is given the factor instead of the system formed again.
	if r := mat.Norm(&diff, 2) / mat.Norm(ws[0], 2); r > 1e-6 {
		t.Errorf("the dual's W differs from the primal's by %g", r)
	}
}

// A dead neuron (never active) keeps its weights exactly, and the others
// solve as they would without it: the same W as a network that lacks the
// dead neuron, to rounding, with a ridge and without.
func TestDeadNeuronsKeepTheirWeights(t *testing.T) {
	X, Y := randomProblem(8, 100, 2, 1)
	rows := [][]float64{{1, 1, 0}, {-100, 0.5, 0.25}, {0, 0, 1}} // the second is never active
	for _, ridge := range []float64{1e-3, -1} {                  // without a ridge, a dead neuron would make the system singular
		with, err := NewNet(3, 2, 1, 0)
		if err != nil {
			t.Fatal(err)
		}
		without, err := NewNet(2, 2, 1, 0)
		if err != nil {
			t.Fatal(err)
		}
		for j, r := range rows {
			with.W.SetRow(j, r)
		}
		without.W.SetRow(0, rows[0])
		without.W.SetRow(1, rows[2])
		a, res := hiddenStep(t, X, Y, AnalyticOptions{Hidden: 3, Init: with, Ridge: ridge})
		b, _ := hiddenStep(t, X, Y, AnalyticOptions{Hidden: 2, Init: without, Ridge: ridge})
		if res.Dead != 1 || !mat.Equal(a.net.W.RowView(1), with.W.RowView(1)) {
			t.Errorf("ridge %v: %d dead, the dead neuron's weights became %v", ridge, res.Dead, mat.Row(nil, 1, a.net.W))
		}
		for k, j := range []int{0, 2} {
			got, want := mat.Row(nil, j, a.net.W), mat.Row(nil, k, b.net.W)
			if !floats.EqualApprox(got, want, 1e-9) {
				t.Errorf("ridge %v: neuron %d solved to %v, without the dead neuron %v", ridge, j, got, want)
			}
		}
		if !spd.AllFinite(a.net.W) {
			t.Error("non-finite weights")
		}
	}
}

// With many hidden units and few rows the plan takes the dual solve: the
// step that would factor a 40000-unknown matrix solves a 161×161 system.
func TestPlanTakesTheDual(t *testing.T) {
	X, Y := randomProblem(35, 161, 1, 1)
	a := mustAnalytic(t, X, Y, AnalyticOptions{Hidden: 20000, Iterations: 1})
	if !a.Step() {
		t.Fatal(a.Err())
	}
	if r := a.Last().Analytic.Hidden; r.Solve != SolveDual {
		t.Errorf("solved by %v, want %v", r.Solve, SolveDual)
	}
}

// Conjugate gradients, capped by default at 100(nm + 1) iterations,
// converge on a system of few rows, and say so; a cap that stops them early
// is reported, and the step still lowers the surrogate.
func TestCGConvergesOnFewRows(t *testing.T) {
	X, Y := randomProblem(33, 30, 3, 1)
	a := mustAnalytic(t, X, Y, AnalyticOptions{Hidden: 500, HiddenSolve: SolveCG})
	if got := a.Options().CGMaxIter; got != 100*31 {
		t.Errorf("CGMaxIter resolved to %d, want 100·(30+1)", got)
	}
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
	b := mustAnalytic(t, X, Y, AnalyticOptions{Hidden: 500, HiddenSolve: SolveCG, CGMaxIter: 5})
	objective := func(sse float64) float64 { w := mat.Norm(b.net.W, 2); return sse + 1e-3*w*w }
	before := objective(30 * b.Last().Loss)
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
		a := mustAnalytic(t, X, Y, AnalyticOptions{Hidden: c.h, DataInit: true})
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
		if r := a.Last(); r.Iter != 0 || r.Analytic.Steps != StepPattern|StepOutput || r.Analytic.Output == nil {
			t.Errorf("the first record is not the refit start: %+v", r)
		}
	}
}

// The damped hidden step solves (N + μI) vec(W) = b + μ vec(W_old), μ the
// Damping times the mean diagonal entry of N without the ridge: its W
// leaves a residual at rounding level; the primal, dual and conjugate
// gradient solves agree; and with μ large the step barely moves.
func TestDampedHiddenStep(t *testing.T) {
	X, Y := randomProblem(36, 50, 3, 2) // 8·4 = 32 unknowns
	var ws []*mat.Dense
	for _, solve := range []HiddenSolve{SolvePrimal, SolveDual, SolveCG} {
		a := mustAnalytic(t, X, Y, AnalyticOptions{Hidden: 8, Damping: 0.05, HiddenSolve: solve, CGTol: 1e-13})
		old := mat.DenseCopyOf(a.net.W)
		N, err := a.Normal()
		if err != nil {
			t.Fatal(err)
		}
		rhs := a.as.RHS(a.pr.x, a.pr.y, a.pat.act, a.net.Alpha, a.net.Beta, a.net.Beta0)
		mustSubStep(t, a, 'h')
		k := N.SymmetricDim()
		var trace float64
		for i := 0; i < k; i++ {
			trace += N.At(i, i) - 1e-3
		}
		mu := 0.05 * trace / float64(k)
		// r = (N + μI)w - b - μ w_old
		w := mat.NewVecDense(k, mat.DenseCopyOf(a.net.W).RawMatrix().Data)
		var r mat.VecDense
		r.MulVec(N, w)
		b := mat.NewVecDense(k, mat.DenseCopyOf(rhs).RawMatrix().Data)
		wo := mat.NewVecDense(k, old.RawMatrix().Data)
		r.AddScaledVec(&r, mu, w)
		r.SubVec(&r, b)
		r.AddScaledVec(&r, -mu, wo)
		if rel := mat.Norm(&r, 2) / mat.Norm(b, 2); rel > 1e-8 {
			t.Errorf("%v: the damped step's relative residual is %g", solve, rel)
		}
		ws = append(ws, mat.DenseCopyOf(a.net.W))
	}
	for i, name := range []string{"dual", "cg"} {
		var diff mat.Dense
		diff.Sub(ws[0], ws[i+1])
		if r := mat.Norm(&diff, 2) / mat.Norm(ws[0], 2); r > 1e-7 {
			t.Errorf("the %s solve differs from the primal by %g", name, r)
		}
	}
	a := mustAnalytic(t, X, Y, AnalyticOptions{Hidden: 8, Damping: 1e6})
	old := mat.DenseCopyOf(a.net.W)
	mustSubStep(t, a, 'h')
	var diff mat.Dense
	diff.Sub(a.net.W, old)
	if r := mat.Norm(&diff, 2) / mat.Norm(old, 2); r > 1e-4 {
		t.Errorf("a damping of 1e6 moved W by %g, relative", r)
	}
}

// With AltDamping the odd alternations take Damping and the even ones
// AltDamping: each alternation is, bit for bit, the first of a solver
// damped as that alternation should be, started from the network before
// it, with the primal and the dual solve, balanced or not; and the
// sub-steps called on their own take the dampings in the same turn as Step.
func TestAltDamping(t *testing.T) {
	X, Y := randomProblem(43, 40, 3, 2) // 6·4 = 24 unknowns, 80 equations
	for _, solve := range []HiddenSolve{SolvePrimal, SolveDual} {
		for _, balance := range []bool{false, true} {
			opts := AnalyticOptions{Hidden: 6, Seed: 5, DataInit: true, Damping: 0.01, AltDamping: 0.001, HiddenSolve: solve, Balance: balance}
			a := mustAnalytic(t, X, Y, opts)
			for iter := 1; iter <= 4; iter++ {
				one := opts
				one.AltDamping, one.Init, one.DataInit = 0, a.Net(), false
				if iter%2 == 0 {
					one.Damping = opts.AltDamping
				}
				b := mustAnalytic(t, X, Y, one)
				if !a.Step() || !b.Step() {
					t.Fatalf("%v, balance %v, iteration %d: %v, %v", solve, balance, iter, a.Err(), b.Err())
				}
				if !sameNet(a.Net(), b.Net()) {
					t.Errorf("%v, balance %v: alternation %d is not that of damping %g alone", solve, balance, iter, one.Damping)
				}
			}
			if balance {
				continue // Balance applies to Step only
			}
			c := mustAnalytic(t, X, Y, opts)
			for iter := 1; iter <= 4; iter++ {
				for _, s := range []byte("hpo") {
					mustSubStep(t, c, s)
				}
			}
			if !sameNet(a.Net(), c.Net()) {
				t.Errorf("%v: four alternations by sub-steps differ from four by Step", solve)
			}
		}
	}
	for _, v := range []float64{-1, math.NaN(), math.Inf(1), 2 * MaxDamping} {
		if _, err := NewAnalytic(bg, X, Y, AnalyticOptions{Hidden: 2, Damping: 0.01, AltDamping: v}); err == nil || !strings.Contains(err.Error(), "AltDamping") {
			t.Errorf("AltDamping %v: error %v, want one naming AltDamping", v, err)
		}
	}
}

// What a sub-step does after the run stopped: after a stop by the run's
// own rules it goes on and Status is NotTerminated again, until the rules
// stop the run again; after a failure or an ended context it does nothing.
func TestSubStepAfterStop(t *testing.T) {
	X, Y := randomProblem(23, 300, 3, 1)
	a, err := NewAnalytic(bg, X, Y, AnalyticOptions{Hidden: 4, Iterations: 2})
	if err != nil {
		t.Fatal(err)
	}
	for a.Step() {
	}
	if a.Status() != IterationLimit || a.Last().Iter != 2 {
		t.Fatalf("status %v at iteration %d, want the iteration limit at 2", a.Status(), a.Last().Iter)
	}
	if _, err := a.HiddenStep(); err != nil {
		t.Fatal(err)
	}
	if a.Status() != NotTerminated || a.Last().Iter != 3 {
		t.Errorf("after a hidden step: status %v at iteration %d, want not terminated at 3", a.Status(), a.Last().Iter)
	}
	if a.Step() || a.Status() != IterationLimit {
		t.Errorf("Step past the limit: status %v", a.Status())
	}
	ctx, cancel := context.WithCancel(bg)
	b, err := NewAnalytic(ctx, X, Y, AnalyticOptions{Hidden: 4})
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	records := len(b.History())
	if b.Step() || b.Status() != Canceled {
		t.Errorf("Step after cancel: status %v", b.Status())
	}
	if _, err := b.OutputStep(); err == nil || len(b.History()) != records || b.Status() != Canceled {
		t.Errorf("a sub-step after the context ended: error %v, %d records (had %d), status %v", err, len(b.History()), records, b.Status())
	}
}

// With Balance an alternation is the hidden step, the rescaling of each
// hidden unit to equal norms of its input and output weights (written out
// here), then the output step, which a solver started from the rescaled W
// does as its first refit. The rescaling leaves the network's function
// alone and lowers the ridge's sum of squares. Without a ridge Balance
// does nothing.
func TestBalancedAlternation(t *testing.T) {
	X, Y := randomProblem(41, 60, 3, 2)
	for _, damping := range []float64{0, 0.01} {
		opts := AnalyticOptions{Hidden: 6, Damping: damping, Seed: 3, DataInit: true}
		a := mustAnalytic(t, X, Y, opts)
		mustSubStep(t, a, 'h')
		before := a.Net() // the hidden step's W, the β it held fixed
		n := before.Clone()
		h, _, m := n.Dims()
		for j := 0; j < h; j++ {
			var w2, b2 float64
			for _, v := range n.W.RawRowView(j) {
				w2 += v * v
			}
			for o := 0; o < m; o++ {
				b2 += n.Beta.At(j, o) * n.Beta.At(j, o)
			}
			c := math.Pow(b2/w2, 0.25) // √(‖β_j‖/‖w_j‖)
			for k, v := range n.W.RawRowView(j) {
				n.W.Set(j, k, v*c)
			}
			for o := 0; o < m; o++ {
				n.Beta.Set(j, o, n.Beta.At(j, o)/c)
			}
		}
		f0, err := before.Predict(X)
		if err != nil {
			t.Fatal(err)
		}
		f1, err := n.Predict(X)
		if err != nil {
			t.Fatal(err)
		}
		if !mat.EqualApprox(f0, f1, 1e-12*mat.Norm(f0, math.Inf(1))) {
			t.Errorf("damping %v: the rescaling changed the network's outputs", damping)
		}
		sq := func(n *Net) float64 { return math.Pow(mat.Norm(n.W, 2), 2) + math.Pow(mat.Norm(n.Beta, 2), 2) }
		if sq(n) >= sq(before) {
			t.Errorf("damping %v: the rescaling left ‖W‖² + ‖β‖² at %v from %v", damping, sq(n), sq(before))
		}
		ro := opts
		ro.Init = n
		ref := mustAnalytic(t, X, Y, ro)

		opts.Balance = true
		b := mustAnalytic(t, X, Y, opts)
		if !b.Step() {
			t.Fatalf("damping %v: %v %v", damping, b.Status(), b.Err())
		}
		got, want := b.Net(), ref.Net()
		if !mat.EqualApprox(got.W, want.W, 1e-12*mat.Norm(want.W, math.Inf(1))) || !mat.EqualApprox(got.Beta, want.Beta, 1e-10*mat.Norm(want.Beta, math.Inf(1))) {
			t.Errorf("damping %v: the balanced alternation's network differs from hidden step, rescaling, output step", damping)
		}
		if g, w := b.Last().Loss, ref.Last().Loss; math.Abs(g-w) > 1e-12*w {
			t.Errorf("damping %v: the balanced alternation's loss is %v, hidden step, rescaling, output step give %v", damping, g, w)
		}
		checkHonest(t, fmt.Sprintf("balanced, damping %v", damping), b, X, Y)
	}

	opts := AnalyticOptions{Hidden: 6, Seed: 3, Ridge: -1, Iterations: 3}
	plain := mustAnalytic(t, X, Y, opts)
	opts.Balance = true
	bal := mustAnalytic(t, X, Y, opts)
	for plain.Step() && bal.Step() {
	}
	if !mat.Equal(plain.Net().W, bal.Net().W) || plain.Last().Loss != bal.Last().Loss {
		t.Error("without a ridge Balance changed the run")
	}
}
