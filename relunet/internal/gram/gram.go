package gram

import (
	"gonum.org/v1/gonum/mat"

	"github.com/relunet/relunet/relunet/internal/asm/f64"
	"github.com/relunet/relunet/relunet/internal/parallel"
)

// worker holds one goroutine's scratch space.
type worker struct {
	acc    []float64
	rows   []int32
	counts []int     // class offsets, for classGrams
	cursor []int     // next free place of each class, for classGrams
	part   []float64 // partial sums of classes, for classGrams and classSums
	tri    []float64 // packed upper triangle, for packed products
	sq     []float64 // D4×D4 tile sums, for gramTiled
	buf    []float64 // copied rows, tileRows×D4, for gramTiled
	seq    []int32   // their indices 0, 1, ... in buf
	// A segment of rows copied by classGrams, the kernel that reads it and
	// its rows' places in it, and the split of the segment by class.
	seg       []float64
	segKernel gramKernel
	places    []int32
	sub       []int32
	subClass  []uint8
	subCounts []int
}

// packedMaxD is the largest D for which rows' outer products are
// precomputed: for small D the per-row loop overhead of gramUpper dominates,
// while the n·D(D+1)/2 packed products stay small.
const packedMaxD = 8

// gramKernel adds sums of outer products x_i x_iᵀ of the rows of a
// row-major matrix to the upper triangle of D×D accumulators.
type gramKernel struct {
	data      []float64
	stride, D int
	// For D ≤ packedMaxD, the upper triangles of the x_i x_iᵀ, T =
	// D(D+1)/2 products each, in rows of t4 = T rounded up to 4.
	packed []float64
	t4     int
	tiles  bool // use the AVX2 tile kernels
	// indexed lets the tile kernels read scattered rows in place: the
	// data are small enough to stay in cache.
	indexed bool
}

// gramKernel returns the kernel for the n×D row-major data.
func (as Assembler) gramKernel(data []float64, stride, n, D int) *gramKernel {
	g := &gramKernel{data: data, stride: stride, D: D}
	g.tiles = !as.Portable && f64.HasTiles()
	limit := gatherFloats
	if as.copyAbove > 0 {
		limit = as.copyAbove
	}
	g.indexed = len(data[:cap(data)]) <= limit
	if D > packedMaxD {
		return g
	}
	g.t4 = (D*(D+1)/2 + 3) &^ 3
	g.packed = make([]float64, n*g.t4)
	as.Pool.Rows(n, func(_, lo, hi int) {
		for i := lo; i < hi; i++ {
			x, o := data[i*stride:i*stride+D], g.packed[i*g.t4:(i+1)*g.t4]
			k := 0
			for a := 0; a < D; a++ {
				for b := a; b < D; b++ {
					o[k] = x[a] * x[b]
					k++
				}
			}
		}
	})
	return g
}

// rows adds Σ_{i∈rows} x_i x_iᵀ to acc.
func (g *gramKernel) rows(acc []float64, rows []int32, w *worker) {
	if g.packed == nil {
		g.upper(acc, rows, w)
		return
	}
	sum := g.sum(w)
	for _, i := range rows {
		for k, v := range g.packed[int(i)*g.t4 : int(i)*g.t4+len(sum)] {
			sum[k] += v
		}
	}
	g.unpack(acc, sum)
}

// gram returns Σ_{i∈rows} x_i x_iᵀ with row stride ld, for addUpper: its
// upper triangle, and below it zeros or the symmetric entries. The storage
// is the worker's, reused by the next call. ahead are the rows the caller
// sums next, which the gather of scattered rows prefetches.
func (g *gramKernel) gram(rows, ahead []int32, w *worker) (q []float64, ld int) {
	if g.tiles {
		return gramTiles(g.data, g.stride, g.D, rows, ahead, g.indexed, w), (g.D + 3) &^ 3
	}
	clear(w.acc)
	gramUpper(w.acc, g.data, g.stride, g.D, rows)
	return w.acc, g.D
}

