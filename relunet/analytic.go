package relunet

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"gonum.org/v1/gonum/mat"

	"github.com/relunet/relunet/relunet/internal/gram"
	"github.com/relunet/relunet/relunet/internal/parallel"
	"github.com/relunet/relunet/relunet/internal/seeded"
	"github.com/relunet/relunet/relunet/internal/sysmem"
)

// AnalyticOptions configures an Analytic solver. DefaultAnalyticOptions
// returns the reference implementation's settings; a zero setting means
// what its comment says.
type AnalyticOptions struct {
	Hidden int     // number of hidden units h
	Alpha  float64 // leaky slope α of φ_α, in [0, 1); 0 is the ReLU
	Ridge  float64 // λ ≥ 0 added to the diagonal of both normal matrices
	Seed   uint64  // seed of the N(0, 1) initial W

	// Iterations is the number of alternations after which Step returns
	// false with IterationLimit; 0 means no limit (the run stops when it
	// converges).
	Iterations int
	// Tol is the relative change of the training loss below which an
	// alternation that flips no entry of the activation pattern is a fixed
	// point, where Step stops with Converged. 0 means 1e-7; NaN turns the
	// test off.
	Tol float64
	// Patience is the number of alternations without a relative
	// improvement of the best loss by more than Tol after which Step stops
	// with NoProgress: the plain alternation often settles into a cycle
	// between a few patterns instead of a fixed point. 0 means 100; a
	// negative value turns the test off.
	Patience int

	// Safeguard rejects alternations that raise the training loss. It first
	// looks one alternation further from the new iterate; if that is still
	// worse, it searches W_old → W_new (β refit each time) at MaxBacktracks
	// halvings, and keeps the previous iterate when nothing lowers the
	// loss. Off, the solver behaves like the reference.
	Safeguard     bool
	MaxBacktracks int // 0 means 8

	// Init, when not nil, is the starting network (W is used, β is refit);
	// nil means W ~ N(0, 1), or with DataInit a W whose hidden hyperplanes
	// pass through training rows drawn at random (each with an N(0, I)
	// normal), so that no unit starts dead or linear on the data.
	Init     *Net
	DataInit bool

	Solver HiddenSolver // how the hidden step solves; 0 is HiddenAuto
	CGTol  float64      // relative residual of the CG solve; 0 means 1e-10
	// CGMaxIter caps the CG iterations; 0 means min(4hD, 100(nm+1)): in
	// floating point CG took 7 to 80 times the nm+1 iterations that exact
	// arithmetic needs (see memory.go).
	CGMaxIter int
	// MemoryLimit is the most memory, in bytes, that the solver's buffers
	// and the hidden step's system may take; 0 means what the process may
	// use when the solver is created (the machine's available memory, or
	// GOMEMLIMIT when lower).
	MemoryLimit int64

	// Workers bounds the goroutines of the solver's parallel work
	// (assembly, factorisation, passes over the rows); 0 means GOMAXPROCS.
	// Results do not depend on it.
	Workers int
}

// DefaultAnalyticOptions returns the reference settings for h hidden units:
// ReLU, λ = 0.001, 30 iterations, seed 0, no safeguard.
func DefaultAnalyticOptions(h int) AnalyticOptions {
	return AnalyticOptions{Hidden: h, Ridge: 1e-3, Iterations: 30}
}

