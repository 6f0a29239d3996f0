package sysmem

import (
	"math"
	"os"
	"path/filepath"
	"runtime/debug"
	"testing"
)

func TestAvailable(t *testing.T) {
	avail, ok := Available()
	if ok && avail <= 0 {
		t.Errorf("available %d bytes", avail)
	}
	old := debug.SetMemoryLimit(1 << 30)
	defer debug.SetMemoryLimit(old)
	if got, ok := Available(); !ok || got > 1<<30 {
		t.Errorf("with GOMEMLIMIT 1 GiB: %d bytes, %v", got, ok)
	}
	for b, want := range map[int64]string{512: "512 B", 1536: "1.5 KiB", 28 << 30: "28 GiB", 3 << 40: "3 TiB"} {
		if got := Format(b); got != want {
			t.Errorf("Format(%d) = %q, want %q", b, got, want)
		}
	}
}

// fakeRoot writes files under a temporary root directory.
func fakeRoot(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for name, content := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// The lowest of the limits counts: the machine's available memory, the
// control group's (version 2, at every level, or version 1), the address
// space left under RLIMIT_AS, and GOMEMLIMIT.
func TestLowestLimitCounts(t *testing.T) {
	const gib = 1 << 30
	meminfo := "MemTotal: 25165824 kB\nMemAvailable: 20971520 kB\n" // 20 GiB available
	status := "Name: x\nVmSize: 1048576 kB\n"                       // 1 GiB of address space in use
	noAS := func() (uint64, bool) { return 0, false }
	for _, tc := range []struct {
		name    string
		files   map[string]string
		as      func() (uint64, bool)
		goLimit int64
		want    int64
		ok      bool
	}{
		{"nothing known", nil, noAS, math.MaxInt64, math.MaxInt64, false},
		{"machine", map[string]string{"proc/meminfo": meminfo}, noAS, math.MaxInt64, 20 * gib, true},
		{"cgroup v2", map[string]string{
			"proc/meminfo":                     meminfo,
			"proc/self/cgroup":                 "0::/a/b\n",
			"sys/fs/cgroup/a/b/memory.max":     "max\n",
			"sys/fs/cgroup/a/b/memory.current": "100\n",
			"sys/fs/cgroup/a/memory.max":       "4294967296\n",
			"sys/fs/cgroup/a/memory.current":   "1073741824\n",
			"sys/fs/cgroup/memory.max":         "max\n",
		}, noAS, math.MaxInt64, 3 * gib, true},
		{"cgroup v1", map[string]string{
			"proc/meminfo":     meminfo,
			"proc/self/cgroup": "12:cpu:/x\n5:memory:/docker/abc\n",
			"sys/fs/cgroup/memory/docker/abc/memory.limit_in_bytes": "2147483648\n",
			"sys/fs/cgroup/memory/docker/abc/memory.usage_in_bytes": "536870912\n",
		}, noAS, math.MaxInt64, gib + gib/2, true},
		{"cgroup v1 without a limit", map[string]string{
			"proc/meminfo":     meminfo,
			"proc/self/cgroup": "5:memory:/\n",
			"sys/fs/cgroup/memory/memory.limit_in_bytes": "9223372036854771712\n",
			"sys/fs/cgroup/memory/memory.usage_in_bytes": "536870912\n",
		}, noAS, math.MaxInt64, 20 * gib, true},
		{"address space", map[string]string{"proc/meminfo": meminfo, "proc/self/status": status},
			func() (uint64, bool) { return 8 * gib, true }, math.MaxInt64, (7*gib - runtimeReserve) / 2, true},
		{"address space used up", map[string]string{"proc/meminfo": meminfo, "proc/self/status": status},
			func() (uint64, bool) { return gib / 2, true }, math.MaxInt64, 0, true},
		{"GOMEMLIMIT", map[string]string{"proc/meminfo": meminfo}, noAS, 5 * gib, 5 * gib, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := machine{root: fakeRoot(t, tc.files), rlimitAS: tc.as, goLimit: tc.goLimit}.available()
			if got != tc.want || ok != tc.ok {
				t.Errorf("%d bytes (%s), %v; want %d (%s), %v", got, Format(got), ok, tc.want, Format(tc.want), tc.ok)
			}
		})
	}
}
