package relunet

import (
	"context"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"time"

	"gonum.org/v1/gonum/mat"

	"github.com/relunet/relunet/relunet/internal/seeded"
	"github.com/relunet/relunet/relunet/internal/size"
)

// DescentOptions configures a Descent solver. Method and Hidden are
// required; the zero value of every other field is the reference's setting
// for the method, and a negative limit turns it off (see the package
// documentation).
type DescentOptions struct {
	// Method is MethodSGD or MethodAdam; any other is an error.
	Method Method
	// Hidden is the number of hidden units h.
	Hidden int
	Alpha  float64
	Seed   uint64 // seeds the initial weights and the batch shuffling
	// Epochs is the number of epochs after which Step returns false with
	// IterationLimit; 0 means 300, and a negative value no limit.
	Epochs int
	// Batch is the mini-batch size; 0 means 2048 for SGD and 256 for Adam,
	// and a negative value, or one above the rows, the full batch.
	Batch int
	// LR is the learning rate; 0 means 0.03 for SGD and 0.001 for Adam.
	LR float64

	// The step schedule multiplies the learning rate by DecayFactor every
	// DecayEvery epochs, at most MaxDecays times. DecayEvery 0 means 100
	// for SGD and none for Adam, and a negative value none; DecayFactor 0
	// means 0.1; MaxDecays 0 means 2, the reference's two cuts (at epochs
	// 100 and 200 of 300), and a negative value no cap.
	DecayEvery  int
	DecayFactor float64
	MaxDecays   int

	// Momentum is SGD's heavy-ball momentum, in [0, 1); 0 is none.
	Momentum float64

	// Adam's moment decays and ε; 0 means 0.9, 0.999 and 1e-8.
	Beta1, Beta2, Eps float64

	// Init, when not nil, is the starting network, of leaky slope Alpha;
	// nil means weights initialised like PyTorch's nn.Linear. Options
	// returns the starting network in either case.
	Init *Net

	// MemoryLimit bounds the bytes of the solver's copy of the data and its
	// buffers; 0 means what the process may use when the solver is made,
	// and a negative value no limit.
	MemoryLimit int64
}

const descentMemoryOption = "DescentOptions.MemoryLimit, -memory"

func (o DescentOptions) check() error {
	bad := func(v float64) bool { return math.IsNaN(v) || math.IsInf(v, 0) }
	switch {
	case o.Method != MethodSGD && o.Method != MethodAdam:
		return fmt.Errorf("relunet: descent: Method must be sgd or adam, have %v", o.Method)
	case o.Hidden <= 0:
		return fmt.Errorf("relunet: %v: Hidden must be positive, have %d", o.Method, o.Hidden)
	case bad(o.LR) || o.LR < 0:
		return fmt.Errorf("relunet: %v: LR must be positive (0: the default), have %v", o.Method, o.LR)
	case bad(o.DecayFactor) || o.DecayFactor < 0:
		return fmt.Errorf("relunet: %v: DecayFactor must be positive (0: the default), have %v", o.Method, o.DecayFactor)
	case bad(o.Momentum) || o.Momentum < 0 || o.Momentum >= 1:
		return fmt.Errorf("relunet: %v: Momentum must be in [0, 1), have %v", o.Method, o.Momentum)
	case !(o.Beta1 >= 0 && o.Beta1 < 1) || !(o.Beta2 >= 0 && o.Beta2 < 1) || bad(o.Eps) || o.Eps < 0:
		return fmt.Errorf("relunet: %v: need 0 ≤ Beta1, Beta2 < 1 and Eps ≥ 0 (0: the defaults), have %v, %v, %v", o.Method, o.Beta1, o.Beta2, o.Eps)
	}
	return checkAlpha(o.Alpha)
}

// resolve returns the options with every default filled in.
func (o DescentOptions) resolve(mem memory) DescentOptions {
	sgd := o.Method == MethodSGD
	pick := func(a, b float64) float64 {
		if sgd {
			return a
		}
		return b
	}
	if o.Epochs == 0 {
		o.Epochs = DefaultIterations(o.Method)
	}
	if o.Batch == 0 {
		o.Batch = int(pick(2048, 256))
	}
	if o.LR == 0 {
		o.LR = pick(0.03, 0.001)
	}
	if o.DecayEvery == 0 {
		o.DecayEvery = int(pick(100, -1))
	}
	if o.DecayFactor == 0 {
		o.DecayFactor = 0.1
	}
	if o.MaxDecays == 0 {
		o.MaxDecays = 2
	}
	if o.Beta1 == 0 {
		o.Beta1 = 0.9
	}
	if o.Beta2 == 0 {
		o.Beta2 = 0.999
	}
	if o.Eps == 0 {
		o.Eps = 1e-8
	}
	o.MemoryLimit = mem.shown(o.MemoryLimit)
	return o
}

