package gram

import (
	"math/bits"

	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/mat"

	"github.com/relunet/relunet/relunet/internal/asm/f64"
	"github.com/relunet/relunet/relunet/internal/parallel"
	"github.com/relunet/relunet/relunet/internal/size"
)

// Assembler forms Gram sums, normal matrices and right-hand sides. Its zero
// value uses GOMAXPROCS goroutines and the kernels of package f64.
type Assembler struct {
	Pool parallel.Pool
	// Portable runs the kernels' reference loops even where the assembly
	// runs, so that tests can compare the two.
	Portable bool
	// copyAbove, when positive, replaces gatherFloats, so that tests reach
	// the copies of scattered rows with small data.
	copyAbove int
	// segmentMax, when positive, replaces segmentFloats, so that tests
	// reach segments too large to copy.
	segmentMax int
}

// pattern is the activity of h neurons on n rows: act[i*h+j] reports
// whether neuron j is active on row i.
type pattern struct {
	n, h int
	act  []bool
}

// Normal sets dst (hD×hD) to the hidden step's normal matrix for inputs x
// (n×D, the ones column first), the activity act (n×h, row-major: act[i*h+j]
// when w_jᵀx̃_i > 0), the leaky slope alpha, output weights beta (h×m) and
// ridge lambda on the diagonal. The result does not depend on the number of
// goroutines: every block is summed by one goroutine in row order.
func (as Assembler) Normal(dst *mat.SymDense, x *mat.Dense, act []bool, alpha float64, beta *mat.Dense, lambda float64) {
	n, D := x.Dims()
	h, _ := beta.Dims()
	p := &pattern{n: n, h: h, act: act}
	xr := x.RawMatrix()
	var c mat.Dense
	c.Mul(beta, beta.T())

	gram := as.gramKernel(xr.Data, xr.Stride, n, D)
	raw := dst.RawSymmetric()
	as.pairGrams(raw, gram, p)
	var s []float64
	if alpha != 0 {
		s = make([]float64, D*D)
		as.sumAll(gram, n, s)
	}
	// Turn Q_jk, in the upper triangle of each block, into N_jk: first the
	// blocks off the diagonal, which read P_j = Q_jj, then the diagonal ones.
	a2, ab, b2 := alpha*alpha, alpha*(1-alpha), (1-alpha)*(1-alpha)
	finish := func(j, k int) {
		cjk := c.At(j, k)
		block := raw.Data[j*D*raw.Stride+k*D:] // entry (a, b) at a*raw.Stride+b
		for a := 0; a < D; a++ {
			out := blockRow(raw, D, j, k, a)
			pja := blockRow(raw, D, j, j, a)
			pka := blockRow(raw, D, k, k, a)
			for b := a; b < D; b++ {
				v := b2 * out[b]
				if alpha != 0 {
					v += a2*s[a*D+b] + ab*(pja[b]+pka[b])
				}
				v *= cjk
				out[b] = v
				if k != j {
					// Mirror the symmetric block into its lower triangle.
					block[b*raw.Stride+a] = v
				}
			}
		}
	}
	as.Pool.For(h, func(j, _ int) {
		for k := j + 1; k < h; k++ {
			finish(j, k)
		}
	})
	as.Pool.For(h, func(j, _ int) { finish(j, j) })
	for i := 0; i < h*D; i++ {
		raw.Data[i*raw.Stride+i] += lambda
	}
}

// NormalScratch returns a bound on the bytes that Normal allocates besides
// dst, for n rows, h neurons and D columns on workers goroutines: the
// codes of the neurons' groups, a byte a neuron at most, and for each
// goroutine the rows in class order and their splits (13 bytes a row), the
// sums of classes (at most 10 D4×D4 sums and 512 KiB), the counts of
// classes, and for D > 8 a segment of copied rows, of at most
// segmentFloats.
func NormalScratch(n, h, D, workers int) int64 {
	D4 := (D + 3) &^ 3
	var b size.Bytes
	b.Add(n, h)
	b.Add(13, n, workers)
	b.Add(8, 10*D4*D4+D*D+tileRows*D4+64<<10, workers)
	b.Add(16, 1<<16+1, workers)
	if D > packedMaxD {
		seg, ok := size.Mul(n, D4)
		if !ok {
			seg = segmentFloats
		}
		b.Add(8, min(seg, segmentFloats), workers)
	}
	return b.Total()
}

