package display

import (
	"context"
	"errors"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/relunet/relunet/relunet"
	"github.com/relunet/relunet/relunet/experiment"
)

func TestPath(t *testing.T) {
	t.Setenv("GONB_TMP_DIR", "")
	if _, err := Path("x"); err == nil || !strings.Contains(err.Error(), "GONB_TMP_DIR") {
		t.Errorf("Path outside a session: %v", err)
	}
	dir := t.TempDir()
	t.Setenv("GONB_TMP_DIR", dir)
	for _, bad := range []string{"", "../x", "a/b", ".hidden", "x y"} {
		if _, err := Path(bad); err == nil {
			t.Errorf("Path(%q): no error", bad)
		}
	}
	p, err := Path("budget.results")
	if err != nil || p != filepath.Join(dir, "relunet", "budget.results") {
		t.Errorf("Path: %q, %v", p, err)
	}
	err = notMade("results", "budget", fs.ErrNotExist)
	if err == nil || !strings.Contains(err.Error(), "run the cell that makes it first") {
		t.Errorf("notMade: %v", err)
	}
	other := errors.New("other")
	if notMade("results", "budget", other) != other {
		t.Error("notMade changed an error other than a missing file")
	}
}

// TestSessionFiles saves results and a solver in one "cell" and reads them
// in another, as notebook cells do.
func TestSessionFiles(t *testing.T) {
	t.Setenv("GONB_TMP_DIR", t.TempDir())
	res := []*experiment.Result{{Dataset: "d", Config: experiment.Config{Method: relunet.MethodAnalytic, Hidden: 2}, Metrics: experiment.Metrics{TrainMSE: 1.5}}}
	SaveResults("r", res)
	got := LoadResults("r")
	if len(got) != 1 || got[0].TrainMSE != 1.5 || got[0].Dataset != "d" {
		t.Errorf("LoadResults: %+v", got[0])
	}
	X := mat.NewDense(6, 1, []float64{-3, -2, -1, 1, 2, 3})
	Y := mat.NewDense(6, 1, []float64{1, 0, 1, 2, 3, 1})
	a, err := relunet.NewAnalytic(context.Background(), X, Y, relunet.AnalyticOptions{Hidden: 2, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	a.Step()
	SaveSolver("a", a)
	b := LoadSolver[*relunet.Analytic]("a", X, Y)
	if b.Last().Iter != a.Last().Iter || b.Last().Loss != a.Last().Loss {
		t.Errorf("LoadSolver: record %+v, saved %+v", b.Last(), a.Last())
	}
}
