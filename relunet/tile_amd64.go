//go:build amd64 && !purego

package relunet

import "golang.org/x/sys/cpu"

// hasTiles reports whether the AVX2 and FMA tile kernels can run here.
func hasTiles() bool { return cpu.X86.HasAVX2 && cpu.X86.HasFMA }

// hasWide reports whether the AVX-512 4×32 kernels can run here.
func hasWide() bool { return hasTiles() && cpu.X86.HasAVX512F }

// tileAdd adds Σ_{r<k} a[r*ld+p]·b[r*ld+q] to c[p*ldc+q] for p < 4 and
// q < width, which is 4 or 8.
func tileAdd(c []float64, ldc int, a, b []float64, ld, k, width int) {
	tileRun(c, ldc, a, ld, b, ld, k, width, false)
}

// tileSub subtracts Σ_{r<k} a[r*lda+p]·b[r*ldb+q] from c[p*ldc+q] for p < 4
// and q < width, which is 4 or 8: tileAdd with a stride for each operand.
func tileSub(c []float64, ldc int, a []float64, lda int, b []float64, ldb, k, width int) {
	tileRun(c, ldc, a, lda, b, ldb, k, width, true)
}

// tileRun checks the slices, which the assembly kernels do not, and runs
// the kernel that adds the tile's sums to c, or with sub subtracts them.
func tileRun(c []float64, ldc int, a []float64, lda int, b []float64, ldb, k, width int, sub bool) {
	if k <= 0 {
		return
	}
	if !hasTiles() || width != 4 && width != 8 {
		sign := 1.0
		if sub {
			sign = -1
		}
		tileGo(c, ldc, a, lda, b, ldb, k, width, sign)
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

// tileWide adds to c, or with sub subtracts from it, the 4×32 tile of four
// 4×8 tiles side by side whose b operands start gs elements apart:
// c[p*ldc+8t+q] ± Σ_{r<k} a[r*lda+p]·b[r*ldb+t*gs+q] for p < 4, t < 4, q < 8.
// With AVX-512 it is one kernel, whose sixteen accumulators need a third of
// the loads and fewer than half the instructions of four 4×8 kernels (12 %
// faster in cache, measured); it forms the same sums in the same order, so
// the bits do not depend on the machine.
func tileWide(c []float64, ldc int, a []float64, lda int, b []float64, ldb, k, gs int, sub bool) {
	if k <= 0 {
		return
	}
	if !hasWide() {
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

// tileIdxWide is tileIdxAdd for a 4×32 tile, 32 contiguous columns of b.
func tileIdxWide(c []float64, ldc int, a, b []float64, idx []int32, ld int) {
	k := len(idx)
	if k == 0 {
		return
	}
	if !hasWide() {
		tileIdxWideBy8(c, ldc, a, b, idx, ld)
		return
	}
	_ = c[3*ldc+31]
	_ = a[int(idx[0])*ld]
	_ = a[int(idx[k-1])*ld+3]
	_ = b[int(idx[k-1])*ld+31]
	tileIdx4x32(&c[0], ldc, &a[0], &b[0], &idx[0], k, ld)
}

// tileIdxAdd is tileAdd over the rows idx[0..k-1], which must increase:
// row r of a and b starts idx[r]*ld elements in.
func tileIdxAdd(c []float64, ldc int, a, b []float64, idx []int32, ld, width int) {
	k := len(idx)
	if k == 0 {
		return
	}
	if !hasTiles() || width != 4 && width != 8 {
		tileIdxGo(c, ldc, a, b, idx, ld, width)
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

// addUpper adds the upper triangle of the n×n matrix src (row stride lds)
// to dst (row stride ldd), row a from column a&^3 on: a few entries below
// the diagonal are added too, so that columns go in groups of four.
func addUpper(dst []float64, ldd int, src []float64, lds, n int) {
	if n <= 0 {
		return
	}
	if !hasTiles() {
		addUpperGo(dst, ldd, src, lds, n)
		return
	}
	_ = dst[(n-1)*ldd+n-1]
	_ = src[(n-1)*lds+n-1]
	addUpperAsm(&dst[0], ldd, &src[0], lds, n)
}

// classAdd adds row i of packed (row stride t4, a multiple of 4) to the t4
// sums of class c = cj[i*step]&mask | (ck[i*step]&mask)<<shift in sums, for
// i < n. sums must hold all classes c ≤ mask | mask<<shift.
func classAdd(sums, packed []float64, cj, ck []uint8, step, shift, mask, n, t4 int) {
	if n <= 0 {
		return
	}
	if !hasTiles() || t4%4 != 0 {
		classAddGo(sums, packed, cj, ck, step, shift, mask, n, t4)
		return
	}
	_ = sums[(mask|mask<<shift)*t4+t4-1]
	_ = packed[n*t4-1]
	_ = cj[(n-1)*step]
	_ = ck[(n-1)*step]
	classAddAsm(&sums[0], &packed[0], &cj[0], &ck[0], step, shift, mask, n, t4)
}

// rowsTimes sets u[i*ldu+j] = Σ_{a<d} x[i*ldx+a]·wt[a*h+j] for i < n and
// j < h: row i of u is row i of x times the d×h matrix wt.
func rowsTimes(u []float64, ldu int, x []float64, ldx int, wt []float64, n, d, h int) {
	if n <= 0 || h <= 0 {
		return
	}
	if !hasTiles() || d <= 0 {
		rowsTimesGo(u, ldu, x, ldx, wt, n, d, h)
		return
	}
	_ = u[(n-1)*ldu+h-1]
	_ = x[(n-1)*ldx+d-1]
	_ = wt[d*h-1]
	rowsTimesAsm(&u[0], ldu, &x[0], ldx, &wt[0], n, d, h)
}

//go:noescape
func rowsTimesAsm(u *float64, ldu int, x *float64, ldx int, wt *float64, n, d, h int)

//go:noescape
func classAddAsm(sums, packed *float64, cj, ck *uint8, step, shift, mask, n, t4 int)

//go:noescape
func addUpperAsm(dst *float64, ldd int, src *float64, lds, n int)

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
