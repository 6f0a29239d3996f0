package f64

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// needKernels skips a test where every kernel is its own reference loop
// (other architectures, or the purego build): comparing the two would
// compare a function with itself.
func needKernels(t *testing.T) {
	t.Helper()
	if !HasTiles() {
		t.Skip("no AVX2 and FMA kernels on this machine or build: the kernels are their reference loops")
	}
}

// The assembly tile kernels agree with the portable loop.
func TestTileAdd(t *testing.T) {
	needKernels(t)
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
			tileRef(want, ldc, a, ld, b, ld, k, width, 1)
			got := append([]float64(nil), c...)
			TileAdd(got, ldc, a, b, ld, k, width)
			for i := range got {
				if math.Abs(got[i]-want[i]) > 1e-12*(1+math.Abs(want[i])) {
					t.Fatalf("width %d, k %d: c[%d] = %v, want %v", width, k, i, got[i], want[i])
				}
			}
			// The same sums over every other row, by index.
			var idx []int32
			for r := 0; r < k; r += 2 {
				idx = append(idx, int32(r))
			}
			want = append(want[:0], c...)
			tileIdxRef(want, ldc, a, b, idx, ld, width)
			got = append(got[:0], c...)
			TileIdxAdd(got, ldc, a, b, idx, ld, width)
			for i := range got {
				if math.Abs(got[i]-want[i]) > 1e-12*(1+math.Abs(want[i])) {
					t.Fatalf("indexed, width %d, k %d: c[%d] = %v, want %v", width, k, i, got[i], want[i])
				}
			}
		}
	}
}

// AddUpper and SubUpper change exactly the entries their portable form
// does, by exactly as much.
func TestAddUpper(t *testing.T) {
	needKernels(t)
	rng := rand.New(rand.NewPCG(7, 8))
	for _, s := range []float64{1, -1} {
		for n := 1; n <= 13; n++ {
			ldd, lds := n+3, n+1
			src := make([]float64, (n-1)*lds+n)
			dst := make([]float64, (n-1)*ldd+n+2) // the spare entries must stay
			for i := range src {
				src[i] = rng.NormFloat64()
			}
			for i := range dst {
				dst[i] = rng.NormFloat64()
			}
			orig := append([]float64(nil), dst...)
			want := append([]float64(nil), dst...)
			for a := 0; a < n; a++ {
				for b := a &^ 3; b < n; b++ {
					if s == 1 {
						want[a*ldd+b] += src[a*lds+b]
					} else {
						want[a*ldd+b] -= src[a*lds+b]
					}
				}
			}
			if s == 1 {
				AddUpper(dst, ldd, src, lds, n)
			} else {
				SubUpper(dst, ldd, src, lds, n)
			}
			for i := range dst {
				if dst[i] != want[i] {
					t.Fatalf("s %v, n %d: dst[%d] = %v, want %v", s, n, i, dst[i], want[i])
				}
			}
			// Left of a row's group of four, and past the last row, nothing changes.
			for a := 0; a < n; a++ {
				for b := 0; b < a&^3; b++ {
					if dst[a*ldd+b] != orig[a*ldd+b] {
						t.Fatalf("n %d: entry (%d, %d) changed", n, a, b)
					}
				}
			}
			for i := (n-1)*ldd + n; i < len(dst); i++ {
				if dst[i] != orig[i] {
					t.Fatalf("n %d: dst[%d], past the last row, changed", n, i)
				}
			}
		}
	}
}

// classAdd adds exactly what its portable form does.
func TestClassAdd(t *testing.T) {
	needKernels(t)
	rng := rand.New(rand.NewPCG(11, 12))
	const n, step, b = 300, 3, 3
	for _, t4 := range []int{4, 8, 12} {
		for _, shift := range []int{0, b} {
			packed := make([]float64, n*t4)
			for i := range packed {
				packed[i] = rng.NormFloat64()
			}
			codes := make([]uint8, n*step)
			for i := range codes {
				codes[i] = uint8(rng.IntN(256)) // bits past b are masked off
			}
			mask := 1<<b - 1
			got := make([]float64, (mask|mask<<shift+1)*t4)
			want := make([]float64, len(got))
			ClassAdd(got, packed, codes[1:], codes[2:], step, shift, mask, n, t4)
			classAddRef(want, packed, codes[1:], codes[2:], step, shift, mask, n, t4)
			for i := range got {
				if got[i] != want[i] {
					t.Fatalf("t4 %d, shift %d: sums[%d] = %v, want %v", t4, shift, i, got[i], want[i])
				}
			}
		}
	}
}

// rowsTimes agrees with its portable form, for widths with and without
// groups of 16 and 4 columns.
func TestRowsTimes(t *testing.T) {
	needKernels(t)
	rng := rand.New(rand.NewPCG(13, 14))
	const n = 7
	for _, d := range []int{1, 3, 9} {
		for _, h := range []int{1, 3, 4, 7, 16, 21, 37} {
			ldx, ldu := d+2, h+1
			x, wt, got := rowsTimesCase(rng, n, d, h, ldx, ldu)
			want := make([]float64, len(got))
			want[len(want)-1] = 42
			RowsTimes(got, ldu, x, ldx, wt, n, d, h)
			rowsTimesRef(want, ldu, x, ldx, wt, n, d, h)
			for i := range got {
				if math.Abs(got[i]-want[i]) > 1e-13*(1+math.Abs(want[i])) {
					t.Fatalf("d %d, h %d: u[%d] = %v, want %v", d, h, i, got[i], want[i])
				}
			}
		}
	}
}

