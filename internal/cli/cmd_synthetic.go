package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/maestro-conductor/releasegate/internal/fsx"
	"github.com/maestro-conductor/releasegate/internal/gate"
	"github.com/maestro-conductor/releasegate/internal/gates/synthetic"
	"github.com/maestro-conductor/releasegate/internal/policy"
)

const syntheticUsage = `Usage: releasegate synthetic [--policy FILE] [--gate ID,…] [--shard I/N] [--prom FILE] [--summary FILE] [--format F] [--out DIR]
       releasegate synthetic merge [--prom FILE] [--summary FILE] [--format F] [--out DIR] RESULT.json…

Runs the policy's gates of kind synthetic: open-model, per-tenant load
against the target, judged per tenant. With --shard I/N only the I-th of N
deterministic parts of the tenants run here (for a GitHub Actions matrix);
the spiking or heavy tenant of a scenario runs in every shard with an exact
1/N share of its schedule. Write each shard's results with --out, then
combine them with "synthetic merge", which merges the histograms and
counts exactly (percentiles are never averaged) and judges the whole run.
The shards may also be reports of "run --only GROUP" with
RELEASEGATE_SYNTHETIC_SHARD set (the release workflow's matrix): the
group's other gates, run in every shard, are kept once each, the most
severe result when the shards disagree; shards that judged no gate merge
to the same skip.

--prom writes the run in the Prometheus text exposition format; --summary
writes a per-tenant table and a latency chart (Markdown with Mermaid). In
GitHub Actions the table and chart are also appended to the step summary.

Exit codes: 0 passed · 1 a check failed · 2 bad input · 3 could not
evaluate (target unreachable, TLS failure, rate not reached).

Examples:
  releasegate synthetic --policy release-policy.yml --shard 1/2 --out shard-1
  releasegate synthetic merge --summary synthetic.md shard-1/*.json shard-2/*.json
`

func syntheticCmd(ctx context.Context, o *IO, args []string) int {
	if len(args) > 0 && args[0] == "merge" {
		return syntheticMerge(ctx, o, args[1:])
	}
	c, _ := lookup("synthetic")
	fs := o.NewFlagSet(c)
	var (
		out                    OutputOptions
		policyPath, ids, shard string
		promPath, summaryPath  string
		push                   string
	)
	fs.StringVar(&policyPath, "policy", policy.DefaultPath, "policy file")
	fs.StringVar(&ids, "gate", "", "comma-separated ids of synthetic gates to run (default: every synthetic gate)")
	fs.StringVar(&shard, "shard", "", "run only shard I of N of the tenants, e.g. 1/2 (default: all; also "+synthetic.ShardEnv+")")
	fs.StringVar(&promPath, "prom", "", "write the run in the Prometheus text exposition format to this file")
	fs.StringVar(&summaryPath, "summary", "", "write a per-tenant table and latency chart (Markdown) to this file")
	fs.StringVar(&push, "push", "", "also push the run to this Prometheus Pushgateway (base URL); a failed push is reported, never changes the verdict")
	addOutputFlags(fs, &out)
	if code, ok := Parse(fs, args); !ok {
		return code
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(o.Stderr, "releasegate synthetic: unexpected arguments %q; did you mean \"synthetic merge FILE…\"?\n", fs.Args())
		return ExitBadInput
	}
	if err := out.validate(); err != nil {
		fmt.Fprintf(o.Stderr, "releasegate: %v\n", err)
		return ExitBadInput
	}
	if shard == "" {
		shard = o.Getenv(synthetic.ShardEnv)
	}
	if _, err := synthetic.ParseShard(shard); err != nil {
		fmt.Fprintf(o.Stderr, "releasegate synthetic: --shard: %v\n", err)
		return ExitBadInput
	}
	p, code := o.loadPolicy(policyPath)
	if p == nil {
		return code
	}
	o.Redact(p.Secrets)
	var gates []policy.Gate
	want := splitList(ids)
	for _, g := range p.Gates {
		if g.Kind == synthetic.Kind && (len(want) == 0 || slices.Contains(want, g.ID)) {
			gates = append(gates, g)
		}
	}
	for _, id := range want {
		if !slices.ContainsFunc(gates, func(g policy.Gate) bool { return g.ID == id }) {
			fmt.Fprintf(o.Stderr, "releasegate synthetic: --gate %s: no gate of kind synthetic with that id in %s\n", id, p.File)
			return ExitBadInput
		}
	}
	if len(gates) == 0 {
		fmt.Fprintf(o.Stderr, "releasegate synthetic: %s has no gate of kind synthetic; add one (see docs/synthetic.md)\n", p.File)
		return ExitBadInput
	}
	sharded := *o
	getenv := o.Getenv
	sharded.Getenv = func(k string) string {
		if k == synthetic.ShardEnv {
			return shard
		}
		return getenv(k)
	}
	plan, code := buildPlan(&sharded, p, gates)
	if plan == nil {
		return code
	}
	if code := out.prepare(o); code != ExitOK { // results must be writable before any gate runs
		return code
	}
	if code := prepareSyntheticFiles(o, promPath, summaryPath); code != ExitOK {
		return code
	}
	runner := &gate.Runner{Progress: progress(o)}
	results, err := o.redactResults(runner.Run(ctx, plan))
	if err != nil {
		fmt.Fprintf(o.Stderr, "releasegate synthetic: %v; nothing was written\n", err)
		return ExitError
	}
	if code := writeSyntheticFiles(o, results, promPath, summaryPath); code != ExitOK {
		return code
	}
	if push != "" {
		pushRun(ctx, o, push, results)
	}
	out.Policy = gate.Input{Name: p.File, Digest: p.Digest}
	return Emit(ctx, o, out, results)
}

