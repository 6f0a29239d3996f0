package relunet

import (
	"errors"
	"fmt"
	"math"
	"time"

	"gonum.org/v1/gonum/mat"

	"github.com/relunet/relunet/relunet/internal/asm/f64"
	"github.com/relunet/relunet/relunet/internal/spd"
)

// The hidden step. With β, β₀ and the activation pattern G frozen, the
// network output f(x̃_i)_o = β₀o + Σ_j β_jo G_ij w_jᵀx̃_i is linear in
// vec(W): row (i, o) of its design is (β_{·o} ⊙ G_i) ⊗ x̃_i. The ridge
// least-squares solution solves N vec(W) = b with the (hD)×(hD) normal
// matrix of D×D blocks
//
//	N_jk = (ββᵀ)_jk Σ_i G_ij G_ik x̃_i x̃_iᵀ   (+ λI when j = k)
//
// and b_j = Σ_i G_ij ((y_i - β₀)·β_j) x̃_i. Package gram forms N and b.

// HiddenSolver selects how the hidden step solves its normal equations.
type HiddenSolver int

const (
	// HiddenAuto uses HiddenDirect up to cgThreshold unknowns and HiddenCG above.
	HiddenAuto HiddenSolver = iota
	// HiddenDirect assembles the (hD)×(hD) normal matrix and factorises it.
	HiddenDirect
	// HiddenCG runs preconditioned conjugate gradients on the normal
	// equations without forming them, warm-started from the current W.
	HiddenCG
)

// cgThreshold is the number of hidden-step unknowns h·D above which
// HiddenAuto switches to conjugate gradients. Below it the direct solve is
// the faster one (3.6 s against about a minute at 5824 unknowns on 2 cores),
// and its normal matrix and factor, 16·(h·D)² bytes, stay under 750 MiB.
const cgThreshold = 7000

// hidden performs the hidden step without recording it.
func (a *Analytic) hidden() (HiddenResult, error) {
	var res HiddenResult
	start := time.Now()
	h, D := a.net.W.Dims()
	rhs := a.as.RHS(a.pr.x, a.pr.y, a.pat.act, a.net.Alpha, a.net.Beta, a.net.Beta0)
	alive := a.aliveNeurons()
	res.Dead = h - len(alive)
	var w *mat.Dense
	if a.useCG() {
		res.Solve = SolveCG
		res.AssembleSeconds = time.Since(start).Seconds()
		var err error
		w, res.CGIters, res.CGResid, err = a.cg(rhs)
		if err != nil {
			return res, err
		}
	} else {
		if a.sys == nil {
			a.sys = mat.NewSymDense(h*D, nil)
		}
		a.as.Normal(a.sys, a.pr.x, a.pat.act, a.net.Alpha, a.net.Beta, a.opts.Ridge)
		normal := a.sys
		res.AssembleSeconds = time.Since(start).Seconds()
		var err error
		w, res.Fallback, err = a.solveAlive(normal, rhs, alive, D)
		if err != nil {
			return res, fmt.Errorf("hidden step: %w", err)
		}
		res.Solve = SolveCholesky
		if res.Fallback {
			res.Solve = SolveEigen
		}
	}
	res.SolveSeconds = time.Since(start).Seconds() - res.AssembleSeconds
	for _, j := range alive {
		a.net.W.SetRow(j, w.RawRowView(j))
	}
	a.preValid = false
	res.Surrogate = a.surrogate()
	return res, nil
}

// Normal returns the normal matrix N of the hidden step for the current β
// and pattern, λI included: after HiddenStep (and before UpdatePattern and
// OutputStep), the matrix that step solved.
func (a *Analytic) Normal() *mat.SymDense {
	h, D := a.net.W.Dims()
	n := mat.NewSymDense(h*D, nil)
	a.as.Normal(n, a.pr.x, a.pat.act, a.net.Alpha, a.net.Beta, a.opts.Ridge)
	return n
}

// aliveNeurons returns the neurons whose weights the hidden step determines:
// those with a nonzero output weight and, for the ReLU, an active row. The
// others have a zero block row in the normal matrix; solving for them would
// set them to zero for good, so they are left as they are.
func (a *Analytic) aliveNeurons() []int {
	h := a.opts.Hidden
	alive := make([]int, 0, h)
	for j := 0; j < h; j++ {
		if mat.Norm(a.net.Beta.RowView(j), 2) == 0 {
			continue
		}
		if a.net.Alpha == 0 {
			active := false
			for i := 0; i < a.pr.n && !active; i++ {
				active = a.pat.act[i*h+j]
			}
			if !active {
				continue
			}
		}
		alive = append(alive, j)
	}
	return alive
}

// hiddenFloor returns spd.Floor for the hidden step's normal matrix. Its
// block (j, k) is c_jk·Σ_i g_ij·g_ik·x̃_i x̃_iᵀ, c = ββᵀ, formed from Gram
// sums with weights (1-α)², α(1-α) and α², of total 1 for α in [0, 1), each
// within ‖Σ_i |x̃_i||x̃_i|ᵀ‖_F ≤ ‖X̃‖²_F of the rows' absolute sum; over the
// blocks that gives mag = ‖X̃‖²_F·‖c‖_F.
func (a *Analytic) hiddenFloor() float64 {
	var c mat.Dense
	c.Mul(a.net.Beta, a.net.Beta.T())
	return spd.Floor(a.opts.Ridge, a.pr.n, a.pr.xx*mat.Norm(&c, 2))
}

