package data

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// File is one published file of a data set.
type File struct {
	Path   string // where it goes in a data directory, slash separated
	URL    string // its public address, at a pinned revision where there is one
	Size   int64  // bytes; 0 when not published
	SHA256 string // hex digest; "" when not published (recorded on first download)
}

// Kind says where a data set comes from.
type Kind int

const (
	Reference Kind = iota // files of the paper's experiments, fetched on first use
	Synthetic             // generated, no download
)

func (k Kind) String() string {
	if k == Synthetic {
		return "synthetic"
	}
	return "reference"
}

// Source describes a named data set.
type Source struct {
	Name    string
	Kind    Kind
	About   string
	Licence string
	Files   []File
	// load makes the data set from the contents of its files, by Path.
	load func(l *Loader, files map[string][]byte) (*Dataset, error)
}

// Reference repository of the paper's code, whose data/ folder holds the
// abalone, bike and SDF files.
const (
	RefRepository = "barbua/ANMIN"
	RefCommit     = "5a57d85552d5c059353014a85823bbc5df1f5435"
	RefBaseURL    = "https://raw.githubusercontent.com/" + RefRepository + "/" + RefCommit + "/data/"
)

func refFile(path string, size int64, sum string) File {
	return File{Path: path, URL: RefBaseURL + path, Size: size, SHA256: sum}
}

// Sources returns every named data set: the reference sets, then the
// synthetic ones.
func Sources() []Source {
	return []Source{
		{
			Name: "abalone", Kind: Reference, Licence: "MIT (barbua/ANMIN); data from the UCI repository",
			About: "UCI abalone without sex: 4177 rows, 7 inputs, target rings",
			Files: []File{refFile("abalone.csv", 183519, "c05c9c9294084e7c704cc23b38b8cb273e951d8530a5427ec7be2d60697d0c12")},
			load: func(_ *Loader, files map[string][]byte) (*Dataset, error) {
				return loadTable(files, "abalone", "abalone.csv", 7, nil,
					[]string{"length", "diameter", "height", "whole", "shucked", "viscera", "shell", "rings"})
			},
		},
		{
			Name: "bike", Kind: Reference, Licence: "MIT (barbua/ANMIN); data from the UCI repository",
			About: "UCI bike sharing, hourly: 17379 rows, 13 inputs, target cnt (registered dropped)",
			Files: []File{refFile("bike-sharing_hour.csv", 872280, "ba8af1670144a12a3233f6141ce25ae859f2dcaf790ce9b8331111e01acabacf")},
			load: func(_ *Loader, files map[string][]byte) (*Dataset, error) {
				return loadTable(files, "bike", "bike-sharing_hour.csv", 14, []int{13},
					[]string{"season", "yr", "mnth", "hr", "holiday", "weekday", "workingday", "weathersit",
						"temp", "atemp", "hum", "windspeed", "casual", "registered", "cnt"})
			},
		},
		{
			Name: "sdf", Kind: Reference, Licence: "MIT (barbua/ANMIN)",
			About: "signed distance field of a 232×315 horse mask: 73080 rows, inputs pixel row and column",
			Files: []File{
				refFile("SDF/X.csv", 889870, "b4e73e90f40a9f08c354596b1d9e07fbb02107ba65d2233a6e44374b826c6cd4"),
				refFile("SDF/Y.csv", 577876, "28c01cbd221cf94f5539060cba57961534b7ba9394abebf18e2d437d36fc63c8"),
			},
			load: loadSDF,
		},
		{
			Name: "patches", Kind: Reference, Licence: "CC0 (scikit-image's camera.png, by Lav Varshney)",
			About: "15×15 patches at stride 3 of a 512×512 photograph, with noise σ = 25 gray levels: 27556 rows, 225 inputs, 225 outputs (the clean patch)",
			Files: []File{{Path: "camera.png", Size: 139512, SHA256: "b0793d2adda0fa6ae899c03989482bff9a42d3d5690fc7e3648f2795d730c23a",
				URL: "https://raw.githubusercontent.com/scikit-image/scikit-image/v0.19.3/skimage/data/camera.png"}},
			load: func(l *Loader, files map[string][]byte) (*Dataset, error) {
				img, err := decodeImage("camera.png", files["camera.png"])
				if err != nil {
					return nil, err
				}
				return Patches("patches", img, l.PatchOptions, l.Seed)
			},
		},
		{
			Name: "year", Kind: Reference, Licence: "CC BY 4.0 (UCI Machine Learning Repository)",
			About: "UCI YearPredictionMSD: 515345 songs, 90 audio features, target the release year; its own split: the first 463715 to train",
			Files: []File{{Path: yearZip, URL: yearURL}},
			load:  loadYear,
		},
		synthetic("sin", "y = sin(x) on [-10, 10] in steps of 0.1: 201 rows", func(uint64) (*Dataset, error) { return Sin(), nil }),
		synthetic("sinx2", "y = sin(|x|²), x ~ N(0, I₄): 5000 rows", func(seed uint64) (*Dataset, error) { return SinNorm2(5000, 4, seed) }),
		synthetic("teacher", "a planted ReLU network (d = 5, h = 8) plus noise 0.1: 5000 rows", func(seed uint64) (*Dataset, error) {
			ds, _, err := Teacher(5000, 5, 8, 0.1, seed)
			return ds, err
		}),
		synthetic("shape-sdf", "signed distance field of a built-in shape on an 80×110 grid", func(uint64) (*Dataset, error) { return ShapeSDF(80, 110) }),
		synthetic("yearlike", "a stand-in of the year set's shape: 515345 rows, 90 inputs, a year-like target, the same split", func(seed uint64) (*Dataset, error) {
			return YearLike(YearRows, seed)
		}),
	}
}