func (o AnalyticOptions) check() error {
	switch {
	case o.Hidden <= 0:
		return fmt.Errorf("relunet: analytic: Hidden must be positive, have %d", o.Hidden)
	case math.IsNaN(o.Ridge) || math.IsInf(o.Ridge, 0) || o.Ridge < 0:
		return fmt.Errorf("relunet: analytic: Ridge λ must be finite and non-negative, have %v", o.Ridge)
	case o.Iterations < 0:
		return fmt.Errorf("relunet: analytic: Iterations must not be negative, have %d", o.Iterations)
	case o.Tol < 0 || math.IsInf(o.Tol, 0):
		return fmt.Errorf("relunet: analytic: Tol must be finite and non-negative (NaN: off), have %v", o.Tol)
	case o.MaxBacktracks < 0:
		return fmt.Errorf("relunet: analytic: MaxBacktracks must not be negative, have %d", o.MaxBacktracks)
	case o.CGTol < 0 || math.IsNaN(o.CGTol) || math.IsInf(o.CGTol, 0) || o.CGTol >= 1:
		return fmt.Errorf("relunet: analytic: CGTol must be in [0, 1), have %v", o.CGTol)
	case o.CGMaxIter < 0:
		return fmt.Errorf("relunet: analytic: CGMaxIter must not be negative, have %d", o.CGMaxIter)
	case o.Solver < HiddenAuto || o.Solver > HiddenDual:
		return fmt.Errorf("relunet: analytic: unknown hidden solver %d", o.Solver)
	case o.Workers < 0:
		return fmt.Errorf("relunet: analytic: Workers must not be negative, have %d", o.Workers)
	case o.MemoryLimit < 0:
		return fmt.Errorf("relunet: analytic: MemoryLimit must not be negative, have %d", o.MemoryLimit)
	}
	return checkAlpha(o.Alpha)
}

func (o AnalyticOptions) tol() float64 {
	if o.Tol == 0 {
		return 1e-7
	}
	return o.Tol
}

func (o AnalyticOptions) patience() int {
	if o.Patience == 0 {
		return 100
	}
	return o.Patience
}

// HiddenResult describes one hidden step.
type HiddenResult struct {
	// Surrogate is the training MSE of the network with the new W, the old β
	// and the frozen pattern: the quantity the hidden step minimised.
	Surrogate float64
	Solve     string // SolveCholesky, SolveEigen, SolveDual or SolveCG
	Fallback  bool   // the normal matrix was not numerically positive definite
	Dead      int    // neurons left unchanged: no active row or zero output weight
	// Conjugate gradients only: the iterations, the relative residual
	// reached, and whether it is within CGTol. A solve stopped at the
	// iteration cap still lowers the surrogate from the previous W.
	CGIters     int
	CGResid     float64
	CGConverged bool

	AssembleSeconds float64
	SolveSeconds    float64
}

// Solve methods recorded in HiddenResult.
const (
	SolveCholesky = "cholesky" // Cholesky factorisation of the normal matrix
	SolveEigen    = "eigen"    // fallback: eigen-decomposition, tiny eigenvalues dropped
	SolveDual     = "dual"     // the dual system, for few rows and many unknowns (hidden.go)
	SolveCG       = "cg"       // matrix-free conjugate gradients
)

// OutputResult describes one output step.
type OutputResult struct {
	Loss     float64 // training MSE after the refit
	Fallback bool    // the normal matrix was not numerically positive definite
}

// Analytic trains a two-layer network by alternating exact solves, in the
// manner of bufio.Scanner: construct it with NewAnalytic, call Step until it
// returns false, then check Err and Status. The sub-steps HiddenStep,
// UpdatePattern and OutputStep can also be called one by one; each adds a
// record, so that Loss, Last, History and Best always describe the network
// as it is.
type Analytic struct {
	opts AnalyticOptions
	pr   *problem
	net  *Net
	pat  *pattern
	rng  *rand.PCG
	history

	// cycle holds the sub-steps called on their own since the last
	// complete alternation: a further sub-step continues that alternation
	// (same Iter) when it comes after them in the order hidden, pattern,
	// output.
	cycle Steps
	// next is the status of the next Step: a run that converged stops
	// there, after the step that converged has been reported.
	next Status

	as  gram.Assembler
	sys *mat.SymDense // storage of the hidden step's normal matrix and its factor, kept for the next step

	// pre holds the pre-activations X̃Wᵀ of the current W when preValid: the
	// surrogate, the pattern update and the output step share them.
	pre      *mat.Dense
	preValid bool
	// ahy is [1, H, Y] (n×(1+h+m)); hid views its H columns. One Gram pass
	// over its rows gives the output step's normal matrix and right-hand side.
	ahy, hid *mat.Dense
}

