package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/relunet/relunet/relunet"
	"github.com/relunet/relunet/relunet/data"
	"github.com/relunet/relunet/relunet/experiment"
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
	budget float64
	lr     float64
	batch  int
	test   float64
	memory byteSize
	scaleY bool
	split  string
	patch  int
	stride int
	noise  float64
	rows   int
	json   bool
	set    map[string]bool
}

func newCommon(name string) *common {
	c := &common{fs: flag.NewFlagSet(name, flag.ContinueOnError)}
	fs := c.fs
	fs.SetOutput(io.Discard)
	fs.StringVar(&c.data, "data", "", "data set `NAME`, FILE.csv, or an image FILE.png or .jpg cut into patches (required)")
	fs.IntVar(&c.target, "target", 0, "1-based target `column` of a CSV file (default: the last)")
	fs.IntVar(&c.hidden, "hidden", 32, "hidden units `h`")
	fs.Uint64Var(&c.seed, "seed", 0, "`seed` of the split and the initial weights")
	fs.Float64Var(&c.alpha, "alpha", 0, "leaky slope `α` in [0, 1) (0: ReLU)")
	fs.Float64Var(&c.ridge, "ridge", relunet.DefaultRidge, "ridge `λ` ≥ 0 of the analytic method (0: none)")
	fs.IntVar(&c.iters, "iters", 0, fmt.Sprintf("iterations `N` of analytic (default %d), lbfgs (default %d) and lm (default %d)",
		relunet.DefaultIterations(relunet.MethodAnalytic), relunet.DefaultIterations(relunet.MethodLBFGS), relunet.DefaultIterations(relunet.MethodLM)))
	fs.IntVar(&c.epochs, "epochs", 0, fmt.Sprintf("epochs `N` of sgd and adam (default %d; the learning rate drops ×0.1 at 1/3 and 2/3 for sgd)",
		relunet.DefaultIterations(relunet.MethodSGD)))
	fs.Float64Var(&c.budget, "budget", 0, "wall time of each run in `seconds`, at least 0.001 (default: none): without -iters or -epochs, a method steps until it stops or the budget ends")
	fs.Float64Var(&c.lr, "lr", 0, "learning `rate` of sgd and adam (default: sgd 0.03, adam 0.001)")
	fs.IntVar(&c.batch, "batch", 0, "mini-batch `size` of sgd and adam (default: sgd 2048, adam 256)")
	fs.Float64Var(&c.test, "test", 0.2, "`share` of rows held out for testing, in [0, 1)")
	fs.Var(&c.memory, "memory", "memory `limit` of the analytic and lm solvers, such as 4GiB or 512MiB (default: the memory available)")
	fs.StringVar(&c.split, "split", "random", "`kind` of split: random (-test share, drawn with -seed) or fixed (the data set's own, as year has)")
	fs.IntVar(&c.patch, "patch", 15, "side of the square patches, in `pixels`, of -data patches or an image file")
	fs.IntVar(&c.stride, "stride", 3, "`step` between the patches, in pixels")
	fs.Float64Var(&c.noise, "noise", 25, "`σ` of the Gaussian noise, in gray levels 0–255, added to the patches' inputs (0: none, a plain autoencoder)")
	fs.IntVar(&c.rows, "rows", 0, "use about `N` of the data set's rows, evenly spaced (every k-th from the first, k = ⌈rows/N⌉; a set with its own split, in each part), the same for every seed (0: all)")
	fs.BoolVar(&c.scaleY, "scale-targets", false, "divide the centred targets by their root mean square for training (the reference only centres them)")
	fs.BoolVar(&c.json, "json", false, "one JSON object per run on standard output")
	return c
}

// flagHelp returns the flag set's flags with their defaults, for -h and
// usage errors.
func (c *common) flagHelp() string {
	var b strings.Builder
	fmt.Fprintf(&b, "\nflags of %s:\n", c.fs.Name())
	c.fs.SetOutput(&b)
	c.fs.PrintDefaults()
	c.fs.SetOutput(io.Discard)
	return b.String()
}

