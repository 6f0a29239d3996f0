package experiment

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/relunet/relunet/relunet"
)

// results returns n analytic results on the teacher split, seeded from
// seed, for the tests of the results files.
func results(t *testing.T, seed uint64, n int) []*Result {
	t.Helper()
	sp := teacherSplit(t)
	var out []*Result
	for k := range n {
		out = append(out, mustRun(t, sp, Config{Method: relunet.MethodAnalytic, Hidden: 3, Iterations: 2, Seed: seed + uint64(k)}))
	}
	return out
}

// SaveResults writes runs.json, runs.csv and the extra files, which
// LoadResults reads back; a directory that holds anything else is refused.
func TestSaveAndLoadResults(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	res := results(t, 0, 2)
	if err := SaveResults(dir, res, map[string][]byte{"a.png": []byte("png")}); err != nil {
		t.Fatal(err)
	}
	back, err := LoadResults(dir)
	if err != nil || len(back) != 2 || back[1].Config.Seed != 1 || back[0].TrainMSE != res[0].TrainMSE {
		t.Fatalf("loaded %v, %v", back, err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil || len(entries) != 3 {
		t.Errorf("%d entries, %v", len(entries), err)
	}
	if err := SaveResults(dir, res, map[string][]byte{"../x.png": nil}); err == nil {
		t.Error("an extra file outside the directory accepted")
	}
	other := t.TempDir()
	if err := os.WriteFile(filepath.Join(other, "notes.txt"), []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := SaveResults(other, res, nil); err == nil || !strings.Contains(err.Error(), "notes.txt") {
		t.Errorf("a directory with other files: %v", err)
	}
	if b, err := os.ReadFile(filepath.Join(other, "notes.txt")); err != nil || string(b) != "mine" {
		t.Errorf("the other file is now %q, %v", b, err)
	}
}

// Only what SaveResults writes is ever replaced: a directory named like a
// results file, or a runs.json that is not results, makes the directory
// someone else's, and CheckResultsDir says so before any run.
func TestSaveResultsKeepsOthersFiles(t *testing.T) {
	res := results(t, 0, 1)
	for _, tc := range []struct {
		name  string
		setup func(dir string) error
		keep  string // a file that must survive
	}{
		{"a directory runs.json", func(dir string) error {
			if err := os.MkdirAll(filepath.Join(dir, "runs.json"), 0o755); err != nil {
				return err
			}
			return os.WriteFile(filepath.Join(dir, "runs.json", "notes.txt"), []byte("mine"), 0o644)
		}, "runs.json/notes.txt"},
		{"a directory runs.csv beside results", func(dir string) error {
			if err := SaveResults(dir, res, nil); err != nil {
				return err
			}
			if err := os.Remove(filepath.Join(dir, "runs.csv")); err != nil {
				return err
			}
			if err := os.MkdirAll(filepath.Join(dir, "runs.csv"), 0o755); err != nil {
				return err
			}
			return os.WriteFile(filepath.Join(dir, "runs.csv", "keep.txt"), []byte("mine"), 0o644)
		}, "runs.csv/keep.txt"},
		{"a runs.json that is not results", func(dir string) error {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return err
			}
			return os.WriteFile(filepath.Join(dir, "runs.json"), []byte("not json"), 0o644)
		}, "runs.json"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "out")
			if err := tc.setup(dir); err != nil {
				t.Fatal(err)
			}
			if err := CheckResultsDir(dir); err == nil {
				t.Error("CheckResultsDir accepted it")
			}
			if err := SaveResults(dir, res, nil); err == nil {
				t.Error("SaveResults replaced it")
			}
			if b, err := os.ReadFile(filepath.Join(dir, tc.keep)); err != nil || (tc.keep != "runs.json" && string(b) != "mine") || (tc.keep == "runs.json" && string(b) != "not json") {
				t.Errorf("%s is now %q, %v", tc.keep, b, err)
			}
		})
	}
	// Through a link, the directory it names takes the results, and the
	// link stays.
	real, link := filepath.Join(t.TempDir(), "real"), filepath.Join(t.TempDir(), "link")
	os.MkdirAll(real, 0o755)
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	if err := SaveResults(link, res, nil); err != nil {
		t.Fatal(err)
	}
	if info, err := os.Lstat(link); err != nil || info.Mode()&os.ModeSymlink == 0 {
		t.Errorf("the link is now %v, %v", info, err)
	}
	if _, err := LoadResults(real); err != nil {
		t.Errorf("the linked directory: %v", err)
	}
	// The current directory, or one holding it, is refused.
	t.Chdir(real)
	for _, d := range []string{".", filepath.Dir(real)} {
		if err := CheckResultsDir(d); err == nil || !strings.Contains(err.Error(), "current directory") {
			t.Errorf("%s: %v", d, err)
		}
	}
	top := t.TempDir()
	if err := CheckResultsDir(filepath.Join(top, "new", "out")); err != nil {
		t.Errorf("a new directory: %v", err)
	}
	if entries, _ := os.ReadDir(top); len(entries) != 0 {
		t.Errorf("the check left %v behind", entries)
	}
	file := filepath.Join(top, "file")
	os.WriteFile(file, nil, 0o644)
	if err := CheckResultsDir(filepath.Join(file, "out")); err == nil {
		t.Error("a directory under a file accepted")
	}
}

