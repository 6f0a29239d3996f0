package relunet_test

import (
	"fmt"
	"log"

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
	opts := relunet.DefaultAnalyticOptions(8)
	opts.Safeguard = true // never accept a step that raises the training loss
	a, err := relunet.NewAnalytic(ds.X, ds.Y, opts)
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
	_, best, _ := a.Best()
	fmt.Println("stopped within 30 alternations:", a.Status() != relunet.NotTerminated && a.Iter() <= 30)
	fmt.Println("the loss rose:", rose)
	fmt.Println("the final network is the best:", a.Loss() == best)
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
	a, err := relunet.NewAnalytic(ds.X, ds.Y, relunet.DefaultAnalyticOptions(4))
	if err != nil {
		log.Fatal(err)
	}
	if _, err := a.HiddenStep(); err != nil {
		log.Fatal(err)
	}
	_, hidden := a.SubGradients()
	fmt.Println("hidden step:", a.Last().Steps, "at iteration", a.Last().Iter, "gradient below 1e-9:", hidden < 1e-9)
	a.UpdatePattern()
	if _, err := a.OutputStep(); err != nil {
		log.Fatal(err)
	}
	output, _ := a.SubGradients()
	fmt.Println("output step:", a.Last().Steps, "at iteration", a.Last().Iter, "gradient below 1e-9:", output < 1e-9)
	// Output:
	// hidden step: hidden at iteration 1 gradient below 1e-9: true
	// output step: output at iteration 1 gradient below 1e-9: true
}

// Any method is driven the same way through the Solver interface.
func ExampleSolver() {
	ds := data.Sin()
	for _, s := range []relunet.Solver{
		must(relunet.NewAnalytic(ds.X, ds.Y, relunet.AnalyticOptions{Hidden: 8, Ridge: 1e-3, Iterations: 5})),
		must(relunet.NewDescent(ds.X, ds.Y, relunet.DescentOptions{Method: relunet.MethodAdam, Hidden: 8, LR: 0.01,
			Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, Epochs: 5})),
		must(relunet.NewLBFGS(ds.X, ds.Y, relunet.LBFGSOptions{Hidden: 8, Iterations: 5})),
	} {
		for s.Step() {
		}
		fmt.Printf("%-8v %d steps, %d records, stopped: %v\n", s.Method(), s.Iter(), len(s.History()), s.Status())
	}
	// Output:
	// analytic 5 steps, 6 records, stopped: iteration limit
	// adam     5 steps, 6 records, stopped: iteration limit
	// lbfgs    5 steps, 6 records, stopped: iteration limit
}

func must[S relunet.Solver](s S, err error) relunet.Solver {
	if err != nil {
		log.Fatal(err)
	}
	return s
}
