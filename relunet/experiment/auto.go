package experiment

import (
	"context"
	"math"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/relunet/relunet/relunet"
	"github.com/relunet/relunet/relunet/data"
)

// The adaptive strategy (Config.Auto, the label "analytic+auto") spends a
// budget across the ways the analytic method can make a start, by what
// each has delivered so far in this run. The reasons, from measurements at
// equal budgets (docs/results.md):
//
//   - No fixed way is best everywhere. The safeguarded alternation from
//     hyperplanes through the data is best on the large sets; with few
//     rows for the unknowns the plain alternation overshoots (its hidden
//     step fits the frozen pattern almost exactly, and many entries flip)
//     and the damped, proximal, step is far better, with a damping that
//     depends on the set; explore and the initialisation through the data
//     each win on some sets.
//   - A way is judged by the score of its starts (the lowest training
//     MSE, or validation MSE with Validate), and a start by the time it is
//     given: a damped start improves for long, a safeguarded one stops
//     early, so a comparison at a fixed number of starts or steps would be
//     unfair. The strategy races them by successive halving (Jamieson and
//     Talwalkar, 2016): every arm gets a start and a slice of wall time,
//     the better half of the arms (by their lowest score) goes on with
//     twice the slice, until one is left; a start that stops within its
//     slice is followed by a new start of its arm. The winner then runs
//     until the budget ends, its starts restarted as they stop. The
//     race's slice is the time left after the warm-up divided by twice
//     the rungs times the arms (by 30 for five arms), meant to give the
//     race half of it; the arms run one per core, so that on two cores a
//     race of five arms takes 11 slices, about 37 % of that time, and less
//     on more cores. Slices sized by the rounds the cores run, so that the
//     race took half the time, were higher on 58 of 130 seeds of the
//     development family and lower on 28 (docs/results.md): the winner's
//     time seems worth more than longer slices.
//   - The arms: the safeguarded alternation, the damped one at three
//     dampings a decade apart (0.01, 0.001, 0.0001: the best damping
//     varied by more than a decade across the development sets, and a
//     wrong one could cost a factor of ten), and explore, all from
//     hyperplanes through the data. Where the rows are few for the
//     unknowns (manyRows), without validation, two more: the damped one at
//     0.01 and 0.001 with its units balanced after each hidden step
//     (balancedArms, relunet.AnalyticOptions.Balance). There the ridge is
//     a large part of the loss, and balanced and unbalanced starts differ
//     by factors either way, by set and damping (one start on one core for
//     2 s, 3 seeds, the development sets at h = 32 and 64: balanced
//     damping 0.001 from a fifth to tens of thousands of times the best
//     unbalanced variant, by set). With the two arms the strategy's mean
//     training MSE was lower than without on 36 of 60 seeds at h = 32, 45
//     of 65 at h = 64 and 33 of 65 at h = 128, higher on 17, 12 and 17;
//     higher on every seed of pol at h = 64 and skillcraft at h = 128,
//     where a step is long for the slice (docs/results.md). A third
//     balanced arm takes the two dampings in turn, 0.01 then 0.001
//     (relunet.AnalyticOptions.AltDamping): alone, it was below both
//     balanced dampings alone on 11 of 25 development settings (by
//     factors on some) and between them on the others. Racing beside
//     them, run against the build without it seed by seed (the
//     development family at h = 32, 64 and 128), it lowered the
//     strategy's training MSE in 150 pairs of runs and raised it in 108
//     (a sign test gives p = 0.011; 67 pairs ended equal), significantly on four pairs of set and size (yacht
//     at h = 64 to 0.59, gas at h = 32 to 0.79) and higher significantly
//     on one (gas at h = 128, by 6 %; docs/results.md). Eight arms make
//     the slice a forty-eighth of the time left; on two cores the race
//     then takes 12 slices, a quarter of it. They also need a longer
//     time left to race at all (four steps per arm): on skillcraft at
//     h = 128 the build before raced on 3 of 5 seeds and this one on none.
//   - A balanced arm's second start (its first new one) begins cold,
//     from hyperplanes through the data with the arm's own steps, and
//     each later one warmed or cold by which kind's starts have the lower
//     score so far in the run (arm.evidence; its first start goes on from
//     the shared warm-up's network). Started warmed and cold with the same seeds, eight starts
//     each way, the warmed starts of damping 0.001 balanced were lower on
//     five development sets (by factors on four) and higher on three
//     (yacht's 1.8 times), the same way on a second seed on the four sets
//     tried: which kind suits depends on the set, and the run's own
//     starts tell. Run both ways in one build (h = 32, 10 seeds), yacht's
//     mean training MSE fell to 0.85 of what it was, on every seed that
//     differed (0.69 in two earlier measurements), and no other set moved
//     significantly; at h = 64 none did (housing 2.56 times, mostly from
//     one seed where the rule did not act; docs/results.md).
//   - Where the rows are few, without validation, the safeguarded arm
//     goes behind the others at the first rung's halving when another
//     analytic arm has gone below the shared warm-up's score by at least
//     half as far as it has (safeguardBehind). Where the race kept its
//     network there, the run was often among its set's worst: our
//     reading, that from the warm-up's network it can lead a rung and then
//     end behind arms that improve for longer. Where no other arm has
//     moved half as far, it keeps its place by its score. Run both ways in
//     one build (10 seeds, the development family at h = 8 to 128 and the
//     nine sets cut small), the mean training MSE's geometric mean over
//     the few-rows sets was 0.89 to 1.02 of what it was by size, lower on
//     220 seeds and higher on 172; where the arm had been kept and no
//     longer was, lower in 8 of 9 runs, the ninth a run that did not race
//     (docs/results.md).
//   - Where one step is long for the budget (a race would leave each arm
//     less than a few steps), there is no race: one arm runs alone, with
//     all the cores, restarted as it stops (loneArm). Where the rows are
//     few for the unknowns, without validation, it is damping 0.01 with
//     balanced units, without the warm-up; elsewhere the first arm. The
//     first arm is the damped one (0.01) when the rows times the outputs
//     are fewer than twice the unknowns, and the safeguarded one otherwise
//     (firstArm).
//   - When the rows are many for the unknowns (manyRows), the first start
//     begins with a cascade of row samples (a sixteenth, then a quarter,
//     each for at most an eighth of the time left, each only if its rows
//     are many for the unknowns too), whose alternations cost a fraction
//     of a full one; their network starts the full data's stage.
//   - Where the arms race, and where the rows are few for the unknowns (also
//     when a step is too long to race and, with validation, the first arm
//     runs alone; not the lone arm without validation, loneArm), every
//     start begins with a warm-up (but a balanced arm's cold ones, below):
//     the damped step at 0.01,
//     the arm lowest at first on most sets, until it stalls (warmUp); then
//     the arm's own stages. The first start's warm-up is shared: the other
//     arms' first starts begin from its network. Run alone on the
//     development sets (one core each, 5 seeds), an arm with the warm-up
//     had a lower mean training MSE than without on 6 to 13 of the 13
//     sets, by arm, and a geometric mean of its ratios to the best arm
//     lower by a factor of 1.5 to 2.5.
//     But a race of arms that each warm up on their own, replayed on those
//     runs' recorded curves, did worse than the race without warm-ups: its
//     first rungs compared the arms while they were all still warming up.
//     From a shared warm-up the race compares what each arm does from the
//     same network, which is what it does after any warm-up. Where the
//     rows are many and a step too long to race (the year set's size, and
//     the patches' on some runs since their hidden step's conjugate
//     gradients), the first arm runs alone without it, as before the
//     warm-up: there it would take several of the few full alternations
//     the budget holds.
//   - The strategy races where the rows are many for the unknowns too;
//     there the first start runs its cascade and one step on the full
//     rows, timed, before it goes to the warm-up. It did not race there
//     before the shared warm-up: from cold starts the race judged the arms
//     by how they climbed out of a start, and the safeguarded arm alone was
//     lower. From the shared warm-up, racing had
//     a lower mean training MSE than the safeguarded arm alone on 14 of the
//     15 pairs of set and size measured there, significantly on 10
//     (abalone by 7 %, teacher and sinx2 by 2 and 3 %, the development
//     sets by 4 to 40 %), the same on the 15th; above 32 equations per
//     unknown (pol at h = 8, shape-sdf, the SDF) lower, not significantly.
//     Where a lower training MSE fits noise the test MSE rose (abalone's
//     by 14 to 15 %); validation is the remedy.
//   - Where the rows are fewer than the unknowns (interpolates), L-BFGS
//     on all weights races too, from the shared warm-up's network like the
//     others, but not with Validate, where it was not measured. A network
//     can then fit the rows exactly: L-BFGS from an analytic network got
//     to a training MSE of 3·10⁻¹¹ or below on two development sets at
//     h = 64, where the strategy stopped near 10⁻⁶. It runs in the first
//     rung beside the analytic arms, the slice is sized by the analytic
//     arms, and it goes on after a rung only while it leads them all, without
//     taking an analytic arm's place (halve). Where it did take one, in a first
//     trial, the arm that wins later was dropped at the first rung on some
//     seeds of three sets, and their mean training MSE rose 2 to 20 times;
//     the rule kept gives up an L-BFGS start that falls behind at a rung
//     and would win later (on stock at h = 64 the first trial kept L-BFGS
//     on 5 of 5 seeds, this rule on 2). Its cost elsewhere: on two cores a
//     round more at each rung it runs in. It races only where the rows
//     are few, beside the eight analytic arms of the balanced ones: the
//     first rung then takes five rounds instead of four, and the race 13
//     slices instead of 12, 15 where it leads at the first rung (the
//     second takes three rounds) and 19 where it leads at the second too
//     (the third takes two). With seven analytic arms, before the third
//     balanced one, it took the first rung's free place: 12, 14 and 18
//     slices. Within the noise of a rerun on the development sets, with
//     seven (docs/results.md).
//   - In the race the starts run at once, one core each (the first keeps
//     the cores it began with), so that small starts keep every core busy.
//   - Where the rows are few and no start of the winning arm has stopped
//     by its own rules during the race (its starts are long for the
//     budget), the winner's start goes on in a solver with every core,
//     instead of on one core beside a new start of its arm that the budget
//     would cut before it caught up (widens). Tried wherever a race ran, it
//     was significantly lower on 4 pairs of set and size of the development
//     family and higher on none, but higher on 4 of 5 seeds of bike, where
//     the rows are many and the winners' steps undamped or barely damped;
//     so it is kept to few rows (docs/results.md).
//   - With Validate the first arm also races at a ridge λ of 10⁻⁴, 10⁻³,
//     10⁻² and 10⁻¹ times the fitting rows (ridgeScales), raced by
//     validation MSE beside the others. Where the rows are many for the
//     unknowns only the first arm and explore race, each with its four
//     ridge arms (ten arms), from the shared warm-up. The rule before, the
//     first arm and its ridge arms alone from cold starts, never tried
//     explore, the arm that racing every arm kept most often on parkinsons,
//     where it lowered the test MSE. Racing every arm at the configured λ
//     beside the first's ridge arms kept explore at that λ on 6 of 10
//     seeds of teacher, on each of which the rule before had kept a ridge
//     arm, and teacher's test MSE rose on 7 of 10 seeds. With explore's own
//     ridge arms the test MSE was lower than the rule before's on 10 of 14
//     pairs of set and size where the rows are many (parkinsons at h = 16
//     to 0.41, on every seed), higher on 4, none of them significantly
//     (the SDF's 1.08, where an arm dropped at the first rung ran a third
//     as long as with five arms; docs/results.md). On 16 sets (the
//     development family, abalone, teacher and sinx2), with every arm at one λ of 10⁻⁴n, 10⁻³n or
//     10⁻²n, the λ of the lowest test MSE was any of them, or the
//     configured 0.001 (on one set); the largest cut one set's test MSE
//     26-fold and raised another's by 75 %: no fixed λ suits every set, and
//     held-out rows can choose. The grid's last decade was added because its end, 10⁻²n,
//     was the best on five sets; with it the test MSE was lower than in
//     two runs with three decades on 8 and 11 of the 16 sets, higher on
//     6 and 4 (docs/results.md): a small gain, not clearly beyond the
//     noise of a rerun.
//
// Nothing in it is set for one data set: the regime rules compare the
// rows with the unknowns, the race's size compares a step's time with the
// budget left, and the racing reads the run's own results.
func autoArms() []arm {
	return []arm{
		one("safeguard+datainit", relunet.AnalyticOptions{Safeguard: true, DataInit: true}),
		one("damping=0.01+datainit", relunet.AnalyticOptions{Damping: 0.01, DataInit: true}),
		one("damping=0.001+datainit", relunet.AnalyticOptions{Damping: 0.001, DataInit: true}),
		one("damping=0.0001+datainit", relunet.AnalyticOptions{Damping: 0.0001, DataInit: true}),
		{name: "explore+datainit", stages: []stage{{opts: relunet.AnalyticOptions{DataInit: true}}, {opts: relunet.AnalyticOptions{Safeguard: true}}}},
	}
}

