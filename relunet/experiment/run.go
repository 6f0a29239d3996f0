package experiment

import (
	"fmt"
	"math"
	"strings"

	"gonum.org/v1/gonum/mat"

	"github.com/relunet/relunet/relunet"
)

// Config is one training run's method and settings. DefaultConfig returns
// the reference protocol's; a zero setting means the method's default.
type Config struct {
	Method relunet.Method
	Hidden int
	Seed   uint64  // the initial weights' (Compare also splits with it)
	Alpha  float64 // leaky slope
	// Iterations is the number of alternations, epochs or L-BFGS
	// iterations; 0 means the method's default (30 analytic, 300 SGD and
	// Adam, 500 L-BFGS).
	Iterations int
	// Analytic only.
	Ridge       float64 // λ, used as it is (DefaultConfig sets 0.001)
	Safeguard   bool
	MemoryLimit int64 // bytes; 0: what the process may use (see relunet.AnalyticOptions)
	// SGD and Adam only: 0 means the method's default (SGD: lr 0.03, batch
	// 2048; Adam: lr 0.001, batch 256).
	LR    float64
	Batch int
	// Progress, when not nil, is called after every step with the record,
	// the steps done and the planned total.
	Progress func(r relunet.Record, done, total int) `json:"-"`
}

// DefaultConfig returns the reference settings for the method with h hidden
// units: λ = 0.001, ReLU, seed 0, the method's default length.
func DefaultConfig(m relunet.Method, h int) Config {
	return Config{Method: m, Hidden: h, Ridge: relunet.DefaultAnalyticOptions(h).Ridge}
}

// Label names the configuration's method and its options that change the
// method, as ParseConfig reads them: "analytic+safeguard", "sgd".
func (c Config) Label() string {
	l := c.Method.String()
	if c.Method == relunet.MethodAnalytic && c.Safeguard {
		l += "+safeguard"
	}
	return l
}

// ParseConfig returns DefaultConfig for a label: a method name followed by
// options, each after a "+" (the analytic method takes "safeguard").
func ParseConfig(label string, h int) (Config, error) {
	parts := strings.Split(label, "+")
	m, err := relunet.ParseMethod(parts[0])
	if err != nil {
		return Config{}, err
	}
	c := DefaultConfig(m, h)
	for _, opt := range parts[1:] {
		switch {
		case opt == "safeguard" && m == relunet.MethodAnalytic:
			c.Safeguard = true
		default:
			return Config{}, fmt.Errorf("experiment: %q: %s takes no option %q", label, m, opt)
		}
	}
	return c, nil
}

// Solver returns the configured solver for inputs X and targets Y.
func (c Config) Solver(X, Y mat.Matrix) (relunet.Solver, error) {
	switch c.Method {
	case relunet.MethodAnalytic:
		opts := relunet.DefaultAnalyticOptions(c.Hidden)
		opts.Seed, opts.Alpha, opts.Ridge, opts.Safeguard, opts.MemoryLimit = c.Seed, c.Alpha, c.Ridge, c.Safeguard, c.MemoryLimit
		if c.Iterations != 0 {
			opts.Iterations = c.Iterations
		}
		return relunet.NewAnalytic(X, Y, opts)
	case relunet.MethodSGD, relunet.MethodAdam:
		opts := relunet.DefaultSGDOptions(c.Hidden)
		if c.Method == relunet.MethodAdam {
			opts = relunet.DefaultAdamOptions(c.Hidden)
		}
		opts.Seed, opts.Alpha = c.Seed, c.Alpha
		if c.Iterations != 0 {
			// Keep the reference's three learning-rate stages over another length.
			if opts.DecayEvery > 0 {
				opts.DecayEvery = max(1, c.Iterations/3)
			}
			opts.Epochs = c.Iterations
		}
		if c.LR != 0 {
			opts.LR = c.LR
		}
		if c.Batch != 0 {
			opts.Batch = c.Batch
		}
		return relunet.NewDescent(X, Y, opts)
	case relunet.MethodLBFGS:
		opts := relunet.DefaultLBFGSOptions(c.Hidden)
		opts.Seed, opts.Alpha = c.Seed, c.Alpha
		if c.Iterations != 0 {
			opts.Iterations = c.Iterations
		}
		return relunet.NewLBFGS(X, Y, opts)
	case relunet.MethodLM:
		opts := relunet.DefaultLMOptions(c.Hidden)
		opts.Seed, opts.Alpha, opts.MemoryLimit = c.Seed, c.Alpha, c.MemoryLimit
		if c.Iterations != 0 {
			opts.Iterations = c.Iterations
		}
		return relunet.NewLM(X, Y, opts)
	}
	return nil, fmt.Errorf("experiment: unknown method %v", c.Method)
}

