package display

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"

	"gonum.org/v1/gonum/mat"

	"github.com/relunet/relunet/relunet"
	"github.com/relunet/relunet/relunet/data"
	"github.com/relunet/relunet/relunet/experiment"
	"github.com/relunet/relunet/relunet/plots"
)

// ExploreSets are the data sets the explorer offers: small enough that a
// step takes well under a second.
var ExploreSets = []string{"sin", "sinx2", "shape-sdf", "abalone"}

// Settings are the explorer's controls.
type Settings struct {
	Data      string  // one of ExploreSets
	Hidden    int     // hidden units, 1 to 128
	LogRidge  float64 // log₁₀ λ
	Alpha     float64 // the leaky slope α, in [0, 1)
	Seed      uint64
	Safeguard bool
}

// DefaultSettings are the explorer's first settings: the paper's (λ =
// 0.001, α = 0) on sin(x) with 16 hidden units.
func DefaultSettings() Settings {
	return Settings{Data: "sin", Hidden: 16, LogRidge: -3}
}

// Action is what a button of the explorer does.
type Action int

const (
	ActHidden      Action = iota // the hidden step alone
	ActPattern                   // the pattern update alone
	ActOutput                    // the output step alone
	ActAlternation               // one alternation (Step)
	ActRun                       // Step until the solver stops by its rules
	ActReset                     // a new solver with the settings
)

// Explorer is the state of the interactive explorer of notebook 6: the
// settings, the data and the analytic solver they make. It has no widgets:
// Explore drives it from them, and tests drive it directly.
type Explorer struct {
	set  Settings
	ds   *data.Dataset
	sp   *experiment.Split
	a    *relunet.Analytic
	note string // what the last action did, for the status line
}

// maxRunSteps bounds ActRun: the plain alternation may cycle forever
// between patterns without its rules firing for thousands of steps.
const maxRunSteps = 2000

// NewExplorer returns an explorer with the settings, its solver made.
func NewExplorer(ctx context.Context, set Settings) (*Explorer, error) {
	e := &Explorer{}
	return e, e.Set(ctx, set)
}

// Set changes the settings and starts a new solver with them (loading the
// data when they changed).
func (e *Explorer) Set(ctx context.Context, set Settings) error {
	if set.Hidden < 1 || set.Hidden > 128 {
		return fmt.Errorf("display: explorer: %d hidden units, want 1 to 128", set.Hidden)
	}
	if e.ds == nil || set.Data != e.set.Data {
		ds, err := (&data.Loader{}).Load(ctx, set.Data)
		if err != nil {
			return err
		}
		sp, err := experiment.Prepare(ds, experiment.Reference())
		if err != nil {
			return err
		}
		e.ds, e.sp = ds, sp
	}
	a, err := relunet.NewAnalytic(ctx, e.sp.XTrain, e.sp.YTrain, relunet.AnalyticOptions{
		Hidden: set.Hidden, Ridge: math.Pow(10, set.LogRidge), Alpha: set.Alpha, Seed: set.Seed,
		Safeguard: set.Safeguard, Iterations: -1,
	})
	if err != nil {
		return err
	}
	e.set, e.a, e.note = set, a, "new solver"
	return nil
}

// Settings returns the explorer's settings.
func (e *Explorer) Settings() Settings { return e.set }

// Solver returns the explorer's solver.
func (e *Explorer) Solver() *relunet.Analytic { return e.a }

// Do performs an action. Run reports its progress, the alternations done,
// to progress when it is not nil; it stops when ctx ends.
func (e *Explorer) Do(ctx context.Context, act Action, progress func(iter int)) error {
	switch act {
	case ActHidden:
		r, err := e.a.HiddenStep()
		if err != nil {
			return err
		}
		e.note = fmt.Sprintf("hidden step: surrogate %s", experiment.Format(r.Surrogate))
	case ActPattern:
		flips, err := e.a.UpdatePattern()
		if err != nil {
			return err
		}
		e.note = fmt.Sprintf("pattern update: %d entries of G flipped", flips)
	case ActOutput:
		if _, err := e.a.OutputStep(); err != nil {
			return err
		}
		e.note = "output step"
	case ActAlternation:
		if !e.a.Step() {
			return e.a.Err()
		}
		e.note = "one alternation"
	case ActRun:
		for k := 0; k < maxRunSteps && ctx.Err() == nil && e.a.Step(); k++ {
			if progress != nil {
				progress(e.a.Last().Iter)
			}
		}
		if err := e.a.Err(); err != nil {
			return err
		}
		e.note = "run until the solver stopped"
		if e.a.Status() == relunet.NotTerminated {
			e.note = fmt.Sprintf("ran %d alternations and paused", maxRunSteps)
		}
	case ActReset:
		return e.Set(ctx, e.set)
	default:
		return fmt.Errorf("display: explorer: no action %d", act)
	}
	return nil
}

