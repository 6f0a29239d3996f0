package relunet

import "gonum.org/v1/gonum/mat"

// pattern is the activation pattern of h neurons on n rows: act[i*h+j]
// reports whether w_jᵀx̃_i > 0, so that G_ij = 1 there and α elsewhere.
type pattern struct {
	n, h int
	act  []bool
}

func newPattern(n, h int) *pattern {
	return &pattern{n: n, h: h, act: make([]bool, n*h)}
}

// set recomputes rows lo..hi-1 of the pattern from the pre-activations u
// (n×h) and returns the number of entries that changed.
func (p *pattern) set(u *mat.Dense, lo, hi int) int {
	raw := u.RawMatrix()
	flips := 0
	for i := lo; i < hi; i++ {
		row := raw.Data[i*raw.Stride : i*raw.Stride+p.h]
		act := p.act[i*p.h : (i+1)*p.h]
		for j, v := range row {
			a := v > 0
			flips += b2i(a != act[j]) // without branches: signs are unpredictable
			act[j] = a
		}
	}
	return flips
}

// g returns G_ij for the leaky slope alpha.
func (p *pattern) g(alpha float64, i, j int) float64 {
	if p.act[i*p.h+j] {
		return 1
	}
	return alpha
}

// scale multiplies every entry of a (n×h) by G.
func (p *pattern) scale(alpha float64, a *mat.Dense) {
	raw := a.RawMatrix()
	g := [2]float64{alpha, 1}
	for i := 0; i < p.n; i++ {
		row := raw.Data[i*raw.Stride : i*raw.Stride+p.h]
		act := p.act[i*p.h : (i+1)*p.h]
		for j, on := range act {
			row[j] *= g[b2i(on)]
		}
	}
}

// dense returns G as an n×h matrix.
func (p *pattern) dense(alpha float64) *mat.Dense {
	out := mat.NewDense(p.n, p.h, nil)
	for i := 0; i < p.n; i++ {
		for j := 0; j < p.h; j++ {
			out.Set(i, j, p.g(alpha, i, j))
		}
	}
	return out
}

// b2i is 1 for true and 0 for false; the compiler makes it a flag move.
func b2i(b bool) int {
	var i int
	if b {
		i = 1
	}
	return i
}
