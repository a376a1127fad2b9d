package cli

import (
	"bytes"
	"context"
	"flag"
	"fmt"
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
  releasegate synthetic merge --summary syntheticgate.md shard-1/*.json shard-2/*.json
`

// syntheticFlags are the flags synthetic and synthetic merge share.
type syntheticFlags struct {
	out                         OutputOptions
	promPath, summaryPath, push string
}

func (f *syntheticFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.promPath, "prom", "", "write the run in the Prometheus text exposition format to this file")
	fs.StringVar(&f.summaryPath, "summary", "", "write a per-tenant table and latency chart (Markdown) to this file")
	fs.StringVar(&f.push, "push", "", "also push the run to this Prometheus Pushgateway (base URL); a failed push is reported, never changes the verdict")
	addOutputFlags(fs, &f.out)
}

func syntheticCmd(ctx context.Context, o *IO, args []string) error {
	if len(args) > 0 && args[0] == "merge" {
		return syntheticMerge(ctx, o, args[1:])
	}
	c, _ := lookup("synthetic")
	fs := o.NewFlagSet(c)
	var f syntheticFlags
	var policyPath, ids, shard string
	fs.StringVar(&policyPath, "policy", policy.DefaultPath, "policy file")
	fs.StringVar(&ids, "gate", "", "comma-separated ids of synthetic gates to run (default: every synthetic gate)")
	fs.StringVar(&shard, "shard", "", "run only shard I of N of the tenants, e.g. 1/2 (default: all; also "+syntheticgate.ShardEnv+")")
	f.register(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := noArgs(fs, `did you mean "synthetic merge FILE…"?`); err != nil {
		return err
	}
	if err := f.out.validate(); err != nil {
		return asInput(err)
	}
	if shard == "" {
		shard = o.Getenv(syntheticgate.ShardEnv)
	}
	if _, err := syntheticgate.ParseShard(shard); err != nil {
		return inputf("--shard: %w", err)
	}
	p, err := o.openPolicy(policyPath)
	if err != nil {
		return err
	}
	gates, err := release.Choose(p, release.Choice{IDs: splitList(ids), Kinds: []string{syntheticgate.Kind}, Doc: "docs/syntheticgate.md"})
	if err != nil {
		return err
	}
	rep, err := release.Evaluate(ctx, p, f.evaluateOptions(o, gates, shard))
	if err != nil {
		return err
	}
	return f.emit(ctx, o, rep)
}

// evaluateOptions run the chosen gates on one shard, once the results
// and the synthetic files are known to be writable.
func (f *syntheticFlags) evaluateOptions(o *IO, gates []policy.Gate, shard string) release.Options {
	opts := o.evaluateOptions(f.out, false)
	opts.Gates = gates
	getenv := opts.Env.Getenv
	opts.Env.Getenv = func(k string) string {
		if k == syntheticgate.ShardEnv {
			return shard
		}
		return getenv(k)
	}
	ready := opts.Ready
	opts.Ready = func(n int) error {
		if err := ready(n); err != nil {
			return err
		}
		return checkSyntheticFiles(f.promPath, f.summaryPath)
	}
	return opts
}

// emit writes the synthetic files, pushes the run and emits the report,
// every secret masked first.
func (f *syntheticFlags) emit(ctx context.Context, o *IO, rep *gate.Report) error {
	results, err := o.redactResults(rep.Results)
	if err != nil {
		return fmt.Errorf("%w; nothing was written", err)
	}
	if err := writeSyntheticFiles(o, results, f.promPath, f.summaryPath); err != nil {
		return err
	}
	if f.push != "" {
		if err := syntheticgate.Push(ctx, o.httpClient(30*time.Second), f.push, results); err != nil {
			o.Logf("releasegate synthetic: --push: %v; the results are unaffected", err)
		}
	}
	rep.Results = results
	return emitReport(ctx, o, f.out, rep)
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

// syntheticMerge combines shard results (release.MergeShards).
func syntheticMerge(ctx context.Context, o *IO, args []string) error {
	fs := o.NewFlagSet(Command{Name: "synthetic merge", Usage: syntheticUsage})
	var f syntheticFlags
	f.register(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return inputf("no result files; give the JSON results of every shard (written with --out)")
	}
	shards := make([]release.Shard, 0, fs.NArg())
	for _, path := range fs.Args() {
		sh, err := release.ReadShard(ctx, path)
		if err != nil {
			return err
		}
		shards = append(shards, sh)
	}
	rep, err := release.MergeShards(shards, "releasegate "+toolVersion())
	if err != nil {
		return err
	}
	if len(rep.Results) == 0 {
		// The shards' policy has no gate in the group they ran: the
		// merge of nothing is the same skip report.
		o.Logf("releasegate synthetic merge: the shards judged no gate; nothing to judge (skip)")
		return emitReport(ctx, o, f.out, rep)
	}
	if err := f.out.check(o); err != nil { // results must be writable before anything is written
		return err
	}
	if err := checkSyntheticFiles(f.promPath, f.summaryPath); err != nil {
		return err
	}
	return f.emit(ctx, o, rep)
}

// writeSyntheticFiles writes the Prometheus file and the Markdown summary
// of every synthetic result that has a run, and appends the summary to
// the GitHub Actions step summary when there is one.
func writeSyntheticFiles(o *IO, results []gate.Result, promPath, summaryPath string) error {
	var prom, md bytes.Buffer
	for i := range results {
		r := &results[i]
		if _, err := syntheticgate.RecordOf(r); err != nil {
			continue // errored before running: nothing to draw
		}
		if err := syntheticgate.WritePrometheus(&prom, r); err != nil {
			return err
		}
		if err := syntheticgate.WriteMarkdown(&md, r); err != nil {
			return err
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
			return asInput(err)
		}
	}
	if p := o.Getenv("GITHUB_STEP_SUMMARY"); p != "" && md.Len() > 0 {
		if err := appendFile(p, md.String()); err != nil {
			o.Logf("releasegate synthetic: step summary: %v", err)
		}
	}
	return nil
}
