// Package sysmem tells how much memory a process may use here: the
// machine's available memory (MemAvailable in /proc/meminfo on Linux), or
// the Go runtime's soft limit (GOMEMLIMIT) when that is lower.
package sysmem

import (
	"bufio"
	"math"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
)

// Available returns the bytes the process may use, and false when the
// machine does not say (then the runtime's limit, if any, is returned).
func Available() (int64, bool) {
	limit := debug.SetMemoryLimit(-1) // reads the limit: math.MaxInt64 when none is set
	avail, ok := memAvailable()
	switch {
	case ok && avail < limit:
		return avail, true
	case limit < math.MaxInt64:
		return limit, true
	}
	return avail, ok
}

func memAvailable() (int64, bool) {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 3 && fields[0] == "MemAvailable:" && fields[2] == "kB" {
			kb, err := strconv.ParseInt(fields[1], 10, 64)
			if err != nil {
				return 0, false
			}
			return kb << 10, true
		}
	}
	return 0, false
}

// Format returns a byte count in the largest unit that keeps it at least 1:
// "512 MiB", "28.8 GiB".
func Format(b int64) string {
	v, unit := float64(b), "B"
	for _, u := range []string{"KiB", "MiB", "GiB", "TiB"} {
		if v < 1024 {
			break
		}
		v, unit = v/1024, u
	}
	return strconv.FormatFloat(v, 'g', 3, 64) + " " + unit
}
