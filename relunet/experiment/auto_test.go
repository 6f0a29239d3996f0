package experiment

import (
	"math"
	"runtime"
	"slices"
	"testing"
	"time"

	"gonum.org/v1/gonum/mat"

	"github.com/relunet/relunet/relunet"
)

// smallSplit is a split whose starts are short, with few rows for the
// unknowns of 8 hidden units: the strategy races.
func smallSplit(t *testing.T) *Split { return teacherSplitOf(t, 300, 3, 6, 0.1, 2) }

// The strategy's bookkeeping, with few rows for the unknowns (then the
// balanced arms race too), with fewer rows than unknowns (then L-BFGS
// races too) and with many (then after a cascade): every arm is raced, the starts and the time given
// to the arms add up to the run's, and the kept network is the one with the
// lowest training MSE of every start: its training MSE is the lowest of the
// arms' scores.
func TestAutoBookkeeping(t *testing.T) {
	many := teacherSplitOf(t, 2000, 3, 6, 0.1, 2)
	n, d := many.XTrain.Dims()
	if hD := 4 * (d + 1); len(cascade(n, 1, hD, relunet.AnalyticOptions{})) == 0 {
		t.Fatalf("the split has %v equations per unknown: no cascade", ratio(n, 1, hD))
	}
	if procs() == 1 {
		t.Skip("one core: the strategy runs its first arm alone, without a race")
	}
	// The race runs where the time left holds stepsPerArm steps per arm,
	// timed on one step: at h = 80 the budget leaves room for a step many
	// times longer than it takes on an idle machine.
	for _, c := range []struct {
		sp     *Split
		hidden int
		budget time.Duration
	}{{smallSplit(t), 8, 600 * time.Millisecond}, {smallSplit(t), 80, 2 * time.Second}, {many, 4, 600 * time.Millisecond}} {
		if n, d := c.sp.XTrain.Dims(); c.hidden == 80 && !interpolates(n, 1, c.hidden*(d+1)) {
			t.Fatalf("%d rows for %d unknowns: L-BFGS does not race", n, c.hidden*(d+1))
		}
		autoBookkeeping(t, c.sp, c.hidden, c.budget)
	}
}

func autoBookkeeping(t *testing.T, sp *Split, hidden int, budget time.Duration) {
	t.Helper()
	r := mustRun(t, sp, Config{Hidden: hidden, Auto: true, Budget: budget})
	want := len(autoArms())
	n, d := sp.XTrain.Dims()
	if ratio(n, 1, hidden*(d+1)) < manyRows {
		want += len(balancedArms()) // the rows are few: the balanced arms race too
	}
	lbfgs := interpolates(n, 1, hidden*(d+1))
	if lbfgs {
		want++ // L-BFGS races too
	}
	if len(r.Arms) != want {
		t.Fatalf("%d arms reported, want %d", len(r.Arms), want)
	}
	if name := r.Arms[len(r.Arms)-1].Name; lbfgs && name != lbfgsArm.name {
		t.Errorf("%d rows for %d unknowns: the last arm is %q, want %q", n, hidden*(d+1), name, lbfgsArm.name)
	}
	starts, seconds, lowest := 0, 0.0, math.Inf(1)
	for _, a := range r.Arms {
		if a.Starts == 0 || !(a.Seconds > 0) || math.IsNaN(a.Best) {
			t.Errorf("arm %s: %d starts, %v s, best %v: not raced", a.Name, a.Starts, a.Seconds, a.Best)
		}
		starts += a.Starts
		seconds += a.Seconds
		lowest = math.Min(lowest, a.Best)
	}
	if starts != r.Starts {
		t.Errorf("the arms made %d starts, the run %d", starts, r.Starts)
	}
	// The arms run at once on every core: their time adds up to at most
	// the budget on each, and to more than one core's share of it.
	if p := float64(procs()); seconds > (budget.Seconds()+0.5)*p || seconds < budget.Seconds()/2 {
		t.Errorf("the arms were given %v s in all, for a budget of %v on %v cores", seconds, budget, p)
	}
	if math.Abs(r.TrainMSE-lowest) > 1e-9*lowest {
		t.Errorf("kept training MSE %v, the lowest arm's %v", r.TrainMSE, lowest)
	}
	if r.Status != relunet.RuntimeLimit || r.Config.Label() != "analytic+auto" {
		t.Errorf("status %v, label %q", r.Status, r.Config.Label())
	}
	curveNeverRises(t, r, 0, 0)
}

