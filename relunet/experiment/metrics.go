package experiment

import (
	"fmt"
	"math"
	"strconv"

	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/stat"
)

// Metrics are the errors of a network on a split. An undefined value is
// NaN: the test errors without test rows, R² when the targets do not vary.
type Metrics struct {
	TrainMSE, TestMSE float64
	TrainR2, TestR2   float64 // relative to the training mean
}

// MSE returns the mean squared error over all entries of pred and y. It
// panics with mat.ErrShape when their dimensions differ, as gonum's own
// element-wise functions do.
func MSE(pred, y mat.Matrix) float64 {
	r, c := y.Dims()
	if pr, pc := pred.Dims(); pr != r || pc != c {
		panic(mat.ErrShape)
	}
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
// the training mean): 1 - Σ(y - pred)² / Σ(y - mean)². It is NaN when the
// targets equal the mean everywhere, where R² is not defined. It panics
// with mat.ErrShape when the dimensions of pred, y and mean disagree.
func R2(pred, y mat.Matrix, mean []float64) float64 {
	r, c := y.Dims()
	if pr, pc := pred.Dims(); pr != r || pc != c || len(mean) != c {
		panic(mat.ErrShape)
	}
	var sse, sst float64
	for i := 0; i < r; i++ {
		for j := 0; j < c; j++ {
			e := y.At(i, j) - pred.At(i, j)
			t := y.At(i, j) - mean[j]
			sse += e * e
			sst += t * t
		}
	}
	if sst == 0 || math.IsInf(sst, 0) || math.IsNaN(sse) {
		return math.NaN()
	}
	return 1 - sse/sst
}

func colMeans(a *mat.Dense) []float64 {
	r, c := a.Dims()
	out := make([]float64, c)
	col := make([]float64, r)
	for j := range out {
		mat.Col(col, j, a)
		out[j] = stat.Mean(col, nil)
	}
	return out
}

// Stat is the mean and sample standard deviation of a quantity over runs,
// over the N runs where it is defined (finite) of the Of runs given.
type Stat struct {
	Mean, SD float64
	N, Of    int
}

// NewStat returns the Stat of the finite values of v. The moments are
// computed on the values divided by their largest magnitude, as Prepare's
// scaler does, so that values near the limits of float64 give a finite
// mean and deviation whenever those are representable.
func NewStat(v []float64) Stat {
	var ok []float64
	for _, x := range v {
		if !math.IsNaN(x) && !math.IsInf(x, 0) {
			ok = append(ok, x)
		}
	}
	switch len(ok) {
	case 0:
		return Stat{Mean: math.NaN(), SD: math.NaN(), Of: len(v)}
	case 1:
		return Stat{Mean: ok[0], N: 1, Of: len(v)}
	}
	mean, sd := scaledMoments(ok)
	return Stat{Mean: mean, SD: sd, N: len(ok), Of: len(v)}
}

// scaledMoments returns the mean and sample standard deviation of the
// finite values v, computed scale-free.
func scaledMoments(v []float64) (mean, sd float64) {
	big := 0.0
	for _, x := range v {
		big = math.Max(big, math.Abs(x))
	}
	if big == 0 {
		return 0, 0
	}
	w := make([]float64, len(v))
	for i, x := range v {
		w[i] = x / big
	}
	m, s := stat.MeanStdDev(w, nil)
	return m * big, s * big
}

// String formats the stat as "mean ± sd", the mean with four significant
// digits and the deviation with two; "mean (1 run)" when one run defines it,
// which has no deviation; "n/a (no run)" when no run was given, "n/a
// (undefined)" when it is undefined in every run given (R² of a constant
// target), "(N of M runs)" after the value when it is undefined in some,
// and "n/a (overflow)" for a mean or deviation beyond float64.
func (s Stat) String() string {
	of := ""
	if s.Of > s.N {
		of = fmt.Sprintf(" (%d of %d runs)", s.N, s.Of)
	}
	switch {
	case s.N == 0 && s.Of == 0:
		return "n/a (no run)"
	case s.N == 0:
		return "n/a (undefined)"
	case math.IsInf(s.Mean, 0) || math.IsNaN(s.Mean):
		return "n/a (overflow)"
	case s.N == 1 && of == "":
		return Format(s.Mean) + " (1 run)"
	case s.N == 1:
		return Format(s.Mean) + of
	case math.IsInf(s.SD, 0) || math.IsNaN(s.SD):
		return Format(s.Mean) + " ± n/a (overflow)" + of
	}
	return Format(s.Mean) + " ± " + digits(s.SD, 2) + of
}

// Format formats v with four significant digits, without an exponent from
// 1e-4 to 1e6 (12990, not 1.299e+04), or "n/a" when it is NaN: an
// undefined metric.
func Format(v float64) string {
	if math.IsNaN(v) {
		return "n/a"
	}
	return digits(v, 4)
}

// digits formats v rounded to k significant digits, in plain decimals from
// 1e-4 to 1e6 and with an exponent beyond.
func digits(v float64, k int) string {
	r, _ := strconv.ParseFloat(strconv.FormatFloat(v, 'g', k, 64), 64)
	if a := math.Abs(r); a == 0 || (a >= 1e-4 && a < 1e6) {
		return strconv.FormatFloat(r, 'f', -1, 64)
	}
	return strconv.FormatFloat(r, 'g', k, 64)
}

// Finite returns a pointer to v, or nil when v is NaN or infinite: the form
// of an optional number in JSON, where an undefined metric is null.
func Finite(v float64) *float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return &v
}
