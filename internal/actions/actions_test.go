package actions

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/maestro-conductor/releasegate/internal/gate"
)

var update = flag.Bool("update", false, "rewrite golden files")

func fixture() *gate.Report {
	t0 := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	loc := &gate.Location{File: ".github/release-policy.yml", Line: 9, Column: 5}
	return &gate.Report{Schema: gate.SchemaVersion, Status: gate.StatusFail, Tool: "releasegate test",
		Results: []gate.Result{
			{Schema: gate.SchemaVersion, Gate: "health", Kind: "http", Group: "slo", Required: true, Status: gate.StatusPass,
				Summary: "1 check passed", StartedAt: t0, FinishedAt: t0.Add(time.Second),
				Checks: []gate.Check{{Name: "status", Status: gate.StatusPass, Observed: gate.Int(200), Expected: "200", Message: "got 200"}}},
			{Schema: gate.SchemaVersion, Gate: "burn-rate", Kind: "slo", Group: "slo", Required: true, Status: gate.StatusFail,
				Summary: "1 of 2 tenants over budget", Location: loc, StartedAt: t0, FinishedAt: t0.Add(2 * time.Second),
				Checks: []gate.Check{
					{Name: "5m burn rate", Tenant: "acme", Status: gate.StatusFail, Observed: gate.Number(3.1), Expected: "< 2",
						Message: "tenant acme: 5m burn rate 3.1 > 2; check ingest error spike since 14:02"},
					{Name: "5m burn rate", Tenant: "globex", Status: gate.StatusPass, Observed: gate.Number(0.4), Expected: "< 2", Message: "within bound"},
				}},
		}}
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		os.WriteFile(path, got, 0o644)
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (run with -update to accept):\n%s", path, got)
	}
}

// TestPublish runs the Actions runtime against real GITHUB_OUTPUT and
// GITHUB_STEP_SUMMARY files and checks the workflow commands it prints.
func TestPublish(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{
		"GITHUB_OUTPUT":       filepath.Join(dir, "output"),
		"GITHUB_STEP_SUMMARY": filepath.Join(dir, "summary"),
	}
	for _, f := range env {
		os.WriteFile(f, nil, 0o644)
	}
	var cmds bytes.Buffer
	rt := NewRuntime(&cmds, func(k string) string { return env[k] })
	rt.Mask([]string{"s3cr3t-token"})
	if err := rt.Publish(fixture()); err != nil {
		t.Fatal(err)
	}
	golden(t, "commands.golden", cmds.Bytes())
	summary, _ := os.ReadFile(env["GITHUB_STEP_SUMMARY"])
	golden(t, "summary.golden.md", summary)
	out, _ := os.ReadFile(env["GITHUB_OUTPUT"])
	if !strings.Contains(string(out), "status<<") || !strings.Contains(string(out), "\nfail\n") {
		t.Errorf("GITHUB_OUTPUT lacks status=fail:\n%s", out)
	}
	if !strings.Contains(string(out), `"schema":"releasegate.result/v1"`) {
		t.Errorf("GITHUB_OUTPUT lacks the result JSON:\n%s", out)
	}
}

// outputsOf parses a GITHUB_OUTPUT file: name<<DELIMITER lines, the value,
// and the delimiter again.
func outputsOf(t *testing.T, b []byte) map[string]string {
	t.Helper()
	out := map[string]string{}
	lines := strings.Split(string(b), "\n")
	for i := 0; i < len(lines); i++ {
		name, delim, ok := strings.Cut(lines[i], "<<")
		if !ok {
			continue
		}
		var value []string
		for i++; i < len(lines) && lines[i] != delim; i++ {
			value = append(value, lines[i])
		}
		out[name] = strings.Join(value, "\n")
	}
	return out
}

