package experiment

import (
	"fmt"
	"math"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

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
	// Adam, 500 L-BFGS, 100 LM), or no limit but the Budget when there is one.
	Iterations int
	// Budget, when positive, is the run's wall time, counted from before
	// its solver is made: no step starts after it (the last one may end a
	// little past it), and a run that it stops has Status
	// relunet.RuntimeLimit. 0 means no time limit.
	Budget time.Duration

	// Analytic only.
	Ridge       float64 // λ, used as it is (DefaultConfig sets 0.001)
	Safeguard   bool
	MemoryLimit int64 // bytes; 0: what the process may use (see relunet.AnalyticOptions)
	// DataInit starts every hidden hyperplane through a training row
	// (relunet.AnalyticOptions.DataInit) instead of W ~ N(0, 1).
	DataInit bool
	// Explore runs each start in two stages: the plain alternation until it
	// stops, then the safeguarded one from the plain stage's best network
	// until that stops. The plain alternation may raise the loss, and so
	// moves between activation patterns more freely; the safeguard then
	// descends from the best pattern it found.
	Explore bool
	// Restarts is the number of independent starts, each run until it
	// stops (or until the Budget), of which the network with the lowest
	// training MSE is kept: start k has the seed RestartSeed(Seed, k). 0
	// means one start; a negative number means as many as the Budget
	// allows, and needs one.
	Restarts int
	// Parallel is the number of starts run at once, each solver then with
	// GOMAXPROCS/Parallel workers unless Workers says otherwise; 0 or 1
	// means one at a time. It pays where a start is too small to keep
	// every core busy.
	Parallel int
	// Workers bounds each analytic solver's goroutines
	// (relunet.AnalyticOptions.Workers); 0 means GOMAXPROCS, or with
	// Parallel starts GOMAXPROCS/Parallel.
	Workers int
	// Polish, when MethodLBFGS or MethodLM, continues from the kept
	// network with that method on all weights: for the last PolishShare of
	// the Budget, or for its default iterations without one. The zero
	// value, MethodAnalytic, means no polish.
	Polish relunet.Method

	// SGD and Adam only: 0 means the method's default (SGD: lr 0.03, batch
	// 2048, cut ×0.1 at epochs 100 and 200, or at each third of Iterations;
	// Adam: lr 0.001, batch 256).
	LR    float64
	Batch int
	// Progress, when not nil, is called after every step with the record,
	// the steps done and the planned total (0 when only the Budget bounds
	// the run).
	Progress func(r relunet.Record, done, total int) `json:"-"`
}

// BudgetLabel is the analytic configuration for a budget: the safeguarded
// alternation from hidden hyperplanes through training rows, run until it
// stops, and restarted while time is left. It was chosen from measurements
// at equal budgets on nine data sets (abalone, bike, SDF and patches; sin,
// sinx2, teacher, shape-sdf and yearlike; 2 to 3 seeds each). Of the four
// best variants (with or without datainit, with the safeguard or explore,
// all with restarts) its training MSE had the best mean rank and the
// lowest geometric mean of its ratio to the best on each set (1.02, at
// worst 1.16 on the SDF). No variant was best everywhere: explore with
// restarts was the lowest of the four on three sets but 11 times the best
// on sin; an L-BFGS polish moved a single start's training MSE by less than
// 0.4 % on six of seven sets (5 % on sin). The README's "Equal wall time"
// has the numbers.
const BudgetLabel = "analytic+safeguard+datainit+restarts"

// PolishShare is the share of a Budget that a polish stage gets; the starts
// before it share the rest.
const PolishShare = 0.5

// DefaultConfig returns the reference settings for the method with h hidden
// units: λ = 0.001, ReLU, seed 0, the method's default length.
func DefaultConfig(m relunet.Method, h int) Config {
	return Config{Method: m, Hidden: h, Ridge: relunet.DefaultAnalyticOptions(h).Ridge}
}

