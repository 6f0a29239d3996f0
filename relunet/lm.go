package relunet

import (
	"context"
	"fmt"
	"io"
	"math"
	"time"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/mat"

	"github.com/relunet/relunet/relunet/internal/seeded"
	"github.com/relunet/relunet/relunet/internal/size"
)

// LMOptions configures an LM solver. Hidden is required; the zero value of
// every other field is the default, and a negative limit or tolerance turns
// it off (see the package documentation).
type LMOptions struct {
	Hidden int
	Alpha  float64
	Seed   uint64 // seeds the initial weights
	// Iterations is the number of accepted steps after which Step returns
	// false with IterationLimit; 0 means 100, and a negative value no limit.
	Iterations int
	// Damping is the initial damping μ relative to the largest diagonal
	// entry of JᵀJ; 0 means 1e-3.
	Damping float64
	// GradTol stops the run with Converged when the infinity norm of the
	// MSE's gradient falls below it; 0 means 1e-10, and a negative value
	// turns the test off.
	GradTol float64
	// MaxTries is the number of rejected trial steps (each raising μ) within
	// one Step after which it stops with NoProgress; 0 means 30, and a
	// negative value no cap (μ grows until it overflows).
	MaxTries int
	// MemoryLimit bounds the bytes of the solver's copy of the data, the
	// P×P normal matrix and its factors (P weights); 0 means what the
	// process may use when the solver is made, and a negative value no
	// limit.
	MemoryLimit int64
	// Init, when not nil, is the starting network, of leaky slope Alpha;
	// nil means PyTorch's nn.Linear initialisation. Options returns the
	// starting network in either case.
	Init *Net
}

const lmMemoryOption = "LMOptions.MemoryLimit, -memory"

