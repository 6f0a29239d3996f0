package main

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
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
	for _, k := range []string{"dataset", "method", "safeguard", "hidden", "seed", "alpha", "ridge", "iterations", "n_train", "n_test",
		"train_mse", "test_mse", "train_r2", "test_r2", "seconds", "status", "curve", "curve_seconds"} {
		if _, ok := rec[k]; !ok {
			t.Errorf("field %s missing", k)
		}
	}
	if rec["n_train"] != float64(nTrain) || rec["n_test"] != float64(nTest) {
		t.Errorf("n_train %v, n_test %v, want %d, %d", rec["n_train"], rec["n_test"], nTrain, nTest)
	}
	curve, _ := rec["curve"].([]any)
	secs, _ := rec["curve_seconds"].([]any)
	if iters >= 0 && len(curve) != iters+1 || len(secs) != len(curve) || rec["iterations"] != float64(len(curve)-1) {
		t.Fatalf("curve of %d points and %d times for %v iterations, want %d", len(curve), len(secs), rec["iterations"], iters+1)
	}
	for i := 1; i < len(secs); i++ {
		if secs[i].(float64) < secs[i-1].(float64) {
			t.Errorf("curve_seconds decreases at %d", i)
		}
	}
	// The solver's loss and the evaluation's MSE sum the same squares in
	// different orders (and over several outputs): equal up to rounding.
	if mse, ok := rec["train_mse"].(float64); !ok || math.Abs(mse-curve[len(curve)-1].(float64)) > 1e-12*mse {
		t.Errorf("train_mse %v, last curve value %v", rec["train_mse"], curve[len(curve)-1])
	}
	return rec
}

