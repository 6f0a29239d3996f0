package plots

import (
	"fmt"
	"image"
	"image/color"
	"math"
	"strconv"

	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/palette"
	"gonum.org/v1/plot/palette/moreland"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// HeatOptions say how Heatmap draws a matrix.
type HeatOptions struct {
	Title, X, Y string // the axes' labels: "column" and "row" when empty
	Label       string // what the colours stand for, beside the colour bar
	// Blocks, when positive, draws the boundaries of the Blocks×Blocks
	// blocks of the matrix.
	Blocks int
	// Categories, when not nil, draws a matrix of small integer values k
	// as categories, named Categories[k] in a legend, instead of a colour
	// scale.
	Categories []string
	// Contours are levels at which to draw the matrix's contour lines.
	Contours []float64
	// Aspect keeps square cells: the figure takes the matrix's shape.
	Aspect bool
	// Min and Max, when not both zero, are the values at the ends of the
	// colour scale instead of the matrix's extremes (values beyond take the
	// end colours): for figures to be compared by colour, such as a target
	// and its prediction.
	Min, Max float64
	// Gray draws values on a gray scale from black (low) to white (high),
	// for images; otherwise values of both signs take a diverging map
	// centred at zero, linear from minus to plus the larger extreme, and
	// values of one sign a sequential map.
	Gray bool
}

// grid adapts a matrix to plotter.GridXYZ, row 0 at the top.
type matGrid struct{ m mat.Matrix }

func (g matGrid) Dims() (c, r int)   { r, c = g.m.Dims(); return c, r }
func (g matGrid) Z(c, r int) float64 { return g.m.At(g.rows()-1-r, c) }
func (g matGrid) X(c int) float64    { return float64(c) }
func (g matGrid) Y(r int) float64    { return float64(r) }
func (g matGrid) rows() int          { r, _ := g.m.Dims(); return r }

// rowTicks labels the y axis with row indices, row 0 at the top.
func rowTicks(rows int) plot.Ticker {
	return plot.TickerFunc(func(min, max float64) []plot.Tick {
		ticks := intTicks{}.Ticks(0, float64(rows-1))
		var out []plot.Tick
		for _, t := range ticks {
			r := t.Value
			if r != math.Trunc(r) || r < 0 || r > float64(rows-1) {
				continue
			}
			t.Value = float64(rows-1) - r
			out = append(out, t)
		}
		return out
	})
}

// intTicks keeps the integer ticks of the default ticker, for column indices.
type intTicks struct{}

func (intTicks) Ticks(min, max float64) []plot.Tick {
	var out []plot.Tick
	if max-min <= 12 {
		for v := math.Ceil(min); v <= max; v++ {
			out = append(out, plot.Tick{Value: v, Label: strconv.Itoa(int(v))})
		}
		return out
	}
	for _, t := range (linTicks{}).Ticks(math.Max(min, 0), max) {
		if t.Value == math.Trunc(t.Value) {
			out = append(out, t)
		}
	}
	return out
}

type plainPalette []color.Color

func (p plainPalette) Colors() []color.Color { return p }

// Heatmap returns a figure of the matrix m, row 0 at the top, with axes of
// row and column indices and a colour bar (or a legend of categories).
func Heatmap(m mat.Matrix, o HeatOptions) (*Figure, error) {
	rows, cols := m.Dims()
	if rows == 0 || cols == 0 {
		return nil, fmt.Errorf("plots: Heatmap of an empty matrix")
	}
	xl, yl := o.X, o.Y
	if xl == "" {
		xl = "column"
	}
	if yl == "" {
		yl = "row"
	}
	p := newPlot(o.Title, xl, yl)
	p.X.Tick.Marker, p.Y.Tick.Marker = intTicks{}, rowTicks(rows)
	lo, hi := math.Inf(1), math.Inf(-1)
	for i := 0; i < rows; i++ {
		for j := 0; j < cols; j++ {
			v := m.At(i, j)
			if !math.IsNaN(v) && !math.IsInf(v, 0) {
				lo, hi = math.Min(lo, v), math.Max(hi, v)
			}
		}
	}
	if lo > hi {
		return nil, fmt.Errorf("plots: Heatmap: no finite value")
	}
	if o.Min != 0 || o.Max != 0 {
		if !(o.Min < o.Max) || math.IsInf(o.Min, 0) || math.IsInf(o.Max, 0) {
			return nil, fmt.Errorf("plots: Heatmap: the colour scale from %v to %v is not an interval", o.Min, o.Max)
		}
		lo, hi = o.Min, o.Max
	}
	if lo == hi {
		lo, hi = lo-0.5, hi+0.5
	}
	f := &Figure{Plot: p, Width: Width, Height: Height}
	switch {
	case o.Categories != nil:
		k := len(o.Categories)
		cols := categoryColors(k)
		p.Add(newCells(m, func(v float64) color.Color {
			if i := int(v); i >= 0 && i < len(cols) && float64(i) == v {
				return cols[i]
			}
			return color.Black
		}))
		leg := plot.NewLegend()
		leg.TextStyle.Font = legendFont()
		leg.Top, leg.Left = true, true
		leg.Padding = vg.Points(3)
		for i, name := range o.Categories {
			leg.Add(name, swatch{cols[i]})
		}
		lf := withLegend(p, leg)
		f.Side, f.SideWidth = lf.Side, lf.SideWidth
	default:
		var cm palette.ColorMap
		var norm plot.Normalizer = plot.LinearScale{}
		scale := func(v float64) float64 { return (v - lo) / (hi - lo) }
		switch {
		case o.Gray:
			cm = &grayMap{}
		case lo < 0 && hi > 0:
			// A diverging map centred at zero, on one linear scale for both
			// signs (±the larger extreme), so that equal colours are equal
			// magnitudes.
			cm = moreland.SmoothBlueRed()
			m := math.Max(-lo, hi)
			lo, hi = -m, m
		default:
			cm = moreland.Kindlmann()
		}
		cm.SetMin(0)
		cm.SetMax(1)
		p.Add(newCells(m, func(v float64) color.Color {
			c, err := cm.At(cm.Min() + (cm.Max()-cm.Min())*math.Max(0, math.Min(1, scale(v))))
			if err != nil || math.IsNaN(v) {
				return color.Black
			}
			return c
		}))
		f.Side, f.SideWidth = colorBar(cm, norm, scale, lo, hi, o.Label)
	}
	for _, lv := range o.Contours {
		if lv <= lo || lv >= hi {
			continue
		}
		c := plotter.NewContour(matGrid{m}, []float64{lv}, palette.Palette(plainPalette{black}))
		c.LineStyles = []draw.LineStyle{{Color: black, Width: vg.Points(1.2)}}
		p.Add(c)
	}
	if o.Blocks > 0 {
		addBlocks(p, rows, cols, o.Blocks)
	}
	p.X.Min, p.X.Max = -0.5, float64(cols)-0.5
	p.Y.Min, p.Y.Max = -0.5, float64(rows)-0.5
	if o.Aspect {
		// Square cells: the data area takes the matrix's shape within the
		// default height; about 2.6 cm go to the axes and titles.
		margin := 2.6 * vg.Centimeter
		dataH := Height - margin
		dataW := dataH * vg.Length(cols) / vg.Length(rows)
		f.Width = dataW + margin + f.SideWidth
		// Never narrower than the title.
		f.Width = max(f.Width, p.Title.TextStyle.Width(p.Title.Text)+vg.Centimeter+f.SideWidth)
	} else {
		f.Width = Width
	}
	return f, nil
}

// cells draws a matrix as an image of one colour per entry, row 0 at the
// top, each entry blown up to a block of pixels so that scaling the image
// to the plot keeps sharp cell edges (gonum's rasterized heat map is one
// pixel per entry and blurs when scaled, its vector one shows seams).
type cells struct {
	img        *image.RGBA
	rows, cols int
}

func newCells(m mat.Matrix, col func(float64) color.Color) *cells {
	rows, cols := m.Dims()
	kx, ky := max(1, 1200/cols), max(1, 1200/rows)
	img := image.NewRGBA(image.Rect(0, 0, cols*kx, rows*ky))
	for i := 0; i < rows; i++ {
		for j := 0; j < cols; j++ {
			c := color.RGBAModel.Convert(col(m.At(i, j))).(color.RGBA)
			for y := i * ky; y < (i+1)*ky; y++ {
				row := img.Pix[y*img.Stride:]
				for x := j * kx; x < (j+1)*kx; x++ {
					row[4*x], row[4*x+1], row[4*x+2], row[4*x+3] = c.R, c.G, c.B, c.A
				}
			}
		}
	}
	return &cells{img: img, rows: rows, cols: cols}
}

func (c *cells) Plot(dc draw.Canvas, p *plot.Plot) {
	plotter.NewImage(c.img, -0.5, -0.5, float64(c.cols)-0.5, float64(c.rows)-0.5).Plot(dc, p)
}

func (c *cells) DataRange() (xmin, xmax, ymin, ymax float64) {
	return -0.5, float64(c.cols) - 0.5, -0.5, float64(c.rows) - 0.5
}

// categoryColors returns k colours that are easy to tell apart: a light
// gray for category 0, then the palette's strongest.
func categoryColors(k int) []color.Color {
	all := []color.Color{color.Gray{Y: 225}, blue, vermilion, green, orange, purple, skyBlue, yellow, black}
	if k > len(all) {
		k = len(all)
	}
	return all[:k]
}

// addBlocks draws the boundaries between b×b blocks.
func addBlocks(p *plot.Plot, rows, cols, b int) {
	style := draw.LineStyle{Color: color.Gray{Y: 40}, Width: vg.Points(0.6)}
	for c := b; c < cols; c += b {
		l, _ := plotter.NewLine(plotter.XYs{{X: float64(c) - 0.5, Y: -0.5}, {X: float64(c) - 0.5, Y: float64(rows) - 0.5}})
		l.LineStyle = style
		p.Add(l)
	}
	for r := b; r < rows; r += b {
		y := float64(rows-r) - 0.5
		l, _ := plotter.NewLine(plotter.XYs{{X: -0.5, Y: y}, {X: float64(cols) - 0.5, Y: y}})
		l.LineStyle = style
		p.Add(l)
	}
}

// colorBar returns the drawing of a vertical colour bar for values lo..hi
// and its width.
func colorBar(cm palette.ColorMap, norm plot.Normalizer, scale func(float64) float64, lo, hi float64, label string) (func(draw.Canvas), vg.Length) {
	bar := plot.New()
	bar.HideX()
	bar.Y.Min, bar.Y.Max = lo, hi
	bar.Y.Scale = norm
	bar.Y.Tick.Marker = linTicks{}
	if t, ok := norm.(plot.Ticker); ok {
		bar.Y.Tick.Marker = t
	}
	bar.Y.Tick.Label.Font.Size = 9
	bar.Y.Label.Text = label
	bar.Y.Label.TextStyle.Font.Size = 10
	bar.Add(&barStrip{cm: cm, scale: scale, lo: lo, hi: hi})
	width := 2.6 * vg.Centimeter
	if label != "" {
		width += 0.5 * vg.Centimeter
	}
	return func(c draw.Canvas) {
		c.Min.X += vg.Points(6)
		c.Max.Y -= vg.Points(20) // level with the plot's data area
		c.Min.Y += vg.Points(28)
		bar.Draw(c)
	}, width
}

// barStrip draws the colour map along the bar's y axis, through the same
// mapping as the heat map.
type barStrip struct {
	cm     palette.ColorMap
	scale  func(float64) float64
	lo, hi float64
}

func (b *barStrip) Plot(c draw.Canvas, p *plot.Plot) {
	trX, trY := p.Transforms(&c)
	const n = 200
	x0, x1 := trX(0), trX(1)
	for i := range n {
		v0 := b.lo + (b.hi-b.lo)*float64(i)/n
		v1 := b.lo + (b.hi-b.lo)*float64(i+1)/n
		col, err := b.cm.At(b.cm.Min() + (b.cm.Max()-b.cm.Min())*b.scale((v0+v1)/2))
		if err != nil {
			continue
		}
		y0, y1 := trY(v0), trY(v1)+vg.Points(0.5) // overlap: no seams between strips
		c.FillPolygon(col, []vg.Point{{X: x0, Y: y0}, {X: x1, Y: y0}, {X: x1, Y: y1}, {X: x0, Y: y1}})
	}
}

func (b *barStrip) DataRange() (xmin, xmax, ymin, ymax float64) { return 0, 1, b.lo, b.hi }

// grayMap maps [Min, Max] to black through white.
type grayMap struct{ min, max float64 }

func (g grayMap) At(v float64) (color.Color, error) {
	t := (v - g.min) / (g.max - g.min)
	t = math.Max(0, math.Min(1, t))
	return color.Gray{Y: uint8(math.Round(255 * t))}, nil
}
func (g grayMap) Max() float64      { return g.max }
func (g grayMap) Min() float64      { return g.min }
func (g *grayMap) SetMax(v float64) { g.max = v }
func (g *grayMap) SetMin(v float64) { g.min = v }
func (g grayMap) Alpha() float64    { return 1 }
func (g *grayMap) SetAlpha(float64) {}
func (g grayMap) Palette(n int) palette.Palette {
	cols := make([]color.Color, n)
	for i := range cols {
		cols[i], _ = g.At(g.min + (g.max-g.min)*float64(i)/float64(n-1))
	}
	return palette.Palette(plainPalette(cols))
}

// Image returns Heatmap of values laid out on a rows×cols pixel grid, value
// k at pixel (k / cols, k % cols), with square pixels.
func Image(values []float64, rows, cols int, o HeatOptions) (*Figure, error) {
	if len(values) != rows*cols {
		return nil, fmt.Errorf("plots: Image: %d values for %d×%d pixels", len(values), rows, cols)
	}
	o.Aspect = true
	if o.X == "" && o.Y == "" {
		o.X, o.Y = "pixel column", "pixel row"
	}
	return Heatmap(mat.NewDense(rows, cols, values), o)
}
