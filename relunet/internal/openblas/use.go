//go:build openblas

package openblas

import (
	"os"

	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/lapack/lapack64"
	blasnetlib "gonum.org/v1/netlib/blas/netlib"
	lapacknetlib "gonum.org/v1/netlib/lapack/netlib"
)

// With the openblas build tag, gonum's BLAS and LAPACK calls (dense products,
// Cholesky and eigen-decompositions) go to OpenBLAS through cgo. The program
// owns the process's numerics in such a build; that is what the tag asks for.
//
// relunet runs its own work on GOMAXPROCS goroutines; OpenBLAS's threads
// would compete with them for the cores and spin between calls, so OpenBLAS
// runs single-threaded unless OPENBLAS_NUM_THREADS or OMP_NUM_THREADS says
// otherwise.
func init() {
	blas64.Use(blasnetlib.Implementation{})
	lapack64.Use(lapacknetlib.Implementation{})
	if os.Getenv("OPENBLAS_NUM_THREADS") == "" && os.Getenv("OMP_NUM_THREADS") == "" {
		SetThreads(1)
	}
}
