package spd

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/lapack"
	"gonum.org/v1/gonum/lapack/lapack64"
	"gonum.org/v1/gonum/mat"

	"github.com/relunet/relunet/relunet/internal/parallel"
)

// The tiled Cholesky factorisation solves like gonum's, for orders that are
// and are not multiples of the tile and block sizes, and refuses a matrix
// that is not positive definite.
func TestFactorTiled(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, n := range []int{5, 64, 130, 257, 391} {
		// A = GᵀG/n + I is well conditioned and positive definite.
		g := mat.NewDense(n+7, n, nil)
		for i := range n + 7 {
			for j := range n {
				g.Set(i, j, rng.NormFloat64())
			}
		}
		a := mat.NewSymDense(n, nil)
		a.SymOuterK(1/float64(n), g.T())
		for i := range n {
			a.SetSym(i, i, a.At(i, i)+1)
		}
		b := mat.NewDense(n, 2, nil)
		for i := range n {
			b.Set(i, 0, rng.NormFloat64())
			b.Set(i, 1, rng.NormFloat64())
		}
		for _, run := range []struct{ workers, block int }{{1, 64}, {3, 64}, {2, 128}} {
			workers := run.workers
			f, ok := factorBlocks(parallel.Pool{Workers: workers}, a, false, run.block)
			if !ok {
				t.Fatalf("n = %d: positive definite matrix refused", n)
			}
			var chol mat.Cholesky
			if !chol.Factorize(a) {
				t.Fatalf("n = %d: gonum refused", n)
			}
			var want mat.Dense
			if err := chol.SolveTo(&want, b); err != nil {
				t.Fatal(err)
			}
			got := f.solve(b)
			if !mat.EqualApprox(got, &want, 1e-10) {
				t.Errorf("n = %d, %d workers, blocks of %d: tiled solve differs from gonum's", n, workers, run.block)
			}
			if c, w := f.cond(symNorm1(a)), chol.Cond(); c < w/2 || c > 2*w {
				t.Errorf("n = %d: condition estimate %v, gonum's %v", n, c, w)
			}
		}
		// A negative diagonal entry makes A indefinite.
		a.SetSym(n/2, n/2, -1)
		if _, ok := factorTiled(parallel.Pool{}, a, false); ok {
			t.Errorf("n = %d: indefinite matrix accepted", n)
		}
	}
}

// On an ill-conditioned matrix (condition about 1e12) the tiled
// factorisation, whose panels multiply by inverted diagonal blocks, solves
// with a backward error as small as gonum's.
func TestFactorTiledIllConditioned(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	for _, n := range []int{257, 391} {
		g := mat.NewDense(2*n, n, nil)
		for i := range 2 * n {
			for j := range n {
				g.Set(i, j, rng.NormFloat64()*math.Pow(10, -6*float64(j)/float64(n)))
			}
		}
		a := mat.NewSymDense(n, nil)
		a.SymOuterK(1, g.T())
		b := mat.NewDense(n, 1, nil)
		for i := range n {
			b.Set(i, 0, rng.NormFloat64())
		}
		var chol mat.Cholesky
		if !chol.Factorize(a) {
			t.Fatalf("n = %d: gonum refused", n)
		}
		if c := chol.Cond(); c < 1e10 {
			t.Fatalf("n = %d: condition %v, want an ill-conditioned test matrix", n, c)
		}
		var want mat.Dense
		if err := chol.SolveTo(&want, b); err != nil {
			t.Fatal(err)
		}
		f, ok := factorTiled(parallel.Pool{Workers: 2}, a, false)
		if !ok {
			t.Fatalf("n = %d: refused", n)
		}
		got := f.solve(b)
		backward := func(x *mat.Dense) float64 {
			var r mat.Dense
			r.Mul(a, x)
			r.Sub(&r, b)
			return mat.Norm(&r, 2) / (mat.Norm(a, 2) * mat.Norm(x, 2))
		}
		if eg, ew := backward(got), backward(&want); eg > 10*ew {
			t.Errorf("n = %d: backward error %.3g, gonum's %.3g", n, eg, ew)
		} else {
			t.Logf("n = %d: backward error %.3g, gonum's %.3g", n, eg, ew)
		}
	}
}

