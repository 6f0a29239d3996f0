package relunet

import (
	"context"
	"fmt"
	"math"
	"reflect"

	"gonum.org/v1/gonum/mat"

	"github.com/relunet/relunet/relunet/internal/asm/f64"
	"github.com/relunet/relunet/relunet/internal/gram"
	"github.com/relunet/relunet/relunet/internal/parallel"
	"github.com/relunet/relunet/relunet/internal/size"
)

// problem holds training data in the form the solvers use: x is n×D with the
// ones column first, y is n×m.
type problem struct {
	n, d, m int
	x       *mat.Dense
	y       *mat.Dense
	// xx is ‖X̃‖²_F, the sum of all rows' Gram terms' traces, which bounds
	// the rounding error of the Gram sums (see spd.Floor).
	xx float64
}

// newProblem returns the problem for inputs X (n×d, no ones column) and
// targets Y (n×m); it does not validate them. X is copied (with the ones
// column), Y is not.
func newProblem(X mat.Matrix, Y *mat.Dense) *problem {
	n, d := X.Dims()
	_, m := Y.Dims()
	x := withOnes(X)
	f := mat.Norm(x, 2)
	return &problem{n: n, d: d, m: m, x: x, y: Y, xx: f * f}
}

// checkedProblem validates X and Y, as CheckData does, and returns their
// problem, within the memory limit mem (the bytes of the problem's copies
// are added to used). It reads the data once, copying as it checks, and
// stops when ctx ends.
func checkedProblem(ctx context.Context, X, Y mat.Matrix, mem memory, used *size.Bytes) (*problem, error) {
	if err := checkShapes(X, Y); err != nil {
		return nil, err
	}
	n, d := X.Dims()
	_, m := Y.Dims()
	used.Add(8, n, d+1) // X̃
	used.Add(8, n, m)
	if err := mem.check(fmt.Sprintf("a copy of the data (%d rows, %d inputs, %d outputs)", n, d, m), used.Total(), 0); err != nil {
		return nil, err
	}
	x, y := gram.NewPadded(n, d+1), mat.NewDense(n, m, nil)
	xx, err := copyChecked(ctx, x, 1, "X", X, n)
	if err != nil {
		return nil, err
	}
	if _, err := copyChecked(ctx, y, 0, "Y", Y, n*m); err != nil {
		return nil, err
	}
	raw := x.RawMatrix()
	for i := 0; i < n; i++ {
		raw.Data[i*raw.Stride] = 1
	}
	return &problem{n: n, d: d, m: m, x: x, y: y, xx: xx + float64(n)}, nil
}

// copyChecked copies a, called name, into the columns from col on of dst,
// checking each entry as CheckData does (finite, and not so large that sums
// of squares of terms such entries overflow), and returns the sum of the
// squares. It checks ctx between chunks of rows.
func copyChecked(ctx context.Context, dst *mat.Dense, col int, name string, a mat.Matrix, terms int) (float64, error) {
	r, c := a.Dims()
	limit := magnitudeLimit(terms)
	d := dst.RawMatrix()
	src, dense := a.(*mat.Dense)
	var sq float64
	row := make([]float64, c)
	for i := 0; i < r; i++ {
		if i%parallel.ChunkRows == 0 {
			if err := ctx.Err(); err != nil {
				return 0, context.Cause(ctx)
			}
		}
		out := d.Data[i*d.Stride+col : i*d.Stride+col+c]
		if dense {
			raw := src.RawMatrix()
			copy(out, raw.Data[i*raw.Stride:i*raw.Stride+c])
		} else {
			mat.Row(row, i, a)
			copy(out, row)
		}
		for j, v := range out {
			switch {
			case isBad(v):
				return 0, fmt.Errorf("relunet: %s has %v at row %d, column %d", name, v, i+1, j+1)
			case math.Abs(v) > limit:
				return 0, magnitudeError(name, v, i, j, limit)
			}
			sq += v * v
		}
	}
	return sq, nil
}

// withOnes returns [1, X], X with a column of ones prepended, padded so
// that the kernels read its rows in place (gram.NewPadded).
func withOnes(X mat.Matrix) *mat.Dense {
	n, d := X.Dims()
	out := gram.NewPadded(n, d+1)
	out.Slice(0, n, 1, d+1).(*mat.Dense).Copy(X)
	raw := out.RawMatrix()
	for i := 0; i < n; i++ {
		raw.Data[i*raw.Stride] = 1
	}
	return out
}

