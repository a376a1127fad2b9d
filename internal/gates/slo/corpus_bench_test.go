package slogate

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// BenchmarkCorpus checks the whole corpus (testdata/slo/corpus: every rule
// file and every dashboard, valid and broken) once per iteration, reading
// the files each time; the target is under 2 s on the project's machine
// (docs/benchmarks.md).
func BenchmarkCorpus(b *testing.B) {
	files := corpusFiles(b, corpusDir)
	var size int64
	for _, f := range files {
		st, err := os.Stat(f)
		if err != nil {
			b.Fatal(err)
		}
		size += st.Size()
	}
	b.SetBytes(size)
	b.ReportAllocs()
	for b.Loop() {
		dashboards, rules := 0, 0
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				b.Fatal(err)
			}
			if strings.Contains(filepath.ToSlash(f), "/dashboards/") {
				dashboards += len(CheckDashboardFile(f, data, DashboardOptions{}))
			} else {
				info, _ := CheckRuleFile(f, data)
				rules += info.Rules
			}
		}
		if dashboards < 30 || rules == 0 {
			b.Fatalf("%d dashboards, %d rules checked", dashboards, rules)
		}
	}
}