func synthetic(name, about string, gen func(seed uint64) (*Dataset, error)) Source {
	return Source{Name: name, Kind: Synthetic, About: about, Licence: "generated",
		load: func(l *Loader, _ map[string][]byte) (*Dataset, error) { return gen(l.Seed) }}
}

// Lookup returns the data set of the given name.
func Lookup(name string) (Source, bool) {
	srcs := Sources()
	i := slices.IndexFunc(srcs, func(s Source) bool { return s.Name == name })
	if i < 0 {
		return Source{}, false
	}
	return srcs[i], true
}

// Names returns the names of the data sets of the given kind.
func Names(kind Kind) []string {
	var names []string
	for _, s := range Sources() {
		if s.Kind == kind {
			names = append(names, s.Name)
		}
	}
	return names
}

// Errors of Load.
var (
	ErrUnknown = errors.New("unknown data set")
	ErrNoData  = errors.New("data set not found")
)

// Loader finds, fetches, verifies and reads named data sets. Its zero value
// looks in Dirs(), fetches a missing file into CacheDir() from its public
// source (or the mirror in $RELUNET_DATA_URL), and says nothing.
type Loader struct {
	// Dirs are searched in order; nil means Dirs().
	Dirs []string
	// Cache is where missing files are fetched to and where digests are
	// recorded; "" means CacheDir().
	Cache string
	// NoFetch makes a missing file an error instead of a download.
	NoFetch bool
	// BaseURL replaces every file's own source (file f comes from BaseURL
	// joined with f.Path); "" means $RELUNET_DATA_URL, or each file's URL.
	BaseURL string
	// Client makes the downloads; nil means a client with Limits.
	Client *http.Client
	// Limits bound each download.
	Limits Limits
	// Log, when not nil, is told of every file fetched.
	Log io.Writer
	// Seed drives the synthetic sets and the noise of the patches.
	Seed uint64
	// PatchOptions say how the patches data set is cut.
	PatchOptions PatchOptions
}

func (l *Loader) dirs() []string {
	if l.Dirs != nil {
		return l.Dirs
	}
	return Dirs()
}

func (l *Loader) cache() (string, error) {
	if l.Cache != "" {
		return l.Cache, nil
	}
	return CacheDir()
}

// Load returns the named data set, fetching its files on first use.
func Load(name string) (*Dataset, error) { return (&Loader{}).Load(context.Background(), name) }

// Load returns the named data set: generated, or read from the first
// directory that holds all its files, each checked against its published
// (or recorded) size and SHA-256 as it is read: the bytes checked are the
// bytes parsed, on every load. Missing files are fetched into the cache
// unless NoFetch is set. Cancelling ctx stops a download and leaves no
// partial file.
func (l *Loader) Load(ctx context.Context, name string) (*Dataset, error) {
	src, ok := Lookup(name)
	if !ok {
		var all []string
		for _, s := range Sources() {
			all = append(all, s.Name)
		}
		return nil, fmt.Errorf("data: %w %q (have %s)", ErrUnknown, name, strings.Join(all, ", "))
	}
	var files map[string][]byte
	if len(src.Files) > 0 {
		var err error
		if files, _, err = l.open(ctx, src); err != nil {
			return nil, err
		}
	}
	return src.load(l, files)
}

