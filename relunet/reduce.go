package relunet

import (
	"sync"
	"sync/atomic"
)

// chunkRows is the number of rows of one chunk of a row reduction, and
// reduceLanes the number of partial sums: chunk c is added to lane
// c mod reduceLanes, the chunks of a lane in order, and the lanes in order at
// the end. Neither depends on the number of workers, so reductions give the
// same bits whatever the scheduling, with memory for reduceLanes partial
// sums however many rows there are.
const (
	chunkRows   = 4096
	reduceLanes = 8
)

// reduceRows sets dst (length k) to the sum over the chunks of [0, n) of
// part(lo, hi, acc), where part adds the contribution of rows lo..hi-1 to
// the accumulator acc of length k.
func (as assembler) reduceRows(n int, dst []float64, part func(lo, hi int, acc []float64)) {
	k := len(dst)
	chunks := (n + chunkRows - 1) / chunkRows
	lanes := min(chunks, reduceLanes)
	accs := make([]float64, lanes*k)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range as.nworkers(lanes) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				l := int(next.Add(1)) - 1
				if l >= lanes {
					return
				}
				for c := l; c < chunks; c += lanes {
					part(c*chunkRows, min((c+1)*chunkRows, n), accs[l*k:(l+1)*k])
				}
			}
		}()
	}
	wg.Wait()
	clear(dst)
	for l := 0; l < lanes; l++ {
		for i, v := range accs[l*k : (l+1)*k] {
			dst[i] += v
		}
	}
}

// rowRange returns the row indices lo..hi-1 in buf.
func rowRange(buf []int32, lo, hi int) []int32 {
	buf = buf[:0]
	for i := lo; i < hi; i++ {
		buf = append(buf, int32(i))
	}
	return buf
}

// forRows calls part(c, lo, hi) for the chunks c = [lo, hi) of [0, n) on
// as's workers. Each chunk must write only its own rows, so the result does
// not depend on scheduling.
func (as assembler) forRows(n int, part func(c, lo, hi int)) {
	chunks := (n + chunkRows - 1) / chunkRows
	as.parallel(chunks, func(c int, _ *worker) {
		part(c, c*chunkRows, min((c+1)*chunkRows, n))
	}, 0, 0)
}
