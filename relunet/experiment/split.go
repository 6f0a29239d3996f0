package experiment

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"

	"github.com/relunet/relunet/relunet"
	"github.com/relunet/relunet/relunet/data"
	"github.com/relunet/relunet/relunet/internal/seeded"
)

// Scaler standardises columns: (x - Mean) / Std; a constant column becomes
// zero.
type Scaler struct {
	Mean, Std []float64
	// Constant marks the columns that are constant over the fitted rows:
	// they carry no information, and Transform sets them to zero.
	Constant []bool
}

// constantTol is the relative spread below which a column is constant: its
// standard deviation at most constantTol times its largest magnitude, a
// test that does not depend on the column's units. Rounding alone leaves
// a spread of about 1e-16 of the magnitude.
const constantTol = 1e-12

// FitScaler returns the scaler of the given rows of X (all rows when rows is
// nil), with the sample standard deviation. The moments are computed on
// the column divided by its largest magnitude, so that neither 1e154 nor
// 1e-160 over- or underflows when squared.
func FitScaler(X mat.Matrix, rows []int) *Scaler {
	n, d := X.Dims()
	if rows == nil {
		rows = seq(n)
	}
	s := &Scaler{Mean: make([]float64, d), Std: make([]float64, d), Constant: make([]bool, d)}
	for j := 0; j < d; j++ {
		big := 0.0
		for _, i := range rows {
			big = math.Max(big, math.Abs(X.At(i, j)))
		}
		if big == 0 || len(rows) == 0 {
			s.Std[j], s.Constant[j] = 1, true
			continue
		}
		var sum float64
		for _, i := range rows {
			sum += X.At(i, j) / big
		}
		mean := sum / float64(len(rows))
		var ss float64
		for _, i := range rows {
			e := X.At(i, j)/big - mean
			ss += e * e
		}
		std := 0.0
		if len(rows) > 1 {
			std = math.Sqrt(ss / float64(len(rows)-1))
		}
		s.Mean[j] = mean * big
		if std <= constantTol {
			s.Std[j], s.Constant[j] = 1, true
			continue
		}
		s.Std[j] = std * big
	}
	return s
}

