package commandgate

import (
	"errors"
	"fmt"
	"regexp"

	"github.com/maestro-conductor/releasegate/internal/gates/command/jsonpath"
	"github.com/maestro-conductor/releasegate/internal/policy"
)

// spec is the `with:` block of a command gate.
type spec struct {
	// Run is the argv: run without a shell.
	Run []string `yaml:"run" doc:"the command and its arguments, run directly without a shell, e.g. [./bin/rtbf, --dry-run]"`
	// Shell is a script for /bin/sh -c, for when pipes or globs are needed.
	Shell string `yaml:"shell" doc:"a script run with /bin/sh -c instead of run, for pipes and globs; give run or shell, not both"`
	// Dir is the working directory, relative to the policy file.
	Dir string `yaml:"dir" doc:"working directory, relative to the policy file's directory (default: that directory)"`
	// Env is added to releasegate's own environment.
	Env map[string]string `yaml:"env" doc:"environment variables added to releasegate's own; values from secret-looking ${VARS} are masked"`
	// SecretEnv is like Env, but every value is masked in every output.
	SecretEnv map[string]string `yaml:"secret-env" secret:"true" doc:"environment variables whose values are secrets, such as DB_PASSWORD: ${DB_PASSWORD}"`
	// Deadline bounds the command's run time.
	Deadline policy.Duration `yaml:"deadline" doc:"how long the command may run; past it the command and its children are killed and the gate fails (default: the gate's timeout)"`
	// Tenant is the tenant the command speaks for, if any.
	Tenant string `yaml:"tenant" doc:"the tenant this command checks, shown on each of its checks (e.g. a per-tenant RTBF job)"`
	// Expect is what the command must do.
	Expect expect `yaml:"expect" doc:"what the command must do to pass"`
}

// expect lists the command's expectations; each becomes one check.
type expect struct {
	// ExitCode is the exit status the command must end with.
	ExitCode *int `yaml:"exit-code" default:"0" doc:"the exit status the command must end with"`
	// JSON are expectations on fields of the command's stdout, parsed as JSON.
	JSON []jsonpath.Expect `yaml:"json" doc:"expectations on fields of the command's stdout, parsed as one JSON document"`
	// StdoutContains must appear in stdout.
	StdoutContains string `yaml:"stdout-contains" doc:"text that must appear in the command's stdout"`
}

var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// Validate reports every problem with the settings at once.
func (s *spec) Validate() []error {
	var errs []error
	switch {
	case len(s.Run) == 0 && s.Shell == "":
		errs = append(errs, &policy.FieldError{Field: "run", Err: errors.New("no command; give run: [program, args...] or shell: \"script\"")})
	case len(s.Run) > 0 && s.Shell != "":
		errs = append(errs, &policy.FieldError{Field: "shell", Err: errors.New("give run or shell, not both")})
	case len(s.Run) > 0 && s.Run[0] == "":
		errs = append(errs, &policy.FieldError{Field: "run[0]", Err: errors.New("the program name is empty")})
	}
	for _, m := range []struct {
		key string
		env map[string]string
	}{{"env", s.Env}, {"secret-env", s.SecretEnv}} {
		for k := range m.env {
			if !envName.MatchString(k) {
				errs = append(errs, &policy.FieldError{Field: m.key + "." + k, Err: fmt.Errorf("%q is not a valid environment variable name", k)})
			}
			if _, dup := s.Env[k]; dup && m.key == "secret-env" {
				errs = append(errs, &policy.FieldError{Field: m.key + "." + k, Err: fmt.Errorf("%s is set in both env and secret-env", k)})
			}
		}
	}
	if s.Expect.ExitCode != nil && (*s.Expect.ExitCode < 0 || *s.Expect.ExitCode > 255) {
		errs = append(errs, &policy.FieldError{Field: "expect.exit-code", Err: fmt.Errorf("%d is not an exit status; expected 0 to 255", *s.Expect.ExitCode)})
	}
	for i, e := range s.Expect.JSON {
		errs = append(errs, e.Validate(fmt.Sprintf("expect.json[%d]", i))...)
	}
	return errs
}
