package relunet

import (
	"bytes"
	"encoding/gob"
	"math"
	"testing"
)

// FuzzLoad loads arbitrary bytes as a solver state for fixed data: an error,
// or a solver that steps without a panic. The seeds are valid states of
// every kind of solver.
func FuzzLoad(f *testing.F) {
	X, Y := randomProblem(4, 30, 2, 1)
	a := mustAnalytic(f, X, Y, AnalyticOptions{Hidden: 3})
	mustStep(f, a, 1)
	mustSubStep(f, a, 'h')
	seeds := []Solver{a}
	for _, opts := range []DescentOptions{{Method: MethodSGD, Hidden: 3, Batch: 8}, {Method: MethodAdam, Hidden: 3, Batch: 8}} {
		s := mustDescent(f, X, Y, opts)
		mustStep(f, s, 1)
		seeds = append(seeds, s)
	}
	seeds = append(seeds, must2(NewLBFGS(bg, X, Y, LBFGSOptions{Hidden: 3})), must2(NewLM(bg, X, Y, LMOptions{Hidden: 3})))
	mustStep(f, seeds[3], 2)
	mustStep(f, seeds[4], 1)
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
	solvers := []Solver{
		must2(NewAnalytic(bg, X, Y, AnalyticOptions{Hidden: 3})),
		must2(NewDescent(bg, X, Y, DescentOptions{Method: MethodAdam, Hidden: 3})),
		must2(NewLBFGS(bg, X, Y, LBFGSOptions{Hidden: 3})),
		must2(NewLM(bg, X, Y, LMOptions{Hidden: 3})),
	}
	for k, sv := range solvers {
		mustStep(f, sv, 1)
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

// FuzzCraftedSizes writes states with valid checksums and fingerprints
// around crafted sizes: a hidden size of any int64, weights and a pattern
// of any small lengths, as a hostile file would declare them so that the
// products of sizes wrap. Each is an error, or a solver that steps without
// a panic.
func FuzzCraftedSizes(f *testing.F) {
	X, Y := randomProblem(4, 30, 2, 1)
	pr := newProblem(X, Y)
	var saved [4][]byte
	for k, s := range []Solver{
		must2(NewAnalytic(bg, X, Y, AnalyticOptions{Hidden: 3})),
		must2(NewDescent(bg, X, Y, DescentOptions{Method: MethodAdam, Hidden: 3})),
		must2(NewLBFGS(bg, X, Y, LBFGSOptions{Hidden: 3})),
		must2(NewLM(bg, X, Y, LMOptions{Hidden: 3})),
	} {
		s.Step()
		var buf bytes.Buffer
		if err := s.Save(&buf); err != nil {
			f.Fatal(err)
		}
		saved[k] = buf.Bytes()
	}
	for _, h := range []int64{3, 0, -1, 1 << 62, 1<<62 + 1, 1 << 61, math.MaxInt64, 3_000_000} {
		for k := range saved {
			f.Add(uint8(k), h, uint16(9), uint16(3), uint16(90))
		}
	}
	f.Fuzz(func(t *testing.T, kind uint8, h int64, lenW, lenBeta, lenAct uint16) {
		nets := func(ns ...*netState) {
			for _, n := range ns {
				n.H, n.W, n.Beta = int(h), make([]float64, lenW), make([]float64, lenBeta)
			}
		}
		var state []byte
		switch kind % 4 {
		case 0:
			state = craft(t, saved[0], pr, func(st *analyticState) {
				st.Opts.Hidden = int(h)
				nets(&st.Net, &st.Start, &st.History.Best)
				st.Act = make([]bool, lenAct)
			})
		case 1:
			state = craft(t, saved[1], pr, func(st *descentState) {
				st.Opts.Hidden = int(h)
				nets(&st.Start, &st.History.Best)
				st.P, st.Vel, st.Sec = make([]float64, lenW), make([]float64, lenW), make([]float64, lenW)
			})
		case 2:
			state = craft(t, saved[2], pr, func(st *lbfgsState) {
				st.Opts.Hidden = int(h)
				nets(&st.Start, &st.History.Best)
				st.X, st.Grad = make([]float64, lenW), make([]float64, lenW)
			})
		case 3:
			state = craft(t, saved[3], pr, func(st *lmState) {
				st.Opts.Hidden = int(h)
				nets(&st.Start, &st.History.Best)
				st.Theta = make([]float64, lenW)
			})
		}
		s, err := Load(bg, bytes.NewReader(state), X, Y)
		if err != nil {
			return
		}
		for i := 0; i < 2 && s.Step(); i++ {
		}
	})
}

// craft decodes a saved state, lets edit change it, and encodes it again
// with a valid header and checksum.
func craft[S any](t *testing.T, saved []byte, pr *problem, edit func(st *S)) []byte {
	env, err := readEnvelope(bytes.NewReader(saved), pr, -1)
	if err != nil {
		t.Fatal(err)
	}
	var st S
	if err := gob.NewDecoder(bytes.NewReader(env.Payload)).Decode(&st); err != nil {
		t.Fatal(err)
	}
	edit(&st)
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

func must2[S Solver](s S, err error) Solver {
	if err != nil {
		panic(err)
	}
	return s
}
