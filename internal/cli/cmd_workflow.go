package cli

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/maestro-conductor/releasegate/internal/actions"
	"github.com/maestro-conductor/releasegate/internal/evidence"
	"github.com/maestro-conductor/releasegate/internal/gate"
	"github.com/maestro-conductor/releasegate/internal/gates/synthetic"
	"github.com/maestro-conductor/releasegate/internal/handover"
	"github.com/maestro-conductor/releasegate/internal/release"
)

const workflowUsage = `Usage:
  releasegate workflow plan --shards N
  releasegate workflow hand-over (--group G [--shard I/N] | --base NAME) DIR
  releasegate workflow receive --artifact NAME [--digest sha256:HEX] [--vsa FILE] DIR
  releasegate workflow receive --into OUT GROUP=[NAME@DIGEST]… ROOT
  releasegate workflow collect --matrix JSON --out DIR ROOT

The steps of the reusable release workflow (.github/workflows/release.yml)
that are not gates: they keep logic out of YAML and shell.

plan writes the matrix of the stage after provenance (slo, infra, jobs, and
the abuse group split into N shards, 1 to 64) to the step output matrix.

hand-over computes the digest of a job's results directory (SHA-256 over
its files' digests and paths) and writes the step outputs artifact
(BASE.sha256-<hex>, the name to upload it under; BASE is
releasegate-result-GROUP, with -I-of-N for a shard) and digest.

receive checks a downloaded artifact against the digest it was handed over
with (a job output) and the digest in its name; a missing, empty or changed
artifact is refused, naming both digests. With --vsa it also writes the
evidence bundle's VSA predicate to FILE and the step outputs
predicate_type, subject_name and subject_digest (for actions/attest). With
--into it checks one artifact per GROUP, downloaded into ROOT/GROUP, and
copies their reports into OUT as GROUP.json (a stage's artifact keeps its
per-group names); a GROUP given without NAME (its job did not run) is
reported and left out, so the evidence records its gates as missing.

collect takes ROOT, one directory per downloaded artifact, checks that
every leg of the matrix uploaded exactly one artifact with the digest in its
name, merges the shards of the sharded group (releasegate synthetic merge:
check runs and the step summary for the merged gates, never per shard), and
writes one report per group into --out, then hands --out over like
hand-over --base releasegate-result-stage.

Exit codes: 0 passed · 1 a collected group failed · 2 bad input (bad shards,
missing, duplicate or changed artifact) · 3 a group could not be evaluated.

Example:
  releasegate workflow plan --shards 8
  releasegate run --only slo --out results && releasegate workflow hand-over --group slo results
  releasegate workflow receive --artifact releasegate-result-slo.sha256-<hex> --digest sha256:<hex> downloaded/
`

// groupsAfterProvenance are the groups of the workflow's middle stage, in
// the order of the matrix; sharded is the one split into shards.
var groupsAfterProvenance = []string{"slo", "abuse", "infra", "jobs"}

const shardedGroup = "abuse"

func workflowCmd(ctx context.Context, o *IO, args []string) error {
	if len(args) == 0 {
		fmt.Fprint(o.Stderr, workflowUsage)
		return exitCode(ExitBadInput)
	}
	sub, rest := args[0], args[1:]
	switch sub {
	case "-h", "--help", "help":
		fmt.Fprint(o.Stdout, workflowUsage)
		return nil
	case "plan":
		return workflowPlan(o, rest)
	case "hand-over":
		return workflowHandOver(o, rest)
	case "receive":
		return workflowReceive(o, rest)
	case "collect":
		return workflowCollect(ctx, o, rest)
	}
	return inputf("unknown subcommand %q; expected plan, hand-over, receive or collect", sub)
}

// setOutputs writes step outputs when running in GitHub Actions and prints
// them as name=value lines either way.
func setOutputs(o *IO, kv ...string) {
	rt := actions.NewRuntime(o.Stdout, o.Getenv)
	for i := 0; i+1 < len(kv); i += 2 {
		if o.Getenv("GITHUB_OUTPUT") != "" {
			rt.SetOutput(kv[i], kv[i+1])
		}
		fmt.Fprintf(o.Stdout, "%s=%s\n", kv[i], kv[i+1])
	}
}

func workflowPlan(o *IO, args []string) error {
	fs := o.NewFlagSet(Command{Name: "workflow plan", Usage: workflowUsage})
	shards := fs.String("shards", "2", "how many shards (runners) the abuse group's synthetic load is split into, 1 to 64")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return inputf("unexpected arguments %q", fs.Args())
	}
	n, err := strconv.Atoi(strings.TrimSpace(*shards))
	if err != nil {
		return inputf("shards %q: expected a whole number from 1 to %d", *shards, handover.MaxShards)
	}
	m, err := handover.Plan(groupsAfterProvenance, shardedGroup, n)
	if err != nil {
		return asInput(err)
	}
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	setOutputs(o, "matrix", string(b), "shards", strconv.Itoa(n))
	return nil
}

