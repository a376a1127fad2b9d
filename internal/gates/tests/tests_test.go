package testsgate

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/maestro-conductor/releasegate/internal/fsx"
	"github.com/maestro-conductor/releasegate/internal/gate"
)

// realDir holds the real reports of internal/testreport (see their SOURCE.md).
var realDir, _ = filepath.Abs("../../testreport/testdata/real")

// evaluate runs a tests gate with spec as releasegate does, through
// gate.Runner, which folds the checks and owns the status.
func evaluate(t *testing.T, dir string, s Spec) (*gate.Result, error) {
	t.Helper()
	g, err := New(gate.Meta{ID: "unit-tests", Kind: Kind, Group: "jobs", Required: true}, s, gate.Env{PolicyDir: dir})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	res, err := (&gate.Runner{}).RunOne(context.Background(), gate.Planned{Meta: g.meta, Gate: g})
	return &res, err
}

// spec returns the defaults with reports set, changed by each mod.
func spec(reports []string, mods ...func(*Spec)) Spec {
	s := *DefaultSpec()
	s.Reports = reports
	for _, m := range mods {
		m(&s)
	}
	return s
}

// check finds a check by name and tenant (for required suites: by the
// glob its expected condition names).
func check(res *gate.Result, name, tenant string) *gate.Check {
	for i := range res.Checks {
		c := &res.Checks[i]
		if c.Name == name && (c.Tenant == tenant || name == CheckSuite && c.Expected == "> 0 in "+tenant) {
			return &res.Checks[i]
		}
	}
	return nil
}

// The real reports, judged with the defaults (no failure, no error, any
// skips, flaky tests warn) unless the case changes one setting.
func TestRealReportsVerdicts(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		reports []string
		mod     func(*Spec)
		want    gate.Status
		failing []string // checks that fail
	}{
		{name: "surefire: a flaky test that passed on a rerun warns", reports: []string{"surefire/TEST-org.acme.FlakyTest.xml"}, want: gate.StatusWarn},
		{name: "surefire: max-flaky 0 fails the flaky test", reports: []string{"surefire/TEST-org.acme.FlakyTest.xml"},
			mod: func(s *Spec) { s.MaxFlaky = 0 }, want: gate.StatusFail, failing: []string{CheckFlaky}},
		{name: "surefire: one failure and one error fail", reports: []string{"surefire/TEST-com.shape.CircleTest.xml"},
			want: gate.StatusFail, failing: []string{CheckFailures, CheckErrors}},
		{name: "surefire: a class with no tests fails", reports: []string{"surefire/TEST-classWithNoTests.NoMethodsTestCase.xml"},
			want: gate.StatusFail, failing: []string{CheckRun, CheckPassed}},
		{name: "pytest: zero tests fail", reports: []string{"publish-unit-test-result-action/no-cases.xml"},
			want: gate.StatusFail, failing: []string{CheckRun, CheckPassed}},
		{name: "gotestsum: flaky reruns that all passed warn", reports: []string{"gotestsum/go-test-json-flaky-rerun.out"}, want: gate.StatusWarn},
		{name: "gotestsum: a build failure is an error", reports: []string{"gotestsum/go-test-build-failed.out"},
			want: gate.StatusFail, failing: []string{CheckRun, CheckPassed, CheckErrors}},
		{name: "gotestsum JUnit within raised limits passes", reports: []string{"gotestsum/junitxml-report.xml"},
			mod: func(s *Spec) { s.MaxFailures = 13; s.MinTests = 55 }, want: gate.StatusPass},
		{name: "skips over max-skipped fail", reports: []string{"gotestsum/junitxml-report.xml"},
			mod: func(s *Spec) { s.MaxFailures = 13; s.MaxSkipped = 4 }, want: gate.StatusFail, failing: []string{CheckSkipped}},
		{name: "min-tests above what ran fails", reports: []string{"gotestsum/junitxml-report.xml"},
			mod: func(s *Spec) { s.MaxFailures = 13; s.MinTests = 56 }, want: gate.StatusFail, failing: []string{CheckRun}},
		{name: "jest: four failures fail", reports: []string{"test-reporter/jest-junit.xml"},
			want: gate.StatusFail, failing: []string{CheckFailures}},
		{name: "a glob over several dialects adds them up", reports: []string{"surefire/TEST-org.acme.*.xml", "test-reporter/python-xunit-pytest.xml"},
			mod: func(s *Spec) { s.MaxFailures = 2 }, want: gate.StatusWarn},
		{name: "a glob that matches nothing fails", reports: []string{"surefire/TEST-*.xml", "nowhere/*.xml"},
			mod: func(s *Spec) { s.MaxFailures, s.MaxErrors = 100, 100 }, want: gate.StatusFail, failing: []string{"report nowhere/*.xml"}},
		{name: "a missing file fails", reports: []string{"surefire/TEST-org.acme.FlakyTest.xml", "missing.xml"},
			want: gate.StatusFail, failing: []string{"report missing.xml"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			mods := []func(*Spec){}
			if tt.mod != nil {
				mods = append(mods, tt.mod)
			}
			res, err := evaluate(t, realDir, spec(tt.reports, mods...))
			if err != nil {
				t.Fatalf("not evaluated: %v", err)
			}
			if res.Status != tt.want {
				t.Errorf("status = %s, want %s: %s", res.Status, tt.want, res.Summary)
			}
			var failing []string
			for _, c := range res.Checks {
				if c.Status == gate.StatusFail {
					failing = append(failing, c.Name)
				}
			}
			if strings.Join(failing, ",") != strings.Join(tt.failing, ",") {
				t.Errorf("failing checks = %q, want %q", failing, tt.failing)
			}
			for _, c := range res.Checks {
				if c.Status == gate.StatusFail && !strings.HasPrefix(c.Message, "expected") {
					t.Errorf("message of %s does not say what was expected: %q", c.Name, c.Message)
				}
			}
		})
	}
}

