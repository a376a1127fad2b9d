package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/maestro-conductor/releasegate/internal/demo"
	"github.com/maestro-conductor/releasegate/internal/gate"
	"github.com/maestro-conductor/releasegate/internal/gates/synthetic"
	"github.com/maestro-conductor/releasegate/internal/handover"
	"github.com/maestro-conductor/releasegate/internal/testutil"
)

// The scale run: 1,000 tenants × 5 scenarios over 8 shards.
const (
	scaleTenants = 1000
	scaleShards  = 8
	// scaleSlowLatency is how long the slow tenants take to answer a
	// probe: far over the 5 s latency objective, far under the 25 s timeout.
	scaleSlowLatency = 12 * time.Second
)

// scaleBehaviour is what each tenant of the scale target does. Every
// tenant behaves the same on every request, whatever the load and however
// the tenants are split over shards, so every check's verdict is fixed by
// design: the thresholds sit far from what any tenant shows.
type scaleBehaviour struct {
	limited string          // answers every request 429 (the spiking tenant of rate-anomaly)
	heavy   string          // the heavy tenant of isolation; otherwise fast
	failing map[string]bool // answer every request 500 (demo knob error_rate 1)
	slow    map[string]bool // answer every GET after scaleSlowLatency (the slo and isolation probes)
}

// scaleTarget lays the tenants out: t0001 … t1000; t0001 limited, t0002
// heavy, every 37th failing and every 41st slow. 37 and 41 are prime to
// the 8 shards, so both sets are dealt over every shard.
func scaleTarget(n int) ([]string, scaleBehaviour) {
	names := make([]string, n)
	b := scaleBehaviour{limited: "t0001", heavy: "t0002", failing: map[string]bool{}, slow: map[string]bool{}}
	for i := range names {
		names[i] = fmt.Sprintf("t%04d", i+1)
		switch {
		case (i+1)%37 == 0:
			b.failing[names[i]] = true
		case (i+1)%41 == 0:
			b.slow[names[i]] = true
		}
	}
	return names, b
}

// expectedFailing are the tenants that must fail a check of each gate:
// the failing and the limited tenant everywhere (no answer is ever good),
// and the slow tenants where latency is judged (slo, isolation).
func (b scaleBehaviour) expectedFailing(gateID string) []string {
	out := slices.Collect(maps.Keys(b.failing))
	out = append(out, b.limited)
	if gateID == "tenants-slo" || gateID == "heavy-tenant-isolation" {
		out = slices.AppendSeq(out, maps.Keys(b.slow))
	}
	slices.Sort(out)
	return out
}

