package promexport

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/maestro-conductor/releasegate/internal/gate"
)

func demoReport(t *testing.T, name string) *gate.Report {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "report", "testdata", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var rep gate.Report
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	rep.Release = &gate.Release{Name: "demo-service", Version: "v1.4.0"}
	return &rep
}

// TestTextfile writes the demo's failing and passing reports as textfiles,
// has promtool accept them, and checks the samples carry the Results'
// statuses and values.
func TestTextfile(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"demo-pass", "demo-fail"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			rep := demoReport(t, name)
			path := filepath.Join(t.TempDir(), "releasegate.prom")
			if err := WriteTextfile(path, rep); err != nil {
				t.Fatal(err)
			}
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if promtool, err := exec.LookPath("promtool"); err == nil {
				cmd := exec.Command(promtool, "check", "metrics")
				cmd.Stdin = bytes.NewReader(data)
				if out, err := cmd.CombinedOutput(); err != nil {
					t.Errorf("promtool check metrics: %v\n%s", err, out)
				}
			} else if os.Getenv("CI") != "" {
				t.Fatal("promtool is not installed: it is required under CI (Debian package prometheus)")
			} else {
				t.Log("promtool not installed: the exposition is checked by expfmt only")
			}
			p := expfmt.NewTextParser(model.LegacyValidation)
			fams, err := p.TextToMetricFamilies(bytes.NewReader(data))
			if err != nil {
				t.Fatalf("not the text exposition format: %v", err)
			}
			value := func(fam string, labels map[string]string) (float64, bool) {
				for _, m := range fams[fam].GetMetric() {
					match := 0
					for _, l := range m.GetLabel() {
						if v, ok := labels[l.GetName()]; ok && v == l.GetValue() {
							match++
						}
					}
					if match == len(labels) {
						return m.GetGauge().GetValue(), true
					}
				}
				return 0, false
			}
			if v, ok := value("releasegate_release_status", map[string]string{"status": string(rep.Status)}); !ok || v != 1 {
				t.Errorf("release status %s: %v %v", rep.Status, v, ok)
			}
			if v, ok := value("releasegate_release_info", map[string]string{"release": "demo-service", "version": "v1.4.0", "policy_digest": rep.Policy.Digest}); !ok || v != 1 {
				t.Errorf("release info missing: %v", fams["releasegate_release_info"])
			}
			checked := 0
			for _, r := range rep.Results {
				if v, ok := value("releasegate_gate_status", map[string]string{"gate": r.Gate, "status": string(r.Status)}); !ok || v != 1 {
					t.Errorf("gate %s status %s: %v %v", r.Gate, r.Status, v, ok)
				}
				for _, c := range r.Checks {
					f, ok := c.Observed.Float()
					v, has := value("releasegate_check_value", map[string]string{"gate": r.Gate, "check": c.Name, "tenant": c.Tenant})
					if ok != has || ok && v != f {
						t.Errorf("gate %s check %s/%s: sample %v (present %v), observed %v", r.Gate, c.Tenant, c.Name, v, has, c.Observed)
					}
					checked++
				}
			}
			if checked == 0 || !strings.Contains(string(data), "# TYPE releasegate_gate_duration_seconds gauge") {
				t.Errorf("no checks or no durations in\n%s", data)
			}
		})
	}
}
