package display

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"

	"gonum.org/v1/gonum/mat"

	"github.com/relunet/relunet/relunet"
	"github.com/relunet/relunet/relunet/data"
	"github.com/relunet/relunet/relunet/experiment"
)

// GoNB runs every cell as a new program: values do not carry over from one
// cell to the next. Cells hand results to each other through files in the
// kernel session's own temporary directory ($GONB_TMP_DIR, which GoNB
// makes for each kernel and removes when it shuts down), so that two
// sessions never share a file and nothing from an earlier session can be
// read as fresh. Files are written whole or not at all.

var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

// Path returns the path of the named file in the kernel session's
// directory, or an error outside a kernel session or for a name that is
// not a plain file name.
func Path(name string) (string, error) {
	if !nameRE.MatchString(name) {
		return "", fmt.Errorf("display: %q is not a file name (letters, digits, '.', '_', '-')", name)
	}
	dir := os.Getenv("GONB_TMP_DIR")
	if dir == "" {
		return "", errors.New("display: no kernel session: GONB_TMP_DIR is not set (GoNB sets it for every cell)")
	}
	dir = filepath.Join(dir, "relunet")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("display: %w", err)
	}
	return filepath.Join(dir, name), nil
}

// notMade returns the error of reading a file an earlier cell was to make.
func notMade(what, name string, err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("display: no %s named %q in this kernel session: run the cell that makes it first", what, name)
	}
	return err
}

// SaveResults keeps results under name for later cells of the session,
// replacing what was kept under that name; it stops the cell on failure.
func SaveResults(name string, results []*experiment.Result) {
	Check(experiment.SaveResults(Must(Path(name+".results")), results, nil))
}

// LoadResults returns the results kept under name, or stops the cell,
// naming the cell to run first when there are none.
func LoadResults(name string) []*experiment.Result {
	res, err := experiment.LoadResults(Must(Path(name + ".results")))
	return Must(res, notMade("results", name, err))
}

// SaveSolver keeps a solver's state under name for later cells.
func SaveSolver(name string, s relunet.Solver) {
	Check(relunet.SaveFile(Must(Path(name+".state")), s))
}

// LoadSolver returns the solver kept under name, on the data it was made
// for, or stops the cell.
func LoadSolver[S relunet.Solver](name string, X, Y mat.Matrix) S {
	s, err := relunet.LoadFile(Context(), Must(Path(name+".state")), X, Y)
	Check(notMade("solver", name, err))
	out, ok := s.(S)
	if !ok {
		Check(fmt.Errorf("display: the solver named %q is a %T", name, s))
	}
	return out
}

// Job is one data set of a comparison: the data, its protocol and the
// configurations to run on it.
type Job struct {
	Data    *data.Dataset
	Options experiment.Options
	Configs []experiment.Config
}

// Compare runs every job's configurations over the seeds, with a progress
// line, keeps the results under name for later cells, and shows their
// summary (and the errors of failed runs); it stops the cell when a run
// cannot be made (bad settings, or the cell interrupted).
func Compare(name string, seeds []uint64, jobs ...Job) []*experiment.Result {
	total := 0
	for _, j := range jobs {
		total += len(j.Configs) * len(seeds)
	}
	progress := NewProgress("runs", total)
	var all []*experiment.Result
	ctx := Context()
	for _, j := range jobs {
		done := len(all)
		res := Must(experiment.Compare(ctx, j.Data, j.Options, j.Configs, seeds, func(d, _ int, r *experiment.Result) {
			progress.Update(done+d, j.Data.Name+", "+r.Config.Label())
		}))
		all = append(all, res...)
	}
	SaveResults(name, all)
	Summary(all)
	return all
}

// Summary shows the summary table of results, for each data set the
// configurations with the lowest mean training and test MSE, and the
// errors of the runs that failed.
func Summary(results []*experiment.Result) {
	sums := experiment.Summarize(results)
	Table(experiment.Table(sums))
	sets, train, test := experiment.Lowest(sums)
	for i, ds := range sets {
		fmt.Printf("%s: lowest mean training MSE %s, lowest mean test MSE %s\n", ds, orNone(train[i]), orNone(test[i]))
	}
	for _, s := range sums {
		if s.Failed == 0 {
			continue
		}
		fmt.Printf("%s, %s: %d of %d runs failed:\n", s.Dataset, s.Label, s.Failed, s.Runs)
		for _, e := range s.Errors {
			fmt.Printf("    %s\n", e)
		}
	}
}

func orNone(label string) string {
	if label == "" {
		return "(none: every run failed)"
	}
	return label
}

// Arms shows what the adaptive strategy (experiment.Config.Auto) gave each
// of its variants in each run of results: the starts, their wall time
// (summed over starts run at once) and the lowest score one reached, the
// kept network's variant marked. Runs of other configurations are left
// out.
func Arms(results []*experiment.Result) {
	var rows [][]string
	for _, r := range results {
		kept := -1
		for i, a := range r.Arms {
			if a.Best == a.Best && (kept < 0 || a.Best < r.Arms[kept].Best) {
				kept = i
			}
		}
		for i, a := range r.Arms {
			mark := ""
			if i == kept {
				mark = "kept"
			}
			rows = append(rows, []string{r.Dataset, fmt.Sprint(r.Config.Seed), a.Name, fmt.Sprint(a.Starts),
				fmt.Sprintf("%.2f", a.Seconds), experiment.Format(a.Best), mark})
		}
	}
	Table([]string{"data", "seed", "variant", "starts", "seconds", "lowest score", ""}, rows)
}
