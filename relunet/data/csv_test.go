package data

import (
	"errors"
	"math"
	"runtime/debug"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"
)

func TestReadCSV(t *testing.T) {
	tab, err := ReadCSV(strings.NewReader("a,b,y\n1,2,3\n4, 5,6\n\n# note\n7,8,9\n"), "t.csv", HeaderAuto)
	if err != nil {
		t.Fatal(err)
	}
	if r, c := tab.Data.Dims(); r != 3 || c != 3 || tab.Names[2] != "y" || tab.Data.At(1, 1) != 5 {
		t.Errorf("got %d×%d %v %v", r, c, tab.Names, mat.Formatted(tab.Data))
	}
	tab, err = ReadCSV(strings.NewReader("1 2\n3\t4"), "ws.txt", HeaderAuto) // no final newline
	if err != nil || tab.Data.At(1, 1) != 4 || tab.Names[0] != "c1" {
		t.Fatalf("whitespace: %v %v", err, tab)
	}
	ds, err := tab.Dataset("ws", []int{1})
	if err != nil || ds.X.At(1, 0) != 3 || ds.Y.At(1, 0) != 4 {
		t.Errorf("dataset: %v", err)
	}
}

// Quoted numbers are numbers, as quoted names are names; a byte-order mark
// is not part of the first field; CR LF line ends are line ends.
func TestReadCSVQuotesAndBOM(t *testing.T) {
	for _, in := range []string{
		"\uFEFF\"x\",\"y\"\r\n\"1\",\"2.5\"\r\n3,4\r\n",
		"\uFEFF1,2.5\n3,4\n",
	} {
		tab, err := ReadCSV(strings.NewReader(in), "q.csv", HeaderAuto)
		if err != nil {
			t.Fatalf("%q: %v", in, err)
		}
		if r, _ := tab.Data.Dims(); r != 2 || tab.Data.At(0, 0) != 1 || tab.Data.At(0, 1) != 2.5 {
			t.Errorf("%q: %v", in, mat.Formatted(tab.Data))
		}
		if strings.HasPrefix(in, "\uFEFF\"x") && tab.Names[0] != "x" {
			t.Errorf("%q: names %q", in, tab.Names)
		}
	}
}

func TestReadCSVErrors(t *testing.T) {
	long := strings.Repeat("1,", MaxLine/2+1) + "1\n"
	for _, tc := range []struct {
		in, want  string
		line, col int
		is        error
	}{
		{"1,2\n3,x\n", `bad.csv:2: column 2: not a number: "x"`, 2, 2, ErrNotNumber},
		{"1,2\n3,4,5\n", "bad.csv:2: wrong number of fields: 3, want 2", 2, 0, ErrFields},
		{"1,2\n3,NaN\n", `bad.csv:2: column 2: not a finite number: "NaN"`, 2, 2, ErrNotFinite},
		{"a,b\n1,2\n\n3,Inf\n", `bad.csv:4: column 2: not a finite number: "Inf"`, 4, 2, ErrNotFinite},
		{"1,2\n1e400,3\n", `bad.csv:2: column 1: out of the range of float64 (about ±1.8e308): "1e400"`, 2, 1, ErrRange},
		{"1,2\n1_0,3\n", `bad.csv:2: column 1: not a number: "1_0"`, 2, 1, ErrNotNumber},
		{"1,2\n0x1p-2,3\n", `bad.csv:2: column 1: not a number: "0x1p-2"`, 2, 1, ErrNotNumber},
		{"1,2\n1e,3\n", `bad.csv:2: column 1: not a number: "1e"`, 2, 1, ErrNotNumber},
		{"1,2\n3,4\n" + long, "bad.csv:3: line longer than 64 MiB", 3, 0, ErrLineLong},
		{"", "bad.csv: no data rows", 0, 0, nil},
		{"x,y\n", "bad.csv: no data rows", 0, 0, nil},
	} {
		_, err := ReadCSV(strings.NewReader(tc.in), "bad.csv", HeaderAuto)
		if err == nil || err.Error() != tc.want {
			in := tc.in
			if len(in) > 40 {
				in = in[:40] + "…"
			}
			t.Errorf("%q: error %v, want %s", in, err, tc.want)
			continue
		}
		var ce *CSVError
		if tc.line > 0 && (!errors.As(err, &ce) || ce.Line != tc.line || ce.Column != tc.col || !errors.Is(err, tc.is)) {
			t.Errorf("%q: not a CSVError at %d:%d wrapping %v: %#v", tc.want, tc.line, tc.col, tc.is, err)
		}
	}
}

