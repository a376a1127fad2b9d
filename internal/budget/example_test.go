package budget

import (
	"bytes"
	"flag"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite golden files and the generated example usage export")

// exampleEnd is where the generated example export ends (exclusive).
var exampleEnd = time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC)

// exampleRepos describes the generated tenants' repositories: hourly base
// minutes on a weekday afternoon, SKU, growth per week.
var exampleRepos = []struct {
	repo, workflow, sku string
	base, growth        float64
}{
	{"maestro-conductor/acme-api", ".github/workflows/ci.yml", "actions_linux", 60, 0.03},
	{"maestro-conductor/acme-api", ".github/workflows/e2e.yml", "linux_4_core", 20, 0.03},
	{"maestro-conductor/acme-web", ".github/workflows/ci.yml", "actions_linux", 40, 0.02},
	{"maestro-conductor/acme-web", ".github/workflows/ios.yml", "actions_macos", 6, 0},
	{"maestro-conductor/globex-ingest", ".github/workflows/ci.yml", "linux_8_core", 45, 0.08},
	{"maestro-conductor/globex-ingest", ".github/workflows/release.yml", "actions_linux", 3, 0},
	{"maestro-conductor/initech-billing", ".github/workflows/ci.yml", "actions_windows", 15, 0},
	{"maestro-conductor/initech-billing", ".github/workflows/nightly.yml", "self_hosted", 30, 0},
}

// generateExample writes five weeks of hourly usage in the detailed usage
// report's columns: daily and weekly seasonality, growth and noise, from a
// fixed seed, so the file is reproducible.
func generateExample() []byte {
	r := rand.New(rand.NewPCG(2026, 11))
	p := defaultPrices()
	var recs []Record
	start := exampleEnd.AddDate(0, 0, -35)
	for t := start; t.Before(exampleEnd); t = t.Add(time.Hour) {
		hour, wd := t.Hour(), t.Weekday()
		daily := math.Max(0.05, math.Sin(math.Pi*float64(hour-6)/14)) // 06:00–20:00 UTC working day
		if hour < 6 || hour > 20 {
			daily = 0.05
		}
		weekly := 1.0
		if wd == time.Saturday || wd == time.Sunday {
			weekly = 0.15
		}
		weeks := t.Sub(start).Hours() / 168
		for _, x := range exampleRepos {
			m := x.base * daily * weekly * math.Pow(1+x.growth, weeks) * (1 + 0.03*r.NormFloat64())
			m = math.Round(math.Max(0, m))
			if m == 0 {
				continue
			}
			sku := NormalizeSKU(x.sku)
			recs = append(recs, Record{Time: t, Org: "maestro-conductor", Repo: x.repo, Workflow: x.workflow, SKU: sku,
				Minutes: m, USD: math.Round(m*p[sku]*1e4) / 1e4})
		}
	}
	var b bytes.Buffer
	if err := writeUsageCSV(&b, recs); err != nil {
		panic(err)
	}
	return b.Bytes()
}

// exampleFile is the embedded default usage export of the demo.
const exampleFile = "../../examples/budget/usage-report.csv"

// TestExampleUsageIsGenerated keeps examples/budget/usage-report.csv
// identical to what generateExample writes; run
// `go test ./internal/budget -run Example -update` to rewrite it.
func TestExampleUsageIsGenerated(t *testing.T) {
	want := generateExample()
	for _, f := range []string{exampleFile} {
		if *update {
			if err := os.WriteFile(f, want, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(f)
		if err != nil {
			t.Fatalf("%v; run go test ./internal/budget -run Example -update", err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from the generator; run go test ./internal/budget -run Example -update", filepath.Base(f))
		}
	}
}
