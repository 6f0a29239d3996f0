package relunet

import (
	"fmt"
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/mat"

	"github.com/relunet/relunet/relunet/internal/size"
)

// Phi is the leaky ReLU φ_α(u) = max(u, 0) + α·min(u, 0); α = 0 is the ReLU.
func Phi(alpha, u float64) float64 {
	if u > 0 {
		return u
	}
	return alpha * u
}

// PhiPrime is the slope of φ_α at u, the entry of the activation pattern:
// 1 where u > 0 and α elsewhere (the reference takes the slope at 0 to be α).
func PhiPrime(alpha, u float64) float64 {
	if u > 0 {
		return 1
	}
	return alpha
}

// Net is a two-layer network f(x) = Σ_j β_j φ_α(w_jᵀx̃) + β₀ with x̃ = [1, x].
type Net struct {
	// W is h×D, D = d+1; column 0 holds the hidden biases.
	W *mat.Dense
	// Beta is h×m, the output weights.
	Beta *mat.Dense
	// Beta0 holds the m output biases.
	Beta0 []float64
	// Alpha is the leaky slope of φ_α.
	Alpha float64
}

// NewNet returns a network with h hidden units, d inputs and m outputs whose
// weights are all zero. Its weights must fit in the memory available.
func NewNet(h, d, m int, alpha float64) (*Net, error) {
	if h <= 0 || d <= 0 || m <= 0 {
		return nil, fmt.Errorf("relunet: network needs h > 0, d > 0 and m > 0, have h=%d d=%d m=%d", h, d, m)
	}
	if err := checkAlpha(alpha); err != nil {
		return nil, err
	}
	if err := newMemory(0, "").check(fmt.Sprintf("a network of %d×%d×%d (hidden×inputs×outputs)", h, d, m), netBytes(h, d+1, m), 0); err != nil {
		return nil, fmt.Errorf("relunet: %w", err)
	}
	return &Net{
		W:     mat.NewDense(h, d+1, nil),
		Beta:  mat.NewDense(h, m, nil),
		Beta0: make([]float64, m),
		Alpha: alpha,
	}, nil
}

func checkAlpha(alpha float64) error {
	if math.IsNaN(alpha) || alpha < 0 || alpha >= 1 {
		return fmt.Errorf("relunet: leaky slope α must be in [0, 1), have %v", alpha)
	}
	return nil
}

// netBytes returns the bytes of a network's weights for h hidden units, D
// inputs with the bias and m outputs.
func netBytes(h, D, m int) int64 {
	var b size.Bytes
	b.Add(8, h, D)
	b.Add(8, h, m)
	b.Add(8, m)
	return b.Total()
}

// Dims returns the number of hidden units h, inputs d and outputs m.
func (n *Net) Dims() (h, d, m int) {
	h, dd := n.W.Dims()
	_, m = n.Beta.Dims()
	return h, dd - 1, m
}

// Clone returns a deep copy of n.
func (n *Net) Clone() *Net {
	return &Net{
		W:     mat.DenseCopyOf(n.W),
		Beta:  mat.DenseCopyOf(n.Beta),
		Beta0: append([]float64(nil), n.Beta0...),
		Alpha: n.Alpha,
	}
}

// Weights returns all of n's weights in one vector, W row by row, then β
// row by row, then β₀, appended to dst: for norms and distances between
// networks (the norm of a gradient from LossGrad, say).
func (n *Net) Weights(dst []float64) []float64 {
	for _, a := range []*mat.Dense{n.W, n.Beta} {
		r, _ := a.Dims()
		for i := range r {
			dst = append(dst, a.RawRowView(i)...)
		}
	}
	return append(dst, n.Beta0...)
}

// copyFrom sets n's weights to src's, which has the same dimensions.
func (n *Net) copyFrom(src *Net) {
	n.W.Copy(src.W)
	n.Beta.Copy(src.Beta)
	copy(n.Beta0, src.Beta0)
	n.Alpha = src.Alpha
}

// validate reports whether n is well formed for d inputs and m outputs.
func (n *Net) validate(d, m int) error {
	if err := n.check(); err != nil {
		return err
	}
	h, dd := n.W.Dims()
	hb, mb := n.Beta.Dims()
	switch {
	case dd != d+1:
		return fmt.Errorf("relunet: network W has %d columns, want d+1 = %d", dd, d+1)
	case hb != h:
		return fmt.Errorf("relunet: network has %d rows in W but %d in Beta", h, hb)
	case mb != m || len(n.Beta0) != m:
		return fmt.Errorf("relunet: network has %d outputs (Beta0 %d), data has %d", mb, len(n.Beta0), m)
	}
	if err := checkAlpha(n.Alpha); err != nil {
		return err
	}
	if err := checkFinite("network W", n.W); err != nil {
		return err
	}
	if err := checkFinite("network Beta", n.Beta); err != nil {
		return err
	}
	return checkFinite("network Beta0", mat.NewDense(1, m, n.Beta0))
}

