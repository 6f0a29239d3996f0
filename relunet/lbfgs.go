package relunet

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"time"

	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/optimize"

	"github.com/relunet/relunet/relunet/internal/parallel"
	"github.com/relunet/relunet/relunet/internal/seeded"
	"github.com/relunet/relunet/relunet/internal/size"
)

// LBFGSOptions configures an LBFGS solver. Hidden is required; the zero
// value of every other field is the default, and a negative limit or
// tolerance turns it off (see the package documentation).
type LBFGSOptions struct {
	Hidden int
	Alpha  float64
	Seed   uint64 // seeds the initial weights
	// Iterations is the number of iterations after which Step returns false
	// with IterationLimit; 0 means 500, and a negative value no limit.
	Iterations int
	// Store is the number of gradient pairs kept; 0 means 15, gonum's
	// default.
	Store int
	// GradTol stops the run with Converged when the gradient's infinity norm
	// falls below it; 0 means 1e-10, and a negative value turns the test off.
	GradTol float64
	// Init, when not nil, is the starting network, of leaky slope Alpha;
	// nil means PyTorch's nn.Linear initialisation. Options returns the
	// starting network in either case.
	Init *Net
	// MemoryLimit bounds the bytes of the solver's copy of the data and its
	// buffers; 0 means what the process may use when the solver is made,
	// and a negative value no limit.
	MemoryLimit int64
}

const lbfgsMemoryOption = "LBFGSOptions.MemoryLimit, -memory"

func (o LBFGSOptions) check() error {
	switch {
	case o.Hidden <= 0:
		return fmt.Errorf("relunet: lbfgs: Hidden must be positive, have %d", o.Hidden)
	case o.Store < 0:
		return fmt.Errorf("relunet: lbfgs: Store must not be negative, have %d", o.Store)
	case math.IsNaN(o.GradTol) || math.IsInf(o.GradTol, 0):
		return fmt.Errorf("relunet: lbfgs: GradTol must be finite, have %v", o.GradTol)
	}
	return checkAlpha(o.Alpha)
}

// resolve returns the options with every default filled in.
func (o LBFGSOptions) resolve(mem memory) LBFGSOptions {
	if o.Iterations == 0 {
		o.Iterations = DefaultIterations(MethodLBFGS)
	}
	if o.Store == 0 {
		o.Store = 15
	}
	if o.GradTol == 0 {
		o.GradTol = 1e-10
	}
	o.MemoryLimit = mem.shown(o.MemoryLimit)
	return o
}

// LBFGS trains the network by full-batch L-BFGS on the MSE, one major
// iteration (a line search along the L-BFGS direction) per Step, with
// gonum/optimize's line search. Its quasi-Newton memory is its own
// (lbfgsMemory), so that a saved solver resumes without replaying its run.
type LBFGS struct {
	opts   LBFGSOptions // resolved
	given  int64        // MemoryLimit as given
	pr     *problem
	mem    *lbfgsMemory
	method *optimize.LinesearchMethod
	loc    *optimize.Location
	net    *Net
	grad   *Net
	fg     *fullGrad
	evals  int
	// initialized is false until the line-search method has been started:
	// at the first Step, and at the first Step after a load or an
	// abandoned step.
	initialized bool
	history
}

// NewLBFGS returns an L-BFGS solver for inputs X (n×d) and targets Y (n×m),
// whose work ctx can stop (see the package documentation).
func NewLBFGS(ctx context.Context, X, Y mat.Matrix, opts LBFGSOptions) (*LBFGS, error) {
	if err := checkContext(ctx, "lbfgs"); err != nil {
		return nil, err
	}
	if err := opts.check(); err != nil {
		return nil, err
	}
	mem := newMemory(opts.MemoryLimit, lbfgsMemoryOption)
	var used size.Bytes
	pr, err := checkedProblem(ctx, X, Y, mem, &used)
	if err != nil {
		return nil, fmt.Errorf("relunet: lbfgs: %w", err)
	}
	ro := opts.resolve(mem)
	ro.Init = nil
	if err := mem.check(fmt.Sprintf("L-BFGS's buffers for %d rows, %d hidden units and %d pairs", pr.n, opts.Hidden, ro.Store),
		lbfgsBytes(pr.n, opts.Hidden, pr.d+1, pr.m, ro.Store), used.Total()); err != nil {
		return nil, fmt.Errorf("relunet: lbfgs: %w", err)
	}
	rng := seeded.Rand(opts.Seed)
	init, err := startNet(opts.Init, opts.Hidden, pr, opts.Alpha, func(n *Net) { n.InitUniform(rng) })
	if err != nil {
		return nil, fmt.Errorf("relunet: lbfgs: %w", err)
	}
	ro.Init = init.Clone()
	l := &LBFGS{opts: ro, given: opts.MemoryLimit, pr: pr, mem: &lbfgsMemory{Store: ro.Store}, history: history{method: MethodLBFGS, ctx: ctx}}
	l.setup(params(init))
	l.eval()
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("relunet: lbfgs: %w", context.Cause(ctx))
	}
	l.add(Record{Loss: l.loc.F, LBFGS: &LBFGSRecord{Evaluations: l.evals, GradNorm: l.gradNorm()}}, l.net)
	return l, nil
}

