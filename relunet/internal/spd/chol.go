package spd

import (
	"math"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
	lapackgonum "gonum.org/v1/gonum/lapack/gonum"
	"gonum.org/v1/gonum/lapack/lapack64"
	"gonum.org/v1/gonum/mat"

	"github.com/relunet/relunet/relunet/internal/asm/f64"
	"github.com/relunet/relunet/relunet/internal/parallel"
)

// cholBlock returns the block size of the tiled Cholesky factorisation of
// order n, a multiple of 4, the height of a tile. Each trailing update reads
// and writes the trailing matrix once, from memory for large orders, so
// larger blocks need less memory traffic per multiply-add; but each
// diagonal block is factored and inverted on one core. Measured: 128 factors
// the order 5824 about 5 % faster than 64, while at order 256 it makes a
// whole alternation on abalone 10 % slower.
func cholBlock(n int) int {
	if n >= 4096 {
		return 128
	}
	return 64
}

// cholCols is the width of the column blocks of the trailing updates: a
// multiple of 32, the width of the widest tile, whose part of the panel
// (256 KiB at most) stays in the second-level cache.
const cholCols = 256

// ownCholeskyMin is the smallest order that Solve factors with factor
// rather than gonum's Cholesky. Above it, even where one block covers the
// matrix, the tiled factorisation is 2 to 3 times as fast as gonum's
// Cholesky, which always estimates the condition (measured for orders 64
// to 248).
const ownCholeskyMin = 32

// cholesky is the upper Cholesky factor U (A = UᵀU) of an n×n matrix,
// stored row-major with row stride ld. The tiled factorisation keeps n4
// rows, n4 = n rounded up to 4, whose padding holds the identity, whose
// factor is itself.
type cholesky struct {
	u     []float64
	n, ld int
	// solves runs the solves of large systems on the factorisation's
	// goroutines. It has no context: a solve takes tens of milliseconds
	// even at order 5824, and one stopped part way would return a wrong
	// result.
	solves parallel.Pool
}

// useOwnCholesky reports whether Solve factors with factor: for all but the
// smallest orders.
func useOwnCholesky(n int) bool { return n >= ownCholeskyMin }

// factor factors a, checking the pool's context between blocks, so that
// a large factorisation stops soon after the context ends (gonum's
// Cholesky of order 2460 takes a second on one core and cannot be
// stopped). Where the machine has the tile kernels it runs factorBlocks,
// which is also faster than OpenBLAS's factorisation here (2 cores)
// because its parallel strips need no BLAS threads; elsewhere
// factorLAPACK. It reports false when a is not numerically positive
// definite or the context ended. With inPlace, and a's storage padded
// (NewPadded), the factor overwrites a; otherwise it is formed in new
// storage and a is left as it was.
func factor(pool parallel.Pool, a *mat.SymDense, inPlace bool) (*cholesky, bool) {
	if f64.HasTiles() {
		return factorBlocks(pool, a, inPlace, cholBlock(a.SymmetricDim()))
	}
	return factorLAPACK(pool, a, inPlace && padded(a))
}

// lapackBlock and lapackStrip are factorLAPACK's block size, LAPACK's own
// for Potrf, and the width of the column strips of its panel updates, a
// multiple of it: a strip of an order 20,000 matrix is about 0.1 s on one
// core.
const (
	lapackBlock = 64
	lapackStrip = 256
)