// CheckData reports whether X (n×d) and Y (n×m) are training data: at least
// one row, the same number of rows, at least one target column, only finite
// values, and none so large that sums of their squares overflow (see
// CheckMagnitude). The error names the first offending row and column.
func CheckData(X, Y mat.Matrix) error {
	if err := CheckFinite(X, Y); err != nil {
		return err
	}
	n, _ := X.Dims()
	_, m := Y.Dims()
	if err := CheckMagnitude("X", X, n); err != nil {
		return err
	}
	return CheckMagnitude("Y", Y, n*m)
}

// CheckFinite is CheckData without the test of magnitudes: for data that
// are yet to be scaled.
func CheckFinite(X, Y mat.Matrix) error {
	if err := checkShapes(X, Y); err != nil {
		return err
	}
	if err := checkFinite("X", X); err != nil {
		return err
	}
	return checkFinite("Y", Y)
}

// checkShapes reports whether X and Y have the shapes of training data.
func checkShapes(X, Y mat.Matrix) error {
	if isNil(X) || isNil(Y) {
		return fmt.Errorf("relunet: data: X and Y must not be nil")
	}
	n, _ := X.Dims()
	ny, m := Y.Dims()
	_, d := X.Dims()
	switch {
	case n == 0:
		return fmt.Errorf("relunet: data: X has zero rows")
	case d == 0:
		return fmt.Errorf("relunet: data: X has no columns")
	case ny != n:
		return fmt.Errorf("relunet: data: X has %d rows but Y has %d", n, ny)
	case m == 0:
		return fmt.Errorf("relunet: data: Y has no columns")
	}
	return nil
}

// CheckMagnitude returns an error naming the first entry of the matrix a,
// called name, whose square, summed over terms such entries, would overflow
// float64: the solvers form sums of squares of the data.
func CheckMagnitude(name string, a mat.Matrix, terms int) error {
	limit := magnitudeLimit(terms)
	i, j, v := first(a, func(v float64) bool { return math.Abs(v) > limit })
	if i < 0 {
		return nil
	}
	return magnitudeError(name, v, i, j, limit)
}

// magnitudeLimit is the largest magnitude whose square, summed over terms
// such entries, stays well within float64.
func magnitudeLimit(terms int) float64 {
	return math.Sqrt(math.MaxFloat64 / (16 * float64(max(terms, 1))))
}

func magnitudeError(name string, v float64, i, j int, limit float64) error {
	return fmt.Errorf("relunet: %s is %.3g at row %d, column %d: sums of squares of the data overflow float64 beyond about %.0e; rescale it", name, v, i+1, j+1, limit)
}

// first returns the row, column and value of the first entry of a, row by
// row, for which bad is true, or -1 for none. A *mat.Dense is read along
// its rows, which is many times faster than At.
func first(a mat.Matrix, bad func(float64) bool) (int, int, float64) {
	r, c := a.Dims()
	if d, ok := a.(*mat.Dense); ok {
		raw := d.RawMatrix()
		for i := 0; i < r; i++ {
			for j, v := range raw.Data[i*raw.Stride : i*raw.Stride+c] {
				if bad(v) {
					return i, j, v
				}
			}
		}
		return -1, -1, 0
	}
	for i := 0; i < r; i++ {
		for j := 0; j < c; j++ {
			if v := a.At(i, j); bad(v) {
				return i, j, v
			}
		}
	}
	return -1, -1, 0
}

// isNil reports whether m is nil or holds a nil pointer, such as a
// (*mat.Dense)(nil), whose Dims would panic.
func isNil(m mat.Matrix) bool {
	if m == nil {
		return true
	}
	v := reflect.ValueOf(m)
	return v.Kind() == reflect.Pointer && v.IsNil()
}

// checkFinite returns an error naming the first NaN or infinite entry of a.
func checkFinite(name string, a mat.Matrix) error {
	if i, j, v := first(a, isBad); i >= 0 {
		return fmt.Errorf("relunet: %s has %v at row %d, column %d", name, v, i+1, j+1)
	}
	return nil
}

// preact sets u (n×h) to the pre-activations X̃Wᵀ.
func (p *problem) preact(net *Net, u *mat.Dense) {
	preact(p.x, net, u, 0, p.x.RawMatrix().Rows)
}

// preact sets rows lo..hi-1 of u to those of the pre-activations xWᵀ, for
// inputs x with the ones column. Every forward pass uses it, so that losses
// computed along different paths agree to the last bit.
func preact(x *mat.Dense, net *Net, u *mat.Dense, lo, hi int) {
	h, D := net.W.Dims()
	if lo >= hi {
		return
	}
	// Row i of u is x_i times Wᵀ: on one core this beats gonum's product
	// on two for D = 14, 31 and 91 (measured).
	wt := mat.DenseCopyOf(net.W.T()).RawMatrix().Data
	xr, ur := x.RawMatrix(), u.RawMatrix()
	f64.RowsTimes(ur.Data[lo*ur.Stride:], ur.Stride, xr.Data[lo*xr.Stride:], xr.Stride, wt, hi-lo, D, h)
}

