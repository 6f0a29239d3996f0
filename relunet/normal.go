package relunet

import (
	"math/bits"
	"runtime"
	"sync"
	"sync/atomic"

	"gonum.org/v1/gonum/mat"
)

// The hidden step's normal matrix N has the D×D block
//
//	N_jk = c_jk Σ_i G_ij G_ik x̃_i x̃_iᵀ,   c = ββᵀ,
//
// plus λI. Write G_ij = α + (1-α)a_ij with a_ij ∈ {0, 1} the activity of
// neuron j on row i. Then
//
//	Σ_i G_ij G_ik x̃_i x̃_iᵀ = α²S + α(1-α)(P_j + P_k) + (1-α)²Q_jk
//
// with S = Σ_i x̃_i x̃_iᵀ over all rows, P_j = Q_jj over the rows where j is
// active and Q_jk over the rows where both are. Only Q needs work per pair,
// and only over the rows both neurons share: for the ReLU roughly a quarter
// of them. Every term is symmetric, so only upper triangles are summed, and
// only blocks with j ≤ k are formed.

// assembler computes normal matrices; its zero value uses GOMAXPROCS workers
// and the tile kernels where the machine has them.
type assembler struct {
	workers  int
	portable bool // use the portable Go kernels even where tile kernels run
}

func (as assembler) nworkers(jobs int) int {
	w := as.workers
	if w <= 0 {
		w = runtime.GOMAXPROCS(0)
	}
	return max(1, min(w, jobs))
}

// assemble sets dst (hD×hD) to the normal matrix for inputs x (n×D with the
// ones column), pattern p, output weights beta (h×m) and ridge lambda.
// The result does not depend on the number of workers: every block is summed
// by one goroutine in row order.
func (as assembler) assemble(dst *mat.SymDense, x *mat.Dense, p *pattern, alpha float64, beta *mat.Dense, lambda float64) {
	n, D := x.Dims()
	h := p.h
	xr := x.RawMatrix()
	var c mat.Dense
	c.Mul(beta, beta.T())

	gram := as.gramKernel(xr.Data, xr.Stride, n, D)
	gram.sets = p.bitsets()
	if gram.packed != nil && gram.tiles {
		as.pairSums(gram, p)
	}
	// P_j (diagonal Q) first: the off-diagonal blocks of a leaky network need them.
	tri := D * D
	pj := make([]float64, h*tri)
	var s []float64
	if alpha != 0 {
		s = make([]float64, tri)
		as.gramAll(gram, n, s)
	}
	as.parallel(h, func(j int, w *worker) {
		gram.pair(pj[j*tri:(j+1)*tri], j, j, w)
	}, D, n)

	raw := dst.RawSymmetric()
	a2, ab, b2 := alpha*alpha, alpha*(1-alpha), (1-alpha)*(1-alpha)
	as.parallel(h, func(j int, w *worker) {
		for k := j; k < h; k++ {
			q := w.acc
			if k == j {
				q = pj[j*tri : (j+1)*tri]
			} else {
				clear(q)
				gram.pair(q, j, k, w)
			}
			cjk := c.At(j, k)
			for a := 0; a < D; a++ {
				out := raw.Data[(j*D+a)*raw.Stride+k*D : (j*D+a)*raw.Stride+k*D+D]
				for b := a; b < D; b++ {
					v := b2 * q[a*D+b]
					if alpha != 0 {
						v += a2*s[a*D+b] + ab*(pj[j*tri+a*D+b]+pj[k*tri+a*D+b])
					}
					v *= cjk
					out[b] = v
					if k != j || b == a {
						// Mirror the symmetric block into the part of the upper triangle below its diagonal.
						raw.Data[(j*D+b)*raw.Stride+k*D+a] = v
					}
				}
			}
		}
	}, D, n)
	for i := 0; i < h*D; i++ {
		raw.Data[i*raw.Stride+i] += lambda
	}
}

// worker holds one goroutine's scratch space.
type worker struct {
	acc  []float64
	rows []int32
	tri  []float64 // packed upper triangle, for gramPacked
	sq   []float64 // D4×D4 tile sums, for the tiled kernel
	buf  []float64 // gathered rows, tileRows×D4, for the tiled kernel
}

// packedMaxD is the largest D for which rows' outer products are
// precomputed: for small D the per-row loop overhead of gramUpper dominates,
// while the n·D(D+1)/2 packed products stay small.
const packedMaxD = 8

