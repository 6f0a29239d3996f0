package relunet

import (
	"errors"
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"
)

// Solve methods recorded in step results.
const (
	SolveCholesky = "cholesky" // Cholesky factorisation of the normal matrix
	SolveEigen    = "eigen"    // fallback: eigen-decomposition, tiny eigenvalues dropped
	SolveCG       = "cg"       // matrix-free conjugate gradients
)

// maxCond is the largest condition number for which a Cholesky solve is
// trusted; beyond it the eigen fallback is used.
const maxCond = 1e14

// solveSPD solves a x = b for the symmetric positive semi-definite a. It uses
// a Cholesky factorisation when a is numerically positive definite, and
// otherwise a truncated eigen-decomposition (the minimum-norm solution on the
// numerically nonzero eigenspace), which always returns finite values. It
// reports which method was used.
// buf, when not nil, keeps the storage of the tiled factor from one call to
// the next: for large systems it is as big as a.
func (as assembler) solveSPD(a *mat.SymDense, b *mat.Dense, buf *[]float64) (*mat.Dense, string, error) {
	if useTiledCholesky(a.SymmetricDim()) {
		if f, ok := as.factorTiled(a, buf); ok {
			// The estimate of ‖A⁻¹‖₁, a chain of solves, runs on its own
			// while A's norm and the solution are computed.
			inv := make(chan float64, 1)
			go func() { inv <- f.invNorm1() }()
			anorm := symNorm1(a)
			x := f.solve(b)
			if condition(<-inv, anorm) < maxCond && allFinite(x) {
				return x, SolveCholesky, nil
			}
		}
	} else if chol := new(mat.Cholesky); chol.Factorize(a) && chol.Cond() < maxCond {
		var x mat.Dense
		if err := chol.SolveTo(&x, b); err == nil && allFinite(&x) {
			return &x, SolveCholesky, nil
		}
	}
	var eig mat.EigenSym
	if !eig.Factorize(a, true) {
		return nil, SolveEigen, errors.New("eigen-decomposition did not converge")
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
		return mat.NewDense(r, c, nil), SolveEigen, nil
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
	if !allFinite(&x) {
		return nil, SolveEigen, fmt.Errorf("eigen fallback produced non-finite values")
	}
	return &x, SolveEigen, nil
}

func allFinite(a *mat.Dense) bool {
	raw := a.RawMatrix()
	for i := 0; i < raw.Rows; i++ {
		if !finite(raw.Data[i*raw.Stride : i*raw.Stride+raw.Cols]) {
			return false
		}
	}
	return true
}
