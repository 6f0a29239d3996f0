// Package atomicfile writes files whole or not at all.
package atomicfile

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Write writes a file at path with the content that write produces, through
// a temporary file in the same directory that is synced and renamed into
// place with mode 0644: a reader sees the old file or the new one, never a
// part, and a failure leaves the old file as it was and no temporary file.
//
// A process killed while writing (by a signal it does not catch, say) cannot
// remove its temporary file. Temporary files are named after their target
// and their writer's process id, so that the next Write to the same path
// removes those whose writer is no longer running.
func Write(path string, write func(io.Writer) error) error {
	// The file a link names is replaced, not the link; anything else that
	// is not a regular file (a device, a FIFO, a directory) is not ours to
	// replace: /dev/null renamed over would be gone for everyone.
	path, err := Target(path)
	if err != nil {
		return err
	}
	if info, err := os.Stat(path); err == nil && !info.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file (%v): it is not replaced", path, info.Mode().Type())
	}
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	Sweep(dir, prefix(base))
	tmp, err := os.CreateTemp(dir, TempPattern(prefix(base)))
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := write(tmp); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// Target returns the path that a write to path replaces: through a
// symbolic link, the path the link names, so that the link stays; path
// itself otherwise. A link to nothing is an error.
func Target(path string) (string, error) {
	info, err := os.Lstat(path)
	if err != nil || info.Mode()&fs.ModeSymlink == 0 {
		return path, nil
	}
	target, err := filepath.EvalSymlinks(path)
	if err != nil {
		return "", fmt.Errorf("%s is a link to nothing: %w", path, err)
	}
	return target, nil
}

// prefix is the start of the names of base's temporary files.
func prefix(base string) string { return "." + base + "." }

// TempPattern returns the pattern, for os.CreateTemp or os.MkdirTemp, of a
// temporary file or directory of this process whose name starts with
// prefix: the prefix, the process id, a dot and a random part.
func TempPattern(prefix string) string { return prefix + strconv.Itoa(os.Getpid()) + ".*" }

// Sweep removes the temporary files and directories in dir named by
// TempPattern with prefix whose writer is no longer running. It is best
// effort: what it cannot read or remove stays.
func Sweep(dir, prefix string) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		rest, ok := strings.CutPrefix(e.Name(), prefix)
		if !ok {
			continue
		}
		pidText, _, ok := strings.Cut(rest, ".")
		pid, err := strconv.Atoi(pidText)
		if !ok || err != nil || pid <= 0 || pid == os.Getpid() || running(pid) {
			continue
		}
		os.RemoveAll(filepath.Join(dir, e.Name()))
	}
}