// Status returns the one-line state: the settings, the last record and
// the solver's status.
func (e *Explorer) Status() string {
	r := e.a.Last()
	flips := 0
	if r.Analytic != nil {
		flips = r.Analytic.Flips
	}
	n, _ := e.sp.XTrain.Dims()
	return fmt.Sprintf("%s (%d rows), h = %d, λ = %.0e, α = %g, seed %d, safeguard %v: iteration %d, training MSE %s, %d flips; %s; status: %v",
		e.set.Data, n, e.set.Hidden, math.Pow(10, e.set.LogRidge), e.set.Alpha, e.set.Seed, e.set.Safeguard,
		r.Iter, experiment.Format(r.Loss), flips, e.note, e.a.Status())
}

// Figures returns the explorer's three figures: the fit, the loss of every
// record with the hidden steps' surrogates, and the activation pattern.
func (e *Explorer) Figures() (fit, loss, pattern *plots.Figure, err error) {
	if fit, err = e.fitFigure(); err != nil {
		return nil, nil, nil, err
	}
	if loss, err = e.lossFigure(); err != nil {
		return nil, nil, nil, err
	}
	pattern, err = e.patternFigure()
	return fit, loss, pattern, err
}

// fitFigure draws the fit: the curve and the training points for one
// input, the predicted field for a pixel grid, predicted against true
// training targets otherwise.
func (e *Explorer) fitFigure() (*plots.Figure, error) {
	net := e.a.Net()
	_, d := e.ds.X.Dims()
	switch rows, cols, grid := e.grid(); {
	case d == 1:
		xs, ys := column(e.ds.X, 0), column(e.ds.Y, 0)
		lo, hi := minMax(xs)
		g := mat.NewDense(400, 1, nil)
		gx := make([]float64, 400)
		for i := range gx {
			gx[i] = lo + (hi-lo)*float64(i)/399
			g.Set(i, 0, gx[i])
		}
		pred, err := e.sp.Predict(net, g)
		if err != nil {
			return nil, err
		}
		dots := plots.Style{Color: plots.Grey, Glyph: plots.Dot}
		return plots.Lines(plots.Axes{Title: "the fit", X: e.name(e.ds.XNames, "x"), Y: e.name(e.ds.YNames, "y")},
			plots.Series{Name: "network", X: gx, Y: column(pred, 0), Bold: true},
			plots.Series{Name: "data", X: xs, Y: ys, Style: &dots, NoLine: true})
	case grid:
		pred, err := e.sp.Predict(net, e.ds.X)
		if err != nil {
			return nil, err
		}
		truth := column(e.ds.Y, 0)
		lo, hi := minMax(truth)
		return plots.Image(column(pred, 0), rows, cols, plots.HeatOptions{Title: "the predicted field, its zero contour",
			Label: e.name(e.ds.YNames, "target"), Contours: []float64{0}, Min: lo, Max: hi})
	default:
		pred, err := e.sp.Predict(net, e.ds.X)
		if err != nil {
			return nil, err
		}
		truth := column(e.ds.Y, 0)
		lo, hi := minMax(truth)
		dots := plots.Style{Color: plots.Blue, Glyph: plots.Dot}
		line := plots.Style{Color: plots.Black, Dashes: plots.Dashed}
		return plots.Lines(plots.Axes{Title: "predicted against true, every row", X: "true", Y: "predicted"},
			plots.Series{Name: "rows", X: truth, Y: column(pred, 0), Style: &dots, NoLine: true},
			plots.Series{Name: "predicted = true", X: []float64{lo, hi}, Y: []float64{lo, hi}, Style: &line})
	}
}

