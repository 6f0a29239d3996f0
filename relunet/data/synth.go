package data

import (
	"fmt"
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/mat"

	"github.com/relunet/relunet/relunet"
	"github.com/relunet/relunet/relunet/internal/seeded"
)

// Sin returns y = sin(x) for x from -10 to 10 in steps of 0.1 (201 rows).
func Sin() *Dataset {
	const n = 201
	X, Y := mat.NewDense(n, 1, nil), mat.NewDense(n, 1, nil)
	for i := 0; i < n; i++ {
		x := -10 + 0.1*float64(i)
		X.Set(i, 0, x)
		Y.Set(i, 0, math.Sin(x))
	}
	return &Dataset{Name: "sin", X: X, Y: Y, XNames: []string{"x"}, YNames: []string{"sin(x)"}}
}

// SinNorm2 returns n rows of y = sin(‖x‖²) with x ~ N(0, I_d).
func SinNorm2(n, d int, seed uint64) (*Dataset, error) {
	if n <= 0 || d <= 0 {
		return nil, fmt.Errorf("data: SinNorm2 needs n > 0 and d > 0, have n=%d d=%d", n, d)
	}
	if err := checkGrid("SinNorm2", n, d+1, 8); err != nil {
		return nil, err
	}
	rng := seeded.Data(seed, 0)
	X, Y := gaussian(rng, n, d), mat.NewDense(n, 1, nil)
	for i := 0; i < n; i++ {
		r := mat.Norm(X.RowView(i), 2)
		Y.Set(i, 0, math.Sin(r*r))
	}
	return &Dataset{Name: "sinx2", X: X, Y: Y, XNames: colNames("x", d), YNames: []string{"sin(|x|^2)"}}, nil
}

func gaussian(rng *rand.Rand, n, d int) *mat.Dense {
	X := mat.NewDense(n, d, nil)
	for i := 0; i < n; i++ {
		for j := 0; j < d; j++ {
			X.Set(i, j, rng.NormFloat64())
		}
	}
	return X
}

func colNames(prefix string, d int) []string {
	s := make([]string, d)
	for i := range s {
		s[i] = fmt.Sprintf("%s%d", prefix, i+1)
	}
	return s
}

// Teacher returns n rows from a planted two-layer ReLU network with h hidden
// units on x ~ N(0, I_d), plus Gaussian noise of the given standard
// deviation, and the teacher itself. Its hidden weights are N(0, 1/d) (bias
// N(0, 1/4)), its output weights N(0, 1/h).
func Teacher(n, d, h int, noise float64, seed uint64) (*Dataset, *relunet.Net, error) {
	if n <= 0 || d <= 0 || h <= 0 || !(noise >= 0) || math.IsInf(noise, 0) {
		return nil, nil, fmt.Errorf("data: Teacher needs n, d, h > 0 and a finite noise ≥ 0, have n=%d d=%d h=%d noise=%v", n, d, h, noise)
	}
	if err := checkGrid("Teacher's data", n, d+1+2*h, 8); err != nil { // X, Y and the teacher's pass over the rows
		return nil, nil, err
	}
	rng := seeded.Data(seed, 0)
	net, err := relunet.NewNet(h, d, 1, 0)
	if err != nil {
		return nil, nil, err
	}
	for j := 0; j < h; j++ {
		net.W.Set(j, 0, 0.5*rng.NormFloat64())
		for a := 1; a <= d; a++ {
			net.W.Set(j, a, rng.NormFloat64()/math.Sqrt(float64(d)))
		}
		net.Beta.Set(j, 0, rng.NormFloat64()/math.Sqrt(float64(h)))
	}
	X := gaussian(rng, n, d)
	Y, err := net.Predict(X)
	if err != nil {
		return nil, nil, err
	}
	for i := 0; i < n; i++ {
		Y.Set(i, 0, Y.At(i, 0)+noise*rng.NormFloat64())
	}
	return &Dataset{Name: "teacher", X: X, Y: Y, XNames: colNames("x", d), YNames: []string{"y"}}, net, nil
}

