package slogate

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/maestro-conductor/releasegate/internal/gate"
	"github.com/maestro-conductor/releasegate/internal/metrics"
	"github.com/maestro-conductor/releasegate/internal/policy"
)

const (
	badQ   = `sum by (tenant) (rate(http_requests_total{code=~"5.."}[{{.window}}]))`
	totalQ = `sum by (tenant) (rate(http_requests_total[{{.window}}]))`
	// badOrZero keeps tenants without 5xx series as 0 instead of absent.
	badOrZero = badQ + ` or ` + totalQ + ` * 0`
)

func availabilitySLO(objective float64) SLOObject {
	return SLOObject{Name: "availability", Objective: objective, Period: policy.Duration(30 * 24 * 3600e9), Bad: badQ, Total: totalQ,
		BurnRates: map[string]policy.Condition{"5m": policy.MustCondition("< 2.0"), "1h": policy.MustCondition("< 1.0")}}
}

func runSLO(t *testing.T, src metrics.Source, o SLOObject, tenants ...string) map[string]gate.Check {
	t.Helper()
	spec := &SLOSpec{Source: SourceSpec{File: testFile}, TenantLabel: "tenant", Tenants: tenants, SLOs: []SLOObject{o}}
	if errs := spec.Validate(); len(errs) > 0 {
		t.Fatal(errs)
	}
	res, err := evaluate(context.Background(), NewSLOGate(gate.Meta{ID: "s"}, spec, src))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]gate.Check{}
	for _, c := range res.Checks {
		out[c.Tenant+"|"+c.Name] = c
	}
	return out
}

func TestSLOGateVerdicts(t *testing.T) {
	t.Parallel()
	src := fileSource(t)
	cases := []struct {
		name string
		slo  SLOObject
		want map[string]gate.Status
		msg  map[string]string
	}{
		{
			name: "the checklist's 5m < 2 and 1h < 1 fail for a burning tenant and pass for a healthy one",
			slo:  availabilitySLO(99),
			want: map[string]gate.Status{
				"acme|availability 5m burn rate": gate.StatusPass, "acme|availability 1h burn rate": gate.StatusPass,
				"acme|availability error budget remaining": gate.StatusPass,
				"globex|availability 5m burn rate":         gate.StatusFail, "globex|availability 1h burn rate": gate.StatusFail,
				"globex|availability page 1h/5m burn ×14.4":  gate.StatusPass,
				"globex|availability error budget remaining": gate.StatusPass,
			},
			msg: map[string]string{"globex|availability 5m burn rate": "budget exhausted in"},
		},
		{
			name: "a tenant without 5xx series is no data, not a pass",
			slo:  availabilitySLO(99),
			want: map[string]gate.Status{"initech|availability 5m burn rate": gate.StatusFail, "initech|availability error budget remaining": gate.StatusFail},
			msg:  map[string]string{"initech|availability 5m burn rate": "empty is not 0"},
		},
		{
			name: "bad written with `or … * 0` turns an absent error series into 0",
			slo: func() SLOObject {
				o := availabilitySLO(99)
				o.Bad = badOrZero
				return o
			}(),
			want: map[string]gate.Status{"initech|availability 5m burn rate": gate.StatusPass, "initech|availability error budget remaining": gate.StatusPass},
		},
		{
			name: "at 99.9% the 1h/5m page tier fires and the budget is overspent",
			slo:  availabilitySLO(99.9),
			want: map[string]gate.Status{
				"globex|availability page 1h/5m burn ×14.4":  gate.StatusFail,
				"globex|availability error budget remaining": gate.StatusFail,
				"acme|availability page 1h/5m burn ×14.4":    gate.StatusPass,
				"globex|availability ticket 3d/6h burn ×1":   gate.StatusWarn,
			},
			msg: map[string]string{"globex|availability page 1h/5m burn ×14.4": "the page alert fires"},
		},
		{
			name: "on-no-data skip skips a tenant without data",
			slo: func() SLOObject {
				o := availabilitySLO(99)
				o.OnNoData = "skip"
				return o
			}(),
			want: map[string]gate.Status{"initech|availability 5m burn rate": gate.StatusSkip},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := runSLO(t, src, tc.slo, "acme", "globex", "initech")
			for k, want := range tc.want {
				c, ok := got[k]
				if !ok {
					t.Errorf("no check %q; have %v", k, keysOf(got))
					continue
				}
				if c.Status != want {
					t.Errorf("%s: %s (%s), want %s", k, c.Status, c.Message, want)
				}
			}
			for k, want := range tc.msg {
				if !strings.Contains(got[k].Message, want) {
					t.Errorf("%s: message %q, want it to contain %q", k, got[k].Message, want)
				}
			}
		})
	}
}

