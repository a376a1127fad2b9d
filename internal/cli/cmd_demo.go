package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/maestro-conductor/releasegate"
	"github.com/maestro-conductor/releasegate/internal/demo"
)

// demoPolicy is the policy `releasegate demo` runs by default, a path in
// the embedded demo files (releasegate.DemoFiles).
const demoPolicy = "examples/demo/release-policy.yml"

// demoPolicies are the embedded policies --policy may name by path or by
// file name when no such file is on disk.
var demoPolicies = []string{demoPolicy, "examples/demo/failing-policy.yml"}

const demoUsage = `Usage:
  releasegate demo [--policy FILE] [--workdir DIR] [--format text|json|markdown] [--out DIR]
  releasegate demo serve [--addr 127.0.0.1:0] [--for DURATION] [--abuse]

Without a subcommand, runs the whole release gate on embedded defaults,
from any directory, with nothing but the binary:
  1. starts the built-in multi-tenant demo service (with its abuse guards) on
     a free loopback port;
  2. prepares a scratch directory (--workdir, default a temporary one that is
     removed afterwards): a SQLite ledger with 1,000 entries per tenant, a
     signed and anchored daily Merkle root, and a local evidence signing key;
  3. writes the embedded demo policy with its scripts, rules, metrics,
     usage export and provenance fixture into the scratch directory (a
     --policy that exists on disk is used as it is; failing-policy.yml
     names the embedded failing one) and runs it against all of it
     (${DEMO_URL}, ${DEMO_LEDGER_DB}
     and ${DEMO_LEDGER_PUB} are set for the policy) and prints the results;
  4. signs the evidence bundle, verifies it offline, and prints the release
     checklist.
It exits with the verdict: 0 passed, 1 a gate failed, 3 a gate could not be
evaluated (2 bad input).

'serve' only starts the service: its URL is the first line on stdout, logs
go to stderr, and it runs until interrupted or until --for has passed. The
service has /health, /ready, /t/{tenant}/items (GET, POST), /admin/tenants
and /metrics (Prometheus format); tenants acme, globex and initech.

Example:
  releasegate demo
  releasegate demo --workdir demo-out        # keep the ledger, results and evidence
  releasegate demo --policy failing-policy.yml    # the embedded blocked release
  releasegate demo serve --addr 127.0.0.1:8080 --for 10m
  releasegate demo serve --abuse              # with the guards the abuse scenarios test
`

func demoCmd(ctx context.Context, o *IO, args []string) error {
	if len(args) > 0 && args[0] == "serve" {
		return demoServe(ctx, o, args[1:])
	}
	c, _ := lookup("demo")
	fs := o.NewFlagSet(c)
	var ro RunOptions
	fs.StringVar(&ro.Policy, "policy", "", "policy file to run against the demo service (default: the embedded "+demoPolicy+")")
	workdir := fs.String("workdir", "", "keep the ledger, keys, results and evidence here (default: a temporary directory, removed afterwards)")
	fs.BoolVar(&ro.Quiet, "quiet", false, "no progress on stderr")
	addOutputFlags(fs, &ro.Output)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := noArgs(fs, "the only subcommand is serve"); err != nil {
		return err
	}
	dir, cleanup, err := demoWorkdir(*workdir)
	if err != nil {
		return err
	}
	defer cleanup()
	// step 1: the demo service, with its abuse guards
	abuse, err := demo.NewAbuse(demo.DefaultAbuse())
	if err != nil {
		return err
	}
	srv, err := demo.StartWith(ctx, "127.0.0.1:0", demo.Options{Middleware: abuse.Middleware()})
	if err != nil {
		return err
	}
	defer srv.Close()
	abuse.Register(srv.Service)
	d := &demoRun{o: o, dir: dir, quiet: ro.Quiet}
	d.logf("demo service on %s (tenants %s); scratch directory %s", srv.URL(), strings.Join(srv.Tenants(), ", "), dir)
	// step 2: the ledger and the keys
	if err := d.prepareLedger(ctx, srv.Tenants()); err != nil {
		return err
	}
	// steps 3 and 4: the policy, then the evidence
	return d.run(ctx, srv.URL(), ro)
}

// demoWorkdir is the scratch directory: the one given (absolute, since
// the demo policy names the ledger through it and a relative path would
// resolve against the policy's own directory), created, or a new temporary
// one that cleanup removes.
func demoWorkdir(given string) (dir string, cleanup func(), err error) {
	if given != "" {
		abs, err := filepath.Abs(given)
		if err != nil {
			return "", nil, inputf("--workdir: %w", err)
		}
		if err := os.MkdirAll(abs, 0o755); err != nil {
			return "", nil, inputf("--workdir: %w", err)
		}
		return abs, func() {}, nil
	}
	tmp, err := os.MkdirTemp("", "releasegate-demo-")
	if err != nil {
		return "", nil, err
	}
	return tmp, func() { os.RemoveAll(tmp) }, nil
}

