package relunet

import (
	"sync"
	"sync/atomic"
)

// chunkRows is the number of rows of one chunk of a row reduction. Chunk
// boundaries do not depend on the number of workers, and partial results
// are added in chunk order, so reductions give the same bits whatever the
// scheduling.
const chunkRows = 4096

// reduceRows sets dst (length k) to the sum over the chunks of [0, n) of
// part(lo, hi, acc), where part adds the contribution of rows lo..hi-1 to a
// zeroed accumulator acc of length k. Memory is one accumulator per chunk.
func (as assembler) reduceRows(n int, dst []float64, part func(lo, hi int, acc []float64)) {
	k := len(dst)
	chunks := (n + chunkRows - 1) / chunkRows
	accs := make([]float64, chunks*k)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range as.nworkers(chunks) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				c := int(next.Add(1)) - 1
				if c >= chunks {
					return
				}
				part(c*chunkRows, min((c+1)*chunkRows, n), accs[c*k:(c+1)*k])
			}
		}()
	}
	wg.Wait()
	clear(dst)
	for c := 0; c < chunks; c++ {
		for i, v := range accs[c*k : (c+1)*k] {
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
