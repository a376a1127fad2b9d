package slogate

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/maestro-conductor/releasegate/internal/policy"
	"github.com/maestro-conductor/releasegate/internal/slo"
)

// slothPolicy is a policy with one slo gate reading the Sloth spec from.
func slothPolicy(from, service string) string {
	svc := ""
	if service != "" {
		svc = "      service: " + service + "\n"
	}
	if p, ok := strings.CutPrefix(from, "@"); ok { // "@7d sloth/x.yml": with from-period
		period, file, _ := strings.Cut(p, " ")
		from, svc = file, svc+"      from-period: "+period+"\n"
	}
	return "version: 1\ngates:\n  - id: sloth-gate\n    kind: slo\n    with:\n      source: {file: metrics.om}\n" + svc + "      from: " + from + "\n"
}

// TestSlothSpecsGivePromtoolValidRules reads Sloth's getting-started and
// multi-SLO specs through the policy, and checks that the SLOs, names,
// severities, labels and annotations arrive and that promtool accepts the
// generated rules.
func TestSlothSpecsGivePromtoolValidRules(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file, service string
		wantIDs       []string
		wantInRules   []string
	}{
		{"sloth/getting-started.yml", "", []string{"myservice/requests-availability"}, []string{
			"alert: MyServiceHighErrorRate", "severity: pageteam", "severity: slack", "routing_key: myteam",
			"slack_channel: '#alerts-myteam'", "owner: myteam", "category: availability",
			"summary: High error rate on 'myservice' requests responses", "(14.4 * 0.001)",
			`absent(http_request_duration_seconds_count{job="myservice"})`}},
		{"sloth/multi-slo.yml", "", []string{"myapp/http-availability", "myapp/grpc-availability"}, []string{
			"alert: MyAppAvailability", "alert: MyAppGRPCAvailability", "severity: critical", "severity: warning", "(14.4 * 0.0001)"}},
		{"sloth/multi-slo.yml", "shop", []string{"shop/http-availability", "shop/grpc-availability"}, nil},
		// Sloth's 28d and 7d variants: the windows scale with the period
		{"@28d sloth/getting-started.yml", "", []string{"myservice/requests-availability"}, []string{
			"record: slo:sli_error:ratio_rate28d", "record: slo:sli_error:ratio_rate56m", "window: 56m/5m", "slo:time_period:days", "vector(28)"}},
		{"@7d sloth/getting-started.yml", "", []string{"myservice/requests-availability"}, []string{
			"record: slo:sli_error:ratio_rate7d", "window: 14m/5m", "window: 1008m/84m", "(14.4 * 0.001)", "(1 * 0.001)"}},
	}
	for _, tt := range tests {
		t.Run(tt.file+" "+tt.service, func(t *testing.T) {
			t.Parallel()
			p, err := policy.Parse(filepath.Join(sloTestdata, "policy-sloth.yml"), []byte(slothPolicy(tt.file, tt.service)), policy.Options{})
			if err != nil {
				t.Fatal(err)
			}
			spec := p.Gates[0].Spec.(*SLOSpec)
			models := spec.Models()
			var ids []string
			for _, m := range models {
				ids = append(ids, m.ID())
			}
			if strings.Join(ids, ",") != strings.Join(tt.wantIDs, ",") {
				t.Errorf("SLOs %v, want %v", ids, tt.wantIDs)
			}
			b, err := slo.Rules(models).YAML()
			if err != nil {
				t.Fatal(err)
			}
			for _, want := range tt.wantInRules {
				if !strings.Contains(string(b), want) {
					t.Errorf("rules lack %s", want)
				}
			}
			if _, probs := CheckRuleFile("rules.yml", b); len(probs) > 0 {
				t.Errorf("rulefmt: %v", probs)
			}
			bin, err := exec.LookPath("promtool")
			if err != nil {
				if os.Getenv("CI") != "" {
					t.Fatal("promtool not found; run scripts/services/prometheus.sh")
				}
				t.Skip("promtool not found; run scripts/services/prometheus.sh to install it")
			}
			path := filepath.Join(t.TempDir(), "rules.yml")
			if err := os.WriteFile(path, b, 0o644); err != nil {
				t.Fatal(err)
			}
			if out, err := exec.Command(bin, "check", "rules", path).CombinedOutput(); err != nil {
				t.Fatalf("promtool check rules: %v\n%s\n%s", err, out, b)
			}
		})
	}
}

