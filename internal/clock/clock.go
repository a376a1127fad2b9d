// Package clock holds the one context-aware sleep the gates, clients and the
// demo share (and replace in tests).
package clock

import (
	"context"
	"time"
)

// Sleep waits for d or until ctx is done, whichever comes first; it
// returns ctx.Err() in the second case.
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
