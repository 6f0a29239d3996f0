//go:build openblas

// Package openblas routes gonum's BLAS and LAPACK to OpenBLAS when relunet
// is built with the openblas tag, and sets OpenBLAS's thread count. It is a
// package of its own because a package that uses cgo cannot also hold Go
// assembly.
package openblas

/*
void openblas_set_num_threads(int);
*/
import "C"

// SetThreads sets the number of threads of OpenBLAS's own parallel routines.
func SetThreads(n int) { C.openblas_set_num_threads(C.int(n)) }