// check reports whether n is a well-formed network of any size.
func (n *Net) check() error {
	if n == nil || n.W == nil || n.Beta == nil {
		return fmt.Errorf("relunet: network is incomplete")
	}
	h, _ := n.W.Dims()
	hb, m := n.Beta.Dims()
	if hb != h || len(n.Beta0) != m {
		return fmt.Errorf("relunet: network has %d rows in W, %d in Beta and %d output biases for %d outputs", h, hb, len(n.Beta0), m)
	}
	return checkAlpha(n.Alpha)
}

// Predict returns the n×m outputs of the network for the n×d inputs X
// (without the ones column).
func (n *Net) Predict(X mat.Matrix) (*mat.Dense, error) {
	if err := n.check(); err != nil {
		return nil, err
	}
	if isNil(X) {
		return nil, fmt.Errorf("relunet: Predict: X is nil")
	}
	h, d, m := n.Dims()
	r, c := X.Dims()
	if c != d {
		return nil, fmt.Errorf("relunet: Predict: X has %d columns, network has %d inputs", c, d)
	}
	if err := checkFinite("X", X); err != nil {
		return nil, err
	}
	// Only the inputs are needed: the problem has no targets here.
	pr := &problem{x: withOnes(X)}
	f := mat.NewDense(r, m, nil)
	pr.forward(n, mat.NewDense(r, h, nil), f)
	return f, nil
}

// PredictPattern returns the n×m outputs of the network on X (n×d) with the
// activation pattern G (n×h, entries α or 1) frozen: β₀ + (G ⊙ X̃Wᵀ)β. It is
// the surrogate model of the hidden step, linear in W.
func (n *Net) PredictPattern(X, G mat.Matrix) (*mat.Dense, error) {
	if err := n.check(); err != nil {
		return nil, err
	}
	if isNil(X) || isNil(G) {
		return nil, fmt.Errorf("relunet: PredictPattern: X or G is nil")
	}
	h, d, m := n.Dims()
	r, c := X.Dims()
	if gr, gc := G.Dims(); c != d || gr != r || gc != h {
		return nil, fmt.Errorf("relunet: PredictPattern: X is %d×%d and G %d×%d, network wants %d inputs and %d hidden units", r, c, gr, gc, d, h)
	}
	u := mat.NewDense(r, h, nil)
	(&problem{x: withOnes(X)}).preact(n, u)
	u.MulElem(u, G)
	f := mat.NewDense(r, m, nil)
	outputs(n, u, f)
	return f, nil
}

// InitNormal sets W to i.i.d. N(0, 1) entries as the reference does, and β,
// β₀ to zero.
func (n *Net) InitNormal(rng *rand.Rand) {
	raw := n.W.RawMatrix()
	for i := 0; i < raw.Rows; i++ {
		for j := 0; j < raw.Cols; j++ {
			raw.Data[i*raw.Stride+j] = rng.NormFloat64()
		}
	}
	n.Beta.Zero()
	clear(n.Beta0)
}

// initThroughData sets W so that every hidden unit's hyperplane w_jᵀx̃ = 0
// passes through a row of x (n×D, with the ones column) drawn at random,
// distinct rows while there are enough, with an N(0, I) normal, and zeroes
// β: each unit then starts with its kink where the data are, active on
// part of them and inactive on the rest, where W ~ N(0, 1) can start a unit
// dead (inactive on every row) or linear (active on every row).
func (n *Net) initThroughData(x *mat.Dense, rng *rand.Rand) {
	h, d, _ := n.Dims()
	rows, _ := x.Dims()
	order := rng.Perm(rows)
	for j := 0; j < h; j++ {
		xi := x.RawRowView(order[j%rows])
		bias := 0.0
		for k := 1; k <= d; k++ {
			v := rng.NormFloat64()
			n.W.Set(j, k, v)
			bias -= v * xi[k]
		}
		n.W.Set(j, 0, bias)
	}
	n.Beta.Zero()
	clear(n.Beta0)
}

// InitUniform sets the weights like PyTorch's nn.Linear default: each layer's
// weights and biases uniform on ±1/√fan_in (fan_in = d for the hidden layer,
// h for the output layer).
func (n *Net) InitUniform(rng *rand.Rand) {
	h, d, _ := n.Dims()
	fill := func(m *mat.Dense, fanIn int) {
		b := 1 / math.Sqrt(float64(max(fanIn, 1)))
		raw := m.RawMatrix()
		for i := 0; i < raw.Rows; i++ {
			for j := 0; j < raw.Cols; j++ {
				raw.Data[i*raw.Stride+j] = (2*rng.Float64() - 1) * b
			}
		}
	}
	fill(n.W, d)
	fill(n.Beta, h)
	fill(mat.NewDense(1, len(n.Beta0), n.Beta0), h)
}

// balance rescales every hidden unit so that its input and output weights
// have equal norms (see AnalyticOptions.Balance). A unit whose scale is
// not a positive finite number (a zero weight vector, as a dead unit's β
// after the ridge, or a ratio out of float64's range) is left alone.
func (n *Net) balance() {
	h, _ := n.W.Dims()
	for j := 0; j < h; j++ {
		w, b := n.W.RawRowView(j), n.Beta.RawRowView(j)
		c := math.Sqrt(floats.Norm(b, 2) / floats.Norm(w, 2))
		if !(c > 0) || math.IsInf(c, 1) {
			continue
		}
		floats.Scale(c, w)
		floats.Scale(1/c, b)
	}
}
