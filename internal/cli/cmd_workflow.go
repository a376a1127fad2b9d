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

func workflowCmd(ctx context.Context, o *IO, args []string) int {
	if len(args) == 0 {
		fmt.Fprint(o.Stderr, workflowUsage)
		return ExitBadInput
	}
	sub, rest := args[0], args[1:]
	switch sub {
	case "-h", "--help", "help":
		fmt.Fprint(o.Stdout, workflowUsage)
		return ExitOK
	case "plan":
		return workflowPlan(o, rest)
	case "hand-over":
		return workflowHandOver(o, rest)
	case "receive":
		return workflowReceive(o, rest)
	case "collect":
		return workflowCollect(ctx, o, rest)
	}
	fmt.Fprintf(o.Stderr, "releasegate workflow: unknown subcommand %q; expected plan, hand-over, receive or collect\n", sub)
	return ExitBadInput
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

func workflowPlan(o *IO, args []string) int {
	fs := o.NewFlagSet(Command{Name: "workflow plan", Usage: workflowUsage})
	shards := fs.String("shards", "2", "how many shards (runners) the abuse group's synthetic load is split into, 1 to 64")
	if code, ok := Parse(fs, args); !ok {
		return code
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(o.Stderr, "releasegate workflow plan: unexpected arguments %q\n", fs.Args())
		return ExitBadInput
	}
	n, err := strconv.Atoi(strings.TrimSpace(*shards))
	if err != nil {
		fmt.Fprintf(o.Stderr, "releasegate workflow plan: shards %q: expected a whole number from 1 to %d\n", *shards, handover.MaxShards)
		return ExitBadInput
	}
	m, err := handover.Plan(groupsAfterProvenance, shardedGroup, n)
	if err != nil {
		fmt.Fprintf(o.Stderr, "releasegate workflow plan: %v\n", err)
		return ExitBadInput
	}
	b, err := json.Marshal(m)
	if err != nil {
		fmt.Fprintf(o.Stderr, "releasegate workflow plan: %v\n", err)
		return ExitError
	}
	setOutputs(o, "matrix", string(b), "shards", strconv.Itoa(n))
	return ExitOK
}

func workflowHandOver(o *IO, args []string) int {
	fs := o.NewFlagSet(Command{Name: "workflow hand-over", Usage: workflowUsage})
	base := fs.String("base", "", "base name of the artifact, e.g. releasegate-evidence")
	group := fs.String("group", "", "the group whose results these are (base name releasegate-result-GROUP)")
	shard := fs.String("shard", "", "the shard I/N of the group these results are of")
	if code, ok := Parse(fs, args); !ok {
		return code
	}
	if *group != "" {
		if *shard != "" {
			if _, err := synthetic.ParseShard(*shard); err != nil {
				fmt.Fprintf(o.Stderr, "releasegate workflow hand-over: --shard: %v\n", err)
				return ExitBadInput
			}
		}
		*base = handover.Leg{Group: *group, Shard: *shard}.Base()
	}
	if fs.NArg() != 1 || *base == "" {
		fmt.Fprintln(o.Stderr, "releasegate workflow hand-over: expected --group GROUP or --base NAME, and one results directory")
		return ExitBadInput
	}
	return handOver(o, *base, fs.Arg(0))
}

// handOver digests dir and writes the artifact and digest outputs. A
// directory without results means the gate step reported nothing: the job
// cannot hand anything over, which is an error, never a pass.
func handOver(o *IO, base, dir string) int {
	digest, err := handover.DigestDir(dir)
	if err != nil {
		fmt.Fprintf(o.Stderr, "releasegate workflow hand-over: %v; the step before wrote no results to hand over\n", err)
		return ExitError
	}
	name, err := handover.Name(base, digest)
	if err != nil {
		fmt.Fprintf(o.Stderr, "releasegate workflow hand-over: %v\n", err)
		return ExitBadInput
	}
	setOutputs(o, "artifact", name, "digest", digest)
	return ExitOK
}

func workflowReceive(o *IO, args []string) int {
	fs := o.NewFlagSet(Command{Name: "workflow receive", Usage: workflowUsage})
	name := fs.String("artifact", "", "the artifact's name, as the job that uploaded it handed it over")
	digest := fs.String("digest", "", "the digest the job handed over (default: the one in the name)")
	into := fs.String("into", "", "check GROUP=NAME@DIGEST artifacts under ROOT and copy their reports here")
	vsa := fs.String("vsa", "", "write the evidence bundle's VSA predicate here, and its subject as step outputs")
	if code, ok := Parse(fs, args); !ok {
		return code
	}
	if *into != "" {
		return receiveInto(o, *into, fs.Args())
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(o.Stderr, "releasegate workflow receive: expected one directory, the downloaded artifact")
		return ExitBadInput
	}
	if *name == "" {
		fmt.Fprintf(o.Stderr, "releasegate workflow receive: expected --artifact, found it empty; the job that hands %s over did not run or produced no results\n", fs.Arg(0))
		return ExitBadInput
	}
	if err := handover.Verify(fs.Arg(0), *name, *digest); err != nil {
		fmt.Fprintf(o.Stderr, "releasegate workflow receive: %v\n", err)
		return ExitBadInput
	}
	fmt.Fprintf(o.Stdout, "PASSED: artifact %s has the digest it was handed over with\n", *name)
	if *vsa != "" {
		return writeVSA(o, fs.Arg(0), *vsa)
	}
	return ExitOK
}

// receiveInto checks GROUP=NAME@DIGEST artifacts downloaded into ROOT/GROUP
// and copies their reports into out.
func receiveInto(o *IO, out string, args []string) int {
	if len(args) < 2 {
		fmt.Fprintln(o.Stderr, "releasegate workflow receive --into: expected GROUP=NAME@DIGEST… and the directory they were downloaded into")
		return ExitBadInput
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
			fmt.Fprintf(o.Stderr, "releasegate workflow receive: %q: expected GROUP=NAME@DIGEST\n", a)
			return ExitBadInput
		}
		wants = append(wants, want{group, name, digest})
	}
	for _, w := range wants {
		if w.name == "" {
			continue
		}
		if err := handover.Verify(filepath.Join(root, w.group), w.name, w.digest); err != nil {
			fmt.Fprintf(o.Stderr, "releasegate workflow receive: %v\n", err)
			return ExitBadInput
		}
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		fmt.Fprintf(o.Stderr, "releasegate workflow receive: %v\n", err)
		return ExitBadInput
	}
	for _, w := range wants {
		if w.name == "" {
			fmt.Fprintf(o.Stdout, "::warning title=releasegate::%s: its job handed no results over (it did not run or crashed); the evidence records its gates as missing\n", w.group)
			continue
		}
		dir := filepath.Join(root, w.group)
		if _, err := os.Stat(filepath.Join(dir, "report.json")); err == nil {
			if err := copyFile(filepath.Join(dir, "report.json"), filepath.Join(out, w.group+".json")); err != nil {
				fmt.Fprintf(o.Stderr, "releasegate workflow receive: %v\n", err)
				return ExitBadInput
			}
		} else {
			// A stage's artifact: one GROUP.json per group already.
			reports, _ := filepath.Glob(filepath.Join(dir, "*.json"))
			if len(reports) == 0 {
				fmt.Fprintf(o.Stderr, "releasegate workflow receive: %s: artifact %s holds no report; expected report.json or GROUP.json files\n", w.group, w.name)
				return ExitBadInput
			}
			for _, r := range reports {
				if err := copyFile(r, filepath.Join(out, filepath.Base(r))); err != nil {
					fmt.Fprintf(o.Stderr, "releasegate workflow receive: %v\n", err)
					return ExitBadInput
				}
			}
		}
		fmt.Fprintf(o.Stdout, "PASSED: %s: artifact %s has the digest it was handed over with\n", w.group, w.name)
	}
	return ExitOK
}

