package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

var bin string

// TestMain builds the command once; the tests run the binary end to end.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "relunet-cli")
	if err != nil {
		panic(err)
	}
	bin = filepath.Join(dir, "relunet")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		panic(string(out))
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// cli runs the binary with an empty cache and the given extra environment.
func cli(t *testing.T, env []string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "XDG_CACHE_HOME="+t.TempDir())
	cmd.Env = append(cmd.Env, env...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return o.String(), e.String(), code
}

func checkRecord(t *testing.T, line string, nTrain, nTest, iters int) map[string]any {
	t.Helper()
	var rec map[string]any
	if err := json.Unmarshal([]byte(line), &rec); err != nil {
		t.Fatalf("not JSON: %v: %s", err, line)
	}
	for _, k := range []string{"dataset", "method", "hidden", "seed", "n_train", "n_test", "train_mse", "test_mse",
		"train_r2", "test_r2", "seconds", "curve", "curve_seconds"} {
		if _, ok := rec[k]; !ok {
			t.Errorf("field %s missing", k)
		}
	}
	if rec["n_train"] != float64(nTrain) || rec["n_test"] != float64(nTest) {
		t.Errorf("n_train %v, n_test %v, want %d, %d", rec["n_train"], rec["n_test"], nTrain, nTest)
	}
	curve, _ := rec["curve"].([]any)
	secs, _ := rec["curve_seconds"].([]any)
	if len(curve) != iters+1 || len(secs) != len(curve) {
		t.Fatalf("curve of %d points and %d times, want %d", len(curve), len(secs), iters+1)
	}
	for i := 1; i < len(secs); i++ {
		if secs[i].(float64) < secs[i-1].(float64) {
			t.Errorf("curve_seconds decreases at %d", i)
		}
	}
	if mse := rec["train_mse"].(float64); !(mse > 0 && mse == curve[len(curve)-1].(float64)) {
		t.Errorf("train_mse %v, last curve value %v", mse, curve[len(curve)-1])
	}
	return rec
}