func TestInputsCarryDigests(t *testing.T) {
	t.Parallel()
	res, err := evaluate(t, realDir, spec([]string{"surefire/TEST-org.acme.FlakyTest.xml", "gotestsum/go-test-json-flaky-rerun.out"}))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Inputs) != 2 {
		t.Fatalf("inputs = %+v, want 2", res.Inputs)
	}
	for _, in := range res.Inputs {
		b, err := os.ReadFile(filepath.Join(realDir, in.Name))
		if err != nil {
			t.Fatalf("input %q does not name the file relative to the policy: %v", in.Name, err)
		}
		if want := gateDigest(b); in.Digest != want {
			t.Errorf("%s digest = %s, want %s", in.Name, in.Digest, want)
		}
	}
	if c := check(res, CheckFlaky, ""); c == nil || c.Observed.String() != "4" || !strings.Contains(c.Message, "TestFailsOften") {
		t.Errorf("flaky check = %+v, want 4 naming TestFailsOften", c)
	}
	if tot, ok := res.Details["totals"]; !ok || tot == nil {
		t.Errorf("details lack the totals: %v", res.Details)
	}
}

// Bad input is an error that matches gate.ErrBadInput (exit 2), never a result.
func TestBadReports(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, data string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(filepath.Join(realDir, "publish-unit-test-result-action/corrupt-xml.xml"))
	if err != nil {
		t.Fatal(err)
	}
	write("truncated.xml", string(b))
	write("empty.xml", "")
	write("stderr.json", "{\"Action\":\"run\",\"Package\":\"p\",\"Test\":\"T\"}\nFAIL\n")
	write("junit-as-json.xml", `<testsuite name="s"><testcase name="a"/></testsuite>`)
	big := filepath.Join(dir, "huge.xml")
	f, err := os.Create(big)
	if err != nil {
		t.Fatal(err)
	}
	// 100 MB, sparse: larger than fsx.MaxDocSize, refused before parsing
	if err := f.Truncate(100 << 20); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if err := os.Mkdir(filepath.Join(dir, "adir.xml"), 0o700); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		spec   Spec
		sentry error // a further error the cause matches
		where  string
	}{
		{"a truncated file", spec([]string{"truncated.xml"}), nil, "truncated.xml: 11:"},
		{"an empty file", spec([]string{"empty.xml"}), nil, "empty.xml: 1:"},
		{"stderr mixed into go test -json", spec([]string{"stderr.json"}), nil, "stderr.json: 2:1:"},
		{"JUnit named as go test -json", spec([]string{"junit-as-json.xml"}, func(s *Spec) { s.Format = "go-test-json" }), nil, "junit-as-json.xml: 1:1:"},
		{"a 100 MB file", spec([]string{"huge.xml"}), fsx.ErrTooLarge, "huge.xml: test report larger than"},
		{"a directory", spec([]string{"adir.xml"}), fsx.ErrNotRegular, "adir.xml: test report is a directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res, err := evaluate(t, dir, tt.spec)
			if !errors.Is(err, gate.ErrBadInput) {
				t.Fatalf("err = %v, want bad input (exit 2); result %s %s", err, res.Status, res.Summary)
			}
			if tt.sentry != nil && !errors.Is(err, tt.sentry) {
				t.Errorf("err = %v, want it to match %v", err, tt.sentry)
			}
			if res.Status.Worse(gate.StatusWarn) == false {
				t.Errorf("status = %s, want error", res.Status)
			}
			if !strings.Contains(err.Error(), tt.where) {
				t.Errorf("err = %q, want it to say %q", err, tt.where)
			}
		})
	}
}

