//go:build !amd64 || purego

package f64

// HasTiles reports whether the AVX2 and FMA kernels run here.
func HasTiles() bool { return false }

// HasWide reports whether the AVX-512 4×32 kernels run here.
func HasWide() bool { return false }

func tileRun(c []float64, ldc int, a []float64, lda int, b []float64, ldb, k, width int, sub bool) {
	sign := 1.0
	if sub {
		sign = -1
	}
	tileRef(c, ldc, a, lda, b, ldb, k, width, sign)
}

// TileAdd adds a 4×width tile of sums of outer products to c; see the amd64
// build for the reference loop.
func TileAdd(c []float64, ldc int, a, b []float64, ld, k, width int) {
	tileRun(c, ldc, a, ld, b, ld, k, width, false)
}

// TileSub is TileAdd subtracting, with a stride for each operand.
func TileSub(c []float64, ldc int, a []float64, lda int, b []float64, ldb, k, width int) {
	tileRun(c, ldc, a, lda, b, ldb, k, width, true)
}

// TileWide adds or subtracts four 4×8 tiles side by side.
func TileWide(c []float64, ldc int, a []float64, lda int, b []float64, ldb, k, gs int, sub bool) {
	tileWideBy8(c, ldc, a, lda, b, ldb, k, gs, sub)
}

// TileIdxWide is TileIdxAdd for a 4×32 tile.
func TileIdxWide(c []float64, ldc int, a, b []float64, idx []int32, ld int) {
	tileIdxWideBy8(c, ldc, a, b, idx, ld)
}

// TileIdxAdd is TileAdd over the rows idx.
func TileIdxAdd(c []float64, ldc int, a, b []float64, idx []int32, ld, width int) {
	tileIdxRef(c, ldc, a, b, idx, ld, width)
}

// AddUpper adds the upper triangle of src to dst, rows from a&^3 on.
func AddUpper(dst []float64, ldd int, src []float64, lds, n int) {
	addUpperRef(dst, ldd, src, lds, n, 1)
}

// SubUpper subtracts what AddUpper adds.
func SubUpper(dst []float64, ldd int, src []float64, lds, n int) {
	addUpperRef(dst, ldd, src, lds, n, -1)
}

// ClassAdd adds each packed row to the sums of its class.
func ClassAdd(sums, packed []float64, cj, ck []uint8, step, shift, mask, n, t4 int) {
	classAddRef(sums, packed, cj, ck, step, shift, mask, n, t4)
}

// RowsTimes sets each row of u to the row of x times wt.
func RowsTimes(u []float64, ldu int, x []float64, ldx int, wt []float64, n, d, h int) {
	rowsTimesRef(u, ldu, x, ldx, wt, n, d, h)
}

// Prefetch asks for the cache lines of x[0:n]; here it does nothing.
func Prefetch(x []float64, n int) {}