func TestTrainJSONOnSin(t *testing.T) {
	out, errOut, code := cli(t, nil, "train", "-data", "sin", "-hidden", "16", "-method", "analytic", "-safeguard", "-json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	rec := checkRecord(t, strings.TrimSpace(out), 161, 40, -1)
	if rec["method"] != "analytic" || rec["safeguard"] != true || rec["dataset"] != "sin" {
		t.Errorf("record %v", rec)
	}
	curve := rec["curve"].([]any)
	for i := 1; i < len(curve); i++ {
		if curve[i].(float64) > curve[i-1].(float64) {
			t.Errorf("safeguarded curve rises at %d", i)
		}
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
	rec := checkRecord(t, strings.TrimSpace(out), 40, 10, -1)
	if rec["dataset"] != "small" || rec["train_r2"].(float64) < 0.99 {
		t.Errorf("a linear target is not fitted: %v", rec["train_r2"])
	}
	// Without -json: a one-line summary, in epochs for a gradient method.
	out, _, code = cli(t, nil, "train", "-data", path, "-target", "1", "-hidden", "4", "-method", "sgd", "-epochs", "5", "-lr", "0.01", "-batch", "8")
	if code != 0 || !strings.HasPrefix(out, "sgd on small, h=4, seed 0: train MSE") || !strings.Contains(out, "; 5 epochs in") {
		t.Errorf("summary %q (exit %d)", out, code)
	}
}

// -rows N trains on about N rows, every k-th, k = ⌈rows/N⌉, named for
// their count; N at or above the rows is the whole set.
func TestRowsFlag(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lines.csv")
	var b strings.Builder
	for i := 0; i < 100; i++ {
		b.WriteString(ftoa(float64(i)) + "," + ftoa(float64(3*i)) + "\n")
	}
	os.WriteFile(path, []byte(b.String()), 0o644)
	for _, c := range []struct {
		rows, want int
		name       string
	}{
		{30, 25, "lines-25"}, // every 4th row: ⌈100/30⌉ = 4
		{50, 50, "lines-50"}, // every 2nd
		{100, 100, "lines"},
		{500, 100, "lines"},
	} {
		out, errOut, code := cli(t, nil, "train", "-data", path, "-rows", strconv.Itoa(c.rows), "-hidden", "2", "-test", "0.2", "-method", "lbfgs", "-iters", "3", "-json")
		if code != 0 {
			t.Fatalf("-rows %d: exit %d: %s", c.rows, code, errOut)
		}
		var rec map[string]any
		if err := json.Unmarshal([]byte(out), &rec); err != nil {
			t.Fatalf("-rows %d: %v in %q", c.rows, err, out)
		}
		n := int(rec["n_train"].(float64) + rec["n_test"].(float64))
		if n != c.want || rec["dataset"] != c.name {
			t.Errorf("-rows %d: %d rows named %v, want %d named %s", c.rows, n, rec["dataset"], c.want, c.name)
		}
	}
}

func ftoa(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

func TestCompareWritesFiles(t *testing.T) {
	dir := t.TempDir()
	out, errOut, code := cli(t, nil, "compare", "-data", "sin", "-hidden", "8", "-runs", "2",
		"-methods", "analytic,analytic+safeguard,lbfgs,adam", "-iters", "10", "-epochs", "10", "-out", dir)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, m := range []string{"sin   analytic ", "sin   analytic+safeguard ", "sin   lbfgs ", "sin   adam "} {
		if !strings.Contains(out, m) {
			t.Errorf("table has no row for %q:\n%s", m, out)
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
		info, _ := os.Stat(filepath.Join(dir, png))
		if err != nil || !bytes.HasPrefix(b, []byte("\x89PNG")) || info.Mode().Perm() != 0o644 {
			t.Errorf("%s: %v", png, err)
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 4 {
		t.Errorf("%d files in the output directory, want 4", len(entries))
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

// -budget gives every method the same wall time; the table is followed by
// the paired tests of the first configuration against each other one.
func TestCompareBudget(t *testing.T) {
	out, errOut, code := cli(t, nil, "compare", "-data", "sin", "-hidden", "8", "-runs", "2", "-budget", "0.2",
		"-methods", "analytic+safeguard+restarts,adam")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{"sin   analytic+safeguard+restarts ", "paired over the seeds", "A = analytic+safeguard+restarts", "adam"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	// Long enough for two starts (each until its patience ends) on a loaded machine.
	out, errOut, code = cli(t, nil, "train", "-data", "sin", "-hidden", "8", "-budget", "0.5", "-method", "analytic+restarts", "-json")
	var rec map[string]any
	if code != 0 || json.Unmarshal([]byte(out), &rec) != nil || rec["status"] != "runtime limit" || rec["starts"].(float64) < 2 ||
		rec["budget_seconds"] != 0.5 || rec["config"] != "analytic+restarts" {
		t.Errorf("train with a budget: exit %d, %s %s", code, out, errOut)
	}
}

// Every mistake on the command line exits 2 with the usage text; a bad
// value of a flag names the flag and lists the flags with their defaults.
func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{},
		{"frobnicate"},
		{"train"},
		{"train", "-data", "sin", "-bogus"},
		{"train", "-data", "sin", "-method", "newton"},
		{"train", "-data", "sin", "-method", "sgd", "-safeguard"},
		{"train", "-data", "sin", "-method", "sgd", "-iters", "5"},
		{"train", "-data", "sin", "-method", "analytic", "-lr", "0.1"},
		{"train", "-data", "sin", "-test", "1.5"},
		{"train", "-data", "sin", "-hidden", "0"},
		{"train", "-data", "sin", "-alpha", "1"},
		{"train", "-data", "sin", "-alpha", "-0.1"},
		{"train", "-data", "sin", "-ridge", "Inf"},
		{"train", "-data", "sin", "-ridge", "NaN"},
		{"train", "-data", "sin", "-method", "sgd", "-lr", "0"},
		{"train", "-data", "sin", "-method", "sgd", "-batch", "-3"},
		{"train", "-data", "x.csv", "-target", "0"},
		{"train", "-data", "nowhere"},
		{"train", "-data", "sin", "-target", "2"},
		{"train", "-data", "sin", "-split", "half"},
		{"train", "-data", "sin", "-split", "fixed", "-test", "0.3"},
		{"train", "-data", "sin", "-noise", "3"},
		{"train", "-data", "patches", "-noise", "-1"},
		{"train", "-data", "a.png", "-patch", "0"},
		{"train", "-data", "a.jpg", "-stride", "-2"},
		{"compare", "-data", "sin", "-methods", "analytic,bfgs"},
		{"compare", "-data", "sin", "-methods", "sgd+safeguard"},
		{"compare", "-data", "sin", "-runs", "0"},
		{"compare", "-data", "sin", "-budget", "0"},
		{"compare", "-data", "sin", "-budget", "-1"},
		{"compare", "-data", "sin", "-budget", "NaN"},
		{"compare", "-data", "sin", "-methods", "analytic+restarts"},
		{"compare", "-data", "sin", "-methods", "analytic+polish=sgd"},
		{"train", "-data", "sin", "-method", "lbfgs+restarts=3"},
		{"data", "fetch", "sin"},
		{"data", "fetch"},
		{"data"},
		{"train", "-data", "sin", "-budget", "1e-300"},
		{"train", "-data", "sin", "-memory", "0.1B"},
		{"train", "-data", "sin", "-memory", "-5GiB"},
		{"compare", "-data", "sin", "-methods", "analytic,adam,analytic"},
		{"compare", "-data", "sin", "-methods", "analytic+polish=lbfgs+polish=lm", "-budget", "1"},
		{"compare", "-data", "sin", "-methods", "analytic+safeguard+safeguard"},
		{"compare", "-data", "sin", "-methods", "analytic+parallel=5", "-budget", "1"},
		{"train", "-data", "patches", "-noise", "1e308"},
		{"train", "-data", "patches", "-patch", "1099511627776"},
		{"train", "-data", "sin", "-method", "analytic+safeguard", "-safeguard"},
		{"compare", "-data", "sin", "-runs", "9223372036854775807", "-methods", "analytic,adam"},
		{"train", "-data", "sin", "-hidden", "4", "-budget", "0.2", "-method", "analytic+parallel=4611686018427387904+restarts"},
		{"compare", "-data", "sin", "-hidden", "4", "-budget", "0.2", "-methods", "analytic+restarts+parallel=2147483648"},
		{"train", "-data", "sin", "-method", "analytic+auto"},
		{"train", "-data", "sin", "-method", "lm", "-ridge", "1000"},
		{"train", "-data", "sin", "-method", "analytic+damping=1e308"},
		{"compare", "-data", "sin", "-seed", "18446744073709551615", "-runs", "3", "-methods", "analytic"},
		{"compare", "-data", "sin", "-methods", "adam,lbfgs", "-ridge", "0"},
		{"train", "-data", "sin", "-rows", "-5"},
	} {
		_, errOut, code := cli(t, nil, args...)
		if code != 2 || !strings.Contains(errOut, "usage:") || strings.Contains(errOut, "goroutine") {
			t.Errorf("%v: exit %d, stderr %q", args, code, errOut)
		}
		if len(args) > 3 && args[0] != "data" && !strings.Contains(errOut, "flags of "+args[0]) {
			t.Errorf("%v: the flags are not listed: %q", args, errOut)
		}
	}
}

// -h lists every flag with its default.
func TestFlagHelp(t *testing.T) {
	out, _, code := cli(t, nil, "train", "-h")
	for _, want := range []string{"-hidden h", "(default 32)", "-ridge λ", "(default 0.001)", "-lr rate", "-batch size", "-method method", "(default \"analytic\")"} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("train -h (exit %d) lacks %q:\n%s", code, want, out)
		}
	}
}

func TestBadCSVField(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bad.csv")
	os.WriteFile(path, []byte("1,2,3\n4,5,6\n7,eight,9\n"), 0o644)
	_, errOut, code := cli(t, nil, "train", "-data", path, "-hidden", "2")
	if code != 1 || !strings.Contains(errOut, path+":3: column 2") || len(errorLines(errOut)) != 1 {
		t.Errorf("exit %d, stderr %q", code, errOut)
	}
}

// A constant target makes R² undefined: the run is reported, with "n/a" in
// text and null in JSON, never a crash or a lost run.
func TestUndefinedMetrics(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c5.csv")
	os.WriteFile(path, []byte("1,5\n2,5\n3,5\n4,5\n5,5\n"), 0o644)
	out, errOut, code := cli(t, nil, "train", "-data", path, "-hidden", "2")
	if code != 0 || !strings.Contains(out, "R² n/a") {
		t.Errorf("text: exit %d, %q %q", code, out, errOut)
	}
	out, errOut, code = cli(t, nil, "train", "-data", path, "-hidden", "2", "-method", "sgd", "-epochs", "3", "-json")
	var rec map[string]any
	if code != 0 || json.Unmarshal([]byte(out), &rec) != nil || rec["train_r2"] != nil || rec["test_r2"] != nil {
		t.Errorf("json: exit %d, %q %q", code, out, errOut)
	}
	out, errOut, code = cli(t, nil, "compare", "-data", path, "-hidden", "2", "-runs", "1", "-methods", "analytic")
	if code != 0 || !strings.Contains(out, "n/a") {
		t.Errorf("compare: exit %d, %q %q", code, out, errOut)
	}
}

// When every run fails, compare still writes what it has (the failures and
// empty figures) and exits 1 with one line; a diverged run is in the table.
// Targets whose squares overflow stop it before any run, naming the remedy.
func TestCompareEveryRunFails(t *testing.T) {
	path := filepath.Join(t.TempDir(), "big.csv")
	var b strings.Builder
	for i := 0; i < 40; i++ {
		fmt.Fprintf(&b, "%d,%g\n", i, float64(i%5)*1e200)
	}
	os.WriteFile(path, []byte(b.String()), 0o644)
	dir := t.TempDir()
	_, errOut, code := cli(t, nil, "compare", "-data", path, "-hidden", "2", "-runs", "1", "-methods", "sgd", "-out", dir)
	if code != 1 || !strings.Contains(errOut, "overflow") || !strings.Contains(errOut, "-scale-targets") || strings.Contains(errOut, "goroutine") {
		t.Errorf("targets near 1e200: exit %d: %q", code, errOut)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("%d files written for a comparison that did not start", len(entries))
	}
	out, errOut, code := cli(t, nil, "compare", "-data", "sin", "-hidden", "2", "-runs", "2", "-methods", "sgd", "-epochs", "3", "-lr", "1e6", "-batch", "8", "-out", dir)
	if code != 1 || !strings.Contains(errOut, "every run failed") || strings.Contains(errOut, "goroutine") {
		t.Errorf("every run diverges: exit %d: %q", code, errOut)
	}
	if !strings.Contains(out, "2 (2 failed)") {
		t.Errorf("table: %s", out)
	}
	var recs []map[string]any
	js, _ := os.ReadFile(filepath.Join(dir, "runs.json"))
	if err := json.Unmarshal(js, &recs); err != nil || len(recs) != 2 || recs[0]["status"] != "failure" || recs[0]["train_mse"] != nil {
		t.Errorf("runs.json %s: %v", js, err)
	}
}

// TestFetchOnFirstUse serves the reference files from the directories of
// $RELUNET_DATA, and a small year zip, over a local HTTP server (a mirror)
// and checks that train and data fetch put them in the cache.
func TestFetchOnFirstUse(t *testing.T) {
	src := os.Getenv("RELUNET_DATA")
	if src == "" {
		skipWithoutData(t, "RELUNET_DATA is not set")
	}
	for _, f := range []string{"abalone.csv", "bike-sharing_hour.csv", "SDF/X.csv", "SDF/Y.csv", "camera.png"} {
		if findIn(src, f) == "" {
			skipWithoutData(t, f+" is not in RELUNET_DATA")
		}
	}
	year := t.TempDir()
	writeYearZip(t, filepath.Join(year, "YearPredictionMSD.txt.zip"))
	dirs := append(filepath.SplitList(src), year)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if d := findIn(strings.Join(dirs, string(filepath.ListSeparator)), r.URL.Path); d != "" {
			http.ServeFile(w, r, filepath.Join(d, filepath.FromSlash(r.URL.Path)))
			return
		}
		http.NotFound(w, r)
	}))
	defer srv.Close()
	cache := t.TempDir()
	env := []string{"RELUNET_DATA=", "XDG_CACHE_HOME=" + cache, "RELUNET_DATA_URL=" + srv.URL} // no trailing slash
	out, errOut, code := cli(t, env, "train", "-data", "abalone", "-hidden", "4", "-iters", "2")
	if code != 0 || !strings.Contains(errOut, "fetched abalone.csv (SHA-256 verified)") || !strings.HasPrefix(out, "analytic on abalone") {
		t.Fatalf("exit %d: %s / %s", code, out, errOut)
	}
	out, _, _ = cli(t, env, "data", "list")
	if !strings.Contains(out, "in "+filepath.Join(cache, "relunet")) || !strings.Contains(out, "missing: relunet data fetch bike") {
		t.Errorf("data list: %s", out)
	}
	if !strings.Contains(out, "its digest is not yet recorded: it will be on its first download") {
		t.Errorf("data list does not say the year digest is not yet recorded: %s", out)
	}
	out, errOut, code = cli(t, env, "data", "fetch", "all")
	if code != 0 || !strings.Contains(errOut, "SDF/Y.csv") || strings.Count(out, "(verified)") != 4 || strings.Contains(out, "year") {
		t.Errorf("data fetch all (all but year): exit %d, %s %s", code, out, errOut)
	}
	out, errOut, code = cli(t, env, "data", "fetch", "year")
	if code != 0 || !strings.Contains(out, "year: in ") || !strings.Contains(errOut, "no published SHA-256: recorded") {
		t.Errorf("data fetch year: exit %d, %s %s", code, out, errOut)
	}
	out, _, _ = cli(t, env, "data", "list")
	if !strings.Contains(out, "its digest is recorded on its first download as ") {
		t.Errorf("data list does not give the recorded year digest: %s", out)
	}
	out, errOut, code = cli(t, env, "train", "-data", "year", "-hidden", "2", "-iters", "1")
	if code != 0 || !strings.HasPrefix(out, "analytic on year") {
		t.Errorf("train on the fetched year set: exit %d, %s %s", code, out, errOut)
	}
	// A cached file cut short is found out, with the fix named.
	os.Truncate(filepath.Join(cache, "relunet", "abalone.csv"), 1000)
	_, errOut, code = cli(t, env, "train", "-data", "abalone", "-hidden", "4", "-iters", "2")
	if code != 1 || !strings.Contains(errOut, "has 1000 bytes, want 183519") || !strings.Contains(errOut, "relunet data fetch abalone") {
		t.Errorf("truncated cache: exit %d, %s", code, errOut)
	}
	// Offline: a clear error with the URL and where to put the file.
	env = []string{"RELUNET_DATA=", "XDG_CACHE_HOME=" + t.TempDir(), "RELUNET_DATA_URL=http://127.0.0.1:1/"}
	_, errOut, code = cli(t, env, "data", "fetch", "bike")
	if code != 1 || !strings.Contains(errOut, "http://127.0.0.1:1/bike-sharing_hour.csv") || !strings.Contains(errOut, "to use it without a download, put the file at") ||
		!strings.Contains(errOut, "which must hold the files at their paths") {
		t.Errorf("offline: exit %d, %s", code, errOut)
	}
}

// Targets far from unit scale: a warning, or an error for squares that
// overflow, each naming -scale-targets, which then fits them; an input of
// 1e308 is standardised away.
func TestExtremeScales(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, s float64, xs float64) string {
		var b strings.Builder
		for i := 0; i < 200; i++ {
			x := float64(i%17) - 8 + float64(i%5)/7
			fmt.Fprintf(&b, "%g,%g,%g\n", x*xs, float64(i%3), x*s)
		}
		p := filepath.Join(dir, name+".csv")
		os.WriteFile(p, []byte(b.String()), 0o644)
		return p
	}
	tiny, huge, bigX := write("tiny", 1e-13, 1), write("huge", 1e154, 1), write("bigx", 1, 1e307)
	_, errOut, code := cli(t, nil, "train", "-data", tiny, "-hidden", "4")
	if code != 0 || !strings.Contains(errOut, "root mean square is") || !strings.Contains(errOut, "-scale-targets") {
		t.Errorf("tiny: exit %d, %q", code, errOut)
	}
	_, errOut, code = cli(t, nil, "train", "-data", huge, "-hidden", "4")
	if code != 1 || !strings.Contains(errOut, "overflow") || !strings.Contains(errOut, "-scale-targets") || len(errorLines(errOut)) != 1 {
		t.Errorf("huge: exit %d, %q", code, errOut)
	}
	for _, p := range []string{tiny, huge, bigX} {
		out, errOut, code := cli(t, nil, "train", "-data", p, "-hidden", "4", "-scale-targets", "-json")
		var rec map[string]any
		if code != 0 || json.Unmarshal([]byte(out), &rec) != nil || !(rec["train_r2"].(float64) > 0.99) {
			t.Errorf("%s with -scale-targets: exit %d, %s %s", filepath.Base(p), code, out, errOut)
		}
	}
}

// Ctrl-C during a fetch stops it, says so, exits 130 and leaves nothing
// in the cache.
func TestFetchInterrupted(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "183519")
		w.Write([]byte("1,2,3\n"))
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	}))
	defer srv.Close()
	cache := t.TempDir()
	p := startCLI(t, []string{"RELUNET_DATA=", "XDG_CACHE_HOME=" + cache, "RELUNET_DATA_URL=" + srv.URL}, "fetching abalone.csv", "data", "fetch", "abalone")
	code, took, stderr := p.stop(t, os.Interrupt)
	if code != 130 || !strings.Contains(stderr, "relunet: interrupted") || took > 3*time.Second {
		t.Errorf("exit %d after %v, stderr %q", code, took, stderr)
	}
	filepath.Walk(cache, func(p string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			t.Errorf("left %s behind", p)
		}
		return nil
	})
}