// startScaleTarget starts the demo service with the tenants, its abuse
// behaviours (graph fan-out limit, event validator, audit counter,
// per-tenant worker pools) and the behaviours above. It has no
// time-based rate guard: whether a z-score guard throttles a tenant
// depends on when the shards' requests meet at the service, which differs
// between one process and shards started seconds apart.
func startScaleTarget(t *testing.T, names []string, b scaleBehaviour) string {
	t.Helper()
	opts := demo.DefaultAbuse()
	opts.RateGuard = nil
	abuse, err := demo.NewAbuse(opts)
	if err != nil {
		t.Fatal(err)
	}
	knobs := map[string]demo.Knobs{}
	for name := range b.failing {
		knobs[name] = demo.Knobs{ErrorRate: 1}
	}
	behave := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			name, _ := demo.TenantFrom(r.Context())
			if name == b.limited {
				w.Header().Set("Retry-After", "1")
				http.Error(w, "tenant "+name+" is rate-limited", http.StatusTooManyRequests)
				return
			}
			if b.slow[name] && r.Method == http.MethodGet {
				select {
				case <-time.After(scaleSlowLatency):
				case <-r.Context().Done():
					return
				}
			}
			next.ServeHTTP(w, r)
		})
	}
	srv, err := demo.StartWith(context.Background(), "127.0.0.1:0", demo.Options{
		Tenants: names, Knobs: knobs,
		Middleware: append([]demo.Middleware{behave}, abuse.Middleware()...),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	abuse.Register(srv.Service)
	return srv.URL()
}

// scalePolicy is the synthetic gate's five scenarios over the tenants
// against ${DEMO_URL}, one gate at a time. Each scenario sends each judged
// tenant just the samples its checks need (a p95 needs 59, a share judged
// "< 0.5" three) and no more: 138,349 requests per run. The
// thresholds are far from what any tenant shows: a fast tenant answers in
// milliseconds, a slow one in 12 s, against an objective of 5 s; a p95
// over 60 samples is judged by their maximum (its 95 % upper bound), so
// the objective also bounds the worst stall a fast tenant may see.
func scalePolicy(names []string, b scaleBehaviour) string {
	common := fmt.Sprintf(`      target: ${DEMO_URL}
      tenants: [%s]
      loopback-only: true
      timeout: 25s
      # a request that leaves more than 4 s late counts as late, and more
      # than 1%% late is an error (the rate could not be reached): wide
      # enough for the stalls of a loaded 2-core machine (up to 1.7 s seen
      # at a load average of 15-20)
      late-tolerance: 4s
      # the slow tenants keep ~%d requests in flight in one process
      max-in-flight: 4000
`, strings.Join(names, ", "), int(float64(len(b.slow))*1.5*scaleSlowLatency.Seconds()))
	latency := `      thresholds: {latency-objective: 5s, p95-ms: "<= 5000", compliance: ">= 0.5", error-rate: "< 0.5"}` + "\n"
	return `# 1,000 tenants × 5 scenarios: generated by the scale test (internal/e2e)
version: 1
defaults:
  concurrency: 1
gates:
  - id: tenants-slo
    kind: synthetic
    group: abuse
    with:
` + common + latency + `      # 60 samples per tenant: a p95's 95 % upper bound needs 59; at
      # 1.5/s, 1,500 requests/s in one process (at 3/s a loaded 2-core
      # machine fell behind, the in-flight bound filled and the run ended
      # "rate not reached")
      rate: 1.5
      duration: 40s
      probe: {path: "/t/{tenant}/items"}
  - id: rate-anomaly-guard
    kind: synthetic
    group: abuse
    with:
` + common + `      scenario: rate-anomaly
      # 3 requests per well-behaved tenant: 0 of 3 429s has a 95 % upper
      # bound of 47 %, within <= 0.5
      rate: 1
      duration: 1s
      spike: {tenant: ` + b.limited + `, rate: 10, duration: 1s}
      thresholds: {false-positive-rate: "<= 0.5"}
      # a POST, which the slow tenants answer at once: only the slo and
      # isolation gates judge latency
      probe:
        method: POST
        path: "/t/{tenant}/items"
        headers: {Content-Type: application/json}
        body: '{"name": "probe-{seq}", "value": 1}'

  - id: graph-complexity-guard
    kind: synthetic
    group: abuse
    with:
` + common + `      scenario: graph-complexity
      # 3 normal queries and 1 bomb per tenant
      rate: 2
      duration: 2s
      graph: {path: "/t/{tenant}/graph", bomb-share: 0.25}
      thresholds: {error-rate: "< 0.5"}
  - id: ingest-validator
    kind: synthetic
    group: abuse
    with:
` + common + `      scenario: ingest-validator
      # one of each of the 9 payloads per tenant; 0 of 1 valid payload
      # refused has a 95 % upper bound of 73 %, within < 0.8
      rate: 1
      duration: 9s
      ingest: {path: "/t/{tenant}/events", audit-url: "/t/{tenant}/audit"}
      thresholds: {error-rate: "< 0.8"}
  - id: heavy-tenant-isolation
    kind: synthetic
    group: abuse
    with:
` + common + latency + `      scenario: isolation
      rate: 1.5
      duration: 40s
      heavy: {tenant: ` + b.heavy + `, rate: 60}
      probe: {path: "/t/{tenant}/items"}
`
}

// TestReleaseWorkflowAtScaleWithAct runs the reusable release workflow
// under act with a policy of 1,000 tenants × 5 synthetic scenarios over 8
// shards, and the same policy in one process against the same target,
// and checks that the merged verdict equals the single run's: for every
// gate, tenant and check, the status and the message with its measured
// numbers taken out. The target is built so that each verdict is fixed
// (see scaleBehaviour), and both runs are also held to that design. It
// also checks that every shard's artifact was uploaded and verified by
// its digest, and that no report traveled in a job output.
func TestReleaseWorkflowAtScaleWithAct(t *testing.T) {
	testutil.RequireEnv(t, "RELEASEGATE_E2E", "the act end-to-end run (make test sets RELEASEGATE_E2E=1)")
	requireScale(t, "the 1,000-tenant act run, about 8 minutes")
	root, err := filepath.Abs(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	bin := releasegateBinary(t, root, tmp)
	act := actBinary(t, root, tmp)
	signingKey, publicKey := keygen(t, bin, tmp)
	asset, archive := releaseArchive(t, bin)
	gitRoot := filepath.Join(tmp, "git")
	sha := releaseRepository(t, root, filepath.Join(gitRoot, "maestro-conductor", "releasegate"), asset, archive)
	names, behaviour := scaleTarget(scaleTenants)
	url := startScaleTarget(t, names, behaviour)
	const policy = "testdata/e2e/policies/scale.yml"
	ws := workspace(t, root, "testdata/e2e/workflows/e2e-scale.yml", map[string]string{policy: scalePolicy(names, behaviour)})

	// One process first, alone, as `releasegate run` on one runner.
	want, _ := runScale(t, bin, ws, policy, url, "")
	rel := startReleaseServer(t, asset, archive, archive, sha)
	artifacts := t.TempDir()
	r := runAct(t, act, ws, actCall{
		gitRoot: gitRoot, artifacts: artifacts, rel: rel, timeout: 15 * time.Minute,
		vars: map[string]string{"POLICY": policy, "SHARDS": fmt.Sprint(scaleShards),
			"EVIDENCE_PUBLIC_KEY": publicKey, "RELEASEGATE_SHA": sha},
		env:     map[string]string{"DEMO_URL": url},
		secrets: map[string]string{"SIGNING_KEY": signingKey},
	})
	defer func() {
		if t.Failed() {
			t.Logf("jobs: %v\nact output (end):\n%s", r.jobs, tail(r.log, 12000))
		}
	}()
	logLegTimes(t, r)
	// The failing tenants fail the abuse legs, the merge and the verdict;
	// cost does not run after a failed stage; evidence signs the failure.
	for job, res := range map[string]string{"plan": "success", "provenance": "success", "gates": "failure", "merge": "failure", "evidence": "failure", "verdict": "failure"} {
		if r.jobs[job] != res {
			t.Errorf("job %s: expected %s, found %q", job, res, r.jobs[job])
		}
	}
	if res, ran := r.jobs["cost"]; ran {
		t.Errorf("job cost: expected it not to run after the failed stage, found %q", res)
	}
	if n := r.legs["gates"]; n != 3+scaleShards {
		t.Errorf("job gates: expected a matrix of slo, infra, jobs and %d shards (%d legs), found %d run(s)", scaleShards, 3+scaleShards, n)
	}
	if want := fmt.Sprintf("group abuse: merging %d shard(s)", scaleShards); !strings.Contains(r.output["merge"], want) {
		t.Errorf("job merge: expected %q, found:\n%s", want, tail(r.output["merge"], 3000))
	}
	size := checkShardArtifacts(t, artifacts)
	checkOutputsSmall(t, r, size)

	stage, _ := filepath.Glob(filepath.Join(artifacts, "releasegate-result-stage.sha256-*"))
	if len(stage) != 1 {
		t.Fatalf("expected one stage artifact from the merge, found %v", stage)
	}
	got := readReport(t, filepath.Join(stage[0], "abuse.json"))
	checkDesign(t, "one process", want, behaviour)
	checkDesign(t, "8 shards merged", got, behaviour)
	compareOutcomes(t, want, got)
	logLateness(t, "one process", want)
	logLateness(t, "8 shards merged", got)
}

// runScale runs the abuse group of the policy in one process (shard "")
// or as one shard ("i/n") against the target, as a leg of release.yml runs
// it, and returns its report and the directory of its results (--out). The
// failing tenants make it exit 1.
func runScale(t *testing.T, bin, ws, policy, url, shard string) (gate.Report, string) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "out")
	cmd := exec.Command(bin, "run", "--policy", policy, "--only", "abuse", "--out", out, "--checks", "never")
	cmd.Dir = ws
	cmd.Env = append(filteredEnv("GITHUB_", "ACTIONS_", syntheticgate.ShardEnv), "DEMO_URL="+url, syntheticgate.ShardEnv+"="+shard)
	start := time.Now()
	b, err := cmd.CombinedOutput()
	took := time.Since(start)
	if code := exitCode(err); code != 1 {
		t.Errorf("shard %q: expected exit 1 (the failing tenants fail), found %d (%v):\n%s", shard, code, err, tail(string(b), 4000))
		return gate.Report{}, out
	}
	rep := readReport(t, filepath.Join(out, "report.json"))
	what := "one process"
	if shard != "" {
		what = "shard " + shard
	}
	t.Logf("%s: %s, %d requests", what, took.Round(100*time.Millisecond), requests(rep))
	return rep, out
}

