package experiment_test

import (
	"fmt"

	"github.com/relunet/relunet/relunet/experiment"
)

// Two methods' training MSE on the same three splits: the paired t-test
// looks at the differences seed by seed.
func ExampleNewPairedStat() {
	analytic := []float64{3.51, 3.49, 3.55}
	lbfgs := []float64{3.70, 3.66, 3.75}
	s := experiment.NewPairedStat(analytic, lbfgs)
	fmt.Printf("analytic lower on %d of %d seeds, mean difference %.3f\n", s.ALower, s.N, s.Diff)
	fmt.Println(s.Verdict("analytic", "lbfgs"))
	// Output:
	// analytic lower on 3 of 3 seeds, mean difference -0.187
	// analytic lower (p = 0.0022)
}

// A label names a method and its options; ParseConfig reads it.
func ExampleParseConfig() {
	c, err := experiment.ParseConfig(experiment.SafeguardLabel, 32)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(c.Method, c.Safeguard, c.DataInit, c.Restarts)
	c, _ = experiment.ParseConfig(experiment.BudgetLabel, 32)
	fmt.Println(c.Label(), c.Auto)
	_, err = experiment.ParseConfig("sgd+restarts", 32)
	fmt.Println(err)
	// Output:
	// analytic true true -1
	// analytic+auto true
	// experiment: "sgd+restarts": sgd takes no option "restarts" (only validate)
}
