package relunet

import (
	"math"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/lapack"
	"gonum.org/v1/gonum/lapack/lapack64"
	"gonum.org/v1/gonum/mat"
)

// cholBlock is the block size of the tiled Cholesky factorisation; a
// multiple of 4, the height of a tile.
const cholBlock = 64

// tiledCholeskyMin is the smallest order for which the tiled factorisation
// is used; below it gonum's is as fast.
const tiledCholeskyMin = 256

// tiledCholesky is the upper Cholesky factor U (A = UᵀU) of an n×n matrix,
// stored row-major in an n4×n4 array, n4 = n rounded up to 4. The padding
// holds the identity, whose factor is itself.
type tiledCholesky struct {
	u     []float64
	n, n4 int
}

// useTiledCholesky reports whether the hidden step factors with
// factorTiled: on machines with the tile kernels, for orders where the
// trailing updates dominate. It is also faster than OpenBLAS's factorisation
// here (2 cores), because its parallel strips need no BLAS threads.
func useTiledCholesky(n int) bool {
	return hasTiles() && n >= tiledCholeskyMin
}

// factorTiled factors a by a right-looking blocked algorithm whose trailing
// updates, n³/6 of the n³/6 + O(n²·cholBlock) multiply-adds, run on the
// tile kernels in parallel strips of four rows. Each entry is updated by one
// goroutine in block order, so the result does not depend on scheduling.
// It reports false when a is not numerically positive definite.
func (as assembler) factorTiled(a *mat.SymDense) (*tiledCholesky, bool) {
	n := a.SymmetricDim()
	n4 := (n + 3) &^ 3
	u := make([]float64, n4*n4)
	raw := a.RawSymmetric()
	for i := 0; i < n; i++ {
		copy(u[i*n4+i:i*n4+n], raw.Data[i*raw.Stride+i:i*raw.Stride+n])
	}
	for i := n; i < n4; i++ {
		u[i*n4+i] = 1
	}
	var p, pn []float64
	for k0 := 0; k0 < n4; k0 += cholBlock {
		k1 := min(k0+cholBlock, n4)
		b := k1 - k0
		diag := blas64.Symmetric{Uplo: blas.Upper, N: b, Stride: n4, Data: u[k0*n4+k0:]}
		if _, ok := lapack64.Potrf(diag); !ok {
			return nil, false
		}
		m := n4 - k1
		if m == 0 {
			break
		}
		// Panel: U[k0:k1, k1:] = U_kk⁻ᵀ A[k0:k1, k1:], in column strips.
		ukk := blas64.Triangular{Uplo: blas.Upper, Diag: blas.NonUnit, N: b, Stride: n4, Data: u[k0*n4+k0:]}
		const strip = 64
		as.parallel((m+strip-1)/strip, func(s int, _ *worker) {
			c0 := k1 + s*strip
			c1 := min(c0+strip, n4)
			panel := blas64.General{Rows: b, Cols: c1 - c0, Stride: n4, Data: u[k0*n4+c0:]}
			blas64.Trsm(blas.Left, blas.Trans, 1, ukk, panel)
		}, 0, 0)
		// Trailing update A[k1:, k1:] -= PᵀP with P = U[k0:k1, k1:], from
		// contiguous copies of P and -P.
		if cap(p) < b*m {
			p, pn = make([]float64, b*m), make([]float64, b*m)
		}
		p, pn = p[:b*m], pn[:b*m]
		for r := 0; r < b; r++ {
			row := u[(k0+r)*n4+k1 : (k0+r)*n4+n4]
			copy(p[r*m:(r+1)*m], row)
			for c, v := range row {
				pn[r*m+c] = -v
			}
		}
		as.parallel(m/4, func(s int, _ *worker) {
			tileStrip(u[k1*n4+k1:], n4, pn, p, m, b, 4*s, m)
		}, 0, 0)
	}
	return &tiledCholesky{u: u, n: n, n4: n4}, true
}

func (c *tiledCholesky) factor() blas64.Triangular {
	return blas64.Triangular{Uplo: blas.Upper, Diag: blas.NonUnit, N: c.n, Stride: c.n4, Data: c.u}
}

// cond estimates the 1-norm condition number of A, whose 1-norm is anorm,
// as LAPACK's Pocon does for gonum's Cholesky.
func (c *tiledCholesky) cond(anorm float64) float64 {
	sym := blas64.Symmetric{Uplo: blas.Upper, N: c.n, Stride: c.n4, Data: c.u}
	rcond := lapack64.Pocon(sym, anorm, make([]float64, 3*c.n), make([]int, c.n))
	if rcond == 0 {
		return math.Inf(1)
	}
	return 1 / rcond
}

// solve returns A⁻¹b.
func (c *tiledCholesky) solve(b *mat.Dense) *mat.Dense {
	var x mat.Dense
	x.CloneFrom(b)
	raw := x.RawMatrix()
	blas64.Trsm(blas.Left, blas.Trans, 1, c.factor(), raw)
	blas64.Trsm(blas.Left, blas.NoTrans, 1, c.factor(), raw)
	return &x
}

// symNorm1 is the 1-norm of a symmetric matrix.
func symNorm1(a *mat.SymDense) float64 {
	n := a.SymmetricDim()
	return lapack64.Lansy(lapack.MaxColumnSum, a.RawSymmetric(), make([]float64, n))
}