// TestShardProcessesAtScale runs the scale policy as the legs of
// release.yml do, but all 8 shard processes at once on this host (act
// starts at most 4 legs of a matrix at a time): each hands its results
// over (releasegate workflow hand-over), and releasegate workflow collect
// checks every artifact's digest and merges them. The merge is held to the
// single run and to the target's design, as under act.
func TestShardProcessesAtScale(t *testing.T) {
	testutil.RequireEnv(t, "RELEASEGATE_E2E", "the 1,000-tenant runs (make test sets RELEASEGATE_E2E=1)")
	requireScale(t, "the 1,000-tenant runs, about 5 minutes")
	root, err := filepath.Abs(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	bin := releasegateBinary(t, root, t.TempDir())
	names, behaviour := scaleTarget(scaleTenants)
	url := startScaleTarget(t, names, behaviour)
	ws := t.TempDir()
	const policy = "scale.yml"
	if err := os.WriteFile(filepath.Join(ws, policy), []byte(scalePolicy(names, behaviour)), 0o644); err != nil {
		t.Fatal(err)
	}
	want, _ := runScale(t, bin, ws, policy, url, "")

	start := time.Now()
	reports := make([]gate.Report, scaleShards)
	outs := make([]string, scaleShards)
	var wg sync.WaitGroup
	for i := range scaleShards {
		wg.Go(func() {
			reports[i], outs[i] = runScale(t, bin, ws, policy, url, fmt.Sprintf("%d/%d", i+1, scaleShards))
		})
	}
	wg.Wait()
	t.Logf("%d shard processes at once: %s", scaleShards, time.Since(start).Round(100*time.Millisecond))
	if t.Failed() {
		return
	}
	// Each shard's report, handed over and collected as the merge job does.
	legs := t.TempDir()
	for i, out := range outs {
		shard := fmt.Sprintf("%d/%d", i+1, scaleShards)
		h, err := exec.Command(bin, "workflow", "hand-over", "--group", "abuse", "--shard", shard, out).Output()
		name, _ := strings.CutPrefix(strings.TrimSpace(lineWith(string(h), "artifact=")), "artifact=")
		if err != nil || name == "" {
			t.Fatalf("shard %s: releasegate workflow hand-over: %v, output %q", shard, err, h)
		}
		if err := os.CopyFS(filepath.Join(legs, name), os.DirFS(out)); err != nil {
			t.Fatal(err)
		}
	}
	m, err := handover.Plan([]string{"abuse"}, "abuse", scaleShards)
	if err != nil {
		t.Fatal(err)
	}
	matrix, _ := json.Marshal(m)
	stage := filepath.Join(t.TempDir(), "stage")
	start = time.Now()
	out, err := exec.Command(bin, "workflow", "collect", "--matrix", string(matrix), "--out", stage, legs).CombinedOutput()
	if code := exitCode(err); code != 1 {
		t.Fatalf("releasegate workflow collect: expected exit 1 (the merged gates fail), found %d:\n%s", code, tail(string(out), 3000))
	}
	t.Logf("workflow collect (digests checked, 8 shards merged): %s", time.Since(start).Round(100*time.Millisecond))
	got := readReport(t, filepath.Join(stage, "abuse.json"))
	checkDesign(t, "one process", want, behaviour)
	checkDesign(t, "8 shards merged", got, behaviour)
	compareOutcomes(t, want, got)
	logLateness(t, "one process", want)
	for i, rep := range reports {
		logLateness(t, fmt.Sprintf("shard %d/%d", i+1, scaleShards), rep)
	}
}

// lineWith is the first line of s that starts with prefix.
func lineWith(s, prefix string) string {
	for _, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(l, prefix) {
			return l
		}
	}
	return ""
}

