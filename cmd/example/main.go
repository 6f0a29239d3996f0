// Command example trains a network analytically on the abalone data set and
// prints its progress and metrics: the library example that README.md quotes.
package main

import (
	"fmt"
	"log"

	"github.com/relunet/relunet/relunet"
	"github.com/relunet/relunet/relunet/data"
	"github.com/relunet/relunet/relunet/experiment"
)

func main() {
	ds, err := data.Load("abalone") // from $RELUNET_DATA or the cache; fetched and checked on first use
	if err != nil {
		log.Fatal(err)
	}
	sp, err := experiment.Prepare(ds, experiment.Reference()) // standardised X, centred Y, seeded 80/20 split
	if err != nil {
		log.Fatal(err)
	}
	opts := relunet.DefaultAnalyticOptions(32) // W ~ N(0, 1), λ = 0.001, ReLU, 30 alternations
	opts.Safeguard = true                      // never accept an alternation that raises the training loss
	a, err := relunet.NewAnalytic(sp.XTrain, sp.YTrain, opts)
	if err != nil {
		log.Fatal(err)
	}
	for a.Step() { // hidden step, pattern update, output step
		r := a.Last()
		fmt.Printf("alternation %2d: training MSE %.4f (surrogate %.4f), %d pattern flips\n", r.Iter, r.Loss, r.Hidden.Surrogate, r.Flips)
	}
	if err := a.Err(); err != nil {
		log.Fatal(err)
	}
	m, err := sp.Evaluate(a.Net())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%v after %d alternations: training MSE %.3f, test MSE %.3f, test R² %.3f\n",
		a.Status(), a.Iter(), m.TrainMSE, m.TestMSE, m.TestR2)
}