// Values near the ends of the range of float64 are read as they are: the
// reader does not overflow, and what it cannot represent it refuses.
func TestReadCSVExtremeValues(t *testing.T) {
	tab, err := ReadCSV(strings.NewReader("1e308,-1e308\n1e-320,5e-324\n"), "x.csv", HeaderNo)
	if err != nil {
		t.Fatal(err)
	}
	if tab.Data.At(0, 0) != 1e308 || tab.Data.At(1, 1) != 5e-324 {
		t.Errorf("%v", mat.Formatted(tab.Data))
	}
}

func TestDatasetColumns(t *testing.T) {
	tab, _ := ReadCSV(strings.NewReader("a,b,c\n1,2,3\n4,5,6\n"), "t.csv", HeaderAuto)
	if _, err := tab.Dataset("t", []int{0, 1, 2}); err == nil || !strings.Contains(err.Error(), "no input column") {
		t.Errorf("all targets: %v", err)
	}
	if _, err := tab.Dataset("t", []int{0}, 1, 2); err == nil || !strings.Contains(err.Error(), "no input column") {
		t.Errorf("all dropped: %v", err)
	}
	if _, err := tab.Dataset("t", []int{3}); err == nil || !strings.Contains(err.Error(), "out of range 1..3") {
		t.Errorf("target out of range: %v", err)
	}
	ds, err := tab.Dataset("t", []int{2}, 0)
	if err != nil || ds.XNames[0] != "b" || ds.YNames[0] != "c" {
		t.Fatalf("%v %v", ds, err)
	}
	sub, err := ds.Subset([]int{1, 0})
	if err != nil || sub.X.At(0, 0) != 5 || sub.Y.At(1, 0) != 3 {
		t.Errorf("Subset: %v", err)
	}
	if _, err := ds.Subset([]int{2}); err == nil {
		t.Error("Subset accepted a row out of range")
	}
}

func TestSynthetic(t *testing.T) {
	s := Sin()
	if n, d, m := s.Dims(); n != 201 || d != 1 || m != 1 || s.X.At(200, 0) != 10 {
		t.Errorf("sin: %d×%d×%d", n, d, m)
	}
	ds, err := SinNorm2(100, 3, 1)
	if err != nil || math.Abs(ds.Y.At(0, 0)-math.Sin(math.Pow(mat.Norm(ds.X.RowView(0), 2), 2))) > 1e-15 {
		t.Errorf("sinx2: %v", err)
	}
	tds, teacher, err := Teacher(50, 4, 3, 0, 2)
	if err != nil {
		t.Fatal(err)
	}
	pred, _ := teacher.Predict(tds.X)
	if !mat.Equal(pred, tds.Y) {
		t.Error("noise-free teacher data differ from the teacher")
	}
	shape, err := ShapeSDF(40, 50)
	if err != nil {
		t.Fatal(err)
	}
	var in, out int
	for i := 0; i < 2000; i++ {
		if shape.Y.At(i, 0) < 0 {
			in++
		} else {
			out++
		}
	}
	if in < 200 || out < 200 {
		t.Errorf("shape has %d pixels inside, %d outside", in, out)
	}
	if shape.Y.At(0, 0) <= 0 {
		t.Errorf("corner pixel distance %v, want positive (outside)", shape.Y.At(0, 0))
	}
}

