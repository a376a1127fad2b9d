package slo

import (
	"errors"
	"flag"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite golden files")

func availability() SLO {
	return SLO{
		Service: "checkout", Name: "availability", Objective: 0.999, Period: 30 * Day,
		Selectors: []string{"http_requests_total"},
		Bad:       `sum by (tenant) (rate(http_requests_total{code=~"5.."}[{{.window}}]))`,
		Total:     `sum by (tenant) (rate(http_requests_total[{{.window}}]))`,
	}
}

func TestTiersFor30Days(t *testing.T) {
	t.Parallel()
	want := []struct {
		name   string
		factor float64
	}{{"page 1h/5m", 14.4}, {"page 6h/30m", 6}, {"ticket 1d/2h", 3}, {"ticket 3d/6h", 1}}
	got := availability().Tiers()
	for i, w := range want {
		if got[i].Name() != w.name || got[i].Factor != w.factor {
			t.Errorf("tier %d = %s ×%v, want %s ×%v", i, got[i].Name(), got[i].Factor, w.name, w.factor)
		}
	}
}

// TestTiersForAnyPeriod checks the scaled tiers: windows × period / 30d,
// rounded to the minute, at least MinWindow; factors as in the workbook, so
// none is below 1 and a service meeting its SLO never pages; no window
// beyond the period.
func TestTiersForAnyPeriod(t *testing.T) {
	t.Parallel()
	m := time.Minute
	tests := []struct {
		period time.Duration
		want   []string // tier names
	}{
		{time.Hour, []string{"page 5m/5m", "page 5m/5m", "ticket 5m/5m", "ticket 6m/5m"}},
		{Day, []string{"page 5m/5m", "page 12m/5m", "ticket 48m/5m", "ticket 144m/12m"}},
		{7 * Day, []string{"page 14m/5m", "page 84m/7m", "ticket 336m/28m", "ticket 1008m/84m"}},
		{28 * Day, []string{"page 56m/5m", "page 336m/28m", "ticket 1344m/112m", "ticket 4032m/336m"}},
		{30 * Day, []string{"page 1h/5m", "page 6h/30m", "ticket 1d/2h", "ticket 3d/6h"}},
		{90 * Day, []string{"page 3h/15m", "page 18h/90m", "ticket 3d/6h", "ticket 9d/18h"}},
	}
	for _, tt := range tests {
		s := availability()
		s.Period = tt.period
		tiers := s.Tiers()
		for i, tier := range tiers {
			if tier.Name() != tt.want[i] {
				t.Errorf("%s: tier %d = %s, want %s", FormatWindow(tt.period), i, tier.Name(), tt.want[i])
			}
			if tier.Factor < 1 || tier.Factor != workbook[i].Factor {
				t.Errorf("%s: %s factor %v, want the workbook's %v (never below 1)", FormatWindow(tt.period), tier.Name(), tier.Factor, workbook[i].Factor)
			}
			if tier.Long > tt.period || tier.Short > tier.Long || tier.Short < MinWindow || tier.Long%m != 0 || tier.Short%m != 0 {
				t.Errorf("%s: %s: windows must be whole minutes within [%s, period] and short <= long", FormatWindow(tt.period), tier.Name(), FormatWindow(MinWindow))
			}
		}
		for _, w := range s.ReportWindows() {
			if w > tt.period {
				t.Errorf("%s: reports the %s window, beyond the period", FormatWindow(tt.period), FormatWindow(w))
			}
		}
	}
	s := availability()
	if got := s.Tiers()[0].BudgetSpent; got != 0.02 {
		t.Errorf("30d page 1h/5m spends %v of the budget, want 0.02", got)
	}
	for i, want := range []time.Duration{2 * m, 15 * m, time.Hour, 3 * time.Hour} {
		if got := s.Tiers()[i].For; got != want {
			t.Errorf("30d %s for: %s, want %s (half the short window, as Pyrra)", s.Tiers()[i].Name(), FormatWindow(got), FormatWindow(want))
		}
	}
	s.Period = time.Hour
	if got := s.Tiers()[0].For; got != 2*m {
		t.Errorf("1h page tier for: %s, want 2m (half the 5m floor, whole minutes)", FormatWindow(got))
	}
}

func TestBudgetMath(t *testing.T) {
	t.Parallel()
	s := availability()
	cases := []struct {
		name                    string
		ratio                   float64
		wantBurn, wantRemaining float64
	}{
		{"no errors burn nothing", 0, 0, 1},
		{"errors at the budget burn at 1", 0.001, 1, 0},
		{"a 5% error ratio burns at 50", 0.05, 50, -49},
		{"half the budget leaves half", 0.0005, 0.5, 0.5},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if b := s.BurnRate(tc.ratio); math.Abs(b-tc.wantBurn) > 1e-9 {
				t.Errorf("BurnRate(%v) = %v, want %v", tc.ratio, b, tc.wantBurn)
			}
			if r := s.BudgetRemaining(tc.ratio); math.Abs(r-tc.wantRemaining) > 1e-9 {
				t.Errorf("BudgetRemaining(%v) = %v, want %v", tc.ratio, r, tc.wantRemaining)
			}
		})
	}
	if d, ok := s.TimeToExhaustion(0.5, 1); !ok || d != 15*Day {
		t.Errorf("half a 30d budget at burn 1 lasts %v, want 15d", d)
	}
	if d, ok := s.TimeToExhaustion(1, 14.4); !ok || d != 50*time.Hour {
		t.Errorf("a full 30d budget at burn 14.4 lasts %v, want 50h", d)
	}
	if _, ok := s.TimeToExhaustion(1, 0); ok {
		t.Error("burn 0 has a time to exhaustion")
	}
	if _, ok := s.TimeToExhaustion(math.NaN(), 1); ok {
		t.Error("NaN remaining has a time to exhaustion")
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		edit  func(*SLO)
		field string
		want  string
	}{
		{"an objective of 100% leaves no budget", func(s *SLO) { s.Objective = 1 }, "objective", "between 0 and 100"},
		{"bad and good together are refused", func(s *SLO) { s.Good = s.Total }, "good", "exactly one"},
		{"neither bad nor good is refused", func(s *SLO) { s.Bad = "" }, "bad", "exactly one"},
		{"a query without the window placeholder is refused", func(s *SLO) { s.Total = "sum(rate(x[5m]))" }, "total", "expected {{.window}}"},
		{"a short period is refused", func(s *SLO) { s.Period = time.Minute }, "period", "1m: expected at least 1h"},
		{"a zero period is refused", func(s *SLO) { s.Period = 0 }, "period", "0s: expected at least 1h"},
		{"a name with spaces is refused", func(s *SLO) { s.Name = "a b" }, "name", "letters"},
	}
	if errs := availability().Validate(); len(errs) > 0 {
		t.Fatal(errs)
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := availability()
			tc.edit(&s)
			errs := s.Validate()
			var fe *FieldError
			if len(errs) != 1 || !errors.As(errs[0], &fe) || fe.Field != tc.field || !strings.Contains(fe.Err.Error(), tc.want) {
				t.Errorf("Validate() = %v, want one *FieldError at %s containing %q", errs, tc.field, tc.want)
			}
		})
	}
}

