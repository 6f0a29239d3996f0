package experiment

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"slices"
	"sync"
	"time"

	"gonum.org/v1/gonum/mat"

	"github.com/relunet/relunet/relunet"
	"github.com/relunet/relunet/relunet/data"
	"github.com/relunet/relunet/relunet/internal/seeded"
	"github.com/relunet/relunet/relunet/internal/sysmem"
)

// Result is the outcome of one run.
type Result struct {
	Dataset string
	Config  Config
	NTrain  int
	NTest   int
	Metrics
	// Validation is the validation MSE of the kept network, in the targets'
	// units, with Config.Validate; NaN without.
	Validation float64
	// Status says why the run stopped; with relunet.Failure, Err says why it
	// failed, and the metrics are NaN.
	Status relunet.Status
	Err    error
	// Iterations is the number of steps done (over all starts and the
	// polish), Seconds the run's wall time until it ended (before its
	// network is evaluated), Starts the number of starts.
	Iterations int
	Seconds    float64
	Starts     int
	// Arms says what the adaptive strategy (Config.Auto) gave each of its
	// variants; nil for the other configurations.
	Arms []ArmReport
	// Curve is the training MSE of the network the run would return if it
	// stopped there: the initial model's, then one value per step. With
	// restarts, explore, polish or validation, each start and stage adds a
	// point for its initial network, and the value is that of the network
	// kept so far. CurveSeconds is the wall time of each, counted like
	// Budget from before the first solver is made.
	Curve, CurveSeconds []float64
}

// ArmReport is what the adaptive strategy gave one of its variants: the
// starts it made, their wall time (summed over starts run at once), and
// the lowest score one of them reached: training MSE, or validation MSE
// with Config.Validate, in the targets' units (NaN before a start ends).
type ArmReport struct {
	Name    string
	Starts  int
	Seconds float64
	Best    float64
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
// or LM on all weights; with Auto, the adaptive strategy chooses (see
// Config.Auto). With Validate, every choice is by validation MSE instead
// (see Config.Validate).
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
	r, err := newRun(sp, cfg)
	if err != nil {
		return nil, err
	}
	res, err := r.run(ctx)
	if cerr := ctx.Err(); cerr != nil {
		// The caller's context ended: an interrupt, not a result.
		return nil, fmt.Errorf("experiment: %s on %s: %w", cfg.Label(), sp.Name, context.Cause(ctx))
	}
	return res, err
}

// run is the state of one Run: the rows the solvers fit (and validate on),
// the network kept so far, and the curve. Starts run at once share it; mu
// guards what follows it.
type run struct {
	sp    *Split
	cfg   Config
	t0    time.Time
	total int
	// xFit, yFit are the rows the solvers train on: all training rows, or
	// without the validation rows xVal, yVal when Validate is set.
	xFit, yFit, xVal, yVal *mat.Dense

	mu  sync.Mutex
	res *Result
	// keep is the network kept so far: the one with the lowest score (the
	// training MSE on the fitting rows, or the validation MSE), from the
	// lowest-numbered start among equals, so that the result does not
	// depend on the order in which starts run at once finish. Scores are
	// in the solvers' (scaled) units.
	keep      *relunet.Net
	keepScore float64
	keepStart int
	keepTrain float64 // its training MSE on all training rows, for the curve
	// ws lends the hidden step's system to the run's analytic solvers,
	// whose starts and arms step a few at a time, so that a new start
	// reuses the memory of those before it instead of touching new memory.
	ws relunet.Workspace
}

// newRun returns the state of a Run of cfg on sp, before any start: its
// result empty, its rows split into fitting and validation rows.
func newRun(sp *Split, cfg Config) (*run, error) {
	r := &run{sp: sp, cfg: cfg, t0: time.Now(), total: cfg.total(), keepScore: math.Inf(1)}
	r.res = &Result{Dataset: sp.Name, Config: cfg, NTrain: len(sp.TrainRows), NTest: len(sp.TestRows), Validation: math.NaN(),
		Metrics: Metrics{TrainMSE: math.NaN(), TestMSE: math.NaN(), TrainR2: math.NaN(), TestR2: math.NaN()}}
	if err := r.splitValidation(); err != nil {
		return nil, err
	}
	return r, nil
}

