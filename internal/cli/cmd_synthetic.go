package cli

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/maestro-conductor/releasegate/internal/gate"
	"github.com/maestro-conductor/releasegate/internal/gates/synthetic"
	"github.com/maestro-conductor/releasegate/internal/policy"
	"github.com/maestro-conductor/releasegate/internal/release"
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
	gates, err := release.Choose(p, release.Choice{IDs: splitList(ids), Kinds: []string{synthetic.Kind}, Doc: "docs/synthetic.md"})
	if err != nil {
		fmt.Fprintf(o.Stderr, "releasegate synthetic: %v\n", err)
		return ExitBadInput
	}
	opts := o.evaluateOptions(out, false)
	opts.Gates = gates
	getenv := opts.Env.Getenv
	opts.Env.Getenv = func(k string) string {
		if k == synthetic.ShardEnv {
			return shard
		}
		return getenv(k)
	}
	ready := opts.Ready
	opts.Ready = func(n int) error {
		if err := ready(n); err != nil {
			return err
		}
		return checkSyntheticFiles(promPath, summaryPath)
	}
	rep, err := release.Evaluate(ctx, p, opts)
	if err != nil {
		fmt.Fprintf(o.Stderr, "releasegate synthetic: %v\n", err)
		return ExitFor(err)
	}
	results, err := o.redactResults(rep.Results)
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
	rep.Results = results
	return EmitReport(ctx, o, out, rep)
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
	shards := make([]release.Shard, 0, fs.NArg())
	for _, path := range fs.Args() {
		sh, err := release.ReadShard(ctx, path)
		if err != nil {
			fmt.Fprintf(o.Stderr, "releasegate synthetic merge: %v\n", err)
			return ExitBadInput
		}
		shards = append(shards, sh)
	}
	rep, err := release.MergeShards(shards, "releasegate "+ToolVersion())
	if err != nil {
		fmt.Fprintf(o.Stderr, "releasegate synthetic merge: %v\n", err)
		return ExitBadInput
	}
	if len(rep.Results) == 0 {
		// The shards' policy has no gate in the group they ran: the
		// merge of nothing is the same skip report.
		o.Logf("releasegate synthetic merge: the shards judged no gate; nothing to judge (skip)")
		return EmitReport(ctx, o, out, rep)
	}
	if code := out.prepare(o); code != ExitOK { // results must be writable before any gate runs
		return code
	}
	if code := prepareSyntheticFiles(o, promPath, summaryPath); code != ExitOK {
		return code
	}
	merged, err := o.redactResults(rep.Results)
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
	rep.Results = merged
	return EmitReport(ctx, o, out, rep)
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