func TestRequiredSuitesAndTenants(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	report := `<testsuites>
  <testsuite name="tenant-acme/api"><testcase name="a"/><testcase name="b"/></testsuite>
  <testsuite name="tenant-globex/api"><testcase name="a"><failure message="quota exceeded"/></testcase><testcase name="b"/></testsuite>
  <testsuite name="tenant-hooli/api"><testcase name="a"><skipped/></testcase></testsuite>
  <testsuite name="smoke"><testcase name="boot"/></testsuite>
</testsuites>`
	if err := os.WriteFile(filepath.Join(dir, "junit.xml"), []byte(report), 0o600); err != nil {
		t.Fatal(err)
	}
	res, err := evaluate(t, dir, spec([]string{"junit.xml"}, func(s *Spec) {
		s.MaxFailures = 1
		s.RequiredSuites = []string{"smoke", "tenant-*/api", "integration*"}
		s.TenantPattern = `^tenant-(?P<tenant>[a-z]+)/`
		s.Tenants = []string{"acme", "initech"}
	}))
	if err != nil {
		t.Fatal(err)
	}
	want := map[[2]string]gate.Status{
		{CheckFailures, ""}:          gate.StatusPass, // 1 ≤ max-failures 1 overall
		{CheckSuite, "smoke"}:        gate.StatusPass,
		{CheckSuite, "tenant-*/api"}: gate.StatusPass,
		{CheckSuite, "integration*"}: gate.StatusFail,
		{CheckRun, "acme"}:           gate.StatusPass,
		{CheckFailures, "globex"}:    gate.StatusPass, // per tenant, the same limit
		{CheckRun, "hooli"}:          gate.StatusFail, // only skipped
		{CheckRun, "initech"}:        gate.StatusFail, // required, absent
		{CheckFailures, "initech"}:   gate.StatusPass,
		{CheckRun, ""}:               gate.StatusPass,
		{CheckPassed, ""}:            gate.StatusPass,
		{CheckFlaky, ""}:             gate.StatusPass,
		{CheckErrors, "globex"}:      gate.StatusPass,
		{CheckSkipped, ""}:           gate.StatusPass,
		{CheckErrors, ""}:            gate.StatusPass,
		{CheckFailures, "acme"}:      gate.StatusPass,
		{CheckErrors, "acme"}:        gate.StatusPass,
		{CheckFailures, "hooli"}:     gate.StatusPass,
		{CheckErrors, "hooli"}:       gate.StatusPass,
		{CheckRun, "globex"}:         gate.StatusPass,
		{CheckErrors, "initech"}:     gate.StatusPass,
	}
	for k, st := range want {
		c := check(res, k[0], k[1])
		if c == nil {
			t.Errorf("no check %q for tenant %q", k[0], k[1])
			continue
		}
		if c.Status != st {
			t.Errorf("%s [%s] = %s, want %s: %s", k[0], k[1], c.Status, st, c.Message)
		}
	}
	if len(res.Checks) != len(want) {
		t.Errorf("%d checks, want %d", len(res.Checks), len(want))
	}
	if c := check(res, CheckRun, "initech"); c != nil && !strings.Contains(c.Message, "tenant initech: expected at least 1 tests to run, found 0") {
		t.Errorf("initech message = %q", c.Message)
	}
	if res.Status != gate.StatusFail {
		t.Errorf("status = %s, want fail", res.Status)
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		mod   func(*Spec)
		field string
	}{
		{"no reports", func(s *Spec) { s.Reports = nil }, "reports"},
		{"min-tests 0 would let an empty report pass", func(s *Spec) { s.MinTests = 0 }, "min-tests"},
		{"negative max-failures", func(s *Spec) { s.MaxFailures = -1 }, "max-failures"},
		{"max-flaky below -1", func(s *Spec) { s.MaxFlaky = -2 }, "max-flaky"},
		{"unknown format", func(s *Spec) { s.Format = "tap" }, "format"},
		{"a broken glob", func(s *Spec) { s.Reports = []string{"[x"} }, "reports[0]"},
		{"a broken suite glob", func(s *Spec) { s.RequiredSuites = []string{"[x"} }, "required-suites[0]"},
		{"a tenant pattern that is not a regexp", func(s *Spec) { s.TenantPattern = "(" }, "tenant-pattern"},
		{"a tenant pattern without its group", func(s *Spec) { s.TenantPattern = "(a)(b)" }, "tenant-pattern"},
		{"tenants without a pattern", func(s *Spec) { s.Tenants = []string{"acme"} }, "tenants"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := spec([]string{"r.xml"}, tt.mod)
			errs := s.Validate()
			if len(errs) != 1 {
				t.Fatalf("errors = %v, want one for %s", errs, tt.field)
			}
			if !strings.HasPrefix(errs[0].Error(), tt.field+":") {
				t.Errorf("error = %v, want it at %s", errs[0], tt.field)
			}
			if _, err := New(gate.Meta{ID: "t"}, s, gate.Env{}); !errors.Is(err, gate.ErrBadInput) {
				t.Errorf("New: err = %v, want bad input", err)
			}
		})
	}
	if s := spec([]string{"r.xml"}); len(s.Validate()) != 0 {
		t.Errorf("the defaults are invalid: %v", s.Validate())
	}
}

func gateDigest(b []byte) string { return fmt.Sprintf("sha256:%x", sha256.Sum256(b)) }
