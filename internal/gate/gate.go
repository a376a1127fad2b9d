package gate

import (
	"context"
	"errors"
	"fmt"
)

// Gate evaluates one concern of a release. Run returns a Result whose status
// says whether the gate passed; it returns an error only when the gate could
// not be evaluated at all (a source unreachable, a timeout), which the runner
// records as StatusError. A failing Result is not an error.
type Gate interface {
	// Name is the gate's id in the policy.
	Name() string
	// Run evaluates the gate. It must honour ctx's deadline.
	Run(ctx context.Context) (*Result, error)
}

// Describer is implemented by gates that can say, before running, what they
// are about to check (shown in progress output and dry runs).
type Describer interface {
	Describe() string
}

// Sentinel errors a gate wraps so callers can tell why it could not be
// evaluated. Match them with errors.Is.
var (
	// ErrNoData means a source answered, but with nothing to judge.
	ErrNoData = errors.New("no data")
	// ErrUnreachable means a source could not be reached.
	ErrUnreachable = errors.New("source unreachable")
	// ErrTimeout means the gate ran past its deadline.
	ErrTimeout = errors.New("timed out")
	// ErrNotImplemented means the gate kind exists in the policy format but
	// is not implemented in this build. It is never a pass.
	ErrNotImplemented = errors.New("not implemented")
	// ErrBadInput means the gate's configuration or an input file is
	// invalid; the CLI exits 2.
	ErrBadInput = errors.New("bad input")
)

// InputError is a bad-input error that names the offending input.
type InputError struct {
	// Input is the file, flag or field at fault.
	Input string
	// Err says what is wrong with it.
	Err error
}

func (e *InputError) Error() string { return fmt.Sprintf("%s: %v", e.Input, e.Err) }

// Unwrap returns the wrapped error.
func (e *InputError) Unwrap() error { return e.Err }

// Is makes every InputError match ErrBadInput.
func (e *InputError) Is(target error) bool { return target == ErrBadInput }
