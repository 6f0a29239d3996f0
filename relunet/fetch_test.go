package relunet

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestFetch(t *testing.T) {
	body := []byte("1,2,3\n4,5,6\n")
	sum := sha256.Sum256(body)
	ref := Reference{Name: "toy", Files: []RefFile{{Path: "sub/toy.csv", SHA256: hex.EncodeToString(sum[:])}}}
	mux := http.NewServeMux()
	mux.HandleFunc("/ok/sub/toy.csv", func(w http.ResponseWriter, r *http.Request) { w.Write(body) })
	mux.HandleFunc("/bad/sub/toy.csv", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("1,2,3\n4,5,7\n")) })
	mux.HandleFunc("/short/sub/toy.csv", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.Write(body[:5]) // the connection closes before the promised length
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	ctx := context.Background()

	for _, tc := range []struct{ name, base, want string }{
		{"404", srv.URL + "/missing/", "404 Not Found"},
		{"wrong checksum", srv.URL + "/bad/", "SHA-256 of the 12 bytes received"},
		{"truncated", srv.URL + "/short/", "after 5 bytes"},
		{"no server", "http://127.0.0.1:1/", "connection refused"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			wrote, err := ref.Fetch(ctx, srv.Client(), tc.base, dir)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), filepath.Join(dir, "sub", "toy.csv")) {
				t.Errorf("error %v, want one with %q and the path to put the file", err, tc.want)
			}
			if len(wrote) != 0 {
				t.Errorf("reported files %v", wrote)
			}
			entries, _ := os.ReadDir(filepath.Join(dir, "sub"))
			if len(entries) != 0 {
				t.Errorf("left %d files behind", len(entries))
			}
		})
	}

	dir := t.TempDir()
	wrote, err := ref.Fetch(ctx, srv.Client(), srv.URL+"/ok/", dir)
	if err != nil || len(wrote) != 1 {
		t.Fatalf("fetch: %v, wrote %v", err, wrote)
	}
	got, _ := os.ReadFile(wrote[0])
	if string(got) != string(body) {
		t.Errorf("file holds %q", got)
	}
	if d, ok := ref.Locate("", t.TempDir(), dir); !ok || d != dir {
		t.Errorf("Locate: %q %v", d, ok)
	}
	// A second fetch verifies the file and downloads nothing, even from a broken server.
	if wrote, err := ref.Fetch(ctx, srv.Client(), srv.URL+"/missing/", dir); err != nil || len(wrote) != 0 {
		t.Errorf("second fetch: %v, wrote %v", err, wrote)
	}
}

func TestReferenceTableMatchesData(t *testing.T) {
	dir := os.Getenv(EnvDataDir)
	if dir == "" {
		t.Skip("skipping: " + EnvDataDir + " is not set")
	}
	for _, r := range References() {
		for _, f := range r.Files {
			sum, err := fileSHA256(filepath.Join(dir, f.Path))
			if err != nil {
				t.Skipf("skipping: %v", err)
			}
			if sum != f.SHA256 {
				t.Errorf("%s: SHA-256 %s, table says %s", f.Path, sum, f.SHA256)
			}
		}
	}
}
