package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/maestro-conductor/releasegate/internal/testutil"
)

// actLine is one line of `act --json` output: a log line of a job, a step
// result, a job result or a workflow command such as the step summary.
type actLine struct {
	JobID      string    `json:"jobID"`
	Msg        string    `json:"msg"`
	Step       string    `json:"step"`
	StepResult string    `json:"stepResult"`
	JobResult  string    `json:"jobResult"`
	Command    string    `json:"command"`
	RawOutput  bool      `json:"raw_output"`
	Content    string    `json:"content"`
	Name       string    `json:"name"`
	Arg        string    `json:"arg"`
	Job        string    `json:"job"`
	Time       time.Time `json:"time"`
}

// actRun is what one act run did, read from its JSON log.
type actRun struct {
	jobs    map[string]string       // job id → result, only for jobs that ran; a failed matrix leg fails the job
	legs    map[string]int          // job id → how many runs of it (matrix legs) reported a result
	summary map[string]string       // job id → step summary text it wrote
	output  map[string]string       // job id → what its steps printed
	log     string                  // the raw output, for failure messages
	shown   string                  // the output without ::add-mask:: commands, which carry the secret by design
	outputs []actOutput             // every step output set, in order
	err     error                   // act's own exit
	took    time.Duration           // act's wall time
	spans   map[string][2]time.Time // job name (a matrix leg's own) → its first and last log line
}

// actOutput is one step output act recorded.
type actOutput struct {
	job, name, value string
}

func parseAct(out []byte, err error) actRun {
	r := actRun{jobs: map[string]string{}, legs: map[string]int{}, summary: map[string]string{}, output: map[string]string{}, spans: map[string][2]time.Time{}, log: string(out), err: err}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	var shown strings.Builder
	for sc.Scan() {
		var l actLine
		err := json.Unmarshal(sc.Bytes(), &l)
		if err != nil || l.Command != "add-mask" {
			shown.Write(sc.Bytes())
			shown.WriteByte('\n')
		}
		if err != nil || l.JobID == "" {
			continue
		}
		if _, ok := r.jobs[l.JobID]; !ok {
			r.jobs[l.JobID] = "started"
		}
		if l.RawOutput {
			r.output[l.JobID] += l.Msg
		}
		if s, ok := r.spans[l.Job]; !ok {
			r.spans[l.Job] = [2]time.Time{l.Time, l.Time}
		} else if l.Time.After(s[1]) {
			r.spans[l.Job] = [2]time.Time{s[0], l.Time}
		}
		if l.Command == "set-output" {
			r.outputs = append(r.outputs, actOutput{job: l.JobID, name: l.Name, value: l.Arg})
		}
		if l.JobResult != "" {
			r.legs[l.JobID]++
			if r.jobs[l.JobID] != "failure" {
				r.jobs[l.JobID] = l.JobResult
			}
		}
		// act reports a composite action's summary once for the inner step
		// and again for the action's step; keep each text once.
		if l.Command == "summary" && !strings.Contains(r.summary[l.JobID], l.Content) {
			r.summary[l.JobID] += l.Content
		}
	}
	r.shown = shown.String()
	return r
}

// tail is the end of a long log, for a failure message.
func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// passSummaries are, per job of release.yml, texts its step summary must
// hold when the gates of testdata/e2e/policies/pass.yml ran: the gates'
// names and figures only the real gate on its real input can produce. The
// legs of the matrix job gates all report under the job id gates.
var passSummaries = map[string][]string{
	// The real slsa-github-generator bundle, verified against the pinned
	// trusted root: its builder and the artifact's digest.
	"provenance": {"version-set", "slsa-provenance",
		"generator_generic_slsa3.yml@refs/tags/v2.1.0", "sha256:376e7e013485"},
	"gates": {
		// The metrics file: globex's 5m error ratio 0.0255 against 97.5%.
		"demo-health", "error-budget", "availability 5m burn rate 1.02 meets < 2.0",
		// Tenants are dealt round-robin: acme and initech to shard 1, globex
		// to shard 2; 30 requests/s for 10s each (the 300 samples an error rate < 0.01 needs).
		"tenants-synthetic", "slo: 2 tenant(s), 600 requests, 0 checks failed of 6 (shard 1/2)",
		"slo: 1 tenant(s), 300 requests, 0 checks failed of 3 (shard 2/2)",
		"alert-rules", "SLOErrorBudgetBurn", "kill-switch"},
	// The merge adds the shards up and judges the whole run.
	"merge": {"tenants-synthetic", "slo: 3 tenant(s), 900 requests, 0 checks failed of 9 (shard 1/2+2/2)"},
	// The usage-report export (examples/budget), priced.
	"cost": {"ci-budget", "tenant acme: $251.15 of $400.00 month budget spent"},
}

