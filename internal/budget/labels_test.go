package budget

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/maestro-conductor/releasegate/internal/gate"
)

func TestParseLabel(t *testing.T) {
	t.Parallel()
	cases := []struct {
		label, sku string
	}{
		// standard runners
		{"ubuntu-latest", "linux"},
		{"ubuntu-24.04", "linux"},
		{"ubuntu-slim", "linux_slim"},
		{"ubuntu-24.04-arm", "linux_2_core_arm"},
		{"windows-latest", "windows"},
		{"windows-2025", "windows"},
		{"windows-11-arm", "windows_2_core_arm"},
		{"macos-latest", "macos"},
		{"macos-15", "macos"},
		{"macos-15-large", "macos_l"},
		{"macos-latest-large", "macos_l"},
		{"macos-14-xlarge", "macos_xl"},
		// larger runners: -Ncore, -N-cores, -Ncores
		{"ubuntu-22.04-16core", "linux_16_core"},
		{"ubuntu-latest-4-cores", "linux_4_core"},
		{"ubuntu-latest-8-core", "linux_8_core"},
		{"ubuntu-24.04-96cores", "linux_96_core"},
		{"ubuntu-22.04-2core", "linux_2_core_advanced"},
		{"Ubuntu-22.04-64Core", "linux_64_core"},
		{"windows-2022-16core", "windows_16_core"},
		{"windows-latest-8-cores", "windows_8_core"},
		// arm64 and GPU
		{"ubuntu-24.04-arm-4core", "linux_4_core_arm"},
		{"ubuntu-22.04-32core-arm64", "linux_32_core_arm"},
		{"windows-11-arm-8-cores", "windows_8_core_arm"},
		{"windows_16_core_arm", "windows_16_core_arm"},
		{"linux_4_core", "linux_4_core"},
		{"ubuntu-22.04-gpu", "linux_4_core_gpu"},
		{"ubuntu-22.04-4core-gpu", "linux_4_core_gpu"},
		{"windows-2022-gpu-4-cores", "windows_4_core_gpu"},
		// a core count without a price still parses; pricing reports it
		{"ubuntu-22.04-12core", "linux_12_core"},
	}
	for _, c := range cases {
		t.Run(c.label, func(t *testing.T) {
			got, ok := parseLabel(c.label)
			if !ok || got != c.sku {
				t.Errorf("ParseLabel(%q) = %q, %v; want %q", c.label, got, ok, c.sku)
			}
		})
	}
	for _, l := range []string{"", "linux", "x64", "gpu-box", "acme-16core", "ubuntu-big", "ubuntu-latest-4-cores-turbo",
		"macos-15-4core", "macos-15-arm64", "ubuntu-22.04-arm-gpu", "ubuntu-22.04-8core-gpu", "windows-slim", "ubuntu-latest-latest",
		"ubuntu-4core-8core", "self-hosted", "linux_slim_core"} {
		if got, ok := parseLabel(l); ok {
			t.Errorf("ParseLabel(%q) = %q; want no SKU (never mispriced)", l, got)
		}
	}
}