// proc is a running command line tool.
type proc struct {
	cmd    *exec.Cmd
	stderr *syncBuffer
	done   chan error
}

// syncBuffer is a buffer that one goroutine writes while another reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startCLI starts the tool with the extra environment and waits until its
// standard error says ready (a line that says the work started).
func startCLI(t *testing.T, env []string, ready string, args ...string) *proc {
	t.Helper()
	p := &proc{cmd: exec.Command(bin, args...), stderr: &syncBuffer{}, done: make(chan error, 1)}
	p.cmd.Env = append(append(os.Environ(), "XDG_CACHE_HOME="+t.TempDir()), env...)
	p.cmd.Stderr = p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- p.cmd.Wait() }()
	deadline := time.Now().Add(time.Minute)
	for !strings.Contains(p.stderr.String(), ready) {
		select {
		case err := <-p.done:
			t.Fatalf("%v ended (%v) before saying %q: %s", args, err, ready, p.stderr.String())
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			p.cmd.Process.Kill()
			t.Fatalf("%v: no %q within a minute: %s", args, ready, p.stderr.String())
		}
	}
	return p
}

// stop sends the signals, one after the other, and returns the exit status,
// the time from the first signal to the exit, and the standard error.
func (p *proc) stop(t *testing.T, sigs ...os.Signal) (int, time.Duration, string) {
	t.Helper()
	start := time.Now()
	for k, s := range sigs {
		if k > 0 {
			time.Sleep(100 * time.Millisecond)
		}
		p.cmd.Process.Signal(s)
	}
	select {
	case err := <-p.done:
		var ee *exec.ExitError
		if err != nil && !errors.As(err, &ee) {
			t.Fatal(err)
		}
		return p.cmd.ProcessState.ExitCode(), time.Since(start), p.stderr.String()
	case <-time.After(30 * time.Second):
		p.cmd.Process.Kill()
		t.Fatalf("still running 30 s after %v: %s", sigs, p.stderr.String())
	}
	return 0, 0, ""
}

