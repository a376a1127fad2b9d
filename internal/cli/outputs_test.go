package cli

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/maestro-conductor/releasegate/internal/gate"
)

// markerPolicy is a policy whose one command gate creates marker: the
// stand-in for a side effect such as ci-budget --enforce throttling.
func markerPolicy(t *testing.T, dir, marker string) string {
	t.Helper()
	p := filepath.Join(dir, "policy.yml")
	body := fmt.Sprintf("version: 1\ngates:\n  - id: side-effect\n    kind: command\n    with:\n      run: [touch, %q]\n", marker)
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestOutputsCheckedBeforeAnyGate: an unusable output target fails the run
// with exit 2 before any gate ran.
func TestOutputsCheckedBeforeAnyGate(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	file := filepath.Join(dir, "a-file")
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	readOnly := filepath.Join(dir, "read-only")
	if err := os.Mkdir(readOnly, 0o555); err != nil {
		t.Fatal(err)
	}
	actions := map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_OUTPUT": filepath.Join(dir, "github-output")}
	tests := []struct {
		name string
		env  map[string]string
		args []string
		says string
	}{
		{"--out under a regular file", nil, []string{"--out", filepath.Join(file, "results")}, "--out " + filepath.Join(file, "results") + ": cannot create the directory"},
		{"--out is a regular file", nil, []string{"--out", file}, "--out " + file + ": cannot create the directory"},
		{"the step summary is a directory", map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": dir}, nil, "GITHUB_STEP_SUMMARY " + dir + ": is a directory"},
		{"the step summary's directory cannot be created", map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": filepath.Join(file, "summary.md")}, nil, "GITHUB_STEP_SUMMARY"},
		{"an invalid --format", actions, []string{"--format", "yaml"}, `--format "yaml"`},
	}
	if os.Geteuid() != 0 { // root writes anywhere
		tests = append(tests, struct {
			name string
			env  map[string]string
			args []string
			says string
		}{"--out not writable", nil, []string{"--out", readOnly}, "cannot write in the directory"})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			marker := filepath.Join(t.TempDir(), "gate-ran")
			pol := markerPolicy(t, t.TempDir(), marker)
			r := runCLI(t, tt.env, append([]string{"run", "--policy", pol, "--checks", "never"}, tt.args...)...)
			if r.code != ExitBadInput {
				t.Errorf("exit %d, want %d; stderr:\n%s", r.code, ExitBadInput, r.stderr)
			}
			if !strings.Contains(r.stderr, tt.says) {
				t.Errorf("stderr does not say %q:\n%s", tt.says, r.stderr)
			}
			if _, err := os.Stat(marker); err == nil {
				t.Error("the gate ran before the output was found unusable")
			}
		})
	}
}

// TestOutDirCreated: a missing --out directory, with its parents, is
// created and receives the results; no probe file is left behind.
func TestOutDirCreated(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	marker := filepath.Join(dir, "gate-ran")
	out := filepath.Join(dir, "a", "b", "results")
	r := runCLI(t, nil, "run", "--policy", markerPolicy(t, dir, marker), "--out", out, "--checks", "never")
	if r.code != ExitOK {
		t.Fatalf("exit %d; stderr:\n%s", r.code, r.stderr)
	}
	entries, err := os.ReadDir(out)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if strings.Join(names, ",") != "report.json,side-effect.json" {
		t.Errorf("--out holds %v, want report.json and side-effect.json", names)
	}
}

// TestLedgerRootCreatesOut: `ledger root --out DIR` creates DIR.
func TestLedgerRootCreatesOut(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db := "--db=sqlite:" + filepath.Join(dir, "ledger.db")
	day := time.Now().UTC().AddDate(0, 0, -1).Format("2006-01-02")
	for _, step := range []struct {
		stdin string
		args  []string
	}{
		{"", []string{"migrate", db}},
		{fmt.Sprintf(`{"tenant":"acme","time":"%sT01:00:00Z","payload":{}}`+"\n", day), []string{"append", db}},
		{"", []string{"keygen", "--out", filepath.Join(dir, "k")}},
		{"", []string{"root", db, "--date", day, "--key", filepath.Join(dir, "k.key"), "--out", filepath.Join(dir, "roots", "daily")}},
	} {
		if code, out, errs := ledgerRun(t, step.stdin, step.args...); code != ExitOK {
			t.Fatalf("ledger %s: exit %d\n%s%s", strings.Join(step.args, " "), code, out, errs)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "roots", "daily", "acme-"+day+".checkpoint")); err != nil {
		t.Errorf("no checkpoint in the created --out: %v", err)
	}
	// --out under a regular file: bad input, nothing signed
	if code, _, errs := ledgerRun(t, "", "root", db, "--date", day, "--key", filepath.Join(dir, "k.key"), "--out", filepath.Join(dir, "k.pub", "x")); code != ExitBadInput || !strings.Contains(errs, "cannot create the directory") {
		t.Errorf("--out under a file: exit %d, want %d; stderr:\n%s", code, ExitBadInput, errs)
	}
}

// TestSyntheticFilesCheckedBeforeLoad: synthetic merge refuses a --summary
// it could not write before merging anything.
func TestSyntheticFilesCheckedBeforeLoad(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	file := filepath.Join(dir, "a-file")
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := checkSyntheticFiles("", filepath.Join(file, "summary.md")); !errors.Is(err, gate.ErrBadInput) {
		t.Errorf("--summary under a regular file: %v, want bad input", err)
	}
	nested := filepath.Join(dir, "x", "y", "run.prom")
	if err := checkSyntheticFiles(nested, ""); err != nil {
		t.Fatalf("--prom in a missing directory: %v, want no error", err)
	}
	if _, err := os.Stat(nested); err == nil {
		t.Error("the probe left the --prom file behind")
	}
	if _, err := os.Stat(filepath.Dir(nested)); err != nil {
		t.Errorf("the --prom directory was not created: %v", err)
	}
}
