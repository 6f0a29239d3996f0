package experiment

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/relunet/relunet/relunet"
	"github.com/relunet/relunet/relunet/internal/sysmem"
)

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
	// Iterations is the number of steps done (over all starts and the
	// polish), Seconds the run's wall time, Starts the number of starts.
	Iterations int
	Seconds    float64
	Starts     int
	// Curve is the training MSE of the network the run would return if it
	// stopped there: the initial model's, then one value per step. With
	// restarts, explore or polish, each start and stage adds a point for its
	// initial network, and the value is the lowest so far. CurveSeconds is
	// the wall time of each, counted like Budget from before the first
	// solver is made.
	Curve, CurveSeconds []float64
}

// Failed reports whether the run failed.
func (r *Result) Failed() bool { return r.Err != nil }

// Run trains a network on the split with the configuration and returns its
// metrics and training curve, its work stopped by ctx. A run that fails on
// the way (a diverging gradient method, say) is a result too: Run returns
// it with Status relunet.Failure and the same error in Err and as its
// error. Run returns a nil result when the run cannot start (bad settings
// or data) and when ctx ends (an interrupt): then its error wraps ctx's.
//
// An analytic configuration with restarts runs its starts, Parallel at a
// time, and keeps the network with the lowest training MSE (each start's
// best iterate); with Explore each start has a plain and a safeguarded
// stage; with Polish, the kept network is then trained further with L-BFGS
// or LM on all weights.
func Run(ctx context.Context, sp *Split, cfg Config) (*Result, error) {
	if ctx == nil {
		return nil, errors.New("experiment: Run: nil context (use context.Background())")
	}
	if sp == nil {
		return nil, errors.New("experiment: Run: no split")
	}
	if err := cfg.check(); err != nil {
		return nil, err
	}
	r := &run{sp: sp, cfg: cfg, t0: time.Now(), total: cfg.total(), low: math.Inf(1)}
	r.res = &Result{Dataset: sp.Name, Config: cfg, NTrain: len(sp.TrainRows), NTest: len(sp.TestRows),
		Metrics: Metrics{TrainMSE: math.NaN(), TestMSE: math.NaN(), TrainR2: math.NaN(), TestR2: math.NaN()}}
	res, err := r.run(ctx)
	if cerr := ctx.Err(); cerr != nil {
		// The caller's context ended: an interrupt, not a result.
		return nil, fmt.Errorf("experiment: %s on %s: %w", cfg.Label(), sp.Name, context.Cause(ctx))
	}
	return res, err
}

// run is the state of one Run: the curve so far and the lowest loss.
// Parallel starts share it; mu guards res and low.
type run struct {
	sp    *Split
	cfg   Config
	t0    time.Time
	total int

	mu  sync.Mutex
	res *Result
	low float64 // the lowest training MSE (scaled) of every start so far
}

// deadline returns a context that ends at the share of the budget (all of
// it for 1), or ctx itself without a budget.
func (r *run) deadline(ctx context.Context, share float64) (context.Context, context.CancelFunc) {
	if r.cfg.Budget <= 0 {
		return context.WithCancel(ctx)
	}
	return context.WithDeadline(ctx, r.t0.Add(time.Duration(share*float64(r.cfg.Budget))))
}

func (r *run) run(ctx context.Context) (*Result, error) {
	cfg := r.cfg
	if err := cfg.lmFits(r.sp); err != nil {
		return r.fail(err)
	}
	plan := cfg.Method == relunet.MethodAnalytic && (cfg.Restarts != 0 || cfg.Explore || cfg.Polish != NoPolish)
	if !plan {
		dctx, cancel := r.deadline(ctx, 1)
		defer cancel()
		s, err := cfg.solver(dctx, r.sp.XTrain, r.sp.YTrain, nil)
		if err != nil {
			if timedOut(dctx, ctx) {
				return r.fail(fmt.Errorf("experiment: %s: the budget of %v ended before the first network was made", cfg.Label(), cfg.Budget))
			}
			return nil, err
		}
		r.res.Starts = 1
		r.drive(s, false)
		return r.finish(s, s.Net())
	}
	share := 1.0
	if cfg.Polish != NoPolish {
		share = 1 - PolishShare
	}
	sctx, cancel := r.deadline(ctx, share)
	defer cancel()
	keep, last, err := r.starts(sctx)
	if err != nil {
		if r.res.Starts == 0 && !timedOut(sctx, ctx) {
			return nil, err // the first start cannot be made: bad settings or data
		}
		return r.fail(err)
	}
	if last.Err() != nil {
		return r.finish(last, nil)
	}
	if cfg.Polish == NoPolish {
		return r.finish(last, keep)
	}
	pctx, pcancel := r.deadline(ctx, 1)
	defer pcancel()
	pc := Config{Method: cfg.Polish.method(), Hidden: cfg.Hidden, Seed: cfg.Seed, Alpha: cfg.Alpha, MemoryLimit: cfg.MemoryLimit, Budget: cfg.Budget}
	s, err := pc.solver(pctx, r.sp.XTrain, r.sp.YTrain, keep)
	if err != nil {
		if timedOut(pctx, ctx) {
			return r.finish(last, keep) // no time left for the polish
		}
		return r.fail(fmt.Errorf("experiment: polish: %w", err))
	}
	r.drive(s, false)
	return r.finish(s, s.Best().Net)
}