// safeguardArm and exploreArm are those arms' indices in autoArms.
const (
	safeguardArm = 0
	exploreArm   = 4
	balancedArm  = exploreArm + 1 // damping 0.01 balanced: the first of balancedArms, after autoArms
)

// one returns the arm of one stage with options o.
func one(name string, o relunet.AnalyticOptions) arm {
	return arm{name: name, stages: []stage{{opts: o}}}
}

// balancedArms are the damped arms at 0.01, at 0.001, and at the two taken
// in turn (relunet.AnalyticOptions.AltDamping), with Balance, which race
// where the rows are few for the unknowns, without validation: there the
// ridge is a large part of the loss, and the units' balance changes what
// the alternation does (relunet.AnalyticOptions.Balance); where the rows
// are many it is a small part, and these arms would repeat the others at
// the cost of the race's time.
func balancedArms() []arm {
	arms := []arm{
		one("damping=0.01+balance+datainit", relunet.AnalyticOptions{Damping: 0.01, Balance: true, DataInit: true}),
		one("damping=0.001+balance+datainit", relunet.AnalyticOptions{Damping: 0.001, Balance: true, DataInit: true}),
		one("damping=0.01/0.001+balance+datainit", relunet.AnalyticOptions{Damping: 0.01, AltDamping: 0.001, Balance: true, DataInit: true}),
	}
	for i := range arms {
		arms[i].evidence = true
	}
	return arms
}

