package relunet

import (
	"bytes"
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/mat"
)

// residuals returns f(x_i)_o − y_io, row by row, at the weights p.
func residuals(p []float64, h, d, m int, alpha float64, X, Y *mat.Dense) []float64 {
	f, err := netView(p, h, d, m, alpha).Predict(X)
	if err != nil {
		panic(err)
	}
	f.Sub(f, Y)
	return append([]float64(nil), f.RawMatrix().Data...)
}

// JᵀJ and Jᵀr as LM sums them, in chunks of any size, are those of the
// Jacobian by central differences (exact for a piecewise-linear f away from
// kinks), and 2Jᵀr/(nm) is LossGrad's gradient.
func TestLMNormalEquations(t *testing.T) {
	for _, tc := range []struct {
		alpha float64
		m     int
	}{{0, 1}, {0.1, 1}, {0, 3}, {0.2, 2}} {
		X, Y := randomProblem(21, 60, 3, tc.m)
		const h = 4
		s, err := NewLM(bg, X, Y, LMOptions{Hidden: h, Alpha: tc.alpha, Seed: 3})
		if err != nil {
			t.Fatal(err)
		}
		p := append([]float64(nil), s.theta...)
		P := len(p)
		// The Jacobian by central differences, column by column.
		J := mat.NewDense(60*tc.m, P, nil)
		const eps = 1e-7
		for k := range p {
			q := append([]float64(nil), p...)
			q[k] += eps
			plus := residuals(q, h, 3, tc.m, tc.alpha, X, Y)
			q[k] -= 2 * eps
			minus := residuals(q, h, 3, tc.m, tc.alpha, X, Y)
			for i := range plus {
				J.Set(i, k, (plus[i]-minus[i])/(2*eps))
			}
		}
		var want mat.SymDense
		want.SymOuterK(1, J.T())
		r := mat.NewVecDense(60*tc.m, residuals(p, h, 3, tc.m, tc.alpha, X, Y))
		var jr mat.VecDense
		jr.MulVec(J.T(), r)
		for _, chunk := range []int{0, 7, 1} {
			s.chunk, s.fresh = chunk, false
			s.assemble()
			if d := maxRelDiff(s.a, &want); d > 1e-6 {
				t.Errorf("α %v, m %d, chunk %d: JᵀJ differs from the finite differences' by %g (relative)", tc.alpha, tc.m, chunk, d)
			}
			if d := floats.Distance(s.g, jr.RawVector().Data, math.Inf(1)) / floats.Norm(s.g, math.Inf(1)); d > 1e-6 {
				t.Errorf("α %v, m %d, chunk %d: Jᵀr differs by %g (relative)", tc.alpha, tc.m, chunk, d)
			}
		}
		_, grad, err := LossGrad(s.Net(), X, Y)
		if err != nil {
			t.Fatal(err)
		}
		g := params(grad)
		for k := range g {
			if lm := 2 * s.g[k] / float64(60*tc.m); math.Abs(lm-g[k]) > 1e-12*math.Max(1, math.Abs(g[k])) {
				t.Errorf("α %v, m %d: gradient entry %d: LM's 2Jᵀr/nm %g, LossGrad %g", tc.alpha, tc.m, k, lm, g[k])
			}
		}
	}
}

func maxRelDiff(a, b mat.Symmetric) float64 {
	n := a.SymmetricDim()
	var d, big float64
	for i := 0; i < n; i++ {
		for j := i; j < n; j++ {
			d = math.Max(d, math.Abs(a.At(i, j)-b.At(i, j)))
			big = math.Max(big, math.Abs(b.At(i, j)))
		}
	}
	return d / big
}

// On data a network of the student's size fits exactly, LM started near
// that network converges to the known minimum, zero, as Gauss–Newton does on
// a zero-residual problem: the loss falls by orders of magnitude per step.
func TestLMZeroResidual(t *testing.T) {
	const n, d, h = 200, 2, 3
	rng := rand.New(rand.NewPCG(5, 6))
	teacher, _ := NewNet(h, d, 1, 0)
	teacher.InitNormal(rng)
	for j := 0; j < h; j++ {
		teacher.Beta.Set(j, 0, 1+float64(j))
	}
	X := mat.NewDense(n, d, nil)
	for i := 0; i < n; i++ {
		for a := 0; a < d; a++ {
			X.Set(i, a, rng.NormFloat64())
		}
	}
	Y, err := teacher.Predict(X)
	if err != nil {
		t.Fatal(err)
	}
	start := teacher.Clone()
	p := params(start)
	for k := range p {
		p[k] += 1e-6 * rng.NormFloat64()
	}
	s, err := NewLM(bg, X, Y, LMOptions{Hidden: h, Init: netView(p, h, d, 1, 0), Iterations: 20, GradTol: 1e-30})
	if err != nil {
		t.Fatal(err)
	}
	first := s.Last().Loss
	for s.Step() {
	}
	if s.Err() != nil {
		t.Fatal(s.Err())
	}
	if first < 1e-16 || s.Last().Loss > 1e-26 {
		t.Errorf("loss %g at the start, %g after %d steps (%v); want a start above 1e-16 and an end below 1e-26", first, s.Last().Loss, s.Last().Iter, s.Status())
	}
}

