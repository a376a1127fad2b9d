package slogate

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/maestro-conductor/releasegate/internal/policy"
	"github.com/maestro-conductor/releasegate/internal/slo"
)

// The rule evaluation cost of issue 15: the rules releasegate generates
// for the SLOs of testdata/slo/rulecost/policy.yml beside Sloth's rules for
// the same SLOs (sloth.yml), each rule's expression timed as an instant
// query against a Prometheus holding 31 days of history
// (scripts/bench/slo-rules-prometheus.sh).

var ruleCostDir = filepath.Join(sloTestdata, "rulecost")

// ruleCostModels are the SLOs of the benchmark policy.
func ruleCostModels(t testing.TB) []slo.SLO {
	t.Helper()
	path := filepath.Join(ruleCostDir, "policy.yml")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	p, err := policy.Parse(path, b, policy.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var models []slo.SLO
	for _, g := range p.Gates {
		if spec, ok := g.Spec.(*SLOSpec); ok {
			models = append(models, spec.Models()...)
		}
	}
	return models
}

// TestRuleCostGolden checks that releasegate-rules.yml is what `releasegate
// slo rules` gives for the benchmark policy (-update rewrites it), that
// promtool accepts it and Sloth's rules, and that the SLOs of the policy
// are those of the Sloth spec: the two rule files compare like with like.
func TestRuleCostGolden(t *testing.T) {
	t.Parallel()
	models := ruleCostModels(t)
	got, err := slo.Rules(models).YAML()
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join(ruleCostDir, "releasegate-rules.yml")
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update)", err)
	}
	if string(got) != string(want) {
		t.Errorf("%s is not what slo rules generates for policy.yml: run go test ./internal/gates/slo -run RuleCostGolden -update", golden)
	}

	spec, errs := ParseSlothSpec("sloth.yml", mustRead(t, filepath.Join(ruleCostDir, "sloth.yml")))
	if len(errs) > 0 || spec == nil {
		t.Fatalf("sloth.yml: %v", errs)
	}
	byName := map[string]slo.SLO{}
	for _, m := range models {
		byName[m.Name] = m
	}
	sloth := readRuleFile(t, filepath.Join(ruleCostDir, "sloth-rules.yml"))
	for _, o := range spec.SLOs {
		m, ok := byName[o.Name]
		if !ok {
			t.Errorf("sloth.yml's SLO %q is not in policy.yml", o.Name)
			continue
		}
		if sm := o.model(); sm.Bad != m.Bad || sm.Total != m.Total || sm.Objective != m.Objective || sm.Period != m.Period {
			t.Errorf("SLO %q differs: sloth.yml %+v, policy.yml %+v", o.Name, sm, m)
		}
		// Sloth's 5m recording rule is the spec's queries at 5m
		want5m := "(" + strings.ReplaceAll(o.Bad, slo.WindowPlaceholder, "5m") + ")\n/\n(" + strings.ReplaceAll(o.Total, slo.WindowPlaceholder, "5m") + ")\n"
		found := false
		for _, g := range sloth.Groups {
			for _, r := range g.Rules {
				if g.Name == "sloth-slo-sli-recordings-bench-"+o.Name && r.Record == slo.RecordName(slo.MinWindow) {
					found = r.Expr == want5m
				}
			}
		}
		if !found {
			t.Errorf("sloth-rules.yml has no 5m rule %q for SLO %q", want5m, o.Name)
		}
	}

	if bin, err := exec.LookPath("promtool"); err == nil {
		for _, f := range []string{"releasegate-rules.yml", "sloth-rules.yml"} {
			if out, err := exec.Command(bin, "check", "rules", filepath.Join(ruleCostDir, f)).CombinedOutput(); err != nil {
				t.Errorf("promtool check rules %s: %v\n%s", f, err, out)
			}
		}
	}
}

