package data

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

var toyBody = []byte("1,2,3\n4,5,6\n")

func toySource(withDigest bool) Source {
	sum := sha256.Sum256(toyBody)
	f := File{Path: "sub/toy.csv", URL: "http://127.0.0.1:1/unused"}
	if withDigest {
		f.Size, f.SHA256 = int64(len(toyBody)), hex.EncodeToString(sum[:])
	}
	return Source{Name: "toy", Files: []File{f}}
}

// fast are limits that let the hostile-server tests finish in a second.
var fast = Limits{Connect: time.Second, Header: 300 * time.Millisecond, Idle: 300 * time.Millisecond,
	Grace: 400 * time.Millisecond, MinRate: 1000}

// patient are fast but for the waits, which a loaded machine can stretch
// in a test of something else: a server's answer, the next chunk.
var patient = Limits{Connect: time.Second, Header: 5 * time.Second, Idle: 5 * time.Second,
	Grace: fast.Grace, MinRate: fast.MinRate}

// noFetchFiles reports the temporary files left in dir.
func leftovers(t *testing.T, dir string) []string {
	t.Helper()
	var left []string
	filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err == nil && strings.HasPrefix(info.Name(), ".fetch-") {
			left = append(left, p)
		}
		return nil
	})
	return left
}

func server(t *testing.T) *httptest.Server {
	mux := http.NewServeMux()
	mux.HandleFunc("/ok/sub/toy.csv", func(w http.ResponseWriter, r *http.Request) { w.Write(toyBody) })
	mux.HandleFunc("/bad/sub/toy.csv", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("1,2,3\n4,5,7\n")) })
	mux.HandleFunc("/short/sub/toy.csv", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(len(toyBody)))
		w.Write(toyBody[:5]) // the connection closes before the promised length
	})
	mux.HandleFunc("/huge/sub/toy.csv", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(300<<20))
		w.Write(make([]byte, 1<<20))
	})
	mux.HandleFunc("/endless/sub/toy.csv", func(w http.ResponseWriter, r *http.Request) {
		// Chunked, no length: the size cap stops it.
		for i := 0; i < 1000 && r.Context().Err() == nil; i++ {
			w.Write(make([]byte, 1<<16))
		}
	})
	mux.HandleFunc("/mute/sub/toy.csv", func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done() // never answers
	})
	mux.HandleFunc("/stall/sub/toy.csv", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(len(toyBody)))
		w.Write(toyBody[:3])
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	})
	mux.HandleFunc("/trickle/sub/toy.csv", func(w http.ResponseWriter, r *http.Request) {
		for r.Context().Err() == nil {
			w.Write([]byte{'1'})
			w.(http.Flusher).Flush()
			time.Sleep(50 * time.Millisecond)
		}
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// Every failed download says why and where to put the file, and leaves no
// file behind.
func TestFetchFailures(t *testing.T) {
	srv := server(t)
	for _, tc := range []struct {
		name, base, want string
		unknownSize      bool
	}{
		{"404", srv.URL + "/missing", "404 Not Found", false},
		{"wrong checksum", srv.URL + "/bad/", "SHA-256 of the 12 bytes received", false},
		{"truncated", srv.URL + "/short", "after 5 bytes", false},
		{"no server", "http://127.0.0.1:1", "connection refused", false},
		{"announced too long", srv.URL + "/huge", "announces 314572800 bytes, more than the 12 expected", false},
		{"longer than the cap", srv.URL + "/endless", "longer than the 12 bytes expected", false},
		{"never answers", srv.URL + "/mute", "timeout awaiting response headers", false},
		{"stalls", srv.URL + "/stall", "no data for 300ms", false},
		{"trickles", srv.URL + "/trickle", "slower than 1000 bytes per second", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cache := t.TempDir()
			// Only the cases about waiting wait briefly.
			limits := patient
			if tc.name == "never answers" || tc.name == "stalls" || tc.name == "trickles" {
				limits = fast
			}
			l := &Loader{Dirs: []string{}, Cache: cache, BaseURL: tc.base, Limits: limits}
			start := time.Now()
			_, err := l.Ensure(context.Background(), toySource(!tc.unknownSize))
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), filepath.Join(cache, "sub", "toy.csv")) {
				t.Errorf("error %v, want one with %q and the path to put the file", err, tc.want)
			}
			if el := time.Since(start); el > 5*time.Second {
				t.Errorf("took %v", el)
			}
			if left := leftovers(t, cache); len(left) > 0 {
				t.Errorf("left %v behind", left)
			}
			if _, err := os.Stat(filepath.Join(cache, "sub", "toy.csv")); err == nil {
				t.Error("a file was written")
			}
		})
	}
}

// Cancelling a download (Ctrl-C in the command line tool) stops it and
// leaves no file behind.
func TestFetchCancelled(t *testing.T) {
	srv := server(t)
	cache := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(200*time.Millisecond, cancel)
	l := &Loader{Dirs: []string{}, Cache: cache, BaseURL: srv.URL + "/stall"} // default limits: only the cancel stops it
	_, err := l.Ensure(ctx, toySource(true))
	if !errors.Is(err, context.Canceled) {
		t.Errorf("error %v, want context.Canceled", err)
	}
	if left := leftovers(t, cache); len(left) > 0 {
		t.Errorf("left %v behind", left)
	}
}

