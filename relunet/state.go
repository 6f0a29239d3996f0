package relunet

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/gob"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"math"
	"math/rand/v2"
	"os"

	"github.com/relunet/relunet/relunet/internal/atomicfile"
	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/optimize"
)

// A state file is a fixed binary header, then the solver's own state as
// gob-encoded bytes:
//
//	magic       "relunet solver state\n"
//	version     uint32
//	kind        uint8 length, then the method's name
//	data        n, d, m int64 and a hash of the values (fingerprint)
//	length      uint64, the payload's
//	sum         [32]byte, the payload's SHA-256
//	payload     gob
//
// all little-endian. The header is read and the payload's length and digest
// checked before any byte is decoded, so a damaged file is an error before
// gob (which is not meant for untrusted input) sees it. Data are not stored:
// the loader is given them again and checks them against the fingerprint.
// Every size, index and option of a decoded state is checked against the
// others and against the data before use, so that a crafted state is an
// error too, never a panic.

const (
	stateMagic   = "relunet solver state\n"
	stateVersion = 3
	maxKind      = 32
)

type envelope struct {
	Kind    string // a Method's name
	Data    fingerprint
	Payload []byte
}

// ErrCorrupt reports a state that is damaged or inconsistent.
var ErrCorrupt = errors.New("corrupt solver state")

// fingerprint identifies training data by dimensions and a hash of the values.
type fingerprint struct {
	N, D, M int
	Hash    uint64
}

func (p *problem) fingerprint() fingerprint {
	h := fnv.New64a()
	var b [8]byte
	for _, a := range []*mat.Dense{p.x, p.y} {
		raw := a.RawMatrix()
		for i := 0; i < raw.Rows; i++ {
			for _, v := range raw.Data[i*raw.Stride : i*raw.Stride+raw.Cols] {
				binary.LittleEndian.PutUint64(b[:], math.Float64bits(v))
				h.Write(b[:])
			}
		}
	}
	return fingerprint{N: p.n, D: p.d, M: p.m, Hash: h.Sum64()}
}

// netState is a Net in a form gob can encode.
type netState struct {
	H, D, M        int
	W, Beta, Beta0 []float64
	Alpha          float64
}

func saveNet(n *Net) netState {
	h, d, m := n.Dims()
	return netState{H: h, D: d, M: m, W: mat.DenseCopyOf(n.W).RawMatrix().Data,
		Beta: mat.DenseCopyOf(n.Beta).RawMatrix().Data, Beta0: append([]float64(nil), n.Beta0...), Alpha: n.Alpha}
}

// net returns the network, checked to have h hidden units, the data's d
// inputs and m outputs, the leaky slope alpha and finite weights.
func (s netState) net(what string, h, d, m int, alpha float64) (*Net, error) {
	if s.H != h || s.D != d || s.M != m {
		return nil, fmt.Errorf("%w: %s is %d×%d×%d (hidden×inputs×outputs), want %d×%d×%d", ErrCorrupt, what, s.H, s.D, s.M, h, d, m)
	}
	if len(s.W) != h*(d+1) || len(s.Beta) != h*m || len(s.Beta0) != m {
		return nil, fmt.Errorf("%w: %s has weights of inconsistent sizes", ErrCorrupt, what)
	}
	if s.Alpha != alpha {
		return nil, fmt.Errorf("%w: %s has leaky slope %v, the options %v", ErrCorrupt, what, s.Alpha, alpha)
	}
	n := &Net{W: mat.NewDense(h, d+1, s.W), Beta: mat.NewDense(h, m, s.Beta), Beta0: s.Beta0, Alpha: s.Alpha}
	if err := n.validate(d, m); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrCorrupt, what, err)
	}
	return n, nil
}

// historyState is a history in a form gob can encode.
type historyState struct {
	Records []Record
	Best    netState
	BestAt  int
	Status  Status
	Err     string
}