func exitCode(err error) int {
	if err == nil {
		return 0
	}
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	return -1
}

func readReport(t *testing.T, path string) gate.Report {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var rep gate.Report
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return rep
}

// requestsRE finds the request count in a synthetic gate's summary.
var requestsRE = regexp.MustCompile(`tenant\(s\), (\d+) requests`)

func requests(rep gate.Report) int {
	n := 0
	for _, res := range rep.Results {
		if m := requestsRE.FindStringSubmatch(res.Summary); m != nil {
			var k int
			fmt.Sscan(m[1], &k)
			n += k
		}
	}
	return n
}

// checkDesign holds a report to the target's design: five gates, every
// tenant judged, and exactly the tenants built to fail failing, in each
// gate; a gate that could not keep its schedule is an error here.
func checkDesign(t *testing.T, run string, rep gate.Report, b scaleBehaviour) {
	t.Helper()
	ids := []string{"tenants-slo", "rate-anomaly-guard", "graph-complexity-guard", "ingest-validator", "heavy-tenant-isolation"}
	if len(rep.Results) != len(ids) {
		t.Errorf("%s: expected %d gates, found %d", run, len(ids), len(rep.Results))
		return
	}
	if rep.Status != gate.StatusFail {
		t.Errorf("%s: expected the verdict fail (the failing tenants), found %s", run, rep.Status)
	}
	for i, res := range rep.Results {
		if res.Gate != ids[i] {
			t.Errorf("%s: gate %d: expected %s, found %s", run, i, ids[i], res.Gate)
			continue
		}
		if res.Status != gate.StatusFail {
			t.Errorf("%s: gate %s: expected fail, found %s: %s %s", run, res.Gate, res.Status, res.Summary, res.Error)
		}
		tenants, failing := map[string]bool{}, map[string]bool{}
		for _, c := range res.Checks {
			tenants[c.Tenant] = true
			if c.Status == gate.StatusFail {
				failing[c.Tenant] = true
			}
		}
		judged := scaleTenants
		if res.Gate == "heavy-tenant-isolation" {
			judged-- // the heavy tenant has a check only when none of its requests succeeded
		}
		if len(tenants) != judged {
			t.Errorf("%s: gate %s: expected %d tenants judged, found %d", run, res.Gate, judged, len(tenants))
		}
		if got, want := slices.Sorted(maps.Keys(failing)), b.expectedFailing(res.Gate); !slices.Equal(got, want) {
			t.Errorf("%s: gate %s: expected exactly the %d tenants built to fail failing, found %d: %s", run, res.Gate, len(want), len(got), setDiff(want, got))
		}
	}
}