// factorLAPACK factors a as LAPACK's blocked Potrf does, by rows of blocks
// U_jj = chol(A_jj - U_0jᵀU_0j), U_jk = U_jj⁻ᵀ(A_jk - U_0jᵀU_0k), on the
// BLAS that gonum routes to (its own, or OpenBLAS with the openblas tag),
// but with the context checked between blocks and the panel U_jk formed
// in column strips on the pool's goroutines, each strip written by one
// goroutine, so that the result does not depend on scheduling. It is the
// factorisation of machines without the tile kernels. With inPlace the
// factor overwrites a's upper triangle.
func factorLAPACK(pool parallel.Pool, a *mat.SymDense, inPlace bool) (*cholesky, bool) {
	n := a.SymmetricDim()
	raw := a.RawSymmetric()
	u, ld := raw.Data, raw.Stride
	if !inPlace {
		u, ld = make([]float64, n*n), n
		for i := range n {
			copy(u[i*ld+i:i*ld+n], raw.Data[i*raw.Stride+i:i*raw.Stride+n])
		}
	}
	block := func(r, c, rows, cols int) blas64.General {
		return blas64.General{Rows: rows, Cols: cols, Stride: ld, Data: u[r*ld+c:]}
	}
	for j := 0; j < n; j += lapackBlock {
		if pool.Err() != nil {
			return nil, false // the caller finds why in pool.Err
		}
		b := min(lapackBlock, n-j)
		diag := blas64.Symmetric{Uplo: blas.Upper, N: b, Stride: ld, Data: u[j*ld+j:]}
		if j > 0 {
			blas64.Syrk(blas.Trans, -1, block(0, j, j, b), 1, diag)
		}
		if _, ok := lapack64.Potrf(diag); !ok {
			return nil, false
		}
		m := n - j - b
		ujj := blas64.Triangular{Uplo: blas.Upper, Diag: blas.NonUnit, N: b, Stride: ld, Data: u[j*ld+j:]}
		pool.For((m+lapackStrip-1)/lapackStrip, func(s, _ int) {
			c0 := j + b + s*lapackStrip
			panel := block(j, c0, b, min(lapackStrip, n-c0))
			if j > 0 {
				blas64.Gemm(blas.Trans, blas.NoTrans, -1, block(0, j, j, b), block(0, c0, j, panel.Cols), 1, panel)
			}
			blas64.Trsm(blas.Left, blas.Trans, 1, ujj, panel)
		})
	}
	if pool.Err() != nil {
		return nil, false
	}
	return &cholesky{u: u, n: n, ld: ld, solves: parallel.Pool{Workers: pool.Workers}}, true
}

// NewPadded returns a zero n×n symmetric matrix whose storage has room for
// its Cholesky factor: rows of a multiple of 4 entries, in a multiple of 4
// rows. Solve factors such a matrix in place.
func NewPadded(n int) *mat.SymDense {
	n4 := (n + 3) &^ 3
	var s mat.SymDense
	s.SetRawSymmetric(blas64.Symmetric{Uplo: blas.Upper, N: n, Stride: n4, Data: make([]float64, n4*n4)})
	return &s
}

// padded reports whether a's storage has the room of NewPadded.
func padded(a *mat.SymDense) bool {
	raw := a.RawSymmetric()
	n4 := (raw.N + 3) &^ 3
	return raw.Stride >= n4 && len(raw.Data) >= (n4-1)*raw.Stride+n4
}

