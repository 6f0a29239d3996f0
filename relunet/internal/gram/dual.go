package gram

import "github.com/relunet/relunet/relunet/internal/asm/f64"

// DualLd returns the row stride that HadamardGrams needs for k columns: k
// rounded up to 32, the width of its tiles.
func DualLd(k int) int { return (k + 31) &^ 31 }

// HadamardGrams sets the upper triangle of dst (k×k, row stride ldd) to
// the Hadamard product of the Gram matrices of the columns of a (ka rows)
// and of b (kb rows), both row-major with the row stride ld ≥ DualLd(k),
// whose entries past column k are read but do not matter:
//
//	for r := 0; r < k; r++ {
//		for c := r; c < k; c++ {
//			var sa, sb float64
//			for t := 0; t < ka; t++ {
//				sa += a[t*ld+r] * a[t*ld+c]
//			}
//			for t := 0; t < kb; t++ {
//				sb += b[t*ld+r] * b[t*ld+c]
//			}
//			dst[r*ldd+c] = sa * sb
//		}
//	}
//
// It is the dual form's matrix of the hidden step, (X̃X̃ᵀ) ⊙ (GBGBᵀ), with
// the inputs and the scaled pattern stored by columns: each 4×32 tile of
// both products is summed by the tile kernels while it is in cache, and the
// tiles' rows are shared among the pool's goroutines. Each sum is formed
// in the same order whatever the goroutines, so the bits do not depend on
// their number.
func (as Assembler) HadamardGrams(dst []float64, ldd int, a []float64, ka int, b []float64, kb, ld, k int) {
	tiles := !as.Portable && f64.HasTiles()
	as.Pool.For((k+3)/4, func(job, _ int) {
		r0 := 4 * job
		var ta, tb [4 * 32]float64
		for c0 := r0 &^ 31; c0 < k; c0 += 32 {
			clear(ta[:])
			clear(tb[:])
			gramTile(ta[:], a, ld, ka, r0, c0, tiles)
			gramTile(tb[:], b, ld, kb, r0, c0, tiles)
			for p := 0; p < 4 && r0+p < k; p++ {
				r := r0 + p
				lo, hi := max(c0, r), min(c0+32, k)
				out := dst[r*ldd+lo : r*ldd+hi]
				for c := range out {
					out[c] = ta[p*32+lo-c0+c] * tb[p*32+lo-c0+c]
				}
			}
		}
	})
}

// gramTile adds to the 4×32 tile t the sums Σ_s x[s][r0+p]·x[s][c0+q] over
// the k rows of x (row stride ld): with the tile kernel, or with its
// reference loop.
func gramTile(t, x []float64, ld, k, r0, c0 int, tiles bool) {
	if tiles {
		f64.TileWide(t, 32, x[r0:], ld, x[c0:], ld, k, 8, false)
		return
	}
	for p := 0; p < 4; p++ {
		out := t[p*32 : p*32+32]
		for s := 0; s < k; s++ {
			v := x[s*ld+r0+p]
			for q, y := range x[s*ld+c0 : s*ld+c0+32] {
				out[q] += v * y
			}
		}
	}
}
