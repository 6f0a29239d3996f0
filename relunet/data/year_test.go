package data

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// yearZipOf returns a zip like UCI's, holding the text file under the
// given name.
func yearZipOf(t *testing.T, name, text string) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	w, err := zw.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte(text))
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// yearRows returns n rows in the file's layout: the year, then 90 features.
func yearRows(n int) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		b.WriteString([]string{"2001", "1987", "1999.0"}[i%3])
		for j := 0; j < 90; j++ {
			b.WriteString(",")
			b.WriteString([]string{"49.94", "-21.5", "0.0012", "1.5e2"}[(i+j)%4])
		}
		b.WriteString("\n")
	}
	return b.String()
}

// The year set is fetched from a mirror, unpacked from its zip, its digest
// recorded on the first download and checked on every later load.
func TestYearFetchUnpackAndDigest(t *testing.T) {
	good := yearZipOf(t, "YearPredictionMSD.txt", yearRows(7))
	mux := http.NewServeMux()
	mux.HandleFunc("/mirror/"+yearZip, func(w http.ResponseWriter, r *http.Request) { w.Write(good) })
	mux.HandleFunc("/other/"+yearZip, func(w http.ResponseWriter, r *http.Request) {
		w.Write(yearZipOf(t, "YearPredictionMSD.txt", yearRows(8)))
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	cache := t.TempDir()
	var log bytes.Buffer
	l := &Loader{Dirs: []string{cache}, Cache: cache, BaseURL: srv.URL + "/mirror", Log: &log}
	ds, err := l.Load(context.Background(), "year")
	if err != nil {
		t.Fatal(err)
	}
	if n, d, m := ds.Dims(); n != 7 || d != 90 || m != 1 {
		t.Fatalf("dims %d, %d, %d; want 7, 90, 1", n, d, m)
	}
	if ds.Y.At(2, 0) != 1999 || ds.X.At(0, 0) != 49.94 || ds.X.At(1, 89) != 0.0012 || ds.YNames[0] != "year" {
		t.Errorf("values: year %v, x %v %v, name %q", ds.Y.At(2, 0), ds.X.At(0, 0), ds.X.At(1, 89), ds.YNames[0])
	}
	if ds.TrainRows != 0 {
		t.Errorf("a file of 7 rows has TrainRows %d; the fixed split is UCI's 515345 rows only", ds.TrainRows)
	}
	sum := sha256.Sum256(good)
	if rec, ok := l.Recorded(File{Path: yearZip}); !ok || rec != hex.EncodeToString(sum[:]) {
		t.Errorf("recorded digest %q, %v; want the download's", rec, ok)
	}

	// A later load checks the recorded digest: a changed file is refused.
	path := filepath.Join(cache, yearZip)
	if err := os.WriteFile(path, yearZipOf(t, "YearPredictionMSD.txt", yearRows(6)), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Load(context.Background(), "year"); !errors.Is(err, ErrBadFile) {
		t.Errorf("a changed file: %v, want ErrBadFile", err)
	}
	// A different file from the source is refused too.
	os.Remove(path)
	l.BaseURL = srv.URL + "/other"
	if _, err := l.Load(context.Background(), "year"); err == nil || !strings.Contains(err.Error(), "SHA-256") {
		t.Errorf("a different download: %v", err)
	}
	if left := leftovers(t, cache); len(left) > 0 {
		t.Errorf("left behind: %v", left)
	}
}

// A local copy in a data directory is used as is, and a zip without the
// text file, or with a bad row, says so.
func TestYearLocalCopy(t *testing.T) {
	for _, tc := range []struct {
		name, file, text, want string
	}{
		{"ok", "YearPredictionMSD.txt", yearRows(4), ""},
		{"nested", "data/YearPredictionMSD.txt", yearRows(4), ""},
		{"other", "readme.txt", "hello", "holds no YearPredictionMSD.txt"},
		{"bad-row", "YearPredictionMSD.txt", yearRows(1) + "2002,x" + strings.Repeat(",1", 89) + "\n", "YearPredictionMSD.txt:2: column 2"},
		{"short row", "YearPredictionMSD.txt", yearRows(2) + "2001,1,2\n", "YearPredictionMSD.txt:3: wrong number of fields: 3, want 91"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, yearZip), yearZipOf(t, tc.file, tc.text), 0o644); err != nil {
				t.Fatal(err)
			}
			l := &Loader{Dirs: []string{dir}, Cache: t.TempDir(), NoFetch: true}
			ds, err := l.Load(context.Background(), "year")
			switch {
			case tc.want == "" && err != nil:
				t.Fatal(err)
			case tc.want == "":
				if n, _, _ := ds.Dims(); n != 4 {
					t.Errorf("%d rows, want 4", n)
				}
				// A copy never downloaded records nothing: a damaged one
				// must not become the reference of later downloads.
				if rec, ok := l.Recorded(File{Path: yearZip}); ok {
					t.Errorf("a local copy recorded the digest %s", rec)
				}
			case err == nil || !strings.Contains(err.Error(), tc.want):
				t.Errorf("error %v, want %q", err, tc.want)
			}
		})
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, yearZip), []byte("not a zip"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := (&Loader{Dirs: []string{dir}, Cache: t.TempDir(), NoFetch: true}).Load(context.Background(), "year"); err == nil || !strings.Contains(err.Error(), yearZip) {
		t.Errorf("not a zip: %v", err)
	}
}

// A zip that unpacks to more than UCI's file is refused from its stated
// size, before it is read; one that lies about its size is read no further
// than the set's shape.
func TestYearZipBomb(t *testing.T) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.CreateRaw(&zip.FileHeader{Name: yearText, Method: zip.Store, UncompressedSize64: 2 << 30, CompressedSize64: 5})
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("1,2\n"))
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, yearZip), buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = (&Loader{Dirs: []string{dir}, Cache: t.TempDir(), NoFetch: true}).Load(context.Background(), "year")
	if err == nil || !strings.Contains(err.Error(), "unpacks to 2147483648 bytes") {
		t.Errorf("a zip of 2 GiB: %v", err)
	}
	// The reader of a table of known shape stops at its rows.
	_, err = readCSV(strings.NewReader("1,2\n3,4\n5,6\n7,8\n"), "t.csv", HeaderNo, 3, 2)
	if !errors.Is(err, ErrTooLong) || !strings.Contains(err.Error(), "t.csv:4") {
		t.Errorf("a fourth row of a table of 3: %v", err)
	}
}

