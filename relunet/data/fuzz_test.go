package data

import (
	"bytes"
	"errors"
	"math"
	"testing"
)

// FuzzReadCSV reads arbitrary bytes: an error, which for a bad field or line
// is a *CSVError with its position, or a well-formed table of finite values.
func FuzzReadCSV(f *testing.F) {
	for _, s := range []string{
		"a,b,y\n1,2,3\n4, 5,6\n\n# note\n7,8,9\n",
		"1 2\n3\t4",
		"\uFEFF\"x\",\"y\"\r\n\"1\",\"2.5\"\r\n3,4\r\n",
		"1,2\n1e400,3\n",
		"1,2\n0x1p-2,1_0\n",
		"1,2\n3\n",
		"nan,inf\n-Infinity,+.5e-3\n",
		",,\n,,\n",
		"\"\",\"\n\"\"\n",
	} {
		f.Add([]byte(s), uint8(HeaderAuto))
	}
	f.Fuzz(func(t *testing.T, in []byte, mode uint8) {
		tab, err := ReadCSV(bytes.NewReader(in), "f.csv", HeaderMode(mode%3))
		if err != nil {
			var ce *CSVError
			if errors.As(err, &ce) && (ce.Line < 1 || ce.Column < 0) {
				t.Fatalf("error at line %d, column %d: %v", ce.Line, ce.Column, err)
			}
			return
		}
		r, c := tab.Data.Dims()
		if r < 1 || c < 1 || len(tab.Names) != c {
			t.Fatalf("%d×%d table with %d names", r, c, len(tab.Names))
		}
		for i := 0; i < r; i++ {
			for j := 0; j < c; j++ {
				if v := tab.Data.At(i, j); math.IsNaN(v) || math.IsInf(v, 0) {
					t.Fatalf("entry (%d, %d) is %v", i, j, v)
				}
			}
		}
		if c > 1 {
			if _, err := tab.Dataset("f", []int{c - 1}); err != nil {
				t.Fatalf("a table of %d columns is not a data set: %v", c, err)
			}
		}
	})
}
