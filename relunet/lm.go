package relunet

import (
	"fmt"
	"math"
	"time"

	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/mat"

	"github.com/relunet/relunet/relunet/internal/seeded"
	"github.com/relunet/relunet/relunet/internal/sysmem"
)

// LMOptions configures an LM solver. A zero field means what its comment
// says.
type LMOptions struct {
	Hidden int
	Alpha  float64
	Seed   uint64 // seeds the initial weights
	// Iterations is the number of accepted steps after which Step returns
	// false with IterationLimit; 0 means no limit.
	Iterations int
	// Damping is the initial damping μ relative to the largest diagonal
	// entry of JᵀJ; 0 means 1e-3.
	Damping float64
	// GradTol stops the run with Converged when the infinity norm of the
	// MSE's gradient falls below it; 0 means 1e-10.
	GradTol float64
	// MaxTries is the number of rejected trial steps (each raising μ) within
	// one Step after which it stops with NoProgress; 0 means 30.
	MaxTries int
	// MemoryLimit bounds the bytes of the P×P normal matrix and its factor
	// (P weights); 0 means the memory available.
	MemoryLimit int64
	Init        *Net // starting network; nil: PyTorch's nn.Linear initialisation
}

// DefaultLMOptions returns Levenberg–Marquardt with 100 iterations.
func DefaultLMOptions(h int) LMOptions { return LMOptions{Hidden: h, Iterations: 100} }