// timedOut reports whether the budget's context inner ended while the
// caller's outer did not.
func timedOut(inner, outer context.Context) bool {
	return errors.Is(inner.Err(), context.DeadlineExceeded) && outer.Err() == nil
}

// fastMultiplyAdds is more multiply-adds per second than LM's JᵀJ does on
// any machine this code runs on (gonum's SymRankK, about 3e9 to 5e9 on two
// cores here): a step whose count exceeds the budget at this rate surely
// cannot end within it.
const fastMultiplyAdds = 1e11

// lmFits reports, for a budgeted run that uses LM, when one LM step cannot
// end within LM's share of the budget: the step forms JᵀJ from n·m
// residuals and P weights, n·m·P²/2 multiply-adds (on the patches, hours).
func (c Config) lmFits(sp *Split) error {
	budget := c.Budget
	switch {
	case budget <= 0:
		return nil
	case c.Method == relunet.MethodLM:
	case c.Polish == PolishLM:
		budget = time.Duration(float64(budget) * PolishShare)
	default:
		return nil
	}
	n, d := sp.XTrain.Dims()
	_, m := sp.YTrain.Dims()
	P := float64(c.Hidden)*float64(d+1) + float64(c.Hidden+1)*float64(m)
	if cost := float64(n) * float64(m) * P * P / 2; cost > fastMultiplyAdds*budget.Seconds() {
		return fmt.Errorf("experiment: %s: one LM step forms JᵀJ from %d×%d residuals and %.0f weights, about %.2g multiply-adds, which no machine does within the %v it has",
			c.Label(), n, m, P, cost, budget)
	}
	return nil
}

// point appends a curve point for a solver's loss; the caller holds mu.
func (r *run) point(loss float64) {
	r.res.Curve = append(r.res.Curve, r.sp.Unscale(loss))
	r.res.CurveSeconds = append(r.res.CurveSeconds, time.Since(r.t0).Seconds())
}