// lossFigure draws the training MSE after every record and the surrogate
// of every hidden step, against the record's position.
func (e *Explorer) lossFigure() (*plots.Figure, error) {
	var xs, loss, sx, sur []float64
	for k, r := range e.a.History() {
		xs, loss = append(xs, float64(k)), append(loss, r.Loss)
		if r.Analytic != nil && r.Analytic.Hidden != nil {
			sx, sur = append(sx, float64(k)), append(sur, r.Analytic.Hidden.Surrogate)
		}
	}
	ring := plots.Style{Color: plots.Vermilion, Glyph: plots.Ring}
	return plots.Lines(plots.Axes{Title: "training MSE of every record", X: "record (sub-step or alternation)",
		Y: "training MSE", LogY: true},
		plots.Series{Name: "true loss", X: xs, Y: loss, Bold: true},
		plots.Series{Name: "surrogate of a hidden step", X: sx, Y: sur, Style: &ring, NoLine: true})
}

// patternFigure draws the activation pattern: for one input, each
// neuron's active rows along x and its kink; otherwise the pattern of the
// first rows.
func (e *Explorer) patternFigure() (*plots.Figure, error) {
	G := e.a.Pattern()
	n, h := G.Dims()
	if _, d := e.ds.X.Dims(); d == 1 {
		net := e.a.Net()
		x := column(e.sp.XTrain, 0)
		std, mean := 1.0, 0.0
		if e.sp.Scaler != nil {
			std, mean = e.sp.Scaler.Std[0], e.sp.Scaler.Mean[0]
		}
		var ax, aj, kx, kj []float64
		for i := range n {
			for j := range h {
				if G.At(i, j) == 1 {
					ax, aj = append(ax, x[i]*std+mean), append(aj, float64(j))
				}
			}
		}
		lo, hi := minMax(column(e.ds.X, 0))
		for j := range h {
			// The kink of neuron j, where w_j0 + w_j1·x = 0, in the data's units.
			if w1 := net.W.At(j, 1); w1 != 0 {
				if k := -net.W.At(j, 0)/w1*std + mean; k >= lo && k <= hi {
					kx, kj = append(kx, k), append(kj, float64(j))
				}
			}
		}
		dots := plots.Style{Color: plots.Blue, Glyph: plots.Dot}
		cross := plots.Style{Color: plots.Vermilion, Glyph: plots.Cross}
		return plots.Points(plots.Axes{Title: "activation pattern: where each neuron is active", X: e.name(e.ds.XNames, "x"), Y: "neuron j"},
			plots.Series{Name: "active (G = 1)", X: ax, Y: aj, Style: &dots},
			plots.Series{Name: "kink", X: kx, Y: kj, Style: &cross, Bold: true})
	}
	rows := min(n, 60)
	return plots.Heatmap(G.Slice(0, rows, 0, h), plots.HeatOptions{
		Title: fmt.Sprintf("activation pattern G, training rows 0 to %d", rows-1), X: "neuron j", Y: "row i",
		Categories: []string{fmt.Sprintf("inactive: G = α = %g", e.set.Alpha), "active: G = 1"}})
}

// grid returns the shape of a data set of pixels (inputs named row and
// col, every pixel once, in row-major order).
func (e *Explorer) grid() (rows, cols int, ok bool) {
	if len(e.ds.XNames) != 2 || e.ds.XNames[0] != "row" || e.ds.XNames[1] != "col" {
		return 0, 0, false
	}
	n, _ := e.ds.X.Dims()
	_, r := minMax(column(e.ds.X, 0))
	_, c := minMax(column(e.ds.X, 1))
	rows, cols = int(r)+1, int(c)+1
	return rows, cols, rows*cols == n
}

func (e *Explorer) name(names []string, def string) string {
	if len(names) == 1 && names[0] != "" {
		return names[0]
	}
	return def
}

func column(a *mat.Dense, j int) []float64 { return mat.Col(nil, j, a) }

func minMax(v []float64) (lo, hi float64) {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	return s[0], s[len(s)-1]
}

// errNoFrontEnd is the probe's answer in a headless run.
var errNoFrontEnd = errors.New("display: no notebook front end answered")