func (o LMOptions) check() error {
	finite := func(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
	switch {
	case o.Hidden <= 0:
		return fmt.Errorf("relunet: lm: Hidden must be positive, have %d", o.Hidden)
	case o.Iterations < 0:
		return fmt.Errorf("relunet: lm: Iterations must not be negative, have %d", o.Iterations)
	case !finite(o.Damping) || o.Damping < 0:
		return fmt.Errorf("relunet: lm: Damping must be finite and non-negative, have %v", o.Damping)
	case !finite(o.GradTol) || o.GradTol < 0:
		return fmt.Errorf("relunet: lm: GradTol must be finite and non-negative, have %v", o.GradTol)
	case o.MaxTries < 0:
		return fmt.Errorf("relunet: lm: MaxTries must not be negative, have %d", o.MaxTries)
	case o.MemoryLimit < 0:
		return fmt.Errorf("relunet: lm: MemoryLimit must not be negative, have %d", o.MemoryLimit)
	}
	return checkAlpha(o.Alpha)
}

// LM trains the network by Levenberg–Marquardt on the square loss: all
// weights θ at once, each step the solution h of
//
//	(JᵀJ + μI) h = −Jᵀr,
//
// with r the n·m residuals and J their exact Jacobian (φ'(0) = α, as in
// LossGrad), summed over chunks of rows so that memory does not grow with
// n. The damping μ follows Nielsen's rule (Madsen, Nielsen and Tingleff,
// "Methods for non-linear least squares problems", 2004, algorithm 3.16): a
// step that lowers the loss is accepted and μ shrinks by the gain ratio's
// rule, one that does not is rejected and μ grows, within one Step. Each
// accepted step is one iteration; a Step never raises the loss.
type LM struct {
	opts   LMOptions
	pr     *problem
	theta  []float64 // the weights, laid out as params
	net    *Net      // a view of theta
	loss   float64
	mu, nu float64
	// a and g are JᵀJ and Jᵀr at theta, when fresh.
	a     *mat.SymDense
	g     []float64
	fresh bool
	chunk int // rows per chunk of J; 0: as many as lmChunkBytes allow
	history
}

// lmChunkBytes bounds the Jacobian of one chunk of rows.
const lmChunkBytes = 16 << 20

// NewLM returns a Levenberg–Marquardt solver for inputs X (n×d) and targets
// Y (n×m). Its normal matrix has P² entries for the P = h(d+1) + (h+1)m
// weights; a P whose matrix and factor do not fit in the memory limit is an
// error.
func NewLM(X, Y mat.Matrix, opts LMOptions) (*LM, error) {
	if err := opts.check(); err != nil {
		return nil, err
	}
	pr, err := checkedProblem(X, Y)
	if err != nil {
		return nil, err
	}
	P := opts.Hidden*(pr.d+1) + (opts.Hidden+1)*pr.m
	limit := opts.MemoryLimit
	if limit == 0 {
		limit = defaultMemory
		if avail, ok := sysmem.Available(); ok {
			limit = avail
		}
	}
	if need := 16 * float64(P) * float64(P); need > float64(limit) {
		return nil, fmt.Errorf("relunet: lm: the normal matrix of %d weights and its factor need %s, more than the %s of the memory limit (LMOptions.MemoryLimit)",
			P, sysmem.Format(int64(need)), sysmem.Format(limit))
	}
	rng := seeded.Rand(opts.Seed)
	init, err := startNet(opts.Init, opts.Hidden, pr, opts.Alpha, func(n *Net) { n.InitUniform(rng) })
	if err != nil {
		return nil, fmt.Errorf("relunet: lm: %w", err)
	}
	opts.Init = nil
	if opts.Damping == 0 {
		opts.Damping = 1e-3
	}
	if opts.GradTol == 0 {
		opts.GradTol = 1e-10
	}
	if opts.MaxTries == 0 {
		opts.MaxTries = 30
	}
	s := &LM{opts: opts, pr: pr, nu: 2}
	s.setTheta(params(init))
	s.loss = s.lossAt(s.net)
	s.assemble()
	s.mu = opts.Damping * maxDiag(s.a)
	s.add(Record{Loss: s.loss, GradNorm: s.gradNorm()}, s.net)
	return s, nil
}

func (s *LM) setTheta(theta []float64) {
	s.theta = theta
	s.net = netView(theta, s.opts.Hidden, s.pr.d, s.pr.m, s.opts.Alpha)
	s.fresh = false
}

func maxDiag(a *mat.SymDense) float64 {
	var v float64
	for i := 0; i < a.SymmetricDim(); i++ {
		v = math.Max(v, a.At(i, i))
	}
	return v
}

// assemble sets a = JᵀJ and g = Jᵀr at theta, over chunks of rows in a
// fixed order. Row (i, o) of J, for output o of row i, holds
// β_jo φ'(u_ij) x̃_i in the block of w_j, φ(u_ij) at β_jo and 1 at β₀o.
func (s *LM) assemble() {
	if s.fresh {
		return
	}
	n, m, h := s.pr.n, s.pr.m, s.opts.Hidden
	D := s.pr.d + 1
	P := len(s.theta)
	if s.a == nil {
		s.a, s.g = mat.NewSymDense(P, nil), make([]float64, P)
	} else {
		s.a.Zero()
		for i := range s.g {
			s.g[i] = 0
		}
	}
	c := max(1, min(n, lmChunkBytes/(8*m*P)))
	if s.chunk > 0 {
		c = min(n, s.chunk)
	}
	J := mat.NewDense(c*m, P, nil)
	r := make([]float64, c*m)
	u := mat.NewDense(c, h, nil)
	beta := s.net.Beta.RawMatrix()
	x := s.pr.x.RawMatrix()
	for lo := 0; lo < n; lo += c {
		hi := min(n, lo+c)
		rows := (hi - lo) * m
		preact(s.pr.x.Slice(lo, hi, 0, D).(*mat.Dense), s.net, u, 0, hi-lo)
		Jc := J.Slice(0, rows, 0, P).(*mat.Dense)
		Jc.Zero()
		for i := lo; i < hi; i++ {
			xi := x.Data[i*x.Stride : i*x.Stride+D]
			ui := u.RawRowView(i - lo)
			for o := 0; o < m; o++ {
				k := (i-lo)*m + o
				row := Jc.RawRowView(k)
				f := s.net.Beta0[o]
				for j, v := range ui {
					slope := PhiPrime(s.opts.Alpha, v)
					act := slope * v
					f += beta.Data[j*beta.Stride+o] * act
					floats.AddScaled(row[j*D:(j+1)*D], beta.Data[j*beta.Stride+o]*slope, xi)
					row[h*D+j*m+o] = act
				}
				row[h*D+h*m+o] = 1
				r[k] = f - s.pr.y.At(i, o)
			}
		}
		s.a.SymRankK(s.a, 1, Jc.T())
		var jr mat.VecDense
		jr.MulVec(Jc.T(), mat.NewVecDense(rows, r[:rows]))
		floats.Add(s.g, jr.RawVector().Data)
	}
	s.fresh = true
}

// lossAt returns the training MSE of net.
func (s *LM) lossAt(net *Net) float64 {
	n, m := s.pr.n, s.pr.m
	u := mat.NewDense(n, s.opts.Hidden, nil)
	preact(s.pr.x, net, u, 0, n)
	hiddenOutputs(net.Alpha, u)
	f := mat.NewDense(n, m, nil)
	outputs(net, u, f)
	f.Sub(f, s.pr.y)
	var sse float64
	for _, e := range f.RawMatrix().Data {
		sse += e * e
	}
	return sse / float64(n*m)
}

// gradNorm returns the infinity norm of the MSE's gradient, 2Jᵀr/(nm).
func (s *LM) gradNorm() float64 {
	return 2 * floats.Norm(s.g, math.Inf(1)) / float64(s.pr.n*s.pr.m)
}

// Method returns MethodLM.
func (s *LM) Method() Method { return MethodLM }

// Step takes one accepted Levenberg–Marquardt step, trying larger dampings
// as long as a trial step does not lower the loss. It returns false at the
// iteration limit (IterationLimit), when the gradient is below GradTol or
// the step is below rounding (Converged), when MaxTries trials in a row
// fail (NoProgress), or on error (Failure, Err).
func (s *LM) Step() bool {
	if s.status != NotTerminated {
		return false
	}
	if s.opts.Iterations > 0 && s.Iter() >= s.opts.Iterations {
		return s.stop(IterationLimit, nil)
	}
	start := time.Now()
	s.assemble()
	if s.gradNorm() < s.opts.GradTol {
		return s.stop(Converged, nil)
	}
	P := len(s.theta)
	damped := mat.NewSymDense(P, nil)
	var chol mat.Cholesky
	hvec := mat.NewVecDense(P, nil)
	rhs := mat.NewVecDense(P, nil)
	for i, v := range s.g {
		rhs.SetVec(i, -v)
	}
	trial := make([]float64, P)
	for try := 0; try < s.opts.MaxTries; try++ {
		damped.CopySym(s.a)
		for i := 0; i < P; i++ {
			damped.SetSym(i, i, damped.At(i, i)+s.mu)
		}
		if !chol.Factorize(damped) {
			s.mu, s.nu = s.mu*s.nu, 2*s.nu
			continue
		}
		if err := chol.SolveVecTo(hvec, rhs); err != nil {
			s.mu, s.nu = s.mu*s.nu, 2*s.nu
			continue
		}
		h := hvec.RawVector().Data
		if floats.Norm(h, 2) <= 1e-15*(floats.Norm(s.theta, 2)+1e-15) {
			return s.stop(Converged, nil)
		}
		floats.AddTo(trial, s.theta, h)
		next := s.lossAt(netView(trial, s.opts.Hidden, s.pr.d, s.pr.m, s.opts.Alpha))
		// The model's decrease of ½‖r‖², ½hᵀ(μh − Jᵀr), and the true one,
		// both in units of the MSE times nm/2.
		var pred float64
		for i, v := range h {
			pred += v * (s.mu*v - s.g[i])
		}
		pred /= 2
		actual := (s.loss - next) * float64(s.pr.n*s.pr.m) / 2
		if math.IsNaN(next) || math.IsInf(next, 0) {
			s.mu, s.nu = s.mu*s.nu, 2*s.nu
			continue
		}
		if rho := actual / pred; actual > 0 && pred > 0 {
			s.mu *= math.Max(1.0/3, 1-math.Pow(2*rho-1, 3))
			s.nu = 2
			s.setTheta(append([]float64(nil), trial...))
			s.loss = next
			s.assemble()
			s.add(Record{Iter: s.Iter() + 1, Loss: s.loss, GradNorm: s.gradNorm(), Seconds: time.Since(start).Seconds()}, s.net)
			return true
		}
		s.mu, s.nu = s.mu*s.nu, 2*s.nu
	}
	return s.stop(NoProgress, nil)
}

// Net returns a copy of the current network.
func (s *LM) Net() *Net { return s.net.Clone() }

// Options returns the solver's options.
func (s *LM) Options() LMOptions { return s.opts }
