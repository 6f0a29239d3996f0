// Package size does relunet's arithmetic of sizes: products of dimensions
// and counts of bytes that report an overflow instead of wrapping, so that
// a size is checked before anything is allocated or indexed with it.
package size

import (
	"math"
	"math/bits"
)

// Mul returns the product of the factors and true, or 0 and false when a
// factor is negative or the product does not fit in an int.
func Mul(factors ...int) (int, bool) {
	p := uint64(1)
	for _, f := range factors {
		if f < 0 {
			return 0, false
		}
		hi, lo := bits.Mul64(p, uint64(f))
		if hi != 0 || lo > math.MaxInt {
			return 0, false
		}
		p = lo
	}
	return int(p), true
}

// Bytes adds up the bytes of a set of buffers. Its zero value is empty; once
// a term overflows, the total is Overflow.
type Bytes struct {
	n    int64
	over bool
}

// Overflow is the total of a Bytes that overflowed: more than any memory.
const Overflow = math.MaxInt64

// Add adds a buffer of the product of the factors, in bytes (the element
// size is one of the factors).
func (b *Bytes) Add(factors ...int) {
	p, ok := Mul(factors...)
	if !ok || int64(p) > math.MaxInt64-b.n {
		b.over = true
		return
	}
	b.n += int64(p)
}

// AddBytes adds n bytes; a negative n overflows.
func (b *Bytes) AddBytes(n int64) {
	if n < 0 || n > math.MaxInt64-b.n {
		b.over = true
		return
	}
	b.n += n
}

// Total returns the bytes added, or Overflow.
func (b Bytes) Total() int64 {
	if b.over {
		return Overflow
	}
	return b.n
}