// firstArm returns the arm that starts, and that runs alone when there is
// no race, for n rows of m outputs and hD unknowns: a damped one when the
// equations are fewer than twice the unknowns (the plain hidden step then
// fits the frozen pattern almost exactly and overshoots), the safeguarded
// one otherwise.
func firstArm(n, m, hD int) int {
	if ratio(n, m, hD) < 2 {
		return 1
	}
	return safeguardArm
}

// loneArm returns the arm that runs alone where no race fits (its steps
// are long for the budget, or there is one core), for n rows of m outputs
// and hD unknowns, with validation or without: where the rows are few for
// the unknowns (manyRows), without validation, damping 0.01 with balanced
// units, from its own starts (without the warm-up; hand); elsewhere the
// first arm. Where no race fitted (20 settings of the development sets at
// h = 64 and 128 with a quarter to all of their budgets, and of the
// large-rows family), no arm alone was best on most of them. Damping
// 0.001 (balanced on two of them) was the best on the three where the
// question arose, but damping 0.001 alone lost by factors on others (21
// times the first arm's training MSE on wine at h = 128). Damping 0.01
// balanced was below the strategy's runs of the first arm alone on 18 of
// the 20; run in its place on other seeds, and on three sets cut four
// ways to few rows, settings that did not serve to choose it, it was lower
// on 23 of 26 settings, significantly on 13, and higher on none
// significantly (docs/results.md). With validation the balanced arms are
// not in the plan, and the first arm stays. Where the rows are many the safeguarded
// arm stays: damping 0.001 alone was lower on two sets of 8.5 to 9
// equations per unknown, but higher on yearlike (80), whose steps are too
// long to race.
func loneArm(n, m, hD int, validating bool) int {
	if ratio(n, m, hD) < manyRows && !validating {
		return balancedArm
	}
	return firstArm(n, m, hD)
}

// manyRows is the ratio of equations to unknowns from which the rows are
// many for the unknowns: the undamped hidden step is then well determined.
// From it a row sample can start the full data (cascade), and with
// validation only explore and the two arms' ridge arms race beside the
// first.
const manyRows = 8

