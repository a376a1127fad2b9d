// Package commandgate implements the `command` gate kind: it runs a command
// with a deadline and judges what it did — its exit status, fields of its
// JSON output, text in its output — one check per expectation.
//
// It covers checklist items that are jobs rather than metrics: the
// right-to-be-forgotten job that must erase 10M records within 2h
// (`deadline: 2h`, `json: [{path: .erased, condition: ">= 10000000"}]`),
// rollback dry-runs and kill-switch checks.
//
// The command runs without a shell unless the policy gives `shell:`. It runs
// in its own process group: when its deadline passes, or the gate is
// stopped, the whole group — the command and every child it started — is
// killed, and the gate fails saying how long it ran. When releasegate
// itself dies, even by kill -9, the command dies with it: on Linux the
// kernel kills it (a parent-death signal), and on every Unix a small
// watchdog that notices releasegate's end kills its whole process group.
// Output is captured bounded; on failure the tail is shown, with secret
// values masked.
package commandgate

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/maestro-conductor/releasegate/internal/gate"
	"github.com/maestro-conductor/releasegate/internal/gates/command/jsonpath"
	"github.com/maestro-conductor/releasegate/internal/redact"
)

// kind is the registered kind name.
const kind = "command"

func init() {
	gate.RegisterTyped(gate.Typed[spec]{
		Name:    kind,
		Group:   "jobs",
		Summary: "runs a command with a deadline and judges its exit status and JSON output",
		New: func(m gate.Meta, s spec, env gate.Env) (gate.Gate, error) {
			return buildGate(m, s, env)
		},
	})
}

const (
	// maxStdout is how much of stdout is kept for JSON and text
	// expectations; a command printing more fails its JSON checks.
	maxStdout = 8 << 20
	// tailSize is how much of the end of stdout and stderr is kept for
	// messages and details.
	tailSize = 64 << 10
	// messageTail is how much of the tail goes into a failure message.
	messageTail = 1024
	// killGrace is how long the process group has after SIGTERM before
	// it is sent SIGKILL.
	killGrace = 2 * time.Second
)

// Gate runs one command. Build it with New.
type Gate struct {
	meta    gate.Meta
	spec    spec
	dir     string
	secrets []string
	// grace is how long the process group has after SIGTERM before
	// SIGKILL: killGrace, shorter in tests.
	grace time.Duration
}

// buildGate builds a command gate; relative dirs resolve against env.PolicyDir.
func buildGate(m gate.Meta, s spec, env gate.Env) (*Gate, error) {
	if errs := s.Validate(); len(errs) > 0 {
		return nil, &gate.InputError{Input: "with", Err: errors.Join(errs...)}
	}
	if m.Timeout > 0 && s.Deadline.D() >= m.Timeout {
		return nil, &gate.InputError{Input: "deadline", Err: fmt.Errorf("deadline %s is not below the gate's timeout %s, so the gate would be stopped (error) before the deadline could fail it; set the gate's timeout above the deadline, e.g. timeout: %s",
			s.Deadline.D(), m.Timeout, s.Deadline.D()+5*time.Minute)}
	}
	dir := s.Dir
	if dir == "" {
		dir = env.PolicyDir
	} else {
		dir = env.Path(dir)
	}
	if m.Kind == "" {
		m.Kind = kind
	}
	g := &Gate{meta: m, spec: s, dir: dir, grace: killGrace}
	for _, v := range s.SecretEnv {
		g.secrets = append(g.secrets, v)
	}
	for k, v := range s.Env {
		if redact.IsSecretName(k) {
			g.secrets = append(g.secrets, v)
		}
	}
	return g, nil
}

// Name returns the gate id.
func (g *Gate) Name() string { return g.meta.ID }

// Describe says what the gate will run.
func (g *Gate) Describe() string {
	d := "run " + g.display()
	if g.spec.Deadline > 0 {
		d += " within " + g.spec.Deadline.String()
	}
	return d
}

// display names the command in messages, shortened to 80 characters; the
// full command line is in the result's details.
func (g *Gate) display() string {
	s := g.commandLine()
	if r := []rune(s); len(r) > 80 {
		s = string(r[:79]) + "…"
	}
	return s
}

// commandLine is the whole command line, secrets masked.
func (g *Gate) commandLine() string {
	if g.spec.Shell != "" {
		return g.mask(fmt.Sprintf("sh -c %q", g.spec.Shell))
	}
	return g.mask(strings.Join(g.spec.Run, " "))
}

