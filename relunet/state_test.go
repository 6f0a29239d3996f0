package relunet

import (
	"bytes"
	"encoding/gob"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// stepper is what the state tests need of a solver.
type stepper interface {
	Step() bool
	Err() error
	Net() *Net
}

func sameNet(a, b *Net) bool {
	return mat.Equal(a.W, b.W) && mat.Equal(a.Beta, b.Beta) && mat.Equal(mat.NewVecDense(len(a.Beta0), a.Beta0), mat.NewVecDense(len(b.Beta0), b.Beta0))
}

// checkResume runs k steps, saves, runs k more; loads the saved state, runs k
// more, and checks the two end states are identical bit for bit.
func checkResume(t *testing.T, name string, s stepper, save func(*bytes.Buffer) error, load func(*bytes.Reader) (stepper, error), k int) {
	t.Helper()
	for i := 0; i < k; i++ {
		s.Step()
	}
	var buf bytes.Buffer
	if err := save(&buf); err != nil {
		t.Fatalf("%s: save: %v", name, err)
	}
	saved := buf.Bytes()
	for i := 0; i < k; i++ {
		s.Step()
	}
	r, err := load(bytes.NewReader(saved))
	if err != nil {
		t.Fatalf("%s: load: %v", name, err)
	}
	for i := 0; i < k; i++ {
		r.Step()
	}
	if s.Err() != nil || r.Err() != nil {
		t.Fatalf("%s: errors %v, %v", name, s.Err(), r.Err())
	}
	if !sameNet(s.Net(), r.Net()) {
		t.Errorf("%s: resumed run differs from the uninterrupted one", name)
	}
	// Truncated state.
	if _, err := load(bytes.NewReader(saved[:len(saved)/2])); err == nil || !strings.Contains(err.Error(), "truncated") {
		t.Errorf("%s: truncated state: error %v, want one saying truncated", name, err)
	}
}

func TestSaveLoadResumesBitExact(t *testing.T) {
	X, Y := randomProblem(4, 200, 3, 2)
	aopts := DefaultAnalyticOptions(5)
	aopts.Safeguard = true
	a, _ := NewAnalytic(X, Y, aopts)
	checkResume(t, "analytic", a, func(b *bytes.Buffer) error { return a.Save(b) },
		func(r *bytes.Reader) (stepper, error) { return LoadAnalytic(r, X, Y) }, 3)

	for _, opts := range []DescentOptions{DefaultSGDOptions(5), DefaultAdamOptions(5)} {
		opts.Batch, opts.Momentum = 32, 0.5
		s, err := NewDescent(X, Y, opts)
		if err != nil {
			t.Fatal(err)
		}
		checkResume(t, opts.Method.String(), s, func(b *bytes.Buffer) error { return s.Save(b) },
			func(r *bytes.Reader) (stepper, error) { return LoadDescent(r, X, Y) }, 3)
	}

	l, _ := NewLBFGS(X, Y, DefaultLBFGSOptions(5))
	checkResume(t, "lbfgs", l, func(b *bytes.Buffer) error { return l.Save(b) },
		func(r *bytes.Reader) (stepper, error) { return LoadLBFGS(r, X, Y) }, 5)
}

func TestLoadRejectsOtherData(t *testing.T) {
	X, Y := randomProblem(4, 50, 3, 1)
	a, _ := NewAnalytic(X, Y, DefaultAnalyticOptions(3))
	var buf bytes.Buffer
	if err := a.Save(&buf); err != nil {
		t.Fatal(err)
	}
	X2, Y2 := randomProblem(4, 50, 2, 1)
	if _, err := LoadAnalytic(bytes.NewReader(buf.Bytes()), X2, Y2); err == nil || !strings.Contains(err.Error(), "50 rows × 3 inputs") {
		t.Errorf("other dimensions: error %v", err)
	}
	X3, Y3 := randomProblem(5, 50, 3, 1)
	if _, err := LoadAnalytic(bytes.NewReader(buf.Bytes()), X3, Y3); err == nil || !strings.Contains(err.Error(), "other data") {
		t.Errorf("other data: error %v", err)
	}
	if _, err := LoadDescent(bytes.NewReader(buf.Bytes()), X, Y); err == nil || !strings.Contains(err.Error(), "analytic") {
		t.Errorf("other kind: error %v", err)
	}
	// Another format version.
	var other bytes.Buffer
	writeStateVersion(t, &other, a, stateVersion+1)
	if _, err := LoadAnalytic(&other, X, Y); err == nil || !strings.Contains(err.Error(), "version") {
		t.Errorf("other version: error %v", err)
	}
	if _, err := LoadAnalytic(strings.NewReader("hello"), X, Y); err == nil {
		t.Error("garbage accepted")
	}
}

func writeStateVersion(t *testing.T, w *bytes.Buffer, a *Analytic, version int) {
	t.Helper()
	enc := gob.NewEncoder(w)
	if err := enc.Encode(stateHeader{Magic: stateMagic, Version: version, Kind: "analytic", Data: a.pr.fingerprint()}); err != nil {
		t.Fatal(err)
	}
}
