package data

import (
	"fmt"

	"gonum.org/v1/gonum/mat"

	"github.com/relunet/relunet/relunet/internal/size"
	"github.com/relunet/relunet/relunet/internal/sysmem"
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

// checkGrid returns an error when a table of rows×cols values of the given
// bytes each does not fit in the memory available, or its size overflows:
// every generator and reader checks its size before it allocates.
func checkGrid(what string, rows, cols, bytes int) error {
	if rows < 0 || cols < 0 {
		return fmt.Errorf("data: %s: a size of %d×%d", what, rows, cols)
	}
	need, ok := size.Mul(rows, cols, bytes)
	avail, known := sysmem.Available()
	switch {
	case !ok:
		return fmt.Errorf("data: %s: %d×%d values need more than any memory (the size overflows)", what, rows, cols)
	case known && int64(need) > avail:
		return fmt.Errorf("data: %s: %d×%d values need %s, more than the %s available", what, rows, cols, sysmem.Format(int64(need)), sysmem.Format(avail))
	}
	return nil
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