// lbfgsBytes returns the memory of an L-BFGS solver's buffers: the location
// and gradient, the pairs, a step's undo copy (the location, the gradient,
// the last iterate and one pair), the gradient's buffers, the start and the
// best network.
func lbfgsBytes(n, h, D, m, store int) int64 {
	var b size.Bytes
	b.AddBytes(paramBytes(12, h, D, m))
	for range 2 {
		b.AddBytes(paramBytes(store, h, D, m))
	}
	b.AddBytes(fullGradBytes(n, h, D, m))
	return b.Total()
}

// setup allocates the solver around the parameter vector x.
func (l *LBFGS) setup(x []float64) {
	h, d, m := l.opts.Hidden, l.pr.d, l.pr.m
	if l.loc == nil {
		l.loc = &optimize.Location{X: x, Gradient: make([]float64, len(x))}
	}
	l.net = netView(l.loc.X, h, d, m, l.opts.Alpha)
	l.grad = netView(l.loc.Gradient, h, d, m, l.opts.Alpha)
	if l.fg == nil {
		l.fg = newFullGrad(parallel.Pool{Ctx: l.ctx}, l.pr.n, h, d, m)
	}
	l.method = &optimize.LinesearchMethod{NextDirectioner: l.mem, Linesearcher: &optimize.Bisection{}}
}

// eval sets the location's value and gradient at its X. The line search
// writes loc.X in place, so l.net and l.grad stay views of it.
func (l *LBFGS) eval() {
	l.evals++
	l.loc.F = l.fg.eval(l.net, l.grad, l.pr.x, l.pr.y)
}

func (l *LBFGS) gradNorm() float64 { return floats.Norm(l.loc.Gradient, math.Inf(1)) }

// Method returns MethodLBFGS.
func (l *LBFGS) Method() Method { return MethodLBFGS }

// Step performs one L-BFGS iteration (a line search along the L-BFGS
// direction). It returns false at the iteration limit (IterationLimit), when
// the gradient is below GradTol (Converged), when the line search can make
// no more progress (NoProgress), when the context ended (RuntimeLimit,
// Canceled), or on error (Failure, Err). An iteration that does not
// complete changes nothing.
func (l *LBFGS) Step() bool {
	if !l.begin() {
		return false
	}
	iter := l.Last().Iter + 1
	if l.opts.Iterations > 0 && iter > l.opts.Iterations {
		return l.stop(IterationLimit, nil)
	}
	if l.opts.GradTol > 0 && l.gradNorm() < l.opts.GradTol {
		return l.stop(Converged, nil)
	}
	start := time.Now()
	undo := l.snapshot()
	var op optimize.Operation
	var err error
	if !l.initialized {
		// Init starts the first line search, from the memory's state: empty
		// at the first Step, the saved one after a load.
		op, err = l.method.Init(l.loc)
		l.initialized = true
	} else {
		op, err = l.method.Iterate(l.loc)
	}
	for err == nil && op != optimize.MajorIteration {
		if op&(optimize.FuncEvaluation|optimize.GradEvaluation) == 0 {
			err = fmt.Errorf("unexpected operation %v", op)
			break
		}
		l.eval()
		if err = l.ctx.Err(); err != nil {
			break // the evaluation was cut short
		}
		op, err = l.method.Iterate(l.loc)
	}
	if err != nil {
		l.restore(undo)
		if errors.Is(err, optimize.ErrNoProgress) || errors.Is(err, optimize.ErrLinesearcherFailure) {
			return l.stop(NoProgress, nil)
		}
		return l.fail(fmt.Errorf("iteration %d: %w", iter, err))
	}
	if isBad(l.loc.F) {
		loss := l.loc.F
		l.restore(undo)
		return l.fail(&DivergedError{Method: MethodLBFGS, Epoch: iter, Loss: loss})
	}
	l.add(Record{Iter: iter, Loss: l.loc.F, Seconds: since(start), LBFGS: &LBFGSRecord{Evaluations: l.evals, GradNorm: l.gradNorm()}}, l.net)
	return true
}

// lbfgsUndo is what an abandoned iteration restores.
type lbfgsUndo struct {
	x, grad []float64
	f       float64
	evals   int
	mem     memUndo
	started bool
}

