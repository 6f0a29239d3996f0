package relunet

import (
	"bytes"
	"encoding/binary"
	"encoding/gob"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
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
		if !reflect.DeepEqual(withoutTimes(a[i]), withoutTimes(b[i])) {
			return false
		}
	}
	return true
}

// withoutTimes returns a copy of r with its wall times zero.
func withoutTimes(r Record) Record {
	r.Seconds, r.Elapsed = 0, 0
	if r.Analytic != nil {
		d := *r.Analytic
		if d.Hidden != nil {
			h := *d.Hidden
			h.AssembleSeconds, h.SolveSeconds = 0, 0
			d.Hidden = &h
		}
		r.Analytic = &d
	}
	return r
}

// sameState reports how two solvers differ in their observable state, or "".
func sameState(a, b Solver) string {
	switch {
	case a.Method() != b.Method():
		return "method"
	case !sameNet(a.Net(), b.Net()):
		return "network"
	case a.Status() != b.Status() || (a.Err() == nil) != (b.Err() == nil):
		return "status"
	case !sameRecords(a.History(), b.History()):
		return "history"
	case !sameRecords([]Record{a.Last()}, []Record{b.Last()}):
		return "last record"
	}
	ba, bb := a.Best(), b.Best()
	if !sameNet(ba.Net, bb.Net) || ba.Loss != bb.Loss || ba.Iter != bb.Iter {
		return "best"
	}
	return ""
}

