package plots

import (
	"bytes"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// TestFigures draws one figure of every kind, edge cases included (a
// diverged run, nothing drawable on log axes, a narrow log range, signed
// values over many decades), and checks that each is a PNG of its
// preferred size. With $RELUNET_FIGURES set to a directory, it writes them
// there to be looked at.
func TestFigures(t *testing.T) {
	dir := os.Getenv("RELUNET_FIGURES")
	save := func(name string, f *Figure, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		b, err := f.Render("png")
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		img, err := png.Decode(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if w, h := img.Bounds().Dx(), img.Bounds().Dy(); math.Abs(float64(w)-f.Width.Points()*2) > 2 || math.Abs(float64(h)-f.Height.Points()*2) > 2 {
			t.Errorf("%s: %d×%d pixels for %v×%v points at 144 dpi", name, w, h, f.Width, f.Height)
		}
		if dir != "" {
			os.WriteFile(filepath.Join(dir, name+".png"), b, 0o644)
		}
	}
	var it, a, s, sgd, adam, lb []float64
	for i := 0; i <= 300; i++ {
		x := float64(i + 1)
		it = append(it, x)
		if i <= 30 {
			a = append(a, 0.2*math.Exp(-float64(i)/8)+0.011+0.002*math.Sin(float64(i)))
			s = append(s, 0.2*math.Exp(-float64(i)/8)+0.0105)
		}
		adam = append(adam, 0.25/(1+x/10)+0.012)
		lb = append(lb, 0.25/(1+x/3)+0.0115)
		if i < 40 {
			sgd = append(sgd, 0.3+float64(i)*0.1)
		} else if i == 40 {
			sgd = append(sgd, math.Inf(1))
		}
	}
	{
		f, err := Lines(Axes{Title: "bike: training MSE per iteration or epoch", X: "iteration or epoch (1 = initial)", Y: "training MSE", LogX: true, LogY: true},
			Series{Name: "analytic", X: it[:31], Y: a}, Series{Name: "analytic+safeguard", X: it[:31], Y: s},
			Series{Name: "sgd", X: it[:41], Y: sgd, Diverged: true}, Series{Name: "adam", X: it, Y: adam}, Series{Name: "lbfgs", X: it, Y: lb})
		save("lines", f, err)
	}
	{
		f, err := Lines(Axes{Title: "one point on log axes", X: "x", Y: "y", LogX: true, LogY: true},
			Series{Name: "sgd", X: []float64{1, 2}, Y: []float64{0.5, math.Inf(1)}, Diverged: true})
		save("one-point", f, err)
	}
	{
		f, err := Lines(Axes{Title: "all failed", X: "x", Y: "y", LogX: true, LogY: true}, Series{Name: "sgd", X: []float64{1, 2}, Y: []float64{math.NaN(), math.Inf(1)}, Diverged: true})
		save("empty", f, err)
	}
	{
		// A run that blows up to 1e38 before it overflows: cut at the top,
		// the others' range kept.
		f, err := Lines(Axes{Title: "a blow-up does not set the axis", X: "seconds", Y: "training MSE", LogX: true, LogY: true},
			Series{Name: "sgd", X: []float64{0.02, 0.03, 0.05, 0.06, 0.07, 0.08}, Y: []float64{3000, 2000, 3000, 1e6, 1e38, math.Inf(1)}, Diverged: true},
			Series{Name: "analytic", X: []float64{0.2, 0.5, 1, 3}, Y: []float64{300, 200, 170, 160}})
		save("blow-up", f, err)
		// The curve is cut at 30000, ten times the start of the diverged run;
		// the axis ends a little above, so that the × is drawn whole.
		if top := f.Plot.Y.Max; top < 30000 || top > 40000 {
			t.Errorf("blow-up: the y axis ends at %g, want a little above 30000", top)
		}
	}
	narrow := []float64{0.15, 0.12, 0.1, 0.095, 0.09, 0.088, 0.087}
	{
		f, err := Lines(Axes{Title: "narrow log range", X: "iteration", Y: "MSE", LogY: true}, Series{Name: "true loss", X: []float64{0, 1, 2, 3, 4, 5, 6}, Y: narrow}, Series{Name: "surrogate", X: []float64{1, 2, 3, 4, 5, 6}, Y: []float64{0.11, 0.095, 0.09, 0.088, 0.086, 0.0865}})
		save("narrow", f, err)
	}
	ev := []float64{-3e-3, -2e-5, -1e-9, 1e-12, 3e-8, 1e-6, 4e-4, 2e-2, 0.3, 1.5, 7}
	idx := make([]float64, len(ev))
	for i := range idx {
		idx[i] = float64(i + 1)
	}
	{
		f, err := Points(Axes{Title: "eigenvalues", X: "index", Y: "eigenvalue λ", SymLogY: 1e-6}, Series{Name: "analytic", X: idx, Y: ev}, Series{Name: "adam", X: idx, Y: ev})
		save("symlog", f, err)
	}
	// normal matrix with blocks
	n := mat.NewDense(18, 18, nil)
	for i := 0; i < 18; i++ {
		for j := 0; j < 18; j++ {
			n.Set(i, j, math.Cos(float64(i/3-j/3))*float64((i%3+1)*(j%3+1))*math.Pow(-1, float64(i/3+j/3)))
		}
	}
	{
		f, err := Heatmap(n, HeatOptions{Title: "normal matrix N (h = 6 blocks of D = 3)", X: "unknown (j, a)", Y: "unknown (j, a)", Blocks: 3, Label: "N entry", Aspect: true})
		save("normal", f, err)
	}
	g := mat.NewDense(60, 6, nil)
	for i := 0; i < 60; i++ {
		for j := 0; j < 6; j++ {
			if math.Sin(float64(i*j+i)) > 0 {
				g.Set(i, j, 1)
			}
		}
	}
	{
		f, err := Heatmap(g, HeatOptions{Title: "activation pattern G, first 60 rows", X: "neuron j", Y: "row i", Categories: []string{"inactive (G = α)", "active (G = 1)"}})
		save("pattern", f, err)
	}
	// SDF like image
	rows, cols := 80, 110
	v := make([]float64, rows*cols)
	for r := 0; r < rows; r++ {
		for c := 0; c < cols; c++ {
			d := math.Hypot(float64(r-40), float64(c-55)*0.8) - 20
			if d > 0 {
				d *= 3
			}
			v[r*cols+c] = d
		}
	}
	{
		f, err := Image(v, rows, cols, HeatOptions{Title: "signed distance", Label: "distance (pixels)", Contours: []float64{0}})
		save("sdf", f, err)
	}
	{
		f, err := Image(v, rows, cols, HeatOptions{Title: "gray", Gray: true})
		save("gray", f, err)
	}
	{
		// Patches, noisy and smoothed, on one scale; and whole images.
		var clean, noisy, smooth [][]float64
		for k := 0; k < 8; k++ {
			var c, n, m []float64
			for i := 0; i < 15; i++ {
				for j := 0; j < 15; j++ {
					v := 128 + 100*math.Sin(float64(k*i+j)/5)
					c = append(c, v)
					n = append(n, v+40*math.Sin(float64(97*i*j+k)))
					m = append(m, v+8*math.Sin(float64(97*i*j+k)))
				}
			}
			clean, noisy, smooth = append(clean, c), append(noisy, n), append(smooth, m)
		}
		f, err := Tiles([][][]float64{clean, noisy, smooth}, 15, 15, TileOptions{Title: "patches: clean, noisy, denoised",
			Rows: []string{"clean patch (target)", "noisy patch (input)", "network output"}, Lo: 0, Hi: 255})
		save("tiles", f, err)
		var img []float64
		for i := 0; i < 120; i++ {
			for j := 0; j < 160; j++ {
				img = append(img, float64((i*j)%256))
			}
		}
		f, err = Tiles([][][]float64{{img, img, img}}, 120, 160, TileOptions{Title: "whole images", Captions: [][]string{{"clean", "noisy", "denoised"}}})
		save("tiles-images", f, err)
	}
}
