package dirlock

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Holders of the lock take turns: no two are inside at once.
func TestLockExcludes(t *testing.T) {
	dir := t.TempDir()
	var inside, most atomic.Int32
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			unlock, err := Lock(dir)
			if err != nil {
				t.Error(err)
				return
			}
			n := inside.Add(1)
			for {
				m := most.Load()
				if n <= m || most.CompareAndSwap(m, n) {
					break
				}
			}
			time.Sleep(5 * time.Millisecond)
			inside.Add(-1)
			unlock()
		}()
	}
	wg.Wait()
	if m := most.Load(); m != 1 {
		t.Errorf("%d holders at once", m)
	}
	if _, err := Lock(dir + "/missing"); err == nil {
		t.Error("a missing directory locked")
	}
}
