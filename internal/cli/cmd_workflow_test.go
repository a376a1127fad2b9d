package cli

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/maestro-conductor/releasegate/internal/evidence"
	"github.com/maestro-conductor/releasegate/internal/gate"
	"github.com/maestro-conductor/releasegate/internal/gates/synthetic"
	"github.com/maestro-conductor/releasegate/internal/handover"
)

func TestWorkflowPlan(t *testing.T) {
	t.Parallel()
	r := runCLI(t, nil, "workflow", "plan", "--shards", "3")
	if r.code != ExitOK {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	line, ok := strings.CutPrefix(strings.Split(r.stdout, "\n")[0], "matrix=")
	if !ok {
		t.Fatalf("expected matrix=… first, found %q", r.stdout)
	}
	var m handover.Matrix
	if err := json.Unmarshal([]byte(line), &m); err != nil || len(m.Include) != 6 {
		t.Fatalf("expected 6 legs (slo, 3 abuse shards, infra, jobs), found %s (%v)", line, err)
	}
	if m.Include[3] != (handover.Leg{Group: "abuse", Shard: "3/3"}) {
		t.Errorf("expected leg 4 to be abuse shard 3/3, found %+v", m.Include[3])
	}
	for _, bad := range []string{"0", "1000", "-1", "two", ""} {
		r := runCLI(t, nil, "workflow", "plan", "--shards", bad)
		if r.code != ExitBadInput || !strings.Contains(r.stderr, "expected") || r.stdout != "" {
			t.Errorf("shards %q: expected exit 2 with a message and no output, found exit %d, stdout %q, stderr %q", bad, r.code, r.stdout, r.stderr)
		}
	}
}

// workflowPolicy has one fake gate per group of the middle stage; the abuse
// gate's status comes from ABUSE_STATUS.
const workflowPolicy = `version: 1
gates:
  - {id: budget, kind: fake, group: slo, with: {status: pass}}
  - {id: load, kind: fake, group: abuse, with: {status: "${ABUSE_STATUS}"}}
  - {id: rules, kind: fake, group: infra, with: {status: pass}}
  - {id: kill, kind: fake, group: jobs, with: {status: pass}}
`

// uploadLegs runs each leg of the plan like the workflow's matrix job does
// (run --only GROUP --out DIR, then hand-over) and lays its results out
// under root as the download of its artifact.
func uploadLegs(t *testing.T, pol, abuse string, shards int) (string, string) {
	t.Helper()
	r := runCLI(t, nil, "workflow", "plan", "--shards", string(rune('0'+shards)))
	matrix, _ := strings.CutPrefix(strings.Split(r.stdout, "\n")[0], "matrix=")
	var m handover.Matrix
	if err := json.Unmarshal([]byte(matrix), &m); err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	for _, l := range m.Include {
		out := filepath.Join(t.TempDir(), "out")
		env := map[string]string{"ABUSE_STATUS": abuse, syntheticgate.ShardEnv: l.Shard}
		runCLI(t, env, "run", "--policy", pol, "--only", l.Group, "--out", out, "--checks", "never")
		h := runCLI(t, nil, "workflow", "hand-over", "--base", l.Base(), out)
		name, ok := strings.CutPrefix(strings.Split(h.stdout, "\n")[0], "artifact=")
		if h.code != ExitOK || !ok {
			t.Fatalf("hand-over %s: exit %d, %q %q", l.Base(), h.code, h.stdout, h.stderr)
		}
		if err := os.CopyFS(filepath.Join(root, name), os.DirFS(out)); err != nil {
			t.Fatal(err)
		}
	}
	return root, matrix
}

func TestWorkflowCollect(t *testing.T) {
	t.Parallel()
	pol := writePolicy(t, workflowPolicy)
	cases := []struct {
		name   string
		abuse  string
		change func(root string)
		code   int
		says   string
	}{
		{"every leg passed", "pass", nil, ExitOK, "status=pass"},
		{"a failed shard fails the merged group", "fail", nil, ExitFail, "status=fail"},
		{"a shard that uploaded nothing is refused", "pass", func(root string) {
			m, _ := filepath.Glob(filepath.Join(root, "releasegate-result-abuse-2-of-2.*"))
			os.RemoveAll(m[0])
		}, ExitBadInput, "::error title=releasegate::shard 2/2 of group abuse"},
		{"a changed artifact is refused", "pass", func(root string) {
			m, _ := filepath.Glob(filepath.Join(root, "releasegate-result-slo.*"))
			os.WriteFile(filepath.Join(m[0], "report.json"), []byte(`{"status":"pass"}`), 0o644)
		}, ExitBadInput, "artifact digest mismatch"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			root, matrix := uploadLegs(t, pol, tc.abuse, 2)
			if tc.change != nil {
				tc.change(root)
			}
			out := filepath.Join(t.TempDir(), "stage")
			r := runCLI(t, nil, "workflow", "collect", "--matrix", matrix, "--out", out, root)
			if r.code != tc.code || !strings.Contains(r.stdout+r.stderr, tc.says) {
				t.Fatalf("expected exit %d saying %q, found exit %d\nstdout:\n%s\nstderr:\n%s", tc.code, tc.says, r.code, r.stdout, r.stderr)
			}
			if tc.code == ExitBadInput {
				if _, err := os.Stat(out); err == nil {
					t.Errorf("expected nothing written for refused artifacts, found %s", out)
				}
				return
			}
			// One report per group; the merged abuse group holds its gate once.
			for _, g := range []string{"slo", "abuse", "infra", "jobs"} {
				if _, err := os.Stat(filepath.Join(out, g+".json")); err != nil {
					t.Errorf("expected %s.json in the stage's results, found %v", g, err)
				}
			}
			b, _ := os.ReadFile(filepath.Join(out, "abuse.json"))
			var rep gate.Report
			if err := json.Unmarshal(b, &rep); err != nil || len(rep.Results) != 1 || rep.Results[0].Gate != "load" {
				t.Errorf("expected the merged abuse report with gate load once, found %s (%v)", b, err)
			}
			// The stage is handed over like any job's results.
			name := outputValue(r.stdout, "artifact")
			if v := runCLI(t, nil, "workflow", "receive", "--artifact", name, out); v.code != ExitOK {
				t.Errorf("expected the stage's artifact %s to verify, found exit %d: %s", name, v.code, v.stderr)
			}
		})
	}
}

