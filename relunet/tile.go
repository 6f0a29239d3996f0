package relunet

// tileGo is the portable tileAdd: c[p*ldc+q] += Σ_{r<k} a[r*ld+p]·b[r*ld+q]
// for p < 4 and q < width.
func tileGo(c []float64, ldc int, a, b []float64, ld, k, width int) {
	for p := 0; p < 4; p++ {
		out := c[p*ldc : p*ldc+width]
		for r := 0; r < k; r++ {
			v := a[r*ld+p]
			for q, y := range b[r*ld : r*ld+width] {
				out[q] += v * y
			}
		}
	}
}