func TestFormatWindow(t *testing.T) {
	t.Parallel()
	for d, want := range map[time.Duration]string{5 * time.Minute: "5m", time.Hour: "1h", 3 * Day: "3d", 30 * Day: "30d", 90 * time.Second: "90s", 36 * time.Hour: "36h"} {
		if got := FormatWindow(d); got != want {
			t.Errorf("FormatWindow(%v) = %s, want %s", d, got, want)
		}
	}
}

// TestRulesGolden keeps testdata/slo/rules.yml, the rules generated for
// the example SLOs, under review.
func TestRulesGolden(t *testing.T) {
	t.Parallel()
	good := availability()
	good.Name, good.Bad, good.Good, good.Objective = "latency", "", `sum by (tenant) (rate(http_request_duration_seconds_bucket{le="0.5"}[{{.window}}]))`, 0.99
	good.Total = `sum by (tenant) (rate(http_request_duration_seconds_count[{{.window}}]))`
	good.Selectors = []string{"http_request_duration_seconds_count"}
	b, err := Rules([]SLO{availability(), good}).YAML()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("..", "..", "testdata", "slo", "rules", "slo-rules.yml")
	if *update {
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/slo -run Golden -update)", err)
	}
	if string(want) != string(b) {
		t.Errorf("generated rules differ from %s; review and run with -update", path)
	}
}