func TestWorkflowReceive(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "report.json"), []byte(`{"status":"pass"}`), 0o644)
	h := runCLI(t, nil, "workflow", "hand-over", "--base", "releasegate-result-cost", dir)
	name, digest := outputValue(h.stdout, "artifact"), outputValue(h.stdout, "digest")
	if r := runCLI(t, nil, "workflow", "receive", "--artifact", name, "--digest", digest, dir); r.code != ExitOK || !strings.Contains(r.stdout, "PASSED") {
		t.Fatalf("expected the artifact to verify, found exit %d: %s %s", r.code, r.stdout, r.stderr)
	}
	os.WriteFile(filepath.Join(dir, "report.json"), []byte(`{"status":"fail"}`), 0o644)
	r := runCLI(t, nil, "workflow", "receive", "--artifact", name, "--digest", digest, dir)
	if r.code != ExitBadInput || !strings.Contains(r.stderr, name) || !strings.Contains(r.stderr, digest) {
		t.Errorf("expected a changed artifact refused with exit 2 naming it and its digest, found exit %d: %s", r.code, r.stderr)
	}
	if r := runCLI(t, nil, "workflow", "receive", "--artifact", "", dir); r.code != ExitBadInput {
		t.Errorf("expected an empty artifact name (the job did not run) refused, found exit %d", r.code)
	}
	if r := runCLI(t, nil, "workflow", "hand-over", "--base", "releasegate-result-cost", t.TempDir()); r.code != ExitError {
		t.Errorf("expected an empty results directory to be an error (exit 3), found exit %d", r.code)
	}
}

// outputValue is the value of the name=value line a workflow command printed.
func outputValue(stdout, name string) string {
	for _, l := range strings.Split(stdout, "\n") {
		if v, ok := strings.CutPrefix(l, name+"="); ok {
			return v
		}
	}
	return ""
}

// TestWorkflowReceiveVSA reads the VSA out of a signed evidence bundle for
// actions/attest: its predicate in a file, its type and subject as outputs.
func TestWorkflowReceiveVSA(t *testing.T) {
	t.Parallel()
	env := map[string]string{"COSIGN_PASSWORD": "pw", "API_TOKEN": secret}
	prefix := keyPair(t, env)
	art := writeFile(t, "tenantd.tar.gz", []byte("binary bytes"))
	pol, dir := gateResults(t, "pass")
	out := t.TempDir()
	if r := runCLI(t, env, "evidence", "create", "--results", dir, "--policy", pol, "--artifact", art, "--key", prefix+".key", "--out", out); r.code != ExitOK {
		t.Fatalf("create: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	h := runCLI(t, nil, "workflow", "hand-over", "--base", "releasegate-evidence", out)
	name, digest := outputValue(h.stdout, "artifact"), outputValue(h.stdout, "digest")
	predicate := filepath.Join(t.TempDir(), "vsa.json")
	r := runCLI(t, nil, "workflow", "receive", "--artifact", name, "--digest", digest, "--vsa", predicate, out)
	if r.code != ExitOK {
		t.Fatalf("receive --vsa: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if got := outputValue(r.stdout, "predicate_type"); got != evidence.VSAType {
		t.Errorf("expected predicate_type %s, found %q", evidence.VSAType, got)
	}
	if got := outputValue(r.stdout, "subject_name"); got != "tenantd.tar.gz" {
		t.Errorf("expected the artifact as the subject, found %q", got)
	}
	if got := outputValue(r.stdout, "subject_digest"); got != "sha256:"+sha256Hex([]byte("binary bytes")) {
		t.Errorf("expected the artifact's digest, found %q", got)
	}
	var vsa evidence.VSA
	b, _ := os.ReadFile(predicate)
	if err := json.Unmarshal(b, &vsa); err != nil || vsa.VerificationResult != evidence.ResultPassed {
		t.Errorf("expected the VSA predicate recording PASSED, found %s (%v)", b, err)
	}
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}