func splitList(s string) []string {
	var out []string
	for _, x := range strings.Split(s, ",") {
		if x = strings.TrimSpace(x); x != "" {
			out = append(out, x)
		}
	}
	return out
}

// syntheticMerge combines shard results, grouped by gate id.
func syntheticMerge(ctx context.Context, o *IO, args []string) int {
	c := Command{Name: "synthetic merge", Usage: syntheticUsage}
	fs := o.NewFlagSet(c)
	var out OutputOptions
	var promPath, summaryPath, push string
	fs.StringVar(&promPath, "prom", "", "write the merged run in the Prometheus text exposition format to this file")
	fs.StringVar(&summaryPath, "summary", "", "write a per-tenant table and latency chart (Markdown) to this file")
	fs.StringVar(&push, "push", "", "also push the merged run to this Prometheus Pushgateway (base URL)")
	addOutputFlags(fs, &out)
	if code, ok := Parse(fs, args); !ok {
		return code
	}
	if fs.NArg() == 0 {
		fmt.Fprintln(o.Stderr, "releasegate synthetic merge: no result files; give the JSON results of every shard (written with --out)")
		return ExitBadInput
	}
	groups := map[string][]gate.Result{} // synthetic results by gate, one per shard
	others := map[string]gate.Result{}   // every other gate: the same run in each shard
	var order []string
	for _, path := range fs.Args() {
		rs, pol, err := readResults(path)
		if err != nil {
			fmt.Fprintf(o.Stderr, "releasegate synthetic merge: %s: %v\n", path, err)
			return ExitBadInput
		}
		// The merged report names the policy its shards' reports name, so
		// that evidence accepts it beside the other groups' reports.
		if pol.Digest != "" {
			if out.Policy.Digest != "" && out.Policy.Digest != pol.Digest {
				fmt.Fprintf(o.Stderr, "releasegate synthetic merge: %s: report of policy %s, expected %s like the files before it; merge the shards of one policy run\n", path, pol.Digest, out.Policy.Digest)
				return ExitBadInput
			}
			out.Policy = pol
		}
		for _, r := range rs {
			_, seen := groups[r.Gate]
			if prev, ok := others[r.Gate]; ok {
				seen = true
				if r.Kind != synthetic.Kind && r.Status.Worse(prev.Status) {
					others[r.Gate] = r
				}
			}
			if !seen {
				order = append(order, r.Gate)
			}
			if r.Kind == synthetic.Kind {
				groups[r.Gate] = append(groups[r.Gate], r)
			} else if !seen {
				// A shard's report from run --only GROUP holds the group's
				// other gates too, run once per shard: keep one result per
				// gate, the most severe when the shards disagree.
				others[r.Gate] = r
			}
		}
	}
	if len(order) == 0 {
		if out.Policy.Digest != "" {
			// The shards' policy has no gate in the group they ran: the
			// merge of nothing is the same skip report.
			o.Logf("releasegate synthetic merge: the shards judged no gate; nothing to judge (skip)")
			return EmitReport(ctx, o, out, &gate.Report{Schema: gate.SchemaVersion, Status: gate.StatusSkip, Policy: out.Policy,
				Tool: "releasegate " + ToolVersion(), Results: []gate.Result{}})
		}
		fmt.Fprintln(o.Stderr, "releasegate synthetic merge: no gate results in the given files")
		return ExitBadInput
	}
	if code := out.prepare(o); code != ExitOK { // results must be writable before any gate runs
		return code
	}
	if code := prepareSyntheticFiles(o, promPath, summaryPath); code != ExitOK {
		return code
	}
	var merged []gate.Result
	for _, id := range order {
		if _, ok := groups[id]; !ok {
			merged = append(merged, others[id])
			continue
		}
		m, err := synthetic.Merge(dedupe(groups[id]))
		if err != nil {
			fmt.Fprintf(o.Stderr, "releasegate synthetic merge: gate %s: %v\n", id, err)
			return ExitBadInput
		}
		merged = append(merged, *m)
	}
	merged, err := o.redactResults(merged)
	if err != nil {
		fmt.Fprintf(o.Stderr, "releasegate synthetic merge: %v; nothing was written\n", err)
		return ExitError
	}
	if code := writeSyntheticFiles(o, merged, promPath, summaryPath); code != ExitOK {
		return code
	}
	if push != "" {
		pushRun(ctx, o, push, merged)
	}
	return Emit(ctx, o, out, merged)
}