// splitValidation sets the rows the solvers fit and validate on.
func (r *run) splitValidation() error {
	r.xFit, r.yFit = r.sp.XTrain, r.sp.YTrain
	v := r.cfg.Validate
	if v == 0 {
		return nil
	}
	n := len(r.sp.TrainRows)
	nVal := int(math.Round(v * float64(n)))
	if nVal < 1 || nVal >= n {
		return fmt.Errorf("experiment: %s: a validation share of %v leaves %d of the %d training rows to validate on: want at least one on each side", r.cfg.Label(), v, nVal, n)
	}
	// The validation rows are drawn with the seed, from a stream of their
	// own: the same rows for every configuration with that seed.
	perm := seeded.Data(r.cfg.Seed, validationStream).Perm(n)
	r.xFit, r.yFit = data.SelectRows(r.sp.XTrain, perm[nVal:]), data.SelectRows(r.sp.YTrain, perm[nVal:])
	r.xVal, r.yVal = data.SelectRows(r.sp.XTrain, perm[:nVal]), data.SelectRows(r.sp.YTrain, perm[:nVal])
	return nil
}

// validationStream is the data stream of seeded that draws validation rows.
const validationStream = 7

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
	if cfg.Auto {
		return r.auto(ctx)
	}
	plan := cfg.Method == relunet.MethodAnalytic && (cfg.Restarts != 0 || cfg.Explore || cfg.Polish != NoPolish)
	if !plan {
		dctx, cancel := r.deadline(ctx, 1)
		defer cancel()
		s, err := cfg.solver(dctx, r.xFit, r.yFit, nil)
		if err != nil {
			if timedOut(dctx, ctx) {
				return r.fail(r.tooShort())
			}
			return nil, err
		}
		r.res.Starts = 1
		r.drive(s, 0, r.validating())
		if r.validating() {
			return r.finish(s, r.keep)
		}
		return r.finish(s, s.Net())
	}
	share := 1.0
	if cfg.Polish != NoPolish {
		share = 1 - PolishShare
	}
	sctx, cancel := r.deadline(ctx, share)
	defer cancel()
	n := cfg.Restarts
	if n == 0 {
		n = 1
	}
	last, err := r.starts(sctx, &schedule{arms: []arm{cfg.arm()}}, n, max(cfg.Parallel, 1), cfg.workers())
	if err != nil {
		if r.res.Starts == 0 && !timedOut(sctx, ctx) {
			return nil, err // the first start cannot be made: bad settings or data
		}
		return r.fail(err)
	}
	if last.Status() == relunet.Failure {
		return r.finish(last, nil)
	}
	if cfg.Polish == NoPolish {
		return r.finish(last, r.keep)
	}
	pctx, pcancel := r.deadline(ctx, 1)
	defer pcancel()
	pc := Config{Method: cfg.Polish.method(), Hidden: cfg.Hidden, Seed: cfg.Seed, Alpha: cfg.Alpha, MemoryLimit: cfg.MemoryLimit, Budget: cfg.Budget}
	s, err := pc.solver(pctx, r.xFit, r.yFit, r.keep)
	if err != nil {
		if timedOut(pctx, ctx) {
			return r.finish(last, r.keep) // no time left for the polish
		}
		return r.fail(fmt.Errorf("experiment: polish: %w", err))
	}
	r.drive(s, n, true)
	return r.finish(s, r.keep)
}

// validating reports whether the run chooses by validation MSE.
func (r *run) validating() bool { return r.xVal != nil }

