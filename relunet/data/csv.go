package data

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"gonum.org/v1/gonum/mat"
)

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

// CSVError describes a field or line of a CSV file that cannot be read, as
// encoding/csv's ParseError does.
type CSVError struct {
	File   string
	Line   int // 1-based
	Column int // 1-based field index; 0 when the whole line is at fault
	Err    error
}

func (e *CSVError) Error() string {
	if e.Column == 0 {
		return fmt.Sprintf("%s:%d: %v", e.File, e.Line, e.Err)
	}
	return fmt.Sprintf("%s:%d: column %d: %v", e.File, e.Line, e.Column, e.Err)
}

func (e *CSVError) Unwrap() error { return e.Err }

// Errors of CSV fields and lines, wrapped in a CSVError.
var (
	ErrNotNumber = errors.New("not a number")
	ErrNotFinite = errors.New("not a finite number")
	ErrRange     = errors.New("out of the range of float64 (about ±1.8e308)")
	ErrFields    = errors.New("wrong number of fields")
	ErrLineLong  = fmt.Errorf("line longer than %d MiB", MaxLine>>20)
	ErrTooLong   = errors.New("too many rows")
)

// MaxLine is the longest line ReadCSV reads.
const MaxLine = 64 << 20

// ReadCSV reads a numeric table: fields separated by commas, or by white
// space when a line has no comma; blank lines and lines starting with # are
// skipped. Lines end in LF, CR LF or CR. A UTF-8 byte-order mark at the
// start is skipped, and a field may be enclosed in double quotes. A table
// whose values do not fit in the memory available is an error. Numbers are decimal (an optional sign,
// digits with an optional point, an optional exponent): hexadecimal, digit
// separators, NaN and infinities are rejected, as is a value beyond the
// range of float64. name is used in errors, which are *CSVError for a bad
// field or line.
func ReadCSV(r io.Reader, name string, header HeaderMode) (*Table, error) {
	return readCSV(r, name, header, 0, 0)
}

