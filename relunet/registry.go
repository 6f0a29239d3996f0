package relunet

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// EnvDataDir names the environment variable that holds the directory of the
// reference data sets, laid out as the reference repository's data/ folder.
const EnvDataDir = "RELUNET_DATA"

// RefFile is one file of a reference data set.
type RefFile struct {
	Path   string // relative to the data directory, slash separated
	SHA256 string // hex digest of the published file
}

// Reference describes a data set of the reference implementation.
type Reference struct {
	Name  string
	About string
	Files []RefFile
	load  func(dir string) (*Dataset, error)
}

// RefRepository and RefCommit locate the published reference files: file f
// is at RefBaseURL + f.Path.
const (
	RefRepository = "barbua/ANMIN"
	RefCommit     = "5a57d85552d5c059353014a85823bbc5df1f5435"
	RefBaseURL    = "https://raw.githubusercontent.com/" + RefRepository + "/" + RefCommit + "/data/"
)

// References returns the reference data sets: abalone, bike and sdf.
func References() []Reference {
	return []Reference{
		{
			Name:  "abalone",
			About: "UCI abalone without sex: 4177 rows, 7 inputs, target rings",
			Files: []RefFile{{"abalone.csv", "c05c9c9294084e7c704cc23b38b8cb273e951d8530a5427ec7be2d60697d0c12"}},
			load: func(dir string) (*Dataset, error) {
				return loadTable(dir, "abalone", "abalone.csv", 7, nil,
					[]string{"length", "diameter", "height", "whole", "shucked", "viscera", "shell", "rings"})
			},
		},
		{
			Name:  "bike",
			About: "UCI bike sharing, hourly: 17379 rows, 13 inputs, target cnt (registered dropped)",
			Files: []RefFile{{"bike-sharing_hour.csv", "ba8af1670144a12a3233f6141ce25ae859f2dcaf790ce9b8331111e01acabacf"}},
			load: func(dir string) (*Dataset, error) {
				return loadTable(dir, "bike", "bike-sharing_hour.csv", 14, []int{13},
					[]string{"season", "yr", "mnth", "hr", "holiday", "weekday", "workingday", "weathersit",
						"temp", "atemp", "hum", "windspeed", "casual", "registered", "cnt"})
			},
		},
		{
			Name:  "sdf",
			About: "signed distance field of a 232×315 horse mask: 73080 rows, inputs pixel row and column",
			Files: []RefFile{
				{"SDF/X.csv", "b4e73e90f40a9f08c354596b1d9e07fbb02107ba65d2233a6e44374b826c6cd4"},
				{"SDF/Y.csv", "28c01cbd221cf94f5539060cba57961534b7ba9394abebf18e2d437d36fc63c8"},
			},
			load: loadSDF,
		},
	}
}

// LookupReference returns the reference data set of the given name.
func LookupReference(name string) (Reference, bool) {
	refs := References()
	i := slices.IndexFunc(refs, func(r Reference) bool { return r.Name == name })
	if i < 0 {
		return Reference{}, false
	}
	return refs[i], true
}

// ErrNoData reports that a reference data set's files are not where they were looked for.
var ErrNoData = errors.New("data set not found")

// Load reads the reference data set from dir.
func (r Reference) Load(dir string) (*Dataset, error) {
	if dir == "" {
		return nil, fmt.Errorf("relunet: %s: %w: no data directory given (set %s to a directory laid out like the reference repository's data/)", r.Name, ErrNoData, EnvDataDir)
	}
	if p, f, ok := r.missing(dir); ok {
		return nil, fmt.Errorf("relunet: %s: %w: %s is missing (get it from %s%s)", r.Name, ErrNoData, p, RefBaseURL, f.Path)
	}
	return r.load(dir)
}

// missing returns the path of the first file of r that dir lacks.
func (r Reference) missing(dir string) (string, RefFile, bool) {
	for _, f := range r.Files {
		p := filepath.Join(dir, filepath.FromSlash(f.Path))
		if _, err := os.Stat(p); err != nil {
			return p, f, true
		}
	}
	return "", RefFile{}, false
}

// DataDirs returns where reference data sets are looked for, in order:
// $RELUNET_DATA, then the cache directory (see CacheDir), where present.
func DataDirs() []string {
	var dirs []string
	if d := os.Getenv(EnvDataDir); d != "" {
		dirs = append(dirs, d)
	}
	if d, err := CacheDir(); err == nil {
		dirs = append(dirs, d)
	}
	return dirs
}

// LoadReference reads the named reference data set (abalone, bike or sdf)
// from the first of DataDirs that has it.
func LoadReference(name string) (*Dataset, error) {
	r, ok := LookupReference(name)
	if !ok {
		return nil, fmt.Errorf("relunet: %w %q (reference sets: %s)", ErrUnknownData, name, strings.Join(ReferenceNames(), ", "))
	}
	dirs := DataDirs()
	if dir, ok := r.Locate(dirs...); ok {
		return r.Load(dir)
	}
	if len(dirs) == 0 {
		return r.Load("")
	}
	p, f, _ := r.missing(dirs[0])
	return nil, fmt.Errorf("relunet: %s: %w in %s: %s is missing (set %s, or fetch it from %s%s)",
		r.Name, ErrNoData, strings.Join(dirs, " or "), p, EnvDataDir, RefBaseURL, f.Path)
}

// ReferenceNames returns the names of the reference data sets.
func ReferenceNames() []string {
	var names []string
	for _, r := range References() {
		names = append(names, r.Name)
	}
	return names
}

func loadTable(dir, name, file string, target int, drop []int, names []string) (*Dataset, error) {
	t, err := ReadCSVFile(filepath.Join(dir, file), HeaderNo)
	if err != nil {
		return nil, err
	}
	if _, c := t.Data.Dims(); c == len(names) {
		t.Names = names
	}
	return t.Dataset(name, []int{target}, drop...)
}

func loadSDF(dir string) (*Dataset, error) {
	x, err := ReadCSVFile(filepath.Join(dir, "SDF", "X.csv"), HeaderNo)
	if err != nil {
		return nil, err
	}
	y, err := ReadCSVFile(filepath.Join(dir, "SDF", "Y.csv"), HeaderNo)
	if err != nil {
		return nil, err
	}
	ds := &Dataset{Name: "sdf", X: x.Data, Y: y.Data, XNames: []string{"row", "col"}, YNames: []string{"sdf"}}
	if err := CheckData(ds.X, ds.Y); err != nil {
		return nil, fmt.Errorf("sdf: %w", err)
	}
	return ds, nil
}
