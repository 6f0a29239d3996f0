package relunet

import (
	"fmt"

	"gonum.org/v1/gonum/mat"

	"github.com/relunet/relunet/relunet/internal/parallel"
	"github.com/relunet/relunet/relunet/internal/spd"
)

// The pattern update and the output step. With W fixed, the hidden outputs
// H = φ_α(X̃Wᵀ) are fixed and f is linear in θ = [β₀; β]: with A = [1, H]
// the ridge objective ‖Y - Aθ‖² + λ‖θ‖² has its unique critical point at
// (AᵀA + λI)θ = AᵀY, a system of h+1 unknowns. When there are fewer rows n
// than that, the same θ is Aᵀα with (AAᵀ + λI)α = Y, a system of n: the
// output step solves whichever is smaller.

// updatePattern recomputes the activation pattern from W and returns the
// number of entries that changed, without recording it.
func (a *Analytic) updatePattern() int {
	a.ensurePre()
	if !a.preValid {
		return 0 // the context ended: the caller abandons the step
	}
	flips := make([]int, (a.pr.n+parallel.ChunkRows-1)/parallel.ChunkRows)
	a.as.Pool.Rows(a.pr.n, func(c, lo, hi int) { flips[c] = a.pat.set(a.pre, lo, hi) })
	total := 0
	for _, f := range flips {
		total += f
	}
	return total
}

// output performs the output step without recording it; it changes β and
// β₀ only when it succeeds.
func (a *Analytic) output() (OutputResult, error) {
	a.ensurePre()
	h := a.opts.Hidden
	a.as.Pool.Rows(a.pr.n, func(_, lo, hi int) {
		activate(a.net.Alpha, a.hid.Slice(lo, hi, 0, h).(*mat.Dense), a.pre.Slice(lo, hi, 0, h).(*mat.Dense))
	})
	ridge := a.ridge
	if a.dualOutput() {
		ridge = a.ridgeDual
	}
	if err := a.as.Pool.Err(); err != nil {
		return OutputResult{}, err
	}
	coef, fallback, err := ridge()
	if cerr := a.as.Pool.Err(); cerr != nil {
		return OutputResult{}, cerr
	}
	if err != nil {
		return OutputResult{}, fmt.Errorf("output step: %w", err)
	}
	for o := range a.net.Beta0 {
		a.net.Beta0[o] = coef.At(0, o)
	}
	a.net.Beta.Copy(coef.Slice(1, h+1, 0, a.pr.m))
	loss := mse(a.as.Pool, a.hid, nil, a.net, a.pr.y)
	return OutputResult{Loss: loss, Fallback: fallback}, a.as.Pool.Err()
}

// ridge returns argmin_θ ‖Y - Aθ‖² + λ‖θ‖² for A = [1, H], and whether the
// fallback solve was needed. The Gram matrix of [1, H, Y] holds both AᵀA
// and AᵀY.
func (a *Analytic) ridge() (*mat.Dense, bool, error) {
	n, k := a.ahy.Dims()
	q := a.opts.Hidden + 1
	raw := a.ahy.RawMatrix()
	g := make([]float64, k*k)
	a.as.Sum(raw.Data, raw.Stride, n, k, g)
	sys := mat.NewSymDense(q, nil)
	rhs := mat.NewDense(q, a.pr.m, nil)
	for r := 0; r < q; r++ {
		for c := r; c < q; c++ {
			sys.SetSym(r, c, g[r*k+c])
		}
		sys.SetSym(r, r, g[r*k+r]+a.opts.lambda())
		for o := 0; o < a.pr.m; o++ {
			rhs.Set(r, o, g[r*k+q+o])
		}
	}
	floor := spd.Floor(a.opts.lambda(), n, mat.Trace(sys)-float64(q)*a.opts.lambda())
	return spd.Solve(a.as.Pool, sys, rhs, floor, nil, nil)
}

// dualOutput reports whether the output step solves its n×n dual system.
func (a *Analytic) dualOutput() bool { return a.opts.Hidden+1 > a.pr.n }

// ridgeDual returns ridge's solution as Aᵀα, (AAᵀ + λI)α = Y, for A = [1, H].
func (a *Analytic) ridgeDual() (*mat.Dense, bool, error) {
	n, q := a.pr.n, a.opts.Hidden+1
	A := a.ahy.Slice(0, n, 0, q).(*mat.Dense)
	sys := mat.NewSymDense(n, nil)
	sys.SymOuterK(1, A)
	for i := 0; i < n; i++ {
		sys.SetSym(i, i, sys.At(i, i)+a.opts.lambda())
	}
	floor := spd.Floor(a.opts.lambda(), q, mat.Trace(sys)-float64(n)*a.opts.lambda())
	alpha, fallback, err := spd.Solve(a.as.Pool, sys, a.pr.y, floor, nil, nil)
	if err != nil {
		return nil, fallback, err
	}
	theta := mat.NewDense(q, a.pr.m, nil)
	theta.Mul(A.T(), alpha)
	return theta, fallback, nil
}
