package relunet

import (
	"math"
	"testing"
)

func TestTrainAllMethods(t *testing.T) {
	ds, _, err := Teacher(300, 2, 3, 0.01, 4)
	if err != nil {
		t.Fatal(err)
	}
	sp, err := Prepare(ds, DefaultPrepOptions())
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range Methods() {
		cfg := DefaultRunConfig(m, 8)
		cfg.Iters = 20
		r, err := Train(sp, cfg)
		if err != nil {
			t.Fatalf("%s: %v", m, err)
		}
		if len(r.Curve) != len(r.CurveSeconds) || len(r.Curve) < 2 || len(r.Curve) > 21 {
			t.Errorf("%s: curve of %d points, seconds %d", m, len(r.Curve), len(r.CurveSeconds))
		}
		if math.Abs(r.Curve[len(r.Curve)-1]-r.TrainMSE) > 1e-9*r.TrainMSE {
			t.Errorf("%s: curve ends at %g, metrics say %g", m, r.Curve[len(r.Curve)-1], r.TrainMSE)
		}
		if !(r.Curve[len(r.Curve)-1] < r.Curve[0]) || math.IsNaN(r.TestMSE) {
			t.Errorf("%s: loss %g → %g, test MSE %g", m, r.Curve[0], r.TrainMSE, r.TestMSE)
		}
		// Twenty epochs of the gradient methods at the reference batch size are too few to fit.
		if (m == "analytic" || m == "lbfgs") && !(r.TrainR2 > 0.5) {
			t.Errorf("%s: train R² %g, test MSE %g", m, r.TrainR2, r.TestMSE)
		}
	}
	if _, err := Train(sp, RunConfig{Method: "newton", Hidden: 2}); err == nil {
		t.Error("unknown method accepted")
	}
}