func setDiff(want, got []string) string {
	var missing, extra []string
	for _, w := range want {
		if !slices.Contains(got, w) {
			missing = append(missing, w)
		}
	}
	for _, g := range got {
		if !slices.Contains(want, g) {
			extra = append(extra, g)
		}
	}
	return fmt.Sprintf("not failing %v, failing unexpectedly %v", missing, extra)
}

// numberRE matches the measured numbers of a message: counts, shares,
// latencies and durations (the unit stays).
var numberRE = regexp.MustCompile(`\d+(\.\d+)?`)

// outcome is a check's judged outcome: its status and its message without
// measured numbers.
type outcome struct {
	status  gate.Status
	message string
}

func outcomes(rep gate.Report) map[string]outcome {
	out := map[string]outcome{}
	for _, res := range rep.Results {
		for _, c := range res.Checks {
			key := res.Gate + " · " + c.Tenant + " · " + c.Name
			for k := 2; ; k++ { // a check name a tenant has twice keeps both
				if _, dup := out[key]; !dup {
					break
				}
				key = fmt.Sprintf("%s · %s · %s #%d", res.Gate, c.Tenant, c.Name, k)
			}
			out[key] = outcome{c.Status, numberRE.ReplaceAllString(c.Message, "#")}
		}
	}
	return out
}

