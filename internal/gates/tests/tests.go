package testsgate

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/maestro-conductor/releasegate/internal/fsx"
	"github.com/maestro-conductor/releasegate/internal/gate"
	"github.com/maestro-conductor/releasegate/internal/testreport"
)

// Names of the checks, which the checklist and the evidence manifest read.
const (
	CheckRun      = "tests run"
	CheckPassed   = "tests passed"
	CheckFailures = "failures"
	CheckErrors   = "errors"
	CheckSkipped  = "skipped"
	CheckFlaky    = "flaky tests"
	// CheckSuite is the check of one required-suites glob; its expected
	// condition names the glob (suite names hold slashes, which the
	// checklist's name patterns do not cross).
	CheckSuite = "required suite"
)

// maxListed bounds the failing and flaky cases named in messages and
// details.
const maxListed = 20

func init() {
	gate.RegisterTyped(gate.Typed[Spec]{
		Name:    Kind,
		Group:   "jobs",
		Summary: "judges test reports (JUnit XML, go test -json): totals, failures, errors, skips, flaky reruns, required suites, per tenant",
		Default: func() Spec { return *DefaultSpec() },
		New:     func(m gate.Meta, s Spec, env gate.Env) (gate.Gate, error) { return New(m, s, env) },
	})
}

// Gate is a configured tests gate.
type Gate struct {
	meta   gate.Meta
	spec   Spec
	env    gate.Env
	tenant *regexp.Regexp
}

// New builds a tests gate; relative report paths resolve against the
// policy directory.
func New(m gate.Meta, s Spec, env gate.Env) (*Gate, error) {
	if s.Format == "" {
		s.Format = string(testreport.FormatAuto)
	}
	if errs := s.Validate(); len(errs) > 0 {
		return nil, &gate.InputError{Input: "with", Err: errors.Join(errs...)}
	}
	g := &Gate{meta: m, spec: s, env: env}
	if s.TenantPattern != "" {
		g.tenant, _ = tenantRE(s.TenantPattern) // validated above
	}
	return g, nil
}

// Name returns the gate's id.
func (g *Gate) Name() string { return g.meta.ID }

// Describe says what the gate checks.
func (g *Gate) Describe() string {
	return fmt.Sprintf("test reports %s: at least %d tests, at most %d failures", strings.Join(g.spec.Reports, ", "), g.spec.MinTests, g.spec.MaxFailures)
}

// reportFile is one report read.
type reportFile struct {
	name   string // as the policy names it, relative to the policy file
	format testreport.Format
	cases  int
}

// Run evaluates the gate.
func (g *Gate) Run(ctx context.Context) (*gate.Result, error) {
	res := &gate.Result{Schema: gate.SchemaVersion, Gate: g.meta.ID, Kind: Kind, Group: g.meta.Group,
		Required: g.meta.Required, Location: g.meta.Location, Details: map[string]any{}}
	cases, files, err := g.read(ctx, res)
	if err != nil {
		return nil, err
	}
	rep := &testreport.Report{Cases: mergeRuns(cases)}
	g.judge(res, rep, files)
	return res, nil
}