// A Step never raises the loss, and the records say so.
func TestLMNeverRaisesLoss(t *testing.T) {
	X, Y := randomProblem(22, 150, 2, 2)
	s, err := NewLM(bg, X, Y, LMOptions{Hidden: 5, Iterations: 40, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	for s.Step() {
	}
	if s.Err() != nil {
		t.Fatal(s.Err())
	}
	h := s.History()
	for i := 1; i < len(h); i++ {
		if h[i].Loss > h[i-1].Loss {
			t.Errorf("step %d raised the loss from %v to %v", h[i].Iter, h[i-1].Loss, h[i].Loss)
		}
	}
	if got := trueMSE(t, s.Net(), X, Y); math.Abs(got-s.Last().Loss) > 1e-12*got {
		t.Errorf("Loss() %v, the network's MSE %v", s.Last().Loss, got)
	}
}

// A saved LM continues bit for bit.
func TestLMSaveLoad(t *testing.T) {
	X, Y := randomProblem(23, 120, 3, 1)
	opts := LMOptions{Hidden: 4, Iterations: 10, Seed: 2}
	whole, err := NewLM(bg, X, Y, opts)
	if err != nil {
		t.Fatal(err)
	}
	for whole.Step() {
	}
	part, err := NewLM(bg, X, Y, opts)
	if err != nil {
		t.Fatal(err)
	}
	mustStep(t, part, 4)
	loaded, err := Load(bg, bytes.NewReader(mustSave(t, part)), X, Y)
	if err != nil {
		t.Fatal(err)
	}
	s := loaded.(*LM)
	for s.Step() {
	}
	if s.Last().Iter != whole.Last().Iter || s.Last().Loss != whole.Last().Loss || s.Status() != whole.Status() || !mat.Equal(s.Net().W, whole.Net().W) {
		t.Errorf("resumed: iteration %d, loss %v, %v; whole run: %d, %v, %v", s.Last().Iter, s.Last().Loss, s.Status(), whole.Last().Iter, whole.Last().Loss, whole.Status())
	}
}

func TestLMOptionsAndMemory(t *testing.T) {
	X, Y := randomProblem(24, 30, 2, 1)
	for _, o := range []LMOptions{{Hidden: 0}, {Hidden: 2, Damping: -1}, {Hidden: 2, GradTol: math.NaN()}, {Hidden: 2, Alpha: 1}} {
		if _, err := NewLM(bg, X, Y, o); err == nil {
			t.Errorf("%+v: no error", o)
		}
	}
	// 50 hidden units: 201 weights, whose three 201² matrices take 947 KiB
	// beside a 16 MiB chunk of the Jacobian.
	_, err := NewLM(bg, X, Y, LMOptions{Hidden: 50, MemoryLimit: 8 << 20})
	var me *MemoryError
	if !errors.As(err, &me) || !strings.Contains(err.Error(), "normal matrices of 50 hidden units") || !strings.Contains(err.Error(), "LMOptions.MemoryLimit") {
		t.Errorf("memory: %v", err)
	}
	// Without a cap on the tries, a step ends when μ overflows.
	s, err := NewLM(bg, X, Y, LMOptions{Hidden: 2, MaxTries: -1, Iterations: 3})
	if err != nil {
		t.Fatal(err)
	}
	for s.Step() {
	}
	if s.Status() != IterationLimit && s.Status() != NoProgress && s.Status() != Converged {
		t.Errorf("no cap on the tries: %v, %v", s.Status(), s.Err())
	}
}

// The blocked rank update of a large JᵀJ (more than lmBlock weights) is
// the plain one's, to rounding.
func TestLMBlockedGram(t *testing.T) {
	X, Y := randomProblem(25, 40, 30, 2) // 8 units: P = 8·31 + 9·2 = 266 > 256
	s, err := NewLM(bg, X, Y, LMOptions{Hidden: 8})
	if err != nil {
		t.Fatal(err)
	}
	P := len(s.theta)
	if P <= lmBlock {
		t.Fatalf("P = %d is not above the block of %d", P, lmBlock)
	}
	J := mat.NewDense(7, P, nil)
	for i := range J.RawMatrix().Data {
		J.RawMatrix().Data[i] = math.Sin(float64(i))
	}
	s.a = mat.NewSymDense(P, nil)
	if err := s.addGram(J); err != nil {
		t.Fatal(err)
	}
	var want mat.SymDense
	want.SymOuterK(1, J.T())
	if d := maxRelDiff(s.a, &want); d > 1e-14 {
		t.Errorf("blocked JᵀJ differs by %g", d)
	}
}