// NewAnalytic returns a solver for inputs X (n×d, without the ones column)
// and targets Y (n×m). It initialises W, computes the pattern and performs
// the first output step, recorded as Iter 0.
func NewAnalytic(X, Y mat.Matrix, opts AnalyticOptions) (*Analytic, error) {
	if err := opts.check(); err != nil {
		return nil, err
	}
	if err := CheckData(X, Y); err != nil {
		return nil, err
	}
	n, d := X.Dims()
	_, m := Y.Dims()
	if need, limit := baseBytes(n, opts.Hidden, d+1, m), opts.memoryLimit(); need > limit {
		return nil, fmt.Errorf("relunet: analytic: %d rows and %d hidden units need %s of buffers, more than the memory limit %s (AnalyticOptions.MemoryLimit, -memory)",
			n, opts.Hidden, sysmem.Format(need), sysmem.Format(limit))
	}
	pr := newProblem(X, mat.DenseCopyOf(Y))
	a := &Analytic{opts: opts, pr: pr, rng: seeded.PCG(opts.Seed)}
	net, err := startNet(opts.Init, opts.Hidden, pr, opts.Alpha, func(n *Net) {
		if opts.DataInit {
			n.initThroughData(pr.x, rand.New(a.rng))
		} else {
			n.InitNormal(rand.New(a.rng))
		}
	})
	if err != nil {
		return nil, fmt.Errorf("relunet: analytic: %w", err)
	}
	a.net = net
	a.opts.Init = nil // the solver owns its copy of the weights
	a.start()
	start := time.Now()
	a.updatePattern()
	or, err := a.output()
	if err != nil {
		return nil, fmt.Errorf("relunet: analytic: initial %w", err)
	}
	a.add(Record{Steps: StepPattern | StepOutput, Loss: or.Loss, Output: or, Hidden: HiddenResult{Surrogate: math.NaN()},
		Seconds: time.Since(start).Seconds()}, a.net)
	return a, nil
}

// start sets up the solver's buffers for its problem and options.
func (a *Analytic) start() {
	h, n, m := a.opts.Hidden, a.pr.n, a.pr.m
	a.as = gram.Assembler{Pool: parallel.Pool{Workers: a.opts.Workers}}
	a.pat = newPattern(n, h)
	a.pre = mat.NewDense(n, h, nil)
	a.preValid = false
	a.ahy = gram.NewPadded(n, 1+h+m)
	for i := 0; i < n; i++ {
		a.ahy.Set(i, 0, 1)
	}
	a.ahy.Slice(0, n, 1+h, 1+h+m).(*mat.Dense).Copy(a.pr.y)
	a.hid = a.ahy.Slice(0, n, 1, 1+h).(*mat.Dense)
}

// Method returns MethodAnalytic.
func (a *Analytic) Method() Method { return MethodAnalytic }