// Ensure makes sure all files of src are in one directory, verified,
// fetching them into the cache when they are nowhere, and returns that
// directory.
func (l *Loader) Ensure(ctx context.Context, src Source) (string, error) {
	_, dir, err := l.open(ctx, src)
	return dir, err
}

// open returns the verified contents of src's files, by Path, and the
// directory they are in: the first that holds them all, or the cache after
// fetching them there.
func (l *Loader) open(ctx context.Context, src Source) (map[string][]byte, string, error) {
	cache, cerr := l.cache()
	recorded := map[string]string{}
	if cerr == nil {
		recorded = readDigests(cache).Recorded
	}
	dirs := l.dirs()
	for _, dir := range dirs {
		if dir == "" || !src.present(dir) {
			continue
		}
		files, err := readVerified(src, dir, recorded)
		return files, dir, err
	}
	if l.NoFetch {
		return nil, "", l.missing(src, dirs)
	}
	if cerr != nil {
		return nil, "", fmt.Errorf("data: %s: cannot fetch: %w", src.Name, cerr)
	}
	if err := l.fetch(ctx, src, cache); err != nil {
		return nil, "", err
	}
	files, err := readVerified(src, cache, readDigests(cache).Recorded)
	return files, cache, err
}

// Fetch is Ensure for the named data sets, each once.
func (l *Loader) Fetch(ctx context.Context, names ...string) error {
	for _, name := range names {
		src, ok := Lookup(name)
		if !ok {
			return fmt.Errorf("data: %w %q", ErrUnknown, name)
		}
		if len(src.Files) == 0 {
			continue
		}
		if _, _, err := l.open(ctx, src); err != nil {
			return err
		}
	}
	return nil
}

// Locate returns the first directory that holds all of src's files,
// without verifying them.
func (l *Loader) Locate(src Source) (string, bool) {
	for _, dir := range l.dirs() {
		if dir != "" && src.present(dir) {
			return dir, true
		}
	}
	return "", false
}

// Recorded returns the digest recorded in the cache for a file published
// without one, and whether there is one.
func (l *Loader) Recorded(f File) (string, bool) {
	cache, err := l.cache()
	if err != nil {
		return "", false
	}
	sum, ok := readDigests(cache).Recorded[f.Path]
	return sum, ok
}

func (s Source) present(dir string) bool {
	for _, f := range s.Files {
		if _, err := os.Stat(filepath.Join(dir, filepath.FromSlash(f.Path))); err != nil {
			return false
		}
	}
	return true
}

func (l *Loader) missing(src Source, dirs []string) error {
	where := "no data directory (set " + EnvDir + ")"
	if len(dirs) > 0 {
		where = strings.Join(dirs, " or ")
	}
	return fmt.Errorf("data: %s: %w in %s, and fetching is off: run `relunet data fetch %s` (or download %s)",
		src.Name, ErrNoData, where, src.Name, src.Files[0].URL)
}

// readVerified returns the contents of every file of src in dir, each
// checked against its published size and digest, or against the digest
// recorded on its first download for one published without.
func readVerified(src Source, dir string, recorded map[string]string) (map[string][]byte, error) {
	files := map[string][]byte{}
	for _, f := range src.Files {
		b, err := readFile(src.Name, f, filepath.Join(dir, filepath.FromSlash(f.Path)), recorded)
		if err != nil {
			return nil, err
		}
		files[f.Path] = b
	}
	return files, nil
}

// readFile reads the file at path and checks it against its published size
// and SHA-256, or those recorded on its first download: a local copy never
// downloaded is used as it is, and records nothing, so that a damaged copy
// cannot become the reference. A file beyond its published size (or
// MaxUnknownSize) is not read past it.
func readFile(name string, f File, path string, recorded map[string]string) ([]byte, error) {
	limit := f.Size
	if limit <= 0 {
		limit = MaxUnknownSize
	}
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	if info, err := fh.Stat(); err == nil && info.Size() > limit {
		return nil, fmt.Errorf("data: %s: %s has %d bytes, want %d (%w): remove it and run `relunet data fetch %s`",
			name, path, info.Size(), limit, ErrBadFile, name)
	}
	if err := checkGrid(path, 1, int(limit), 1); err != nil {
		return nil, err
	}
	b, err := io.ReadAll(io.LimitReader(fh, limit+1))
	if err != nil {
		return nil, fmt.Errorf("data: %s: %w", name, err)
	}
	sum := sha256.Sum256(b)
	got := hex.EncodeToString(sum[:])
	want, whose := f.SHA256, "published"
	if want == "" {
		want, whose = recorded[f.Path], "recorded on its first download (in digests.json of the cache)"
	}
	switch {
	case f.Size > 0 && int64(len(b)) != f.Size || int64(len(b)) > limit:
		return nil, fmt.Errorf("data: %s: %s has %d bytes, want %d (%w; truncated?): remove it and run `relunet data fetch %s`",
			name, path, len(b), limit, ErrBadFile, name)
	case want != "" && got != want:
		return nil, fmt.Errorf("data: %s: %s has SHA-256 %s, want %s, %s (%w): remove it and run `relunet data fetch %s`",
			name, path, got, want, whose, ErrBadFile, name)
	}
	return b, nil
}