// TestPublishBoundsTheResultOutput: a report too large for a step output
// is given as each gate's status and summary, with a notice saying where
// the whole report is; one whose summaries alone are too large gives an
// empty result. The status output is the verdict in every case.
func TestPublishBoundsTheResultOutput(t *testing.T) {
	t.Parallel()
	manyChecks := fixture()
	for i := range 5000 {
		manyChecks.Results[1].Checks = append(manyChecks.Results[1].Checks, gate.Check{Name: "p95 latency", Tenant: fmt.Sprintf("t%04d", i),
			Status: gate.StatusPass, Message: "p95 latency 3.1ms (95% upper bound 4.2ms, rank 60 of 60 responses), expected <= 2000 ms"})
	}
	manyGates := fixture()
	for i := range 2000 {
		manyGates.Results = append(manyGates.Results, gate.Result{Schema: gate.SchemaVersion, Gate: fmt.Sprintf("gate-%d", i), Kind: "command",
			Status: gate.StatusPass, Summary: strings.Repeat("a long summary ", 5)})
	}
	cases := []struct {
		name        string
		rep         *gate.Report
		wantGates   int    // gates in the result output; 0: the output is empty
		wantChecks  bool   // whether the result output keeps the checks
		wantCommand string // a workflow command that must be printed
	}{
		{"a small report is the result output whole", fixture(), 2, true, ""},
		{"a report of 5,000 checks is the gates' statuses and summaries", manyChecks, 2, false, "::notice::the result output holds each gate's status and summary without its checks: the whole report is"},
		{"a report of 2,000 gates is not an output at all", manyGates, 0, false, "::notice::the result output is empty: even without checks the report is over the 64 KiB"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			env := map[string]string{"GITHUB_OUTPUT": filepath.Join(dir, "output"), "GITHUB_STEP_SUMMARY": filepath.Join(dir, "summary")}
			var cmds bytes.Buffer
			if err := NewRuntime(&cmds, func(k string) string { return env[k] }).Publish(tc.rep); err != nil {
				t.Fatal(err)
			}
			b, _ := os.ReadFile(env["GITHUB_OUTPUT"])
			outs := outputsOf(t, b)
			if outs["status"] != string(tc.rep.Status) {
				t.Errorf("expected the status output %s, found %q", tc.rep.Status, outs["status"])
			}
			if n := len(outs["result"]); n > MaxResultOutput {
				t.Errorf("expected a result output of at most %d bytes, found %d", MaxResultOutput, n)
			}
			if tc.wantCommand != "" && !strings.Contains(cmds.String(), tc.wantCommand) {
				t.Errorf("expected the workflow command %q, found:\n%.2000s", tc.wantCommand, cmds.String())
			}
			if tc.wantGates == 0 {
				if outs["result"] != "" {
					t.Errorf("expected an empty result output, found %d bytes", len(outs["result"]))
				}
				return
			}
			var got gate.Report
			if err := json.Unmarshal([]byte(outs["result"]), &got); err != nil {
				t.Fatalf("the result output is not a report: %v", err)
			}
			if got.Status != tc.rep.Status || len(got.Results) != tc.wantGates {
				t.Fatalf("expected status %s and %d gates, found %s and %d", tc.rep.Status, tc.wantGates, got.Status, len(got.Results))
			}
			for i, r := range got.Results {
				w := tc.rep.Results[i]
				if r.Gate != w.Gate || r.Status != w.Status || r.Summary != w.Summary {
					t.Errorf("gate %d: expected %s %s %q, found %s %s %q", i, w.Gate, w.Status, w.Summary, r.Gate, r.Status, r.Summary)
				}
				if hasChecks := len(r.Checks) > 0; hasChecks != tc.wantChecks {
					t.Errorf("gate %s: expected checks in the output %v, found %d", r.Gate, tc.wantChecks, len(r.Checks))
				}
			}
		})
	}
}

// TestPublishWithoutRunnerFiles: with GITHUB_ACTIONS=true but the runner's
// files unset or unwritable, Publish says so as an error (the library
// panics) and still prints the annotations.
func TestPublishWithoutRunnerFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cases := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"both unset", map[string]string{}, "GITHUB_OUTPUT (outputs status, result) and GITHUB_STEP_SUMMARY (the step summary) not set"},
		{"summary unset", map[string]string{"GITHUB_OUTPUT": filepath.Join(dir, "out")}, "GITHUB_STEP_SUMMARY (the step summary) not set"},
		{"output is a directory", map[string]string{"GITHUB_OUTPUT": dir, "GITHUB_STEP_SUMMARY": filepath.Join(dir, "sum")}, "writing to the runner's files failed"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var cmds bytes.Buffer
			err := NewRuntime(&cmds, func(k string) string { return tc.env[k] }).Publish(fixture())
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
			if tc.name != "output is a directory" && !strings.Contains(cmds.String(), "::error") {
				t.Errorf("annotations not printed:\n%s", cmds.String())
			}
		})
	}
}

// githubServer serves the two endpoints as GitHub documents them: "Create a
// check run" answers 201 with the check run, or 403 when checks are
// forbidden; "Create a commit status" answers 201.
type githubServer struct {
	mu           sync.Mutex
	forbidChecks bool
	requests     []string
	bodies       [][]byte
}

