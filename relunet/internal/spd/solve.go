package spd

import (
	"errors"
	"fmt"
	"math"

	"gonum.org/v1/gonum/lapack"
	"gonum.org/v1/gonum/lapack/lapack64"
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
// The factorisation runs on the pool's goroutines.
//
// When rebuild is not nil and a is padded (NewPadded), the factor overwrites
// a, so that a large system takes the memory of one matrix, not two: a holds
// no longer the matrix afterwards. Should the eigen fallback be needed,
// rebuild is called to form a again first. With rebuild nil, a is left as
// it was.
//
// fallback, when not nil, is asked before the eigen fallback, which needs
// one more matrix of a's size (see eigen): its error (not enough memory,
// say) is returned instead. Once the pool's context is done, Solve returns
// its error without the fallback, or at once from within it (see eigen).
func Solve(pool parallel.Pool, a *mat.SymDense, b *mat.Dense, floor float64, rebuild func(*mat.SymDense), fallback func() error) (*mat.Dense, bool, error) {
	if n := a.SymmetricDim(); useOwnCholesky(n) {
		// The 1-norm is taken before the factorisation, which may overwrite a.
		anorm := symNorm1(a)
		inPlace := rebuild != nil && padded(a)
		f, ok := factor(pool, a, inPlace)
		if ok {
			x := f.solve(b)
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
	if err := pool.Err(); err != nil {
		return nil, false, err
	}
	if fallback != nil {
		if err := fallback(); err != nil {
			return nil, true, err
		}
	}
	if rebuild != nil && padded(a) && useOwnCholesky(a.SymmetricDim()) {
		rebuild(a) // the factorisation overwrote a
		if err := pool.Err(); err != nil {
			return nil, true, err
		}
	}
	vals, vecs, err := eigen(pool, a)
	if err != nil {
		return nil, true, err
	}
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
	x.Mul(vecs, &t)
	if !AllFinite(&x) {
		return nil, true, fmt.Errorf("eigen fallback produced non-finite values")
	}
	return &x, true, nil
}

// eigen returns the eigenvalues of a, ascending, and its eigenvectors, the
// columns of the matrix. LAPACK's Syev cannot be stopped once begun (on one
// core here, 3 s for order 1000, 106 s for order 2460), so it runs on a copy
// of a in a goroutine of its own: when the pool's context ends first, eigen
// returns its error at once and leaves the goroutine to finish, its result
// dropped. Its memory is that copy, which becomes the eigenvectors.
func eigen(pool parallel.Pool, a *mat.SymDense) ([]float64, *mat.Dense, error) {
	n := a.SymmetricDim()
	sd := mat.NewSymDense(n, nil)
	sd.CopySym(a)
	raw := sd.RawSymmetric()
	vals := make([]float64, n)
	type outcome struct {
		ok     bool
		thrown any
	}
	done := make(chan outcome, 1)
	go func() {
		var o outcome
		defer func() {
			o.thrown = recover() // raised again in the caller's goroutine, if it waits
			done <- o
		}()
		work := []float64{0}
		lapack64.Syev(lapack.EVCompute, raw, vals, work, -1)
		work = make([]float64, int(work[0]))
		o.ok = lapack64.Syev(lapack.EVCompute, raw, vals, work, len(work))
	}()
	select {
	case o := <-done:
		if o.thrown != nil {
			panic(o.thrown)
		}
		if !o.ok {
			return nil, nil, errors.New("eigen-decomposition did not converge")
		}
		return vals, mat.NewDense(n, n, raw.Data), nil
	case <-pool.Done():
		return nil, nil, pool.Err()
	}
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