func promtool(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("promtool not found; run scripts/services/prometheus.sh (installs Debian's prometheus package)")
		}
		t.Skip("promtool not found; run scripts/services/prometheus.sh to install it")
	}
	return p
}

// TestRulesPassPromtool runs `promtool check rules` and `promtool test
// rules` on generated rules: a tenant failing every request pages and
// tickets on every tier; a healthy tenant raises nothing.
func TestRulesPassPromtool(t *testing.T) {
	t.Parallel()
	bin := promtool(t)
	dir := t.TempDir()
	s := availability()
	b, err := Rules([]SLO{s}).YAML()
	if err != nil {
		t.Fatal(err)
	}
	rules := filepath.Join(dir, "rules.yml")
	if err := os.WriteFile(rules, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(bin, "check", "rules", rules).CombinedOutput(); err != nil {
		t.Fatalf("promtool check rules: %v\n%s", err, out)
	}
	var alerts strings.Builder
	for _, tier := range s.Tiers() {
		a := s.alert(tier)
		alerts.WriteString("          - exp_labels:\n")
		alerts.WriteString("              tenant: broken\n")
		for _, k := range []string{"service", "severity", "slo", "window"} {
			alerts.WriteString("              " + k + ": \"" + a.Labels[k] + "\"\n")
		}
		alerts.WriteString("            exp_annotations:\n              summary: \"" + a.Annotations["summary"] + "\"\n")
	}
	// every tier fires once its for: (3h for 3d/6h) has passed; the SLI's
	// series stopping fires SLOMetricAbsent after the lookback (5m) and its
	// for: (5m), not before
	test := `rule_files: [rules.yml]
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
      - series: 'http_requests_total{tenant="broken",code="500"}'
        values: '0+60x300'
      - series: 'http_requests_total{tenant="healthy",code="200"}'
        values: '0+60x300'
      - series: 'http_requests_total{tenant="healthy",code="500"}'
        values: '0+0x300'
    alert_rule_test:
      - eval_time: 4h
        alertname: ` + AlertName + `
        exp_alerts:
` + alerts.String() + `      - eval_time: 4h
        alertname: ` + AbsentAlertName + `
    promql_expr_test:
      - expr: slo:sli_error:ratio_rate5m{slo="availability"}
        eval_time: 4h
        exp_samples:
          - labels: 'slo:sli_error:ratio_rate5m{service="checkout",slo="availability",tenant="broken"}'
            value: 1
          - labels: 'slo:sli_error:ratio_rate5m{service="checkout",slo="availability",tenant="healthy"}'
            value: 0
      - expr: slo:period_error_budget_remaining:ratio
        eval_time: 4h
        exp_samples:
          - labels: 'slo:period_error_budget_remaining:ratio{service="checkout",slo="availability",tenant="broken"}'
            value: -999
          - labels: 'slo:period_error_budget_remaining:ratio{service="checkout",slo="availability",tenant="healthy"}'
            value: 1
      - expr: slo:objective:ratio
        eval_time: 4h
        exp_samples:
          - labels: 'slo:objective:ratio{service="checkout",slo="availability"}'
            value: 0.999
      - expr: slo:error_budget:ratio
        eval_time: 4h
        exp_samples:
          - labels: 'slo:error_budget:ratio{service="checkout",slo="availability"}'
            value: 0.001
      - expr: slo:time_period:days
        eval_time: 4h
        exp_samples:
          - labels: 'slo:time_period:days{service="checkout",slo="availability"}'
            value: 30
      - expr: releasegate_slo_info
        eval_time: 4h
        exp_samples:
          - labels: 'releasegate_slo_info{service="checkout",slo="availability",objective="99.9",period="30d"}'
            value: 1
  - interval: 1m
    input_series:
      - series: 'http_requests_total{tenant="healthy",code="200"}'
        values: '0+60x60'
    alert_rule_test:
      - eval_time: 64m
        alertname: ` + AbsentAlertName + `
      - eval_time: 75m
        alertname: ` + AbsentAlertName + `
        exp_alerts:
          - exp_labels:
              service: checkout
              slo: availability
              severity: page
            exp_annotations:
              summary: "SLO checkout/availability has no data: no series of http_requests_total; its burn-rate alerts cannot fire"
`
	testFile := filepath.Join(dir, "test.yml")
	if err := os.WriteFile(testFile, []byte(test), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "test", "rules", "test.yml")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("promtool test rules: %v\n%s\n--- test file:\n%s", err, out, test)
	}
}