// run runs the policy against the demo service (step 3), copies the
// results where --out says, and signs and verifies the evidence (step 4).
// The verdict is the policy's unless the evidence could not be made.
func (d *demoRun) run(ctx context.Context, url string, ro RunOptions) error {
	o := d.o.withVars(map[string]string{
		"DEMO_URL":        url,
		"DEMO_LEDGER_DB":  "sqlite:" + filepath.Join(d.dir, "ledger.db"),
		"DEMO_LEDGER_PUB": filepath.Join(d.dir, "ledger.pub"),
	})
	d.o = o
	policyPath, err := demoPolicyPath(d.dir, ro.Policy)
	if err != nil {
		return fmt.Errorf("writing the embedded demo files: %w", err)
	}
	if policyPath != ro.Policy {
		d.logf("embedded demo files written to %s", filepath.Join(d.dir, "demo-files"))
	}
	ro.Policy = policyPath
	userOut := ro.Output.OutDir
	results := filepath.Join(d.dir, "results")
	ro.Output.OutDir = results
	d.logf("step 3/4: running %s", ro.Policy)
	verdict := runPolicy(ctx, o, ro)
	if isBadInput(verdict) {
		return verdict
	}
	if userOut != "" {
		if err := os.CopyFS(userOut, os.DirFS(results)); err != nil {
			return inputf("--out %s: %w", userOut, err)
		}
	}
	if err := d.evidence(ctx, ro.Policy, results); err != nil && verdict == nil {
		return err
	}
	return verdict
}

// withVars returns a copy of o whose environment also holds vars.
func (o *IO) withVars(vars map[string]string) *IO {
	sub := *o
	lookupEnv, getenv := o.LookupEnv, o.Getenv
	sub.LookupEnv = func(k string) (string, bool) {
		if v, ok := vars[k]; ok {
			return v, true
		}
		return lookupEnv(k)
	}
	sub.Getenv = func(k string) string {
		if v, ok := vars[k]; ok {
			return v
		}
		return getenv(k)
	}
	return &sub
}

// demoPolicyPath is the policy file to run: given, when it is on disk;
// otherwise the embedded policy it names (or the default one), written
// with the files it reads into dir/demo-files.
func demoPolicyPath(dir, given string) (string, error) {
	name := demoPolicy
	if given != "" {
		if _, err := os.Stat(given); err == nil {
			return given, nil
		}
		name = ""
		for _, p := range demoPolicies {
			if given == p || given == path.Base(p) {
				name = p
			}
		}
		if name == "" {
			return given, nil // loading it reports what is missing
		}
	}
	files := filepath.Join(dir, "demo-files")
	if err := os.RemoveAll(files); err != nil {
		return "", err
	}
	if err := os.CopyFS(files, releasegate.DemoFiles); err != nil {
		return "", err
	}
	// Embedded files carry no modes: the scripts the policies run are executable.
	scripts, _ := filepath.Glob(filepath.Join(files, "examples", "demo", "scripts", "*.sh"))
	for _, s := range scripts {
		if err := os.Chmod(s, 0o755); err != nil {
			return "", err
		}
	}
	return filepath.Join(files, filepath.FromSlash(name)), nil
}

// demoRun prepares the demo's local state by running releasegate's own
// commands, so the demo exercises exactly what a user would run.
type demoRun struct {
	o     *IO
	dir   string
	quiet bool
}

func (d *demoRun) logf(format string, args ...any) {
	if !d.quiet {
		d.o.Logf("demo: "+format, args...)
	}
}

// sub runs a releasegate command with its stdout sent to stderr (it is
// progress here, not the demo's result), and stdin from in.
func (d *demoRun) sub(ctx context.Context, in string, args ...string) error {
	c, ok := lookup(args[0])
	if !ok {
		return fmt.Errorf("demo: no command %s", args[0])
	}
	sub := *d.o
	sub.Stdin, sub.Stdout = strings.NewReader(in), d.o.Stderr
	if d.quiet {
		sub.Stdout = io.Discard
	}
	// the step's own message, as releasegate would print it, then the step
	if code := sub.exitFor(c.prefix(args[1:]), c.Run(ctx, &sub, args[1:])); code != ExitOK {
		fmt.Fprintf(d.o.Stderr, "releasegate demo: `releasegate %s` exited %d\n", strings.Join(args, " "), code)
		return exitCode(code)
	}
	return nil
}

// demoEntries is how many ledger entries each tenant gets.
const demoEntries = 1000

