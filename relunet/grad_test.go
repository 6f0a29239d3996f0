package relunet

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/optimize"
)

func TestGradientMatchesFiniteDifferences(t *testing.T) {
	for _, alpha := range []float64{0, 0.1} {
		X, Y := randomProblem(11, 40, 3, 2)
		pr := newProblem(X, Y)
		net, _ := NewNet(5, 3, 2, alpha)
		net.InitUniform(rand.New(rand.NewPCG(1, 2)))
		p := params(net)
		h, d, m := 5, 3, 2
		buf := newGradBuf(pr.n, h, m)
		g := make([]float64, len(p))
		lossGrad(netView(p, h, d, m, alpha), netView(g, h, d, m, alpha), pr.x, pr.y, buf)
		scratch := make([]float64, len(p))
		for k := range p {
			f := func(delta float64) float64 {
				copy(scratch, p)
				scratch[k] += delta
				return lossGrad(netView(scratch, h, d, m, alpha), netView(make([]float64, len(p)), h, d, m, alpha), pr.x, pr.y, buf)
			}
			const eps = 1e-6
			fd := (f(eps) - f(-eps)) / (2 * eps)
			if math.Abs(fd-g[k]) > 1e-6*math.Max(1, math.Abs(fd)) {
				t.Errorf("alpha %v, parameter %d: analytic %g, finite difference %g", alpha, k, g[k], fd)
			}
		}
	}
}

// Full-batch SGD with momentum and Adam follow their update rules, checked
// by hand from LossGrad over three epochs, the step schedule included.
func TestDescentUpdateRules(t *testing.T) {
	X, Y := randomProblem(12, 50, 2, 1)
	for _, opts := range []DescentOptions{
		{Method: MethodSGD, Hidden: 3, LR: 0.05, Momentum: 0.9, DecayEvery: 2, DecayFactor: 0.5},
		{Method: MethodAdam, Hidden: 3, LR: 0.01, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8},
	} {
		s, err := NewDescent(bg, X, Y, opts) // Batch 0: full batch, one update per epoch
		if err != nil {
			t.Fatal(err)
		}
		p := params(s.Net())
		vel, sec := make([]float64, len(p)), make([]float64, len(p))
		for epoch := 0; epoch < 3; epoch++ {
			net := netView(append([]float64(nil), p...), 3, 2, 1, 0)
			_, g, err := LossGrad(net, X, Y)
			if err != nil {
				t.Fatal(err)
			}
			grad := params(g)
			lr := opts.LR * math.Pow(opts.DecayFactor, float64(epoch/max(opts.DecayEvery, 1)))
			if opts.DecayEvery == 0 {
				lr = opts.LR
			}
			for i := range p {
				if opts.Method == MethodSGD {
					vel[i] = opts.Momentum*vel[i] + grad[i]
					p[i] -= lr * vel[i]
				} else {
					tt := float64(epoch + 1)
					vel[i] = opts.Beta1*vel[i] + (1-opts.Beta1)*grad[i]
					sec[i] = opts.Beta2*sec[i] + (1-opts.Beta2)*grad[i]*grad[i]
					p[i] -= lr * (vel[i] / (1 - math.Pow(opts.Beta1, tt))) / (math.Sqrt(sec[i]/(1-math.Pow(opts.Beta2, tt))) + opts.Eps)
				}
			}
			if !s.Step() {
				t.Fatal(s.Err())
			}
			if r := s.Last(); r.Descent.LR != lr || r.Iter != epoch+1 {
				t.Errorf("%v epoch %d: record lr %v at %d, want %v", opts.Method, epoch, r.Descent.LR, r.Iter, lr)
			}
			got := params(s.Net())
			for i := range p {
				if math.Abs(got[i]-p[i]) > 1e-12*(1+math.Abs(p[i])) {
					t.Fatalf("%v epoch %d: parameter %d is %v, the rule gives %v", opts.Method, epoch, i, got[i], p[i])
				}
			}
		}
	}
}

