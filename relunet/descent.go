package relunet

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"gonum.org/v1/gonum/mat"

	"github.com/relunet/relunet/relunet/internal/seeded"
)

// DescentOptions configures a Descent solver. DefaultSGDOptions and
// DefaultAdamOptions return the reference settings.
type DescentOptions struct {
	// Method is MethodSGD or MethodAdam; any other is an error.
	Method Method
	Hidden int
	Alpha  float64
	Seed   uint64 // seeds the initial weights and the batch shuffling
	// Epochs is the number of epochs after which Step returns false with
	// IterationLimit; 0 means no limit.
	Epochs int
	Batch  int // mini-batch size; 0, or more than the rows, means full batch
	LR     float64

	// DecayEvery and DecayFactor give a step schedule: the learning rate is
	// multiplied by DecayFactor every DecayEvery epochs (0: constant).
	DecayEvery  int
	DecayFactor float64
	// MaxDecays caps the number of cuts, after which the rate stays
	// constant; 0 means no cap.
	MaxDecays int

	Momentum float64 // SGD only: heavy-ball momentum in [0, 1)

	Beta1, Beta2, Eps float64 // Adam only

	// Init, when not nil, is the starting network; otherwise the weights
	// are initialised like PyTorch's nn.Linear.
	Init *Net
}

// DefaultSGDOptions returns the reference's SGD: lr 0.03, batch 2048, 300
// epochs, learning rate ×0.1 every 100 epochs.
func DefaultSGDOptions(h int) DescentOptions {
	return DescentOptions{Method: MethodSGD, Hidden: h, Epochs: 300, Batch: 2048, LR: 0.03, DecayEvery: 100, DecayFactor: 0.1}
}

// DefaultAdamOptions returns Adam with lr 0.001, batch 256, 300 epochs and
// the usual β1 = 0.9, β2 = 0.999, ε = 1e-8.
func DefaultAdamOptions(h int) DescentOptions {
	return DescentOptions{Method: MethodAdam, Hidden: h, Epochs: 300, Batch: 256, LR: 0.001, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8}
}

func (o DescentOptions) check() error {
	bad := func(v float64) bool { return math.IsNaN(v) || math.IsInf(v, 0) }
	switch {
	case o.Method != MethodSGD && o.Method != MethodAdam:
		return fmt.Errorf("relunet: descent: Method must be sgd or adam, have %v", o.Method)
	case o.Epochs < 0:
		return fmt.Errorf("relunet: %v: Epochs must not be negative, have %d", o.Method, o.Epochs)
	case o.Hidden <= 0:
		return fmt.Errorf("relunet: %v: Hidden must be positive, have %d", o.Method, o.Hidden)
	case o.Batch < 0:
		return fmt.Errorf("relunet: %v: Batch must not be negative, have %d", o.Method, o.Batch)
	case bad(o.LR) || o.LR <= 0:
		return fmt.Errorf("relunet: %v: LR must be positive, have %v", o.Method, o.LR)
	case o.MaxDecays < 0:
		return fmt.Errorf("relunet: %v: MaxDecays must not be negative, have %d", o.Method, o.MaxDecays)
	case o.DecayEvery < 0 || (o.DecayEvery > 0 && (bad(o.DecayFactor) || o.DecayFactor <= 0)):
		return fmt.Errorf("relunet: %v: bad decay schedule: every %d epochs by %v", o.Method, o.DecayEvery, o.DecayFactor)
	case bad(o.Momentum) || o.Momentum < 0 || o.Momentum >= 1:
		return fmt.Errorf("relunet: %v: Momentum must be in [0, 1), have %v", o.Method, o.Momentum)
	case o.Method == MethodAdam && (!(o.Beta1 >= 0 && o.Beta1 < 1) || !(o.Beta2 >= 0 && o.Beta2 < 1) || !(o.Eps > 0)):
		return fmt.Errorf("relunet: adam: need 0 ≤ β1, β2 < 1 and ε > 0, have %v, %v, %v", o.Beta1, o.Beta2, o.Eps)
	}
	return checkAlpha(o.Alpha)
}

