// Command example trains the paper's network on abalone with the analytic
// method: the example of the README, which CI builds and runs.
package main

import (
	"context"
	"fmt"
	"log"

	"github.com/relunet/relunet/relunet"
	"github.com/relunet/relunet/relunet/data"
	"github.com/relunet/relunet/relunet/experiment"
)

func main() {
	ds, err := data.Load("abalone") // fetched and checked on first use
	check(err)
	sp, err := experiment.Prepare(ds, experiment.Reference()) // standardised X, centred Y, 80/20 split
	check(err)
	opts := relunet.AnalyticOptions{Hidden: 32, Safeguard: true} // the reference's settings otherwise
	a, err := relunet.NewAnalytic(context.Background(), sp.XTrain, sp.YTrain, opts)
	check(err)
	for a.Step() { // hidden step, pattern update, output step
		r := a.Last()
		fmt.Printf("alternation %2d: training MSE %.4f, %d pattern flips\n", r.Iter, r.Loss, r.Analytic.Flips)
	}
	check(a.Err())
	m, err := sp.Evaluate(a.Net())
	check(err)
	fmt.Printf("%v after %d alternations: test MSE %.3f, R² %.3f\n", a.Status(), a.Last().Iter, m.TestMSE, m.TestR2)
}

func check(err error) {
	if err != nil {
		log.Fatal(err)
	}
}
