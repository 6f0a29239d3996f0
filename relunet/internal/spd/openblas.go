//go:build openblas

package spd

import _ "github.com/relunet/relunet/relunet/internal/openblas" // gonum's BLAS and LAPACK on OpenBLAS
