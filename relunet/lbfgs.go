package relunet

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/optimize"
)

// LBFGSOptions configures an LBFGS solver.
type LBFGSOptions struct {
	Hidden     int
	Alpha      float64
	Seed       uint64 // seeds the initial weights
	Iterations int    // Step returns false after this many; ≤ 0 means no limit
	Store      int    // gradient pairs kept; 0 means gonum's default (15)
	// GradTol stops the run when the gradient's infinity norm falls below it;
	// 0 means 1e-10.
	GradTol float64
	Init    *Net // starting network; nil: PyTorch's nn.Linear initialisation
}

// DefaultLBFGSOptions returns full-batch L-BFGS with 500 iterations.
func DefaultLBFGSOptions(h int) LBFGSOptions {
	return LBFGSOptions{Hidden: h, Iterations: 500}
}

// LBFGS trains the network by full-batch L-BFGS on the MSE, driving
// gonum/optimize's L-BFGS directions and line search one major iteration per
// Step.
type LBFGS struct {
	opts   LBFGSOptions
	pr     *problem
	init   []float64 // starting parameters, kept so that Load can replay the run
	method *optimize.LinesearchMethod
	loc    *optimize.Location
	net    *Net
	grad   *Net
	buf    *gradBuf

	iter, evals int
	epochLog
	done bool
	err  error
}

// NewLBFGS returns an L-BFGS solver for inputs X (n×d) and targets Y (n×m).
func NewLBFGS(X, Y mat.Matrix, opts LBFGSOptions) (*LBFGS, error) {
	if opts.Hidden <= 0 || opts.Store < 0 || !(opts.GradTol >= 0) {
		return nil, fmt.Errorf("relunet: lbfgs: need Hidden > 0, Store ≥ 0, GradTol ≥ 0, have %d, %d, %v", opts.Hidden, opts.Store, opts.GradTol)
	}
	if err := checkAlpha(opts.Alpha); err != nil {
		return nil, err
	}
	pr, err := checkedProblem(X, Y)
	if err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(opts.Seed, seedStream))
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
	l := &LBFGS{opts: opts, pr: pr, init: params(init)}
	l.start()
	return l, nil
}

func (l *LBFGS) start() {
	h, d, m := l.opts.Hidden, l.pr.d, l.pr.m
	x := append([]float64(nil), l.init...)
	l.loc = &optimize.Location{X: x, Gradient: make([]float64, len(x))}
	l.net = netView(l.loc.X, h, d, m, l.opts.Alpha)
	l.grad = netView(l.loc.Gradient, h, d, m, l.opts.Alpha)
	l.buf = newGradBuf(l.pr.n, h, m)
	l.method = &optimize.LinesearchMethod{
		NextDirectioner: &optimize.LBFGS{Store: l.opts.Store},
		Linesearcher:    &optimize.Bisection{},
	}
	l.iter, l.evals, l.epochLog, l.done, l.err = 0, 0, epochLog{}, false, nil
	l.eval()
	l.record(0)
}

// eval sets the location's value and gradient at its X. The line search
// writes loc.X in place, so l.net and l.grad stay views of it.
func (l *LBFGS) eval() {
	l.evals++
	l.loc.F = lossGrad(l.net, l.grad, l.pr.x, l.pr.y, l.buf)
}

func (l *LBFGS) record(seconds float64) {
	l.add(EpochRecord{Epoch: l.iter, Loss: l.loc.F, Seconds: seconds}, l.net)
}

// Step performs one L-BFGS iteration (a line search along the L-BFGS
// direction). It returns false at the iteration limit, when the gradient is
// below GradTol or the line search can make no more progress (Converged
// reports these), or on error (Err).
func (l *LBFGS) Step() bool {
	if l.done || l.err != nil || (l.opts.Iterations > 0 && l.iter >= l.opts.Iterations) {
		return false
	}
	if floats.Norm(l.loc.Gradient, math.Inf(1)) < l.opts.GradTol {
		l.done = true
		return false
	}
	start := time.Now()
	var op optimize.Operation
	var err error
	if l.iter == 0 {
		op, err = l.method.Init(l.loc)
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
			l.done = true
			return false
		}
		l.err = fmt.Errorf("relunet: lbfgs: iteration %d: %w", l.iter+1, err)
		return false
	}
	l.iter++
	l.record(time.Since(start).Seconds())
	return true
}

// Converged reports whether the run stopped because the gradient vanished or
// the line search could make no more progress.
func (l *LBFGS) Converged() bool { return l.done }

// Err returns the error that stopped Step, or nil.
func (l *LBFGS) Err() error { return l.err }

// Epoch returns the number of iterations performed.
func (l *LBFGS) Epoch() int { return l.iter }

// Evaluations returns the number of loss and gradient evaluations made.
func (l *LBFGS) Evaluations() int { return l.evals }

// Net returns a copy of the current network.
func (l *LBFGS) Net() *Net { return l.net.Clone() }

// Loss, Best and History come with the embedded epochLog.

// Options returns the solver's options.
func (l *LBFGS) Options() LBFGSOptions { return l.opts }