func TestTrainJSONOnSin(t *testing.T) {
	out, errOut, code := cli(t, nil, "train", "-data", "sin", "-hidden", "16", "-method", "analytic", "-safeguard", "-json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	rec := checkRecord(t, strings.TrimSpace(out), 161, 40, 30)
	if rec["method"] != "analytic" || rec["safeguard"] != true || rec["dataset"] != "sin" {
		t.Errorf("record %v", rec)
	}
	curve := rec["curve"].([]any)
	for i := 1; i < len(curve); i++ {
		if curve[i].(float64) > curve[i-1].(float64) {
			t.Errorf("safeguarded curve rises at %d", i)
		}
	}
	if r2 := rec["train_r2"].(float64); !(r2 > 0.3 && r2 <= 1) {
		t.Errorf("train R² %v", r2)
	}
}

func TestTrainJSONOnCSV(t *testing.T) {
	path := filepath.Join(t.TempDir(), "small.csv")
	var b strings.Builder
	b.WriteString("y,a,b\n")
	for i := 0; i < 50; i++ {
		a, c := float64(i)/10, float64(i%7)
		b.WriteString(strings.Join([]string{ftoa(2*a - c), ftoa(a), ftoa(c)}, ",") + "\n")
	}
	os.WriteFile(path, []byte(b.String()), 0o644)
	out, errOut, code := cli(t, nil, "train", "-data", path, "-target", "1", "-hidden", "4", "-method", "lbfgs", "-iters", "40", "-json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	rec := checkRecord(t, strings.TrimSpace(out), 40, 10, 40)
	if rec["dataset"] != "small" || rec["train_r2"].(float64) < 0.99 {
		t.Errorf("a linear target is not fitted: %v", rec["train_r2"])
	}
	// Without -json: a one-line summary.
	out, _, code = cli(t, nil, "train", "-data", path, "-target", "1", "-hidden", "4", "-method", "sgd", "-epochs", "5")
	if code != 0 || !strings.HasPrefix(out, "sgd on small, h=4, seed 0: train MSE") {
		t.Errorf("summary %q (exit %d)", out, code)
	}
}

func ftoa(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

func TestCompareWritesFiles(t *testing.T) {
	dir := t.TempDir()
	out, errOut, code := cli(t, nil, "compare", "-data", "sin", "-hidden", "8", "-runs", "2",
		"-methods", "analytic,analytic-safeguard,lbfgs,adam", "-iters", "10", "-epochs", "10", "-out", dir)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, m := range []string{"analytic ", "analytic-safeguard ", "lbfgs ", "adam "} {
		if !strings.Contains(out, "\n"+m) {
			t.Errorf("table has no row for %s:\n%s", m, out)
		}
	}
	csv, _ := os.ReadFile(filepath.Join(dir, "runs.csv"))
	if n := strings.Count(string(csv), "\n"); n != 9 {
		t.Errorf("runs.csv has %d lines, want 9", n)
	}
	var recs []map[string]any
	js, _ := os.ReadFile(filepath.Join(dir, "runs.json"))
	if err := json.Unmarshal(js, &recs); err != nil || len(recs) != 8 {
		t.Errorf("runs.json: %v, %d records", err, len(recs))
	}
	for _, png := range []string{"loss_vs_iteration.png", "loss_vs_time.png"} {
		b, err := os.ReadFile(filepath.Join(dir, png))
		if err != nil || !bytes.HasPrefix(b, []byte("\x89PNG")) {
			t.Errorf("%s: %v", png, err)
		}
	}
	// -json: one object per run.
	out, _, code = cli(t, nil, "compare", "-data", "sin", "-hidden", "4", "-runs", "2", "-methods", "analytic", "-iters", "3", "-json")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != 0 || len(lines) != 2 {
		t.Fatalf("exit %d, %d lines", code, len(lines))
	}
	for _, l := range lines {
		checkRecord(t, l, 161, 40, 3)
	}
}

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{},
		{"frobnicate"},
		{"train"},
		{"train", "-data", "sin", "-bogus"},
		{"train", "-data", "sin", "-method", "newton"},
		{"train", "-data", "sin", "-method", "sgd", "-safeguard"},
		{"train", "-data", "sin", "-method", "sgd", "-iters", "5"},
		{"train", "-data", "sin", "-test", "1.5"},
		{"train", "-data", "sin", "-hidden", "0"},
		{"train", "-data", "nowhere"},
		{"train", "-data", "sin", "-target", "2"},
		{"compare", "-data", "sin", "-methods", "analytic,bfgs"},
		{"data", "fetch", "sin"},
		{"data"},
	} {
		_, errOut, code := cli(t, nil, args...)
		if code != 2 || !strings.Contains(errOut, "usage:") {
			t.Errorf("%v: exit %d, stderr %q", args, code, errOut)
		}
	}
}

func TestBadCSVField(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bad.csv")
	os.WriteFile(path, []byte("1,2,3\n4,5,6\n7,eight,9\n"), 0o644)
	_, errOut, code := cli(t, nil, "train", "-data", path, "-hidden", "2")
	if code != 1 || !strings.Contains(errOut, path+":3: column 2") || strings.Count(strings.TrimSpace(errOut), "\n") != 0 {
		t.Errorf("exit %d, stderr %q", code, errOut)
	}
}

// TestFetchOnFirstUse serves the reference files from $RELUNET_DATA over a
// local HTTP server and checks that train and data fetch put them in the cache.
func TestFetchOnFirstUse(t *testing.T) {
	src := os.Getenv("RELUNET_DATA")
	if src == "" {
		t.Skip("skipping: RELUNET_DATA is not set")
	}
	srv := httptest.NewServer(http.FileServer(http.Dir(src)))
	defer srv.Close()
	cache := t.TempDir()
	env := []string{"RELUNET_DATA=", "XDG_CACHE_HOME=" + cache, "RELUNET_DATA_URL=" + srv.URL + "/"}
	out, errOut, code := cli(t, env, "train", "-data", "abalone", "-hidden", "4", "-iters", "2")
	if code != 0 || !strings.Contains(errOut, "fetched "+filepath.Join(cache, "relunet", "abalone.csv")) || !strings.HasPrefix(out, "analytic on abalone") {
		t.Fatalf("exit %d: %s / %s", code, out, errOut)
	}
	out, _, _ = cli(t, env, "data", "list")
	if !strings.Contains(out, "in "+filepath.Join(cache, "relunet")) || !strings.Contains(out, "bike") {
		t.Errorf("data list: %s", out)
	}
	_, errOut, code = cli(t, env, "data", "fetch", "sdf")
	if code != 0 || !strings.Contains(errOut, "SDF/Y.csv") {
		t.Errorf("data fetch sdf: exit %d, %s", code, errOut)
	}
	// Offline: a clear error with the URL and where to put the file.
	env = []string{"RELUNET_DATA=", "XDG_CACHE_HOME=" + t.TempDir(), "RELUNET_DATA_URL=http://127.0.0.1:1/"}
	_, errOut, code = cli(t, env, "data", "fetch", "bike")
	if code != 1 || !strings.Contains(errOut, "http://127.0.0.1:1/bike-sharing_hour.csv") || !strings.Contains(errOut, "download it by hand to") {
		t.Errorf("offline: exit %d, %s", code, errOut)
	}
}