// DefaultIterations returns the number of steps a method takes by default:
// 30 alternations, 300 epochs of SGD or Adam, 500 L-BFGS iterations, 100
// Levenberg–Marquardt iterations.
func DefaultIterations(m Method) int {
	switch m {
	case MethodSGD, MethodAdam:
		return 300
	case MethodLBFGS:
		return 500
	case MethodLM:
		return 100
	}
	return defaultIterations
}

// Descent trains the network by mini-batch SGD or Adam on the MSE, one epoch
// per Step.
type Descent struct {
	opts  DescentOptions // resolved
	given int64          // MemoryLimit as given
	pr    *problem
	rng   *rand.PCG
	p     []float64 // parameters, viewed by net
	net   *Net
	vel   []float64 // SGD velocity or Adam first moment
	sec   []float64 // Adam second moment
	t     int       // Adam updates made
	perm  []int
	history

	grad   *Net
	gp     []float64
	xb, yb *mat.Dense
	buf    *gradBuf
	hid, f *mat.Dense
	// undo holds p, vel and sec before the epoch under way, which a step
	// that does not complete restores.
	undo []float64
}

// NewDescent returns a gradient solver for inputs X (n×d) and targets Y
// (n×m), whose work ctx can stop (see the package documentation).
func NewDescent(ctx context.Context, X, Y mat.Matrix, opts DescentOptions) (*Descent, error) {
	if err := checkContext(ctx, "descent"); err != nil {
		return nil, err
	}
	if err := opts.check(); err != nil {
		return nil, err
	}
	mem := newMemory(opts.MemoryLimit, descentMemoryOption)
	var used size.Bytes
	pr, err := checkedProblem(ctx, X, Y, mem, &used)
	if err != nil {
		return nil, fmt.Errorf("relunet: %v: %w", opts.Method, err)
	}
	ro := opts.resolve(mem)
	ro.Init = nil
	s := &Descent{opts: ro, given: opts.MemoryLimit, pr: pr, rng: seeded.PCG(opts.Seed), history: history{method: opts.Method, ctx: ctx}}
	if err := mem.check(fmt.Sprintf("%v's buffers for %d rows and %d hidden units", opts.Method, pr.n, opts.Hidden), s.bytes(), used.Total()); err != nil {
		return nil, fmt.Errorf("relunet: %v: %w", opts.Method, err)
	}
	init, err := startNet(opts.Init, opts.Hidden, pr, opts.Alpha, func(n *Net) { n.InitUniform(rand.New(s.rng)) })
	if err != nil {
		return nil, fmt.Errorf("relunet: %v: %w", opts.Method, err)
	}
	s.opts.Init = init.Clone()
	s.setup(params(init))
	s.add(Record{Loss: s.pr.loss(s.net, s.hid, s.f), Descent: &DescentRecord{LR: s.lr(0)}}, s.net)
	return s, nil
}

// bytes returns the memory of the solver's buffers.
func (s *Descent) bytes() int64 {
	h, D, n, m := s.opts.Hidden, s.pr.d+1, s.pr.n, s.pr.m
	b := s.batch()
	var t size.Bytes
	t.AddBytes(paramBytes(10, h, D, m)) // p, its gradient, two moments, their undo copies, the start and the best
	t.Add(8, n)                         // the row order
	t.Add(8, b, D+m)                    // a batch
	t.AddBytes(gradBufBytes(b, h, m))
	t.Add(8, n, h+m) // the full pass of the loss
	return t.Total()
}

// startNet returns a copy of init checked against the problem, or, when init
// is nil, a new network whose weights fill sets.
func startNet(init *Net, h int, pr *problem, alpha float64, fill func(*Net)) (*Net, error) {
	if init != nil {
		if err := init.validate(pr.d, pr.m); err != nil {
			return nil, fmt.Errorf("Init: %w", err)
		}
		switch hi, _, _ := init.Dims(); {
		case hi != h:
			return nil, fmt.Errorf("Init has %d hidden units, Hidden is %d", hi, h)
		case init.Alpha != alpha:
			return nil, fmt.Errorf("Init has leaky slope %v, Alpha is %v", init.Alpha, alpha)
		}
		return init.Clone(), nil
	}
	net, err := NewNet(h, pr.d, pr.m, alpha)
	if err != nil {
		return nil, err
	}
	fill(net)
	return net, nil
}

