package relunet

import (
	"context"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"runtime"
	"time"

	"gonum.org/v1/gonum/mat"

	"github.com/relunet/relunet/relunet/internal/gram"
	"github.com/relunet/relunet/relunet/internal/parallel"
	"github.com/relunet/relunet/relunet/internal/seeded"
	"github.com/relunet/relunet/relunet/internal/size"
)

// AnalyticOptions configures an Analytic solver. The zero value of every
// field but Hidden is the reference implementation's setting, so that
// AnalyticOptions{Hidden: 32} is the paper's method with 32 hidden units;
// a negative limit, tolerance or ridge turns it off (see the package
// documentation).
type AnalyticOptions struct {
	// Hidden is the number of hidden units h; it is required.
	Hidden int
	// Alpha is the leaky slope α of φ_α, in [0, 1); 0 is the ReLU.
	Alpha float64
	// Ridge is the λ added to the diagonal of both normal matrices; 0
	// means 0.001, the reference's, and a negative value none (λ = 0).
	Ridge float64
	// Seed seeds the initial weights.
	Seed uint64

	// Iterations is the number of alternations after which Step returns
	// false with IterationLimit; 0 means 30, the reference's, and a
	// negative value no limit (the run stops by the rules below).
	Iterations int
	// Tol is the relative change of the training loss below which an
	// alternation that flips no entry of the activation pattern is a fixed
	// point, where Step stops with Converged; 0 means 1e-7, and a negative
	// value turns the test off.
	Tol float64
	// Patience is the number of alternations without a relative
	// improvement of the best loss by more than Tol after which Step stops
	// with NoProgress: the plain alternation often settles into a cycle
	// between a few patterns instead of a fixed point. 0 means 100, and a
	// negative value turns the test off.
	Patience int

	// Safeguard rejects alternations that raise the training loss. It first
	// looks one alternation further from the new iterate, while such
	// look-aheads pay: after f failures in a row it skips them for the next
	// 2^f - 1 rises, at most 15, and one that is kept resets the count. When
	// the look-ahead is skipped or still worse, it searches W_old → W_new
	// (β refit each time) at MaxBacktracks halvings, and keeps the previous
	// iterate when nothing lowers the loss. Off, the solver behaves like the
	// reference. It applies to Step only: HiddenStep, UpdatePattern and
	// OutputStep do exactly what they say, so that a notebook can show a
	// sub-step that raises the loss.
	Safeguard bool
	// MaxBacktracks is the number of halvings the safeguard tries, at most
	// 1075; 0 means 8, and a negative value none (only the look ahead).
	MaxBacktracks int

	// Damping, when positive, makes the hidden step proximal: it
	// minimises its surrogate plus μ‖W - W_old‖², with μ this factor times
	// the mean diagonal entry of the normal matrix (without the ridge).
	// The step then moves W less, so that fewer entries of the pattern flip
	// and the surrogate stays a better guide to the true loss; the hidden
	// step with β fixed is a Gauss–Newton step in W, and this is its
	// Levenberg–Marquardt damping, with β solved exactly by the output
	// step. It pays where the plain step overshoots: with few rows for the
	// unknowns, where the plain alternation cycles far above what gradient
	// methods reach (docs/results.md). 0 means none: the paper's step.
	Damping float64
	// AltDamping, when positive, is the damping of the even alternations
	// (the second, the fourth, ...), Damping staying that of the odd ones,
	// so that a freer step follows each firmer one. With Balance, damping
	// 0.01 and 0.001 taken in turn were below both held alone on 11 of 25
	// development settings where the rows are few, by factors on some,
	// and between the two on the others (docs/results.md). 0 means every
	// hidden step uses Damping.
	AltDamping float64

	// Balance, after each hidden step of Step, rescales every hidden unit
	// j so that its input weights w_j and output weights β_j have equal
	// norms: w_j by c = √(‖β_j‖/‖w_j‖), β_j by 1/c, before the output step
	// refits β. φ_α is positively homogeneous, so neither the network's
	// function nor its pattern changes, while the ridge's λ(‖w_j‖² + ‖β_j‖²)
	// falls to its least over such rescalings. At a critical point of the
	// ridge objective in all the weights the units are balanced (the
	// derivative along the rescaling is 2λ(‖w_j‖² - ‖β_j‖²)); an alternation
	// moves one layer at a time and gets there slowly, with ‖W‖ growing and
	// ‖β‖ shrinking where the rows are few. That drift also damps the hidden
	// step (the ridge weighs more against a smaller β), so that balanced, a
	// small Damping may overshoot where it did not: a variant, not a fix
	// (docs/results.md). It does nothing without a ridge.
	Balance bool

	// Init, when not nil, is the starting network: its W is used and β is
	// refit. Its leaky slope must be Alpha. Nil means W ~ N(0, 1), or with
	// DataInit a W whose hidden hyperplanes pass through training rows drawn
	// at random (each with an N(0, I) normal), so that no unit starts dead
	// or linear on the data. Options returns the starting network the
	// solver drew here, so that NewAnalytic with them repeats the run.
	Init     *Net
	DataInit bool

	// HiddenSolve is how the hidden step solves its normal equations; 0 is
	// SolveAuto, which the constructor resolves (see HiddenSolve).
	HiddenSolve HiddenSolve
	// CGTol is the relative residual at which conjugate gradients stop; 0
	// means 1e-10, and a negative value none (they run CGMaxIter times).
	CGTol float64
	// CGMaxIter caps the conjugate-gradient iterations; 0 means min(4hD,
	// 100(nm+1)): in floating point CG took 7 to 80 times the nm+1
	// iterations that exact arithmetic needs (see memory.go). A negative
	// value means no cap.
	CGMaxIter int
	// MemoryLimit is the most memory, in bytes, that the solver's copy of
	// the data, its buffers and the hidden step's system may take; 0 means
	// what the process may use when the solver is made (see the package
	// documentation), and a negative value no limit.
	MemoryLimit int64

	// Workers bounds the goroutines of the solver's parallel work
	// (assembly, factorisation, passes over the rows); 0 means GOMAXPROCS.
	// Results do not depend on it.
	Workers int
	// Workspace, when not nil, lends the hidden step's system to this
	// solver and the others that share it (see Workspace); nil means the
	// solver keeps its own. Results do not depend on it, and Save does not
	// keep it.
	Workspace *Workspace
}

