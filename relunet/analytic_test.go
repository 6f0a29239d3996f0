package relunet

import (
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// randomProblem returns n×d inputs and n×m targets from a seeded generator.
func randomProblem(seed uint64, n, d, m int) (*mat.Dense, *mat.Dense) {
	rng := rand.New(rand.NewPCG(seed, 1))
	X, Y := mat.NewDense(n, d, nil), mat.NewDense(n, m, nil)
	for i := 0; i < n; i++ {
		for j := 0; j < d; j++ {
			X.Set(i, j, rng.NormFloat64())
		}
		for o := 0; o < m; o++ {
			Y.Set(i, o, math.Sin(X.At(i, 0)*float64(o+1))+0.1*rng.NormFloat64())
		}
	}
	return X, Y
}

// hiddenStep returns a solver for the problem and the result of its first
// hidden step, failing the test on an error.
func hiddenStep(t *testing.T, X, Y *mat.Dense, opts AnalyticOptions) (*Analytic, HiddenResult) {
	t.Helper()
	a, err := NewAnalytic(X, Y, opts)
	if err != nil {
		t.Fatal(err)
	}
	res, err := a.HiddenStep()
	if err != nil {
		t.Fatal(err)
	}
	return a, res
}

func TestCriticalPoints(t *testing.T) {
	for _, tc := range []struct {
		name  string
		alpha float64
		m, n  int
	}{{"relu", 0, 1, 300}, {"leaky", 0.1, 1, 300}, {"relu-multi", 0, 3, 300}, {"leaky-multi", 0.2, 2, 300},
		{"several-chunks", 0.1, 2, 2*chunkRows + 37}} {
		t.Run(tc.name, func(t *testing.T) {
			X, Y := randomProblem(7, tc.n, 4, tc.m)
			opts := DefaultAnalyticOptions(6)
			opts.Alpha = tc.alpha
			a, err := NewAnalytic(X, Y, opts)
			if err != nil {
				t.Fatal(err)
			}
			checkCriticalPoints(t, a, 3)
		})
	}
}

// checkCriticalPoints runs iters alternations step by step and checks that
// each sub-step lands on a critical point of its sub-problem.
func checkCriticalPoints(t *testing.T, a *Analytic, iters int) {
	t.Helper()
	if g, _ := a.SubGradients(); g > 1e-8 {
		t.Errorf("after the initial output step: relative gradient %g", g)
	}
	for it := 0; it < iters; it++ {
		if _, err := a.HiddenStep(); err != nil {
			t.Fatal(err)
		}
		if _, g := a.SubGradients(); g > 1e-7 {
			t.Errorf("iteration %d, hidden step: relative gradient %g", it, g)
		}
		a.UpdatePattern()
		if _, err := a.OutputStep(); err != nil {
			t.Fatal(err)
		}
		if g, _ := a.SubGradients(); g > 1e-8 {
			t.Errorf("iteration %d, output step: relative gradient %g", it, g)
		}
	}
}

// naiveNormal builds the normal matrix from explicit Kronecker rows
// (β_{·o} ⊙ G_i) ⊗ x̃_i, one per row i and output o.
func naiveNormal(x *mat.Dense, p *pattern, net *Net, lambda float64) *mat.Dense {
	n, D := x.Dims()
	h, _, m := net.Dims()
	N := mat.NewDense(h*D, h*D, nil)
	row := mat.NewVecDense(h*D, nil)
	for i := 0; i < n; i++ {
		for o := 0; o < m; o++ {
			for j := 0; j < h; j++ {
				for a := 0; a < D; a++ {
					row.SetVec(j*D+a, net.Beta.At(j, o)*p.g(net.Alpha, i, j)*x.At(i, a))
				}
			}
			var outer mat.Dense
			outer.Outer(1, row, row)
			N.Add(N, &outer)
		}
	}
	for i := 0; i < h*D; i++ {
		N.Set(i, i, N.At(i, i)+lambda)
	}
	return N
}

func TestAssemblyMatchesNaive(t *testing.T) {
	for _, tc := range []struct {
		name    string
		alpha   float64
		n, m, h int
		dead    bool
	}{
		{"relu", 0, 37, 1, 4, false},
		{"leaky", 0.3, 41, 1, 3, false},
		{"relu-multi", 0, 29, 3, 5, false},
		{"leaky-multi", 0.05, 33, 2, 4, false},
		{"dead-neuron", 0, 30, 2, 4, true},
		{"wide-D", 0.1, 43, 1, 3, false},
		{"wide-D-rows", 0.2, 301, 2, 4, false},
		{"classes", 0, 2200, 1, 7, false},
		{"classes-leaky-dead", 0.1, 9000, 2, 9, true},
		{"classes-of-5", 0.1, 17000, 1, 12, false},
		{"chunks", 0, 2*chunkRows + 37, 2, 3, false},
		{"sums", 0, 5000, 1, 7, false},
		{"sums-leaky-dead", 0.2, 5000, 2, 9, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := 3
			switch tc.name {
			case "wide-D":
				d = 10 // D > packedMaxD: the unpacked kernels
			case "wide-D-rows":
				d = 22 // several groups of tileRows rows, D4 > D
			case "sums", "sums-leaky-dead":
				// D ≤ packedMaxD: classSums, in groups of 4, the last one short
				if b := sumBits(tc.n, tc.h, 8); b < 3 || tc.h%b == 0 {
					t.Fatalf("sumBits(%d, %d, 8) = %d: the case does not test short groups", tc.n, tc.h, b)
				}
			case "classes", "classes-leaky-dead", "classes-of-5":
				d = 12 // neurons in groups of 3 or 4, the last one short
				if b := classBits(tc.n, tc.h); b < 3 || tc.h%b == 0 {
					t.Fatalf("classBits(%d, %d) = %d: the case does not test short groups", tc.n, tc.h, b)
				}
			}
			D := d + 1
			X, Y := randomProblem(3, tc.n, d, tc.m)
			opts := DefaultAnalyticOptions(tc.h)
			opts.Alpha = tc.alpha
			a, err := NewAnalytic(X, Y, opts)
			if err != nil {
				t.Fatal(err)
			}
			if tc.dead {
				for i := 0; i < a.pr.n; i++ {
					a.pat.act[i*tc.h+1] = false
				}
			}
			want := naiveNormal(a.pr.x, a.pat, a.net, 1e-3)
			for _, portable := range []bool{false, true} {
				var first *mat.SymDense
				for _, workers := range []int{1, 2, 8} {
					got := mat.NewSymDense(tc.h*D, nil)
					assembler{workers: workers, portable: portable}.assemble(got, a.pr.x, a.pat, tc.alpha, a.net.Beta, 1e-3)
					if first == nil {
						first = got
					} else if !mat.Equal(first, got) {
						t.Errorf("portable %t, workers %d: not bit-identical to one worker", portable, workers)
					}
					var diff mat.Dense
					diff.Sub(got, want)
					if r := mat.Norm(&diff, math.Inf(1)) / mat.Norm(want, math.Inf(1)); r > 1e-10 {
						t.Errorf("portable %t, workers %d: relative difference %g", portable, workers, r)
					}
				}
			}
			// The chunked right-hand side against a direct sum.
			wantRHS := mat.NewDense(tc.h, D, nil)
			for i := 0; i < tc.n; i++ {
				for j := 0; j < tc.h; j++ {
					var s float64
					for o := 0; o < tc.m; o++ {
						s += (a.pr.y.At(i, o) - a.net.Beta0[o]) * a.net.Beta.At(j, o)
					}
					s *= a.pat.g(tc.alpha, i, j)
					for c := 0; c < D; c++ {
						wantRHS.Set(j, c, wantRHS.At(j, c)+s*a.pr.x.At(i, c))
					}
				}
			}
			var diff mat.Dense
			got := a.as.hiddenRHS(a.pr.x, a.pr.y, a.pat, a.net)
			diff.Sub(got, wantRHS)
			if r := mat.Norm(&diff, 2) / mat.Norm(wantRHS, 2); r > 1e-12 {
				t.Errorf("right-hand side: relative difference %g", r)
			}
		})
	}
}

