//go:build !openblas

package relunet

// BLAS names the BLAS and LAPACK implementation of this build: gonum's pure Go.
const BLAS = "gonum"