// Defaults of the analytic method, the reference implementation's.
const (
	DefaultRidge      = 1e-3
	defaultIterations = 30
	defaultTol        = 1e-7
	defaultPatience   = 100
	defaultBacktracks = 8
	defaultCGTol      = 1e-10
)

const analyticMemoryOption = "AnalyticOptions.MemoryLimit, -memory"

// MaxDamping bounds AnalyticOptions.Damping: a damping of 1e12 times the
// normal matrix's mean diagonal already leaves W within about 1e-12 of
// where it was, and far larger ones overflow the damped matrix.
const MaxDamping = 1e12

// maxBacktracks bounds MaxBacktracks: 2⁻¹⁰⁷⁵ is below the least positive
// float64, so a step halved that often moves no weight.
const maxBacktracks = 1075

func (o AnalyticOptions) check() error {
	switch {
	case o.Hidden <= 0:
		return fmt.Errorf("relunet: analytic: Hidden must be positive, have %d", o.Hidden)
	case math.IsNaN(o.Ridge) || math.IsInf(o.Ridge, 0):
		return fmt.Errorf("relunet: analytic: Ridge λ must be finite, have %v", o.Ridge)
	case math.IsNaN(o.Tol) || math.IsInf(o.Tol, 0):
		return fmt.Errorf("relunet: analytic: Tol must be finite, have %v", o.Tol)
	case math.IsNaN(o.CGTol) || math.IsInf(o.CGTol, 0) || o.CGTol >= 1:
		return fmt.Errorf("relunet: analytic: CGTol must be below 1, have %v", o.CGTol)
	case o.HiddenSolve == SolveCGOrPrimal && o.CGTol < 0:
		return fmt.Errorf("relunet: analytic: HiddenSolve SolveCGOrPrimal needs CGTol ≥ 0 (0 means 1e-10), have %v", o.CGTol)
	case o.HiddenSolve < SolveAuto || o.HiddenSolve > SolveCGOrPrimal:
		return fmt.Errorf("relunet: analytic: unknown HiddenSolve %d", o.HiddenSolve)
	case o.Workers < 0:
		return fmt.Errorf("relunet: analytic: Workers must not be negative, have %d", o.Workers)
	case math.IsNaN(o.Damping) || math.IsInf(o.Damping, 0) || o.Damping < 0 || o.Damping > MaxDamping:
		return fmt.Errorf("relunet: analytic: Damping must be from 0 to %g, have %v", MaxDamping, o.Damping)
	case math.IsNaN(o.AltDamping) || math.IsInf(o.AltDamping, 0) || o.AltDamping < 0 || o.AltDamping > MaxDamping:
		return fmt.Errorf("relunet: analytic: AltDamping must be from 0 to %g, have %v", MaxDamping, o.AltDamping)
	case o.MaxBacktracks > maxBacktracks:
		return fmt.Errorf("relunet: analytic: MaxBacktracks is at most %d, have %d: halving a step more often leaves it unchanged in float64", maxBacktracks, o.MaxBacktracks)
	}
	return checkAlpha(o.Alpha)
}