func workflowHandOver(o *IO, args []string) error {
	fs := o.NewFlagSet(Command{Name: "workflow hand-over", Usage: workflowUsage})
	base := fs.String("base", "", "base name of the artifact, e.g. releasegate-evidence")
	group := fs.String("group", "", "the group whose results these are (base name releasegate-result-GROUP)")
	shard := fs.String("shard", "", "the shard I/N of the group these results are of")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *group != "" {
		if *shard != "" {
			if _, err := syntheticgate.ParseShard(*shard); err != nil {
				return inputf("--shard: %w", err)
			}
		}
		*base = handover.Leg{Group: *group, Shard: *shard}.Base()
	}
	if fs.NArg() != 1 || *base == "" {
		return inputf("expected --group GROUP or --base NAME, and one results directory")
	}
	return handOver(o, *base, fs.Arg(0))
}

// handOver digests dir and writes the artifact and digest outputs. A
// directory without results means the gate step reported nothing: the job
// cannot hand anything over, which is an error, never a pass.
func handOver(o *IO, base, dir string) error {
	digest, err := handover.DigestDir(dir)
	if err != nil {
		return fmt.Errorf("%w; the step before wrote no results to hand over", err)
	}
	name, err := handover.Name(base, digest)
	if err != nil {
		return asInput(err)
	}
	setOutputs(o, "artifact", name, "digest", digest)
	return nil
}

func workflowReceive(o *IO, args []string) error {
	fs := o.NewFlagSet(Command{Name: "workflow receive", Usage: workflowUsage})
	name := fs.String("artifact", "", "the artifact's name, as the job that uploaded it handed it over")
	digest := fs.String("digest", "", "the digest the job handed over (default: the one in the name)")
	into := fs.String("into", "", "check GROUP=NAME@DIGEST artifacts under ROOT and copy their reports here")
	vsa := fs.String("vsa", "", "write the evidence bundle's VSA predicate here, and its subject as step outputs")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *into != "" {
		return receiveInto(o, *into, fs.Args())
	}
	if fs.NArg() != 1 {
		return inputf("expected one directory, the downloaded artifact")
	}
	if *name == "" {
		return inputf("expected --artifact, found it empty; the job that hands %s over did not run or produced no results", fs.Arg(0))
	}
	if err := handover.Verify(fs.Arg(0), *name, *digest); err != nil {
		return asInput(err)
	}
	fmt.Fprintf(o.Stdout, "PASSED: artifact %s has the digest it was handed over with\n", *name)
	if *vsa != "" {
		return writeVSA(o, fs.Arg(0), *vsa)
	}
	return nil
}

// receiveInto checks GROUP=NAME@DIGEST artifacts downloaded into ROOT/GROUP
// and copies their reports into out.
func receiveInto(o *IO, out string, args []string) error {
	if len(args) < 2 {
		return inputf("--into: expected GROUP=NAME@DIGEST… and the directory they were downloaded into")
	}
	root := args[len(args)-1]
	type want struct{ group, name, digest string }
	var wants []want
	for _, a := range args[:len(args)-1] {
		group, ref, ok := strings.Cut(a, "=")
		name, digest, ok2 := strings.Cut(ref, "@")
		if ref == "" {
			ok2 = true // the job did not run: nothing handed over
		}
		if !ok || !ok2 || group == "" || strings.ContainsAny(group, `/\.`) {
			return inputf("%q: expected GROUP=NAME@DIGEST", a)
		}
		wants = append(wants, want{group, name, digest})
	}
	for _, w := range wants {
		if w.name == "" {
			continue
		}
		if err := handover.Verify(filepath.Join(root, w.group), w.name, w.digest); err != nil {
			return asInput(err)
		}
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return asInput(err)
	}
	for _, w := range wants {
		if w.name == "" {
			fmt.Fprintf(o.Stdout, "::warning title=releasegate::%s: its job handed no results over (it did not run or crashed); the evidence records its gates as missing\n", w.group)
			continue
		}
		dir := filepath.Join(root, w.group)
		if _, err := os.Stat(filepath.Join(dir, "report.json")); err == nil {
			if err := copyFile(filepath.Join(dir, "report.json"), filepath.Join(out, w.group+".json")); err != nil {
				return asInput(err)
			}
		} else {
			// A stage's artifact: one GROUP.json per group already.
			reports, _ := filepath.Glob(filepath.Join(dir, "*.json"))
			if len(reports) == 0 {
				return inputf("%s: artifact %s holds no report; expected report.json or GROUP.json files", w.group, w.name)
			}
			for _, r := range reports {
				if err := copyFile(r, filepath.Join(out, filepath.Base(r))); err != nil {
					return asInput(err)
				}
			}
		}
		fmt.Fprintf(o.Stdout, "PASSED: %s: artifact %s has the digest it was handed over with\n", w.group, w.name)
	}
	return nil
}