// Label names the configuration's method and its options that change the
// method, as ParseConfig reads them: "sgd", "analytic+safeguard",
// "analytic+safeguard+datainit+restarts+polish=lbfgs".
func (c Config) Label() string {
	l := c.Method.String()
	if c.Method != relunet.MethodAnalytic {
		return l
	}
	if c.Safeguard {
		l += "+safeguard"
	}
	if c.DataInit {
		l += "+datainit"
	}
	if c.Explore {
		l += "+explore"
	}
	switch {
	case c.Restarts < 0:
		l += "+restarts"
	case c.Restarts > 1:
		l += fmt.Sprintf("+restarts=%d", c.Restarts)
	}
	if c.Parallel > 1 {
		l += fmt.Sprintf("+parallel=%d", c.Parallel)
	}
	if c.Polish != relunet.MethodAnalytic {
		l += "+polish=" + c.Polish.String()
	}
	return l
}

// ParseConfig returns DefaultConfig for a label: a method name followed by
// options, each after a "+". The analytic method takes "safeguard",
// "datainit", "explore", "parallel=N", "restarts" (as many as the budget allows), "restarts=N" and
// "polish=lbfgs" or "polish=lm".
func ParseConfig(label string, h int) (Config, error) {
	parts := strings.Split(label, "+")
	m, err := relunet.ParseMethod(parts[0])
	if err != nil {
		return Config{}, err
	}
	c := DefaultConfig(m, h)
	bad := func(why string) (Config, error) {
		return Config{}, fmt.Errorf("experiment: %q: %s", label, why)
	}
	for _, opt := range parts[1:] {
		if m != relunet.MethodAnalytic {
			return bad(fmt.Sprintf("%s takes no option %q", m, opt))
		}
		name, val, hasVal := strings.Cut(opt, "=")
		switch {
		case opt == "safeguard":
			c.Safeguard = true
		case opt == "datainit":
			c.DataInit = true
		case opt == "explore":
			c.Explore = true
		case opt == "restarts":
			c.Restarts = -1
		case name == "restarts" && hasVal:
			n, err := strconv.Atoi(val)
			if err != nil || n < 2 {
				return bad(fmt.Sprintf("restarts=%s: want a whole number of starts from 2, or \"restarts\" alone for as many as the budget allows", val))
			}
			c.Restarts = n
		case name == "parallel" && hasVal:
			n, err := strconv.Atoi(val)
			if err != nil || n < 2 {
				return bad(fmt.Sprintf("parallel=%s: want the number of starts run at once, from 2", val))
			}
			c.Parallel = n
		case name == "polish" && hasVal:
			p, err := relunet.ParseMethod(val)
			if err != nil || (p != relunet.MethodLBFGS && p != relunet.MethodLM) {
				return bad(fmt.Sprintf("polish=%s: want polish=lbfgs or polish=lm", val))
			}
			c.Polish = p
		default:
			return bad(fmt.Sprintf("analytic takes no option %q (have safeguard, datainit, explore, restarts, restarts=N, parallel=N, polish=lbfgs, polish=lm)", opt))
		}
	}
	return c, nil
}

// RestartSeed returns the seed of start k of a run with the given seed:
// the seed itself for k = 0, so that one start is the plain run.
func RestartSeed(seed uint64, k int) uint64 {
	return seed ^ uint64(k)*0x9e3779b97f4a7c15
}

// check reports settings that cannot run.
func (c Config) check() error {
	switch {
	case c.Budget < 0:
		return fmt.Errorf("experiment: %s: Budget must not be negative, have %v", c.Label(), c.Budget)
	case c.Restarts < 0 && c.Budget == 0:
		return fmt.Errorf("experiment: %s: as many restarts as the budget allows needs a Budget (-budget)", c.Label())
	case c.Method != relunet.MethodAnalytic && (c.Restarts != 0 || c.DataInit || c.Explore || c.Parallel != 0 || c.Polish != relunet.MethodAnalytic):
		return fmt.Errorf("experiment: %s: restarts, data initialisation, explore, parallel starts and polish are options of the analytic method", c.Label())
	case c.Parallel < 0 || c.Workers < 0:
		return fmt.Errorf("experiment: %s: Parallel and Workers must not be negative, have %d and %d", c.Label(), c.Parallel, c.Workers)
	case c.Parallel > 1 && c.Restarts == 0:
		return fmt.Errorf("experiment: %s: parallel starts need restarts", c.Label())
	case c.Polish != relunet.MethodAnalytic && c.Polish != relunet.MethodLBFGS && c.Polish != relunet.MethodLM:
		return fmt.Errorf("experiment: %s: polish with %v: want L-BFGS or LM", c.Label(), c.Polish)
	}
	return nil
}