func mustRead(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func readRuleFile(t testing.TB, path string) slo.RuleFile {
	t.Helper()
	var f slo.RuleFile
	if err := yaml.Unmarshal(mustRead(t, path), &f); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return f
}

// queryStats is one instant query's cost as Prometheus reports it
// (stats=all): its evaluation time and the samples it read.
type queryStats struct {
	eval, wall time.Duration
	samples    int64
	series     int
}

func queryWithStats(ctx context.Context, base, q string, at time.Time) (queryStats, error) {
	v := url.Values{"query": {q}, "time": {strconv.FormatInt(at.Unix(), 10)}, "stats": {"all"}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/api/v1/query", strings.NewReader(v.Encode()))
	if err != nil {
		return queryStats{}, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	t0 := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return queryStats{}, err
	}
	defer resp.Body.Close()
	var body struct {
		Status, Error string
		Data          struct {
			Result []json.RawMessage
			Stats  struct {
				Timings struct {
					EvalTotalTime float64 `json:"evalTotalTime"`
				}
				Samples struct {
					TotalQueryableSamples int64 `json:"totalQueryableSamples"`
				}
			}
		}
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return queryStats{}, fmt.Errorf("query %s: %w", q, err)
	}
	if body.Status != "success" {
		return queryStats{}, fmt.Errorf("query %s: %s", q, body.Error)
	}
	return queryStats{
		eval:    time.Duration(body.Data.Stats.Timings.EvalTotalTime * float64(time.Second)),
		wall:    time.Since(t0),
		samples: body.Data.Stats.Samples.TotalQueryableSamples,
		series:  len(body.Data.Result),
	}, nil
}

// costRow is one measured rule or group: its evaluation times over the
// repetitions, the samples read and the series returned by one evaluation.
type costRow struct {
	file, group, rule string
	evals             []time.Duration
	samples           int64
	series            int
}

func quantile(ds []time.Duration, q float64) float64 {
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(q*float64(len(s)-1) + 0.5)
	return float64(s[i].Microseconds()) / 1000
}

// BenchmarkSLORuleCost evaluates, in each iteration, every rule of
// releasegate-rules.yml and sloth-rules.yml in order, group by group, as an
// instant query at the data's end (2026-11-28T00:00:00Z), as Prometheus's
// rule manager would. It logs a table with, per rule group and per
// long-window rule (1d and longer), the median and p90 over the iterations
// of the evaluation time Prometheus reports (stats=all evalTotalTime, summed
// over the group's rules in each iteration) and the samples read. One
// untimed pass warms the caches first.
//
//	eval "$(scripts/bench/slo-rules-prometheus.sh)"
//	go test ./internal/gates/slo -run '^$' -bench SLORuleCost -benchtime 9x
func BenchmarkSLORuleCost(b *testing.B) {
	base := os.Getenv("RELEASEGATE_BENCH_RULES_PROMETHEUS")
	if base == "" {
		b.Skip("RELEASEGATE_BENCH_RULES_PROMETHEUS is not set: eval \"$(scripts/bench/slo-rules-prometheus.sh)\"")
	}
	at := time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC)
	ctx := context.Background()
	files := []string{"releasegate-rules.yml", "sloth-rules.yml"}
	var groups, rules []*costRow
	type ref struct {
		group, rule *costRow
		expr        string
	}
	var plan []ref
	for _, f := range files {
		rf := readRuleFile(b, filepath.Join(ruleCostDir, f))
		for _, g := range rf.Groups {
			gr := &costRow{file: f, group: g.Name}
			groups = append(groups, gr)
			for _, r := range g.Rules {
				name := r.Record
				if name == "" {
					name = "alert " + r.Alert
					if w := r.Labels["window"]; w != "" {
						name += " " + w
					} else if s := r.Labels["sloth_severity"]; s != "" {
						name += " " + s
					}
				}
				rr := &costRow{file: f, group: g.Name, rule: name}
				rules = append(rules, rr)
				plan = append(plan, ref{gr, rr, r.Expr})
			}
		}
	}
	run := func(record bool) {
		sums := map[*costRow]time.Duration{}
		for _, p := range plan {
			st, err := queryWithStats(ctx, base, p.expr, at)
			if err != nil {
				b.Fatal(err)
			}
			sums[p.group] += st.eval
			if !record {
				p.group.samples += st.samples
				p.rule.samples, p.rule.series = st.samples, st.series
				continue
			}
			p.rule.evals = append(p.rule.evals, st.eval)
		}
		if record {
			for g, d := range sums {
				g.evals = append(g.evals, d)
			}
		}
	}
	b.Logf("load average before: %s", loadavg())
	run(false)
	for b.Loop() {
		run(true)
	}
	b.Logf("load average after: %s", loadavg())
	b.ReportMetric(0, "ns/op")
	var tab strings.Builder
	fmt.Fprintf(&tab, "\n| file | group | rule | median ms | p90 ms | samples read | series |\n|---|---|---|---|---|---|---|\n")
	for _, g := range groups {
		fmt.Fprintf(&tab, "| %s | %s | **all %d rules** | %.1f | %.1f | %d | |\n", g.file, g.group, countRules(rules, g), quantile(g.evals, 0.5), quantile(g.evals, 0.9), g.samples)
		for _, r := range rules {
			if r.group == g.group && r.file == g.file && longWindow(r.rule) {
				fmt.Fprintf(&tab, "| %s | %s | %s | %.1f | %.1f | %d | %d |\n", r.file, r.group, r.rule, quantile(r.evals, 0.5), quantile(r.evals, 0.9), r.samples, r.series)
			}
		}
	}
	b.Log(tab.String())
	for _, g := range groups {
		b.ReportMetric(quantile(g.evals, 0.5), strings.TrimSuffix(g.file, "-rules.yml")+":"+g.group+"-ms")
	}
}

func countRules(rules []*costRow, g *costRow) int {
	n := 0
	for _, r := range rules {
		if r.group == g.group && r.file == g.file {
			n++
		}
	}
	return n
}

// longWindow reports whether a rule records a ratio over 1d or longer.
func longWindow(rule string) bool {
	w, ok := strings.CutPrefix(rule, slo.RecordPrefix)
	return ok && strings.HasSuffix(w, "d")
}