// TestErrorBudgetIsExact checks that the budget is 1 − objective computed
// in decimal from the percentage as written: a burn of exactly k times the
// budget is k, where binary floating point gives 1.9999999999999982 at 99%.
func TestErrorBudgetIsExact(t *testing.T) {
	t.Parallel()
	tests := []struct {
		percent     float64
		budget      float64
		percentText string
	}{
		{99, 0.01, "99"}, {99.9, 0.001, "99.9"}, {99.99, 0.0001, "99.99"}, {99.95, 0.0005, "99.95"},
		{95, 0.05, "95"}, {99.5, 0.005, "99.5"}, {99.999, 0.00001, "99.999"}, {90, 0.1, "90"}, {50, 0.5, "50"},
		{99.12345678901, 0.0087654321099, "99.12345678901"},
	}
	for _, tt := range tests {
		s := SLO{Objective: ObjectiveRatio(tt.percent)}
		if got := s.ErrorBudget(); got != tt.budget {
			t.Errorf("%v%%: budget %v, want %v", tt.percent, got, tt.budget)
		}
		if got := s.ObjectivePercent(); got != tt.percentText {
			t.Errorf("%v%%: objective renders as %s, want %s", tt.percent, got, tt.percentText)
		}
	}
	naive := 0.02 / (1 - ObjectiveRatio(99))
	if s := (SLO{Objective: ObjectiveRatio(99)}); s.BurnRate(0.02) != 2 || naive == 2 {
		t.Errorf("99%%: burn of 0.02 = %v (naive %v), want exactly 2", s.BurnRate(0.02), naive)
	}
}