// Solver returns the configured solver for inputs X and targets Y: one
// start of the configuration, without its polish.
func (c Config) Solver(X, Y mat.Matrix) (relunet.Solver, error) {
	return c.solver(X, Y, nil)
}

// iterations returns the solver's iteration limit: Iterations when set,
// none (0) under a Budget, else the method's default.
func (c Config) iterations(def int) int {
	switch {
	case c.Iterations != 0:
		return c.Iterations
	case c.Budget > 0:
		return 0
	}
	return def
}

// solver returns the configured solver, starting from init when not nil
// (the explore and polish stages).
func (c Config) solver(X, Y mat.Matrix, init *relunet.Net) (relunet.Solver, error) {
	if err := c.check(); err != nil {
		return nil, err
	}
	switch c.Method {
	case relunet.MethodAnalytic:
		opts := relunet.DefaultAnalyticOptions(c.Hidden)
		opts.Seed, opts.Alpha, opts.Ridge, opts.Safeguard, opts.MemoryLimit = c.Seed, c.Alpha, c.Ridge, c.Safeguard, c.MemoryLimit
		opts.DataInit, opts.Init, opts.Workers = c.DataInit, init, c.Workers
		opts.Iterations = c.iterations(opts.Iterations)
		return relunet.NewAnalytic(X, Y, opts)
	case relunet.MethodSGD, relunet.MethodAdam:
		opts := relunet.DefaultSGDOptions(c.Hidden)
		if c.Method == relunet.MethodAdam {
			opts = relunet.DefaultAdamOptions(c.Hidden)
		}
		opts.Seed, opts.Alpha = c.Seed, c.Alpha
		switch {
		case c.Iterations != 0 && opts.DecayEvery > 0:
			// Keep the reference's three learning-rate stages over another length.
			opts.DecayEvery = max(1, c.Iterations/3)
		case c.Budget > 0:
			// The reference's two cuts (at epochs 100 and 200), then a
			// constant rate for as long as the budget lasts.
			opts.MaxDecays = 2
		}
		opts.Epochs = c.iterations(opts.Epochs)
		if c.LR != 0 {
			opts.LR = c.LR
		}
		if c.Batch != 0 {
			opts.Batch = c.Batch
		}
		return relunet.NewDescent(X, Y, opts)
	case relunet.MethodLBFGS:
		opts := relunet.DefaultLBFGSOptions(c.Hidden)
		opts.Seed, opts.Alpha, opts.Init = c.Seed, c.Alpha, init
		opts.Iterations = c.iterations(opts.Iterations)
		return relunet.NewLBFGS(X, Y, opts)
	case relunet.MethodLM:
		opts := relunet.DefaultLMOptions(c.Hidden)
		opts.Seed, opts.Alpha, opts.MemoryLimit, opts.Init = c.Seed, c.Alpha, c.MemoryLimit, init
		opts.Iterations = c.iterations(opts.Iterations)
		return relunet.NewLM(X, Y, opts)
	}
	return nil, fmt.Errorf("experiment: unknown method %v", c.Method)
}