func (o LMOptions) check() error {
	finite := func(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
	switch {
	case o.Hidden <= 0:
		return fmt.Errorf("relunet: lm: Hidden must be positive, have %d", o.Hidden)
	case !finite(o.Damping) || o.Damping < 0:
		return fmt.Errorf("relunet: lm: Damping must be finite and positive (0: the default), have %v", o.Damping)
	case !finite(o.GradTol):
		return fmt.Errorf("relunet: lm: GradTol must be finite, have %v", o.GradTol)
	}
	return checkAlpha(o.Alpha)
}

// resolve returns the options with every default filled in.
func (o LMOptions) resolve(mem memory) LMOptions {
	if o.Iterations == 0 {
		o.Iterations = DefaultIterations(MethodLM)
	}
	if o.Damping == 0 {
		o.Damping = 1e-3
	}
	if o.GradTol == 0 {
		o.GradTol = 1e-10
	}
	if o.MaxTries == 0 {
		o.MaxTries = 30
	}
	o.MemoryLimit = mem.shown(o.MemoryLimit)
	return o
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
	opts   LMOptions // resolved
	given  int64     // MemoryLimit as given
	pr     *problem
	theta  []float64 // the weights, laid out as params
	net    *Net      // a view of theta
	loss   float64
	mu, nu float64
	// a and g are JᵀJ and Jᵀr at theta, when fresh; damped is the storage
	// of JᵀJ + μI.
	a, damped *mat.SymDense
	g         []float64
	fresh     bool
	chunk     int // rows per chunk of J; 0: as many as lmChunkBytes allow
	history
}

// lmChunkBytes bounds the Jacobian of one chunk of rows.
const lmChunkBytes = 16 << 20

// NewLM returns a Levenberg–Marquardt solver for inputs X (n×d) and targets
// Y (n×m), whose work ctx can stop (see the package documentation). Its
// normal matrix has P² entries for the P = h(d+1) + (h+1)m weights; a P
// whose matrices do not fit in the memory limit is an error.
func NewLM(ctx context.Context, X, Y mat.Matrix, opts LMOptions) (*LM, error) {
	if err := checkContext(ctx, "lm"); err != nil {
		return nil, err
	}
	if err := opts.check(); err != nil {
		return nil, err
	}
	mem := newMemory(opts.MemoryLimit, lmMemoryOption)
	var used size.Bytes
	pr, err := checkedProblem(ctx, X, Y, mem, &used)
	if err != nil {
		return nil, fmt.Errorf("relunet: lm: %w", err)
	}
	ro := opts.resolve(mem)
	ro.Init = nil
	if err := mem.check(fmt.Sprintf("Levenberg–Marquardt's normal matrices of %d hidden units (%d×%d×%d)", opts.Hidden, opts.Hidden, pr.d, pr.m),
		lmBytes(pr.n, opts.Hidden, pr.d+1, pr.m), used.Total()); err != nil {
		return nil, fmt.Errorf("relunet: lm: %w", err)
	}
	rng := seeded.Rand(opts.Seed)
	init, err := startNet(opts.Init, opts.Hidden, pr, opts.Alpha, func(n *Net) { n.InitUniform(rng) })
	if err != nil {
		return nil, fmt.Errorf("relunet: lm: %w", err)
	}
	ro.Init = init.Clone()
	s := &LM{opts: ro, given: opts.MemoryLimit, pr: pr, nu: 2, history: history{method: MethodLM, ctx: ctx}}
	s.setTheta(params(init))
	s.loss = s.lossAt(s.net)
	if err := s.assemble(); err != nil {
		if st, _ := s.ended(); st != NotTerminated {
			return nil, s.endedError()
		}
		return nil, err
	}
	s.mu = ro.Damping * maxDiag(s.a)
	s.add(Record{Loss: s.loss, LM: &LMRecord{GradNorm: s.gradNorm(), Damping: s.mu}}, s.net)
	return s, nil
}

// lmBytes returns the memory of an LM solver: JᵀJ, the damped matrix and
// its Cholesky factor (P² each), a chunk of the Jacobian, the weights' and
// the rows' buffers.
func lmBytes(n, h, D, m int) int64 {
	var b size.Bytes
	P := 0
	if hD, ok := size.Mul(h, D); ok {
		if hm, ok := size.Mul(h+1, m); ok && hD <= math.MaxInt-hm {
			P = hD + hm
		} else {
			return size.Overflow
		}
	} else {
		return size.Overflow
	}
	b.Add(24, P, P)
	b.AddBytes(lmChunkBytes)
	b.Add(8, 8, P)
	b.Add(8, n, h+m)
	return b.Total()
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
func (s *LM) assemble() error {
	if s.fresh {
		return nil
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
		if err := s.ctx.Err(); err != nil {
			return err
		}
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
		if err := s.addGram(Jc); err != nil {
			return err
		}
		var jr mat.VecDense
		jr.MulVec(Jc.T(), mat.NewVecDense(rows, r[:rows]))
		floats.Add(s.g, jr.RawVector().Data)
	}
	s.fresh = true
	return nil
}

// lmBlock is the number of rows of JᵀJ added at a time: a block of the
// rank update costs about lmBlock·rows·P multiply-adds, well under a
// second for any P that fits in memory, and the context is checked
// between blocks.
const lmBlock = 256

// addGram adds JcᵀJc to the upper triangle of a, in blocks of lmBlock rows
// of a, checking the context between them.
func (s *LM) addGram(Jc *mat.Dense) error {
	rows, P := Jc.Dims()
	if P <= lmBlock {
		s.a.SymRankK(s.a, 1, Jc.T())
		return nil
	}
	j, a := Jc.RawMatrix(), s.a.RawSymmetric()
	for r0 := 0; r0 < P; r0 += lmBlock {
		if err := s.ctx.Err(); err != nil {
			return err
		}
		b := min(lmBlock, P-r0)
		// a[r0:r0+b, r0:P] += Jc[:, r0:r0+b]ᵀ Jc[:, r0:P]; the entries below
		// the diagonal that it also writes are not read.
		blas64.Gemm(blas.Trans, blas.NoTrans, 1,
			blas64.General{Rows: rows, Cols: b, Stride: j.Stride, Data: j.Data[r0:]},
			blas64.General{Rows: rows, Cols: P - r0, Stride: j.Stride, Data: j.Data[r0:]},
			1, blas64.General{Rows: b, Cols: P - r0, Stride: a.Stride, Data: a.Data[r0*a.Stride+r0:]})
	}
	return nil
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
// fail or μ overflows (NoProgress), when the context ended (RuntimeLimit,
// Canceled), or on error (Failure, Err). A step that does not complete
// changes nothing.
func (s *LM) Step() bool {
	if !s.begin() {
		return false
	}
	iter := s.Last().Iter + 1
	if s.opts.Iterations > 0 && iter > s.opts.Iterations {
		return s.stop(IterationLimit, nil)
	}
	start := time.Now()
	mu, nu := s.mu, s.nu
	abandon := func(err error) bool {
		s.mu, s.nu = mu, nu
		return s.fail(err)
	}
	if err := s.assemble(); err != nil {
		return abandon(err)
	}
	if s.opts.GradTol > 0 && s.gradNorm() < s.opts.GradTol {
		return s.stop(Converged, nil)
	}
	P := len(s.theta)
	if s.damped == nil {
		s.damped = mat.NewSymDense(P, nil)
	}
	var chol mat.Cholesky
	hvec := mat.NewVecDense(P, nil)
	rhs := mat.NewVecDense(P, nil)
	for i, v := range s.g {
		rhs.SetVec(i, -v)
	}
	trial := make([]float64, P)
	reject := func() { s.mu, s.nu = s.mu*s.nu, 2*s.nu }
	for try := 1; (s.opts.MaxTries < 0 || try <= s.opts.MaxTries) && !math.IsInf(s.mu, 0); try++ {
		if err := s.ctx.Err(); err != nil {
			return abandon(err)
		}
		s.damped.CopySym(s.a)
		for i := 0; i < P; i++ {
			s.damped.SetSym(i, i, s.damped.At(i, i)+s.mu)
		}
		if !chol.Factorize(s.damped) {
			reject()
			continue
		}
		if err := chol.SolveVecTo(hvec, rhs); err != nil {
			reject()
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
			reject()
			continue
		}
		if rho := actual / pred; actual > 0 && pred > 0 {
			accepted := s.mu
			s.mu *= math.Max(1.0/3, 1-math.Pow(2*rho-1, 3))
			s.nu = 2
			prevTheta, prevLoss := s.theta, s.loss
			s.setTheta(append([]float64(nil), trial...))
			s.loss = next
			if err := s.assemble(); err != nil {
				s.setTheta(prevTheta)
				s.loss = prevLoss
				return abandon(err)
			}
			s.add(Record{Iter: iter, Loss: s.loss, Seconds: since(start), LM: &LMRecord{GradNorm: s.gradNorm(), Damping: accepted, Tries: try}}, s.net)
			return true
		}
		reject()
	}
	return s.stop(NoProgress, nil)
}

// Net returns a copy of the current network.
func (s *LM) Net() *Net { return s.net.Clone() }

// Options returns the solver's options with every default resolved, and
// the starting network as Init.
func (s *LM) Options() LMOptions {
	o := s.opts
	o.Init = o.Init.Clone()
	return o
}

// lmState is the saved state of an LM solver: the weights, the loss and the
// damping; JᵀJ and Jᵀr are summed again on the first Step after a load, in
// the same order, so the run continues bit for bit.
type lmState struct {
	Opts    LMOptions // resolved, but MemoryLimit as given; no Init
	Start   netState
	Theta   []float64
	Loss    float64
	Mu, Nu  float64
	History historyState
}

// Save writes the solver's state to w.
func (s *LM) Save(w io.Writer) error {
	o := s.opts
	o.Init, o.MemoryLimit = nil, s.given
	return writeState(w, MethodLM, s.pr, lmState{Opts: o, Start: saveNet(s.opts.Init), Theta: s.theta, Loss: s.loss, Mu: s.mu, Nu: s.nu,
		History: saveHistory(&s.history)})
}

func loadLM(ctx context.Context, env envelope, pr *problem, used int64) (*LM, error) {
	var st lmState
	if err := decodePayload(env, &st); err != nil {
		return nil, err
	}
	o := st.Opts
	if err := o.check(); err != nil {
		return nil, fmt.Errorf("%w: options: %v", ErrCorrupt, err)
	}
	if o.Damping <= 0 || o.GradTol == 0 || o.MaxTries == 0 || o.Iterations == 0 || o.Init != nil {
		return nil, fmt.Errorf("%w: options without their defaults resolved", ErrCorrupt)
	}
	start, err := st.Start.net("starting network", o.Hidden, pr.d, pr.m, o.Alpha)
	if err != nil {
		return nil, err
	}
	hist, err := st.History.restore(MethodLM, o.Hidden, pr.d, pr.m, o.Alpha)
	if err != nil {
		return nil, err
	}
	mem := newMemory(o.MemoryLimit, lmMemoryOption)
	if err := mem.check(fmt.Sprintf("Levenberg–Marquardt's normal matrices of %d hidden units", o.Hidden),
		lmBytes(pr.n, o.Hidden, pr.d+1, pr.m), used); err != nil {
		return nil, err
	}
	if len(st.Theta) != paramCount(o.Hidden, pr.d, pr.m) {
		return nil, fmt.Errorf("%w: %d weights, want %d", ErrCorrupt, len(st.Theta), paramCount(o.Hidden, pr.d, pr.m))
	}
	finite := func(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
	if !finite(st.Loss) || st.Loss < 0 || !finite(st.Mu) || !(st.Mu > 0) || !finite(st.Nu) || st.Nu < 2 || !finiteAll(st.Theta) {
		return nil, fmt.Errorf("%w: loss %v, damping %v and %v", ErrCorrupt, st.Loss, st.Mu, st.Nu)
	}
	s := &LM{opts: o.resolve(mem), given: o.MemoryLimit, pr: pr, loss: st.Loss, mu: st.Mu, nu: st.Nu, history: hist}
	s.opts.Init = start
	s.history.ctx = ctx
	s.setTheta(st.Theta)
	return s, nil
}