// TestLargerRunnersAreNotPricedAsStandard is issue 16 item 2: ubuntu-* used
// to catch every larger runner and price it as 2-core.
func TestLargerRunnersAreNotPricedAsStandard(t *testing.T) {
	t.Parallel()
	p, err := NewPrices(nil, []LabelRule{{Match: "acme-gpu-*", SKU: "linux_4_core_gpu"}})
	if err != nil {
		t.Fatal(err)
	}
	job := func(labels ...string) Job {
		return Job{Status: "completed", RunnerName: "r", Labels: labels, StartedAt: t0, CompletedAt: t0.Add(9*time.Minute + 30*time.Second)}
	}
	cases := []struct {
		labels []string
		usd    string // 10 minutes × the rate
	}{
		{[]string{"ubuntu-22.04-16core"}, "0.420"},
		{[]string{"ubuntu-latest-4-cores"}, "0.120"},
		{[]string{"windows-11-arm-4-cores"}, "0.140"},
		{[]string{"windows_64_core_arm"}, "1.940"},
		{[]string{"macos-15-xlarge"}, "1.020"},
		{[]string{"ubuntu-22.04-gpu"}, "0.520"},
		{[]string{"acme-gpu-t4"}, "0.520"},
		{[]string{"self-hosted", "linux", "x64", "ubuntu-22.04-16core"}, "0.000"},
	}
	for _, c := range cases {
		rec, err := p.Price(job(c.labels...), t0.Add(time.Hour))
		if err != nil {
			t.Errorf("%v: %v", c.labels, err)
			continue
		}
		if got := fmt.Sprintf("%.3f", rec.USD); got != c.usd || rec.Minutes != 10 {
			t.Errorf("%v: %s %v min $%s; want 10 min $%s", c.labels, rec.SKU, rec.Minutes, got, c.usd)
		}
	}
	for _, labels := range [][]string{{"gpu-box"}, {"ubuntu-latest", "ubuntu-22.04-16core"}, {"ubuntu-24.04-20core"}, nil} {
		_, err := p.Price(job(labels...), t0.Add(time.Hour))
		if !errors.Is(err, ErrUnpriced) || !strings.Contains(err.Error(), "runners:") {
			t.Errorf("%q must be an error naming the mapping to add, got %v", labels, err)
		}
		for _, l := range labels {
			if !strings.Contains(err.Error(), l) && l != "ubuntu-latest" {
				t.Errorf("the error for %q does not name label %q: %v", labels, l, err)
			}
		}
	}
	if _, err := NewPrices(nil, []LabelRule{{Match: "acme-*", SKU: "linux_12_core"}}); !errors.Is(err, gate.ErrBadInput) || !strings.Contains(err.Error(), "runners[0].sku") {
		t.Errorf("a rule naming a SKU without a price must be refused at load: %v", err)
	}
}

const (
	tableBegin = "<!-- sku-table: generated from budget.priceTable; go test ./internal/budget -run TestDocTable -update -->\n"
	tableEnd   = "<!-- /sku-table -->\n"
)

// TestDocTableMatchesCode keeps the SKU table in docs/budget.md equal to
// PriceTable.
func TestDocTableMatchesCode(t *testing.T) {
	const file = "../../docs/budget.md"
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	i, j := strings.Index(doc, tableBegin), strings.Index(doc, tableEnd)
	if i < 0 || j < i {
		t.Fatalf("%s lacks the markers %q … %q", file, tableBegin, tableEnd)
	}
	var w strings.Builder
	w.WriteString("| SKU | runner | USD/min |\n|---|---|---|\n")
	for _, r := range priceTable() {
		fmt.Fprintf(&w, "| `%s` | %s | %.3f |\n", r.SKU, r.Runner, r.USD)
	}
	want := w.String()
	got := doc[i+len(tableBegin) : j]
	if got == want {
		return
	}
	if *update {
		if err := os.WriteFile(file, []byte(doc[:i+len(tableBegin)]+want+doc[j:]), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("the SKU table in %s differs from budget.PriceTable; run go test ./internal/budget -run TestDocTable -update\ngot:\n%s\nwant:\n%s", file, got, want)
}

func FuzzParseLabel(f *testing.F) {
	for _, s := range []string{"ubuntu-latest", "ubuntu-22.04-16core", "windows-latest-8-cores", "macos-15-xlarge", "windows_4_core_arm", "ubuntu-24.04-arm-4core", "ubuntu-22.04-gpu", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, label string) {
		sku, ok := parseLabel(label)
		if !ok {
			return
		}
		if sku == "" || sku != strings.ToLower(sku) {
			t.Errorf("ParseLabel(%q) = %q", label, sku)
		}
		// a parsed label is priced or reported, never free by accident
		p, _ := NewPrices(nil, nil)
		if got, err := p.SKUFor([]string{label}); err == nil && got != sku {
			t.Errorf("SKUFor(%q) = %q, ParseLabel = %q", label, got, sku)
		} else if err != nil && !errors.Is(err, ErrUnpriced) {
			t.Errorf("SKUFor(%q): %v", label, err)
		}
	})
}