// rowsTimesCase returns random operands of RowsTimes for n rows of d
// inputs (x, row stride ldx) and h columns (wt, d×h), and its output u (row
// stride ldu), zero but for a sentinel 42 past the last row.
func rowsTimesCase(rng *rand.Rand, n, d, h, ldx, ldu int) (x, wt, u []float64) {
	x = make([]float64, (n-1)*ldx+d)
	wt = make([]float64, d*h)
	for i := range x {
		x[i] = rng.NormFloat64()
	}
	for i := range wt {
		wt[i] = rng.NormFloat64()
	}
	u = make([]float64, (n-1)*ldu+h+1)
	u[len(u)-1] = 42 // past the last row: must stay
	return x, wt, u
}

// tileSub subtracts what its portable form does, with different operand
// strides.
func TestTileSub(t *testing.T) {
	needKernels(t)
	rng := rand.New(rand.NewPCG(15, 16))
	const lda, ldb, ldc = 4, 8, 11
	for _, width := range []int{4, 8} {
		for _, k := range []int{1, 2, 5, 64} {
			a := make([]float64, k*lda)
			b := make([]float64, k*ldb)
			c := make([]float64, 3*ldc+width)
			for _, s := range [][]float64{a, b, c} {
				for i := range s {
					s[i] = rng.NormFloat64()
				}
			}
			want := append([]float64(nil), c...)
			tileRef(want, ldc, a, lda, b, ldb, k, width, -1)
			TileSub(c, ldc, a, lda, b, ldb, k, width)
			for i := range c {
				if math.Abs(c[i]-want[i]) > 1e-12*(1+math.Abs(want[i])) {
					t.Fatalf("width %d, k %d: c[%d] = %v, want %v", width, k, i, c[i], want[i])
				}
			}
		}
	}
}

// The 4×32 kernels form the same sums as four 4×8 kernels, to the bit, and
// agree with the portable loop: split strides with groups of b gs apart,
// adding and subtracting, and by index with contiguous groups.
func TestTileWide(t *testing.T) {
	needKernels(t)
	if !HasWide() {
		t.Log("no AVX-512 here: this checks the four-kernel form only")
	}
	rng := rand.New(rand.NewPCG(19, 20))
	fill := func(s []float64) []float64 {
		for i := range s {
			s[i] = rng.NormFloat64()
		}
		return s
	}
	same := func(what string, got, want []float64) {
		t.Helper()
		for i := range got {
			if math.Float64bits(got[i]) != math.Float64bits(want[i]) {
				t.Fatalf("%s: c[%d] = %v, want %v", what, i, got[i], want[i])
			}
		}
	}
	near := func(what string, got, want []float64) {
		t.Helper()
		for i := range got {
			if math.Abs(got[i]-want[i]) > 1e-12*(1+math.Abs(want[i])) {
				t.Fatalf("%s: c[%d] = %v, want %v", what, i, got[i], want[i])
			}
		}
	}
	for _, k := range []int{1, 2, 5, 64, 129} {
		for _, sub := range []bool{false, true} {
			const lda, ldb, gs, ldc = 4, 8, 8 * 70, 41
			a, b := fill(make([]float64, k*lda)), fill(make([]float64, 3*gs+k*ldb))
			c := fill(make([]float64, 3*ldc+32))
			got, by8, want := append([]float64(nil), c...), append([]float64(nil), c...), append([]float64(nil), c...)
			TileWide(got, ldc, a, lda, b, ldb, k, gs, sub)
			tileWideBy8(by8, ldc, a, lda, b, ldb, k, gs, sub)
			sign := 1.0
			if sub {
				sign = -1
			}
			for q := range 4 {
				tileRef(want[8*q:], ldc, a, lda, b[q*gs:], ldb, k, 8, sign)
			}
			what := fmt.Sprintf("k %d, sub %v", k, sub)
			same(what, got, by8)
			near(what, got, want)
		}
		// Rows by index: every third, of a matrix with 37 columns.
		const ld, ldc = 37, 33
		data := fill(make([]float64, 3*k*ld))
		var idx []int32
		for r := 0; r < 3*k; r += 3 {
			idx = append(idx, int32(r))
		}
		c := fill(make([]float64, 3*ldc+32))
		got, by8, want := append([]float64(nil), c...), append([]float64(nil), c...), append([]float64(nil), c...)
		TileIdxWide(got, ldc, data[2:], data[5:], idx, ld)
		tileIdxWideBy8(by8, ldc, data[2:], data[5:], idx, ld)
		for q := range 4 {
			tileIdxRef(want[8*q:], ldc, data[2:], data[5+8*q:], idx, ld, 8)
		}
		what := fmt.Sprintf("indexed, k %d", k)
		same(what, got, by8)
		near(what, got, want)
	}
}
