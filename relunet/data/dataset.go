package data

import (
	"fmt"

	"gonum.org/v1/gonum/mat"
)

// Dataset holds inputs X (n×d) and targets Y (n×m) with their column names.
type Dataset struct {
	Name   string
	X, Y   *mat.Dense
	XNames []string
	YNames []string
	// TrainRows, when positive, is the data set's own split: its first
	// TrainRows rows to train, the rest to test (see experiment.Options).
	TrainRows int
}

// Dims returns the number of rows, inputs and targets.
func (ds *Dataset) Dims() (n, d, m int) {
	n, d = ds.X.Dims()
	_, m = ds.Y.Dims()
	return n, d, m
}

// Subset returns the data set made of the given rows, in that order. It
// returns an error naming the first row out of range.
func (ds *Dataset) Subset(rows []int) (*Dataset, error) {
	n, _, _ := ds.Dims()
	for k, i := range rows {
		if i < 0 || i >= n {
			return nil, fmt.Errorf("data: %s: Subset: row %d (entry %d) out of range [0, %d)", ds.Name, i, k, n)
		}
	}
	return &Dataset{Name: ds.Name, X: SelectRows(ds.X, rows), Y: SelectRows(ds.Y, rows), XNames: ds.XNames, YNames: ds.YNames}, nil
}

// SelectRows returns the matrix of the given rows of a, in that order.
func SelectRows(a *mat.Dense, rows []int) *mat.Dense {
	if len(rows) == 0 {
		return &mat.Dense{} // gonum has no matrix with zero rows
	}
	_, c := a.Dims()
	out := mat.NewDense(len(rows), c, nil)
	for k, i := range rows {
		out.SetRow(k, a.RawRowView(i))
	}
	return out
}