// SIGINT and SIGTERM stop every kind of run within about a second, in the
// middle of a long step too, and while the data are still being made: the tool says "interrupted", exits 130 or 143,
// and writes nothing. A second signal exits at once.
func TestInterrupts(t *testing.T) {
	patches := os.Getenv("RELUNET_DATA") != "" && findIn(os.Getenv("RELUNET_DATA"), "camera.png") != ""
	for _, tc := range []struct {
		name  string
		sigs  []os.Signal
		code  int
		args  []string
		needs bool // camera.png
		early bool // the signal comes while the data are made, before the run starts
	}{
		{"adam under a budget, SIGINT", []os.Signal{os.Interrupt}, 130, []string{"train", "-data", "sinx2", "-hidden", "16", "-method", "adam", "-budget", "60"}, false, false},
		{"adam under a budget, SIGTERM", []os.Signal{syscall.SIGTERM}, 143, []string{"train", "-data", "sinx2", "-hidden", "16", "-method", "adam", "-budget", "60"}, false, false},
		{"analytic restarts", []os.Signal{os.Interrupt}, 130, []string{"train", "-data", "sinx2", "-hidden", "64", "-method", "analytic+safeguard+restarts", "-budget", "60"}, false, false},
		{"lbfgs", []os.Signal{os.Interrupt}, 130, []string{"train", "-data", "yearlike", "-hidden", "64", "-method", "lbfgs", "-budget", "60"}, false, false},
		{"a long LM step on the patches", []os.Signal{os.Interrupt}, 130, []string{"train", "-data", "patches", "-hidden", "2", "-method", "lm", "-iters", "1"}, true, false},
		{"a long hidden step", []os.Signal{syscall.SIGTERM}, 143, []string{"train", "-data", "yearlike", "-hidden", "64", "-iters", "1"}, false, false},
		{"compare, endless runs", []os.Signal{os.Interrupt}, 130, []string{"compare", "-data", "sin", "-hidden", "4", "-runs", "99999999999999", "-methods", "analytic", "-iters", "1", "-out", "OUT"}, false, false},
		{"two signals", []os.Signal{os.Interrupt, os.Interrupt}, 130, []string{"train", "-data", "sinx2", "-hidden", "16", "-method", "adam", "-budget", "60"}, false, false},
		{"making yearlike", []os.Signal{os.Interrupt}, 130, []string{"train", "-data", "yearlike", "-hidden", "8", "-split", "fixed", "-iters", "1"}, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.needs && !patches {
				skipWithoutData(t, "camera.png is not in RELUNET_DATA")
			}
			out := filepath.Join(t.TempDir(), "out")
			args := slices.Clone(tc.args)
			for i, a := range args {
				if a == "OUT" {
					args[i] = out
				}
			}
			ready := ": started"
			if tc.early {
				ready = "" // no line comes before the data are made
			}
			p := startCLI(t, nil, ready, args...)
			time.Sleep(300 * time.Millisecond) // into the run's work
			code, took, stderr := p.stop(t, tc.sigs...)
			t.Logf("exit %d, %v after the signal", code, took)
			if code != tc.code || !strings.Contains(stderr, "interrupted") || took > 3*time.Second {
				t.Errorf("exit %d after %v, stderr %q", code, took, stderr)
			}
			if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("the interrupted compare wrote %s", out)
			}
			if entries, _ := os.ReadDir(filepath.Dir(out)); len(entries) != 0 {
				t.Errorf("left %v behind", entries)
			}
		})
	}
}