// ratio returns the equations per unknown of the hidden step: n·m/(hD).
func ratio(n, m, hD int) float64 { return float64(n) * float64(m) / float64(hD) }

// interpolates reports whether the hidden step of n rows of m outputs has
// fewer equations than its hD unknowns: a network can then fit the rows
// exactly. Gradient methods on all weights get there (at h = 64, L-BFGS
// alone to round-off level on one development set, and from an analytic
// network on that one and to 10⁻¹¹ on another), where the alternation's
// steps, each exact for a frozen pattern and held by the ridge, did not.
func interpolates(n, m, hD int) bool { return ratio(n, m, hD) < 1 }

// lbfgsArm is L-BFGS on all weights, which races where a network can
// interpolate the rows (interpolates), from the warm-up's network as the
// other arms do.
var lbfgsArm = arm{name: "lbfgs", stages: []stage{{lbfgs: true}}}

// gradient reports whether the arm's own stage is L-BFGS.
func (a arm) gradient() bool { return a.stages[len(a.stages)-1].lbfgs }

// halve returns the runners that go on after a rung, sorted by score: the
// better half of the analytic ones, and a gradient runner (gradient) only
// if it leads them all. The L-BFGS arm races beside the analytic arms of
// the first rung, and must not take an analytic arm's place: on
// some seeds of three development sets at h = 64 it was second at the first
// rung, where the arm that wins later had not yet moved from the warm-up's
// loss and went on only by the tie's order.
func halve(sorted []*runner, gradient func(*runner) bool) []*runner {
	var an []*runner
	for _, rn := range sorted {
		if !gradient(rn) {
			an = append(an, rn)
		}
	}
	an = an[:(len(an)+1)/2]
	if gradient(sorted[0]) {
		return append([]*runner{sorted[0]}, an...)
	}
	return an
}

// safeguardBehind returns alive, already sorted by the arms' scores in
// reports, with the safeguarded arm's runner moved behind all the others
// (a gradient arm's too, which then goes on if it leads the rest: halve)
// when another analytic arm has gone below the shared warm-up's score w by
// at least half as far as it has; it is used at the first rung's halving
// where the rows are few, without validation. In the race by halving alone
// the safeguarded arm's network was kept on 8 of the 120 few-rows runs of
// the development family at h = 32, each of them worst or second worst of
// its set's ten and 1.04 to 22.5 times the best fixed arm on the same seed.
// Where no other arm has moved half as far it keeps its place: on
// skillcraft at h = 128, where it is the best fixed arm and a race without
// it ended 3 to 4 times higher, the others had moved by 0 to 0.8 % of the
// warm-up's score at the first rung, and it by 11 to 15 %
// (docs/results.md).
func safeguardBehind(alive []*runner, reports []ArmReport, w float64, gradient func(*runner) bool) []*runner {
	i := slices.IndexFunc(alive, func(rn *runner) bool { return rn.arm == safeguardArm })
	if i < 0 {
		return alive
	}
	own, other := w-reports[safeguardArm].Best, 0.0
	for _, rn := range alive {
		if rn.arm != safeguardArm && !gradient(rn) {
			other = math.Max(other, w-reports[rn.arm].Best)
		}
	}
	if other <= 0 || 2*other < own {
		return alive
	}
	sg := alive[i]
	return append(slices.Delete(slices.Clone(alive), i, i+1), sg)
}

// stepsPerArm is the least number of steps of the first arm's length that
// the time left must hold per arm for the strategy to race its arms.
const stepsPerArm = 4

// cascade returns the stages on row samples that the first start runs
// before its own, for n rows of m outputs and hD unknowns: one row in 16,
// then one in 4, those of them whose rows are still many for the unknowns
// (manyRows), each for at most an eighth of the time left. A sample with
// fewer rows is in the regime where the undamped step overshoots, and its
// network can start the full data's stage worse than a new start: on pol
// (15,000 rows), a quarter sample at 3.5 equations per unknown left the
// training MSE 1.6 times that of no cascade at equal time.
func cascade(n, m, hD int, first relunet.AnalyticOptions) []stage {
	var st []stage
	for _, frac := range []int{16, 4} {
		if ratio(n/frac, m, hD) >= manyRows {
			st = append(st, stage{opts: first, frac: frac, share: 1.0 / 8})
		}
	}
	return st
}

// ridgeScales are the ridge λ of the arms that Validate adds, as multiples
// of the fitting rows: the normal matrices are sums over the rows, so that
// a λ proportional to their number shrinks by the same share whatever it
// is.
var ridgeScales = [...]float64{1e-4, 1e-3, 1e-2, 1e-1}

// ridgeArms returns the arm a with the ridge λ of each of ridgeScales, for
// n fitting rows, in every stage.
func ridgeArms(a arm, n int) []arm {
	var arms []arm
	for _, c := range ridgeScales {
		lambda := c * float64(n)
		r := arm{name: a.name + "+ridge=" + strconv.FormatFloat(lambda, 'g', 3, 64), stages: slices.Clone(a.stages), warm: a.warm, evidence: a.evidence}
		for i := range r.stages {
			r.stages[i].opts.Ridge = lambda
		}
		arms = append(arms, r)
	}
	return arms
}

// warmUp is the stage that begins every start (but a balanced arm's cold
// ones: arm.evidence) where the rows are few for the unknowns, and where
// they are many and the strategy races: the damped
// step at 0.01 from hyperplanes through the data (the
// arm of lowest training MSE at a thirtieth of the budget on 8 of the 13
// development sets, damping 0.001 on the others), until it stalls (its best
// loss improved by less than 0.1 % in 5 alternations, or a fixed point to
// that tolerance). The arms' own steps then go on from a network that fits,
// where the slower starters (explore, the smaller dampings, whose early
// steps overshoot from a random start) are no longer judged by how they
// climb out of a random start.
var warmUp = stage{opts: relunet.AnalyticOptions{Damping: 0.01, DataInit: true, Tol: 1e-3, Patience: 5}}