// damping returns the hidden step's damping in alternation iter, counted
// from 1 (see AltDamping).
func (o AnalyticOptions) damping(iter int) float64 {
	if o.AltDamping > 0 && iter%2 == 0 {
		return o.AltDamping
	}
	return o.Damping
}

// resolve returns the options with every default filled in for D inputs
// with the bias and n·m targets, and the memory limit mem, but for
// HiddenSolve and Init, which the constructor resolves from its plan and
// its start.
func (o AnalyticOptions) resolve(D, nm int, mem memory) AnalyticOptions {
	def := func(v *float64, d float64) {
		if *v == 0 {
			*v = d
		}
	}
	defInt := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	def(&o.Ridge, DefaultRidge)
	def(&o.Tol, defaultTol)
	def(&o.CGTol, defaultCGTol)
	defInt(&o.Iterations, defaultIterations)
	defInt(&o.Patience, defaultPatience)
	defInt(&o.MaxBacktracks, defaultBacktracks)
	if o.CGMaxIter == 0 {
		// min(4hD, 100(nm+1)), each product checked.
		o.CGMaxIter = math.MaxInt
		if v, ok := size.Mul(4, o.Hidden, D); ok {
			o.CGMaxIter = v
		}
		if v, ok := size.Mul(100, nm+1); ok && v < o.CGMaxIter {
			o.CGMaxIter = v
		}
	}
	defInt(&o.Workers, runtime.GOMAXPROCS(0))
	o.MemoryLimit = mem.shown(o.MemoryLimit)
	return o
}

// lambda returns the ridge λ the solves use.
func (o AnalyticOptions) lambda() float64 { return max(o.Ridge, 0) }

// HiddenResult describes one hidden step.
type HiddenResult struct {
	// Surrogate is the training MSE of the network with the new W, the old β
	// and the frozen pattern: the quantity the hidden step minimised.
	Surrogate float64
	Solve     HiddenSolve // the solve that ran: SolvePrimal, SolveDual or SolveCG
	Fallback  bool        // a direct solve needed the eigen fallback: the system was not numerically positive definite
	Dead      int         // neurons left unchanged: no active row or zero output weight
	// Conjugate gradients only: the iterations, the relative residual
	// reached, and whether it is within CGTol. A solve stopped at the
	// iteration cap still lowers the surrogate from the previous W. Under
	// SolveCGOrPrimal, Solve is SolveCG when they reached CGTol, and
	// SolvePrimal when they stopped at the cap and the primal solve gave W.
	CGIters     int
	CGResid     float64
	CGConverged bool

	AssembleSeconds float64
	SolveSeconds    float64
}

// OutputResult describes one output step.
type OutputResult struct {
	Loss     float64 // training MSE after the refit
	Fallback bool    // the normal matrix was not numerically positive definite
}