// Transform returns the standardised copy of X.
func (s *Scaler) Transform(X mat.Matrix) *mat.Dense {
	out := mat.DenseCopyOf(X)
	r, c := out.Dims()
	for i := 0; i < r; i++ {
		for j := 0; j < c; j++ {
			v := 0.0
			if !s.Constant[j] {
				v = (out.At(i, j) - s.Mean[j]) / s.Std[j]
			}
			out.Set(i, j, v)
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

// Options says how Prepare splits and scales a data set.
type Options struct {
	// TestFraction is the share of rows held out, in [0, 1); the rows are
	// drawn at random with Seed.
	TestFraction float64
	Seed         uint64
	// FixedSplit uses the data set's own split instead (its first
	// Dataset.TrainRows rows to train, the rest to test, as UCI asks of
	// YearPredictionMSD so that no artist is on both sides); TestFraction
	// and Seed are then not used. A data set without one is an error.
	FixedSplit bool
	// FitOnTrain fits the input scaler and the target mean on the training
	// rows only; the reference fits them on all rows.
	FitOnTrain    bool
	NoStandardize bool // leave the inputs as they are
	NoCenter      bool // leave the targets as they are
	// ScaleTargets divides the centred targets by their root mean square
	// (one factor for all outputs, so that the mean squared error keeps its
	// weighting of them). The reference only centres them; the ridge λ and
	// the learning rates then assume targets of moderate size, and far from
	// it the methods fit poorly (a tiny target) or overflow (a huge one).
	// Errors and predictions are reported in the targets' own units either
	// way.
	ScaleTargets bool
}

// Reference returns the reference protocol: inputs standardised and targets
// centred over all rows, a random 80/20 split with seed 0.
func Reference() Options { return Options{TestFraction: 0.2} }

// Split is a data set prepared for training.
type Split struct {
	Name           string // the data set's
	XTrain, YTrain *mat.Dense
	XTest, YTest   *mat.Dense // empty (zero rows) when TestFraction is 0
	TrainRows      []int      // rows of the data set in the training split, in split order
	TestRows       []int
	Scaler         *Scaler   // nil with NoStandardize
	YShift         []float64 // subtracted from the targets
	YScale         float64   // then divided into them: 1 unless ScaleTargets
	TrainMean      []float64 // mean of YTrain, the baseline of R²
	// Constant names the input columns that are constant over the fitted
	// rows; the scaler sets them to zero.
	Constant []string
	// Warnings are facts about the data that may spoil a fit, each a
	// sentence that names its remedy.
	Warnings []string
}

// Targets' root mean square (after centring) outside [lowRMS, highRMS] is
// far from the scale that λ = 0.001 and the learning rates assume: in the
// hidden step the ridge outweighs the data when n·rms² is not well above λ.
const lowRMS, highRMS = 1e-3, 1e6

// Prepare standardises, centres and splits ds.
func Prepare(ds *data.Dataset, opts Options) (*Split, error) {
	if ds == nil {
		return nil, fmt.Errorf("experiment: Prepare: no data set")
	}
	// The raw data's shapes and values; their magnitudes are checked after
	// scaling, which may bring them in range.
	if err := relunet.CheckFinite(ds.X, ds.Y); err != nil {
		return nil, fmt.Errorf("%s: %w", ds.Name, err)
	}
	if !opts.FixedSplit && !(opts.TestFraction >= 0 && opts.TestFraction < 1) {
		return nil, fmt.Errorf("experiment: test fraction must be in [0, 1), have %v", opts.TestFraction)
	}
	n, _, m := ds.Dims()
	var perm []int
	nTrain := n - int(math.Round(opts.TestFraction*float64(n)))
	switch {
	case opts.FixedSplit && ds.TrainRows <= 0:
		return nil, fmt.Errorf("experiment: %s has no split of its own (%d rows; the year set has one only as UCI publishes it, with 515345): use a random one (Options.FixedSplit false, -split random)", ds.Name, n)
	case opts.FixedSplit && ds.TrainRows > n:
		return nil, fmt.Errorf("experiment: %s: its split puts %d rows in training, but it has %d rows", ds.Name, ds.TrainRows, n)
	case opts.FixedSplit:
		perm, nTrain = seq(n), ds.TrainRows
	case nTrain < 1:
		return nil, fmt.Errorf("experiment: %s: %d rows leave no training row with test fraction %v", ds.Name, n, opts.TestFraction)
	default:
		perm = seeded.Rand(opts.Seed).Perm(n)
	}
	sp := &Split{Name: ds.Name, TrainRows: perm[:nTrain], TestRows: perm[nTrain:]}
	var fitRows []int
	if opts.FitOnTrain {
		fitRows = sp.TrainRows
	}
	X := ds.X
	if !opts.NoStandardize {
		sp.Scaler = FitScaler(ds.X, fitRows)
		X = sp.Scaler.Transform(ds.X)
		for j, c := range sp.Scaler.Constant {
			if c {
				sp.Constant = append(sp.Constant, columnName(ds.XNames, j))
			}
		}
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
	rms := rootMeanSquare(Y, fitRows)
	sp.YScale = 1
	switch {
	case opts.ScaleTargets && rms > 0:
		sp.YScale = rms
		Y.Scale(1/rms, Y)
	case rms > 0 && (rms < lowRMS || rms > highRMS):
		sp.Warnings = append(sp.Warnings, fmt.Sprintf("%s: the centred targets' root mean square is %.3g: far from 1, "+
			"where the ridge λ and the learning rates are meant for; scale them (Options.ScaleTargets, -scale-targets)", ds.Name, rms))
	}
	if err := relunet.CheckData(X, Y); err != nil {
		if !opts.ScaleTargets {
			err = fmt.Errorf("%w (or scale the targets: Options.ScaleTargets, -scale-targets)", err)
		}
		return nil, fmt.Errorf("%s: after standardising and centring: %w", ds.Name, err)
	}
	sp.XTrain, sp.YTrain = data.SelectRows(X, sp.TrainRows), data.SelectRows(Y, sp.TrainRows)
	sp.XTest, sp.YTest = data.SelectRows(X, sp.TestRows), data.SelectRows(Y, sp.TestRows)
	sp.TrainMean = colMeans(sp.YTrain)
	return sp, nil
}

// rootMeanSquare returns the root mean square of the given rows of Y (all
// when rows is nil), computed without overflow.
func rootMeanSquare(Y *mat.Dense, rows []int) float64 {
	n, m := Y.Dims()
	if rows == nil {
		rows = seq(n)
	}
	big := 0.0
	for _, i := range rows {
		for o := 0; o < m; o++ {
			big = math.Max(big, math.Abs(Y.At(i, o)))
		}
	}
	if big == 0 || len(rows) == 0 {
		return 0
	}
	var ss float64
	for _, i := range rows {
		for o := 0; o < m; o++ {
			v := Y.At(i, o) / big
			ss += v * v
		}
	}
	return big * math.Sqrt(ss/float64(len(rows)*m))
}

func columnName(names []string, j int) string {
	if j < len(names) && names[j] != "" {
		return fmt.Sprintf("%d (%s)", j+1, names[j])
	}
	return fmt.Sprint(j + 1)
}

// HasTest reports whether the split holds test rows.
func (sp *Split) HasTest() bool { return len(sp.TestRows) > 0 }

// Predict returns the network's predictions for X given in the data set's
// own units (not standardised), in the targets' own units (the centring
// undone).
func (sp *Split) Predict(net *relunet.Net, X mat.Matrix) (*mat.Dense, error) {
	if net == nil {
		return nil, fmt.Errorf("experiment: Predict: no network")
	}
	in := X
	if sp.Scaler != nil {
		if _, c := X.Dims(); c != len(sp.Scaler.Mean) {
			return nil, fmt.Errorf("experiment: Predict: X has %d columns, the data set %d", c, len(sp.Scaler.Mean))
		}
		in = sp.Scaler.Transform(X)
	}
	pred, err := net.Predict(in)
	if err != nil {
		return nil, err
	}
	r, c := pred.Dims()
	for i := 0; i < r; i++ {
		for o := 0; o < c; o++ {
			pred.Set(i, o, pred.At(i, o)*sp.YScale+sp.YShift[o])
		}
	}
	return pred, nil
}

// Evaluate returns the metrics of net on the split, errors in the targets'
// own units: the centring does not change them, and a scale is undone.
func (sp *Split) Evaluate(net *relunet.Net) (Metrics, error) {
	mt := Metrics{TestMSE: math.NaN(), TestR2: math.NaN()}
	if net == nil {
		return mt, fmt.Errorf("experiment: Evaluate: no network")
	}
	pred, err := net.Predict(sp.XTrain)
	if err != nil {
		return mt, err
	}
	mt.TrainMSE, mt.TrainR2 = MSE(pred, sp.YTrain), R2(pred, sp.YTrain, sp.TrainMean)
	if sp.HasTest() {
		pred, err := net.Predict(sp.XTest)
		if err != nil {
			return mt, err
		}
		mt.TestMSE, mt.TestR2 = MSE(pred, sp.YTest), R2(pred, sp.YTest, sp.TrainMean)
	}
	mt.TrainMSE, mt.TestMSE = sp.Unscale(mt.TrainMSE), sp.Unscale(mt.TestMSE)
	return mt, nil
}

// Unscale returns a training loss of the solvers (in the scaled targets'
// units) in the targets' own units.
func (sp *Split) Unscale(loss float64) float64 { return loss * sp.YScale * sp.YScale }
