// Package testsgate implements the `tests` gate kind (group jobs): it reads
// the test reports a CI run produced — JUnit XML (Surefire, pytest,
// go-junit-report/gotestsum, jest-junit) or `go test -json` — and checks
// the totals against the policy: at least min-tests tests ran and at least
// one passed, failures, errors, skips and flaky tests within their limits,
// the required suites present, and the same per tenant when the suites'
// names carry the tenant.
//
// It fails closed: a report that is missing fails, zero tests fail, a
// truncated, malformed or oversized report is bad input (exit 2); nothing
// read means nothing passed.
package testsgate

import (
	"errors"
	"fmt"
	"path"
	"path/filepath"
	"regexp"
	"slices"

	"github.com/maestro-conductor/releasegate/internal/policy"
	"github.com/maestro-conductor/releasegate/internal/testreport"
)

// Kind is the gate kind's name in a policy.
const Kind = "tests"

// NoLimit is the value of a max-… setting that sets no limit.
const NoLimit = -1

// Spec is the `with:` block of a tests gate.
type Spec struct {
	// Reports are report files or globs.
	Reports []string `yaml:"reports" required:"true" doc:"test report files or globs (e.g. target/surefire-reports/TEST-*.xml), relative to the policy file; each entry must name at least one file, and a missing one fails the gate"`
	// Format is the reports' format.
	Format string `yaml:"format" default:"auto" enum:"auto,junit,go-test-json" doc:"the reports' format: JUnit XML (Surefire, pytest, go-junit-report, gotestsum, jest-junit) or the output of go test -json; auto tells them apart by their first byte"`
	// MinTests is the least number of tests that must run (not skipped).
	MinTests int64 `yaml:"min-tests" default:"1" doc:"the least number of tests that must run to a verdict (passed or failed; skipped and errored ones not counted); at least 1, so an empty report never passes"`
	// MaxFailures is the most failed tests accepted.
	MaxFailures int64 `yaml:"max-failures" default:"0" doc:"the most failed tests accepted (final outcome, after reruns); per tenant too with tenant-pattern"`
	// MaxErrors is the most errored tests accepted.
	MaxErrors int64 `yaml:"max-errors" default:"0" doc:"the most tests in error accepted (JUnit error elements, a Go build failure, a panic, a test that never finished); per tenant too with tenant-pattern"`
	// MaxSkipped is the most skipped tests accepted.
	MaxSkipped int64 `yaml:"max-skipped" default:"-1" doc:"the most skipped tests accepted; -1 sets no limit (the count is still shown)"`
	// MaxFlaky is the most flaky tests accepted.
	MaxFlaky int64 `yaml:"max-flaky" default:"-1" doc:"the most flaky tests accepted (failed, then passed on a rerun: Surefire flakyFailure/flakyError, gotestsum --rerun-fails); -1 sets no limit, and then flaky tests make the gate warn"`
	// RequiredSuites are suite-name globs that must each match a suite.
	RequiredSuites []string `yaml:"required-suites" doc:"globs over suite names (JUnit testsuite names, Go package paths) that must each match a suite with at least one test that ran"`
	// TenantPattern finds the tenant in a case's names.
	TenantPattern string `yaml:"tenant-pattern" doc:"a regular expression with a group named tenant (or one group), matched against each case's suite, then class, then test name; the first match names the case's tenant, and the limits apply per tenant too"`
	// Tenants must each have tests.
	Tenants []string `yaml:"tenants" doc:"tenants that must each have at least min-tests tests that ran (needs tenant-pattern)"`
}

// DefaultSpec returns the settings' defaults.
func DefaultSpec() *Spec {
	return &Spec{Format: string(testreport.FormatAuto), MinTests: 1, MaxSkipped: NoLimit, MaxFlaky: NoLimit}
}

// Validate reports every problem with the settings at once.
func (s *Spec) Validate() []error {
	var errs []error
	if len(s.Reports) == 0 {
		errs = append(errs, &policy.FieldError{Field: "reports", Err: errors.New("no report files; list the JUnit XML or go test -json files the CI run writes")})
	}
	for i, r := range s.Reports {
		if r == "" {
			errs = append(errs, &policy.FieldError{Field: fmt.Sprintf("reports[%d]", i), Err: errors.New("empty path")})
		} else if _, err := filepath.Match(r, ""); err != nil {
			errs = append(errs, &policy.FieldError{Field: fmt.Sprintf("reports[%d]", i), Err: fmt.Errorf("%q is not a valid glob: %w", r, err)})
		}
	}
	if s.Format != "" && !slices.Contains(testreport.Formats, testreport.Format(s.Format)) {
		errs = append(errs, &policy.FieldError{Field: "format", Err: fmt.Errorf("%q; expected auto, junit or go-test-json", s.Format)})
	}
	if s.MinTests < 1 {
		errs = append(errs, &policy.FieldError{Field: "min-tests", Err: fmt.Errorf("%d; expected 1 or more: a report with no tests never passes", s.MinTests)})
	}
	for field, v := range map[string]int64{"max-failures": s.MaxFailures, "max-errors": s.MaxErrors} {
		if v < 0 {
			errs = append(errs, &policy.FieldError{Field: field, Err: fmt.Errorf("%d is negative; expected 0 or more", v)})
		}
	}
	for field, v := range map[string]int64{"max-skipped": s.MaxSkipped, "max-flaky": s.MaxFlaky} {
		if v < NoLimit {
			errs = append(errs, &policy.FieldError{Field: field, Err: fmt.Errorf("%d; expected -1 (no limit) or 0 or more", v)})
		}
	}
	for i, g := range s.RequiredSuites {
		if _, err := path.Match(g, ""); err != nil || g == "" {
			errs = append(errs, &policy.FieldError{Field: fmt.Sprintf("required-suites[%d]", i), Err: fmt.Errorf("%q is not a valid glob", g)})
		}
	}
	if s.TenantPattern != "" {
		if _, err := tenantRE(s.TenantPattern); err != nil {
			errs = append(errs, &policy.FieldError{Field: "tenant-pattern", Err: err})
		}
	}
	if len(s.Tenants) > 0 && s.TenantPattern == "" {
		errs = append(errs, &policy.FieldError{Field: "tenants", Err: errors.New("needs tenant-pattern, the pattern that finds the tenant in the suites' names")})
	}
	for i, t := range s.Tenants {
		if t == "" {
			errs = append(errs, &policy.FieldError{Field: fmt.Sprintf("tenants[%d]", i), Err: errors.New("empty tenant name")})
		}
	}
	return errs
}

// tenantRE compiles the tenant pattern and checks it has the group that
// names the tenant.
func tenantRE(p string) (*regexp.Regexp, error) {
	re, err := regexp.Compile(p)
	if err != nil {
		return nil, fmt.Errorf("%q is not a valid regular expression: %w", p, err)
	}
	if re.SubexpIndex("tenant") < 0 && re.NumSubexp() != 1 {
		return nil, fmt.Errorf("%q has %d groups and none named tenant; expected (?P<tenant>…) or exactly one group", p, re.NumSubexp())
	}
	return re, nil
}

// tenantOf returns the tenant a case belongs to, or "".
func tenantOf(re *regexp.Regexp, c *testreport.Case) string {
	if re == nil {
		return ""
	}
	g := re.SubexpIndex("tenant")
	if g < 0 {
		g = 1
	}
	for _, s := range []string{c.Suite, c.Class, c.Name} {
		if m := re.FindStringSubmatch(s); m != nil && m[g] != "" {
			return m[g]
		}
	}
	return ""
}
