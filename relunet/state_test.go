package relunet

import (
	"bytes"
	"encoding/gob"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"
)

func sameNet(a, b *Net) bool {
	return mat.Equal(a.W, b.W) && mat.Equal(a.Beta, b.Beta) && reflect.DeepEqual(a.Beta0, b.Beta0) && a.Alpha == b.Alpha
}

// sameRecords reports whether two histories agree bit for bit in all but
// the wall times.
func sameRecords(a, b []Record) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := a[i], b[i]
		x.Seconds, x.Elapsed, x.Hidden.AssembleSeconds, x.Hidden.SolveSeconds = 0, 0, 0, 0
		y.Seconds, y.Elapsed, y.Hidden.AssembleSeconds, y.Hidden.SolveSeconds = 0, 0, 0, 0
		if !reflect.DeepEqual(x, y) && !(math.IsNaN(x.Hidden.Surrogate) && math.IsNaN(y.Hidden.Surrogate) && equalButSurrogate(x, y)) {
			return false
		}
	}
	return true
}

func equalButSurrogate(x, y Record) bool {
	x.Hidden.Surrogate, y.Hidden.Surrogate = 0, 0
	return reflect.DeepEqual(x, y)
}

// sameState reports how two solvers differ in their observable state, or "".
func sameState(a, b Solver) string {
	switch {
	case a.Method() != b.Method():
		return "method"
	case !sameNet(a.Net(), b.Net()):
		return "network"
	case a.Iter() != b.Iter():
		return "iteration"
	case math.Float64bits(a.Loss()) != math.Float64bits(b.Loss()):
		return "loss"
	case a.Status() != b.Status() || (a.Err() == nil) != (b.Err() == nil):
		return "status"
	case !sameRecords(a.History(), b.History()):
		return "history"
	}
	na, la, ia := a.Best()
	nb, lb, ib := b.Best()
	if !sameNet(na, nb) || la != lb || ia != ib {
		return "best"
	}
	return ""
}

// checkResume runs k steps (with mid, when not nil, in between), saves, runs
// on to the end; loads the saved state, runs it to the end too, and checks
// that the loaded solver equals the saved one and both ends agree bit for
// bit: network, records, best, loss, iteration and status.
func checkResume(t *testing.T, name string, s Solver, X, Y *mat.Dense, k int, mid func(Solver)) {
	t.Helper()
	for i := 0; i < k; i++ {
		s.Step()
		if mid != nil && i == k/2 {
			mid(s)
		}
	}
	var buf bytes.Buffer
	if err := s.Save(&buf); err != nil {
		t.Fatalf("%s: save: %v", name, err)
	}
	saved := buf.Bytes()
	r, err := Load(bytes.NewReader(saved), X, Y)
	if err != nil {
		t.Fatalf("%s: load: %v", name, err)
	}
	if d := sameState(s, r); d != "" {
		t.Errorf("%s: the loaded solver differs in its %s", name, d)
	}
	for s.Step() {
	}
	for r.Step() {
	}
	if s.Err() != nil || r.Err() != nil {
		t.Fatalf("%s: errors %v, %v", name, s.Err(), r.Err())
	}
	if d := sameState(s, r); d != "" {
		t.Errorf("%s: the resumed run differs from the uninterrupted one in its %s", name, d)
	}
	if _, err := Load(bytes.NewReader(saved[:len(saved)/2]), X, Y); err == nil || !strings.Contains(err.Error(), "truncated") {
		t.Errorf("%s: truncated state: error %v, want one saying truncated", name, err)
	}
}