// The hidden step's eigenvalue floor is below the normal matrix's smallest
// eigenvalue and proves its condition below maxCond for the usual ridge; with
// a ridge too small to matter it proves nothing, and a rank-deficient system
// still goes to the eigen fallback through the condition estimate.
func TestHiddenFloor(t *testing.T) {
	for _, tc := range []struct {
		name   string
		alpha  float64
		n, m   int
		scale  float64
		ridge  float64
		proves bool
		solve  string
	}{
		{"relu", 0, 3000, 1, 1, 1e-3, true, SolveCholesky},
		{"leaky", 0.1, 3000, 2, 1, 1e-3, true, SolveCholesky},
		{"large-x", 0, 3000, 1, 1e3, 1e-3, true, SolveCholesky},
		// 100 rows for 264 unknowns: condition about ‖A‖/λ ≥ 1e16.
		{"rank-deficient", 0, 100, 1, 1, 1e-13, false, SolveEigen},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const d, h = 32, 8 // hD = 264
			X, Y := randomProblem(3, tc.n, d, tc.m)
			X.Scale(tc.scale, X)
			opts := DefaultAnalyticOptions(h)
			opts.Alpha, opts.Ridge = tc.alpha, tc.ridge
			a, res := hiddenStep(t, X, Y, opts)
			floor := a.hiddenFloor()
			var eig mat.EigenSym
			if !eig.Factorize(a.normal, false) {
				t.Fatal("eigen-decomposition failed")
			}
			low := eig.Values(nil)[0]
			bound := symNorm1(a.normal) * math.Sqrt(float64(h*(d+1))) / floor
			proved := floor > 0 && bound < maxCond
			t.Logf("floor %.6g, smallest eigenvalue %.6g, condition bound %.3g, solved by %s", floor, low, bound, res.Solve)
			// The eigen solver's own error is within a small multiple of
			// N·ε·‖A‖₂, and ‖A‖₂ ≤ ‖A‖₁.
			if tol := 10 * float64(h*(d+1)) * 0x1p-52 * symNorm1(a.normal); floor > low+tol {
				t.Errorf("floor %v above the smallest eigenvalue %v (± %.2g)", floor, low, tol)
			}
			if floor > tc.ridge {
				t.Errorf("floor %v above the ridge %v", floor, tc.ridge)
			}
			if proved != tc.proves {
				t.Errorf("proves the condition: %v, want %v", proved, tc.proves)
			}
			if res.Solve != tc.solve {
				t.Errorf("solved by %s, want %s", res.Solve, tc.solve)
			}
		})
	}
}