// warmed returns arm a with the warm-up before its stages.
func warmed(a arm) arm {
	return arm{name: a.name, stages: append([]stage{warmUp}, a.stages...), warm: true, evidence: a.evidence}
}

// racePlan is who races, and how the race is sized.
type racePlan struct {
	arms    []arm
	racers  []int   // the arms that race, the first arm first
	first   int     // the arm that makes the first start (firstArm)
	lone    int     // the arm that runs alone where no race fits (loneArm)
	few     bool    // the rows are few for the unknowns (manyRows)
	prelude []stage // the first start's stages on row samples (cascade)
	// ladder holds the number of analytic arms that run each rung of the
	// race: ⌈k/2⌉ of the k of a rung go on to the next (halve), until one
	// is left. A gradient arm runs beside them, outside the count.
	ladder []int
}

// planRace returns the race for n rows of m outputs and hD unknowns, with
// validation or without: every arm, or with validation and many rows the
// first and explore; with validation the ridge arms (ridgeArms) of the
// first, and where the rows are many of explore too; without, where the
// rows are fewer than the unknowns, L-BFGS last. Where the rows are few
// every arm warms up; where they are many, only once a race is on (auto).
func planRace(n, m, hD int, validating bool) racePlan {
	p := racePlan{arms: autoArms(), first: firstArm(n, m, hD), lone: loneArm(n, m, hD, validating), few: ratio(n, m, hD) < manyRows}
	if p.few && !validating {
		p.arms = append(p.arms, balancedArms()...)
	}
	if p.few {
		for i := range p.arms {
			p.arms[i] = warmed(p.arms[i])
		}
	}
	ridged := []int{p.first}
	if !p.few && validating {
		ridged = append(ridged, exploreArm)
	}
	p.racers = []int{p.first}
	for i := range p.arms {
		if i != p.first && (p.few || !validating || slices.Contains(ridged, i)) {
			p.racers = append(p.racers, i)
		}
	}
	p.prelude = cascade(n, m, hD, p.arms[p.first].stages[0].opts)
	if validating {
		for _, i := range ridged {
			for _, ra := range ridgeArms(p.arms[i], n) {
				p.racers = append(p.racers, len(p.arms))
				p.arms = append(p.arms, ra)
			}
		}
	}
	// L-BFGS races beside the first rung's analytic arms; the race is sized
	// by them.
	if p.few && !validating && interpolates(n, m, hD) {
		p.racers = append(p.racers, len(p.arms))
		p.arms = append(p.arms, warmed(lbfgsArm))
	}
	k := 0
	for _, i := range p.racers {
		if !p.arms[i].gradient() {
			k++
		}
	}
	for ; k > 1; k = (k + 1) / 2 {
		p.ladder = append(p.ladder, k)
	}
	return p
}

// slice returns the race's first slice, for the time left: sized so that
// the race would take half of it if every rung took as many slices as it
// has analytic arms (each rung's slice twice the one before, for half the
// arms).
func (p racePlan) slice(left time.Duration) time.Duration {
	return left / time.Duration(2*len(p.ladder)*p.ladder[0])
}

// runner is a start under way in the race: the solver of its current
// stage, the stages after it, and its best score so far.
type runner struct {
	arm, k int
	s      relunet.Solver
	st     stage // s's
	rest   []stage
	best   float64
	done   bool // it stopped by its rules or its budget; failed when s failed
	cold   bool // a start of a warmed arm that began without the warm-up (arm.evidence)
}