// A failure at either rename of the swap leaves the previous results whole
// and nothing else behind.
func TestSaveResultsAllOrNothing(t *testing.T) {
	parent := t.TempDir()
	dir := filepath.Join(parent, "out")
	old, neu := results(t, 0, 1), results(t, 10, 1)
	if err := SaveResults(dir, old, map[string][]byte{"fig.png": []byte("old")}); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	for _, fail := range []int{1, 2} {
		calls := 0
		rename = func(from, to string) error {
			calls++
			if calls == fail {
				return boom
			}
			return os.Rename(from, to)
		}
		err := SaveResults(dir, neu, map[string][]byte{"fig.png": []byte("new")})
		rename = os.Rename
		if !errors.Is(err, boom) {
			t.Fatalf("rename %d failing: %v", fail, err)
		}
		got, err := LoadResults(dir)
		if err != nil || len(got) != 1 || got[0].Config.Seed != 0 {
			t.Errorf("rename %d failing: the results are %v, %v", fail, got, err)
		}
		if b, _ := os.ReadFile(filepath.Join(dir, "fig.png")); string(b) != "old" {
			t.Errorf("rename %d failing: the figure is %q", fail, b)
		}
		if entries, _ := os.ReadDir(parent); len(entries) != 1 {
			t.Errorf("rename %d failing: %d entries in the parent", fail, len(entries))
		}
	}
}

// Writers at once into one directory: every reader finds one writer's
// results whole, runs.json and runs.csv of the same writer, never a mix.
func TestSaveResultsConcurrentWriters(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	sets := [][]*Result{results(t, 0, 1), results(t, 20, 1)}
	csvOf := func(rs []*Result) string {
		var b bytes.Buffer
		if err := WriteCSV(&b, rs); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	want := map[uint64]string{0: csvOf(sets[0]), 20: csvOf(sets[1])}
	for round := range 40 {
		var wg sync.WaitGroup
		for _, rs := range sets {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := SaveResults(dir, rs, nil); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		got, err := LoadResults(dir)
		if err != nil {
			t.Fatal(err)
		}
		csv, err := os.ReadFile(filepath.Join(dir, ResultsCSV))
		if err != nil || string(csv) != want[got[0].Config.Seed] {
			t.Fatalf("round %d: runs.json of seed %d beside another runs.csv (%v)", round, got[0].Config.Seed, err)
		}
	}
}

// A results directory replaced by another writer while it is read is read
// again, not refused: the other writer empties the old directory after the
// swap, so that a listing begun before it can miss runs.json.
func TestResultsOnlyRereadsASwappedDirectory(t *testing.T) {
	parent := t.TempDir()
	dir, next := filepath.Join(parent, "out"), filepath.Join(parent, "next")
	for _, d := range []string{dir, next} {
		if err := SaveResults(d, results(t, 0, 1), nil); err != nil {
			t.Fatal(err)
		}
	}
	calls := 0
	readDir = func(name string) ([]os.DirEntry, error) {
		calls++
		entries, err := os.ReadDir(name)
		if calls > 1 {
			return entries, err
		}
		// Another writer's swap, then the old directory half emptied.
		if err := os.Rename(dir, filepath.Join(parent, "old")); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(next, dir); err != nil {
			t.Fatal(err)
		}
		return slices.DeleteFunc(entries, func(e os.DirEntry) bool { return e.Name() == ResultsJSON }), err
	}
	defer func() { readDir = os.ReadDir }()
	if err := resultsOnly(dir); err != nil || calls != 2 {
		t.Errorf("after a swap: %v, %d listings", err, calls)
	}
	// A runs.json listed but gone when opened is a swap too; one that is
	// gone on every read is reported, not read forever.
	empty := filepath.Join(parent, "empty")
	if err := os.Mkdir(empty, 0o755); err != nil {
		t.Fatal(err)
	}
	readDir = func(name string) ([]os.DirEntry, error) {
		return []os.DirEntry{fakeEntry(ResultsJSON)}, nil
	}
	if err := resultsOnly(empty); err == nil || !strings.Contains(err.Error(), "keeps being replaced") {
		t.Errorf("always swapped: %v", err)
	}
}

// fakeEntry is a regular file's directory entry.
type fakeEntry string

func (e fakeEntry) Name() string               { return string(e) }
func (e fakeEntry) IsDir() bool                { return false }
func (e fakeEntry) Type() fs.FileMode          { return 0 }
func (e fakeEntry) Info() (fs.FileInfo, error) { return nil, fs.ErrNotExist }

// A nil result is no run to the summaries and an error to the files.
func TestNilResults(t *testing.T) {
	res := append(results(t, 0, 1), nil)
	if s := Summarize(res); len(s) != 1 || s[0].Runs != 1 {
		t.Errorf("summaries %+v", s)
	}
	PairedTests(res, "analytic")
	if err := SaveResults(filepath.Join(t.TempDir(), "out"), res, nil); err == nil || !strings.Contains(err.Error(), "result 1 is nil") {
		t.Errorf("saved: %v", err)
	}
}
