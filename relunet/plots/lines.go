package plots

import (
	"fmt"
	"image/color"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Axes are the title and axes of a line or scatter plot.
type Axes struct {
	Title, X, Y string
	LogX, LogY  bool // logarithmic axes; values ≤ 0 are left out
	// SymLogY, when positive, gives Y a symmetric logarithmic scale,
	// linear within ±SymLogY: for values of both signs over many decades.
	SymLogY float64
}

// Series is one named curve.
type Series struct {
	Name string
	X, Y []float64
	// Style, when nil, is the method's style for a method's label (see
	// MethodStyle), and otherwise one by the series' position.
	Style *Style
	// Diverged marks a run that failed: it is drawn to its last finite
	// point, marked × there, and the legend says so. Its blow-up does not
	// set the y axis: beyond a ceiling above the other series and its own
	// start (see divergedCeiling), it is cut at the top edge, where the ×
	// goes.
	Diverged bool
	// Bold draws the series with a thicker line and larger markers, over
	// the others: the method a figure is about.
	Bold bool
	// NoLine draws a series of a line figure as markers only, one per
	// point: data points beside a fitted curve, say.
	NoLine bool
}

// drawOrder returns the series' indices, the bold ones last.
func drawOrder(series []Series) []int {
	var order, bold []int
	for i, s := range series {
		if s.Bold {
			bold = append(bold, i)
		} else {
			order = append(order, i)
		}
	}
	return append(order, bold...)
}

var (
	// After the first variant's dots (MethodStyle): dashes, dash-dots, long
	// dashes, each unlike the dots at a glance.
	variantDashes = [][]vg.Length{{vg.Points(5), vg.Points(3)}, {vg.Points(8), vg.Points(3), vg.Points(2), vg.Points(3)}, {vg.Points(12), vg.Points(4)}}
	variantGlyphs = []draw.GlyphDrawer{draw.SquareGlyph{}, draw.TriangleGlyph{}, draw.RingGlyph{}}
)

func plotterGrid() *plotter.Grid {
	g := plotter.NewGrid()
	g.Vertical.Color = color.Gray{Y: 225}
	g.Horizontal.Color = color.Gray{Y: 225}
	return g
}

// setAxes applies the scales of ax to p.
func setAxes(p *plot.Plot, ax Axes) {
	if ax.LogX {
		p.X.Scale, p.X.Tick.Marker = plot.LogScale{}, logTicks{}
	}
	switch {
	case ax.SymLogY > 0:
		s := SymLog{Linear: ax.SymLogY}
		p.Y.Scale, p.Y.Tick.Marker = s, s
	case ax.LogY:
		p.Y.Scale, p.Y.Tick.Marker = plot.LogScale{}, logTicks{}
	}
}

// keep reports whether (x, y) can be drawn on the axes.
func (ax Axes) keep(x, y float64) bool {
	ok := !math.IsNaN(x) && !math.IsNaN(y) && !math.IsInf(x, 0) && !math.IsInf(y, 0)
	return ok && (!ax.LogX || x > 0) && (!ax.LogY || ax.SymLogY > 0 || y > 0)
}

// Lines returns a figure of the series as lines with a few markers each (so
// that curves of the same colour in print, or on top of each other, stay
// apart), and the legend beside the plot.
func Lines(ax Axes, series ...Series) (*Figure, error) {
	return draw2D(ax, series, true)
}

// Points returns a scatter plot of the series, markers only.
func Points(ax Axes, series ...Series) (*Figure, error) {
	return draw2D(ax, series, false)
}

func draw2D(ax Axes, series []Series, lines bool) (*Figure, error) {
	p := newPlot(ax.Title, ax.X, ax.Y)
	setAxes(p, ax)
	grid(p)
	leg := plot.NewLegend()
	leg.TextStyle.Font = legendFont()
	leg.Top, leg.Left = true, true
	leg.Padding = vg.Points(3) // entries apart, so that long ones do not touch
	any := false
	lo, hi := plotter.XY{X: math.Inf(1), Y: math.Inf(1)}, plotter.XY{X: math.Inf(-1), Y: math.Inf(-1)}
	styles := seriesStyles(series)
	ceiling, clipped := divergedCeiling(ax, series), false
	// The bold series are drawn last, over the others, and the ends of
	// diverged runs (×) over everything; the legend keeps the given order.
	entries := make([][]plot.Thumbnailer, len(series))
	names := make([]string, len(series))
	var ends []plot.Plotter
	for _, i := range drawOrder(series) {
		s := series[i]
		if len(s.X) != len(s.Y) {
			return nil, fmt.Errorf("plots: series %q has %d x and %d y values", s.Name, len(s.X), len(s.Y))
		}
		st := styles[i]
		var xy plotter.XYs
		for k := range s.X {
			if !ax.keep(s.X[k], s.Y[k]) {
				continue
			}
			y, cut := s.Y[k], s.Diverged && s.Y[k] > ceiling
			if cut {
				y, clipped = ceiling, true
			}
			xy = append(xy, plotter.XY{X: s.X[k], Y: y})
			lo.X, lo.Y = math.Min(lo.X, s.X[k]), math.Min(lo.Y, y)
			hi.X, hi.Y = math.Max(hi.X, s.X[k]), math.Max(hi.Y, y)
			if cut {
				break // the rest is off the chart
			}
		}
		name := s.Name
		if s.Diverged {
			name += " — failed (×)"
		}
		var thumbs []plot.Thumbnailer
		if lines && !s.NoLine && len(xy) > 0 {
			l, err := plotter.NewLine(xy)
			if err != nil {
				return nil, fmt.Errorf("plots: series %q: %w", s.Name, err)
			}
			l.Color, l.Dashes, l.Width = st.Color, st.Dashes, vg.Points(1.6)
			if s.Bold {
				l.Width = vg.Points(3)
			}
			p.Add(l)
			thumbs = append(thumbs, l)
		}
		if len(xy) > 0 {
			marks := xy
			if lines && !s.NoLine {
				marks = spaced(xy, ax.LogX, 10)
			}
			sc, err := plotter.NewScatter(marks)
			if err != nil {
				return nil, fmt.Errorf("plots: series %q: %w", s.Name, err)
			}
			sc.Color, sc.Shape, sc.Radius = st.Color, st.Glyph, vg.Points(2.6)
			switch {
			case s.Bold:
				sc.Radius = vg.Points(3.6)
			case !lines || s.NoLine:
				sc.Radius = vg.Points(2.2)
			}
			p.Add(sc)
			thumbs = append(thumbs, sc)
			any = true
		}
		if s.Diverged && len(xy) > 0 {
			end, _ := plotter.NewScatter(xy[len(xy)-1:])
			end.Color, end.Shape, end.Radius = st.Color, draw.CrossGlyph{}, vg.Points(7)
			ends = append(ends, end)
		}
		if len(thumbs) == 0 {
			name += " (no finite values)"
			thumbs = append(thumbs, swatch{st.Color})
		}
		names[i], entries[i] = name, thumbs
	}
	p.Add(ends...)
	for i := range series {
		leg.Add(names[i], entries[i]...)
	}
	switch {
	case !any:
		// Nothing drawable (every run failed, say): an empty frame with
		// valid ranges, rather than a scale that cannot be drawn.
		p.X.Min, p.X.Max, p.Y.Min, p.Y.Max = 1, 10, 1, 10
		p.Title.Text += " (no finite values)"
	default:
		// gonum/plot widens a range of one value by ±1, which on a
		// logarithmic axis can reach zero: widen it by a factor instead.
		if ax.LogX && lo.X == hi.X {
			p.X.Min, p.X.Max = lo.X/math.Sqrt(10), hi.X*math.Sqrt(10)
		}
		if ax.LogY && ax.SymLogY == 0 && lo.Y == hi.Y {
			p.Y.Min, p.Y.Max = lo.Y/math.Sqrt(10), hi.Y*math.Sqrt(10)
		}
		if clipped {
			p.Y.Max = ceiling
		}
		pad(&p.X, ax.LogX, false)
		pad(&p.Y, ax.LogY, ax.SymLogY > 0)
	}
	return withLegend(p, leg), nil
}

// seriesStyles returns the style of each series: its own, its method's,
// or else the next of others whose colour no method series of the figure
// has.
func seriesStyles(series []Series) []Style {
	out := make([]Style, len(series))
	taken := map[color.Color]bool{}
	known := make([]bool, len(series))
	for i, s := range series {
		switch st, ok := MethodStyle(s.Name); {
		case s.Style != nil:
			out[i], known[i] = *s.Style, true
		case ok:
			out[i], known[i] = st, true
		default:
			continue
		}
		taken[out[i].Color] = true
	}
	// Several series of one method (a method at several settings) keep
	// its colour and differ in dashes and markers.
	uses := map[color.Color]int{}
	for i := range series {
		if !known[i] || series[i].Style != nil {
			continue
		}
		k := uses[out[i].Color]
		uses[out[i].Color]++
		if k > 0 {
			out[i].Dashes = variantDashes[(k-1)%len(variantDashes)]
			out[i].Glyph = variantGlyphs[(k-1)%len(variantGlyphs)]
		}
	}
	next := 0
	for i := range series {
		if known[i] {
			continue
		}
		for k := 0; k < len(others); k++ {
			st := others[(next+k)%len(others)]
			if !taken[st.Color] || k == len(others)-1 {
				out[i], next = st, (next+k+1)%len(others)
				break
			}
		}
	}
	return out
}

// spaced returns about n of the points, evenly spaced along x (in log x
// when logX), always the first and the last.
func spaced(xy plotter.XYs, logX bool, n int) plotter.XYs {
	if len(xy) <= n+2 {
		return xy
	}
	pos := func(x float64) float64 {
		if logX {
			return math.Log(x)
		}
		return x
	}
	lo, hi := pos(xy[0].X), pos(xy[len(xy)-1].X)
	out := plotter.XYs{xy[0]}
	next := 1
	for _, q := range xy[1 : len(xy)-1] {
		if hi > lo && (pos(q.X)-lo)/(hi-lo) >= float64(next)/float64(n) {
			out = append(out, q)
			next++
		}
	}
	return append(out, xy[len(xy)-1])
}

// withLegend returns the figure of p with the legend in a column on its
// right, as wide as its longest entry.
func withLegend(p *plot.Plot, leg plot.Legend) *Figure {
	f := &Figure{Plot: p, Width: Width, Height: Height}
	r := leg.Rectangle(draw.Canvas{Rectangle: vg.Rectangle{Max: vg.Point{X: Width, Y: Height}}})
	if w := r.Size().X; w > 0 {
		f.SideWidth = w + vg.Points(14)
		f.Width += f.SideWidth / 2 // the plot gives up half, the figure grows by half
		pad := vg.Points(8)
		f.Side = func(c draw.Canvas) {
			c.Min.X += pad
			c.Max.Y -= vg.Points(26) // level with the plot's top
			leg.Draw(c)
		}
	}
	return f
}

// swatch is a legend thumbnail: a filled square.
type swatch struct{ c color.Color }

func (s swatch) Thumbnail(c *draw.Canvas) {
	c.FillPolygon(s.c, []vg.Point{c.Min, {X: c.Max.X, Y: c.Min.Y}, c.Max, {X: c.Min.X, Y: c.Max.Y}})
}

// Note returns text to put in a plot, at (x, y) in data coordinates.
func Note(x, y float64, s string) (*plotter.Labels, error) {
	l, err := plotter.NewLabels(plotter.XYLabels{XYs: plotter.XYs{{X: x, Y: y}}, Labels: []string{s}})
	if err != nil {
		return nil, err
	}
	l.TextStyle[0] = text.Style{Color: black, Font: legendFont(), Handler: plot.DefaultTextHandler}
	return l, nil
}

// divergedCeiling returns where the curves of diverged series are cut: ten
// times the largest drawable value of the other series and of each diverged
// series' first point on a logarithmic axis, and on a linear one that value
// plus nine times the larger of the range and the value's magnitude; +Inf
// when no series diverged.
func divergedCeiling(ax Axes, series []Series) float64 {
	top, bottom, diverged := math.Inf(-1), math.Inf(1), false
	for _, s := range series {
		diverged = diverged || s.Diverged
		for k := range s.Y {
			if k >= len(s.X) || !ax.keep(s.X[k], s.Y[k]) {
				continue
			}
			top, bottom = math.Max(top, s.Y[k]), math.Min(bottom, s.Y[k])
			if s.Diverged {
				break // its start only
			}
		}
	}
	switch {
	case !diverged || math.IsInf(top, -1):
		return math.Inf(1)
	case ax.LogY && ax.SymLogY == 0:
		return 10 * top
	}
	return top + 9*math.Max(top-bottom, math.Abs(top))
}

// pad widens an axis by 4 % of its span on each side (on a logarithmic
// axis, of its span in decades), so that markers at the extremes, a
// diverged run's × at the top included, are drawn whole inside the frame.
// A symmetric-log axis is left as it is.
func pad(a *plot.Axis, log, symlog bool) {
	switch {
	case symlog || !(a.Max > a.Min):
	case log && a.Min > 0:
		f := math.Pow(a.Max/a.Min, 0.04)
		a.Min, a.Max = a.Min/f, a.Max*f
	case !log:
		d := 0.04 * (a.Max - a.Min)
		a.Min, a.Max = a.Min-d, a.Max+d
	}
}
