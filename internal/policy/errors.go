package policy

import (
	"fmt"
	"sort"
	"strings"

	"github.com/maestro-conductor/releasegate/internal/gate"
)

// Error kinds, printed in brackets after each message like actionlint does.
const (
	KindSyntax     = "syntax"
	KindUnknownKey = "unknown-key"
	KindType       = "type"
	KindRequired   = "required"
	KindValue      = "value"
	KindEnv        = "env"
	KindFile       = "file"
	// KindInternal is a problem in releasegate, not in the policy: a
	// settings type it cannot decode, or a Validate method that panicked.
	KindInternal = "internal"
)

// Error is one problem in a policy file, at a position.
type Error struct {
	// Location is file:line:col of the offending node.
	Location gate.Location
	// Path is the key path, e.g. gates[2].with.deadline.
	Path string
	// Message says what is wrong and what was expected.
	Message string
	// Kind classifies the problem (KindSyntax, KindUnknownKey, ...).
	Kind string
}

func (e *Error) Error() string {
	if e.Path != "" {
		return fmt.Sprintf("%s: %s: %s [%s]", e.Location, e.Path, e.Message, e.Kind)
	}
	return fmt.Sprintf("%s: %s [%s]", e.Location, e.Message, e.Kind)
}

// Is makes every policy Error match gate.ErrBadInput.
func (e *Error) Is(target error) bool { return target == gate.ErrBadInput }

// Errors is every problem found in a policy, sorted by position. It is
// returned whole: a policy is never half-loaded.
type Errors []*Error

func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Is makes Errors match gate.ErrBadInput.
func (es Errors) Is(target error) bool { return target == gate.ErrBadInput }

func (es Errors) sort(file string) {
	sort.SliceStable(es, func(i, j int) bool {
		a, b := es[i].Location, es[j].Location
		switch {
		case a.File != b.File: // the policy's own problems first, then each file named in it
			if a.File == file || b.File == file {
				return a.File == file
			}
			return a.File < b.File
		case a.Line != b.Line:
			return a.Line < b.Line
		case a.Column != b.Column:
			return a.Column < b.Column
		case es[i].Path != es[j].Path:
			return es[i].Path < es[j].Path
		}
		return es[i].Message < es[j].Message
	})
}

// FieldError is returned by a gate settings type's Validate method to point
// at one of its keys. Field is the key path relative to the gate's `with:`
// block, dotted, with [i] for list items: "expect.json[1].condition".
type FieldError struct {
	Field string
	Err   error
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Err.Error() }

// Unwrap returns the wrapped error.
func (e *FieldError) Unwrap() error { return e.Err }

// Validator is implemented by settings types that check themselves after
// decoding. Each error may be a *FieldError to point at a key.
type Validator interface {
	Validate() []error
}

// Binder is a gate's settings type that needs to know where it stands: its
// gate's id (e.g. as the default name of what it defines) and the policy's
// directory (to read a file the settings name). Parse calls Bind after
// decoding the `with:` block and before Validate.
type Binder interface {
	Bind(GateContext)
}

// GateContext is what Bind learns.
type GateContext struct {
	// ID is the gate's id.
	ID string
	// Dir is the policy file's directory, against which relative paths
	// are resolved.
	Dir string
}

// FileError is a problem in another file the settings name (e.g. an SLO
// spec), at its own file:line:col; Field is the key that names the file.
type FileError struct {
	Field    string
	Location gate.Location
	Err      error
}

func (e *FileError) Error() string { return e.Location.String() + ": " + e.Err.Error() }

// Unwrap returns the wrapped error.
func (e *FileError) Unwrap() error { return e.Err }

// Identifier is a gate's settings type whose items must be unique across
// the whole policy, not only within their gate: the SLOs of every slo gate
// share one Prometheus, so two with one service and name would collide.
// Parse reports a key given by two gates as an error at the second, naming
// the first's position.
type Identifier interface {
	Identities() []Identity
}

// Identity is one item's policy-wide key.
type Identity struct {
	// Key identifies the item, e.g. `service "checkout", slo "availability"`.
	Key string
	// Field is the item's key relative to the gate's `with:`, e.g.
	// slos[0].name.
	Field string
	// Hint says what to do about a duplicate, e.g. "give one gate another
	// service".
	Hint string
}