// usagef returns a usage error that lists the command's flags.
func (c *common) usagef(format string, args ...any) error {
	return &usageError{msg: c.fs.Name() + ": " + fmt.Sprintf(format, args...), flags: c.flagHelp()}
}

func (c *common) parse(args []string) error {
	if err := c.fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return errHelp{text: c.flagHelp()}
		}
		return c.usagef("%v", err)
	}
	if c.fs.NArg() > 0 {
		return c.usagef("unexpected argument %q", c.fs.Arg(0))
	}
	c.set = map[string]bool{}
	c.fs.Visit(func(f *flag.Flag) { c.set[f.Name] = true })
	finite := func(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
	switch {
	case c.data == "":
		return c.usagef("-data is required")
	case c.hidden <= 0:
		return c.usagef("-hidden must be positive, have %d", c.hidden)
	case !(c.test >= 0 && c.test < 1):
		return c.usagef("-test must be in [0, 1), have %v", c.test)
	case !(c.alpha >= 0 && c.alpha < 1):
		return c.usagef("-alpha must be in [0, 1), have %v", c.alpha)
	case !finite(c.ridge) || c.ridge < 0:
		return c.usagef("-ridge must be finite and not negative, have %v", c.ridge)
	case c.set["iters"] && c.iters <= 0, c.set["epochs"] && c.epochs <= 0:
		return c.usagef("-iters and -epochs must be positive")
	case c.set["budget"] && (!finite(c.budget) || c.budget < 1e-3 || c.budget > 1e9):
		return c.usagef("-budget must be a number of seconds from 0.001 to 1e9, have %v", c.budget)
	case c.set["lr"] && (!finite(c.lr) || c.lr <= 0):
		return c.usagef("-lr must be positive and finite, have %v", c.lr)
	case c.set["batch"] && c.batch <= 0:
		return c.usagef("-batch must be positive, have %d", c.batch)
	case c.rows < 0:
		return c.usagef("-rows must be positive (or 0: all rows), have %d", c.rows)
	case c.set["target"] && c.target <= 0:
		return c.usagef("-target %d: columns are numbered from 1", c.target)
	case c.split != "random" && c.split != "fixed":
		return c.usagef("-split must be random or fixed, have %q", c.split)
	case c.split == "fixed" && c.set["test"]:
		return c.usagef("-test applies to -split random; the fixed split is the data set's own")
	case c.patch <= 0 || c.stride <= 0:
		return c.usagef("-patch and -stride must be positive, have %d and %d", c.patch, c.stride)
	case !finite(c.noise) || c.noise < 0 || c.noise > data.MaxNoise:
		return c.usagef("-noise must be from 0 to %g gray levels, have %v", data.MaxNoise, c.noise)
	case c.patch > data.MaxPatch:
		return c.usagef("-patch must be at most %d pixels, have %d", data.MaxPatch, c.patch)
	case (c.set["patch"] || c.set["stride"] || c.set["noise"]) && !c.images():
		return c.usagef("-patch, -stride and -noise apply to -data patches or an image file (.png, .jpg), not to %q", c.data)
	}
	return nil
}

// images reports whether -data names a data set of image patches.
func (c *common) images() bool {
	return c.data == "patches" || isImage(c.data)
}

func isImage(name string) bool {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".png", ".jpg", ".jpeg":
		return true
	}
	return false
}

// patchOptions returns the flags' patch options.
func (c *common) patchOptions() data.PatchOptions {
	return data.PatchOptions{Size: c.patch, Stride: c.stride, Noise: c.noise, Clean: c.noise == 0}
}