// TestRulesTwoServicesOneSLOName generates rules for two services that
// each have an "availability" SLO (Sloth's multi-service example): the
// groups have distinct names (promtool check rules refuses a file with two
// groups of one name) and each service's alerts read only its own ratios:
// with one service failing every request and the other healthy, only the
// failing one pages.
func TestRulesTwoServicesOneSLOName(t *testing.T) {
	t.Parallel()
	bin := promtool(t)
	svc := func(service string) SLO {
		s := availability()
		s.Service = service
		s.Bad = `sum by (tenant) (rate(http_requests_total{job="` + service + `",code=~"5.."}[{{.window}}]))`
		s.Total = `sum by (tenant) (rate(http_requests_total{job="` + service + `"}[{{.window}}]))`
		s.Selectors = []string{`http_requests_total{job="` + service + `"}`}
		return s
	}
	slos := []SLO{svc("checkout"), svc("search")}
	f := Rules(slos)
	if f.Groups[0].Name == f.Groups[1].Name {
		t.Fatalf("two services share the group name %q", f.Groups[0].Name)
	}
	b, err := f.YAML()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "rules.yml"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(bin, "check", "rules", filepath.Join(dir, "rules.yml")).CombinedOutput(); err != nil {
		t.Fatalf("promtool check rules: %v\n%s\n%s", err, out, b)
	}
	var alerts strings.Builder
	for _, tier := range slos[0].Tiers() {
		a := slos[0].alert(tier)
		alerts.WriteString("          - exp_labels:\n              tenant: acme\n")
		for _, k := range []string{"service", "severity", "slo", "window"} {
			alerts.WriteString("              " + k + ": \"" + a.Labels[k] + "\"\n")
		}
		alerts.WriteString("            exp_annotations:\n              summary: \"" + a.Annotations["summary"] + "\"\n")
	}
	test := `rule_files: [rules.yml]
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
      - series: 'http_requests_total{job="checkout",tenant="acme",code="500"}'
        values: '0+60x300'
      - series: 'http_requests_total{job="search",tenant="acme",code="200"}'
        values: '0+60x300'
      - series: 'http_requests_total{job="search",tenant="acme",code="500"}'
        values: '0+0x300'
    alert_rule_test:
      - eval_time: 4h
        alertname: ` + AlertName + `
        exp_alerts:
` + alerts.String() + `    promql_expr_test:
      - expr: slo:sli_error:ratio_rate5m{slo="availability"}
        eval_time: 4h
        exp_samples:
          - labels: 'slo:sli_error:ratio_rate5m{service="checkout",slo="availability",tenant="acme"}'
            value: 1
          - labels: 'slo:sli_error:ratio_rate5m{service="search",slo="availability",tenant="acme"}'
            value: 0
`
	if err := os.WriteFile(filepath.Join(dir, "test.yml"), []byte(test), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "test", "rules", "test.yml")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("promtool test rules: %v\n%s\n--- test file:\n%s", err, out, test)
	}
}

// TestDocsTierTable keeps the table of windows and factors per period in
// docs/slo.md true (-update rewrites it between its markers).
func TestDocsTierTable(t *testing.T) {
	t.Parallel()
	const begin, end = "<!-- tiers:begin (generated by internal/slo TierTable; go test ./internal/slo -run DocsTierTable -update) -->\n", "<!-- tiers:end -->"
	path := filepath.Join("..", "..", "docs", "slo.md")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	i, j := strings.Index(doc, begin), strings.Index(doc, end)
	if i < 0 || j < i {
		t.Fatalf("%s has no %q … %q markers", path, begin, end)
	}
	want := TierTable([]time.Duration{time.Hour, Day, 7 * Day, 28 * Day, 30 * Day, 90 * Day})
	if got := doc[i+len(begin) : j]; got != want {
		if *update {
			if err := os.WriteFile(path, []byte(doc[:i+len(begin)]+want+doc[j:]), 0o644); err != nil {
				t.Fatal(err)
			}
			return
		}
		t.Errorf("the tier table in %s is stale; run go test ./internal/slo -run DocsTierTable -update\ngot:\n%s\nwant:\n%s", path, got, want)
	}
}

