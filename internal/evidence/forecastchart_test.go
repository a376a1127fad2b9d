package evidence

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/maestro-conductor/releasegate/internal/gate"
)

var forecastTenantRE = regexp.MustCompile(`<g class="forecast-tenant" data-tenant="([^"]+)" data-spent="([^"]+)" data-projected="([^"]+)" data-low="([^"]+)" data-high="([^"]+)" data-limit="([^"]+)" data-status="([^"]+)">`)

// TestForecastChart draws a cost-forecast gate's outlooks as report.json
// carries them (details.forecasts) and checks every figure and status
// against the Result: the chart reads, it never recomputes.
func TestForecastChart(t *testing.T) {
	t.Parallel()
	var forecasts any
	if err := json.Unmarshal([]byte(`[
	  {"tenant": "globex", "unit": "USD", "spent": 120.5, "projected": 410.25, "low": 380, "high": 440.5, "limit": 400, "grace_limit": 440, "hours_left": 200, "method": "seasonal-naive-24h"},
	  {"tenant": "acme", "unit": "minutes", "spent": 900, "projected": 1800, "low": 1700, "high": 1900, "limit": 20000, "grace_limit": 20000, "hours_left": 200, "method": "holt-winters-168h"}
	]`), &forecasts); err != nil {
		t.Fatal(err)
	}
	r := gate.Result{Gate: "spend-forecast", Kind: "cost-forecast", Details: map[string]any{"forecasts": forecasts},
		Checks: []gate.Check{
			{Name: "period-end forecast", Tenant: "globex", Status: gate.StatusWarn},
			{Name: "period-end forecast", Tenant: "acme", Status: gate.StatusPass},
			{Name: "forecast drift", Tenant: "acme", Status: gate.StatusFail},
		}}
	html := string(forecastChart(r.Gate, forecastOutlooks(r)))
	got := forecastTenantRE.FindAllStringSubmatch(html, -1)
	want := [][]string{
		{"acme", "900", "1800", "1700", "1900", "20000", "pass"},
		{"globex", "120.5", "410.25", "380", "440.5", "400", "warn"},
	}
	if len(got) != len(want) {
		t.Fatalf("%d tenants drawn, want %d:\n%s", len(got), len(want), html)
	}
	for i, w := range want {
		if strings.Join(got[i][1:], " ") != strings.Join(w, " ") {
			t.Errorf("row %d: %v, want %v", i, got[i][1:], w)
		}
	}
	for _, s := range []string{"globex: 90% interval 380–440.5 USD", "globex: budget 400 USD", "globex: grace 440 USD", "acme: 900 minutes spent so far"} {
		if !strings.Contains(html, s) {
			t.Errorf("chart lacks %q", s)
		}
	}
	if strings.Contains(html, "acme: grace") {
		t.Error("a grace equal to the budget is drawn as a second line")
	}
	for _, other := range []gate.Result{{Kind: "ci-budget", Details: r.Details}, {Kind: "cost-forecast"}, {Kind: "cost-forecast", Details: map[string]any{"forecasts": "garbage"}}} {
		if c := forecastChart("g", forecastOutlooks(other)); c != "" {
			t.Errorf("kind %s with details %v drew a forecast chart", other.Kind, other.Details)
		}
	}
}
