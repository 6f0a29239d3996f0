package relunet

import (
	"math"
	"math/rand/v2"
	"testing"
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

func TestDescentLowersLoss(t *testing.T) {
	ds, _, err := Teacher(500, 3, 4, 0.01, 5)
	if err != nil {
		t.Fatal(err)
	}
	for _, opts := range []DescentOptions{DefaultSGDOptions(8), DefaultAdamOptions(8)} {
		opts.Epochs = 60
		opts.Batch = 64
		if opts.Method == MethodSGD {
			opts.Momentum = 0.9
			opts.DecayEvery = 30
		}
		s, err := NewDescent(ds.X, ds.Y, opts)
		if err != nil {
			t.Fatal(err)
		}
		first := s.Loss()
		for s.Step() {
		}
		if s.Err() != nil {
			t.Fatal(s.Err())
		}
		if s.Epoch() != 60 || len(s.History()) != 61 {
			t.Errorf("%v: %d epochs, %d records", opts.Method, s.Epoch(), len(s.History()))
		}
		if last := s.Loss(); !(last < 0.2*first) {
			t.Errorf("%v: loss %g → %g, want a drop by 5×", opts.Method, first, last)
		}
	}
}

func TestLBFGSLowersLoss(t *testing.T) {
	ds, _, err := Teacher(300, 2, 3, 0, 9)
	if err != nil {
		t.Fatal(err)
	}
	opts := DefaultLBFGSOptions(6)
	opts.Iterations = 100
	l, err := NewLBFGS(ds.X, ds.Y, opts)
	if err != nil {
		t.Fatal(err)
	}
	first := l.Loss()
	for l.Step() {
	}
	if l.Err() != nil {
		t.Fatal(l.Err())
	}
	hist := l.History()
	for i := 1; i < len(hist); i++ {
		if hist[i].Loss > hist[i-1].Loss {
			t.Errorf("iteration %d raised the loss %g → %g", i, hist[i-1].Loss, hist[i].Loss)
		}
	}
	if last := l.Loss(); !(last < 0.01*first) {
		t.Errorf("loss %g → %g after %d iterations, want a drop by 100×", first, last, l.Epoch())
	}
}
