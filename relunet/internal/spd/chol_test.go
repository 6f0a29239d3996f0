package spd

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"gonum.org/v1/gonum/lapack"
	"gonum.org/v1/gonum/lapack/lapack64"
	"gonum.org/v1/gonum/mat"

	"github.com/relunet/relunet/relunet/internal/parallel"
)

// Both factorisations, tiled and LAPACK's blocks, solve like gonum's
// Cholesky, for orders that are and are not multiples of the tile, block and
// strip sizes, and refuse a matrix that is not positive definite.
func TestFactor(t *testing.T) {
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
		for _, run := range []struct {
			workers, block int // block 0: factorLAPACK
		}{{1, 64}, {3, 64}, {2, 128}, {1, 0}, {3, 0}} {
			workers := run.workers
			pool := parallel.Pool{Workers: workers}
			f, ok := factorLAPACK(pool, a, false)
			if run.block > 0 {
				f, ok = factorBlocks(pool, a, false, run.block)
			}
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
				t.Errorf("n = %d, %d workers, blocks of %d: solve differs from gonum's", n, workers, run.block)
			}
			if c, w := f.cond(symNorm1(a)), chol.Cond(); c < w/2 || c > 2*w {
				t.Errorf("n = %d: condition estimate %v, gonum's %v", n, c, w)
			}
		}
		// A negative diagonal entry makes A indefinite.
		a.SetSym(n/2, n/2, -1)
		if _, ok := factorBlocks(parallel.Pool{}, a, false, 64); ok {
			t.Errorf("n = %d: indefinite matrix accepted", n)
		}
		if _, ok := factorLAPACK(parallel.Pool{}, a, false); ok {
			t.Errorf("n = %d: indefinite matrix accepted by factorLAPACK", n)
		}
	}
}

// A factorisation checks the pool's context between blocks: when the context
// ends after its k-th look, both factorisations give up (the caller finds
// why in the pool's error), and the first look comes before any work.
func TestFactorStops(t *testing.T) {
	n := 300 // five blocks of factorLAPACK, three of factorBlocks
	a := mat.NewSymDense(n, nil)
	for i := range n {
		a.SetSym(i, i, 1)
	}
	for _, looks := range []int{0, 1, 2} {
		for name, f := range map[string]func(parallel.Pool) bool{
			"factorBlocks": func(p parallel.Pool) bool { _, ok := factorBlocks(p, a, false, 128); return ok },
			"factorLAPACK": func(p parallel.Pool) bool { _, ok := factorLAPACK(p, a, false); return ok },
		} {
			ctx := &endsAfter{Context: context.Background(), looks: looks, done: make(chan struct{})}
			if f(parallel.Pool{Workers: 2, Ctx: ctx}) {
				t.Errorf("%s: factored after the context ended at its look %d", name, looks+1)
			}
			if f(parallel.Pool{Workers: 2}) != true {
				t.Errorf("%s: the identity refused", name)
			}
		}
	}
}

// endsAfter is a context whose Err reports context.Canceled, and whose Done
// channel is closed, from its (looks+1)-th call of Err on.
type endsAfter struct {
	context.Context
	looks int
	done  chan struct{}
	mu    sync.Mutex
}

func (c *endsAfter) Done() <-chan struct{} { return c.done }

func (c *endsAfter) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.looks == 0 {
		select {
		case <-c.done:
		default:
			close(c.done)
		}
		return context.Canceled
	}
	c.looks--
	return nil
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
		f, ok := factor(parallel.Pool{Workers: 2}, a, false)
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

// BenchmarkFactor times the factorisations, tiled and LAPACK's blocks, of
// normal matrices of the sizes of relunet's hidden-step benchmarks (hD =
// 1550 and 5824), in multiply-adds, n³/6 per factorisation, per second.
func BenchmarkFactor(b *testing.B) {
	for _, n := range []int{1550, 5824} {
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
		for _, run := range []struct {
			name string
			f    func(parallel.Pool, *mat.SymDense, bool) (*cholesky, bool)
		}{
			{"tiled", func(p parallel.Pool, a *mat.SymDense, inPlace bool) (*cholesky, bool) {
				return factorBlocks(p, a, inPlace, cholBlock(n))
			}},
			{"lapack", factorLAPACK},
		} {
			b.Run(fmt.Sprintf("hD=%d/%s", n, run.name), func(b *testing.B) {
				for b.Loop() {
					if _, ok := run.f(parallel.Pool{}, a, false); !ok {
						b.Fatal("not positive definite")
					}
				}
				x := float64(n)
				b.ReportMetric(x*x*x/6*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFMA/s")
			})
		}
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
			if eigen != singular || eigen2 != singular || (rebuilt == 1) != (singular && useOwnCholesky(n)) {
				t.Errorf("n %d, singular %v: eigen %v %v, rebuilt %d times", n, singular, eigen, eigen2, rebuilt)
			}
			if !mat.EqualApprox(x, y, 1e-8) {
				t.Errorf("n %d, singular %v: in place and copied solves differ", n, singular)
			}
			if useOwnCholesky(n) && !singular && mat.Equal(a, want) {
				t.Errorf("n %d: the factor did not overwrite the padded matrix", n)
			}
		}
	}
}