// mask replaces secret values with ***.
func (g *Gate) mask(s string) string {
	for _, v := range g.secrets {
		if len(v) >= 3 {
			s = strings.ReplaceAll(s, v, "***")
		}
	}
	return s
}

func (g *Gate) argv() []string {
	if g.spec.Shell != "" {
		return []string{"/bin/sh", "-c", g.spec.Shell}
	}
	return g.spec.Run
}

// Run runs the command and judges it. A command that cannot be started, or
// that runs past its deadline, is a failing Result; an error is returned
// only when ctx ends first (the gate's own timeout), wrapping
// gate.ErrTimeout.
func (g *Gate) Run(ctx context.Context) (*gate.Result, error) {
	res := &gate.Result{Schema: gate.SchemaVersion, Gate: g.meta.ID, Kind: kind, Group: g.meta.Group,
		Required: g.meta.Required, Location: g.meta.Location}
	argv := g.argv()
	path, err := g.resolve(argv[0])
	if err != nil {
		res.Add(gate.Check{Name: "command", Status: gate.StatusFail, Expected: "an executable program",
			Message: fmt.Sprintf("expected to run %s, but %v; install it, fix the path in run[0], or set dir", g.mask(argv[0]), err)})
		res.Summary = fmt.Sprintf("%s could not be started: %v", g.mask(argv[0]), err)
		g.finish(res)
		return res, nil
	}
	if in, err := digestFile(path); err == nil {
		res.Inputs = append(res.Inputs, in)
	}
	if g.spec.Shell != "" {
		res.Inputs = append(res.Inputs, gate.Input{Name: "shell script", Digest: gate.Digest([]byte(g.spec.Shell))})
	}

	runCtx := ctx
	var cancel context.CancelFunc = func() {}
	if d := g.spec.Deadline.D(); d > 0 {
		runCtx, cancel = context.WithTimeout(ctx, d)
	}
	defer cancel()

	cmd := exec.Command(path, argv[1:]...)
	cmd.Args[0] = argv[0]
	cmd.Dir = g.dir
	cmd.Env = g.environ()
	stdout := newCapture(maxStdout, tailSize)
	stderr := newCapture(0, tailSize)
	cmd.Stdout, cmd.Stderr = stdout, stderr
	cmd.Stdin = nil
	grp := newGroup(cmd)
	// A child that outlives the command and keeps its stdout open must not
	// hold the gate: the pipes are closed shortly after the command exits.
	cmd.WaitDelay = time.Second

	begin := time.Now()
	done, err := start(cmd)
	if err != nil {
		grp.close()
		res.Add(gate.Check{Name: "command", Status: gate.StatusFail, Expected: "an executable program",
			Message: fmt.Sprintf("expected to start %s, but it failed: %v; check that it is executable and the dir exists", g.mask(argv[0]), g.mask(err.Error()))})
		res.Summary = fmt.Sprintf("%s could not be started", g.mask(argv[0]))
		g.finish(res)
		return res, nil
	}
	grp.started(cmd)
	timedOut, waitErr := waitOrKill(runCtx, grp, done, g.grace)
	elapsed := time.Since(begin)
	grp.close() // children left behind by a command that exited are stopped too

	res.Details = map[string]any{
		"command":     g.commandLine(),
		"duration_ms": elapsed.Milliseconds(),
		"stdout_tail": g.mask(stdout.Tail()),
		"stderr_tail": g.mask(stderr.Tail()),
	}
	if timedOut && ctx.Err() != nil {
		// The gate itself was stopped: it could not be evaluated.
		if stop := gate.Stopped(ctx); errors.Is(stop, gate.ErrCancelled) {
			// the run was cancelled (a signal): not the policy's fault
			return res, fmt.Errorf("%s was stopped after %s, with its children, because the run was %w; nothing was judged",
				g.display(), elapsed.Round(time.Millisecond), stop)
		}
		return res, fmt.Errorf("%w: %s was stopped after %s, with its children, because the gate's timeout passed; raise the gate's timeout above the command's deadline",
			gate.ErrTimeout, g.display(), elapsed.Round(time.Millisecond))
	}
	if timedOut {
		g.judgeKilled(res, elapsed, stdout, stderr)
		return res, nil
	}
	g.judge(res, cmd, waitErr, elapsed, stdout, stderr)
	return res, nil
}