// After a rung the better half of the analytic runners go on, and a
// gradient runner only if it leads them all, without taking an analytic
// runner's place.
func TestHalve(t *testing.T) {
	rs := func(arms ...int) []*runner {
		var out []*runner
		for _, a := range arms {
			out = append(out, &runner{arm: a})
		}
		return out
	}
	const g = 9 // the gradient runner's arm
	grad := func(rn *runner) bool { return rn.arm == g }
	for _, c := range []struct{ sorted, want []int }{
		{[]int{3, 1, 0, 2, 4}, []int{3, 1, 0}},
		{[]int{g, 3, 1, 0, 2, 4}, []int{g, 3, 1, 0}},
		{[]int{3, g, 1, 0, 2, 4}, []int{3, 1, 0}},
		{[]int{3, 1, 0, 2, 4, g}, []int{3, 1, 0}},
		{[]int{g, 1, 0}, []int{g, 1}},
		{[]int{1, 0, g}, []int{1}},
	} {
		var got []int
		for _, rn := range halve(rs(c.sorted...), grad) {
			got = append(got, rn.arm)
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("halve(%v) = %v, want %v", c.sorted, got, c.want)
		}
	}
}

// At the first rung the safeguarded arm goes behind the others when
// another analytic arm has gone below the warm-up's score by at least half
// as far as it has, and keeps its place by its score when the others have
// moved less, or not at all; a gradient arm's move does not count.
func TestSafeguardBehind(t *testing.T) {
	const g = 7 // the gradient runner's arm
	grad := func(rn *runner) bool { return rn.arm == g }
	const w = 10.0 // the warm-up's score
	for _, c := range []struct {
		sorted []int
		best   map[int]float64
		want   []int
	}{
		// Arm 2 moved by 2, the safeguarded arm by 4: half as far.
		{[]int{0, 2, 1, 3}, map[int]float64{0: 6, 2: 8, 1: 9, 3: 10}, []int{2, 1, 3, 0}},
		// Arm 2 moved by 1.9, less than half the safeguarded arm's 4.
		{[]int{0, 2, 1, 3}, map[int]float64{0: 6, 2: 8.1, 1: 9, 3: 10}, []int{0, 2, 1, 3}},
		// None moved but the safeguarded arm.
		{[]int{0, 1, 2}, map[int]float64{0: 6, 1: 10, 2: 10}, []int{0, 1, 2}},
		// Only the gradient arm moved.
		{[]int{g, 0, 1, 2}, map[int]float64{g: 1, 0: 6, 1: 10, 2: 10}, []int{g, 0, 1, 2}},
		// The safeguarded arm did not move; another did.
		{[]int{1, 0, 2}, map[int]float64{1: 9.5, 0: 10, 2: 10}, []int{1, 2, 0}},
		// It is not in the race.
		{[]int{1, 2}, map[int]float64{1: 5, 2: 9}, []int{1, 2}},
	} {
		reports := make([]ArmReport, g+1)
		var rs []*runner
		for _, a := range c.sorted {
			reports[a].Best = c.best[a]
			rs = append(rs, &runner{arm: a})
		}
		before := slices.Clone(rs)
		var got []int
		for _, rn := range safeguardBehind(rs, reports, w, grad) {
			got = append(got, rn.arm)
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("safeguardBehind(%v, %v) = %v, want %v", c.sorted, c.best, got, c.want)
		}
		if !slices.Equal(rs, before) {
			t.Errorf("safeguardBehind(%v, %v) changed its argument", c.sorted, c.best)
		}
	}
}

