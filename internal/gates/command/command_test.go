package commandgate

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/maestro-conductor/releasegate/internal/gate"
	"github.com/maestro-conductor/releasegate/internal/gates/command/jsonpath"
	"github.com/maestro-conductor/releasegate/internal/policy"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/command")

const goldenDir = "../../../testdata/command"

func intp(i int) *int       { return &i }
func strp(s string) *string { return &s }
func cond(s string) *policy.Condition {
	c := policy.MustCondition(s)
	return &c
}

func run(t *testing.T, s spec) *gate.Result {
	t.Helper()
	g, err := buildGate(gate.Meta{ID: "job", Kind: kind, Group: "jobs", Required: true}, s, gate.Env{PolicyDir: t.TempDir()})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	res, err := evaluate(context.Background(), g)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	return res
}

func checkNamed(t *testing.T, res *gate.Result, name string) gate.Check {
	t.Helper()
	for _, c := range res.Checks {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no check %q in %+v", name, res.Checks)
	return gate.Check{}
}

func TestCommandGate(t *testing.T) {
	t.Parallel()
	rtbf := `echo '{"erased": 10000000, "remaining": 0, "tables": [{"name": "users", "ok": true}]}'`
	tests := []struct {
		name    string
		spec    spec
		status  gate.Status
		check   string      // a check to inspect
		cstatus gate.Status // its status
		inMsg   string      // text its message must contain
	}{
		{"a job that exits 0 within its deadline passes",
			spec{Run: []string{"true"}, Deadline: policy.Duration(5 * time.Second)},
			gate.StatusPass, "deadline", gate.StatusPass, "within its deadline of 5s"},
		{"a job that exits non-zero fails and shows the tail of stderr",
			spec{Shell: "echo progress; echo 'connection refused: db:5432' >&2; exit 3"},
			gate.StatusFail, "exit code", gate.StatusFail, "expected exit status 0, found 3; see the output of sh -c \"echo progress; echo 'connection refused: db:5432' >&2; exit 3\"; stderr ends with: connection refused: db:5432"},
		{"an expected non-zero exit code passes",
			spec{Shell: "exit 4", Expect: expect{ExitCode: intp(4)}},
			gate.StatusPass, "exit code", gate.StatusPass, "exited 4 as expected"},
		{"json output meeting its thresholds passes",
			spec{Shell: rtbf, Expect: expect{JSON: []jsonpath.Expect{
				{Path: jsonpath.MustParse(".erased"), Condition: cond(">= 10000000")},
				{Path: jsonpath.MustParse(".tables[0].ok"), Equals: strp("true")},
			}}},
			gate.StatusPass, "json .erased", gate.StatusPass, ".erased = 10000000 meets >= 10000000"},
		{"json output below its threshold fails with the observed value",
			spec{Shell: `echo '{"erased": 9999999}'`, Expect: expect{JSON: []jsonpath.Expect{
				{Path: jsonpath.MustParse(".erased"), Condition: cond(">= 10000000")}}}},
			gate.StatusFail, "json .erased", gate.StatusFail, "expected .erased >= 10000000, found 9999999"},
		{"a missing json field fails, never passes",
			spec{Shell: `echo '{"erased": 1}'`, Expect: expect{JSON: []jsonpath.Expect{
				{Path: jsonpath.MustParse(".remaining"), Condition: cond("== 0")}}}},
			gate.StatusFail, "json .remaining", gate.StatusFail, "key .remaining is missing"},
		{"output that is not json fails the json checks",
			spec{Shell: `echo 'done: 10M rows'`, Expect: expect{JSON: []jsonpath.Expect{
				{Path: jsonpath.MustParse(".erased"), Condition: cond(">= 1")}}}},
			gate.StatusFail, "json .erased", gate.StatusFail, "stdout is not JSON"},
		{"no output at all fails the json checks",
			spec{Run: []string{"true"}, Expect: expect{JSON: []jsonpath.Expect{
				{Path: jsonpath.MustParse(".erased"), Condition: cond(">= 1")}}}},
			gate.StatusFail, "json .erased", gate.StatusFail, "it printed nothing"},
		{"a string where a number is expected fails",
			spec{Shell: `echo '{"erased": "lots"}'`, Expect: expect{JSON: []jsonpath.Expect{
				{Path: jsonpath.MustParse(".erased"), Condition: cond(">= 1")}}}},
			gate.StatusFail, "json .erased", gate.StatusFail, "expected .erased to be a number >= 1, found a string \"lots\""},
		{"stdout containing the expected text passes",
			spec{Shell: "echo 'kill switch: armed'", Expect: expect{StdoutContains: "armed"}},
			gate.StatusPass, "stdout contains", gate.StatusPass, `stdout contains "armed"`},
		{"stdout without the expected text fails and shows what it printed",
			spec{Shell: "echo 'kill switch: disarmed'", Expect: expect{StdoutContains: "switch: armed"}},
			gate.StatusFail, "stdout contains", gate.StatusFail, "stdout ends with: kill switch: disarmed"},
		{"a command not on PATH fails with the reason",
			spec{Run: []string{"releasegate-no-such-program", "--dry-run"}},
			gate.StatusFail, "command", gate.StatusFail, "releasegate-no-such-program was not found on PATH"},
		{"a relative program that does not exist fails with its path",
			spec{Run: []string{"./bin/rtbf"}},
			gate.StatusFail, "command", gate.StatusFail, "bin/rtbf does not exist"},
		{"a command killed by a signal fails",
			spec{Shell: "kill -9 $$"},
			gate.StatusFail, "exit code", gate.StatusFail, "ended by a signal"},
		{"a command past its deadline is killed and fails saying how long it ran",
			spec{Run: []string{"sleep", "30"}, Deadline: policy.Duration(200 * time.Millisecond)},
			gate.StatusFail, "deadline", gate.StatusFail, "to finish within 200ms, but it ran"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res := run(t, tt.spec)
			if res.Status != tt.status {
				t.Errorf("status = %s, want %s; summary %q; checks %+v", res.Status, tt.status, res.Summary, res.Checks)
			}
			c := checkNamed(t, res, tt.check)
			if c.Status != tt.cstatus {
				t.Errorf("check %q status = %s, want %s (%s)", tt.check, c.Status, tt.cstatus, c.Message)
			}
			if !strings.Contains(c.Message, tt.inMsg) {
				t.Errorf("check %q message = %q, want it to contain %q", tt.check, c.Message, tt.inMsg)
			}
		})
	}
}