func (l *LBFGS) snapshot() lbfgsUndo {
	return lbfgsUndo{x: append([]float64(nil), l.loc.X...), grad: append([]float64(nil), l.loc.Gradient...), f: l.loc.F,
		evals: l.evals, mem: l.mem.mark(), started: l.initialized || l.mem.Resumed}
}

// restore returns to the state of the snapshot, with the line search to be
// started anew from it, as after a load.
func (l *LBFGS) restore(u lbfgsUndo) {
	copy(l.loc.X, u.x)
	copy(l.loc.Gradient, u.grad)
	l.loc.F, l.evals = u.f, u.evals
	l.mem.undo(u.mem)
	l.mem.Resumed, l.initialized = u.started, false
	l.setup(l.loc.X)
}

// Net returns a copy of the current network.
func (l *LBFGS) Net() *Net { return l.net.Clone() }

// Options returns the solver's options with every default resolved, and
// the starting network as Init.
func (l *LBFGS) Options() LBFGSOptions {
	o := l.opts
	o.Init = o.Init.Clone()
	return o
}

// lbfgsMemory is the L-BFGS direction of gonum's optimize.LBFGS, the
// two-loop recursion of Nocedal and Wright (2006), chapter 7, with the same
// arithmetic in the same order, as an optimize.NextDirectioner whose memory
// (the last Store pairs s, y and the last major iterate) is in exported
// fields, so that it can be saved and restored.
type lbfgsMemory struct {
	Store   int
	Oldest  int         // index of the oldest pair
	X, Grad []float64   // location and gradient at the last major iteration
	S, Y    [][]float64 // the last Store steps and gradient changes
	Rho     []float64   // 1/(sᵀy) of each pair
	// Resumed makes the next InitDirection a NextDirection: the line-search
	// method is started anew after a load, but the memory goes on.
	Resumed bool

	a []float64 // scratch of the recursion
}

// memUndo is what an iteration can change in the memory, to be put back
// when the iteration is abandoned: the pair it overwrites (NextDirection
// writes one slot), the last iterate and the ring's position. A copy of
// the whole memory would cost Store pairs of copies per iteration, seconds
// of uninterruptible copying for millions of weights.
type memUndo struct {
	m             lbfgsMemory // shallow: its slices are the memory's own
	x, grad, s, y []float64
	rho           float64
}

// mark returns what undo needs to put the memory back as it is now.
func (m *lbfgsMemory) mark() memUndo {
	u := memUndo{m: *m}
	if m.S == nil {
		return u // no pairs yet: InitDirection makes the memory anew
	}
	k := m.Oldest
	u.x, u.grad = slices.Clone(m.X), slices.Clone(m.Grad)
	u.s, u.y, u.rho = slices.Clone(m.S[k]), slices.Clone(m.Y[k]), m.Rho[k]
	return u
}

// undo puts the memory back as it was at mark, after at most one
// NextDirection or one InitDirection (which makes new pairs, and writes
// the last iterate in place).
func (m *lbfgsMemory) undo(u memUndo) {
	*m = u.m
	if m.S == nil {
		return
	}
	k := m.Oldest
	copy(m.X, u.x)
	copy(m.Grad, u.grad)
	copy(m.S[k], u.s)
	copy(m.Y[k], u.y)
	m.Rho[k] = u.rho
}

// InitDirection starts the memory at loc and returns the steepest-descent
// direction with the first step 1/‖g‖, as gonum's LBFGS does; after a load
// it continues the saved memory instead.
func (m *lbfgsMemory) InitDirection(loc *optimize.Location, dir []float64) float64 {
	if m.Resumed {
		m.Resumed = false
		return m.NextDirection(loc, dir)
	}
	dim := len(loc.X)
	m.Oldest = 0
	m.Rho = make([]float64, m.Store)
	m.S, m.Y = make([][]float64, m.Store), make([][]float64, m.Store)
	for i := range m.S {
		m.S[i], m.Y[i] = make([]float64, dim), make([]float64, dim)
	}
	m.X = append(m.X[:0], loc.X...)
	m.Grad = append(m.Grad[:0], loc.Gradient...)
	copy(dir, loc.Gradient)
	floats.Scale(-1, dir)
	return 1 / floats.Norm(dir, 2)
}