// Sizes whose products overflow, or that no memory holds, are refused
// with a one-line error, never a panic; so is an address-space limit.
func TestHugeSizes(t *testing.T) {
	for _, args := range [][]string{
		{"train", "-data", "sin", "-hidden", "9223372036854775807", "-iters", "1"},
		{"train", "-data", "sin", "-hidden", "72057594037927936", "-iters", "1"},
		{"train", "-data", "sin", "-hidden", "100000000000000000", "-epochs", "1", "-method", "sgd"},
		{"train", "-data", "sin", "-hidden", "1000000000", "-epochs", "1", "-method", "sgd"},
		{"train", "-data", "sin", "-hidden", "100000000000000000", "-iters", "1", "-method", "lbfgs"},
		{"train", "-data", "sin", "-hidden", "100000000000000000", "-iters", "1", "-method", "lm"},
		{"train", "-data", "sin", "-hidden", "20000", "-iters", "1", "-memory", "2MiB"},
	} {
		_, errOut, code := cli(t, nil, args...)
		if code != 1 || !strings.Contains(errOut, "memory") || strings.Contains(errOut, "goroutine") || len(errorLines(errOut)) != 1 {
			t.Errorf("%v: exit %d, %q", args[3:], code, errOut)
		}
	}
	// Under an address-space limit of 8 GB the limit counts, not the
	// machine's memory: a clear error at once, not "out of memory".
	if _, err := exec.LookPath("prlimit"); err != nil {
		t.Skip("no prlimit here")
	}
	start := time.Now()
	cmd := exec.Command("prlimit", "--as=8000000000", bin, "train", "-data", "sinx2", "-hidden", "100000", "-iters", "1")
	cmd.Env = append(os.Environ(), "XDG_CACHE_HOME="+t.TempDir())
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 || !strings.Contains(string(out), "left of the memory limit") || strings.Contains(string(out), "fatal error") {
		t.Errorf("under RLIMIT_AS: %v, %s", err, out)
	}
	t.Logf("refused in %v", time.Since(start))
}

