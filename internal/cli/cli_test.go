package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"
	"testing"

	"github.com/maestro-conductor/releasegate/internal/gate"
)

// fakeSpec drives the test-only kind "fake": it returns the status it is
// told to, echoing its secret into the message to prove redaction.
type fakeSpec struct {
	Status string `yaml:"status" required:"true" enum:"pass,warn,fail,error,skip" doc:"status to return"`
	Token  string `yaml:"token" doc:"echoed in the message"`
}

type fakeGate struct {
	id   string
	spec *fakeSpec
}

func (g fakeGate) Name() string { return g.id }
func (g fakeGate) Run(context.Context) (*gate.Result, error) {
	if g.spec.Status == "error" {
		return nil, errors.New("source unreachable: token " + g.spec.Token)
	}
	return &gate.Result{Checks: []gate.Check{{Name: "fake", Status: gate.Status(g.spec.Status),
		Message: "told to " + g.spec.Status + " with token " + g.spec.Token}}}, nil
}

func init() {
	gate.Register(gate.Kind{Name: "fake", Group: "jobs", Summary: "test kind",
		Spec: func() any { return &fakeSpec{} },
		New: func(m gate.Meta, spec any, _ gate.Env) (gate.Gate, error) {
			return fakeGate{m.ID, spec.(*fakeSpec)}, nil
		}})
}

func writePolicy(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "policy.yml")
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func policyWith(statuses ...string) string {
	var b strings.Builder
	b.WriteString("version: 1\ngates:\n")
	for i, s := range statuses {
		b.WriteString("  - id: g" + string(rune('a'+i)) + "\n    kind: fake\n    with:\n      status: " + s + "\n      token: ${API_TOKEN}\n")
	}
	return b.String()
}

type run struct {
	code           int
	stdout, stderr string
}

func runCLI(t *testing.T, env map[string]string, args ...string) run {
	t.Helper()
	var out, errb bytes.Buffer
	o := &IO{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb,
		Getenv:    func(k string) string { return env[k] },
		LookupEnv: func(k string) (string, bool) { v, ok := env[k]; return v, ok }}
	if h, ok := testHooks.Load(topTest(t)); ok {
		h.(func(*IO))(o)
	}
	code := o.Main(context.Background(), args)
	return run{code, out.String(), errb.String()}
}

// testHooks are what a top-level test sets on the IO runCLI builds for it
// and its subtests (keylessFixture's virtual Sigstore), by test name: the
// hooks are IO fields, so tests with different hooks run side by side.
var testHooks sync.Map

// topTest is the name of the top-level test t belongs to.
func topTest(t *testing.T) string {
	name, _, _ := strings.Cut(t.Name(), "/")
	return name
}

const secret = "tok-9f8e7d6c5b"

func TestRunExitCodes(t *testing.T) {
	t.Parallel()
	env := map[string]string{"API_TOKEN": secret}
	tests := []struct {
		name     string
		statuses []string
		want     int
	}{
		{"every gate passing exits 0", []string{"pass", "pass"}, ExitOK},
		{"a warning still exits 0", []string{"pass", "warn"}, ExitOK},
		{"a failed gate exits 1", []string{"pass", "fail"}, ExitFail},
		{"a gate that could not be evaluated exits 3", []string{"pass", "error"}, ExitError},
		{"a failure outranks an error", []string{"error", "fail"}, ExitFail},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := writePolicy(t, policyWith(tt.statuses...))
			r := runCLI(t, env, "run", "--policy", p)
			if r.code != tt.want {
				t.Errorf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, tt.want, r.stdout, r.stderr)
			}
			if strings.Contains(r.stdout+r.stderr, secret) {
				t.Errorf("the secret leaked into the output:\n%s%s", r.stdout, r.stderr)
			}
		})
	}
}