// Analytic trains a two-layer network by alternating exact solves, in the
// manner of bufio.Scanner: construct it with NewAnalytic, call Step until it
// returns false, then check Err and Status.
//
// The sub-steps HiddenStep, UpdatePattern and OutputStep can also be called
// one by one. Each adds a record, so that Last, History and Best always
// describe the network as it is. A sub-step continues the alternation of
// the sub-steps called before it (its record has their Iter) when it comes
// after them in the order hidden, pattern, output, and starts the next
// alternation otherwise. A sub-step can be called whenever the run has not
// ended for good (Failure, RuntimeLimit or Canceled): after a stop by the
// run's own rules (IterationLimit, Converged, NoProgress) it changes the
// state that stopped the run, so Status is NotTerminated again and Step
// goes on, until those rules stop it again. A sub-step that fails returns
// its error and changes nothing.
type Analytic struct {
	opts AnalyticOptions // resolved
	// given holds the options as the caller gave them where they are the
	// machine's (Workers, MemoryLimit): a saved state keeps these, and the
	// loading machine resolves them again.
	given AnalyticOptions
	mem   memory
	pr    *problem
	net   *Net
	pat   *pattern
	rng   *rand.PCG
	history

	// cycle holds the sub-steps called on their own since the last
	// complete alternation.
	cycle Steps
	// next is the status of the next Step: a run that converged stops
	// there, after the step that converged has been reported.
	next Status

	as  gram.Assembler
	sys *mat.SymDense // storage of the hidden step's normal matrix (or its dual form's) and its factor, kept for the next step without a Workspace
	// dualX is X̃ᵀ by columns for the dual form (gram.HadamardGrams), each
	// row repeated for every output.
	dualX []float64
	// cgCap caps the iterations of SolveCGOrPrimal's conjugate gradients,
	// set by plan from the problem's size; cgOff is set once they have
	// stopped at it, and the primal solve then runs alone.
	cgCap int
	cgOff bool
	// used is the memory of the data, the buffers and the hidden step's
	// system, which the plan was checked against.
	used int64

	// pre holds the pre-activations X̃Wᵀ of the current W when preValid: the
	// surrogate, the pattern update and the output step share them.
	pre      *mat.Dense
	preValid bool
	// ahy is [1, H, Y] (n×(1+h+m)); hid views its H columns. One Gram pass
	// over its rows gives the output step's normal matrix and right-hand side.
	ahy, hid *mat.Dense
}