// dedupe drops a result that appears twice byte for byte, as when both a
// shard's <gate>.json and its report.json are given.
func dedupe(rs []gate.Result) []gate.Result {
	var out []gate.Result
	seen := map[string]bool{}
	for _, r := range rs {
		b, _ := json.Marshal(r)
		if !seen[string(b)] {
			seen[string(b)] = true
			out = append(out, r)
		}
	}
	return out
}

// readResults reads a Result file or a report with results, and the
// report's policy (empty for a Result file).
func readResults(path string) ([]gate.Result, gate.Input, error) {
	b, err := fsx.ReadFile(context.Background(), path, fsx.MaxDocSize)
	if err != nil {
		return nil, gate.Input{}, err
	}
	var probe struct {
		Results json.RawMessage `json:"results"`
		Gate    string          `json:"gate"`
		Policy  gate.Input      `json:"policy"`
	}
	if err := json.Unmarshal(b, &probe); err != nil {
		return nil, gate.Input{}, fmt.Errorf("not a JSON result: %w", err)
	}
	dec := func(data []byte, v any) error {
		d := json.NewDecoder(bytes.NewReader(data))
		return d.Decode(v)
	}
	switch {
	case len(probe.Results) > 0:
		var rs []gate.Result
		if err := dec(probe.Results, &rs); err != nil {
			return nil, gate.Input{}, fmt.Errorf("results: %w", err)
		}
		return rs, probe.Policy, nil
	case probe.Gate != "":
		var r gate.Result
		if err := dec(b, &r); err != nil {
			return nil, gate.Input{}, err
		}
		return []gate.Result{r}, gate.Input{}, nil
	}
	return nil, gate.Input{}, errors.New("expected a gate result (with \"gate\") or a report (with \"results\")")
}

// writeSyntheticFiles writes the Prometheus file and the Markdown summary
// of every synthetic result that has a run, and appends the summary to
// the GitHub Actions step summary when there is one.
func writeSyntheticFiles(o *IO, results []gate.Result, promPath, summaryPath string) int {
	var prom, md bytes.Buffer
	for i := range results {
		r := &results[i]
		if _, err := synthetic.RecordOf(r); err != nil {
			continue // errored before running: nothing to draw
		}
		if err := synthetic.WritePrometheus(&prom, r); err != nil {
			fmt.Fprintf(o.Stderr, "releasegate synthetic: %v\n", err)
			return ExitError
		}
		if err := synthetic.WriteMarkdown(&md, r); err != nil {
			fmt.Fprintf(o.Stderr, "releasegate synthetic: %v\n", err)
			return ExitError
		}
	}
	for _, f := range []struct {
		path string
		data []byte
	}{{promPath, prom.Bytes()}, {summaryPath, md.Bytes()}} {
		if f.path == "" {
			continue
		}
		if err := os.WriteFile(f.path, f.data, 0o644); err != nil {
			fmt.Fprintf(o.Stderr, "releasegate synthetic: %v\n", err)
			return ExitBadInput
		}
	}
	if p := o.Getenv("GITHUB_STEP_SUMMARY"); p != "" && md.Len() > 0 {
		f, err := os.OpenFile(p, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err == nil {
			_, err = io.Copy(f, &md)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
		}
		if err != nil {
			fmt.Fprintf(o.Stderr, "releasegate synthetic: step summary: %v\n", err)
		}
	}
	return ExitOK
}

// pushRun PUTs each synthetic result's exposition to a Pushgateway under
// job "releasegate_synthetic" and the gate's id. A failure is logged: the
// push is a copy of the run, not part of the verdict.
func pushRun(ctx context.Context, o *IO, base string, results []gate.Result) {
	for i := range results {
		r := &results[i]
		var buf bytes.Buffer
		if err := synthetic.WritePrometheus(&buf, r); err != nil {
			continue // nothing ran
		}
		u := strings.TrimRight(base, "/") + "/metrics/job/releasegate_synthetic/gate/" + url.PathEscape(r.Gate)
		req, err := http.NewRequestWithContext(ctx, http.MethodPut, u, &buf)
		if err != nil {
			fmt.Fprintf(o.Stderr, "releasegate synthetic: --push %s: %v\n", base, err)
			return
		}
		req.Header.Set("Content-Type", "text/plain; version=0.0.4")
		resp, err := o.httpClient(30 * time.Second).Do(req)
		if err != nil {
			fmt.Fprintf(o.Stderr, "releasegate synthetic: push to the Pushgateway failed: %v; the results above are unaffected\n", err)
			continue
		}
		resp.Body.Close()
		if resp.StatusCode/100 != 2 {
			fmt.Fprintf(o.Stderr, "releasegate synthetic: the Pushgateway answered %d to %s; expected 2xx\n", resp.StatusCode, u)
		}
	}
}