// ShapeSDF returns the signed distance field of a built-in 2-D shape (a
// running animal made of ellipses and bars) on a rows×cols pixel grid: the
// inputs are the pixel row and column, the target the distance from the
// pixel to the shape's boundary, negative inside, like the reference's horse:
// the distance to the nearest pixel on the other side, less half a pixel,
// so that the sign changes between the two. The distances are computed by
// an exact Euclidean distance transform, in time linear in the pixels.
func ShapeSDF(rows, cols int) (*Dataset, error) {
	if rows < 8 || cols < 8 {
		return nil, fmt.Errorf("data: ShapeSDF needs at least an 8×8 grid, have %d×%d", rows, cols)
	}
	if rows > 1<<20 || cols > 1<<20 {
		return nil, fmt.Errorf("data: ShapeSDF: a grid of %d×%d: at most 2^20 pixels a side", rows, cols)
	}
	n := rows * cols
	if err := checkGrid("ShapeSDF", n, 6, 8); err != nil { // X, Y and the transforms' buffers
		return nil, err
	}
	inside, outside := make([]bool, n), make([]bool, n)
	for r := 0; r < rows; r++ {
		for c := 0; c < cols; c++ {
			in := inShape(float64(r)/float64(rows), float64(c)/float64(cols))
			inside[r*cols+c], outside[r*cols+c] = in, !in
		}
	}
	// Squared distances of every pixel to the nearest outside pixel, and
	// to the nearest inside one: the other side's for each.
	toOutside, toInside := squaredDistances(outside, rows, cols), squaredDistances(inside, rows, cols)
	X, Y := mat.NewDense(n, 2, nil), mat.NewDense(n, 1, nil)
	for r := 0; r < rows; r++ {
		for c := 0; c < cols; c++ {
			i := r*cols + c
			dist := math.Sqrt(toInside[i]) - 0.5
			if inside[i] {
				dist = -(math.Sqrt(toOutside[i]) - 0.5)
			}
			X.Set(i, 0, float64(r))
			X.Set(i, 1, float64(c))
			Y.Set(i, 0, dist)
		}
	}
	return &Dataset{Name: "shape-sdf", X: X, Y: Y, XNames: []string{"row", "col"}, YNames: []string{"sdf"}}, nil
}

// farAway stands for no pixel at all in the distance transform: above any
// squared distance on a grid of at most 2^20 pixels a side, and finite, so
// that the transform's arithmetic stays exact where it matters.
const farAway = 1e20

// squaredDistances returns, for each pixel of a rows×cols grid, the squared
// Euclidean distance to the nearest pixel where target is true, by
// Felzenszwalb and Huttenlocher's exact transform ("Distance transforms of
// sampled functions", 2012): the lower envelope of parabolas, along the
// columns and then along the rows. Squared distances are whole numbers, so
// the result is exact.
func squaredDistances(target []bool, rows, cols int) []float64 {
	d := make([]float64, rows*cols)
	for i, t := range target {
		if !t {
			d[i] = farAway
		}
	}
	n := max(rows, cols)
	f, out := make([]float64, n), make([]float64, n)
	v, z := make([]int, n), make([]float64, n+1)
	for c := 0; c < cols; c++ {
		for r := 0; r < rows; r++ {
			f[r] = d[r*cols+c]
		}
		envelope(f[:rows], out[:rows], v, z)
		for r := 0; r < rows; r++ {
			d[r*cols+c] = out[r]
		}
	}
	for r := 0; r < rows; r++ {
		envelope(d[r*cols:(r+1)*cols], out[:cols], v, z)
		copy(d[r*cols:(r+1)*cols], out[:cols])
	}
	return d
}

// envelope sets out[q] to min over p of (q-p)² + f[p], for q and p in
// [0, len(f)), with the scratch v (len(f)) and z (len(f)+1).
func envelope(f, out []float64, v []int, z []float64) {
	k := 0
	v[0], z[0], z[1] = 0, math.Inf(-1), math.Inf(1)
	for q := 1; q < len(f); q++ {
		s := intersect(f, q, v[k])
		for s <= z[k] {
			k--
			s = intersect(f, q, v[k])
		}
		k++
		v[k], z[k], z[k+1] = q, s, math.Inf(1)
	}
	k = 0
	for q := range f {
		for z[k+1] < float64(q) {
			k++
		}
		dq := float64(q - v[k])
		out[q] = dq*dq + f[v[k]]
	}
}

// intersect returns where the parabolas of q and p meet.
func intersect(f []float64, q, p int) float64 {
	fq, fp := float64(q), float64(p)
	return ((f[q] + fq*fq) - (f[p] + fp*fp)) / (2*fq - 2*fp)
}

// inShape reports whether the point (u, v) of the unit square, u down and v
// across, lies inside the built-in shape.
func inShape(u, v float64) bool {
	ellipse := func(cu, cv, ru, rv float64) bool {
		du, dv := (u-cu)/ru, (v-cv)/rv
		return du*du+dv*dv <= 1
	}
	bar := func(u0, u1, v0, v1, slant float64) bool {
		s := v - slant*(u-u0)
		return u >= u0 && u <= u1 && s >= v0 && s <= v1
	}
	return ellipse(0.45, 0.5, 0.14, 0.27) || // body
		ellipse(0.22, 0.8, 0.09, 0.07) || // head
		bar(0.2, 0.42, 0.7, 0.78, -0.3) || // neck
		bar(0.5, 0.85, 0.28, 0.34, -0.25) || // hind leg
		bar(0.5, 0.85, 0.66, 0.72, 0.2) || // front leg
		bar(0.3, 0.5, 0.16, 0.22, 0.5) // tail
}