func keysOf(m map[string]gate.Check) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestSLOSpecValidate(t *testing.T) {
	t.Parallel()
	good := func() *SLOSpec {
		return &SLOSpec{Source: SourceSpec{File: "x"}, SLOs: []SLOObject{availabilitySLO(99.9)}}
	}
	cases := []struct {
		name, field, msg string
		edit             func(*SLOSpec)
	}{
		{"an objective of 100 is refused", "slos[0].objective", "between 0 and 100", func(s *SLOSpec) { s.SLOs[0].Objective = 100 }},
		{"bad without the window placeholder is refused", "slos[0].bad", "{{.window}}", func(s *SLOSpec) { s.SLOs[0].Bad = "sum(rate(x[5m]))" }},
		{"bad PromQL is refused at its key, at the column as written", "slos[0].total", "not valid PromQL: 1:25: parse error: unclosed left parenthesis",
			func(s *SLOSpec) { s.SLOs[0].Total = "sum(rate(x[{{.window}}])" }},
		{"a range vector is not a rate", "slos[0].bad", "gives a matrix", func(s *SLOSpec) { s.SLOs[0].Bad = "x[{{.window}}]" }},
		{"a period under an hour is refused", "slos[1].period", "30m: expected at least 1h", func(s *SLOSpec) {
			s.SLOs = append(s.SLOs, availabilitySLO(99))
			s.SLOs[1].Name, s.SLOs[1].Period = "second", policy.Duration(30*time.Minute)
		}},
		{"two SLOs of one name are refused", "slos[1].name", "used twice", func(s *SLOSpec) { s.SLOs = append(s.SLOs, availabilitySLO(99)) }},
		{"a burn-rate window must be a duration", "slos[0].burn-rates.soon", "window", func(s *SLOSpec) {
			s.SLOs[0].BurnRates = map[string]policy.Condition{"soon": policy.MustCondition("< 1")}
		}},
		{"a burn-rate window longer than the period is refused", "slos[0].burn-rates.31d", "longer than the period 30d", func(s *SLOSpec) {
			s.SLOs[0].BurnRates = map[string]policy.Condition{"31d": policy.MustCondition("< 1")}
		}},
		{"a relative burn-rate condition is refused", "slos[0].burn-rates.5m", "absolute", func(s *SLOSpec) {
			s.SLOs[0].BurnRates = map[string]policy.Condition{"5m": policy.MustCondition("< baseline")}
		}},
	}
	if errs := good().Validate(); len(errs) > 0 {
		t.Fatal(errs)
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := good()
			tc.edit(s)
			errs := s.Validate()
			if len(errs) != 1 {
				t.Fatalf("Validate() = %v, want one error", errs)
			}
			var fe *policy.FieldError
			if !errors.As(errs[0], &fe) || fe.Field != tc.field || !strings.Contains(fe.Error(), tc.msg) {
				t.Errorf("error %v, want a FieldError at %s containing %q", errs[0], tc.field, tc.msg)
			}
		})
	}
}

// Without the tiers, a period of a day is fine: only its own burn-rate
// windows must fit in it.
func TestSLOSpecShortPeriodWithoutTiers(t *testing.T) {
	t.Parallel()
	off := false
	o := availabilitySLO(99.9)
	o.Period, o.Tiers = policy.Duration(24*time.Hour), &off
	o.BurnRates = map[string]policy.Condition{"1h": policy.MustCondition("< 2")}
	s := &SLOSpec{Source: SourceSpec{File: "x"}, SLOs: []SLOObject{o}}
	if errs := s.Validate(); len(errs) > 0 {
		t.Errorf("Validate() = %v, want no errors", errs)
	}
}

// Every problem of every SLO is reported, none hiding another.
func TestSLOSpecValidateReportsEveryProblem(t *testing.T) {
	t.Parallel()
	s := &SLOSpec{Source: SourceSpec{File: "x"}, SLOs: []SLOObject{availabilitySLO(99.9), availabilitySLO(99)}}
	s.SLOs[0].Bad = "sum("
	s.SLOs[0].Period = policy.Duration(time.Minute)
	s.SLOs[1].Name, s.SLOs[1].Objective = "latency", 100
	s.SLOs[1].Total = "sum(rate(y[{{.window}}])"
	want := []string{"slos[0].bad", "slos[0].bad", "slos[0].period", "slos[1].objective", "slos[1].total"}
	var got []string
	for _, err := range s.Validate() {
		var fe *policy.FieldError
		if !errors.As(err, &fe) {
			t.Fatalf("%v is not a *policy.FieldError", err)
		}
		got = append(got, fe.Field)
	}
	sort.Strings(got)
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("Validate() points at %v, want %v", got, want)
	}
}

func TestSLOGateSourceFaultIsAnError(t *testing.T) {
	t.Parallel()
	src := failingSource{Source: fileSource(t), err: fmt.Errorf("%w: connection refused", gate.ErrUnreachable)}
	spec := &SLOSpec{Source: SourceSpec{File: "x"}, TenantLabel: "tenant", SLOs: []SLOObject{availabilitySLO(99)}}
	res, err := evaluate(context.Background(), NewSLOGate(gate.Meta{ID: "s"}, spec, src))
	if !errors.Is(err, gate.ErrUnreachable) {
		t.Fatalf("error = %v, want ErrUnreachable", err)
	}
	if res != nil && res.Status == gate.StatusPass {
		t.Error("an unreachable source passed")
	}
}
