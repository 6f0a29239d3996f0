package gram

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/relunet/relunet/relunet/internal/parallel"
)

// HadamardGrams agrees with its reference loop, written out here, for sizes
// on and off the tiles' edges, leaves the lower triangle and the stride's
// padding of dst alone, and gives the same bits on one goroutine and on
// several.
func TestHadamardGrams(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, k := range []int{1, 5, 32, 33, 70, 129} {
		for _, ka := range []int{1, 7, 40} {
			const kb = 19
			ld := DualLd(k)
			a, b := make([]float64, ka*ld), make([]float64, kb*ld)
			// Values past column k do not matter: make them large.
			for i := range a {
				a[i] = rng.NormFloat64()
				if i%ld >= k {
					a[i] = 1e300
				}
			}
			for i := range b {
				b[i] = rng.NormFloat64()
				if i%ld >= k {
					b[i] = -1e300
				}
			}
			ldd := k + 3
			var first []float64
			for _, as := range []Assembler{
				{Pool: parallel.Pool{Workers: 1}},
				{Pool: parallel.Pool{Workers: 3}},
				{Pool: parallel.Pool{Workers: 2}, Portable: true},
			} {
				dst := make([]float64, k*ldd)
				for i := range dst {
					dst[i] = 42
				}
				as.HadamardGrams(dst, ldd, a, ka, b, kb, ld, k)
				for r := 0; r < k; r++ {
					for c := 0; c < ldd; c++ {
						got := dst[r*ldd+c]
						if c < r || c >= k {
							if got != 42 {
								t.Fatalf("k %d, ka %d, %+v: entry (%d, %d) outside the upper triangle changed to %v", k, ka, as, r, c, got)
							}
							continue
						}
						var sa, sb float64
						for s := 0; s < ka; s++ {
							sa += a[s*ld+r] * a[s*ld+c]
						}
						for s := 0; s < kb; s++ {
							sb += b[s*ld+r] * b[s*ld+c]
						}
						if want := sa * sb; math.Abs(got-want) > 1e-12*(1+math.Abs(want)) {
							t.Fatalf("k %d, ka %d, %+v: entry (%d, %d) = %v, want %v", k, ka, as, r, c, got, want)
						}
					}
				}
				if as.Portable {
					continue
				}
				if first == nil {
					first = dst
					continue
				}
				for i := range dst {
					if math.Float64bits(dst[i]) != math.Float64bits(first[i]) {
						t.Fatalf("k %d, ka %d: entry %d is %v on three goroutines, %v on one", k, ka, i, dst[i], first[i])
					}
				}
			}
		}
	}
}
