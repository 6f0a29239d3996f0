package relunet

import (
	"bytes"
	"context"
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
	"reflect"

	"gonum.org/v1/gonum/mat"

	"github.com/relunet/relunet/relunet/internal/atomicfile"
	"github.com/relunet/relunet/relunet/internal/size"
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
// all little-endian. The header is read and the payload's length bounded
// (by the file's size, and by the memory available) and its digest checked
// before any byte is decoded, so a damaged file is an error before gob
// (which is not meant for untrusted input) sees it. Data are not stored:
// the loader is given them again and checks them against the fingerprint.
// Every size, index and option of a decoded state is checked against the
// others and against the data, with products that cannot wrap, and the
// loaded solver's memory against the limit, before use: a crafted state is
// an error too, never a panic. Each solver's codec is beside the solver.

const (
	stateMagic   = "relunet solver state\n"
	stateVersion = 4
	maxKind      = 32
	// headerFixed is the header's length without the kind's name.
	headerFixed = len(stateMagic) + 4 + 1 + 32 + 8 + 32
)

type envelope struct {
	Kind    string // a Method's name
	Data    fingerprint
	Payload []byte
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

// net returns the network, checked to have h hidden units, the data's d
// inputs and m outputs, the leaky slope alpha and finite weights.
func (s netState) net(what string, h, d, m int, alpha float64) (*Net, error) {
	if s.H != h || s.D != d || s.M != m {
		return nil, fmt.Errorf("%w: %s is %d×%d×%d (hidden×inputs×outputs), want %d×%d×%d", ErrCorrupt, what, s.H, s.D, s.M, h, d, m)
	}
	hD, ok1 := size.Mul(h, d+1)
	hm, ok2 := size.Mul(h, m)
	if !ok1 || !ok2 || len(s.W) != hD || len(s.Beta) != hm || len(s.Beta0) != m {
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

// restore returns the history of a method's solver, checked for a network
// of h×d×m, without its context.
func (s historyState) restore(method Method, h, d, m int, alpha float64) (history, error) {
	var hist history
	if len(s.Records) == 0 || s.BestAt < 0 || s.BestAt >= len(s.Records) {
		return hist, fmt.Errorf("%w: %d records, best at %d", ErrCorrupt, len(s.Records), s.BestAt)
	}
	for i, r := range s.Records {
		if i > 0 && r.Iter < s.Records[i-1].Iter {
			return hist, fmt.Errorf("%w: record %d goes back from iteration %d to %d", ErrCorrupt, i, s.Records[i-1].Iter, r.Iter)
		}
		if !r.ofMethod(method) {
			return hist, fmt.Errorf("%w: record %d is not a %v record", ErrCorrupt, i, method)
		}
	}
	if s.Status < NotTerminated || s.Status > Canceled || (s.Status == Failure || s.Status == Canceled) != (s.Err != "") {
		return hist, fmt.Errorf("%w: status %v with error %q", ErrCorrupt, s.Status, s.Err)
	}
	best, err := s.Best.net("best network", h, d, m, alpha)
	if err != nil {
		return hist, err
	}
	hist = history{method: method, records: s.Records, best: best, bestAt: s.BestAt, status: s.Status}
	if s.Err != "" {
		hist.err = errors.New(s.Err)
	}
	return hist, nil
}

// ofMethod reports whether the record has the detail of the method, and
// no other.
func (r Record) ofMethod(m Method) bool {
	has := [...]bool{r.Analytic != nil, r.Descent != nil, r.LBFGS != nil, r.LM != nil}
	want := [...]bool{m == MethodAnalytic, m == MethodSGD || m == MethodAdam, m == MethodLBFGS, m == MethodLM}
	return has == want
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
// length (at most max bytes; max < 0 for no bound but the memory) and
// digest, and checks the header against the data pr.
func readEnvelope(r io.Reader, pr *problem, max int64) (envelope, error) {
	var env envelope
	truncated := func(what string) error {
		return fmt.Errorf("relunet: %w: not a solver state, or truncated (in its %s): %w", ErrCorrupt, what, io.ErrUnexpectedEOF)
	}
	magic := make([]byte, len(stateMagic))
	if _, err := io.ReadFull(r, magic); err != nil {
		return env, truncated("magic")
	}
	if string(magic) != stateMagic {
		return env, fmt.Errorf("relunet: %w: not a solver state file (it does not begin as one)", ErrCorrupt)
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
	var length uint64
	var sum [32]byte
	if _, err := io.ReadFull(r, kind); err != nil {
		return env, truncated("header")
	}
	if err := binary.Read(r, binary.LittleEndian, &fp); err != nil {
		return env, truncated("header")
	}
	if err := binary.Read(r, binary.LittleEndian, &length); err != nil {
		return env, truncated("header")
	}
	if _, err := io.ReadFull(r, sum[:]); err != nil {
		return env, truncated("header")
	}
	env.Kind = string(kind)
	want := pr.fingerprint()
	env.Data = fingerprint{N: int(fp[0]), D: int(fp[1]), M: int(fp[2]), Hash: fp[3]}
	if fp[0] != uint64(want.N) || fp[1] != uint64(want.D) || fp[2] != uint64(want.M) {
		return env, fmt.Errorf("relunet: %s state was saved for data of %d rows × %d inputs × %d outputs, given %d × %d × %d",
			env.Kind, fp[0], fp[1], fp[2], want.N, want.D, want.M)
	}
	switch {
	case max >= 0 && length != uint64(max):
		return env, fmt.Errorf("relunet: %s state: %w: its header declares a payload of %d bytes, but %d follow",
			env.Kind, ErrCorrupt, length, max)
	case length > math.MaxInt64:
		return env, fmt.Errorf("relunet: %s state: %w: a payload of %d bytes", env.Kind, ErrCorrupt, length)
	}
	if err := newMemory(0, "").check(fmt.Sprintf("the %s state's payload", env.Kind), int64(length), 0); err != nil {
		return env, fmt.Errorf("relunet: %w", err)
	}
	// The payload grows as it arrives: a length that lies costs no more
	// memory than the bytes that really follow.
	var payload bytes.Buffer
	got, err := io.Copy(&payload, io.LimitReader(r, int64(length)))
	if err != nil {
		return env, fmt.Errorf("relunet: reading the %s state: %w", env.Kind, err)
	}
	if uint64(got) != length {
		return env, fmt.Errorf("relunet: %s state: %w: truncated, %d of its %d bytes: %w", env.Kind, ErrCorrupt, got, length, io.ErrUnexpectedEOF)
	}
	if sha256.Sum256(payload.Bytes()) != sum {
		return env, fmt.Errorf("relunet: %s state: %w: checksum mismatch", env.Kind, ErrCorrupt)
	}
	env.Payload = payload.Bytes()
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

// Load reads a state written by any solver's Save, no further than the
// state's end (what follows in r, which a stream may hold, is left unread;
// LoadFile, which knows the file's size, refuses bytes after the state),
// and returns the solver, which continues exactly where the saved one
// stopped, its work stopped by ctx. X and Y must be the data it was trained on. The returned Solver is
// an *Analytic, a *Descent, an *LBFGS or an *LM. The options that shape the
// results are restored as they were resolved; MemoryLimit and Workers are
// resolved again on the loading machine, and the solver's memory is checked
// against them as its constructor checks it.
func Load(ctx context.Context, r io.Reader, X, Y mat.Matrix) (Solver, error) {
	return load(ctx, r, X, Y, -1)
}

// load is Load with the payload's length known to be max (or unknown, -1).
func load(ctx context.Context, r io.Reader, X, Y mat.Matrix, max int64) (Solver, error) {
	if err := checkContext(ctx, "Load"); err != nil {
		return nil, err
	}
	if isNilValue(r) {
		return nil, errors.New("relunet: Load: nil reader")
	}
	var used size.Bytes
	pr, err := checkedProblem(ctx, X, Y, newMemory(0, ""), &used)
	if err != nil {
		return nil, fmt.Errorf("relunet: Load: %w", err)
	}
	env, err := readEnvelope(r, pr, max)
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
		s, err = loadAnalytic(ctx, env, pr, used.Total())
	case MethodSGD, MethodAdam:
		s, err = loadDescent(ctx, env, pr, m, used.Total())
	case MethodLBFGS:
		s, err = loadLBFGS(ctx, env, pr, used.Total())
	case MethodLM:
		s, err = loadLM(ctx, env, pr, used.Total())
	}
	if err != nil {
		return nil, fmt.Errorf("relunet: loading %v state: %w", m, err)
	}
	return s, nil
}

// LoadFile loads a solver saved with SaveFile (see Load). The payload's
// length that the file's header declares must be what the file holds.
func LoadFile(ctx context.Context, path string, X, Y mat.Matrix) (Solver, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !info.Mode().IsRegular() {
		return nil, fmt.Errorf("relunet: %s is not a file (%v)", path, info.Mode().Type())
	}
	// The header's length, read ahead, tells where the payload starts.
	var head [len(stateMagic) + 5]byte
	payload := int64(-1)
	if n, _ := io.ReadFull(f, head[:]); n == len(head) {
		payload = max(info.Size()-int64(headerFixed)-int64(head[len(head)-1]), 0)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	s, err := load(ctx, f, X, Y, payload)
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

// isNilValue reports whether v is nil or a nil pointer in an interface.
func isNilValue(v any) bool {
	if v == nil {
		return true
	}
	rv := reflect.ValueOf(v)
	return rv.Kind() == reflect.Pointer && rv.IsNil()
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