func saveHistory(h *history) historyState {
	st := historyState{Records: h.records, Best: saveNet(h.best), BestAt: h.bestAt, Status: h.status}
	if h.err != nil {
		st.Err = h.err.Error()
	}
	return st
}

// restore returns the history, checked for a network of h×d×m.
func (s historyState) restore(h, d, m int, alpha float64) (history, error) {
	var hist history
	if len(s.Records) == 0 || s.BestAt < 0 || s.BestAt >= len(s.Records) {
		return hist, fmt.Errorf("%w: %d records, best at %d", ErrCorrupt, len(s.Records), s.BestAt)
	}
	for i := 1; i < len(s.Records); i++ {
		if s.Records[i].Iter < s.Records[i-1].Iter {
			return hist, fmt.Errorf("%w: record %d goes back from iteration %d to %d", ErrCorrupt, i, s.Records[i-1].Iter, s.Records[i].Iter)
		}
	}
	if s.Status < NotTerminated || s.Status > Failure || (s.Status == Failure) != (s.Err != "") {
		return hist, fmt.Errorf("%w: status %v with error %q", ErrCorrupt, s.Status, s.Err)
	}
	best, err := s.Best.net("best network", h, d, m, alpha)
	if err != nil {
		return hist, err
	}
	hist = history{records: s.Records, best: best, bestAt: s.BestAt, status: s.Status}
	if s.Err != "" {
		hist.err = errors.New(s.Err)
	}
	return hist, nil
}

// writeState writes the state of a solver of the given kind.
func writeState(w io.Writer, kind Method, pr *problem, state any) error {
	var payload bytes.Buffer
	if err := gob.NewEncoder(&payload).Encode(state); err != nil {
		return fmt.Errorf("relunet: saving %v state: %w", kind, err)
	}
	if err := writeEnvelope(w, envelope{Kind: kind.String(), Data: pr.fingerprint(), Payload: payload.Bytes()}); err != nil {
		return fmt.Errorf("relunet: saving %v state: %w", kind, err)
	}
	return nil
}

// writeEnvelope writes the header and the payload.
func writeEnvelope(w io.Writer, env envelope) error {
	var h bytes.Buffer
	h.WriteString(stateMagic)
	name, fp := env.Kind, env.Data
	binary.Write(&h, binary.LittleEndian, uint32(stateVersion))
	h.WriteByte(byte(len(name)))
	h.WriteString(name)
	binary.Write(&h, binary.LittleEndian, [4]uint64{uint64(fp.N), uint64(fp.D), uint64(fp.M), fp.Hash})
	binary.Write(&h, binary.LittleEndian, uint64(len(env.Payload)))
	sum := sha256.Sum256(env.Payload)
	h.Write(sum[:])
	if _, err := w.Write(h.Bytes()); err != nil {
		return err
	}
	_, err := w.Write(env.Payload)
	return err
}