// read reads every report the policy names. A missing file or a glob that
// matches nothing is a failing check; a file that cannot be read as a
// report is bad input.
func (g *Gate) read(ctx context.Context, res *gate.Result) ([]testreport.Case, []reportFile, error) {
	var cases []testreport.Case
	var files []reportFile
	for _, pattern := range g.spec.Reports {
		paths, err := g.expand(pattern)
		if err != nil {
			return nil, nil, err
		}
		if len(paths) == 0 {
			res.Add(gate.Check{Name: "report " + pattern, Status: gate.StatusFail, Expected: "present",
				Message: fmt.Sprintf("expected a test report at %s, found none; check that the test step ran and wrote it there", pattern)})
			continue
		}
		for _, p := range paths {
			name := g.rel(p)
			b, err := fsx.ReadFile(ctx, p, fsx.MaxDocSize)
			if err != nil {
				if errors.Is(err, fsx.ErrNotRegular) || errors.Is(err, fsx.ErrTooLarge) {
					return nil, nil, &gate.InputError{Input: name, Err: fmt.Errorf("test report %w", err)}
				}
				return nil, nil, fmt.Errorf("reading test report %s: %w", name, err)
			}
			rep, err := testreport.Parse(b, testreport.Format(g.spec.Format))
			if err != nil {
				return nil, nil, &gate.InputError{Input: name, Err: err}
			}
			res.Inputs = append(res.Inputs, gate.Input{Name: name, Digest: fmt.Sprintf("sha256:%x", sha256.Sum256(b))})
			files = append(files, reportFile{name: name, format: rep.Format, cases: len(rep.Cases)})
			cases = append(cases, rep.Cases...)
		}
	}
	return cases, files, nil
}

// expand resolves a report entry: a glob's matches in order, or the file.
func (g *Gate) expand(pattern string) ([]string, error) {
	p := pattern
	if !filepath.IsAbs(p) && g.env.PolicyDir != "" {
		p = filepath.Join(g.env.PolicyDir, p)
	}
	if strings.ContainsAny(pattern, "*?[") {
		m, err := filepath.Glob(p)
		if err != nil {
			return nil, &gate.InputError{Input: pattern, Err: err}
		}
		sort.Strings(m)
		return m, nil
	}
	if _, err := os.Stat(p); errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	return []string{p}, nil
}

// rel names a file as the policy would: relative to the policy directory
// when it is inside it.
func (g *Gate) rel(p string) string {
	if g.env.PolicyDir != "" {
		if r, err := filepath.Rel(g.env.PolicyDir, p); err == nil && !strings.HasPrefix(r, "..") {
			return filepath.ToSlash(r)
		}
	}
	return filepath.ToSlash(p)
}

// mergeRuns merges reruns across report files (a rerun job writes its own
// file): a case that failed in one file and appears again in a later one
// is the same case run again.
func mergeRuns(cases []testreport.Case) []testreport.Case {
	return testreport.Merge(cases)
}

// judge adds the checks for the totals, the suites and the tenants.
func (g *Gate) judge(res *gate.Result, rep *testreport.Report, files []reportFile) {
	s := g.spec
	t := rep.Totals()
	run := int64(t.Passed + t.Failed) // ran to a verdict: not skipped, not in error
	failing := listCases(rep.Cases, func(c *testreport.Case) bool {
		return c.Outcome == testreport.Failed || c.Outcome == testreport.Errored
	})
	flaky := listCases(rep.Cases, func(c *testreport.Case) bool { return c.Flaky })

	res.Add(atLeast(CheckRun, "", run, s.MinTests,
		fmt.Sprintf("%d tests ran (%d skipped, %d in error) in %d report(s)", run, t.Skipped, t.Errors, len(files)),
		"check that the test step ran every suite and wrote its report"))
	passed := gate.Check{Name: CheckPassed, Status: gate.StatusPass, Observed: gate.Int(int64(t.Passed)), Expected: "> 0",
		Message: fmt.Sprintf("%d of %d tests passed", t.Passed, t.Tests)}
	if t.Passed == 0 {
		passed.Status = gate.StatusFail
		passed.Message = fmt.Sprintf("expected at least one passing test, found none of %d; a report with no passing test proves nothing", t.Tests)
	}
	res.Add(passed)
	res.Add(atMost(CheckFailures, "", int64(t.Failed), s.MaxFailures, "failed", failing, "fix them or quarantine them in the test suite"))
	res.Add(atMost(CheckErrors, "", int64(t.Errors), s.MaxErrors, "in error", failing, "a build failure, crash or test that never finished: see the CI log"))
	res.Add(limit(CheckSkipped, int64(t.Skipped), s.MaxSkipped, "skipped", nil))
	res.Add(limit(CheckFlaky, int64(t.Flaky), s.MaxFlaky, fmt.Sprintf("flaky (failed, then passed on a rerun; %d reruns)", t.Reruns), flaky))
	g.suites(res, rep)
	tenants := g.tenants(res, rep)

	res.Summary = fmt.Sprintf("%d tests: %d passed, %d failed, %d errors, %d skipped, %d flaky", t.Tests, t.Passed, t.Failed, t.Errors, t.Skipped, t.Flaky)
	reports := make([]map[string]any, 0, len(files))
	for _, f := range files {
		reports = append(reports, map[string]any{"file": f.name, "format": string(f.format), "cases": f.cases})
	}
	res.Details["totals"] = t
	res.Details["reports"] = reports
	res.Details["suites"] = len(rep.Suites())
	if len(failing) > 0 {
		res.Details["failing"] = failing
	}
	if len(flaky) > 0 {
		res.Details["flaky"] = flaky
	}
	if len(tenants) > 0 {
		res.Details["tenants"] = tenants
	}
}

