package relunet

import (
	"encoding/binary"
	"encoding/gob"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"

	"gonum.org/v1/gonum/mat"
)

// A state file is a gob stream: a stateHeader, then the solver's own state.
// Data are not stored: the loader is given them again and checks them
// against the fingerprint.

const (
	stateMagic   = "relunet solver state"
	stateVersion = 1
)

type stateHeader struct {
	Magic   string
	Version int
	Kind    string // "analytic", "sgd", "adam" or "lbfgs"
	Data    fingerprint
}

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

func (s netState) net() (*Net, error) {
	D := s.D + 1
	if s.H <= 0 || s.M <= 0 || len(s.W) != s.H*D || len(s.Beta) != s.H*s.M || len(s.Beta0) != s.M {
		return nil, errors.New("network weights have inconsistent sizes")
	}
	return &Net{W: mat.NewDense(s.H, D, s.W), Beta: mat.NewDense(s.H, s.M, s.Beta), Beta0: s.Beta0, Alpha: s.Alpha}, nil
}

func writeState(w io.Writer, kind string, pr *problem, state any) error {
	enc := gob.NewEncoder(w)
	if err := enc.Encode(stateHeader{Magic: stateMagic, Version: stateVersion, Kind: kind, Data: pr.fingerprint()}); err != nil {
		return fmt.Errorf("relunet: saving %s state: %w", kind, err)
	}
	if err := enc.Encode(state); err != nil {
		return fmt.Errorf("relunet: saving %s state: %w", kind, err)
	}
	return nil
}

// readState reads a state of one of the given kinds for the data pr into
// state and returns the kind found.
func readState(r io.Reader, pr *problem, state any, kinds ...string) (string, error) {
	dec := gob.NewDecoder(r)
	var hd stateHeader
	if err := dec.Decode(&hd); err != nil {
		return "", fmt.Errorf("relunet: not a solver state, or truncated: %w", eofIsUnexpected(err))
	}
	if hd.Magic != stateMagic {
		return "", errors.New("relunet: not a solver state file")
	}
	if hd.Version != stateVersion {
		return "", fmt.Errorf("relunet: solver state has format version %d, this build reads version %d", hd.Version, stateVersion)
	}
	ok := false
	for _, k := range kinds {
		ok = ok || k == hd.Kind
	}
	if !ok {
		return "", fmt.Errorf("relunet: state is of a %s solver, want %v", hd.Kind, kinds)
	}
	fp := pr.fingerprint()
	if hd.Data.N != fp.N || hd.Data.D != fp.D || hd.Data.M != fp.M {
		return "", fmt.Errorf("relunet: %s state was saved for data of %d rows × %d inputs × %d outputs, given %d × %d × %d",
			hd.Kind, hd.Data.N, hd.Data.D, hd.Data.M, fp.N, fp.D, fp.M)
	}
	if hd.Data.Hash != fp.Hash {
		return "", fmt.Errorf("relunet: %s state was saved for other data of the same size (%d × %d × %d)", hd.Kind, fp.N, fp.D, fp.M)
	}
	if err := dec.Decode(state); err != nil {
		return "", fmt.Errorf("relunet: %s state is truncated or corrupt: %w", hd.Kind, eofIsUnexpected(err))
	}
	return hd.Kind, nil
}

