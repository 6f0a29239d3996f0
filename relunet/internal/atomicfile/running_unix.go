//go:build unix

package atomicfile

import (
	"errors"
	"syscall"
)

// running reports whether a process with the id runs: signal 0 checks
// without sending anything. A process of another user (EPERM) runs.
func running(pid int) bool {
	return !errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
}