// TestRulesShortPeriodsPassPromtool runs promtool test rules on the rules
// of 1d and 7d SLOs (99%): a tenant burning at 0.5× — meeting its SLO —
// raises nothing, one burning at 20× fires every tier, once the longest
// window is full.
func TestRulesShortPeriodsPassPromtool(t *testing.T) {
	t.Parallel()
	bin := promtool(t)
	for _, period := range []time.Duration{Day, 7 * Day} {
		t.Run(FormatWindow(period), func(t *testing.T) {
			t.Parallel()
			s := availability()
			s.Objective, s.Period = ObjectiveRatio(99), period
			s.Bad = `sum by (tenant) (rate(http_requests_total{code="500"}[{{.window}}]))`
			tiers := s.Tiers()
			longest := tiers[len(tiers)-1].Long
			evalAt := (longest + 10*time.Minute).Truncate(5 * time.Minute)
			b, err := Rules([]SLO{s}).YAML()
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "rules.yml"), b, 0o644); err != nil {
				t.Fatal(err)
			}
			var alerts strings.Builder
			for _, tier := range tiers {
				a := s.alert(tier)
				alerts.WriteString("          - exp_labels:\n              tenant: burning\n")
				for _, k := range []string{"service", "severity", "slo", "window"} {
					alerts.WriteString("              " + k + ": \"" + a.Labels[k] + "\"\n")
				}
				alerts.WriteString("            exp_annotations:\n              summary: \"" + a.Annotations["summary"] + "\"\n")
			}
			n := strconv.Itoa(int(evalAt/time.Minute) + 1)
			// 1000 requests a minute; 5 (0.5× a 1% budget) or 200 (20×) fail
			test := `rule_files: [rules.yml]
evaluation_interval: 5m
tests:
  - interval: 1m
    input_series:
      - series: 'http_requests_total{tenant="healthy",code="200"}'
        values: '0+995x` + n + `'
      - series: 'http_requests_total{tenant="healthy",code="500"}'
        values: '0+5x` + n + `'
      - series: 'http_requests_total{tenant="burning",code="200"}'
        values: '0+800x` + n + `'
      - series: 'http_requests_total{tenant="burning",code="500"}'
        values: '0+200x` + n + `'
    alert_rule_test:
      - eval_time: ` + FormatWindow(evalAt) + `
        alertname: ` + AlertName + `
        exp_alerts:
` + alerts.String()
			if err := os.WriteFile(filepath.Join(dir, "test.yml"), []byte(test), 0o644); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(bin, "test", "rules", "test.yml")
			cmd.Dir = dir
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("promtool test rules: %v\n%s\n--- test file:\n%s", err, out, test)
			}
		})
	}
}

// TestAlertsValidate checks the policy's alert settings, each problem at
// its key.
func TestAlertsValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		a     Alerts
		field string
	}{
		{"a name with a dash", Alerts{Name: "SLO-Burn"}, "alerts.name"},
		{"a reserved label", Alerts{Labels: map[string]string{"severity": "critical"}}, "alerts.labels.severity"},
		{"the tenant label is reserved", Alerts{Labels: map[string]string{"tenant": "x"}}, "alerts.labels.tenant"},
		{"a label name with a dot", Alerts{Labels: map[string]string{"team.name": "x"}}, "alerts.labels.team.name"},
		{"a reserved page label", Alerts{PageLabels: map[string]string{"window": "x"}}, "alerts.page-labels.window"},
		{"an annotation name with a dash", Alerts{Annotations: map[string]string{"runbook-url": "x"}}, "alerts.annotations.runbook-url"},
		{"a severity with spaces", Alerts{PageSeverity: " critical"}, "alerts.page-severity"},
	}
	for _, tt := range tests {
		s := availability()
		s.Alerts = tt.a
		errs := s.Validate()
		var fe *FieldError
		if len(errs) != 1 || !errors.As(errs[0], &fe) || fe.Field != tt.field {
			t.Errorf("%s: Validate() = %v, want one *FieldError at %s", tt.name, errs, tt.field)
		}
	}
	s := availability()
	s.Alerts = Alerts{Name: "CheckoutBurn", PageSeverity: "critical", TicketSeverity: "warning",
		Labels: map[string]string{"team": "payments"}, Annotations: map[string]string{"runbook_url": "https://runbooks.example/slo"}}
	if errs := s.Validate(); len(errs) > 0 {
		t.Errorf("valid alert settings refused: %v", errs)
	}
}

