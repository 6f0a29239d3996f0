package relunet

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// Solver is what every training method offers, so that a notebook or a
// command drives any of them the same way:
//
//	for s.Step() {
//		r := s.Last()
//		fmt.Println(r.Iter, r.Loss)
//	}
//	if err := s.Err(); err != nil { ... }
//	fmt.Println(s.Status()) // why Step returned false
//
// Analytic, Descent (SGD and Adam), LBFGS and LM implement it. A solver is
// not safe for concurrent use: one goroutine steps it at a time.
type Solver interface {
	// Method returns the training method.
	Method() Method
	// Step performs one iteration (an alternation, an epoch, a quasi-Newton
	// or Levenberg–Marquardt iteration) and reports whether it did. When it
	// returns false, Status says why, Err returns the error of a failure or
	// a cancellation, and every later call returns false too. A step that
	// does not complete changes nothing and adds no record.
	Step() bool
	// Err returns the error that stopped Step, or nil.
	Err() error
	// Status returns NotTerminated while Step can go on, and afterwards why
	// it stopped.
	Status() Status
	// Net returns a copy of the current network.
	Net() *Net
	// Last returns the last record, in constant time: Last().Loss is the
	// training MSE of the current network and Last().Iter its iteration.
	Last() Record
	// History returns a copy of all records, the initial model's first.
	History() []Record
	// Best returns the record with the lowest training MSE, with a copy of
	// its network.
	Best() Iterate
	// Save writes the solver's whole state to w; Load continues it bit for
	// bit.
	Save(w io.Writer) error
}

// Method is a training method.
type Method int

const (
	// MethodAnalytic alternates the exact hidden and output steps of the
	// paper (Analytic).
	MethodAnalytic Method = iota
	// MethodSGD is mini-batch stochastic gradient descent with momentum and
	// a step schedule (Descent).
	MethodSGD
	// MethodAdam is Adam on mini-batches (Descent).
	MethodAdam
	// MethodLBFGS is full-batch L-BFGS with a line search (LBFGS).
	MethodLBFGS
	// MethodLM is Levenberg–Marquardt on all weights (LM).
	MethodLM
)

var methodNames = [...]string{"analytic", "sgd", "adam", "lbfgs", "lm"}

// Methods returns every method, in the order of the paper's comparisons
// followed by Levenberg–Marquardt.
func Methods() []Method {
	return []Method{MethodAnalytic, MethodSGD, MethodAdam, MethodLBFGS, MethodLM}
}

func (m Method) String() string {
	if m >= 0 && int(m) < len(methodNames) {
		return methodNames[m]
	}
	return fmt.Sprintf("Method(%d)", int(m))
}

// ParseMethod returns the method of the given name (as String returns it).
func ParseMethod(name string) (Method, error) {
	for i, n := range methodNames {
		if n == name {
			return Method(i), nil
		}
	}
	return 0, fmt.Errorf("relunet: unknown method %q (have %s)", name, strings.Join(methodNames[:], ", "))
}

// Status says why Step returned false.
type Status int

const (
	// NotTerminated: Step can go on.
	NotTerminated Status = iota
	// IterationLimit: the options' number of iterations or epochs is done.
	IterationLimit
	// Converged: the analytic alternation reached a fixed point (no pattern
	// flips and a relative loss change within Tol), or L-BFGS or LM a
	// gradient within GradTol.
	Converged
	// NoProgress: another step would change nothing, or nothing more is
	// expected of it: the safeguard kept the previous iterate, Patience
	// alternations brought no progress, or the line search or the damping
	// found no lower loss.
	NoProgress
	// Failure: a step failed; Err tells why.
	Failure
	// RuntimeLimit: the deadline of the solver's context passed (a budget
	// of wall time); a step under way when it passed was abandoned.
	RuntimeLimit
	// Canceled: the solver's context was cancelled (an interrupt); a step
	// under way was abandoned, and Err returns the context's error.
	Canceled
)

var statusNames = [...]string{"not terminated", "iteration limit", "converged", "no progress", "failure", "runtime limit", "canceled"}

