package evidence

import (
	"regexp"
	"strings"
	"testing"

	"github.com/maestro-conductor/releasegate/internal/gate"
)

var ledgerTenantRE = regexp.MustCompile(`<g class="ledger-tenant" data-tenant="([^"]*)" data-value="([^"]*)" data-checkpoint="([^"]*)" data-status="([^"]*)">`)

// TestDemoHTMLLedgerChart checks the ledger chart of the demo's passing
// report.html against the Result: one group per tenant in details.chains,
// its entries and checkpoint size from details, and the status of that
// tenant's signed-checkpoint check.
func TestDemoHTMLLedgerChart(t *testing.T) {
	t.Parallel()
	page, rep := demoHTML(t, "demo-pass")
	seen := 0
	for _, r := range rep.Results {
		if r.Kind != "ledger" {
			continue
		}
		chains, _ := r.Details["chains"].(map[string]any)
		cps, _ := r.Details["checkpoints"].(map[string]any)
		start := strings.Index(page, `id="gate-`+r.Gate+`"`)
		section := page[start:]
		section = section[:strings.Index(section, "</section>")]
		groups := ledgerTenantRE.FindAllStringSubmatch(section, -1)
		if len(groups) != len(chains) || len(groups) == 0 {
			t.Fatalf("gate %s: %d tenants in the ledger chart, want %d (details.chains)", r.Gate, len(groups), len(chains))
		}
		for _, g := range groups {
			seen++
			chain, _ := chains[g[1]].(map[string]any)
			cp, _ := cps[g[1]].(map[string]any)
			if want := gate.FormatFloat(chain["entries"].(float64)); g[2] != want {
				t.Errorf("tenant %s: entries %s, want %s", g[1], g[2], want)
			}
			if want := gate.FormatFloat(cp["size"].(float64)); g[3] != want {
				t.Errorf("tenant %s: checkpoint %s, want %s", g[1], g[3], want)
			}
			want := "none"
			for _, c := range r.Checks {
				if c.Tenant == g[1] && strings.HasPrefix(c.Name, "signed checkpoint ") {
					want = string(c.Status)
				}
			}
			if g[4] != want {
				t.Errorf("tenant %s: checkpoint status %s, want the check's %s", g[1], g[4], want)
			}
		}
	}
	if seen == 0 {
		t.Error("no ledger gate drawn in the demo's report.html")
	}
}
