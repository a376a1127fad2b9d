package slogate

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/maestro-conductor/releasegate/internal/gate"
	"github.com/maestro-conductor/releasegate/internal/policy"
	"github.com/maestro-conductor/releasegate/internal/slo"
)

// TestSLOBurnRateAtThreshold runs the gate over an error ratio of exactly
// a whole multiple of the budget: the budget is 1 − objective computed in
// decimal, so a burn of exactly 2 is 2 (not 1.9999999999999982) and "< 2"
// fails, at every common objective.
func TestSLOBurnRateAtThreshold(t *testing.T) {
	t.Parallel()
	src := fileSource(t)
	// every tenant's bad and total rates as constants: bad / total = ratio
	constant := func(v string) string {
		return `sum by (tenant) (rate(http_requests_total[{{.window}}])) * 0 + ` + v
	}
	tests := []struct {
		name       string
		objective  float64
		bad, total string
		cond       string
		want       gate.Status
		msg        string
	}{
		{"99%: a burn of exactly 2 does not meet < 2", 99, "2", "100", "< 2", gate.StatusFail, "availability 5m burn rate 2 does not meet < 2"},
		{"99%: a burn of exactly 2 meets <= 2", 99, "2", "100", "<= 2", gate.StatusPass, "availability 5m burn rate 2 meets <= 2"},
		{"99%: a burn of exactly 2 meets == 2", 99, "2", "100", "== 2", gate.StatusPass, "meets == 2"},
		{"99.9%: a burn of exactly 2 does not meet < 2", 99.9, "2", "1000", "< 2", gate.StatusFail, "burn rate 2 does not meet < 2"},
		{"99.99%: a burn of exactly 14.4 does not meet < 14.4", 99.99, "144", "100000", "< 14.4", gate.StatusFail, "burn rate 14.4 does not meet < 14.4"},
		{"99.95%: a burn of exactly 6 meets >= 6", 99.95, "3", "1000", ">= 6", gate.StatusPass, "burn rate 6 meets >= 6"},
		{"95%: a burn of exactly 1 does not meet > 1", 95, "5", "100", "> 1", gate.StatusFail, "burn rate 1 does not meet > 1"},
		{"99%: just below 2 meets < 2", 99, "1.9999", "100", "< 2", gate.StatusPass, "meets < 2"},
		{"99%: just above 2 does not meet <= 2", 99, "2.0001", "100", "<= 2", gate.StatusFail, "does not meet <= 2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			o := availabilitySLO(tt.objective)
			o.Bad, o.Total = constant(tt.bad), constant(tt.total)
			off := false
			o.Tiers = &off
			o.BurnRates = map[string]policy.Condition{"5m": policy.MustCondition(tt.cond)}
			got := runSLO(t, src, o, "acme")
			c, ok := got["acme|availability 5m burn rate"]
			if !ok {
				t.Fatalf("no 5m burn rate check; have %v", keysOf(got))
			}
			if c.Status != tt.want || !strings.Contains(c.Message, tt.msg) {
				t.Errorf("got %s %q, want %s containing %q", c.Status, c.Message, tt.want, tt.msg)
			}
		})
	}
}

// TestSLOTierAtThreshold checks that a tier fires only above its factor:
// a burn of exactly 14.4 on both windows does not page.
func TestSLOTierAtThreshold(t *testing.T) {
	t.Parallel()
	src := fileSource(t)
	for _, tt := range []struct {
		bad  string
		want gate.Status
	}{{"144", gate.StatusPass}, {"144.01", gate.StatusFail}} {
		t.Run(tt.bad, func(t *testing.T) {
			t.Parallel()
			o := availabilitySLO(99.9)
			o.BurnRates = nil
			o.Bad = `sum by (tenant) (rate(http_requests_total[{{.window}}])) * 0 + ` + tt.bad
			o.Total = `sum by (tenant) (rate(http_requests_total[{{.window}}])) * 0 + 10000`
			got := runSLO(t, src, o, "acme")
			name := fmt.Sprintf("acme|availability page 1h/5m burn ×%s", "14.4")
			if c := got[name]; c.Status != tt.want {
				t.Errorf("%s: %s (%s), want %s", name, c.Status, c.Message, tt.want)
			}
		})
	}
}

