package relunet

import (
	"fmt"
	"time"
)

// Methods are the training methods Train knows, in the order of the paper's
// comparisons.
func Methods() []string {
	return []string{"analytic", "analytic-safeguard", "sgd", "adam", "lbfgs"}
}

// RunConfig is one training run of Train. DefaultRunConfig returns the
// reference protocol's settings for a method.
type RunConfig struct {
	Method string
	Hidden int
	Seed   uint64
	Iters  int     // iterations or epochs; 0: 30 analytic, 300 SGD and Adam, 500 L-BFGS
	Alpha  float64 // leaky slope
	Ridge  float64 // λ of the analytic method, used as it is
	// Progress, when not nil, is called after every iteration or epoch.
	Progress func(done, total int, loss float64)
}

// RunResult is the outcome of a training run.
type RunResult struct {
	Config RunConfig
	Metrics
	Seconds float64
	// Curve is the training MSE of the initial model followed by one value
	// per iteration or epoch; CurveSeconds the cumulative wall time at each.
	Curve, CurveSeconds []float64
}

// DefaultRunConfig returns the reference settings for the method with h
// hidden units: λ = 0.001, ReLU, seed 0, the method's default length.
func DefaultRunConfig(method string, h int) RunConfig {
	return RunConfig{Method: method, Hidden: h, Ridge: DefaultAnalyticOptions(h).Ridge}
}

// solver is what Train needs of Analytic, Descent and LBFGS.
type solver interface {
	Step() bool
	Err() error
	Net() *Net
	Loss() float64
}

// Train trains a network on the split with the configured method and reports
// its metrics and training curve.
func Train(sp *Split, cfg RunConfig) (*RunResult, error) {
	var (
		s     solver
		total int
	)
	iters := cfg.Iters
	switch cfg.Method {
	case "analytic", "analytic-safeguard":
		opts := DefaultAnalyticOptions(cfg.Hidden)
		opts.Seed, opts.Alpha, opts.Ridge = cfg.Seed, cfg.Alpha, cfg.Ridge
		opts.Safeguard = cfg.Method == "analytic-safeguard"
		if iters > 0 {
			opts.Iterations = iters
		}
		a, err := NewAnalytic(sp.XTrain, sp.YTrain, opts)
		if err != nil {
			return nil, err
		}
		s, total = a, opts.Iterations
	case "sgd", "adam":
		opts := DefaultSGDOptions(cfg.Hidden)
		if cfg.Method == "adam" {
			opts = DefaultAdamOptions(cfg.Hidden)
		}
		opts.Seed, opts.Alpha = cfg.Seed, cfg.Alpha
		if iters > 0 {
			// Keep the reference's three learning-rate stages over a shorter run.
			if opts.DecayEvery > 0 {
				opts.DecayEvery = max(1, iters/3)
			}
			opts.Epochs = iters
		}
		d, err := NewDescent(sp.XTrain, sp.YTrain, opts)
		if err != nil {
			return nil, err
		}
		s, total = d, opts.Epochs
	case "lbfgs":
		opts := DefaultLBFGSOptions(cfg.Hidden)
		opts.Seed, opts.Alpha = cfg.Seed, cfg.Alpha
		if iters > 0 {
			opts.Iterations = iters
		}
		l, err := NewLBFGS(sp.XTrain, sp.YTrain, opts)
		if err != nil {
			return nil, err
		}
		s, total = l, opts.Iterations
	default:
		return nil, fmt.Errorf("relunet: unknown method %q (have %v)", cfg.Method, Methods())
	}
	res := &RunResult{Config: cfg, Curve: []float64{s.Loss()}, CurveSeconds: []float64{0}}
	start := time.Now()
	for s.Step() {
		res.Curve = append(res.Curve, s.Loss())
		res.CurveSeconds = append(res.CurveSeconds, time.Since(start).Seconds())
		if cfg.Progress != nil {
			cfg.Progress(len(res.Curve)-1, total, s.Loss())
		}
	}
	res.Seconds = time.Since(start).Seconds()
	if err := s.Err(); err != nil {
		return nil, err
	}
	m, err := sp.Evaluate(s.Net())
	if err != nil {
		return nil, err
	}
	res.Metrics = m
	return res, nil
}