// checkSummaries checks that each job's step summary is a table holding
// the wanted texts, and that the matrix ran slo, infra, jobs and every shard.
func checkSummaries(t *testing.T, r actRun, want map[string][]string) {
	t.Helper()
	for job, texts := range want {
		s := r.summary[job]
		if !strings.Contains(s, "|") {
			t.Errorf("job %s: expected a step summary table, found %q", job, s)
			continue
		}
		for _, text := range texts {
			if !strings.Contains(s, text) {
				t.Errorf("job %s: expected its step summary to hold %q, found %q", job, text, s)
			}
		}
	}
	if n := r.legs["gates"]; n != 3+e2eShards {
		t.Errorf("job gates: expected a matrix of slo, infra, jobs and %d shards (%d legs), found %d run(s)", e2eShards, 3+e2eShards, n)
	}
}

// checkGateActions checks that each gate action of the caller's
// gate-actions job ran its real gate: the same figures in its step summary
// as in the release workflow's jobs, the synthetic gate unsharded, and the
// CI budget read from the file given to ci-budget-throttle's usage_file.
func checkGateActions(t *testing.T, r actRun) {
	t.Helper()
	s := r.summary["gate-actions"]
	for _, want := range []string{
		"generator_generic_slsa3.yml@refs/tags/v2.1.0",                     // verify-provenance
		"availability 5m burn rate",                                        // check-slo
		"slo: 3 tenant(s), 900 requests, 0 checks failed of 9 (shard 1/1)", // synthetic-multi-tenant
		"tenant acme: $251.15 of $400.00 month budget spent",               // ci-budget-throttle
		"/examples/budget/usage-report.csv (5131 Actions rows)",            // … from usage_file
	} {
		if !strings.Contains(s, want) {
			t.Errorf("job gate-actions: expected its step summary to hold %q, found %q", want, s)
		}
	}
	if strings.Contains(s, "../../../examples/budget/usage-report.csv") {
		t.Errorf("job gate-actions: expected ci-budget-throttle to read its usage_file input, found the policy's default path in %q", s)
	}
}

// checkEvidence checks that the evidence job signed a bundle recording
// result (PASSED or FAILED), verified it offline with the public key the
// caller gave, wrote the checklist into its step summary and uploaded the
// bundle, checklist and HTML report as an artifact; one that records
// FAILED fails the job.
func checkEvidence(t *testing.T, r actRun, artifacts, result string) {
	t.Helper()
	out := r.output["evidence"]
	for _, want := range []string{"evidence-0.0.0-e2e.tar.gz", "verificationResult: " + result,
		"PASSED: signature: DSSE envelope signed by key", "PASSED: manifest:", "PASSED: files:",
		// Every artifact it read was checked against the digest handed over.
		"PASSED: provenance: artifact releasegate-result-provenance.sha256-",
		"PASSED: stage: artifact releasegate-result-stage.sha256-"} {
		if !strings.Contains(out, want) {
			t.Errorf("job evidence: expected %q from releasegate evidence create and verify, found output:\n%s", want, tail(out, 6000))
		}
	}
	wantJob, wantLines := "success", []string{"PASSED: verified ", "PASSED: cost: artifact releasegate-result-cost.sha256-"}
	if result == "FAILED" {
		// The failed gate, and the gate of the stage that did not run
		// because of it: a required gate without a result never passes.
		wantJob, wantLines = "failure", []string{"release did not pass: verificationResult FAILED:",
			"required gate error-budget fail: 21 check(s): 19 pass, 2 fail", "required gate ci-budget has no result"}
		if !strings.Contains(r.log, "cost: its job handed no results over") {
			t.Errorf("job evidence: expected a warning that cost handed nothing over, found none")
		}
	}
	if r.jobs["evidence"] != wantJob {
		t.Errorf("job evidence: expected %s, found %q", wantJob, r.jobs["evidence"])
	}
	for _, want := range wantLines {
		if !strings.Contains(out, want) {
			t.Errorf("job evidence: expected %q, found output:\n%s", want, tail(out, 6000))
		}
	}
	if s := r.summary["evidence"]; !strings.Contains(s, "error-budget") {
		t.Errorf("job evidence: expected the release checklist in its step summary, found %q", s)
	}
	kept, _ := filepath.Glob(filepath.Join(artifacts, "releasegate-evidence.sha256-*"))
	if len(kept) != 1 {
		t.Errorf("expected one evidence artifact, found %v", kept)
		return
	}
	for _, f := range []string{"evidence-0.0.0-e2e.tar.gz", "checklist.md", "report.html", "evidence.sigstore.json"} {
		if _, err := os.Stat(filepath.Join(kept[0], f)); err != nil {
			t.Errorf("evidence artifact: expected %s in it, found %v", f, err)
		}
	}
}