// writeVSA writes the predicate of the VSA signed in the evidence bundle
// under dir to path, and its type and first subject as step outputs.
func writeVSA(o *IO, dir, path string) error {
	b, err := os.ReadFile(filepath.Join(dir, evidence.BundleFile))
	if err != nil {
		return inputf("--vsa: %w; expected the evidence bundle's %s", err, evidence.BundleFile)
	}
	bundle, err := evidence.ParseBundle(b)
	if err != nil {
		return inputf("--vsa: %w", err)
	}
	payload, err := base64.StdEncoding.DecodeString(bundle.DSSEEnvelope.Payload)
	var st evidence.Statement
	if err == nil {
		err = json.Unmarshal(payload, &st)
	}
	if err != nil {
		return inputf("--vsa: the bundle's statement: %w", err)
	}
	if len(st.Subject) == 0 || st.Subject[0].Digest["sha256"] == "" {
		return inputf("--vsa: the VSA names no subject with a sha256 digest; give the release workflow an image or artifacts to attest")
	}
	pred, err := json.Marshal(st.Predicate)
	if err == nil {
		err = os.WriteFile(path, pred, 0o644)
	}
	if err != nil {
		return inputf("--vsa: %w", err)
	}
	setOutputs(o, "predicate_type", st.PredicateType, "subject_name", st.Subject[0].Name, "subject_digest", "sha256:"+st.Subject[0].Digest["sha256"])
	return nil
}

func workflowCollect(ctx context.Context, o *IO, args []string) error {
	fs := o.NewFlagSet(Command{Name: "workflow collect", Usage: workflowUsage})
	matrix := fs.String("matrix", "", "the matrix JSON from workflow plan")
	out := fs.String("out", "", "directory to write one report per group into")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 || *out == "" {
		return inputf("expected --matrix, --out and one directory of downloaded artifacts")
	}
	var m handover.Matrix
	dec := json.NewDecoder(strings.NewReader(*matrix))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil || len(m.Include) == 0 {
		return inputf("--matrix %q: expected the matrix JSON of workflow plan (%v)", *matrix, err)
	}
	found, err := handover.Collect(fs.Arg(0), m)
	if err != nil {
		for _, e := range unwrapJoined(err) {
			fmt.Fprintf(o.Stdout, "::error title=releasegate::%s\n", e)
		}
		return asInput(err)
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return asInput(err)
	}
	worst, err := collectGroups(ctx, o, found, *out)
	if err != nil {
		return err
	}
	if err := handOver(o, "releasegate-result-stage", *out); err != nil {
		return err
	}
	setOutputs(o, "status", string(worst))
	return verdict(worst)
}

// collectGroups writes one report per group into out: a group's one
// report as it is, a sharded group's reports merged. It returns the worst
// of the groups' statuses.
func collectGroups(ctx context.Context, o *IO, found []handover.Found, out string) (gate.Status, error) {
	reports := map[string][]string{} // group → report.json of each leg
	sharded := map[string]bool{}
	var order []string
	for _, f := range found {
		if _, seen := reports[f.Group]; !seen {
			order = append(order, f.Group)
		}
		reports[f.Group] = append(reports[f.Group], filepath.Join(f.Dir, "report.json"))
		sharded[f.Group] = sharded[f.Group] || f.Shard != ""
	}
	var written []release.GroupReport
	for _, g := range order {
		dst := filepath.Join(out, g+".json")
		if !sharded[g] {
			if err := copyFile(reports[g][0], dst); err != nil {
				return "", inputf("group %s: %w; the artifact has no report.json", g, err)
			}
		} else if err := mergeShards(ctx, o, g, reports[g], dst); err != nil {
			return "", err
		}
		written = append(written, release.GroupReport{Group: g, Path: dst})
	}
	worst, statuses, err := release.StageStatus(ctx, written)
	if err != nil {
		return "", err
	}
	for i, g := range written {
		o.Logf("group %s: %s", g.Group, statuses[i])
	}
	return worst, nil
}

func unwrapJoined(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// mergeShards runs releasegate synthetic merge over the shards' reports and
// writes the merged report to dst. The merge posts the merged gates' check
// runs and step summary as it does on its own; the step outputs are the
// collect command's, so it writes none.
func mergeShards(ctx context.Context, o *IO, group string, reports []string, dst string) error {
	tmp, err := os.MkdirTemp("", "releasegate-merge-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	sub := *o
	getenv := o.Getenv
	discarded := filepath.Join(tmp, "merge-outputs")
	sub.Getenv = func(k string) string {
		if k == "GITHUB_OUTPUT" && getenv(k) != "" {
			return discarded // the merge's own outputs are not the step's
		}
		return getenv(k)
	}
	o.Logf("group %s: merging %d shard(s)", group, len(reports))
	// The merge says what went wrong as it does on its own; only bad input
	// stops the collection, a verdict is read from the merged report.
	err = syntheticMerge(ctx, &sub, append([]string{"--out", tmp}, reports...))
	if code := sub.exitFor("releasegate synthetic merge", err); code == ExitBadInput {
		return exitCode(code)
	}
	if err := copyFile(filepath.Join(tmp, "report.json"), dst); err != nil {
		return fmt.Errorf("group %s: the merge wrote no report: %w", group, err)
	}
	return nil
}

func copyFile(from, to string) error {
	b, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	return os.WriteFile(to, b, 0o644)
}