// mustSave returns the saved state of s.
func mustSave(t testing.TB, s Solver) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := s.Save(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// mustStep steps s k times, failing the test when it stops.
func mustStep(t testing.TB, s Solver, k int) {
	t.Helper()
	for range k {
		if !s.Step() {
			t.Fatalf("%v stopped: %v, %v", s.Method(), s.Status(), s.Err())
		}
	}
}

// checkResume runs k steps (with mid, when not nil, in between), saves, runs
// on to the end; loads the saved state, runs it to the end too, and checks
// that the loaded solver equals the saved one and both ends agree bit for
// bit: network, records, best, loss, iteration and status.
func checkResume(t *testing.T, name string, s Solver, X, Y *mat.Dense, k int, mid func(Solver)) {
	t.Helper()
	for i := 0; i < k; i++ {
		mustStep(t, s, 1)
		if mid != nil && i == k/2 {
			mid(s)
		}
	}
	var buf bytes.Buffer
	if err := s.Save(&buf); err != nil {
		t.Fatalf("%s: save: %v", name, err)
	}
	saved := buf.Bytes()
	r, err := Load(bg, bytes.NewReader(saved), X, Y)
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
	if _, err := Load(bg, bytes.NewReader(saved[:len(saved)/2]), X, Y); err == nil || !strings.Contains(err.Error(), "truncated") {
		t.Errorf("%s: truncated state: error %v, want one saying truncated", name, err)
	}
}

func TestSaveLoadResumesBitExact(t *testing.T) {
	X, Y := randomProblem(4, 200, 3, 2)
	for _, opts := range []AnalyticOptions{{Hidden: 5}, {Hidden: 5, Safeguard: true}, {Hidden: 5, Damping: 0.01, AltDamping: 0.001, Balance: true}} {
		opts.Iterations = 12
		a := mustAnalytic(t, X, Y, opts)
		// Saved in the middle of an alternation called by hand.
		checkResume(t, "analytic", a, X, Y, 4, func(s Solver) {
			if _, err := s.(*Analytic).HiddenStep(); err != nil {
				t.Fatal(err)
			}
		})
	}
	for _, opts := range []DescentOptions{DescentOptions{Method: MethodSGD, Hidden: 5}, DescentOptions{Method: MethodAdam, Hidden: 5}} {
		opts.Batch, opts.Momentum, opts.Epochs = 32, 0.5, 8
		s, err := NewDescent(bg, X, Y, opts)
		if err != nil {
			t.Fatal(err)
		}
		checkResume(t, opts.Method.String(), s, X, Y, 3, nil)
	}
	for _, k := range []int{0, 1, 7} {
		opts := LBFGSOptions{Hidden: 5}
		opts.Iterations = 20
		l, err := NewLBFGS(bg, X, Y, opts)
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
	l, err := NewLBFGS(bg, X, Y, LBFGSOptions{Hidden: 4})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 30 && l.Step(); i++ {
	}
	var buf bytes.Buffer
	if err := l.Save(&buf); err != nil {
		t.Fatal(err)
	}
	s, err := Load(bg, &buf, X, Y)
	if err != nil {
		t.Fatal(err)
	}
	if got := s.(*LBFGS).evals; got != l.evals {
		t.Errorf("loading made %d evaluations", got-l.evals)
	}
	if s.Last().LBFGS.Evaluations != l.Last().LBFGS.Evaluations {
		t.Errorf("evaluations recorded %d, want %d", s.Last().LBFGS.Evaluations, l.Last().LBFGS.Evaluations)
	}
}

func TestLoadRejectsOtherData(t *testing.T) {
	X, Y := randomProblem(4, 50, 3, 1)
	a := mustAnalytic(t, X, Y, AnalyticOptions{Hidden: 3})
	var buf bytes.Buffer
	if err := a.Save(&buf); err != nil {
		t.Fatal(err)
	}
	X2, Y2 := randomProblem(4, 50, 2, 1)
	if _, err := Load(bg, bytes.NewReader(buf.Bytes()), X2, Y2); err == nil || !strings.Contains(err.Error(), "50 rows × 3 inputs") {
		t.Errorf("other dimensions: error %v", err)
	}
	X3, Y3 := randomProblem(5, 50, 3, 1)
	if _, err := Load(bg, bytes.NewReader(buf.Bytes()), X3, Y3); err == nil || !strings.Contains(err.Error(), "other data") {
		t.Errorf("other data: error %v", err)
	}
	if _, err := Load(bg, strings.NewReader("hello"), X, Y); err == nil {
		t.Error("garbage accepted")
	}
}

// rewrite decodes a saved state, lets edit change it, and encodes it again
// with a valid checksum: a crafted state.
func rewrite[S any](t *testing.T, saved []byte, pr *problem, edit func(env *envelope, st *S)) []byte {
	t.Helper()
	env, err := readEnvelope(bytes.NewReader(saved), pr, -1)
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
	a := mustAnalytic(t, X, Y, AnalyticOptions{Hidden: 8})
	mustStep(t, a, 1)
	ab := mustSave(t, a)
	sgd := mustDescent(t, X, Y, DescentOptions{Method: MethodSGD, Hidden: 4})
	mustStep(t, sgd, 1)
	sb := mustSave(t, sgd)
	l, err := NewLBFGS(bg, X, Y, LBFGSOptions{Hidden: 4})
	if err != nil {
		t.Fatal(err)
	}
	mustStep(t, l, 1)
	lb := mustSave(t, l)
	lm, err := NewLM(bg, X, Y, LMOptions{Hidden: 4})
	if err != nil {
		t.Fatal(err)
	}
	mustStep(t, lm, 1)
	mb := mustSave(t, lm)
	// A hidden size whose products with the data's sizes wrap around to
	// small numbers: h·4 and h·1 are multiples of 2^64 plus 8 and 2.
	const wrap = 1<<62 + 2

	for _, tc := range []struct {
		name  string
		state []byte
		want  string
	}{
		{"options say 7 hidden units, the network has 8", rewrite(t, ab, pr, func(_ *envelope, st *analyticState) { st.Opts.Hidden = 7 }), "is 8×3×1"},
		{"alpha 5", rewrite(t, ab, pr, func(_ *envelope, st *analyticState) { st.Opts.Alpha = 5 }), "leaky slope"},
		{"network alpha differs", rewrite(t, ab, pr, func(_ *envelope, st *analyticState) { st.Net.Alpha = 0.5 }), "leaky slope"},
		{"short pattern", rewrite(t, ab, pr, func(_ *envelope, st *analyticState) { st.Act = st.Act[:10] }), "activation pattern"},
		{"no records", rewrite(t, ab, pr, func(_ *envelope, st *analyticState) { st.History.Records = nil }), "0 records"},
		{"best at -1", rewrite(t, ab, pr, func(_ *envelope, st *analyticState) { st.History.BestAt = -1 }), "best at -1"},
		{"NaN weight", rewrite(t, ab, pr, func(_ *envelope, st *analyticState) { st.Net.W[0] = math.NaN() }), "NaN"},
		{"bad RNG", rewrite(t, ab, pr, func(_ *envelope, st *analyticState) { st.RNG = []byte("x") }), "random-number state"},
		{"unknown kind", rewrite(t, ab, pr, func(env *envelope, _ *analyticState) { env.Kind = "newton" }), "unknown solver kind"},
		{"unresolved options", rewrite(t, ab, pr, func(_ *envelope, st *analyticState) { st.Opts.Tol = 0 }), "defaults resolved"},
		{"a record of another method", rewrite(t, ab, pr, func(_ *envelope, st *analyticState) {
			st.History.Records[1].Descent = &DescentRecord{}
		}), "not a analytic record"},
		{"analytic: wrapping sizes", rewrite(t, ab, pr, func(_ *envelope, st *analyticState) {
			st.Opts.Hidden = wrap
			for _, n := range []*netState{&st.Net, &st.Start, &st.History.Best} {
				n.H, n.W, n.Beta = wrap, make([]float64, 8), make([]float64, 2)
			}
			st.Act = make([]bool, 120) // 60·wrap wraps to 120
		}), "inconsistent sizes"},
		{"analytic: too large for the memory", rewrite(t, ab, pr, func(_ *envelope, st *analyticState) {
			const h = 3_000_000
			st.Opts.Hidden = h
			for _, n := range []*netState{&st.Net, &st.Start, &st.History.Best} {
				n.H, n.W, n.Beta = h, make([]float64, 4*h), make([]float64, h)
			}
			st.Act = make([]bool, 60*h)
			st.Opts.MemoryLimit = 1 << 30
		}), "memory limit"},
		{"permutation out of range", rewrite(t, sb, pr, func(_ *envelope, st *descentState) { st.Perm[3] = 1000 }), "not a permutation"},
		{"permutation repeats", rewrite(t, sb, pr, func(_ *envelope, st *descentState) { st.Perm[3] = st.Perm[4] }), "not a permutation"},
		{"sgd state says adam", rewrite(t, sb, pr, func(_ *envelope, st *descentState) { st.Opts.Method = MethodAdam }), "holds options for adam"},
		{"short velocity", rewrite(t, sb, pr, func(_ *envelope, st *descentState) { st.Vel = st.Vel[:1] }), "parameter vectors"},
		{"sgd: wrapping sizes", rewrite(t, sb, pr, func(_ *envelope, st *descentState) {
			st.Opts.Hidden = wrap
			for _, n := range []*netState{&st.Start, &st.History.Best} {
				n.H, n.W, n.Beta = wrap, make([]float64, 8), make([]float64, 2)
			}
		}), "inconsistent sizes"},
		{"lbfgs memory", rewrite(t, lb, pr, func(_ *envelope, st *lbfgsState) { st.Memory.S = st.Memory.S[:2] }), "quasi-Newton memory"},
		{"lbfgs oldest", rewrite(t, lb, pr, func(_ *envelope, st *lbfgsState) { st.Memory.Oldest = 99 }), "quasi-Newton memory"},
		{"lbfgs: wrapping sizes", rewrite(t, lb, pr, func(_ *envelope, st *lbfgsState) {
			st.Opts.Hidden = wrap
			for _, n := range []*netState{&st.Start, &st.History.Best} {
				n.H, n.W, n.Beta = wrap, make([]float64, 8), make([]float64, 2)
			}
		}), "inconsistent sizes"},
		{"lm: wrapping sizes", rewrite(t, mb, pr, func(_ *envelope, st *lmState) {
			st.Opts.Hidden = wrap
			for _, n := range []*netState{&st.Start, &st.History.Best} {
				n.H, n.W, n.Beta = wrap, make([]float64, 8), make([]float64, 2)
			}
		}), "inconsistent sizes"},
		{"lm damping", rewrite(t, mb, pr, func(_ *envelope, st *lmState) { st.Mu = -1 }), "damping"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				if r := recover(); r != nil {
					t.Fatalf("panic: %v", r)
				}
			}()
			_, err := Load(bg, bytes.NewReader(tc.state), X, Y)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one with %q", err, tc.want)
			}
		})
	}
}

