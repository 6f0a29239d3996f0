package relunet

import (
	"bytes"
	"testing"
)

// FuzzLoad loads arbitrary bytes as a solver state for fixed data: an error,
// or a solver that steps without a panic. The seeds are valid states of
// every kind of solver.
func FuzzLoad(f *testing.F) {
	X, Y := randomProblem(4, 30, 2, 1)
	var seeds []Solver
	a, _ := NewAnalytic(bg, X, Y, AnalyticOptions{Hidden: 3})
	a.Step()
	a.HiddenStep()
	seeds = append(seeds, a)
	for _, opts := range []DescentOptions{DescentOptions{Method: MethodSGD, Hidden: 3}, DescentOptions{Method: MethodAdam, Hidden: 3}} {
		opts.Batch = 8
		s, _ := NewDescent(bg, X, Y, opts)
		s.Step()
		seeds = append(seeds, s)
	}
	l, _ := NewLBFGS(bg, X, Y, LBFGSOptions{Hidden: 3})
	l.Step()
	l.Step()
	seeds = append(seeds, l)
	lm, _ := NewLM(bg, X, Y, LMOptions{Hidden: 3})
	lm.Step()
	seeds = append(seeds, lm)
	for _, s := range seeds {
		var buf bytes.Buffer
		if err := s.Save(&buf); err != nil {
			f.Fatal(err)
		}
		f.Add(buf.Bytes())
	}
	f.Fuzz(func(t *testing.T, state []byte) {
		s, err := Load(bg, bytes.NewReader(state), X, Y)
		if err != nil {
			return
		}
		for i := 0; i < 2 && s.Step(); i++ {
		}
		s.Best()
	})
}

// FuzzPayload decodes arbitrary bytes as the payload of a state whose header
// and checksum are right: a crafted state. It is an error, or a solver that
// steps without a panic.
func FuzzPayload(f *testing.F) {
	X, Y := randomProblem(4, 30, 2, 1)
	pr := newProblem(X, Y)
	a, _ := NewAnalytic(bg, X, Y, AnalyticOptions{Hidden: 3})
	a.Step()
	s, _ := NewDescent(bg, X, Y, DescentOptions{Method: MethodAdam, Hidden: 3})
	s.Step()
	l, _ := NewLBFGS(bg, X, Y, LBFGSOptions{Hidden: 3})
	l.Step()
	lm, _ := NewLM(bg, X, Y, LMOptions{Hidden: 3})
	lm.Step()
	for k, sv := range []Solver{a, s, l, lm} {
		var buf bytes.Buffer
		if err := sv.Save(&buf); err != nil {
			f.Fatal(err)
		}
		env, err := readEnvelope(&buf, pr, -1)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(uint8(k), env.Payload)
	}
	kinds := []Method{MethodAnalytic, MethodAdam, MethodLBFGS, MethodLM}
	f.Fuzz(func(t *testing.T, kind uint8, payload []byte) {
		var buf bytes.Buffer
		env := envelope{Kind: kinds[int(kind)%len(kinds)].String(), Data: pr.fingerprint(), Payload: payload}
		if err := writeEnvelope(&buf, env); err != nil {
			t.Fatal(err)
		}
		sv, err := Load(bg, &buf, X, Y)
		if err != nil {
			return
		}
		for i := 0; i < 2 && sv.Step(); i++ {
		}
	})
}
