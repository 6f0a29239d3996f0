package parallel

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"sync/atomic"
	"testing"
)

// Every job runs once, on a worker within Size.
func TestForRunsEveryJobOnce(t *testing.T) {
	for _, workers := range []int{0, 1, 3, 64} {
		p := Pool{Workers: workers}
		const jobs = 1000
		var seen [jobs]atomic.Int32
		p.For(jobs, func(j, w int) {
			if w < 0 || w >= p.Size(jobs) {
				t.Errorf("workers %d: worker %d outside [0, %d)", workers, w, p.Size(jobs))
			}
			seen[j].Add(1)
		})
		for j := range seen {
			if n := seen[j].Load(); n != 1 {
				t.Fatalf("workers %d: job %d ran %d times", workers, j, n)
			}
		}
	}
	if s := (Pool{Workers: 8}).Size(0); s != 1 {
		t.Errorf("Size(0) = %d, want 1", s)
	}
}

// SumRows gives the same bits for any number of workers, and the sum.
func TestSumRowsDoesNotDependOnWorkers(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	n := 11*ChunkRows + 123
	v := make([]float64, n)
	exact := 0.0
	for i := range v {
		v[i] = rng.NormFloat64() * math.Pow(10, float64(rng.IntN(12)-6))
		exact += v[i]
	}
	var first float64
	for k, workers := range []int{1, 2, 5, 16} {
		var dst [1]float64
		Pool{Workers: workers}.SumRows(n, dst[:], func(_, lo, hi int, acc []float64) {
			for _, x := range v[lo:hi] {
				acc[0] += x
			}
		})
		if k == 0 {
			first = dst[0]
		} else if math.Float64bits(dst[0]) != math.Float64bits(first) {
			t.Errorf("workers %d: sum %v, one worker %v", workers, dst[0], first)
		}
	}
	if math.Abs(first-exact) > 1e-9*math.Abs(exact)+1e-9 {
		t.Errorf("sum %v, want %v", first, exact)
	}
}

// Rows covers [0, n) with the fixed chunks.
func TestRowsCoversEveryRow(t *testing.T) {
	n := 3*ChunkRows + 5
	hit := make([]int32, n)
	Pool{}.Rows(n, func(c, lo, hi int) {
		if lo != c*ChunkRows || hi > n || hi-lo > ChunkRows {
			t.Errorf("chunk %d is [%d, %d)", c, lo, hi)
		}
		for i := lo; i < hi; i++ {
			hit[i]++
		}
	})
	for i, h := range hit {
		if h != 1 {
			t.Fatalf("row %d covered %d times", i, h)
		}
	}
}

// A cancelled pool hands out no more jobs: the loop ends after the jobs
// under way, and Err says why. Jobs may run while cancel is still under way,
// so the test counts the jobs that begin after cancel has returned: each
// other worker may have taken one before it saw the context end, no more.
func TestForStopsWhenCancelled(t *testing.T) {
	for _, workers := range []int{1, 4} {
		ctx, cancel := context.WithCancel(context.Background())
		p := Pool{Workers: workers, Ctx: ctx}
		var ran, late atomic.Int32
		var cancelled atomic.Bool
		p.For(1000, func(j, _ int) {
			if cancelled.Load() {
				late.Add(1)
			}
			if ran.Add(1) == 10 {
				cancel()
				cancelled.Store(true)
			}
		})
		if n := ran.Load(); n < 10 {
			t.Errorf("workers %d: the loop ended after %d jobs, before the cancel", workers, n)
		}
		if n := late.Load(); n > int32(workers-1) {
			t.Errorf("workers %d: %d jobs began after the cancel had returned", workers, n)
		}
		if !errors.Is(p.Err(), context.Canceled) {
			t.Errorf("workers %d: Err %v", workers, p.Err())
		}
	}
	if (Pool{}).Err() != nil {
		t.Error("a pool without a context has an error")
	}
}

// A panic in a worker reaches the caller, who can recover it.
func TestForRaisesPanicsInTheCaller(t *testing.T) {
	defer func() {
		if r := recover(); r != "boom" {
			t.Errorf("recovered %v, want boom", r)
		}
	}()
	Pool{Workers: 4}.For(100, func(j, _ int) {
		if j == 50 {
			panic("boom")
		}
	})
	t.Error("For returned after a panic")
}
