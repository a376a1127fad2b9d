package cli

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/maestro-conductor/releasegate/internal/demo"
	"github.com/maestro-conductor/releasegate/internal/gate"
	"github.com/maestro-conductor/releasegate/internal/gates/synthetic"
)

func syntheticPolicy(target string) string {
	return `version: 1
gates:
  - id: tenants-slo
    kind: synthetic
    with:
      target: ` + target + `
      tenants: [acme, globex, initech]
      rate: 60
      duration: 1s
      late-tolerance: 1s
      loopback-only: true
      thresholds: {error-rate: "< 0.05", latency-objective: 2s, p95-ms: "<= 2000"} # about shards, not a busy machine's latency
      probe:
        path: /t/{tenant}/items
`
}

func readResult(t *testing.T, path string) *gate.Result {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var r gate.Result
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	return &r
}

// TestSyntheticShardsMergeToTheWholeRun runs the gate whole and as two
// shards through the CLI, merges the shard files, and compares counts.
func TestSyntheticShardsMergeToTheWholeRun(t *testing.T) {
	t.Parallel()
	srv, err := demo.Start(context.Background(), "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	pol := writePolicy(t, syntheticPolicy(srv.URL()))
	dir := t.TempDir()
	for _, sh := range []string{"", "1/2", "2/2"} {
		out := filepath.Join(dir, "whole")
		if sh != "" {
			out = filepath.Join(dir, "shard"+sh[:1])
		}
		r := runCLI(t, nil, "synthetic", "--policy", pol, "--shard", sh, "--out", out, "--checks", "never")
		if r.code != ExitOK {
			t.Fatalf("shard %q: exit %d\n%s\n%s", sh, r.code, r.stdout, r.stderr)
		}
	}
	var pushed []string
	gw := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		pushed = append(pushed, r.Method+" "+r.URL.Path+" "+string(b))
	}))
	defer gw.Close()
	prom, md := filepath.Join(dir, "run.prom"), filepath.Join(dir, "summary.md")
	r := runCLI(t, nil, "synthetic", "merge", "--push", gw.URL, "--prom", prom, "--summary", md, "--out", filepath.Join(dir, "merged"), "--checks", "never",
		filepath.Join(dir, "shard1", "tenants-slo.json"), filepath.Join(dir, "shard2", "report.json"))
	if r.code != ExitOK {
		t.Fatalf("merge: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	// The merged report names the shards' policy, as evidence create
	// requires of every report in one results directory.
	var shardRep, mergedRep gate.Report
	for path, rep := range map[string]*gate.Report{"shard2": &shardRep, "merged": &mergedRep} {
		b, err := os.ReadFile(filepath.Join(dir, path, "report.json"))
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, rep); err != nil {
			t.Fatal(err)
		}
	}
	if shardRep.Policy.Digest == "" || mergedRep.Policy != shardRep.Policy {
		t.Errorf("merged report: expected the shards' policy %+v, found %+v", shardRep.Policy, mergedRep.Policy)
	}
	// Shards of different policy runs do not merge.
	other := shardRep
	other.Policy.Digest = "sha256:" + strings.Repeat("0", 64)
	b, err := json.Marshal(other)
	if err != nil {
		t.Fatal(err)
	}
	otherPath := filepath.Join(dir, "other-report.json")
	if err := os.WriteFile(otherPath, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if r := runCLI(t, nil, "synthetic", "merge", "--checks", "never", filepath.Join(dir, "shard1", "report.json"), otherPath); r.code != ExitBadInput || !strings.Contains(r.stderr, "merge the shards of one policy run") {
		t.Errorf("merge of two policies' shards: expected exit %d saying so, found %d\n%s", ExitBadInput, r.code, r.stderr)
	}
	whole, _ := syntheticgate.RecordOf(readResult(t, filepath.Join(dir, "whole", "tenants-slo.json")))
	merged, _ := syntheticgate.RecordOf(readResult(t, filepath.Join(dir, "merged", "tenants-slo.json")))
	wt, mt := whole.Run.Totals(), merged.Run.Totals()
	if wt.Planned != mt.Planned || wt.Sent != mt.Sent || wt.Responses != mt.Responses || wt.Latency.Count() != mt.Latency.Count() || mt.Sent != 180 {
		t.Errorf("merged planned/sent/responses %d/%d/%d, whole %d/%d/%d, want 180 each (60 per tenant)", mt.Planned, mt.Sent, mt.Responses, wt.Planned, wt.Sent, wt.Responses)
	}
	pb, _ := os.ReadFile(prom)
	if !strings.Contains(string(pb), `releasegate_synthetic_requests_total{gate="tenants-slo",tenant="acme",scenario="slo",outcome="sent"} 60`) {
		t.Errorf("prometheus file lacks acme's sent counter:\n%s", pb)
	}
	if len(pushed) != 1 || !strings.HasPrefix(pushed[0], "PUT /metrics/job/releasegate_synthetic/gate/tenants-slo ") || !strings.Contains(pushed[0], string(pb)) {
		t.Errorf("pushed %d bodies, want the exposition once under the gate's group: %.200q", len(pushed), pushed)
	}
	mb, _ := os.ReadFile(md)
	if !strings.Contains(string(mb), "| acme | slo | 60 |") || !strings.Contains(string(mb), "xychart-beta") {
		t.Errorf("summary lacks the table row or chart:\n%s", mb)
	}
}

func TestSyntheticBadInput(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + l.Addr().String()
	l.Close()
	pol := writePolicy(t, syntheticPolicy(dead))
	for _, tc := range []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"an unreachable target cannot be evaluated", []string{"synthetic", "--policy", pol, "--checks", "never"}, ExitError, "nothing listens there"},
		{"a malformed shard", []string{"synthetic", "--policy", pol, "--shard", "3/2"}, ExitBadInput, "1 ≤ i ≤ n"},
		{"an unknown gate id", []string{"synthetic", "--policy", pol, "--gate", "nope"}, ExitBadInput, "no gate of kind synthetic"},
		{"a DNS target under loopback-only", []string{"synthetic", "--policy", writePolicy(t, syntheticPolicy("http://example.com"))}, ExitBadInput, "not a loopback address"},
		{"merge without files", []string{"synthetic", "merge"}, ExitBadInput, "no result files"},
		{"merge of a file that is not a result", []string{"synthetic", "merge", pol}, ExitBadInput, "not a JSON result"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := runCLI(t, nil, tc.args...)
			if r.code != tc.code || !strings.Contains(r.stdout+r.stderr, tc.msg) {
				t.Fatalf("exit %d, want %d with %q\nstdout: %s\nstderr: %s", r.code, tc.code, tc.msg, r.stdout, r.stderr)
			}
		})
	}
}