func TestSaveLoadResumesBitExact(t *testing.T) {
	X, Y := randomProblem(4, 200, 3, 2)
	for _, safe := range []bool{false, true} {
		opts := DefaultAnalyticOptions(5)
		opts.Safeguard, opts.Iterations = safe, 12
		a := newAnalytic(t, X, Y, opts)
		// Saved in the middle of an alternation called by hand.
		checkResume(t, "analytic", a, X, Y, 4, func(s Solver) {
			if _, err := s.(*Analytic).HiddenStep(); err != nil {
				t.Fatal(err)
			}
		})
	}
	for _, opts := range []DescentOptions{DefaultSGDOptions(5), DefaultAdamOptions(5)} {
		opts.Batch, opts.Momentum, opts.Epochs = 32, 0.5, 8
		s, err := NewDescent(X, Y, opts)
		if err != nil {
			t.Fatal(err)
		}
		checkResume(t, opts.Method.String(), s, X, Y, 3, nil)
	}
	for _, k := range []int{0, 1, 7} {
		opts := DefaultLBFGSOptions(5)
		opts.Iterations = 20
		l, err := NewLBFGS(X, Y, opts)
		if err != nil {
			t.Fatal(err)
		}
		checkResume(t, "lbfgs", l, X, Y, k, nil)
	}
}

// Loading an L-BFGS state evaluates nothing: the memory is saved, not
// rebuilt by replaying the run.
func TestLBFGSLoadDoesNotReplay(t *testing.T) {
	X, Y := randomProblem(5, 150, 2, 1)
	l, err := NewLBFGS(X, Y, DefaultLBFGSOptions(4))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 30 && l.Step(); i++ {
	}
	var buf bytes.Buffer
	if err := l.Save(&buf); err != nil {
		t.Fatal(err)
	}
	s, err := Load(&buf, X, Y)
	if err != nil {
		t.Fatal(err)
	}
	if got := s.(*LBFGS).evals; got != l.evals {
		t.Errorf("loading made %d evaluations", got-l.evals)
	}
	if s.Last().Evaluations != l.Last().Evaluations {
		t.Errorf("evaluations recorded %d, want %d", s.Last().Evaluations, l.Last().Evaluations)
	}
}

func TestLoadRejectsOtherData(t *testing.T) {
	X, Y := randomProblem(4, 50, 3, 1)
	a := newAnalytic(t, X, Y, DefaultAnalyticOptions(3))
	var buf bytes.Buffer
	if err := a.Save(&buf); err != nil {
		t.Fatal(err)
	}
	X2, Y2 := randomProblem(4, 50, 2, 1)
	if _, err := Load(bytes.NewReader(buf.Bytes()), X2, Y2); err == nil || !strings.Contains(err.Error(), "50 rows × 3 inputs") {
		t.Errorf("other dimensions: error %v", err)
	}
	X3, Y3 := randomProblem(5, 50, 3, 1)
	if _, err := Load(bytes.NewReader(buf.Bytes()), X3, Y3); err == nil || !strings.Contains(err.Error(), "other data") {
		t.Errorf("other data: error %v", err)
	}
	if _, err := Load(strings.NewReader("hello"), X, Y); err == nil {
		t.Error("garbage accepted")
	}
}

