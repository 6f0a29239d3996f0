package relunet

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"
)

// problem holds training data in the form the solvers use: x is n×D with the
// ones column first, y is n×m.
type problem struct {
	n, d, m int
	x       *mat.Dense
	y       *mat.Dense
}

// newProblem returns the problem for inputs X (n×d, no ones column) and
// targets Y (n×m); it does not validate them. X is copied (with the ones
// column), Y is not.
func newProblem(X mat.Matrix, Y *mat.Dense) *problem {
	n, d := X.Dims()
	_, m := Y.Dims()
	return &problem{n: n, d: d, m: m, x: WithOnes(X), y: Y}
}

// checkedProblem validates X and Y and returns their problem.
func checkedProblem(X, Y mat.Matrix) (*problem, error) {
	if err := CheckData(X, Y); err != nil {
		return nil, err
	}
	return newProblem(X, mat.DenseCopyOf(Y)), nil
}

// WithOnes returns [1, X], X with a column of ones prepended.
// Its rows may be read in place by the tile kernels (see spareDense).
func WithOnes(X mat.Matrix) *mat.Dense {
	n, d := X.Dims()
	out := spareDense(n, d+1)
	for i := 0; i < n; i++ {
		out.Set(i, 0, 1)
	}
	out.Slice(0, n, 1, d+1).(*mat.Dense).Copy(X)
	return out
}

// CheckData reports whether X (n×d) and Y (n×m) are training data: at least
// one row, the same number of rows, at least one target column and only
// finite values. The error names the first offending row and column.
func CheckData(X, Y mat.Matrix) error {
	if X == nil || Y == nil {
		return fmt.Errorf("relunet: data: X and Y must not be nil")
	}
	n, _ := X.Dims()
	ny, m := Y.Dims()
	switch {
	case n == 0:
		return fmt.Errorf("relunet: data: X has zero rows")
	case ny != n:
		return fmt.Errorf("relunet: data: X has %d rows but Y has %d", n, ny)
	case m == 0:
		return fmt.Errorf("relunet: data: Y has no columns")
	}
	if err := checkFinite("X", X); err != nil {
		return err
	}
	return checkFinite("Y", Y)
}

// checkFinite returns an error naming the first NaN or infinite entry of a.
func checkFinite(name string, a mat.Matrix) error {
	r, c := a.Dims()
	for i := 0; i < r; i++ {
		for j := 0; j < c; j++ {
			if v := a.At(i, j); isBad(v) {
				return fmt.Errorf("relunet: %s has %v at row %d, column %d", name, v, i+1, j+1)
			}
		}
	}
	return nil
}

// narrowD is the largest D for which pre-activations are summed by direct
// loops: gonum's blocked product is slow for so short inner products.
const narrowD = 8

// preact sets u (n×h) to the pre-activations X̃Wᵀ.
func (p *problem) preact(net *Net, u *mat.Dense) {
	h, D := net.W.Dims()
	if D > narrowD {
		u.Mul(p.x, net.W.T())
		return
	}
	// u_i = Σ_a x̃_ia w_a over the columns w_a of Wᵀ: inner loops along u_i.
	wt := mat.DenseCopyOf(net.W.T()).RawMatrix().Data
	xr, ur := p.x.RawMatrix(), u.RawMatrix()
	for i := 0; i < xr.Rows; i++ {
		out := ur.Data[i*ur.Stride : i*ur.Stride+h]
		x := xr.Data[i*xr.Stride : i*xr.Stride+D]
		clear(out)
		for a, v := range x {
			for j, w := range wt[a*h : (a+1)*h] {
				out[j] += v * w
			}
		}
	}
}

// hiddenOutputs overwrites the pre-activations u with φ_α(u).
func hiddenOutputs(alpha float64, u *mat.Dense) {
	raw := u.RawMatrix()
	for i := 0; i < raw.Rows; i++ {
		row := raw.Data[i*raw.Stride : i*raw.Stride+raw.Cols]
		for j, v := range row {
			row[j] = Phi(alpha, v)
		}
	}
}

// outputs sets f (n×m) to the network outputs given the hidden outputs hid.
func outputs(net *Net, hid, f *mat.Dense) {
	if h, m := net.Beta.Dims(); m == 1 {
		// One output: a matrix-vector product, which gonum's general product
		// handles poorly.
		beta := mat.Col(nil, 0, net.Beta)
		hr, fr := hid.RawMatrix(), f.RawMatrix()
		for i := 0; i < hr.Rows; i++ {
			var s0, s1 float64
			row := hr.Data[i*hr.Stride : i*hr.Stride+h]
			j := 0
			for ; j+2 <= h; j += 2 {
				s0 += row[j] * beta[j]
				s1 += row[j+1] * beta[j+1]
			}
			if j < h {
				s0 += row[j] * beta[j]
			}
			fr.Data[i*fr.Stride] = s0 + s1 + net.Beta0[0]
		}
		return
	}
	f.Mul(hid, net.Beta)
	raw := f.RawMatrix()
	for i := 0; i < raw.Rows; i++ {
		row := raw.Data[i*raw.Stride : i*raw.Stride+raw.Cols]
		for o := range row {
			row[o] += net.Beta0[o]
		}
	}
}

// forward sets hid (n×h) to the hidden outputs and f (n×m) to the outputs of
// net on the problem's inputs.
func (p *problem) forward(net *Net, hid, f *mat.Dense) {
	p.preact(net, hid)
	hiddenOutputs(net.Alpha, hid)
	outputs(net, hid, f)
}

// mse returns the mean over all n·m entries of (f - y)².
func (p *problem) mse(f *mat.Dense) float64 {
	return MSE(f, p.y)
}

// loss returns the training MSE of net, using scratch matrices of the right size.
func (p *problem) loss(net *Net, hid, f *mat.Dense) float64 {
	p.forward(net, hid, f)
	return p.mse(f)
}

func isBad(v float64) bool { return math.IsNaN(v) || math.IsInf(v, 0) }