// suites checks that each required suite glob matches a suite that ran.
func (g *Gate) suites(res *gate.Result, rep *testreport.Report) {
	if len(g.spec.RequiredSuites) == 0 {
		return
	}
	totals := rep.Suites()
	names := rep.SuiteNames()
	for _, glob := range g.spec.RequiredSuites {
		var found []string
		var run int64
		for _, n := range names {
			if ok, _ := path.Match(glob, n); ok {
				found = append(found, n)
				run += int64(totals[n].Passed + totals[n].Failed)
			}
		}
		c := gate.Check{Name: CheckSuite, Status: gate.StatusPass, Observed: gate.Int(run), Expected: "> 0 in " + glob,
			Message: fmt.Sprintf("%d tests ran in %s", run, strings.Join(found, ", "))}
		switch {
		case len(found) == 0:
			c.Status, c.Observed = gate.StatusFail, gate.Value{}
			c.Message = fmt.Sprintf("expected a suite matching %s, found none among %d suites; check that it still runs in CI", glob, len(names))
		case run == 0:
			c.Status = gate.StatusFail
			c.Message = fmt.Sprintf("expected tests to run in %s, found every one skipped or in error", strings.Join(found, ", "))
		}
		res.Add(c)
	}
}

// tenants applies the limits per tenant and checks the required tenants
// have tests. It returns the totals per tenant.
func (g *Gate) tenants(res *gate.Result, rep *testreport.Report) map[string]testreport.Totals {
	if g.tenant == nil {
		return nil
	}
	byTenant := map[string]testreport.Totals{}
	failing := map[string][]Listed{}
	for i := range rep.Cases {
		c := &rep.Cases[i]
		t := tenantOf(g.tenant, c)
		if t == "" {
			continue
		}
		tt := byTenant[t]
		tt.Add(c)
		byTenant[t] = tt
		if (c.Outcome == testreport.Failed || c.Outcome == testreport.Errored) && len(failing[t]) < maxListed {
			failing[t] = append(failing[t], listed(c))
		}
	}
	names := make([]string, 0, len(byTenant))
	for t := range byTenant {
		names = append(names, t)
	}
	for _, t := range g.spec.Tenants {
		if _, ok := byTenant[t]; !ok {
			names = append(names, t)
		}
	}
	sort.Strings(names)
	names = slicesCompact(names)
	for _, t := range names {
		tt := byTenant[t]
		res.Add(atLeast(CheckRun, t, int64(tt.Passed+tt.Failed), g.spec.MinTests,
			fmt.Sprintf("tenant %s: %d tests ran (%d skipped, %d in error)", t, tt.Passed+tt.Failed, tt.Skipped, tt.Errors),
			"check that the tenant's suites ran and that tenant-pattern matches their names"))
		res.Add(atMost(CheckFailures, t, int64(tt.Failed), g.spec.MaxFailures, "failed", failing[t], "fix them before releasing to this tenant"))
		res.Add(atMost(CheckErrors, t, int64(tt.Errors), g.spec.MaxErrors, "in error", failing[t], "see the CI log"))
	}
	return byTenant
}