func (s Status) String() string {
	if s >= 0 && int(s) < len(statusNames) {
		return statusNames[s]
	}
	return fmt.Sprintf("Status(%d)", int(s))
}

// ParseStatus returns the status of the given name (as String returns it).
func ParseStatus(name string) (Status, error) {
	for i, n := range statusNames {
		if n == name {
			return Status(i), nil
		}
	}
	return 0, fmt.Errorf("relunet: unknown status %q", name)
}

// final reports whether a run that stopped with s stays stopped: one that
// failed or whose context ended, unlike one that stopped by its own rules.
func (s Status) final() bool { return s == Failure || s == RuntimeLimit || s == Canceled }

// Steps says which sub-steps of an alternation a record covers.
type Steps uint8

const (
	StepHidden  Steps = 1 << iota // the hidden step: W solved, β and pattern frozen
	StepPattern                   // the pattern update: G recomputed from W
	StepOutput                    // the output step: [β₀; β] refit

	// Alternation is all three, in order: what Step does.
	Alternation = StepHidden | StepPattern | StepOutput
)

func (s Steps) String() string {
	if s == 0 {
		return "none"
	}
	var parts []string
	for _, p := range []struct {
		s    Steps
		name string
	}{{StepHidden, "hidden"}, {StepPattern, "pattern"}, {StepOutput, "output"}} {
		if s&p.s != 0 {
			parts = append(parts, p.name)
		}
	}
	return strings.Join(parts, "+")
}

// Record describes a solver after one Step, or, for Analytic, after one
// sub-step called on its own. Record 0 describes the initial model. A record
// is never changed once written.
//
// The fields every method has come first. What only one method reports is
// in the detail of that method, which is nil in the records of the others;
// within a detail, a part that a record does not cover (the hidden step of
// an output step's record, say) is nil too. Nothing else stands for
// "absent".
type Record struct {
	// Iter is the alternation, epoch or iteration, 0 for the initial model.
	// The records of the sub-steps of one alternation called on their own
	// share an Iter (see Analytic).
	Iter    int
	Loss    float64 // training MSE of the network after the record's work
	Seconds float64 // wall time of the record's work
	Elapsed float64 // wall time of all records so far, this one included

	Analytic *AnalyticRecord // MethodAnalytic
	Descent  *DescentRecord  // MethodSGD and MethodAdam
	LBFGS    *LBFGSRecord    // MethodLBFGS
	LM       *LMRecord       // MethodLM
}

// AnalyticRecord is what an analytic record adds.
type AnalyticRecord struct {
	Steps  Steps         // the sub-steps covered: Alternation for Step, one for a sub-step
	Hidden *HiddenResult // the hidden step, when Steps has StepHidden
	Output *OutputResult // the last output step, when Steps has StepOutput
	// Flips is the number of pattern entries changed by the record's work
	// (for a safeguarded alternation, by the iterate it accepted).
	Flips int
	// The safeguard: it looked one alternation further and kept that
	// (Lookahead), skipped the look-ahead because the last ones had failed
	// (LookaheadSkipped), tried Backtracks halvings, and kept the previous
	// iterate (Rejected).
	Lookahead        bool
	LookaheadSkipped bool
	Backtracks       int
	Rejected         bool
}

// DescentRecord is what an SGD or Adam epoch adds.
type DescentRecord struct {
	LR float64 // learning rate of the epoch
}

// LBFGSRecord is what an L-BFGS iteration adds.
type LBFGSRecord struct {
	Evaluations int     // loss and gradient evaluations so far
	GradNorm    float64 // infinity norm of the gradient
}

// LMRecord is what a Levenberg–Marquardt iteration adds.
type LMRecord struct {
	GradNorm float64 // infinity norm of the gradient
	Damping  float64 // μ of the accepted step (for the initial model, the first μ)
	Tries    int     // trial steps, the accepted one included
}

// Iterate is a record of a run with its network, as Best returns it.
type Iterate struct {
	Iter int
	Loss float64
	Net  *Net
}

