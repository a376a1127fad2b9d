package report

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/maestro-conductor/releasegate/internal/gate"
)

var update = flag.Bool("update", false, "rewrite golden files")

// Fixture returns a report with a passing, a failing per-tenant, an
// erroring and an optional gate; the actions package's tests reuse its
// shape.
func fixture() *gate.Report {
	t0 := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	loc := func(line int) *gate.Location {
		return &gate.Location{File: ".github/release-policy.yml", Line: line, Column: 5}
	}
	return &gate.Report{Schema: gate.SchemaVersion, Status: gate.StatusFail, Tool: "releasegate test",
		Release:   &gate.Release{Name: "tenantd", Version: "v1.4.0", Repository: "acme/tenantd"},
		Policy:    gate.Input{Name: ".github/release-policy.yml", Digest: "sha256:0123456789abcdef0123456789abcdef"},
		StartedAt: t0, FinishedAt: t0.Add(2 * time.Second),
		Results: []gate.Result{
			{Schema: gate.SchemaVersion, Gate: "health", Kind: "http", Group: "slo", Required: true, Status: gate.StatusPass,
				Summary: "1 check passed", Location: loc(4), DurationMS: 12,
				Checks: []gate.Check{{Name: "status", Status: gate.StatusPass, Observed: gate.Int(200), Expected: "200", Message: "got 200"}}},
			{Schema: gate.SchemaVersion, Gate: "burn-rate", Kind: "slo", Group: "slo", Required: true, Status: gate.StatusFail,
				Summary: "1 of 2 tenants over budget", Location: loc(9), DurationMS: 1500,
				Checks: []gate.Check{
					{Name: "5m burn rate", Tenant: "acme", Status: gate.StatusFail, Observed: gate.Number(3.1), Expected: "< 2", Unit: "×",
						Message: "tenant acme: 5m burn rate 3.1 > 2 (budget exhausted in 9h); check ingest error spike | since 14:02"},
					{Name: "5m burn rate", Tenant: "globex", Status: gate.StatusPass, Observed: gate.Number(0.4), Expected: "< 2", Unit: "×", Message: "within bound"},
					{Name: "error rate", Tenant: "initech", Status: gate.StatusFail, Expected: "< 0.01",
						Message: "no data for tenant initech: expected a series, found none; check the query's tenant label", Location: loc(14)},
				}},
			{Schema: gate.SchemaVersion, Gate: "ledger", Kind: "ledger", Group: "provenance", Required: true, Status: gate.StatusError,
				Summary: "could not evaluate: dial tcp 127.0.0.1:5432: connection refused", Error: "dial tcp 127.0.0.1:5432: connection refused",
				Location: loc(20), Checks: []gate.Check{}},
			{Schema: gate.SchemaVersion, Gate: "cost", Kind: "ci-budget", Group: "cost", Required: false, Status: gate.StatusFail,
				Summary: "forecast over budget", Location: loc(25),
				Checks: []gate.Check{{Name: "forecast", Tenant: "acme", Status: gate.StatusFail, Observed: gate.Number(1210.5), Unit: "USD", Expected: "<= 1000", Message: "forecast 1210.5 USD > 1000 USD"}}},
		}}
}

func TestGolden(t *testing.T) {
	t.Parallel()
	for _, format := range Formats() {
		t.Run(format, func(t *testing.T) {
			var buf bytes.Buffer
			if err := Write(&buf, format, fixture()); err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", "report."+format+".golden")
			if *update {
				os.WriteFile(golden, buf.Bytes(), 0o644)
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update)", err)
			}
			if !bytes.Equal(buf.Bytes(), want) {
				t.Errorf("%s output differs from %s (run with -update to accept):\n%s", format, golden, buf.String())
			}
		})
	}
}

func TestUnknownFormat(t *testing.T) {
	t.Parallel()
	if err := Write(&bytes.Buffer{}, "yaml", fixture()); err == nil {
		t.Error("Write(yaml) succeeded, want an error")
	}
}

func TestAnnotations(t *testing.T) {
	t.Parallel()
	anns := Annotations(fixture())
	// burn-rate: 2 failing checks; ledger: 1 for the error; cost: 1 warning (optional)
	if len(anns) != 4 {
		t.Fatalf("got %d annotations, want 4: %+v", len(anns), anns)
	}
	if anns[1].Location.Line != 14 {
		t.Errorf("check-level location not used: %+v", anns[1])
	}
	if anns[2].Level != "error" || anns[3].Level != "warning" {
		t.Errorf("levels = %s, %s; want error for a required gate, warning for an optional one", anns[2].Level, anns[3].Level)
	}
}