// setup allocates the solver's buffers around the parameter vector p.
func (s *Descent) setup(p []float64) {
	h, n, m := s.opts.Hidden, s.pr.n, s.pr.m
	s.p = p
	s.net = netView(s.p, h, s.pr.d, m, s.opts.Alpha)
	s.gp = make([]float64, len(p))
	s.grad = netView(s.gp, h, s.pr.d, m, s.opts.Alpha)
	if s.vel == nil {
		s.vel = make([]float64, len(p))
		if s.opts.Method == MethodAdam {
			s.sec = make([]float64, len(p))
		}
		s.perm = make([]int, n)
		for i := range s.perm {
			s.perm[i] = i
		}
	}
	b := s.batch()
	s.xb, s.yb = mat.NewDense(b, s.pr.d+1, nil), mat.NewDense(b, m, nil)
	s.buf = newGradBuf(b, h, m)
	s.hid, s.f = mat.NewDense(n, h, nil), mat.NewDense(n, m, nil)
}

func (s *Descent) batch() int {
	if s.opts.Batch <= 0 || s.opts.Batch > s.pr.n {
		return s.pr.n
	}
	return s.opts.Batch
}

// lr returns the learning rate of the epoch after the given number of
// epochs done.
func (s *Descent) lr(done int) float64 {
	lr := s.opts.LR
	if s.opts.DecayEvery > 0 {
		cuts := done / s.opts.DecayEvery
		if s.opts.MaxDecays > 0 {
			cuts = min(cuts, s.opts.MaxDecays)
		}
		lr *= math.Pow(s.opts.DecayFactor, float64(cuts))
	}
	return lr
}

// Method returns MethodSGD or MethodAdam.
func (s *Descent) Method() Method { return s.opts.Method }

// Step runs one epoch: a shuffled pass over the training rows in mini-batches
// (a last, smaller batch included). It returns false at the epoch limit
// (IterationLimit), when the context ended (RuntimeLimit, Canceled), or when
// the loss stops being finite (Failure, with a DivergedError naming the
// learning rate). An epoch that does not complete, diverged or cut short,
// changes nothing: the network is the one before it.
func (s *Descent) Step() bool {
	if !s.begin() {
		return false
	}
	iter := s.Last().Iter + 1
	if s.opts.Epochs > 0 && iter > s.opts.Epochs {
		return s.stop(IterationLimit, nil)
	}
	start := time.Now()
	s.undo = append(append(append(s.undo[:0], s.p...), s.vel...), s.sec...)
	t := s.t
	abandon := func(err error) bool {
		k := copy(s.p, s.undo)
		k += copy(s.vel, s.undo[k:])
		copy(s.sec, s.undo[k:])
		s.t = t
		return s.fail(err)
	}
	lr := s.lr(iter - 1)
	rng := rand.New(s.rng)
	rng.Shuffle(len(s.perm), func(i, j int) { s.perm[i], s.perm[j] = s.perm[j], s.perm[i] })
	bs := s.batch()
	for lo := 0; lo < s.pr.n; lo += bs {
		if err := s.ctx.Err(); err != nil {
			return abandon(err)
		}
		rows := s.perm[lo:min(lo+bs, s.pr.n)]
		x, y, buf := s.xb, s.yb, s.buf
		if len(rows) < bs {
			x, y = s.xb.Slice(0, len(rows), 0, s.pr.d+1).(*mat.Dense), s.yb.Slice(0, len(rows), 0, s.pr.m).(*mat.Dense)
			buf = s.buf.rows(len(rows))
		}
		for k, i := range rows {
			x.SetRow(k, s.pr.x.RawRowView(i))
			y.SetRow(k, s.pr.y.RawRowView(i))
		}
		lossGrad(s.net, s.grad, x, y, buf)
		s.update(lr)
	}
	loss := s.pr.loss(s.net, s.hid, s.f)
	if isBad(loss) {
		return abandon(&DivergedError{Method: s.opts.Method, Epoch: iter, LR: lr, Loss: loss})
	}
	s.add(Record{Iter: iter, Loss: loss, Seconds: since(start), Descent: &DescentRecord{LR: lr}}, s.net)
	return true
}

