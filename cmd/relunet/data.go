package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/relunet/relunet/relunet"
)

// envDataURL overrides the base URL of the reference files, for a mirror
// (and for tests).
const envDataURL = "RELUNET_DATA_URL"

func data(args []string, stdout, stderr io.Writer) error {
	switch {
	case len(args) == 1 && args[0] == "list":
		return dataList(stdout)
	case len(args) == 2 && args[0] == "fetch":
		r, ok := relunet.LookupReference(args[1])
		if !ok {
			return usagef("data fetch: %q is not a reference data set (%s)", args[1], strings.Join(relunet.ReferenceNames(), ", "))
		}
		dir, err := fetch(r, stderr)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s: in %s\n", r.Name, dir)
		return nil
	}
	return usagef("data: want 'data list' or 'data fetch NAME'")
}

func dataList(w io.Writer) error {
	dirs := relunet.DataDirs()
	for _, r := range relunet.References() {
		where := "missing (relunet data fetch " + r.Name + ")"
		if dir, ok := r.Locate(dirs...); ok {
			where = "in " + dir
		}
		fmt.Fprintf(w, "%-10s reference  %s; %s\n", r.Name, r.About, where)
	}
	for _, name := range relunet.SyntheticNames() {
		fmt.Fprintf(w, "%-10s synthetic  generated, no download\n", name)
	}
	return nil
}

// fetch makes sure r's files are in one of the data directories, downloading
// them into the cache directory when they are not, and returns the directory.
func fetch(r relunet.Reference, stderr io.Writer) (string, error) {
	if dir, ok := r.Locate(relunet.DataDirs()...); ok {
		return dir, nil
	}
	dir, err := relunet.CacheDir()
	if err != nil {
		return "", err
	}
	wrote, err := r.Fetch(context.Background(), nil, os.Getenv(envDataURL), dir)
	for _, p := range wrote {
		fmt.Fprintf(stderr, "relunet: fetched %s (SHA-256 verified)\n", p)
	}
	return dir, err
}

// openData returns the data set named by the -data flag: a CSV file, a
// reference set (fetched on first use) or a synthetic set. target is the
// 1-based target column of a CSV file, 0 for its last.
func openData(name string, target int, seed uint64, stderr io.Writer) (*relunet.Dataset, error) {
	if strings.HasSuffix(strings.ToLower(name), ".csv") {
		tab, err := relunet.ReadCSVFile(name, relunet.HeaderAuto)
		if err != nil {
			return nil, err
		}
		_, cols := tab.Data.Dims()
		if target == 0 {
			target = cols
		}
		if target < 1 || target > cols {
			return nil, usagef("-target %d: %s has columns 1 to %d", target, name, cols)
		}
		if cols < 2 {
			return nil, fmt.Errorf("%s: needs at least two columns, an input and a target", name)
		}
		return tab.Dataset(strings.TrimSuffix(filepath.Base(name), filepath.Ext(name)), []int{target - 1})
	}
	if target != 0 {
		return nil, usagef("-target applies to CSV files only, not to %q", name)
	}
	if r, ok := relunet.LookupReference(name); ok {
		ds, err := relunet.LoadReference(name)
		if !errors.Is(err, relunet.ErrNoData) {
			return ds, err
		}
		dir, err := fetch(r, stderr)
		if err != nil {
			return nil, err
		}
		return r.Load(dir)
	}
	ds, err := relunet.Synthetic(name, seed)
	if errors.Is(err, relunet.ErrUnknownData) {
		return nil, usagef("-data %q: not a CSV file nor one of %s, %s", name,
			strings.Join(relunet.ReferenceNames(), ", "), strings.Join(relunet.SyntheticNames(), ", "))
	}
	return ds, err
}
