package experiment

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"strconv"
	"strings"
	"time"

	"gonum.org/v1/gonum/mat"

	"github.com/relunet/relunet/relunet"
)

// Config is one training run's method and settings. As in package relunet,
// the zero value of every field is its documented default (Hidden is
// required), and a negative limit or ridge turns it off; so Config{Hidden:
// 32} is the paper's analytic method with the reference's settings.
type Config struct {
	Method relunet.Method
	Hidden int
	Seed   uint64  // the initial weights' (Compare also splits with it)
	Alpha  float64 // leaky slope
	// Iterations is the number of alternations, epochs or L-BFGS or LM
	// iterations; 0 means the method's default (relunet.DefaultIterations),
	// or no limit but the Budget when there is one, and a negative value no
	// limit.
	Iterations int
	// Budget, when positive, is the run's wall time, counted from before
	// its solver is made: a step under way when it ends is abandoned, and a
	// run that it stops has Status relunet.RuntimeLimit. 0 means no time
	// limit.
	Budget time.Duration

	// Analytic only.
	Ridge       float64 // λ; 0 means 0.001, a negative value none
	Safeguard   bool
	MemoryLimit int64 // bytes; 0: what the process may use; with Parallel starts, shared between them
	// Damping makes each hidden step proximal (relunet.AnalyticOptions.Damping);
	// 0 means none.
	Damping float64
	// AltDamping, when positive, is the damping of every second
	// alternation (relunet.AnalyticOptions.AltDamping), in the label
	// after Damping's: "damping=0.01/0.001". 0 means none.
	AltDamping float64
	// Balance rescales the hidden units after each hidden step so that
	// each unit's input and output weights have equal norms
	// (relunet.AnalyticOptions.Balance).
	Balance bool
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
	// GOMAXPROCS/Parallel workers unless Workers says otherwise, and a share
	// of the memory limit; 0 or 1 means one at a time. It pays where a start
	// is too small to keep every core busy.
	Parallel int
	// Workers bounds each analytic solver's goroutines
	// (relunet.AnalyticOptions.Workers); 0 means GOMAXPROCS, or with
	// Parallel starts GOMAXPROCS/Parallel.
	Workers int
	// Polish continues from the kept network with L-BFGS or LM on all
	// weights: for the last PolishShare of the Budget, or for that method's
	// default iterations without one. The zero value is NoPolish.
	Polish Polish
	// Auto spends the Budget, which it needs, by the adaptive strategy
	// (see autoArms in auto.go): it races ways to make a start (the
	// safeguard, the damped step, explore, balanced units where the rows
	// are few), runs starts at once where they are short, and begins
	// with a cascade of row samples where the rows are many. The options
	// above that choose among those (Safeguard, Damping, Balance,
	// DataInit, Explore, Restarts, Parallel, Polish) are its own, and must
	// not be set.
	Auto bool

	// Validate, for any method, holds out this share of the training rows
	// (drawn with the seed) as validation rows, which the solvers never fit,
	// and chooses what the run keeps by the validation MSE: the iterate
	// (early stopping), the start, and with Auto the arm, among them the
	// ridge arms that Auto adds with it (a λ of 10⁻⁴ to 10⁻¹ times the
	// rows fitted, which it then chooses too). 0 means none: the
	// lowest training MSE is kept (by the analytic method; the gradient
	// methods return their last iterate). The metrics stay those of all
	// training rows and of the test rows.
	Validate float64

	// SGD and Adam only: 0 means the method's default (SGD: lr 0.03, batch
	// 2048; Adam: lr 0.001, batch 256). SGD cuts its rate ×0.1 at the
	// reference's epochs 100 and 200, or at each third of Iterations.
	LR    float64
	Batch int
	// Progress, when not nil, is called after every step with the record,
	// the steps done and the planned total (0 when only the Budget bounds
	// the run).
	Progress func(r relunet.Record, done, total int) `json:"-"`
}

// Polish is the method that continues from an analytic run's kept network.
type Polish int

