//go:build amd64 && !purego

package f64

import "golang.org/x/sys/cpu"

// HasTiles reports whether the AVX2 and FMA kernels run here.
func HasTiles() bool { return cpu.X86.HasAVX2 && cpu.X86.HasFMA }

// HasWide reports whether the AVX-512 4×32 kernels run here.
func HasWide() bool { return HasTiles() && cpu.X86.HasAVX512F }

// TileAdd adds a 4×width tile of sums of outer products to c, width 4 or 8
// (other widths run the reference loop):
//
//	for p := 0; p < 4; p++ {
//		for r := 0; r < k; r++ {
//			for q := 0; q < width; q++ {
//				c[p*ldc+q] += a[r*ld+p] * b[r*ld+q]
//			}
//		}
//	}
func TileAdd(c []float64, ldc int, a, b []float64, ld, k, width int) {
	tileRun(c, ldc, a, ld, b, ld, k, width, false)
}

// TileSub is TileAdd subtracting the sums, with a stride for each operand:
//
//	c[p*ldc+q] -= a[r*lda+p] * b[r*ldb+q]
func TileSub(c []float64, ldc int, a []float64, lda int, b []float64, ldb, k, width int) {
	tileRun(c, ldc, a, lda, b, ldb, k, width, true)
}

// tileRun checks the slices, which the assembly does not, and runs the
// kernel that adds the tile's sums to c, or with sub subtracts them.
func tileRun(c []float64, ldc int, a []float64, lda int, b []float64, ldb, k, width int, sub bool) {
	if k <= 0 {
		return
	}
	if !HasTiles() || width != 4 && width != 8 {
		sign := 1.0
		if sub {
			sign = -1
		}
		tileRef(c, ldc, a, lda, b, ldb, k, width, sign)
		return
	}
	_ = c[3*ldc+width-1]
	_ = a[(k-1)*lda+3]
	_ = b[(k-1)*ldb+width-1]
	switch {
	case width == 8 && !sub:
		tile4x8(&c[0], ldc, &a[0], lda, &b[0], ldb, k)
	case width == 8:
		tileSub4x8(&c[0], ldc, &a[0], lda, &b[0], ldb, k)
	case !sub:
		tile4x4(&c[0], ldc, &a[0], lda, &b[0], ldb, k)
	default:
		tileSub4x4(&c[0], ldc, &a[0], lda, &b[0], ldb, k)
	}
}

// TileWide adds to c, or with sub subtracts from it, the 4×32 tile of four
// 4×8 tiles side by side whose b operands start gs elements apart:
//
//	for t := 0; t < 4; t++ {
//		// TileAdd or TileSub of width 8 on c[8*t:] and b[t*gs:]
//		c[p*ldc+8*t+q] ± a[r*lda+p] * b[r*ldb+t*gs+q]
//	}
//
// With AVX-512 it is one kernel, whose sixteen accumulators need a third of
// the loads and fewer than half the instructions of four 4×8 kernels (12 %
// faster in cache, measured); it forms the same sums in the same order, so
// the bits do not depend on the machine.
func TileWide(c []float64, ldc int, a []float64, lda int, b []float64, ldb, k, gs int, sub bool) {
	if k <= 0 {
		return
	}
	if !HasWide() {
		tileWideBy8(c, ldc, a, lda, b, ldb, k, gs, sub)
		return
	}
	_ = c[3*ldc+31]
	_ = a[(k-1)*lda+3]
	_ = b[(k-1)*ldb+3*gs+7]
	if sub {
		tileSub4x32(&c[0], ldc, &a[0], lda, &b[0], ldb, k, gs)
	} else {
		tile4x32(&c[0], ldc, &a[0], lda, &b[0], ldb, k, gs)
	}
}

// TileIdxWide is TileIdxAdd for a 4×32 tile, 32 contiguous columns of b, in
// the order of four 4×8 tiles.
func TileIdxWide(c []float64, ldc int, a, b []float64, idx []int32, ld int) {
	k := len(idx)
	if k == 0 {
		return
	}
	if !HasWide() {
		tileIdxWideBy8(c, ldc, a, b, idx, ld)
		return
	}
	_ = c[3*ldc+31]
	_ = a[int(idx[0])*ld]
	_ = a[int(idx[k-1])*ld+3]
	_ = b[int(idx[k-1])*ld+31]
	tileIdx4x32(&c[0], ldc, &a[0], &b[0], &idx[0], k, ld)
}

// TileIdxAdd is TileAdd over the rows idx, which must increase:
//
//	for p := 0; p < 4; p++ {
//		for _, i := range idx {
//			for q := 0; q < width; q++ {
//				c[p*ldc+q] += a[i*ld+p] * b[i*ld+q]
//			}
//		}
//	}
func TileIdxAdd(c []float64, ldc int, a, b []float64, idx []int32, ld, width int) {
	k := len(idx)
	if k == 0 {
		return
	}
	if !HasTiles() || width != 4 && width != 8 {
		tileIdxRef(c, ldc, a, b, idx, ld, width)
		return
	}
	_ = c[3*ldc+width-1]
	_ = a[int(idx[0])*ld]
	_ = a[int(idx[k-1])*ld+3]
	_ = b[int(idx[k-1])*ld+width-1]
	if width == 8 {
		tileIdx4x8(&c[0], ldc, &a[0], &b[0], &idx[0], k, ld)
	} else {
		tileIdx4x4(&c[0], ldc, &a[0], &b[0], &idx[0], k, ld)
	}
}

