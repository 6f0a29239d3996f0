package plots

import (
	"bytes"
	"fmt"
	"image/color"
	"io"
	"math"
	"path/filepath"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"
)

// Default figure size: about the width of a notebook cell.
const (
	Width  = 17 * vg.Centimeter
	Height = 9.5 * vg.Centimeter
)

// Figure is a plot with an optional panel on its right (a legend or a
// colour bar), outside the data, and the size it is best drawn at.
type Figure struct {
	Plot *plot.Plot
	// Side is drawn in a column of SideWidth on the right of the plot.
	Side      func(c draw.Canvas)
	SideWidth vg.Length
	// Width and Height are the preferred size; images keep their aspect
	// ratio at it.
	Width, Height vg.Length
}

// Draw draws the figure on c.
func (f *Figure) Draw(c draw.Canvas) {
	main := c
	main.Max.X -= f.SideWidth
	// gonum/plot centres an axis label at the data midpoint, which on a
	// logarithmic axis lies near one end and squeezes the data area; the
	// figure draws the labels itself, centred in their margins.
	x, y := f.Plot.X.Label, f.Plot.Y.Label
	f.Plot.X.Label.Text, f.Plot.Y.Label.Text = "", ""
	defer func() { f.Plot.X.Label.Text, f.Plot.Y.Label.Text = x.Text, y.Text }()
	if y.Text != "" {
		h := y.TextStyle.Height(y.Text)
		sty := y.TextStyle
		sty.Rotation, sty.XAlign, sty.YAlign = math.Pi/2, draw.XCenter, draw.YCenter
		mid := (main.Min.Y + main.Max.Y - f.Plot.Title.TextStyle.Height(f.Plot.Title.Text)) / 2
		main.FillText(sty, vg.Point{X: main.Min.X + h/2 + vg.Points(2), Y: mid}, y.Text)
		main.Min.X += h + vg.Points(4)
	}
	if x.Text != "" {
		h := x.TextStyle.Height(x.Text)
		sty := x.TextStyle
		sty.XAlign, sty.YAlign = draw.XCenter, draw.YBottom
		main.FillText(sty, vg.Point{X: (main.Min.X + main.Max.X) / 2, Y: main.Min.Y + vg.Points(2)}, x.Text)
		main.Min.Y += h + vg.Points(4)
	}
	f.Plot.Draw(main)
	if f.Side != nil {
		side := c
		side.Min.X = c.Max.X - f.SideWidth
		f.Side(side)
	}
}

