package relunet_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"math"
	"time"

	"github.com/relunet/relunet/relunet"
	"github.com/relunet/relunet/relunet/data"
)

// The analytic solver reads like bufio.Scanner: construct, Step, check Err
// and Status.
func ExampleAnalytic() {
	ds, _, err := data.Teacher(400, 2, 4, 0, 1)
	if err != nil {
		log.Fatal(err)
	}
	a, err := relunet.NewAnalytic(context.Background(), ds.X, ds.Y, relunet.AnalyticOptions{
		Hidden:    8,
		Safeguard: true, // never accept a step that raises the training loss
	})
	if err != nil {
		log.Fatal(err)
	}
	rose := false
	for a.Step() {
		h := a.History()
		rose = rose || h[len(h)-1].Loss > h[len(h)-2].Loss
	}
	if err := a.Err(); err != nil {
		log.Fatal(err)
	}
	fmt.Println("stopped within 30 alternations:", a.Status() != relunet.NotTerminated && a.Last().Iter <= 30)
	fmt.Println("the loss rose:", rose)
	fmt.Println("the final network is the best:", a.Last().Loss == a.Best().Loss)
	// Output:
	// stopped within 30 alternations: true
	// the loss rose: false
	// the final network is the best: true
}

// Each sub-step can be called on its own, as a notebook does to show the
// surrogate and the true loss apart; each lands on a critical point of its
// own sub-problem.
func ExampleAnalytic_HiddenStep() {
	ds, _, err := data.Teacher(500, 2, 4, 0, 1)
	if err != nil {
		log.Fatal(err)
	}
	a, err := relunet.NewAnalytic(context.Background(), ds.X, ds.Y, relunet.AnalyticOptions{Hidden: 4})
	if err != nil {
		log.Fatal(err)
	}
	if _, err := a.HiddenStep(); err != nil {
		log.Fatal(err)
	}
	_, hidden := a.SubGradients()
	r := a.Last()
	fmt.Println("hidden step:", r.Analytic.Steps, "at iteration", r.Iter, "gradient below 1e-9:", hidden < 1e-9)
	if _, err := a.UpdatePattern(); err != nil {
		log.Fatal(err)
	}
	if _, err := a.OutputStep(); err != nil {
		log.Fatal(err)
	}
	output, _ := a.SubGradients()
	r = a.Last()
	fmt.Println("output step:", r.Analytic.Steps, "at iteration", r.Iter, "gradient below 1e-9:", output < 1e-9)
	// Output:
	// hidden step: hidden at iteration 1 gradient below 1e-9: true
	// output step: output at iteration 1 gradient below 1e-9: true
}

// Any method is driven the same way through the Solver interface, each
// with its reference settings but for the number of steps.
func ExampleSolver() {
	ds := data.Sin()
	ctx := context.Background()
	for _, s := range []relunet.Solver{
		must(relunet.NewAnalytic(ctx, ds.X, ds.Y, relunet.AnalyticOptions{Hidden: 8, Iterations: 5})),
		must(relunet.NewDescent(ctx, ds.X, ds.Y, relunet.DescentOptions{Method: relunet.MethodAdam, Hidden: 8, LR: 0.01, Epochs: 5})),
		must(relunet.NewLBFGS(ctx, ds.X, ds.Y, relunet.LBFGSOptions{Hidden: 8, Iterations: 5})),
		must(relunet.NewLM(ctx, ds.X, ds.Y, relunet.LMOptions{Hidden: 8, Iterations: 5})),
	} {
		for s.Step() {
		}
		fmt.Printf("%-8v %d steps, %d records, stopped: %v\n", s.Method(), s.Last().Iter, len(s.History()), s.Status())
	}
	// Output:
	// analytic 5 steps, 6 records, stopped: iteration limit
	// adam     5 steps, 6 records, stopped: iteration limit
	// lbfgs    5 steps, 6 records, stopped: iteration limit
	// lm       5 steps, 6 records, stopped: iteration limit
}

// A context bounds a run's wall time: once its deadline passes, the step
// under way is abandoned and Step returns false with RuntimeLimit; the
// network is the last complete iterate.
func ExampleSolver_context() {
	ds := data.Sin()
	ctx, cancel := context.WithTimeout(context.Background(), 250*time.Millisecond)
	defer cancel()
	a, err := relunet.NewAnalytic(ctx, ds.X, ds.Y, relunet.AnalyticOptions{Hidden: 8, Iterations: -1, Tol: -1, Patience: -1})
	if err != nil {
		log.Fatal(err)
	}
	for a.Step() {
	}
	fmt.Println(a.Status(), a.Err())
	// Output:
	// runtime limit <nil>
}

// Work that does not fit in the memory limit is refused before anything
// large is allocated, with an error that errors.As reads.
func ExampleMemoryError() {
	ds := data.Sin()
	_, err := relunet.NewAnalytic(context.Background(), ds.X, ds.Y, relunet.AnalyticOptions{Hidden: 1 << 20, MemoryLimit: 1 << 30})
	var me *relunet.MemoryError
	fmt.Println(errors.Is(err, relunet.ErrMemory), errors.As(err, &me) && me.Need > me.Left)
	// Output:
	// true true
}

func must[S relunet.Solver](s S, err error) relunet.Solver {
	if err != nil {
		log.Fatal(err)
	}
	return s
}

// Starts of one run that step one at a time can share a Workspace: each
// borrows the hidden step's system for a step, so that the run holds one
// instead of one per start, and the results are those of starts that keep
// their own.
func ExampleWorkspace() {
	ds, _, err := data.Teacher(400, 2, 4, 0, 1)
	if err != nil {
		log.Fatal(err)
	}
	run := func(ws *relunet.Workspace) (best float64) {
		best = math.Inf(1)
		for seed := range uint64(3) {
			a, err := relunet.NewAnalytic(context.Background(), ds.X, ds.Y, relunet.AnalyticOptions{
				Hidden: 8, Seed: seed, Damping: 0.01, Workspace: ws})
			if err != nil {
				log.Fatal(err)
			}
			for a.Step() {
			}
			if a.Err() != nil {
				log.Fatal(a.Err())
			}
			best = math.Min(best, a.Best().Loss)
		}
		return best
	}
	fmt.Println("the same best loss:", run(new(relunet.Workspace)) == run(nil))
	// Output:
	// the same best loss: true
}
