package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"strings"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/relunet/relunet/relunet"
)

// common holds the flags that train and compare share.
type common struct {
	fs     *flag.FlagSet
	data   string
	target int
	hidden int
	seed   uint64
	alpha  float64
	ridge  float64
	iters  int
	epochs int
	test   float64
	json   bool
	set    map[string]bool
}

func newCommon(name string) *common {
	c := &common{fs: flag.NewFlagSet(name, flag.ContinueOnError)}
	fs := c.fs
	fs.SetOutput(io.Discard)
	fs.StringVar(&c.data, "data", "", "data set `NAME` or FILE.csv")
	fs.IntVar(&c.target, "target", 0, "1-based target column of a CSV file (default: the last)")
	fs.IntVar(&c.hidden, "hidden", 32, "hidden units `H`")
	fs.Uint64Var(&c.seed, "seed", 0, "seed of the split and the initial weights")
	fs.Float64Var(&c.alpha, "alpha", 0, "leaky slope α (0: ReLU)")
	fs.Float64Var(&c.ridge, "ridge", relunet.DefaultAnalyticOptions(1).Ridge, "ridge λ of the analytic method")
	fs.IntVar(&c.iters, "iters", 0, "iterations of analytic (default 30) and lbfgs (default 500)")
	fs.IntVar(&c.epochs, "epochs", 0, "epochs of sgd and adam (default 300)")
	fs.Float64Var(&c.test, "test", 0.2, "share of rows held out for testing")
	fs.BoolVar(&c.json, "json", false, "one JSON object per run on standard output")
	return c
}

func (c *common) parse(args []string) error {
	if err := c.fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return errHelp
		}
		return usagef("%s: %v", c.fs.Name(), err)
	}
	if c.fs.NArg() > 0 {
		return usagef("%s: unexpected argument %q", c.fs.Name(), c.fs.Arg(0))
	}
	c.set = map[string]bool{}
	c.fs.Visit(func(f *flag.Flag) { c.set[f.Name] = true })
	switch {
	case c.data == "":
		return usagef("%s: -data is required", c.fs.Name())
	case c.hidden <= 0:
		return usagef("%s: -hidden must be positive, have %d", c.fs.Name(), c.hidden)
	case !(c.test >= 0 && c.test < 1):
		return usagef("%s: -test must be in [0, 1), have %v", c.fs.Name(), c.test)
	case c.ridge < 0 || math.IsNaN(c.ridge):
		return usagef("%s: -ridge must not be negative, have %v", c.fs.Name(), c.ridge)
	case c.set["iters"] && c.iters <= 0, c.set["epochs"] && c.epochs <= 0:
		return usagef("%s: -iters and -epochs must be positive", c.fs.Name())
	}
	return nil
}

// config returns the run configuration of a method with the flags applied.
func (c *common) config(method string, seed uint64) relunet.RunConfig {
	cfg := relunet.DefaultRunConfig(method, c.hidden)
	cfg.Seed, cfg.Alpha, cfg.Ridge = seed, c.alpha, c.ridge
	switch method {
	case "sgd", "adam":
		cfg.Iters = c.epochs
	default:
		cfg.Iters = c.iters
	}
	return cfg
}

// open opens the data set of -data; synthetic sets are generated with -seed.
func (c *common) open(stderr io.Writer) (*relunet.Dataset, error) {
	return openData(c.data, c.target, c.seed, stderr)
}

// prepare prepares ds by the reference protocol with the split seed.
func (c *common) prepare(ds *relunet.Dataset, seed uint64) (*relunet.Split, error) {
	opts := relunet.DefaultPrepOptions()
	opts.Seed, opts.TestFraction = seed, c.test
	return relunet.Prepare(ds, opts)
}

var methods = map[string]bool{"analytic": true, "analytic-safeguard": true, "sgd": true, "adam": true, "lbfgs": true}