// Render returns the figure drawn at its preferred size as "png" (at 144
// dots per inch, sharp on high-density screens) or "svg".
func (f *Figure) Render(format string) ([]byte, error) {
	var buf bytes.Buffer
	if err := f.WriteTo(&buf, format); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// WriteTo writes the figure in the format "png" or "svg" to w.
func (f *Figure) WriteTo(w io.Writer, format string) error {
	var (
		c   vg.CanvasWriterTo
		err error
	)
	switch format {
	case "png":
		c = vgimg.PngCanvas{Canvas: vgimg.NewWith(vgimg.UseWH(f.Width, f.Height), vgimg.UseDPI(144))}
	case "svg":
		c = vgsvg.New(f.Width, f.Height)
	default:
		return fmt.Errorf("plots: unknown format %q (want png or svg)", format)
	}
	f.Draw(draw.New(c))
	_, err = c.WriteTo(w)
	return err
}

// Format returns the image format of a file name: "png" or "svg".
func Format(path string) (string, error) {
	switch ext := strings.ToLower(filepath.Ext(path)); ext {
	case ".png", ".svg":
		return ext[1:], nil
	default:
		return "", fmt.Errorf("plots: %s: unknown image format %q (want .png or .svg)", path, ext)
	}
}

// newPlot returns a plot in the package's style: titles and labels a little
// larger than gonum/plot's defaults, a light grid.
func newPlot(title, x, y string) *plot.Plot {
	p := plot.New()
	p.Title.Text, p.X.Label.Text, p.Y.Label.Text = title, x, y
	p.Title.TextStyle.Font.Size = 12
	p.Title.Padding = vg.Points(6)
	for _, a := range []*plot.Axis{&p.X, &p.Y} {
		a.Label.TextStyle.Font.Size = 11
		a.Tick.Label.Font.Size = 9.5
		a.Tick.Marker = linTicks{}
	}
	// A y label longer than the room beside the data would run off the
	// figure: shrink it.
	for room := 0.7 * Height; p.Y.Label.TextStyle.Width(y) > room && p.Y.Label.TextStyle.Font.Size > 7; {
		p.Y.Label.TextStyle.Font.Size -= 0.5
	}
	return p
}

// grid adds a light grid behind the data.
func grid(p *plot.Plot) {
	g := plotterGrid()
	p.Add(g)
}

// Style is how a series is drawn.
type Style struct {
	Color  color.Color
	Dashes []vg.Length
	Glyph  draw.GlyphDrawer
}

// The colours of the Okabe–Ito palette, distinguishable with every common
// form of colour blindness, and gray; the figures use no others.
var (
	Black     color.Color = color.RGBA{0, 0, 0, 255}
	Orange    color.Color = color.RGBA{230, 159, 0, 255}
	SkyBlue   color.Color = color.RGBA{86, 180, 233, 255}
	Green     color.Color = color.RGBA{0, 158, 115, 255}
	Yellow    color.Color = color.RGBA{240, 228, 66, 255}
	Blue      color.Color = color.RGBA{0, 114, 178, 255}
	Vermilion color.Color = color.RGBA{213, 94, 0, 255}
	Purple    color.Color = color.RGBA{204, 121, 167, 255}
	Grey      color.Color = color.RGBA{120, 120, 120, 255}
)

// Dashed is a dash pattern for Style.Dashes.
var Dashed = []vg.Length{vg.Points(5), vg.Points(3)}

// Markers for Style.Glyph.
var (
	Dot    draw.GlyphDrawer = draw.CircleGlyph{}
	Ring   draw.GlyphDrawer = draw.RingGlyph{}
	Cross  draw.GlyphDrawer = draw.CrossGlyph{}
	Plus   draw.GlyphDrawer = draw.PlusGlyph{}
	Square draw.GlyphDrawer = draw.BoxGlyph{}
)

var (
	black, orange, skyBlue, green, yellow = Black, Orange, SkyBlue, Green, Yellow
	blue, vermilion, purple, grey         = Blue, Vermilion, Purple, Grey
)

// methodStyles fixes each method's look in every figure: the same colour
// and marker for a method on every data set, and the two analytic variants
// told apart by dashes and markers so that neither hides the other.
var methodStyles = map[string]Style{
	"analytic":           {Color: blue, Glyph: draw.CircleGlyph{}},
	"analytic+safeguard": {Color: skyBlue, Dashes: []vg.Length{vg.Points(5), vg.Points(3)}, Glyph: draw.TriangleGlyph{}},
	"sgd":                {Color: vermilion, Glyph: draw.BoxGlyph{}},
	"adam":               {Color: green, Glyph: draw.PyramidGlyph{}},
	"lbfgs":              {Color: purple, Glyph: draw.CrossGlyph{}},
	"lm":                 {Color: orange, Glyph: draw.PlusGlyph{}},
}

// others are the styles of series that are not methods, by position.
var others = []Style{
	{Color: blue, Glyph: draw.CircleGlyph{}},
	{Color: vermilion, Dashes: []vg.Length{vg.Points(5), vg.Points(3)}, Glyph: draw.BoxGlyph{}},
	{Color: green, Dashes: []vg.Length{vg.Points(2), vg.Points(2)}, Glyph: draw.PyramidGlyph{}},
	{Color: purple, Glyph: draw.CrossGlyph{}},
	{Color: orange, Glyph: draw.PlusGlyph{}},
	{Color: black, Glyph: draw.RingGlyph{}},
	{Color: skyBlue, Glyph: draw.TriangleGlyph{}},
	{Color: grey, Glyph: draw.SquareGlyph{}},
}

// MethodStyle returns the style of a method's label ("analytic",
// "analytic+safeguard", "sgd", ...): the method's own for a known one, and
// for a variant of one (the longest known label followed by "+", "," or a
// space: "analytic+restarts", "adam, polished") the method's colour with
// dots and a hollow marker.
func MethodStyle(label string) (Style, bool) {
	if s, ok := methodStyles[label]; ok {
		return s, true
	}
	best := ""
	for name := range methodStyles {
		if len(label) > len(name) && strings.HasPrefix(label, name) && strings.ContainsRune("+, (", rune(label[len(name)])) && len(name) > len(best) {
			best = name
		}
	}
	if best == "" {
		return Style{}, false
	}
	s := methodStyles[best]
	s.Dashes = []vg.Length{vg.Points(2), vg.Points(2)}
	s.Glyph = hollow(s.Glyph)
	return s, true
}

// hollow returns the outline form of a filled marker.
func hollow(g draw.GlyphDrawer) draw.GlyphDrawer {
	switch g.(type) {
	case draw.CircleGlyph:
		return draw.RingGlyph{}
	case draw.BoxGlyph:
		return draw.SquareGlyph{}
	case draw.PyramidGlyph:
		return draw.TriangleGlyph{}
	case draw.CrossGlyph:
		return draw.PlusGlyph{}
	}
	return draw.RingGlyph{}
}

// legendFont is the font of legends and notes.
func legendFont() font.Font {
	f := plot.DefaultFont
	f.Size = 9.5
	return f
}
