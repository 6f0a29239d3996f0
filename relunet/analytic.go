package relunet

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"gonum.org/v1/gonum/mat"
)

// HiddenSolver selects how the hidden step solves its normal equations.
type HiddenSolver int

const (
	// HiddenAuto uses HiddenDirect up to CGThreshold unknowns and HiddenCG above.
	HiddenAuto HiddenSolver = iota
	// HiddenDirect assembles the (hD)×(hD) normal matrix and factorises it.
	HiddenDirect
	// HiddenCG runs preconditioned conjugate gradients on the normal
	// equations without forming them, warm-started from the current W.
	HiddenCG
)

// CGThreshold is the number of hidden-step unknowns h·D above which
// HiddenAuto switches to conjugate gradients. Below it the direct solve is
// the faster one (3.6 s against about a minute at 5824 unknowns on 2 cores),
// and its normal matrix and factor, 16·(h·D)² bytes, stay under 750 MiB.
const CGThreshold = 7000

// AnalyticOptions configures an Analytic solver. DefaultAnalyticOptions
// returns the reference implementation's settings.
type AnalyticOptions struct {
	Hidden     int     // number of hidden units h
	Alpha      float64 // leaky slope α of φ_α, 0 for the ReLU
	Ridge      float64 // λ added to the diagonal of both normal matrices
	Iterations int     // Step returns false after this many alternations; ≤ 0 means no limit
	Seed       uint64  // seed of the N(0, 1) initial W

	// Safeguard rejects alternations that raise the training loss. It first
	// looks one alternation further from the new iterate; if that is still
	// worse, it searches W_old → W_new (β refit each time) at MaxBacktracks
	// halvings, and keeps the previous iterate when nothing lowers the
	// loss. Off, the solver behaves like the reference.
	Safeguard     bool
	MaxBacktracks int // 0 means 8

	// Init, when not nil, is the starting network (W is used, β is refit);
	// otherwise W ~ N(0, 1).
	Init *Net

	Solver    HiddenSolver
	CGTol     float64 // relative residual of the CG solve; 0 means 1e-10
	CGMaxIter int     // 0 means 4·h·D

	// Workers bounds the goroutines of the solver's parallel work
	// (assembly, factorisation, passes over the rows); 0 means GOMAXPROCS.
	// Results do not depend on it.
	Workers int
}

// DefaultAnalyticOptions returns the reference settings for h hidden units:
// ReLU, λ = 0.001, 30 iterations, seed 0, no safeguard.
func DefaultAnalyticOptions(h int) AnalyticOptions {
	return AnalyticOptions{Hidden: h, Ridge: 1e-3, Iterations: 30}
}

func (o AnalyticOptions) check() error {
	switch {
	case o.Hidden <= 0:
		return fmt.Errorf("relunet: analytic: Hidden must be positive, have %d", o.Hidden)
	case math.IsNaN(o.Ridge) || math.IsInf(o.Ridge, 0) || o.Ridge < 0:
		return fmt.Errorf("relunet: analytic: Ridge λ must be finite and non-negative, have %v", o.Ridge)
	case o.MaxBacktracks < 0:
		return fmt.Errorf("relunet: analytic: MaxBacktracks must not be negative, have %d", o.MaxBacktracks)
	case o.CGTol < 0 || math.IsNaN(o.CGTol):
		return fmt.Errorf("relunet: analytic: CGTol must not be negative, have %v", o.CGTol)
	case o.Solver < HiddenAuto || o.Solver > HiddenCG:
		return fmt.Errorf("relunet: analytic: unknown hidden solver %d", o.Solver)
	}
	return checkAlpha(o.Alpha)
}

// HiddenResult describes one hidden step.
type HiddenResult struct {
	// Surrogate is the training MSE of the network with the new W, the old β
	// and the frozen pattern: the quantity the hidden step minimised.
	Surrogate float64
	Solve     string // SolveCholesky, SolveEigen or SolveCG
	Fallback  bool   // the normal matrix was not numerically positive definite
	Dead      int    // neurons left unchanged: no active row or zero output weight
	CGIters   int    // conjugate-gradient iterations (SolveCG only)
	CGResid   float64

	AssembleSeconds float64
	SolveSeconds    float64
}

