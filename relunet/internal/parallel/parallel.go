// Package parallel runs relunet's data-parallel loops on a bounded number
// of goroutines, so that results do not depend on how many there are.
//
// Work is split into units fixed by the problem, never by the number of
// goroutines: jobs handed out in increasing order, each of which writes only
// its own output, and reductions over rows in chunks of ChunkRows rows,
// chunk c added to lane c mod Lanes, the chunks of a lane in order and the
// lanes in order at the end. A run gives the same bits for any GOMAXPROCS
// and any Pool size, with memory for Lanes partial sums however many rows
// there are.
package parallel

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
)

const (
	// ChunkRows is the number of rows of one unit of work of Rows and
	// SumRows.
	ChunkRows = 4096
	// Lanes is the number of partial sums of SumRows.
	Lanes = 8
)

// Pool bounds the goroutines of a loop. Its zero value uses GOMAXPROCS and
// is never cancelled.
type Pool struct {
	// Workers is the largest number of goroutines; 0 or less means
	// GOMAXPROCS.
	Workers int
	// Ctx, when not nil, stops a loop: once it is done, For hands out no
	// more jobs, so that a loop ends after the jobs under way. The caller
	// then finds the error in Err and discards what the loop computed.
	Ctx context.Context
}

// Err returns the error of the pool's context, or nil.
func (p Pool) Err() error {
	if p.Ctx == nil {
		return nil
	}
	return context.Cause(p.Ctx)
}

// Done returns the channel closed when the pool is cancelled, or nil (a
// channel that is never ready) when it has no context.
func (p Pool) Done() <-chan struct{} {
	if p.Ctx == nil {
		return nil
	}
	return p.Ctx.Done()
}

// Stopped reports whether the pool's context is done: a loop that runs
// long within one job looks at it between its parts, as For does between
// jobs.
func (p Pool) Stopped() bool {
	select {
	case <-p.Done():
		return true
	default:
		return false
	}
}

// Size returns the number of goroutines that For uses for jobs jobs, at
// least 1: callers size their per-goroutine scratch space with it.
func (p Pool) Size(jobs int) int {
	w := p.Workers
	if w <= 0 {
		w = runtime.GOMAXPROCS(0)
	}
	return max(1, min(w, jobs))
}

// For calls f(job, worker) for every job in [0, jobs), handing the jobs out
// in increasing order to Size(jobs) goroutines; worker in [0, Size(jobs))
// names the goroutine, so that f can use scratch space of its own. Once the
// pool's context is done it hands out no more jobs. A panic in f is raised
// again in the caller's goroutine, once every goroutine has stopped, so
// that a caller can recover it.
func (p Pool) For(jobs int, f func(job, worker int)) {
	stopped := p.Stopped
	nw := p.Size(jobs)
	if nw == 1 {
		for j := 0; j < jobs && !stopped(); j++ {
			f(j, 0)
		}
		return
	}
	var (
		next   atomic.Int64
		wg     sync.WaitGroup
		mu     sync.Mutex
		thrown any
	)
	for w := range nw {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() {
				if r := recover(); r != nil {
					mu.Lock()
					if thrown == nil {
						thrown = r
					}
					mu.Unlock()
					next.Store(int64(jobs)) // the others stop too
				}
			}()
			for !stopped() {
				j := int(next.Add(1)) - 1
				if j >= jobs {
					return
				}
				f(j, w)
			}
		}()
	}
	wg.Wait()
	if thrown != nil {
		panic(thrown)
	}
}

// Rows calls f(chunk, lo, hi) for the chunks [lo, hi) of ChunkRows rows of
// [0, n). Each call must write only its own rows.
func (p Pool) Rows(n int, f func(chunk, lo, hi int)) {
	chunks := (n + ChunkRows - 1) / ChunkRows
	p.For(chunks, func(c, _ int) {
		f(c, c*ChunkRows, min((c+1)*ChunkRows, n))
	})
}

// SumRows sets dst to the sum over the chunks of [0, n) of part(lane, lo,
// hi, acc), where part adds the contribution of rows lo..hi-1 to the
// accumulator acc, of len(dst) entries; lane, in [0, Lanes), names the
// sequence of chunks the call belongs to, whose calls never run at once,
// so that part can keep scratch space per lane. Once the pool's context is
// done, no more chunks are summed.
func (p Pool) SumRows(n int, dst []float64, part func(lane, lo, hi int, acc []float64)) {
	k := len(dst)
	chunks := (n + ChunkRows - 1) / ChunkRows
	lanes := min(chunks, Lanes)
	accs := make([]float64, lanes*k)
	done := p.Done()
	p.For(lanes, func(l, _ int) {
		for c := l; c < chunks; c += lanes {
			select {
			case <-done:
				return
			default:
			}
			part(l, c*ChunkRows, min((c+1)*ChunkRows, n), accs[l*k:(l+1)*k])
		}
	})
	clear(dst)
	for l := 0; l < lanes; l++ {
		for i, v := range accs[l*k : (l+1)*k] {
			dst[i] += v
		}
	}
}

// Grow returns buf resized to n, reallocated when too small.
func Grow[T any](buf []T, n int) []T {
	if cap(buf) < n {
		return make([]T, n)
	}
	return buf[:n]
}