// gramKernel adds sums of outer products x_i x_iᵀ of the rows of a
// row-major matrix to the upper triangle of D×D accumulators.
type gramKernel struct {
	data      []float64
	stride, D int
	packed    []float64 // upper triangles of x_i x_iᵀ, n×D(D+1)/2, when D ≤ packedMaxD
	tiles     bool      // use the AVX2 tile kernels
	sets      [][]uint64

	// With packed products and tile kernels, all pair sums at once:
	// pairs[t*h4*h4 + j*h4 + k] is product t of Q_jk, for j ≤ k.
	pairs []float64
	h4    int
}

// gramKernel returns the kernel for the n×D row-major data.
func (as assembler) gramKernel(data []float64, stride, n, D int) *gramKernel {
	g := &gramKernel{data: data, stride: stride, D: D}
	g.tiles = !as.portable && hasTiles()
	if D > packedMaxD {
		return g
	}
	T := D * (D + 1) / 2
	g.packed = make([]float64, n*T)
	for i := 0; i < n; i++ {
		x, o := data[i*stride:i*stride+D], g.packed[i*T:(i+1)*T]
		k := 0
		for a := 0; a < D; a++ {
			for b := a; b < D; b++ {
				o[k] = x[a] * x[b]
				k++
			}
		}
	}
	return g
}

// rows adds Σ_{i∈rows} x_i x_iᵀ to acc.
func (g *gramKernel) rows(acc []float64, rows []int32, w *worker) {
	if g.packed == nil {
		g.upper(acc, rows, w)
		return
	}
	sum := g.sum(w)
	T := len(sum)
	for _, i := range rows {
		for k, v := range g.packed[int(i)*T : int(i)*T+T] {
			sum[k] += v
		}
	}
	g.unpack(acc, sum)
}

// pair adds Q_jk = Σ x_i x_iᵀ over the rows where neurons j and k are both
// active to acc.
func (g *gramKernel) pair(acc []float64, j, k int, w *worker) {
	a, b := g.sets[j], g.sets[k]
	switch {
	case g.pairs != nil:
		h4 := g.h4
		sum := g.sum(w)
		for t := range sum {
			sum[t] = g.pairs[t*h4*h4+j*h4+k]
		}
		g.unpack(acc, sum)
	case g.packed == nil:
		g.upper(acc, w.both(a, b), w)
	default:
		// Small D: add the packed products straight from the bit scan.
		sum := g.sum(w)
		T := len(sum)
		for k, x := range a {
			m := x & b[k]
			for m != 0 {
				i := k*64 + bits.TrailingZeros64(m)
				for t, v := range g.packed[i*T : i*T+T] {
					sum[t] += v
				}
				m &= m - 1
			}
		}
		g.unpack(acc, sum)
	}
}

// upper adds Σ_{i∈rows} x_i x_iᵀ to the upper triangle of acc.
func (g *gramKernel) upper(acc []float64, rows []int32, w *worker) {
	if !g.tiles {
		gramUpper(acc, g.data, g.stride, g.D, rows)
		return
	}
	gramTiled(acc, g.data, g.stride, g.D, rows, w)
}

// pairSums computes g.pairs for pattern p. For small D a dense product over
// all neuron pairs on the tile kernels beats scanning the shared rows of
// each pair: per row and packed product t it sums a_ij·p_it times a_ik over
// the upper triangle of j, k, from rows laid out as
// [a_i | a_i·p_i0 | a_i·p_i1 | …], each part padded to h4 columns.
func (as assembler) pairSums(g *gramKernel, p *pattern) {
	h, T := p.h, g.D*(g.D+1)/2
	h4 := (h + 3) &^ 3
	ld := (T + 1) * h4
	g.pairs, g.h4 = make([]float64, T*h4*h4), h4
	as.reduceRows(p.n, g.pairs, func(lo, hi int, acc []float64) {
		buf := make([]float64, tileRows*ld)
		for s := lo; s < hi; s += tileRows {
			e := min(s+tileRows, hi)
			for r := range e - s {
				row, i := buf[r*ld:(r+1)*ld], s+r
				// Without branches: activity is unpredictable.
				ones := row[:h]
				for j, on := range p.act[i*h : (i+1)*h] {
					ones[j] = float64(b2i(on))
				}
				for t, v := range g.packed[i*T : (i+1)*T] {
					part := row[(t+1)*h4 : (t+1)*h4+h]
					for j, a := range ones {
						part[j] = v * a
					}
				}
			}
			for t := range T {
				tileUpper(acc[t*h4*h4:], h4, buf[(t+1)*h4:], buf, ld, e-s, h4)
			}
		}
	})
}