// NewAnalytic returns a solver for inputs X (n×d, without the ones column)
// and targets Y (n×m), whose work ctx can stop (see the package
// documentation). It checks that the data, its buffers and the hidden
// step's system fit in the memory limit, initialises W, computes the
// pattern and performs the first output step, recorded as Iter 0.
func NewAnalytic(ctx context.Context, X, Y mat.Matrix, opts AnalyticOptions) (*Analytic, error) {
	if err := checkContext(ctx, "analytic"); err != nil {
		return nil, err
	}
	if err := opts.check(); err != nil {
		return nil, err
	}
	mem := newMemory(opts.MemoryLimit, analyticMemoryOption)
	var used size.Bytes
	pr, err := checkedProblem(ctx, X, Y, mem, &used)
	if err != nil {
		return nil, fmt.Errorf("relunet: analytic: %w", err)
	}
	if opts.Init != nil {
		if err := opts.Init.validate(pr.d, pr.m); err != nil {
			return nil, fmt.Errorf("relunet: analytic: Init: %w", err)
		}
		switch h, _, _ := opts.Init.Dims(); {
		case h != opts.Hidden:
			return nil, fmt.Errorf("relunet: analytic: Init has %d hidden units, Hidden is %d", h, opts.Hidden)
		case opts.Init.Alpha != opts.Alpha:
			return nil, fmt.Errorf("relunet: analytic: Init has leaky slope %v, Alpha is %v", opts.Init.Alpha, opts.Alpha)
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("relunet: analytic: %w", context.Cause(ctx))
	}
	a, err := newAnalytic(ctx, pr, opts, mem, used.Total())
	if err != nil {
		return nil, err
	}
	a.rng = seeded.PCG(opts.Seed)
	switch {
	case opts.Init != nil:
		a.net.copyFrom(opts.Init)
	case opts.DataInit:
		a.net.initThroughData(pr.x, rand.New(a.rng))
	default:
		a.net.InitNormal(rand.New(a.rng))
	}
	a.opts.Init = a.net.Clone()
	start := time.Now()
	a.updatePattern()
	or, err := a.output()
	if err != nil {
		if s, _ := a.ended(); s != NotTerminated {
			return nil, a.endedError()
		}
		return nil, fmt.Errorf("relunet: analytic: initial %w", err)
	}
	a.add(Record{Loss: or.Loss, Seconds: since(start), Analytic: &AnalyticRecord{Steps: StepPattern | StepOutput, Output: &or}}, a.net)
	return a, nil
}

// newAnalytic returns a solver for the problem with the options resolved,
// the plan checked against the memory limit and the buffers allocated, but
// no network in them yet: NewAnalytic and Load fill them. used is the
// memory the problem's data already take.
func newAnalytic(ctx context.Context, pr *problem, opts AnalyticOptions, mem memory, used int64) (*Analytic, error) {
	h, D, n, m := opts.Hidden, pr.d+1, pr.n, pr.m
	ro := opts.resolve(D, n*m, mem)
	ro.Init = nil
	a := &Analytic{opts: ro, given: opts, mem: mem, pr: pr, history: history{method: MethodAnalytic, ctx: ctx}}
	base := baseBytes(n, h, D, m)
	if err := mem.check(fmt.Sprintf("an analytic solver's buffers for %d rows and %d hidden units", n, h), base, used); err != nil {
		return nil, fmt.Errorf("relunet: analytic: %w", err)
	}
	used += base
	solve, need, err := a.plan(opts.HiddenSolve, used)
	if err != nil {
		return nil, fmt.Errorf("relunet: analytic: %w", err)
	}
	a.opts.HiddenSolve, a.used = solve, used+need
	a.as = gram.Assembler{Pool: parallel.Pool{Workers: a.opts.Workers, Ctx: ctx}}
	a.net = &Net{W: mat.NewDense(h, D, nil), Beta: mat.NewDense(h, m, nil), Beta0: make([]float64, m), Alpha: opts.Alpha}
	a.pat = newPattern(n, h)
	a.pre = mat.NewDense(n, h, nil)
	a.ahy = gram.NewPadded(n, 1+h+m)
	a.ahy.Slice(0, n, 1+h, 1+h+m).(*mat.Dense).Copy(pr.y)
	raw := a.ahy.RawMatrix()
	for i := 0; i < n; i++ {
		raw.Data[i*raw.Stride] = 1
	}
	a.hid = a.ahy.Slice(0, n, 1, 1+h).(*mat.Dense)
	return a, nil
}

// Method returns MethodAnalytic.
func (a *Analytic) Method() Method { return MethodAnalytic }

// Step performs one alternation: hidden step, pattern update, output step,
// with the safeguard when enabled. It returns false, and Status says why,
// when the iteration limit is reached (IterationLimit), after an
// alternation that reached a fixed point (Converged), after one that the
// safeguard rejected or that ended Patience alternations without progress
// (NoProgress), when a step failed (Failure, Err), and when the context
// ended (RuntimeLimit, Canceled).
func (a *Analytic) Step() bool {
	if !a.begin() {
		return false
	}
	if a.next != NotTerminated {
		return a.stop(a.next, nil)
	}
	iter := a.Last().Iter + 1
	if a.opts.Iterations > 0 && iter > a.opts.Iterations {
		return a.stop(IterationLimit, nil)
	}
	start := time.Now()
	prev := a.net.Clone()
	prevAct := append([]bool(nil), a.pat.act...)
	prevLoss := a.Last().Loss
	abandon := func(err error) bool {
		a.restore(prev, prevAct)
		return a.fail(fmt.Errorf("iteration %d: %w", iter, err))
	}
	hr, err := a.hidden()
	if err != nil {
		return abandon(err)
	}
	a.balance()
	flips := a.updatePattern()
	or, err := a.output()
	if err != nil {
		return abandon(err)
	}
	rec := &AnalyticRecord{Steps: Alternation, Hidden: &hr, Output: &or, Flips: flips}
	loss := or.Loss
	if a.opts.Safeguard && loss > prevLoss {
		if loss, err = a.backtrack(prev, prevAct, prevLoss, rec); err != nil {
			return abandon(err)
		}
	}
	a.cycle = 0
	a.add(Record{Iter: iter, Loss: loss, Seconds: since(start), Analytic: rec}, a.net)
	a.next = stopRule(a.records, a.opts.Tol, a.opts.Patience)
	return true
}

// stopRule returns the status that the alternation recorded last in recs
// calls for, after the records before it: NoProgress when the safeguard
// rejected it (the previous iterate is back, and the next alternation
// would repeat this one); Converged at a fixed point, an alternation that
// flips no entry and changes the loss by at most tol, relative; NoProgress
// after patience alternations none of which lowered the best loss before
// it by more than tol, relative; NotTerminated otherwise. A tol or
// patience ≤ 0 is off.
func stopRule(recs []Record, tol float64, patience int) Status {
	r, prev := recs[len(recs)-1], recs[len(recs)-2].Loss
	switch {
	case r.Analytic.Rejected:
		return NoProgress
	case tol > 0 && r.Analytic.Flips == 0 && math.Abs(r.Loss-prev) <= tol*prev:
		return Converged
	case patience > 0 && r.Iter-improvedAt(recs, max(tol, 0)) >= patience:
		return NoProgress
	}
	return NotTerminated
}

// improvedAt returns the Iter of the last record that lowered the best loss
// of the records before it by more than tol, relative, or 0.
func improvedAt(recs []Record, tol float64) int {
	at, best := 0, recs[0].Loss
	for _, r := range recs[1:] {
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
// iterate. It returns the loss of the iterate it keeps; an error only when
// the context ended (a failed trial is a trial that did not help).
func (a *Analytic) backtrack(prev *Net, prevAct []bool, prevLoss float64, rec *AnalyticRecord) (float64, error) {
	wNew := mat.DenseCopyOf(a.net.W)
	// A jump up is sometimes followed by a large drop: first look one
	// alternation ahead from the new iterate and take it if it is no worse,
	// while look-aheads have been paying (see lookAhead).
	if !lookAhead(a.records) {
		rec.LookaheadSkipped = true
	} else if _, err := a.hidden(); err == nil {
		a.balance()
		a.updatePattern()
		if or, err := a.output(); err == nil && or.Loss <= prevLoss {
			rec.Lookahead = true
			rec.Output = &or
			rec.Flips = countFlips(prevAct, a.pat.act)
			return or.Loss, nil
		}
	}
	if err := a.as.Pool.Err(); err != nil {
		return 0, err
	}
	bestT, bestLoss := 0.0, prevLoss
	t := 1.0
	for k := 0; k < a.opts.MaxBacktracks; k++ {
		t /= 2
		rec.Backtracks++
		a.mix(t, wNew, prev.W)
		a.updatePattern()
		if or, err := a.output(); err == nil && or.Loss <= bestLoss {
			bestT, bestLoss = t, or.Loss
		}
		if err := a.as.Pool.Err(); err != nil {
			return 0, err
		}
	}
	if bestT == 0 {
		a.restore(prev, prevAct)
		rec.Flips, rec.Rejected, rec.Output = 0, true, nil
		return prevLoss, nil
	}
	a.mix(bestT, wNew, prev.W)
	a.updatePattern()
	or, err := a.output() // succeeded for the same W above, unless the context ended since
	if err != nil {
		return 0, err
	}
	rec.Output = &or
	rec.Flips = countFlips(prevAct, a.pat.act)
	return or.Loss, nil
}

// maxLookaheadSkip bounds the rises lookAhead skips in a row, so that a
// run whose look-aheads failed early still tries one every so often: at
// most one rise in maxLookaheadSkip+1 then pays for a look-ahead.
const maxLookaheadSkip = 15

// lookAhead reports whether the safeguard, at a rise of the loss after the
// alternations recorded in recs, should look one alternation further. A
// look-ahead costs a whole alternation and pays on few rises (one or two in a
// hundred on the development family, one in six on the SDF; docs/results.md),
// so it backs off: after f look-aheads in a row that failed it skips the next
// 2^f - 1 rises, at most maxLookaheadSkip, and one that is kept resets the
// count. The counts come from the records, so a run saved and loaded goes
// on as it would have without the interruption; a new solver, such as a
// restart, begins with none.
func lookAhead(recs []Record) bool {
	fails, skipped := 0, 0
scan:
	for i := len(recs) - 1; i >= 0; i-- {
		r := recs[i].Analytic
		switch {
		case r == nil || r.Steps != Alternation:
		case r.Lookahead:
			break scan
		case r.LookaheadSkipped:
			if fails == 0 {
				skipped++
			}
		case r.Backtracks > 0 || r.Rejected: // a look-ahead that failed
			fails++
			if 1<<fails-1 >= maxLookaheadSkip {
				break scan
			}
		}
	}
	return skipped >= min(1<<fails-1, maxLookaheadSkip)
}

// balance rescales the hidden units after a hidden step of Step when
// Balance is on and there is a ridge (see AnalyticOptions.Balance).
func (a *Analytic) balance() {
	if a.opts.Balance && a.opts.lambda() > 0 {
		a.net.balance()
		a.preValid = false
	}
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

// subStep reports whether a sub-step may run: not after a run that ended
// for good, nor once the context has ended (which ends the run).
func (a *Analytic) subStep() error {
	if a.status.final() {
		return fmt.Errorf("relunet: analytic: the run has ended (%v): %v", a.status, a.err)
	}
	if s, err := a.ended(); s != NotTerminated {
		a.stop(s, err)
		if err == nil {
			err = fmt.Errorf("relunet: analytic: the run has ended (%v)", s)
		}
		return err
	}
	return nil
}

// subFailed returns the error of a sub-step that did not complete; when
// the context ended, the run ends with it.
func (a *Analytic) subFailed(err error) error {
	if s, cerr := a.ended(); s != NotTerminated {
		a.stop(s, cerr)
		if cerr != nil {
			return cerr
		}
	}
	return fmt.Errorf("relunet: analytic: %w", err)
}

// HiddenStep solves for W with β, β₀ and the activation pattern frozen,
// and records the result: the record's Loss is the true training MSE of the
// new W (with the pattern it really induces), its Hidden.Surrogate the MSE
// with the pattern frozen, which the step minimised. The pattern is not
// updated: call UpdatePattern for that. On error nothing changes.
func (a *Analytic) HiddenStep() (HiddenResult, error) {
	if err := a.subStep(); err != nil {
		return HiddenResult{}, err
	}
	start := time.Now()
	prev := mat.DenseCopyOf(a.net.W)
	res, err := a.hidden()
	var loss float64
	if err == nil {
		loss, err = a.trueLoss()
	}
	if err != nil {
		a.net.W.Copy(prev)
		a.preValid = false
		return HiddenResult{}, a.subFailed(err)
	}
	a.note(Record{Loss: loss, Analytic: &AnalyticRecord{Steps: StepHidden, Hidden: &res}}, start)
	return res, nil
}

// UpdatePattern recomputes the activation pattern G from W, records it and
// returns the number of entries that changed. The network, and so the
// loss, do not change.
func (a *Analytic) UpdatePattern() (int, error) {
	if err := a.subStep(); err != nil {
		return 0, err
	}
	start := time.Now()
	flips := a.updatePattern()
	a.note(Record{Loss: a.Last().Loss, Analytic: &AnalyticRecord{Steps: StepPattern, Flips: flips}}, start)
	return flips, nil
}

// OutputStep refits [β₀; β] by ridge least squares on the hidden outputs
// [1, φ_α(X̃Wᵀ)] of the current W and records the result. On error nothing
// changes.
func (a *Analytic) OutputStep() (OutputResult, error) {
	if err := a.subStep(); err != nil {
		return OutputResult{}, err
	}
	start := time.Now()
	or, err := a.output() // changes β only when it succeeds
	if err != nil {
		return OutputResult{}, a.subFailed(err)
	}
	a.note(Record{Loss: or.Loss, Analytic: &AnalyticRecord{Steps: StepOutput, Output: &or}}, start)
	return or, nil
}

// note records a sub-step called on its own (see Analytic for how it
// numbers them) and lets Step go on.
func (a *Analytic) note(r Record, start time.Time) {
	s := r.Analytic.Steps
	r.Iter = a.Last().Iter
	if a.cycle == 0 || a.cycle >= s {
		r.Iter++
		a.cycle = 0
	}
	a.cycle |= s
	if a.cycle == Alternation {
		a.cycle = 0
	}
	r.Seconds = since(start)
	a.add(r, a.net)
	a.status, a.err, a.next = NotTerminated, nil, NotTerminated
}

// trueLoss returns the training MSE of the current network.
func (a *Analytic) trueLoss() (float64, error) {
	a.ensurePre()
	h := a.opts.Hidden
	a.as.Pool.Rows(a.pr.n, func(_, lo, hi int) {
		activate(a.net.Alpha, a.hid.Slice(lo, hi, 0, h).(*mat.Dense), a.pre.Slice(lo, hi, 0, h).(*mat.Dense))
	})
	loss := mse(a.as.Pool, a.hid, nil, a.net, a.pr.y)
	return loss, a.as.Pool.Err()
}

// ensurePre computes the pre-activations of the current W unless they are
// known. Cut short by the context, they are not known.
func (a *Analytic) ensurePre() {
	if !a.preValid {
		a.as.Pool.Rows(a.pr.n, func(_, lo, hi int) { preact(a.pr.x, a.net, a.pre, lo, hi) })
		a.preValid = a.as.Pool.Err() == nil
	}
}

// Net returns a copy of the current network.
func (a *Analytic) Net() *Net { return a.net.Clone() }

// Pattern returns the current activation pattern G (n×h, entries α or 1).
// After HiddenStep and before UpdatePattern it is the frozen pattern, not
// the one the new W induces.
func (a *Analytic) Pattern() *mat.Dense { return a.pat.dense(a.net.Alpha) }

// Options returns the solver's options with every default resolved: the
// limits and tolerances in force, the hidden step's solve, the memory
// limit, the workers, and the starting network as Init.
func (a *Analytic) Options() AnalyticOptions {
	o := a.opts
	o.Init = o.Init.Clone()
	return o
}

// analyticState is the saved state of an Analytic solver.
type analyticState struct {
	Opts    AnalyticOptions // resolved, but Workers and MemoryLimit as given; no Init
	Start   netState        // the starting network, Options().Init
	Net     netState
	Act     []bool
	RNG     []byte
	History historyState
	Cycle   Steps
	Next    Status
	CGOff   bool // SolveCGOrPrimal: the primal solve runs alone from now on
}

// Save writes the solver's state (options, weights, pattern, records, best
// iterate, status and random-number position) to w.
func (a *Analytic) Save(w io.Writer) error {
	o := a.opts
	o.Init, o.Workers, o.MemoryLimit, o.Workspace = nil, a.given.Workers, a.given.MemoryLimit, nil
	return writeState(w, MethodAnalytic, a.pr, analyticState{
		Opts: o, Start: saveNet(a.opts.Init), Net: saveNet(a.net), Act: a.pat.act, RNG: pcgState(a.rng),
		History: saveHistory(&a.history), Cycle: a.cycle, Next: a.next, CGOff: a.cgOff,
	})
}

func loadAnalytic(ctx context.Context, env envelope, pr *problem, used int64) (*Analytic, error) {
	var st analyticState
	if err := decodePayload(env, &st); err != nil {
		return nil, err
	}
	o := st.Opts
	if err := o.check(); err != nil {
		return nil, fmt.Errorf("%w: options: %v", ErrCorrupt, err)
	}
	if o.Init != nil || o.HiddenSolve == SolveAuto || o.Ridge == 0 || o.Iterations == 0 || o.Tol == 0 || o.Patience == 0 ||
		o.MaxBacktracks == 0 || o.CGTol == 0 || o.CGMaxIter == 0 {
		return nil, fmt.Errorf("%w: options without their defaults resolved", ErrCorrupt)
	}
	if st.Cycle&^Alternation != 0 || st.Cycle == Alternation || st.Next < NotTerminated || st.Next > Failure {
		return nil, fmt.Errorf("%w: sub-step state %v, next status %v", ErrCorrupt, st.Cycle, st.Next)
	}
	h := o.Hidden
	start, err := st.Start.net("starting network", h, pr.d, pr.m, o.Alpha)
	if err != nil {
		return nil, err
	}
	net, err := st.Net.net("network", h, pr.d, pr.m, o.Alpha)
	if err != nil {
		return nil, err
	}
	if nh, ok := size.Mul(pr.n, h); !ok || len(st.Act) != nh {
		return nil, fmt.Errorf("%w: activation pattern of %d entries, want %d×%d", ErrCorrupt, len(st.Act), pr.n, h)
	}
	hist, err := st.History.restore(MethodAnalytic, h, pr.d, pr.m, o.Alpha)
	if err != nil {
		return nil, err
	}
	rng, err := loadPCG(st.RNG)
	if err != nil {
		return nil, err
	}
	a, err := newAnalytic(ctx, pr, o, newMemory(o.MemoryLimit, analyticMemoryOption), used)
	if err != nil {
		return nil, err
	}
	a.opts.Init = start
	a.net.copyFrom(net)
	a.rng, a.history, a.cycle, a.next = rng, hist, st.Cycle, st.Next
	a.cgOff = st.CGOff
	a.history.ctx = ctx
	copy(a.pat.act, st.Act)
	return a, nil
}