// total returns the planned number of steps of the configuration.
func (c Config) total() int {
	if c.Iterations != 0 {
		return c.Iterations
	}
	switch c.Method {
	case relunet.MethodSGD, relunet.MethodAdam:
		return relunet.DefaultSGDOptions(1).Epochs
	case relunet.MethodLBFGS:
		return relunet.DefaultLBFGSOptions(1).Iterations
	case relunet.MethodLM:
		return relunet.DefaultLMOptions(1).Iterations
	}
	return relunet.DefaultAnalyticOptions(1).Iterations
}

// Result is the outcome of one run.
type Result struct {
	Dataset string
	Config  Config
	NTrain  int
	NTest   int
	Metrics
	// Status says why the run stopped; with relunet.Failure, Err says why it
	// failed, and the metrics are NaN.
	Status relunet.Status
	Err    error
	// Iterations is the number of steps done, Seconds their wall time.
	Iterations int
	Seconds    float64
	// Curve is the training MSE of the initial model followed by one value
	// per step; CurveSeconds the cumulative wall time at each.
	Curve, CurveSeconds []float64
}

// Run trains a network on the split with the configuration and returns its
// metrics and training curve. A run that fails on the way (a diverging
// gradient method, say) is a result too: Run returns it with Status
// relunet.Failure and the same error in Err and as its error. Run returns
// a nil result only when the run cannot start (bad settings or data).
func Run(sp *Split, cfg Config) (*Result, error) {
	if sp == nil {
		return nil, fmt.Errorf("experiment: Run: no split")
	}
	s, err := cfg.Solver(sp.XTrain, sp.YTrain)
	if err != nil {
		return nil, err
	}
	return drive(sp, cfg, s)
}

// drive steps s to its end and evaluates its network.
func drive(sp *Split, cfg Config, s relunet.Solver) (*Result, error) {
	res := &Result{Dataset: sp.Name, Config: cfg, NTrain: len(sp.TrainRows), NTest: len(sp.TestRows)}
	total := cfg.total()
	start := s.Last().Elapsed
	res.Curve, res.CurveSeconds = []float64{sp.Unscale(s.Loss())}, []float64{0}
	for s.Step() {
		r := s.Last()
		res.Curve = append(res.Curve, sp.Unscale(r.Loss))
		res.CurveSeconds = append(res.CurveSeconds, r.Elapsed-start)
		if cfg.Progress != nil {
			cfg.Progress(r, len(res.Curve)-1, total)
		}
	}
	if r := s.Last(); r.Iter > len(res.Curve)-1 {
		// The step that failed is recorded without Step returning true.
		res.Curve = append(res.Curve, sp.Unscale(r.Loss))
		res.CurveSeconds = append(res.CurveSeconds, r.Elapsed-start)
	}
	res.Status, res.Iterations = s.Status(), len(res.Curve)-1
	res.Seconds = res.CurveSeconds[len(res.CurveSeconds)-1]
	res.Metrics = Metrics{TrainMSE: math.NaN(), TestMSE: math.NaN(), TrainR2: math.NaN(), TestR2: math.NaN()}
	if err := s.Err(); err != nil {
		res.Err = err
		return res, err
	}
	m, err := sp.Evaluate(s.Net())
	if err != nil {
		res.Status, res.Err = relunet.Failure, err
		return res, err
	}
	res.Metrics = m
	return res, nil
}

// Failed reports whether the run failed.
func (r *Result) Failed() bool { return r.Err != nil }
