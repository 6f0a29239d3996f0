// Package f64 holds the float64 kernels under relunet's Gram sums,
// normal-matrix assembly and Cholesky factorisation: small dense tiles of
// sums of outer products, the addition of upper triangles, the scatter of
// rows into activity classes, the row-by-matrix products of the forward
// pass, and a prefetch of rows about to be gathered.
//
// On amd64 with AVX2 and FMA each kernel is Go assembly; where the CPU also
// has AVX-512F the 4×32 tiles are one kernel with sixteen ZMM accumulators
// instead of four 4×8 kernels. Elsewhere, or with the purego build tag,
// each runs its reference loop, the portable Go given in its documentation.
// The wide tiles form every sum in the same order and round it the same way
// as four 4×8 tiles, so results do not depend on whether the CPU has
// AVX-512.
//
// Like gonum's internal/asm/f64, the kernels do not check their arguments
// beyond the bounds of the slices they are given: callers own the shapes.
package f64
