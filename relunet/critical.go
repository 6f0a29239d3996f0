package relunet

import (
	"context"
	"fmt"

	"gonum.org/v1/gonum/mat"

	"github.com/relunet/relunet/relunet/internal/gram"
	"github.com/relunet/relunet/relunet/internal/parallel"
	"github.com/relunet/relunet/relunet/internal/size"
)

// SubGradients returns the relative gradient norms of the two sub-problems
// at the current state: of the output step's ridge objective with respect to
// [β₀; β], and of the hidden step's frozen-pattern ridge objective with
// respect to W, each divided by the norm of its right-hand side. After the
// output step the first is at rounding level, after the hidden step (before
// the pattern update) the second.
//
// It is a check for tests and notebooks: it forms n×h matrices of its own,
// and its context is never cancelled.
func (a *Analytic) SubGradients() (output, hidden float64) {
	// Output step: 2(Aᵀ(Aθ - Y) + λθ) with A = [1, φ(X̃Wᵀ)].
	H := mat.NewDense(a.pr.n, a.opts.Hidden, nil)
	a.pr.preact(a.net, H)
	hiddenOutputs(a.net.Alpha, H)
	A := withOnes(H)
	theta := mat.NewDense(a.opts.Hidden+1, a.pr.m, nil)
	theta.SetRow(0, a.net.Beta0)
	theta.Slice(1, a.opts.Hidden+1, 0, a.pr.m).(*mat.Dense).Copy(a.net.Beta)
	var res, g, aty mat.Dense
	res.Mul(A, theta)
	res.Sub(&res, a.pr.y)
	g.Mul(A.T(), &res)
	var ridge mat.Dense
	ridge.Scale(a.opts.lambda(), theta)
	g.Add(&g, &ridge)
	aty.Mul(A.T(), a.pr.y)
	output = mat.Norm(&g, 2) / mat.Norm(&aty, 2)

	// Hidden step: 2(N vec(W) - b).
	as := gram.Assembler{Pool: parallel.Pool{Workers: a.opts.Workers}}
	rhs := as.RHS(a.pr.x, a.pr.y, a.pat.act, a.net.Alpha, a.net.Beta, a.net.Beta0)
	h, D := a.net.W.Dims()
	nw := mat.NewDense(h, D, nil)
	normalMul(nw, a.net.W, a.pr.x, a.pat, a.net.Alpha, a.net.Beta, a.opts.lambda(),
		mat.NewDense(a.pr.n, h, nil), mat.NewDense(a.pr.n, h, nil))
	nw.Sub(nw, rhs)
	return output, mat.Norm(nw, 2) / mat.Norm(rhs, 2)
}

// LossGrad returns the training MSE of net on X (n×d) and Y (n×m) and its
// gradient, laid out like net (slopes φ'(0) = α).
func LossGrad(net *Net, X, Y mat.Matrix) (float64, *Net, error) {
	pr, err := gradProblem("LossGrad", net, X, Y, 0)
	if err != nil {
		return 0, nil, err
	}
	h, d, m := net.Dims()
	g := netView(make([]float64, len(params(net))), h, d, m, net.Alpha)
	return newFullGrad(parallel.Pool{}, pr.n, h, d, m).eval(net, g, pr.x, pr.y), g, nil
}

// Hessian returns the Hessian of the training MSE with respect to all
// parameters (vec W, vec β, β₀, in that order), by central differences of
// the analytic gradient with the given step, symmetrised. The loss is
// piecewise quadratic, so the differences are exact unless the step crosses
// a kink of the activation pattern.
func Hessian(net *Net, X, Y mat.Matrix, step float64) (*mat.SymDense, error) {
	if !(step > 0) {
		return nil, fmt.Errorf("relunet: Hessian: step must be positive, have %v", step)
	}
	var k int
	if err := net.check(); err == nil {
		h, d, m := net.Dims()
		k = paramCount(h, d, m)
	}
	pr, err := gradProblem("Hessian", net, X, Y, fallbackBytes(k))
	if err != nil {
		return nil, err
	}
	h, d, m := net.Dims()
	p := params(net)
	fg := newFullGrad(parallel.Pool{}, pr.n, h, d, m)
	gp, gm := make([]float64, k), make([]float64, k)
	H := mat.NewDense(k, k, nil)
	for i := range p {
		q := append([]float64(nil), p...)
		q[i] = p[i] + step
		fg.eval(netView(q, h, d, m, net.Alpha), netView(gp, h, d, m, net.Alpha), pr.x, pr.y)
		q[i] = p[i] - step
		fg.eval(netView(q, h, d, m, net.Alpha), netView(gm, h, d, m, net.Alpha), pr.x, pr.y)
		for j := range gp {
			H.Set(i, j, (gp[j]-gm[j])/(2*step))
		}
	}
	S := mat.NewSymDense(k, nil)
	for i := 0; i < k; i++ {
		for j := i; j < k; j++ {
			S.SetSym(i, j, (H.At(i, j)+H.At(j, i))/2)
		}
	}
	return S, nil
}

// gradProblem returns the problem of X and Y for a function that evaluates
// the network's loss and gradient, after checking that net fits the data
// and that the data's copy, the gradient's buffers and extra bytes fit in
// the memory available.
func gradProblem(what string, net *Net, X, Y mat.Matrix, extra int64) (*problem, error) {
	if err := net.check(); err != nil {
		return nil, fmt.Errorf("relunet: %s: %w", what, err)
	}
	mem := newMemory(0, "")
	var used size.Bytes
	pr, err := checkedProblem(context.Background(), X, Y, mem, &used)
	if err != nil {
		return nil, fmt.Errorf("relunet: %s: %w", what, err)
	}
	if err := net.validate(pr.d, pr.m); err != nil {
		return nil, fmt.Errorf("relunet: %s: %w", what, err)
	}
	h, _, _ := net.Dims()
	used.AddBytes(fullGradBytes(pr.n, h, pr.d+1, pr.m))
	used.AddBytes(extra)
	if err := mem.check(fmt.Sprintf("%s for %d rows and %d hidden units", what, pr.n, h), used.Total(), 0); err != nil {
		return nil, fmt.Errorf("relunet: %w", err)
	}
	return pr, nil
}

// normalMul sets out (h×D) to N v without forming N: v ↦ X̃ᵀ(G ⊙ ((G ⊙ X̃vᵀ)ββᵀ)) + λv.
// Each product costs O(n·h·(D+m)). It is built from gonum products, apart
// from gram.NormalMul, which the hidden step's conjugate gradients use, so
// that the check does not rest on the code it checks.
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