// symNorm1 agrees with LAPACK's 1-norm of a symmetric matrix and keeps a NaN.
func TestSymNorm1(t *testing.T) {
	rng := rand.New(rand.NewPCG(17, 18))
	for _, n := range []int{1, 2, 7, 40} {
		a := mat.NewSymDense(n, nil)
		for i := range n {
			for j := i; j < n; j++ {
				a.SetSym(i, j, rng.NormFloat64())
			}
		}
		want := lapack64.Lansy(lapack.MaxColumnSum, a.RawSymmetric(), make([]float64, n))
		if got := symNorm1(a); math.Abs(got-want) > 1e-13*want {
			t.Errorf("n = %d: %v, want %v", n, got, want)
		}
		a.SetSym(0, n-1, math.NaN())
		if got := symNorm1(a); !math.IsNaN(got) {
			t.Errorf("n = %d: %v with a NaN entry", n, got)
		}
	}
}

// BenchmarkFactor times the tiled Cholesky factorisation of normal matrices
// of the sizes of relunet's hidden-step benchmarks (hD = 1550 and 5824),
// in multiply-adds, n³/6 per factorisation, per second.
func BenchmarkFactor(b *testing.B) {
	for _, n := range []int{1550, 5824} {
		b.Run(fmt.Sprintf("hD=%d", n), func(b *testing.B) {
			if !useTiledCholesky(n) {
				b.Skip("no tile kernels here")
			}
			// A = GᵀG/k + λI with G k×n, k = n + 100: a Gram matrix like the
			// hidden step's.
			rng := rand.New(rand.NewPCG(1, 2))
			g := mat.NewDense(n+100, n, nil)
			for i := range n + 100 {
				for j := range n {
					g.Set(i, j, rng.NormFloat64())
				}
			}
			a := mat.NewSymDense(n, nil)
			a.SymOuterK(1/float64(n+100), g.T())
			for i := range n {
				a.SetSym(i, i, a.At(i, i)+1e-3)
			}
			b.ResetTimer()
			for b.Loop() {
				if _, ok := factorTiled(parallel.Pool{}, a, false); !ok {
					b.Fatal("not positive definite")
				}
			}
			x := float64(n)
			b.ReportMetric(x*x*x/6*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFMA/s")
		})
	}
}

// Factored in place, a padded matrix gives the same factor as a copy; a
// system that needs the eigen fallback is rebuilt first, and Solve's answers
// agree either way.
func TestFactorInPlace(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	for _, n := range []int{33, 130, 257} {
		fill := func(a *mat.SymDense, singular bool) {
			g := mat.NewDense(n+7, n, nil)
			for i := range n + 7 {
				for j := range n {
					g.Set(i, j, rng.NormFloat64())
				}
			}
			if singular {
				for i := range n + 7 {
					g.Set(i, 0, g.At(i, 1)) // two equal columns
				}
			}
			var s mat.SymDense
			s.SymOuterK(1, g.T())
			for i := range n {
				for j := i; j < n; j++ {
					a.SetSym(i, j, s.At(i, j))
				}
			}
		}
		b := mat.NewDense(n, 1, nil)
		for i := range n {
			b.Set(i, 0, rng.NormFloat64())
		}
		for _, singular := range []bool{false, true} {
			want := mat.NewSymDense(n, nil)
			fill(want, singular)
			a := NewPadded(n)
			a.CopySym(want)
			rebuilt := 0
			x, eigen, err := Solve(parallel.Pool{}, a, b, 0, func(dst *mat.SymDense) { rebuilt++; dst.CopySym(want) }, nil)
			if err != nil {
				t.Fatal(err)
			}
			y, eigen2, err := Solve(parallel.Pool{}, want, b, 0, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			if eigen != singular || eigen2 != singular || (rebuilt == 1) != (singular && useTiledCholesky(n)) {
				t.Errorf("n %d, singular %v: eigen %v %v, rebuilt %d times", n, singular, eigen, eigen2, rebuilt)
			}
			if !mat.EqualApprox(x, y, 1e-8) {
				t.Errorf("n %d, singular %v: in place and copied solves differ", n, singular)
			}
			if useTiledCholesky(n) && !singular && mat.Equal(a, want) {
				t.Errorf("n %d: the factor did not overwrite the padded matrix", n)
			}
		}
	}
}
