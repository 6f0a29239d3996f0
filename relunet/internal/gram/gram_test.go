package gram

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"gonum.org/v1/gonum/mat"

	"github.com/relunet/relunet/relunet/internal/parallel"
)

// gramTiled reads rows in place or from copies and agrees with gramUpper.
func TestGramTiled(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, D := range []int{9, 13, 16, 30} {
		const n = 300
		spare := NewPadded(n, D).RawMatrix().Data
		exact := make([]float64, n*D)
		for i := range exact {
			exact[i] = rng.NormFloat64()
		}
		copy(spare, exact)
		// Some rows, with gaps, and all rows, read without indices.
		var some, all []int32
		for i := 0; i < n; i++ {
			if rng.IntN(3) > 0 || i == n-1 {
				some = append(some, int32(i))
			}
			all = append(all, int32(i))
		}
		for _, rows := range [][]int32{some, all} {
			want := make([]float64, D*D)
			gramUpper(want, exact, D, D, rows)
			for _, data := range [][]float64{spare, exact} {
				got := make([]float64, D*D)
				gramTiled(got, data, D, D, rows, &worker{})
				for a := 0; a < D; a++ {
					for b := a; b < D; b++ {
						if w, g := want[a*D+b], got[a*D+b]; math.Abs(g-w) > 1e-12*(1+math.Abs(w)) {
							t.Fatalf("D %d, %d rows, spare %t: entry (%d, %d) = %v, want %v", D, len(rows), cap(data) > len(data), a, b, g, w)
						}
					}
				}
			}
		}
	}
}

// problem is a random assembly problem: inputs with the ones column, the
// activity of h neurons with W ~ N(0, 1), and output weights.
type problem struct {
	x, y, beta *mat.Dense
	beta0      []float64
	act        []bool
}

func newProblem(seed uint64, n, d, h, m int) *problem {
	rng := rand.New(rand.NewPCG(seed, 1))
	D := d + 1
	p := &problem{x: NewPadded(n, D), y: mat.NewDense(n, m, nil), beta: mat.NewDense(h, m, nil),
		beta0: make([]float64, m), act: make([]bool, n*h)}
	w := mat.NewDense(h, D, nil)
	for j := range h {
		for a := range D {
			w.Set(j, a, rng.NormFloat64())
		}
		for o := range m {
			p.beta.Set(j, o, rng.NormFloat64())
		}
	}
	for o := range m {
		p.beta0[o] = rng.NormFloat64()
	}
	for i := range n {
		p.x.Set(i, 0, 1)
		for a := 1; a < D; a++ {
			p.x.Set(i, a, rng.NormFloat64())
		}
		for o := range m {
			p.y.Set(i, o, rng.NormFloat64())
		}
		for j := range h {
			p.act[i*h+j] = mat.Dot(p.x.RowView(i), w.RowView(j)) > 0
		}
	}
	return p
}

// g returns G_ij.
func (p *problem) g(alpha float64, i, j int) float64 {
	h, _ := p.beta.Dims()
	if p.act[i*h+j] {
		return 1
	}
	return alpha
}

