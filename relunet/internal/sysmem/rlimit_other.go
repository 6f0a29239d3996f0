//go:build !linux

package sysmem

// rlimitAS reports no limit where the address-space limit is not read.
func rlimitAS() (uint64, bool) { return 0, false }