// config returns the run configuration of a method's label with the flags
// applied.
func (c *common) config(label string) (experiment.Config, error) {
	cfg, err := experiment.ParseConfig(label, c.hidden)
	if err != nil {
		return cfg, c.usagef("%v", err)
	}
	cfg.Seed, cfg.Alpha, cfg.Ridge, cfg.MemoryLimit = c.seed, c.alpha, c.ridge, int64(c.memory)
	if c.ridge == 0 {
		cfg.Ridge = -1 // none: a zero Ridge would mean the default
	}
	cfg.Budget = time.Duration(c.budget * float64(time.Second))
	if cfg.Restarts < 0 && cfg.Budget == 0 {
		return cfg, c.usagef("%s: restarts without a count run until the budget ends: give -budget, or restarts=N", label)
	}
	switch cfg.Method {
	case relunet.MethodSGD, relunet.MethodAdam:
		cfg.Iterations, cfg.LR, cfg.Batch = c.epochs, c.lr, c.batch
	default:
		cfg.Iterations = c.iters
	}
	return cfg, nil
}

// checkMethods reports flags that apply to none of the methods.
func (c *common) checkMethods(cfgs []experiment.Config) error {
	has := map[relunet.Method]bool{}
	for _, cfg := range cfgs {
		has[cfg.Method] = true
	}
	gradient := has[relunet.MethodSGD] || has[relunet.MethodAdam]
	switch {
	case c.set["iters"] && !has[relunet.MethodAnalytic] && !has[relunet.MethodLBFGS] && !has[relunet.MethodLM]:
		return c.usagef("-iters applies to analytic, lbfgs and lm; use -epochs for sgd and adam")
	case !gradient && (c.set["epochs"] || c.set["lr"] || c.set["batch"]):
		return c.usagef("-epochs, -lr and -batch apply to sgd and adam; use -iters for analytic, lbfgs and lm")
	case c.set["memory"] && !has[relunet.MethodAnalytic] && !has[relunet.MethodLM]:
		return c.usagef("-memory applies to analytic and lm")
	case c.set["ridge"] && !has[relunet.MethodAnalytic]:
		return c.usagef("-ridge applies to analytic only: the other methods fit the square loss alone")
	}
	for _, cfg := range cfgs {
		if cfg.Auto && c.budget == 0 {
			return c.usagef("%s spends a budget: give -budget SECONDS", cfg.Label())
		}
	}
	return nil
}

// byteSize is a flag of bytes with an optional unit: 4GiB, 512MiB, 2e9.
type byteSize int64

func (b *byteSize) String() string { return strconv.FormatInt(int64(*b), 10) }

