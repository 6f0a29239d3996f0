package relunet

import (
	"fmt"
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/mat"
)

// Scaler standardises columns: (x - Mean) / Std.
type Scaler struct {
	Mean, Std []float64
}

// FitScaler returns the scaler of the given rows of X (all rows when rows is
// nil), with the sample standard deviation. A constant column gets Std 1, so
// that it becomes zero rather than NaN.
func FitScaler(X mat.Matrix, rows []int) *Scaler {
	n, d := X.Dims()
	if rows == nil {
		rows = seq(n)
	}
	s := &Scaler{Mean: make([]float64, d), Std: make([]float64, d)}
	for j := 0; j < d; j++ {
		var sum float64
		for _, i := range rows {
			sum += X.At(i, j)
		}
		mean := sum / float64(len(rows))
		var ss float64
		for _, i := range rows {
			e := X.At(i, j) - mean
			ss += e * e
		}
		std := 0.0
		if len(rows) > 1 {
			std = math.Sqrt(ss / float64(len(rows)-1))
		}
		if !(std > 1e-12*math.Max(1, math.Abs(mean))) {
			std = 1
		}
		s.Mean[j], s.Std[j] = mean, std
	}
	return s
}

// Transform returns the standardised copy of X.
func (s *Scaler) Transform(X mat.Matrix) *mat.Dense {
	out := mat.DenseCopyOf(X)
	r, c := out.Dims()
	for i := 0; i < r; i++ {
		for j := 0; j < c; j++ {
			out.Set(i, j, (out.At(i, j)-s.Mean[j])/s.Std[j])
		}
	}
	return out
}

func seq(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = i
	}
	return s
}

// PrepOptions says how Prepare splits and scales a data set.
type PrepOptions struct {
	TestFraction float64 // share of rows held out, in [0, 1)
	Seed         uint64  // seed of the random split
	// FitOnTrain fits the input scaler and the target mean on the training
	// rows only; the reference fits them on all rows.
	FitOnTrain    bool
	NoStandardize bool // leave the inputs as they are
	NoCenter      bool // leave the targets as they are
}

// DefaultPrepOptions returns the reference protocol: inputs standardised and
// targets centred over all rows, a random 80/20 split with seed 0.
func DefaultPrepOptions() PrepOptions { return PrepOptions{TestFraction: 0.2} }

// Split is a data set prepared for training.
type Split struct {
	XTrain, YTrain *mat.Dense
	XTest, YTest   *mat.Dense // nil when TestFraction is 0
	TrainRows      []int      // rows of the data set in the training split, in split order
	TestRows       []int
	Scaler         *Scaler   // nil with NoStandardize
	YShift         []float64 // subtracted from the targets
	TrainMean      []float64 // mean of YTrain, the baseline of R²
}

// Prepare standardises, centres and splits ds.
func Prepare(ds *Dataset, opts PrepOptions) (*Split, error) {
	if err := CheckData(ds.X, ds.Y); err != nil {
		return nil, fmt.Errorf("%s: %w", ds.Name, err)
	}
	if !(opts.TestFraction >= 0 && opts.TestFraction < 1) {
		return nil, fmt.Errorf("relunet: test fraction must be in [0, 1), have %v", opts.TestFraction)
	}
	n, _, m := ds.Dims()
	nTest := int(math.Round(opts.TestFraction * float64(n)))
	if n-nTest < 1 {
		return nil, fmt.Errorf("relunet: %s: %d rows leave no training row with test fraction %v", ds.Name, n, opts.TestFraction)
	}
	perm := rand.New(rand.NewPCG(opts.Seed, seedStream)).Perm(n)
	sp := &Split{TrainRows: perm[:n-nTest], TestRows: perm[n-nTest:]}
	var fitRows []int
	if opts.FitOnTrain {
		fitRows = sp.TrainRows
	}
	X := ds.X
	if !opts.NoStandardize {
		sp.Scaler = FitScaler(ds.X, fitRows)
		X = sp.Scaler.Transform(ds.X)
	}
	sp.YShift = make([]float64, m)
	if !opts.NoCenter {
		sp.YShift = FitScaler(ds.Y, fitRows).Mean
	}
	Y := mat.DenseCopyOf(ds.Y)
	for i := 0; i < n; i++ {
		for o := 0; o < m; o++ {
			Y.Set(i, o, Y.At(i, o)-sp.YShift[o])
		}
	}
	sp.XTrain, sp.YTrain = selectRows(X, sp.TrainRows), selectRows(Y, sp.TrainRows)
	if nTest > 0 {
		sp.XTest, sp.YTest = selectRows(X, sp.TestRows), selectRows(Y, sp.TestRows)
	}
	sp.TrainMean = ColMeans(sp.YTrain)
	return sp, nil
}

func selectRows(a *mat.Dense, rows []int) *mat.Dense {
	_, c := a.Dims()
	out := mat.NewDense(len(rows), c, nil)
	for k, i := range rows {
		out.SetRow(k, a.RawRowView(i))
	}
	return out
}

// Metrics are the errors of a network on a split.
type Metrics struct {
	TrainMSE, TestMSE float64 // TestMSE is NaN without a test split
	TrainR2, TestR2   float64 // relative to the training mean
}

// Evaluate returns the metrics of net on the split.
func (sp *Split) Evaluate(net *Net) (Metrics, error) {
	mt := Metrics{TestMSE: math.NaN(), TestR2: math.NaN()}
	pred, err := net.Predict(sp.XTrain)
	if err != nil {
		return mt, err
	}
	mt.TrainMSE, mt.TrainR2 = MSE(pred, sp.YTrain), R2(pred, sp.YTrain, sp.TrainMean)
	if sp.XTest != nil {
		pred, err := net.Predict(sp.XTest)
		if err != nil {
			return mt, err
		}
		mt.TestMSE, mt.TestR2 = MSE(pred, sp.YTest), R2(pred, sp.YTest, sp.TrainMean)
	}
	return mt, nil
}