// auto runs the adaptive strategy.
func (r *run) auto(ctx context.Context) (*Result, error) {
	dctx, cancel := r.deadline(ctx, 1)
	defer cancel()
	n, d := r.xFit.Dims()
	_, m := r.yFit.Dims()
	hD := r.cfg.Hidden * (d + 1)
	p := planRace(n, m, hD, r.validating())
	arms, racers, i0, few := p.arms, p.racers, p.first, p.few
	reports := make([]ArmReport, len(arms))
	for i, a := range arms {
		reports[i] = ArmReport{Name: a.name, Best: math.Inf(1)}
	}
	defer func() {
		for i := range reports {
			reports[i].Best = r.sp.Unscale(reports[i].Best)
			if math.IsInf(reports[i].Best, 1) {
				reports[i].Best = math.NaN()
			}
		}
		r.res.Arms = reports
	}()
	a := &autoRun{run: r, ctx: dctx, arms: arms, reports: reports, ended: make([]bool, len(arms))}

	// The first start of the first arm, with all the cores, its first step
	// on the full data timed.
	begin := time.Now()
	first, err := a.start(i0, r.cfg.Workers, r.cfg.MemoryLimit, p.prelude, nil)
	if err != nil {
		return a.end(ctx, err)
	}
	t := time.Now()
	a.advance(first, 0, 1)
	step := time.Since(t)
	dl, _ := dctx.Deadline()
	left := time.Until(dl)
	if first.done || procs() == 1 || len(p.ladder) == 0 || left < stepsPerArm*step*time.Duration(p.ladder[0]) {
		// No race: the lone arm, with every core, restarted as it stops;
		// the first start, if it is still warming up, goes on as its start.
		reports[i0].Seconds += time.Since(begin).Seconds()
		a.hand(first, p.lone)
		for !first.failed() && dctx.Err() == nil {
			t := time.Now()
			if first.done {
				if first, err = a.start(p.lone, r.cfg.Workers, r.cfg.MemoryLimit, nil, nil); err != nil {
					return a.end(ctx, err)
				}
			}
			a.advance(first, 0, -1)
			reports[p.lone].Seconds += time.Since(t).Seconds()
		}
		return a.finish(ctx, first)
	}

	// The shared warm-up: the first start goes on until its warm-up ends,
	// for at most an eighth of the time left, and the other arms' first
	// starts begin from its network, so that the race compares what each
	// arm does from there. Where the rows are many the first start warms up
	// from where its first step left it, and so do the arms' later starts.
	var w0 *relunet.Net
	if !few {
		for i := range arms {
			arms[i] = warmed(arms[i])
		}
		if err := a.rewarm(first); err != nil {
			return a.end(ctx, err)
		}
	}
	if arms[i0].warm {
		end := time.Now().Add(left / 8)
		for rest := len(first.rest); len(first.rest) == rest && !first.done && time.Now().Before(end) && dctx.Err() == nil; {
			a.advance(first, 0, 1)
		}
		if !first.failed() {
			w0 = first.s.Best().Net
		}
		left = time.Until(dl)
	}
	reports[i0].Seconds += time.Since(begin).Seconds()
	warmScore := reports[i0].Best

	// The race: the racing arms run at once, one core each, by successive
	// halving; the slice is sized for half the time left as if each rung
	// took as many slices as it has analytic arms (twice the slice for half
	// of them); as the arms run one per core, the race takes less.
	mem := r.memoryShare(procs())
	runners := []*runner{first}
	for _, i := range racers[1:] {
		rn, err := a.start(i, 1, mem, nil, w0)
		if err != nil {
			return a.end(ctx, err)
		}
		runners = append(runners, rn)
	}
	slice := p.slice(left)
	alive := runners
	gradient := func(rn *runner) bool { return a.arms[rn.arm].gradient() }
	for rung := range p.ladder {
		if dctx.Err() != nil {
			break
		}
		a.parallel(alive, slice, mem)
		// The better half by the arms' scores, ties to the earlier arm.
		slices.SortStableFunc(alive, func(x, y *runner) int {
			switch bx, by := reports[x.arm].Best, reports[y.arm].Best; {
			case bx < by:
				return -1
			case bx > by:
				return 1
			}
			return x.arm - y.arm
		})
		if rung == 0 && few && !r.validating() {
			alive = safeguardBehind(alive, reports, warmScore, gradient)
		}
		alive = halve(alive, gradient)
		slice *= 2
	}
	// The winner, until the budget ends: where it widens, its start goes
	// on with every core until it stops; then, or else, it is restarted as
	// it stops, and the other cores make more starts of it.
	win := alive[0]
	// A solver that cannot be made with every core (its memory, say) leaves
	// the winner's own intact, to go on as it would without the rule.
	if a.widens(win, few) && dctx.Err() == nil && a.enter(win, win.st, win.rest, r.cfg.Workers, r.cfg.MemoryLimit) == nil {
		t := time.Now()
		a.advance(win, -1, 0)
		reports[win.arm].Seconds += time.Since(t).Seconds()
	}
	rs := []*runner{win}
	for i := 1; i < procs() && dctx.Err() == nil; i++ {
		rn, err := a.start(win.arm, 1, mem, nil, nil)
		if err != nil {
			return a.end(ctx, err)
		}
		rs = append(rs, rn)
	}
	a.parallel(rs, -1, mem)
	return a.finish(ctx, win)
}

// autoRun is the state of the adaptive strategy.
type autoRun struct {
	*run
	ctx     context.Context // the budget's
	arms    []arm
	reports []ArmReport // guarded by run.mu
	next    int         // the next start's number; guarded by run.mu
	failure relunet.Solver
	err     error
	ended   []bool              // by arm: a start of it stopped by its own rules; guarded by run.mu
	kinds   map[int]*startKinds // by arm; guarded by run.mu
}

// startKinds counts the starts of an arm by kind, warmed ([0], the warm-up
// or the shared warm-up's network first) or cold ([1], without it), and
// holds the lowest score each kind has reached.
type startKinds struct {
	n    [2]int
	best [2]float64
}

// kindsOf returns the start kinds of arm; the caller holds mu.
func (a *autoRun) kindsOf(arm int) *startKinds {
	if a.kinds == nil {
		a.kinds = make(map[int]*startKinds)
	}
	k := a.kinds[arm]
	if k == nil {
		k = &startKinds{best: [2]float64{math.Inf(1), math.Inf(1)}}
		a.kinds[arm] = k
	}
	return k
}

// kind returns the index of a runner's kind of start in startKinds.
func (rn *runner) kind() int {
	if rn.cold {
		return 1
	}
	return 0
}

// widens reports whether the race's winner goes on with every core: where
// the rows are few (few), no start of its arm has stopped by its own rules
// yet (every one ran until a rung cut it, so that a new start would be cut
// by the budget too, behind it), and its solver is analytic and has fewer
// workers than the run (the first start has them all already). On a
// development set at h = 128 the winning safeguarded arm reached 0.014 to
// 0.016 in 4 s with two cores and 0.020 to 0.023 with one, from the same
// network. Where the rows are many, a second start was worth more
// (docs/results.md).
func (a *autoRun) widens(win *runner, few bool) bool {
	all := a.cfg.Workers
	if all == 0 {
		all = procs()
	}
	return few && !win.done && !a.ended[win.arm] && !a.arms[win.arm].gradient() && a.workersOf(win) < all
}