// writeVSA writes the predicate of the VSA signed in the evidence bundle
// under dir to path, and its type and first subject as step outputs.
func writeVSA(o *IO, dir, path string) int {
	b, err := os.ReadFile(filepath.Join(dir, evidence.BundleFile))
	if err != nil {
		fmt.Fprintf(o.Stderr, "releasegate workflow receive --vsa: %v; expected the evidence bundle's %s\n", err, evidence.BundleFile)
		return ExitBadInput
	}
	bundle, err := evidence.ParseBundle(b)
	if err != nil {
		fmt.Fprintf(o.Stderr, "releasegate workflow receive --vsa: %v\n", err)
		return ExitBadInput
	}
	payload, err := base64.StdEncoding.DecodeString(bundle.DSSEEnvelope.Payload)
	var st evidence.Statement
	if err == nil {
		err = json.Unmarshal(payload, &st)
	}
	if err != nil {
		fmt.Fprintf(o.Stderr, "releasegate workflow receive --vsa: the bundle's statement: %v\n", err)
		return ExitBadInput
	}
	if len(st.Subject) == 0 || st.Subject[0].Digest["sha256"] == "" {
		fmt.Fprintln(o.Stderr, "releasegate workflow receive --vsa: the VSA names no subject with a sha256 digest; give the release workflow an image or artifacts to attest")
		return ExitBadInput
	}
	pred, err := json.Marshal(st.Predicate)
	if err == nil {
		err = os.WriteFile(path, pred, 0o644)
	}
	if err != nil {
		fmt.Fprintf(o.Stderr, "releasegate workflow receive --vsa: %v\n", err)
		return ExitBadInput
	}
	setOutputs(o, "predicate_type", st.PredicateType, "subject_name", st.Subject[0].Name, "subject_digest", "sha256:"+st.Subject[0].Digest["sha256"])
	return ExitOK
}

