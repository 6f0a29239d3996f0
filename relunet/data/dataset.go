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

// Sample returns about n of the data set's rows, evenly spaced: every k-th
// row from the first, k = ⌈rows/n⌉, so that a sample keeps the order and
// spread of the rows (a grid stays a coarser grid). It returns the data set
// itself when n ≤ 0 or n is at least its rows. A data set with its own
// split is sampled in each part, so that the split stays.
func (ds *Dataset) Sample(n int) (*Dataset, error) {
	rows, _, _ := ds.Dims()
	if n <= 0 || n >= rows {
		return ds, nil
	}
	if ds.TrainRows > 0 {
		train := max(1, int(int64(n)*int64(ds.TrainRows)/int64(rows)))
		tr := every(0, ds.TrainRows, train)
		return ds.sampled(append(tr, every(ds.TrainRows, rows, max(1, n-train))...), len(tr))
	}
	return ds.sampled(every(0, rows, n), 0)
}

// Head returns the first train rows of the training part of a data set with
// its own split, and the first test rows of its test part (a part whole when
// its count is 0 or more than it holds).
func (ds *Dataset) Head(train, test int) (*Dataset, error) {
	rows, _, _ := ds.Dims()
	if ds.TrainRows <= 0 {
		return nil, fmt.Errorf("data: %s: Head: the data set has no split of its own", ds.Name)
	}
	if train < 0 || test < 0 {
		return nil, fmt.Errorf("data: %s: Head: negative counts %d and %d", ds.Name, train, test)
	}
	if train == 0 || train > ds.TrainRows {
		train = ds.TrainRows
	}
	if test == 0 || test > rows-ds.TrainRows {
		test = rows - ds.TrainRows
	}
	idx := make([]int, 0, train+test)
	for i := range train {
		idx = append(idx, i)
	}
	for i := range test {
		idx = append(idx, ds.TrainRows+i)
	}
	return ds.sampled(idx, train)
}

// every returns the rows from lo to hi (not included) at a stride that
// keeps about n of them.
func every(lo, hi, n int) []int {
	k := (hi - lo + n - 1) / n
	var out []int
	for i := lo; i < hi; i += k {
		out = append(out, i)
	}
	return out
}

// sampled is Subset of rows known to be in range, with trainRows as the
// split of the result.
func (ds *Dataset) sampled(rows []int, trainRows int) (*Dataset, error) {
	out, err := ds.Subset(rows)
	if err != nil {
		return nil, err
	}
	out.TrainRows = trainRows
	return out, nil
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