// The eigen fallback cannot be stopped once begun, but Solve does not wait
// for it once the pool's context ends: it returns the context's error well
// before the eigendecomposition could have finished.
func TestSolveStopsInTheEigenFallback(t *testing.T) {
	const n = 500
	rng := rand.New(rand.NewPCG(31, 32))
	a := mat.NewSymDense(n, nil)
	for i := range n {
		for j := i; j < n; j++ {
			a.SetSym(i, j, rng.NormFloat64()) // indefinite: the fallback runs
		}
	}
	b := mat.NewDense(n, 1, nil)
	for i := range n {
		b.Set(i, 0, rng.NormFloat64())
	}
	start := time.Now()
	if _, eigen, err := Solve(parallel.Pool{}, a, b, 0, nil, nil); err != nil || !eigen {
		t.Fatalf("without a context: eigen fallback %v, error %v", eigen, err)
	}
	whole := time.Since(start)
	ctx, cancel := context.WithCancel(context.Background())
	// The time is taken from when the context ends, which a loaded
	// machine can delay past whole/10.
	var ended time.Time
	var mu sync.Mutex
	stop := time.AfterFunc(whole/10, func() {
		mu.Lock()
		ended = time.Now()
		mu.Unlock()
		cancel()
	})
	defer stop.Stop()
	_, _, err := Solve(parallel.Pool{Ctx: ctx}, a, b, 0, nil, nil)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want the context's", err)
	}
	mu.Lock()
	after := time.Since(ended)
	mu.Unlock()
	t.Logf("the fallback takes %v; Solve returned %v after the context ended", whole, after)
	if after > whole*4/10 {
		t.Errorf("Solve returned %v after the context ended, the whole fallback takes %v", after, whole)
	}
}

// The solves of large systems by blocks on the pool agree with the solves
// row by row, give the same bits on any number of goroutines, and give
// the same condition estimate, for an order that is not a multiple of the
// blocks or the strips.
func TestSolveBlocks(t *testing.T) {
	n := parallelSolveMin + sweepCols + 37
	rng := rand.New(rand.NewPCG(5, 6))
	// A diagonally dominant symmetric matrix is positive definite, with a
	// condition number of about 3.
	a := mat.NewSymDense(n, nil)
	for i := range n {
		for j := i + 1; j < n; j++ {
			a.SetSym(i, j, rng.Float64()-0.5)
		}
		a.SetSym(i, i, float64(n)/2)
	}
	b := make([]float64, n)
	for i := range b {
		b[i] = rng.NormFloat64()
	}
	var first []float64
	for _, workers := range []int{1, 2, 8} {
		f, ok := factor(parallel.Pool{Workers: workers}, a, false)
		if !ok {
			t.Fatal("positive definite matrix refused")
		}
		got := append([]float64(nil), b...)
		f.solveVec(got)
		want := append([]float64(nil), b...)
		f.solveRows(want)
		var diff, norm float64
		for i := range got {
			diff = max(diff, math.Abs(got[i]-want[i]))
			norm = max(norm, math.Abs(want[i]))
		}
		if diff > 1e-14*norm {
			t.Errorf("workers %d: blocks differ from rows by %g of the solution's largest entry", workers, diff/norm)
		}
		if first == nil {
			first = got
		} else {
			for i := range got {
				if got[i] != first[i] {
					t.Fatalf("workers %d: entry %d is not bit-identical to one worker's", workers, i)
				}
			}
		}
		if est, w := f.invNorm1(), f.estimate(f.solveRows); math.Abs(est-w) > 1e-12*w {
			t.Errorf("workers %d: estimate of the inverse's norm %g by blocks, %g by rows", workers, est, w)
		}
	}
}