// A header that declares a payload longer than what follows is an error
// before the payload is read: LoadFile bounds it by the file's size, so a
// sparse file of 64 GiB costs nothing, and Load by the memory available.
func TestLoadBoundsThePayload(t *testing.T) {
	X, Y := randomProblem(4, 30, 2, 1)
	saved := mustSave(t, mustAnalytic(t, X, Y, AnalyticOptions{Hidden: 3}))
	// The payload's length is the 8 bytes before the 32 of the digest.
	at := len(saved) - len(mustPayload(t, saved, X, Y)) - 32 - 8
	lie := append([]byte(nil), saved...)
	binary.LittleEndian.PutUint64(lie[at:], 64<<30)
	path := filepath.Join(t.TempDir(), "sparse.state")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(lie); err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(64 << 30); err != nil { // sparse: no disk taken
		t.Skip("no sparse files here:", err)
	}
	f.Close()
	if _, err := LoadFile(bg, path, X, Y); err == nil || !strings.Contains(err.Error(), "declares a payload of 68719476736 bytes") {
		t.Errorf("sparse file: error %v", err)
	}
	if _, err := Load(bg, io.MultiReader(bytes.NewReader(lie), zeros{}), X, Y); err == nil || !errors.Is(err, ErrMemory) && !errors.Is(err, ErrCorrupt) {
		t.Errorf("endless reader: error %v", err)
	}
}