// solveAlive solves the normal equations restricted to the alive neurons'
// unknowns and returns the h×D solution (zero rows for the others), and
// whether the eigen fallback was needed.
func (a *Analytic) solveAlive(n *mat.SymDense, rhs *mat.Dense, alive []int, D int) (*mat.Dense, bool, error) {
	h, _ := rhs.Dims()
	out := mat.NewDense(h, D, nil)
	if len(alive) == 0 {
		return out, false, nil
	}
	sys, b := n, mat.NewDense(h*D, 1, rhs.RawMatrix().Data)
	if len(alive) < h {
		k := len(alive) * D
		sys = mat.NewSymDense(k, nil)
		b = mat.NewDense(k, 1, nil)
		for p, j := range alive {
			for r := 0; r < D; r++ {
				b.Set(p*D+r, 0, rhs.At(j, r))
				for q := p; q < len(alive); q++ {
					for c := 0; c < D; c++ {
						if q > p || c >= r {
							sys.SetSym(p*D+r, q*D+c, n.At(j*D+r, alive[q]*D+c))
						}
					}
				}
			}
		}
	}
	sol, eigen, err := spd.Solve(a.as.Pool, sys, b, a.hiddenFloor(), &a.factor)
	if err != nil {
		return nil, eigen, err
	}
	for p, j := range alive {
		for r := 0; r < D; r++ {
			out.Set(j, r, sol.At(p*D+r, 0))
		}
	}
	return out, eigen, nil
}

func (a *Analytic) useCG() bool {
	switch a.opts.Solver {
	case HiddenCG:
		return true
	case HiddenDirect:
		return false
	}
	h, D := a.net.W.Dims()
	return h*D > cgThreshold
}

// surrogate returns the training MSE of the current weights with the frozen pattern.
func (a *Analytic) surrogate() float64 {
	a.ensurePre()
	return mse(a.as.Pool, a.pre, a.pat, a.net, a.pr.y)
}

// cg solves the hidden step's normal equations by Jacobi-preconditioned
// conjugate gradients from the current W.
func (a *Analytic) cg(rhs *mat.Dense) (*mat.Dense, int, float64, error) {
	h, D := a.net.W.Dims()
	x, p, alpha, beta, lambda := a.pr.x, a.pat, a.net.Alpha, a.net.Beta, a.opts.Ridge
	tol := a.opts.CGTol
	if tol == 0 {
		tol = 1e-10
	}
	maxIter := a.opts.CGMaxIter
	if maxIter == 0 {
		maxIter = 4 * h * D
	}
	// Jacobi preconditioner: diag N_(j,a) = c_jj Σ_i G_ij² x_ia² + λ.
	g2 := p.dense(alpha)
	g2.MulElem(g2, g2)
	var x2, diag mat.Dense
	x2.MulElem(x, x)
	diag.Mul(g2.T(), &x2)
	for j := 0; j < h; j++ {
		cjj := mat.Dot(beta.RowView(j), beta.RowView(j))
		row := diag.RawRowView(j)
		for k := range row {
			row[k] = row[k]*cjj + lambda
			if row[k] <= 0 {
				row[k] = 1
			}
		}
	}
	precond := func(z, r *mat.Dense) { z.DivElem(r, &diag) }
	u, t := mat.NewDense(a.pr.n, h, nil), mat.NewDense(a.pr.n, h, nil)
	mul := func(out, v *mat.Dense) { normalMul(out, v, x, p, alpha, beta, lambda, u, t) }

	w := mat.DenseCopyOf(a.net.W)
	r, z, dir, q := mat.NewDense(h, D, nil), mat.NewDense(h, D, nil), mat.NewDense(h, D, nil), mat.NewDense(h, D, nil)
	mul(q, w)
	r.Sub(rhs, q)
	bnorm := mat.Norm(rhs, 2)
	if bnorm == 0 {
		bnorm = 1
	}
	precond(z, r)
	dir.Copy(z)
	rz := mat.Dot(vec(r), vec(z))
	resid := mat.Norm(r, 2) / bnorm
	it := 0
	for ; it < maxIter && resid > tol; it++ {
		mul(q, dir)
		pq := mat.Dot(vec(dir), vec(q))
		if pq <= 0 || math.IsNaN(pq) {
			break // no positive curvature left: the residual lies in the null space
		}
		step := rz / pq
		axpyDense(step, dir, w)
		axpyDense(-step, q, r)
		resid = mat.Norm(r, 2) / bnorm
		precond(z, r)
		rzNew := mat.Dot(vec(r), vec(z))
		dir.Scale(rzNew/rz, dir)
		dir.Add(dir, z)
		rz = rzNew
	}
	if !spd.AllFinite(w) {
		return nil, it, resid, errors.New("hidden step: conjugate gradients produced non-finite values")
	}
	return w, it, resid, nil
}

// vec views the entries of a contiguous matrix as a vector.
func vec(a *mat.Dense) *mat.VecDense {
	r, c := a.Dims()
	return mat.NewVecDense(r*c, a.RawMatrix().Data)
}

// axpyDense adds alpha·x to y, both contiguous of the same size.
func axpyDense(alpha float64, x, y *mat.Dense) {
	f64.Axpy(alpha, x.RawMatrix().Data, y.RawMatrix().Data)
}

// normalMul sets out (h×D) to N v without forming N: v ↦ X̃ᵀ(G ⊙ ((G ⊙ X̃vᵀ)ββᵀ)) + λv.
// Each product costs O(n·h·(D+m)).
func normalMul(out, v, x *mat.Dense, p *pattern, alpha float64, beta *mat.Dense, lambda float64, u, t *mat.Dense) {
	u.Mul(x, v.T())
	p.scale(alpha, u)
	var f mat.Dense
	f.Mul(u, beta)
	t.Mul(&f, beta.T())
	p.scale(alpha, t)
	out.Mul(t.T(), x)
	axpyDense(lambda, v, out)
}
