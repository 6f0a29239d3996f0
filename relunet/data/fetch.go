package data

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/relunet/relunet/relunet/internal/atomicfile"
	"github.com/relunet/relunet/relunet/internal/dirlock"
)

// Environment variables that change where data are found.
const (
	// EnvDir names directories searched before the cache, a list separated
	// like PATH (filepath.ListSeparator), each laid out like the reference
	// repository's data/ folder.
	EnvDir = "RELUNET_DATA"
	// EnvURL names a base URL (a mirror) that replaces every file's own
	// source: file f is fetched from it joined with f.Path.
	EnvURL = "RELUNET_DATA_URL"
)

// CacheDir returns the directory where fetched files are kept:
// os.UserCacheDir()/relunet.
func CacheDir() (string, error) {
	dir, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("data: no cache directory: %w", err)
	}
	return filepath.Join(dir, "relunet"), nil
}

// Dirs returns where data files are looked for, in order: the directories
// of $RELUNET_DATA, then the cache directory.
func Dirs() []string {
	var dirs []string
	for _, d := range filepath.SplitList(os.Getenv(EnvDir)) {
		if d != "" {
			dirs = append(dirs, d)
		}
	}
	if d, err := CacheDir(); err == nil {
		dirs = append(dirs, d)
	}
	return dirs
}

// Limits bound a download. A server that does not connect within Connect or
// answer within Header, that sends nothing for Idle, or less than MinRate
// bytes per second on average once Grace has passed, is given up. A zero
// field means its default: 20 s, 30 s, 30 s, 60 s and 4 KiB/s.
type Limits struct {
	Connect, Header, Idle, Grace time.Duration
	MinRate                      float64
}

func (l Limits) withDefaults() Limits {
	def := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&l.Connect, 20*time.Second)
	def(&l.Header, 30*time.Second)
	def(&l.Idle, 30*time.Second)
	def(&l.Grace, 60*time.Second)
	if l.MinRate <= 0 {
		l.MinRate = 4 << 10
	}
	return l
}

// MaxUnknownSize caps a download whose size is not published.
const MaxUnknownSize = 2 << 30

// newClient returns an HTTP client with the connect and header limits; the
// idle and rate limits are applied to the body by download.
func newClient(l Limits) *http.Client {
	return &http.Client{Transport: &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: l.Connect}).DialContext,
		TLSHandshakeTimeout:   l.Connect,
		ResponseHeaderTimeout: l.Header,
	}}
}

// joinURL returns base joined with the slash-separated path, whether or not
// base ends in a slash.
func joinURL(base, path string) string {
	return strings.TrimRight(base, "/") + "/" + strings.TrimLeft(path, "/")
}

// download writes the body at url to path through a temporary file in the
// same directory that is renamed into place only when the whole body
// arrived, within size bytes (when size > 0), and with the SHA-256 want
// (when want is not empty). It returns the digest. On any failure,
// cancellation of ctx included, no file is left behind.
func download(ctx context.Context, client *http.Client, lim Limits, url, path string, size int64, want string) (string, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", err
	}
	resp, err := client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("%s: %s", url, resp.Status)
	}
	limit := size
	if limit <= 0 {
		limit = MaxUnknownSize
	}
	if resp.ContentLength > limit {
		return "", fmt.Errorf("%s: the server announces %d bytes, more than the %d expected", url, resp.ContentLength, limit)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return "", err
	}
	// Named after this process, so that a fetch killed midway leaves a
	// temporary that the next fetch into the cache removes.
	pre := "." + filepath.Base(path) + ".fetch."
	atomicfile.Sweep(filepath.Dir(path), pre)
	tmp, err := os.CreateTemp(filepath.Dir(path), atomicfile.TempPattern(pre))
	if err != nil {
		return "", err
	}
	defer os.Remove(tmp.Name())
	h := sha256.New()
	body := &watchedReader{r: resp.Body, cancel: cancel, start: time.Now(), lim: lim}
	n, err := io.Copy(io.MultiWriter(tmp, h), io.LimitReader(body, limit+1))
	body.stop()
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if cause := context.Cause(ctx); err != nil && cause != nil && cause != context.Canceled {
		err = cause
	}
	switch {
	case err != nil:
		return "", fmt.Errorf("%s: after %d bytes: %w", url, n, err)
	case n > limit:
		return "", fmt.Errorf("%s: the body is longer than the %d bytes expected", url, limit)
	case size > 0 && n != size:
		return "", fmt.Errorf("%s: received %d bytes, want %d", url, n, size)
	}
	got := hex.EncodeToString(h.Sum(nil))
	if want != "" && got != want {
		return "", fmt.Errorf("%s: SHA-256 of the %d bytes received is %s, want %s", url, n, got, want)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return "", err
	}
	return got, os.Rename(tmp.Name(), path)
}

