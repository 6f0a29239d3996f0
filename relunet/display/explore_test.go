package display

import (
	"context"
	"math"
	"os"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// objective returns the hidden step's objective at the solver's network:
// the squared error summed over rows and outputs, plus λ‖W‖².
func objective(e *Explorer, mse float64) float64 {
	n, _ := e.sp.XTrain.Dims()
	_, m := e.sp.YTrain.Dims()
	w := e.a.Net().W
	return float64(n*m)*mse + math.Pow(10, e.set.LogRidge)*mat.Norm(w, 2)*mat.Norm(w, 2)
}

// TestExplorerSubSteps checks what each button does, by the method: the
// hidden step lowers its objective (it minimises it with the pattern
// frozen), the pattern update changes no weight and so not the loss, the
// output step changes no hidden weight.
func TestExplorerSubSteps(t *testing.T) {
	ctx := context.Background()
	for _, set := range []Settings{DefaultSettings(), {Data: "sinx2", Hidden: 8, LogRidge: -2, Alpha: 0.1, Seed: 3}} {
		e, err := NewExplorer(ctx, set)
		if err != nil {
			t.Fatal(err)
		}
		for k := 0; k < 3; k++ {
			before := objective(e, e.a.Last().Loss)
			if err := e.Do(ctx, ActHidden, nil); err != nil {
				t.Fatal(err)
			}
			after := objective(e, e.a.Last().Analytic.Hidden.Surrogate)
			if after > before*(1+1e-9) {
				t.Errorf("%s, hidden step %d: objective %g, was %g", set.Data, k, after, before)
			}
			w, loss := e.a.Net().W, e.a.Last().Loss
			if err := e.Do(ctx, ActPattern, nil); err != nil {
				t.Fatal(err)
			}
			if !mat.Equal(w, e.a.Net().W) || e.a.Last().Loss != loss {
				t.Errorf("%s: the pattern update changed the weights or the loss (%g to %g)", set.Data, loss, e.a.Last().Loss)
			}
			if err := e.Do(ctx, ActOutput, nil); err != nil {
				t.Fatal(err)
			}
			if !mat.Equal(w, e.a.Net().W) {
				t.Errorf("%s: the output step changed W", set.Data)
			}
		}
		if !strings.Contains(e.Status(), "iteration 3,") {
			t.Errorf("status after three sub-step cycles: %s", e.Status())
		}
	}
}

func TestExplorerRunResetAndSettings(t *testing.T) {
	ctx := context.Background()
	e, err := NewExplorer(ctx, Settings{Data: "sin", Hidden: 8, LogRidge: -3, Safeguard: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Do(ctx, ActRun, nil); err != nil {
		t.Fatal(err)
	}
	if it := e.a.Last().Iter; it < 2 || it > maxRunSteps {
		t.Errorf("run: %d alternations", it)
	}
	if err := e.Do(ctx, ActReset, nil); err != nil || e.a.Last().Iter != 0 {
		t.Errorf("reset: iteration %d, %v", e.a.Last().Iter, err)
	}
	if err := e.Set(ctx, Settings{Data: "sin", Hidden: 129}); err == nil {
		t.Error("129 hidden units: no error")
	}
	if err := e.Set(ctx, Settings{Data: "nosuchset", Hidden: 4}); err == nil {
		t.Error("an unknown data set: no error")
	}
	if e.Settings().Hidden != 8 {
		t.Errorf("a refused setting changed the explorer: %+v", e.Settings())
	}
}

// TestExplorerFigures draws each data set's three figures: one input, a
// pixel grid and several inputs take different figures.
func TestExplorerFigures(t *testing.T) {
	sets := []string{"sin", "sinx2", "shape-sdf"}
	if os.Getenv("RELUNET_DATA") != "" {
		sets = append(sets, "abalone")
	}
	for _, name := range sets {
		e, err := NewExplorer(context.Background(), Settings{Data: name, Hidden: 6, LogRidge: -3})
		if err != nil {
			t.Fatal(err)
		}
		if err := e.Do(context.Background(), ActAlternation, nil); err != nil {
			t.Fatal(err)
		}
		fit, loss, pat, err := e.Figures()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for _, f := range []interface{ Render(string) ([]byte, error) }{fit, loss, pat} {
			if b, err := f.Render("png"); err != nil || len(b) < 1000 {
				t.Errorf("%s: a figure of %d bytes, %v", name, len(b), err)
			}
		}
		if _, _, grid := e.grid(); grid != (name == "shape-sdf") {
			t.Errorf("%s: taken for a pixel grid: %v", name, grid)
		}
	}
}