// TestRulesWithPolicyAlerts checks that the policy's alert name,
// severities, labels and annotations reach every generated alert, and that
// promtool accepts the file.
func TestRulesWithPolicyAlerts(t *testing.T) {
	t.Parallel()
	s := availability()
	s.Alerts = Alerts{Name: "CheckoutBurn", PageSeverity: "critical", TicketSeverity: "warning",
		Labels:      map[string]string{"team": "payments"},
		Annotations: map[string]string{"runbook_url": "https://runbooks.example/slo", "description": "tenant {{ $labels.tenant }} burns"}}
	f := Rules([]SLO{s})
	severities := map[string]int{}
	for _, r := range f.Groups[0].Rules {
		if r.Alert == "" {
			continue
		}
		if r.Alert != "CheckoutBurn" && r.Alert != AbsentAlertName {
			t.Errorf("alert %s, want CheckoutBurn or %s", r.Alert, AbsentAlertName)
		}
		severities[r.Labels["severity"]]++
		if r.Labels["team"] != "payments" || r.Annotations["runbook_url"] != "https://runbooks.example/slo" || r.Annotations["summary"] == "" {
			t.Errorf("alert %s lacks the policy's labels or annotations: %v %v", r.Alert, r.Labels, r.Annotations)
		}
	}
	if severities["critical"] != 3 || severities["warning"] != 2 || len(severities) != 2 {
		t.Errorf("severities %v, want 2 page tiers and SLOMetricAbsent critical, 2 ticket tiers warning", severities)
	}
	bin := promtool(t)
	b, err := f.YAML()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "rules.yml")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(bin, "check", "rules", path).CombinedOutput(); err != nil {
		t.Fatalf("promtool check rules: %v\n%s\n%s", err, out, b)
	}
}

// TestRulesAveragePeriodPassPromtool checks the cheap period form for a
// subquery SLI: the period's recording rule averages the recorded 5m
// ratios instead of re-running the subquery over the period; promtool
// accepts it and, under steady traffic, it gives the exact ratio.
func TestRulesAveragePeriodPassPromtool(t *testing.T) {
	t.Parallel()
	s := availability()
	s.Period, s.AveragePeriod = Day, true
	s.Bad = `sum by (tenant) (sum_over_time((request_latency_seconds > bool 0.5)[{{.window}}:1m]))`
	s.Total = `sum by (tenant) (count_over_time(request_latency_seconds[{{.window}}]))`
	s.Selectors = []string{"request_latency_seconds"}
	f := Rules([]SLO{s})
	var period Rule
	for _, r := range f.Groups[0].Rules {
		if r.Record == RecordName(Day) {
			period = r
		}
	}
	if want := `avg_over_time(slo:sli_error:ratio_rate5m{service="checkout",slo="availability"}[1d])`; period.Expr != want {
		t.Errorf("period rule = %q, want %q", period.Expr, want)
	}
	bin := promtool(t)
	b, err := f.YAML()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "rules.yml"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(bin, "check", "rules", filepath.Join(dir, "rules.yml")).CombinedOutput(); err != nil {
		t.Fatalf("promtool check rules: %v\n%s\n%s", err, out, b)
	}
	test := `rule_files: [rules.yml]
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
      - series: 'request_latency_seconds{tenant="slow"}'
        values: '0.6x180'
      - series: 'request_latency_seconds{tenant="fast"}'
        values: '0.1x180'
    promql_expr_test:
      - expr: slo:sli_error:ratio_rate1d
        eval_time: 3h
        exp_samples:
          - labels: 'slo:sli_error:ratio_rate1d{service="checkout",slo="availability",tenant="slow"}'
            value: 1
          - labels: 'slo:sli_error:ratio_rate1d{service="checkout",slo="availability",tenant="fast"}'
            value: 0
`
	if err := os.WriteFile(filepath.Join(dir, "test.yml"), []byte(test), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "test", "rules", "test.yml")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("promtool test rules: %v\n%s", err, out)
	}
}