// factorBlocks factors a by a right-looking blocked algorithm, blocks of
// nb, a multiple of 4, whose trailing updates, n³/6 of the n³/6 +
// O(n²·nb) multiply-adds, run on the tile kernels in parallel strips of
// four rows. Each entry is updated by one goroutine in block order, so the
// result does not depend on scheduling.
func factorBlocks(pool parallel.Pool, a *mat.SymDense, inPlace bool, nb int) (*cholesky, bool) {
	n := a.SymmetricDim()
	n4 := (n + 3) &^ 3
	raw := a.RawSymmetric()
	u, ld := raw.Data, raw.Stride
	inPlace = inPlace && padded(a)
	if !inPlace {
		u, ld = make([]float64, n4*n4), n4
	}
	// Only the upper triangle is read; below it, only the entries that
	// diagonal tiles update are cleared, so that nothing accumulates there.
	// The padding holds the identity, whose factor is itself.
	pool.For((n4+nb-1)/nb, func(blk, _ int) {
		for i := blk * nb; i < min(blk*nb+nb, n4); i++ {
			row := u[i*ld : i*ld+n4]
			clear(row[i&^3 : i])
			switch {
			case i >= n:
				clear(row[i:])
				row[i] = 1
			case inPlace:
				clear(row[n:])
			default:
				copy(row[i:], raw.Data[i*raw.Stride+i:i*raw.Stride+n])
			}
		}
	})
	var x, pa, pb []float64
	for k0 := 0; k0 < n4; k0 += nb {
		if pool.Err() != nil {
			return nil, false // the caller finds why in pool.Err
		}
		k1 := min(k0+nb, n4)
		b := k1 - k0
		diag := blas64.Symmetric{Uplo: blas.Upper, N: b, Stride: ld, Data: u[k0*ld+k0:]}
		if _, ok := lapack64.Potrf(diag); !ok {
			return nil, false
		}
		m := n4 - k1
		if m == 0 {
			break
		}
		// Panel: P = U[k0:k1, k1:] = VᵀA[k0:k1, k1:] with V = U_kk⁻¹, on
		// the tile kernels from rows [V | A] (the kernels read both
		// operands with one stride), in parallel column strips that also
		// pack P for the trailing update: pa holds it in groups of 4
		// columns, pb in groups of 8, each group's b rows contiguous, so
		// that the kernels stream them from the cache.
		xl := b + m
		x = parallel.Grow(x, b*xl)
		for r := 0; r < b; r++ {
			row := x[r*xl : r*xl+b]
			clear(row[:r])
			copy(row[r:], u[(k0+r)*ld+k0+r:(k0+r)*ld+k1])
		}
		invUpper(x, xl, b)
		pa, pb = parallel.Grow(pa, b*m), parallel.Grow(pb, b*((m+7)&^7))
		const strip = 64
		pool.For((m+strip-1)/strip, func(s, _ int) {
			c0 := s * strip
			c1 := min(c0+strip, m)
			for r := 0; r < b; r++ {
				out := u[(k0+r)*ld+k1+c0 : (k0+r)*ld+k1+c1]
				copy(x[r*xl+b+c0:], out)
				clear(out)
			}
			// V is upper triangular: rows 0..i+3 of it reach P's rows i..i+3.
			for i := 0; i < b; i += 4 {
				for q := c0; q < c1; q += 8 {
					f64.TileAdd(u[(k0+i)*ld+k1+q:], ld, x[i:], x[b+q:], xl, i+4, min(8, c1-q))
				}
			}
			for r := 0; r < b; r++ {
				row := u[(k0+r)*ld+k1 : (k0+r)*ld+n4]
				for c := c0; c < c1; c += 4 {
					copy(pa[c>>2*b*4+r*4:], row[c:c+4])
				}
				for c := c0; c < c1; c += 8 {
					copy(pb[c>>3*b*8+r*8:], row[c:min(c+8, c1)])
				}
			}
		})
		// Trailing update A[k1:, k1:] -= PᵀP, in blocks of cholCols
		// columns, whose part of pb stays in the second-level cache while
		// all rows above the block's end are updated; the blocks that
		// reach furthest, the largest jobs, go first.
		blocks := (m + cholCols - 1) / cholCols
		pool.For(blocks, func(s, _ int) {
			j0 := (blocks - 1 - s) * cholCols
			j1 := min(j0+cholCols, m)
			c := u[k1*ld+k1:]
			for i := 0; i < j1; i += 4 {
				a := pa[i>>2*b*4:]
				j := max(j0, i)
				if j&7 != 0 {
					// The row starts in the second half of a group of 8.
					f64.TileSub(c[i*ld+j:], ld, a, 4, pb[j>>3*b*8+4:], 8, b, 4)
					j += 4
				}
				for ; j+32 <= j1; j += 32 {
					f64.TileWide(c[i*ld+j:], ld, a, 4, pb[j>>3*b*8:], 8, b, b*8, true)
				}
				for ; j < j1; j += 8 {
					f64.TileSub(c[i*ld+j:], ld, a, 4, pb[j>>3*b*8:], 8, b, min(8, j1-j))
				}
			}
		})
	}
	return &cholesky{u: u, n: n, ld: ld, solves: parallel.Pool{Workers: pool.Workers}}, true
}