func TestFetchAndVerify(t *testing.T) {
	srv := server(t)
	cache := t.TempDir()
	var log bytes.Buffer
	// The partial download of a fetch that was killed (its process gone)
	// is removed by the next fetch into the cache.
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	leftover := filepath.Join(cache, "sub", fmt.Sprintf(".toy.csv.fetch.%d.123", dead.Process.Pid))
	for _, base := range []string{srv.URL + "/ok", srv.URL + "/ok/"} { // with and without the slash
		os.RemoveAll(filepath.Join(cache, "sub"))
		os.MkdirAll(filepath.Dir(leftover), 0o755)
		os.WriteFile(leftover, []byte("part"), 0o600)
		l := &Loader{Dirs: []string{}, Cache: cache, BaseURL: base, Log: &log}
		dir, err := l.Ensure(context.Background(), toySource(true))
		if err != nil || dir != cache {
			t.Fatalf("base %s: %v, %s", base, err, dir)
		}
	}
	if _, err := os.Stat(leftover); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a killed fetch's partial download is still there: %v", err)
	}
	path := filepath.Join(cache, "sub", "toy.csv")
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, toyBody) || info.Mode().Perm() != 0o644 {
		t.Errorf("file holds %q with mode %v", got, info.Mode())
	}
	if !strings.Contains(log.String(), "fetched sub/toy.csv (SHA-256 verified)") {
		t.Errorf("log: %s", log.String())
	}
	// A second use verifies the file and downloads nothing, even from a broken server.
	l := &Loader{Dirs: []string{cache}, Cache: cache, BaseURL: srv.URL + "/missing/"}
	if _, err := l.Ensure(context.Background(), toySource(true)); err != nil {
		t.Errorf("second use: %v", err)
	}
	// A cached file cut short is found out before use, with the fix named.
	if err := os.WriteFile(path, toyBody[:7], 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = l.Ensure(context.Background(), toySource(true))
	if !errors.Is(err, ErrBadFile) || !strings.Contains(err.Error(), "has 7 bytes, want 12") || !strings.Contains(err.Error(), "relunet data fetch toy") {
		t.Errorf("truncated cache: %v", err)
	}
	// So is a changed file of the same size and modification time (as cp
	// -p, rsync -t, tar x and bit rot leave it): every load checks the bytes.
	if err := os.WriteFile(path, toyBody, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Ensure(context.Background(), toySource(true)); err != nil {
		t.Fatal(err)
	}
	info, err = os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	changed := bytes.Replace(toyBody, []byte("6"), []byte("7"), 1)
	if err := os.WriteFile(path, changed, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(path, info.ModTime(), info.ModTime()); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Ensure(context.Background(), toySource(true)); !errors.Is(err, ErrBadFile) || !strings.Contains(err.Error(), "SHA-256") {
		t.Errorf("changed cache: %v", err)
	}
}

// Concurrent fetches keep every recorded digest: the record is read,
// merged and written under a lock. A second digest for the same file is
// refused.
func TestRecordDigestConcurrently(t *testing.T) {
	cache := t.TempDir()
	var wg sync.WaitGroup
	for k := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := recordDigest(cache, fmt.Sprintf("file%d", k), fmt.Sprintf("sum%d", k)); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if rec := readDigests(cache).Recorded; len(rec) != 20 {
		t.Errorf("%d digests recorded, want 20", len(rec))
	}
	if first, err := recordDigest(cache, "file3", "sum3"); first || err != nil {
		t.Errorf("the same digest again: %v, %v", first, err)
	}
	if _, err := recordDigest(cache, "file3", "other"); !errors.Is(err, ErrBadFile) {
		t.Errorf("another digest for file3: %v", err)
	}
}

// A file published without a digest gets the one of its first download, and
// every later copy is checked against it.
func TestRecordedDigest(t *testing.T) {
	srv := server(t)
	cache := t.TempDir()
	var log bytes.Buffer
	l := &Loader{Dirs: []string{cache}, Cache: cache, BaseURL: srv.URL + "/ok", Log: &log}
	if _, err := l.Ensure(context.Background(), toySource(false)); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(toyBody)
	if rec, ok := l.Recorded(toySource(false).Files[0]); !ok || rec != hex.EncodeToString(sum[:]) {
		t.Errorf("recorded %q, %v", rec, ok)
	}
	if !strings.Contains(log.String(), "no published SHA-256: recorded") {
		t.Errorf("log: %s", log.String())
	}
	os.Remove(filepath.Join(cache, "sub", "toy.csv"))
	l.BaseURL = srv.URL + "/bad"
	if _, err := l.Ensure(context.Background(), toySource(false)); err == nil || !strings.Contains(err.Error(), "SHA-256 of the 12 bytes") {
		t.Errorf("a different second download: %v", err)
	}
	l.BaseURL = srv.URL + "/ok"
	if _, err := l.Ensure(context.Background(), toySource(false)); err != nil {
		t.Errorf("the same second download: %v", err)
	}
}