// update applies one SGD or Adam update with the gradient in s.gp.
func (s *Descent) update(lr float64) {
	switch s.opts.Method {
	case MethodSGD:
		mu := s.opts.Momentum
		for i, g := range s.gp {
			s.vel[i] = mu*s.vel[i] + g
			s.p[i] -= lr * s.vel[i]
		}
	case MethodAdam:
		s.t++
		b1, b2 := s.opts.Beta1, s.opts.Beta2
		c1, c2 := 1-math.Pow(b1, float64(s.t)), 1-math.Pow(b2, float64(s.t))
		for i, g := range s.gp {
			s.vel[i] = b1*s.vel[i] + (1-b1)*g
			s.sec[i] = b2*s.sec[i] + (1-b2)*g*g
			s.p[i] -= lr * (s.vel[i] / c1) / (math.Sqrt(s.sec[i]/c2) + s.opts.Eps)
		}
	}
}

// Net returns a copy of the current network.
func (s *Descent) Net() *Net { return s.net.Clone() }

// Options returns the solver's options with every default resolved, and
// the starting network as Init.
func (s *Descent) Options() DescentOptions {
	o := s.opts
	o.Init = o.Init.Clone()
	return o
}

// descentState is the saved state of a Descent solver.
type descentState struct {
	Opts     DescentOptions // resolved, but MemoryLimit as given; no Init
	Start    netState
	P        []float64
	Vel, Sec []float64
	T        int
	Perm     []int
	RNG      []byte
	History  historyState
}

// Save writes the solver's state (options, weights, moments, shuffling
// order and random-number position, records) to w.
func (s *Descent) Save(w io.Writer) error {
	o := s.opts
	o.Init, o.MemoryLimit = nil, s.given
	return writeState(w, s.opts.Method, s.pr, descentState{
		Opts: o, Start: saveNet(s.opts.Init), P: s.p, Vel: s.vel, Sec: s.sec, T: s.t, Perm: s.perm, RNG: pcgState(s.rng),
		History: saveHistory(&s.history),
	})
}

func loadDescent(ctx context.Context, env envelope, pr *problem, m Method, used int64) (*Descent, error) {
	var st descentState
	if err := decodePayload(env, &st); err != nil {
		return nil, err
	}
	o := st.Opts
	if err := o.check(); err != nil {
		return nil, fmt.Errorf("%w: options: %v", ErrCorrupt, err)
	}
	if o.Method != m || o.Init != nil {
		return nil, fmt.Errorf("%w: a %v state holds options for %v", ErrCorrupt, m, o.Method)
	}
	if o.Epochs == 0 || o.Batch == 0 || o.LR == 0 || o.DecayEvery == 0 || o.DecayFactor == 0 || o.MaxDecays == 0 ||
		o.Beta1 == 0 || o.Beta2 == 0 || o.Eps == 0 {
		return nil, fmt.Errorf("%w: options without their defaults resolved", ErrCorrupt)
	}
	h := o.Hidden
	start, err := st.Start.net("starting network", h, pr.d, pr.m, o.Alpha)
	if err != nil {
		return nil, err
	}
	hist, err := st.History.restore(m, h, pr.d, pr.m, o.Alpha)
	if err != nil {
		return nil, err
	}
	size := paramCount(h, pr.d, pr.m) // the best network's sizes are checked
	wantSec := 0
	if m == MethodAdam {
		wantSec = size
	}
	if len(st.P) != size || len(st.Vel) != size || len(st.Sec) != wantSec || st.T < 0 {
		return nil, fmt.Errorf("%w: parameter vectors of %d, %d and %d entries, want %d", ErrCorrupt, len(st.P), len(st.Vel), len(st.Sec), size)
	}
	if err := checkPerm(st.Perm, pr.n); err != nil {
		return nil, err
	}
	for _, v := range [][]float64{st.P, st.Vel, st.Sec} {
		if !finiteAll(v) {
			return nil, fmt.Errorf("%w: non-finite parameters", ErrCorrupt)
		}
	}
	rng, err := loadPCG(st.RNG)
	if err != nil {
		return nil, err
	}
	mem := newMemory(o.MemoryLimit, descentMemoryOption)
	s := &Descent{opts: o.resolve(mem), given: o.MemoryLimit, pr: pr, rng: rng, vel: st.Vel, sec: st.Sec, t: st.T, perm: st.Perm, history: hist}
	s.opts.Init = start
	s.history.ctx = ctx
	if err := mem.check(fmt.Sprintf("%v's buffers for %d rows and %d hidden units", m, pr.n, h), s.bytes(), used); err != nil {
		return nil, err
	}
	s.setup(st.P)
	return s, nil
}