func TestRunJSONAndOutDir(t *testing.T) {
	t.Parallel()
	p := writePolicy(t, strings.Replace(policyWith("pass", "fail"), "version: 1\n", "version: 1\nrelease:\n  name: tenantd\n  version: v1.4.0\n", 1))
	out := filepath.Join(t.TempDir(), "results")
	metrics := filepath.Join(t.TempDir(), "textfile", "releasegate.prom")
	r := runCLI(t, map[string]string{"API_TOKEN": secret}, "run", "--policy", p, "--format", "json", "--out", out, "--metrics-out", metrics)
	if r.code != ExitFail {
		t.Fatalf("exit %d, want 1: %s", r.code, r.stderr)
	}
	var rep gate.Report
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("stdout is not one JSON document: %v\n%s", err, r.stdout)
	}
	if rep.Status != gate.StatusFail || len(rep.Results) != 2 || rep.Schema != gate.SchemaVersion || !strings.HasPrefix(rep.Policy.Digest, "sha256:") {
		t.Errorf("report = %+v", rep)
	}
	if rep.Release == nil || *rep.Release != (gate.Release{Name: "tenantd", Version: "v1.4.0"}) || !strings.HasPrefix(rep.Tool, "releasegate ") {
		t.Errorf("report header: release %+v, tool %q; want the policy's release and the tool version", rep.Release, rep.Tool)
	}
	prom, err := os.ReadFile(metrics)
	if err != nil {
		t.Fatalf("--metrics-out: %v", err)
	}
	for _, want := range []string{`releasegate_gate_status{gate="gb",group="jobs",kind="fake",required="true",status="fail"} 1`, `releasegate_release_status{status="fail"} 1`} {
		if !bytes.Contains(prom, []byte(want)) {
			t.Errorf("--metrics-out lacks %s:\n%s", want, prom)
		}
	}
	if bytes.Contains(prom, []byte(secret)) {
		t.Error("the metrics textfile contains the secret")
	}
	for _, f := range []string{"ga.json", "gb.json", "report.json"} {
		b, err := os.ReadFile(filepath.Join(out, f))
		if err != nil {
			t.Errorf("--out: %v", err)
		}
		if bytes.Contains(b, []byte(secret)) {
			t.Errorf("%s contains the secret", f)
		}
	}
}

func TestBadInputExits2AndRunsNothing(t *testing.T) {
	t.Parallel()
	five := `version: 1
gates:
  - id: a
    kind: fake
    timout: 1s
    with: {status: maybe}
  - id: a
    kind: fak
  - kind: fake
    with: {status: pass, token: "${UNSET_VAR}"}
`
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"five mistakes are all reported with positions", []string{"policy", "check", "--policy", writePolicy(t, five)},
			[]string{":5:5: gates[0].timout", ":6:20: gates[0].with.status", ":7:5: gates[1].id: duplicate", ":8:5: gates[1].kind: unknown gate kind \"fak\"",
				":9:5: gates[2].id: missing", ":10:33: gates[2].with.token: environment variable UNSET_VAR", "6 problem(s)"}},
		{"run refuses the same policy", []string{"run", "--policy", writePolicy(t, five)}, []string{"nothing was run"}},
		{"a missing policy names the path", []string{"run", "--policy", "/nonexistent/policy.yml"}, []string{"/nonexistent/policy.yml"}},
		{"an unknown flag", []string{"run", "--nope"}, []string{"flag provided but not defined"}},
		{"an unknown format", []string{"run", "--policy", writePolicy(t, policyWith("pass")), "--format", "yaml"}, []string{"--format \"yaml\""}},
		{"an unknown group", []string{"run", "--policy", writePolicy(t, policyWith("pass")), "--only", "nope"}, []string{"no group or gate named nope"}},
		{"an unknown command", []string{"frobnicate"}, []string{"unknown command"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := runCLI(t, map[string]string{"API_TOKEN": secret}, tt.args...)
			if r.code != ExitBadInput {
				t.Errorf("exit %d, want 2\nstderr:\n%s", r.code, r.stderr)
			}
			for _, w := range tt.want {
				if !strings.Contains(r.stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, r.stderr)
				}
			}
			if strings.Contains(r.stdout, "fake") {
				t.Errorf("something ran:\n%s", r.stdout)
			}
		})
	}
}