// checkDownloads checks that every job obtained releasegate by downloading
// the release asset and checking its digest, and that nothing was built.
func checkDownloads(t *testing.T, r actRun, rel *releaseServer) {
	t.Helper()
	if strings.Contains(r.log, "building from source") {
		t.Errorf("expected no job to build releasegate from source, found it in the log")
	}
	// plan, provenance, 3+shards legs, merge, cost, evidence and the four
	// gate actions each download once; cost does not run when slo failed.
	if n, min := rel.downloads.Load(), int64(8+e2eShards); n < min {
		t.Errorf("expected at least %d downloads of the release asset, found %d", min, n)
	}
	if n := strings.Count(r.log, "matches sha256 "+rel.assetSHA); n < 8+e2eShards {
		t.Errorf("expected every download checked against %s, found %d checks", rel.assetSHA, n)
	}
}

// e2eShards is the shards input the end-to-end run gives release.yml.
const e2eShards = 2

// TestReleaseWorkflowWithAct runs the reusable release workflow through a
// caller workflow with act on this host, offline, against the demo service.
// No step is given a binary: the workflow finds its own commit from the
// OIDC token (a loopback stand-in for the runner's token service), checks
// releasegate out at it (a local git repository), and downloads the
// release asset from a loopback server in GitHub's URL shape, checking it
// against the digest committed at that commit. Once with a policy whose
// real gates pass, once with a policy whose slo gate fails, and once with
// a tampered release asset.
func TestReleaseWorkflowWithAct(t *testing.T) {
	testutil.RequireEnv(t, "RELEASEGATE_E2E", "the act end-to-end run (make test sets RELEASEGATE_E2E=1)")
	root, err := filepath.Abs(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	bin := releasegateBinary(t, root, tmp)
	act := actBinary(t, root, tmp)
	demoURL := startDemo(t, bin)
	signingKey, publicKey := keygen(t, bin, tmp)
	asset, archive := releaseArchive(t, bin)
	gitRoot := filepath.Join(tmp, "git")
	sha := releaseRepository(t, root, filepath.Join(gitRoot, "maestro-conductor", "releasegate"), asset, archive)
	// A secret the policy hands to a command that prints it: act does not
	// know it is secret, so only releasegate's masking keeps it out.
	adminToken := fmt.Sprintf("e2e-admin-%d", time.Now().UnixNano())

	cases := []struct {
		name   string
		policy string
		tamper bool
		check  func(t *testing.T, r actRun, artifacts string, rel *releaseServer)
	}{
		{
			name:   "a policy whose real gates all pass releases, with each gate's figures in the summaries and a bundle that verifies",
			policy: "testdata/e2e/policies/pass.yml",
			check: func(t *testing.T, r actRun, artifacts string, rel *releaseServer) {
				if r.err != nil {
					t.Errorf("expected act to succeed, found %v", r.err)
				}
				for _, job := range []string{"plan", "provenance", "gates", "merge", "cost", "evidence", "verdict", "gate-actions"} {
					if r.jobs[job] != "success" {
						t.Errorf("job %s: expected success, found %q", job, r.jobs[job])
					}
				}
				for _, job := range []string{"sign-off", "release-assets", "attest-vsa"} {
					if _, ran := r.jobs[job]; ran {
						t.Errorf("job %s: expected it skipped (no environment, no tag, attest_vsa false), found it ran", job)
					}
				}
				if !strings.Contains(r.output["plan"], "this workflow is maestro-conductor/releasegate/.github/workflows/release.yml@refs/tags/v0.0.0-e2e at commit "+rel.sha) {
					t.Errorf("job plan: expected the workflow's own ref and commit from the OIDC token, found:\n%s", tail(r.output["plan"], 3000))
				}
				checkSummaries(t, r, passSummaries)
				checkDownloads(t, r, rel)
				if s := r.summary["verdict"]; !strings.Contains(s, "| merge | ✅ success | pass |") || !strings.Contains(s, "| cost | ✅ success | pass |") {
					t.Errorf("job verdict: expected the verdict table with the merged stage and cost passed, found %q", s)
				}
				checkEvidence(t, r, artifacts, "PASSED")
				for _, want := range []string{"gate statuses: provenance=pass slo=pass abuse=pass cost=pass", "slo result names error-budget"} {
					if !strings.Contains(r.output["gate-actions"], want) {
						t.Errorf("job gate-actions: expected %q from the actions' outputs, found:\n%s", want, r.output["gate-actions"])
					}
				}
				checkGateActions(t, r)
				// Results travel as artifacts, one per leg and stage.
				for _, base := range []string{"provenance", "slo", "infra", "jobs", "abuse-1-of-2", "abuse-2-of-2", "stage", "cost"} {
					if m, _ := filepath.Glob(filepath.Join(artifacts, "releasegate-result-"+base+".sha256-*")); len(m) != 1 {
						t.Errorf("expected one artifact releasegate-result-%s.sha256-…, found %v", base, m)
					}
				}
			},
		},
		{
			name:   "a policy with one failing slo gate blocks the release, skips what needs it and still collects evidence that verifies as FAILED",
			policy: "testdata/e2e/policies/fail.yml",
			check: func(t *testing.T, r actRun, artifacts string, rel *releaseServer) {
				if r.err == nil {
					t.Errorf("expected act to fail, found it succeeded")
				}
				want := map[string]string{"plan": "success", "provenance": "success", "gates": "failure", "merge": "failure", "verdict": "failure", "gate-actions": "failure"}
				for job, res := range want {
					if r.jobs[job] != res {
						t.Errorf("job %s: expected %s, found %q", job, res, r.jobs[job])
					}
				}
				if res, ran := r.jobs["cost"]; ran {
					t.Errorf("job cost: expected it not to run because slo failed, found %q", res)
				}
				failSummaries := maps.Clone(passSummaries)
				delete(failSummaries, "cost")
				failSummaries["gates"] = append(slices.Clone(passSummaries["gates"][3:]), "demo-health", "error-budget", "❌",
					// globex burns the 99% budget too fast: 2.55 = 0.0255 / 0.01.
					"availability 5m burn rate 2.55 does not meet < 2.0")
				checkSummaries(t, r, failSummaries)
				checkDownloads(t, r, rel)
				checkEvidence(t, r, artifacts, "FAILED")
				if want := "gate statuses: provenance=pass slo=fail abuse=pass cost=pass"; !strings.Contains(r.output["gate-actions"], want) {
					t.Errorf("job gate-actions: expected %q from the actions' outputs, found:\n%s", want, r.output["gate-actions"])
				}
				checkGateActions(t, r)
				s := r.summary["verdict"]
				for _, row := range []string{"| gates | ❌ failure | fail |", "| merge | ❌ failure | fail |", "| cost | ❌ skipped | none |", "| provenance | ✅ success | pass |"} {
					if !strings.Contains(s, row) {
						t.Errorf("job verdict: expected the row %q in the verdict table, found %q", row, s)
					}
				}
			},
		},
		{
			name:   "a tampered release asset fails the run before anything runs",
			policy: "testdata/e2e/policies/pass.yml",
			tamper: true,
			check: func(t *testing.T, r actRun, artifacts string, rel *releaseServer) {
				if r.err == nil {
					t.Errorf("expected act to fail, found it succeeded")
				}
				for job, res := range map[string]string{"plan": "failure", "verdict": "failure", "gate-actions": "failure"} {
					if r.jobs[job] != res {
						t.Errorf("job %s: expected %s, found %q", job, res, r.jobs[job])
					}
				}
				for _, job := range []string{"provenance", "gates", "merge", "cost", "evidence"} {
					if res, ran := r.jobs[job]; ran {
						t.Errorf("job %s: expected it not to run after a tampered download, found %q", job, res)
					}
				}
				want := fmt.Sprintf("digest mismatch for %s from %s/maestro-conductor/releasegate/releases/download/v0.0.0-e2e/%s: expected sha256 %s", asset, rel.URL(), asset, rel.assetSHA)
				if !strings.Contains(r.log, want) {
					t.Errorf("expected the mismatch to name the asset, its URL and the expected digest (%q), found:\n%s", want, tail(r.output["plan"], 4000))
				}
				// The binary printed nothing: it never ran.
				if strings.Contains(r.log, "releasegate: releasegate ") {
					t.Errorf("expected the tampered binary never to run, found its version in the log")
				}
				if m, _ := filepath.Glob(filepath.Join(artifacts, "*")); len(m) != 0 {
					t.Errorf("expected no artifact from a run whose binary was refused, found %v", m)
				}
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			served := archive
			if tc.tamper {
				served = tamperedArchive(t, bin)
			}
			rel := startReleaseServer(t, asset, archive, served, sha)
			ws := workspace(t, root, "testdata/e2e/workflows/e2e-release.yml", nil)
			artifacts := t.TempDir()
			r := runAct(t, act, ws, actCall{
				gitRoot: gitRoot, artifacts: artifacts, rel: rel, timeout: 6 * time.Minute,
				vars: map[string]string{"POLICY": tc.policy, "SHARDS": fmt.Sprint(e2eShards),
					"EVIDENCE_PUBLIC_KEY": publicKey, "RELEASEGATE_SHA": sha},
				env:     map[string]string{"DEMO_URL": demoURL, "E2E_ADMIN_TOKEN": adminToken},
				secrets: map[string]string{"SIGNING_KEY": signingKey},
			})
			tc.check(t, r, artifacts, rel)
			if n := strings.Count(r.shown, adminToken); n > 0 {
				t.Errorf("expected the secret E2E_ADMIN_TOKEN masked everywhere, found it %d time(s) in the run's output", n)
			}
			if !tc.tamper && !strings.Contains(r.output["gates"], "kill-switch") {
				t.Errorf("job gates: expected the kill-switch gate (which prints the secret) to have run, found output:\n%s", tail(r.output["gates"], 3000))
			}
			if t.Failed() {
				t.Logf("jobs: %v\nact output (end):\n%s", r.jobs, tail(r.log, 12000))
			}
		})
	}
}

// actCall is what one act run of a caller workflow is given besides the
// workspace: the variables, environment and secrets of the caller, and the
// stand-ins for what GitHub's runner provides (the release server, the git
// repositories checkout fetches, the artifact store).
type actCall struct {
	gitRoot   string            // E2E_GIT_ROOT: the repositories actions/checkout fetches
	artifacts string            // E2E_ARTIFACTS: the run's artifact store
	rel       *releaseServer    // GITHUB_SERVER_URL and the OIDC token service
	timeout   time.Duration     // act is killed after this
	vars      map[string]string // act --var
	env       map[string]string // act --env
	secrets   map[string]string // act --secret
}

// runAct runs the workflow_dispatch event of the caller workflow
// .github/workflows/e2e-release.yml in the workspace ws with act on this
// host, offline: remote actions are mapped to the stubs under
// testdata/stubs, and nothing of the test's own GitHub environment
// reaches it. It fails the test when act does not finish in time.
func runAct(t *testing.T, act, ws string, c actCall) actRun {
	t.Helper()
	root, err := filepath.Abs(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	args := []string{"workflow_dispatch",
		"-W", ".github/workflows/e2e-release.yml",
		"-P", "ubuntu-latest=-self-hosted",
		"--pull=false", "--action-offline-mode", "--json",
		"--action-cache-path", filepath.Join(t.TempDir(), "act-cache"),
	}
	for _, kv := range []struct {
		flag string
		m    map[string]string
	}{{"--var", c.vars}, {"--env", c.env}, {"--secret", c.secrets}} {
		for _, k := range slices.Sorted(maps.Keys(kv.m)) {
			args = append(args, kv.flag, k+"="+kv.m[k])
		}
	}
	args = append(args,
		// What GitHub's runner provides and act does not: the server
		// releases are downloaded from, the OIDC token service, the
		// repositories actions/checkout fetches and the artifact store.
		"--env", "GITHUB_SERVER_URL="+c.rel.URL(),
		"--env", "ACTIONS_ID_TOKEN_REQUEST_URL="+c.rel.URL()+"/oidc?api-version=2.0",
		"--env", "ACTIONS_ID_TOKEN_REQUEST_TOKEN="+c.rel.oidcToken,
		"--env", "E2E_GIT_ROOT="+c.gitRoot,
		"--env", "E2E_ARTIFACTS="+c.artifacts,
	)
	stubs := filepath.Join(root, "internal", "e2e", "testdata", "stubs")
	for _, uses := range remoteActions(t) {
		args = append(args, "--local-repository", uses+"="+filepath.Join(stubs, stubFor(uses)))
	}
	cmd := exec.CommandContext(ctx, act, args...)
	cmd.Dir = ws
	// No network: act must not reach GitHub; keep tokens out of it.
	cmd.Env = append(filteredEnv("GITHUB_TOKEN", "GH_TOKEN", "ACTIONS_", "GITHUB_"), "NO_COLOR=1")
	start := time.Now()
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("act did not finish within %s:\n%s", c.timeout, tail(string(out), 4000))
	}
	r := parseAct(out, err)
	r.took = time.Since(start)
	t.Logf("act ran the workflow in %s", r.took.Round(100*time.Millisecond))
	if dir := os.Getenv("RELEASEGATE_E2E_LOG_DIR"); dir != "" {
		// Keep the whole act log for a human to read.
		name := strings.ReplaceAll(t.Name(), "/", "_")
		_ = os.WriteFile(filepath.Join(dir, name[:min(len(name), 60)]+".log"), out, 0o644)
	}
	return r
}

// stubFor names the stand-in under testdata/stubs for a remote action.
func stubFor(uses string) string {
	repo, _, _ := strings.Cut(uses, "@")
	switch repo {
	case "actions/checkout", "actions/setup-go", "actions/upload-artifact", "actions/download-artifact":
		return strings.TrimPrefix(repo, "actions/")
	}
	return "offline"
}

// remoteActions lists every remote `owner/repo@sha` the workflows and
// actions use, for act --local-repository.
func remoteActions(t *testing.T) []string {
	t.Helper()
	seen := map[string]bool{}
	var out []string
	for _, l := range allSteps(t) {
		if repo, ref, ok := RemoteAction(l.step.Uses); ok && !seen[repo+"@"+ref] {
			seen[repo+"@"+ref] = true
			out = append(out, repo+"@"+ref)
		}
	}
	return out
}

// filteredEnv is the environment without variables whose names start with
// any of the prefixes.
func filteredEnv(prefixes ...string) []string {
	var out []string
next:
	for _, kv := range os.Environ() {
		for _, p := range prefixes {
			if strings.HasPrefix(kv, p) {
				continue next
			}
		}
		out = append(out, kv)
	}
	return out
}

// releasegateBinary is RELEASEGATE_BIN (set by make test) or a fresh build.
func releasegateBinary(t *testing.T, root, tmp string) string {
	t.Helper()
	if p := os.Getenv("RELEASEGATE_BIN"); p != "" {
		abs, err := filepath.Abs(p)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(abs); err != nil {
			t.Fatalf("RELEASEGATE_BIN=%s: expected a built binary, found %v; run make build", p, err)
		}
		return abs
	}
	bin := filepath.Join(tmp, "releasegate")
	goBuild(t, root, "-o", bin, "./cmd/releasegate")
	return bin
}

// actBinary builds act at the version pinned in tools/go.mod.
func actBinary(t *testing.T, root, tmp string) string {
	t.Helper()
	bin := filepath.Join(tmp, "act")
	goBuild(t, root, "-modfile=tools/go.mod", "-o", bin, "github.com/nektos/act")
	return bin
}

func goBuild(t *testing.T, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command("go", append([]string{"build"}, args...)...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// startDemo starts `releasegate demo serve` on a free loopback port and
// returns its URL, the first line it prints.
func startDemo(t *testing.T, bin string) string {
	t.Helper()
	cmd := exec.Command(bin, "demo", "serve", "--addr", "127.0.0.1:0", "--for", "10m")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start the demo service: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	line := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		if sc.Scan() {
			line <- strings.TrimSpace(sc.Text())
		}
		close(line)
		_, _ = io.Copy(io.Discard, stdout)
	}()
	select {
	case url, ok := <-line:
		if !ok || !strings.HasPrefix(url, "http://") {
			t.Fatalf("releasegate demo serve: expected its URL on the first line of stdout, found %q; stderr:\n%s", url, stderr.String())
		}
		return url
	case <-time.After(20 * time.Second):
		t.Fatalf("releasegate demo serve: expected its URL within 20s, found nothing; stderr:\n%s", stderr.String())
	}
	return ""
}

// keygen makes a throwaway evidence signing key and returns the private
// key's PEM, which the caller workflow passes as the signing_key secret,
// and the public key's PEM, with which the evidence job verifies the bundle.
func keygen(t *testing.T, bin, tmp string) (string, string) {
	t.Helper()
	prefix := filepath.Join(tmp, "e2e-signing")
	if out, err := exec.Command(bin, "evidence", "keygen", "--out-prefix", prefix).CombinedOutput(); err != nil {
		t.Fatalf("releasegate evidence keygen: %v\n%s", err, out)
	}
	pem, err := os.ReadFile(prefix + ".key")
	if err != nil {
		t.Fatal(err)
	}
	pub, err := os.ReadFile(prefix + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	return string(pem), string(pub)
}

// workspace lays out a throwaway caller repository: the caller workflow
// (a file under testdata/e2e/workflows) as .github/workflows/e2e-release.yml
// next to release.yml, the e2e policies with the fixtures their gates read
// (Sigstore bundles and trusted root, metrics file, alert rules, usage
// export) at the same paths as in this repository, and the extra files
// given (path → content). It is a git repository because act reads the
// commit and ref from git.
func workspace(t *testing.T, root, caller string, extra map[string]string) string {
	t.Helper()
	ws := t.TempDir()
	copies := map[string]string{
		".github/workflows/release.yml": ".github/workflows/release.yml",
		caller:                          ".github/workflows/e2e-release.yml",
	}
	for _, p := range []string{
		"testdata/e2e/policies",
		"testdata/provenance",
		"testdata/slo/metrics.om",
		"testdata/slo/rules",
		"examples/budget/usage-report.csv",
	} {
		copies[p] = p
	}
	for from, to := range copies {
		if err := copyTree(filepath.Join(root, from), filepath.Join(ws, to)); err != nil {
			t.Fatal(err)
		}
	}
	for p, content := range extra {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(ws, p)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(ws, p), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, args := range [][]string{
		{"init", "-q", "-b", "main"},
		{"add", "-A"},
		{"-c", "user.name=e2e", "-c", "user.email=e2e@example.invalid", "commit", "-q", "-m", "e2e caller " + caller},
	} {
		cmd := exec.Command("git", args...)
		cmd.Dir = ws
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	return ws
}

// copyTree copies a file or a directory tree, keeping file modes.
func copyTree(from, to string) error {
	return filepath.WalkDir(from, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, p)
		dst := filepath.Join(to, rel)
		if d.IsDir() {
			return os.MkdirAll(dst, 0o755)
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(dst, b, info.Mode().Perm()); err != nil {
			return fmt.Errorf("copy %s: %w", rel, err)
		}
		return nil
	})
}