// The shape's distance field is the distance to the nearest pixel on the
// other side, less half a pixel, negative inside: the exact transform
// agrees with the definition, computed pixel by pixel.
func TestShapeSDFIsTheDistanceField(t *testing.T) {
	for _, g := range [][2]int{{8, 8}, {23, 31}, {80, 110}} {
		rows, cols := g[0], g[1]
		ds, err := ShapeSDF(rows, cols)
		if err != nil {
			t.Fatal(err)
		}
		inside := func(r, c int) bool { return inShape(float64(r)/float64(rows), float64(c)/float64(cols)) }
		for r := 0; r < rows; r++ {
			for c := 0; c < cols; c++ {
				best := math.Inf(1)
				for r2 := 0; r2 < rows; r2++ {
					for c2 := 0; c2 < cols; c2++ {
						if inside(r2, c2) != inside(r, c) {
							best = math.Min(best, float64((r-r2)*(r-r2)+(c-c2)*(c-c2)))
						}
					}
				}
				want := math.Sqrt(best) - 0.5
				if inside(r, c) {
					want = -want
				}
				if got := ds.Y.At(r*cols+c, 0); got != want {
					t.Fatalf("%d×%d grid, pixel (%d, %d): %v, want %v", rows, cols, r, c, got, want)
				}
			}
		}
	}
	for _, g := range [][2]int{{1 << 31, 1 << 31}, {1 << 21, 10}} {
		if _, err := ShapeSDF(g[0], g[1]); err == nil {
			t.Errorf("ShapeSDF(%d, %d): no error", g[0], g[1])
		}
	}
	if _, _, err := Teacher(1<<40, 5, 8, 0.1, 0); err == nil || !strings.Contains(err.Error(), "available") {
		t.Errorf("Teacher(2^40, ...): error %v", err)
	}
	if _, err := SinNorm2(1<<62, 4, 0); err == nil || !strings.Contains(err.Error(), "overflows") {
		t.Errorf("SinNorm2(2^62, 4): error %v", err)
	}
	if _, err := Patches("nil", nil, PatchOptions{}, 0); err == nil || !strings.Contains(err.Error(), "no image") {
		t.Errorf("Patches of no image: error %v", err)
	}
}

// Every line end is one: LF, CR LF and CR alone (old Mac files), with the
// line numbers right.
func TestReadCSVLineEnds(t *testing.T) {
	for _, text := range []string{"1,2\n3,4\n5,x\n", "1,2\r\n3,4\r\n5,x\r\n", "1,2\r3,4\r5,x\r", "1,2\r\n3,4\r5,x"} {
		_, err := ReadCSV(strings.NewReader(text), "e.csv", HeaderNo)
		if err == nil || err.Error() != `e.csv:3: column 2: not a number: "x"` {
			t.Errorf("%q: error %v", text, err)
		}
		tab, err := ReadCSV(strings.NewReader(strings.Replace(text, "x", "6", 1)), "e.csv", HeaderNo)
		if err != nil || tab.Data.At(2, 1) != 6 {
			t.Errorf("%q: %v", text, err)
		}
	}
}

// A table that grows beyond the memory available (here GOMEMLIMIT) is an
// error naming the file and line, before the memory runs out.
func TestReadCSVBoundedByMemory(t *testing.T) {
	old := debug.SetMemoryLimit(4 << 20)
	defer debug.SetMemoryLimit(old)
	_, err := ReadCSV(endlessRows{}, "endless.csv", HeaderNo)
	if err == nil || !strings.Contains(err.Error(), "endless.csv:") || !strings.Contains(err.Error(), "available") {
		t.Errorf("an endless table: %v", err)
	}
}

// endlessRows reads as an endless table of rows "1,2,3".
type endlessRows struct{}

func (endlessRows) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = "1,2,3\n"[i%6]
	}
	return len(p) / 6 * 6, nil
}

// A bad field of megabytes is quoted by its start and its length: the error
// stays one short line.
func TestLongBadField(t *testing.T) {
	field := strings.Repeat("x", 5<<20)
	_, err := ReadCSV(strings.NewReader("1,2\n3,"+field+"\n"), "long.csv", HeaderNo)
	if err == nil || !errors.Is(err, ErrNotNumber) || len(err.Error()) > 200 || !strings.Contains(err.Error(), "(5242880 bytes)") {
		t.Errorf("%.300v", err)
	}
}
