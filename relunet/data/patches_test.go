package data

import (
	"errors"
	"image"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// ramp returns a rows×cols gray image whose pixel (r, c) has level
// (7r + 3c) mod 256, so that every patch says where it was cut.
func ramp(rows, cols int) *image.Gray {
	img := image.NewGray(image.Rect(0, 0, cols, rows))
	for r := 0; r < rows; r++ {
		for c := 0; c < cols; c++ {
			img.SetGray(c, r, color.Gray{Y: uint8((7*r + 3*c) % 256)})
		}
	}
	return img
}

// Patches are cut at every grid corner that fits, in row-major order of
// the corners, each row-major; the targets are the clean patches.
func TestPatchesShapeAndOrder(t *testing.T) {
	const rows, cols, size, stride = 20, 17, 5, 3
	ds, err := Patches("ramp", ramp(rows, cols), PatchOptions{Size: size, Stride: stride, Clean: true}, 1)
	if err != nil {
		t.Fatal(err)
	}
	pr, pc := (rows-size)/stride+1, (cols-size)/stride+1 // 6 and 5
	if n, d, m := ds.Dims(); n != pr*pc || d != size*size || m != size*size {
		t.Fatalf("dims %d×%d→%d, want %d×%d→%d", n, d, m, pr*pc, size*size, size*size)
	}
	for a := 0; a < pr; a++ {
		for b := 0; b < pc; b++ {
			i := a*pc + b
			for r := 0; r < size; r++ {
				for c := 0; c < size; c++ {
					want := float64((7*(a*stride+r) + 3*(b*stride+c)) % 256)
					if y := ds.Y.At(i, r*size+c); y != want {
						t.Fatalf("patch %d (corner %d,%d), pixel (%d,%d): %v, want %v", i, a*stride, b*stride, r, c, y, want)
					}
				}
			}
		}
	}
	if !mat.Equal(ds.X, ds.Y) {
		t.Error("Clean: the inputs differ from the targets")
	}
	if ds.XNames[size+1] != "noisy(1,1)" || ds.YNames[len(ds.YNames)-1] != "clean(4,4)" {
		t.Errorf("names %q, %q", ds.XNames[size+1], ds.YNames[len(ds.YNames)-1])
	}
}

// The noise is the seed's: the same seed gives the same inputs, another
// seed others; its sample moments are those of N(0, σ²) and the targets
// do not move.
func TestPatchesNoise(t *testing.T) {
	img := ramp(64, 64)
	o := PatchOptions{Size: 8, Stride: 1, Noise: 10}
	a, err := Patches("a", img, o, 5)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Patches("b", img, o, 5)
	c, _ := Patches("c", img, o, 6)
	if !mat.Equal(a.X, b.X) {
		t.Error("the same seed gave different noise")
	}
	if mat.Equal(a.X, c.X) {
		t.Error("another seed gave the same noise")
	}
	if !mat.Equal(a.Y, c.Y) {
		t.Error("the targets depend on the noise's seed")
	}
	var e mat.Dense
	e.Sub(a.X, a.Y)
	n, p := e.Dims()
	var sum, ss float64
	for i := 0; i < n; i++ {
		for _, v := range e.RawRowView(i) {
			sum += v
			ss += v * v
		}
	}
	// 57²·64 = 207,936 draws: the sample mean's standard error is
	// 10/456 ≈ 0.022 and the sample deviation's about 0.016, so 0.15 is
	// beyond six of either.
	N := float64(n * p)
	mean, sd := sum/N, math.Sqrt(ss/N-(sum/N)*(sum/N))
	if math.Abs(mean) > 0.15 || math.Abs(sd-10) > 0.15 {
		t.Errorf("noise mean %.4f, deviation %.4f; want 0 and 10", mean, sd)
	}
	// The default is σ = 25.
	d, _ := Patches("d", img, PatchOptions{Size: 8, Stride: 8}, 5)
	var f mat.Dense
	f.Sub(d.X, d.Y)
	dn, dp := f.Dims()
	if sd := mat.Norm(&f, 2) / math.Sqrt(float64(dn*dp)); math.Abs(sd-25) > 2 {
		t.Errorf("default noise: deviation %.2f, want about 25", sd)
	}
}

// Colour images become gray by BT.601 luma, as image/color has it.
func TestPatchesColour(t *testing.T) {
	img := image.NewRGBA(image.Rect(0, 0, 2, 1))
	img.Set(0, 0, color.RGBA{R: 255, A: 255})
	img.Set(1, 0, color.RGBA{R: 10, G: 200, B: 30, A: 255})
	levels, rows, cols := Gray(img)
	if rows != 1 || cols != 2 {
		t.Fatalf("%d×%d", rows, cols)
	}
	for c, want := range []float64{0.299 * 255, 0.299*10 + 0.587*200 + 0.114*30} {
		if math.Abs(levels[c]-want) > 0.5 {
			t.Errorf("pixel %d: level %.3f, want %.3f", c, levels[c], want)
		}
	}
}

func TestPatchesErrors(t *testing.T) {
	img := ramp(10, 12)
	for _, tc := range []struct {
		o    PatchOptions
		want string
	}{
		{PatchOptions{Size: 11}, "no patch of 11×11"},
		{PatchOptions{Size: -1}, "a size from 1 to 4096"},
		{PatchOptions{Size: 1 << 20}, "a size from 1 to 4096"},
		{PatchOptions{Stride: -2}, "a positive stride"},
		{PatchOptions{Noise: math.NaN()}, "a noise from 0 to 10000"},
		{PatchOptions{Noise: -1}, "a noise from 0 to 10000"},
		{PatchOptions{Noise: 1e308}, "a noise from 0 to 10000"},
	} {
		if _, err := Patches("x", img, tc.o, 0); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: error %v, want %q", tc.o, err, tc.want)
		}
	}
	bad := filepath.Join(t.TempDir(), "bad.png")
	if err := os.WriteFile(bad, []byte("not an image"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadImage(bad); err == nil || !strings.Contains(err.Error(), "bad.png") {
		t.Errorf("a file that is no image: %v", err)
	}
}

// The camera photograph gives the 27556 patches the registry announces.
func TestCameraPatches(t *testing.T) {
	ds, err := (&Loader{NoFetch: true, Cache: t.TempDir()}).Load(t.Context(), "patches")
	if errors.Is(err, ErrNoData) {
		skipWithoutData(t, err.Error())
	}
	if err != nil {
		t.Fatal(err)
	}
	if n, d, m := ds.Dims(); n != 27556 || d != 225 || m != 225 {
		t.Errorf("dims %d, %d, %d; want 27556, 225, 225", n, d, m)
	}
}

// Clean patches laid back in place give the image again, where they cover
// it; pixels no patch covers are 0.
func TestUnpatch(t *testing.T) {
	const rows, cols = 20, 17
	o := PatchOptions{Size: 5, Stride: 3, Clean: true}
	ds, err := Patches("ramp", ramp(rows, cols), o, 0)
	if err != nil {
		t.Fatal(err)
	}
	img, err := Unpatch(ds.Y, rows, cols, o)
	if err != nil {
		t.Fatal(err)
	}
	// Corners at rows 0, 3, ..., 15 and columns 0, 3, ..., 12: the patches
	// cover rows 0 to 19 and columns 0 to 16, the whole image.
	for r := 0; r < rows; r++ {
		for c := 0; c < cols; c++ {
			if want := float64((7*r + 3*c) % 256); img[r*cols+c] != want {
				t.Fatalf("pixel (%d, %d): %v, want %v", r, c, img[r*cols+c], want)
			}
		}
	}
	o.Stride = 6 // corners 0, 6, 12: rows 17 to 19 uncovered
	ds, _ = Patches("ramp", ramp(rows, cols), o, 0)
	img, _ = Unpatch(ds.Y, rows, cols, o)
	if img[19*cols] != 0 || img[16*cols+16] != float64((7*16+3*16)%256) {
		t.Errorf("uncovered pixel %v, covered %v", img[19*cols], img[16*cols+16])
	}
	if _, err := Unpatch(ds.Y, rows+3, cols, o); err == nil {
		t.Error("patches of another image's size: no error")
	}
	// Overlapping patches that disagree give each pixel their mean: patch
	// k constant k, 3×3 patches at stride 2 on a 5×5 image (corners 0 and
	// 2): pixel (2, 2) is covered by all four patches, (0, 2) by 0 and 1.
	q := PatchOptions{Size: 3, Stride: 2, Clean: true}
	P := mat.NewDense(4, 9, nil)
	for k := 0; k < 4; k++ {
		for j := 0; j < 9; j++ {
			P.Set(k, j, float64(k))
		}
	}
	img, err = Unpatch(P, 5, 5, q)
	if err != nil {
		t.Fatal(err)
	}
	if img[2*5+2] != 1.5 || img[0*5+2] != 0.5 || img[4*5+4] != 3 {
		t.Errorf("means: (2,2) %v, want 1.5; (0,2) %v, want 0.5; (4,4) %v, want 3", img[12], img[2], img[24])
	}
}
