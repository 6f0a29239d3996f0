package relunet_test

import (
	"fmt"
	"log"
	"strings"

	"github.com/relunet/relunet/relunet"
)

// The analytic solver reads like bufio.Scanner: construct, Step, check Err.
func ExampleAnalytic() {
	ds := relunet.Sin()
	sp, err := relunet.Prepare(ds, relunet.DefaultPrepOptions())
	if err != nil {
		log.Fatal(err)
	}
	opts := relunet.DefaultAnalyticOptions(16)
	opts.Safeguard = true // keep the training loss from rising
	a, err := relunet.NewAnalytic(sp.XTrain, sp.YTrain, opts)
	if err != nil {
		log.Fatal(err)
	}
	for a.Step() {
	}
	if err := a.Err(); err != nil {
		log.Fatal(err)
	}
	h := a.History()
	fmt.Printf("iterations: %d\n", a.Iter())
	fmt.Printf("training MSE: %.4f → %.4f\n", h[0].Loss, a.Loss())
	m, err := sp.Evaluate(a.Net())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("test R²: %.2f\n", m.TestR2)
	// Output:
	// iterations: 30
	// training MSE: 0.1504 → 0.0867
	// test R²: 0.78
}

// Each sub-step can be called on its own, as a notebook does to show the
// surrogate and the true loss apart.
func ExampleAnalytic_HiddenStep() {
	ds, _, err := relunet.Teacher(500, 2, 4, 0, 1)
	if err != nil {
		log.Fatal(err)
	}
	a, err := relunet.NewAnalytic(ds.X, ds.Y, relunet.DefaultAnalyticOptions(4))
	if err != nil {
		log.Fatal(err)
	}
	before := a.Loss()
	hr, err := a.HiddenStep()
	if err != nil {
		log.Fatal(err)
	}
	flips := a.UpdatePattern()
	or, err := a.OutputStep()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("solve: %s, surrogate below start: %v, flips > 0: %v, loss below start: %v\n",
		hr.Solve, hr.Surrogate < before, flips > 0, or.Loss < before)
	// Output:
	// solve: cholesky, surrogate below start: true, flips > 0: true, loss below start: true
}

// A bad field is reported with its file, line and column.
func ExampleReadCSV() {
	in := strings.NewReader("x,y\n1,2\n3,4\n5,six\n")
	_, err := relunet.ReadCSV(in, "data.csv", relunet.HeaderAuto)
	fmt.Println(err)
	tab, _ := relunet.ReadCSV(strings.NewReader("x,y\n1,2\n3,4\n"), "data.csv", relunet.HeaderAuto)
	r, c := tab.Data.Dims()
	fmt.Println(tab.Names, r, c)
	// Output:
	// data.csv:4: column 2: not a number: "six"
	// [x y] 2 2
}