// Step performs one alternation: hidden step, pattern update, output step,
// with the safeguard when enabled. It returns false, and Status says why,
// when the iteration limit is reached (IterationLimit), after an
// alternation that reached a fixed point (Converged), after one that the
// safeguard rejected or that ended Patience alternations without progress
// (NoProgress), or when a step failed (Failure, Err).
func (a *Analytic) Step() bool {
	if a.status != NotTerminated {
		return false
	}
	if a.next != NotTerminated {
		return a.stop(a.next, nil)
	}
	if a.opts.Iterations > 0 && a.Iter() >= a.opts.Iterations {
		return a.stop(IterationLimit, nil)
	}
	start := time.Now()
	prev := a.net.Clone()
	prevAct := append([]bool(nil), a.pat.act...)
	prevLoss := a.Loss()
	hr, err := a.hidden()
	if err != nil {
		return a.stop(Failure, fmt.Errorf("relunet: analytic: iteration %d: %w", a.Iter()+1, err))
	}
	flips := a.updatePattern()
	or, err := a.output()
	if err != nil {
		a.restore(prev, prevAct)
		return a.stop(Failure, fmt.Errorf("relunet: analytic: iteration %d: %w", a.Iter()+1, err))
	}
	rec := Record{Iter: a.Iter() + 1, Steps: Alternation, Hidden: hr, Output: or, Loss: or.Loss, Flips: flips}
	if a.opts.Safeguard && or.Loss > prevLoss {
		a.backtrack(prev, prevAct, prevLoss, &rec)
	}
	rec.Seconds = time.Since(start).Seconds()
	a.cycle = 0
	a.add(rec, a.net)
	switch {
	case rec.Rejected:
		// The previous iterate is back, and the next alternation would
		// repeat this one.
		a.next = NoProgress
	case rec.Flips == 0 && math.Abs(rec.Loss-prevLoss) <= a.opts.tol()*prevLoss:
		a.next = Converged
	case a.opts.patience() > 0 && a.Iter()-a.improvedAt() >= a.opts.patience():
		a.next = NoProgress
	}
	return true
}

// improvedAt returns the Iter of the last record that lowered the best loss
// before it by more than Tol, relative.
func (a *Analytic) improvedAt() int {
	tol := a.opts.tol()
	if math.IsNaN(tol) {
		tol = 0
	}
	at, best := 0, a.records[0].Loss
	for _, r := range a.records[1:] {
		if r.Loss < best*(1-tol) {
			at = r.Iter
		}
		best = math.Min(best, r.Loss)
	}
	return at
}

// backtrack searches the segment W_old → W_new for a better iterate: it tries
// W_old + t(W_new - W_old) for t = 1/2, 1/4, ... with β refit each time and
// keeps the one with the lowest training loss, provided that loss does not
// exceed the previous one, prevLoss; otherwise it restores the previous
// iterate.
func (a *Analytic) backtrack(prev *Net, prevAct []bool, prevLoss float64, rec *Record) {
	tries := a.opts.MaxBacktracks
	if tries == 0 {
		tries = 8
	}
	wNew := mat.DenseCopyOf(a.net.W)
	// A jump up is often followed by a large drop: first look one
	// alternation ahead from the new iterate and take it if it is no worse.
	if _, err := a.hidden(); err == nil {
		a.updatePattern()
		if or, err := a.output(); err == nil && or.Loss <= prevLoss {
			rec.Lookahead = true
			rec.Loss, rec.Output = or.Loss, or
			rec.Flips = countFlips(prevAct, a.pat.act)
			return
		}
	}
	bestT, bestLoss := 0.0, prevLoss
	t := 1.0
	for k := 0; k < tries; k++ {
		t /= 2
		rec.Backtrack++
		a.mix(t, wNew, prev.W)
		a.updatePattern()
		if or, err := a.output(); err == nil && or.Loss <= bestLoss {
			bestT, bestLoss = t, or.Loss
		}
	}
	if bestT == 0 {
		a.restore(prev, prevAct)
		rec.Loss, rec.Flips, rec.Rejected = prevLoss, 0, true
		return
	}
	a.mix(bestT, wNew, prev.W)
	a.updatePattern()
	or, _ := a.output() // succeeded for the same W above
	rec.Loss, rec.Output = or.Loss, or
	rec.Flips = countFlips(prevAct, a.pat.act)
}

// mix sets W to t·wNew + (1-t)·wOld.
func (a *Analytic) mix(t float64, wNew, wOld *mat.Dense) {
	a.net.W.Scale(t, wNew)
	var old mat.Dense
	old.Scale(1-t, wOld)
	a.net.W.Add(a.net.W, &old)
	a.preValid = false
}

func countFlips(a, b []bool) int {
	n := 0
	for i := range a {
		if a[i] != b[i] {
			n++
		}
	}
	return n
}

