package experiment

import (
	"math"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/relunet/relunet/relunet"
	"github.com/relunet/relunet/relunet/data"
)

func TestPrepare(t *testing.T) {
	X := mat.NewDense(10, 2, nil)
	Y := mat.NewDense(10, 1, nil)
	for i := 0; i < 10; i++ {
		X.Set(i, 0, float64(i))
		X.Set(i, 1, 5) // constant column
		Y.Set(i, 0, float64(2*i))
	}
	ds := &data.Dataset{Name: "toy", X: X, Y: Y, XNames: []string{"a", "b"}}
	sp, err := Prepare(ds, Reference())
	if err != nil {
		t.Fatal(err)
	}
	if len(sp.TrainRows) != 8 || len(sp.TestRows) != 2 {
		t.Fatalf("split %d/%d", len(sp.TrainRows), len(sp.TestRows))
	}
	if !sp.Scaler.Constant[1] || sp.Scaler.Mean[0] != 4.5 || math.Abs(sp.Scaler.Std[0]-math.Sqrt(82.5/9)) > 1e-12 {
		t.Errorf("scaler %+v", sp.Scaler)
	}
	if len(sp.Constant) != 1 || sp.Constant[0] != "2 (b)" {
		t.Errorf("constant columns reported: %q", sp.Constant)
	}
	if sp.YShift[0] != 9 {
		t.Errorf("target shift %v, want 9", sp.YShift)
	}
	for i := 0; i < 8; i++ {
		if v := sp.XTrain.At(i, 1); v != 0 {
			t.Errorf("constant column became %v", v)
		}
		if i0 := sp.TrainRows[i]; sp.YTrain.At(i, 0) != float64(2*i0)-9 {
			t.Errorf("row %d target %v", i, sp.YTrain.At(i, 0))
		}
	}
	again, _ := Prepare(ds, Reference())
	for i := range sp.TrainRows {
		if sp.TrainRows[i] != again.TrainRows[i] {
			t.Fatal("same seed, different split")
		}
	}
	train, err := Prepare(ds, Options{TestFraction: 0.2, FitOnTrain: true})
	if err != nil {
		t.Fatal(err)
	}
	if m := colMeans(train.YTrain)[0]; math.Abs(m) > 1e-12 {
		t.Errorf("fit on train: training targets have mean %v", m)
	}
	if _, err := Prepare(ds, Options{TestFraction: 1}); err == nil {
		t.Error("test fraction 1 accepted")
	}
	if _, err := Prepare(&data.Dataset{}, Reference()); err == nil {
		t.Error("an empty data set accepted")
	}
	if _, err := Prepare(nil, Reference()); err == nil {
		t.Error("nil accepted")
	}
}

// A column's information does not depend on its units: scaled by 1e-13,
// 1e154 or 1e-160 it standardises to the same values (within rounding),
// where its square would underflow or overflow; only a column whose spread
// is rounding-level relative to its size is constant.
func TestScalerIsScaleFree(t *testing.T) {
	const n = 50
	base := mat.NewDense(n, 1, nil)
	for i := range n {
		base.Set(i, 0, math.Sin(float64(i)))
	}
	want := FitScaler(base, nil).Transform(base)
	for _, s := range []float64{1e-13, 1e154, 1e-160, 1e300, 1e-300} {
		X := mat.NewDense(n, 1, nil)
		X.Scale(s, base)
		sc := FitScaler(X, nil)
		if sc.Constant[0] || math.IsInf(sc.Std[0], 0) || sc.Std[0] == 0 {
			t.Errorf("scale %g: scaler %+v", s, sc)
			continue
		}
		if got := sc.Transform(X); !mat.EqualApprox(got, want, 1e-12) {
			t.Errorf("scale %g: standardised column differs", s)
		}
	}
	// 1e6 plus rounding-level noise is constant; 1e6 plus 1e-3 is not.
	X := mat.NewDense(n, 2, nil)
	for i := range n {
		X.Set(i, 0, 1e6+float64(i%2)*1e-11)
		X.Set(i, 1, 1e6+float64(i%2)*1e-3)
	}
	sc := FitScaler(X, nil)
	if !sc.Constant[0] || sc.Constant[1] {
		t.Errorf("constant %v", sc.Constant)
	}
}

