package sysmem

import (
	"math"
	"syscall"
)

// rlimitAS returns the soft limit on the address space, and false when
// there is none.
func rlimitAS() (uint64, bool) {
	var r syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_AS, &r); err != nil || r.Cur == math.MaxUint64 {
		return 0, false
	}
	return r.Cur, true
}