// starts runs the analytic starts 0, 1, ... (all of them when Restarts < 0)
// until they are done or ctx ends, Parallel at once, and returns the
// network with the lowest training MSE (of the lowest-numbered start among
// equals, so that the result does not depend on the order in which
// parallel starts finish), a solver of the start that failed or else of
// the last one to finish, and an error when a start could not be made.
func (r *run) starts(ctx context.Context) (keep *relunet.Net, last relunet.Solver, err error) {
	cfg := r.cfg
	n := cfg.Restarts
	if n == 0 {
		n = 1
	}
	par := max(cfg.Parallel, 1)
	if n > 0 {
		par = min(par, n)
	}
	mem := cfg.MemoryLimit
	if par > 1 {
		// The starts at once share the limit.
		if mem == 0 {
			mem = 8 << 30
			if b, ok := sysmem.Available(); ok {
				mem = b
			}
		}
		if mem > 0 {
			mem = max(mem/int64(par), 1)
		}
	}
	workers := cfg.workers()
	var (
		next     int
		keepLoss = math.Inf(1)
		keepK    = -1
		failed   relunet.Solver
		wg       sync.WaitGroup
	)
	// stage drives one solver of start k and keeps its best network; it
	// reports whether the solver did not fail.
	stage := func(k int, s relunet.Solver) bool {
		ok := r.drive(s, true)
		best := s.Best()
		r.mu.Lock()
		defer r.mu.Unlock()
		last = s
		if !ok {
			failed = s
			return false
		}
		if best.Loss < keepLoss || (best.Loss == keepLoss && k < keepK) {
			keep, keepLoss, keepK = best.Net, best.Loss, k
		}
		return true
	}
	made := func(serr error) bool {
		if serr == nil {
			return true
		}
		r.mu.Lock()
		defer r.mu.Unlock()
		switch {
		case ctx.Err() != nil && keep == nil && err == nil:
			err = fmt.Errorf("experiment: %s: the budget of %v ended before the first network was made", cfg.Label(), cfg.Budget)
		case ctx.Err() != nil:
			// The budget ended while the start was made: the run is over.
		case err == nil:
			err = serr
		}
		return false
	}
	worker := func() {
		defer wg.Done()
		for {
			r.mu.Lock()
			k := next
			stop := (n >= 0 && k >= n) || failed != nil || err != nil || (k > 0 && ctx.Err() != nil)
			if !stop {
				next++
			}
			r.mu.Unlock()
			if stop {
				return
			}
			c := cfg
			c.Seed, c.Restarts, c.Parallel, c.Polish, c.Workers, c.MemoryLimit = RestartSeed(cfg.Seed, k), 0, 0, NoPolish, workers, mem
			if c.Explore {
				c.Safeguard = false // the first stage is the plain alternation
			}
			s, serr := c.solver(ctx, r.sp.XTrain, r.sp.YTrain, nil)
			if !made(serr) {
				return
			}
			r.mu.Lock()
			r.res.Starts++
			r.mu.Unlock()
			if !stage(k, s) {
				return
			}
			if cfg.Explore && ctx.Err() == nil {
				c.Explore, c.Safeguard = false, true
				s, serr = c.solver(ctx, r.sp.XTrain, r.sp.YTrain, s.Best().Net)
				if !made(serr) || !stage(k, s) {
					return
				}
			}
		}
	}
	wg.Add(par)
	for range par {
		go worker()
	}
	wg.Wait()
	if failed != nil {
		last = failed
	}
	if err == nil && keep == nil && ctx.Err() != nil {
		err = fmt.Errorf("experiment: %s: the budget of %v ended before the first network was made", cfg.Label(), cfg.Budget)
	}
	if ctx.Err() != nil {
		r.res.Status = relunet.RuntimeLimit
	}
	return keep, last, err
}

// drive steps s until it stops, recording a curve point per step: s's
// loss, or with best the lowest training MSE of every start so far. It
// reports whether s did not fail. Parallel starts drive their solvers at
// once.
func (r *run) drive(s relunet.Solver, best bool) bool {
	// record adds a point for s's state, and counts a step when step.
	record := func(step bool) {
		v := s.Last().Loss
		if best {
			v = s.Best().Loss
		}
		r.mu.Lock()
		defer r.mu.Unlock()
		if best {
			r.low = math.Min(r.low, v)
			v = r.low
		}
		r.point(v)
		if step {
			r.res.Iterations++
			if r.cfg.Progress != nil {
				r.cfg.Progress(s.Last(), r.res.Iterations, r.total)
			}
		}
	}
	record(false)
	for s.Step() {
		record(true)
	}
	r.mu.Lock()
	if r.res.Status != relunet.RuntimeLimit { // once the budget stopped a stage, it stopped the run
		r.res.Status = s.Status()
	}
	r.mu.Unlock()
	return s.Status() != relunet.Failure
}

// finish evaluates net (s's current one when nil) and completes the
// result; a failure of s makes it a failed result.
func (r *run) finish(s relunet.Solver, net *relunet.Net) (*Result, error) {
	if s != nil && s.Status() == relunet.Canceled {
		return nil, s.Err() // an interrupt: no result, and nothing to evaluate
	}
	res := r.res
	res.Seconds = res.CurveSeconds[len(res.CurveSeconds)-1]
	if s != nil {
		if s.Status() == relunet.Failure {
			return r.fail(s.Err())
		}
		if net == nil {
			net = s.Net()
		}
	}
	m, err := r.sp.Evaluate(net)
	if err != nil {
		return r.fail(err)
	}
	res.Metrics = m
	return res, nil
}

// fail makes the result a failure with err.
func (r *run) fail(err error) (*Result, error) {
	res := r.res
	if len(res.Curve) == 0 {
		r.point(math.NaN())
	}
	res.Seconds = res.CurveSeconds[len(res.CurveSeconds)-1]
	res.Metrics = Metrics{TrainMSE: math.NaN(), TestMSE: math.NaN(), TrainR2: math.NaN(), TestR2: math.NaN()}
	res.Status, res.Err = relunet.Failure, err
	return res, err
}
