package gate

import (
	"context"
	"errors"
	"fmt"
)

// ErrCancelled means the run was stopped from outside — a signal such as
// SIGINT, SIGTERM or SIGHUP — before the gate finished. It is never a pass.
// The cause set by whoever cancelled wraps it and says why, e.g.
// "cancelled by SIGHUP".
var ErrCancelled = errors.New("cancelled")

// Stopped says why ctx ended, or returns nil while it is live: the context's
// cause when it wraps ErrCancelled, ErrTimeout when a deadline passed, and
// otherwise ErrCancelled wrapping the cause.
func Stopped(ctx context.Context) error {
	if ctx.Err() == nil {
		return nil
	}
	cause := context.Cause(ctx)
	switch {
	case errors.Is(cause, ErrCancelled):
		return cause
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return ErrTimeout
	}
	return fmt.Errorf("%w: %w", ErrCancelled, cause)
}
