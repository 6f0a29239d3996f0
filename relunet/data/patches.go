package data

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	_ "image/jpeg" // decode JPEG images too
	_ "image/png"
	"math"
	"os"

	"gonum.org/v1/gonum/mat"

	"github.com/relunet/relunet/relunet/internal/seeded"
)

// Bounds of PatchOptions: a patch side of MaxPatch pixels already makes
// rows of 16 million inputs, and a noise of MaxNoise gray levels drowns any
// image of 0 to 255 many times over.
const (
	MaxPatch = 4096
	MaxNoise = 1e4
)

// PatchOptions say how Patches cuts an image into training rows. A zero
// field means its default.
type PatchOptions struct {
	// Size is the side of the square patches in pixels; 0 means 15, the
	// reference's.
	Size int
	// Stride is the step between patches in pixels; 0 means 3, the
	// reference's.
	Stride int
	// Noise is the standard deviation, in gray levels of 0 to 255, of the
	// Gaussian noise added to the inputs (the targets are the clean
	// patches): a denoising autoencoder. 0 means 25, about a tenth of the
	// range, a common level in denoising studies; Clean turns it off, as
	// the reference (a plain autoencoder) has it.
	Noise float64
	Clean bool
}

func (o PatchOptions) withDefaults() (PatchOptions, error) {
	if o.Size == 0 {
		o.Size = 15
	}
	if o.Stride == 0 {
		o.Stride = 3
	}
	if o.Noise == 0 {
		o.Noise = 25
	}
	if o.Clean {
		o.Noise = 0
	}
	if o.Size < 0 || o.Size > MaxPatch || o.Stride < 0 || math.IsNaN(o.Noise) || o.Noise < 0 || o.Noise > MaxNoise {
		return o, fmt.Errorf("data: patches: need a size from 1 to %d, a positive stride and a noise from 0 to %g, have %d, %d, %v",
			MaxPatch, MaxNoise, o.Size, o.Stride, o.Noise)
	}
	return o, nil
}

// Gray returns the image as gray levels 0 to 255 (rows×cols, row-major),
// colour images converted by the luma of ITU-R BT.601 at 16 bits, as
// image/color's Gray16Model does, so that levels may be fractional.
func Gray(img image.Image) (levels []float64, rows, cols int) {
	b := img.Bounds()
	rows, cols = b.Dy(), b.Dx()
	levels = make([]float64, rows*cols)
	for r := 0; r < rows; r++ {
		for c := 0; c < cols; c++ {
			g := color.Gray16Model.Convert(img.At(b.Min.X+c, b.Min.Y+r)).(color.Gray16)
			levels[r*cols+c] = float64(g.Y) / 257
		}
	}
	return levels, rows, cols
}

// Patches returns the data set of the image's square patches: every patch of
// o.Size×o.Size pixels whose top-left corner lies on the grid of step
// o.Stride, in row-major order of the corners, each a row of Size² gray
// levels (row-major within the patch). The targets are the clean patches;
// the inputs are them plus Gaussian noise drawn from seed (none with
// o.Clean). A request whose patches would not fit in the memory available
// is an error naming the options to change.
func Patches(name string, img image.Image, o PatchOptions, seed uint64) (*Dataset, error) {
	if img == nil {
		return nil, fmt.Errorf("data: %s: no image", name)
	}
	b := img.Bounds()
	if err := checkGrid(name+": the image's gray levels", b.Dy(), b.Dx(), 8); err != nil {
		return nil, err
	}
	levels, rows, cols := Gray(img)
	return PatchLevels(name, levels, rows, cols, o, seed)
}