// hiddenOutputs overwrites the pre-activations u with φ_α(u).
func hiddenOutputs(alpha float64, u *mat.Dense) { activate(alpha, u, u) }

// activate sets dst to φ_α(src); both are r×c and may be the same matrix.
func activate(alpha float64, dst, src *mat.Dense) {
	d, s := dst.RawMatrix(), src.RawMatrix()
	g := [2]float64{alpha, 1}
	for i := 0; i < s.Rows; i++ {
		out := d.Data[i*d.Stride : i*d.Stride+s.Cols]
		for j, v := range s.Data[i*s.Stride : i*s.Stride+s.Cols] {
			out[j] = v * g[b2i(v > 0)] // without branches: signs are unpredictable
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
			fr.Data[i*fr.Stride] = f64.Dot(hr.Data[i*hr.Stride:i*hr.Stride+h], beta) + net.Beta0[0]
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

// maskedDot returns Σ_j (x_j·g[act_j])·y_j over len(x) ≤ len(y), len(act)
// entries: dot with x scaled by the pattern, in one pass.
func maskedDot(x, y []float64, act []bool, g [2]float64) float64 {
	var s0, s1 float64
	y, act = y[:len(x)], act[:len(x)]
	j := 0
	for ; j+2 <= len(x); j += 2 {
		s0 += x[j] * g[b2i(act[j])] * y[j]
		s1 += x[j+1] * g[b2i(act[j+1])] * y[j+1]
	}
	if j < len(x) {
		s0 += x[j] * g[b2i(act[j])] * y[j]
	}
	return s0 + s1
}

// mse returns the mean over all n·m entries of (f - y)² for the outputs
// f_i = β₀ + βᵀ(g_i ⊙ v_i), v_i row i of v (n×h) and g_i row i of the
// pattern's G, or ones when p is nil: the loss from the hidden outputs, or
// from the pre-activations with the pattern frozen. It runs in parallel
// over row chunks, with no n×m temporary.
func mse(pool parallel.Pool, v *mat.Dense, p *pattern, net *Net, y *mat.Dense) float64 {
	n, h := v.Dims()
	_, m := y.Dims()
	vr, yr := v.RawMatrix(), y.RawMatrix()
	betaT := mat.DenseCopyOf(net.Beta.T()).RawMatrix().Data // m×h
	g := [2]float64{net.Alpha, 1}
	var sse [1]float64
	pool.SumRows(n, sse[:], func(_, lo, hi int, acc []float64) {
		gv := make([]float64, h)
		s := 0.0
		for i := lo; i < hi; i++ {
			row := vr.Data[i*vr.Stride : i*vr.Stride+h]
			if p != nil && m == 1 {
				e := net.Beta0[0] + maskedDot(row, betaT, p.act[i*h:(i+1)*h], g) - yr.Data[i*yr.Stride]
				s += e * e
				continue
			}
			if p != nil {
				for j, on := range p.act[i*h : (i+1)*h] {
					gv[j] = row[j] * g[b2i(on)]
				}
				row = gv
			}
			for o := range m {
				e := net.Beta0[o] + f64.Dot(row, betaT[o*h:(o+1)*h]) - yr.Data[i*yr.Stride+o]
				s += e * e
			}
		}
		acc[0] += s
	})
	return sse[0] / float64(n*m)
}

// loss returns the training MSE of net, using scratch matrices of the right size.
func (p *problem) loss(net *Net, hid, f *mat.Dense) float64 {
	p.forward(net, hid, f)
	return meanSquares(f, p.y)
}

// meanSquares returns the mean over all entries of (f - y)², f and y of the
// same dimensions.
func meanSquares(f, y *mat.Dense) float64 {
	fr, yr := f.RawMatrix(), y.RawMatrix()
	var s float64
	for i := 0; i < fr.Rows; i++ {
		yrow := yr.Data[i*yr.Stride : i*yr.Stride+fr.Cols]
		for o, v := range fr.Data[i*fr.Stride : i*fr.Stride+fr.Cols] {
			e := v - yrow[o]
			s += e * e
		}
	}
	return s / float64(fr.Rows*fr.Cols)
}

func isBad(v float64) bool { return math.IsNaN(v) || math.IsInf(v, 0) }
