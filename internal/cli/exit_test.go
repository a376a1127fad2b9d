package cli

import (
	"errors"
	"flag"
	"fmt"
	"strings"
	"testing"

	"github.com/maestro-conductor/releasegate/internal/fsx"
	"github.com/maestro-conductor/releasegate/internal/gate"
)

// TestExitFor: every kind of error a command returns maps to one exit code
// and is printed once, under the command's prefix, or not at all when
// something already said it.
func TestExitFor(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		err    error
		code   int
		stderr string
	}{
		{"nil is 0", nil, ExitOK, ""},
		{"--help is 0", flag.ErrHelp, ExitOK, ""},
		{"a failed verdict is 1, unprinted", verdict(gate.StatusFail), ExitFail, ""},
		{"an errored verdict is 3, unprinted", verdict(gate.StatusError), ExitError, ""},
		{"a code already explained is that code, unprinted", exitCode(ExitBadInput), ExitBadInput, ""},
		{"bad input is 2", inputf("--hours %d: expected 1 to 744", 0), ExitBadInput, "releasegate forecast: --hours 0: expected 1 to 744\n"},
		{"an input error is 2", &gate.InputError{Input: "f.json", Err: errors.New("not JSON")}, ExitBadInput, "releasegate forecast: f.json: not JSON\n"},
		{"an oversized file is 2", fmt.Errorf("read: %w", fsx.ErrTooLarge), ExitBadInput, "releasegate forecast: read: " + fsx.ErrTooLarge.Error() + "\n"},
		{"anything else is 3", errors.New("source unreachable"), ExitError, "releasegate forecast: source unreachable\n"},
		{"a domain field is worded as its flag", fmt.Errorf("gate g: %w", &gate.InputError{Input: "tenant", Err: errors.New("no such tenant")}), ExitBadInput, "releasegate forecast: gate g: --tenant: no such tenant\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var stderr strings.Builder
			o := &IO{Stderr: &stderr}
			if code := o.exitFor("releasegate forecast", tt.err); code != tt.code || stderr.String() != tt.stderr {
				t.Errorf("expected exit %d and stderr %q, found %d and %q", tt.code, tt.stderr, code, stderr.String())
			}
		})
	}
}

// TestVerdict: only pass, warn and skip let a release go.
func TestVerdict(t *testing.T) {
	t.Parallel()
	for _, s := range gate.Statuses() {
		err := verdict(s)
		if want := exitForStatus(s) == ExitOK; (err == nil) != want {
			t.Errorf("status %s: expected no error %v, found %v", s, want, err)
		}
	}
}

// TestCommandPrefix: errors name the command and its subcommand.
func TestCommandPrefix(t *testing.T) {
	t.Parallel()
	c, _ := lookup("synthetic")
	if got := c.prefix([]string{"merge", "a.json"}); got != "releasegate synthetic merge" {
		t.Errorf("expected the subcommand in the prefix, found %q", got)
	}
	if got := c.prefix([]string{"--gate", "merge"}); got != "releasegate synthetic" {
		t.Errorf("expected no subcommand after a flag, found %q", got)
	}
}
