// Package sysmem tells how much memory a process may use here: the least
// of the machine's available memory (MemAvailable in /proc/meminfo), what
// its control group leaves (memory.max less memory.current, or the
// version-1 limit less usage), half of what its address-space limit
// (RLIMIT_AS) leaves of the process's virtual size after a reserve for the
// runtime, and the Go runtime's soft limit
// (GOMEMLIMIT). Each is a limit the process dies or is killed at, so the
// lowest one is the one that counts.
package sysmem

import (
	"bufio"
	"math"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
)

// Available returns the bytes the process may use, and false when nothing
// here says (then callers assume a default).
func Available() (int64, bool) {
	return machine{root: "/", rlimitAS: rlimitAS, goLimit: debug.SetMemoryLimit(-1)}.available()
}

// machine is where the limits are read from: a root directory holding proc
// and sys (a test gives one of its own), the address-space limit and the Go
// runtime's limit.
type machine struct {
	root     string
	rlimitAS func() (uint64, bool)
	goLimit  int64 // math.MaxInt64 when none is set
}

// runtimeReserve is the address space kept for the Go runtime's own
// reservations under RLIMIT_AS.
const runtimeReserve = 256 << 20

func (m machine) available() (int64, bool) {
	best, ok := int64(math.MaxInt64), false
	take := func(v int64, have bool) {
		if have {
			best, ok = min(best, max(v, 0)), true
		}
	}
	take(m.memAvailable())
	take(m.cgroup())
	if limit, has := m.rlimitAS(); has && limit < math.MaxInt64 {
		// Of the address space left, the Go runtime needs some for itself
		// (thread stacks, heap arenas), and a heap can grow to twice its
		// live data before a collection: the work may have half of the
		// rest. With all of it, a plan that fitted could still end in the
		// runtime's "fatal error: out of memory".
		size, known := m.status("VmSize:")
		take((int64(limit)-size-runtimeReserve)/2, known)
	}
	take(m.goLimit, m.goLimit < math.MaxInt64)
	return best, ok
}

func (m machine) path(p string) string { return filepath.Join(m.root, p) }

// memAvailable reads MemAvailable from /proc/meminfo.
func (m machine) memAvailable() (int64, bool) {
	return kiloLine(m.path("proc/meminfo"), "MemAvailable:")
}

// status reads a field of /proc/self/status given in kB.
func (m machine) status(field string) (int64, bool) {
	return kiloLine(m.path("proc/self/status"), field)
}

// kiloLine returns the value, in bytes, of the line "field N kB" of a file.
func kiloLine(path, field string) (int64, bool) {
	f, err := os.Open(path)
	if err != nil {
		return 0, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 3 && fields[0] == field && fields[2] == "kB" {
			kb, err := strconv.ParseInt(fields[1], 10, 64)
			if err != nil || kb > math.MaxInt64>>10 {
				return 0, false
			}
			return kb << 10, true
		}
	}
	return 0, false
}

// cgroup returns what the process's control group leaves: for version 2,
// the lowest memory.max less memory.current of its group and the groups
// above it; for version 1, memory.limit_in_bytes less memory.usage_in_bytes.
func (m machine) cgroup() (int64, bool) {
	b, err := os.ReadFile(m.path("proc/self/cgroup"))
	if err != nil {
		return 0, false
	}
	best, ok := int64(math.MaxInt64), false
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		switch {
		case parts[0] == "0" && parts[1] == "":
			// Version 2: every group on the way down can set a limit.
			for dir := filepath.Clean("/" + parts[2]); ; dir = filepath.Dir(dir) {
				base := m.path(filepath.Join("sys/fs/cgroup", dir))
				limit, lok := readBytes(filepath.Join(base, "memory.max"))
				used, uok := readBytes(filepath.Join(base, "memory.current"))
				if lok && uok {
					best, ok = min(best, limit-used), true
				}
				if dir == "/" {
					break
				}
			}
		case strings.Contains(","+parts[1]+",", ",memory,"):
			base := m.path(filepath.Join("sys/fs/cgroup/memory", parts[2]))
			limit, lok := readBytes(filepath.Join(base, "memory.limit_in_bytes"))
			used, uok := readBytes(filepath.Join(base, "memory.usage_in_bytes"))
			if !lok || !uok {
				base = m.path("sys/fs/cgroup/memory") // a container sees its own group at the root
				limit, lok = readBytes(filepath.Join(base, "memory.limit_in_bytes"))
				used, uok = readBytes(filepath.Join(base, "memory.usage_in_bytes"))
			}
			// Version 1 says "no limit" with a huge number.
			if lok && uok && limit < 1<<60 {
				best, ok = min(best, limit-used), true
			}
		}
	}
	return best, ok
}

// readBytes reads a file holding one number of bytes; "max" is no limit.
func readBytes(path string) (int64, bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, false
	}
	s := strings.TrimSpace(string(b))
	if s == "max" {
		return math.MaxInt64, false
	}
	v, err := strconv.ParseInt(s, 10, 64)
	return v, err == nil
}

// Format returns a byte count in the largest unit that keeps it at least 1:
// "512 MiB", "28.8 GiB".
func Format(b int64) string {
	v, unit := float64(b), "B"
	for _, u := range []string{"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"} {
		if v < 1024 {
			break
		}
		v, unit = v/1024, u
	}
	return strconv.FormatFloat(v, 'g', 3, 64) + " " + unit
}
