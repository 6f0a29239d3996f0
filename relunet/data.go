package relunet

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"gonum.org/v1/gonum/mat"
)

// Dataset holds inputs X (n×d) and targets Y (n×m) with their column names.
type Dataset struct {
	Name   string
	X, Y   *mat.Dense
	XNames []string
	YNames []string
}

// Dims returns the number of rows, inputs and targets.
func (ds *Dataset) Dims() (n, d, m int) {
	n, d = ds.X.Dims()
	_, m = ds.Y.Dims()
	return n, d, m
}

// Subset returns the data set made of the given rows, in that order.
func (ds *Dataset) Subset(rows []int) *Dataset {
	return &Dataset{Name: ds.Name, X: selectRows(ds.X, rows), Y: selectRows(ds.Y, rows), XNames: ds.XNames, YNames: ds.YNames}
}

// Table is a numeric table read from a CSV file.
type Table struct {
	Names []string // column names from the header, or "c1", "c2", ...
	Data  *mat.Dense
}

// HeaderMode says whether a CSV file starts with a header row.
type HeaderMode int

const (
	HeaderAuto HeaderMode = iota // a header when no field of the first row is a number
	HeaderYes
	HeaderNo
)

// CSVError describes a field or row of a CSV file that cannot be read.
type CSVError struct {
	File   string
	Line   int // 1-based
	Column int // 1-based field index; 0 when the whole row is at fault
	Err    error
}

func (e *CSVError) Error() string {
	if e.Column == 0 {
		return fmt.Sprintf("%s:%d: %v", e.File, e.Line, e.Err)
	}
	return fmt.Sprintf("%s:%d: column %d: %v", e.File, e.Line, e.Column, e.Err)
}

func (e *CSVError) Unwrap() error { return e.Err }

// ReadCSV reads a numeric table: fields separated by commas, or by white
// space when a line has no comma; blank lines and lines starting with # are
// skipped. name is used in errors.
func ReadCSV(r io.Reader, name string, header HeaderMode) (*Table, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	var (
		names []string
		data  []float64
		cols  = -1
		line  = 0
	)
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		fields := splitFields(text)
		if cols < 0 {
			cols = len(fields)
			if header == HeaderYes || (header == HeaderAuto && !anyNumber(fields)) {
				for i, f := range fields {
					names = append(names, strings.Trim(f, `"`))
					if names[i] == "" {
						names[i] = fmt.Sprintf("c%d", i+1)
					}
				}
				continue
			}
		}
		if len(fields) != cols {
			return nil, &CSVError{File: name, Line: line, Err: fmt.Errorf("has %d fields, want %d", len(fields), cols)}
		}
		for i, f := range fields {
			v, err := strconv.ParseFloat(f, 64)
			if err != nil {
				return nil, &CSVError{File: name, Line: line, Column: i + 1, Err: fmt.Errorf("not a number: %q", f)}
			}
			if isBad(v) {
				return nil, &CSVError{File: name, Line: line, Column: i + 1, Err: fmt.Errorf("not a finite number: %q", f)}
			}
			data = append(data, v)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if len(data) == 0 {
		return nil, fmt.Errorf("%s: no data rows", name)
	}
	if names == nil {
		for i := 0; i < cols; i++ {
			names = append(names, fmt.Sprintf("c%d", i+1))
		}
	}
	return &Table{Names: names, Data: mat.NewDense(len(data)/cols, cols, data)}, nil
}

// ReadCSVFile reads the numeric table in the named file.
func ReadCSVFile(path string, header HeaderMode) (*Table, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ReadCSV(f, path, header)
}

func splitFields(s string) []string {
	if !strings.Contains(s, ",") {
		return strings.Fields(s)
	}
	fields := strings.Split(s, ",")
	for i, f := range fields {
		fields[i] = strings.TrimSpace(f)
	}
	return fields
}

func anyNumber(fields []string) bool {
	for _, f := range fields {
		if _, err := strconv.ParseFloat(f, 64); err == nil {
			return true
		}
	}
	return false
}

// Dataset returns the table as a data set with the given 0-based target
// columns; the other columns, in order, are the inputs, except those listed
// in drop.
func (t *Table) Dataset(name string, targets []int, drop ...int) (*Dataset, error) {
	_, c := t.Data.Dims()
	role := make([]int, c) // 0 input, 1 target, 2 dropped
	for _, k := range targets {
		if k < 0 || k >= c {
			return nil, fmt.Errorf("relunet: %s: target column %d out of range 1..%d", name, k+1, c)
		}
		role[k] = 1
	}
	for _, k := range drop {
		if k >= 0 && k < c && role[k] == 0 {
			role[k] = 2
		}
	}
	if len(targets) == 0 {
		return nil, fmt.Errorf("relunet: %s: no target column", name)
	}
	var in []int
	for k, r := range role {
		if r == 0 {
			in = append(in, k)
		}
	}
	return &Dataset{
		Name:   name,
		X:      selectCols(t.Data, in),
		Y:      selectCols(t.Data, targets),
		XNames: pick(t.Names, in),
		YNames: pick(t.Names, targets),
	}, nil
}

func selectCols(a *mat.Dense, cols []int) *mat.Dense {
	r, _ := a.Dims()
	out := mat.NewDense(r, len(cols), nil)
	for j, k := range cols {
		for i := 0; i < r; i++ {
			out.Set(i, j, a.At(i, k))
		}
	}
	return out
}

func pick(names []string, idx []int) []string {
	out := make([]string, len(idx))
	for i, k := range idx {
		out[i] = names[k]
	}
	return out
}
