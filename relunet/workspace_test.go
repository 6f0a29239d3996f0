package relunet

import (
	"math"
	"sync"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// workspaceCases are solvers of one problem that differ in what their
// hidden steps do: the primal and the dual form, damped, balanced and
// safeguarded, and one of another size.
func workspaceCases() []AnalyticOptions {
	return []AnalyticOptions{
		{Hidden: 8, Seed: 1, HiddenSolve: SolvePrimal, Damping: 0.01},
		{Hidden: 8, Seed: 2, HiddenSolve: SolvePrimal, Safeguard: true},
		{Hidden: 8, Seed: 3, HiddenSolve: SolveDual, Damping: 0.001, Balance: true},
		{Hidden: 8, Seed: 4, HiddenSolve: SolveDual, Safeguard: true},
		{Hidden: 5, Seed: 5, HiddenSolve: SolvePrimal},
	}
}

// stepAll makes a solver for each case with the workspace ws (nil: none)
// and steps them k times, in turn, or at once, one goroutine each. In turn,
// the systems the workspace holds between steps are filled with NaN, so
// that a step that read an entry it had not formed would show it.
func stepAll(t *testing.T, X, Y *mat.Dense, ws *Workspace, k int, atOnce bool) []*Analytic {
	t.Helper()
	var as []*Analytic
	for _, o := range workspaceCases() {
		o.Iterations, o.Workspace, o.Workers = k, ws, 1
		as = append(as, mustAnalytic(t, X, Y, o))
	}
	if atOnce {
		var wg sync.WaitGroup
		for _, a := range as {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for a.Step() {
				}
			}()
		}
		wg.Wait()
	} else {
		for i := 0; i < k; i++ {
			for _, a := range as {
				a.Step()
				fillNaN(ws)
			}
		}
	}
	for i, a := range as {
		if a.Err() != nil {
			t.Fatalf("case %d: %v", i, a.Err())
		}
	}
	return as
}

// fillNaN fills every system the workspace holds (none when ws is nil) with
// NaN.
func fillNaN(ws *Workspace) {
	if ws == nil {
		return
	}
	for _, free := range ws.free {
		for _, sys := range free {
			raw := sys.RawSymmetric()
			for j := range raw.Data {
				raw.Data[j] = math.NaN()
			}
		}
	}
}

// Solvers that share a Workspace end on the same bits as solvers that keep
// their own systems, stepped in turn (so that each takes the system
// another gave back, with that one's entries in it) and at once; in turn,
// the workspace then holds one system of each size.
func TestWorkspaceSameBits(t *testing.T) {
	X, Y := randomProblem(41, 60, 3, 2)
	const k = 6
	own := stepAll(t, X, Y, nil, k, false)
	for _, atOnce := range []bool{false, true} {
		var ws Workspace
		shared := stepAll(t, X, Y, &ws, k, atOnce)
		for i := range own {
			a, b := own[i].Net(), shared[i].Net()
			if !mat.Equal(a.W, b.W) || !mat.Equal(a.Beta, b.Beta) || a.Beta0[0] != b.Beta0[0] || own[i].Last().Loss != shared[i].Last().Loss {
				t.Errorf("at once %v, case %d: the shared workspace changed the network (loss %v, own %v)", atOnce, i, shared[i].Last().Loss, own[i].Last().Loss)
			}
			if ho, hs := len(own[i].History()), len(shared[i].History()); ho != hs {
				t.Errorf("at once %v, case %d: %d records with the workspace, %d without", atOnce, i, hs, ho)
			}
		}
		if atOnce {
			continue
		}
		// The sizes: 8·4 and 5·4 unknowns in the primal form, 60·2 in the dual.
		want := map[int]int{32: 1, 20: 1, 120: 1}
		for n, s := range ws.free {
			if len(s) != want[n] {
				t.Errorf("the workspace holds %d systems of size %d, want %d", len(s), n, want[n])
			}
			delete(want, n)
		}
		if len(want) > 0 {
			t.Errorf("the workspace holds no system of sizes %v", want)
		}
	}
}

// A solver with a Workspace saves and loads; the loaded one has none and
// goes on as the saved one does, bit for bit.
func TestWorkspaceSaveLoad(t *testing.T) {
	X, Y := randomProblem(42, 60, 3, 2)
	var ws Workspace
	a := mustAnalytic(t, X, Y, AnalyticOptions{Hidden: 6, Damping: 0.01, Iterations: 8, Workspace: &ws})
	checkResume(t, "workspace", a, X, Y, 3, nil)
	if a.Options().Workspace != &ws {
		t.Errorf("Options has workspace %p, want the one given, %p", a.Options().Workspace, &ws)
	}
}