// blockRow returns row a of the D×D block (j, k) of the normal matrix's
// storage.
func blockRow(raw blas64.Symmetric, D, j, k, a int) []float64 {
	i := (j*D+a)*raw.Stride + k*D
	return raw.Data[i : i+D]
}

// pairGrams writes the upper triangle of Q_jk into block (j, k) of the
// normal matrix's storage for all j ≤ k.
func (as Assembler) pairGrams(raw blas64.Symmetric, g *gramKernel, p *pattern) {
	if g.packed == nil {
		as.classGrams(raw, g, p)
	} else {
		as.classSums(raw, g, p)
	}
}

// classBits returns the number b of neurons per group for classGrams: as
// many as 7, while the 4^b classes of a pair of groups keep 16 rows each on
// average. A pass over the rows costs the same for any b, and there are
// about (h/b)²/2 passes; a class costs two additions of a D×D sum besides its
// rows. Measured, at n = 50000, D = 92, h = 64, groups of 5 took 0.9 s where
// groups of 4 took 1.4 s; on the year set's shape (n = 463715, D = 91,
// h = 64: 28 rows a class with groups of 7, 7 with groups of 8) one hidden
// step took 6.3 to 6.6 s with groups of 7, 6.8 to 7.4 s with groups of 6 or
// 8, and 9.0 to 9.5 s with groups of 5 (alternating runs on one machine).
func classBits(n, h int) int {
	b := 1
	for b < 7 && b < h && n>>(2*(b+1)) >= 16 {
		b++
	}
	return b
}

