// Package spd solves the symmetric positive semi-definite systems of
// relunet's hidden and output steps.
//
// A system is factored by a tiled right-looking Cholesky factorisation
// (diagonal blocks inverted, panels packed for the trailing updates, which
// run on the f64 tile kernels in column blocks that stay in cache) where
// the machine has the kernels, and elsewhere by LAPACK's blocked algorithm
// on gonum's BLAS, its panels in parallel strips; only the smallest systems
// go to gonum's Cholesky. Both factorisations look at the context between
// blocks, so that an interrupt stops a large one within a fraction of a
// second. The solution is trusted while the condition number is below
// MaxCond; past it, or when the factorisation fails, a truncated
// eigen-decomposition gives the minimum-norm solution on the numerically
// nonzero eigenspace (LAPACK's, which cannot be stopped once begun: it runs
// in a goroutine of its own, which an interrupt leaves behind). The
// condition estimate, a chain of triangular solves that costs more than the
// solve, is skipped when a lower bound on the smallest eigenvalue (Floor)
// already proves the condition.
package spd