func (rn *runner) failed() bool { return rn.s != nil && rn.s.Status() == relunet.Failure }

// start makes a start of arm a, with workers goroutines and the memory
// limit mem: the stages on row samples of prelude, then the arm's. With
// init not nil it starts from init instead, without the arm's warm-up.
func (a *autoRun) start(arm, workers int, mem int64, prelude []stage, init *relunet.Net) (*runner, error) {
	a.mu.Lock()
	k := a.next
	a.next++
	a.mu.Unlock()
	rn := &runner{arm: arm, k: k, best: math.Inf(1)}
	own := a.arms[arm].stages
	if init != nil && a.arms[arm].warm {
		own = own[1:]
	}
	// A new start of an arm with evidence, after its first, is cold if no
	// start of it has been, or if the cold ones have scored lower so far.
	a.mu.Lock()
	ks := a.kindsOf(arm)
	if init == nil && len(prelude) == 0 && a.arms[arm].warm && a.arms[arm].evidence && a.reports[arm].Starts > 0 &&
		(ks.n[1] == 0 || ks.best[1] < ks.best[0]) {
		rn.cold = true
		own = own[1:]
	}
	ks.n[rn.kind()]++
	a.mu.Unlock()
	stages := append(slices.Clone(prelude), own...)
	for len(stages) > 0 && stages[0].frac > 1 {
		st := stages[0]
		stages = stages[1:]
		rows := a.sample(k, st.frac)
		x, y := data.SelectRows(a.xFit, rows), data.SelectRows(a.yFit, rows)
		ctx, cancel := a.ctx, context.CancelFunc(func() {})
		if dl, ok := a.ctx.Deadline(); ok {
			ctx, cancel = context.WithDeadline(a.ctx, time.Now().Add(time.Duration(st.share*float64(time.Until(dl)))))
		}
		s, err := relunet.NewAnalytic(ctx, x, y, a.options(st.opts, k, workers, mem, init))
		if err != nil {
			cancel()
			if a.ctx.Err() != nil {
				break // the budget ended within the cascade: start from what it has
			}
			return nil, err
		}
		for s.Step() {
			a.mu.Lock()
			a.res.Iterations++
			a.mu.Unlock()
		}
		cancel()
		if s.Status() == relunet.Failure {
			return nil, s.Err()
		}
		init = s.Best().Net
	}
	s, err := a.solver(stages[0], k, workers, mem, init)
	if err != nil {
		return nil, err
	}
	// A start counts once its solver is made, for its arm and the run
	// alike: one the budget's end cuts short before that is no start.
	a.mu.Lock()
	a.res.Starts++
	a.reports[arm].Starts++
	a.mu.Unlock()
	rn.s, rn.st, rn.rest = s, stages[0], stages[1:]
	a.note(rn, false)
	return rn, nil
}

// hand makes arm to, which has made no start, run from its own starts,
// without the warm-up, and the start rn one of them: where rn's arm warms
// up and rn is still in the warm-up, the same for every arm, rn goes on
// from its best network with to's own stages, and its start, time and
// score so far count for to. A start already in its own arm's stages
// keeps its arm and ends, so that to's starts follow it.
func (a *autoRun) hand(rn *runner, to int) {
	if to == rn.arm {
		return
	}
	own := a.arms[to]
	if own.warm {
		own.stages, own.warm = own.stages[1:], false
	}
	a.mu.Lock()
	a.arms[to] = own
	a.mu.Unlock()
	if rn.done || !a.arms[rn.arm].warm || rn.st != warmUp {
		rn.done = true
		return
	}
	a.mu.Lock()
	from := &a.reports[rn.arm]
	a.reports[to] = ArmReport{Name: a.reports[to].Name, Starts: from.Starts, Seconds: from.Seconds, Best: from.Best}
	*from = ArmReport{Name: from.Name, Best: math.Inf(1)}
	if k, ok := a.kinds[rn.arm]; ok {
		delete(a.kinds, rn.arm)
		a.kinds[to] = k
	}
	a.mu.Unlock()
	rn.arm = to
	if err := a.enter(rn, own.stages[0], own.stages[1:], a.workersOf(rn), a.memOf(rn)); err != nil {
		rn.done = true // a new start of to follows
	}
}

// rewarm sends the runner of an arm that a.arms now has warmed back to the
// warm-up, from its best network, and then on to the arm's own stages.
func (a *autoRun) rewarm(rn *runner) error {
	return a.enter(rn, warmUp, a.arms[rn.arm].stages[1:], a.workersOf(rn), a.memOf(rn))
}

// enter moves the runner on to stage st, from its best network, with the
// stages rest after it, workers goroutines and the memory limit mem.
func (a *autoRun) enter(rn *runner, st stage, rest []stage, workers int, mem int64) error {
	s, err := a.solver(st, rn.k, workers, mem, rn.s.Best().Net)
	if err != nil {
		return err
	}
	rn.s, rn.st, rn.rest = s, st, rest
	a.note(rn, false)
	return nil
}

// options returns the solver options of a stage of start k.
func (a *autoRun) options(o relunet.AnalyticOptions, k, workers int, mem int64, init *relunet.Net) relunet.AnalyticOptions {
	if o.Ridge == 0 { // not a ridge arm's
		o.Ridge = a.cfg.Ridge
	}
	o.Hidden, o.Alpha, o.Seed, o.Workers, o.MemoryLimit, o.Iterations =
		a.cfg.Hidden, a.cfg.Alpha, RestartSeed(a.cfg.Seed, k), workers, mem, -1
	o.Workspace = &a.ws
	if init != nil {
		o.Init, o.DataInit = init, false
	}
	return o
}

