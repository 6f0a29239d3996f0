//go:build unix

package dirlock

import (
	"os"

	"golang.org/x/sys/unix"
)

// lock takes an advisory lock (flock) on the directory itself, so that no
// lock file is left behind.
func lock(dir string) (func(), error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		f.Close()
		return nil, err
	}
	return func() {
		unix.Flock(int(f.Fd()), unix.LOCK_UN)
		f.Close()
	}, nil
}
