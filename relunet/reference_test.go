package relunet_test

import (
	"context"
	"errors"
	"math"
	"os"
	"slices"
	"testing"

	"github.com/relunet/relunet/relunet"
	"github.com/relunet/relunet/relunet/data"
	"github.com/relunet/relunet/relunet/experiment"
)

// referenceSplit loads a reference data set without fetching and prepares
// it by the reference protocol, or skips the test when the data directories
// ($RELUNET_DATA, the cache) do not have it; with RELUNET_REQUIRE_ALL=1, as
// in CI, missing data fail the test.
func referenceSplit(tb testing.TB, name string, seed uint64) *experiment.Split {
	tb.Helper()
	ds, err := (&data.Loader{NoFetch: true}).Load(context.Background(), name)
	if errors.Is(err, data.ErrNoData) {
		skipWithoutData(tb, err.Error())
	}
	if err != nil {
		tb.Fatal(err)
	}
	opts := experiment.Reference()
	opts.Seed = seed
	sp, err := experiment.Prepare(ds, opts)
	if err != nil {
		tb.Fatal(err)
	}
	return sp
}

// runAnalytic trains on the split's training rows until the solver stops.
func runAnalytic(t *testing.T, sp *experiment.Split, opts relunet.AnalyticOptions) *relunet.Analytic {
	t.Helper()
	a, err := relunet.NewAnalytic(context.Background(), sp.XTrain, sp.YTrain, opts)
	if err != nil {
		t.Fatal(err)
	}
	for a.Step() {
	}
	if a.Err() != nil {
		t.Fatal(a.Err())
	}
	return a
}

// TestSDFReferenceProtocol runs the reference protocol on the horse SDF. The
// result depends much on the random start: over seeds 0-7 the final training
// MSE ranged from 6.5 to 11.7 (median 8.5); the reference reported 6.68 for
// its own start. The test takes the best of four seeded starts, as one would
// with a multi-start protocol, and checks the reference's level.
func TestSDFReferenceProtocol(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping the SDF runs in short mode")
	}
	sp := referenceSplit(t, "sdf", 0)
	best := math.Inf(1)
	for seed := uint64(0); seed < 4; seed++ {
		opts := relunet.AnalyticOptions{Hidden: 32}
		opts.Seed = seed
		a := runAnalytic(t, sp, opts)
		if a.Last().Iter != 30 || a.Status() != relunet.IterationLimit {
			t.Errorf("ran %d iterations (%v), want 30", a.Last().Iter, a.Status())
		}
		mt, err := sp.Evaluate(a.Net())
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(mt.TrainMSE-a.Last().Loss) > 1e-9*a.Last().Loss {
			t.Errorf("seed %d: solver loss %v, evaluated %v", seed, a.Last().Loss, mt.TrainMSE)
		}
		t.Logf("SDF h=32 seed %d: training MSE %.3f, test MSE %.3f, test R² %.4f", seed, a.Last().Loss, mt.TestMSE, mt.TestR2)
		best = math.Min(best, a.Last().Loss)
	}
	if best > 7.5 {
		t.Errorf("best training MSE of four starts %.3f, want ≤ 7.5 (the reference reached 6.68)", best)
	}
}

// The multi-output path at the paper's scale: 225 outputs, h·D = 7232
// unknowns in the hidden step, 22045 rows; each sub-step lands on its
// critical point.
func TestCriticalPointsOnPatches(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping: seconds of work")
	}
	sp := referenceSplit(t, "patches", 0)
	if _, d := sp.XTrain.Dims(); d != 225 {
		t.Fatalf("%d inputs, want 225", d)
	}
	a, err := relunet.NewAnalytic(context.Background(), sp.XTrain, sp.YTrain, relunet.AnalyticOptions{Hidden: 32})
	if err != nil {
		t.Fatal(err)
	}
	checkCriticalPoints(t, a, 2)
}

func TestCriticalPointsOnAbalone(t *testing.T) {
	sp := referenceSplit(t, "abalone", 0)
	a, err := relunet.NewAnalytic(context.Background(), sp.XTrain, sp.YTrain, relunet.AnalyticOptions{Hidden: 8})
	if err != nil {
		t.Fatal(err)
	}
	checkCriticalPoints(t, a, 3)
}

func TestSafeguardOnBike(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping the bike runs in short mode")
	}
	// Paired by seed (the same split and start): the safeguarded run's final
	// loss over the plain run's best. Single runs are chaotic (rounding
	// alone can move a final loss by 10 %), so the claim is on the median
	// of nine ratios.
	var ratios []float64
	for seed := uint64(0); seed < 9; seed++ {
		sp := referenceSplit(t, "bike", seed)
		run := func(safe bool) *relunet.Analytic {
			opts := relunet.AnalyticOptions{Hidden: 32}
			opts.Seed, opts.Safeguard = seed, safe
			return runAnalytic(t, sp, opts)
		}
		safe, plain := run(true), run(false)
		hist := safe.History()
		for i := 1; i < len(hist); i++ {
			if hist[i].Loss > hist[i-1].Loss {
				t.Errorf("seed %d: safeguarded loss rose at iteration %d: %g → %g", seed, i, hist[i-1].Loss, hist[i].Loss)
			}
		}
		best := plain.Best().Loss
		ratios = append(ratios, safe.Last().Loss/best)
		t.Logf("seed %d: safeguard final %.1f (%v after %d), plain final %.1f, plain best %.1f", seed, safe.Last().Loss, safe.Status(), safe.Last().Iter, plain.Last().Loss, best)
	}
	slices.Sort(ratios)
	if r := ratios[len(ratios)/2]; r > 1 {
		t.Errorf("median ratio of the safeguarded final loss to the plain best %.3f, want ≤ 1", r)
	}
}

// skipWithoutData skips a test whose reference data are not here, or, with
// RELUNET_REQUIRE_ALL=1 (as in CI), fails it: there, missing data are a
// broken set-up, not a reason to pass.
func skipWithoutData(t testing.TB, why string) {
	t.Helper()
	if os.Getenv("RELUNET_REQUIRE_ALL") == "1" {
		t.Fatalf("RELUNET_REQUIRE_ALL=1 and %s", why)
	}
	t.Skipf("skipping: %s", why)
}
