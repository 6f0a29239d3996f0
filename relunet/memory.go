package relunet

import (
	"fmt"
	"math"

	"github.com/relunet/relunet/relunet/internal/gram"
	"github.com/relunet/relunet/relunet/internal/size"
)

// The hidden step's solve is chosen by memory and cost when the solver is
// made, and kept for the run. The primal solve holds the (hD)×(hD) normal
// matrix N, factored in place, and costs about n·(hD)²/32 multiply-adds of
// assembly (neurons share their Gram sums in groups of about four) plus
// (hD)³/6 of factorisation. The dual solve (hidden.go) holds the (nm)×(nm)
// matrix ΦΦᵀ and costs about (nm)²·(D + hm)/2 to form it plus (nm)³/6: it
// is the one for few rows and many unknowns. Conjugate gradients hold only
// a few n×h matrices, at about 8·n·h·(D+m) per iteration; in exact
// arithmetic they would need at most nm + 1 iterations (N is λI plus a
// matrix of rank at most nm), but in floating point they took 7 to 80
// times that (measured, λ = 0.001), so they serve only when neither direct
// solve fits in memory, with a capped number of iterations. When nothing
// fits, the constructor fails at once, saying why. Every size here is
// computed with checked products: a size that overflows needs more than
// any memory.

// defaultMemory is the limit where the machine does not say how much memory
// it has.
const defaultMemory = 8 << 30

// HiddenSolve says how the hidden step solves its normal equations.
type HiddenSolve int

const (
	// SolveAuto, in AnalyticOptions, lets the constructor choose by memory
	// and cost: the primal solve where it fits and is cheaper, which is
	// almost always, through SolveCGOrPrimal where products with the
	// normal matrix cost far less than forming it. Options and
	// HiddenResult show the solve it chose.
	SolveAuto HiddenSolve = iota
	// SolvePrimal assembles the (hD)×(hD) normal matrix and factorises it
	// (Cholesky, or an eigen-decomposition when it is not numerically
	// positive definite).
	SolvePrimal
	// SolveDual solves the dual system ΦΦᵀ + λI of n·m unknowns: the same
	// solution, for few rows and many unknowns.
	SolveDual
	// SolveCG runs conjugate gradients on the normal equations without
	// forming them, warm-started from the current W and preconditioned by
	// the inverses of the h diagonal D×D blocks (block Jacobi). Alone, it
	// is SolveAuto's choice only when neither direct solve fits.
	SolveCG
	// SolveCGOrPrimal runs the conjugate gradients of SolveCG to CGTol
	// within a cap on the iterations at which they would have cost half
	// the primal solve, and the primal solve when they do not reach CGTol,
	// and then in every later step of the solver: the same solution as the
	// primal solve (within CGTol), for less work where a product with the
	// normal matrix costs far less than forming and factoring it: where hD
	// is large and (hD)² large beside the rows, as on the patches (D = 226,
	// h = 32), not for a few dozen inputs. CGMaxIter does not apply, and
	// CGTol must not be negative.
	SolveCGOrPrimal
)

var solveNames = [...]string{"auto", "primal", "dual", "cg", "cg-or-primal"}

func (s HiddenSolve) String() string {
	if s >= 0 && int(s) < len(solveNames) {
		return solveNames[s]
	}
	return fmt.Sprintf("HiddenSolve(%d)", int(s))
}

// baseBytes returns the memory of the solver's own buffers for n rows, h
// neurons, D inputs with the bias and m outputs: the pre-activations,
// [1, H, Y], the pattern, and the network, its copies (the best one, the
// one a step may restore) and the output step's system, of h+1 unknowns or,
// when that is more, of n (see output.go).
func baseBytes(n, h, D, m int) int64 {
	var b size.Bytes
	b.Add(8, n, h)                    // pre-activations
	b.Add(8, n, 1+h+m)                // [1, H, Y]
	b.Add(n, h)                       // the pattern
	b.Add(n, h)                       // its copy, for a step to restore
	b.AddBytes(4 * netBytes(h, D, m)) // the network, the best, the start and a step's copy
	if q := h + 1; q <= n {
		k := q + m
		b.Add(8, k, k)
		b.Add(8, q, q)
		b.Add(16, q, m)
	} else {
		b.Add(16, n, n)
		b.Add(16, q, m)
	}
	return b.Total()
}

// directBytes returns the memory of the primal solve for n rows, h neurons
// and D inputs with the bias, on workers goroutines: the padded normal
// matrix of k = hD unknowns, factored in place, for D ≤ 8 the rows' outer
// products that the assembly precomputes, and the assembly's scratch.
func directBytes(n, h, D, workers int) int64 {
	var b size.Bytes
	k, ok := size.Mul(h, D)
	if !ok {
		return size.Overflow
	}
	k4 := (k + 3) &^ 3
	b.Add(8, k4, k4)
	b.Add(8, 4, k) // the right-hand side and the solution
	if D <= 8 {
		b.Add(8, n, (D*(D+1)/2+3)&^3)
	}
	b.AddBytes(gram.NormalScratch(n, h, D, workers))
	return b.Total()
}

// fallbackBytes returns the room of two k×k matrices: what the Hessian's
// eigendecomposition adds (its copy of the matrix and its vectors), and a
// bound on what the eigen fallback of a direct solve of k unknowns adds
// (one copy, which becomes the vectors, and the solution's products).
func fallbackBytes(k int) int64 {
	var b size.Bytes
	b.Add(16, k, k)
	return b.Total()
}