// history is the record keeping every solver shares: the records, the best
// network seen with its record, why the run stopped, and the context that
// can stop it.
type history struct {
	method  Method
	ctx     context.Context
	records []Record
	best    *Net
	bestAt  int // index into records
	status  Status
	err     error
}

// add appends r, the record of net, keeping a copy of net when it is the
// best so far.
func (h *history) add(r Record, net *Net) {
	if n := len(h.records); n > 0 {
		r.Elapsed = h.records[n-1].Elapsed + r.Seconds
	} else {
		r.Elapsed = r.Seconds
	}
	h.records = append(h.records, r)
	if last := len(h.records) - 1; h.best == nil || r.Loss < h.records[h.bestAt].Loss {
		h.best, h.bestAt = net.Clone(), last
	}
}

// since returns the seconds since start, for a record.
func since(start time.Time) float64 { return time.Since(start).Seconds() }

// stop ends the run with the status, and err for a failure or a
// cancellation; it returns false, for Step to return.
func (h *history) stop(s Status, err error) bool {
	h.status, h.err = s, err
	return false
}

// fail ends the run after a step that did not complete with err: a failure,
// or the end of the context when it is done.
func (h *history) fail(err error) bool {
	if s, cerr := h.ended(); s != NotTerminated {
		return h.stop(s, cerr)
	}
	return h.stop(Failure, fmt.Errorf("relunet: %v: %w", h.method, err))
}

// ended returns RuntimeLimit once the context's deadline has passed,
// Canceled with its error once it was cancelled, and NotTerminated before.
func (h *history) ended() (Status, error) {
	err := h.ctx.Err()
	switch {
	case err == nil:
		return NotTerminated, nil
	case errors.Is(err, context.DeadlineExceeded):
		return RuntimeLimit, nil
	}
	if cause := context.Cause(h.ctx); cause != err {
		return Canceled, fmt.Errorf("relunet: %v: %w (%w)", h.method, err, cause)
	}
	return Canceled, fmt.Errorf("relunet: %v: %w", h.method, err)
}

// endedError returns the error of a constructor whose context ended
// during its first computation: unlike a step's, it is an error even for a
// deadline, since the constructor returns no solver.
func (h *history) endedError() error {
	if _, err := h.ended(); err != nil {
		return err
	}
	return fmt.Errorf("relunet: %v: %w", h.method, context.Cause(h.ctx))
}

// begin reports whether a step may start: the run has not stopped, and its
// context has not ended (which stops it).
func (h *history) begin() bool {
	if h.status != NotTerminated {
		return false
	}
	if s, err := h.ended(); s != NotTerminated {
		return h.stop(s, err)
	}
	return true
}

// Err returns the error that stopped Step, or nil.
func (h *history) Err() error { return h.err }

// Status returns why Step returned false, or NotTerminated.
func (h *history) Status() Status { return h.status }

// Last returns the last record.
func (h *history) Last() Record { return h.records[len(h.records)-1] }

// History returns a copy of all records.
func (h *history) History() []Record { return append([]Record(nil), h.records...) }

// Best returns the record with the lowest training MSE and a copy of its
// network.
func (h *history) Best() Iterate {
	r := h.records[h.bestAt]
	return Iterate{Iter: r.Iter, Loss: r.Loss, Net: h.best.Clone()}
}

// checkContext returns ctx, or an error for a nil one.
func checkContext(ctx context.Context, what string) error {
	if ctx == nil {
		return fmt.Errorf("relunet: %s: nil context (use context.Background())", what)
	}
	return nil
}

// SaveFile saves the solver's state to the named file atomically: a reader
// sees the old file or the new one, never a part, and a failure leaves the
// old one as it was.
func SaveFile(path string, s Solver) error {
	if isNilValue(s) {
		return errors.New("relunet: SaveFile: nil solver")
	}
	if err := saveFile(path, s.Save); err != nil {
		return fmt.Errorf("relunet: SaveFile: %w", err)
	}
	return nil
}