func train(args []string, stdout, stderr io.Writer) error {
	c := newCommon("train")
	method := c.fs.String("method", "analytic", "analytic, sgd, adam or lbfgs")
	safeguard := c.fs.Bool("safeguard", false, "analytic: never accept a step that raises the training loss")
	if err := c.parse(args); err != nil {
		return err
	}
	m := *method
	switch {
	case !methods[m] || m == "analytic-safeguard":
		return usagef("train: -method must be analytic, sgd, adam or lbfgs, have %q", m)
	case *safeguard && m != "analytic":
		return usagef("train: -safeguard applies to -method analytic only")
	case c.set["iters"] && (m == "sgd" || m == "adam"):
		return usagef("train: -iters applies to analytic and lbfgs; use -epochs for %s", m)
	case c.set["epochs"] && !(m == "sgd" || m == "adam"):
		return usagef("train: -epochs applies to sgd and adam; use -iters for %s", m)
	}
	if *safeguard {
		m = "analytic-safeguard"
	}
	ds, err := c.open(stderr)
	if err != nil {
		return err
	}
	sp, err := c.prepare(ds, c.seed)
	if err != nil {
		return err
	}
	cfg := c.config(m, c.seed)
	bar := newBar(stderr, m+" on "+ds.Name)
	cfg.Progress = bar.update
	res, err := relunet.Train(sp, cfg)
	bar.finish()
	if err != nil {
		return err
	}
	rec := newRecord(ds.Name, sp, res)
	if c.json {
		return json.NewEncoder(stdout).Encode(rec)
	}
	fmt.Fprintln(stdout, rec.summary())
	return nil
}

// record is the JSON contract of one run; keep its fields stable.
type record struct {
	Dataset      string    `json:"dataset"`
	Method       string    `json:"method"`
	Safeguard    bool      `json:"safeguard"`
	Hidden       int       `json:"hidden"`
	Seed         uint64    `json:"seed"`
	Alpha        float64   `json:"alpha"`
	Ridge        float64   `json:"ridge"`
	Iterations   int       `json:"iterations"`
	NTrain       int       `json:"n_train"`
	NTest        int       `json:"n_test"`
	TrainMSE     float64   `json:"train_mse"`
	TestMSE      *float64  `json:"test_mse"` // null without a test split
	TrainR2      float64   `json:"train_r2"`
	TestR2       *float64  `json:"test_r2"`
	Seconds      float64   `json:"seconds"`
	Curve        []float64 `json:"curve"`
	CurveSeconds []float64 `json:"curve_seconds"`
}

func newRecord(name string, sp *relunet.Split, r *relunet.RunResult) record {
	finite := func(v float64) *float64 {
		if math.IsNaN(v) {
			return nil
		}
		return &v
	}
	method := r.Config.Method
	return record{
		Dataset: name, Method: strings.TrimSuffix(method, "-safeguard"), Safeguard: method == "analytic-safeguard",
		Hidden: r.Config.Hidden, Seed: r.Config.Seed, Alpha: r.Config.Alpha, Ridge: r.Config.Ridge,
		Iterations: len(r.Curve) - 1, NTrain: len(sp.TrainRows), NTest: len(sp.TestRows),
		TrainMSE: r.TrainMSE, TestMSE: finite(r.TestMSE), TrainR2: r.TrainR2, TestR2: finite(r.TestR2),
		Seconds: r.Seconds, Curve: r.Curve, CurveSeconds: r.CurveSeconds,
	}
}

func (r record) summary() string {
	name := r.Method
	if r.Safeguard {
		name += " (safeguard)"
	}
	test := "no test split"
	if r.TestMSE != nil {
		test = fmt.Sprintf("test MSE %.6g (R² %.4f)", *r.TestMSE, *r.TestR2)
	}
	return fmt.Sprintf("%s on %s, h=%d, seed %d: train MSE %.6g (R² %.4f), %s; %d iterations in %.3g s",
		name, r.Dataset, r.Hidden, r.Seed, r.TrainMSE, r.TrainR2, test, r.Iterations, r.Seconds)
}

// bar is a progress bar on a terminal's standard error, and nothing elsewhere.
type bar struct {
	pb    *progressbar.ProgressBar
	label string
	w     io.Writer
}

func newBar(w io.Writer, label string) *bar {
	b := &bar{label: label, w: w}
	if f, ok := w.(*os.File); !ok || !term.IsTerminal(int(f.Fd())) {
		b.w = nil
	}
	return b
}

func (b *bar) update(done, total int, loss float64) {
	if b.w == nil {
		return
	}
	if b.pb == nil {
		b.pb = progressbar.NewOptions(total, progressbar.OptionSetWriter(b.w), progressbar.OptionSetDescription(b.label),
			progressbar.OptionShowCount(), progressbar.OptionClearOnFinish())
	}
	b.pb.Describe(fmt.Sprintf("%s, MSE %.4g", b.label, loss))
	b.pb.Set(done)
}

func (b *bar) finish() {
	if b.pb != nil {
		b.pb.Finish()
	}
}