// The race's plan in each regime: who races, and the slice. The slice is
// the time left over twice the rungs times the analytic arms of the first
// rung, so that a race of five analytic arms in three rungs has a thirtieth
// of it; where the rows are few, without validation, the three balanced
// arms make eight in three rungs, a forty-eighth, L-BFGS or not; with
// validation's four ridge arms beside the five, nine analytic arms run four
// rungs, a seventy-second; with validation where the rows are many, the
// first arm, explore and the four ridge arms of each make ten, also in four
// rungs, an eightieth. (Counting the racers before the ridge arms joined
// once gave a thirtieth there too.)
func TestRacePlan(t *testing.T) {
	const hD = 100
	five, eight, nine, ten := []int{5, 3, 2}, []int{8, 4, 2}, []int{9, 5, 3, 2}, []int{10, 5, 3, 2}
	for _, c := range []struct {
		name       string
		n          int // rows of one output, for hD unknowns
		validating bool
		first      int
		racers     int
		lbfgs      bool // L-BFGS races, last
		ladder     []int
		slice      time.Duration // of the 720 s left
		warm       bool          // every arm warms up from the start
		prelude    int           // stages on row samples
	}{
		{"few rows", 300, false, 0, 8, false, eight, 720 * time.Second / 48, true, 0},
		{"few rows, damped first", 150, false, 1, 8, false, eight, 720 * time.Second / 48, true, 0},
		{"fewer rows than unknowns", 80, false, 1, 9, true, eight, 720 * time.Second / 48, true, 0},
		{"fewer rows than unknowns, validating", 80, true, 1, 9, false, nine, 10 * time.Second, true, 0},
		{"few rows, validating", 300, true, 0, 9, false, nine, 10 * time.Second, true, 0},
		{"many rows", 16 * manyRows * hD, false, 0, 5, false, five, 24 * time.Second, false, 2},
		{"many rows, validating", 16 * manyRows * hD, true, 0, 10, false, ten, 9 * time.Second, false, 2},
	} {
		p := planRace(c.n, 1, hD, c.validating)
		if p.first != c.first || p.racers[0] != c.first {
			t.Errorf("%s: first arm %d, racing first %d, want %d", c.name, p.first, p.racers[0], c.first)
		}
		if len(p.racers) != c.racers {
			t.Errorf("%s: %d racers, want %d", c.name, len(p.racers), c.racers)
		}
		last := p.arms[p.racers[len(p.racers)-1]]
		if last.gradient() != c.lbfgs {
			t.Errorf("%s: the last racer is %s, want L-BFGS %v", c.name, last.name, c.lbfgs)
		}
		if !slices.Equal(p.ladder, c.ladder) {
			t.Errorf("%s: analytic arms by rung %v, want %v", c.name, p.ladder, c.ladder)
		}
		balanced, wantBalanced := 0, 0
		if c.n < manyRows*hD && !c.validating {
			wantBalanced = 3
		}
		for _, i := range p.racers {
			if p.arms[i].warm != c.warm {
				t.Errorf("%s: arm %s warms up %v, want %v", c.name, p.arms[i].name, p.arms[i].warm, c.warm)
			}
			for _, st := range p.arms[i].stages {
				if st.opts.Balance {
					balanced++
					break
				}
			}
		}
		if balanced != wantBalanced {
			t.Errorf("%s: %d balanced arms race, want %d", c.name, balanced, wantBalanced)
		}
		if len(p.prelude) != c.prelude {
			t.Errorf("%s: %d stages on row samples, want %d", c.name, len(p.prelude), c.prelude)
		}
		if got := p.slice(720 * time.Second); got != c.slice {
			t.Errorf("%s: slice %v of 720 s, want %v", c.name, got, c.slice)
		}
	}
	// With validation where the rows are many: the first arm, explore, then
	// each one's ridge arms.
	n := 16 * manyRows * hD
	p := planRace(n, 1, hD, true)
	base := autoArms()
	want := []string{base[safeguardArm].name, base[exploreArm].name}
	for _, i := range []int{safeguardArm, exploreArm} {
		for _, ra := range ridgeArms(base[i], n) {
			want = append(want, ra.name)
		}
	}
	var got []string
	for _, i := range p.racers {
		got = append(got, p.arms[i].name)
	}
	if !slices.Equal(got, want) {
		t.Errorf("many rows, validating: racers %q, want %q", got, want)
	}
}

