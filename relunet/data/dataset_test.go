package data

import (
	"slices"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// counting returns a data set whose row i holds i in X and -i in Y.
func counting(n, trainRows int) *Dataset {
	x, y := mat.NewDense(n, 1, nil), mat.NewDense(n, 1, nil)
	for i := range n {
		x.Set(i, 0, float64(i))
		y.Set(i, 0, -float64(i))
	}
	return &Dataset{Name: "counting", X: x, Y: y, TrainRows: trainRows}
}

func rowsOf(ds *Dataset) []int {
	n, _, _ := ds.Dims()
	out := make([]int, n)
	for i := range out {
		out[i] = int(ds.X.At(i, 0))
		if ds.Y.At(i, 0) != -ds.X.At(i, 0) {
			panic("X and Y rows apart")
		}
	}
	return out
}

func TestSample(t *testing.T) {
	for _, c := range []struct {
		n, train, want int
		rows           []int
		split          int
	}{
		{n: 10, want: 5, rows: []int{0, 2, 4, 6, 8}},
		{n: 10, want: 3, rows: []int{0, 4, 8}}, // stride ⌈10/3⌉ = 4
		{n: 10, want: 0, rows: []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}},
		{n: 10, want: 10, rows: []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}},
		{n: 10, want: 99, rows: []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}},
		// A split of 8 and 2: 4 of 5 rows to the training part, 1 to the test part.
		{n: 10, train: 8, want: 5, rows: []int{0, 2, 4, 6, 8}, split: 4},
	} {
		got, err := counting(c.n, c.train).Sample(c.want)
		if err != nil {
			t.Fatal(err)
		}
		if r := rowsOf(got); !slices.Equal(r, c.rows) || got.TrainRows != c.split && c.split != 0 {
			t.Errorf("Sample(%d) of %d rows (split %d): rows %v, split %d; want %v, split %d", c.want, c.n, c.train, r, got.TrainRows, c.rows, c.split)
		}
	}
}

func TestHead(t *testing.T) {
	got, err := counting(10, 6).Head(2, 3)
	if err != nil {
		t.Fatal(err)
	}
	if r := rowsOf(got); !slices.Equal(r, []int{0, 1, 6, 7, 8}) || got.TrainRows != 2 {
		t.Errorf("Head(2, 3): rows %v, split %d", r, got.TrainRows)
	}
	if got, _ = counting(10, 6).Head(0, 99); len(rowsOf(got)) != 10 || got.TrainRows != 6 {
		t.Errorf("Head(0, 99) is not the whole set: %v, split %d", rowsOf(got), got.TrainRows)
	}
	if _, err := counting(10, 0).Head(2, 2); err == nil {
		t.Error("Head of a data set without a split of its own: no error")
	}
}