// compareOutcomes checks that the merged report judged every gate, tenant
// and check as the single run did, and that the gates sent the same
// requests (the schedule fixes them).
func compareOutcomes(t *testing.T, want, got gate.Report) {
	t.Helper()
	if got.Status != want.Status {
		t.Errorf("expected the merged verdict %s of the single run, found %s", want.Status, got.Status)
	}
	for i := range min(len(want.Results), len(got.Results)) {
		w, g := want.Results[i], got.Results[i]
		if w.Status != g.Status {
			t.Errorf("gate %s: expected the merged status %s of the single run, found %s", w.Gate, w.Status, g.Status)
		}
		wr, gr := requestsRE.FindString(w.Summary), requestsRE.FindString(g.Summary)
		if wr == "" || wr != gr {
			t.Errorf("gate %s: expected the merged run's %q equal to the single run's %q", w.Gate, gr, wr)
		}
	}
	wo, gout := outcomes(want), outcomes(got)
	var diffs []string
	for _, k := range slices.Sorted(maps.Keys(wo)) {
		g, ok := gout[k]
		switch {
		case !ok:
			diffs = append(diffs, fmt.Sprintf("%s: in the single run (%s), missing after the merge", k, wo[k].status))
		case g != wo[k]:
			diffs = append(diffs, fmt.Sprintf("%s: single %s %q, merged %s %q", k, wo[k].status, wo[k].message, g.status, g.message))
		}
	}
	for k := range gout {
		if _, ok := wo[k]; !ok {
			diffs = append(diffs, fmt.Sprintf("%s: after the merge (%s), not in the single run", k, gout[k].status))
		}
	}
	if len(diffs) > 0 {
		t.Errorf("expected every (gate, tenant, check) judged alike in the single and the merged run, found %d of %d different, e.g.:\n%s",
			len(diffs), len(wo), strings.Join(diffs[:min(len(diffs), 20)], "\n"))
	}
	t.Logf("%d (gate, tenant, check) outcomes compared; verdict %s in both", len(wo), got.Status)
}

// checkShardArtifacts checks that every shard uploaded its results as an
// artifact whose contents have the digest in its name, and returns the
// size of the shards' reports.
func checkShardArtifacts(t *testing.T, artifacts string) int64 {
	t.Helper()
	var size int64
	for i := 1; i <= scaleShards; i++ {
		base := fmt.Sprintf("releasegate-result-abuse-%d-of-%d", i, scaleShards)
		m, _ := filepath.Glob(filepath.Join(artifacts, base+".sha256-*"))
		if len(m) != 1 {
			t.Errorf("expected one artifact %s.sha256-…, found %v", base, m)
			continue
		}
		name := filepath.Base(m[0])
		_, digest, err := handover.ParseName(name)
		if err != nil {
			t.Errorf("artifact %s: %v", name, err)
			continue
		}
		if err := handover.Verify(m[0], name, digest); err != nil {
			t.Errorf("artifact %s: expected its files to have the digest in its name: %v", name, err)
		}
		if fi, err := os.Stat(filepath.Join(m[0], "report.json")); err == nil {
			size += fi.Size()
		} else {
			t.Errorf("artifact %s: expected a report.json, found %v", name, err)
		}
	}
	t.Logf("the %d shards handed over %.1f MB of reports as artifacts", scaleShards, float64(size)/(1<<20))
	return size
}