// Descent trains the network by mini-batch SGD or Adam on the MSE, one epoch
// per Step.
type Descent struct {
	opts DescentOptions
	pr   *problem
	rng  *rand.PCG
	p    []float64 // parameters, viewed by net
	net  *Net
	vel  []float64 // SGD velocity or Adam first moment
	sec  []float64 // Adam second moment
	t    int       // Adam updates made
	perm []int
	history

	grad   *Net
	gp     []float64
	xb, yb *mat.Dense
	buf    *gradBuf
	hid, f *mat.Dense
}

// NewDescent returns a gradient solver for inputs X (n×d) and targets Y (n×m).
func NewDescent(X, Y mat.Matrix, opts DescentOptions) (*Descent, error) {
	if err := opts.check(); err != nil {
		return nil, err
	}
	pr, err := checkedProblem(X, Y)
	if err != nil {
		return nil, err
	}
	s := &Descent{opts: opts, pr: pr, rng: seeded.PCG(opts.Seed)}
	init, err := startNet(opts.Init, opts.Hidden, pr, opts.Alpha, func(n *Net) { n.InitUniform(rand.New(s.rng)) })
	if err != nil {
		return nil, fmt.Errorf("relunet: %v: %w", opts.Method, err)
	}
	s.opts.Init = nil
	s.setup(params(init))
	s.add(Record{Loss: s.pr.loss(s.net, s.hid, s.f)}, s.net)
	return s, nil
}

// startNet returns a copy of init checked against the problem, or, when init
// is nil, a new network whose weights fill sets.
func startNet(init *Net, h int, pr *problem, alpha float64, fill func(*Net)) (*Net, error) {
	if init != nil {
		if err := init.validate(pr.d, pr.m); err != nil {
			return nil, fmt.Errorf("Init: %w", err)
		}
		if hi, _, _ := init.Dims(); hi != h {
			return nil, fmt.Errorf("Init has %d hidden units, options say %d", hi, h)
		}
		net := init.Clone()
		net.Alpha = alpha
		return net, nil
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

// lr returns the learning rate of the current epoch.
func (s *Descent) lr() float64 {
	lr := s.opts.LR
	if s.opts.DecayEvery > 0 {
		cuts := s.Iter() / s.opts.DecayEvery
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
// (IterationLimit), or when the loss stops being finite (Failure: the epoch
// is recorded with its loss, and Err says which learning rate diverged).
func (s *Descent) Step() bool {
	if s.status != NotTerminated {
		return false
	}
	if s.opts.Epochs > 0 && s.Iter() >= s.opts.Epochs {
		return s.stop(IterationLimit, nil)
	}
	start := time.Now()
	lr := s.lr()
	rng := rand.New(s.rng)
	rng.Shuffle(len(s.perm), func(i, j int) { s.perm[i], s.perm[j] = s.perm[j], s.perm[i] })
	bs := s.batch()
	for lo := 0; lo < s.pr.n; lo += bs {
		rows := s.perm[lo:min(lo+bs, s.pr.n)]
		x, y, buf := s.xb, s.yb, s.buf
		if len(rows) < bs {
			x, y = mat.NewDense(len(rows), s.pr.d+1, nil), mat.NewDense(len(rows), s.pr.m, nil)
			buf = newGradBuf(len(rows), s.opts.Hidden, s.pr.m)
		}
		for k, i := range rows {
			x.SetRow(k, s.pr.x.RawRowView(i))
			y.SetRow(k, s.pr.y.RawRowView(i))
		}
		lossGrad(s.net, s.grad, x, y, buf)
		s.update(lr)
	}
	loss := s.pr.loss(s.net, s.hid, s.f)
	s.add(Record{Iter: s.Iter() + 1, Loss: loss, LR: lr, Seconds: time.Since(start).Seconds()}, s.net)
	if isBad(loss) {
		return s.stop(Failure, fmt.Errorf("relunet: %v: epoch %d: training loss is %v: diverged at learning rate %v (try a smaller one)", s.opts.Method, s.Iter(), loss, lr))
	}
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

// Options returns the solver's options.
func (s *Descent) Options() DescentOptions { return s.opts }
