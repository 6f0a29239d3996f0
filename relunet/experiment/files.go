package experiment

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/relunet/relunet/relunet/internal/atomicfile"
	"github.com/relunet/relunet/relunet/internal/dirlock"
)

// WriteCSV writes one line per result: the data set, the method, the
// label, the safeguard, seed, hidden units, rows, errors, R², seconds,
// status and error, with an empty field for an undefined value.
func WriteCSV(w io.Writer, results []*Result) error {
	if err := noNil(results); err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	cw.Write([]string{"dataset", "method", "config", "safeguard", "seed", "hidden", "n_train", "n_test", "train_mse", "test_mse",
		"train_r2", "test_r2", "seconds", "status", "error"})
	opt := func(v *float64) string {
		if v == nil {
			return ""
		}
		return strconv.FormatFloat(*v, 'g', -1, 64)
	}
	for _, r := range results {
		rec := NewRecord(r)
		e := ""
		if rec.Error != nil {
			e = *rec.Error
		}
		cw.Write([]string{rec.Dataset, rec.Method, rec.Config, strconv.FormatBool(rec.Safeguard), strconv.FormatUint(rec.Seed, 10),
			strconv.Itoa(rec.Hidden), strconv.Itoa(rec.NTrain), strconv.Itoa(rec.NTest), opt(rec.TrainMSE), opt(rec.TestMSE),
			opt(rec.TrainR2), opt(rec.TestR2), strconv.FormatFloat(rec.Seconds, 'g', -1, 64), rec.Status, e})
	}
	cw.Flush()
	return cw.Error()
}

// The files of a results directory.
const (
	ResultsJSON = "runs.json"
	ResultsCSV  = "runs.csv"
)

// rename is os.Rename and readDir os.ReadDir; tests replace them to
// inject failures and races.
var (
	rename  = os.Rename
	readDir = os.ReadDir
)

// SaveResults writes the results into the directory dir as runs.json and
// runs.csv, with the extra files (figures, say: only .png names), all or
// nothing: everything is written into a new directory beside dir, which
// then takes dir's place under a lock on the parent directory that
// concurrent writers share. A reader sees the old results or the new ones,
// never a part of them or a mix of two writers' (for the moment of the
// swap, no directory). dir must be new, or a results directory (runs.json
// and nothing but results and .png files), so that nothing else is ever
// replaced.
func SaveResults(dir string, results []*Result, extra map[string][]byte) error {
	var js, cs bytes.Buffer
	if err := WriteJSON(&js, results); err != nil {
		return err
	}
	if err := WriteCSV(&cs, results); err != nil {
		return err
	}
	files := map[string][]byte{ResultsJSON: js.Bytes(), ResultsCSV: cs.Bytes()}
	for name, b := range extra {
		if filepath.Base(name) != name || filepath.Ext(name) != ".png" {
			return fmt.Errorf("experiment: SaveResults: an extra file must be a .png name without a directory, have %q", name)
		}
		files[name] = b
	}
	dir, err := resultsPath(dir)
	if err != nil {
		return err
	}
	return swapDir(dir, files)
}

// resultsPath returns the directory that results for dir replace: its
// absolute path, through a symbolic link to the directory it names. The
// current directory, or one that holds it, is refused: results replace
// their directory whole, which would leave the process's shell in a
// removed directory.
func resultsPath(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("experiment: %w", err)
	}
	if abs, err = atomicfile.Target(abs); err != nil {
		return "", fmt.Errorf("experiment: %w", err)
	}
	if wd, err := os.Getwd(); err == nil {
		if real, err := filepath.EvalSymlinks(wd); err == nil {
			wd = real
		}
		if rel, err := filepath.Rel(abs, wd); err == nil && !strings.HasPrefix(rel, "..") {
			return "", fmt.Errorf("experiment: %s is the current directory or holds it, which results would replace whole: give another directory", dir)
		}
	}
	return abs, nil
}

// LoadResults reads the results that SaveResults wrote into dir.
func LoadResults(dir string) ([]*Result, error) {
	f, err := os.Open(filepath.Join(dir, ResultsJSON))
	if err != nil {
		return nil, fmt.Errorf("experiment: %w", err)
	}
	defer f.Close()
	res, err := ReadJSON(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", f.Name(), err)
	}
	return res, nil
}

// resultsOnly reports why dir may not be replaced by a results directory,
// or nil when it is one (or does not exist).
func resultsOnly(dir string) error {
	// Read without the lock, the directory may be swapped by another
	// writer while it is read: listed as the old one, which that writer
	// then empties, or listed whole and its runs.json gone when opened. It
	// is then read again. A few tries suffice: each swap is one writer done.
	for range 8 {
		err := resultsOnlyOnce(dir)
		if !errors.Is(err, errSwapped) {
			return err
		}
	}
	return fmt.Errorf("experiment: %s keeps being replaced while it is read: another writer is saving there", dir)
}