const (
	NoPolish    Polish = iota // no polish: the analytic network is the result
	PolishLBFGS               // L-BFGS on all weights
	PolishLM                  // Levenberg–Marquardt on all weights
)

func (p Polish) String() string {
	switch p {
	case NoPolish:
		return "none"
	case PolishLBFGS:
		return "lbfgs"
	case PolishLM:
		return "lm"
	}
	return fmt.Sprintf("Polish(%d)", int(p))
}

// method returns the polish's training method.
func (p Polish) method() relunet.Method {
	if p == PolishLM {
		return relunet.MethodLM
	}
	return relunet.MethodLBFGS
}

// BudgetLabel is the analytic configuration for a budget: the adaptive
// strategy (Config.Auto), which races the analytic variants within the
// budget (each start after a shared warm-up), and where one step is too
// long for a race runs the variant that suits the rows alone, restarted
// while time is left (with few rows for the unknowns, without validation,
// the damped step at 0.01 with balanced units; with validation there, the
// damped step at 0.01 below two equations per unknown and the safeguarded
// alternation above; with many rows the safeguarded alternation from
// hyperplanes through the data: SafeguardLabel). On the thirteen
// development sets of docs/results.md (h = 32) its mean training MSE was
// lower than SafeguardLabel's and than every gradient method's on all
// thirteen; it was within 2 % of the best fixed analytic variant (or below
// it) on seven, and 4 % to 4.4 times above it on six (gas the most, where
// the race mostly drops a damping that wins late). Its networks fit the training rows closely: on the small sets
// their test MSE is often higher than SafeguardLabel's, and "+validate"
// chooses by held-out rows instead.
const BudgetLabel = "analytic+auto"

// SafeguardLabel was BudgetLabel before the adaptive strategy, and is what
// that runs, after its row-sample stages, where the rows are many and a
// step is too long to race: the safeguarded alternation from hidden
// hyperplanes through training rows, run until it stops, and restarted
// while time is left. It was chosen from measurements
// at equal budgets on nine data sets (abalone, bike, SDF and patches; sin,
// sinx2, teacher, shape-sdf and yearlike; 2 to 3 seeds each): of the four
// best variants (with or without datainit, with the safeguard or explore,
// all with restarts) its training MSE had the best mean rank and the
// lowest geometric mean of its ratio to the best on each set.
const SafeguardLabel = "analytic+safeguard+datainit+restarts"

// PolishShare is the share of a Budget that a polish stage gets; the starts
// before it share the rest.
const PolishShare = 0.5

