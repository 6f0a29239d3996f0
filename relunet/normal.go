package relunet

import (
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

// assembler computes normal matrices; its zero value uses GOMAXPROCS workers.
type assembler struct {
	workers int
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

	rows := p.activeRows()
	// P_j (diagonal Q) first: the off-diagonal blocks of a leaky network need them.
	tri := D * D
	pj := make([]float64, h*tri)
	var s []float64
	if alpha != 0 {
		s = make([]float64, tri)
		all := make([]int32, n)
		for i := range all {
			all[i] = int32(i)
		}
		gramUpper(s, xr.Data, xr.Stride, D, all)
	}
	as.parallel(h, func(j int, _ *worker) {
		gramUpper(pj[j*tri:(j+1)*tri], xr.Data, xr.Stride, D, rows[j])
	}, D, n)

	raw := dst.RawSymmetric()
	a2, ab, b2 := alpha*alpha, alpha*(1-alpha), (1-alpha)*(1-alpha)
	as.parallel(h, func(j int, w *worker) {
		act := p.act
		for k := j; k < h; k++ {
			q := w.acc
			if k == j {
				q = pj[j*tri : (j+1)*tri]
			} else {
				both := w.rows[:0]
				for _, i := range rows[j] {
					if act[int(i)*h+k] {
						both = append(both, i)
					}
				}
				clear(q)
				gramUpper(q, xr.Data, xr.Stride, D, both)
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

// gramUpper adds Σ_{i∈rows} x_i x_iᵀ to the upper triangle of acc (D×D,
// row-major), where x_i is row i of the row-major data with the given stride.
// It takes four rows at a time so that each pass over acc does four updates.
func gramUpper(acc, data []float64, stride, D int, rows []int32) {
	r := 0
	for ; r+4 <= len(rows); r += 4 {
		x0 := data[int(rows[r])*stride : int(rows[r])*stride+D]
		x1 := data[int(rows[r+1])*stride : int(rows[r+1])*stride+D]
		x2 := data[int(rows[r+2])*stride : int(rows[r+2])*stride+D]
		x3 := data[int(rows[r+3])*stride : int(rows[r+3])*stride+D]
		for a := 0; a < D; a++ {
			v0, v1, v2, v3 := x0[a], x1[a], x2[a], x3[a]
			out := acc[a*D+a : a*D+D]
			y0, y1, y2, y3 := x0[a:D], x1[a:D], x2[a:D], x3[a:D]
			y1, y2, y3 = y1[:len(out)], y2[:len(out)], y3[:len(out)]
			y0 = y0[:len(out)]
			for b := range out {
				out[b] += v0*y0[b] + v1*y1[b] + v2*y2[b] + v3*y3[b]
			}
		}
	}
	for ; r < len(rows); r++ {
		x0 := data[int(rows[r])*stride : int(rows[r])*stride+D]
		for a := 0; a < D; a++ {
			v0 := x0[a]
			out := acc[a*D+a : a*D+D]
			y0 := x0[a:D][:len(out)]
			for b := range out {
				out[b] += v0 * y0[b]
			}
		}
	}
}

// hiddenRHS returns the right-hand side of the hidden step as an h×D matrix:
// row j is Σ_i G_ij ((y_i - β₀)·β_j) x̃_i.
func hiddenRHS(x, y *mat.Dense, p *pattern, net *Net) *mat.Dense {
	n, _ := y.Dims()
	h, D := net.W.Dims()
	r := mat.DenseCopyOf(y)
	raw := r.RawMatrix()
	for i := 0; i < n; i++ {
		for o, b0 := range net.Beta0 {
			raw.Data[i*raw.Stride+o] -= b0
		}
	}
	var s mat.Dense
	s.Mul(r, net.Beta.T())
	p.scale(net.Alpha, &s)
	b := mat.NewDense(h, D, nil)
	b.Mul(s.T(), x)
	return b
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