// TestDeadlineKillsChildren proves the whole process group dies at the
// deadline: the command starts a sleeping child that would outlive it.
func TestDeadlineKillsChildren(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "child.pid")
	start := time.Now()
	res := run(t, spec{Shell: `sleep 60 & echo $! > "$PIDFILE"; wait`, Env: map[string]string{"PIDFILE": pidFile},
		Deadline: policy.Duration(300 * time.Millisecond)})
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("the gate took %s; the deadline was 300ms", took)
	}
	if res.Status != gate.StatusFail {
		t.Fatalf("status = %s, want fail", res.Status)
	}
	if c := checkNamed(t, res, "exit code"); c.Status != gate.StatusSkip {
		t.Errorf("exit code check = %s, want skip after a kill", c.Status)
	}
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(3 * time.Second)
	for alive(pid) {
		if time.Now().After(deadline) {
			syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("child %d of the timed-out command is still running", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestDeadlineKillsChildrenThatIgnoreSIGTERM: a group that ignores SIGTERM
// is sent SIGKILL after the grace period.
func TestDeadlineKillsChildrenThatIgnoreSIGTERM(t *testing.T) {
	t.Parallel()
	pidFile := filepath.Join(t.TempDir(), "child.pid")
	g, err := buildGate(gate.Meta{ID: "job", Kind: kind, Group: "jobs", Required: true}, spec{Shell: `trap '' TERM; sleep 60 & echo $! > "$PIDFILE"; wait; wait`, Env: map[string]string{"PIDFILE": pidFile},
		Deadline: policy.Duration(200 * time.Millisecond)}, gate.Env{PolicyDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if g.grace != killGrace {
		t.Errorf("grace %s, want killGrace %s by default", g.grace, killGrace)
	}
	g.grace = 300 * time.Millisecond // the real 2s, shortened: the field is the gate's own
	start := time.Now()
	res, err := evaluate(context.Background(), g)
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took < g.grace || took > g.grace+5*time.Second {
		t.Errorf("took %s; want the deadline plus the %s grace", took, g.grace)
	}
	if res.Status != gate.StatusFail {
		t.Fatalf("status = %s", res.Status)
	}
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	for deadline := time.Now().Add(3 * time.Second); alive(pid); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("child %d survived SIGKILL escalation", pid)
		}
	}
}

// alive reports whether pid runs; a zombie (killed, not yet reaped by
// init) counts as dead.
func alive(pid int) bool {
	if err := syscall.Kill(pid, 0); err != nil {
		return false
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return err != nil && !os.IsNotExist(err)
	}
	_, rest, _ := strings.Cut(string(b), ") ")
	return !strings.HasPrefix(rest, "Z")
}

// TestGateTimeoutIsAnError: when the run stops the gate (its timeout),
// the gate could not be evaluated: an error wrapping ErrTimeout, and the
// command is killed.
func TestGateTimeoutIsAnError(t *testing.T) {
	t.Parallel()
	g, err := buildGate(gate.Meta{ID: "job"}, spec{Run: []string{"sleep", "30"}}, gate.Env{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = evaluate(ctx, g)
	if !errors.Is(err, gate.ErrTimeout) {
		t.Fatalf("err = %v, want ErrTimeout", err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("took %s", took)
	}
}

// TestCancelledRunIsAnError: when the run is cancelled from outside (a
// signal), the gate could not be evaluated: an error wrapping ErrCancelled
// that names the signal and does not blame the timeout, and the command and
// its children are killed.
func TestCancelledRunIsAnError(t *testing.T) {
	t.Parallel()
	pidFile := filepath.Join(t.TempDir(), "child.pid")
	g, err := buildGate(gate.Meta{ID: "job", Timeout: time.Hour},
		spec{Shell: `sleep 60 & echo $! > "$PIDFILE"; wait`, Env: map[string]string{"PIDFILE": pidFile}}, gate.Env{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancelCause(context.Background())
	go func() {
		for {
			if _, err := os.Stat(pidFile); err == nil {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		cancel(fmt.Errorf("%w by SIGHUP", gate.ErrCancelled))
	}()
	_, err = evaluate(ctx, g)
	if !errors.Is(err, gate.ErrCancelled) || errors.Is(err, gate.ErrTimeout) {
		t.Fatalf("err = %v, want ErrCancelled and not ErrTimeout", err)
	}
	if msg := err.Error(); !strings.Contains(msg, "cancelled by SIGHUP") || strings.Contains(msg, "raise the gate's timeout") {
		t.Errorf("message %q: want it to name the signal and not advise a timeout", msg)
	}
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	for deadline := time.Now().Add(3 * time.Second); alive(pid); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("child %d of the cancelled command is still running", pid)
		}
	}
}

// TestLingeringChildDoesNotHoldTheGate: a command that exits but leaves a
// child holding its stdout is judged promptly, and the child is stopped.
func TestLingeringChildDoesNotHoldTheGate(t *testing.T) {
	t.Parallel()
	start := time.Now()
	res := run(t, spec{Shell: "sleep 30 & echo started", Expect: expect{StdoutContains: "started"}})
	if res.Status != gate.StatusPass {
		t.Errorf("status = %s: %+v", res.Status, res.Checks)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("took %s; a lingering child held the gate", took)
	}
}

func TestSecretsAreNeverEchoed(t *testing.T) {
	t.Parallel()
	const token = "s3cr3t-t0ken-value"
	res := run(t, spec{Shell: `echo "using $API_TOKEN and $DB_PASS" >&2; echo "{\"t\": \"$DB_PASS\"}"; exit 1`,
		Env:       map[string]string{"API_TOKEN": token},
		SecretEnv: map[string]string{"DB_PASS": "hunter2-pass"},
		Expect:    expect{JSON: []jsonpath.Expect{{Path: jsonpath.MustParse(".t"), Equals: strp("x")}}}})
	b, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{token, "hunter2-pass"} {
		if strings.Contains(string(b), s) {
			t.Errorf("secret %q appears in the result: %s", s, b)
		}
	}
	if !strings.Contains(string(b), "using *** and ***") {
		t.Errorf("expected the masked stderr in the result: %s", b)
	}
}

func TestInputsDigestTheExecutable(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	prog := filepath.Join(dir, "job.sh")
	if err := os.WriteFile(prog, []byte("#!/bin/sh\necho ok\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	g, err := buildGate(gate.Meta{ID: "job"}, spec{Run: []string{"./job.sh"}}, gate.Env{PolicyDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	res, err := evaluate(context.Background(), g)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte("#!/bin/sh\necho ok\n"))
	want := "sha256:" + hex.EncodeToString(sum[:])
	if len(res.Inputs) != 1 || res.Inputs[0].Name != prog || res.Inputs[0].Digest != want {
		t.Fatalf("inputs = %+v", res.Inputs)
	}
	if res.Status != gate.StatusPass {
		t.Errorf("status = %s", res.Status)
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		spec  spec
		field string
	}{
		{"no command at all", spec{}, "run"},
		{"both run and shell", spec{Run: []string{"true"}, Shell: "true"}, "shell"},
		{"an empty program name", spec{Run: []string{""}}, "run[0]"},
		{"an exit code out of range", spec{Run: []string{"true"}, Expect: expect{ExitCode: intp(300)}}, "expect.exit-code"},
		{"a bad env name", spec{Run: []string{"true"}, Env: map[string]string{"A-B": "1"}}, "env.A-B"},
		{"json without condition or equals", spec{Run: []string{"true"}, Expect: expect{JSON: []jsonpath.Expect{{Path: jsonpath.MustParse(".a")}}}}, "expect.json[0]"},
		{"json with a relative condition", spec{Run: []string{"true"}, Expect: expect{JSON: []jsonpath.Expect{{Path: jsonpath.MustParse(".a"), Condition: cond("<= baseline * 2")}}}}, "expect.json[0].condition"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			errs := tt.spec.Validate()
			if len(errs) != 1 {
				t.Fatalf("errors = %v, want one", errs)
			}
			var fe *policy.FieldError
			if !errors.As(errs[0], &fe) || fe.Field != tt.field {
				t.Errorf("error %v, want a FieldError at %s", errs[0], tt.field)
			}
			if _, err := buildGate(gate.Meta{ID: "x"}, tt.spec, gate.Env{}); !errors.Is(err, gate.ErrBadInput) {
				t.Errorf("New: err = %v, want ErrBadInput", err)
			}
		})
	}
}

func TestDeadlineMustBeBelowTheGateTimeout(t *testing.T) {
	t.Parallel()
	_, err := buildGate(gate.Meta{ID: "rtbf", Timeout: 10 * time.Minute}, spec{Run: []string{"true"}, Deadline: policy.Duration(2 * time.Hour)}, gate.Env{})
	if !errors.Is(err, gate.ErrBadInput) || !strings.Contains(err.Error(), "timeout: 2h5m0s") {
		t.Errorf("err = %v, want bad input suggesting a timeout", err)
	}
	if _, err := buildGate(gate.Meta{ID: "rtbf", Timeout: 3 * time.Hour}, spec{Run: []string{"true"}, Deadline: policy.Duration(2 * time.Hour)}, gate.Env{}); err != nil {
		t.Errorf("a deadline below the timeout was refused: %v", err)
	}
}

// TestPolicyDecoding decodes a command gate from a policy the way the CLI
// does, so the yaml keys and the Validate field paths stay true.
func TestPolicyDecoding(t *testing.T) {
	t.Parallel()
	src := `version: 1
gates:
  - id: rtbf
    kind: command
    with:
      run: [./bin/rtbf, --dry-run]
      deadline: 2h
      secret-env: {DB_PASSWORD: hunter2-pass}
      expect:
        exit-code: 0
        json:
          - {path: .erased, condition: ">= 10000000"}
          - {path: .remaining}
        stdout-contains: done
`
	_, err := policy.Parse("p.yml", []byte(src), policy.Options{LookupEnv: func(string) (string, bool) { return "", false }})
	if err == nil || !strings.Contains(err.Error(), "p.yml:13:13: gates[0].with.expect.json[1]: needs condition or equals") {
		t.Fatalf("err = %v", err)
	}
	src = strings.Replace(src, "{path: .remaining}", "{path: .remaining, equals: \"0\"}", 1)
	p, err := policy.Parse("p.yml", []byte(src), policy.Options{LookupEnv: func(string) (string, bool) { return "", false }})
	if err != nil {
		t.Fatal(err)
	}
	s := p.Gates[0].Spec.(*spec)
	if s.Deadline.D() != 2*time.Hour || s.Expect.JSON[0].Path.String() != ".erased" || len(p.Secrets) != 1 {
		t.Errorf("decoded %+v, secrets %d", s, len(p.Secrets))
	}
}

var elapsedRE = regexp.MustCompile(`(finished in|it ran|check\(s\) in) [0-9.]+(ns|µs|ms|s)`)

// normalise removes what changes between runs: timings and local paths.
func normalise(r *gate.Result) {
	r.StartedAt, r.FinishedAt, r.DurationMS = time.Time{}, time.Time{}, 0
	if r.Details != nil {
		r.Details["duration_ms"] = 0
	}
	for i := range r.Inputs {
		r.Inputs[i].Name = filepath.Base(r.Inputs[i].Name)
		r.Inputs[i].Digest = "sha256:…"
	}
	for i := range r.Checks {
		c := &r.Checks[i]
		c.Message = elapsedRE.ReplaceAllString(c.Message, "$1 <elapsed>")
		if c.Name == "deadline" {
			c.Observed = gate.Text("<elapsed>")
		}
	}
	r.Summary = elapsedRE.ReplaceAllString(r.Summary, "$1 <elapsed>")
}

func TestGoldenResults(t *testing.T) {
	t.Parallel()
	tests := map[string]spec{
		"pass": {Shell: `echo '{"erased": 10000000, "remaining": 0}'`, Deadline: policy.Duration(2 * time.Hour),
			Expect: expect{JSON: []jsonpath.Expect{
				{Path: jsonpath.MustParse(".erased"), Condition: cond(">= 10000000")},
				{Path: jsonpath.MustParse(".remaining"), Equals: strp("0")}}, StdoutContains: "erased"}},
		"fail": {Shell: `echo '{"erased": 12}'; echo 'stopped: lock timeout' >&2; exit 2`,
			Expect: expect{JSON: []jsonpath.Expect{{Path: jsonpath.MustParse(".erased"), Condition: cond(">= 10000000")}}}},
		"deadline": {Run: []string{"sleep", "30"}, Deadline: policy.Duration(100 * time.Millisecond),
			Expect: expect{StdoutContains: "done"}},
		"missing": {Run: []string{"releasegate-no-such-program"}},
	}
	for name, spec := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			res := run(t, spec)
			normalise(res)
			var buf bytes.Buffer
			enc := json.NewEncoder(&buf)
			enc.SetEscapeHTML(false)
			enc.SetIndent("", "  ")
			if err := enc.Encode(res); err != nil {
				t.Fatal(err)
			}
			got := buf.Bytes()
			path := filepath.Join(goldenDir, name+".json.golden")
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update)", err)
			}
			if string(got) != string(want) {
				t.Errorf("result differs from %s (run go test -update to accept):\n%s", path, got)
			}
		})
	}
}

func TestTenantIsOnEveryCheck(t *testing.T) {
	t.Parallel()
	res := run(t, spec{Tenant: "acme", Shell: `echo '{"erased": 1}'`, Deadline: policy.Duration(time.Minute),
		Expect: expect{JSON: []jsonpath.Expect{{Path: jsonpath.MustParse(".erased"), Condition: cond(">= 1")}}}})
	if len(res.Checks) != 3 {
		t.Fatalf("checks = %+v", res.Checks)
	}
	for _, c := range res.Checks {
		if c.Tenant != "acme" {
			t.Errorf("check %q has tenant %q, want acme", c.Name, c.Tenant)
		}
	}
}

func TestLongCommandsAreShortenedInMessages(t *testing.T) {
	t.Parallel()
	script := "exit 1 # " + strings.Repeat("x", 200)
	res := run(t, spec{Shell: script})
	if len([]rune(res.Summary)) > 140 || !strings.Contains(res.Summary, "…") {
		t.Errorf("summary not shortened: %q", res.Summary)
	}
	if d, _ := res.Details["command"].(string); !strings.Contains(d, strings.Repeat("x", 200)) {
		t.Errorf("details lost the full command: %q", d)
	}
}

// A policy loaded by a relative path gives a relative policy directory; a
// ./script in run[0] is found there and started once, not resolved twice.
func TestRelativePolicyDir(t *testing.T) {
	dir := t.TempDir()
	// written before t.Parallel: a fork in a parallel test could otherwise
	// hold the file open for writing and make its exec fail (ETXTBSY)
	if err := os.WriteFile(filepath.Join(dir, "job.sh"), []byte("#!/bin/sh\necho ok\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Parallel()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	rel, err := filepath.Rel(wd, dir)
	if err != nil {
		t.Skipf("no relative path from %s to %s: %v", wd, dir, err)
	}
	g, err := buildGate(gate.Meta{ID: "job"}, spec{Run: []string{"./job.sh"}, Expect: expect{StdoutContains: "ok"}}, gate.Env{PolicyDir: rel})
	if err != nil {
		t.Fatal(err)
	}
	res, err := evaluate(context.Background(), g)
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != gate.StatusPass {
		t.Errorf("expected pass for ./job.sh in the relative policy dir %s, found %s: %s %+v", rel, res.Status, res.Summary, res.Checks)
	}
}
