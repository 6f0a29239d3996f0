package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/relunet/relunet/relunet"
	"github.com/relunet/relunet/relunet/experiment"
)

// parseTrain reads the command line of train.
func parseTrain(args []string) (*common, experiment.Config, error) {
	c := newCommon("train")
	method := c.fs.String("method", "analytic", "`method`: analytic, sgd, adam, lbfgs or lm; analytic takes the options of compare -methods after +, such as analytic+restarts+polish=lbfgs")
	safeguard := c.fs.Bool("safeguard", false, "analytic: never accept a step that raises the training loss")
	if err := c.parse(args); err != nil {
		return nil, experiment.Config{}, err
	}
	name, _, _ := strings.Cut(*method, "+")
	m, err := relunet.ParseMethod(name)
	if err != nil {
		return nil, experiment.Config{}, c.usagef("-method must be analytic, sgd, adam, lbfgs or lm, have %q", *method)
	}
	label := *method
	if *safeguard {
		if m != relunet.MethodAnalytic {
			return nil, experiment.Config{}, c.usagef("-safeguard applies to -method analytic only")
		}
		label += "+safeguard"
	}
	cfg, err := c.config(label)
	if err != nil {
		return nil, cfg, err
	}
	return c, cfg, c.checkMethods([]experiment.Config{cfg})
}

func train(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c, cfg, err := parseTrain(args)
	if err != nil {
		return err
	}
	label := cfg.Label()
	ds, err := c.open(ctx, stderr)
	if err != nil {
		return err
	}
	sp, err := c.prepare(ds, c.seed, stderr)
	if err != nil {
		return err
	}
	bar := newBar(stderr, label+" on "+ds.Name)
	cfg.Progress = bar.update
	res, err := experiment.Run(ctx, sp, cfg)
	bar.finish()
	if res == nil {
		return err
	}
	rec := experiment.NewRecord(res)
	if c.json {
		if err := json.NewEncoder(stdout).Encode(rec); err != nil {
			return err
		}
		return err // the record holds it; standard error tells it once
	}
	if _, werr := fmt.Fprintln(stdout, summary(rec)); werr != nil {
		return werr // the result's one line could not be told
	}
	if err != nil {
		return errReported // the summary line ends with the error
	}
	return nil
}

// summary returns the record in one line of text.
func summary(r experiment.Record) string {
	name := r.Label()
	if name == r.Method+"+safeguard" {
		name = r.Method + " (safeguard)"
	}
	num := func(v *float64, format string) string {
		if v == nil {
			return "n/a"
		}
		return fmt.Sprintf(format, *v)
	}
	test := "no test rows"
	if r.NTest > 0 {
		test = fmt.Sprintf("test MSE %s (R² %s)", num(r.TestMSE, "%.6g"), num(r.TestR2, "%.4f"))
	}
	unit := "iterations"
	if r.Method == "sgd" || r.Method == "adam" {
		unit = "epochs"
	}
	if r.Starts > 1 {
		unit += fmt.Sprintf(" over %d starts", r.Starts)
	}
	s := fmt.Sprintf("%s on %s, h=%d, seed %d: train MSE %s (R² %s), %s; %d %s in %.3g s (%s)",
		name, r.Dataset, r.Hidden, r.Seed, num(r.TrainMSE, "%.6g"), num(r.TrainR2, "%.4f"), test, r.Iterations, unit, r.Seconds, r.Status)
	if r.Error != nil {
		s += ": " + *r.Error
	}
	return s
}

// bar is a progress bar on a terminal's standard error.
type bar struct {
	pb    *progressbar.ProgressBar
	label string
	w     io.Writer
}

// newBar returns the progress bar of a run. Where w is not a terminal, it
// says in one line that the run started, and nothing more: logs show what
// ran, and a script can wait for the line.
func newBar(w io.Writer, label string) *bar {
	b := &bar{label: label, w: w}
	if f, ok := w.(*os.File); !ok || !term.IsTerminal(int(f.Fd())) {
		fmt.Fprintf(w, "relunet: %s: started\n", label)
		b.w = nil
	}
	return b
}

func (b *bar) update(r relunet.Record, done, total int) {
	if b.w == nil {
		return
	}
	if b.pb == nil {
		if total <= 0 {
			total = -1 // only a budget bounds the run: a spinner
		}
		b.pb = progressbar.NewOptions(total, progressbar.OptionSetWriter(b.w), progressbar.OptionSetDescription(b.label),
			progressbar.OptionShowCount(), progressbar.OptionClearOnFinish())
	}
	b.pb.Describe(fmt.Sprintf("%s, MSE %.4g", b.label, r.Loss))
	b.pb.Set(done)
}

func (b *bar) finish() {
	if b.pb != nil {
		b.pb.Finish()
	}
}