// A start that stops by its own rules marks its arm as ended. The winner
// widens only where the rows are few, its arm has not ended, it is
// analytic and it has fewer workers than the run; then it goes on in a
// solver with every core, at its stage and from its best network, its
// later stages unchanged.
func TestWidenWinner(t *testing.T) {
	sp := smallSplit(t)
	r, err := newRun(sp, Config{Hidden: 8, Auto: true, Budget: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	arms := []arm{warmed(autoArms()[2]), warmed(lbfgsArm)}
	a := &autoRun{run: r, ctx: bg, arms: arms, reports: make([]ArmReport, 2), ended: make([]bool, 2)}
	rn, err := a.start(0, 1, 0, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	a.advance(rn, 0, 3)
	if rn.done || a.ended[0] {
		t.Fatalf("after 3 steps: done %v, arm ended %v", rn.done, a.ended[0])
	}
	multi := procs() > 1
	if got := a.widens(rn, true); got != multi {
		t.Errorf("an analytic winner on one core of %d, few rows: widens %v, want %v", procs(), got, multi)
	}
	if a.widens(rn, false) {
		t.Error("many rows: the winner widens")
	}
	if a.widens(&runner{arm: 1, s: rn.s}, true) {
		t.Error("an L-BFGS winner widens")
	}
	best, st, rest := rn.s.Best(), rn.st, rn.rest
	if err := a.enter(rn, rn.st, rn.rest, 0, 0); err != nil {
		t.Fatal(err)
	}
	o := rn.s.(*relunet.Analytic).Options()
	if o.Workers != procs() || o.Damping != st.opts.Damping || o.Tol != st.opts.Tol || o.Init == nil ||
		!mat.Equal(o.Init.W, best.Net.W) || rn.st != st || !slices.Equal(rn.rest, rest) || rn.best > best.Loss {
		t.Errorf("widened: %d workers, options %+v, stages %+v then %+v, best %v; want %d workers at %+v from the best network (loss %v), then %+v",
			o.Workers, o, rn.st, rn.rest, rn.best, procs(), st, best.Loss, rest)
	}
	if a.widens(rn, true) {
		t.Error("a winner with every core widens again")
	}
	// Without a deadline the start runs until its stages stop by their own
	// rules (the warm-up's tolerance, then the damped arm's patience).
	a.advance(rn, -1, 0)
	if !rn.done || rn.s.Status() == relunet.RuntimeLimit || !a.ended[0] {
		t.Errorf("a start run to its end: done %v, status %v, arm ended %v", rn.done, rn.s.Status(), a.ended[0])
	}
	next, err := a.start(0, 1, 0, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if a.widens(next, true) {
		t.Error("a winner whose arm has a start that stopped by its own rules widens")
	}
}

// Auto needs a budget, and chooses its own options.
func TestAutoOptions(t *testing.T) {
	sp := smallSplit(t)
	if _, err := Run(bg, sp, Config{Hidden: 4, Auto: true}); err == nil {
		t.Error("auto without a budget accepted")
	}
	if _, err := Run(bg, sp, Config{Hidden: 4, Auto: true, Safeguard: true, Budget: time.Second}); err == nil {
		t.Error("auto with the safeguard accepted")
	}
	if _, err := ParseConfig("analytic+auto+restarts", 4); err == nil {
		t.Error("auto+restarts parsed")
	}
	c, err := ParseConfig("analytic+auto+validate", 4)
	if err != nil || !c.Auto || c.Validate != DefaultValidate {
		t.Errorf("analytic+auto+validate: %+v, %v", c, err)
	}
}

// With validation, the validation rows are never fitted and the kept
// iterate is the one of lowest validation MSE: an L-BFGS run with
// +validate keeps exactly the iterate of lowest validation MSE of an
// L-BFGS run on the other training rows alone.
func TestValidationEarlyStopping(t *testing.T) {
	sp := smallSplit(t)
	cfg := Config{Method: relunet.MethodLBFGS, Hidden: 6, Seed: 3, Iterations: 40, Validate: 0.25}
	r := mustRun(t, sp, cfg)
	// The same rows, drawn as Run draws them.
	rr, err := newRun(sp, cfg)
	if err != nil {
		t.Fatal(err)
	}
	nFit, _ := rr.xFit.Dims()
	nVal, _ := rr.xVal.Dims()
	if nFit+nVal != len(sp.TrainRows) || nVal != 60 {
		t.Fatalf("%d fitting and %d validation rows of %d", nFit, nVal, len(sp.TrainRows))
	}
	plain := cfg
	plain.Validate = 0
	s, err := plain.Solver(bg, rr.xFit, rr.yFit)
	if err != nil {
		t.Fatal(err)
	}
	best, bestVal := s.Net(), math.Inf(1)
	for {
		net := s.Net()
		pred, err := net.Predict(rr.xVal)
		if err != nil {
			t.Fatal(err)
		}
		if v := MSE(pred, rr.yVal); v < bestVal {
			best, bestVal = net, v
		}
		if !s.Step() {
			break
		}
	}
	m, err := sp.Evaluate(best)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(r.Validation-bestVal) > 1e-12*bestVal || math.Abs(r.TrainMSE-m.TrainMSE) > 1e-12*m.TrainMSE {
		t.Errorf("kept validation MSE %v and training MSE %v; the lowest-validation iterate has %v and %v", r.Validation, r.TrainMSE, bestVal, m.TrainMSE)
	}
	if r.Config.Label() != "lbfgs+validate=0.25" {
		t.Errorf("label %q", r.Config.Label())
	}
}

// With validation, the strategy keeps the network of lowest validation
// MSE over all its starts: no arm's score is below the kept one's.
func TestAutoValidation(t *testing.T) {
	sp := smallSplit(t)
	r := mustRun(t, sp, Config{Hidden: 8, Auto: true, Budget: 400 * time.Millisecond, Validate: DefaultValidate})
	for _, a := range r.Arms {
		if a.Best < r.Validation*(1-1e-12) {
			t.Errorf("arm %s scored %v, below the kept network's validation MSE %v", a.Name, a.Best, r.Validation)
		}
	}
	if math.IsNaN(r.Validation) {
		t.Error("no validation MSE")
	}
}

// A row sample of the cascade runs only where its rows are many for the
// unknowns too: one in 16 from 16·manyRows·hD rows, one in 4 from
// 4·manyRows·hD, none below.
func TestCascadeSamples(t *testing.T) {
	const hD = 40
	for _, c := range []struct {
		n, m  int
		fracs []int
	}{
		{16 * manyRows * hD, 1, []int{16, 4}},
		{16*manyRows*hD - 16, 1, []int{4}},
		{4 * manyRows * hD, 1, []int{4}},
		{4*manyRows*hD - 4, 1, nil},
		{manyRows * hD, 4, []int{4}}, // outputs count as equations
	} {
		var got []int
		for _, s := range cascade(c.n, c.m, hD, relunet.AnalyticOptions{Safeguard: true}) {
			got = append(got, s.frac)
			if s.share != 1.0/8 || !s.opts.Safeguard {
				t.Errorf("n=%d m=%d: stage %+v, want an eighth of the time with the first arm's options", c.n, c.m, s)
			}
		}
		if !slices.Equal(got, c.fracs) {
			t.Errorf("n=%d m=%d: samples 1/%v, want 1/%v", c.n, c.m, got, c.fracs)
		}
	}
}

// With validation the first arm also races with a ridge λ of each of
// ridgeScales times the fitting rows, where the rows are few beside every
// arm, and where they are many beside explore and explore's ridge arms
// (then the other arms make no start); the λ reaches the arm's solvers,
// and the kept network is the one of lowest validation MSE of all the
// arms.
func TestAutoRidgeArms(t *testing.T) {
	for _, c := range []struct {
		sp     *Split
		hidden int
		few    bool
	}{
		{smallSplit(t), 8, true},
		{teacherSplitOf(t, 2000, 3, 6, 0.1, 2), 4, false},
	} {
		cfg := Config{Hidden: c.hidden, Auto: true, Budget: 600 * time.Millisecond, Validate: DefaultValidate}
		r := mustRun(t, c.sp, cfg)
		nFit := len(c.sp.TrainRows) - int(math.Round(DefaultValidate*float64(len(c.sp.TrainRows))))
		_, d := c.sp.XTrain.Dims()
		hD := c.hidden * (d + 1)
		if ratio(nFit, 1, hD) < manyRows != c.few {
			t.Fatalf("few rows %v: %v equations per unknown", c.few, ratio(nFit, 1, hD))
		}
		base := autoArms()
		i0 := firstArm(nFit, 1, hD)
		ridged := []int{i0}
		if !c.few {
			ridged = append(ridged, exploreArm)
		}
		var want []string
		for _, a := range base {
			want = append(want, a.name)
		}
		for _, i := range ridged {
			for _, ra := range ridgeArms(base[i], nFit) {
				want = append(want, ra.name)
			}
		}
		var got []string
		for _, a := range r.Arms {
			got = append(got, a.Name)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("few rows %v: arms %q, want %q", c.few, got, want)
		}
		for i, a := range r.Arms {
			raced := c.few || i >= len(base) || slices.Contains(ridged, i)
			if raced != (a.Starts > 0) {
				t.Errorf("few rows %v: arm %s made %d starts", c.few, a.Name, a.Starts)
			}
			if a.Best < r.Validation*(1-1e-12) {
				t.Errorf("arm %s scored %v, below the kept network's validation MSE %v", a.Name, a.Best, r.Validation)
			}
		}
	}
}

// A ridge arm is its arm with λ = scale × rows in every stage; the arm it
// is made from keeps its own λ, and a start's solver gets the configured λ
// from an arm without one.
func TestRidgeArmOptions(t *testing.T) {
	explore := autoArms()[exploreArm]
	ras := ridgeArms(explore, 5000)
	if len(ras) != len(ridgeScales) {
		t.Fatalf("%d ridge arms", len(ras))
	}
	for j, ra := range ras {
		want := ridgeScales[j] * 5000
		if len(ra.stages) != len(explore.stages) {
			t.Fatalf("%s: %d stages, want %d", ra.name, len(ra.stages), len(explore.stages))
		}
		for i, st := range ra.stages {
			if st.opts.Ridge != want || st.opts.Safeguard != explore.stages[i].opts.Safeguard {
				t.Errorf("%s, stage %d: %+v, want λ %v", ra.name, i, st.opts, want)
			}
		}
	}
	if explore.stages[0].opts.Ridge != 0 || explore.stages[1].opts.Ridge != 0 {
		t.Error("the arm itself changed")
	}
	a := &autoRun{run: &run{cfg: Config{Ridge: 0.25}}}
	if got := a.options(ras[1].stages[0].opts, 0, 1, 0, nil).Ridge; got != 5 {
		t.Errorf("a ridge arm's solver has λ %v, want 5", got)
	}
	if got := a.options(explore.stages[0].opts, 0, 1, 0, nil).Ridge; got != 0.25 {
		t.Errorf("a plain arm's solver has λ %v, want the configured 0.25", got)
	}
}

// fixedNet returns a network of 8 hidden units for the split's inputs, its
// hidden weights fixed and its output weights zero: a stand-in for the
// shared warm-up's network.
func fixedNet(t *testing.T, sp *Split) *relunet.Net {
	t.Helper()
	_, d := sp.XTrain.Dims()
	net, err := relunet.NewNet(8, d, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	for j := range 8 {
		for k := range d + 1 {
			net.W.Set(j, k, math.Sin(float64(7*j+k+1)))
		}
	}
	return net
}

// Where the strategy races, a start of an arm begins with the warm-up and
// goes on with the arm's own stages; a start from the warm-up's network
// (the race's first starts) begins with the arm's first stage, from that
// network. A ridge arm of a warmed arm warms up with its own λ.
func TestWarmUpStarts(t *testing.T) {
	sp := smallSplit(t)
	cfg := Config{Hidden: 8, Auto: true, Budget: time.Minute}
	r, err := newRun(sp, cfg)
	if err != nil {
		t.Fatal(err)
	}
	base := autoArms()
	arms := make([]arm, len(base))
	for i := range base {
		arms[i] = warmed(base[i])
	}
	a := &autoRun{run: r, ctx: bg, arms: arms, reports: make([]ArmReport, len(arms))}
	w0 := fixedNet(t, sp)
	for i, ar := range arms {
		if len(ar.stages) != len(base[i].stages)+1 || ar.stages[0] != warmUp || !ar.warm {
			t.Fatalf("arm %s: stages %+v, want the warm-up, then %+v", ar.name, ar.stages, base[i].stages)
		}
		cold, err := a.start(i, 1, 0, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		o := cold.s.(*relunet.Analytic).Options()
		if o.Damping != 0.01 || o.Tol != 1e-3 || o.Patience != 5 || len(cold.rest) != len(base[i].stages) {
			t.Errorf("arm %s: a new start has damping %v, tol %v, patience %v and %d stages after it, want the warm-up's and %d",
				ar.name, o.Damping, o.Tol, o.Patience, len(cold.rest), len(base[i].stages))
		}
		from, err := a.start(i, 1, 0, nil, w0)
		if err != nil {
			t.Fatal(err)
		}
		o = from.s.(*relunet.Analytic).Options()
		want := base[i].stages[0].opts
		if o.Damping != want.Damping || o.Safeguard != want.Safeguard || o.DataInit || !mat.Equal(o.Init.W, w0.W) ||
			len(from.rest) != len(base[i].stages)-1 {
			t.Errorf("arm %s: a start from the warm-up's network has %+v and %d stages after it, want the arm's first stage from it",
				ar.name, o, len(from.rest))
		}
	}
	// Where the rows are many the arms are warmed once a race is on, and
	// the first start, cold until then, goes back to the warm-up from its
	// best network, then on to its arm's stages.
	a.arms = base
	rn, err := a.start(0, 1, 0, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	a.advance(rn, 0, 1)
	best := rn.s.Best().Net
	a.arms = arms
	if err := a.rewarm(rn); err != nil {
		t.Fatal(err)
	}
	if o := rn.s.(*relunet.Analytic).Options(); o.Damping != 0.01 || o.Tol != 1e-3 || o.Patience != 5 || o.DataInit ||
		o.Init == nil || !mat.Equal(o.Init.W, best.W) || !mat.Equal(o.Init.Beta, best.Beta) || !slices.Equal(rn.rest, base[0].stages) {
		t.Errorf("a start sent back to the warm-up has %+v and stages %+v after it, want the warm-up's from its best network, then %+v",
			o, rn.rest, base[0].stages)
	}
	for _, ra := range ridgeArms(arms[0], 1000) {
		if !ra.warm || ra.stages[0].opts.Ridge != ra.stages[1].opts.Ridge || ra.stages[0].opts.Damping != warmUp.opts.Damping {
			t.Errorf("ridge arm %s: %+v", ra.name, ra.stages)
		}
	}
}

// fewRowsRun returns the strategy's state for the split at h = 8, where
// the rows are few: every arm, the balanced ones too, warmed, and no start
// made yet.
func fewRowsRun(t *testing.T, sp *Split) *autoRun {
	t.Helper()
	r, err := newRun(sp, Config{Hidden: 8, Auto: true, Budget: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	var arms []arm
	for _, ar := range append(autoArms(), balancedArms()...) {
		arms = append(arms, warmed(ar))
	}
	a := &autoRun{run: r, ctx: bg, arms: arms, reports: make([]ArmReport, len(arms))}
	for i := range a.reports {
		a.reports[i] = ArmReport{Name: arms[i].name, Best: math.Inf(1)}
	}
	return a
}

// A balanced arm's first start goes on from the warm-up's network; its
// second, its first new one, is cold (its own stage from hyperplanes
// through the data, without the warm-up), and each later one is of the
// kind whose starts have the lower score so far. The other arms' new
// starts all warm up. A start's score counts for its kind.
func TestEvidenceStarts(t *testing.T) {
	sp := smallSplit(t)
	a := fewRowsRun(t, sp)
	arms := a.arms
	w0 := fixedNet(t, sp)
	warmUpFirst := func(rn *runner) bool {
		o := rn.s.(*relunet.Analytic).Options()
		return o.Damping == warmUp.opts.Damping && o.Tol == warmUp.opts.Tol && !o.Balance
	}
	for i, ar := range arms {
		first, err := a.start(i, 1, 0, nil, w0)
		if err != nil {
			t.Fatal(err)
		}
		if first.cold {
			t.Errorf("arm %s: its start from the warm-up's network counts as cold", ar.name)
		}
		second, err := a.start(i, 1, 0, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		if second.cold != ar.evidence || warmUpFirst(second) == ar.evidence {
			t.Errorf("arm %s (evidence %v): its second start is cold %v, begins with the warm-up %v", ar.name, ar.evidence, second.cold, warmUpFirst(second))
		}
		if !ar.evidence {
			continue
		}
		if o := second.s.(*relunet.Analytic).Options(); o.Damping != ar.stages[1].opts.Damping || !o.Balance || !o.DataInit || len(second.rest) != 0 {
			t.Errorf("arm %s: a cold start has %+v and %d stages after it, want the arm's own stage alone", ar.name, o, len(second.rest))
		}
		// Its score counts for the cold kind.
		a.advance(second, 0, 1)
		ks := a.kindsOf(i)
		if ks.n != [2]int{1, 1} || ks.best[1] != second.best || ks.best[0] != first.best {
			t.Errorf("arm %s: kinds %+v, want one start of each, scored %v warmed and %v cold", ar.name, *ks, first.best, second.best)
		}
		for _, c := range []struct {
			warm, cold float64
			want       bool
		}{{1, 2, false}, {2, 1, true}, {1, 1, false}} {
			ks.best = [2]float64{c.warm, c.cold}
			rn, err := a.start(i, 1, 0, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			if rn.cold != c.want || warmUpFirst(rn) == c.want {
				t.Errorf("arm %s: with warmed starts at %v and cold at %v a new start is cold %v, want %v", ar.name, c.warm, c.cold, rn.cold, c.want)
			}
		}
	}
}

// Where no race fits, damping 0.01 balanced runs alone where the rows are
// few, without validation, the first arm elsewhere. The first start, still
// in the warm-up that every arm begins with, is handed to the lone arm
// with its start, time and score, and goes on with the lone arm's own
// stage from its network; the lone arm's later starts skip the warm-up. A
// start past the warm-up keeps its arm and ends.
func TestLoneArm(t *testing.T) {
	const hD = 100
	for _, c := range []struct {
		n          int
		validating bool
		want       string
	}{
		{150, false, "damping=0.01+balance+datainit"},
		{300, false, "damping=0.01+balance+datainit"},
		{manyRows*hD - 1, false, "damping=0.01+balance+datainit"},
		{150, true, "damping=0.01+datainit"},
		{300, true, "safeguard+datainit"},
		{manyRows * hD, false, "safeguard+datainit"},
	} {
		p := planRace(c.n, 1, hD, c.validating)
		if got := p.arms[p.lone].name; got != c.want {
			t.Errorf("%d rows for %d unknowns, validating %v: the lone arm is %s, want %s", c.n, hD, c.validating, got, c.want)
		}
	}

	sp := smallSplit(t)
	a := fewRowsRun(t, sp)
	arms := a.arms
	rn, err := a.start(safeguardArm, 1, 0, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	a.advance(rn, 0, 1)
	if rn.st != warmUp || rn.done {
		t.Fatalf("after one step the first start is at %+v, done %v: not in the warm-up", rn.st, rn.done)
	}
	a.reports[safeguardArm].Seconds = 0.25
	was, w := a.reports[safeguardArm], rn.s.Best().Net
	a.hand(rn, balancedArm)
	if got := a.reports[balancedArm]; rn.arm != balancedArm || got.Starts != 1 || got.Seconds != was.Seconds || got.Best != was.Best || got.Name != arms[balancedArm].name {
		t.Errorf("a start handed over: arm %d, report %+v, want arm %d with %+v", rn.arm, got, balancedArm, was)
	}
	if got := a.reports[safeguardArm]; got.Starts != 0 || got.Seconds != 0 || !math.IsInf(got.Best, 1) {
		t.Errorf("the arm a start was handed from reports %+v, want nothing", got)
	}
	if o := rn.s.(*relunet.Analytic).Options(); o.Damping != 0.01 || !o.Balance || o.Tol == warmUp.opts.Tol || o.DataInit || !mat.Equal(o.Init.W, w.W) || len(rn.rest) != 0 {
		t.Errorf("a start handed over has %+v and %d stages after it, want damping 0.01 balanced from its network", o, len(rn.rest))
	}
	next, err := a.start(balancedArm, 1, 0, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if o := next.s.(*relunet.Analytic).Options(); o.Damping != 0.01 || !o.Balance || o.Tol == warmUp.opts.Tol || !o.DataInit || len(next.rest) != 0 {
		t.Errorf("the lone arm's next start has %+v and %d stages after it, want its own stage without the warm-up", o, len(next.rest))
	}

	// A start from the warm-up's network is in its own arm's stages.
	past, err := a.start(safeguardArm, 1, 0, nil, fixedNet(t, sp))
	if err != nil {
		t.Fatal(err)
	}
	was = a.reports[safeguardArm]
	a.hand(past, exploreArm)
	if past.arm != safeguardArm || !past.done || a.reports[safeguardArm] != was || a.reports[exploreArm].Starts != 0 {
		t.Errorf("a start past its warm-up: arm %d, done %v, reports %+v and %+v", past.arm, past.done, a.reports[safeguardArm], a.reports[exploreArm])
	}
	// The arm it was to be handed to makes its own starts all the same.
	if ex, err := a.start(exploreArm, 1, 0, nil, nil); err != nil {
		t.Fatal(err)
	} else if o := ex.s.(*relunet.Analytic).Options(); o.Tol == warmUp.opts.Tol || o.Damping != 0 || !o.DataInit || len(ex.rest) != len(autoArms()[exploreArm].stages)-1 {
		t.Errorf("explore's start after a start past its warm-up was handed to it has %+v and %d stages after it, want its own stages", o, len(ex.rest))
	}
}

// On one core there is no race: the lone arm makes every start and is
// given all the time, and the kept network is its best.
func TestAutoAlone(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	for _, c := range []struct {
		sp     *Split
		hidden int
	}{{smallSplit(t), 8}, {teacherSplitOf(t, 2000, 3, 6, 0.1, 2), 4}} {
		n, d := c.sp.XTrain.Dims()
		p := planRace(n, 1, c.hidden*(d+1), false)
		r := mustRun(t, c.sp, Config{Hidden: c.hidden, Auto: true, Budget: 400 * time.Millisecond})
		for i, ar := range r.Arms {
			if i == p.lone {
				if ar.Starts == 0 || !(ar.Seconds > 0.2) || math.Abs(r.TrainMSE-ar.Best) > 1e-9*ar.Best || ar.Starts != r.Starts {
					t.Errorf("%d rows: the lone arm %s reports %+v; the run %d starts and training MSE %v", n, ar.Name, ar, r.Starts, r.TrainMSE)
				}
			} else if ar.Starts != 0 || ar.Seconds != 0 || !math.IsNaN(ar.Best) {
				t.Errorf("%d rows: arm %s reports %+v, want nothing: the lone arm is %s", n, ar.Name, ar, r.Arms[p.lone].Name)
			}
		}
	}
}
