package f64

// The reference loops: the portable form of each kernel, run where the
// assembly cannot, and the yardstick of the tests.

// tileRef is the reference loop of TileAdd (sign 1) and TileSub (sign -1).
func tileRef(c []float64, ldc int, a []float64, lda int, b []float64, ldb, k, width int, sign float64) {
	for p := 0; p < 4; p++ {
		out := c[p*ldc : p*ldc+width]
		for r := 0; r < k; r++ {
			v := sign * a[r*lda+p]
			for q, y := range b[r*ldb : r*ldb+width] {
				out[q] += v * y
			}
		}
	}
}

// tileWideBy8 is TileWide as four 4×8 tiles.
func tileWideBy8(c []float64, ldc int, a []float64, lda int, b []float64, ldb, k, gs int, sub bool) {
	for t := range 4 {
		tileRun(c[8*t:], ldc, a, lda, b[t*gs:], ldb, k, 8, sub)
	}
}

// tileIdxWideBy8 is TileIdxWide as four 4×8 tiles.
func tileIdxWideBy8(c []float64, ldc int, a, b []float64, idx []int32, ld int) {
	for t := range 4 {
		TileIdxAdd(c[8*t:], ldc, a, b[8*t:], idx, ld, 8)
	}
}

// tileIdxRef is the reference loop of TileIdxAdd.
func tileIdxRef(c []float64, ldc int, a, b []float64, idx []int32, ld, width int) {
	for p := 0; p < 4; p++ {
		out := c[p*ldc : p*ldc+width]
		for _, i := range idx {
			r := int(i) * ld
			v := a[r+p]
			for q, y := range b[r : r+width] {
				out[q] += v * y
			}
		}
	}
}

// addUpperRef is the reference loop of AddUpper (s = 1) and SubUpper
// (s = -1): s·v is exact for s = ±1.
func addUpperRef(dst []float64, ldd int, src []float64, lds, n int, s float64) {
	for a := 0; a < n; a++ {
		c := a &^ 3
		out := dst[a*ldd+c : a*ldd+n]
		for b, v := range src[a*lds+c : a*lds+n] {
			out[b] += s * v
		}
	}
}

// classAddRef is the reference loop of ClassAdd.
func classAddRef(sums, packed []float64, cj, ck []uint8, step, shift, mask, n, t4 int) {
	for i := range n {
		c := int(cj[i*step])&mask | (int(ck[i*step])&mask)<<shift
		dst, src := sums[c*t4:c*t4+t4], packed[i*t4:i*t4+t4]
		for t := range dst {
			dst[t] += src[t]
		}
	}
}

// rowsTimesRef is the reference loop of RowsTimes, its inner loops along
// the rows of u.
func rowsTimesRef(u []float64, ldu int, x []float64, ldx int, wt []float64, n, d, h int) {
	for i := range n {
		out := u[i*ldu : i*ldu+h]
		clear(out)
		for a, v := range x[i*ldx : i*ldx+d] {
			for j, w := range wt[a*h : (a+1)*h] {
				out[j] += v * w
			}
		}
	}
}

// Dot returns Σ_j x[j]·y[j] over len(x) ≤ len(y) entries, in two running
// sums (even and odd j) added at the end. It is portable Go on every
// machine: the forward pass and the triangular solves call it on short rows
// many times, where a cgo call of the openblas build would cost more than
// the sum.
func Dot(x, y []float64) float64 {
	var s0, s1 float64
	y = y[:len(x)]
	j := 0
	for ; j+2 <= len(x); j += 2 {
		s0 += x[j] * y[j]
		s1 += x[j+1] * y[j+1]
	}
	if j < len(x) {
		s0 += x[j] * y[j]
	}
	return s0 + s1
}

// Axpy adds alpha·x to y, len(y) ≥ len(x):
//
//	for i, v := range x {
//		y[i] += alpha * v
//	}
func Axpy(alpha float64, x, y []float64) {
	y = y[:len(x)]
	for i, v := range x {
		y[i] += alpha * v
	}
}