// classGrams computes the Q_jk for larger D by sharing work between neurons.
// Neurons are taken in groups of b. For a pair of groups (J, K), every row
// falls in one class, given by the activity of the 2b neurons on it; the
// Gram sum of each class is formed once and added to Q_jk for every pair
// (j, k) active in that class. A row then costs one D×D outer product per
// pair of groups rather than one per pair of active neurons: about b² times
// less work for the ReLU, where a quarter of all pairs is active on a row.
//
// The rows are taken by their code in group J, the segment of rows of one
// code cj at a time, and each segment is split by the codes of groups K > J.
// Where the data do not stay in cache, a segment is first copied into the
// worker's storage, where the pairs (J, K) of several K read it from the
// cache: a job is then one J and a range of K (on two goroutines, all K),
// and the data are read from memory once a job instead of once a pair. On
// the year set's shape (ten groups: 45 pairs, and the last group alone)
// that is 10 passes over its 322 MiB instead of 46. Every block is summed
// by one job in the same order whatever the jobs are: cj, then the classes
// of the segment, then the rows.
func (as Assembler) classGrams(raw blas64.Symmetric, g *gramKernel, p *pattern) {
	n, h, D := p.n, p.h, g.D
	b := classBits(n, h)
	codes, groups := as.groupCodes(p, b)
	// Jobs (J, [K0, K1)) of at most span groups K. The pairs within group
	// J come with the pair (J, J+1), from the classes it sorts anyway; only
	// the last group is a job of its own. Where segments are copied, a job
	// takes as many K as leaves two jobs' worth of pairs to each goroutine
	// (on two goroutines, all K of one J), so that the work is still
	// shared evenly.
	span := 1
	if !g.indexed {
		pairs := groups * (groups - 1) / 2
		span = max(1, (pairs+2*as.Pool.Size(pairs)-1)/(2*as.Pool.Size(pairs)))
	}
	var jobs []classJob
	for J := 0; J < groups-1; J++ {
		m := groups - 1 - J
		q := (m + span - 1) / span
		for s := range q {
			jobs = append(jobs, classJob{J, J + 1 + s*m/q, J + 1 + (s+1)*m/q})
		}
	}
	jobs = append(jobs, classJob{groups - 1, groups - 1, groups})
	var gray [256]uint8 // the place of a code in Gray-code order
	for r := range 1 << b {
		gray[r^r>>1] = uint8(r)
	}
	segMax := segmentFloats
	if as.segmentMax > 0 {
		segMax = as.segmentMax
	}
	D4 := (D + 3) &^ 3
	block := func(j, k int) []float64 { return raw.Data[j*D*raw.Stride+k*D:] }
	// The largest jobs take about a second on the year set's shape, so a
	// job looks at the pool's context between codes cj, as the pool does
	// between jobs; the caller discards what a stopped loop computed.
	stopped := as.Pool.Stopped
	as.each(len(jobs), D, n, func(u int, w *worker) {
		J, K0, K1 := jobs[u].J, jobs[u].K0, jobs[u].K1
		// add(cj, K) adds pairSums' sums for the code cj of J and group K
		// to the blocks.
		add := func(cj, K int) func(t int, s []float64) {
			return func(t int, s []float64) {
				for mj := cj; mj != 0; mj &= mj - 1 {
					j := J*b + bits.TrailingZeros(uint(mj))
					if t >= 0 {
						if K*b+t < h {
							f64.AddUpper(block(j, K*b+t), raw.Stride, s, D4, D)
						}
						continue
					}
					for mk := mj; mk != 0; mk &= mk - 1 {
						f64.AddUpper(block(j, J*b+bits.TrailingZeros(uint(mk))), raw.Stride, s, D4, D)
					}
				}
			}
		}
		for j := J * b; j < min(J*b+b, h); j++ {
			k0 := max(j, K0*b)
			if K0 == J+1 || K0 == J {
				k0 = j // also the pairs within J
			}
			for k := k0; k < min(K1*b, h); k++ {
				for a := 0; a < D; a++ {
					clear(blockRow(raw, D, j, k, a)[a&^3:]) // as far as addUpper adds
				}
			}
		}
		if K1 == K0+1 && K0 != J {
			// One pair (J, K): one sort by class (cj, ck) serves every cj.
			sorted, start := w.sortRows(codes, groups, J, K0, b, &gray, 1<<(2*b))
			for cj := 1; cj < 1<<b && !stopped(); cj++ {
				w.pairSums(g, sorted, start[cj<<b:], b, K0 == J+1, add(cj, K0))
			}
			return
		}
		if K0 == J {
			w.codeGrams(g, codes, groups, J, b, func(c int, q []float64, ld int) {
				for mj := c; mj != 0; mj &= mj - 1 {
					j := J*b + bits.TrailingZeros(uint(mj))
					for mk := mj; mk != 0; mk &= mk - 1 {
						f64.AddUpper(block(j, J*b+bits.TrailingZeros(uint(mk))), raw.Stride, q, ld, D)
					}
				}
			})
			return
		}
		sorted, start := w.sortByCode(codes, groups, J, b)
		for cj := 1; cj < 1<<b && !stopped(); cj++ {
			seg := sorted[start[cj]:start[cj+1]]
			if len(seg) == 0 {
				continue
			}
			gk, at := g, seg // the kernel that reads the segment, and where its rows are
			if !g.indexed && len(seg)*D4 <= segMax {
				gk, at = w.copySegment(g, seg, segMax)
			}
			for K := K0; K < K1; K++ {
				sub, bounds := w.splitSegment(seg, at, codes[K:], groups, &gray, 1<<b)
				w.pairSums(gk, sub, bounds, b, K == J+1, add(cj, K))
			}
		}
	})
}

// classJob is a job of classGrams: the pairs of groups (J, K), K0 ≤ K < K1.
type classJob struct{ J, K0, K1 int }