// errSwapped marks a directory that was replaced while it was read.
var errSwapped = errors.New("experiment: the directory was replaced while it was read")

func resultsOnlyOnce(dir string) error {
	before, err := os.Lstat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	entries, err := readDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return errSwapped
	}
	if err != nil {
		return err
	}
	// The listing is of the directory now at dir only if dir is the same
	// directory after it as before.
	if after, err := os.Lstat(dir); err != nil || !os.SameFile(before, after) {
		return errSwapped
	}
	results := false
	for _, e := range entries {
		// Only regular files of the names results have: a directory or a
		// link named runs.json is someone else's, and would go with it.
		switch name := e.Name(); {
		case !e.Type().IsRegular():
			return fmt.Errorf("experiment: %s holds %s, which is not a file results have: give a new directory, or one that holds results", dir, name)
		case name == ResultsJSON:
			err := isResults(filepath.Join(dir, name))
			if errors.Is(err, fs.ErrNotExist) {
				return errSwapped
			}
			if err != nil {
				return fmt.Errorf("experiment: %s holds a %s that is not one SaveResults wrote (%v): give a new directory, or one that holds results", dir, name, err)
			}
			results = true
		case name == ResultsCSV || filepath.Ext(name) == ".png":
		default:
			return fmt.Errorf("experiment: %s holds %s, which results do not: give a new directory, or one that holds results", dir, name)
		}
	}
	if !results && len(entries) > 0 {
		return fmt.Errorf("experiment: %s holds files but no %s: give a new directory, or one that holds results", dir, ResultsJSON)
	}
	return nil
}

// isResults reports why the file at path is not a results file.
func isResults(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = ReadJSON(f)
	return err
}

// CheckResultsDir reports why SaveResults could not write into dir: it
// holds other files than results, or no directory can be made beside it.
// A command that saves its results at the end checks before it starts, so
// that a bad directory does not cost the runs.
func CheckResultsDir(dir string) error {
	dir, err := resultsPath(dir)
	if err != nil {
		return err
	}
	if err := resultsOnly(dir); err != nil {
		return err
	}
	// The nearest directory that exists must take a new entry; nothing is
	// left behind, not even the directories SaveResults would make.
	at := filepath.Dir(dir)
	for {
		info, err := os.Stat(at)
		if err == nil && !info.IsDir() {
			return fmt.Errorf("experiment: %s cannot be made: %s is not a directory", dir, at)
		}
		if err == nil {
			break
		}
		if !errors.Is(err, fs.ErrNotExist) || filepath.Dir(at) == at {
			return fmt.Errorf("experiment: %w", err)
		}
		at = filepath.Dir(at)
	}
	tmp, err := os.MkdirTemp(at, atomicfile.TempPattern(".relunet-check."))
	if err != nil {
		return fmt.Errorf("experiment: %s cannot be written: %w", dir, err)
	}
	return os.Remove(tmp)
}

// swapDir replaces dir, new or a results directory, by a directory of the
// files, all or nothing.
func swapDir(dir string, files map[string][]byte) error {
	parent, base := filepath.Split(dir)
	if parent == "" {
		parent = "."
	}
	if err := resultsOnly(dir); err != nil {
		return err
	}
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return fmt.Errorf("experiment: %w", err)
	}
	// Temporaries of writers that were killed are removed; ours are named
	// after this process, so that the next writer can tell.
	atomicfile.Sweep(parent, "."+base+".new.")
	atomicfile.Sweep(parent, "."+base+".old.")
	tmp, err := os.MkdirTemp(parent, atomicfile.TempPattern("."+base+".new."))
	if err != nil {
		return fmt.Errorf("experiment: %w", err)
	}
	defer os.RemoveAll(tmp)
	for name, b := range files {
		if err := writeSynced(filepath.Join(tmp, name), b); err != nil {
			return fmt.Errorf("experiment: writing %s: %w", filepath.Join(dir, name), err)
		}
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return fmt.Errorf("experiment: %w", err)
	}
	unlock, err := dirlock.Lock(parent)
	if err != nil {
		return fmt.Errorf("experiment: %w", err)
	}
	defer unlock()
	// Checked again under the lock: another writer may have made it since.
	if err := resultsOnly(dir); err != nil {
		return err
	}
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		return rename(tmp, dir)
	}
	old := filepath.Join(parent, "."+base+".old."+strings.TrimPrefix(filepath.Base(tmp), "."+base+".new."))
	if err := rename(dir, old); err != nil {
		return fmt.Errorf("experiment: %w", err)
	}
	defer os.RemoveAll(old)
	if err := rename(tmp, dir); err != nil {
		if rerr := rename(old, dir); rerr != nil {
			return fmt.Errorf("experiment: %w; and the previous results could not be put back from %s: %v", err, old, rerr)
		}
		return fmt.Errorf("experiment: %w", err)
	}
	return nil
}

// writeSynced writes b to a new file at path, synced, with mode 0644.
func writeSynced(path string, b []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