// methodLabel names the configuration's method and its options that change
// the method, as ParseConfig reads them: "sgd", "analytic+safeguard",
// "analytic+safeguard+datainit+restarts+polish=lbfgs", "analytic+auto".
func (c Config) methodLabel() string {
	l := c.Method.String()
	if c.Method != relunet.MethodAnalytic {
		return l
	}
	if c.Safeguard {
		l += "+safeguard"
	}
	if c.Damping > 0 {
		l += "+damping=" + strconv.FormatFloat(c.Damping, 'g', -1, 64)
		if c.AltDamping > 0 {
			l += "/" + strconv.FormatFloat(c.AltDamping, 'g', -1, 64)
		}
	}
	if c.Balance {
		l += "+balance"
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
	if c.Polish != NoPolish {
		l += "+polish=" + c.Polish.String()
	}
	if c.Auto {
		l += "+auto"
	}
	return l
}

// Label names the configuration's method, its options, and its
// validation share: "+validate" for DefaultValidate, "+validate=0.3" for
// another.
func (c Config) Label() string {
	l := c.methodLabel()
	switch c.Validate {
	case 0:
	case DefaultValidate:
		l += "+validate"
	default:
		l += "+validate=" + strconv.FormatFloat(c.Validate, 'g', -1, 64)
	}
	return l
}

// DefaultValidate is the validation share of the label "+validate": the
// share of the test split in the reference protocol.
const DefaultValidate = 0.2

// PaperComparison returns the configurations of the paper's comparison at
// fixed lengths, with h hidden units: the analytic alternation, plain and
// safeguarded, for its default number of alternations; SGD and Adam for
// epochs epochs; L-BFGS for lbfgs iterations. A length of 0 is the method's
// default (relunet.DefaultIterations).
func PaperComparison(h, epochs, lbfgs int) ([]Config, error) {
	if epochs < 0 || lbfgs < 0 {
		return nil, fmt.Errorf("experiment: PaperComparison: %d epochs and %d L-BFGS iterations: want 0 (the default) or more", epochs, lbfgs)
	}
	var cs []Config
	for _, label := range []string{"analytic", "analytic+safeguard", "sgd", "adam", "lbfgs"} {
		c, err := ParseConfig(label, h)
		if err != nil {
			return nil, err
		}
		switch c.Method {
		case relunet.MethodSGD, relunet.MethodAdam:
			c.Iterations = epochs
		case relunet.MethodLBFGS:
			c.Iterations = lbfgs
		}
		cs = append(cs, c)
	}
	return cs, nil
}

// MaxParallel bounds Config.Parallel: each start run at once holds a
// solver and a share of the memory limit, and far more starts than cores
// only divide both, and slow an interrupt (1024 starts of 3000 hidden
// units on two cores took 13 s to stop).
const MaxParallel = 64

// ParseConfig returns the configuration of a label with h hidden units: a
// method name followed by options, each after a "+" and each at most once.
// Every method takes "validate" (DefaultValidate) or "validate=SHARE". The
// analytic method takes "auto" (the adaptive strategy, alone), or
// "safeguard", "datainit", "explore", "damping=X" (X > 0, the damped
// hidden step of relunet.AnalyticOptions.Damping), "damping=X/Y" (X and Y
// taken in turn, relunet.AnalyticOptions.AltDamping), "balance"
// (relunet.AnalyticOptions.Balance), "restarts" (as many as
// the budget allows), "restarts=N" (N ≥ 2), "parallel=N" (N starts at once,
// from 2 to MaxParallel, with restarts) and "polish=lbfgs" or "polish=lm".
func ParseConfig(label string, h int) (Config, error) {
	if h <= 0 {
		return Config{}, fmt.Errorf("experiment: %q: want a positive number of hidden units, have %d", label, h)
	}
	parts := strings.Split(label, "+")
	m, err := relunet.ParseMethod(parts[0])
	if err != nil {
		return Config{}, fmt.Errorf("experiment: %q: %w", label, err)
	}
	c := Config{Method: m, Hidden: h}
	bad := func(why string) (Config, error) {
		return Config{}, fmt.Errorf("experiment: %q: %s", label, why)
	}
	seen := map[string]bool{}
	for _, opt := range parts[1:] {
		name, val, hasVal := strings.Cut(opt, "=")
		if seen[name] {
			return bad(fmt.Sprintf("%s is given twice", name))
		}
		seen[name] = true
		switch {
		case opt == "validate":
			c.Validate = DefaultValidate
			continue
		case name == "validate" && hasVal:
			v, err := strconv.ParseFloat(val, 64)
			if err != nil || !(v > 0 && v < 1) {
				return bad(fmt.Sprintf("validate=%s: want the share of the training rows to validate on, above 0 and below 1", val))
			}
			c.Validate = v
			continue
		case m != relunet.MethodAnalytic:
			return bad(fmt.Sprintf("%s takes no option %q (only validate)", m, opt))
		}
		switch {
		case opt == "auto":
			c.Auto = true
		case opt == "safeguard":
			c.Safeguard = true
		case opt == "datainit":
			c.DataInit = true
		case opt == "balance":
			c.Balance = true
		case name == "damping" && hasVal:
			odd, even, alt := strings.Cut(val, "/")
			v, err := strconv.ParseFloat(odd, 64)
			ok := err == nil && v > 0 && v <= relunet.MaxDamping
			w := 0.0
			if alt {
				w, err = strconv.ParseFloat(even, 64)
				ok = ok && err == nil && w > 0 && w <= relunet.MaxDamping
			}
			if !ok {
				return bad(fmt.Sprintf("damping=%s: want a positive number up to %g, relative to the normal matrix's mean diagonal, or two such numbers X/Y taken in turn", val, relunet.MaxDamping))
			}
			c.Damping, c.AltDamping = v, w
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
			if err != nil || n < 2 || n > MaxParallel {
				return bad(fmt.Sprintf("parallel=%s: want the number of starts run at once, from 2 to %d", val, MaxParallel))
			}
			c.Parallel = n
		case name == "polish" && hasVal:
			switch val {
			case "lbfgs":
				c.Polish = PolishLBFGS
			case "lm":
				c.Polish = PolishLM
			default:
				return bad(fmt.Sprintf("polish=%s: want polish=lbfgs or polish=lm", val))
			}
		default:
			return bad(fmt.Sprintf("analytic takes no option %q (have auto, safeguard, datainit, explore, damping=X, damping=X/Y, balance, restarts, restarts=N, parallel=N, polish=lbfgs, polish=lm, validate, validate=SHARE)", opt))
		}
	}
	if c.Parallel > 1 && c.Restarts == 0 {
		return bad("parallel starts need restarts: add +restarts or +restarts=N")
	}
	if c.Auto && c.variantSet() {
		return bad("auto chooses the safeguard, the damping, the balance, the initialisation, explore, restarts, parallel starts and the polish itself: give it alone (with validate)")
	}
	return c, nil
}

// RestartSeed returns the seed of start k of a run with the given seed:
// the seed itself for k = 0, so that one start is the plain run.
func RestartSeed(seed uint64, k int) uint64 {
	return seed ^ uint64(k)*0x9e3779b97f4a7c15
}

// variantSet reports whether an option that chooses the analytic method's
// way to make and keep starts is set: those are the analytic method's own,
// and the adaptive strategy's to choose.
func (c Config) variantSet() bool {
	return c.Safeguard || c.Damping != 0 || c.AltDamping != 0 || c.Balance || c.DataInit || c.Explore || c.Restarts != 0 ||
		c.Parallel != 0 || c.Polish != NoPolish
}

// check reports settings that cannot run.
func (c Config) check() error {
	switch {
	case c.Hidden <= 0:
		return fmt.Errorf("experiment: %s: Hidden must be positive, have %d", c.Label(), c.Hidden)
	case c.Budget < 0:
		return fmt.Errorf("experiment: %s: Budget must not be negative, have %v", c.Label(), c.Budget)
	case c.Restarts < 0 && c.Budget == 0:
		return fmt.Errorf("experiment: %s: as many restarts as the budget allows needs a Budget (-budget)", c.Label())
	case c.Auto && c.Budget == 0:
		return fmt.Errorf("experiment: %s: the adaptive strategy spends a budget: it needs one (-budget)", c.Label())
	case c.Method != relunet.MethodAnalytic && (c.Auto || c.variantSet()):
		return fmt.Errorf("experiment: %s: auto, the safeguard, the damping, the balance, restarts, data initialisation, explore, parallel starts and polish are options of the analytic method", c.Label())
	case c.Auto && c.variantSet():
		return fmt.Errorf("experiment: %s: auto chooses the safeguard, the damping, the balance, the initialisation, explore, restarts, parallel starts and the polish itself", c.Label())
	case math.IsNaN(c.Damping) || c.Damping < 0 || c.Damping > relunet.MaxDamping:
		return fmt.Errorf("experiment: %s: Damping must be from 0 to %g, have %v", c.Label(), relunet.MaxDamping, c.Damping)
	case math.IsNaN(c.AltDamping) || c.AltDamping < 0 || c.AltDamping > relunet.MaxDamping:
		return fmt.Errorf("experiment: %s: AltDamping must be from 0 to %g, have %v", c.Label(), relunet.MaxDamping, c.AltDamping)
	case c.AltDamping > 0 && c.Damping == 0:
		return fmt.Errorf("experiment: %s: AltDamping alternates with Damping, which is 0", c.Label())
	case math.IsNaN(c.Validate) || c.Validate < 0 || c.Validate >= 1:
		return fmt.Errorf("experiment: %s: Validate must be a share in [0, 1), have %v", c.Label(), c.Validate)
	case c.Parallel < 0 || c.Workers < 0:
		return fmt.Errorf("experiment: %s: Parallel and Workers must not be negative, have %d and %d", c.Label(), c.Parallel, c.Workers)
	case c.Parallel > MaxParallel:
		return fmt.Errorf("experiment: %s: Parallel is at most %d, have %d", c.Label(), MaxParallel, c.Parallel)
	case c.Parallel > 1 && c.Restarts == 0:
		return fmt.Errorf("experiment: %s: parallel starts need restarts", c.Label())
	case c.Polish < NoPolish || c.Polish > PolishLM:
		return fmt.Errorf("experiment: %s: unknown polish %v", c.Label(), c.Polish)
	}
	return nil
}

// iterations returns the solver's iteration limit: Iterations when set,
// none (-1) under a Budget, else the method's default (0).
func (c Config) iterations() int {
	if c.Iterations == 0 && c.Budget > 0 {
		return -1
	}
	return c.Iterations
}

// Solver returns one start of the configuration for inputs X and targets
// Y, without its restarts, explore stage or polish, its work stopped by
// ctx.
func (c Config) Solver(ctx context.Context, X, Y mat.Matrix) (relunet.Solver, error) {
	if err := c.check(); err != nil {
		return nil, err
	}
	return c.solver(ctx, X, Y, nil)
}

// solver returns the configured solver, starting from init when not nil
// (the explore and polish stages).
func (c Config) solver(ctx context.Context, X, Y mat.Matrix, init *relunet.Net) (relunet.Solver, error) {
	switch c.Method {
	case relunet.MethodAnalytic:
		return relunet.NewAnalytic(ctx, X, Y, relunet.AnalyticOptions{Hidden: c.Hidden, Seed: c.Seed, Alpha: c.Alpha, Ridge: c.Ridge,
			Safeguard: c.Safeguard, Damping: c.Damping, AltDamping: c.AltDamping, Balance: c.Balance, MemoryLimit: c.MemoryLimit, DataInit: c.DataInit, Init: init, Workers: c.Workers,
			Iterations: c.iterations()})
	case relunet.MethodSGD, relunet.MethodAdam:
		opts := relunet.DescentOptions{Method: c.Method, Hidden: c.Hidden, Seed: c.Seed, Alpha: c.Alpha, LR: c.LR, Batch: c.Batch,
			MemoryLimit: c.MemoryLimit, Init: init, Epochs: c.iterations()}
		if c.Method == relunet.MethodSGD && c.Iterations > 0 {
			// The reference's three learning-rate stages over another length.
			opts.DecayEvery = max(1, c.Iterations/3)
		}
		return relunet.NewDescent(ctx, X, Y, opts)
	case relunet.MethodLBFGS:
		return relunet.NewLBFGS(ctx, X, Y, relunet.LBFGSOptions{Hidden: c.Hidden, Seed: c.Seed, Alpha: c.Alpha, Init: init,
			MemoryLimit: c.MemoryLimit, Iterations: c.iterations()})
	case relunet.MethodLM:
		return relunet.NewLM(ctx, X, Y, relunet.LMOptions{Hidden: c.Hidden, Seed: c.Seed, Alpha: c.Alpha, Init: init,
			MemoryLimit: c.MemoryLimit, Iterations: c.iterations()})
	}
	return nil, fmt.Errorf("experiment: unknown method %v", c.Method)
}

// total returns the planned number of steps of the configuration, or 0
// when only a budget bounds it.
func (c Config) total() int {
	switch {
	case c.Iterations > 0:
		return c.Iterations
	case c.Iterations < 0 || c.Budget > 0:
		return 0
	}
	return relunet.DefaultIterations(c.Method)
}

// workers returns the workers of each analytic solver.
func (c Config) workers() int {
	if c.Workers == 0 && c.Parallel > 1 {
		return max(runtime.GOMAXPROCS(0)/c.Parallel, 1)
	}
	return c.Workers
}