// Predict works in the data's own units: it undoes the scaling of the
// inputs and the centring of the targets.
func TestPredictInDataUnits(t *testing.T) {
	ds, teacher, err := data.Teacher(200, 2, 3, 0, 5)
	if err != nil {
		t.Fatal(err)
	}
	ds.X.Scale(100, ds.X) // inputs in other units
	for j := 0; j < 3; j++ {
		for a := 1; a <= 2; a++ {
			teacher.W.Set(j, a, teacher.W.At(j, a)/100)
		}
	}
	sp, err := Prepare(ds, Reference())
	if err != nil {
		t.Fatal(err)
	}
	// The network that maps standardised inputs to centred targets as the
	// teacher maps raw inputs to raw targets.
	net := teacher.Clone()
	for j := 0; j < 3; j++ {
		b := net.W.At(j, 0)
		for a := 1; a <= 2; a++ {
			w := net.W.At(j, a)
			b += w * sp.Scaler.Mean[a-1]
			net.W.Set(j, a, w*sp.Scaler.Std[a-1])
		}
		net.W.Set(j, 0, b)
	}
	net.Beta0[0] -= sp.YShift[0]
	pred, err := sp.Predict(net, ds.X)
	if err != nil {
		t.Fatal(err)
	}
	if !mat.EqualApprox(pred, ds.Y, 1e-9) {
		t.Error("predictions in data units differ from the targets")
	}
	if _, err := sp.Predict(net, mat.NewDense(3, 5, nil)); err == nil {
		t.Error("inputs of the wrong width accepted")
	}
}

// Targets far from unit scale fit with ScaleTargets, the errors reported in
// their own units; without it a warning names the option, and targets whose
// squares overflow are an error that names it too.
func TestScaleTargets(t *testing.T) {
	for _, s := range []float64{1e-13, 1, 1e150, 1e160} {
		ds, _, err := data.Teacher(300, 2, 3, 0, 3)
		if err != nil {
			t.Fatal(err)
		}
		ds.Y.Scale(s, ds.Y)
		plain, err := Prepare(ds, Reference())
		if s == 1e160 {
			if err == nil || !strings.Contains(err.Error(), "overflow") || !strings.Contains(err.Error(), "ScaleTargets") {
				t.Errorf("scale %g: error %v", s, err)
			}
		} else if err != nil || (len(plain.Warnings) > 0) != (s != 1) {
			t.Errorf("scale %g: %v, warnings %q", s, err, plain.Warnings)
		}
		opts := Reference()
		opts.ScaleTargets = true
		sp, err := Prepare(ds, opts)
		if err != nil {
			t.Fatal(err)
		}
		r, err := Run(bg, sp, Config{Method: relunet.MethodAnalytic, Hidden: 6})
		if err != nil {
			t.Fatal(err)
		}
		if !(r.TrainR2 > 0.99) || r.Curve[len(r.Curve)-1] != r.TrainMSE {
			t.Errorf("scale %g: R² %v, curve ends at %v for MSE %v", s, r.TrainR2, r.Curve[len(r.Curve)-1], r.TrainMSE)
		}
		// The MSE is in the targets' units: that of the same fit on unit targets times s².
		pred, err := sp.Predict(retrain(t, r, sp), ds.X)
		if err != nil {
			t.Fatal(err)
		}
		if mse := MSE(data.SelectRows(pred, sp.TrainRows), data.SelectRows(ds.Y, sp.TrainRows)); math.Abs(mse-r.TrainMSE) > 1e-6*mse {
			t.Errorf("scale %g: MSE of Predict %v, Evaluate %v", s, mse, r.TrainMSE)
		}
	}
}

// retrain retrains the configuration of r on sp and returns its network.
func retrain(t *testing.T, r *Result, sp *Split) *relunet.Net {
	t.Helper()
	s, err := r.Config.Solver(bg, sp.XTrain, sp.YTrain)
	if err != nil {
		t.Fatal(err)
	}
	for s.Step() {
	}
	return s.Net()
}

// FixedSplit takes the data set's own split, in order, whatever the seed
// and test fraction; a data set without one is an error.
func TestFixedSplit(t *testing.T) {
	X, Y := mat.NewDense(10, 1, nil), mat.NewDense(10, 1, nil)
	for i := 0; i < 10; i++ {
		X.Set(i, 0, float64(i))
		Y.Set(i, 0, float64(i%3))
	}
	ds := &data.Dataset{Name: "toy", X: X, Y: Y, TrainRows: 7}
	opts := Reference()
	opts.FixedSplit, opts.Seed, opts.FitOnTrain = true, 99, true
	sp, err := Prepare(ds, opts)
	if err != nil {
		t.Fatal(err)
	}
	for k, i := range append(append([]int{}, sp.TrainRows...), sp.TestRows...) {
		if i != k {
			t.Fatalf("rows %v then %v, want 0 to 6 then 7 to 9", sp.TrainRows, sp.TestRows)
		}
	}
	if len(sp.TrainRows) != 7 || sp.Scaler.Mean[0] != 3 {
		t.Errorf("%d training rows, input mean %v; want 7 and 3, the first seven rows'", len(sp.TrainRows), sp.Scaler.Mean[0])
	}
	ds.TrainRows = 0
	if _, err := Prepare(ds, opts); err == nil || !strings.Contains(err.Error(), "toy has no split of its own") {
		t.Errorf("no split of its own: %v", err)
	}
}
