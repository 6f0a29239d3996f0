package relunet

import (
	"fmt"
	"math"

	"github.com/relunet/relunet/relunet/internal/sysmem"
)

// The hidden step's solver is chosen by memory and cost. The primal solve
// holds the (hD)×(hD) normal matrix N, factored in place, and costs about
// n·(hD)²/32 multiply-adds of assembly (neurons share their Gram sums in
// groups of about four) plus (hD)³/6 of factorisation. The dual solve
// (hidden.go) holds the (nm)×(nm) matrix ΦΦᵀ and costs about
// (nm)²·(D + hm)/2 to form it plus (nm)³/6: it is the one for few rows and
// many unknowns. Conjugate gradients hold only a few n×h matrices, at about
// 8·n·h·(D+m) per iteration; in exact arithmetic they would need at most
// nm + 1 iterations (N is λI plus a matrix of rank at most nm), but in
// floating point they took 7 to 80 times that (measured, λ = 0.001), so
// they serve only when neither direct solve fits in memory, with a capped
// number of iterations. When nothing fits, the step fails at once, saying
// why.

// defaultMemory is the limit where the machine does not say how much memory
// it has.
const defaultMemory = 8 << 30

func (o AnalyticOptions) memoryLimit() int64 {
	if o.MemoryLimit > 0 {
		return o.MemoryLimit
	}
	if b, ok := sysmem.Available(); ok {
		return b
	}
	return defaultMemory
}

// baseBytes returns the memory of the solver's own buffers for n rows, h
// neurons, D inputs with the bias and m outputs: X̃ and Y, the
// pre-activations, [1, H, Y] and the pattern; and of the output step's
// system, of h+1 unknowns or, when that is more, of n (see output.go).
func baseBytes(n, h, D, m int) int64 {
	n64, h64, m64 := int64(n), int64(h), int64(m)
	b := 8*n64*(int64(D)+m64) + 8*n64*h64 + 8*n64*(1+h64+m64) + n64*h64
	if q := h64 + 1; q <= n64 {
		k := q + m64
		b += 8 * (k*k + q*q + 2*q*m64)
	} else {
		b += 8 * (2*n64*n64 + 2*q*m64)
	}
	return b
}

// directBytes returns the memory of the direct solve of k unknowns: the
// padded normal matrix, factored in place.
func directBytes(k int) int64 {
	k4 := int64((k + 3) &^ 3)
	return 8 * k4 * k4
}

// dualBytes returns the memory of the dual solve for n rows, h neurons and m
// outputs: ΦΦᵀ and its parts, and the products that give W.
func dualBytes(n, h, m int) int64 {
	n64, nm := int64(n), int64(n*m)
	return 8 * (nm*nm + 2*n64*n64 + 2*n64*int64(h))
}

// cgBytes returns the memory of the conjugate-gradient solve.
func cgBytes(n, h, D, m int) int64 {
	n64 := int64(n)
	return 8*n64*(3*int64(h)+int64(D)+int64(m)) + 8*6*int64(h)*int64(D)
}

// hiddenMethod is how the hidden step solves.
type hiddenMethod int

const (
	primal    hiddenMethod = iota // the normal equations, factored
	dual                          // the dual system ΦΦᵀ + λI, factored
	conjugate                     // conjugate gradients on the normal equations
)

// hiddenPlan says how the hidden step solves for k unknowns (the alive
// neurons' weights), or why it cannot.
func (a *Analytic) hiddenPlan(k int) (hiddenMethod, error) {
	n, h, m := a.pr.n, a.opts.Hidden, a.pr.m
	D := a.pr.d + 1
	limit := a.opts.memoryLimit() - baseBytes(n, h, D, m)
	pBytes, dBytes, cBytes := directBytes(h*D), dualBytes(n, h, m), cgBytes(n, h, D, m)
	if k < h*D {
		pBytes += directBytes(k) // the alive neurons' system, a copy
	}
	switch a.opts.Solver {
	case HiddenDirect:
		if pBytes > limit {
			return primal, a.memoryError("the direct solve", pBytes, limit, "Solver: HiddenAuto solves it in its dual form or by conjugate gradients")
		}
		return primal, nil
	case HiddenCG:
		if cBytes > limit {
			return conjugate, a.memoryError("conjugate gradients", cBytes, limit, "")
		}
		return conjugate, nil
	case HiddenDual:
		if dBytes > limit {
			return dual, a.memoryError("the dual solve", dBytes, limit, "")
		}
		return dual, nil
	}
	hD, nm := float64(h*D), float64(n*m)
	pCost := float64(n)*hD*hD/32 + hD*hD*hD/6
	dCost := nm*nm*(float64(D)+float64(h*m))/2 + nm*nm*nm/6
	switch {
	case pBytes <= limit && (pCost <= dCost || dBytes > limit):
		return primal, nil
	case dBytes <= limit:
		return dual, nil
	case cBytes <= limit:
		return conjugate, nil
	}
	return primal, a.memoryError("the hidden step", min(pBytes, dBytes, cBytes), limit, "")
}

// memoryError says that a solve does not fit, with the sizes and the option
// to change.
func (a *Analytic) memoryError(what string, need, limit int64, hint string) error {
	h, D := a.opts.Hidden, a.pr.d+1
	if hint != "" {
		hint = "; " + hint
	}
	return fmt.Errorf("%s of %d×%d = %d unknowns needs %s beyond the solver's %s of buffers, and %s is left of the memory limit (AnalyticOptions.MemoryLimit, -memory)%s",
		what, h, D, h*D, sysmem.Format(need), sysmem.Format(baseBytes(a.pr.n, h, D, a.pr.m)), sysmem.Format(max(limit, 0)), hint)
}

// cgMaxIter returns the iteration cap of conjugate gradients: CGMaxIter, or
// by default 100 times the iterations that exact arithmetic needs, nm + 1,
// and at most 4hD.
func (a *Analytic) cgMaxIter() int {
	if a.opts.CGMaxIter > 0 {
		return a.opts.CGMaxIter
	}
	h, D := a.net.W.Dims()
	return int(math.Min(float64(4*h*D), 100*float64(a.pr.n*a.pr.m+1)))
}
