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
	if n <= 0 || d <= 0 || h <= 0 || !(noise >= 0) {
		return nil, nil, fmt.Errorf("data: Teacher needs n, d, h > 0 and noise ≥ 0, have n=%d d=%d h=%d noise=%v", n, d, h, noise)
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
// inputs are the pixel row and column, the target the distance from the pixel
// to the shape's boundary, negative inside, like the reference's horse.
func ShapeSDF(rows, cols int) (*Dataset, error) {
	if rows < 8 || cols < 8 {
		return nil, fmt.Errorf("data: ShapeSDF needs at least an 8×8 grid, have %d×%d", rows, cols)
	}
	inside := make([]bool, rows*cols)
	for r := 0; r < rows; r++ {
		for c := 0; c < cols; c++ {
			inside[r*cols+c] = inShape(float64(r)/float64(rows), float64(c)/float64(cols))
		}
	}
	// Distance to the nearest pixel of the other side, found among the pixels
	// on the boundary, shifted by half a pixel so that the sign changes there.
	var boundary [][2]int
	for r := 0; r < rows; r++ {
		for c := 0; c < cols; c++ {
			in := inside[r*cols+c]
			for _, nb := range [][2]int{{r - 1, c}, {r + 1, c}, {r, c - 1}, {r, c + 1}} {
				if nb[0] >= 0 && nb[0] < rows && nb[1] >= 0 && nb[1] < cols && inside[nb[0]*cols+nb[1]] != in {
					boundary = append(boundary, [2]int{r, c})
					break
				}
			}
		}
	}
	n := rows * cols
	X, Y := mat.NewDense(n, 2, nil), mat.NewDense(n, 1, nil)
	for r := 0; r < rows; r++ {
		for c := 0; c < cols; c++ {
			i, in := r*cols+c, inside[r*cols+c]
			best := math.Inf(1)
			for _, b := range boundary {
				if inside[b[0]*cols+b[1]] == in {
					continue
				}
				dr, dc := float64(b[0]-r), float64(b[1]-c)
				best = math.Min(best, dr*dr+dc*dc)
			}
			dist := math.Sqrt(best) - 0.5
			if in {
				dist = -dist
			}
			X.Set(i, 0, float64(r))
			X.Set(i, 1, float64(c))
			Y.Set(i, 0, dist)
		}
	}
	return &Dataset{Name: "shape-sdf", X: X, Y: Y, XNames: []string{"row", "col"}, YNames: []string{"sdf"}}, nil
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