func slicesCompact(s []string) []string {
	out := s[:0]
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}

// Listed is a case named in a message and in the result's details.
type Listed struct {
	ID      string `json:"id"`
	Outcome string `json:"outcome"`
	Runs    int    `json:"runs,omitempty"`
	Message string `json:"message,omitempty"`
}

func listed(c *testreport.Case) Listed {
	l := Listed{ID: c.ID(), Outcome: string(c.Outcome), Message: c.Message}
	if c.Runs > 1 {
		l.Runs = c.Runs
	}
	return l
}

func listCases(cases []testreport.Case, keep func(*testreport.Case) bool) []Listed {
	var out []Listed
	for i := range cases {
		if keep(&cases[i]) && len(out) < maxListed {
			out = append(out, listed(&cases[i]))
		}
	}
	return out
}

// atLeast is a check that observed ≥ want.
func atLeast(name, tenant string, observed, want int64, found, todo string) gate.Check {
	c := gate.Check{Name: name, Tenant: tenant, Status: gate.StatusPass, Observed: gate.Int(observed),
		Expected: fmt.Sprintf(">= %d", want), Message: found}
	if observed < want {
		c.Status = gate.StatusFail
		c.Message = fmt.Sprintf("expected at least %d tests to run, found %s; %s", want, strings.TrimPrefix(found, "tenant "+tenant+": "), todo)
		if tenant != "" {
			c.Message = "tenant " + tenant + ": " + c.Message
		}
	}
	return c
}

// atMost is a check that observed ≤ limit, naming the cases (of the
// outcome the word describes) when it fails.
func atMost(name, tenant string, observed, max int64, word string, cases []Listed, todo string) gate.Check {
	c := gate.Check{Name: name, Tenant: tenant, Status: gate.StatusPass, Observed: gate.Int(observed),
		Expected: fmt.Sprintf("<= %d", max), Message: fmt.Sprintf("%d tests %s, at most %d accepted", observed, word, max)}
	if observed > max {
		c.Status = gate.StatusFail
		c.Message = fmt.Sprintf("expected at most %d tests %s, found %d%s; %s", max, word, observed, named(cases, word), todo)
	}
	if tenant != "" {
		c.Message = "tenant " + tenant + ": " + c.Message
	}
	return c
}

// limit is a check with an optional limit (NoLimit): without one, any
// count passes, except flaky tests, which warn so they stay visible.
func limit(name string, observed, max int64, word string, cases []Listed) gate.Check {
	if max != NoLimit {
		return atMost(name, "", observed, max, word, cases, "fix or quarantine them, or raise the limit")
	}
	c := gate.Check{Name: name, Status: gate.StatusPass, Observed: gate.Int(observed), Expected: "no limit",
		Message: fmt.Sprintf("%d tests %s (no limit set)", observed, word)}
	if name == CheckFlaky && observed > 0 {
		c.Status = gate.StatusWarn
		c.Message = fmt.Sprintf("%d tests %s%s; set max-flaky to bound them", observed, word, named(cases, ""))
	}
	return c
}

// named lists up to five cases of the outcome word names ("failed", "in
// error"; "" for any) as ": a (message); b".
func named(cases []Listed, word string) string {
	var parts []string
	for _, l := range cases {
		switch {
		case word == "failed" && l.Outcome != string(testreport.Failed),
			word == "in error" && l.Outcome != string(testreport.Errored):
			continue
		}
		p := l.ID
		if l.Message != "" {
			p += " (" + l.Message + ")"
		}
		parts = append(parts, p)
		if len(parts) == 5 {
			break
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return ": " + strings.Join(parts, "; ")
}
