package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/relunet/relunet/relunet/experiment"
	"github.com/relunet/relunet/relunet/plots"
)

// budgetMethods are the labels compared under -budget by default: the
// analytic configuration chosen for a budget, and every other method.
const budgetMethods = experiment.BudgetLabel + ",sgd,adam,lbfgs,lm"

// compareFlags are compare's own flags.
type compareFlags struct {
	runs int
	out  string
}

// parseCompare reads the command line of compare.
func parseCompare(args []string) (*common, compareFlags, []experiment.Config, error) {
	c := newCommon("compare")
	var f compareFlags
	c.fs.IntVar(&f.runs, "runs", 5, "seeded splits per method: seeds -seed … -seed+`R`-1")
	list := c.fs.String("methods", "", "comma-separated `labels`: a method (analytic, sgd, adam, lbfgs, lm); analytic takes options after +: safeguard, datainit, explore, damping=X (or X/Y: the two in turn), balance, restarts (as many as -budget allows), restarts=N, parallel=N, polish=lbfgs, polish=lm, or auto (alone: races the variants within -budget); any method takes validate or validate=SHARE (keep the network with the lowest MSE on that share of the training rows, held out; with auto it also chooses the ridge λ) (default: the paper's analytic,sgd,adam,lbfgs; with -budget "+budgetMethods+")")
	c.fs.StringVar(&f.out, "out", "", "`directory` for runs.csv, runs.json and the PNG figures")
	if err := c.parse(args); err != nil {
		return nil, f, nil, err
	}
	if f.runs <= 0 {
		return nil, f, nil, c.usagef("-runs must be positive, have %d", f.runs)
	}
	if *list == "" {
		*list = "analytic,sgd,adam,lbfgs"
		if c.set["budget"] {
			*list = budgetMethods
		}
	}
	var cfgs []experiment.Config
	seen := map[string]bool{}
	for _, label := range strings.Split(*list, ",") {
		cfg, err := c.config(strings.TrimSpace(label))
		if err != nil {
			return nil, f, nil, err
		}
		if l := cfg.Label(); seen[l] {
			return nil, f, nil, c.usagef("-methods lists %s twice", l)
		} else {
			seen[l] = true
		}
		cfgs = append(cfgs, cfg)
	}
	if f.runs > math.MaxInt/len(cfgs) {
		return nil, f, nil, c.usagef("-runs %d times %d methods: too many runs to count", f.runs, len(cfgs))
	}
	if uint64(f.runs-1) > math.MaxUint64-c.seed {
		return nil, f, nil, c.usagef("-seed %d with -runs %d: the seeds go past the largest, %d", c.seed, f.runs, uint64(math.MaxUint64))
	}
	return c, f, cfgs, c.checkMethods(cfgs)
}

func compare(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c, f, cfgs, err := parseCompare(args)
	if err != nil {
		return err
	}
	if f.out != "" {
		// Before the runs, so that a directory that cannot take the
		// results does not cost them.
		if err := experiment.CheckResultsDir(f.out); err != nil {
			return err
		}
	}
	ds, err := c.open(ctx, stderr)
	if err != nil {
		return err
	}
	var results []*experiment.Result
	// The seeds are taken one at a time: -runs costs nothing before its runs.
	for k := 0; k < f.runs; k++ {
		seed := c.seed + uint64(k)
		sp, err := c.prepare(ds, seed, stderr)
		if err != nil {
			return err
		}
		for _, cfg := range cfgs {
			cfg.Seed = seed
			b := newBar(stderr, fmt.Sprintf("%s on %s, seed %d", cfg.Label(), ds.Name, seed))
			cfg.Progress = b.update
			r, err := experiment.Run(ctx, sp, cfg)
			b.finish()
			if r == nil {
				return err
			}
			results = append(results, r)
			if c.json {
				if err := json.NewEncoder(stdout).Encode(experiment.NewRecord(r)); err != nil {
					return err
				}
			}
		}
	}
	sums := experiment.Summarize(results)
	if !c.json {
		if err := experiment.WriteTable(stdout, sums); err != nil {
			return err
		}
		if len(cfgs) > 1 && f.runs > 1 {
			fmt.Fprintf(stdout, "\npaired over the seeds (same split per seed), A = %s; t-test at level %v:\n", cfgs[0].Label(), experiment.Significance)
			if err := experiment.WritePaired(stdout, experiment.PairedTests(results, cfgs[0].Label())); err != nil {
				return err
			}
		}
	}
	if f.out != "" {
		figs, err := figures(results)
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err // interrupted while the summary was printed: write nothing
		}
		if err := experiment.SaveResults(f.out, results, figs); err != nil {
			return err
		}
		if !c.json {
			fmt.Fprintf(stdout, "wrote runs.csv, runs.json, loss_vs_iteration.png, loss_vs_time.png to %s\n", f.out)
		}
	}
	for _, r := range results {
		if !r.Failed() {
			return nil
		}
	}
	return errors.New("compare: every run failed")
}

// figures returns the PNG figures of compare -out by name: the curves of
// the first seed's runs, the first analytic configuration's bold.
func figures(results []*experiment.Result) (map[string][]byte, error) {
	if len(results) == 0 {
		return map[string][]byte{}, nil
	}
	study := ""
	for _, r := range results {
		if l := r.Config.Label(); study == "" && strings.HasPrefix(l, "analytic") {
			study = l
		}
	}
	byIter, byTime, err := plots.Training(results, results[0].Dataset, results[0].Config.Seed, study)
	if err != nil {
		return nil, err
	}
	files := map[string][]byte{}
	for name, f := range map[string]*plots.Figure{"loss_vs_iteration.png": byIter, "loss_vs_time.png": byTime} {
		if files[name], err = f.Render("png"); err != nil {
			return nil, err
		}
	}
	return files, nil
}