// tooShort is the error of a budget that ended before a network was made.
func (r *run) tooShort() error {
	return fmt.Errorf("experiment: %s: the budget of %v ended before the first network was made", r.cfg.Label(), r.cfg.Budget)
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

// arm is a way to make an analytic start: its stages, run one after the
// other, each from the best network of the stage before (by training
// MSE). Hidden, Alpha, Ridge, Seed, Workers, MemoryLimit, Iterations and
// Init are set per start.
type arm struct {
	name   string
	stages []stage
	warm   bool // its first stage is the adaptive strategy's warm-up
	// evidence: the strategy begins each new start of it after its second
	// warmed or cold by what each kind has scored in the run (balancedArms)
	evidence bool
}

// stage is one solver of a start: its options, and for a stage on a
// sample of the rows (frac > 1: one row in frac, a random sample nested in
// those of the stages after it), the share of the remaining budget it may
// take.
type stage struct {
	opts  relunet.AnalyticOptions
	frac  int
	share float64
	lbfgs bool // L-BFGS on all weights instead of the analytic method (opts unused)
}

// arm returns the configuration's own way to make a start.
func (c Config) arm() arm {
	first := relunet.AnalyticOptions{Safeguard: c.Safeguard, Damping: c.Damping, AltDamping: c.AltDamping, Balance: c.Balance, DataInit: c.DataInit}
	if !c.Explore {
		return arm{name: c.Label(), stages: []stage{{opts: first}}}
	}
	// The plain alternation first, then the safeguarded one.
	first.Safeguard = false
	return arm{name: c.Label(), stages: []stage{{opts: first}, {opts: relunet.AnalyticOptions{Safeguard: true, Balance: c.Balance}}}}
}

// schedule is what the starts of a run share: the arms, what each gave so
// far, the number of the next start, how the arm of a start is chosen
// (nil: always the first), and the stages that the first start runs before
// its arm's (the row cascade of Auto).
type schedule struct {
	arms    []arm
	reports []ArmReport
	running []int // starts of each arm under way
	next    int
	pick    func(k int, sc *schedule) int
	prelude []stage
}

// starts runs n more analytic starts (as many as ctx allows when n < 0),
// each with the arm the schedule chooses, par at once with workers
// goroutines each, and returns a solver of the start that failed or else
// of the last one to finish, and an error when a start could not be made.
// The kept network is r.keep.
func (r *run) starts(ctx context.Context, sc *schedule, n, par, workers int) (last relunet.Solver, err error) {
	if n > 0 {
		par = min(par, n)
	}
	mem := r.memoryShare(par)
	if sc.reports == nil {
		for _, a := range sc.arms {
			sc.reports = append(sc.reports, ArmReport{Name: a.name, Best: math.Inf(1)})
		}
		sc.running = make([]int, len(sc.arms))
	}
	end := sc.next + n
	var (
		failed relunet.Solver
		wg     sync.WaitGroup
	)
	made := func(serr error) bool {
		if serr == nil {
			return true
		}
		r.mu.Lock()
		defer r.mu.Unlock()
		switch {
		case ctx.Err() != nil && r.keep == nil && err == nil:
			err = r.tooShort()
		case ctx.Err() != nil:
			// The budget ended while the start was made: the run is over.
		case err == nil:
			err = serr
		}
		return false
	}
	// start runs start k of arm a; it reports whether the run goes on.
	start := func(k, a int) bool {
		begin := time.Now()
		defer r.report(sc, a, begin)
		stages := sc.arms[a].stages
		if k == 0 {
			stages = append(slices.Clone(sc.prelude), stages...)
		}
		var init *relunet.Net
		for i, st := range stages {
			if i > 0 && ctx.Err() != nil {
				break
			}
			o := st.opts
			o.Hidden, o.Alpha, o.Ridge, o.Seed, o.Workers, o.MemoryLimit, o.Iterations =
				r.cfg.Hidden, r.cfg.Alpha, r.cfg.Ridge, RestartSeed(r.cfg.Seed, k), workers, mem, r.cfg.iterations()
			o.Workspace = &r.ws
			if init != nil {
				o.Init, o.DataInit = init, false
			}
			sctx, x, y := ctx, r.xFit, r.yFit
			if st.frac > 1 {
				rows := r.sample(k, st.frac)
				x, y = data.SelectRows(r.xFit, rows), data.SelectRows(r.yFit, rows)
				if dl, ok := ctx.Deadline(); ok {
					var cancel context.CancelFunc
					sctx, cancel = context.WithDeadline(ctx, time.Now().Add(time.Duration(st.share*float64(time.Until(dl)))))
					defer cancel()
				}
			}
			s, serr := relunet.NewAnalytic(sctx, x, y, o)
			if !made(serr) {
				return false
			}
			if i == 0 {
				r.mu.Lock()
				r.res.Starts++
				r.mu.Unlock()
			}
			if st.frac > 1 {
				// A stage on a sample: its network is not a result of
				// the run (its loss is on other rows), only the next
				// stage's start. A deadline of its own is no stop of the run.
				for s.Step() {
					r.mu.Lock()
					r.res.Iterations++
					r.mu.Unlock()
				}
				if s.Status() == relunet.Failure {
					r.mu.Lock()
					last, failed = s, s
					r.mu.Unlock()
					return false
				}
				init = s.Best().Net
				continue
			}
			ok := r.drive(s, k, true)
			r.mu.Lock()
			last = s
			if !ok {
				failed = s
			}
			sc.reports[a].Best = math.Min(sc.reports[a].Best, r.startBest(k, s))
			r.mu.Unlock()
			if !ok {
				return false
			}
			init = s.Best().Net
		}
		return true
	}
	worker := func() {
		defer wg.Done()
		for {
			r.mu.Lock()
			k := sc.next
			stop := (n >= 0 && k >= end) || failed != nil || err != nil || (k > 0 && ctx.Err() != nil)
			a := 0
			if !stop {
				sc.next++
				if sc.pick != nil {
					a = sc.pick(k, sc)
				}
				sc.running[a]++
			}
			r.mu.Unlock()
			if stop || !start(k, a) {
				return
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
	if err == nil && r.keep == nil && ctx.Err() != nil {
		err = r.tooShort()
	}
	if ctx.Err() != nil {
		r.res.Status = relunet.RuntimeLimit
	}
	return last, err
}

// sample returns the rows of the fitting data that start k's stage on one
// row in frac takes: a prefix of one random order per start, so that the
// samples of its stages are nested.
func (r *run) sample(k, frac int) []int {
	n, _ := r.xFit.Dims()
	perm := seeded.Data(RestartSeed(r.cfg.Seed, k), sampleStream).Perm(n)
	rows := perm[:max(n/frac, 1)]
	slices.Sort(rows)
	return rows
}

// sampleStream is the data stream of seeded that draws the cascade's rows.
const sampleStream = 8

// report counts a start of arm a that began at begin.
func (r *run) report(sc *schedule, a int, begin time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	sc.reports[a].Starts++
	sc.reports[a].Seconds += time.Since(begin).Seconds()
	sc.running[a]--
}

// startBest returns the score of start k's best network so far: its
// training MSE, or with validation the kept network's score when start k
// gave it, else that of s's best iterate. The caller holds mu.
func (r *run) startBest(k int, s relunet.Solver) float64 {
	if !r.validating() {
		return s.Best().Loss
	}
	if r.keepStart == k {
		return r.keepScore
	}
	return r.score(s.Best().Net)
}

// memoryShare returns the memory limit of each of par solvers at once.
func (r *run) memoryShare(par int) int64 {
	mem := r.cfg.MemoryLimit
	if par <= 1 || mem < 0 {
		return mem
	}
	if mem == 0 {
		mem = 8 << 30
		if b, ok := sysmem.Available(); ok {
			mem = b
		}
	}
	return max(mem/int64(par), 1)
}

// score returns the score of a network: its validation MSE (scaled), or
// +Inf for a network that cannot be evaluated.
func (r *run) score(net *relunet.Net) float64 {
	pred, err := net.Predict(r.xVal)
	if err != nil {
		return math.Inf(1)
	}
	return MSE(pred, r.yVal)
}

// consider keeps net, with its score, when it is better than the kept
// one; the caller holds mu.
func (r *run) consider(net *relunet.Net, score float64, start int) {
	if score < r.keepScore || (score == r.keepScore && start < r.keepStart) {
		r.keep, r.keepScore, r.keepStart = net, score, start
		r.keepTrain = math.NaN()
		if r.validating() {
			if pred, err := net.Predict(r.sp.XTrain); err == nil {
				r.keepTrain = MSE(pred, r.sp.YTrain)
			}
		}
	}
}

// point appends a curve point for a training loss (in the solvers' units);
// the caller holds mu.
func (r *run) point(loss float64) {
	r.res.Curve = append(r.res.Curve, r.sp.Unscale(loss))
	r.res.CurveSeconds = append(r.res.CurveSeconds, time.Since(r.t0).Seconds())
}

// drive steps s, start k's solver, until it stops, recording a curve
// point per step (see record). It reports whether s did not fail.
func (r *run) drive(s relunet.Solver, k int, keep bool) bool {
	r.record(s, k, keep, false)
	for s.Step() {
		r.record(s, k, keep, true)
	}
	r.stopped(s)
	return s.Status() != relunet.Failure
}

// record adds a curve point for s's state, start k's solver, and counts
// a step when step. With keep, the networks s reaches are candidates for
// the kept one (its best iterate by training MSE, or each iterate by
// validation MSE), and the curve is the kept network's training MSE;
// without, the curve is s's own. It returns the score of the candidate,
// or +Inf for none.
func (r *run) record(s relunet.Solver, k int, keep, step bool) float64 {
	var cand *relunet.Net
	score := math.Inf(1)
	switch {
	case keep && r.validating():
		cand = s.Net()
		score = r.score(cand)
	case keep && (!step || s.Last().Loss <= s.Best().Loss):
		// A new best iterate of s (or its first).
		b := s.Best()
		cand, score = b.Net, b.Loss
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if cand != nil {
		r.consider(cand, score, k)
	}
	switch {
	case !keep:
		r.point(s.Last().Loss)
	case r.validating():
		r.point(r.keepTrain)
	default:
		r.point(r.keepScore)
	}
	if step {
		r.res.Iterations++
		if r.cfg.Progress != nil {
			r.cfg.Progress(s.Last(), r.res.Iterations, r.total)
		}
	}
	return score
}

// stopped notes why s stopped, once it has: the run's status, unless the
// budget already stopped a stage of it.
func (r *run) stopped(s relunet.Solver) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.res.Status != relunet.RuntimeLimit {
		r.res.Status = s.Status()
	}
}

// finish evaluates net (s's current one when nil) and completes the
// result; a failure of s makes it a failed result.
func (r *run) finish(s relunet.Solver, net *relunet.Net) (*Result, error) {
	if s != nil && s.Status() == relunet.Canceled {
		return nil, s.Err() // an interrupt: no result, and nothing to evaluate
	}
	res := r.res
	res.Seconds = time.Since(r.t0).Seconds() // a step the budget abandoned counts
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
	if r.validating() {
		res.Validation = r.sp.Unscale(r.score(net))
	}
	return res, nil
}

// fail makes the result a failure with err.
func (r *run) fail(err error) (*Result, error) {
	res := r.res
	if len(res.Curve) == 0 {
		r.point(math.NaN())
	}
	res.Seconds = time.Since(r.t0).Seconds()
	res.Metrics = Metrics{TrainMSE: math.NaN(), TestMSE: math.NaN(), TrainR2: math.NaN(), TestR2: math.NaN()}
	res.Validation = math.NaN()
	res.Status, res.Err = relunet.Failure, err
	return res, err
}

// procs returns the goroutines a run may use.
func procs() int { return runtime.GOMAXPROCS(0) }
