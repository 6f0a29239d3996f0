package experiment

import (
	"context"
	"fmt"
	"io"
	"math"

	"github.com/relunet/relunet/relunet/data"
	"github.com/relunet/relunet/relunet/internal/sysmem"
)

// Compare runs every configuration on ds once per seed: for each seed, ds
// is prepared by opts with that seed (so every method sees the same split),
// and each configuration starts from its own initialisation with that seed.
// A failed run is a result like the others (see Run). progress, when not
// nil, is called after each run with the number done and the total. Compare
// returns an error only when ds cannot be prepared, a configuration cannot
// start or ctx ends (then with the results before it).
func Compare(ctx context.Context, ds *data.Dataset, opts Options, configs []Config, seeds []uint64, progress func(done, total int, r *Result)) ([]*Result, error) {
	if len(configs) == 0 || len(seeds) == 0 {
		return nil, fmt.Errorf("experiment: Compare: %d configurations and %d seeds: nothing to run", len(configs), len(seeds))
	}
	var out []*Result
	total := len(configs) * len(seeds)
	for _, seed := range seeds {
		o := opts
		o.Seed = seed
		sp, err := Prepare(ds, o)
		if err != nil {
			return out, err
		}
		for _, c := range configs {
			c.Seed = seed
			r, err := Run(ctx, sp, c)
			if r == nil {
				return out, err
			}
			out = append(out, r)
			if progress != nil {
				progress(len(out), total, r)
			}
		}
	}
	return out, nil
}

// Seeds returns the seeds first, first+1, ..., first+n-1, or an error when
// n is not positive or n seeds do not fit in the memory available.
func Seeds(first uint64, n int) ([]uint64, error) {
	if n <= 0 {
		return nil, fmt.Errorf("experiment: Seeds: want a positive number of seeds, have %d", n)
	}
	if uint64(n-1) > math.MaxUint64-first {
		return nil, fmt.Errorf("experiment: Seeds: %d seeds from %d go past the largest seed, %d", n, first, uint64(math.MaxUint64))
	}
	if b, ok := sysmem.Available(); ok && uint64(n) > uint64(b)/8 {
		return nil, fmt.Errorf("experiment: Seeds: %d seeds take more than the %s available", n, sysmem.Format(b))
	}
	s := make([]uint64, n)
	for i := range s {
		s[i] = first + uint64(i)
	}
	return s, nil
}

// Summary is the mean ± sd of a configuration's runs on a data set, over
// the runs that did not fail.
type Summary struct {
	Dataset, Label string
	Runs, Failed   int
	// Errors holds the failed runs' errors, one per distinct message.
	Errors []string

	TrainMSE, TestMSE Stat
	TrainR2, TestR2   Stat
	Seconds           Stat
}

// Summarize groups the results by data set and configuration label, in the
// order in which each pair first appears.
func Summarize(results []*Result) []Summary {
	type key struct{ ds, label string }
	var order []key
	groups := map[key][]*Result{}
	for _, r := range results {
		if r == nil {
			continue // no run
		}
		k := key{r.Dataset, r.Config.Label()}
		if _, ok := groups[k]; !ok {
			order = append(order, k)
		}
		groups[k] = append(groups[k], r)
	}
	var out []Summary
	for _, k := range order {
		s := Summary{Dataset: k.ds, Label: k.label}
		var trm, tem, trr, ter, sec []float64
		seen := map[string]bool{}
		for _, r := range groups[k] {
			s.Runs++
			if r.Failed() {
				s.Failed++
				if msg := r.Err.Error(); !seen[msg] {
					seen[msg] = true
					s.Errors = append(s.Errors, msg)
				}
				continue
			}
			trm, tem = append(trm, r.TrainMSE), append(tem, r.TestMSE)
			trr, ter = append(trr, r.TrainR2), append(ter, r.TestR2)
			sec = append(sec, r.Seconds)
		}
		s.TrainMSE, s.TestMSE, s.TrainR2, s.TestR2, s.Seconds = NewStat(trm), NewStat(tem), NewStat(trr), NewStat(ter), NewStat(sec)
		out = append(out, s)
	}
	return out
}

// Lowest returns, for each data set of the summaries in order of first
// appearance, the label with the lowest mean training MSE and the one with
// the lowest mean test MSE ("" where no configuration has a finite mean).
func Lowest(sums []Summary) (datasets, train, test []string) {
	idx := map[string]int{}
	bestTrain, bestTest := map[string]float64{}, map[string]float64{}
	for _, s := range sums {
		k, ok := idx[s.Dataset]
		if !ok {
			k = len(datasets)
			idx[s.Dataset] = k
			datasets, train, test = append(datasets, s.Dataset), append(train, ""), append(test, "")
		}
		if m := s.TrainMSE.Mean; s.TrainMSE.N > 0 && (train[k] == "" || m < bestTrain[s.Dataset]) {
			train[k], bestTrain[s.Dataset] = s.Label, m
		}
		if m := s.TestMSE.Mean; s.TestMSE.N > 0 && (test[k] == "" || m < bestTest[s.Dataset]) {
			test[k], bestTest[s.Dataset] = s.Label, m
		}
	}
	return datasets, train, test
}

// Table returns the summaries as a header and rows of text: data set,
// method, runs (with the failed ones), then each Stat as "mean ± sd".
func Table(sums []Summary) (header []string, rows [][]string) {
	header = []string{"data", "method", "runs", "train MSE", "test MSE", "train R²", "test R²", "seconds"}
	for _, s := range sums {
		runs := fmt.Sprint(s.Runs)
		if s.Failed > 0 {
			runs = fmt.Sprintf("%d (%d failed)", s.Runs, s.Failed)
		}
		rows = append(rows, []string{s.Dataset, s.Label, runs, s.TrainMSE.String(), s.TestMSE.String(),
			s.TrainR2.String(), s.TestR2.String(), s.Seconds.String()})
	}
	return header, rows
}

// WriteTable writes the summaries as an aligned text table, then one line
// per distinct error of failed runs.
func WriteTable(w io.Writer, sums []Summary) error {
	header, rows := Table(sums)
	if err := writeAligned(w, header, rows); err != nil {
		return err
	}
	for _, s := range sums {
		for _, e := range s.Errors {
			if _, err := fmt.Fprintf(w, "%s, %s failed: %s\n", s.Dataset, s.Label, e); err != nil {
				return err
			}
		}
	}
	return nil
}
