//go:build amd64 && !purego

package f64

import (
	"math/rand/v2"
	"testing"
)

// With AVX-512 and h a multiple of 32, RowsTimes takes four rows at a time;
// each row is the same bits as the one-row kernel gives it.
func TestRowsTimesWide(t *testing.T) {
	needKernels(t)
	if !HasWide() {
		t.Skip("no AVX-512 here")
	}
	rng := rand.New(rand.NewPCG(17, 18))
	for _, n := range []int{4, 7, 9} {
		for _, h := range []int{32, 64} {
			const d = 29
			x, wt, got := rowsTimesCase(rng, n, d, h, d+3, h+5)
			ldx, ldu := d+3, h+5
			RowsTimes(got, ldu, x, ldx, wt, n, d, h)
			for i := range n {
				want := make([]float64, h)
				rowsTimesAsm(&want[0], h, &x[i*ldx], ldx, &wt[0], 1, d, h)
				for j, w := range want {
					if g := got[i*ldu+j]; g != w {
						t.Fatalf("n %d, h %d: u[%d, %d] = %v, want the one-row kernel's %v", n, h, i, j, g, w)
					}
				}
			}
			if got[len(got)-1] != 42 {
				t.Fatalf("n %d, h %d: wrote past the last row", n, h)
			}
		}
	}
}
