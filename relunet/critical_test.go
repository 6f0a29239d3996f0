package relunet_test

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/relunet/relunet/relunet"
)

// checkCriticalPoints performs iters alternations one sub-step at a time
// and checks that each sub-step lands on a critical point of its
// sub-problem: after the output step the output sub-problem's relative
// gradient is at rounding level (1e-8), after the hidden step the hidden
// one's (1e-7: the hidden system's solve, with its condition). Every test
// of the critical points, on random and on reference data, uses it.
func checkCriticalPoints(t *testing.T, a *relunet.Analytic, iters int) {
	t.Helper()
	if g, _ := a.SubGradients(); g > 1e-8 {
		t.Errorf("after the previous output step: relative gradient %g", g)
	}
	for it := 0; it < iters; it++ {
		res, err := a.HiddenStep()
		if err != nil {
			t.Fatal(err)
		}
		_, g := a.SubGradients()
		t.Logf("iteration %d: hidden step (%v), relative gradient %.2g", it, res.Solve, g)
		if g > 1e-7 {
			t.Errorf("iteration %d, hidden step: relative gradient %g", it, g)
		}
		if _, err := a.UpdatePattern(); err != nil {
			t.Fatal(err)
		}
		if _, err := a.OutputStep(); err != nil {
			t.Fatal(err)
		}
		if g, _ := a.SubGradients(); g > 1e-8 {
			t.Errorf("iteration %d, output step: relative gradient %g", it, g)
		}
	}
}

// randomData returns n×d inputs and n×m targets from a seeded generator.
func randomData(seed uint64, n, d, m int) (*mat.Dense, *mat.Dense) {
	rng := rand.New(rand.NewPCG(seed, 1))
	X, Y := mat.NewDense(n, d, nil), mat.NewDense(n, m, nil)
	for i := 0; i < n; i++ {
		for j := 0; j < d; j++ {
			X.Set(i, j, rng.NormFloat64())
		}
		for o := 0; o < m; o++ {
			Y.Set(i, o, math.Sin(X.At(i, 0)*float64(o+1))+0.1*rng.NormFloat64())
		}
	}
	return X, Y
}

func TestCriticalPoints(t *testing.T) {
	for _, tc := range []struct {
		name  string
		alpha float64
		m, n  int
	}{{"relu", 0, 1, 300}, {"leaky", 0.1, 1, 300}, {"relu-multi", 0, 3, 300}, {"leaky-multi", 0.2, 2, 300},
		{"several-chunks", 0.1, 2, 2*4096 + 37}} {
		t.Run(tc.name, func(t *testing.T) {
			X, Y := randomData(7, tc.n, 4, tc.m)
			a, err := relunet.NewAnalytic(context.Background(), X, Y, relunet.AnalyticOptions{Hidden: 6, Alpha: tc.alpha})
			if err != nil {
				t.Fatal(err)
			}
			checkCriticalPoints(t, a, 3)
		})
	}
}
