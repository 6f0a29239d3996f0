package relunet

import (
	"sync"

	"gonum.org/v1/gonum/mat"

	"github.com/relunet/relunet/relunet/internal/spd"
)

// A Workspace lends the hidden step's system, an Analytic solver's largest
// buffer ((hD)² numbers, or (nm)² in the dual form), to the solvers that
// share it, for the length of one hidden step. Without one each solver
// keeps a system of its own; solvers that share one, such as the starts
// and arms of a run that step a few at a time, reuse each other's memory
// instead of each touching new memory. On this project's virtual machine
// the first touch of 52 MB of new memory took up to 0.18 s, longer than a
// whole alternation at that size (docs/performance.md). Results do not
// depend on it.
//
// The zero value is ready to use. A Workspace is safe for concurrent use
// and holds as many systems of each size as hidden steps of that size have
// run at once.
type Workspace struct {
	mu   sync.Mutex
	free map[int][]*mat.SymDense
}

// take returns a padded n×n system (spd.NewPadded), one given back before
// if there is one. Its entries are whatever the last step left there: the
// hidden step forms every entry it reads, as it does in a solver's own.
func (w *Workspace) take(n int) *mat.SymDense {
	w.mu.Lock()
	defer w.mu.Unlock()
	if s := w.free[n]; len(s) > 0 {
		sys := s[len(s)-1]
		w.free[n] = s[:len(s)-1]
		return sys
	}
	return spd.NewPadded(n)
}

// give returns a system that take lent.
func (w *Workspace) give(sys *mat.SymDense) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.free == nil {
		w.free = make(map[int][]*mat.SymDense)
	}
	n := sys.SymmetricDim()
	w.free[n] = append(w.free[n], sys)
}

// system returns the hidden step's n×n system and the function that gives
// it back once the step is done: the Workspace's, or the solver's own.
func (a *Analytic) system(n int) (*mat.SymDense, func()) {
	if w := a.opts.Workspace; w != nil {
		sys := w.take(n)
		return sys, func() { w.give(sys) }
	}
	if a.sys == nil || a.sys.SymmetricDim() != n {
		a.sys = spd.NewPadded(n)
	}
	return a.sys, func() {}
}

// GobEncode and GobDecode let a Workspace, which holds nothing worth
// keeping, sit in AnalyticOptions, which a saved state encodes with gob: it
// encodes as nothing and decodes as an empty Workspace. Save drops it.
func (*Workspace) GobEncode() ([]byte, error) { return nil, nil }

// GobDecode is GobEncode's inverse (see GobEncode).
func (*Workspace) GobDecode([]byte) error { return nil }