// add adds Σ_{i∈rows} x_i x_iᵀ to dst, D4×D4 for D4 = D rounded up to 4:
// to its upper triangle, and below it, in the diagonal's 4×4 blocks, zeros
// or the symmetric entries, as AddUpper reads. ahead is as for gram.
func (g *gramKernel) add(dst []float64, rows, ahead []int32, w *worker) {
	if g.tiles {
		addGramTiles(dst, g.data, g.stride, g.D, rows, ahead, g.indexed, w)
		return
	}
	gramUpperLd(dst, (g.D+3)&^3, g.data, g.stride, g.D, rows)
}

// upper adds Σ_{i∈rows} x_i x_iᵀ to the upper triangle of acc.
func (g *gramKernel) upper(acc []float64, rows []int32, w *worker) {
	if !g.tiles {
		gramUpper(acc, g.data, g.stride, g.D, rows)
		return
	}
	gramTiled(acc, g.data, g.stride, g.D, rows, w)
}

// sum returns the worker's zeroed packed accumulator.
func (g *gramKernel) sum(w *worker) []float64 {
	T := g.D * (g.D + 1) / 2
	if len(w.tri) != T {
		w.tri = make([]float64, T)
	}
	clear(w.tri)
	return w.tri
}

func (g *gramKernel) unpack(acc, sum []float64) {
	k := 0
	for a := 0; a < g.D; a++ {
		for b := a; b < g.D; b++ {
			acc[a*g.D+b] += sum[k]
			k++
		}
	}
}

// sumAll sets the upper triangle of dst (D×D) to Σ_i x_i x_iᵀ over all n rows.
func (as Assembler) sumAll(g *gramKernel, n int, dst []float64) {
	as.Pool.SumRows(n, dst, func(_, lo, hi int, acc []float64) {
		g.rows(acc, rowRange(make([]int32, 0, hi-lo), lo, hi), &worker{})
	})
}

// Sum sets the upper triangle of dst (k×k, row-major) to Σ_i r_i r_iᵀ over
// the n rows r_i of the row-major data with the given stride. Below the
// diagonal dst holds partial sums or zeros. Data allocated by NewPadded are
// read in place.
func (as Assembler) Sum(data []float64, stride, n, k int, dst []float64) {
	as.sumAll(as.gramKernel(data, stride, n, k), n, dst)
}

// partial returns the worker's buffer of n floats.
func (w *worker) partial(n int) []float64 {
	w.part = parallel.Grow(w.part, n)
	return w.part
}

// next returns the worker's buffer of n ints.
func (w *worker) next(n int) []int {
	w.cursor = parallel.Grow(w.cursor, n)
	return w.cursor
}

// gramUpper adds Σ_{i∈rows} x_i x_iᵀ to the upper triangle of acc (D×D,
// row-major), where x_i is row i of the row-major data with the given stride.
// It takes four rows at a time so that each pass over acc does four updates.
func gramUpper(acc, data []float64, stride, D int, rows []int32) {
	gramUpperLd(acc, D, data, stride, D, rows)
}

