package atomicfile

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// A failed write leaves the old file as it was and nothing else; a good one
// replaces it whole, with mode 0644.
func TestWrite(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f")
	if err := os.WriteFile(path, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	err := Write(path, func(w io.Writer) error {
		w.Write([]byte("half"))
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("error %v", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "old" {
		t.Errorf("after a failed write the file holds %q", b)
	}
	if err := Write(path, func(w io.Writer) error { _, err := w.Write([]byte("new")); return err }); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	info, _ := os.Stat(path)
	entries, _ := os.ReadDir(dir)
	if string(b) != "new" || info.Mode().Perm() != 0o644 || len(entries) != 1 {
		t.Errorf("file %q, mode %v, %d entries in the directory", b, info.Mode().Perm(), len(entries))
	}
}

// A temporary file left by a writer that no longer runs (killed while it
// wrote) is removed by the next write to the same path; one of a running
// writer, and other files, are not.
func TestWriteRemovesDeadWritersTemporaries(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "net.state")
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Skip("no process to outlive:", err)
	}
	dead := cmd.Process.Pid
	files := map[string]bool{ // name: whether it stays
		fmt.Sprintf(".net.state.%d.123456", dead):         false,
		fmt.Sprintf(".net.state.%d.123456", os.Getppid()): true, // a writer that runs
		fmt.Sprintf(".other.state.%d.1", dead):            true, // another target's
		"notes.txt":                                       true,
	}
	for name := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("half"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := Write(path, func(w io.Writer) error { _, err := w.Write([]byte("new")); return err }); err != nil {
		t.Fatal(err)
	}
	for name, stays := range files {
		_, err := os.Stat(filepath.Join(dir, name))
		if (err == nil) != stays {
			t.Errorf("%s: present %v, want %v", name, err == nil, stays)
		}
	}
}

// Through a link the named file is replaced and the link stays; a FIFO, a
// device or a directory is refused and left as it is.
func TestWriteOnlyRegularFiles(t *testing.T) {
	dir := t.TempDir()
	target, link := filepath.Join(dir, "target"), filepath.Join(dir, "link")
	os.WriteFile(target, []byte("old"), 0o644)
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	put := func(w io.Writer) error { _, err := w.Write([]byte("new")); return err }
	if err := Write(link, put); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(target); string(b) != "new" {
		t.Errorf("the target holds %q", b)
	}
	if info, err := os.Lstat(link); err != nil || info.Mode()&os.ModeSymlink == 0 {
		t.Errorf("the link is now %v, %v", info, err)
	}
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{fifo, dir, "/dev/null"} {
		before, _ := os.Lstat(p)
		if err := Write(p, put); err == nil || !strings.Contains(err.Error(), "not a regular file") {
			t.Errorf("%s: %v", p, err)
		}
		if after, err := os.Lstat(p); err != nil || after.Mode() != before.Mode() {
			t.Errorf("%s is now %v, %v", p, after, err)
		}
	}
}