// TestSlothSpecErrors checks that problems in a Sloth spec are reported at
// the spec's file:line:col, all at once, and refuse the policy.
func TestSlothSpecErrors(t *testing.T) {
	t.Parallel()
	files, _ := filepath.Glob(filepath.Join(sloTestdata, "sloth-bad", "*.yml"))
	if len(files) == 0 {
		t.Fatal("no testdata/slo/sloth-bad/*.yml")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			t.Parallel()
			_, err := policy.Parse(filepath.Join(sloTestdata, "policy-sloth.yml"), []byte(slothPolicy("sloth-bad/"+filepath.Base(f), "")), policy.Options{})
			var es policy.Errors
			if !errors.As(err, &es) {
				t.Fatalf("want policy errors, got %v", err)
			}
			var lines []string
			for _, e := range es {
				lines = append(lines, e.Error())
			}
			got := strings.Join(lines, "\n") + "\n"
			// the spec's path as the test names it
			got = strings.ReplaceAll(got, filepath.ToSlash(sloTestdata)+"/", "")
			golden := strings.TrimSuffix(f, ".yml") + ".out"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update)", err)
			}
			if got != string(want) {
				t.Errorf("errors:\n%s\nwant:\n%s", got, want)
			}
			for _, e := range es {
				if !strings.HasSuffix(e.Location.File, f[len(sloTestdata)+1:]) || e.Location.Line == 0 {
					t.Errorf("%s is not in the Sloth spec %s", e, f)
				}
			}
		})
	}
}

func FuzzParseSlothSpec(f *testing.F) {
	for _, p := range []string{"sloth/getting-started.yml", "sloth/multi-slo.yml"} {
		b, err := os.ReadFile(filepath.Join(sloTestdata, p))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("version: prometheus/v1\nservice: s\nslos: [{name: a, sli: {raw: {error_ratio_query: x}}}]\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		spec, errs := ParseSlothSpec("fuzz.yml", b)
		if len(errs) == 0 && (spec == nil || len(spec.SLOs) == 0 || len(spec.At) != len(spec.SLOs)) {
			t.Fatalf("no problems but no SLOs: %+v", spec)
		}
		for _, err := range errs {
			if se := (*SpecError)(nil); !errors.As(err, &se) || !errors.Is(err, ErrSpecFile) || se.Location.Line < 1 {
				t.Fatalf("%v is not a positioned *SpecError", err)
			}
		}
	})
}

// TestSlothSpecMissing checks that a from naming no file is an error at
// from in the policy, not an empty gate.
func TestSlothSpecMissing(t *testing.T) {
	t.Parallel()
	_, err := policy.Parse(filepath.Join(sloTestdata, "policy-sloth.yml"), []byte(slothPolicy("sloth/none.yml", "")), policy.Options{})
	var es policy.Errors
	if !errors.As(err, &es) || len(es) != 1 || es[0].Path != "gates[0].with.from" || !strings.HasSuffix(es[0].Location.File, "policy-sloth.yml") {
		t.Fatalf("want one error at gates[0].with.from in the policy, got %v", err)
	}
}

// TestSlothSpecInTwoGatesCollides checks that two gates reading one Sloth
// spec (one service, one SLO name) are refused at the second's from.
func TestSlothSpecInTwoGatesCollides(t *testing.T) {
	t.Parallel()
	one := slothPolicy("sloth/getting-started.yml", "")
	two := one + strings.Replace(one[strings.Index(one, "  - id:"):], "id: sloth-gate", "id: sloth-again", 1)
	_, err := policy.Parse(filepath.Join(sloTestdata, "policy-sloth.yml"), []byte(two), policy.Options{})
	var es policy.Errors
	if !errors.As(err, &es) || len(es) != 1 || es[0].Path != "gates[1].with.from" || !strings.Contains(es[0].Message, `gate "sloth-gate"`) {
		t.Fatalf("want one error at gates[1].with.from naming gate sloth-gate, got %v", err)
	}
}