// watchedReader cancels a download whose body stalls for lim.Idle or
// trickles below lim.MinRate after lim.Grace.
type watchedReader struct {
	r      io.Reader
	cancel context.CancelCauseFunc
	start  time.Time
	lim    Limits
	n      int64
	mu     sync.Mutex
	timer  *time.Timer
}

func (w *watchedReader) Read(p []byte) (int, error) {
	w.mu.Lock()
	if w.timer == nil {
		w.timer = time.AfterFunc(w.lim.Idle, func() { w.cancel(fmt.Errorf("no data for %v", w.lim.Idle)) })
	} else {
		w.timer.Reset(w.lim.Idle)
	}
	w.mu.Unlock()
	n, err := w.r.Read(p)
	w.n += int64(n)
	if el := time.Since(w.start); el > w.lim.Grace && float64(w.n) < w.lim.MinRate*el.Seconds() {
		err := fmt.Errorf("slower than %.0f bytes per second (%d bytes in %.0f s)", w.lim.MinRate, w.n, el.Seconds())
		w.cancel(err)
		return n, err
	}
	return n, err
}

func (w *watchedReader) stop() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.timer != nil {
		w.timer.Stop()
	}
}

// digests is the cache's record, in digests.json, of the digests of files
// published without one, as their first download gave them.
type digests struct {
	Recorded map[string]string `json:"recorded"` // by the file's Path
}

func digestsPath(cache string) string { return filepath.Join(cache, "digests.json") }

// readDigests reads the cache's digests; a missing record is an empty one.
// A damaged one is empty too: the files it covers are then checked against
// nothing until they are downloaded again, which records them anew.
func readDigests(cache string) *digests {
	d := &digests{}
	if b, err := os.ReadFile(digestsPath(cache)); err == nil {
		_ = json.Unmarshal(b, d) // see above
	}
	if d.Recorded == nil {
		d.Recorded = map[string]string{}
	}
	return d
}

// recordDigest records sum for the file path, unless a digest is recorded
// already: then it must be sum. It reports whether it recorded it. The
// record is read, merged and written under a lock on the cache, so that
// concurrent fetches keep every digest.
func recordDigest(cache, path, sum string) (bool, error) {
	if err := os.MkdirAll(cache, 0o755); err != nil {
		return false, err
	}
	unlock, err := dirlock.Lock(cache)
	if err != nil {
		return false, err
	}
	defer unlock()
	d := readDigests(cache)
	if old, ok := d.Recorded[path]; ok {
		if old != sum {
			return false, fmt.Errorf("its digest %s differs from the one recorded on its first download, %s (%w)", sum, old, ErrBadFile)
		}
		return false, nil
	}
	d.Recorded[path] = sum
	b, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		return false, err
	}
	return true, WriteFileAtomic(digestsPath(cache), b)
}

// WriteFileAtomic writes b to path through a temporary file in the same
// directory renamed into place, with mode 0644: a reader sees the old file
// or the new one, never a part, and a failure leaves the old file as it was.
func WriteFileAtomic(path string, b []byte) error {
	return WriteAtomic(path, func(w io.Writer) error {
		_, err := w.Write(b)
		return err
	})
}

// WriteAtomic is WriteFileAtomic with the content written by write.
func WriteAtomic(path string, write func(io.Writer) error) error {
	return atomicfile.Write(path, write)
}

// ErrBadFile reports a data file whose size or digest is not the published one.
var ErrBadFile = errors.New("file does not match its published or recorded digest")
