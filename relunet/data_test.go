package relunet

import (
	"errors"
	"math"
	"runtime"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"
)

func TestReadCSV(t *testing.T) {
	tab, err := ReadCSV(strings.NewReader("a,b,y\n1,2,3\n4, 5,6\n\n# note\n7,8,9\n"), "t.csv", HeaderAuto)
	if err != nil {
		t.Fatal(err)
	}
	if r, c := tab.Data.Dims(); r != 3 || c != 3 || tab.Names[2] != "y" || tab.Data.At(1, 1) != 5 {
		t.Errorf("got %d×%d %v %v", r, c, tab.Names, mat.Formatted(tab.Data))
	}
	tab, err = ReadCSV(strings.NewReader("1 2\n3\t4\n"), "ws.txt", HeaderAuto)
	if err != nil || tab.Data.At(1, 1) != 4 || tab.Names[0] != "c1" {
		t.Errorf("whitespace: %v %v", err, tab)
	}
	ds, err := tab.Dataset("ws", []int{1})
	if err != nil || ds.X.At(1, 0) != 3 || ds.Y.At(1, 0) != 4 {
		t.Errorf("dataset: %v", err)
	}
}

func TestReadCSVErrors(t *testing.T) {
	for _, tc := range []struct {
		in, want  string
		line, col int
	}{
		{"1,2\n3,x\n", `bad.csv:2: column 2: not a number: "x"`, 2, 2},
		{"1,2\n3,4,5\n", "bad.csv:2: has 3 fields, want 2", 2, 0},
		{"1,2\n3,NaN\n", `bad.csv:2: column 2: not a finite number: "NaN"`, 2, 2},
		{"a,b\n1,2\n\n3,Inf\n", `bad.csv:4: column 2: not a finite number: "Inf"`, 4, 2},
		{"", "bad.csv: no data rows", 0, 0},
	} {
		_, err := ReadCSV(strings.NewReader(tc.in), "bad.csv", HeaderAuto)
		if err == nil || err.Error() != tc.want {
			t.Errorf("%q: error %v, want %s", tc.in, err, tc.want)
			continue
		}
		var ce *CSVError
		if tc.line > 0 && (!errors.As(err, &ce) || ce.Line != tc.line || ce.Column != tc.col) {
			t.Errorf("%q: not a CSVError at %d:%d: %#v", tc.in, tc.line, tc.col, err)
		}
	}
}

func TestBadInput(t *testing.T) {
	X, Y := randomProblem(1, 10, 2, 1)
	nan := mat.DenseCopyOf(X)
	nan.Set(3, 1, math.NaN())
	inf := mat.DenseCopyOf(Y)
	inf.Set(5, 0, math.Inf(-1))
	opts := DefaultAnalyticOptions(3)
	for _, tc := range []struct {
		name string
		X, Y mat.Matrix
		opts AnalyticOptions
		want string
		data bool // an error of the data, which the descent solver must report too
	}{
		{"nan", nan, Y, opts, "X has NaN at row 4, column 2", true},
		{"inf", X, inf, opts, "Y has -Inf at row 6, column 1", true},
		{"rows", X, Y.Slice(0, 9, 0, 1), opts, "X has 10 rows but Y has 9", true},
		{"zero rows", &mat.Dense{}, &mat.Dense{}, opts, "zero rows", true},
		{"h=0", X, Y, AnalyticOptions{Ridge: 1e-3}, "Hidden must be positive", true},
		{"negative ridge", X, Y, AnalyticOptions{Hidden: 2, Ridge: -1}, "Ridge λ must be finite and non-negative", false},
		{"alpha", X, Y, AnalyticOptions{Hidden: 2, Alpha: 1.5}, "leaky slope", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				if r := recover(); r != nil {
					t.Fatalf("panic: %v", r)
				}
			}()
			_, err := NewAnalytic(tc.X, tc.Y, tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want %q", err, tc.want)
			}
			_, err = NewDescent(tc.X, tc.Y, DescentOptions{Hidden: max(tc.opts.Hidden, 0), LR: 0.1, Alpha: tc.opts.Alpha})
			if err == nil && tc.data {
				t.Errorf("descent accepted it")
			}
		})
	}
	// Ragged rows come from the CSV reader; a row of another length is an error there (see TestReadCSVErrors).
}