// errorLines returns the lines of standard error but those that say a run
// started.
func errorLines(stderr string) []string {
	var lines []string
	for _, l := range strings.Split(strings.TrimSpace(stderr), "\n") {
		if !strings.HasSuffix(l, ": started") {
			lines = append(lines, l)
		}
	}
	return lines
}

// A panic, which is a bug, exits 1 with one line: 2 is for usage errors.
func TestPanicIsAFailure(t *testing.T) {
	var errOut bytes.Buffer
	// A nil standard output makes data list panic.
	if code := run(context.Background(), []string{"data", "list"}, nil, &errOut); code != 1 || !strings.Contains(errOut.String(), "internal error") {
		t.Errorf("exit %d, stderr %q", code, errOut.String())
	}
}

// A failed train says why once: in the summary line, or, with -json, in
// the record and on standard error.
func TestFailureToldOnce(t *testing.T) {
	out, errOut, code := cli(t, nil, "train", "-data", "sin", "-hidden", "4", "-method", "sgd", "-lr", "1e6", "-batch", "8", "-epochs", "5")
	if code != 1 || strings.Count(out+errOut, "diverged") != 1 || len(errorLines(errOut)) != 0 {
		t.Errorf("text: exit %d, %q %q", code, out, errOut)
	}
	out, errOut, code = cli(t, nil, "train", "-data", "sin", "-hidden", "4", "-method", "sgd", "-lr", "1e6", "-batch", "8", "-epochs", "5", "-json")
	if code != 1 || strings.Count(out, "diverged") != 1 || strings.Count(errOut, "diverged") != 1 {
		t.Errorf("json: exit %d, %q %q", code, out, errOut)
	}
}

