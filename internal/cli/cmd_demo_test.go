package cli

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/maestro-conductor/releasegate/internal/gates/all"
)

func demoIO() (*IO, *bytes.Buffer, *bytes.Buffer) {
	var out, errb bytes.Buffer
	return &IO{Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" },
		LookupEnv: func(string) (string, bool) { return "", false }}, &out, &errb
}

// TestDemoPolicies runs the example policies against the in-process demo
// service on embedded defaults (SQLite ledger, metrics file, local keys):
// the passing one exits 0 with a verified PASSED evidence bundle and the
// checklist, the failing one 1 with the slow job killed at its deadline and
// a bundle that records FAILED.
func TestDemoPolicies(t *testing.T) {
	tests := []struct {
		name     string
		policy   string
		code     int
		inOut    []string
		inStderr []string
	}{
		{"the demo policy passes", "../../examples/demo/release-policy.yml", ExitOK,
			[]string{"19 gates: 19 pass", "✅ PASSED  ledger-chain", "✅ PASSED  unit-tests", "3 tenant chains intact, 3003 entries", "✅ PASSED  slsa-provenance",
				"# Release checklist: demo-service v1.4.0", "**Result: PASSED ✅**",
				"- [x] ✅ **5m burn rate**: acme 0.1× · globex 0.4× · initech 0× — _error-budget_", "- [x] ✅ **Rekor log index**: gha_generic-binary-linux-amd64-v14 174298180 — _slsa-provenance_",
				"- [ ] ➖ **Canary latency delta**: not checked by this policy", "| Release manager | _____ | _____ | _____ |",
				"- [x] ✅ **Functional test results (passing)**: 54 — _unit-tests_", "`tests_passed: true`; gates unit-tests ✅; 54 passing",
				"in the bundle as `inputs/unit-tests/go-test.json`", "`sbom_scan_passed: true`", "`security_scan_passed: true`",
				"in the bundle as `inputs/vulnerabilities/example-package.openvex.json`", "in the bundle as `inputs/sbom/centos-7.cdx.json`"},
			[]string{"verificationResult: PASSED", "PASSED: signature"}},
		{"the failing demo policy blocks the release on the slow job", "../../examples/demo/failing-policy.yml", ExitFail,
			[]string{"ran past its deadline of 1s and was killed", "**Result: FAILED ❌**", "- [ ] ❌ **RTBF seconds**: ", "❌ — _rtbf-job_"},
			[]string{"verificationResult: FAILED", "PASSED: signature"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, out, errb := demoIO()
			dir := t.TempDir()
			code := o.Main(context.Background(), []string{"demo", "--policy", tt.policy, "--checks", "never", "--workdir", dir})
			if code != tt.code {
				t.Errorf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.code, out, errb)
			}
			for _, want := range tt.inOut {
				if !strings.Contains(out.String(), want) {
					t.Errorf("stdout lacks %q:\n%s", want, out)
				}
			}
			for _, want := range tt.inStderr {
				if !strings.Contains(errb.String(), want) {
					t.Errorf("stderr lacks %q:\n%s", want, errb)
				}
			}
			for _, f := range []string{"ledger.db", "ledger.pub", "evidence.pub", "results/report.json", "evidence/evidence-v1.4.0.tar.gz"} {
				if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
					t.Errorf("expected --workdir to keep %s: %v", f, err)
				}
			}
		})
	}
}

// The demo's alert rules are generated from its slo gate; regenerate them
// with `releasegate slo rules` when the policy changes.
func TestDemoRulesAreGenerated(t *testing.T) {
	want, err := os.ReadFile("../../examples/demo/rules/slo-rules.yml")
	if err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{"DEMO_URL": "http://127.0.0.1:1", "DEMO_LEDGER_DB": "sqlite:x", "DEMO_LEDGER_PUB": "x"}
	var out, errb bytes.Buffer
	o := &IO{Stdout: &out, Stderr: &errb, Getenv: func(k string) string { return vars[k] },
		LookupEnv: func(k string) (string, bool) { v, ok := vars[k]; return v, ok }}
	got := filepath.Join(t.TempDir(), "rules.yml")
	if code := o.Main(context.Background(), []string{"slo", "rules", "--policy", "../../examples/demo/release-policy.yml", "--out", got}); code != ExitOK {
		t.Fatalf("slo rules: exit %d\n%s", code, errb.String())
	}
	b, _ := os.ReadFile(got)
	if !bytes.Equal(b, want) {
		t.Errorf("examples/demo/rules/slo-rules.yml is out of date; regenerate it:\n  DEMO_URL=x DEMO_LEDGER_DB=sqlite:x DEMO_LEDGER_PUB=x releasegate slo rules --policy examples/demo/release-policy.yml --out examples/demo/rules/slo-rules.yml")
	}
}

