package gram

import (
	"math/bits"

	"gonum.org/v1/gonum/mat"

	"github.com/relunet/relunet/relunet/internal/asm/f64"
)

// The two functions below serve the hidden step's conjugate gradients,
// which never form the normal matrix N: NormalMul applies it, and
// BlockDiag forms only its h diagonal blocks, the preconditioner.

// NormalMul sets out (h×D) to N v for the normal matrix N that Normal forms
// from the same arguments, without forming N, with c = ββᵀ (h×h) in place
// of β:
//
//	out_j = Σ_i G_ij (Σ_k c_jk G_ik v_kᵀx̃_i) x̃_i + λ v_j.
//
// A row costs h(2D+h) multiply-adds (x̃_iᵀ times vᵀ, the h×h c, and the
// outer product of t_i with x̃_i), against the (hD)²/2 entries that
// forming N costs per row before the grouping of Normal. Each group of
// tileRows rows is copied once, as [x̃_i | t_i], and its products run on
// the tile kernels in cache. The sums
// are formed in the order of package parallel, so the bits do not depend
// on the number of goroutines.
func (as Assembler) NormalMul(out, v, x *mat.Dense, act []bool, alpha float64, c *mat.Dense, lambda float64) {
	n, D := x.Dims()
	h, _ := v.Dims()
	D4, h4 := (D+3)&^3, (h+3)&^3
	ld := D4 + h4
	xr := x.RawMatrix()
	vt := mat.DenseCopyOf(v.T()).RawMatrix().Data // D×h
	cr := mat.DenseCopyOf(c).RawMatrix().Data     // h×h, symmetric
	g := [2]float64{alpha, 1}
	acc := make([]float64, h4*D4) // N v without λ, h4×D4
	as.Pool.SumRows(n, acc, func(_, lo, hi int, acc []float64) {
		buf := make([]float64, tileRows*ld) // padding stays zero
		u := make([]float64, tileRows*h)
		for s0 := lo; s0 < hi; s0 += tileRows {
			k := min(s0+tileRows, hi) - s0
			for r := range k {
				i := s0 + r
				copy(buf[r*ld:r*ld+D], xr.Data[i*xr.Stride:i*xr.Stride+D])
			}
			// u = G ⊙ (X̃ vᵀ), then t = G ⊙ (u c) beside x̃ in buf.
			f64.RowsTimes(u, h, buf, ld, vt, k, D, h)
			for r := range k {
				scaleActive(u[r*h:(r+1)*h], act[(s0+r)*h:], g)
			}
			f64.RowsTimes(buf[D4:], ld, u, h, cr, k, h, h)
			for r := range k {
				scaleActive(buf[r*ld+D4:r*ld+D4+h], act[(s0+r)*h:], g)
			}
			// acc += tᵀ x̃: panels of 32 columns of x̃, then groups of 4 or 8.
			for j := 0; j < h4; j += 4 {
				a := buf[D4+j:]
				q := 0
				for ; q+gramCols <= D4; q += gramCols {
					f64.TileWide(acc[j*D4+q:], D4, a, ld, buf[q:], ld, k, 8, false)
				}
				for ; q < D4; q += 8 {
					f64.TileAdd(acc[j*D4+q:], D4, a, buf[q:], ld, k, min(8, D4-q))
				}
			}
		}
	})
	vr := v.RawMatrix()
	for j := range h {
		o, s := out.RawRowView(j), acc[j*D4:j*D4+D]
		for a, w := range vr.Data[j*vr.Stride : j*vr.Stride+D] {
			o[a] = s[a] + lambda*w
		}
	}
}

// diagBits returns the number b of neurons per group for BlockDiag: as many
// as 8, while the 2^b classes of a group keep 16 rows each on average. A
// row costs one outer product per group, so the larger b the better, while
// a class costs its b/2 additions of a D×D sum on average.
func diagBits(n, h int) int {
	b := 1
	for b < 8 && b < h && n>>(b+1) >= 16 {
		b++
	}
	return b
}

// BlockDiag returns the h diagonal blocks of the normal matrix that Normal
// forms, without λ: block j, D×D at [j*D*D:], is
//
//	c_jj Σ_i G_ij² x̃_i x̃_iᵀ = c_jj (α²S + (1-α²)Q_jj),   c = ββᵀ,
//
// in its upper triangle (below it, zeros or partial sums). Q_jj, the Gram
// sum over the rows where neuron j is active, is formed as Normal forms the
// pairs within a group: the rows are sorted by the activity code of a
// group of b neurons, and each class's Gram sum is formed once and added to
// the blocks of its active neurons, so that a row costs one outer product
// per group rather than one per active neuron.
func (as Assembler) BlockDiag(x *mat.Dense, act []bool, alpha float64, beta *mat.Dense) []float64 {
	n, D := x.Dims()
	h, _ := beta.Dims()
	p := &pattern{n: n, h: h, act: act}
	xr := x.RawMatrix()
	g := as.gramKernel(xr.Data, xr.Stride, n, D)
	dst := make([]float64, h*D*D)
	b := diagBits(n, h)
	codes, groups := as.groupCodes(p, b)
	as.each(groups, D, n, func(J int, w *worker) {
		w.codeGrams(g, codes, groups, J, b, func(c int, q []float64, ldq int) {
			for m := c; m != 0; m &= m - 1 {
				j := J*b + bits.TrailingZeros(uint(m))
				f64.AddUpper(dst[j*D*D:], D, q, ldq, D)
			}
		})
	})
	var s []float64
	if alpha != 0 {
		s = make([]float64, D*D)
		as.sumAll(g, n, s)
	}
	a2 := alpha * alpha
	as.Pool.For(h, func(j, _ int) {
		cjj := 0.0
		for _, v := range beta.RawRowView(j) {
			cjj += v * v
		}
		blk := dst[j*D*D : (j+1)*D*D]
		for a := 0; a < D; a++ {
			for bb := a; bb < D; bb++ {
				v := (1 - a2) * blk[a*D+bb]
				if alpha != 0 {
					v += a2 * s[a*D+bb]
				}
				blk[a*D+bb] = cjj * v
			}
		}
	})
	return dst
}