// NextDirection adds the pair from the last major iterate to loc and
// returns the quasi-Newton direction with step 1.
func (m *lbfgsMemory) NextDirection(loc *optimize.Location, dir []float64) float64 {
	if len(m.a) != m.Store {
		m.a = make([]float64, m.Store)
	}
	y := m.Y[m.Oldest]
	floats.SubTo(y, loc.Gradient, m.Grad)
	s := m.S[m.Oldest]
	floats.SubTo(s, loc.X, m.X)
	sDotY := floats.Dot(s, y)
	m.Rho[m.Oldest] = 1 / sDotY
	m.Oldest = (m.Oldest + 1) % m.Store

	copy(m.X, loc.X)
	copy(m.Grad, loc.Gradient)
	copy(dir, loc.Gradient)
	// From the newest pair back.
	for i := 0; i < m.Store; i++ {
		idx := m.Oldest - i - 1
		if idx < 0 {
			idx += m.Store
		}
		m.a[idx] = m.Rho[idx] * floats.Dot(m.S[idx], dir)
		floats.AddScaled(dir, -m.a[idx], m.Y[idx])
	}
	// The initial inverse Hessian is a multiple of the identity.
	gamma := sDotY / floats.Dot(y, y)
	floats.Scale(gamma, dir)
	// From the oldest pair forward.
	for i := 0; i < m.Store; i++ {
		idx := i + m.Oldest
		if idx >= m.Store {
			idx -= m.Store
		}
		beta := m.Rho[idx] * floats.Dot(m.Y[idx], dir)
		floats.AddScaled(dir, m.a[idx]-beta, m.S[idx])
	}
	floats.Scale(-1, dir) // dir held H⁻¹g: descend
	return 1
}

// lbfgsState is the saved state of an LBFGS solver: the location, and the
// quasi-Newton memory, so that loading does not replay the run.
type lbfgsState struct {
	Opts    LBFGSOptions // resolved, but MemoryLimit as given; no Init
	Start   netState
	X, Grad []float64
	F       float64
	Memory  lbfgsMemory
	Evals   int
	Started bool // the memory holds pairs: the next step continues them
	History historyState
}

// Save writes the solver's state to w.
func (l *LBFGS) Save(w io.Writer) error {
	o := l.opts
	o.Init, o.MemoryLimit = nil, l.given
	return writeState(w, MethodLBFGS, l.pr, lbfgsState{Opts: o, Start: saveNet(l.opts.Init), X: l.loc.X, Grad: l.loc.Gradient, F: l.loc.F,
		Memory: *l.mem, Evals: l.evals, Started: l.initialized || l.mem.Resumed, History: saveHistory(&l.history)})
}

func loadLBFGS(ctx context.Context, env envelope, pr *problem, used int64) (*LBFGS, error) {
	var st lbfgsState
	if err := decodePayload(env, &st); err != nil {
		return nil, err
	}
	o := st.Opts
	if err := o.check(); err != nil {
		return nil, fmt.Errorf("%w: options: %v", ErrCorrupt, err)
	}
	if o.Store <= 0 || o.GradTol == 0 || o.Iterations == 0 || o.Init != nil {
		return nil, fmt.Errorf("%w: options without their defaults resolved", ErrCorrupt)
	}
	start, err := st.Start.net("starting network", o.Hidden, pr.d, pr.m, o.Alpha)
	if err != nil {
		return nil, err
	}
	hist, err := st.History.restore(MethodLBFGS, o.Hidden, pr.d, pr.m, o.Alpha)
	if err != nil {
		return nil, err
	}
	mem := newMemory(o.MemoryLimit, lbfgsMemoryOption)
	if err := mem.check(fmt.Sprintf("L-BFGS's buffers for %d rows, %d hidden units and %d pairs", pr.n, o.Hidden, o.Store),
		lbfgsBytes(pr.n, o.Hidden, pr.d+1, pr.m, o.Store), used); err != nil {
		return nil, err
	}
	size := paramCount(o.Hidden, pr.d, pr.m)
	if len(st.X) != size || len(st.Grad) != size || st.Evals < 1 || !finiteAll(st.X) {
		return nil, fmt.Errorf("%w: location of %d and %d entries, want %d", ErrCorrupt, len(st.X), len(st.Grad), size)
	}
	m := st.Memory
	if st.Started {
		ok := m.Store == o.Store && len(m.X) == size && len(m.Grad) == size && len(m.S) == o.Store &&
			len(m.Y) == o.Store && len(m.Rho) == o.Store && m.Oldest >= 0 && m.Oldest < o.Store
		for i := 0; ok && i < o.Store; i++ {
			ok = len(m.S[i]) == size && len(m.Y[i]) == size
		}
		if !ok {
			return nil, fmt.Errorf("%w: quasi-Newton memory of inconsistent sizes", ErrCorrupt)
		}
	} else {
		m = lbfgsMemory{Store: o.Store}
	}
	m.Resumed = st.Started
	l := &LBFGS{opts: o.resolve(mem), given: o.MemoryLimit, pr: pr, mem: &m, evals: st.Evals, history: hist,
		loc: &optimize.Location{X: st.X, Gradient: st.Grad, F: st.F}}
	l.opts.Init = start
	l.history.ctx = ctx
	l.setup(st.X)
	return l, nil
}
