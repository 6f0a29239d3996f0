package relunet

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
)

// CacheDir returns the directory where fetched reference files are kept:
// os.UserCacheDir()/relunet.
func CacheDir() (string, error) {
	dir, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("relunet: no cache directory: %w", err)
	}
	return filepath.Join(dir, "relunet"), nil
}

// Locate returns the first of dirs that holds all of r's files.
func (r Reference) Locate(dirs ...string) (string, bool) {
	for _, dir := range dirs {
		if _, _, missing := r.missing(dir); dir != "" && !missing {
			return dir, true
		}
	}
	return "", false
}

// Fetch downloads the files of r that dir lacks from baseURL (RefBaseURL when
// empty) into dir, and returns the paths it wrote. Each file is checked
// against its SHA-256 and written atomically: on any failure no partial file
// is left. A file already in dir is verified, not downloaded again.
func (r Reference) Fetch(ctx context.Context, client *http.Client, baseURL, dir string) ([]string, error) {
	if baseURL == "" {
		baseURL = RefBaseURL
	}
	if client == nil {
		client = http.DefaultClient
	}
	var wrote []string
	for _, f := range r.Files {
		path := filepath.Join(dir, filepath.FromSlash(f.Path))
		if sum, err := fileSHA256(path); err == nil {
			if sum != f.SHA256 {
				return wrote, fmt.Errorf("relunet: %s exists but its SHA-256 is %s, want %s: remove it and fetch again", path, sum, f.SHA256)
			}
			continue
		}
		url := baseURL + f.Path
		if err := download(ctx, client, url, path, f.SHA256); err != nil {
			return wrote, fmt.Errorf("relunet: fetching %s: %w; offline, download it by hand to %s", r.Name, err, path)
		}
		wrote = append(wrote, path)
	}
	return wrote, nil
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// download writes the body at url to path through a temporary file that is
// renamed into place only when the whole body arrived with the right digest.
func download(ctx context.Context, client *http.Client, url, path, want string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", url, resp.Status)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".fetch-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(tmp, h), resp.Body)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("%s: after %d bytes: %w", url, n, err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != want {
		return fmt.Errorf("%s: SHA-256 of the %d bytes received is %s, want %s", url, n, got, want)
	}
	return os.Rename(tmp.Name(), path)
}

// ErrUnknownData reports a data set name that is neither a reference nor a synthetic set.
var ErrUnknownData = errors.New("unknown data set")
