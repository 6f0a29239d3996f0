package size

import (
	"math"
	"testing"
)

func TestMul(t *testing.T) {
	for _, tc := range []struct {
		f    []int
		want int
		ok   bool
	}{
		{nil, 1, true},
		{[]int{3, 4, 5}, 60, true},
		{[]int{0, math.MaxInt}, 0, true},
		{[]int{math.MaxInt, 1}, math.MaxInt, true},
		{[]int{math.MaxInt, 2}, 0, false},
		{[]int{1 << 31, 1 << 31, 2}, 0, false}, // 2^63: one past MaxInt
		{[]int{1 << 31, 1 << 31}, 1 << 62, true},
		{[]int{1 << 32, 1 << 32}, 0, false},       // wraps to 0 in plain arithmetic
		{[]int{9223372036854775807, 4}, 0, false}, // h·(d+1) of a crafted state
		{[]int{-1, 5}, 0, false},
	} {
		got, ok := Mul(tc.f...)
		if ok != tc.ok || (ok && got != tc.want) {
			t.Errorf("Mul(%v) = %d, %v; want %d, %v", tc.f, got, ok, tc.want, tc.ok)
		}
	}
}

func TestBytes(t *testing.T) {
	var b Bytes
	b.Add(8, 1000, 10)
	b.AddBytes(20)
	if b.Total() != 80020 {
		t.Errorf("total %d, want 80020", b.Total())
	}
	b.Add(8, 1<<40, 1<<30)
	if b.Total() != Overflow {
		t.Errorf("after an overflowing term: %d", b.Total())
	}
	var c Bytes
	c.AddBytes(math.MaxInt64 - 10)
	c.AddBytes(11)
	if c.Total() != Overflow {
		t.Errorf("a sum past MaxInt64: %d", c.Total())
	}
}