// pairSums sums, for one code cj of group J, the classes (cj, ck) of the
// codes ck of group K, in Gray-code order: the rows of the r-th class are
// sub[bounds[r]:bounds[r+1]]. It calls add(t, R_t) with R_t, the sum of the
// classes with bit t of ck set, for t < b, and with diag also add(-1, S),
// S the sum of all classes, ck = 0 included, for the pairs within J. The
// sums are D4×D4, with the upper triangle as gramTiles forms it.
//
// The classes are summed into one running sum S. The codes ck with bit t
// set come in runs of consecutive codes in Gray-code order, so R_t is the
// sum over those runs of S at the run's end less S at its start.
// Consecutive Gray codes differ in one bit, so a class costs its rows and
// one addition of S whatever b is (counting in binary costs two on
// average, adding each class's sum to the partial sums of its neurons b/2
// and a cleared sum). Runs are opened and closed only at classes that have
// rows. Each block of the normal matrix is then added to once per code cj:
// 2^(b-1)·b times instead of 4^(b-1).
func (w *worker) pairSums(g *gramKernel, sub []int32, bounds []int, b int, diag bool, add func(t int, s []float64)) {
	D4 := (g.D + 3) &^ 3
	part := w.partial((b + 1) * D4 * D4)
	run := part[b*D4*D4:]
	clear(part)
	first := 1
	if diag {
		first = 0
	}
	found := false
	var open int // bit t set: R_t holds -S from the start of a run
	for r := first; r < 1<<b; r++ {
		ck := r ^ r>>1 // the r-th Gray code
		rows := sub[bounds[r]:bounds[r+1]]
		if len(rows) == 0 {
			continue
		}
		if !found {
			// S = 0: the runs that start here subtract nothing.
			found, open = true, ck
		} else {
			for m := open ^ ck; m != 0; m &= m - 1 {
				t := bits.TrailingZeros(uint(m))
				if ck>>t&1 == 1 {
					f64.SubUpper(part[t*D4*D4:], D4, run, D4, g.D)
				} else {
					f64.AddUpper(part[t*D4*D4:], D4, run, D4, g.D)
				}
			}
			open = ck
		}
		g.add(run, rows, sub[bounds[r+1]:], w)
	}
	if !found {
		return
	}
	for m := open; m != 0; m &= m - 1 {
		f64.AddUpper(part[bits.TrailingZeros(uint(m))*D4*D4:], D4, run, D4, g.D)
	}
	for t := range b {
		add(t, part[t*D4*D4:])
	}
	if diag {
		add(-1, run)
	}
}

// copySegment copies the rows seg of g's data into the worker's storage of
// limit floats, D4 floats a row, and returns the kernel that reads them there
// and their places 0, 1, ... in its data. The copy prefetches the row
// prefetchAhead rows on.
func (w *worker) copySegment(g *gramKernel, seg []int32, limit int) (*gramKernel, []int32) {
	D, D4 := g.D, (g.D+3)&^3
	if w.seg == nil {
		w.seg = make([]float64, limit) // no garbage from growing it
	}
	// Padding columns stay zero: only the first D of every row are written.
	w.seg = w.seg[:len(seg)*D4]
	for r, i := range seg {
		if q := r + prefetchAhead; q < len(seg) {
			f64.Prefetch(g.data[int(seg[q])*g.stride:], D)
		}
		copy(w.seg[r*D4:r*D4+D], g.data[int(i)*g.stride:int(i)*g.stride+D])
	}
	if cap(w.places) < len(seg) {
		w.places = make([]int32, 0, len(seg))
	}
	w.places = rowRange(w.places, 0, len(seg))
	w.segKernel = gramKernel{data: w.seg, stride: D4, D: D, tiles: g.tiles, indexed: true}
	return &w.segKernel, w.places
}

