package gram

import (
	"math"
	"math/rand/v2"
	"testing"

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
			// The kernels' reference loops, the kernels reading scattered
			// rows in place, and the kernels reading copies of them.
			for _, v := range []struct{ portable, copies bool }{{true, false}, {false, false}, {false, true}} {
				var first *mat.SymDense
				for _, workers := range []int{1, 2, 8} {
					as := Assembler{Pool: parallel.Pool{Workers: workers}, Portable: v.portable}
					if v.copies {
						as.copyAbove = 1
					}
					got := mat.NewSymDense(tc.h*D, nil)
					as.Normal(got, p.x, p.act, tc.alpha, p.beta, 1e-3)
					if first == nil {
						first = got
					} else if !mat.Equal(first, got) {
						t.Errorf("%+v, workers %d: not bit-identical to one worker", v, workers)
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
				}
			}
		})
	}
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