// OutputResult describes one output step.
type OutputResult struct {
	Loss     float64 // training MSE after the refit
	Fallback bool    // the normal matrix was not numerically positive definite
}

// AnalyticRecord describes one alternation, or the initial output step (Iter 0).
type AnalyticRecord struct {
	Iter int
	HiddenResult
	Loss           float64 // training MSE of the accepted iterate
	Flips          int     // pattern entries changed by the accepted iterate
	OutputFallback bool
	Lookahead      bool // the safeguard took a second alternation from the rejected iterate
	Backtracks     int  // safeguard halvings tried
	Rejected       bool // the safeguard kept the previous iterate
	Seconds        float64
}

// Analytic trains a two-layer network by alternating exact solves. Construct
// it with NewAnalytic, call Step until it returns false, then check Err.
type Analytic struct {
	opts AnalyticOptions
	pr   *problem
	net  *Net
	pat  *pattern
	rng  *rand.PCG

	loss     float64
	best     *Net
	bestLoss float64
	bestIter int
	iter     int
	history  []AnalyticRecord
	err      error

	normal *mat.SymDense // last assembled normal matrix
	factor []float64     // storage of its factor, kept for the next step
	as     assembler

	// pre holds the pre-activations X̃Wᵀ of the current W when preValid: the
	// surrogate, the pattern update and the output step share them.
	pre      *mat.Dense
	preValid bool
	// ahy is [1, H, Y] (n×(1+h+m)); hid views its H columns. One Gram pass
	// over its rows gives the output step's normal matrix and right-hand side.
	ahy, hid *mat.Dense
}

// NewAnalytic returns a solver for inputs X (n×d, without the ones column)
// and targets Y (n×m). It initialises W, computes the pattern and performs
// the first output step, recorded as Iter 0.
func NewAnalytic(X, Y mat.Matrix, opts AnalyticOptions) (*Analytic, error) {
	if err := opts.check(); err != nil {
		return nil, err
	}
	pr, err := checkedProblem(X, Y)
	if err != nil {
		return nil, err
	}
	a := &Analytic{opts: opts, pr: pr, rng: rand.NewPCG(opts.Seed, seedStream)}
	net, err := startNet(opts.Init, opts.Hidden, pr, opts.Alpha, func(n *Net) { n.InitNormal(rand.New(a.rng)) })
	if err != nil {
		return nil, fmt.Errorf("relunet: analytic: %w", err)
	}
	a.net = net
	a.opts.Init = nil // the solver owns its copy of the weights
	a.start()
	start := time.Now()
	a.UpdatePattern()
	or, err := a.OutputStep()
	if err != nil {
		return nil, err
	}
	a.record(AnalyticRecord{Loss: or.Loss, OutputFallback: or.Fallback, HiddenResult: HiddenResult{Surrogate: math.NaN()}, Seconds: time.Since(start).Seconds()})
	return a, nil
}

// seedStream is the second PCG word: every solver derives its generator from
// the user's seed and this constant.
const seedStream = 0x5eed_7e1_0a17

func (a *Analytic) start() {
	h, n, m := a.opts.Hidden, a.pr.n, a.pr.m
	a.as = assembler{workers: a.opts.Workers}
	a.pat = newPattern(n, h)
	a.pre = mat.NewDense(n, h, nil)
	a.preValid = false
	a.ahy = spareDense(n, 1+h+m)
	for i := 0; i < n; i++ {
		a.ahy.Set(i, 0, 1)
	}
	a.ahy.Slice(0, n, 1+h, 1+h+m).(*mat.Dense).Copy(a.pr.y)
	a.hid = a.ahy.Slice(0, n, 1, 1+h).(*mat.Dense)
}

// ensurePre computes the pre-activations of the current W unless they are known.
func (a *Analytic) ensurePre() {
	if !a.preValid {
		a.as.forRows(a.pr.n, func(_, lo, hi int) { preact(a.pr.x, a.net, a.pre, lo, hi) })
		a.preValid = true
	}
}

func (a *Analytic) record(r AnalyticRecord) {
	r.Iter = a.iter
	a.loss = r.Loss
	a.history = append(a.history, r)
	if a.best == nil || r.Loss < a.bestLoss {
		a.best, a.bestLoss, a.bestIter = a.net.Clone(), r.Loss, a.iter
	}
}

