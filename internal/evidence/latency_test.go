package evidence

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/maestro-conductor/releasegate/internal/gate"
	"github.com/maestro-conductor/releasegate/internal/gates/synthetic"
)

var (
	latencyTenantRE = regexp.MustCompile(`<g class="latency-tenant" data-tenant="([^"]*)" data-bound="([^"]*)">(.*?)<line `)
	pctRE           = regexp.MustCompile(`<g class="pct" data-percentile="(p\d+)" data-value="([^"]*)"><rect [^>]*><title>([^<]*)</title>`)
)

// TestDemoHTMLLatency checks the latency chart of each synthetic gate in
// the demo's report.html against the Result: one group per tenant with a
// p95 latency check, its p50/p95/p99 read off the record's histogram (in
// data-value and the bar's title) and the SLO line at the check's bound.
func TestDemoHTMLLatency(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"demo-pass", "demo-fail"} {
		page, rep := demoHTML(t, name)
		charts := 0
		for _, r := range rep.Results {
			if r.Kind != "synthetic" {
				continue
			}
			want := wantLatency(t, r)
			start := strings.Index(page, `id="gate-`+r.Gate+`"`)
			if start < 0 {
				t.Fatalf("%s: no section for gate %s", name, r.Gate)
			}
			section := page[start:]
			section = section[:strings.Index(section, "</section>")]
			groups := latencyTenantRE.FindAllStringSubmatch(section, -1)
			if len(groups) != len(want) {
				t.Errorf("%s: gate %s: %d tenants in the latency chart, want %d (one per p95 latency check)", name, r.Gate, len(groups), len(want))
				continue
			}
			if len(groups) > 0 {
				charts++
			}
			for _, g := range groups {
				w, ok := want[g[1]]
				if !ok {
					t.Errorf("%s: gate %s: latency chart draws tenant %s, which has no p95 latency check", name, r.Gate, g[1])
					continue
				}
				if g[2] != w[3] {
					t.Errorf("%s: gate %s tenant %s: SLO line at %s, want the check's bound %s", name, r.Gate, g[1], g[2], w[3])
				}
				pcts := pctRE.FindAllStringSubmatch(g[3], -1)
				if len(pcts) != 3 {
					t.Fatalf("%s: gate %s tenant %s: %d percentile bars, want 3", name, r.Gate, g[1], len(pcts))
				}
				for i, p := range pcts {
					if p[2] != w[i] || !strings.Contains(p[3], p[1]+": "+w[i]+" ms") {
						t.Errorf("%s: gate %s tenant %s %s: data-value %s, title %q; want %s ms", name, r.Gate, g[1], p[1], p[2], p[3], w[i])
					}
				}
			}
		}
		if name == "demo-pass" && charts == 0 {
			t.Errorf("%s: no latency chart in report.html", name)
		}
	}
}

// wantLatency reads, independently of the renderer, each tenant's p50,
// p95, p99 (ms) and p95 bound from a synthetic Result.
func wantLatency(t *testing.T, r gate.Result) map[string][4]string {
	t.Helper()
	b, err := json.Marshal(r.Details[syntheticgate.DetailsKey])
	if err != nil {
		t.Fatal(err)
	}
	var rec syntheticgate.Record
	if err := json.Unmarshal(b, &rec); err != nil {
		t.Fatalf("gate %s: details.synthetic: %v", r.Gate, err)
	}
	out := map[string][4]string{}
	for _, c := range r.Checks {
		if c.Name != "p95 latency" {
			continue
		}
		for _, s := range rec.Run.Streams {
			if s.Tenant != c.Tenant {
				continue
			}
			var w [4]string
			for i, q := range []float64{0.5, 0.95, 0.99} {
				d, ok := s.Latency.Quantile(q)
				if !ok {
					t.Fatalf("gate %s tenant %s: empty histogram", r.Gate, c.Tenant)
				}
				w[i] = gate.FormatFloat(float64(d.Microseconds()) / 1000)
			}
			w[3] = strings.TrimLeft(c.Expected, "<=> ")
			out[c.Tenant] = w
			break
		}
	}
	return out
}