// zeros reads as an endless stream of zero bytes.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// mustPayload returns the payload of a saved state.
func mustPayload(t testing.TB, saved []byte, X, Y *mat.Dense) []byte {
	t.Helper()
	env, err := readEnvelope(bytes.NewReader(saved), newProblem(X, Y), -1)
	if err != nil {
		t.Fatal(err)
	}
	return env.Payload
}

// Every single-byte change of a state is an error: the checksum covers the
// payload, and the envelope's own fields are each checked.
func TestLoadDetectsEveryByteFlip(t *testing.T) {
	X, Y := randomProblem(4, 30, 2, 1)
	a := mustAnalytic(t, X, Y, AnalyticOptions{Hidden: 3})
	mustStep(t, a, 1)
	saved := mustSave(t, a)
	for i := range saved {
		for _, x := range []byte{1, 0x80} {
			b := append([]byte(nil), saved...)
			b[i] ^= x
			s, err := Load(bg, bytes.NewReader(b), X, Y)
			if err == nil && sameState(s, a) != "" {
				t.Fatalf("byte %d ^ %#x: loaded silently, and differs", i, x)
			}
			if err != nil && !errors.Is(err, ErrCorrupt) && !strings.Contains(err.Error(), "state") {
				t.Fatalf("byte %d ^ %#x: error %v", i, x, err)
			}
		}
	}
}

// A state cut short anywhere, or with bytes after its payload, is an error
// wrapping ErrCorrupt, read from a file or a stream; a directory is not a
// state file, to load or to save over.
func TestLoadTruncatedOrExtended(t *testing.T) {
	X, Y := randomProblem(4, 30, 2, 1)
	a := mustAnalytic(t, X, Y, AnalyticOptions{Hidden: 3})
	mustStep(t, a, 1)
	saved := mustSave(t, a)
	dir := t.TempDir()
	path := filepath.Join(dir, "s.state")
	try := func(what string, b []byte) {
		t.Helper()
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := LoadFile(bg, path, X, Y); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s, from a file: %v", what, err)
		}
		if len(b) < len(saved) {
			if _, err := Load(bg, bytes.NewReader(b), X, Y); !errors.Is(err, ErrCorrupt) {
				t.Errorf("%s, from a stream: %v", what, err)
			}
		}
	}
	for n := 0; n < len(saved); n += 7 {
		try(fmt.Sprintf("the first %d of %d bytes", n, len(saved)), saved[:n])
	}
	try("7 bytes more", append(slices.Clone(saved), 1, 2, 3, 4, 5, 6, 7))
	if _, err := LoadFile(bg, dir, X, Y); err == nil || !strings.Contains(err.Error(), "not a file") {
		t.Errorf("a directory: %v", err)
	}
	if err := SaveFile(dir, a); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("saving over a directory: %v", err)
	}
}