// maxOutput bounds a step output: a name, a digest, a status, the plan's
// matrix or a report's gate summaries (the action's result output, see
// actions.MaxResultOutput); a shard's report is megabytes.
const maxOutput = 16 << 10

// checkOutputsSmall checks that no step output of the run carried a
// report: every one is small, and none holds report JSON. Every env: value
// of release.yml is an input, a secret or such an output, so no report can
// have traveled in env: either.
func checkOutputsSmall(t *testing.T, r actRun, reports int64) {
	t.Helper()
	if len(r.outputs) == 0 {
		t.Errorf("expected act to record the steps' outputs, found none")
		return
	}
	largest := actOutput{}
	for _, o := range r.outputs {
		if len(o.value) > len(largest.value) {
			largest = o
		}
		if len(o.value) > maxOutput || strings.Contains(o.value, `"tenant":`) {
			t.Errorf("job %s: output %s is %d bytes (%.60q…): expected at most %d bytes and no report", o.job, o.name, len(o.value), o.value, maxOutput)
		}
	}
	t.Logf("%d step outputs, the largest %s.%s with %d bytes, against %d bytes of reports handed over as artifacts", len(r.outputs), largest.job, largest.name, len(largest.value), reports)
}

// logLateness logs, per gate, how far the load generator kept its
// schedule: requests planned, those that left later than the tolerance,
// and the worst delay.
func logLateness(t *testing.T, run string, rep gate.Report) {
	t.Helper()
	var lines []string
	for _, res := range rep.Results {
		b, err := json.Marshal(res.Details[syntheticgate.DetailsKey])
		var rec syntheticgate.Record
		if err != nil || json.Unmarshal(b, &rec) != nil || rec.Run == nil {
			t.Errorf("%s: gate %s: expected its synthetic record in the details, found none", run, res.Gate)
			continue
		}
		tot := rec.Run.Totals()
		lines = append(lines, fmt.Sprintf("  %-24s %6d planned, %3d late, worst delay %s", res.Gate, tot.Planned, tot.Late, (time.Duration(tot.MaxLagUS)*time.Microsecond).Round(time.Millisecond)))
	}
	t.Logf("%s kept its schedule:\n%s", run, strings.Join(lines, "\n"))
}

// logLegTimes logs when each job of the run (each matrix leg by its name)
// logged its first and last line, from act's timestamps.
func logLegTimes(t *testing.T, r actRun) {
	t.Helper()
	var lines []string
	for _, name := range slices.Sorted(maps.Keys(r.spans)) {
		s := r.spans[name]
		lines = append(lines, fmt.Sprintf("  %-34s %s → %s (%s)", name, s[0].Format("15:04:05"), s[1].Format("15:04:05"), s[1].Sub(s[0]).Round(time.Second)))
	}
	t.Logf("act ran the workflow in %s; the jobs:\n%s", r.took.Round(100*time.Millisecond), strings.Join(lines, "\n"))
}

// requireScale skips a scale run unless RELEASEGATE_SCALE=1: it is too long
// for `make test`, so it has a target of its own (`make test-scale`, which
// sets it and which .ci/run runs after `make test`). Unlike the services'
// variables it is not required under CI: `make test` runs under CI too.
func requireScale(t *testing.T, what string) {
	t.Helper()
	if os.Getenv("RELEASEGATE_SCALE") != "1" {
		t.Skipf("%s runs in `make test-scale` (RELEASEGATE_SCALE=1)", what)
	}
}