// sum returns the worker's zeroed packed accumulator.
func (g *gramKernel) sum(w *worker) []float64 {
	T := g.D * (g.D + 1) / 2
	if len(w.tri) != T {
		w.tri = make([]float64, T)
	}
	clear(w.tri)
	return w.tri
}

func (g *gramKernel) unpack(acc, sum []float64) {
	k := 0
	for a := 0; a < g.D; a++ {
		for b := a; b < g.D; b++ {
			acc[a*g.D+b] += sum[k]
			k++
		}
	}
}

// gramAll sets the upper triangle of dst (D×D) to Σ_i x_i x_iᵀ over all n rows.
func (as assembler) gramAll(g *gramKernel, n int, dst []float64) {
	as.reduceRows(n, dst, func(lo, hi int, acc []float64) {
		g.rows(acc, rowRange(make([]int32, 0, hi-lo), lo, hi), &worker{})
	})
}

// both returns the increasing list of rows set in both bit sets, in the
// worker's buffer. Word-wise AND and bit scanning keep this cheap and free of
// unpredictable branches, which matters when D is small.
func (w *worker) both(a, b []uint64) []int32 {
	rows := w.rows[:0]
	for k, x := range a {
		m := x & b[k]
		for m != 0 {
			rows = append(rows, int32(k*64+bits.TrailingZeros64(m)))
			m &= m - 1
		}
	}
	w.rows = rows
	return rows
}

// parallel calls f(j, w) for j in [0, jobs) on as's workers, handing out the
// jobs in increasing order.
func (as assembler) parallel(jobs int, f func(j int, w *worker), D, n int) {
	nw := as.nworkers(jobs)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range nw {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := &worker{acc: make([]float64, D*D), rows: make([]int32, 0, n)}
			for {
				j := int(next.Add(1)) - 1
				if j >= jobs {
					return
				}
				f(j, w)
			}
		}()
	}
	wg.Wait()
}

// hiddenRHS returns the right-hand side of the hidden step as an h×D matrix:
// row j is Σ_i G_ij ((y_i - β₀)·β_j) x̃_i. It runs over row chunks without an
// n×h temporary, summing the transpose so that inner loops run along h.
func (as assembler) hiddenRHS(x, y *mat.Dense, p *pattern, net *Net) *mat.Dense {
	n, D := x.Dims()
	h, _, m := net.Dims()
	xr, yr := x.RawMatrix(), y.RawMatrix()
	betaT := mat.DenseCopyOf(net.Beta.T()).RawMatrix().Data // m×h
	g := [2]float64{net.Alpha, 1}
	bt := make([]float64, D*h)
	as.reduceRows(n, bt, func(lo, hi int, acc []float64) {
		s := make([]float64, h)
		for i := lo; i < hi; i++ {
			clear(s)
			for o := range m {
				r := yr.Data[i*yr.Stride+o] - net.Beta0[o]
				for j, b := range betaT[o*h : (o+1)*h] {
					s[j] += r * b
				}
			}
			for j, on := range p.act[i*h : (i+1)*h] {
				s[j] *= g[b2i(on)]
			}
			for a, v := range xr.Data[i*xr.Stride : i*xr.Stride+D] {
				out := acc[a*h : (a+1)*h]
				for j, sj := range s {
					out[j] += v * sj
				}
			}
		}
	})
	return mat.DenseCopyOf(mat.NewDense(D, h, bt).T())
}

// normalMul sets out (h×D) to N v without forming N: v ↦ X̃ᵀ(G ⊙ ((G ⊙ X̃vᵀ)ββᵀ)) + λv.
// Each product costs O(n·h·(D+m)).
func normalMul(out, v, x *mat.Dense, p *pattern, alpha float64, beta *mat.Dense, lambda float64, u, t *mat.Dense) {
	u.Mul(x, v.T())
	p.scale(alpha, u)
	var f mat.Dense
	f.Mul(u, beta)
	t.Mul(&f, beta.T())
	p.scale(alpha, t)
	out.Mul(t.T(), x)
	out.Add(out, scaled(lambda, v))
}

func scaled(f float64, a mat.Matrix) *mat.Dense {
	var out mat.Dense
	out.Scale(f, a)
	return &out
}

// b2i is 1 for true and 0 for false; the compiler makes it a flag move.
func b2i(b bool) int {
	var i int
	if b {
		i = 1
	}
	return i
}