func eofIsUnexpected(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// saveFile writes a state to path atomically: to a temporary file renamed
// into place, so that a failure leaves no partial file.
func saveFile(path string, save func(io.Writer) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".relunet-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := save(tmp); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

func loadFile[T any](path string, load func(io.Reader) (T, error)) (T, error) {
	f, err := os.Open(path)
	if err != nil {
		var zero T
		return zero, err
	}
	defer f.Close()
	v, err := load(f)
	if err != nil {
		return v, fmt.Errorf("%s: %w", path, err)
	}
	return v, nil
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func textErr(s string) error {
	if s == "" {
		return nil
	}
	return errors.New(s)
}

func pcgState(p *rand.PCG) []byte {
	b, _ := p.MarshalBinary() // PCG's MarshalBinary cannot fail
	return b
}

// analyticState is the saved state of an Analytic solver.
type analyticState struct {
	Opts     AnalyticOptions
	Net      netState
	Act      []bool
	RNG      []byte
	Loss     float64
	Best     netState
	BestLoss float64
	BestIter int
	Iter     int
	History  []AnalyticRecord
	Err      string
}

// Save writes the solver's state (weights, pattern, options, history, best
// iterate and random-number position) to w. The normal matrix is not saved.
func (a *Analytic) Save(w io.Writer) error {
	return writeState(w, "analytic", a.pr, analyticState{
		Opts: a.opts, Net: saveNet(a.net), Act: a.pat.act, RNG: pcgState(a.rng), Loss: a.loss,
		Best: saveNet(a.best), BestLoss: a.bestLoss, BestIter: a.bestIter, Iter: a.iter,
		History: a.history, Err: errText(a.err),
	})
}

// SaveFile saves the solver's state to the named file.
func (a *Analytic) SaveFile(path string) error { return saveFile(path, a.Save) }

// LoadAnalytic reads a state written by Analytic.Save and returns the solver,
// which continues exactly where the saved one stopped. X and Y must be the
// data it was created with.
func LoadAnalytic(r io.Reader, X, Y mat.Matrix) (*Analytic, error) {
	pr, err := checkedProblem(X, Y)
	if err != nil {
		return nil, err
	}
	var st analyticState
	if _, err := readState(r, pr, &st, "analytic"); err != nil {
		return nil, err
	}
	a := &Analytic{opts: st.Opts, pr: pr, rng: &rand.PCG{}, loss: st.Loss, bestLoss: st.BestLoss,
		bestIter: st.BestIter, iter: st.Iter, history: st.History, err: textErr(st.Err)}
	if err := a.opts.check(); err != nil {
		return nil, err
	}
	if a.net, err = st.Net.net(); err == nil {
		a.best, err = st.Best.net()
	}
	if err == nil {
		err = a.rng.UnmarshalBinary(st.RNG)
	}
	if err == nil && len(st.Act) != pr.n*a.opts.Hidden {
		err = errors.New("activation pattern has the wrong size")
	}
	if err != nil {
		return nil, fmt.Errorf("relunet: analytic state is corrupt: %w", err)
	}
	a.start()
	copy(a.pat.act, st.Act)
	return a, nil
}

// LoadAnalyticFile loads a solver saved with SaveFile.
func LoadAnalyticFile(path string, X, Y mat.Matrix) (*Analytic, error) {
	return loadFile(path, func(r io.Reader) (*Analytic, error) { return LoadAnalytic(r, X, Y) })
}

// descentState is the saved state of a Descent solver.
type descentState struct {
	Opts     DescentOptions
	P        []float64
	Vel, Sec []float64
	T        int
	Perm     []int
	RNG      []byte
	Epoch    int
	History  []EpochRecord
	Best     netState
	BestAt   int
	Err      string
}

// Save writes the solver's state (weights, moments, shuffling order and
// random-number position, history) to w.
func (s *Descent) Save(w io.Writer) error {
	return writeState(w, s.opts.Method.String(), s.pr, descentState{
		Opts: s.opts, P: s.p, Vel: s.vel, Sec: s.sec, T: s.t, Perm: s.perm, RNG: pcgState(s.rng),
		Epoch: s.epoch, History: s.history, Best: saveNet(s.best), BestAt: s.bestAt, Err: errText(s.err),
	})
}

// SaveFile saves the solver's state to the named file.
func (s *Descent) SaveFile(path string) error { return saveFile(path, s.Save) }

// LoadDescent reads a state written by Descent.Save for the data X, Y.
func LoadDescent(r io.Reader, X, Y mat.Matrix) (*Descent, error) {
	pr, err := checkedProblem(X, Y)
	if err != nil {
		return nil, err
	}
	var st descentState
	if _, err := readState(r, pr, &st, "sgd", "adam"); err != nil {
		return nil, err
	}
	s := &Descent{opts: st.Opts, pr: pr, rng: &rand.PCG{}, vel: st.Vel, sec: st.Sec, t: st.T, perm: st.Perm,
		epoch: st.Epoch, epochLog: epochLog{history: st.History, bestAt: st.BestAt}, err: textErr(st.Err)}
	if err := s.opts.check(); err != nil {
		return nil, err
	}
	h, D, m := s.opts.Hidden, pr.d+1, pr.m
	size := h*D + h*m + m
	if len(st.P) != size || len(st.Vel) != size || (s.opts.Method == MethodAdam && len(st.Sec) != size) ||
		len(st.Perm) != pr.n || st.BestAt >= len(st.History) {
		return nil, errors.New("relunet: descent state is corrupt: sizes do not match")
	}
	if s.best, err = st.Best.net(); err == nil {
		err = s.rng.UnmarshalBinary(st.RNG)
	}
	if err != nil {
		return nil, fmt.Errorf("relunet: descent state is corrupt: %w", err)
	}
	s.setup(st.P)
	return s, nil
}

// LoadDescentFile loads a solver saved with SaveFile.
func LoadDescentFile(path string, X, Y mat.Matrix) (*Descent, error) {
	return loadFile(path, func(r io.Reader) (*Descent, error) { return LoadDescent(r, X, Y) })
}

// lbfgsState is the saved state of an LBFGS solver. gonum's L-BFGS keeps its
// memory unexported, so the run is saved as its start and length and
// replayed on load; the replay is deterministic and checked bit for bit.
type lbfgsState struct {
	Opts    LBFGSOptions
	Init    []float64
	Iter    int
	X       []float64
	History []EpochRecord
	Done    bool
	Err     string
}

// Save writes the solver's state to w.
func (l *LBFGS) Save(w io.Writer) error {
	return writeState(w, "lbfgs", l.pr, lbfgsState{Opts: l.opts, Init: l.init, Iter: l.iter,
		X: l.loc.X, History: l.history, Done: l.done, Err: errText(l.err)})
}

// SaveFile saves the solver's state to the named file.
func (l *LBFGS) SaveFile(path string) error { return saveFile(path, l.Save) }

// LoadLBFGS reads a state written by LBFGS.Save for the data X, Y, replaying
// the saved iterations.
func LoadLBFGS(r io.Reader, X, Y mat.Matrix) (*LBFGS, error) {
	pr, err := checkedProblem(X, Y)
	if err != nil {
		return nil, err
	}
	var st lbfgsState
	if _, err := readState(r, pr, &st, "lbfgs"); err != nil {
		return nil, err
	}
	h, D, m := st.Opts.Hidden, pr.d+1, pr.m
	if size := h*D + h*m + m; h <= 0 || len(st.Init) != size || len(st.X) != size || len(st.History) != st.Iter+1 {
		return nil, errors.New("relunet: lbfgs state is corrupt: sizes do not match")
	}
	l := &LBFGS{opts: st.Opts, pr: pr, init: st.Init}
	l.start()
	for l.iter < st.Iter && l.Step() {
	}
	for i, v := range l.loc.X {
		if math.Float64bits(v) != math.Float64bits(st.X[i]) {
			return nil, fmt.Errorf("relunet: lbfgs state: replaying %d iterations did not reproduce the saved weights", st.Iter)
		}
	}
	l.history, l.done, l.err = st.History, st.Done, textErr(st.Err)
	return l, nil
}

// LoadLBFGSFile loads a solver saved with SaveFile.
func LoadLBFGSFile(path string, X, Y mat.Matrix) (*LBFGS, error) {
	return loadFile(path, func(r io.Reader) (*LBFGS, error) { return LoadLBFGS(r, X, Y) })
}
