//go:build linux

package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// bin is the releasegate binary under test: RELEASEGATE_BIN (make test) or
// a fresh build.
var bin string

func TestMain(m *testing.M) {
	os.Exit(func() int {
		if p := os.Getenv("RELEASEGATE_BIN"); p != "" {
			abs, err := filepath.Abs(p)
			if err == nil {
				_, err = os.Stat(abs)
			}
			if err != nil {
				fmt.Fprintf(os.Stderr, "RELEASEGATE_BIN=%s: expected a built binary, found %v; run make build\n", p, err)
				return 1
			}
			bin = abs
			return m.Run()
		}
		dir, err := os.MkdirTemp("", "releasegate-bin")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(dir)
		bin = filepath.Join(dir, "releasegate")
		if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "go build: %v\n%s", err, out)
			return 1
		}
		return m.Run()
	}())
}

// sleeperPolicy writes a policy with one command gate whose shell (the
// group leader) writes its pid, starts a sleeping child, writes the
// child's pid and waits: the child would outlive a releasegate that leaves
// it behind.
func sleeperPolicy(t *testing.T, dir string) string {
	t.Helper()
	pol := filepath.Join(dir, "policy.yml")
	body := fmt.Sprintf(`version: 1
gates:
  - id: sleeper
    kind: command
    timeout: 10m
    with:
      shell: 'echo $$$$ > "$PIDDIR/leader.pid"; sleep 300 & echo $! > "$PIDDIR/child.pid"; wait'
      env: {PIDDIR: %q}
`, dir)
	if err := os.WriteFile(pol, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return pol
}

// startRun starts `releasegate run` on the sleeper policy and returns once
// the command gate's shell and its child both run, with their pids.
func startRun(t *testing.T, dir string, args ...string) (cmd *exec.Cmd, stdout, stderr *bytes.Buffer, pids []int) {
	t.Helper()
	pol := sleeperPolicy(t, dir)
	cmd = exec.Command(bin, append([]string{"run", "--policy", pol}, args...)...)
	stdout, stderr = &bytes.Buffer{}, &bytes.Buffer{}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	// its own group, as a job of a shell is: signals reach only what the
	// test sends them to
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
		for _, pid := range pids {
			if alive(pid) {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	})
	for _, name := range []string{"leader.pid", "child.pid"} {
		pid := waitPid(t, filepath.Join(dir, name), stderr)
		pids = append(pids, pid)
	}
	return cmd, stdout, stderr, pids
}

func waitPid(t *testing.T, file string, stderr *bytes.Buffer) int {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		b, err := os.ReadFile(file)
		if err != nil || !bytes.HasSuffix(b, []byte("\n")) {
			continue
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		return pid
	}
	t.Fatalf("the command gate did not write %s within 30s; stderr:\n%s", file, stderr)
	return 0
}

// waitExit waits for releasegate to end and returns its exit code.
func waitExit(t *testing.T, cmd *exec.Cmd, within time.Duration) int {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		var ee *exec.ExitError
		if err != nil && !errors.As(err, &ee) {
			t.Fatal(err)
		}
		return cmd.ProcessState.ExitCode()
	case <-time.After(within):
		_ = cmd.Process.Kill()
		<-done
		t.Fatalf("releasegate did not exit within %s of the signal", within)
		return 0
	}
}

