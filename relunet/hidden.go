package relunet

import (
	"errors"
	"fmt"
	"math"
	"time"

	"gonum.org/v1/gonum/mat"

	"github.com/relunet/relunet/relunet/internal/asm/f64"
	"github.com/relunet/relunet/relunet/internal/gram"
	"github.com/relunet/relunet/relunet/internal/size"
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

// hidden performs the hidden step without recording it; W changes only
// when it succeeds.
func (a *Analytic) hidden() (HiddenResult, error) {
	res := HiddenResult{Solve: a.opts.HiddenSolve}
	start := time.Now()
	h, _ := a.net.W.Dims()
	rhs := a.as.RHS(a.pr.x, a.pr.y, a.pat.act, a.net.Alpha, a.net.Beta, a.net.Beta0)
	if err := a.as.Pool.Err(); err != nil {
		return res, err
	}
	alive := a.aliveNeurons()
	res.Dead = h - len(alive)
	var w *mat.Dense
	var err error
	rhsSeconds := since(start)
	switch res.Solve {
	case SolveDual:
		w, res.Fallback, err = a.solveDual(alive)
		res.AssembleSeconds = since(start)
	case SolveCG:
		res.AssembleSeconds = rhsSeconds
		w, res.CGIters, res.CGResid, err = a.cg(rhs, len(alive), a.opts.CGMaxIter)
		res.CGConverged = a.opts.CGTol > 0 && res.CGResid <= a.opts.CGTol
	case SolveCGOrPrimal:
		if !a.cgOff {
			w, res.CGIters, res.CGResid, err = a.cg(rhs, len(alive), a.cgCap)
			res.CGConverged = res.CGResid <= a.opts.CGTol
			if err != nil || res.CGConverged {
				res.AssembleSeconds, res.Solve = rhsSeconds, SolveCG
				break
			}
		}
		// Past the cap the direct solve costs less than going on, and from
		// then on it runs alone: a run whose iterations have met the cap
		// is likely to meet it again, at the cap's cost each time (on one
		// of three seeds of a sample of the patches they rose over the run
		// as the network fitted the rows, to the cap and near it).
		a.cgOff, res.Solve = true, SolvePrimal
		fallthrough
	default:
		var took float64
		w, res.Fallback, took, err = a.solvePrimal(rhs, alive)
		res.AssembleSeconds = rhsSeconds + took // the right-hand side and the assembly
	}
	if cerr := a.as.Pool.Err(); cerr != nil {
		return res, cerr
	}
	if err != nil {
		return res, fmt.Errorf("hidden step: %w", err)
	}
	res.SolveSeconds = since(start) - res.AssembleSeconds
	for _, j := range alive {
		a.net.W.SetRow(j, w.RawRowView(j))
	}
	a.preValid = false
	res.Surrogate, err = a.surrogate()
	return res, err
}

// solvePrimal assembles the hidden step's normal matrix, with the damping
// and the dead neurons isolated, and solves it with the right-hand side
// rhs, which it changes. It returns the new W, whether the eigen fallback
// ran, and the seconds the assembly took.
func (a *Analytic) solvePrimal(rhs *mat.Dense, alive []int) (*mat.Dense, bool, float64, error) {
	start := time.Now()
	h, D := a.net.W.Dims()
	sys, done := a.system(h * D)
	defer done()
	dead := a.deadNeurons(alive)
	damped := false
	assemble := func(dst *mat.SymDense) {
		a.assemble(dst)
		isolate(dst, dead, D)
		if a.stepDamping() > 0 {
			a.damp(dst, rhs, alive, D, !damped)
			damped = true
		}
	}
	assemble(sys)
	took := since(start)
	if err := a.as.Pool.Err(); err != nil {
		return nil, false, took, err
	}
	// A dead neuron's block row is zero but for λI: isolated, with the
	// identity on its diagonal block and its weights on the right,
	// it keeps them exactly, and the others solve as without it.
	for _, j := range dead {
		rhs.SetRow(j, a.net.W.RawRowView(j))
	}
	sol, fallback, err := spd.Solve(a.as.Pool, sys, mat.NewDense(h*D, 1, rhs.RawMatrix().Data), a.hiddenFloor(len(dead) > 0), assemble,
		a.fallbackFits(h*D))
	if err != nil {
		return nil, fallback, took, err
	}
	return mat.NewDense(h, D, sol.RawMatrix().Data), fallback, took, nil
}

// fallbackFits returns the check that the eigen fallback of a direct
// solve of k unknowns fits in the memory limit, beside what the plan took.
func (a *Analytic) fallbackFits(k int) func() error {
	return func() error {
		return a.mem.check(fmt.Sprintf("the eigen fallback of the direct solve of %d unknowns (its system is not numerically positive definite)", k),
			fallbackBytes(k), a.used)
	}
}

// isolate sets the block rows and columns of the dead neurons in the upper
// triangle of n to those of the identity.
func isolate(n *mat.SymDense, dead []int, D int) {
	raw := n.RawSymmetric()
	for _, j := range dead {
		for r := j * D; r < (j+1)*D; r++ {
			for c := 0; c < r; c++ { // column r above the diagonal
				raw.Data[c*raw.Stride+r] = 0
			}
			row := raw.Data[r*raw.Stride : r*raw.Stride+raw.N]
			clear(row[r:])
			row[r] = 1
		}
	}
}

// deadNeurons returns the neurons not in alive, which is increasing.
func (a *Analytic) deadNeurons(alive []int) []int {
	var dead []int
	k := 0
	for j := 0; j < a.opts.Hidden; j++ {
		if k < len(alive) && alive[k] == j {
			k++
			continue
		}
		dead = append(dead, j)
	}
	return dead
}

// solveDual solves the hidden step in its dual form: vec(W) = Φᵀa with
// (ΦΦᵀ + λI)a = y - β₀ over the n·m rows (i, o) of the design Φ, whose row
// is (β_{·o} ⊙ G_i) ⊗ x̃_i. The entry of ΦΦᵀ for rows (i, o) and (k, p) is
// (x̃_i·x̃_k)·Σ_j G_ij G_kj β_jo β_jp: a Hadamard product of X̃X̃ᵀ with a
// product of the pattern. It returns W's rows for the alive neurons (the
// design's columns for the others are zero), and whether the eigen fallback
// was needed.
func (a *Analytic) solveDual(alive []int) (*mat.Dense, bool, error) {
	n, m, h := a.pr.n, a.pr.m, a.opts.Hidden
	_, D := a.net.W.Dims()
	G := a.pat.dense(a.net.Alpha)
	nm := n * m
	// The columns (i, o) of X̃ᵀ, repeated for each output, and of (GB_o)ᵀ,
	// GB_o = G·diag(β_{·o}), so that ΦΦᵀ is the Hadamard product of their
	// Gram matrices.
	// X̃ᵀ does not change between steps: it is formed on the first step.
	ld, beta := gram.DualLd(nm), a.net.Beta
	if a.dualX == nil {
		a.dualX = make([]float64, D*ld)
		for i := 0; i < n; i++ {
			for o := 0; o < m; o++ {
				for t, v := range a.pr.x.RawRowView(i) {
					a.dualX[t*ld+o*n+i] = v
				}
			}
		}
	}
	sys, done := a.system(nm)
	defer done()
	xt, zt := a.dualX, make([]float64, h*ld)
	for i := 0; i < n; i++ {
		for o := 0; o < m; o++ {
			for j, v := range G.RawRowView(i) {
				zt[j*ld+o*n+i] = v * beta.At(j, o)
			}
		}
	}
	// form sets dst to ΦΦᵀ + cI; the factor overwrites sys, which form
	// forms again should the eigen fallback need it.
	form := func(dst *mat.SymDense, c float64) {
		raw := dst.RawSymmetric()
		a.as.HadamardGrams(raw.Data, raw.Stride, xt, D, zt, h, ld, nm)
		for r := 0; r < nm; r++ {
			raw.Data[r*raw.Stride+r] += c
		}
	}
	form(sys, 0)
	if err := a.as.Pool.Err(); err != nil {
		return nil, false, err
	}
	rhs := mat.NewDense(nm, 1, nil)
	for o := 0; o < m; o++ {
		for i := 0; i < n; i++ {
			rhs.Set(o*n+i, 0, a.pr.y.At(i, o)-a.net.Beta0[o])
		}
	}
	mag := mat.Trace(sys)
	// With the damping μ‖W - W_old‖², the solution is W = (μ/c)W_old + Φᵀa
	// with (ΦΦᵀ + cI)a = y - β₀ - (μ/c)ΦW_old, c = λ + μ: the same system
	// with the ridge c and the old weights' frozen-pattern fit taken out.
	mu := a.stepDamping() * mag / float64(max(len(alive)*D, 1))
	c := a.opts.lambda() + mu
	if mu > 0 {
		a.ensurePre()
		fit := mat.NewDense(n, m, nil)
		u := mat.DenseCopyOf(a.pre)
		u.MulElem(u, G)
		fit.Mul(u, a.net.Beta)
		for o := 0; o < m; o++ {
			for i := 0; i < n; i++ {
				rhs.Set(o*n+i, 0, rhs.At(o*n+i, 0)-mu/c*fit.At(i, o))
			}
		}
	}
	raw := sys.RawSymmetric()
	for r := 0; r < nm; r++ {
		raw.Data[r*raw.Stride+r] += c
	}
	sol, eigen, err := spd.Solve(a.as.Pool, sys, rhs, spd.Floor(c, h+D, mag), func(dst *mat.SymDense) { form(dst, c) }, a.fallbackFits(nm))
	if err != nil {
		return nil, eigen, err
	}
	// w_j = Σ_{i,o} a_io β_jo G_ij x̃_i: W = C X̃ with C_ji = G_ij Σ_o β_jo a_io.
	C := mat.NewDense(h, n, nil)
	for _, j := range alive {
		for i := 0; i < n; i++ {
			var s float64
			for o := 0; o < m; o++ {
				s += a.net.Beta.At(j, o) * sol.At(o*n+i, 0)
			}
			C.Set(j, i, G.At(i, j)*s)
		}
	}
	w := mat.NewDense(h, D, nil)
	w.Mul(C, a.pr.x)
	if mu > 0 {
		for _, j := range alive {
			row, old := w.RawRowView(j), a.net.W.RawRowView(j)
			for k := range row {
				row[k] += mu / c * old[k]
			}
		}
	}
	return w, eigen, nil
}

// assemble sets dst to the hidden step's normal matrix for the current β
// and pattern.
func (a *Analytic) assemble(dst *mat.SymDense) {
	a.as.Normal(dst, a.pr.x, a.pat.act, a.net.Alpha, a.net.Beta, a.opts.lambda())
}

// Normal returns the normal matrix N of the hidden step for the current β
// and pattern, λI included: after HiddenStep (and before UpdatePattern and
// OutputStep), the matrix that step solved, but for the rows and columns of
// dead neurons, which the step isolates (see HiddenResult.Dead). A matrix
// that does not fit beside the solver in the memory limit is an error.
func (a *Analytic) Normal() (*mat.SymDense, error) {
	h, D := a.net.W.Dims()
	k, _ := size.Mul(h, D)
	if err := a.mem.check(fmt.Sprintf("a normal matrix of %d×%d unknowns", h, D), fallbackBytes(k)/2, a.used); err != nil {
		return nil, fmt.Errorf("relunet: analytic: Normal: %w", err)
	}
	n := mat.NewSymDense(k, nil)
	a.assemble(n)
	if err := a.as.Pool.Err(); err != nil {
		return nil, fmt.Errorf("relunet: analytic: Normal: %w", err)
	}
	return n, nil
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
// blocks that gives mag = ‖X̃‖²_F·‖c‖_F. Isolated dead neurons add the
// eigenvalue 1, exactly.
func (a *Analytic) hiddenFloor(isolated bool) float64 {
	var c mat.Dense
	c.Mul(a.net.Beta, a.net.Beta.T())
	f := spd.Floor(a.opts.lambda(), a.pr.n, a.pr.xx*mat.Norm(&c, 2))
	if isolated && f > 1 {
		f = 1
	}
	return f
}

// surrogate returns the training MSE of the current weights with the frozen pattern.
func (a *Analytic) surrogate() (float64, error) {
	a.ensurePre()
	loss := mse(a.as.Pool, a.pre, a.pat, a.net, a.pr.y)
	return loss, a.as.Pool.Err()
}

// cg solves the hidden step's normal equations N vec(W) = b by conjugate
// gradients from the current W, stopped when the relative residual
// ‖b - N w‖/‖b‖ is within CGTol or after maxIter iterations; alive is the
// number of alive neurons, which scales the damping. N is never
// formed: a product with it is one pass over the rows of h(2D+h)
// multiply-adds each (gram.NormalMul). The preconditioner is block Jacobi, the inverse of
// N's diagonal blocks N_jj = c_jj Σ_i G_ij² x̃_i x̃_iᵀ + λI, one D×D block
// per neuron: they hold what couples a neuron's own weights, and each
// costs a Cholesky factorisation of D³/6. On the patches (D = 226, h = 32)
// they took the residual to 1e-10 in 38 to 91 iterations in the first four
// alternations of a run, where the diagonal alone (Jacobi) took 461 to 768.
func (a *Analytic) cg(rhs *mat.Dense, alive, maxIter int) (*mat.Dense, int, float64, error) {
	h, D := a.net.W.Dims()
	x, act, alpha, beta, lambda := a.pr.x, a.pat.act, a.net.Alpha, a.net.Beta, a.opts.lambda()
	tol := max(a.opts.CGTol, 0)
	blocks := a.as.BlockDiag(x, act, alpha, beta)
	// The damping μ‖W - W_old‖² adds μ to the diagonal and μ·W_old to the
	// right: the ridge becomes λ + μ.
	var trace float64
	for j := range h {
		for r := range D {
			trace += blocks[(j*D+r)*D+r]
		}
	}
	mu := a.stepDamping() * trace / float64(max(alive*D, 1))
	if mu > 0 {
		rhs = mat.DenseCopyOf(rhs)
		axpyDense(mu, a.net.W, rhs)
		lambda += mu
	}
	precond := a.blockJacobi(blocks, lambda)
	var c mat.Dense
	c.Mul(beta, beta.T())
	mul := func(out, v *mat.Dense) { a.as.NormalMul(out, v, x, act, alpha, &c, lambda) }

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
	for ; (maxIter < 0 || it < maxIter) && resid > tol; it++ {
		if err := a.as.Pool.Err(); err != nil {
			return nil, it, resid, err
		}
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
	if err := a.as.Pool.Err(); err != nil {
		return nil, it, resid, err
	}
	if !spd.AllFinite(w) {
		return nil, it, resid, errors.New("hidden step: conjugate gradients produced non-finite values")
	}
	return w, it, resid, nil
}

// blockJacobi returns the preconditioner z_j = (B_j + λI)⁻¹ r_j for the
// diagonal blocks B_j (D×D at blocks[j*D*D:], upper triangles). The
// inverses are formed once, so that an application costs h products of a
// D×D matrix with a vector, about 1/200 of a product with N on the
// patches. A block that is not numerically positive definite (λ = 0 and a
// neuron without rows) is replaced by its diagonal, or 1 where that is not
// positive.
func (a *Analytic) blockJacobi(blocks []float64, lambda float64) func(z, r *mat.Dense) {
	h, D := a.net.W.Dims()
	inv := make([]*mat.Dense, h)
	diag := make([][]float64, h)
	a.as.Pool.For(h, func(j, _ int) {
		b := mat.NewSymDense(D, blocks[j*D*D:(j+1)*D*D])
		for r := range D {
			b.SetSym(r, r, b.At(r, r)+lambda)
		}
		var ch mat.Cholesky
		var bi mat.SymDense
		// InverseTo fails only for a singular factor, and its condition
		// warning leaves an inverse that still serves as a preconditioner.
		if ch.Factorize(b) {
			if err := ch.InverseTo(&bi); err == nil || spd.AllFinite(mat.DenseCopyOf(&bi)) {
				inv[j] = mat.DenseCopyOf(&bi)
				return
			}
		}
		diag[j] = make([]float64, D)
		for r := range D {
			if diag[j][r] = b.At(r, r); !(diag[j][r] > 0) {
				diag[j][r] = 1
			}
		}
	})
	return func(z, r *mat.Dense) {
		a.as.Pool.For(h, func(j, _ int) {
			zj, rj := z.RawRowView(j), r.RawRowView(j)
			if inv[j] == nil {
				for k, v := range rj {
					zj[k] = v / diag[j][k]
				}
				return
			}
			// The inverse is symmetric: z_jᵀ = r_jᵀ B⁻¹.
			f64.RowsTimes(zj, D, rj, D, inv[j].RawMatrix().Data, 1, D, D)
		})
	}
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

// stepDamping returns the damping of the hidden step under way: that of
// the alternation after the last recorded one (Step records its
// alternation when it ends, and a HiddenStep called on its own begins one).
func (a *Analytic) stepDamping() float64 { return a.opts.damping(a.Last().Iter + 1) }

// damp adds the proximal term μ‖W - W_old‖² to the hidden step's problem
// for the alive neurons: μ on the diagonal of n and, when right, μ·W_old
// on the right of rhs, μ the Damping option times the mean diagonal entry
// of the alive neurons' rows of n without the ridge.
func (a *Analytic) damp(n *mat.SymDense, rhs *mat.Dense, alive []int, D int, right bool) {
	raw := n.RawSymmetric()
	var trace float64
	for _, j := range alive {
		for r := j * D; r < (j+1)*D; r++ {
			trace += raw.Data[r*raw.Stride+r] - a.opts.lambda()
		}
	}
	mu := a.stepDamping() * trace / float64(max(len(alive)*D, 1))
	for _, j := range alive {
		for r := j * D; r < (j+1)*D; r++ {
			raw.Data[r*raw.Stride+r] += mu
		}
		if right {
			row, w := rhs.RawRowView(j), a.net.W.RawRowView(j)
			for c := range row {
				row[c] += mu * w[c]
			}
		}
	}
}
