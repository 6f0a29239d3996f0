package relunet

import (
	"math"

	"gonum.org/v1/gonum/mat"
)

// MSE returns the mean squared error over all entries of pred and y, which
// have the same dimensions.
func MSE(pred, y mat.Matrix) float64 {
	r, c := y.Dims()
	var s float64
	for i := 0; i < r; i++ {
		for j := 0; j < c; j++ {
			e := pred.At(i, j) - y.At(i, j)
			s += e * e
		}
	}
	return s / float64(r*c)
}

// R2 returns the coefficient of determination of pred for y relative to the
// constant prediction mean (one value per column, as the reference does with
// the training mean): 1 - Σ(y - pred)² / Σ(y - mean)².
func R2(pred, y mat.Matrix, mean []float64) float64 {
	r, c := y.Dims()
	var sse, sst float64
	for i := 0; i < r; i++ {
		for j := 0; j < c; j++ {
			e := y.At(i, j) - pred.At(i, j)
			t := y.At(i, j) - mean[j]
			sse += e * e
			sst += t * t
		}
	}
	return 1 - sse/sst
}

// ColMeans returns the mean of every column of a.
func ColMeans(a mat.Matrix) []float64 {
	r, c := a.Dims()
	out := make([]float64, c)
	for j := range out {
		var s float64
		for i := 0; i < r; i++ {
			s += a.At(i, j)
		}
		out[j] = s / float64(r)
	}
	return out
}

// MeanSD returns the mean of v and its sample standard deviation (0 for fewer
// than two values).
func MeanSD(v []float64) (mean, sd float64) {
	if len(v) == 0 {
		return math.NaN(), math.NaN()
	}
	for _, x := range v {
		mean += x
	}
	mean /= float64(len(v))
	if len(v) < 2 {
		return mean, 0
	}
	var ss float64
	for _, x := range v {
		ss += (x - mean) * (x - mean)
	}
	return mean, math.Sqrt(ss / float64(len(v)-1))
}