// finish stamps the tenant on every check and returns the status the
// runner will fold them to (it sets the Result's status itself).
func (g *Gate) finish(res *gate.Result) gate.Status {
	for i := range res.Checks {
		res.Checks[i].Tenant = g.spec.Tenant
	}
	return gate.Folded(res.Checks)
}

// resolve finds the program: a name with a slash is relative to the
// working directory, a bare name is looked up on PATH.
func (g *Gate) resolve(name string) (string, error) {
	if strings.Contains(name, "/") {
		p := name
		if !filepath.IsAbs(p) && g.dir != "" {
			p = filepath.Join(g.dir, p)
		}
		// Absolute, because the command starts in g.dir: a path relative to
		// the caller's directory would be resolved a second time from there.
		if abs, err := filepath.Abs(p); err == nil {
			p = abs
		}
		st, err := os.Stat(p)
		if err != nil {
			return "", fmt.Errorf("%s does not exist", p)
		}
		if st.IsDir() || st.Mode()&0o111 == 0 {
			return "", fmt.Errorf("%s is not an executable file", p)
		}
		return p, nil
	}
	pathEnv := os.Getenv("PATH")
	if v, ok := g.spec.Env["PATH"]; ok {
		pathEnv = v
	}
	for _, d := range filepath.SplitList(pathEnv) {
		if d == "" {
			continue
		}
		p := filepath.Join(d, name)
		if st, err := os.Stat(p); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s was not found on PATH", name)
}

func (g *Gate) environ() []string {
	env := os.Environ()
	for _, m := range []map[string]string{g.spec.Env, g.spec.SecretEnv} {
		for k, v := range m {
			env = append(env, k+"="+v)
		}
	}
	return env
}

func digestFile(path string) (gate.Input, error) {
	f, err := os.Open(path)
	if err != nil {
		return gate.Input{}, err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return gate.Input{}, err
	}
	return gate.Input{Name: path, Digest: "sha256:" + hex.EncodeToString(h.Sum(nil))}, nil
}

// waitOrKill waits for the started command (done yields cmd.Wait's
// error); when ctx ends first it stops the whole process group (SIGTERM,
// then SIGKILL after grace), waits for the command to be reaped and
// reports killed.
func waitOrKill(ctx context.Context, grp *group, done <-chan error, grace time.Duration) (killed bool, err error) {
	select {
	case err := <-done:
		return false, err
	case <-ctx.Done():
	}
	grp.terminate()
	select {
	case err := <-done:
		grp.kill()
		return true, err
	case <-time.After(grace):
	}
	grp.kill()
	return true, <-done
}

// judgeKilled records a command that ran past its deadline: the deadline
// check fails and the other expectations are not judged.
func (g *Gate) judgeKilled(res *gate.Result, elapsed time.Duration, stdout, stderr *capture) {
	dl := g.spec.Deadline.D()
	res.Add(gate.Check{Name: "deadline", Status: gate.StatusFail, Observed: gate.Number(seconds(elapsed)),
		Expected: "<= " + fmtSeconds(dl), Unit: "s",
		Message: fmt.Sprintf("expected %s to finish within %s, but it ran %s and was killed with its children; speed it up or raise the deadline%s",
			g.display(), dl, elapsed.Round(time.Millisecond), g.tailNote(stdout, stderr))})
	for _, c := range g.expectations() {
		res.Add(gate.Check{Name: c, Status: gate.StatusSkip, Message: "not judged: the command was killed at its deadline"})
	}
	res.Summary = fmt.Sprintf("%s ran past its deadline of %s and was killed", g.display(), dl)
	g.finish(res)
}

func (g *Gate) expectations() []string {
	names := []string{"exit code"}
	for _, e := range g.spec.Expect.JSON {
		names = append(names, "json "+e.Path.String())
	}
	if g.spec.Expect.StdoutContains != "" {
		names = append(names, "stdout contains")
	}
	return names
}

func (g *Gate) judge(res *gate.Result, cmd *exec.Cmd, waitErr error, elapsed time.Duration, stdout, stderr *capture) {
	want := 0
	if g.spec.Expect.ExitCode != nil {
		want = *g.spec.Expect.ExitCode
	}
	code := cmd.ProcessState.ExitCode()
	exit := gate.Check{Name: "exit code", Expected: fmt.Sprintf("== %d", want), Status: gate.StatusFail}
	switch {
	case code < 0:
		exit.Message = fmt.Sprintf("expected exit status %d, but %s was ended by a signal (%v)%s", want, g.display(), cmd.ProcessState, g.tailNote(stdout, stderr))
	case code == want:
		exit.Status, exit.Observed = gate.StatusPass, gate.Int(int64(code))
		exit.Message = fmt.Sprintf("exited %d as expected", code)
	default:
		exit.Observed = gate.Int(int64(code))
		exit.Message = fmt.Sprintf("expected exit status %d, found %d; see the output of %s%s", want, code, g.display(), g.tailNote(stdout, stderr))
	}
	if waitErr != nil && code >= 0 && !isExitError(waitErr) && !errors.Is(waitErr, exec.ErrWaitDelay) {
		exit.Status = gate.StatusFail
		exit.Message = fmt.Sprintf("could not collect the output of %s: %v", g.display(), waitErr)
	}
	res.Add(exit)
	if dl := g.spec.Deadline.D(); dl > 0 {
		res.Add(gate.Check{Name: "deadline", Status: gate.StatusPass, Observed: gate.Number(seconds(elapsed)),
			Expected: "<= " + fmtSeconds(dl), Unit: "s",
			Message: fmt.Sprintf("finished in %s, within its deadline of %s", elapsed.Round(time.Millisecond), dl)})
	}
	if len(g.spec.Expect.JSON) > 0 {
		var doc any
		var docErr error
		switch {
		case stdout.Truncated():
			docErr = fmt.Errorf("it printed %d bytes, more than the %d read", stdout.Total(), maxStdout)
		case len(strings.TrimSpace(string(stdout.Head()))) == 0:
			docErr = errors.New("it printed nothing")
		default:
			doc, docErr = jsonpath.Decode(stdout.Head())
		}
		for _, e := range g.spec.Expect.JSON {
			c := e.Check(doc, docErr, "stdout")
			c.Message = g.mask(c.Message)
			if c.Observed.Any() != nil {
				if s, ok := c.Observed.Any().(string); ok {
					c.Observed = gate.Text(g.mask(s))
				}
			}
			res.Add(c)
		}
	}
	if want := g.spec.Expect.StdoutContains; want != "" {
		c := gate.Check{Name: "stdout contains", Expected: fmt.Sprintf("contains %q", want)}
		found := strings.Contains(string(stdout.Head()), want)
		c.Observed = gate.Bool(found)
		if found {
			c.Status, c.Message = gate.StatusPass, fmt.Sprintf("stdout contains %q", want)
		} else {
			c.Status = gate.StatusFail
			trunc := ""
			if stdout.Truncated() {
				trunc = fmt.Sprintf(" (only the first %d bytes were searched)", maxStdout)
			}
			c.Message = g.mask(fmt.Sprintf("expected stdout to contain %q, it did not%s; stdout ends with: %s", want, trunc, lastBytes(stdout.Tail(), messageTail)))
		}
		res.Add(c)
	}
	st := g.finish(res)
	counts := res.Counts()
	if st == gate.StatusPass {
		res.Summary = fmt.Sprintf("%s passed %d check(s) in %s", g.display(), len(res.Checks), elapsed.Round(time.Millisecond))
	} else {
		res.Summary = fmt.Sprintf("%s: %d of %d check(s) failed", g.display(), counts[gate.StatusFail], len(res.Checks))
	}
}

func isExitError(err error) bool {
	var ee *exec.ExitError
	return errors.As(err, &ee)
}

// tailNote is "; stderr ends with: ..." (or stdout when stderr is empty).
func (g *Gate) tailNote(stdout, stderr *capture) string {
	name, t := "stderr", stderr.Tail()
	if strings.TrimSpace(t) == "" {
		name, t = "stdout", stdout.Tail()
	}
	if strings.TrimSpace(t) == "" {
		return "; it printed nothing"
	}
	return fmt.Sprintf("; %s ends with: %s", name, g.mask(lastBytes(t, messageTail)))
}

func lastBytes(s string, n int) string {
	s = strings.TrimRight(s, "\n")
	if len(s) > n {
		s = "…" + s[len(s)-n:]
	}
	return s
}

func seconds(d time.Duration) float64 { return float64(d.Milliseconds()) / 1000 }

func fmtSeconds(d time.Duration) string { return gate.FormatFloat(d.Seconds()) + "s" }