// The stand-in has the year set's shape and, at full size, its split.
func TestYearLike(t *testing.T) {
	ds, err := YearLike(2000, 3)
	if err != nil {
		t.Fatal(err)
	}
	if n, d, m := ds.Dims(); n != 2000 || d != 90 || m != 1 || ds.TrainRows != 0 {
		t.Fatalf("dims %d, %d, %d, TrainRows %d", n, d, m, ds.TrainRows)
	}
	var mean, ss float64
	for i := 0; i < 2000; i++ {
		mean += ds.Y.At(i, 0) / 2000
	}
	for i := 0; i < 2000; i++ {
		ss += (ds.Y.At(i, 0) - mean) * (ds.Y.At(i, 0) - mean) / 1999
	}
	// 1998 + 10·z + 5·ε with z standardised over the rows: mean 1998 (the
	// noise's standard error 5/√2000 ≈ 0.11), variance about 125.
	if mean < 1996 || mean > 2000 || ss < 110 || ss > 140 {
		t.Errorf("target mean %.2f, variance %.1f; want about 1998 and 125", mean, ss)
	}
	if _, err := YearLike(1, 0); err == nil {
		t.Error("YearLike(1) has no error")
	}
	if testing.Short() {
		return
	}
	full, err := YearLike(YearRows, 0)
	if err != nil {
		t.Fatal(err)
	}
	if n, d, _ := full.Dims(); n != YearRows || d != 90 || full.TrainRows != YearTrainRows {
		t.Errorf("full size: %d×%d, TrainRows %d", n, d, full.TrainRows)
	}
}