// Step performs one alternation: hidden step, pattern update, output step
// (with the safeguard when enabled). It returns false when the iteration
// limit is reached or a step failed; Err tells which.
func (a *Analytic) Step() bool {
	if a.err != nil || (a.opts.Iterations > 0 && a.iter >= a.opts.Iterations) {
		return false
	}
	start := time.Now()
	prev := a.net.Clone()
	prevAct := append([]bool(nil), a.pat.act...)
	hr, err := a.HiddenStep()
	if err != nil {
		a.err = fmt.Errorf("relunet: analytic: iteration %d: %w", a.iter+1, err)
		return false
	}
	flips := a.UpdatePattern()
	or, err := a.OutputStep()
	if err != nil {
		a.restore(prev, prevAct)
		a.err = fmt.Errorf("relunet: analytic: iteration %d: %w", a.iter+1, err)
		return false
	}
	rec := AnalyticRecord{HiddenResult: hr, Loss: or.Loss, Flips: flips, OutputFallback: or.Fallback}
	if a.opts.Safeguard && or.Loss > a.loss {
		a.backtrack(prev, prevAct, &rec)
	}
	a.iter++
	rec.Seconds = time.Since(start).Seconds()
	a.record(rec)
	return true
}

// backtrack searches the segment W_old → W_new for a better iterate: it tries
// W_old + t(W_new - W_old) for t = 1/2, 1/4, ... with β refit each time and
// keeps the one with the lowest training loss, provided that loss does not
// exceed the previous one; otherwise it restores the previous iterate.
func (a *Analytic) backtrack(prev *Net, prevAct []bool, rec *AnalyticRecord) {
	tries := a.opts.MaxBacktracks
	if tries == 0 {
		tries = 8
	}
	wNew := mat.DenseCopyOf(a.net.W)
	// A jump up is often followed by a large drop: first look one
	// alternation ahead from the new iterate and take it if it is no worse.
	if _, err := a.HiddenStep(); err == nil {
		a.UpdatePattern()
		if or, err := a.OutputStep(); err == nil && or.Loss <= a.loss {
			rec.Lookahead = true
			rec.Loss, rec.OutputFallback = or.Loss, or.Fallback
			rec.Flips = countFlips(prevAct, a.pat.act)
			return
		}
	}
	bestT, bestLoss := 0.0, a.loss
	t := 1.0
	for k := 0; k < tries; k++ {
		t /= 2
		rec.Backtracks++
		a.mix(t, wNew, prev.W)
		a.UpdatePattern()
		if or, err := a.OutputStep(); err == nil && or.Loss <= bestLoss {
			bestT, bestLoss = t, or.Loss
		}
	}
	if bestT == 0 {
		a.restore(prev, prevAct)
		rec.Loss, rec.Flips, rec.Rejected = a.loss, 0, true
		return
	}
	a.mix(bestT, wNew, prev.W)
	a.UpdatePattern()
	or, _ := a.OutputStep() // succeeded for the same W above
	rec.Loss, rec.OutputFallback = or.Loss, or.Fallback
	rec.Flips = countFlips(prevAct, a.pat.act)
}

// mix sets W to t·wNew + (1-t)·wOld.
func (a *Analytic) mix(t float64, wNew, wOld *mat.Dense) {
	a.net.W.Scale(t, wNew)
	a.net.W.Add(a.net.W, scaled(1-t, wOld))
	a.preValid = false
}

func countFlips(a, b []bool) int {
	n := 0
	for i := range a {
		if a[i] != b[i] {
			n++
		}
	}
	return n
}

func (a *Analytic) restore(prev *Net, prevAct []bool) {
	a.net.copyFrom(prev)
	a.preValid = false
	copy(a.pat.act, prevAct)
}