func (a *Analytic) restore(prev *Net, prevAct []bool) {
	a.net.copyFrom(prev)
	a.preValid = false
	copy(a.pat.act, prevAct)
}

// HiddenStep solves for W with β, β₀ and the activation pattern frozen,
// and records the result: the record's Loss is the true training MSE of the
// new W (with the pattern it really induces), its Hidden.Surrogate the MSE
// with the pattern frozen, which the step minimised. The pattern is not
// updated: call UpdatePattern for that. On error nothing changes.
func (a *Analytic) HiddenStep() (HiddenResult, error) {
	start := time.Now()
	res, err := a.hidden()
	if err != nil {
		return res, fmt.Errorf("relunet: analytic: %w", err)
	}
	a.note(StepHidden, Record{Hidden: res, Loss: a.trueLoss()}, start)
	return res, nil
}

// UpdatePattern recomputes the activation pattern G from W, records it and
// returns the number of entries that changed. The network, and so the
// loss, do not change.
func (a *Analytic) UpdatePattern() int {
	start := time.Now()
	flips := a.updatePattern()
	a.note(StepPattern, Record{Flips: flips, Loss: a.Loss()}, start)
	return flips
}

// OutputStep refits [β₀; β] by ridge least squares on the hidden outputs
// [1, φ_α(X̃Wᵀ)] of the current W and records the result. On error nothing
// changes.
func (a *Analytic) OutputStep() (OutputResult, error) {
	start := time.Now()
	or, err := a.output() // changes β only when it succeeds
	if err != nil {
		return or, fmt.Errorf("relunet: analytic: %w", err)
	}
	a.note(StepOutput, Record{Output: or, Loss: or.Loss}, start)
	return or, nil
}

// note records a sub-step called on its own: it continues the current
// alternation when it comes after the sub-steps already in it, and starts
// the next one otherwise. A sub-step changes the state that made the run
// stop (converge, make no progress), so Step can go on; a failure stays.
func (a *Analytic) note(s Steps, r Record, start time.Time) {
	r.Iter = a.Iter()
	if a.cycle == 0 || a.cycle >= s {
		r.Iter++
		a.cycle = 0
	}
	a.cycle |= s
	if a.cycle == Alternation {
		a.cycle = 0
	}
	r.Steps = s
	if s != StepHidden {
		r.Hidden.Surrogate = math.NaN()
	}
	r.Seconds = time.Since(start).Seconds()
	a.add(r, a.net)
	if a.status != Failure {
		a.status, a.next = NotTerminated, NotTerminated
	}
}

// trueLoss returns the training MSE of the current network.
func (a *Analytic) trueLoss() float64 {
	a.ensurePre()
	h := a.opts.Hidden
	a.as.Pool.Rows(a.pr.n, func(_, lo, hi int) {
		activate(a.net.Alpha, a.hid.Slice(lo, hi, 0, h).(*mat.Dense), a.pre.Slice(lo, hi, 0, h).(*mat.Dense))
	})
	return mse(a.as.Pool, a.hid, nil, a.net, a.pr.y)
}

// ensurePre computes the pre-activations of the current W unless they are known.
func (a *Analytic) ensurePre() {
	if !a.preValid {
		a.as.Pool.Rows(a.pr.n, func(_, lo, hi int) { preact(a.pr.x, a.net, a.pre, lo, hi) })
		a.preValid = true
	}
}

// Net returns a copy of the current network.
func (a *Analytic) Net() *Net { return a.net.Clone() }

// Pattern returns the current activation pattern G (n×h, entries α or 1).
// After HiddenStep and before UpdatePattern it is the frozen pattern, not
// the one the new W induces.
func (a *Analytic) Pattern() *mat.Dense { return a.pat.dense(a.net.Alpha) }

// Options returns the solver's options.
func (a *Analytic) Options() AnalyticOptions { return a.opts }
