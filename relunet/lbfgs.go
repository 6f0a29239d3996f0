package relunet

import (
	"errors"
	"fmt"
	"math"
	"time"

	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/optimize"

	"github.com/relunet/relunet/relunet/internal/seeded"
)

// LBFGSOptions configures an LBFGS solver.
type LBFGSOptions struct {
	Hidden int
	Alpha  float64
	Seed   uint64 // seeds the initial weights
	// Iterations is the number of iterations after which Step returns false
	// with IterationLimit; 0 means no limit.
	Iterations int
	Store      int // gradient pairs kept; 0 means 15, gonum's default
	// GradTol stops the run with Converged when the gradient's infinity norm
	// falls below it; 0 means 1e-10.
	GradTol float64
	Init    *Net // starting network; nil: PyTorch's nn.Linear initialisation
}

// DefaultLBFGSOptions returns full-batch L-BFGS with 500 iterations.
func DefaultLBFGSOptions(h int) LBFGSOptions {
	return LBFGSOptions{Hidden: h, Iterations: 500}
}

func (o LBFGSOptions) check() error {
	switch {
	case o.Hidden <= 0:
		return fmt.Errorf("relunet: lbfgs: Hidden must be positive, have %d", o.Hidden)
	case o.Iterations < 0:
		return fmt.Errorf("relunet: lbfgs: Iterations must not be negative, have %d", o.Iterations)
	case o.Store < 0:
		return fmt.Errorf("relunet: lbfgs: Store must not be negative, have %d", o.Store)
	case !(o.GradTol >= 0) || math.IsInf(o.GradTol, 0):
		return fmt.Errorf("relunet: lbfgs: GradTol must be finite and non-negative, have %v", o.GradTol)
	}
	return checkAlpha(o.Alpha)
}

// LBFGS trains the network by full-batch L-BFGS on the MSE, one major
// iteration (a line search along the L-BFGS direction) per Step, with
// gonum/optimize's line search. Its quasi-Newton memory is its own
// (lbfgsMemory), so that a saved solver resumes without replaying its run.
type LBFGS struct {
	opts   LBFGSOptions
	pr     *problem
	mem    *lbfgsMemory
	method *optimize.LinesearchMethod
	loc    *optimize.Location
	net    *Net
	grad   *Net
	buf    *gradBuf
	evals  int
	// initialized is false until the line-search method has been started:
	// at the first Step, and at the first Step after a load.
	initialized bool
	history
}

// NewLBFGS returns an L-BFGS solver for inputs X (n×d) and targets Y (n×m).
func NewLBFGS(X, Y mat.Matrix, opts LBFGSOptions) (*LBFGS, error) {
	if err := opts.check(); err != nil {
		return nil, err
	}
	pr, err := checkedProblem(X, Y)
	if err != nil {
		return nil, err
	}
	rng := seeded.Rand(opts.Seed)
	init, err := startNet(opts.Init, opts.Hidden, pr, opts.Alpha, func(n *Net) { n.InitUniform(rng) })
	if err != nil {
		return nil, fmt.Errorf("relunet: lbfgs: %w", err)
	}
	opts.Init = nil
	if opts.GradTol == 0 {
		opts.GradTol = 1e-10
	}
	if opts.Store == 0 {
		opts.Store = 15
	}
	l := &LBFGS{opts: opts, pr: pr, mem: &lbfgsMemory{Store: opts.Store}}
	l.setup(params(init))
	l.eval()
	l.add(Record{Loss: l.loc.F, Evaluations: l.evals, GradNorm: l.gradNorm()}, l.net)
	return l, nil
}

// setup allocates the solver around the parameter vector x.
func (l *LBFGS) setup(x []float64) {
	h, d, m := l.opts.Hidden, l.pr.d, l.pr.m
	if l.loc == nil {
		l.loc = &optimize.Location{X: x, Gradient: make([]float64, len(x))}
	}
	l.net = netView(l.loc.X, h, d, m, l.opts.Alpha)
	l.grad = netView(l.loc.Gradient, h, d, m, l.opts.Alpha)
	l.buf = newGradBuf(l.pr.n, h, m)
	l.method = &optimize.LinesearchMethod{NextDirectioner: l.mem, Linesearcher: &optimize.Bisection{}}
}

// eval sets the location's value and gradient at its X. The line search
// writes loc.X in place, so l.net and l.grad stay views of it.
func (l *LBFGS) eval() {
	l.evals++
	l.loc.F = lossGrad(l.net, l.grad, l.pr.x, l.pr.y, l.buf)
}

func (l *LBFGS) gradNorm() float64 { return floats.Norm(l.loc.Gradient, math.Inf(1)) }

// Method returns MethodLBFGS.
func (l *LBFGS) Method() Method { return MethodLBFGS }

// Step performs one L-BFGS iteration (a line search along the L-BFGS
// direction). It returns false at the iteration limit (IterationLimit), when
// the gradient is below GradTol (Converged), when the line search can make
// no more progress (NoProgress), or on error (Failure, Err).
func (l *LBFGS) Step() bool {
	if l.status != NotTerminated {
		return false
	}
	if l.opts.Iterations > 0 && l.Iter() >= l.opts.Iterations {
		return l.stop(IterationLimit, nil)
	}
	if l.gradNorm() < l.opts.GradTol {
		return l.stop(Converged, nil)
	}
	start := time.Now()
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
		op, err = l.method.Iterate(l.loc)
	}
	if err != nil {
		if errors.Is(err, optimize.ErrNoProgress) || errors.Is(err, optimize.ErrLinesearcherFailure) {
			return l.stop(NoProgress, nil)
		}
		return l.stop(Failure, fmt.Errorf("relunet: lbfgs: iteration %d: %w", l.Iter()+1, err))
	}
	l.add(Record{Iter: l.Iter() + 1, Loss: l.loc.F, Evaluations: l.evals, GradNorm: l.gradNorm(),
		Seconds: time.Since(start).Seconds()}, l.net)
	return true
}

// Net returns a copy of the current network.
func (l *LBFGS) Net() *Net { return l.net.Clone() }

// Options returns the solver's options.
func (l *LBFGS) Options() LBFGSOptions { return l.opts }

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