// gramUpperLd is gramUpper for an accumulator of row stride ld ≥ D.
func gramUpperLd(acc []float64, ld int, data []float64, stride, D int, rows []int32) {
	r := 0
	for ; r+4 <= len(rows); r += 4 {
		x0 := data[int(rows[r])*stride : int(rows[r])*stride+D]
		x1 := data[int(rows[r+1])*stride : int(rows[r+1])*stride+D]
		x2 := data[int(rows[r+2])*stride : int(rows[r+2])*stride+D]
		x3 := data[int(rows[r+3])*stride : int(rows[r+3])*stride+D]
		a := 0
		// Two rows of acc per pass share the loads of x_i[b].
		for ; a+2 <= D; a += 2 {
			v0, v1, v2, v3 := x0[a], x1[a], x2[a], x3[a]
			w0, w1, w2, w3 := x0[a+1], x1[a+1], x2[a+1], x3[a+1]
			acc[a*ld+a] += v0*v0 + v1*v1 + v2*v2 + v3*v3
			out := acc[a*ld+a+1 : a*ld+D]
			out2 := acc[(a+1)*ld+a+1 : (a+1)*ld+D]
			y0, y1, y2, y3 := x0[a+1:D], x1[a+1:D], x2[a+1:D], x3[a+1:D]
			out2 = out2[:len(out)]
			y0, y1, y2, y3 = y0[:len(out)], y1[:len(out)], y2[:len(out)], y3[:len(out)]
			for b := range out {
				p0, p1, p2, p3 := y0[b], y1[b], y2[b], y3[b]
				out[b] += v0*p0 + v1*p1 + v2*p2 + v3*p3
				out2[b] += w0*p0 + w1*p1 + w2*p2 + w3*p3
			}
		}
		for ; a < D; a++ {
			v0, v1, v2, v3 := x0[a], x1[a], x2[a], x3[a]
			out := acc[a*ld+a : a*ld+D]
			y0, y1, y2, y3 := x0[a:D], x1[a:D], x2[a:D], x3[a:D]
			y1, y2, y3 = y1[:len(out)], y2[:len(out)], y3[:len(out)]
			y0 = y0[:len(out)]
			for b := range out {
				out[b] += v0*y0[b] + v1*y1[b] + v2*y2[b] + v3*y3[b]
			}
		}
	}
	for ; r < len(rows); r++ {
		x0 := data[int(rows[r])*stride : int(rows[r])*stride+D]
		for a := 0; a < D; a++ {
			v0 := x0[a]
			out := acc[a*ld+a : a*ld+D]
			y0 := x0[a:D][:len(out)]
			for b := range out {
				out[b] += v0 * y0[b]
			}
		}
	}
}

// tileRows is the number of rows summed by one call of a tile kernel: 64
// rows of up to 64 columns stay in the first-level cache while all tiles of
// the triangle go over them.
const tileRows = 64

// NewPadded returns a zero r×c matrix whose backing array has three spare
// entries after the last row, so that the tile kernels can read groups of
// four columns of every row in place.
func NewPadded(r, c int) *mat.Dense {
	return mat.NewDense(r, c, make([]float64, r*c+3)[:r*c])
}

// gramTiled is gramUpper with the tile kernels; it also adds the entries
// below the diagonal that addUpper adds.
func gramTiled(acc, data []float64, stride, D int, rows []int32, w *worker) {
	f64.AddUpper(acc, D, gramTiles(data, stride, D, rows, nil, true, w), (D+3)&^3, D)
}

// gramTiles returns Σ_{i∈rows} x_i x_iᵀ in w.sq, D4×D4 for D4 = D rounded
// up to 4: tiles of 4×8 cover its upper triangle, and with it the entries
// below the diagonal in the diagonal's 4×4 blocks; the other entries are
// zero.
func gramTiles(data []float64, stride, D int, rows, ahead []int32, indexed bool, w *worker) []float64 {
	D4 := (D + 3) &^ 3
	if len(w.sq) != D4*D4 {
		w.sq = make([]float64, D4*D4)
	}
	clear(w.sq)
	addGramTiles(w.sq, data, stride, D, rows, ahead, indexed, w)
	return w.sq
}