// splitSegment sorts the rows of a segment by their class in group K with
// a counting sort: row seg[r], found at at[r] by the segment's kernel, has
// code codesK[seg[r]*groups] and class place[code]. It returns the places
// at grouped by class, in the worker's storage, and the offset of each
// class's first row, classes+1 of them.
func (w *worker) splitSegment(seg, at []int32, codesK []uint8, groups int, place *[256]uint8, classes int) (sub []int32, bounds []int) {
	w.subCounts = parallel.Grow(w.subCounts, classes+1)
	bounds = w.subCounts
	clear(bounds)
	w.subClass = parallel.Grow(w.subClass, len(seg))
	for r, i := range seg {
		c := place[codesK[int(i)*groups]]
		w.subClass[r] = c
		bounds[int(c)+1]++
	}
	for c := 1; c <= classes; c++ {
		bounds[c] += bounds[c-1]
	}
	w.sub = parallel.Grow(w.sub, len(seg))
	next := w.next(classes)
	copy(next, bounds[:classes])
	for r, c := range w.subClass[:len(seg)] {
		w.sub[next[c]] = at[r]
		next[c]++
	}
	return w.sub, bounds
}

// sortRows sorts the rows by class with a counting sort, without
// branches: row i's class is code_J<<shift | place[code_K], its codes in
// groups J and K (codes and groups as groupCodes returns them). It returns
// the rows grouped by class, in the worker's storage, and the offset of
// each class's first row, classes+1 of them.
func (w *worker) sortRows(codes []uint8, groups, J, K, shift int, place *[256]uint8, classes int) (sorted []int32, start []int) {
	n := len(codes) / groups
	w.counts = parallel.Grow(w.counts, classes+1)
	start = w.counts
	clear(start)
	for i := 0; i < n; i++ {
		start[int(codes[i*groups+J])<<shift|int(place[codes[i*groups+K]])+1]++
	}
	for c := 1; c <= classes; c++ {
		start[c] += start[c-1]
	}
	sorted = w.rows[:n]
	next := w.next(classes)
	copy(next, start[:classes])
	for i := 0; i < n; i++ {
		c := int(codes[i*groups+J])<<shift | int(place[codes[i*groups+K]])
		sorted[next[c]] = int32(i)
		next[c]++
	}
	return sorted, start
}

// sortByCode sorts the rows by their code in group J, of b neurons, with
// sortRows: the class of a row is its code.
func (w *worker) sortByCode(codes []uint8, groups, J, b int) (sorted []int32, start []int) {
	var ident [256]uint8
	for r := range 1 << b {
		ident[r] = uint8(r)
	}
	return w.sortRows(codes, groups, J, J, 0, &ident, 1<<b)
}

// codeGrams calls f(c, q, ld) for every code c ≠ 0 of group J that rows
// have, in increasing order, with the Gram sum of those rows as g.gram
// returns it.
func (w *worker) codeGrams(g *gramKernel, codes []uint8, groups, J, b int, f func(c int, q []float64, ld int)) {
	sorted, start := w.sortByCode(codes, groups, J, b)
	for c := 1; c < 1<<b; c++ {
		rows := sorted[start[c]:start[c+1]]
		if len(rows) == 0 {
			continue
		}
		q, ld := g.gram(rows, sorted[start[c+1]:], w)
		f(c, q, ld)
	}
}

// groupCodes returns the activity codes of the neurons taken in groups of b
// ≤ 8: codes[i*groups+J] has bit t set when neuron J*b+t is active on row i.
func (as Assembler) groupCodes(p *pattern, b int) (codes []uint8, groups int) {
	n, h := p.n, p.h
	groups = (h + b - 1) / b
	codes = make([]uint8, n*groups)
	as.Pool.Rows(n, func(_, lo, hi int) {
		for i := lo; i < hi; i++ {
			out := codes[i*groups : (i+1)*groups]
			J, t := 0, 0
			var c uint8
			for _, on := range p.act[i*h : (i+1)*h] {
				c |= uint8(b2i(on)) << t
				if t++; t == b {
					out[J] = c
					J, t, c = J+1, 0, 0
				}
			}
			if t > 0 {
				out[J] = c
			}
		}
	})
	return codes, groups
}

// groupPair is a pair of neuron groups J ≤ K.
type groupPair struct{ J, K int }