// TestSyntheticMergeOfRunShards merges the reports of `run --only abuse`
// shards, as the release workflow's matrix makes them: the synthetic gate
// is merged, the group's other gate (run in every shard) is kept once, and
// shards of a group without gates merge to a skip.
func TestSyntheticMergeOfRunShards(t *testing.T) {
	t.Parallel()
	srv, err := demo.Start(context.Background(), "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	pol := writePolicy(t, `version: 1
gates:
  - id: tenants-slo
    kind: synthetic
    group: abuse
    with:
      target: `+srv.URL()+`
      tenants: [acme, globex, initech]
      rate: 60
      duration: 1s
      late-tolerance: 1s
      loopback-only: true
      thresholds: {error-rate: "< 0.05", latency-objective: 2s, p95-ms: "<= 2000"} # about shards, not a busy machine's latency
      probe:
        path: /t/{tenant}/items
  - id: health
    kind: http
    group: abuse
    with:
      url: `+srv.URL()+`/health
  - id: version
    kind: command
    with:
      run: ["true"]
`)
	dir := t.TempDir()
	var reports, skips []string
	for _, sh := range []string{"1/2", "2/2"} {
		out := filepath.Join(dir, "shard"+sh[:1])
		env := map[string]string{syntheticgate.ShardEnv: sh}
		if r := runCLI(t, env, "run", "--policy", pol, "--only", "abuse", "--out", out, "--checks", "never"); r.code != ExitOK {
			t.Fatalf("shard %s: exit %d\n%s\n%s", sh, r.code, r.stdout, r.stderr)
		}
		reports = append(reports, filepath.Join(out, "report.json"))
		skip := filepath.Join(dir, "skip"+sh[:1])
		if r := runCLI(t, env, "run", "--policy", pol, "--only", "cost", "--out", skip, "--checks", "never"); r.code != ExitOK {
			t.Fatalf("shard %s of an empty group: exit %d\n%s\n%s", sh, r.code, r.stdout, r.stderr)
		}
		skips = append(skips, filepath.Join(skip, "report.json"))
	}
	merged := filepath.Join(dir, "merged")
	if r := runCLI(t, nil, append([]string{"synthetic", "merge", "--out", merged, "--checks", "never"}, reports...)...); r.code != ExitOK {
		t.Fatalf("merge: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	var rep gate.Report
	b, err := os.ReadFile(filepath.Join(merged, "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	var gates []string
	for _, r := range rep.Results {
		gates = append(gates, r.Gate+"="+string(r.Status))
	}
	if strings.Join(gates, ",") != "tenants-slo=pass,health=pass" || rep.Status != gate.StatusPass {
		t.Errorf("merged report: expected tenants-slo and health passed once each, found %v (status %s)", gates, rep.Status)
	}
	if rec, err := syntheticgate.RecordOf(&rep.Results[0]); err != nil || rec.Run.Totals().Sent != 180 {
		t.Errorf("merged tenants-slo: expected the 180 requests of both shards, found %v", err)
	}
	r := runCLI(t, nil, append([]string{"synthetic", "merge", "--format", "json", "--checks", "never"}, skips...)...)
	if r.code != ExitOK || !strings.Contains(r.stdout, `"status": "skip"`) {
		t.Errorf("merge of shards that judged no gate: expected a skip report, found exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
}