// readCSV is ReadCSV for a table of at most maxRows rows and of exactly
// cols columns, when those are positive: a file of a known shape is read
// no further than that shape. The values read are checked against the
// memory available as they grow, so that a file of any length ends in an
// error, not in the memory running out.
func readCSV(r io.Reader, name string, header HeaderMode, maxRows, wantCols int) (*Table, error) {
	br := bufio.NewReaderSize(&lineEnds{r: r}, 64<<10)
	var (
		names []string
		data  []float64
		cols  = -1
		line  = 0
	)
	for {
		text, err := readLine(br)
		if err == io.EOF && text == nil {
			break
		}
		line++
		if errors.Is(err, ErrLineLong) {
			return nil, &CSVError{File: name, Line: line, Err: err}
		}
		if err != nil && err != io.EOF {
			return nil, fmt.Errorf("%s:%d: %w", name, line, err)
		}
		if line == 1 {
			text = bytes.TrimPrefix(text, []byte("\uFEFF"))
		}
		s := strings.TrimSpace(string(text))
		if s == "" || strings.HasPrefix(s, "#") {
			if err == io.EOF {
				break
			}
			continue
		}
		fields := splitFields(s)
		if cols < 0 {
			cols = len(fields)
			if header == HeaderYes || (header == HeaderAuto && !anyNumber(fields)) {
				for i, f := range fields {
					names = append(names, f)
					if names[i] == "" {
						names[i] = fmt.Sprintf("c%d", i+1)
					}
				}
				if err == io.EOF {
					break
				}
				continue
			}
		}
		if len(fields) != cols || (wantCols > 0 && cols != wantCols) {
			want := cols
			if wantCols > 0 {
				want = wantCols
			}
			return nil, &CSVError{File: name, Line: line, Err: fmt.Errorf("%w: %d, want %d", ErrFields, len(fields), want)}
		}
		if maxRows > 0 && len(data)/cols >= maxRows {
			return nil, &CSVError{File: name, Line: line, Err: fmt.Errorf("%w: more than the %d rows of this table", ErrTooLong, maxRows)}
		}
		if len(data)+cols > cap(data) {
			// append will double the table: the old and the new array at once.
			if err := checkGrid(fmt.Sprintf("%s:%d: the table's values", name, line), 3*max(cap(data), 1024), 1, 8); err != nil {
				return nil, err
			}
		}
		for i, f := range fields {
			v, perr := parseNumber(f)
			if perr != nil {
				return nil, &CSVError{File: name, Line: line, Column: i + 1, Err: perr}
			}
			data = append(data, v)
		}
		if err == io.EOF {
			break
		}
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

// readLine returns the next line without its end, and io.EOF with the last
// line when it has no end; ErrLineLong past MaxLine bytes.
func readLine(br *bufio.Reader) ([]byte, error) {
	var line []byte
	for {
		chunk, err := br.ReadSlice('\n')
		line = append(line, chunk...)
		if len(line) > MaxLine {
			return nil, ErrLineLong
		}
		switch err {
		case bufio.ErrBufferFull:
			continue
		case nil:
			return bytes.TrimRight(line, "\r\n"), nil
		case io.EOF:
			if len(line) == 0 {
				return nil, io.EOF
			}
			return line, io.EOF
		default:
			return nil, err
		}
	}
}

// lineEnds reads r with every line end made a line feed: CR LF, and a
// carriage return alone (old Mac files), so that each ends a line.
type lineEnds struct {
	r  io.Reader
	cr bool // the last byte read was a carriage return
}

func (l *lineEnds) Read(p []byte) (int, error) {
	n, err := l.r.Read(p)
	k := 0
	for _, b := range p[:n] {
		switch {
		case b == '\n' && l.cr:
			l.cr = false // the line feed of a CR LF: its line has ended
			continue
		case b == '\r':
			b, l.cr = '\n', true
		default:
			l.cr = false
		}
		p[k] = b
		k++
	}
	return k, err
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

// splitFields splits a line at commas, or at white space when it has none,
// and removes the spaces and double quotes around each field.
func splitFields(s string) []string {
	var fields []string
	if strings.Contains(s, ",") {
		fields = strings.Split(s, ",")
	} else {
		fields = strings.Fields(s)
	}
	for i, f := range fields {
		f = strings.TrimSpace(f)
		if len(f) >= 2 && f[0] == '"' && f[len(f)-1] == '"' {
			f = strings.TrimSpace(f[1 : len(f)-1])
		}
		fields[i] = f
	}
	return fields
}

// parseNumber parses a decimal number: [+-] digits [. digits] [(e|E) [+-]
// digits], at least one digit before the exponent.
func parseNumber(f string) (float64, error) {
	if !isDecimal(f) {
		switch strings.ToLower(strings.TrimLeft(f, "+-")) {
		case "nan", "inf", "infinity":
			return 0, fmt.Errorf("%w: %q", ErrNotFinite, f)
		}
		return 0, fmt.Errorf("%w: %q", ErrNotNumber, shortField(f))
	}
	v, err := strconv.ParseFloat(f, 64)
	if err != nil {
		return 0, fmt.Errorf("%w: %q", ErrRange, shortField(f))
	}
	return v, nil
}

// shortField returns a field to quote in an error: its first 40 bytes and
// its length when it is longer, so that a one-line error stays one line
// of a screen, not megabytes.
func shortField(f string) string {
	const keep = 40
	if len(f) <= keep {
		return f
	}
	return fmt.Sprintf("%s… (%d bytes)", strings.ToValidUTF8(f[:keep], ""), len(f))
}

func isDecimal(s string) bool {
	i := 0
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	digits := 0
	for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
		digits++
	}
	if i < len(s) && s[i] == '.' {
		i++
		for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
			digits++
		}
	}
	if digits == 0 {
		return false
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		exp := 0
		for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
			exp++
		}
		if exp == 0 {
			return false
		}
	}
	return i == len(s)
}

func anyNumber(fields []string) bool {
	for _, f := range fields {
		if isDecimal(f) {
			return true
		}
	}
	return false
}

// Dataset returns the table as a data set with the given 0-based target
// columns; the other columns, in order, are the inputs, except those listed
// in drop. At least one input must remain.
func (t *Table) Dataset(name string, targets []int, drop ...int) (*Dataset, error) {
	_, c := t.Data.Dims()
	role := make([]int, c) // 0 input, 1 target, 2 dropped
	if len(targets) == 0 {
		return nil, fmt.Errorf("data: %s: no target column", name)
	}
	for _, k := range targets {
		if k < 0 || k >= c {
			return nil, fmt.Errorf("data: %s: target column %d out of range 1..%d", name, k+1, c)
		}
		role[k] = 1
	}
	for _, k := range drop {
		if k >= 0 && k < c && role[k] == 0 {
			role[k] = 2
		}
	}
	var in []int
	for k, r := range role {
		if r == 0 {
			in = append(in, k)
		}
	}
	if len(in) == 0 {
		return nil, fmt.Errorf("data: %s: no input column left: all %d columns are targets or dropped", name, c)
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
