package relunet

import (
	"errors"
	"fmt"
	"math"

	"github.com/relunet/relunet/relunet/internal/size"
	"github.com/relunet/relunet/relunet/internal/sysmem"
)

// Errors that errors.Is matches, whatever the message around them. As in
// encoding/csv, a typed error (MemoryError, DivergedError) carries the
// details and unwraps to its sentinel.
var (
	// ErrCorrupt reports a state that is damaged or inconsistent.
	ErrCorrupt = errors.New("corrupt solver state")
	// ErrMemory reports work that does not fit in the memory limit.
	ErrMemory = errors.New("does not fit in memory")
	// ErrDiverged reports a gradient method whose loss stopped being finite.
	ErrDiverged = errors.New("diverged")
)

// MemoryError reports what does not fit in the memory limit, before any of
// it is allocated.
type MemoryError struct {
	What string // what needs the memory, with its sizes
	// Need is the bytes it needs, or more than any memory when its sizes
	// overflow; Left is what the limit leaves for it.
	Need, Left int64
	// Option names the setting that raises the limit or lowers the need.
	Option string
}

func (e *MemoryError) Error() string {
	need := sysmem.Format(e.Need)
	if e.Need == size.Overflow {
		need = "more than any memory (its sizes overflow)"
	}
	s := fmt.Sprintf("%s needs %s, and %s is left of the memory limit", e.What, need, sysmem.Format(max(e.Left, 0)))
	if e.Option != "" {
		s += " (" + e.Option + ")"
	}
	return s
}

// Unwrap returns ErrMemory.
func (e *MemoryError) Unwrap() error { return ErrMemory }

// DivergedError reports a gradient method whose training loss stopped being
// finite.
type DivergedError struct {
	Method Method
	Epoch  int     // the epoch or iteration that diverged
	LR     float64 // its learning rate, for SGD and Adam
	Loss   float64 // NaN or an infinity
}

func (e *DivergedError) Error() string {
	if e.LR > 0 {
		return fmt.Sprintf("epoch %d: training loss is %v: diverged at learning rate %v (try a smaller one)", e.Epoch, e.Loss, e.LR)
	}
	return fmt.Sprintf("iteration %d: training loss is %v: diverged", e.Epoch, e.Loss)
}

// Unwrap returns ErrDiverged.
func (e *DivergedError) Unwrap() error { return ErrDiverged }

// memory is a memory limit being spent: a solver checks the bytes of its
// plan against it before it allocates.
type memory struct {
	limit  int64  // bytes; math.MaxInt64 for none
	option string // the option that sets the limit, for errors
}

// newMemory returns the limit of a MemoryLimit option: itself when
// positive, none when negative, and for 0 what the process may use now (see
// sysmem), or defaultMemory where the machine does not say. It is read once,
// when a solver is made, so that a run's plan does not change midway.
func newMemory(opt int64, option string) memory {
	m := memory{limit: opt, option: option}
	switch {
	case opt < 0:
		m.limit = math.MaxInt64
	case opt == 0:
		m.limit = defaultMemory
		if b, ok := sysmem.Available(); ok {
			m.limit = b
		}
	}
	return m
}

// shown returns the MemoryLimit option that Options shows for the option
// opt: opt itself, or the limit 0 resolved to.
func (m memory) shown(opt int64) int64 {
	if opt == 0 {
		return m.limit
	}
	return opt
}

// check returns a MemoryError when need bytes for what do not fit in the
// limit less used.
func (m memory) check(what string, need, used int64) error {
	if left := m.limit - used; need > left || used > m.limit {
		return &MemoryError{What: what, Need: need, Left: left, Option: m.option}
	}
	return nil
}
