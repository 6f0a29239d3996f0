package data

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The published sizes and digests are those of the files in $RELUNET_DATA.
func TestReferenceTableMatchesData(t *testing.T) {
	dirs := filepath.SplitList(os.Getenv(EnvDir))
	if len(dirs) == 0 {
		skipWithoutData(t, EnvDir+" is not set")
	}
	for _, s := range Sources() {
		for _, f := range s.Files {
			dir := dirs[0]
			for _, d := range dirs {
				if _, err := os.Stat(filepath.Join(d, f.Path)); err == nil {
					dir = d
					break
				}
			}
			b, err := os.ReadFile(filepath.Join(dir, f.Path))
			if errors.Is(err, os.ErrNotExist) {
				t.Logf("%s: not in %s", f.Path, dir)
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			digest := sha256.Sum256(b)
			sum, n := hex.EncodeToString(digest[:]), int64(len(b))
			if f.SHA256 != "" && sum != f.SHA256 || f.Size > 0 && n != f.Size {
				t.Errorf("%s: %d bytes, SHA-256 %s; the table says %d, %s", f.Path, n, sum, f.Size, f.SHA256)
			}
		}
	}
}

// With fetching off, a missing reference set is ErrNoData naming the
// command that fetches it.
func TestMissingReferenceData(t *testing.T) {
	l := &Loader{Dirs: []string{t.TempDir()}, Cache: t.TempDir(), NoFetch: true}
	_, err := l.Load(context.Background(), "bike")
	if !errors.Is(err, ErrNoData) || !strings.Contains(err.Error(), "relunet data fetch bike") {
		t.Errorf("missing file: error %v, want ErrNoData naming the fetch command", err)
	}
	if _, err := l.Load(context.Background(), "iris"); !errors.Is(err, ErrUnknown) {
		t.Errorf("unknown name: %v", err)
	}
	// Synthetic sets need no files.
	if ds, err := l.Load(context.Background(), "sinx2"); err != nil || ds.Name != "sinx2" {
		t.Errorf("synthetic: %v", err)
	}
}

// skipWithoutData skips a test whose reference data are not here, or, with
// RELUNET_REQUIRE_ALL=1 (as in CI), fails it: there, missing data are a
// broken set-up, not a reason to pass.
func skipWithoutData(t testing.TB, why string) {
	t.Helper()
	if os.Getenv("RELUNET_REQUIRE_ALL") == "1" {
		t.Fatalf("RELUNET_REQUIRE_ALL=1 and %s", why)
	}
	t.Skipf("skipping: %s", why)
}