func TestPrepare(t *testing.T) {
	X := mat.NewDense(10, 2, nil)
	Y := mat.NewDense(10, 1, nil)
	for i := 0; i < 10; i++ {
		X.Set(i, 0, float64(i))
		X.Set(i, 1, 5) // constant column
		Y.Set(i, 0, float64(2*i))
	}
	sp, err := Prepare(&Dataset{Name: "toy", X: X, Y: Y}, DefaultPrepOptions())
	if err != nil {
		t.Fatal(err)
	}
	if len(sp.TrainRows) != 8 || len(sp.TestRows) != 2 {
		t.Fatalf("split %d/%d", len(sp.TrainRows), len(sp.TestRows))
	}
	if sp.Scaler.Std[1] != 1 || sp.Scaler.Mean[0] != 4.5 || math.Abs(sp.Scaler.Std[0]-math.Sqrt(82.5/9)) > 1e-12 {
		t.Errorf("scaler %+v", sp.Scaler)
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
	again, _ := Prepare(&Dataset{Name: "toy", X: X, Y: Y}, DefaultPrepOptions())
	for i := range sp.TrainRows {
		if sp.TrainRows[i] != again.TrainRows[i] {
			t.Fatal("same seed, different split")
		}
	}
	train, err := Prepare(&Dataset{Name: "toy", X: X, Y: Y}, PrepOptions{TestFraction: 0.2, FitOnTrain: true})
	if err != nil {
		t.Fatal(err)
	}
	if m := ColMeans(train.YTrain)[0]; math.Abs(m) > 1e-12 {
		t.Errorf("fit on train: training targets have mean %v", m)
	}
	if _, err := Prepare(&Dataset{Name: "toy", X: X, Y: Y}, PrepOptions{TestFraction: 1}); err == nil {
		t.Error("test fraction 1 accepted")
	}
}

func TestSynthetic(t *testing.T) {
	s := Sin()
	if n, d, m := s.Dims(); n != 201 || d != 1 || m != 1 || s.X.At(200, 0) != 10 {
		t.Errorf("sin: %d×%d×%d", n, d, m)
	}
	ds, err := SinNorm2(100, 3, 1)
	if err != nil || math.Abs(ds.Y.At(0, 0)-math.Sin(math.Pow(mat.Norm(ds.X.RowView(0), 2), 2))) > 1e-15 {
		t.Errorf("sinx2: %v", err)
	}
	tds, teacher, err := Teacher(50, 4, 3, 0, 2)
	if err != nil {
		t.Fatal(err)
	}
	pred, _ := teacher.Predict(tds.X)
	if MSE(pred, tds.Y) != 0 {
		t.Error("noise-free teacher data differ from the teacher")
	}
	shape, err := ShapeSDF(40, 50)
	if err != nil {
		t.Fatal(err)
	}
	var in, out int
	for i := 0; i < 2000; i++ {
		if shape.Y.At(i, 0) < 0 {
			in++
		} else {
			out++
		}
	}
	if in < 200 || out < 200 {
		t.Errorf("shape has %d pixels inside, %d outside", in, out)
	}
	if shape.Y.At(0, 0) <= 0 {
		t.Errorf("corner pixel distance %v, want positive (outside)", shape.Y.At(0, 0))
	}
}

func TestDeterminism(t *testing.T) {
	X, Y := randomProblem(2, 300, 3, 1)
	run := func() []AnalyticRecord {
		a, err := NewAnalytic(X, Y, DefaultAnalyticOptions(8))
		if err != nil {
			t.Fatal(err)
		}
		for a.Step() {
		}
		return a.History()
	}
	r1, r2 := run(), run()
	for i := range r1 {
		if math.Float64bits(r1[i].Loss) != math.Float64bits(r2[i].Loss) {
			t.Fatalf("iteration %d: %v vs %v", i, r1[i].Loss, r2[i].Loss)
		}
	}
}

// TestDeterminismAcrossGOMAXPROCS checks that a run over several row chunks
// gives the same bits whatever the number of threads.
func TestDeterminismAcrossGOMAXPROCS(t *testing.T) {
	X, Y := randomProblem(12, 2*chunkRows+101, 10, 2)
	run := func(procs int) []AnalyticRecord {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
		opts := DefaultAnalyticOptions(6)
		opts.Iterations, opts.Alpha = 4, 0.05
		a, err := NewAnalytic(X, Y, opts)
		if err != nil {
			t.Fatal(err)
		}
		for a.Step() {
		}
		return a.History()
	}
	ref := run(1)
	for _, procs := range []int{2, 8} {
		for i, r := range run(procs) {
			if math.Float64bits(r.Loss) != math.Float64bits(ref[i].Loss) || math.Float64bits(r.Surrogate) != math.Float64bits(ref[i].Surrogate) {
				t.Fatalf("GOMAXPROCS %d, iteration %d: loss %v vs %v", procs, i, r.Loss, ref[i].Loss)
			}
		}
	}
}

func TestCGMatchesDirect(t *testing.T) {
	for _, alpha := range []float64{0, 0.1} {
		X, Y := randomProblem(6, 400, 4, 2)
		opts := DefaultAnalyticOptions(6)
		opts.Alpha = alpha
		direct, _ := NewAnalytic(X, Y, opts)
		opts.Solver, opts.CGTol = HiddenCG, 1e-12
		cg, _ := NewAnalytic(X, Y, opts)
		if _, err := direct.HiddenStep(); err != nil {
			t.Fatal(err)
		}
		res, err := cg.HiddenStep()
		if err != nil {
			t.Fatal(err)
		}
		var diff mat.Dense
		diff.Sub(direct.net.W, cg.net.W)
		if r := mat.Norm(&diff, 2) / mat.Norm(direct.net.W, 2); r > 1e-7 || res.Solve != SolveCG {
			t.Errorf("alpha %v: CG differs from the direct solve by %g (%d iterations, %s)", alpha, r, res.CGIters, res.Solve)
		}
	}
}

func TestDeadNeuronsKeepTheirWeights(t *testing.T) {
	X, Y := randomProblem(8, 100, 2, 1)
	init, _ := NewNet(3, 2, 1, 0)
	init.W.SetRow(0, []float64{1, 1, 0})
	init.W.SetRow(1, []float64{-100, 0, 0}) // never active
	init.W.SetRow(2, []float64{0, 0, 1})
	opts := DefaultAnalyticOptions(3)
	opts.Init = init
	opts.Ridge = 0 // dead neurons would make the system singular
	a, res := hiddenStep(t, X, Y, opts)
	if res.Dead != 1 || a.net.W.At(1, 0) != -100 {
		t.Errorf("dead %d, weight %v", res.Dead, a.net.W.At(1, 0))
	}
	if !allFinite(a.net.W) {
		t.Error("non-finite weights")
	}
}

func TestPredictPatternAndSubset(t *testing.T) {
	X, Y := randomProblem(9, 60, 3, 2)
	opts := DefaultAnalyticOptions(5)
	opts.Alpha = 0.1
	a, err := NewAnalytic(X, Y, opts)
	if err != nil {
		t.Fatal(err)
	}
	net := a.Net()
	// With the pattern of the current W, the frozen model is the network itself.
	frozen, err := net.PredictPattern(X, a.Pattern())
	if err != nil {
		t.Fatal(err)
	}
	pred, _ := net.Predict(X)
	if !mat.EqualApprox(frozen, pred, 1e-12) {
		t.Error("PredictPattern with the current pattern differs from Predict")
	}
	if _, err := net.PredictPattern(X, mat.NewDense(60, 4, nil)); err == nil {
		t.Error("pattern of the wrong width accepted")
	}
	ds := &Dataset{Name: "r", X: X, Y: Y}
	sub := ds.Subset([]int{5, 2})
	if sub.X.At(0, 1) != X.At(5, 1) || sub.Y.At(1, 1) != Y.At(2, 1) {
		t.Error("Subset picked the wrong rows")
	}
}