// invUpper overwrites the upper triangle of the b×b matrix u (row stride ld),
// nonsingular, with that of its inverse V. Rows are formed from the last
// up: row i of V is (e_i - Σ_{k>i} u_ik V_k)/u_ii, each V_k a row already
// formed, so the inner loops run along rows.
func invUpper(u []float64, ld, b int) {
	acc := make([]float64, b)
	for i := b - 1; i >= 0; i-- {
		row := u[i*ld : i*ld+b]
		clear(acc[i:])
		for k := i + 1; k < b; k++ {
			f := row[k]
			for j, v := range u[k*ld+k : k*ld+b] {
				acc[k+j] += f * v
			}
		}
		d := 1 / row[i]
		row[i] = d
		for j := i + 1; j < b; j++ {
			row[j] = -d * acc[j]
		}
	}
}

// cond estimates the 1-norm condition number of A, whose 1-norm is anorm.
// It returns +Inf when a solve overflows.
func (c *cholesky) cond(anorm float64) float64 {
	return condition(c.invNorm1(), anorm)
}

// condition returns est·anorm for the estimate est of ‖A⁻¹‖₁, or +Inf when
// either is zero.
func condition(est, anorm float64) float64 {
	if est == 0 || anorm == 0 {
		return math.Inf(1)
	}
	return est * anorm
}

// invNorm1 estimates ‖A⁻¹‖₁ by Hager and Higham's estimator as LAPACK's
// Pocon does, but with triangular solves that run along the rows of U:
// Pocon's go down its columns, which for large n costs more than the
// factorisation's share of a core. It returns +Inf when a solve overflows.
func (c *cholesky) invNorm1() float64 {
	return c.estimate(c.solveVec)
}

// estimate is invNorm1 with the solves of solve.
func (c *cholesky) estimate(solve func(b []float64)) float64 {
	n := c.n
	v, x, isgn := make([]float64, n), make([]float64, n), make([]int, n)
	var (
		est   float64
		kase  int
		isave [3]int
	)
	for {
		est, kase = lapackgonum.Implementation{}.Dlacn2(n, v, x, isgn, est, kase, &isave)
		if kase == 0 {
			return est
		}
		solve(x) // A is symmetric: A⁻ᵀx = A⁻¹x
		if !finite(x) {
			return math.Inf(1)
		}
	}
}

// solveVec overwrites b with A⁻¹b = U⁻¹U⁻ᵀb. From order parallelSolveMin
// on, it runs in blocks of sweepRows rows on the factorisation's
// goroutines: the two sweeps, a pass over the factor in memory each, then
// draw on all cores' bandwidth. At order 5824, on two cores, a solve took
// 25 to 32 ms instead of 36 to 38 ms row by row, and the condition
// estimate, five solves, 129 to 146 ms instead of 185 ms, beside 0.55 s
// for the factorisation.
func (c *cholesky) solveVec(b []float64) {
	if c.n >= parallelSolveMin {
		c.solveBlocks(b)
	} else {
		c.solveRows(b)
	}
}

// solveRows is solveVec row by row, on one core.
func (c *cholesky) solveRows(b []float64) {
	n, ld := c.n, c.ld
	// Uᵀy = b: y_k is final once rows above k have been subtracted.
	for k := 0; k < n; k++ {
		b[k] /= c.u[k*ld+k]
		if k+1 < n {
			f64.Axpy(-b[k], c.u[k*ld+k+1:k*ld+n], b[k+1:n])
		}
	}
	// Ux = y, from the last row up.
	for k := n - 1; k >= 0; k-- {
		if k+1 < n {
			b[k] -= f64.Dot(c.u[k*ld+k+1:k*ld+n], b[k+1:n])
		}
		b[k] /= c.u[k*ld+k]
	}
}

