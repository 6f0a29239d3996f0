package plots

import (
	"bytes"
	"fmt"

	"math"

	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/palette/moreland"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// Series is one named curve.
type Series struct {
	Name string
	X, Y []float64
}

// Lines returns a plot of the series; logX and logY select logarithmic axes,
// on which non-positive values are left out.
func Lines(title, xLabel, yLabel string, logX, logY bool, series ...Series) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text, p.X.Label.Text, p.Y.Label.Text = title, xLabel, yLabel
	if logX {
		p.X.Scale, p.X.Tick.Marker = plot.LogScale{}, plot.LogTicks{Prec: -1}
	}
	if logY {
		p.Y.Scale, p.Y.Tick.Marker = plot.LogScale{}, plot.LogTicks{Prec: -1}
	}
	for i, s := range series {
		var xy plotter.XYs
		for k := range s.X {
			if (logX && !(s.X[k] > 0)) || (logY && !(s.Y[k] > 0)) || math.IsNaN(s.Y[k]) {
				continue
			}
			xy = append(xy, plotter.XY{X: s.X[k], Y: s.Y[k]})
		}
		if len(xy) == 0 {
			continue
		}
		l, err := plotter.NewLine(xy)
		if err != nil {
			return nil, fmt.Errorf("plots: series %q: %w", s.Name, err)
		}
		l.Color = plotutil.Color(i)
		l.Dashes = plotutil.Dashes(i / 7)
		l.Width = vg.Points(1.5)
		p.Add(l)
		p.Legend.Add(s.Name, l)
	}
	p.Legend.Top = true
	p.Add(plotter.NewGrid())
	return p, nil
}

// Points returns a scatter plot of the series, with markers only.
func Points(title, xLabel, yLabel string, series ...Series) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text, p.X.Label.Text, p.Y.Label.Text = title, xLabel, yLabel
	for i, s := range series {
		xy := make(plotter.XYs, len(s.X))
		for k := range s.X {
			xy[k] = plotter.XY{X: s.X[k], Y: s.Y[k]}
		}
		sc, err := plotter.NewScatter(xy)
		if err != nil {
			return nil, fmt.Errorf("plots: series %q: %w", s.Name, err)
		}
		sc.Color = plotutil.Color(i)
		sc.Radius = vg.Points(1.5)
		p.Add(sc)
		p.Legend.Add(s.Name, sc)
	}
	p.Add(plotter.NewGrid())
	return p, nil
}

// grid adapts a matrix to plotter.GridXYZ, row 0 at the top.
type grid struct{ m mat.Matrix }

func (g grid) Dims() (c, r int)   { r, c = g.m.Dims(); return c, r }
func (g grid) Z(c, r int) float64 { return g.m.At(g.rows()-1-r, c) }
func (g grid) X(c int) float64    { return float64(c) }
func (g grid) Y(r int) float64    { return float64(r) }
func (g grid) rows() int          { r, _ := g.m.Dims(); return r }

// Heatmap returns a heat map of m, row 0 at the top, with a diverging colour
// map centred on zero when m has both signs.
func Heatmap(title string, m mat.Matrix) *plot.Plot {
	r, c := m.Dims()
	lo, hi := math.Inf(1), math.Inf(-1)
	for i := 0; i < r; i++ {
		for j := 0; j < c; j++ {
			lo, hi = math.Min(lo, m.At(i, j)), math.Max(hi, m.At(i, j))
		}
	}
	if lo < 0 && hi > 0 {
		b := math.Max(-lo, hi)
		lo, hi = -b, b
	}
	if lo == hi {
		hi = lo + 1
	}
	pal := moreland.SmoothBlueRed()
	pal.SetMin(lo)
	pal.SetMax(hi)
	h := plotter.NewHeatMap(grid{m}, pal.Palette(255))
	h.Min, h.Max = lo, hi
	p := plot.New()
	p.Title.Text = fmt.Sprintf("%s  [%.3g, %.3g]", title, lo, hi)
	p.Add(h)
	p.HideAxes()
	return p
}

// Image returns a heat map of values laid out on a rows×cols pixel grid,
// value k at pixel (k / cols, k % cols).
func Image(title string, values []float64, rows, cols int) *plot.Plot {
	return Heatmap(title, mat.NewDense(rows, cols, values))
}

// Render returns the plot drawn at the given size in the format "png" or "svg".
func Render(p *plot.Plot, w, h vg.Length, format string) ([]byte, error) {
	wt, err := p.WriterTo(w, h, format)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if _, err := wt.WriteTo(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Default figure size.
const (
	Width  = 16 * vg.Centimeter
	Height = 10 * vg.Centimeter
)
