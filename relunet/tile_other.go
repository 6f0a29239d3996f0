//go:build !amd64 || purego

package relunet

// hasTiles reports whether the AVX2 and FMA tile kernels can run here.
func hasTiles() bool { return false }

// hasWide reports whether the AVX-512 4×32 kernels can run here.
func hasWide() bool { return false }

func tileRun(c []float64, ldc int, a []float64, lda int, b []float64, ldb, k, width int, sub bool) {
	sign := 1.0
	if sub {
		sign = -1
	}
	tileGo(c, ldc, a, lda, b, ldb, k, width, sign)
}

func tileWide(c []float64, ldc int, a []float64, lda int, b []float64, ldb, k, gs int, sub bool) {
	tileWideBy8(c, ldc, a, lda, b, ldb, k, gs, sub)
}

func tileIdxWide(c []float64, ldc int, a, b []float64, idx []int32, ld int) {
	tileIdxWideBy8(c, ldc, a, b, idx, ld)
}

func tileAdd(c []float64, ldc int, a, b []float64, ld, k, width int) {
	tileRun(c, ldc, a, ld, b, ld, k, width, false)
}

func tileIdxAdd(c []float64, ldc int, a, b []float64, idx []int32, ld, width int) {
	tileIdxGo(c, ldc, a, b, idx, ld, width)
}

func addUpper(dst []float64, ldd int, src []float64, lds, n int) {
	addUpperGo(dst, ldd, src, lds, n)
}

func classAdd(sums, packed []float64, cj, ck []uint8, step, shift, mask, n, t4 int) {
	classAddGo(sums, packed, cj, ck, step, shift, mask, n, t4)
}

func rowsTimes(u []float64, ldu int, x []float64, ldx int, wt []float64, n, d, h int) {
	rowsTimesGo(u, ldu, x, ldx, wt, n, d, h)
}

func tileSub(c []float64, ldc int, a []float64, lda int, b []float64, ldb, k, width int) {
	tileRun(c, ldc, a, lda, b, ldb, k, width, true)
}