// note records the runner's solver's state (and a step when step), and
// its arm's score.
func (a *autoRun) note(rn *runner, step bool) {
	score := a.record(rn.s, rn.k, true, step)
	a.mu.Lock()
	rn.best = math.Min(rn.best, score)
	ks := a.kindsOf(rn.arm)
	ks.best[rn.kind()] = math.Min(ks.best[rn.kind()], rn.best)
	a.reports[rn.arm].Best = math.Min(a.reports[rn.arm].Best, rn.best)
	a.mu.Unlock()
}

// advance steps the runner for up to d of wall time (until it stops when
// d < 0), or for steps steps when steps > 0, going on to its next stage
// when one stops by its own rules.
func (a *autoRun) advance(rn *runner, d time.Duration, steps int) {
	begin := time.Now()
	for done := 0; !rn.done; {
		if (d > 0 && time.Since(begin) >= d) || (steps > 0 && done >= steps) {
			return
		}
		if rn.s.Step() {
			a.note(rn, true)
			done++
			continue
		}
		a.stopped(rn.s)
		st := rn.s.Status()
		if cut := st == relunet.Failure || st == relunet.RuntimeLimit || st == relunet.Canceled; cut || len(rn.rest) == 0 {
			rn.done = true
			if !cut { // the start's last stage stopped by its own rules
				a.mu.Lock()
				a.ended[rn.arm] = true
				a.mu.Unlock()
			}
			if st == relunet.Failure {
				a.mu.Lock()
				a.failure = rn.s
				a.mu.Unlock()
			}
			return
		}
		if err := a.enter(rn, rn.rest[0], rn.rest[1:], a.workersOf(rn), a.memOf(rn)); err != nil {
			rn.done = true
			a.mu.Lock()
			if a.ctx.Err() == nil && a.err == nil {
				a.err = err
			}
			a.mu.Unlock()
			return
		}
	}
}

// workersOf and memOf return the settings of the runner's solver, for its
// next stage.
func (a *autoRun) workersOf(rn *runner) int {
	if an, ok := rn.s.(*relunet.Analytic); ok {
		return an.Options().Workers
	}
	return 1
}

func (a *autoRun) memOf(rn *runner) int64 {
	if a.cfg.MemoryLimit == 0 {
		return 0
	}
	if an, ok := rn.s.(*relunet.Analytic); ok {
		return an.Options().MemoryLimit
	}
	return a.memoryShare(procs())
}

// solver makes the solver of stage st of start k.
func (a *autoRun) solver(st stage, k, workers int, mem int64, init *relunet.Net) (relunet.Solver, error) {
	if st.lbfgs {
		return relunet.NewLBFGS(a.ctx, a.xFit, a.yFit, relunet.LBFGSOptions{Hidden: a.cfg.Hidden, Alpha: a.cfg.Alpha,
			Seed: RestartSeed(a.cfg.Seed, k), Init: init, MemoryLimit: mem, Iterations: -1})
	}
	return relunet.NewAnalytic(a.ctx, a.xFit, a.yFit, a.options(st.opts, k, workers, mem, init))
}

// parallel advances the runners at once, procs() at a time, each for d of
// wall time (until the budget ends when d < 0); a runner that stops within
// its time is followed by a new start of its arm, which the runner then
// stands for.
func (a *autoRun) parallel(rs []*runner, d time.Duration, mem int64) {
	var wg sync.WaitGroup
	jobs := make(chan *runner, len(rs))
	for _, rn := range rs {
		jobs <- rn
	}
	close(jobs)
	for range min(procs(), len(rs)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for rn := range jobs {
				begin := time.Now()
				for a.ctx.Err() == nil && !rn.failed() {
					left := d - time.Since(begin)
					if d > 0 && left <= 0 {
						break
					}
					if rn.done {
						next, err := a.start(rn.arm, 1, mem, nil, nil)
						if err != nil {
							a.mu.Lock()
							if a.ctx.Err() == nil && a.err == nil {
								a.err = err
							}
							a.mu.Unlock()
							break
						}
						*rn = *next
						continue
					}
					if d < 0 {
						a.advance(rn, -1, 0)
					} else {
						a.advance(rn, left, 0)
					}
				}
				a.mu.Lock()
				a.reports[rn.arm].Seconds += time.Since(begin).Seconds()
				a.mu.Unlock()
			}
		}()
	}
	wg.Wait()
}

// end returns the run's outcome after an error in making a start.
func (a *autoRun) end(ctx context.Context, err error) (*Result, error) {
	if a.res.Starts == 0 && !timedOut(a.ctx, ctx) {
		return nil, err // the first start cannot be made: bad settings or data
	}
	if a.keep != nil && timedOut(a.ctx, ctx) {
		a.res.Status = relunet.RuntimeLimit // the budget ended as a start was made
		return a.finishKept()
	}
	return a.fail(err)
}

// finish completes the result with the kept network.
func (a *autoRun) finish(ctx context.Context, last *runner) (*Result, error) {
	switch {
	case last.s != nil && last.s.Status() == relunet.Canceled:
		return nil, last.s.Err()
	case a.failure != nil && a.keep == nil:
		return a.run.finish(a.failure, nil)
	case a.err != nil && a.keep == nil:
		return a.fail(a.err)
	case a.keep == nil:
		return a.fail(a.tooShort())
	}
	if a.ctx.Err() != nil {
		a.res.Status = relunet.RuntimeLimit
	}
	return a.finishKept()
}

// finishKept evaluates the kept network.
func (a *autoRun) finishKept() (*Result, error) { return a.run.finish(nil, a.keep) }