// groupPairs returns all pairs of groups J ≤ K, in order.
func groupPairs(groups int) []groupPair {
	var units []groupPair
	for J := 0; J < groups; J++ {
		for K := J; K < groups; K++ {
			units = append(units, groupPair{J, K})
		}
	}
	return units
}

// sumBits returns the number b of neurons per group for classSums: as many
// as 8, while the 4^b classes of a pair of groups, t4 sums each, stay within
// 256 KiB, the second-level cache, and while combining the classes, about
// 4^b·b/2 additions of T sums, costs at most a quarter of the pass over the
// rows.
func sumBits(n, h, t4 int) int {
	b := 1
	for b < 8 && b < h && (1<<(2*(b+1)))*t4*8 <= 256<<10 && (1<<(2*(b+1)))*(b+1)/2 <= n/4 {
		b++
	}
	return b
}

// classSums computes the Q_jk for D ≤ packedMaxD by the classes of
// classGrams. A class's Gram sum is then just T = D(D+1)/2 packed products,
// so every row is added to its class in one pass, without sorting, and
// groups can be larger. For a pair of groups (J, K ≠ J), Q_jk is summed as in
// classGrams, through the partial sums R_k(cj) over the classes (cj, ck)
// with k in ck.
func (as Assembler) classSums(raw blas64.Symmetric, g *gramKernel, p *pattern) {
	n, h, D := p.n, p.h, g.D
	T := D * (D + 1) / 2
	b := sumBits(n, h, g.t4)
	codes, groups := as.groupCodes(p, b)
	units := groupPairs(groups)
	as.each(len(units), D, n, func(u int, w *worker) {
		J, K := units[u].J, units[u].K
		shift := b
		if J == K {
			shift = 0
		}
		classes := 1 << (b + shift)
		// sums[c*t4:] for the classes, then b partial sums, then the
		// b×b pair sums q[(s*b+t)*T:] of Q_jk, j = J*b+s, k = K*b+t.
		t4 := g.t4
		buf := w.partial(classes*t4 + (b+b*b)*T)
		clear(buf)
		sums, part, q := buf[:classes*t4], buf[classes*t4:classes*t4+b*T], buf[classes*t4+b*T:]
		// Rows with no active neuron in J or K land in classes that are
		// never read: adding them costs less than a branch.
		f64.ClassAdd(sums, g.packed, codes[J:], codes[K:], groups, shift, 1<<b-1, n, t4)
		add := func(dst, src []float64) {
			for t, v := range src[:T] {
				dst[t] += v
			}
		}
		if J == K {
			for c := 1; c < classes; c++ {
				for ms := c; ms != 0; ms &= ms - 1 {
					s := bits.TrailingZeros(uint(ms))
					for mt := ms; mt != 0; mt &= mt - 1 {
						add(q[(s*b+bits.TrailingZeros(uint(mt)))*T:], sums[c*t4:])
					}
				}
			}
		} else {
			for cj := 1; cj < 1<<b; cj++ {
				clear(part)
				for ck := 1; ck < 1<<b; ck++ {
					c := cj | ck<<b
					for mt := ck; mt != 0; mt &= mt - 1 {
						add(part[bits.TrailingZeros(uint(mt))*T:], sums[c*t4:])
					}
				}
				for ms := cj; ms != 0; ms &= ms - 1 {
					s := bits.TrailingZeros(uint(ms))
					for t := range b {
						add(q[(s*b+t)*T:], part[t*T:])
					}
				}
			}
		}
		acc := w.acc
		for s := range b {
			for t := range b {
				j, k := J*b+s, K*b+t
				if j >= h || k >= h || k < j {
					continue
				}
				clear(acc)
				g.unpack(acc, q[(s*b+t)*T:(s*b+t+1)*T])
				for a := 0; a < D; a++ {
					copy(blockRow(raw, D, j, k, a)[a:], acc[a*D+a:a*D+D])
				}
			}
		}
	})
}

