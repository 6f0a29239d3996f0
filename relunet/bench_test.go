package relunet_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/relunet/relunet/relunet"
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
	opts := relunet.DefaultAnalyticOptions(h)
	opts.Solver = relunet.HiddenDirect
	a, err := relunet.NewAnalytic(X, Y, opts)
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
			opts := relunet.DefaultAnalyticOptions(tc.h)
			start := func() *relunet.Analytic {
				a, err := relunet.NewAnalytic(sp.XTrain, sp.YTrain, opts)
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
				if a.Iter() == opts.Iterations {
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
		solver relunet.HiddenSolver
		method string
	}{{"direct", relunet.HiddenDirect, relunet.SolveCholesky}, {"cg", relunet.HiddenCG, relunet.SolveCG}} {
		b.Run(tc.name, func(b *testing.B) {
			opts := relunet.DefaultAnalyticOptions(h)
			opts.Iterations = 0
			opts.Solver = tc.solver
			a, err := relunet.NewAnalytic(X, Y, opts)
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
				r := a.Last().Hidden
				if r.Solve != tc.method {
					b.Fatalf("solved by %s, want %s", r.Solve, tc.method)
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
