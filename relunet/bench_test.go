package relunet_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"testing"
	"time"

	"gonum.org/v1/gonum/mat"

	"github.com/relunet/relunet/relunet"
	"github.com/relunet/relunet/relunet/data"
	"github.com/relunet/relunet/relunet/experiment"
)

// reportGFLOPS reports the dense-equivalent rate n·(hD)²/s of the hidden step.
func reportGFLOPS(b *testing.B, n, hD int) {
	b.ReportMetric(float64(n)*float64(hD)*float64(hD)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}

// benchProblem returns n×d standard normal inputs and targets sin(x₁) plus
// noise.
func benchProblem(seed uint64, n, d int) (*mat.Dense, *mat.Dense) {
	rng := rand.New(rand.NewPCG(seed, 1))
	X, Y := mat.NewDense(n, d, nil), mat.NewDense(n, 1, nil)
	for i := 0; i < n; i++ {
		for j := 0; j < d; j++ {
			X.Set(i, j, rng.NormFloat64())
		}
		Y.Set(i, 0, math.Sin(X.At(i, 0))+0.1*rng.NormFloat64())
	}
	return X, Y
}

// BenchmarkHiddenStep times one hidden step (assembly and solve) on synthetic
// data with n = 10000, D = 31, h = 50.
func BenchmarkHiddenStep(b *testing.B) {
	const n, d, h = 10000, 30, 50
	X, Y := benchProblem(1, n, d)
	opts := relunet.AnalyticOptions{Hidden: h}
	opts.HiddenSolve = relunet.SolvePrimal
	a, err := relunet.NewAnalytic(context.Background(), X, Y, opts)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if _, err := a.HiddenStep(); err != nil {
			b.Fatal(err)
		}
	}
	reportGFLOPS(b, n, h*(d+1))
}

// BenchmarkAlternation times one full alternation on the reference data sets,
// averaged over runs of 30 (skipped when the data directories do not have
// them).
func BenchmarkAlternation(b *testing.B) {
	for _, tc := range []struct {
		name string
		h    int
	}{{"abalone", 32}, {"bike", 32}, {"sdf", 32}, {"sdf", 64}} {
		b.Run(fmt.Sprintf("%s/h=%d", tc.name, tc.h), func(b *testing.B) {
			sp := referenceSplit(b, tc.name, 0)
			opts := relunet.AnalyticOptions{Hidden: tc.h}
			start := func() *relunet.Analytic {
				a, err := relunet.NewAnalytic(context.Background(), sp.XTrain, sp.YTrain, opts)
				if err != nil {
					b.Fatal(err)
				}
				return a
			}
			// Runs of the reference's 30 alternations, restarted as needed:
			// later alternations are harder (the system's condition grows
			// and more steps need the eigen fallback), so the mean is that
			// of a whole run.
			a := start()
			b.ResetTimer()
			for b.Loop() {
				if a.Last().Iter == a.Options().Iterations {
					b.StopTimer()
					a = start()
					b.StartTimer()
				}
				if !a.Step() {
					b.Fatal(a.Err())
				}
			}
			n, d := sp.XTrain.Dims()
			reportGFLOPS(b, n, tc.h*(d+1))
		})
	}
}

// BenchmarkAlternationLarge times full alternations at n = 50000, D = 91,
// h = 64 with the direct solve and with the matrix-free conjugate-gradient
// solve warm-started from the current W, and reports the hidden step's
// share, the CG iterations and the peak heap.
func BenchmarkAlternationLarge(b *testing.B) {
	const n, d, h = 50000, 90, 64
	X, Y := benchProblem(1, n, d)
	for _, tc := range []struct {
		name   string
		solver relunet.HiddenSolve
	}{{"direct", relunet.SolvePrimal}, {"cg", relunet.SolveCG}} {
		b.Run(tc.name, func(b *testing.B) {
			opts := relunet.AnalyticOptions{Hidden: h}
			opts.Iterations, opts.Tol, opts.Patience = -1, -1, -1 // step for as long as the benchmark asks
			opts.HiddenSolve = tc.solver
			a, err := relunet.NewAnalytic(context.Background(), X, Y, opts)
			if err != nil {
				b.Fatal(err)
			}
			runtime.GC()
			b.ResetTimer()
			var hidden float64
			var iters int
			for b.Loop() {
				if !a.Step() {
					b.Fatal(a.Err())
				}
				r := a.Last().Analytic.Hidden
				if r.Solve != tc.solver {
					b.Fatalf("solved by %v, want %v", r.Solve, tc.solver)
				}
				hidden += r.AssembleSeconds + r.SolveSeconds
				iters += r.CGIters
			}
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			b.ReportMetric(hidden/float64(b.N), "hidden-s/op")
			b.ReportMetric(float64(iters)/float64(b.N), "cg-iters/op")
			b.ReportMetric(float64(ms.HeapSys)/(1<<20), "heap-MiB")
		})
	}
}