const (
	// parallelSolveMin is the smallest order that solveVec solves in
	// parallel blocks.
	parallelSolveMin = 2048
	// sweepRows is the height of solveBlocks' blocks of rows, and
	// sweepCols the width of its column strips: a strip of a block is
	// 256 KiB of the factor.
	sweepRows = 64
	sweepCols = 512
)

// solveBlocks is solveVec by blocks of sweepRows rows. In the sweep for
// Uᵀy = b, a block's y is solved within the block, and its rows are then
// subtracted from the rest of b in column strips, one job each. In the
// sweep for Ux = y, each row of a block first takes its dot product with
// the x below the block, in jobs of 16 rows, and the block is then solved
// within itself. The jobs are fixed by n alone, and every entry is
// computed by one job, so the result does not depend on the pool.
func (c *cholesky) solveBlocks(b []float64) {
	n, ld, u := c.n, c.ld, c.u
	for k0 := 0; k0 < n; k0 += sweepRows {
		k1 := min(k0+sweepRows, n)
		for k := k0; k < k1; k++ {
			b[k] /= u[k*ld+k]
			if k+1 < k1 {
				f64.Axpy(-b[k], u[k*ld+k+1:k*ld+k1], b[k+1:k1])
			}
		}
		c.solves.For((n-k1+sweepCols-1)/sweepCols, func(s, _ int) {
			c0 := k1 + s*sweepCols
			c1 := min(c0+sweepCols, n)
			for k := k0; k < k1; k++ {
				f64.Axpy(-b[k], u[k*ld+c0:k*ld+c1], b[c0:c1])
			}
		})
	}
	last := (n - 1) / sweepRows * sweepRows
	for k0 := last; k0 >= 0; k0 -= sweepRows {
		k1 := min(k0+sweepRows, n)
		if k1 < n {
			c.solves.For((k1-k0+15)/16, func(s, _ int) {
				for k := k0 + 16*s; k < min(k0+16*s+16, k1); k++ {
					b[k] -= f64.Dot(u[k*ld+k1:k*ld+n], b[k1:n])
				}
			})
		}
		for k := k1 - 1; k >= k0; k-- {
			if k+1 < k1 {
				b[k] -= f64.Dot(u[k*ld+k+1:k*ld+k1], b[k+1:k1])
			}
			b[k] /= u[k*ld+k]
		}
	}
}

func finite(x []float64) bool {
	for _, v := range x {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return false
		}
	}
	return true
}

// solve returns A⁻¹b.
func (c *cholesky) solve(b *mat.Dense) *mat.Dense {
	r, m := b.Dims()
	x := mat.NewDense(r, m, nil)
	col := make([]float64, r)
	for o := range m {
		mat.Col(col, o, b)
		c.solveVec(col)
		x.SetCol(o, col)
	}
	return x
}

// symNorm1 is the 1-norm of a symmetric matrix, its largest column sum of
// absolute values, from the upper triangle along its rows; NaN if it has a
// NaN.
func symNorm1(a *mat.SymDense) float64 {
	raw := a.RawSymmetric()
	n := raw.N
	sums := make([]float64, n)
	for i := 0; i < n; i++ {
		row := raw.Data[i*raw.Stride+i : i*raw.Stride+n]
		below := sums[i+1 : n] // column i below the diagonal is row i to its right
		s := math.Abs(row[0])
		for j, v := range row[1:] {
			v = math.Abs(v)
			s += v
			below[j] += v
		}
		sums[i] += s
	}
	norm := 0.0
	for _, s := range sums {
		if math.IsNaN(s) {
			return s
		}
		norm = max(norm, s)
	}
	return norm
}