// naiveNormal builds the normal matrix from explicit Kronecker rows
// (β_{·o} ⊙ G_i) ⊗ x̃_i, one per row i and output o.
func (p *problem) naiveNormal(alpha, lambda float64) *mat.Dense {
	n, D := p.x.Dims()
	h, m := p.beta.Dims()
	N := mat.NewDense(h*D, h*D, nil)
	row := mat.NewVecDense(h*D, nil)
	for i := 0; i < n; i++ {
		for o := 0; o < m; o++ {
			for j := 0; j < h; j++ {
				for a := 0; a < D; a++ {
					row.SetVec(j*D+a, p.beta.At(j, o)*p.g(alpha, i, j)*p.x.At(i, a))
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

// naiveRHS is the right-hand side as a direct sum.
func (p *problem) naiveRHS(alpha float64) *mat.Dense {
	n, D := p.x.Dims()
	h, m := p.beta.Dims()
	rhs := mat.NewDense(h, D, nil)
	for i := 0; i < n; i++ {
		for j := 0; j < h; j++ {
			var s float64
			for o := 0; o < m; o++ {
				s += (p.y.At(i, o) - p.beta0[o]) * p.beta.At(j, o)
			}
			s *= p.g(alpha, i, j)
			for c := 0; c < D; c++ {
				rhs.Set(j, c, rhs.At(j, c)+s*p.x.At(i, c))
			}
		}
	}
	return rhs
}

// The assembled normal matrix and right-hand side equal their definitions,
// with the kernels and with the reference loops, and are the same bits for
// any number of goroutines.
func TestNormalMatchesDefinition(t *testing.T) {
	for _, tc := range []struct {
		name    string
		alpha   float64
		n, m, h int
		d       int
		dead    bool
	}{
		{"relu", 0, 37, 1, 4, 3, false},
		{"leaky", 0.3, 41, 1, 3, 3, false},
		{"relu-multi", 0, 29, 3, 5, 3, false},
		{"leaky-multi", 0.05, 33, 2, 4, 3, false},
		{"dead-neuron", 0, 30, 2, 4, 3, true},
		{"wide-D", 0.1, 43, 1, 3, 10, false},       // D > packedMaxD: the unpacked kernels
		{"wide-D-rows", 0.2, 301, 2, 4, 22, false}, // several groups of tileRows rows, D4 > D
		{"classes", 0, 2200, 1, 7, 12, false},
		{"classes-leaky-dead", 0.1, 9000, 2, 9, 12, true},
		{"classes-of-5", 0.1, 17000, 1, 12, 12, false},
		{"chunks", 0, 2*parallel.ChunkRows + 37, 2, 3, 3, false},
		{"sums", 0, 5000, 1, 7, 3, false},
		{"sums-leaky-dead", 0.2, 5000, 2, 9, 3, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			switch tc.name {
			case "sums", "sums-leaky-dead":
				// D ≤ packedMaxD: classSums, in groups of 4, the last one short
				if b := sumBits(tc.n, tc.h, 8); b < 3 || tc.h%b == 0 {
					t.Fatalf("sumBits(%d, %d, 8) = %d: the case does not test short groups", tc.n, tc.h, b)
				}
			case "classes", "classes-leaky-dead", "classes-of-5":
				if b := classBits(tc.n, tc.h); b < 3 || tc.h%b == 0 {
					t.Fatalf("classBits(%d, %d) = %d: the case does not test short groups", tc.n, tc.h, b)
				}
			}
			D := tc.d + 1
			p := newProblem(3, tc.n, tc.d, tc.h, tc.m)
			if tc.dead {
				for i := 0; i < tc.n; i++ {
					p.act[i*tc.h+1] = false
				}
			}
			want := p.naiveNormal(tc.alpha, 1e-3)
			wantRHS := p.naiveRHS(tc.alpha)
			rng := rand.New(rand.NewPCG(7, 8))
			vin := mat.NewDense(tc.h, D, nil)
			for j := range tc.h {
				for a := range D {
					vin.Set(j, a, rng.NormFloat64())
				}
			}
			var prod mat.Dense
			prod.Mul(want, mat.NewDense(tc.h*D, 1, vin.RawMatrix().Data))
			wantMul := mat.NewDense(tc.h, D, prod.RawMatrix().Data)
			// The kernels' reference loops, the kernels reading scattered
			// rows in place, and the kernels reading copies of them.
			// With small segments, classGrams copies some segments of rows
			// and reads the others in place. The kernels sum every entry in
			// the same order wherever they read the rows, so the last
			// three give the same bits.
			var tiles *mat.SymDense
			for _, v := range []struct{ portable, copies, small bool }{{true, false, false}, {false, false, false}, {false, true, false}, {false, true, true}} {
				var first *mat.SymDense
				var firstMul *mat.Dense
				var firstDiag []float64
				for _, workers := range []int{1, 2, 8} {
					as := Assembler{Pool: parallel.Pool{Workers: workers}, Portable: v.portable}
					if v.copies {
						as.copyAbove = 1
					}
					if v.small {
						as.segmentMax = tc.n >> classBits(tc.n, tc.h) * ((D + 3) &^ 3)
					}
					got := mat.NewSymDense(tc.h*D, nil)
					as.Normal(got, p.x, p.act, tc.alpha, p.beta, 1e-3)
					if first == nil {
						first = got
					} else if !mat.Equal(first, got) {
						t.Errorf("%+v, workers %d: not bit-identical to one worker", v, workers)
					}
					if !v.portable {
						if tiles == nil {
							tiles = got
						} else if !mat.Equal(tiles, got) {
							t.Errorf("%+v, workers %d: not bit-identical to the kernels reading rows in place", v, workers)
						}
					}
					var diff mat.Dense
					diff.Sub(got, want)
					if r := mat.Norm(&diff, math.Inf(1)) / mat.Norm(want, math.Inf(1)); r > 1e-10 {
						t.Errorf("%+v, workers %d: relative difference %g", v, workers, r)
					}
					rhs := as.RHS(p.x, p.y, p.act, tc.alpha, p.beta, p.beta0)
					diff.Reset()
					diff.Sub(rhs, wantRHS)
					if r := mat.Norm(&diff, 2) / mat.Norm(wantRHS, 2); r > 1e-12 {
						t.Errorf("%+v, workers %d: right-hand side: relative difference %g", v, workers, r)
					}
					mul, diag := matFree(as, p, tc.alpha, vin)
					if firstMul == nil {
						firstMul, firstDiag = mul, diag
					} else if !mat.Equal(firstMul, mul) || !slices.Equal(firstDiag, diag) {
						t.Errorf("%+v, workers %d: NormalMul or BlockDiag not bit-identical to one worker", v, workers)
					}
					diff.Reset()
					diff.Sub(mul, wantMul)
					if r := mat.Norm(&diff, 2) / mat.Norm(wantMul, 2); r > 1e-12 {
						t.Errorf("%+v, workers %d: NormalMul: relative difference %g", v, workers, r)
					}
					for j := range tc.h {
						for a := range D {
							for b := a; b < D; b++ {
								w := want.At(j*D+a, j*D+b)
								if a == b {
									w -= 1e-3
								}
								if g := diag[(j*D+a)*D+b]; math.Abs(g-w) > 1e-10*(1+math.Abs(w)) {
									t.Fatalf("%+v, workers %d: BlockDiag: block %d entry (%d, %d) = %v, want %v", v, workers, j, a, b, g, w)
								}
							}
						}
					}
				}
			}
		})
	}
}

// matFree returns N v by NormalMul, with λ = 1e-3, and the diagonal blocks
// of N without λ by BlockDiag.
func matFree(as Assembler, p *problem, alpha float64, v *mat.Dense) (*mat.Dense, []float64) {
	h, D := v.Dims()
	var c mat.Dense
	c.Mul(p.beta, p.beta.T())
	out := mat.NewDense(h, D, nil)
	as.NormalMul(out, v, p.x, p.act, alpha, &c, 1e-3)
	return out, as.BlockDiag(p.x, p.act, alpha, p.beta)
}

// Sum is the Gram matrix of the rows.
func TestSum(t *testing.T) {
	for _, k := range []int{3, 8, 9, 40} {
		p := newProblem(4, 2*parallel.ChunkRows+11, k-1, 1, 1)
		n, _ := p.x.Dims()
		raw := p.x.RawMatrix()
		got := make([]float64, k*k)
		Assembler{}.Sum(raw.Data, raw.Stride, n, k, got)
		var want mat.Dense
		want.Mul(p.x.T(), p.x)
		for a := range k {
			for b := a; b < k; b++ {
				if w := want.At(a, b); math.Abs(got[a*k+b]-w) > 1e-10*(1+math.Abs(w)) {
					t.Fatalf("k %d: entry (%d, %d) = %v, want %v", k, a, b, got[a*k+b], w)
				}
			}
		}
	}
}

// BenchmarkNormal times the normal-matrix assembly alone at n = 10000,
// D = 31, h = 50, in dense-equivalent n·(hD)² per second.
func BenchmarkNormal(b *testing.B) {
	const n, d, h = 10000, 30, 50
	p := newProblem(1, n, d, h, 1)
	dst := mat.NewSymDense(h*(d+1), nil)
	for b.Loop() {
		Assembler{}.Normal(dst, p.x, p.act, 0, p.beta, 1e-3)
	}
	hD := float64(h * (d + 1))
	b.ReportMetric(n*hD*hD*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}

// BenchmarkMatFree times, at the patches' shape (n = 27556, D = 226,
// h = 32), what the hidden step's conjugate gradients need: a product with
// the normal matrix (NormalMul, once an iteration), the preconditioner's
// diagonal blocks (BlockDiag, once a step) and, for scale, the right-hand
// side (RHS, once a step, m = 1 here).
func BenchmarkMatFree(b *testing.B) {
	const n, d, h = 27556, 225, 32
	p := newProblem(3, n, d, h, 1)
	v := mat.NewDense(h, d+1, nil)
	for j := range h {
		for a := range d + 1 {
			v.Set(j, a, float64(j-a)/100)
		}
	}
	var c mat.Dense
	c.Mul(p.beta, p.beta.T())
	out := mat.NewDense(h, d+1, nil)
	var as Assembler
	b.Run("NormalMul", func(b *testing.B) {
		for b.Loop() {
			as.NormalMul(out, v, p.x, p.act, 0, &c, 1e-3)
		}
	})
	b.Run("BlockDiag", func(b *testing.B) {
		for b.Loop() {
			as.BlockDiag(p.x, p.act, 0, p.beta)
		}
	})
	b.Run("RHS", func(b *testing.B) {
		for b.Loop() {
			as.RHS(p.x, p.y, p.act, 0, p.beta, p.beta0)
		}
	})
}

// Normal stops soon after the pool's context ends, also within a job of
// several pairs of groups: here one goroutine, three groups, and a first
// job of two of the three pairs, two thirds of the work.
func TestNormalStopsWithinAJob(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping: forms a normal matrix of 4068 unknowns from 70,000 rows, twice")
	}
	const n, d, h = 70000, 225, 18
	if b := classBits(n, h); (h+b-1)/b != 3 {
		t.Fatalf("classBits(%d, %d) = %d: the case needs three groups", n, h, b)
	}
	p := newProblem(9, n, d, h, 1)
	dst := mat.NewSymDense(h*(d+1), nil)
	as := Assembler{Pool: parallel.Pool{Workers: 1}, copyAbove: 1}
	start := time.Now()
	as.Normal(dst, p.x, p.act, 0, p.beta, 1e-3)
	full := time.Since(start)
	ctx, cancel := context.WithCancel(context.Background())
	as.Pool.Ctx = ctx
	ended := make(chan time.Time, 1)
	time.AfterFunc(full/10, func() {
		ended <- time.Now()
		cancel()
	})
	as.Normal(dst, p.x, p.act, 0, p.beta, 1e-3)
	took := time.Since(<-ended)
	t.Logf("Normal takes %v; stopped %v after the context ended", full, took)
	if took > full/5 {
		t.Errorf("stopped %v after the context ended; Normal takes %v", took, full)
	}
}