// peakHeap runs f and returns the largest heap (live and not yet swept
// objects) seen while it ran, sampled every 5 ms, and the heap before it.
func peakHeap(f func()) (peak, before uint64) {
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	read := func() uint64 { metrics.Read(sample); return sample[0].Value.Uint64() }
	runtime.GC()
	before = read()
	peak = before
	done, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				peak = max(peak, read())
			}
		}
	}()
	func() {
		defer func() { close(done); <-stopped }() // also when f stops the benchmark
		f()
	}()
	return max(peak, read()), before
}

// benchAlternations times one alternation per op on a fresh solver (its
// first alternation after the initial output step), and reports the hidden
// step's share and its assembly's, the solve used, the peak heap while stepping and the heap
// of the data alone.
func benchAlternations(b *testing.B, X, Y *mat.Dense, h int) {
	opts := relunet.AnalyticOptions{Hidden: h}
	opts.Iterations, opts.Tol, opts.Patience = -1, -1, -1 // step for as long as the benchmark asks
	var hidden, assemble, iters float64
	var solve relunet.HiddenSolve
	peak, before := peakHeap(func() {
		for b.Loop() {
			b.StopTimer()
			runtime.GC() // the last op's solver is not counted in this one's peak
			a, err := relunet.NewAnalytic(context.Background(), X, Y, opts)
			if err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			if !a.Step() {
				b.Fatal(a.Err())
			}
			r := a.Last().Analytic.Hidden
			hidden += r.AssembleSeconds + r.SolveSeconds
			assemble += r.AssembleSeconds
			iters += float64(r.CGIters)
			solve = r.Solve
		}
	})
	b.ReportMetric(hidden/float64(b.N), "hidden-s/op")
	b.ReportMetric(assemble/float64(b.N), "assemble-s/op")
	if iters > 0 {
		b.ReportMetric(iters/float64(b.N), "cg-iters/op")
	}
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
	b.ReportMetric(float64(before)/(1<<20), "data-MiB")
	b.Logf("hidden step solved by %s", solve)
}

// BenchmarkAlternationPatches times one alternation of the denoising
// autoencoder on all 27556 patches of camera.png: 225 inputs and outputs,
// h = 32, h·D = 7232 unknowns in the hidden step.
func BenchmarkAlternationPatches(b *testing.B) {
	ds, err := (&data.Loader{NoFetch: true}).Load(context.Background(), "patches")
	if errors.Is(err, data.ErrNoData) {
		b.Skipf("skipping: %v", err)
	}
	if err != nil {
		b.Fatal(err)
	}
	opts := experiment.Reference()
	opts.TestFraction = 0
	sp, err := experiment.Prepare(ds, opts)
	if err != nil {
		b.Fatal(err)
	}
	benchAlternations(b, sp.XTrain, sp.YTrain, 32)
}

// yearShape returns the training rows of the year set's stand-in: 463715
// rows, 90 inputs, standardised, the target centred.
func yearShape(b *testing.B) (X, Y *mat.Dense) {
	ds, err := data.YearLike(data.YearRows, 0)
	if err != nil {
		b.Fatal(err)
	}
	opts := experiment.Reference()
	opts.FixedSplit = true
	sp, err := experiment.Prepare(ds, opts)
	if err != nil {
		b.Fatal(err)
	}
	return sp.XTrain, sp.YTrain
}

// BenchmarkAlternationYear times one alternation on the YearPredictionMSD
// shape: 463715 × 91, h = 64.
func BenchmarkAlternationYear(b *testing.B) {
	X, Y := yearShape(b)
	benchAlternations(b, X, Y, 64)
}

