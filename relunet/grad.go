package relunet

import (
	"gonum.org/v1/gonum/mat"
)

// params lays a network's weights out as one vector: vec(W) row by row,
// then vec(β) row by row, then β₀.
func params(net *Net) []float64 {
	h, d, m := net.Dims()
	p := make([]float64, 0, h*(d+1)+h*m+m)
	p = append(p, net.W.RawMatrix().Data...)
	p = append(p, net.Beta.RawMatrix().Data...)
	return append(p, net.Beta0...)
}

// netView returns a network whose weights share storage with p.
func netView(p []float64, h, d, m int, alpha float64) *Net {
	D := d + 1
	return &Net{
		W:     mat.NewDense(h, D, p[:h*D]),
		Beta:  mat.NewDense(h, m, p[h*D:h*D+h*m]),
		Beta0: p[h*D+h*m : h*D+h*m+m],
		Alpha: alpha,
	}
}

// gradBuf holds the scratch matrices of lossGrad for a batch size.
type gradBuf struct {
	u, g, f, dh *mat.Dense
}

func newGradBuf(n, h, m int) *gradBuf {
	return &gradBuf{u: mat.NewDense(n, h, nil), g: mat.NewDense(n, h, nil), f: mat.NewDense(n, m, nil), dh: mat.NewDense(n, h, nil)}
}

// lossGrad returns the MSE of net on inputs x (rows with the ones column)
// and targets y, and sets grad (laid out like net) to its gradient.
func lossGrad(net, grad *Net, x, y *mat.Dense, b *gradBuf) float64 {
	n, _ := x.Dims()
	_, m := y.Dims()
	preact(x, net, b.u, 0, n)
	// g holds the slopes φ'(u), then u becomes φ(u).
	ur, gr := b.u.RawMatrix(), b.g.RawMatrix()
	for i := 0; i < n; i++ {
		urow := ur.Data[i*ur.Stride : i*ur.Stride+ur.Cols]
		grow := gr.Data[i*gr.Stride : i*gr.Stride+gr.Cols]
		for j, v := range urow {
			grow[j] = PhiPrime(net.Alpha, v)
			urow[j] = grow[j] * v
		}
	}
	outputs(net, b.u, b.f)
	b.f.Sub(b.f, y)
	var sse float64
	for _, e := range b.f.RawMatrix().Data { // b.f is contiguous
		sse += e * e
	}
	loss := sse / float64(n*m)
	// f now holds dL/df.
	b.f.Scale(2/float64(n*m), b.f)
	grad.Beta.Mul(b.u.T(), b.f)
	for o := range grad.Beta0 {
		grad.Beta0[o] = mat.Sum(b.f.ColView(o))
	}
	b.dh.Mul(b.f, net.Beta.T())
	b.dh.MulElem(b.dh, b.g)
	grad.W.Mul(b.dh.T(), x)
	return loss
}