// requireGone fails unless every pid has ended within the bound.
func requireGone(t *testing.T, pids []int, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for _, pid := range pids {
		for alive(pid) {
			if time.Now().After(deadline) {
				t.Errorf("process %d of the command gate is still running %s after releasegate ended", pid, within)
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// alive reports whether pid runs; a zombie (dead, not yet reaped) is dead.
func alive(pid int) bool {
	if err := syscall.Kill(pid, 0); err != nil {
		return false
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return !os.IsNotExist(err)
	}
	_, rest, _ := strings.Cut(string(b), ") ")
	return !strings.HasPrefix(rest, "Z")
}

// TestSignalEndsTheRunWithResults: SIGHUP (a closed terminal), SIGTERM and
// SIGINT each stop the run: the command gate's group is killed, the results
// are written to --out with the gate as status error saying which signal
// cancelled it, and the exit code is 3 (could not evaluate), never 0.
func TestSignalEndsTheRunWithResults(t *testing.T) {
	t.Parallel()
	for _, sig := range []struct {
		sig  syscall.Signal
		name string
	}{{syscall.SIGHUP, "SIGHUP"}, {syscall.SIGTERM, "SIGTERM"}, {syscall.SIGINT, "SIGINT"}} {
		t.Run(sig.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			out := filepath.Join(dir, "results", "nested") // --out directories are created
			cmd, stdout, stderr, pids := startRun(t, dir, "--format", "json", "--out", out)
			if err := cmd.Process.Signal(sig.sig); err != nil {
				t.Fatal(err)
			}
			if code := waitExit(t, cmd, 15*time.Second); code != 3 {
				t.Errorf("exit code %d, want 3 (could not evaluate); stderr:\n%s", code, stderr)
			}
			requireGone(t, pids, 3*time.Second)
			want := "cancelled by " + sig.name
			if !strings.Contains(stderr.String(), "the run was "+want) {
				t.Errorf("stderr does not say %q:\n%s", "the run was "+want, stderr)
			}
			var rep struct {
				Status  string
				Results []struct{ Gate, Status, Error string }
			}
			b, err := os.ReadFile(filepath.Join(out, "report.json"))
			if err != nil {
				t.Fatalf("no report written to --out: %v; stderr:\n%s", err, stderr)
			}
			if err := json.Unmarshal(b, &rep); err != nil {
				t.Fatal(err)
			}
			if rep.Status != "error" || len(rep.Results) != 1 || rep.Results[0].Status != "error" {
				t.Fatalf("report: status %q, results %+v; want the gate as status error", rep.Status, rep.Results)
			}
			if e := rep.Results[0].Error; !strings.Contains(e, want) || strings.Contains(e, "timed out") || strings.Contains(e, "raise the gate's timeout") {
				t.Errorf("gate error %q: want it to say %q, not blame a timeout", e, want)
			}
			if !strings.Contains(stdout.String(), want) {
				t.Errorf("stdout (the json report) does not say %q:\n%s", want, stdout)
			}
		})
	}
}

// TestKill9LeavesNoOrphans: after kill -9 of releasegate, which can neither
// catch it nor clean up, the command gate's shell and the child it started
// die too (Linux parent-death signal, and the watchdog for the group).
func TestKill9LeavesNoOrphans(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cmd, _, _, pids := startRun(t, dir, "--quiet")
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if code := waitExit(t, cmd, 5*time.Second); code != -1 {
		t.Errorf("exit code %d, want -1 (killed)", code)
	}
	requireGone(t, pids, 3*time.Second)
}

// TestHangupWithStdoutGone: a closed terminal takes stdout with it. After
// SIGHUP, and a second signal on top, releasegate is not killed by SIGPIPE
// when it writes the report to the dead stdout: --out is written and the
// exit code is 3.
func TestHangupWithStdoutGone(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	pol := sleeperPolicy(t, dir)
	out := filepath.Join(dir, "results")
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr := &bytes.Buffer{}
	cmd := exec.Command(bin, "run", "--policy", pol, "--out", out)
	cmd.Stdout, cmd.Stderr = w, stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	var pids []int
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
		for _, pid := range pids {
			if alive(pid) {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	})
	for _, name := range []string{"leader.pid", "child.pid"} {
		pids = append(pids, waitPid(t, filepath.Join(dir, name), stderr))
	}
	r.Close() // the terminal is gone
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	_ = cmd.Process.Signal(syscall.SIGTERM) // a second signal while it winds down
	code := waitExit(t, cmd, 15*time.Second)
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		t.Fatalf("releasegate was killed by %v; stderr:\n%s", ws.Signal(), stderr)
	}
	if code != 3 {
		t.Errorf("exit code %d, want 3; stderr:\n%s", code, stderr)
	}
	b, err := os.ReadFile(filepath.Join(out, "report.json"))
	if err != nil {
		t.Fatalf("no report in --out: %v; stderr:\n%s", err, stderr)
	}
	if !bytes.Contains(b, []byte("cancelled by SIGHUP")) {
		t.Errorf("report.json does not say cancelled by SIGHUP:\n%s", b)
	}
	requireGone(t, pids, 3*time.Second)
}