// total returns the planned number of steps of the configuration.
func (c Config) total() int {
	if c.Iterations != 0 || c.Budget > 0 {
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

// Run trains a network on the split with the configuration and returns its
// metrics and training curve. A run that fails on the way (a diverging
// gradient method, say) is a result too: Run returns it with Status
// relunet.Failure and the same error in Err and as its error. Run returns
// a nil result only when the run cannot start (bad settings or data).
//
// An analytic configuration with restarts runs its starts one after the
// other and keeps the network with the lowest training MSE (each start's
// best iterate); with Explore each start has a plain and a safeguarded
// stage; with Polish, the kept network is then trained further with L-BFGS
// or LM on all weights.
func Run(sp *Split, cfg Config) (*Result, error) {
	if sp == nil {
		return nil, fmt.Errorf("experiment: Run: no split")
	}
	if err := cfg.check(); err != nil {
		return nil, err
	}
	r := &run{sp: sp, cfg: cfg, t0: time.Now(), total: cfg.total(), low: math.Inf(1)}
	r.res = &Result{Dataset: sp.Name, Config: cfg, NTrain: len(sp.TrainRows), NTest: len(sp.TestRows),
		Metrics: Metrics{TrainMSE: math.NaN(), TestMSE: math.NaN(), TrainR2: math.NaN(), TestR2: math.NaN()}}
	if err := cfg.lmFits(sp); err != nil {
		return r.fail(nil, err)
	}
	plan := cfg.Method == relunet.MethodAnalytic && (cfg.Restarts != 0 || cfg.Explore || cfg.Polish != relunet.MethodAnalytic)
	if !plan {
		s, err := cfg.Solver(sp.XTrain, sp.YTrain)
		if err != nil {
			return nil, err
		}
		r.res.Starts = 1
		r.drive(s, cfg.Budget, false)
		return r.finish(s, s.Net())
	}
	starts, end := cfg.Restarts, cfg.Budget
	if starts == 0 {
		starts = 1
	}
	if cfg.Polish != relunet.MethodAnalytic && end > 0 {
		end = time.Duration(float64(end) * (1 - PolishShare))
	}
	keep, last, err := r.starts(starts, end)
	if err != nil {
		if r.res.Starts == 0 {
			return nil, err // the first start cannot be made: bad settings or data
		}
		return r.fail(nil, err)
	}
	if last.Err() != nil {
		return r.finish(last, nil)
	}
	if cfg.Polish == relunet.MethodAnalytic {
		return r.finish(last, keep)
	}
	pc := Config{Method: cfg.Polish, Hidden: cfg.Hidden, Seed: cfg.Seed, Alpha: cfg.Alpha, MemoryLimit: cfg.MemoryLimit,
		Budget: cfg.Budget}
	s, err := pc.solver(sp.XTrain, sp.YTrain, keep)
	if err != nil {
		return r.fail(nil, fmt.Errorf("experiment: polish: %w", err))
	}
	r.drive(s, cfg.Budget, false)
	net, _, _ := s.Best()
	return r.finish(s, net)
}

// fastMultiplyAdds is more multiply-adds per second than LM's JᵀJ does on
// any machine this code runs on (gonum's SymRankK, about 3e9 to 5e9 on two
// cores here): a step whose count exceeds the budget at this rate surely
// cannot end within it. Steps that merely might overrun are still taken.
const fastMultiplyAdds = 1e11

// lmFits reports, for a budgeted run that uses LM, when one LM step cannot
// end within LM's share of the budget: the step forms JᵀJ from n·m
// residuals and P weights, n·m·P²/2 multiply-adds (on the patches, hours),
// and a step once started is finished.
func (c Config) lmFits(sp *Split) error {
	budget := c.Budget
	switch {
	case budget <= 0:
		return nil
	case c.Method == relunet.MethodLM:
	case c.Polish == relunet.MethodLM:
		budget = time.Duration(float64(budget) * PolishShare)
	default:
		return nil
	}
	n, d := sp.XTrain.Dims()
	_, m := sp.YTrain.Dims()
	P := float64(c.Hidden*(d+1) + (c.Hidden+1)*m)
	if cost := float64(n) * float64(m) * P * P / 2; cost > fastMultiplyAdds*budget.Seconds() {
		return fmt.Errorf("experiment: %s: one LM step forms JᵀJ from %d×%d residuals and %.0f weights, about %.2g multiply-adds, which no machine does within the %v it has",
			c.Label(), n, m, P, cost, budget)
	}
	return nil
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

// point appends a curve point for a solver's loss; the caller holds mu.
func (r *run) point(loss float64) {
	r.res.Curve = append(r.res.Curve, r.sp.Unscale(loss))
	r.res.CurveSeconds = append(r.res.CurveSeconds, time.Since(r.t0).Seconds())
}

// starts runs the analytic starts 0, 1, ... (all of them when n < 0)
// until n are done or the time end (when positive) has come, Parallel at
// once, and returns the network with the lowest training MSE (of the
// lowest-numbered start among equals, so that the result does not depend
// on the order in which parallel starts finish), a solver of the start
// that failed or else of the last one to finish, and an error when a start
// could not be made.
func (r *run) starts(n int, end time.Duration) (keep *relunet.Net, last relunet.Solver, err error) {
	cfg := r.cfg
	par := max(cfg.Parallel, 1)
	workers := cfg.Workers
	if workers == 0 && par > 1 {
		workers = max(runtime.GOMAXPROCS(0)/par, 1)
	}
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
		ok := r.drive(s, end, true)
		net, loss, _ := s.Best()
		r.mu.Lock()
		defer r.mu.Unlock()
		last = s
		if !ok {
			failed = s
			return false
		}
		if loss < keepLoss || (loss == keepLoss && k < keepK) {
			keep, keepLoss, keepK = net, loss, k
		}
		return true
	}
	run := func() {
		defer wg.Done()
		for {
			r.mu.Lock()
			k := next
			stop := (n >= 0 && k >= n) || failed != nil || err != nil
			if !stop && k > 0 && end > 0 && time.Since(r.t0) >= end {
				stop, r.res.Status = true, relunet.RuntimeLimit
			}
			if stop {
				r.mu.Unlock()
				return
			}
			next++
			r.mu.Unlock()
			c := cfg
			c.Seed, c.Restarts, c.Parallel, c.Polish, c.Workers = RestartSeed(cfg.Seed, k), 0, 0, relunet.MethodAnalytic, workers
			if c.Explore {
				c.Safeguard = false // the first stage is the plain alternation
			}
			s, serr := c.Solver(r.sp.XTrain, r.sp.YTrain)
			if serr != nil {
				r.mu.Lock()
				err = serr
				r.mu.Unlock()
				return
			}
			r.mu.Lock()
			r.res.Starts++
			r.mu.Unlock()
			if !stage(k, s) {
				return
			}
			if cfg.Explore && (end <= 0 || time.Since(r.t0) < end) {
				net, _, _ := s.Best()
				c.Explore, c.Safeguard = false, true
				if s, serr = c.solver(r.sp.XTrain, r.sp.YTrain, net); serr != nil {
					r.mu.Lock()
					err = serr
					r.mu.Unlock()
					return
				}
				if !stage(k, s) {
					return
				}
			}
		}
	}
	wg.Add(par)
	for range par {
		go run()
	}
	wg.Wait()
	if failed != nil {
		last = failed
	}
	if err == nil && end > 0 && time.Since(r.t0) >= end {
		r.res.Status = relunet.RuntimeLimit
	}
	return keep, last, err
}

// drive steps s until it stops or the time end (when positive) is
// reached, recording a curve point per step: s's loss, or with best the
// lowest training MSE of every start so far. It reports whether s did not
// fail. Parallel starts drive their solvers at once.
func (r *run) drive(s relunet.Solver, end time.Duration, best bool) bool {
	// record adds a point for s's state, and counts a step when step.
	record := func(step bool) {
		v := s.Loss()
		if best {
			_, b, _ := s.Best()
			v = b
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
	steps := 0
	for {
		if end > 0 && time.Since(r.t0) >= end {
			r.mu.Lock()
			r.res.Status = relunet.RuntimeLimit
			r.mu.Unlock()
			return true
		}
		if !s.Step() {
			break
		}
		steps++
		record(true)
	}
	if s.Last().Iter > steps && s.Status() == relunet.Failure {
		// The step that failed is recorded without Step returning true.
		best = false
		record(true)
	}
	r.mu.Lock()
	r.res.Status = s.Status()
	r.mu.Unlock()
	return s.Err() == nil
}

// finish evaluates net (s's current one when nil) and completes the
// result; a failure of s makes it a failed result.
func (r *run) finish(s relunet.Solver, net *relunet.Net) (*Result, error) {
	res := r.res
	res.Seconds = res.CurveSeconds[len(res.CurveSeconds)-1]
	if s != nil {
		if err := s.Err(); err != nil {
			return r.fail(s, err)
		}
		if net == nil {
			net = s.Net()
		}
	}
	m, err := r.sp.Evaluate(net)
	if err != nil {
		return r.fail(nil, err)
	}
	res.Metrics = m
	return res, nil
}

// fail makes the result a failure with err.
func (r *run) fail(s relunet.Solver, err error) (*Result, error) {
	res := r.res
	if len(res.Curve) == 0 {
		r.point(math.NaN())
	}
	res.Seconds = res.CurveSeconds[len(res.CurveSeconds)-1]
	res.Metrics = Metrics{TrainMSE: math.NaN(), TestMSE: math.NaN(), TrainR2: math.NaN(), TestR2: math.NaN()}
	res.Status, res.Err = relunet.Failure, err
	return res, err
}

// Failed reports whether the run failed.
func (r *Result) Failed() bool { return r.Err != nil }
