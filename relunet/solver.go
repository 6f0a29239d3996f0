package relunet

import (
	"fmt"
	"io"
	"strings"
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
// Analytic, Descent (SGD and Adam), LBFGS and LM implement it.
type Solver interface {
	// Method returns the training method.
	Method() Method
	// Step performs one iteration (an alternation, an epoch, a quasi-Newton
	// iteration) and reports whether it did; when it returns false,
	// Status says why and Err returns the error of a failure.
	Step() bool
	// Err returns the error that stopped Step, or nil.
	Err() error
	// Status returns NotTerminated while Step can go on, and afterwards why
	// it stopped.
	Status() Status
	// Iter returns the number of the last record: 0 for the initial model.
	Iter() int
	// Loss returns the training MSE of the current network.
	Loss() float64
	// Net returns a copy of the current network.
	Net() *Net
	// Last returns the last record, in constant time.
	Last() Record
	// History returns a copy of all records, the initial model's first.
	History() []Record
	// Best returns a copy of the network with the lowest training MSE of
	// all records, that MSE and the record's Iter.
	Best() (*Net, float64, int)
	// Save writes the solver's whole state to w; Load continues it bit for
	// bit.
	Save(w io.Writer) error
	// SaveFile saves the state to the named file atomically.
	SaveFile(path string) error
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
	// flips and a relative loss change within tolerance), or L-BFGS a
	// gradient within tolerance.
	Converged
	// NoProgress: another step would change nothing: the safeguard kept the
	// previous iterate, or the line search found no lower loss.
	NoProgress
	// Failure: a step failed; Err tells why.
	Failure
	// RuntimeLimit: a driver that bounds the wall time (such as
	// experiment.Config.Budget) stopped the run; no solver's Step returns
	// false with it.
	RuntimeLimit
)

var statusNames = [...]string{"not terminated", "iteration limit", "converged", "no progress", "failure", "runtime limit"}

func (s Status) String() string {
	if s >= 0 && int(s) < len(statusNames) {
		return statusNames[s]
	}
	return fmt.Sprintf("Status(%d)", int(s))
}

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
// is never changed once written. Fields that a method does not use are zero.
type Record struct {
	// Iter is the alternation, epoch or iteration, 0 for the initial model.
	// The records of the sub-steps of one alternation called on their own
	// share an Iter: a sub-step continues the alternation when it follows
	// the sub-steps before it in the order hidden, pattern, output.
	Iter    int
	Loss    float64 // training MSE of the network after the record's work
	Seconds float64 // wall time of the record's work
	Elapsed float64 // wall time of all records so far, this one included

	// Analytic.
	Steps     Steps        // the sub-steps the record covers: Alternation for Step, one for a sub-step
	Hidden    HiddenResult // the hidden step, when Steps has StepHidden
	Output    OutputResult // the last output step, when Steps has StepOutput
	Flips     int          // pattern entries changed by the accepted iterate
	Lookahead bool         // the safeguard took a second alternation from the rejected iterate
	Backtrack int          // safeguard halvings tried
	Rejected  bool         // the safeguard kept the previous iterate

	// Descent.
	LR float64 // learning rate of the epoch

	// LBFGS.
	Evaluations int     // loss and gradient evaluations so far
	GradNorm    float64 // infinity norm of the gradient
}

// history is the record keeping every solver shares: the records, and the
// best network seen with its record.
type history struct {
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

// stop ends the run with the status, and err for a failure.
func (h *history) stop(s Status, err error) bool {
	h.status, h.err = s, err
	return false
}

// Err returns the error that stopped Step, or nil.
func (h *history) Err() error { return h.err }

// Status returns why Step returned false, or NotTerminated.
func (h *history) Status() Status { return h.status }

// Iter returns the Iter of the last record.
func (h *history) Iter() int { return h.records[len(h.records)-1].Iter }

// Loss returns the training MSE of the current network.
func (h *history) Loss() float64 { return h.records[len(h.records)-1].Loss }

// Last returns the last record.
func (h *history) Last() Record { return h.records[len(h.records)-1] }

// History returns a copy of all records.
func (h *history) History() []Record { return append([]Record(nil), h.records...) }

// Best returns a copy of the best network, its MSE and its record's Iter.
func (h *history) Best() (*Net, float64, int) {
	r := h.records[h.bestAt]
	return h.best.Clone(), r.Loss, r.Iter
}
