package relunet

import (
	"context"
	"errors"
	"reflect"
	"sync/atomic"
	"testing"
	"time"
)

// A context that ends in the middle of a step stops it within a fraction
// of a second: Step returns false with Canceled (and the context's error)
// or RuntimeLimit (and no error), and the step changed nothing: no record,
// the network of before. Every later Step and sub-step does nothing.
func TestContextStopsAStepUnderWay(t *testing.T) {
	X, Y := randomProblem(40, 20000, 40, 2)
	makers := map[string]func(context.Context) (Solver, error){
		"analytic": func(ctx context.Context) (Solver, error) {
			return NewAnalytic(ctx, X, Y, AnalyticOptions{Hidden: 60, Iterations: -1, Tol: -1, Patience: -1})
		},
		// The conjugate gradients' loop: no CGTol, so that each step runs
		// its 200 iterations, each a product over all rows.
		"analytic-cg": func(ctx context.Context) (Solver, error) {
			return NewAnalytic(ctx, X, Y, AnalyticOptions{Hidden: 60, Iterations: -1, Tol: -1, Patience: -1,
				HiddenSolve: SolveCG, CGTol: -1, CGMaxIter: 200})
		},
		"adam": func(ctx context.Context) (Solver, error) {
			return NewDescent(ctx, X, Y, DescentOptions{Method: MethodAdam, Hidden: 60, Batch: 64, Epochs: -1})
		},
		"lbfgs": func(ctx context.Context) (Solver, error) {
			return NewLBFGS(ctx, X, Y, LBFGSOptions{Hidden: 60, Iterations: -1, GradTol: -1})
		},
		"lm": func(ctx context.Context) (Solver, error) {
			return NewLM(ctx, X, Y, LMOptions{Hidden: 12, Iterations: -1, GradTol: -1})
		},
	}
	for name, newSolver := range makers {
		for _, deadline := range []bool{false, true} {
			ctx := &endingContext{Context: bg, done: make(chan struct{})}
			s, err := newSolver(ctx)
			if err != nil {
				t.Fatal(err)
			}
			// A step takes long enough here for the end to fall within it.
			// L-BFGS's first step searches its length from scratch and takes
			// several of the later ones, so its second is timed.
			if name == "lbfgs" {
				mustStep(t, s, 1)
			}
			start := time.Now()
			mustStep(t, s, 1)
			stepTime := time.Since(start)
			before, records := s.Net(), len(s.History())
			var ended time.Time
			stop := time.AfterFunc(stepTime/4, func() {
				ended = time.Now()
				if deadline {
					ctx.end(context.DeadlineExceeded) // a budget's end
					return
				}
				ctx.end(context.Canceled) // an interrupt
			})
			for s.Step() {
			}
			took := time.Since(ended)
			stop.Stop()
			want := Canceled
			if deadline {
				want = RuntimeLimit
			}
			if s.Status() != want || (want == Canceled) != errors.Is(s.Err(), context.Canceled) {
				t.Errorf("%s: status %v, error %v; want %v", name, s.Status(), s.Err(), want)
			}
			if len(s.History()) > records+1 || (len(s.History()) == records && !sameNet(s.Net(), before)) {
				t.Errorf("%s: %d records after %d; the step under way changed the network", name, len(s.History()), records)
			}
			if got := s.Last().Loss; got != s.History()[len(s.History())-1].Loss {
				t.Errorf("%s: the last record is not the history's", name)
			}
			t.Logf("%s: a step takes %v; stopped %v after the context ended", name, stepTime, took)
			if took > time.Second && took > stepTime/2 {
				t.Errorf("%s: stopped %v after the context ended, a step takes %v", name, took, stepTime)
			}
			if s.Step() {
				t.Errorf("%s: Step went on after the context ended", name)
			}
			if a, ok := s.(*Analytic); ok {
				if _, err := a.HiddenStep(); err == nil {
					t.Errorf("a sub-step ran after the context ended")
				}
			}
		}
	}
}

// endingContext is a context that ends when the test says, with the error
// it says: context.DeadlineExceeded as a deadline's, context.Canceled as a
// cancel's.
type endingContext struct {
	context.Context
	done chan struct{}
	err  atomic.Pointer[error]
}

func (c *endingContext) Done() <-chan struct{} { return c.done }

func (c *endingContext) Err() error {
	if e := c.err.Load(); e != nil {
		return *e
	}
	return nil
}

func (c *endingContext) end(err error) {
	c.err.Store(&err)
	close(c.done)
}

// A context that ends while a constructor computes the first network (the
// analytic method's first output step, LM's first JᵀJ) gives an error, a
// deadline too: a constructor returns a solver or an error, never neither.
func TestContextEndsInAConstructor(t *testing.T) {
	X, Y := randomProblem(41, 20000, 40, 2)
	makers := map[string]func(context.Context) (Solver, error){
		"analytic": func(ctx context.Context) (Solver, error) {
			return NewAnalytic(ctx, X, Y, AnalyticOptions{Hidden: 60})
		},
		"lm": func(ctx context.Context) (Solver, error) { return NewLM(ctx, X, Y, LMOptions{Hidden: 12}) },
	}
	for name, newSolver := range makers {
		for _, after := range []time.Duration{0, time.Millisecond, 5 * time.Millisecond, 20 * time.Millisecond} {
			for _, cause := range []error{context.DeadlineExceeded, context.Canceled} {
				ctx := &endingContext{Context: bg, done: make(chan struct{})}
				stop := time.AfterFunc(after, func() { ctx.end(cause) })
				s, err := newSolver(ctx)
				stop.Stop()
				if none := s == nil || reflect.ValueOf(s).IsNil(); (err == nil) == none {
					t.Fatalf("%s, ended after %v by %v: solver %v, error %v", name, after, cause, s != nil, err)
				}
				if err != nil && !errors.Is(err, cause) {
					t.Errorf("%s: error %v does not say %v", name, err, cause)
				}
			}
		}
	}
}