// HiddenStep solves for W with β, β₀ and the activation pattern frozen. The
// pattern is not updated: call UpdatePattern for that.
func (a *Analytic) HiddenStep() (HiddenResult, error) {
	var res HiddenResult
	start := time.Now()
	h, D := a.net.W.Dims()
	x := a.pr.x
	rhs := a.as.hiddenRHS(x, a.pr.y, a.pat, a.net)
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
		a.normal, a.factor = nil, nil
	} else {
		if a.normal == nil {
			a.normal = mat.NewSymDense(h*D, nil)
		}
		a.as.assemble(a.normal, x, a.pat, a.net.Alpha, a.net.Beta, a.opts.Ridge)
		res.AssembleSeconds = time.Since(start).Seconds()
		var err error
		w, res.Solve, err = a.as.solveAlive(a.normal, rhs, alive, D, a.hiddenFloor(), &a.factor)
		if err != nil {
			return res, fmt.Errorf("hidden step: %w", err)
		}
		res.Fallback = res.Solve == SolveEigen
	}
	res.SolveSeconds = time.Since(start).Seconds() - res.AssembleSeconds
	for _, j := range alive {
		a.net.W.SetRow(j, w.RawRowView(j))
	}
	a.preValid = false
	res.Surrogate = a.surrogate()
	return res, nil
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

// hiddenFloor returns eigenFloor for the hidden step's normal matrix. Its
// block (j, k) is c_jk·Σ_i g_ij·g_ik·x̃_i x̃_iᵀ, c = ββᵀ, formed from Gram
// sums with weights (1-α)², α(1-α) and α², of total 1 for α in [0, 1), each
// within ‖Σ_i |x̃_i||x̃_i|ᵀ‖_F ≤ ‖X̃‖²_F of the rows' absolute sum; over the
// blocks that gives mag = ‖X̃‖²_F·‖c‖_F.
func (a *Analytic) hiddenFloor() float64 {
	var c mat.Dense
	c.Mul(a.net.Beta, a.net.Beta.T())
	return eigenFloor(a.opts.Ridge, a.pr.n, a.pr.xx*mat.Norm(&c, 2))
}

// solveAlive solves the normal equations restricted to the alive neurons'
// unknowns and returns the h×D solution (zero rows for the others).
func (as assembler) solveAlive(n *mat.SymDense, rhs *mat.Dense, alive []int, D int, floor float64, buf *[]float64) (*mat.Dense, string, error) {
	h, _ := rhs.Dims()
	out := mat.NewDense(h, D, nil)
	if len(alive) == 0 {
		return out, SolveCholesky, nil
	}
	sys, b := n, mat.NewDense(h*D, 1, rhs.RawMatrix().Data)
	if len(alive) < h {
		k := len(alive) * D
		sys = mat.NewSymDense(k, nil)
		b = mat.NewDense(k, 1, nil)
		for p, j := range alive {
			for a := 0; a < D; a++ {
				b.Set(p*D+a, 0, rhs.At(j, a))
				for q := p; q < len(alive); q++ {
					for c := 0; c < D; c++ {
						if q > p || c >= a {
							sys.SetSym(p*D+a, q*D+c, n.At(j*D+a, alive[q]*D+c))
						}
					}
				}
			}
		}
	}
	sol, method, err := as.solveSPD(sys, b, floor, buf)
	if err != nil {
		return nil, method, err
	}
	for p, j := range alive {
		for a := 0; a < D; a++ {
			out.Set(j, a, sol.At(p*D+a, 0))
		}
	}
	return out, method, nil
}

func (a *Analytic) useCG() bool {
	switch a.opts.Solver {
	case HiddenCG:
		return true
	case HiddenDirect:
		return false
	}
	h, D := a.net.W.Dims()
	return h*D > CGThreshold
}

// surrogate returns the training MSE of the current weights with the frozen pattern.
func (a *Analytic) surrogate() float64 {
	a.ensurePre()
	return a.as.mse(a.pre, a.pat, a.net, a.pr.y)
}

// UpdatePattern recomputes the activation pattern from W and returns the
// number of entries that changed.
func (a *Analytic) UpdatePattern() int {
	a.ensurePre()
	flips := make([]int, (a.pr.n+chunkRows-1)/chunkRows)
	a.as.forRows(a.pr.n, func(c, lo, hi int) { flips[c] = a.pat.set(a.pre, lo, hi) })
	total := 0
	for _, f := range flips {
		total += f
	}
	return total
}