// dualBytes returns the memory of the dual solve for n rows, h neurons and m
// outputs: ΦΦᵀ and its parts, and the products that give W.
func dualBytes(n, h, D, m int) int64 {
	var b size.Bytes
	nm, ok := size.Mul(n, m)
	if !ok {
		return size.Overflow
	}
	nm4 := (nm + 3) &^ 3
	b.Add(8, nm4, nm4)
	b.Add(8, D+h, gram.DualLd(nm)) // the inputs and the scaled pattern by columns
	b.Add(24, n, h)                // the pattern, the damping's copy of the products and the solution's coefficients
	b.Add(8, h, D)
	return b.Total()
}

// cgBytes returns the memory of the conjugate-gradient solve: its vectors
// and the preconditioner's h blocks of D×D. (Its products with the normal
// matrix add an h×D sum per lane of package parallel, and a tile of 64
// rows of about D+2h per call.)
func cgBytes(n, h, D, m int) int64 {
	var b size.Bytes
	b.Add(8, n, 3*h+D+m)
	b.Add(8*6, h, D)
	b.Add(2*8*h, D, D) // the preconditioner's blocks and their inverses
	return b.Total()
}

// cgExpected is the number of iterations within which SolveAuto expects the
// conjugate gradients of SolveCGOrPrimal to reach CGTol: on the full
// patches they took 89 to 97 in the first alternation of a run and 23 to
// 73 in the later ones, four runs (warm-started from W, each alternation
// moves it less). They are chosen only where the cap, the iterations at
// which they would cost half the primal solve, is at least that many, so
// that a step that needs more costs at most about 1.5 primal solves by the
// cost model's count.
const cgExpected = 100

// cgCap returns the iterations at which the conjugate gradients for n rows,
// h neurons and D inputs with the bias would have cost half of pCost, the
// primal solve in plan's units (multiply-adds, the assembly's per-row pairs
// counted at the 1/32 that its grouping costs): h(2D+h) a row for each
// iteration's product with the matrix, and besides them the
// preconditioner (D²/2 a row per group of up to 8 neurons, and h
// factorisations of D³/6) and two more products (the right-hand side's and
// the first residual's).
func cgCap(n, h, D int, pCost float64) int {
	fn, fh, fD := float64(n), float64(h), float64(D)
	iter := fn * fh * (2*fD + fh)
	setup := fn*fD*fD/2*math.Ceil(fh/8) + fh*fD*fD*fD/6 + 2*iter
	k := (pCost/2 - setup) / iter
	if !(k > 0) {
		return 0
	}
	return int(min(k, 1<<30))
}

// plan returns the hidden step's solve for the requested one, and the
// memory it takes, or an error when it does not fit beside the used bytes.
func (a *Analytic) plan(want HiddenSolve, used int64) (HiddenSolve, int64, error) {
	n, h, m := a.pr.n, a.opts.Hidden, a.pr.m
	D := a.pr.d + 1
	need := map[HiddenSolve]int64{SolvePrimal: directBytes(n, h, D, a.opts.Workers), SolveDual: dualBytes(n, h, D, m), SolveCG: cgBytes(n, h, D, m)}
	var both size.Bytes
	both.AddBytes(need[SolvePrimal])
	both.AddBytes(need[SolveCG])
	need[SolveCGOrPrimal] = both.Total()
	what := func(s HiddenSolve) string {
		switch s {
		case SolveDual:
			return fmt.Sprintf("the hidden step's dual solve, of %d×%d unknowns", n, m)
		case SolveCG:
			return fmt.Sprintf("the hidden step's conjugate gradients, for %d rows and %d×%d unknowns", n, h, D)
		case SolveCGOrPrimal:
			return fmt.Sprintf("the hidden step's conjugate gradients and direct solve, for %d rows and %d×%d unknowns", n, h, D)
		}
		return fmt.Sprintf("the hidden step's direct solve, of %d×%d unknowns", h, D)
	}
	hD, nm := float64(h)*float64(D), float64(n)*float64(m)
	pCost := float64(n)*hD*hD/32 + hD*hD*hD/6
	a.cgCap = cgCap(n, h, D, pCost)
	if want != SolveAuto {
		if err := a.mem.check(what(want), need[want], used); err != nil {
			if want == SolvePrimal {
				err.(*MemoryError).Option += "; HiddenSolve SolveAuto solves it in its dual form or by conjugate gradients where they fit"
			}
			return want, 0, err
		}
		return want, need[want], nil
	}
	fits := func(s HiddenSolve) bool { return a.mem.check("", need[s], used) == nil }
	dCost := nm*nm*(float64(D)+float64(h)*float64(m))/2 + nm*nm*nm/6
	switch {
	case fits(SolvePrimal) && (pCost <= dCost || !fits(SolveDual)):
		if a.cgCap >= cgExpected && nm >= hD && a.opts.CGTol > 0 && fits(SolveCGOrPrimal) {
			return SolveCGOrPrimal, need[SolveCGOrPrimal], nil
		}
		return SolvePrimal, need[SolvePrimal], nil
	case fits(SolveDual):
		return SolveDual, need[SolveDual], nil
	case fits(SolveCG):
		return SolveCG, need[SolveCG], nil
	}
	least := SolvePrimal
	for _, s := range []HiddenSolve{SolveDual, SolveCG} {
		if need[s] < need[least] {
			least = s
		}
	}
	return SolveAuto, 0, a.mem.check(what(least)+" (the least of the three solves)", need[least], used)
}
