package testsgate

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/tests")

const goldenDir = "../../../testdata/tests"

// TestGoldenResults: the whole Result of a tests gate over real reports —
// checks, messages, inputs with digests, details — against golden files
// (timings zeroed).
func TestGoldenResults(t *testing.T) {
	t.Parallel()
	tests := map[string]Spec{
		"surefire-failures": spec([]string{"surefire/TEST-com.shape.CircleTest.xml", "surefire/TEST-org.acme.FlakyTest.xml"}),
		"gotestsum-flaky":   spec([]string{"gotestsum/go-test-json-flaky-rerun.out"}, func(s *Spec) { s.MaxFlaky = 2 }),
		"pytest-jest-tenants": spec([]string{"test-reporter/*.xml"}, func(s *Spec) {
			s.MaxFailures, s.TenantPattern, s.RequiredSuites = 10, `^(?P<tenant>[a-z]+)`, []string{"pytest", "__tests__*"}
		}),
	}
	for name, s := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			res, err := evaluate(t, realDir, s)
			if err != nil {
				t.Fatal(err)
			}
			res.StartedAt, res.FinishedAt, res.DurationMS = time.Time{}, time.Time{}, 0
			var buf bytes.Buffer
			enc := json.NewEncoder(&buf)
			enc.SetEscapeHTML(false)
			enc.SetIndent("", "  ")
			if err := enc.Encode(res); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(goldenDir, name+".json.golden")
			if *update {
				if err := os.MkdirAll(goldenDir, 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update)", err)
			}
			if !bytes.Equal(buf.Bytes(), want) {
				t.Errorf("result differs from %s (run go test -update to accept):\n%s", path, buf.Bytes())
			}
		})
	}
}
