package relunet

// tileGo is the portable form of tileAdd (sign 1) and tileSub (sign -1):
// c[p*ldc+q] += sign·Σ_{r<k} a[r*lda+p]·b[r*ldb+q] for p < 4 and q < width.
func tileGo(c []float64, ldc int, a []float64, lda int, b []float64, ldb, k, width int, sign float64) {
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

// tileWideBy8 is tileWide as four 4×8 tiles.
func tileWideBy8(c []float64, ldc int, a []float64, lda int, b []float64, ldb, k, gs int, sub bool) {
	for t := range 4 {
		tileRun(c[8*t:], ldc, a, lda, b[t*gs:], ldb, k, 8, sub)
	}
}

// tileIdxWideBy8 is tileIdxWide as four 4×8 tiles.
func tileIdxWideBy8(c []float64, ldc int, a, b []float64, idx []int32, ld int) {
	for t := range 4 {
		tileIdxAdd(c[8*t:], ldc, a, b[8*t:], idx, ld, 8)
	}
}

// tileIdxGo is the portable tileIdxAdd.
func tileIdxGo(c []float64, ldc int, a, b []float64, idx []int32, ld, width int) {
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

// addUpperGo is the portable addUpper.
func addUpperGo(dst []float64, ldd int, src []float64, lds, n int) {
	for a := 0; a < n; a++ {
		s := a &^ 3
		out := dst[a*ldd+s : a*ldd+n]
		for b, v := range src[a*lds+s : a*lds+n] {
			out[b] += v
		}
	}
}

// classAddGo is the portable classAdd.
func classAddGo(sums, packed []float64, cj, ck []uint8, step, shift, mask, n, t4 int) {
	for i := range n {
		c := int(cj[i*step])&mask | (int(ck[i*step])&mask)<<shift
		dst, src := sums[c*t4:c*t4+t4], packed[i*t4:i*t4+t4]
		for t := range dst {
			dst[t] += src[t]
		}
	}
}

// rowsTimesGo is the portable rowsTimes, with inner loops along the rows
// of u.
func rowsTimesGo(u []float64, ldu int, x []float64, ldx int, wt []float64, n, d, h int) {
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
