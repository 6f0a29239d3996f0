package main

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/relunet/relunet/relunet"
	"github.com/relunet/relunet/relunet/plots"
)

func compare(args []string, stdout, stderr io.Writer) error {
	c := newCommon("compare")
	runs := c.fs.Int("runs", 5, "seeded splits per method, seeds -seed … -seed+R-1")
	list := c.fs.String("methods", "analytic,sgd,adam,lbfgs", "comma-separated methods (analytic-safeguard too)")
	out := c.fs.String("out", "", "directory for runs.csv, runs.json and PNG plots")
	if err := c.parse(args); err != nil {
		return err
	}
	if *runs <= 0 {
		return usagef("compare: -runs must be positive, have %d", *runs)
	}
	var ms []string
	for _, m := range strings.Split(*list, ",") {
		m = strings.TrimSpace(m)
		if !methods[m] {
			return usagef("compare: unknown method %q in -methods", m)
		}
		ms = append(ms, m)
	}
	ds, err := c.open(stderr)
	if err != nil {
		return err
	}
	var recs []record
	for _, m := range ms {
		for k := 0; k < *runs; k++ {
			seed := c.seed + uint64(k)
			sp, err := c.prepare(ds, seed)
			if err != nil {
				return err
			}
			cfg := c.config(m, seed)
			b := newBar(stderr, fmt.Sprintf("%s seed %d", m, seed))
			cfg.Progress = b.update
			res, err := relunet.Train(sp, cfg)
			b.finish()
			if err != nil {
				// A diverging method is a result of the comparison, not a failure of it.
				fmt.Fprintf(stderr, "relunet: %s, seed %d: %v\n", m, seed, err)
				continue
			}
			rec := newRecord(ds.Name, sp, res)
			recs = append(recs, rec)
			if c.json {
				if err := json.NewEncoder(stdout).Encode(rec); err != nil {
					return err
				}
			}
		}
	}
	if !c.json {
		printTable(stdout, ms, recs)
	}
	if *out != "" {
		if err := writeOutputs(*out, recs); err != nil {
			return err
		}
		if !c.json {
			fmt.Fprintf(stdout, "wrote runs.csv, runs.json, loss_vs_iteration.png, loss_vs_time.png to %s\n", *out)
		}
	}
	if len(recs) == 0 {
		return fmt.Errorf("compare: every run failed")
	}
	return nil
}

// label names a record's method, with the safeguard.
func (r record) label() string {
	if r.Safeguard {
		return r.Method + "-safeguard"
	}
	return r.Method
}

func printTable(w io.Writer, ms []string, recs []record) {
	ms2 := func(v float64) string { return strconv.FormatFloat(v, 'g', 4, 64) }
	cell := func(v []float64) string {
		if len(v) == 0 {
			return "-"
		}
		m, sd := relunet.MeanSD(v)
		return ms2(m) + " ± " + ms2(sd)
	}
	fmt.Fprintf(w, "%-20s %4s  %-22s %-22s %-22s %-22s %-20s\n", "method", "runs", "train MSE", "test MSE", "train R²", "test R²", "seconds")
	for _, m := range ms {
		var trm, tem, trr, ter, sec []float64
		for _, r := range recs {
			if r.label() != m {
				continue
			}
			trm, trr, sec = append(trm, r.TrainMSE), append(trr, r.TrainR2), append(sec, r.Seconds)
			if r.TestMSE != nil {
				tem, ter = append(tem, *r.TestMSE), append(ter, *r.TestR2)
			}
		}
		fmt.Fprintf(w, "%-20s %4d  %-22s %-22s %-22s %-22s %-20s\n", m, len(trm), cell(trm), cell(tem), cell(trr), cell(ter), cell(sec))
	}
}

func writeOutputs(dir string, recs []record) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	var buf strings.Builder
	cw := csv.NewWriter(&buf)
	cw.Write([]string{"dataset", "method", "safeguard", "seed", "hidden", "n_train", "n_test", "train_mse", "test_mse", "train_r2", "test_r2", "seconds"})
	opt := func(v *float64) string {
		if v == nil {
			return ""
		}
		return strconv.FormatFloat(*v, 'g', -1, 64)
	}
	f := func(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
	for _, r := range recs {
		cw.Write([]string{r.Dataset, r.Method, strconv.FormatBool(r.Safeguard), strconv.FormatUint(r.Seed, 10), strconv.Itoa(r.Hidden),
			strconv.Itoa(r.NTrain), strconv.Itoa(r.NTest), f(r.TrainMSE), opt(r.TestMSE), f(r.TrainR2), opt(r.TestR2), f(r.Seconds)})
	}
	cw.Flush()
	if err := os.WriteFile(filepath.Join(dir, "runs.csv"), []byte(buf.String()), 0o644); err != nil {
		return err
	}
	js, err := json.MarshalIndent(recs, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "runs.json"), js, 0o644); err != nil {
		return err
	}
	// One curve per method: the run with the lowest seed.
	var byIter, byTime []plots.Series
	seen := map[string]bool{}
	for _, r := range recs {
		if seen[r.label()] {
			continue
		}
		seen[r.label()] = true
		it := make([]float64, len(r.Curve))
		for i := range it {
			it[i] = float64(i + 1)
		}
		byIter = append(byIter, plots.Series{Name: r.label(), X: it, Y: r.Curve})
		byTime = append(byTime, plots.Series{Name: r.label(), X: r.CurveSeconds[1:], Y: r.Curve[1:]})
	}
	name := ""
	if len(recs) > 0 {
		name = recs[0].Dataset + ": "
	}
	for _, p := range []struct {
		file, title, x string
		s              []plots.Series
	}{
		{"loss_vs_iteration.png", name + "training MSE per iteration/epoch (1 = initial)", "iteration or epoch", byIter},
		{"loss_vs_time.png", name + "training MSE vs wall time", "seconds", byTime},
	} {
		pl, err := plots.Lines(p.title, p.x, "training MSE", true, true, p.s...)
		if err != nil {
			return err
		}
		png, err := plots.Render(pl, plots.Width, plots.Height, "png")
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, p.file), png, 0o644); err != nil {
			return err
		}
	}
	return nil
}