// rewrite decodes a saved state, lets edit change it, and encodes it again
// with a valid checksum: a crafted state.
func rewrite[S any](t *testing.T, saved []byte, pr *problem, edit func(env *envelope, st *S)) []byte {
	t.Helper()
	env, err := readEnvelope(bytes.NewReader(saved), pr)
	if err != nil {
		t.Fatal(err)
	}
	var st S
	if err := gob.NewDecoder(bytes.NewReader(env.Payload)).Decode(&st); err != nil {
		t.Fatal(err)
	}
	edit(&env, &st)
	var p, out bytes.Buffer
	if err := gob.NewEncoder(&p).Encode(st); err != nil {
		t.Fatal(err)
	}
	env.Payload = p.Bytes()
	if err := writeEnvelope(&out, env); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// Crafted states whose parts disagree are errors, never panics.
func TestLoadRejectsInconsistentStates(t *testing.T) {
	X, Y := randomProblem(4, 60, 3, 1)
	pr := newProblem(X, Y)
	a := newAnalytic(t, X, Y, DefaultAnalyticOptions(8))
	a.Step()
	var ab bytes.Buffer
	a.Save(&ab)
	sgd, _ := NewDescent(X, Y, DefaultSGDOptions(4))
	sgd.Step()
	var sb bytes.Buffer
	sgd.Save(&sb)
	l, _ := NewLBFGS(X, Y, DefaultLBFGSOptions(4))
	l.Step()
	var lb bytes.Buffer
	l.Save(&lb)

	for _, tc := range []struct {
		name  string
		state []byte
		want  string
	}{
		{"options say 7 hidden units, the network has 8", rewrite(t, ab.Bytes(), pr, func(_ *envelope, st *analyticState) { st.Opts.Hidden = 7 }), "network is 8×3×1"},
		{"alpha 5", rewrite(t, ab.Bytes(), pr, func(_ *envelope, st *analyticState) { st.Opts.Alpha = 5 }), "leaky slope"},
		{"network alpha differs", rewrite(t, ab.Bytes(), pr, func(_ *envelope, st *analyticState) { st.Net.Alpha = 0.5 }), "leaky slope"},
		{"short pattern", rewrite(t, ab.Bytes(), pr, func(_ *envelope, st *analyticState) { st.Act = st.Act[:10] }), "activation pattern"},
		{"no records", rewrite(t, ab.Bytes(), pr, func(_ *envelope, st *analyticState) { st.History.Records = nil }), "0 records"},
		{"best at -1", rewrite(t, ab.Bytes(), pr, func(_ *envelope, st *analyticState) { st.History.BestAt = -1 }), "best at -1"},
		{"NaN weight", rewrite(t, ab.Bytes(), pr, func(_ *envelope, st *analyticState) { st.Net.W[0] = math.NaN() }), "NaN"},
		{"bad RNG", rewrite(t, ab.Bytes(), pr, func(_ *envelope, st *analyticState) { st.RNG = []byte("x") }), "random-number state"},
		{"unknown kind", rewrite(t, ab.Bytes(), pr, func(env *envelope, _ *analyticState) { env.Kind = "newton" }), "unknown solver kind"},
		{"permutation out of range", rewrite(t, sb.Bytes(), pr, func(_ *envelope, st *descentState) { st.Perm[3] = 1000 }), "not a permutation"},
		{"permutation repeats", rewrite(t, sb.Bytes(), pr, func(_ *envelope, st *descentState) { st.Perm[3] = st.Perm[4] }), "not a permutation"},
		{"sgd state says adam", rewrite(t, sb.Bytes(), pr, func(_ *envelope, st *descentState) {
			st.Opts.Method, st.Opts.Beta1, st.Opts.Beta2, st.Opts.Eps = MethodAdam, 0.9, 0.999, 1e-8
		}), "holds options for adam"},
		{"short velocity", rewrite(t, sb.Bytes(), pr, func(_ *envelope, st *descentState) { st.Vel = st.Vel[:1] }), "parameter vectors"},
		{"lbfgs memory", rewrite(t, lb.Bytes(), pr, func(_ *envelope, st *lbfgsState) { st.Memory.S = st.Memory.S[:2] }), "quasi-Newton memory"},
		{"lbfgs oldest", rewrite(t, lb.Bytes(), pr, func(_ *envelope, st *lbfgsState) { st.Memory.Oldest = 99 }), "quasi-Newton memory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				if r := recover(); r != nil {
					t.Fatalf("panic: %v", r)
				}
			}()
			_, err := Load(bytes.NewReader(tc.state), X, Y)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one with %q", err, tc.want)
			}
		})
	}
}

// Every single-byte change of a state is an error: the checksum covers the
// payload, and the envelope's own fields are each checked.
func TestLoadDetectsEveryByteFlip(t *testing.T) {
	X, Y := randomProblem(4, 30, 2, 1)
	a := newAnalytic(t, X, Y, DefaultAnalyticOptions(3))
	a.Step()
	var buf bytes.Buffer
	a.Save(&buf)
	saved := buf.Bytes()
	for i := range saved {
		for _, x := range []byte{1, 0x80} {
			b := append([]byte(nil), saved...)
			b[i] ^= x
			s, err := Load(bytes.NewReader(b), X, Y)
			if err == nil && sameState(s, a) != "" {
				t.Fatalf("byte %d ^ %#x: loaded silently, and differs", i, x)
			}
			if err != nil && !errors.Is(err, ErrCorrupt) && !strings.Contains(err.Error(), "state") {
				t.Fatalf("byte %d ^ %#x: error %v", i, x, err)
			}
		}
	}
}
