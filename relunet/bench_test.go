package relunet

import (
	"fmt"
	"runtime"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// reportGFLOPS reports the dense-equivalent rate n·(hD)²/s of the hidden step.
func reportGFLOPS(b *testing.B, n, hD int) {
	b.ReportMetric(float64(n)*float64(hD)*float64(hD)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}

// BenchmarkHiddenStep times one hidden step (assembly and solve) on synthetic
// data with n = 10000, D = 31, h = 50.
func BenchmarkHiddenStep(b *testing.B) {
	const n, d, h = 10000, 30, 50
	X, Y := randomProblem(1, n, d, 1)
	opts := DefaultAnalyticOptions(h)
	opts.Solver = HiddenDirect
	a, err := NewAnalytic(X, Y, opts)
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

// BenchmarkAssemble times the normal-matrix assembly alone.
func BenchmarkAssemble(b *testing.B) {
	const n, d, h = 10000, 30, 50
	X, Y := randomProblem(1, n, d, 1)
	a, err := NewAnalytic(X, Y, DefaultAnalyticOptions(h))
	if err != nil {
		b.Fatal(err)
	}
	dst := mat.NewSymDense(h*(d+1), nil)
	for b.Loop() {
		assembler{}.assemble(dst, a.pr.x, a.pat, 0, a.net.Beta, 1e-3)
	}
	reportGFLOPS(b, n, h*(d+1))
}

// BenchmarkFactor times the tiled Cholesky factorisation of the hidden
// step's normal matrix, assembled after one alternation, at the sizes of
// BenchmarkHiddenStep and BenchmarkAlternationLarge, and reports its rate
// in multiply-adds, (hD)³/6 per factorisation.
func BenchmarkFactor(b *testing.B) {
	for _, tc := range []struct{ n, d, h int }{{10000, 30, 50}, {50000, 90, 64}} {
		N := tc.h * (tc.d + 1)
		b.Run(fmt.Sprintf("hD=%d", N), func(b *testing.B) {
			if !useTiledCholesky(N) {
				b.Skip("no tile kernels here")
			}
			X, Y := randomProblem(1, tc.n, tc.d, 1)
			opts := DefaultAnalyticOptions(tc.h)
			opts.Solver = HiddenDirect
			a, err := NewAnalytic(X, Y, opts)
			if err != nil {
				b.Fatal(err)
			}
			if !a.Step() {
				b.Fatal(a.Err())
			}
			var buf []float64
			b.ResetTimer()
			for b.Loop() {
				if _, ok := a.as.factorTiled(a.normal, &buf); !ok {
					b.Fatal("not positive definite")
				}
			}
			n := float64(N)
			b.ReportMetric(n*n*n/6*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFMA/s")
		})
	}
}

// BenchmarkAlternation times one full alternation on the reference data sets,
// averaged over runs of 30 (skipped when $RELUNET_DATA does not have them).
func BenchmarkAlternation(b *testing.B) {
	for _, tc := range []struct {
		name string
		h    int
	}{{"abalone", 32}, {"bike", 32}, {"sdf", 32}, {"sdf", 64}} {
		b.Run(fmt.Sprintf("%s/h=%d", tc.name, tc.h), func(b *testing.B) {
			sp := referenceSplit(b, tc.name, 0)
			opts := DefaultAnalyticOptions(tc.h)
			start := func() *Analytic {
				a, err := NewAnalytic(sp.XTrain, sp.YTrain, opts)
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
	X, Y := randomProblem(1, n, d, 1)
	for _, tc := range []struct {
		name   string
		solver HiddenSolver
		method string
	}{{"direct", HiddenDirect, SolveCholesky}, {"cg", HiddenCG, SolveCG}} {
		b.Run(tc.name, func(b *testing.B) {
			opts := DefaultAnalyticOptions(h)
			opts.Iterations = 0
			opts.Solver = tc.solver
			a, err := NewAnalytic(X, Y, opts)
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
				r := a.History()[a.Iter()]
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