func TestOnlySelectsGroups(t *testing.T) {
	t.Parallel()
	p := writePolicy(t, `version: 1
gates:
  - {id: a, kind: fake, group: slo, with: {status: fail}}
  - {id: b, kind: fake, with: {status: pass}}
`)
	r := runCLI(t, nil, "run", "--policy", p, "--only", "jobs", "--format", "json")
	if r.code != ExitOK || strings.Contains(r.stdout, `"gate": "a"`) {
		t.Errorf("--only jobs: exit %d\n%s", r.code, r.stdout)
	}
}

// A checklist group the policy has no gate in (the release workflow runs
// every group's job) is skipped with exit 0 and a report that says so; it
// never passes a gate that did not run.
func TestOnlyAGroupWithoutGatesSkips(t *testing.T) {
	t.Parallel()
	p := writePolicy(t, `version: 1
gates:
  - {id: a, kind: fake, group: slo, with: {status: fail}}
`)
	out := t.TempDir()
	r := runCLI(t, nil, "run", "--policy", p, "--only", "cost", "--format", "json", "--out", out)
	if r.code != ExitOK {
		t.Fatalf("--only cost: exit %d; expected 0\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	var rep gate.Report
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Status != gate.StatusSkip || len(rep.Results) != 0 {
		t.Errorf("expected a skip report with no results, found status %s with %d result(s)", rep.Status, len(rep.Results))
	}
	if !strings.Contains(r.stderr, "no gate in cost") {
		t.Errorf("expected stderr to say the policy has no gate in cost, found:\n%s", r.stderr)
	}
	if _, err := os.Stat(filepath.Join(out, "report.json")); err != nil {
		t.Errorf("expected --out to hold report.json: %v", err)
	}
}

// TestInsideActions checks the Actions contract: outputs and summary are
// written, the secret is masked first and never appears anywhere.
func TestInsideActions(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	env := map[string]string{"GITHUB_ACTIONS": "true", "API_TOKEN": secret,
		"GITHUB_OUTPUT": filepath.Join(dir, "out"), "GITHUB_STEP_SUMMARY": filepath.Join(dir, "sum")}
	os.WriteFile(env["GITHUB_OUTPUT"], nil, 0o644)
	os.WriteFile(env["GITHUB_STEP_SUMMARY"], nil, 0o644)
	r := runCLI(t, env, "run", "--policy", writePolicy(t, policyWith("pass", "fail")))
	if r.code != ExitFail {
		t.Fatalf("exit %d", r.code)
	}
	if !strings.HasPrefix(r.stderr, "::add-mask::") {
		t.Errorf("the secret is not masked before anything else is printed:\n%s", r.stderr)
	}
	if !strings.Contains(r.stderr, "::error ") || !strings.Contains(r.stderr, "without status checks") {
		t.Errorf("no annotation, or the missing token is not said:\n%s", r.stderr)
	}
	outputs, _ := os.ReadFile(env["GITHUB_OUTPUT"])
	summary, _ := os.ReadFile(env["GITHUB_STEP_SUMMARY"])
	if !strings.Contains(string(summary), "| ❌ | [gb](#gb)") || !strings.Contains(string(outputs), "\nfail\n") {
		t.Errorf("summary or outputs wrong:\n%s\n%s", summary, outputs)
	}
	all := r.stdout + string(outputs) + string(summary)
	if strings.Contains(all, secret) || strings.Count(r.stderr, secret) != 1 {
		t.Errorf("the secret appears outside the mask command")
	}
}

// TestCommandTable keeps the static command table sound: names unique and
// sorted (the order of the command list), each with a summary, a usage and
// a Run.
func TestCommandTable(t *testing.T) {
	t.Parallel()
	cs := commandTable()
	for i, c := range cs {
		if c.Summary == "" || c.Usage == "" || c.Run == nil {
			t.Errorf("command %q lacks a summary, usage or Run", c.Name)
		}
		if i > 0 && cs[i-1].Name >= c.Name {
			t.Errorf("command %q follows %q: names must be unique and sorted", c.Name, cs[i-1].Name)
		}
	}
}

func TestHelp(t *testing.T) {
	t.Parallel()
	for _, c := range commandTable() {
		for _, args := range [][]string{{"help", c.Name}, {c.Name, "--help"}, {c.Name, "-h"}} {
			r := runCLI(t, nil, args...)
			if r.code != ExitOK || !strings.Contains(r.stdout, "Example") {
				t.Errorf("%s: exit %d, no example:\n%s", strings.Join(args, " "), r.code, r.stdout)
			}
		}
	}
}

func TestTuneGC(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	TuneGC(func(string) (string, bool) { return "50", true })
	if got := debug.SetGCPercent(100); got != 100 {
		t.Fatalf("with GOGC set, TuneGC changed the GC percent to %d", got)
	}
	TuneGC(func(string) (string, bool) { return "", false })
	if got := debug.SetGCPercent(100); got != GCPercent {
		t.Fatalf("without GOGC, the GC percent is %d; want %d", got, GCPercent)
	}
}

// TestRunMetricsPush: --metrics-push PUTs the release metrics to a
// Pushgateway-shaped server under the policy's release; a gateway that
// answers 500 is reported on stderr without the secret and leaves the
// verdict's exit code alone; a URL that is not http(s) is bad input.
func TestRunMetricsPush(t *testing.T) {
	t.Parallel()
	p := writePolicy(t, strings.Replace(policyWith("pass", "fail"), "version: 1\n", "version: 1\nrelease:\n  name: tenantd\n  version: v1.4.0\n", 1))
	var mu sync.Mutex
	var path, body string
	gw := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		path, body = r.Method+" "+r.URL.EscapedPath(), string(b)
		mu.Unlock()
	}))
	defer gw.Close()
	r := runCLI(t, map[string]string{"API_TOKEN": secret}, "run", "--policy", p, "--format", "json", "--metrics-push", gw.URL)
	if r.code != ExitFail {
		t.Fatalf("exit %d, want 1: %s", r.code, r.stderr)
	}
	mu.Lock()
	if want := "PUT /metrics/job/releasegate/release_name/tenantd"; path != want {
		t.Errorf("pushed to %q, want %q", path, want)
	}
	if want := `releasegate_gate_status{gate="gb",group="jobs",kind="fake",required="true",status="fail"} 1`; !strings.Contains(body, want) {
		t.Errorf("pushed body lacks %s:\n%s", want, body)
	}
	mu.Unlock()

	broken := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusInternalServerError)
		io.WriteString(w, "echo: "+r.Header.Get("Authorization"))
	}))
	defer broken.Close()
	r = runCLI(t, map[string]string{"API_TOKEN": secret}, "run", "--policy", p, "--metrics-push", strings.Replace(broken.URL, "http://", "http://ci:"+secret+"@", 1))
	if r.code != ExitFail {
		t.Errorf("a failed push changed the exit code to %d, want 1", r.code)
	}
	if !strings.Contains(r.stderr, "--metrics-push") || !strings.Contains(r.stderr, "500") {
		t.Errorf("stderr does not report the failed push:\n%s", r.stderr)
	}
	if strings.Contains(r.stdout+r.stderr, secret) {
		t.Errorf("the secret leaked:\n%s", r.stderr)
	}

	r = runCLI(t, nil, "run", "--policy", p, "--metrics-push", "pushgateway:9091")
	if r.code != ExitBadInput {
		t.Errorf("--metrics-push without a scheme: exit %d, want %d", r.code, ExitBadInput)
	}
}