// An image file is cut into patches, with the flags' size, stride and
// noise: an autoencoder of 16 outputs here.
func TestTrainOnImage(t *testing.T) {
	img := image.NewGray(image.Rect(0, 0, 40, 30))
	for y := 0; y < 30; y++ {
		for x := 0; x < 40; x++ {
			img.SetGray(x, y, color.Gray{Y: uint8(4*x + 3*y)})
		}
	}
	path := filepath.Join(t.TempDir(), "ramp.png")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
	f.Close()
	out, errOut, code := cli(t, nil, "train", "-data", path, "-patch", "4", "-stride", "2", "-noise", "5", "-hidden", "8", "-iters", "3", "-json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	// (30-4)/2+1 = 14 by (40-4)/2+1 = 19 corners: 266 patches, 213 to train.
	rec := checkRecord(t, strings.TrimSpace(out), 213, 53, 3)
	if rec["dataset"] != "ramp" {
		t.Errorf("data set %v", rec["dataset"])
	}
	_, errOut, code = cli(t, nil, "train", "-data", filepath.Join(t.TempDir(), "none.png"))
	if code != 1 || !strings.Contains(errOut, "none.png") {
		t.Errorf("a missing image: exit %d, %q", code, errOut)
	}
}

// -split fixed needs a data set with its own split: a usage error.
func TestFixedSplitFlag(t *testing.T) {
	_, errOut, code := cli(t, nil, "train", "-data", "sin", "-split", "fixed")
	if code != 2 || !strings.Contains(errOut, "sin has no split of its own") {
		t.Errorf("exit %d, %q", code, errOut)
	}
}

// findIn returns the first directory of the list that holds the
// slash-separated path, or "".
func findIn(list, path string) string {
	for _, d := range filepath.SplitList(list) {
		if _, err := os.Stat(filepath.Join(d, filepath.FromSlash(path))); err == nil {
			return d
		}
	}
	return ""
}

// writeYearZip writes a zip like UCI's, of 20 rows of a year and 90
// features.
func writeYearZip(t *testing.T, path string) {
	t.Helper()
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	w, err := zw.Create("YearPredictionMSD.txt")
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 20; i++ {
		fmt.Fprintf(w, "%d", 1990+i%7)
		for j := 0; j < 90; j++ {
			fmt.Fprintf(w, ",%g", float64((i*31+j*17)%23)-11.5)
		}
		fmt.Fprintln(w)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// Levenberg–Marquardt runs from the command line like the other methods,
// and its curve never rises.
func TestTrainLM(t *testing.T) {
	out, errOut, code := cli(t, nil, "train", "-data", "sin", "-hidden", "4", "-method", "lm", "-iters", "8", "-json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	rec := checkRecord(t, strings.TrimSpace(out), 161, 40, -1)
	curve := rec["curve"].([]any)
	if rec["method"] != "lm" || len(curve) < 2 || len(curve) > 9 {
		t.Errorf("method %v, %d curve points", rec["method"], len(curve))
	}
	for i := 1; i < len(curve); i++ {
		if curve[i].(float64) > curve[i-1].(float64) {
			t.Errorf("the LM curve rises at %d", i)
		}
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

// A result that cannot be written to standard output (a full disk) is a
// failure that says so, in every output form.
func TestStdoutFull(t *testing.T) {
	full, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
	if err != nil {
		t.Skip("no /dev/full here")
	}
	defer full.Close()
	for _, args := range [][]string{
		{"train", "-data", "sin", "-hidden", "2", "-iters", "2"},
		{"train", "-data", "sin", "-hidden", "2", "-iters", "2", "-json"},
		{"compare", "-data", "sin", "-hidden", "2", "-runs", "1", "-methods", "analytic", "-iters", "2"},
	} {
		cmd := exec.Command(bin, args...)
		cmd.Env = append(os.Environ(), "XDG_CACHE_HOME="+t.TempDir())
		var e bytes.Buffer
		cmd.Stdout, cmd.Stderr = full, &e
		err := cmd.Run()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 1 || !strings.Contains(e.String(), "no space left") {
			t.Errorf("%v: %v, stderr %q", args, err, e.String())
		}
	}
}

// compare -out checks its directory before the runs, so that a directory
// that cannot take the results costs none of them.
func TestCompareOutCheckedFirst(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "afile")
	os.WriteFile(file, []byte("mine"), 0o644)
	mine := filepath.Join(dir, "mine")
	os.MkdirAll(filepath.Join(mine, "runs.json"), 0o755)
	for _, out := range []string{file, mine} {
		_, errOut, code := cli(t, nil, "compare", "-data", "sin", "-hidden", "2", "-runs", "1", "-methods", "analytic", "-iters", "2", "-out", out)
		if code != 1 || strings.Contains(errOut, ": started") || !strings.Contains(errOut, filepath.Base(out)) || len(errorLines(errOut)) != 1 {
			t.Errorf("-out %s: exit %d, stderr %q", out, code, errOut)
		}
	}
	if b, _ := os.ReadFile(file); string(b) != "mine" {
		t.Errorf("the file is now %q", b)
	}
}

// A signal that comes after the work is done stops nothing, and the exit
// status says the work was done; one that stops the work says interrupted.
func TestSignalAfterTheWork(t *testing.T) {
	ctx, cancel := context.WithCancelCause(context.Background())
	cancel(interrupted{os.Interrupt})
	var out, errOut bytes.Buffer
	if code := run(ctx, []string{"data", "list"}, &out, &errOut); code != 0 || strings.Contains(errOut.String(), "interrupted") {
		t.Errorf("data list, done before the signal was seen: exit %d, stderr %q", code, errOut.String())
	}
	errOut.Reset()
	if code := run(ctx, []string{"train", "-data", "sin", "-hidden", "2", "-iters", "2"}, &out, &errOut); code != 130 || !strings.Contains(errOut.String(), "interrupted") {
		t.Errorf("train, stopped by the signal: exit %d, stderr %q", code, errOut.String())
	}
}