// TestOpenSLOGivesPromtoolValidRules reads OpenSLO v1 documents through the
// policy: an inline ratio SLI and an indicatorRef, counters made rates over
// {{.window}}, the SLOs' own windows (28d, 7d), target and targetPercent.
func TestOpenSLOGivesPromtoolValidRules(t *testing.T) {
	t.Parallel()
	p, err := policy.Parse(filepath.Join(sloTestdata, "policy-openslo.yml"), []byte(slothPolicy("openslo/web.yml", "")), policy.Options{})
	if err != nil {
		t.Fatal(err)
	}
	models := p.Gates[0].Spec.(*SLOSpec).Models()
	if len(models) != 2 {
		t.Fatalf("%d SLOs, want 2", len(models))
	}
	a, l := models[0], models[1]
	if a.ID() != "web/web-availability" || a.Period != 28*slo.Day || a.ErrorBudget() != 0.005 ||
		a.Good != `sum by (tenant) (rate(http_requests_total{job="web",code!~"5.."}[{{.window}}]))` {
		t.Errorf("availability SLO = %+v", a)
	}
	if l.ID() != "web/web-latency" || l.Period != 7*slo.Day || l.ErrorBudget() != 0.001 ||
		l.Bad != `sum(rate(http_request_duration_seconds_count{job="web"}[{{.window}}])) - sum(rate(http_request_duration_seconds_bucket{job="web",le="0.5"}[{{.window}}]))` {
		t.Errorf("latency SLO = %+v", l)
	}
	b, err := slo.Rules(models).YAML()
	if err != nil {
		t.Fatal(err)
	}
	if _, probs := CheckRuleFile("rules.yml", b); len(probs) > 0 {
		t.Fatalf("rulefmt: %v", probs)
	}
	bin, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("promtool not found; run scripts/services/prometheus.sh")
		}
		t.Skip("promtool not found; run scripts/services/prometheus.sh to install it")
	}
	path := filepath.Join(t.TempDir(), "rules.yml")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(bin, "check", "rules", path).CombinedOutput(); err != nil {
		t.Fatalf("promtool check rules: %v\n%s\n%s", err, out, b)
	}
}

// TestOpenSLOErrors checks the OpenSLO problems, each at its line:col in
// the file, all at once.
func TestOpenSLOErrors(t *testing.T) {
	t.Parallel()
	files, _ := filepath.Glob(filepath.Join(sloTestdata, "openslo-bad", "*.yml"))
	if len(files) == 0 {
		t.Fatal("no testdata/slo/openslo-bad/*.yml")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			t.Parallel()
			_, err := policy.Parse(filepath.Join(sloTestdata, "policy-openslo.yml"), []byte(slothPolicy("openslo-bad/"+filepath.Base(f), "")), policy.Options{})
			var es policy.Errors
			if !errors.As(err, &es) {
				t.Fatalf("want policy errors, got %v", err)
			}
			var lines []string
			for _, e := range es {
				lines = append(lines, e.Error())
				if e.Location.Line == 0 || !strings.HasSuffix(e.Location.File, filepath.Base(f)) {
					t.Errorf("%s is not in %s", e, f)
				}
			}
			got := strings.ReplaceAll(strings.Join(lines, "\n")+"\n", filepath.ToSlash(sloTestdata)+"/", "")
			golden := strings.TrimSuffix(f, ".yml") + ".out"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update)", err)
			}
			if got != string(want) {
				t.Errorf("errors:\n%s\nwant:\n%s", got, want)
			}
		})
	}
}

func FuzzParseOpenSLO(f *testing.F) {
	for _, p := range []string{"openslo/web.yml", "openslo-bad/kinds.yml", "openslo-bad/queries.yml"} {
		b, err := os.ReadFile(filepath.Join(sloTestdata, p))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		spec, errs := ParseOpenSLO("fuzz.yml", b)
		if len(errs) == 0 && (spec == nil || len(spec.SLOs) == 0 || len(spec.At) != len(spec.SLOs)) {
			t.Fatalf("no problems but no SLOs: %+v", spec)
		}
		for _, err := range errs {
			if se := (*SpecError)(nil); !errors.As(err, &se) || !errors.Is(err, ErrSpecFile) || se.Location.Line < 1 {
				t.Fatalf("%v is not a positioned spec error", err)
			}
		}
	})
}