// PatchLevels is Patches of an image given as rows×cols gray levels in
// row-major order, such as Gray returns: one already noisy, say, cut with
// Clean set to be denoised patch by patch.
func PatchLevels(name string, levels []float64, rows, cols int, o PatchOptions, seed uint64) (*Dataset, error) {
	o, err := o.withDefaults()
	if err != nil {
		return nil, err
	}
	pr, pc, err := patchGrid(name, rows, cols, o)
	if err != nil {
		return nil, err
	}
	if len(levels) != rows*cols {
		return nil, fmt.Errorf("data: %s: %d levels for a %d×%d image", name, len(levels), rows, cols)
	}
	n, p := pr*pc, o.Size*o.Size
	if err := checkGrid(fmt.Sprintf("%s: %d patches of %d×%d pixels (take a larger stride or smaller patches: PatchOptions, -stride, -patch)", name, n, o.Size, o.Size), n, p, 16); err != nil {
		return nil, err
	}
	X, Y := mat.NewDense(n, p, nil), mat.NewDense(n, p, nil)
	rng := seeded.Data(seed, 0)
	for a := 0; a < pr; a++ {
		for b := 0; b < pc; b++ {
			i := a*pc + b
			y := Y.RawRowView(i)
			for r := 0; r < o.Size; r++ {
				copy(y[r*o.Size:(r+1)*o.Size], levels[(a*o.Stride+r)*cols+b*o.Stride:])
			}
			x := X.RawRowView(i)
			if o.Noise == 0 {
				copy(x, y)
				continue
			}
			for k, v := range y {
				x[k] = v + o.Noise*rng.NormFloat64()
			}
		}
	}
	ds := &Dataset{Name: name, X: X, Y: Y, XNames: pixelNames("noisy", o.Size), YNames: pixelNames("clean", o.Size)}
	return ds, nil
}

func pixelNames(prefix string, size int) []string {
	out := make([]string, 0, size*size)
	for r := 0; r < size; r++ {
		for c := 0; c < size; c++ {
			out = append(out, fmt.Sprintf("%s(%d,%d)", prefix, r, c))
		}
	}
	return out
}

// patchGrid returns the rows and columns of patch corners that fit in a
// rows×cols image.
func patchGrid(name string, rows, cols int, o PatchOptions) (pr, pc int, err error) {
	switch {
	case rows <= 0 || cols <= 0 || rows > math.MaxInt32 || cols > math.MaxInt32:
		return 0, 0, fmt.Errorf("data: %s: an image of %d×%d pixels", name, rows, cols)
	case rows < o.Size || cols < o.Size:
		return 0, 0, fmt.Errorf("data: %s: a %d×%d image has no patch of %d×%d pixels", name, rows, cols, o.Size, o.Size)
	}
	return (rows-o.Size)/o.Stride + 1, (cols-o.Size)/o.Stride + 1, nil
}

// ReadImage decodes the PNG or JPEG image in the named file. An image too
// large for the memory available is an error, found from its header before
// it is decoded.
func ReadImage(path string) (image.Image, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("data: %w", err)
	}
	return decodeImage(path, b)
}

// decodeImage decodes the PNG or JPEG image b, named name in errors, after
// checking its size from its header.
func decodeImage(name string, b []byte) (image.Image, error) {
	cfg, _, err := image.DecodeConfig(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("data: %s: %w", name, err)
	}
	// Decoded pixels take up to 8 bytes, and Gray's levels 8 more.
	if err := checkGrid(name+": the image", cfg.Height, cfg.Width, 16); err != nil {
		return nil, err
	}
	img, _, err := image.Decode(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("data: %s: %w", name, err)
	}
	return img, nil
}

// Unpatch returns the rows×cols image (row-major) that patches, one per row
// of P in the order Patches cuts them with o, make when laid back in place:
// each pixel the mean of the patches that cover it, 0 where none does.
// Denoised patches give a denoised image.
func Unpatch(P mat.Matrix, rows, cols int, o PatchOptions) ([]float64, error) {
	o, err := o.withDefaults()
	if err != nil {
		return nil, err
	}
	pr, pc, err := patchGrid("Unpatch", rows, cols, o)
	if err != nil {
		return nil, err
	}
	if n, p := P.Dims(); n != pr*pc || p != o.Size*o.Size {
		return nil, fmt.Errorf("data: Unpatch: %d×%d patches, want %d×%d for a %d×%d image", n, p, pr*pc, o.Size*o.Size, rows, cols)
	}
	sum, count := make([]float64, rows*cols), make([]float64, rows*cols)
	for a := 0; a < pr; a++ {
		for b := 0; b < pc; b++ {
			for r := 0; r < o.Size; r++ {
				for c := 0; c < o.Size; c++ {
					k := (a*o.Stride+r)*cols + b*o.Stride + c
					sum[k] += P.At(a*pc+b, r*o.Size+c)
					count[k]++
				}
			}
		}
	}
	for k := range sum {
		if count[k] > 0 {
			sum[k] /= count[k]
		}
	}
	return sum, nil
}
