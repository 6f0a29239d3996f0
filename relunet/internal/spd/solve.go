package spd

import (
	"errors"
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"

	"github.com/relunet/relunet/relunet/internal/parallel"
)

// MaxCond is the largest condition number for which a Cholesky solve is
// trusted; beyond it the eigen fallback is used.
const MaxCond = 1e14

// Solve solves a x = b for the symmetric positive semi-definite a. It uses
// a Cholesky factorisation when a is numerically positive definite, and
// otherwise a truncated eigen-decomposition (the minimum-norm solution on the
// numerically nonzero eigenspace), which always returns finite values. It
// reports whether it took the eigen-decomposition.
// floor is a lower bound on a's smallest eigenvalue (see Floor), or 0
// when none is known; when it proves a's condition below maxCond, the
// estimate of the condition, whose chain of solves costs more than the
// solve itself, is skipped.
// buf, when not nil, keeps the storage of the tiled factor from one call to
// the next: for large systems it is as big as a.
// The factorisation runs on the pool's goroutines.
func Solve(pool parallel.Pool, a *mat.SymDense, b *mat.Dense, floor float64, buf *[]float64) (*mat.Dense, bool, error) {
	if n := a.SymmetricDim(); useTiledCholesky(n) {
		if f, ok := factorTiled(pool, a, buf); ok {
			norm := make(chan float64, 1)
			go func() { norm <- symNorm1(a) }()
			x := f.solve(b)
			anorm := <-norm
			// κ₁(A) ≤ ‖A‖₁·√n·‖A⁻¹‖₂ ≤ ‖A‖₁·√n/floor.
			proved := floor > 0 && anorm*math.Sqrt(float64(n)) < MaxCond*floor
			if AllFinite(x) && (proved || condition(f.invNorm1(), anorm) < MaxCond) {
				return x, false, nil
			}
		}
	} else if chol := new(mat.Cholesky); chol.Factorize(a) && chol.Cond() < MaxCond {
		var x mat.Dense
		if err := chol.SolveTo(&x, b); err == nil && AllFinite(&x) {
			return &x, false, nil
		}
	}
	var eig mat.EigenSym
	if !eig.Factorize(a, true) {
		return nil, true, errors.New("eigen-decomposition did not converge")
	}
	vals := eig.Values(nil)
	var vecs mat.Dense
	eig.VectorsTo(&vecs)
	top := 0.0
	for _, v := range vals {
		top = math.Max(top, v)
	}
	if top <= 0 {
		// a is zero (or negative definite by rounding): the minimum-norm solution is zero.
		r, c := b.Dims()
		return mat.NewDense(r, c, nil), true, nil
	}
	n, _ := a.Dims()
	tol := top * float64(n) * 1e-15
	var t mat.Dense
	t.Mul(vecs.T(), b)
	for i, v := range vals {
		row := t.RawRowView(i)
		f := 0.0
		if v > tol {
			f = 1 / v
		}
		for k := range row {
			row[k] *= f
		}
	}
	var x mat.Dense
	x.Mul(&vecs, &t)
	if !AllFinite(&x) {
		return nil, true, fmt.Errorf("eigen fallback produced non-finite values")
	}
	return &x, true, nil
}

// Floor returns a lower bound on the smallest eigenvalue of the
// computed S + lambda·I, S a sum of rows positive semi-definite terms: lambda
// less a bound on the rounding error E of the sum. Any order of summation
// gives |E_ab| ≤ γ·Σ_i |T_i|_ab, γ ≈ rows·ε, so ‖E‖₂ ≤ ‖E‖_F ≤ γ·mag for
// mag ≥ ‖Σ_i |T_i|‖_F, which the caller gives; the factor 2 covers the few
// roundings outside the sums. It is 0 or less when it proves nothing, and it
// holds for every principal submatrix too.
func Floor(lambda float64, rows int, mag float64) float64 {
	if !(lambda > 0) {
		return 0
	}
	return lambda - 2*float64(rows)*0x1p-53*mag
}

func AllFinite(a *mat.Dense) bool {
	raw := a.RawMatrix()
	for i := 0; i < raw.Rows; i++ {
		if !finite(raw.Data[i*raw.Stride : i*raw.Stride+raw.Cols]) {
			return false
		}
	}
	return true
}
