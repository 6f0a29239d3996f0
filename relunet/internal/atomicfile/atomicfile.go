// Package atomicfile writes files whole or not at all.
package atomicfile

import (
	"io"
	"os"
	"path/filepath"
)

// Write writes a file at path with the content that write produces, through
// a temporary file in the same directory that is synced and renamed into
// place with mode 0644: a reader sees the old file or the new one, never a
// part, and a failure leaves the old file as it was and no temporary file.
func Write(path string, write func(io.Writer) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
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
