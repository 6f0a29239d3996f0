package relunet

import (
	"math"
	"math/rand/v2"
	"testing"
)

// The assembly tile kernels agree with the portable loop.
func TestTileAdd(t *testing.T) {
	if !hasTiles() {
		t.Skip("no AVX2 and FMA tile kernels on this machine or build")
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for _, width := range []int{4, 8} {
		for _, k := range []int{1, 2, 3, 7, 64} {
			const ld, ldc = 13, 11
			a := make([]float64, (k-1)*ld+4)
			b := make([]float64, (k-1)*ld+width)
			for i := range a {
				a[i] = rng.NormFloat64()
			}
			for i := range b {
				b[i] = rng.NormFloat64()
			}
			c := make([]float64, 3*ldc+width)
			for i := range c {
				c[i] = rng.NormFloat64()
			}
			want := append([]float64(nil), c...)
			tileGo(want, ldc, a, b, ld, k, width)
			tileAdd(c, ldc, a, b, ld, k, width)
			for i := range c {
				if math.Abs(c[i]-want[i]) > 1e-12*(1+math.Abs(want[i])) {
					t.Fatalf("width %d, k %d: c[%d] = %v, want %v", width, k, i, c[i], want[i])
				}
			}
		}
	}
}