// OutputStep refits [β₀; β] by ridge least squares on the hidden outputs
// [1, φ_α(X̃Wᵀ)] of the current W.
func (a *Analytic) OutputStep() (OutputResult, error) {
	a.ensurePre()
	a.as.forRows(a.pr.n, func(_, lo, hi int) {
		h := a.opts.Hidden
		activate(a.net.Alpha, a.hid.Slice(lo, hi, 0, h).(*mat.Dense), a.pre.Slice(lo, hi, 0, h).(*mat.Dense))
	})
	coef, fallback, err := a.ridge()
	if err != nil {
		return OutputResult{}, fmt.Errorf("output step: %w", err)
	}
	h := a.opts.Hidden
	for o := range a.net.Beta0 {
		a.net.Beta0[o] = coef.At(0, o)
	}
	a.net.Beta.Copy(coef.Slice(1, h+1, 0, a.pr.m))
	return OutputResult{Loss: a.as.mse(a.hid, nil, a.net, a.pr.y), Fallback: fallback}, nil
}

// ridge returns argmin_θ ‖Y - Aθ‖² + λ‖θ‖² for A = [1, H], and whether the
// fallback solve was needed. The Gram matrix of [1, H, Y] holds both AᵀA
// and AᵀY.
func (a *Analytic) ridge() (*mat.Dense, bool, error) {
	n, k := a.ahy.Dims()
	q := a.opts.Hidden + 1
	raw := a.ahy.RawMatrix()
	g := make([]float64, k*k)
	a.as.gramAll(a.as.gramKernel(raw.Data, raw.Stride, n, k), n, g)
	sys := mat.NewSymDense(q, nil)
	rhs := mat.NewDense(q, a.pr.m, nil)
	for r := 0; r < q; r++ {
		for c := r; c < q; c++ {
			sys.SetSym(r, c, g[r*k+c])
		}
		sys.SetSym(r, r, g[r*k+r]+a.opts.Ridge)
		for o := 0; o < a.pr.m; o++ {
			rhs.Set(r, o, g[r*k+q+o])
		}
	}
	x, method, err := a.as.solveSPD(sys, rhs, eigenFloor(a.opts.Ridge, n, mat.Trace(sys)-float64(q)*a.opts.Ridge), nil)
	return x, method == SolveEigen, err
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
	rz := mat.Sum(elemMul(r, z))
	resid := mat.Norm(r, 2) / bnorm
	it := 0
	for ; it < maxIter && resid > tol; it++ {
		mul(q, dir)
		pq := mat.Sum(elemMul(dir, q))
		if pq <= 0 || math.IsNaN(pq) {
			break // no positive curvature left: the residual lies in the null space
		}
		step := rz / pq
		w.Add(w, scaled(step, dir))
		r.Sub(r, scaled(step, q))
		resid = mat.Norm(r, 2) / bnorm
		precond(z, r)
		rzNew := mat.Sum(elemMul(r, z))
		dir.Add(z, scaled(rzNew/rz, dir))
		rz = rzNew
	}
	if !allFinite(w) {
		return nil, it, resid, errors.New("hidden step: conjugate gradients produced non-finite values")
	}
	return w, it, resid, nil
}

func elemMul(a, b *mat.Dense) *mat.Dense {
	var out mat.Dense
	out.MulElem(a, b)
	return &out
}

// Err returns the error that stopped Step, or nil.
func (a *Analytic) Err() error { return a.err }

// Iter returns the number of alternations performed.
func (a *Analytic) Iter() int { return a.iter }

// Loss returns the training MSE of the current iterate.
func (a *Analytic) Loss() float64 { return a.loss }

// Net returns a copy of the current network.
func (a *Analytic) Net() *Net { return a.net.Clone() }

// Best returns a copy of the iterate with the lowest training MSE seen, that
// MSE and the iteration at which it was reached.
func (a *Analytic) Best() (*Net, float64, int) { return a.best.Clone(), a.bestLoss, a.bestIter }

// History returns the records of the initial output step and of every alternation.
func (a *Analytic) History() []AnalyticRecord { return append([]AnalyticRecord(nil), a.history...) }

// Pattern returns the current activation pattern G (n×h, entries α or 1).
func (a *Analytic) Pattern() *mat.Dense { return a.pat.dense(a.net.Alpha) }

// Normal returns a copy of the normal matrix of the last direct hidden step
// (λI included), or nil when there was none.
func (a *Analytic) Normal() *mat.SymDense {
	if a.normal == nil {
		return nil
	}
	return mat.NewSymDense(a.normal.SymmetricDim(), append([]float64(nil), a.normal.RawSymmetric().Data...))
}

// Options returns the solver's options.
func (a *Analytic) Options() AnalyticOptions { return a.opts }
