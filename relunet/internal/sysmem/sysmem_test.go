package sysmem

import (
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