// addGramTiles adds Σ_{i∈rows} x_i x_iᵀ to sq (D4×D4) as gramTiles forms
// it. The kernels read rows in place when the data's backing array holds D4
// columns from the last row on (WithOnes allocates so): a group of rows
// that follow one another as it is, others through their indices when
// indexed, that is when the data are small enough to stay in cache. Other
// rows are first copied into w.buf, with a prefetch of the row the copy
// reaches prefetchAhead rows later (among rows, then ahead: the rows the
// caller sums next): the copy keeps more rows in flight from memory than
// the kernels' own reads. On the year set's shape (463,715 rows of 728
// bytes, every one of them gathered once per pair of neuron groups) the
// indexed kernels made the assembly 1.25 to 1.4 times slower; on abalone's
// and bike's shapes (under 2 MiB) the copy made it 1.1 to 1.6 times slower.
func addGramTiles(sq, data []float64, stride, D int, rows, ahead []int32, indexed bool, w *worker) {
	D4 := (D + 3) &^ 3
	if len(w.buf) != tileRows*D4 {
		w.buf = make([]float64, tileRows*D4) // padding columns stay zero
		w.seq = make([]int32, 0, tileRows)
	}
	if len(rows) == 0 {
		return
	}
	all := data[:cap(data)]
	padded := func(i int32) bool { return int(i)*stride+D4 <= len(all) }
	indexed = indexed && padded(rows[len(rows)-1])
	for lo := 0; lo < len(rows); lo += tileRows {
		chunk := rows[lo:min(lo+tileRows, len(rows))]
		k := len(chunk)
		// Rows increase, so the chunk is consecutive when it spans k rows.
		consecutive := int(chunk[k-1]-chunk[0]) == k-1
		src, ld := all, stride
		if !indexed && !(consecutive && padded(chunk[k-1])) {
			for r, i := range chunk {
				if q := lo + r + prefetchAhead; q < len(rows) {
					f64.Prefetch(data[int(rows[q])*stride:], D)
				} else if q -= len(rows); q < len(ahead) {
					f64.Prefetch(data[int(ahead[q])*stride:], D)
				}
				copy(w.buf[r*D4:r*D4+D], data[int(i)*stride:int(i)*stride+D])
			}
			src, ld = w.buf, D4
			chunk, consecutive = rowRange(w.seq, 0, k), true
		}
		// Column panels of gramCols: the panel's part of the rows stays in
		// the first-level cache while the rows above it are summed. They
		// end at the last column, so that all but the first are whole and
		// the rows above a whole panel take one 4×32 tile.
		base := src[int(chunk[0])*ld:]
		for j1 := D4; j1 > 0; j1 -= gramCols {
			j0 := max(0, j1-gramCols)
			whole := j1-j0 == gramCols
			for a := 0; a < j1; a += 4 {
				switch {
				case whole && a <= j0 && consecutive:
					f64.TileWide(sq[a*D4+j0:], D4, base[a:], ld, base[j0:], ld, k, 8, false)
				case whole && a <= j0:
					f64.TileIdxWide(sq[a*D4+j0:], D4, src[a:], src[j0:], chunk, ld)
				default:
					for b := max(j0, a); b < j1; b += 8 {
						if consecutive {
							f64.TileAdd(sq[a*D4+b:], D4, base[a:], base[b:], ld, k, min(8, j1-b))
						} else {
							f64.TileIdxAdd(sq[a*D4+b:], D4, src[a:], src[b:], chunk, ld, min(8, j1-b))
						}
					}
				}
			}
		}
	}
}

// gatherFloats bounds the data, in floats, whose scattered rows the tile
// kernels read in place: 16 MiB, more than a core's second-level cache and
// less than most last-level ones. (At n = 50,000 and D = 91, 35 MiB, the
// two ways took the same time within the noise.)
const gatherFloats = 16 << 20 / 8

// segmentFloats bounds the segment of rows, in floats, that classGrams
// copies for several pairs of groups to read: 8 MiB.
const segmentFloats = 8 << 20 / 8

// prefetchAhead is how many rows ahead of its copy addGramTiles prefetches
// a row: far enough for the row to arrive, near enough for the prefetches
// in flight to stay few. (On the year set's shape 16 and 48 were no faster
// than 8.)
const prefetchAhead = 8

// gramCols is the width of the column panels of gramTiles, that of the
// widest tile: tileRows rows of 32 columns take 16 KiB.
const gramCols = 32

// rowRange returns the row indices lo..hi-1 in buf.
func rowRange(buf []int32, lo, hi int) []int32 {
	buf = buf[:0]
	for i := lo; i < hi; i++ {
		buf = append(buf, int32(i))
	}
	return buf
}
