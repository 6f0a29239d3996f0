package data

import (
	"archive/zip"
	"bytes"
	"fmt"
	"io"
	"math"
	"path"
	"slices"

	"gonum.org/v1/gonum/mat"

	"github.com/relunet/relunet/relunet/internal/seeded"
)

// The YearPredictionMSD data set (UCI): 515345 songs, 90 timbre features of
// their audio, target the release year (the file's first column). UCI asks
// for a fixed split, the first 463715 songs to train and the last 51630 to
// test, so that no artist is on both sides.
const (
	YearRows      = 515345
	YearTrainRows = 463715
	yearZip       = "YearPredictionMSD.txt.zip"
	yearText      = "YearPredictionMSD.txt"
	yearURL       = "https://archive.ics.uci.edu/ml/machine-learning-databases/00203/" + yearZip
)

// yearMaxText bounds the unpacked text of the year zip: UCI's is 433 MB.
const yearMaxText = 1 << 30

// loadYear reads the year data set from the published zip's contents. It
// reads no more than the set's known shape, 515345 rows of 91 numbers, and
// UCI's fixed split is set for a file of exactly those rows.
func loadYear(_ *Loader, files map[string][]byte) (*Dataset, error) {
	b := files[yearZip]
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		return nil, fmt.Errorf("data: year: %s: %w", yearZip, err)
	}
	i := slices.IndexFunc(zr.File, func(f *zip.File) bool { return path.Base(f.Name) == yearText })
	if i < 0 {
		return nil, fmt.Errorf("data: year: %s holds no %s", yearZip, yearText)
	}
	zf := zr.File[i]
	if zf.UncompressedSize64 > yearMaxText {
		return nil, fmt.Errorf("data: year: %s/%s unpacks to %d bytes, more than the %d of UCI's file", yearZip, zf.Name, zf.UncompressedSize64, yearMaxText)
	}
	rc, err := zf.Open()
	if err != nil {
		return nil, fmt.Errorf("data: year: %s: %w", yearZip, err)
	}
	defer rc.Close()
	// The entry's stated size may lie: the reader stops past the bound too.
	tab, err := readCSV(io.LimitReader(rc, yearMaxText), yearZip+"/"+zf.Name, HeaderNo, YearRows, 91)
	if err != nil {
		return nil, err
	}
	ds, err := tab.Dataset("year", []int{0})
	if err != nil {
		return nil, err
	}
	ds.YNames = []string{"year"}
	if n, _, _ := ds.Dims(); n == YearRows {
		ds.TrainRows = YearTrainRows
	}
	return ds, nil
}

// YearLike returns a synthetic stand-in of the year data set's shape: n rows
// of 90 standard normal inputs, and a year-like target, 1998 plus 10 times
// a planted ReLU network's output (h = 32, scaled to unit variance) plus
// noise of standard deviation 5. With n = YearRows it has the same fixed
// split: the first YearTrainRows rows to train.
func YearLike(n int, seed uint64) (*Dataset, error) {
	if n <= 1 {
		return nil, fmt.Errorf("data: YearLike needs n > 1, have %d", n)
	}
	if err := checkGrid("YearLike", n, 2*91, 8); err != nil { // the teacher's data, and a copy of the target
		return nil, err
	}
	const d = 90
	ds, _, err := Teacher(n, d, 32, 0, seed)
	if err != nil {
		return nil, err
	}
	y := mat.Col(nil, 0, ds.Y)
	var mean, ss float64
	for _, v := range y {
		mean += v
	}
	mean /= float64(n)
	for _, v := range y {
		ss += (v - mean) * (v - mean)
	}
	sd := math.Sqrt(ss / float64(n-1))
	rng := seeded.Data(seed, 1)
	for i, v := range y {
		ds.Y.Set(i, 0, 1998+10*(v-mean)/sd+5*rng.NormFloat64())
	}
	ds.Name, ds.YNames = "yearlike", []string{"year"}
	if n == YearRows {
		ds.TrainRows = YearTrainRows
	}
	return ds, nil
}