func (g *githubServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	g.mu.Lock()
	defer g.mu.Unlock()
	b, _ := io.ReadAll(r.Body)
	g.requests = append(g.requests, r.Method+" "+r.URL.Path+" auth="+r.Header.Get("Authorization"))
	g.bodies = append(g.bodies, b)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	switch {
	case r.URL.Path == "/repos/acme/shop/check-runs" && g.forbidChecks:
		w.WriteHeader(http.StatusForbidden)
		io.WriteString(w, `{"message":"Resource not accessible by integration","documentation_url":"https://docs.github.com/rest/checks/runs#create-a-check-run","status":"403"}`)
	case r.URL.Path == "/repos/acme/shop/check-runs":
		w.WriteHeader(http.StatusCreated)
		io.WriteString(w, `{"id":4,"head_sha":"ce587453ced02b1526dfb4cb910479d431683101","status":"completed","conclusion":"failure","name":"releasegate"}`)
	case strings.HasPrefix(r.URL.Path, "/repos/acme/shop/statuses/"):
		w.WriteHeader(http.StatusCreated)
		io.WriteString(w, `{"id":1,"state":"failure","context":"releasegate/burn-rate"}`)
	default:
		w.WriteHeader(http.StatusNotFound)
		io.WriteString(w, `{"message":"Not Found"}`)
	}
}

func checksFor(t *testing.T, srv *httptest.Server, token string) (*Checks, error) {
	env := map[string]string{"GITHUB_TOKEN": token, "GITHUB_API_URL": srv.URL, "GITHUB_REPOSITORY": "acme/shop",
		"GITHUB_SHA": "ce587453ced02b1526dfb4cb910479d431683101", "GITHUB_SERVER_URL": "https://github.com", "GITHUB_RUN_ID": "42"}
	return NewChecksFromEnv(func(k string) string { return env[k] }, srv.Client())
}

func TestCheckRunPayloads(t *testing.T) {
	gh := &githubServer{}
	srv := httptest.NewServer(gh)
	defer srv.Close()
	c, err := checksFor(t, srv, "ghs_test")
	if err != nil {
		t.Fatal(err)
	}
	rep := fixture()
	for i := range rep.Results {
		if err := c.Post(context.Background(), &rep.Results[i]); err != nil {
			t.Fatal(err)
		}
	}
	if len(gh.requests) != 2 || gh.requests[0] != "POST /repos/acme/shop/check-runs auth=Bearer ghs_test" {
		t.Fatalf("requests = %q", gh.requests)
	}
	var pretty bytes.Buffer
	for _, b := range gh.bodies {
		json.Indent(&pretty, b, "", "  ")
		pretty.WriteString("\n")
	}
	golden(t, "check-runs.golden.json", pretty.Bytes())
}

func TestFallbackToCommitStatus(t *testing.T) {
	gh := &githubServer{forbidChecks: true}
	srv := httptest.NewServer(gh)
	defer srv.Close()
	c, _ := checksFor(t, srv, "ghs_test")
	var logs []string
	c.Logf = func(f string, a ...any) { logs = append(logs, f) }
	r := fixture().Results[1]
	if err := c.Post(context.Background(), &r); err != nil {
		t.Fatal(err)
	}
	if len(gh.requests) != 2 || !strings.HasPrefix(gh.requests[1], "POST /repos/acme/shop/statuses/ce587453") {
		t.Fatalf("requests = %q", gh.requests)
	}
	var st map[string]any
	json.Unmarshal(gh.bodies[1], &st)
	if st["state"] != "failure" || st["context"] != "releasegate/burn-rate" || st["target_url"] != "https://github.com/acme/shop/actions/runs/42" {
		t.Errorf("commit status = %v", st)
	}
	if len(logs) != 1 {
		t.Errorf("fallback not logged once: %q", logs)
	}
}

func TestNoToken(t *testing.T) {
	srv := httptest.NewServer(&githubServer{})
	defer srv.Close()
	if _, err := checksFor(t, srv, ""); !errors.Is(err, ErrNoToken) {
		t.Errorf("err = %v, want ErrNoToken", err)
	}
}

func TestConclusions(t *testing.T) {
	for _, tt := range []struct {
		s          gate.Status
		req        bool
		conclusion string
		state      string
	}{
		{gate.StatusPass, true, "success", "success"},
		{gate.StatusWarn, true, "neutral", "success"},
		{gate.StatusSkip, true, "skipped", "success"},
		{gate.StatusFail, true, "failure", "failure"},
		{gate.StatusError, true, "failure", "error"},
		{gate.StatusFail, false, "neutral", "success"},
	} {
		r := &gate.Result{Status: tt.s, Required: tt.req}
		if got := conclusion(r); got != tt.conclusion {
			t.Errorf("Conclusion(%s, required=%v) = %s, want %s", tt.s, tt.req, got, tt.conclusion)
		}
		if got := statusState(r); got != tt.state {
			t.Errorf("StatusState(%s, required=%v) = %s, want %s", tt.s, tt.req, got, tt.state)
		}
	}
}