// TestSLOShortPeriods runs the gate's tiers for 1d and 7d periods: the
// windows scale with the period and the factors stay, so a tenant burning
// at 0.5× (meeting its SLO) neither pages nor tickets, and one burning at
// 20× pages on both page tiers.
func TestSLOShortPeriods(t *testing.T) {
	t.Parallel()
	src := fileSource(t)
	constant := func(v string) string {
		return `sum by (tenant) (rate(http_requests_total[{{.window}}])) * 0 + ` + v
	}
	tests := []struct {
		period  time.Duration
		bad     string // per 1000 requests, against a 99% objective (budget 10 per 1000)
		want    gate.Status
		page    gate.Status
		pageKey string
	}{
		{24 * time.Hour, "5", gate.StatusPass, gate.StatusPass, "availability page 12m/5m burn ×6"},
		{24 * time.Hour, "200", gate.StatusFail, gate.StatusFail, "availability page 12m/5m burn ×6"},
		{7 * 24 * time.Hour, "5", gate.StatusPass, gate.StatusPass, "availability page 14m/5m burn ×14.4"},
		{7 * 24 * time.Hour, "200", gate.StatusFail, gate.StatusFail, "availability page 14m/5m burn ×14.4"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s at %s per 1000", slo.FormatWindow(tt.period), tt.bad), func(t *testing.T) {
			t.Parallel()
			o := availabilitySLO(99)
			o.Period = policy.Duration(tt.period)
			o.BurnRates = nil
			o.Bad, o.Total = constant(tt.bad), constant("1000")
			spec := &SLOSpec{Source: SourceSpec{File: testFile}, TenantLabel: "tenant", Tenants: []string{"acme"}, SLOs: []SLOObject{o}}
			if errs := spec.Validate(); len(errs) > 0 {
				t.Fatalf("a %s period is refused: %v", slo.FormatWindow(tt.period), errs)
			}
			got := runSLO(t, src, o, "acme")
			tiers := 0
			for k, c := range got {
				if !strings.HasPrefix(k, "acme|") || !strings.Contains(k, " burn ×") {
					continue
				}
				tiers++
				if tt.want == gate.StatusPass && c.Status != gate.StatusPass {
					t.Errorf("%s: %s (%s); a 0.5× burn must raise nothing", k, c.Status, c.Message)
				}
			}
			if tiers != 4 {
				t.Errorf("%d tier checks, want 4: %v", tiers, keysOf(got))
			}
			if c := got["acme|"+tt.pageKey]; c.Status != tt.page {
				t.Errorf("%s: %s (%s), want %s", tt.pageKey, c.Status, c.Message, tt.page)
			}
		})
	}
}

// TestPeriodRatio checks which SLOs get the cheap average period form:
// auto picks it for subquery SLIs only.
func TestPeriodRatio(t *testing.T) {
	t.Parallel()
	sub := `sum by (tenant) (sum_over_time((request_latency_seconds > bool 0.5)[{{.window}}:1m]))`
	tests := []struct {
		name, setting, bad string
		want               bool
	}{
		{"auto, plain rates: exact", "", badQ, false},
		{"auto, a subquery: average", "auto", sub, true},
		{"exact, a subquery: exact", "exact", sub, false},
		{"average, plain rates: average", "average", badQ, true},
	}
	for _, tt := range tests {
		o := availabilitySLO(99.9)
		o.PeriodRatio, o.Bad = tt.setting, tt.bad
		if got := (&SLOSpec{SLOs: []SLOObject{o}}).Models()[0].AveragePeriod; got != tt.want {
			t.Errorf("%s: AveragePeriod = %v, want %v", tt.name, got, tt.want)
		}
	}
}

// TestBudgetRemainingAtThreshold checks that a period error ratio equal to
// the budget within the tolerance leaves exactly no budget, so the default
// "> 0" fails there, as every condition does at its threshold.
func TestBudgetRemainingAtThreshold(t *testing.T) {
	t.Parallel()
	o := availabilitySLO(99.9)
	off := false
	o.Tiers, o.BurnRates = &off, nil
	m := o.model()
	g := &SLOGate{spec: &SLOSpec{TenantLabel: "tenant"}}
	tests := []struct {
		name  string
		ratio float64
		want  gate.Status
	}{
		{"exactly the budget", m.ErrorBudget(), gate.StatusFail},
		{"the budget, an ulp above 1 × budget", m.ErrorBudget() * (1 + 2e-16), gate.StatusFail},
		{"the budget, an ulp below", m.ErrorBudget() * (1 - 2e-16), gate.StatusFail},
		{"just under the budget, beyond the tolerance", m.ErrorBudget() * (1 - 1e-8), gate.StatusPass},
	}
	for _, tt := range tests {
		cs := g.judgeTenant(&o, m, "acme", tenantView{m.Period: tt.ratio, time.Hour: tt.ratio})
		c := cs[len(cs)-1]
		if c.Name != "availability error budget remaining" || c.Status != tt.want {
			t.Errorf("%s (ratio %v): %s %s (%s), want %s", tt.name, tt.ratio, c.Name, c.Status, c.Message, tt.want)
		}
	}
}