// each calls f(j, w) for j in [0, jobs) on the pool, with the scratch space
// w of the goroutine that runs it, sized for D×D sums and n rows.
func (as Assembler) each(jobs, D, n int, f func(j int, w *worker)) {
	ws := make([]*worker, as.Pool.Size(jobs))
	as.Pool.For(jobs, func(j, g int) {
		if ws[g] == nil {
			ws[g] = &worker{acc: make([]float64, D*D), rows: make([]int32, 0, n)}
		}
		f(j, ws[g])
	})
}

// RHS returns the right-hand side of the hidden step as an h×D matrix:
// row j is Σ_i G_ij ((y_i - β₀)·β_j) x̃_i. It is the product X̃ᵀS, S_ij =
// G_ij (y_i - β₀)·β_j, summed on the tile kernels from groups of rows laid
// out as [x̃_i | s_i], each part padded to a multiple of 4 columns, so that
// no n×h temporary is needed.
// The arguments are those of Normal, with the targets y (n×m) and the
// output biases beta0.
func (as Assembler) RHS(x, y *mat.Dense, act []bool, alpha float64, beta *mat.Dense, beta0 []float64) *mat.Dense {
	n, D := x.Dims()
	h, m := beta.Dims()
	p := &pattern{n: n, h: h, act: act}
	D4, h4 := (D+3)&^3, (h+3)&^3
	ld := D4 + h4
	xr, yr := x.RawMatrix(), y.RawMatrix()
	betaT := mat.DenseCopyOf(beta.T()).RawMatrix().Data // m×h
	g := [2]float64{alpha, 1}
	xs := make([]float64, D4*h4) // X̃ᵀS, D4×h4
	as.Pool.SumRows(n, xs, func(_, lo, hi int, acc []float64) {
		buf := make([]float64, tileRows*ld) // padding stays zero
		var res []float64                   // y_i - β₀ for m > 1, tileRows×m
		if m > 1 {
			res = make([]float64, tileRows*m)
		}
		for s0 := lo; s0 < hi; s0 += tileRows {
			e := min(s0+tileRows, hi)
			if m > 1 {
				// (y_i - β₀)·β_j for the rows of the tile, on the kernel of
				// the forward pass.
				for r := range e - s0 {
					y := yr.Data[(s0+r)*yr.Stride : (s0+r)*yr.Stride+m]
					for o, v := range y {
						res[r*m+o] = v - beta0[o]
					}
				}
				f64.RowsTimes(buf[D4:], ld, res, m, betaT, e-s0, m, h)
			}
			for r := range e - s0 {
				i, row := s0+r, buf[r*ld:(r+1)*ld]
				copy(row, xr.Data[i*xr.Stride:i*xr.Stride+D])
				s := row[D4 : D4+h]
				act := p.act[i*h : (i+1)*h]
				if m == 1 {
					// One pass: s_j = G_ij·(y_i - β₀)·β_j.
					res := yr.Data[i*yr.Stride] - beta0[0]
					for j, b := range betaT[:h] {
						s[j] = res * b * g[b2i(act[j])]
					}
					continue
				}
				scaleActive(s, act, g)
			}
			for a := 0; a < D4; a += 4 {
				for q := 0; q < h4; q += 8 {
					f64.TileAdd(acc[a*h4+q:], h4, buf[a:], buf[D4+q:], ld, e-s0, min(8, h4-q))
				}
			}
		}
	})
	rhs := mat.NewDense(h, D, nil)
	for j := range h {
		for a := range D {
			rhs.Set(j, a, xs[a*h4+j])
		}
	}
	return rhs
}

// scaleActive multiplies row[j] by g[1] where on[j] and by g[0] elsewhere,
// G_ij for g = {α, 1}, without branches: activity is unpredictable.
func scaleActive(row []float64, on []bool, g [2]float64) {
	on = on[:len(row)]
	for j := range row {
		row[j] *= g[b2i(on[j])]
	}
}

// b2i is 1 for true and 0 for false; the compiler makes it a flag move.
func b2i(b bool) int {
	var i int
	if b {
		i = 1
	}
	return i
}