// A diverging run stops with Failure and a DivergedError naming the epoch
// and the learning rate; the epoch that diverged changed nothing: it has no
// record, and the network is the last finite one.
func TestDescentDivergenceIsReported(t *testing.T) {
	X, Y := randomProblem(13, 100, 2, 1)
	s := mustDescent(t, X, Y, DescentOptions{Method: MethodSGD, Hidden: 4, LR: 1e6, Batch: 10})
	for s.Step() {
	}
	var de *DivergedError
	if s.Status() != Failure || !errors.As(s.Err(), &de) || !errors.Is(s.Err(), ErrDiverged) {
		t.Fatalf("status %v, err %v", s.Status(), s.Err())
	}
	last := s.Last()
	if de.Epoch != last.Iter+1 || de.LR != 1e6 || !isBad(de.Loss) || de.Method != MethodSGD {
		t.Errorf("the error says epoch %d at lr %v with loss %v; the last record is epoch %d", de.Epoch, de.LR, de.Loss, last.Iter)
	}
	for _, r := range s.History() {
		if isBad(r.Loss) {
			t.Errorf("epoch %d is recorded with loss %v", r.Iter, r.Loss)
		}
	}
	if got := trueMSE(t, s.Net(), X, Y); math.Abs(got-last.Loss) > 1e-12*last.Loss {
		t.Errorf("the network's loss is %v, the last record's %v", got, last.Loss)
	}
	if s.Step() || s.Status() != Failure {
		t.Error("Step went on after the failure")
	}
}

// The L-BFGS directions are gonum's: a run driven by optimize.LBFGS itself,
// through the same line search, visits the same points bit for bit.
func TestLBFGSIsGonumsLBFGS(t *testing.T) {
	X, Y := randomProblem(14, 120, 2, 1)
	opts := LBFGSOptions{Hidden: 4}
	opts.Store = 5 // the memory wraps around within the run
	l, err := NewLBFGS(bg, X, Y, opts)
	if err != nil {
		t.Fatal(err)
	}
	// The reference: gonum's LBFGS as the directioner of the same method.
	loc := &optimize.Location{X: params(l.Net()), Gradient: make([]float64, len(l.loc.X))}
	net := netView(loc.X, 4, 2, 1, 0)
	g := netView(loc.Gradient, 4, 2, 1, 0)
	buf := newGradBuf(120, 4, 1)
	eval := func() { loc.F = lossGrad(net, g, l.pr.x, l.pr.y, buf) }
	eval()
	ref := &optimize.LinesearchMethod{NextDirectioner: &optimize.LBFGS{Store: 5}, Linesearcher: &optimize.Bisection{}}
	op, err := ref.Init(loc)
	for it := 0; it < 25; it++ {
		for err == nil && op != optimize.MajorIteration {
			eval()
			op, err = ref.Iterate(loc)
		}
		if err != nil {
			if errors.Is(err, optimize.ErrNoProgress) || errors.Is(err, optimize.ErrLinesearcherFailure) {
				break
			}
			t.Fatal(err)
		}
		if !l.Step() {
			t.Fatalf("iteration %d: stopped, %v", it, l.Err())
		}
		for i, v := range loc.X {
			if math.Float64bits(v) != math.Float64bits(l.loc.X[i]) {
				t.Fatalf("iteration %d: x[%d] = %v, gonum's LBFGS gives %v", it, i, l.loc.X[i], v)
			}
		}
		op, err = ref.Iterate(loc)
	}
	// The line search keeps each major iterate's loss at most the last one's.
	hist := l.History()
	for i := 1; i < len(hist); i++ {
		if hist[i].Loss > hist[i-1].Loss {
			t.Errorf("iteration %d raised the loss %g → %g", i, hist[i-1].Loss, hist[i].Loss)
		}
	}
}