func TestDemoBadInput(t *testing.T) {
	for name, args := range map[string][]string{
		"a non-loopback address": {"demo", "serve", "--addr", "0.0.0.0:0"},
		"an unknown flag":        {"demo", "serve", "--port", "1"},
		"a stray argument":       {"demo", "start"},
		"a missing policy":       {"demo", "--policy", "no-such-policy.yml"},
		"a negative duration":    {"demo", "serve", "--for", "-1s"},
	} {
		t.Run(name, func(t *testing.T) {
			o, _, errb := demoIO()
			if code := o.Main(context.Background(), args); code != ExitBadInput {
				t.Errorf("exit %d, want %d; stderr %s", code, ExitBadInput, errb)
			}
		})
	}
}

// syncBuffer lets the test read stdout while the command writes it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestDemoServe: the URL is the first line of stdout, the service answers
// there, and --for stops it.
func TestDemoServe(t *testing.T) {
	out := &syncBuffer{}
	o := &IO{Stdout: out, Stderr: io.Discard, Getenv: func(string) string { return "" }}
	done := make(chan int, 1)
	go func() { done <- o.Main(context.Background(), []string{"demo", "serve", "--for", "2s"}) }()
	var url string
	for deadline := time.Now().Add(5 * time.Second); url == "" && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if line, err := bufio.NewReader(strings.NewReader(out.String())).ReadString('\n'); err == nil {
			url = strings.TrimSpace(line)
		}
	}
	if !strings.HasPrefix(url, "http://127.0.0.1:") {
		t.Fatalf("first line %q is not the service URL", url)
	}
	resp, err := http.Get(url + "/health")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("/health = %d", resp.StatusCode)
	}
	select {
	case code := <-done:
		if code != ExitOK {
			t.Errorf("exit %d", code)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("demo serve --for 2s did not stop")
	}
}

// TestDemoStandsAlone builds the binary and runs `releasegate demo` from an
// empty directory, as anyone who installed or downloaded the binary would:
// the embedded demo policy passes, the embedded failing one blocks the
// release, and nothing is left in the directory it ran from.
func TestDemoStandsAlone(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	t.Parallel()
	bin := os.Getenv("RELEASEGATE_BIN")
	if bin == "" {
		bin = filepath.Join(t.TempDir(), "releasegate")
		build := exec.Command("go", "build", "-o", bin, "./cmd/releasegate")
		build.Dir = "../.."
		if out, err := build.CombinedOutput(); err != nil {
			t.Fatalf("go build: %v\n%s", err, out)
		}
	} else if abs, err := filepath.Abs(bin); err == nil {
		bin = abs
	}
	for _, tc := range []struct {
		args []string
		code int
		says string
	}{
		{[]string{"demo", "--checks", "never"}, ExitOK, "**Result: PASSED ✅**"},
		{[]string{"demo", "--checks", "never", "--policy", "failing-policy.yml"}, ExitFail, "**Result: FAILED ❌**"},
		// a relative --workdir is where the user ran it, not the policy's directory
		{[]string{"demo", "--checks", "never", "--workdir", "demo-out"}, ExitOK, "**Result: PASSED ✅**"},
	} {
		empty := t.TempDir()
		cmd := exec.Command(bin, tc.args...)
		cmd.Dir = empty
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "TMPDIR=" + t.TempDir()}
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		if code != tc.code || !strings.Contains(out.String(), tc.says) {
			t.Errorf("%v from an empty directory: expected exit %d with %q, found exit %d\nstdout:\n%s\nstderr:\n%s", tc.args, tc.code, tc.says, code, out.String(), errb.String())
		}
		kept := ""
		if slices.Contains(tc.args, "--workdir") {
			kept = tc.args[slices.Index(tc.args, "--workdir")+1]
			if _, err := os.Stat(filepath.Join(empty, kept, "ledger.db")); err != nil {
				t.Errorf("%v: expected the ledger kept in %s where it ran: %v", tc.args, kept, err)
			}
		}
		if left, _ := os.ReadDir(empty); len(left) > 1 || (len(left) == 1 && left[0].Name() != kept) {
			t.Errorf("%v: expected nothing written where it ran but --workdir, found %v", tc.args, left)
		}
	}
}