// BenchmarkRunYear times the reference's whole run, 30 alternations, on
// the YearPredictionMSD shape with h = 64.
func BenchmarkRunYear(b *testing.B) {
	X, Y := yearShape(b)
	opts := relunet.AnalyticOptions{Hidden: 64}
	peak, before := peakHeap(func() {
		for b.Loop() {
			a, err := relunet.NewAnalytic(context.Background(), X, Y, opts)
			if err != nil {
				b.Fatal(err)
			}
			for a.Step() {
			}
			if a.Err() != nil || a.Last().Iter != 30 {
				b.Fatalf("stopped at %d of 30: %v (%v)", a.Last().Iter, a.Status(), a.Err())
			}
		}
	})
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
	b.ReportMetric(float64(before)/(1<<20), "data-MiB")
}

// BenchmarkHiddenStepWide times one hidden step on abalone with h = 1000:
// 8000 unknowns, more than the training rows.
func BenchmarkHiddenStepWide(b *testing.B) {
	sp := referenceSplit(b, "abalone", 0)
	a, err := relunet.NewAnalytic(context.Background(), sp.XTrain, sp.YTrain, relunet.AnalyticOptions{Hidden: 1000})
	if err != nil {
		b.Fatal(err)
	}
	var solve relunet.HiddenSolve
	peak, before := peakHeap(func() {
		for b.Loop() {
			r, err := a.HiddenStep()
			if err != nil {
				b.Fatal(err)
			}
			solve = r.Solve
		}
	})
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
	b.ReportMetric(float64(before)/(1<<20), "data-MiB")
	b.Logf("solved by %v", solve)
}

// BenchmarkHiddenStepDual times one hidden step in the shapes of the
// development family's sets where the training rows are fewer than the
// hidden step's unknowns (synthetic data of the same n and d), solved in
// its dual form and in its primal form.
func BenchmarkHiddenStepDual(b *testing.B) {
	for _, tc := range []struct {
		name    string
		n, d, h int
	}{
		{"yacht", 246, 6, 64}, {"housing", 404, 13, 128}, {"wine", 1278, 11, 128},
		{"gas", 2051, 128, 32}, {"gas", 2051, 128, 128}, {"sml", 3309, 26, 128},
	} {
		X, Y := benchProblem(1, tc.n, tc.d)
		for _, solve := range []relunet.HiddenSolve{relunet.SolveDual, relunet.SolvePrimal} {
			b.Run(fmt.Sprintf("%s/h=%d/%v", tc.name, tc.h, solve), func(b *testing.B) {
				a, err := relunet.NewAnalytic(context.Background(), X, Y, relunet.AnalyticOptions{Hidden: tc.h, HiddenSolve: solve})
				if err != nil {
					b.Fatal(err)
				}
				for b.Loop() {
					if _, err := a.HiddenStep(); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkRaceStarts times a race's first slice at skillcraft's size at
// h = 128 (2670 rows, 19 inputs: a 2560-unknown hidden system, 52 MB):
// seven solvers made and stepped once each, in turn, all kept until the
// end, as the arms of a race are, with a system each or one Workspace for
// all. The memory is given back to the system before each, as at the start
// of a run, so that a new system is new memory: its first touch is what the
// Workspace saves (docs/performance.md).
func BenchmarkRaceStarts(b *testing.B) {
	X, Y := benchProblem(1, 2670, 19)
	for _, shared := range []bool{false, true} {
		b.Run(map[bool]string{false: "own", true: "workspace"}[shared], func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				debug.FreeOSMemory()
				b.StartTimer()
				var ws *relunet.Workspace
				if shared {
					ws = new(relunet.Workspace)
				}
				var arms []*relunet.Analytic
				for k := range 7 {
					a, err := relunet.NewAnalytic(context.Background(), X, Y, relunet.AnalyticOptions{
						Hidden: 128, Seed: uint64(k), DataInit: true, Damping: 0.01, Iterations: 1, Workers: 1, Workspace: ws})
					if err != nil {
						b.Fatal(err)
					}
					if !a.Step() && a.Err() != nil {
						b.Fatal(a.Err())
					}
					arms = append(arms, a)
				}
				runtime.KeepAlive(arms)
			}
		})
	}
}