// fetch downloads the files of src that cache lacks; a file published
// without a digest has the digest of its first download recorded.
func (l *Loader) fetch(ctx context.Context, src Source, cache string) error {
	lim := l.Limits.withDefaults()
	client := l.Client
	if client == nil {
		client = newClient(lim)
	}
	base := l.BaseURL
	if base == "" {
		base = os.Getenv(EnvURL)
	}
	for _, f := range src.Files {
		path := filepath.Join(cache, filepath.FromSlash(f.Path))
		if _, err := os.Stat(path); err == nil {
			continue // checked with the others when they are read
		}
		url := f.URL
		if base != "" {
			url = joinURL(base, f.Path)
		}
		want := f.SHA256
		if want == "" {
			want = readDigests(cache).Recorded[f.Path]
		}
		if l.Log != nil {
			fmt.Fprintf(l.Log, "fetching %s from %s\n", f.Path, url)
		}
		sum, err := download(ctx, client, lim, url, path, f.Size, want)
		if ctx.Err() != nil {
			return fmt.Errorf("data: fetching %s: stopped: %w", src.Name, context.Cause(ctx))
		}
		if err != nil {
			hint := ""
			if base != "" {
				hint = fmt.Sprintf(" from the mirror $%s=%s, which must hold the files at their paths (%s)", EnvURL, base, f.Path)
			}
			return fmt.Errorf("data: fetching %s%s: %w; fetch it once online with 'relunet data fetch %s' (go run ./cmd/relunet data fetch %s in this repository), or, to use it without a download, put the file at %s (or in a directory of $%s)",
				src.Name, hint, err, src.Name, src.Name, path, EnvDir)
		}
		note := "SHA-256 verified"
		if f.SHA256 == "" {
			first, err := recordDigest(cache, f.Path, sum)
			if err != nil {
				os.Remove(path)
				return fmt.Errorf("data: %s: recording the digest of %s: %w", src.Name, f.Path, err)
			}
			note = "SHA-256 matches the one recorded on first download"
			if first {
				note = "no published SHA-256: recorded " + sum + " for later loads"
			}
		}
		if l.Log != nil {
			fmt.Fprintf(l.Log, "fetched %s (%s) from %s to %s\n", f.Path, note, url, path)
		}
	}
	return nil
}

func loadTable(files map[string][]byte, name, file string, target int, drop []int, names []string) (*Dataset, error) {
	t, err := ReadCSV(bytes.NewReader(files[file]), file, HeaderNo)
	if err != nil {
		return nil, err
	}
	if _, c := t.Data.Dims(); c == len(names) {
		t.Names = names
	}
	return t.Dataset(name, []int{target}, drop...)
}

func loadSDF(_ *Loader, files map[string][]byte) (*Dataset, error) {
	x, err := ReadCSV(bytes.NewReader(files["SDF/X.csv"]), "SDF/X.csv", HeaderNo)
	if err != nil {
		return nil, err
	}
	y, err := ReadCSV(bytes.NewReader(files["SDF/Y.csv"]), "SDF/Y.csv", HeaderNo)
	if err != nil {
		return nil, err
	}
	if xr, _ := x.Data.Dims(); xr != 73080 {
		return nil, fmt.Errorf("data: sdf: X.csv has %d rows, want 73080", xr)
	}
	if yr, yc := y.Data.Dims(); yr != 73080 || yc != 1 {
		return nil, fmt.Errorf("data: sdf: Y.csv is %d×%d, want 73080×1", yr, yc)
	}
	return &Dataset{Name: "sdf", X: x.Data, Y: y.Data, XNames: []string{"row", "col"}, YNames: []string{"sdf"}}, nil
}
