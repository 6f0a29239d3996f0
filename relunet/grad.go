package relunet

import (
	"math"

	"gonum.org/v1/gonum/mat"

	"github.com/relunet/relunet/relunet/internal/parallel"
	"github.com/relunet/relunet/relunet/internal/size"
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

// paramCount returns the number of weights of a network of h hidden units,
// d inputs and m outputs, or -1 when it does not fit in an int.
func paramCount(h, d, m int) int {
	hD, ok1 := size.Mul(h, d+1)
	hm, ok2 := size.Mul(h+1, m)
	if !ok1 || !ok2 || hD > math.MaxInt-hm {
		return -1
	}
	return hD + hm
}

// paramBytes returns the bytes of k vectors of the weights of a network of
// h hidden units, D inputs with the bias and m outputs.
func paramBytes(k, h, D, m int) int64 {
	var b size.Bytes
	for range k {
		b.AddBytes(netBytes(h, D, m))
	}
	return b.Total()
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

// gradBufBytes returns the bytes of a gradBuf for n rows.
func gradBufBytes(n, h, m int) int64 {
	var b size.Bytes
	b.Add(24, n, h)
	b.Add(8, n, m)
	return b.Total()
}

func newGradBuf(n, h, m int) *gradBuf {
	return &gradBuf{u: mat.NewDense(n, h, nil), g: mat.NewDense(n, h, nil), f: mat.NewDense(n, m, nil), dh: mat.NewDense(n, h, nil)}
}

// rows returns the buffers of the first k rows of b.
func (b *gradBuf) rows(k int) *gradBuf {
	view := func(a *mat.Dense) *mat.Dense {
		_, c := a.Dims()
		return a.Slice(0, k, 0, c).(*mat.Dense)
	}
	return &gradBuf{u: view(b.u), g: view(b.g), f: view(b.f), dh: view(b.dh)}
}

// lossGrad returns the MSE of net on inputs x (rows with the ones column)
// and targets y, and sets grad (laid out like net) to its gradient.
func lossGrad(net, grad *Net, x, y *mat.Dense, b *gradBuf) float64 {
	n, _ := x.Dims()
	_, m := y.Dims()
	return chunkGrad(net, grad, x, y, b, 2/float64(n*m)) / float64(n*m)
}

// chunkGrad returns the sum of squared errors of net on the rows x
// (with the ones column) and targets y, and sets grad to the gradient of
// that sum times scale/2: the rows' part of the gradient of a mean over
// more rows, for scale 2/(rows·outputs) of the whole.
func chunkGrad(net, grad *Net, x, y *mat.Dense, b *gradBuf, scale float64) float64 {
	n, _ := x.Dims()
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
	// f now holds the derivatives of the loss by the outputs.
	b.f.Scale(scale, b.f)
	grad.Beta.Mul(b.u.T(), b.f)
	for o := range grad.Beta0 {
		grad.Beta0[o] = mat.Sum(b.f.ColView(o))
	}
	b.dh.Mul(b.f, net.Beta.T())
	b.dh.MulElem(b.dh, b.g)
	grad.W.Mul(b.dh.T(), x)
	return sse
}

// fullGrad evaluates the loss and gradient of a network over all rows of a
// problem, in the fixed row chunks of parallel.Pool.SumRows on the pool's
// goroutines: the same bits for any number of them, scratch space for
// Lanes chunks whatever the rows, and a check of the pool's context
// between chunks.
type fullGrad struct {
	pool  parallel.Pool
	lanes []*gradBuf
	parts []*Net    // each lane's chunk gradient
	acc   []float64 // the gradient's entries, then the sum of squares
}

func newFullGrad(pool parallel.Pool, n, h, d, m int) *fullGrad {
	fg := &fullGrad{pool: pool}
	for range lanes(n) {
		fg.lanes = append(fg.lanes, newGradBuf(min(n, parallel.ChunkRows), h, m))
		fg.parts = append(fg.parts, netView(make([]float64, paramCount(h, d, m)), h, d, m, 0))
	}
	return fg
}

// lanes returns the lanes of parallel.Pool.SumRows for n rows.
func lanes(n int) int { return min((n+parallel.ChunkRows-1)/parallel.ChunkRows, parallel.Lanes) }

// fullGradBytes returns the memory of a fullGrad for n rows.
func fullGradBytes(n, h, D, m int) int64 {
	var b size.Bytes
	for range lanes(n) {
		b.AddBytes(gradBufBytes(min(n, parallel.ChunkRows), h, m))
		b.AddBytes(netBytes(h, D, m))
	}
	b.AddBytes(netBytes(h, D, m))
	return b.Total()
}

// eval returns the MSE of net on inputs x (rows with the ones column) and
// targets y, and sets grad (laid out like net) to its gradient. When the
// pool's context ends, the values are not finished: the caller checks
// pool.Err.
func (fg *fullGrad) eval(net, grad *Net, x, y *mat.Dense) float64 {
	n, D := x.Dims()
	_, m := y.Dims()
	P := len(fg.parts[0].Beta0) + len(fg.parts[0].W.RawMatrix().Data) + len(fg.parts[0].Beta.RawMatrix().Data)
	fg.acc = parallel.Grow(fg.acc, P+1)
	fg.pool.SumRows(n, fg.acc, func(lane, lo, hi int, acc []float64) {
		part := fg.parts[lane]
		part.Alpha = net.Alpha
		sse := chunkGrad(net, part, x.Slice(lo, hi, 0, D).(*mat.Dense), y.Slice(lo, hi, 0, m).(*mat.Dense), fg.lanes[lane].rows(hi-lo), 2/float64(n*m))
		k := 0
		for _, s := range [][]float64{part.W.RawMatrix().Data, part.Beta.RawMatrix().Data, part.Beta0} {
			for _, v := range s {
				acc[k] += v
				k++
			}
		}
		acc[P] += sse
	})
	k := 0
	for _, s := range [][]float64{grad.W.RawMatrix().Data, grad.Beta.RawMatrix().Data, grad.Beta0} {
		k += copy(s, fg.acc[k:])
	}
	return fg.acc[P] / float64(n*m)
}
