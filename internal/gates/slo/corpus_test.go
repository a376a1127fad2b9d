package slogate

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

var corpusDir = filepath.Join(sloTestdata, "corpus")

// corpusFiles lists the rule files or dashboards under dir, leaving out
// licences, provenance notes and golden files.
func corpusFiles(t testing.TB, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		switch filepath.Ext(p) {
		case ".json", ".yaml", ".yml":
			out = append(out, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestCorpusRulesValid: no real rule file that Prometheus (promtool) loads
// is refused.
func TestCorpusRulesValid(t *testing.T) {
	t.Parallel()
	files := corpusFiles(t, filepath.Join(corpusDir, "valid", "rules"))
	if len(files) < 20 {
		t.Fatalf("%d rule files in the corpus; expected at least 20", len(files))
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		info, probs := CheckRuleFile(f, b)
		for _, p := range probs {
			if !p.Warn {
				t.Errorf("a valid file refused: %s", p)
			}
		}
		t.Logf("%s: %s, %d groups, %d rules, %d warnings", f, info.Form, len(info.Groups), info.Rules, len(probs))
	}
}

// TestCorpusDashboardsValid: no real, working dashboard is refused.
func TestCorpusDashboardsValid(t *testing.T) {
	t.Parallel()
	files := corpusFiles(t, filepath.Join(corpusDir, "valid", "dashboards"))
	n := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range CheckDashboardFile(f, b, DashboardOptions{}) {
			n++
			for _, p := range r.Problems {
				t.Errorf("a valid dashboard refused: %s", p)
			}
			t.Logf("%s: %s %q: %d PromQL, %d LogQL, %d unchecked", r.Name, r.Form, r.Title, r.PromQL, r.LogQL, len(r.Unchecked))
		}
	}
	if n < 30 {
		t.Fatalf("%d dashboards in the corpus; expected at least 30", n)
	}
}

// TestCorpusBroken: every broken variant is refused, at the positions in
// its golden file (-update rewrites them).
func TestCorpusBroken(t *testing.T) {
	t.Parallel()
	for _, kind := range []string{"rules", "dashboards"} {
		files := corpusFiles(t, filepath.Join(corpusDir, "broken", kind))
		if len(files) == 0 {
			t.Fatalf("no broken %s", kind)
		}
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			var got strings.Builder
			failed := false
			name := filepath.Base(f)
			if kind == "rules" {
				_, probs := CheckRuleFileWith(name, b, corpusRuleOptions(name))
				for _, p := range probs {
					failed = failed || !p.Warn
					got.WriteString(p.String() + "\n")
				}
			} else {
				rs := CheckDashboardFile(name, b, DashboardOptions{})
				for _, r := range rs {
					failed = failed || len(r.Problems) > 0
				}
				got.WriteString(renderReports(rs))
			}
			if !failed {
				t.Errorf("%s: a broken file passed", f)
			}
			golden := strings.TrimSuffix(f, filepath.Ext(f)) + ".out"
			if *update {
				if err := os.WriteFile(golden, []byte(got.String()), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update)", err)
			}
			if got.String() != string(want) {
				t.Errorf("%s:\ngot:\n%s\nwant:\n%s", f, got.String(), want)
			}
		}
	}
}

// corpusRuleOptions: files named legacy-* are checked for Prometheus 2,
// lint-* with the review lints.
func corpusRuleOptions(name string) RuleOptions {
	var o RuleOptions
	if strings.HasPrefix(name, "legacy-") {
		o.Legacy = true
	}
	if strings.HasPrefix(name, "lint-") {
		o.Require = &RuleRequire{For: true, Labels: map[string][]string{"severity": {"critical", "warning", "info"}}, Annotations: []string{"runbook_url", "summary"}, Unique: true}
	}
	return o
}

// promtoolBin returns promtool and its major version, or skips (fails under
// CI) when it is not installed.
func promtoolBin(t *testing.T) (string, int) {
	t.Helper()
	bin, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("promtool not found; run scripts/services/prometheus.sh")
		}
		t.Skip("promtool not found; run scripts/services/prometheus.sh to install it")
	}
	out, _ := exec.Command(bin, "--version").CombinedOutput()
	m := regexp.MustCompile(`version (\d+)\.`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("promtool --version: %s", out)
	}
	major, _ := strconv.Atoi(string(m[1]))
	return bin, major
}

// promtoolAccepts runs promtool check rules on the file, or on the spec of
// each PrometheusRule in it.
func promtoolAccepts(t *testing.T, bin, f string, b []byte) (bool, string) {
	t.Helper()
	paths := []string{f}
	if bytes.Contains(b, []byte("kind: PrometheusRule")) {
		paths = nil
		dec := yaml.NewDecoder(bytes.NewReader(b))
		for i := 0; ; i++ {
			var doc struct {
				Kind  string `yaml:"kind"`
				Spec  any    `yaml:"spec"`
				Items []struct {
					Spec any `yaml:"spec"`
				} `yaml:"items"`
			}
			if err := dec.Decode(&doc); err != nil {
				break
			}
			specs := []any{doc.Spec}
			for _, it := range doc.Items {
				specs = append(specs, it.Spec)
			}
			for j, s := range specs {
				if s == nil {
					continue
				}
				// the operator drops this Thanos-only key for Prometheus
				if m, ok := s.(map[string]any); ok {
					gs, _ := m["groups"].([]any)
					for _, g := range gs {
						if gm, ok := g.(map[string]any); ok {
							delete(gm, "partial_response_strategy")
						}
					}
				}
				out, err := yaml.Marshal(s)
				if err != nil {
					t.Fatal(err)
				}
				p := filepath.Join(t.TempDir(), fmt.Sprintf("spec-%d-%d.yml", i, j))
				if err := os.WriteFile(p, out, 0o644); err != nil {
					t.Fatal(err)
				}
				paths = append(paths, p)
			}
		}
	}
	for _, p := range paths {
		if out, err := exec.Command(bin, "check", "rules", p).CombinedOutput(); err != nil {
			return false, string(out)
		}
	}
	return true, ""
}

// TestCorpusAgreesWithPromtool: on every rule file of the corpus the gate
// and promtool check rules agree (names validated as the installed
// promtool's Prometheus version does), except the files named eval-*,
// which promtool loads but Prometheus cannot evaluate, lint-*, which only
// the review lints refuse, and pkg-*, whose packaging is wrong where
// promtool does not look (a second document it ignores, a List item that
// is not a PrometheusRule): promtool accepts those.
func TestCorpusAgreesWithPromtool(t *testing.T) {
	bin, major := promtoolBin(t)
	files := append(corpusFiles(t, filepath.Join(corpusDir, "valid", "rules")), corpusFiles(t, filepath.Join(corpusDir, "broken", "rules"))...)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		name := filepath.Base(f)
		o := corpusRuleOptions(name)
		o.Legacy = major < 3
		o.Require = nil
		_, probs := CheckRuleFileWith(name, b, o)
		gateOK := true
		for _, p := range probs {
			gateOK = gateOK && p.Warn
		}
		toolOK, out := promtoolAccepts(t, bin, f, b)
		switch {
		case strings.HasPrefix(name, "eval-") || strings.HasPrefix(name, "lint-") || strings.HasPrefix(name, "pkg-"):
			if !toolOK {
				t.Errorf("%s: promtool refuses it: %s", f, out)
			}
		case gateOK != toolOK:
			t.Errorf("%s: the gate says ok=%v (%v), promtool %d.x ok=%v: %s", f, gateOK, probs, major, toolOK, out)
		}
	}
}