func workflowCollect(ctx context.Context, o *IO, args []string) int {
	fs := o.NewFlagSet(Command{Name: "workflow collect", Usage: workflowUsage})
	matrix := fs.String("matrix", "", "the matrix JSON from workflow plan")
	out := fs.String("out", "", "directory to write one report per group into")
	if code, ok := Parse(fs, args); !ok {
		return code
	}
	if fs.NArg() != 1 || *out == "" {
		fmt.Fprintln(o.Stderr, "releasegate workflow collect: expected --matrix, --out and one directory of downloaded artifacts")
		return ExitBadInput
	}
	var m handover.Matrix
	dec := json.NewDecoder(strings.NewReader(*matrix))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil || len(m.Include) == 0 {
		fmt.Fprintf(o.Stderr, "releasegate workflow collect: --matrix %q: expected the matrix JSON of workflow plan (%v)\n", *matrix, err)
		return ExitBadInput
	}
	found, err := handover.Collect(fs.Arg(0), m)
	if err != nil {
		fmt.Fprintf(o.Stderr, "releasegate workflow collect: %v\n", err)
		for _, e := range unwrapJoined(err) {
			fmt.Fprintf(o.Stdout, "::error title=releasegate::%s\n", e)
		}
		return ExitBadInput
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		fmt.Fprintf(o.Stderr, "releasegate workflow collect: %v\n", err)
		return ExitBadInput
	}
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
	var statuses []gate.Status
	for _, g := range order {
		dst := filepath.Join(*out, g+".json")
		if !sharded[g] {
			if err := copyFile(reports[g][0], dst); err != nil {
				fmt.Fprintf(o.Stderr, "releasegate workflow collect: group %s: %v; the artifact has no report.json\n", g, err)
				return ExitBadInput
			}
		} else if code := mergeShards(ctx, o, g, reports[g], dst); code == ExitBadInput {
			return code
		}
		s, err := reportStatus(dst)
		if err != nil {
			fmt.Fprintf(o.Stderr, "releasegate workflow collect: group %s: %v\n", g, err)
			return ExitBadInput
		}
		o.Logf("group %s: %s", g, s)
		statuses = append(statuses, s)
	}
	worst := gate.Worst(statuses...)
	if code := handOver(o, "releasegate-result-stage", *out); code != ExitOK {
		return code
	}
	setOutputs(o, "status", string(worst))
	return ExitForStatus(worst)
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
func mergeShards(ctx context.Context, o *IO, group string, reports []string, dst string) int {
	tmp, err := os.MkdirTemp("", "releasegate-merge-")
	if err != nil {
		fmt.Fprintf(o.Stderr, "releasegate workflow collect: %v\n", err)
		return ExitError
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
	code := syntheticMerge(ctx, &sub, append([]string{"--out", tmp}, reports...))
	if code == ExitBadInput {
		return code
	}
	if err := copyFile(filepath.Join(tmp, "report.json"), dst); err != nil {
		fmt.Fprintf(o.Stderr, "releasegate workflow collect: group %s: the merge wrote no report: %v\n", group, err)
		return ExitError
	}
	return code
}

func reportStatus(path string) (gate.Status, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	var rep gate.Report
	if err := json.Unmarshal(b, &rep); err != nil {
		return "", fmt.Errorf("%s: not a releasegate report: %w", path, err)
	}
	if !rep.Status.Valid() {
		return "", fmt.Errorf("%s: status %q: expected one of %v", path, rep.Status, gate.Statuses)
	}
	return rep.Status, nil
}

func copyFile(from, to string) error {
	b, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	return os.WriteFile(to, b, 0o644)
}
