package cli

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/maestro-conductor/releasegate/internal/policy"
)

// subcommandRE finds the subcommands a command's usage lists:
// "releasegate ledger root", "releasegate evidence create", …
var subcommandRE = regexp.MustCompile(`releasegate ([a-z-]+) ([a-z][a-z-]*)`)

// TestEveryHelpExits0 runs --help, -h and -help on every command and on
// every subcommand its usage lists: each exits 0 and prints a usage.
func TestEveryHelpExits0(t *testing.T) {
	t.Parallel()
	lines := map[string]bool{}
	for _, c := range commandTable() {
		lines[c.Name] = true
		for _, m := range subcommandRE.FindAllStringSubmatch(c.Usage, -1) {
			if m[1] == c.Name {
				lines[c.Name+" "+m[2]] = true
			}
		}
	}
	var all []string
	for l := range lines {
		all = append(all, l)
	}
	sort.Strings(all)
	for _, want := range []string{"evidence create", "evidence verify", "evidence keygen", "ledger root", "ledger verify-root", "policy check", "slo rules", "synthetic merge", "demo serve"} {
		if !lines[want] {
			t.Errorf("the usages list no %q; the test would not cover it (found %v)", want, all)
		}
	}
	for _, l := range all {
		for _, h := range []string{"--help", "-h", "-help"} {
			args := append(strings.Fields(l), h)
			r := runCLI(t, nil, args...)
			if r.code != ExitOK {
				t.Errorf("releasegate %s: exit %d, want 0; stderr:\n%s", strings.Join(args, " "), r.code, r.stderr)
				continue
			}
			if !strings.Contains(r.stdout+r.stderr, "Usage") {
				t.Errorf("releasegate %s: exit 0 but no usage printed:\n%s%s", strings.Join(args, " "), r.stdout, r.stderr)
			}
		}
	}
}

// TestHostileInputFiles gives every kind of input flag a path that is not
// a small regular file — a device, a FIFO, a directory, a symlink to a
// device, a file over the limit — and checks each command exits 2 at once
// with a message that says what the path is, and that nothing was run.
func TestHostileInputFiles(t *testing.T) {
	t.Parallel()
	if runtime.GOOS == "windows" {
		t.Skip("devices and FIFOs are Unix paths")
	}
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	devLink := filepath.Join(dir, "release-policy.yml")
	if err := os.Symlink("/dev/zero", devLink); err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(dir, "big.yml")
	body := append([]byte("version: 1\ngates: []\n#"), bytes.Repeat([]byte("x"), policy.MaxFileSize)...)
	if err := os.WriteFile(big, body, 0o600); err != nil {
		t.Fatal(err)
	}
	// a results directory whose one result is a FIFO
	results := filepath.Join(dir, "results")
	if err := os.Mkdir(results, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(results, "gate.json"), 0o600); err != nil {
		t.Fatal(err)
	}
	notRegular := "not a regular file"
	tests := []struct {
		args []string
		says string
	}{
		{[]string{"policy", "check", "--policy", "/dev/zero"}, "policy is a character device, " + notRegular},
		{[]string{"policy", "check", "--policy", fifo}, "policy is a named pipe (FIFO), " + notRegular},
		{[]string{"policy", "check", "--policy", dir}, "policy is a directory, " + notRegular},
		{[]string{"policy", "check", "--policy", devLink}, "policy is a character device, " + notRegular},
		{[]string{"policy", "check", "--policy", big}, fmt.Sprintf("policy larger than %d bytes", policy.MaxFileSize)},
		{[]string{"run", "--policy", fifo}, "named pipe (FIFO), " + notRegular},
		{[]string{"run", "--policy", "/dev/zero"}, "character device, " + notRegular},
		{[]string{"check-slo", "--policy", fifo}, "named pipe (FIFO), " + notRegular},
		{[]string{"ledger", "verify-root", "--checkpoint", fifo, "--pub", fifo}, "--checkpoint: is a named pipe (FIFO), " + notRegular},
		{[]string{"evidence", "verify", "--key", fifo, filepath.Join(dir, "evidence.tar.gz")}, "named pipe (FIFO), " + notRegular},
		{[]string{"evidence", "verify", "--key", "/dev/zero", filepath.Join(dir, "evidence.tar.gz")}, "character device, " + notRegular},
		{[]string{"evidence", "create", "--results", results, "--key", fifo, "--out", filepath.Join(dir, "out")}, "gate.json: is a named pipe (FIFO), " + notRegular},
		{[]string{"checklist", "--results", results}, "gate.json: is a named pipe (FIFO), " + notRegular},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			t.Parallel()
			done := make(chan run, 1)
			go func() { done <- runCLI(t, nil, tt.args...) }()
			var r run
			select {
			case r = <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("still running after 10s: the input blocked or is being read without a limit")
			}
			if r.code != ExitBadInput {
				t.Errorf("exit %d, want %d; stderr:\n%s", r.code, ExitBadInput, r.stderr)
			}
			if !strings.Contains(r.stderr, tt.says) {
				t.Errorf("stderr does not say %q:\n%s", tt.says, r.stderr)
			}
		})
	}
}

// TestHostileInputCancel: reading an input stops when the run is cancelled.
func TestHostileInputCancel(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var out, errb bytes.Buffer
	o := &IO{Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" }, LookupEnv: func(string) (string, bool) { return "", false }}
	p := writePolicy(t, policyWith("pass"))
	if code := o.Main(ctx, []string{"run", "--policy", p}); code == ExitOK {
		t.Fatalf("a run cancelled before it started exited 0; stderr:\n%s", errb.String())
	}
}

// TestHostileFilesInGates: gates whose files (rule files, a usage report)
// are a FIFO or a device finish promptly, never pass, and say what the
// path is.
func TestHostileFilesInGates(t *testing.T) {
	t.Parallel()
	if runtime.GOOS == "windows" {
		t.Skip("devices and FIFOs are Unix paths")
	}
	dir := t.TempDir()
	if err := syscall.Mkfifo(filepath.Join(dir, "rules.yml"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/dev/zero", filepath.Join(dir, "usage.csv")); err != nil {
		t.Fatal(err)
	}
	pol := filepath.Join(dir, "policy.yml")
	body := `version: 1
gates:
  - id: rules
    kind: rules
    with:
      files: [rules.yml]
  - id: spend
    kind: ci-budget
    with:
      source: {usage-file: usage.csv}
      tenants: [{name: acme, repos: [acme/api]}]
      budgets: [{tenant: acme, usd: 100}]
`
	if err := os.WriteFile(pol, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	done := make(chan run, 1)
	go func() { done <- runCLI(t, nil, "run", "--policy", pol, "--format", "json", "--out", out) }()
	var r run
	select {
	case r = <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("still running after 20s: a gate blocked on a FIFO or read a device")
	}
	if r.code == ExitOK {
		t.Fatalf("exit 0 with a FIFO and a device as inputs; stdout:\n%s", r.stdout)
	}
	for _, says := range []string{"rules.yml: is a named pipe (FIFO), not a regular file", "usage file is a character device, not a regular file"} {
		if !strings.Contains(r.stdout, says) {
			t.Errorf("results do not say %q:\n%s", says, r.stdout)
		}
	}
}
