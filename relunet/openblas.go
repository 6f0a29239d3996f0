//go:build openblas

package relunet

import (
	"os"

	"github.com/relunet/relunet/relunet/internal/openblas"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/lapack/lapack64"
	blasnetlib "gonum.org/v1/netlib/blas/netlib"
	lapacknetlib "gonum.org/v1/netlib/lapack/netlib"
)

// BLAS names the BLAS and LAPACK implementation of this build.
const BLAS = "openblas"

// With the openblas build tag, gonum's BLAS and LAPACK calls (dense products,
// Cholesky and eigen-decompositions) go to OpenBLAS through cgo. The package
// owns the process's numerics in such a build; that is what the tag asks for.
//
// The package runs its own work on GOMAXPROCS goroutines; OpenBLAS's threads
// would compete with them for the cores and spin between calls, so OpenBLAS
// runs single-threaded unless OPENBLAS_NUM_THREADS or OMP_NUM_THREADS says
// otherwise.
func init() {
	blas64.Use(blasnetlib.Implementation{})
	lapack64.Use(lapacknetlib.Implementation{})
	if os.Getenv("OPENBLAS_NUM_THREADS") == "" && os.Getenv("OMP_NUM_THREADS") == "" {
		openblas.SetThreads(1)
	}
}
