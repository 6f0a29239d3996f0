package plots

import (
	"fmt"
	"image"
	"image/color"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// TileOptions say how Tiles lays out its images.
type TileOptions struct {
	Title string
	// Rows names each row of tiles; the name is written above the row.
	Rows []string
	// Captions, instead, name each tile: Captions[r][c] is written above
	// tile (r, c).
	Captions [][]string
	// Lo and Hi are the values drawn black and white, on one scale for
	// every tile so that tiles compare; values beyond are clipped. Both
	// zero means the range of all the tiles' values.
	Lo, Hi float64
}

// Tiles returns a grid of gray images on one scale: tiles[r][c] is the
// image in row r and column c, height×width values in row-major order, such
// as patches above their noisy and reconstructed versions, or a whole image
// beside its noisy and denoised versions. Pixels stay square and sharp.
func Tiles(tiles [][][]float64, height, width int, o TileOptions) (*Figure, error) {
	switch {
	case len(tiles) == 0 || len(tiles[0]) == 0:
		return nil, fmt.Errorf("plots: Tiles: no tiles")
	case height <= 0 || width <= 0:
		return nil, fmt.Errorf("plots: Tiles: tiles of %d×%d pixels", height, width)
	case math.IsNaN(o.Lo) || math.IsNaN(o.Hi) || math.IsInf(o.Lo, 0) || math.IsInf(o.Hi, 0) || o.Lo > o.Hi || (o.Lo == o.Hi && o.Lo != 0):
		return nil, fmt.Errorf("plots: Tiles: the gray scale from %v to %v is not an interval", o.Lo, o.Hi)
	case o.Captions != nil && len(o.Captions) != len(tiles):
		return nil, fmt.Errorf("plots: Tiles: %d rows of captions for %d rows of tiles", len(o.Captions), len(tiles))
	}
	if o.Rows != nil && len(o.Rows) != len(tiles) {
		return nil, fmt.Errorf("plots: Tiles: %d row names for %d rows", len(o.Rows), len(tiles))
	}
	if o.Captions != nil && o.Rows != nil {
		return nil, fmt.Errorf("plots: Tiles: row names and captions both given")
	}
	cols := len(tiles[0])
	lo, hi := o.Lo, o.Hi
	auto := lo == 0 && hi == 0
	if auto {
		lo, hi = math.Inf(1), math.Inf(-1)
	}
	for r, row := range tiles {
		if len(row) != cols {
			return nil, fmt.Errorf("plots: Tiles: row %d has %d tiles, row 0 has %d", r, len(row), cols)
		}
		if o.Captions != nil && len(o.Captions[r]) != cols {
			return nil, fmt.Errorf("plots: Tiles: the captions do not match the %d×%d tiles", len(tiles), cols)
		}
		for c, t := range row {
			if len(t) != height*width {
				return nil, fmt.Errorf("plots: Tiles: tile (%d, %d) has %d values, want %d×%d", r, c, len(t), height, width)
			}
			for _, v := range t {
				if math.IsNaN(v) || math.IsInf(v, 0) {
					return nil, fmt.Errorf("plots: Tiles: tile (%d, %d) has the value %v", r, c, v)
				}
				if auto {
					lo, hi = math.Min(lo, v), math.Max(hi, v)
				}
			}
		}
	}
	if !(lo < hi) {
		hi = lo + 1
	}

	// Layout: a gap of a sixth of a tile between tiles, and above each row
	// a band for its name, of the text's height.
	side := float64(max(height, width))
	t := &tileGrid{tiles: tiles, h: height, w: width, gap: side / 6, names: o.Rows, captions: o.Captions, lo: lo, hi: hi}
	p := newPlot(o.Title, "", "")
	p.HideAxes()
	t.font = p.Y.Label.TextStyle
	t.font.Font.Size = 10
	t.font.XAlign, t.font.YAlign = draw.XLeft, draw.YBottom
	if o.Rows != nil || o.Captions != nil {
		t.band = t.font.Height("Xg") + vg.Points(4)
	}
	p.Add(t)

	// The figure's height follows from its width and the grid's shape;
	// small tiles (patches) are drawn no bigger than maxTile.
	wpx, hpx := t.pixels()
	w := Width
	unit := w / vg.Length(wpx)
	if maxTile := 1.6 * vg.Centimeter; unit*vg.Length(side) > maxTile && side < 64 {
		unit = maxTile / vg.Length(side)
		w = unit * vg.Length(wpx)
	}
	h := unit*vg.Length(hpx) + vg.Length(len(tiles))*t.band
	if o.Title != "" {
		h += p.Title.TextStyle.Height(o.Title) + p.Title.Padding
	}
	return &Figure{Plot: p, Width: w, Height: h}, nil
}

// tileGrid is the plotter of Tiles, row 0 at the top; it lays the tiles
// out on the canvas itself, the plot's axes hidden.
type tileGrid struct {
	tiles    [][][]float64
	h, w     int     // each tile's pixels
	gap      float64 // between tiles, in pixels
	band     vg.Length
	names    []string
	captions [][]string
	lo, hi   float64
	font     draw.TextStyle
}

// pixels returns the grid's size in pixels, the bands above the rows left
// out.
func (t *tileGrid) pixels() (w, h float64) {
	cols, rows := len(t.tiles[0]), len(t.tiles)
	return float64(cols*t.w) + float64(cols-1)*t.gap, float64(rows*t.h) + float64(rows-1)*t.gap
}

func (t *tileGrid) DataRange() (xmin, xmax, ymin, ymax float64) { return 0, 1, 0, 1 }

// image returns tile (r, c) blown up k times per side, so that the canvas
// does not blur it when scaling.
func (t *tileGrid) image(r, c, k int) *image.Gray {
	img := image.NewGray(image.Rect(0, 0, t.w*k, t.h*k))
	for i := 0; i < t.h; i++ {
		for j := 0; j < t.w; j++ {
			v := (t.tiles[r][c][i*t.w+j] - t.lo) / (t.hi - t.lo)
			g := color.Gray{Y: uint8(math.Round(255 * math.Max(0, math.Min(1, v))))}
			for y := i * k; y < (i+1)*k; y++ {
				for x := j * k; x < (j+1)*k; x++ {
					img.SetGray(x, y, g)
				}
			}
		}
	}
	return img
}

func (t *tileGrid) Plot(c draw.Canvas, _ *plot.Plot) {
	wpx, hpx := t.pixels()
	rows := vg.Length(len(t.tiles))
	unit := min((c.Max.X-c.Min.X)/vg.Length(wpx), (c.Max.Y-c.Min.Y-rows*t.band)/vg.Length(hpx))
	h, w, gap := unit*vg.Length(t.h), unit*vg.Length(t.w), unit*vg.Length(t.gap)
	k := max(1, 64/max(t.h, t.w))
	top := c.Max.Y
	for r, row := range t.tiles {
		if t.names != nil {
			c.FillText(t.font, vg.Point{X: c.Min.X, Y: top - t.band + vg.Points(2)}, t.names[r])
		}
		for col := range row {
			x0 := c.Min.X + vg.Length(col)*(w+gap)
			if t.captions != nil {
				c.FillText(t.font, vg.Point{X: x0, Y: top - t.band + vg.Points(2)}, t.captions[r][col])
			}
		}
		top -= t.band
		for col := range row {
			x0 := c.Min.X + vg.Length(col)*(w+gap)
			rect := vg.Rectangle{Min: vg.Point{X: x0, Y: top - h}, Max: vg.Point{X: x0 + w, Y: top}}
			c.DrawImage(rect, t.image(r, col, k))
			c.SetColor(grey)
			c.SetLineWidth(vg.Points(0.5))
			var path vg.Path
			path.Move(rect.Min)
			path.Line(vg.Point{X: rect.Max.X, Y: rect.Min.Y})
			path.Line(rect.Max)
			path.Line(vg.Point{X: rect.Min.X, Y: rect.Max.Y})
			path.Close()
			c.Stroke(path)
		}
		top -= h + gap
	}
}