// readEnvelope reads a state's header and payload, checks the payload's
// length and digest, and checks the header against the data pr.
func readEnvelope(r io.Reader, pr *problem) (envelope, error) {
	var env envelope
	truncated := func(what string) error {
		return fmt.Errorf("relunet: not a solver state, or truncated (in its %s): %w", what, io.ErrUnexpectedEOF)
	}
	magic := make([]byte, len(stateMagic))
	if _, err := io.ReadFull(r, magic); err != nil {
		return env, truncated("magic")
	}
	if string(magic) != stateMagic {
		return env, errors.New("relunet: not a solver state file")
	}
	var version uint32
	if err := binary.Read(r, binary.LittleEndian, &version); err != nil {
		return env, truncated("header")
	}
	if version != stateVersion {
		return env, fmt.Errorf("relunet: solver state has format version %d, this build reads version %d", version, stateVersion)
	}
	var n [1]byte
	if _, err := io.ReadFull(r, n[:]); err != nil {
		return env, truncated("header")
	}
	if n[0] == 0 || n[0] > maxKind {
		return env, fmt.Errorf("relunet: %w: a solver kind of %d bytes", ErrCorrupt, n[0])
	}
	kind := make([]byte, n[0])
	var fp [4]uint64
	var size uint64
	var sum [32]byte
	if _, err := io.ReadFull(r, kind); err != nil {
		return env, truncated("header")
	}
	if err := binary.Read(r, binary.LittleEndian, &fp); err != nil {
		return env, truncated("header")
	}
	if err := binary.Read(r, binary.LittleEndian, &size); err != nil {
		return env, truncated("header")
	}
	if _, err := io.ReadFull(r, sum[:]); err != nil {
		return env, truncated("header")
	}
	env.Kind = string(kind)
	env.Data = fingerprint{N: int(fp[0]), D: int(fp[1]), M: int(fp[2]), Hash: fp[3]}
	// The payload grows as it arrives: a length that lies costs no memory.
	var payload bytes.Buffer
	got, err := io.Copy(&payload, io.LimitReader(r, int64(min(size, math.MaxInt64))))
	if err != nil {
		return env, fmt.Errorf("relunet: reading the %s state: %w", env.Kind, err)
	}
	if uint64(got) != size {
		return env, fmt.Errorf("relunet: %s state is truncated: %d of its %d bytes: %w", env.Kind, got, size, io.ErrUnexpectedEOF)
	}
	if sha256.Sum256(payload.Bytes()) != sum {
		return env, fmt.Errorf("relunet: %s state: %w: checksum mismatch", env.Kind, ErrCorrupt)
	}
	env.Payload = payload.Bytes()
	want := pr.fingerprint()
	if env.Data.N != want.N || env.Data.D != want.D || env.Data.M != want.M {
		return env, fmt.Errorf("relunet: %s state was saved for data of %d rows × %d inputs × %d outputs, given %d × %d × %d",
			env.Kind, env.Data.N, env.Data.D, env.Data.M, want.N, want.D, want.M)
	}
	if env.Data.Hash != want.Hash {
		return env, fmt.Errorf("relunet: %s state was saved for other data of the same size (%d × %d × %d)", env.Kind, want.N, want.D, want.M)
	}
	return env, nil
}

// decodePayload decodes the envelope's checked payload into state.
func decodePayload(env envelope, state any) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("relunet: %s state: %w: %v", env.Kind, ErrCorrupt, p)
		}
	}()
	if err := gob.NewDecoder(bytes.NewReader(env.Payload)).Decode(state); err != nil {
		return fmt.Errorf("relunet: %s state: %w: %v", env.Kind, ErrCorrupt, err)
	}
	return nil
}

// Load reads a state written by any solver's Save and returns the solver,
// which continues exactly where the saved one stopped. X and Y must be the
// data it was trained on. The returned Solver is an *Analytic, a *Descent,
// an *LBFGS or an *LM.
func Load(r io.Reader, X, Y mat.Matrix) (Solver, error) {
	pr, err := checkedProblem(X, Y)
	if err != nil {
		return nil, err
	}
	env, err := readEnvelope(r, pr)
	if err != nil {
		return nil, err
	}
	m, err := ParseMethod(env.Kind)
	if err != nil {
		return nil, fmt.Errorf("relunet: %w: unknown solver kind %q", ErrCorrupt, env.Kind)
	}
	var s Solver
	switch m {
	case MethodAnalytic:
		s, err = loadAnalytic(env, pr)
	case MethodSGD, MethodAdam:
		s, err = loadDescent(env, pr, m)
	case MethodLBFGS:
		s, err = loadLBFGS(env, pr)
	case MethodLM:
		s, err = loadLM(env, pr)
	}
	if err != nil {
		return nil, fmt.Errorf("relunet: loading %v state: %w", m, err)
	}
	return s, nil
}