// AddUpper adds the upper triangle of the n×n matrix src (row stride lds)
// to dst (row stride ldd), row a from column a&^3 on, so that columns go in
// groups of four (a few entries below the diagonal are added too):
//
//	for a := 0; a < n; a++ {
//		for b := a &^ 3; b < n; b++ {
//			dst[a*ldd+b] += src[a*lds+b]
//		}
//	}
func AddUpper(dst []float64, ldd int, src []float64, lds, n int) {
	addUpper(dst, ldd, src, lds, n, 1)
}

// SubUpper subtracts what AddUpper adds:
//
//	for a := 0; a < n; a++ {
//		for b := a &^ 3; b < n; b++ {
//			dst[a*ldd+b] -= src[a*lds+b]
//		}
//	}
func SubUpper(dst []float64, ldd int, src []float64, lds, n int) {
	addUpper(dst, ldd, src, lds, n, -1)
}

// addUpper adds s·src to dst as AddUpper does, for s = ±1.
func addUpper(dst []float64, ldd int, src []float64, lds, n int, s float64) {
	if n <= 0 {
		return
	}
	if !HasTiles() {
		addUpperRef(dst, ldd, src, lds, n, s)
		return
	}
	_ = dst[(n-1)*ldd+n-1]
	_ = src[(n-1)*lds+n-1]
	addUpperAsm(&dst[0], ldd, &src[0], lds, n, s)
}

// ClassAdd adds row i of packed (row stride t4) to the t4 sums of its class
// in sums, for i < n:
//
//	for i := 0; i < n; i++ {
//		c := int(cj[i*step])&mask | (int(ck[i*step])&mask)<<shift
//		for t := 0; t < t4; t++ {
//			sums[c*t4+t] += packed[i*t4+t]
//		}
//	}
//
// sums must hold all classes c ≤ mask | mask<<shift.
func ClassAdd(sums, packed []float64, cj, ck []uint8, step, shift, mask, n, t4 int) {
	if n <= 0 {
		return
	}
	if !HasTiles() || t4%4 != 0 {
		classAddRef(sums, packed, cj, ck, step, shift, mask, n, t4)
		return
	}
	_ = sums[(mask|mask<<shift)*t4+t4-1]
	_ = packed[n*t4-1]
	_ = cj[(n-1)*step]
	_ = ck[(n-1)*step]
	classAddAsm(&sums[0], &packed[0], &cj[0], &ck[0], step, shift, mask, n, t4)
}

// Prefetch asks for the cache lines that hold x[0:n], without waiting
// for them; it has no other effect. Its reference loop is empty.
func Prefetch(x []float64, n int) {
	if n <= 0 {
		return
	}
	_ = x[n-1]
	prefetchLines(&x[0], (n+7)/8+1) // x[0] need not start a line
}

// RowsTimes sets each row of u to the row of x times the d×h matrix wt:
//
//	for i := 0; i < n; i++ {
//		for j := 0; j < h; j++ {
//			u[i*ldu+j] = Σ_{a<d} x[i*ldx+a] * wt[a*h+j]
//		}
//	}
func RowsTimes(u []float64, ldu int, x []float64, ldx int, wt []float64, n, d, h int) {
	if n <= 0 || h <= 0 {
		return
	}
	if !HasTiles() || d <= 0 {
		rowsTimesRef(u, ldu, x, ldx, wt, n, d, h)
		return
	}
	_ = u[(n-1)*ldu+h-1]
	_ = x[(n-1)*ldx+d-1]
	_ = wt[d*h-1]
	i := 0
	if HasWide() && h%32 == 0 {
		// Four rows at a time share the loads of wt: the same sums, the
		// same bits (a product with the patches' normal matrix, which
		// calls this twice per group of rows, went from 15.8 to 9.6 ms).
		for ; i+4 <= n; i += 4 {
			for q := 0; q < h; q += 32 {
				rows4x32(&u[i*ldu+q], ldu, &x[i*ldx], ldx, &wt[q], h, d)
			}
		}
	}
	if i < n {
		rowsTimesAsm(&u[i*ldu], ldu, &x[i*ldx], ldx, &wt[0], n-i, d, h)
	}
}

//go:noescape
func rows4x32(c *float64, ldc int, a *float64, lda int, b *float64, ldb, k int)

//go:noescape
func rowsTimesAsm(u *float64, ldu int, x *float64, ldx int, wt *float64, n, d, h int)

//go:noescape
func classAddAsm(sums, packed *float64, cj, ck *uint8, step, shift, mask, n, t4 int)

//go:noescape
func addUpperAsm(dst *float64, ldd int, src *float64, lds, n int, s float64)

//go:noescape
func tile4x32(c *float64, ldc int, a *float64, lda int, b *float64, ldb, k, gs int)

//go:noescape
func tileSub4x32(c *float64, ldc int, a *float64, lda int, b *float64, ldb, k, gs int)

//go:noescape
func tileIdx4x32(c *float64, ldc int, a, b *float64, idx *int32, k, ld int)

//go:noescape
func tileSub4x8(c *float64, ldc int, a *float64, lda int, b *float64, ldb, k int)

//go:noescape
func tileSub4x4(c *float64, ldc int, a *float64, lda int, b *float64, ldb, k int)

//go:noescape
func tileIdx4x8(c *float64, ldc int, a, b *float64, idx *int32, k, ld int)

//go:noescape
func tileIdx4x4(c *float64, ldc int, a, b *float64, idx *int32, k, ld int)

//go:noescape
func tile4x8(c *float64, ldc int, a *float64, lda int, b *float64, ldb, k int)

//go:noescape
func tile4x4(c *float64, ldc int, a *float64, lda int, b *float64, ldb, k int)

//go:noescape
func prefetchLines(p *float64, lines int)
