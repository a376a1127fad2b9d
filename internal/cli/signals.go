package cli

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/maestro-conductor/releasegate/internal/gate"
)

// stopSignals end a run the same way: SIGINT (Ctrl-C), SIGTERM (a CI
// runner cancelling the job) and SIGHUP (a closed terminal or SSH session).
var stopSignals = []os.Signal{os.Interrupt, syscall.SIGTERM, syscall.SIGHUP}

// signalName is the conventional name of a signal, e.g. "SIGHUP".
func signalName(s os.Signal) string {
	switch s {
	case os.Interrupt:
		return "SIGINT"
	case syscall.SIGTERM:
		return "SIGTERM"
	case syscall.SIGHUP:
		return "SIGHUP"
	}
	return s.String()
}

// SignalContext returns a context that is cancelled when the process
// receives SIGINT, SIGTERM or SIGHUP, with a cause wrapping
// gate.ErrCancelled that names the signal ("cancelled by SIGHUP"). The
// gates stop (a command gate kills its process group), every gate that did
// not finish ends as status error, and the results are still written, so
// the exit code is not 0. Later signals are caught too, so a second one
// cannot kill the process while it writes the results; and from the first
// signal on SIGPIPE is caught, so that writing to a terminal or pipe that
// went away returns an error instead of killing the process before --out is
// written. Call stop to restore the default behaviour.
func SignalContext(parent context.Context) (ctx context.Context, stop func()) {
	ctx, cancel := context.WithCancelCause(parent)
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, stopSignals...)
	pipe := make(chan os.Signal, 1)
	done := make(chan struct{})
	go func() {
		select {
		case s := <-sigs:
			signal.Notify(pipe, syscall.SIGPIPE)
			cancel(fmt.Errorf("%w by %s", gate.ErrCancelled, signalName(s)))
		case <-done:
		}
	}()
	return ctx, func() {
		close(done)
		signal.Stop(sigs)
		signal.Stop(pipe)
		cancel(nil)
	}
}