// LoadFile loads a solver saved with SaveFile.
func LoadFile(path string, X, Y mat.Matrix) (Solver, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	s, err := Load(f, X, Y)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

// saveFile writes a state to path atomically, so that a failure leaves no
// partial file and the previous one intact.
func saveFile(path string, save func(io.Writer) error) error { return atomicfile.Write(path, save) }

func pcgState(p *rand.PCG) []byte {
	b, _ := p.MarshalBinary() // PCG's MarshalBinary cannot fail
	return b
}

func loadPCG(b []byte) (*rand.PCG, error) {
	p := &rand.PCG{}
	if err := p.UnmarshalBinary(b); err != nil {
		return nil, fmt.Errorf("%w: random-number state: %v", ErrCorrupt, err)
	}
	return p, nil
}

// analyticState is the saved state of an Analytic solver.
type analyticState struct {
	Opts    AnalyticOptions
	Net     netState
	Act     []bool
	RNG     []byte
	History historyState
	Cycle   Steps
	Next    Status
}

// Save writes the solver's state (weights, pattern, options, records, best
// iterate, status and random-number position) to w.
func (a *Analytic) Save(w io.Writer) error {
	return writeState(w, MethodAnalytic, a.pr, analyticState{
		Opts: a.opts, Net: saveNet(a.net), Act: a.pat.act, RNG: pcgState(a.rng),
		History: saveHistory(&a.history), Cycle: a.cycle, Next: a.next,
	})
}

// SaveFile saves the solver's state to the named file atomically.
func (a *Analytic) SaveFile(path string) error { return saveFile(path, a.Save) }

func loadAnalytic(env envelope, pr *problem) (*Analytic, error) {
	var st analyticState
	if err := decodePayload(env, &st); err != nil {
		return nil, err
	}
	if err := st.Opts.check(); err != nil {
		return nil, fmt.Errorf("%w: options: %v", ErrCorrupt, err)
	}
	if st.Opts.Init != nil {
		return nil, fmt.Errorf("%w: options hold an initial network", ErrCorrupt)
	}
	h := st.Opts.Hidden
	if st.Cycle&^Alternation != 0 || st.Cycle == Alternation || st.Next < NotTerminated || st.Next > Failure {
		return nil, fmt.Errorf("%w: sub-step state %v, next status %v", ErrCorrupt, st.Cycle, st.Next)
	}
	net, err := st.Net.net("network", h, pr.d, pr.m, st.Opts.Alpha)
	if err != nil {
		return nil, err
	}
	if len(st.Act) != pr.n*h {
		return nil, fmt.Errorf("%w: activation pattern of %d entries, want %d×%d", ErrCorrupt, len(st.Act), pr.n, h)
	}
	hist, err := st.History.restore(h, pr.d, pr.m, st.Opts.Alpha)
	if err != nil {
		return nil, err
	}
	rng, err := loadPCG(st.RNG)
	if err != nil {
		return nil, err
	}
	a := &Analytic{opts: st.Opts, pr: pr, net: net, rng: rng, history: hist, cycle: st.Cycle, next: st.Next}
	a.start()
	copy(a.pat.act, st.Act)
	return a, nil
}

// descentState is the saved state of a Descent solver.
type descentState struct {
	Opts     DescentOptions
	P        []float64
	Vel, Sec []float64
	T        int
	Perm     []int
	RNG      []byte
	History  historyState
}

// Save writes the solver's state (weights, moments, shuffling order and
// random-number position, records) to w.
func (s *Descent) Save(w io.Writer) error {
	return writeState(w, s.opts.Method, s.pr, descentState{
		Opts: s.opts, P: s.p, Vel: s.vel, Sec: s.sec, T: s.t, Perm: s.perm, RNG: pcgState(s.rng),
		History: saveHistory(&s.history),
	})
}

// SaveFile saves the solver's state to the named file atomically.
func (s *Descent) SaveFile(path string) error { return saveFile(path, s.Save) }

func loadDescent(env envelope, pr *problem, m Method) (*Descent, error) {
	var st descentState
	if err := decodePayload(env, &st); err != nil {
		return nil, err
	}
	if err := st.Opts.check(); err != nil {
		return nil, fmt.Errorf("%w: options: %v", ErrCorrupt, err)
	}
	if st.Opts.Method != m || st.Opts.Init != nil {
		return nil, fmt.Errorf("%w: a %v state holds options for %v", ErrCorrupt, m, st.Opts.Method)
	}
	h := st.Opts.Hidden
	size := h*(pr.d+1) + h*pr.m + pr.m
	wantSec := 0
	if m == MethodAdam {
		wantSec = size
	}
	if len(st.P) != size || len(st.Vel) != size || len(st.Sec) != wantSec || st.T < 0 {
		return nil, fmt.Errorf("%w: parameter vectors of %d, %d and %d entries, want %d", ErrCorrupt, len(st.P), len(st.Vel), len(st.Sec), size)
	}
	if err := checkPerm(st.Perm, pr.n); err != nil {
		return nil, err
	}
	for _, v := range [][]float64{st.P, st.Vel, st.Sec} {
		if !finiteAll(v) && st.History.Status != Failure {
			return nil, fmt.Errorf("%w: non-finite parameters in a run that did not fail", ErrCorrupt)
		}
	}
	hist, err := st.History.restore(h, pr.d, pr.m, st.Opts.Alpha)
	if err != nil {
		return nil, err
	}
	rng, err := loadPCG(st.RNG)
	if err != nil {
		return nil, err
	}
	s := &Descent{opts: st.Opts, pr: pr, rng: rng, vel: st.Vel, sec: st.Sec, t: st.T, perm: st.Perm, history: hist}
	s.setup(st.P)
	return s, nil
}

// checkPerm reports whether p is a permutation of 0..n-1.
func checkPerm(p []int, n int) error {
	if len(p) != n {
		return fmt.Errorf("%w: row order of %d entries, want %d", ErrCorrupt, len(p), n)
	}
	seen := make([]bool, n)
	for k, i := range p {
		if i < 0 || i >= n || seen[i] {
			return fmt.Errorf("%w: row order entry %d is %d: not a permutation of the %d rows", ErrCorrupt, k, i, n)
		}
		seen[i] = true
	}
	return nil
}

func finiteAll(v []float64) bool {
	for _, x := range v {
		if isBad(x) {
			return false
		}
	}
	return true
}

// lbfgsState is the saved state of an LBFGS solver: the location, and the
// quasi-Newton memory, so that loading does not replay the run.
type lbfgsState struct {
	Opts    LBFGSOptions
	X, Grad []float64
	F       float64
	Memory  lbfgsMemory
	Evals   int
	Started bool // the memory holds pairs: the next step continues them
	History historyState
}

// Save writes the solver's state to w.
func (l *LBFGS) Save(w io.Writer) error {
	return writeState(w, MethodLBFGS, l.pr, lbfgsState{Opts: l.opts, X: l.loc.X, Grad: l.loc.Gradient, F: l.loc.F,
		Memory: *l.mem, Evals: l.evals, Started: l.initialized || l.mem.Resumed, History: saveHistory(&l.history)})
}

// SaveFile saves the solver's state to the named file atomically.
func (l *LBFGS) SaveFile(path string) error { return saveFile(path, l.Save) }

func loadLBFGS(env envelope, pr *problem) (*LBFGS, error) {
	var st lbfgsState
	if err := decodePayload(env, &st); err != nil {
		return nil, err
	}
	if err := st.Opts.check(); err != nil {
		return nil, fmt.Errorf("%w: options: %v", ErrCorrupt, err)
	}
	o := st.Opts
	if o.Store <= 0 || o.GradTol <= 0 || o.Init != nil {
		return nil, fmt.Errorf("%w: options without their defaults set", ErrCorrupt)
	}
	size := o.Hidden*(pr.d+1) + o.Hidden*pr.m + pr.m
	if len(st.X) != size || len(st.Grad) != size || st.Evals < 1 {
		return nil, fmt.Errorf("%w: location of %d and %d entries, want %d", ErrCorrupt, len(st.X), len(st.Grad), size)
	}
	mem := st.Memory
	if st.Started {
		ok := mem.Store == o.Store && len(mem.X) == size && len(mem.Grad) == size && len(mem.S) == o.Store &&
			len(mem.Y) == o.Store && len(mem.Rho) == o.Store && mem.Oldest >= 0 && mem.Oldest < o.Store
		for i := 0; ok && i < o.Store; i++ {
			ok = len(mem.S[i]) == size && len(mem.Y[i]) == size
		}
		if !ok {
			return nil, fmt.Errorf("%w: quasi-Newton memory of inconsistent sizes", ErrCorrupt)
		}
	} else {
		mem = lbfgsMemory{Store: o.Store}
	}
	hist, err := st.History.restore(o.Hidden, pr.d, pr.m, o.Alpha)
	if err != nil {
		return nil, err
	}
	mem.Resumed = st.Started
	l := &LBFGS{opts: o, pr: pr, mem: &mem, evals: st.Evals, history: hist,
		loc: &optimize.Location{X: st.X, Gradient: st.Grad, F: st.F}}
	l.setup(st.X)
	return l, nil
}

// lmState is the saved state of an LM solver: the weights, the loss and the
// damping; JᵀJ and Jᵀr are summed again on the first Step after a load, in
// the same order, so the run continues bit for bit.
type lmState struct {
	Opts    LMOptions
	Theta   []float64
	Loss    float64
	Mu, Nu  float64
	History historyState
}

// Save writes the solver's state to w.
func (s *LM) Save(w io.Writer) error {
	return writeState(w, MethodLM, s.pr, lmState{Opts: s.opts, Theta: s.theta, Loss: s.loss, Mu: s.mu, Nu: s.nu,
		History: saveHistory(&s.history)})
}

// SaveFile saves the solver's state to the named file atomically.
func (s *LM) SaveFile(path string) error { return saveFile(path, s.Save) }

func loadLM(env envelope, pr *problem) (*LM, error) {
	var st lmState
	if err := decodePayload(env, &st); err != nil {
		return nil, err
	}
	if err := st.Opts.check(); err != nil {
		return nil, fmt.Errorf("%w: options: %v", ErrCorrupt, err)
	}
	o := st.Opts
	if o.Damping <= 0 || o.GradTol <= 0 || o.MaxTries <= 0 || o.Init != nil {
		return nil, fmt.Errorf("%w: options without their defaults set", ErrCorrupt)
	}
	size := o.Hidden*(pr.d+1) + (o.Hidden+1)*pr.m
	if len(st.Theta) != size {
		return nil, fmt.Errorf("%w: %d weights, want %d", ErrCorrupt, len(st.Theta), size)
	}
	finite := func(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
	if !finite(st.Loss) || st.Loss < 0 || !finite(st.Mu) || !(st.Mu > 0) || !finite(st.Nu) || st.Nu < 2 {
		return nil, fmt.Errorf("%w: loss %v, damping %v and %v", ErrCorrupt, st.Loss, st.Mu, st.Nu)
	}
	for _, v := range st.Theta {
		if !finite(v) {
			return nil, fmt.Errorf("%w: a weight is %v", ErrCorrupt, v)
		}
	}
	hist, err := st.History.restore(o.Hidden, pr.d, pr.m, o.Alpha)
	if err != nil {
		return nil, err
	}
	s := &LM{opts: o, pr: pr, loss: st.Loss, mu: st.Mu, nu: st.Nu, history: hist}
	s.setTheta(st.Theta)
	return s, nil
}