// prepareLedger creates the SQLite ledger, fills each tenant's chain with
// today's entries and signs and anchors today's Merkle roots.
func (d *demoRun) prepareLedger(ctx context.Context, tenants []string) error {
	db := "sqlite:" + filepath.Join(d.dir, "ledger.db")
	if err := os.Remove(filepath.Join(d.dir, "ledger.db")); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	now := time.Now().UTC()
	day := now.Truncate(24 * time.Hour)
	d.logf("step 2/4: SQLite ledger with %d entries per tenant, signed Merkle root for %s", demoEntries, day.Format(time.DateOnly))
	var in strings.Builder
	for _, t := range tenants {
		for i := range demoEntries {
			// spread over today so far, oldest first
			at := day.Add(time.Duration(int64(now.Sub(day)) * int64(i) / demoEntries))
			fmt.Fprintf(&in, `{"tenant":%q,"kind":"deploy","time":%q,"payload":{"artifact":"tenantd","version":"v1.4.%d","digest":"sha256:%064x"}}`+"\n",
				t, at.Format(time.RFC3339Nano), i, i)
		}
	}
	steps := [][]string{
		{"ledger", "keygen", "--out", filepath.Join(d.dir, "ledger")},
		{"ledger", "migrate", "--db", db},
		{"ledger", "append", "--db", db},
		{"ledger", "root", "--db", db, "--date", day.Format(time.DateOnly), "--key", filepath.Join(d.dir, "ledger.key"), "--anchor", "--out", d.dir},
		{"evidence", "keygen", "--out-prefix", filepath.Join(d.dir, "evidence"), "--force"},
	}
	for _, s := range steps {
		stdin := ""
		if s[1] == "append" {
			stdin = in.String()
		}
		if s[1] == "keygen" && s[0] == "ledger" {
			os.Remove(filepath.Join(d.dir, "ledger.key"))
			os.Remove(filepath.Join(d.dir, "ledger.pub"))
		}
		if err := d.sub(ctx, stdin, s...); err != nil {
			return err
		}
	}
	return nil
}

// evidence signs the evidence bundle over the results, verifies it offline
// and prints the release checklist on stdout.
func (d *demoRun) evidence(ctx context.Context, policyPath, results string) error {
	out := filepath.Join(d.dir, "evidence")
	d.logf("step 4/4: signing the evidence bundle into %s and verifying it offline", out)
	if err := d.sub(ctx, "", "evidence", "create", "--results", results, "--policy", policyPath,
		"--key", filepath.Join(d.dir, "evidence.key"), "--verify-key", filepath.Join(d.dir, "evidence.pub"), "--out", out); err != nil {
		return err
	}
	bundles, _ := filepath.Glob(filepath.Join(out, "evidence-*.tar.gz"))
	if len(bundles) != 1 {
		return fmt.Errorf("expected one evidence-*.tar.gz in %s, found %d", out, len(bundles))
	}
	// verify exits 1 for a release that FAILED: the verdict already says so.
	err := d.sub(ctx, "", "evidence", "verify", "--key", filepath.Join(d.dir, "evidence.pub"), bundles[0])
	if err != nil && err != exitCode(ExitFail) {
		return err
	}
	checklist, err := os.ReadFile(filepath.Join(out, "checklist.md"))
	if err != nil {
		return err
	}
	fmt.Fprintf(d.o.Stdout, "\n%s", checklist)
	return nil
}

func demoServe(ctx context.Context, o *IO, args []string) error {
	fs := o.NewFlagSet(Command{Name: "demo serve", Usage: demoUsage})
	addr := fs.String("addr", "127.0.0.1:0", "loopback address to listen on; port 0 picks a free port")
	dur := fs.Duration("for", 0, "stop after this long (default: run until interrupted)")
	ready := fs.Duration("ready-after", 0, "answer 503 on /ready for this long after start, like a service warming up")
	withAbuse := fs.Bool("abuse", false, "turn on the abuse guards (per-tenant rate anomaly, graph complexity limit, ingest validator) that the synthetic gate's abuse scenarios test")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := noArgs(fs, ""); err != nil {
		return err
	}
	if *dur < 0 || *ready < 0 {
		return inputf("--for and --ready-after must not be negative")
	}
	if *dur > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *dur)
		defer cancel()
	}
	opts := demo.Options{ReadyAfter: *ready}
	var abuse *demo.Abuse
	if *withAbuse {
		a, err := demo.NewAbuse(demo.DefaultAbuse())
		if err != nil {
			return err
		}
		abuse, opts.Middleware = a, a.Middleware()
	}
	srv, err := demo.StartWith(ctx, *addr, opts)
	if err != nil {
		return asInput(err)
	}
	defer srv.Close()
	if abuse != nil {
		abuse.Register(srv.Service)
	}
	fmt.Fprintln(o.Stdout, srv.URL())
	if f, ok := o.Stdout.(interface{ Sync() error }); ok {
		_ = f.Sync()
	}
	until := "until interrupted"
	if *dur > 0 {
		until = "for " + dur.String()
	}
	start := time.Now()
	o.Logf("demo service listening on %s %s; tenants %s; try %s/health", srv.URL(), until, strings.Join(srv.Tenants(), ", "), srv.URL())
	<-ctx.Done()
	o.Logf("demo service stopped after %s", time.Since(start).Round(time.Second))
	return nil
}