func (b *byteSize) Set(s string) error {
	units := []struct {
		suffix string
		mul    float64
	}{{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"TB", 1e12}, {"GB", 1e9}, {"MB", 1e6}, {"KB", 1e3}, {"B", 1}}
	mul := 1.0
	for _, u := range units {
		if strings.HasSuffix(s, u.suffix) {
			s, mul = strings.TrimSpace(strings.TrimSuffix(s, u.suffix)), u.mul
			break
		}
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || !(v*mul >= 1) || v*mul > math.MaxInt64/2 {
		return fmt.Errorf("want a size from 1 byte to 4 EiB, such as 4GiB or 512MiB")
	}
	*b = byteSize(v * mul)
	return nil
}

// prepare prepares ds by the reference protocol with the split seed, and
// tells of input columns that carry nothing.
func (c *common) prepare(ds *data.Dataset, seed uint64, stderr io.Writer) (*experiment.Split, error) {
	opts := experiment.Reference()
	opts.Seed, opts.TestFraction, opts.ScaleTargets = seed, c.test, c.scaleY
	opts.FixedSplit = c.split == "fixed"
	if opts.FixedSplit && ds.TrainRows <= 0 {
		return nil, c.usagef("-split fixed: %s has no split of its own (only the year set has one): use -split random", ds.Name)
	}
	sp, err := experiment.Prepare(ds, opts)
	if err != nil {
		return nil, err
	}
	for _, w := range sp.Warnings {
		fmt.Fprintf(stderr, "relunet: %s\n", w)
	}
	if k := len(sp.Constant); k > 0 {
		// At most ten named: an image of 512×512 patches can have
		// hundreds of thousands of constant columns.
		list := strings.Join(sp.Constant[:min(k, 10)], ", ")
		if k > 10 {
			list += fmt.Sprintf(" and %d more", k-10)
		}
		fmt.Fprintf(stderr, "relunet: %s: input column %s is constant: it carries nothing and is set to 0\n", ds.Name, list)
	}
	return sp, nil
}

// open returns the data set named by -data: a CSV file, or a named set
// (fetched on first use, saying so on stderr). Synthetic sets are generated
// with -seed.
func (c *common) open(ctx context.Context, stderr io.Writer) (*data.Dataset, error) {
	// Reading a large CSV and generating a large synthetic set check no
	// context: they run aside, and an interrupt returns at once. Work that
	// does check it (a fetch, which then removes its partial download) is
	// given half a second to end by itself.
	type opened struct {
		ds  *data.Dataset
		err error
	}
	done := make(chan opened, 1)
	go func() {
		ds, err := c.openData(ctx, stderr)
		if err == nil {
			ds, err = c.sample(ds)
		}
		done <- opened{ds, err}
	}()
	select {
	case o := <-done:
		return o.ds, o.err
	case <-ctx.Done():
	}
	select {
	case o := <-done:
		if o.err != nil {
			return nil, o.err
		}
	case <-time.After(time.Second / 2):
	}
	return nil, ctx.Err()
}

// sample returns the rows of ds that -rows asks for, the data set named
// after its count of rows when they are fewer than all: results on a sample
// are not results on the set.
func (c *common) sample(ds *data.Dataset) (*data.Dataset, error) {
	s, err := ds.Sample(c.rows) // ds itself for 0 or at least its rows
	if err != nil || s == ds {
		return s, err
	}
	k, _, _ := s.Dims()
	s.Name = fmt.Sprintf("%s-%d", ds.Name, k)
	return s, nil
}

// openData reads or makes the data set of -data.
func (c *common) openData(ctx context.Context, stderr io.Writer) (*data.Dataset, error) {
	if strings.HasSuffix(strings.ToLower(c.data), ".csv") {
		tab, err := data.ReadCSVFile(c.data, data.HeaderAuto)
		if err != nil {
			return nil, err
		}
		_, cols := tab.Data.Dims()
		if cols < 2 {
			return nil, fmt.Errorf("%s: needs at least two columns, an input and a target", c.data)
		}
		target := c.target
		if target == 0 {
			target = cols
		}
		if target > cols {
			return nil, c.usagef("-target %d: %s has columns 1 to %d", target, c.data, cols)
		}
		return tab.Dataset(strings.TrimSuffix(filepath.Base(c.data), filepath.Ext(c.data)), []int{target - 1})
	}
	if c.set["target"] {
		return nil, c.usagef("-target applies to CSV files only, not to %q", c.data)
	}
	if isImage(c.data) {
		img, err := data.ReadImage(c.data)
		if err != nil {
			return nil, err
		}
		return data.Patches(strings.TrimSuffix(filepath.Base(c.data), filepath.Ext(c.data)), img, c.patchOptions(), c.seed)
	}
	l := &data.Loader{Log: prefixed{stderr}, Seed: c.seed, PatchOptions: c.patchOptions()}
	ds, err := l.Load(ctx, c.data)
	if errors.Is(err, data.ErrUnknown) {
		return nil, c.usagef("-data %q: not a CSV file nor one of %s, %s", c.data,
			strings.Join(data.Names(data.Reference), ", "), strings.Join(data.Names(data.Synthetic), ", "))
	}
	return ds, err
}

// prefixed writes each line with the command's name in front.
type prefixed struct{ w io.Writer }

func (p prefixed) Write(b []byte) (int, error) {
	if _, err := fmt.Fprintf(p.w, "relunet: %s", b); err != nil {
		return 0, err
	}
	return len(b), nil
}
