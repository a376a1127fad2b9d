// Package cli implements the releasegate command line: commands, flags and
// exit codes. It holds no business logic: each command parses its flags,
// calls a domain package and hands the Results to Emit.
package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/maestro-conductor/releasegate/internal/actions"
	"github.com/maestro-conductor/releasegate/internal/evidence"
	"github.com/maestro-conductor/releasegate/internal/redact"
)

// Exit codes. 1 and 3 both block a release.
const (
	// ExitOK: every gate passed (warnings allowed).
	ExitOK = 0
	// ExitFail: a gate evaluated and failed.
	ExitFail = 1
	// ExitBadInput: bad flags, policy or input files; nothing was run.
	ExitBadInput = 2
	// ExitError: a gate could not be evaluated (unreachable source, timeout).
	ExitError = 3
)

// Version is the releasegate version, set at build time with
// -ldflags "-X github.com/maestro-conductor/releasegate/internal/cli.Version=v1.2.3".
var Version = ""

// toolVersion returns Version, or the module version from the build info.
func toolVersion() string {
	if Version != "" {
		return Version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

// IO is what a command may use from its process.
type IO struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	// Getenv reads the environment; tests replace it.
	Getenv func(string) string
	// LookupEnv distinguishes unset from empty; tests replace it.
	LookupEnv func(string) (string, bool)
	// Environ lists the environment as NAME=value pairs, for the secrets
	// it holds (secret-named variables, passwords in URLs); nil means
	// only the well-known token variables are read, through Getenv.
	Environ func() []string
	// secrets are every secret the process knows; Stdout and Stderr, the
	// files it writes, the payloads it sends and the evidence it signs are
	// redacted with them (see redact).
	secrets *redact.Set
	// writers are the redacting Stdout and Stderr
	writers []*redact.Writer
	// keylessSigner, when set, turns the configured Fulcio/Rekor signer
	// into the one evidence create and ledger root use. Only tests set it,
	// to an in-process virtual Sigstore: a field, not a package variable,
	// so that such tests run in parallel.
	keylessSigner func(*evidence.SigstoreSigner) evidence.BundleSigner
	// skipSCTUnsafe skips the certificate-transparency check of keyless
	// verification. Only tests set it: the virtual Sigstore's CA issues no
	// SCTs.
	skipSCTUnsafe bool
}

// Logf writes a progress or log line to stderr.
func (o *IO) Logf(format string, args ...any) {
	fmt.Fprintf(o.Stderr, format+"\n", args...)
}

// Redact adds secrets to the process's set: from now on Stdout, Stderr,
// files, payloads and evidence show *** in their place, and inside GitHub
// Actions the runner is told to mask them (::add-mask::). Call it as soon
// as secrets are known, before anything else is printed.
func (o *IO) Redact(secrets []string) {
	o.redactor().Add(secrets...)
}

// redactor returns the process's secret set, wrapping Stdout and Stderr
// in redacting writers the first time and recording the environment's
// tokens.
func (o *IO) redactor() *redact.Set {
	if o.secrets != nil {
		return o.secrets
	}
	if o.Getenv == nil {
		o.Getenv = os.Getenv
	}
	set := &redact.Set{}
	o.secrets = set
	for _, w := range []*io.Writer{&o.Stdout, &o.Stderr} {
		if *w == nil {
			*w = io.Discard
		}
		rw := redact.NewWriter(*w, set)
		o.writers = append(o.writers, rw)
		*w = rw
	}
	if actions.Detect(o.Getenv) {
		// on stderr: stdout may be a JSON report
		stderr := o.writers[1]
		set.OnAdd = func(v string) {
			for _, line := range strings.Split(v, "\n") {
				if line = strings.TrimSpace(line); line != "" {
					stderr.Raw("::add-mask::" + line + "\n")
				}
			}
		}
	}
	var environ []string
	if o.Environ != nil {
		environ = o.Environ()
	}
	set.AddEnv(o.Getenv, environ)
	return set
}

// flush writes what the redacting writers hold back.
func (o *IO) flush() {
	for _, w := range o.writers {
		w.Flush()
	}
}

// Command is one releasegate subcommand.
type Command struct {
	// Name is the word after releasegate, e.g. "run".
	Name string
	// Summary is one line for the command list.
	Summary string
	// Usage is the full help: synopsis, description and an example.
	Usage string
	// Subcommands are the words a first argument may be (e.g. "merge"):
	// they name the command in its error messages ("releasegate synthetic
	// merge: …").
	Subcommands []string
	// Run executes the command with the arguments after its name. Main
	// maps what it returns to the exit code and the message on stderr
	// (exitFor): nil is 0.
	Run func(ctx context.Context, io *IO, args []string) error
}

// commandTable is every command, sorted by name as the command list shows
// them. It is a function rather than a variable because commands look their
// own usage up in it.
func commandTable() []Command {
	return []Command{
		{Name: "check-slo", Summary: "evaluate the policy's metric and SLO gates (burn rates, budgets, latency, canary vs baseline)", Usage: checkSLOUsage, Run: checkSLOCmd},
		{Name: "checklist", Summary: "write the release checklist from results, or update a GitHub issue with it", Usage: checklistUsage, Run: checklistCmd},
		{Name: "ci-budget", Summary: "per-tenant CI spend against budgets; throttles (with --enforce) and notifies", Usage: ciBudgetUsage, Run: ciBudgetCmd},
		{Name: "demo", Summary: "start the built-in demo service and run the demo policy against it", Usage: demoUsage, Subcommands: []string{"serve"}, Run: demoCmd},
		{Name: "evidence", Summary: "create, verify or make keys for the signed evidence bundle", Usage: evidenceUsage, Subcommands: []string{"create", "verify", "keygen"}, Run: evidenceCmd},
		{Name: "forecast", Summary: "backtest a tenant's CI spend forecast and assert its drift (WAPE)", Usage: forecastUsage, Run: forecastCmd},
		{Name: "kinds", Summary: "list the gate kinds this build knows", Usage: "Usage: releasegate kinds\n\nLists every gate kind with its group and summary.\n\nExample:\n  releasegate kinds\n", Run: kindsCmd},
		{Name: "ledger", Summary: "the provenance ledger: migrate, append, verify chains, sign daily Merkle roots, prove entries", Usage: ledgerUsage, Subcommands: []string{"migrate", "append", "verify", "root", "verify-root", "prove", "verify-proof", "keygen"}, Run: ledgerCmd},
		{Name: "policy", Summary: "check a policy, print its JSON Schema or its reference", Usage: policyUsage, Subcommands: []string{"check", "schema", "docs"}, Run: policyCmd},
		{Name: "run", Summary: "evaluate every gate of the policy", Usage: runUsage, Run: runCmd},
		{Name: "slo", Summary: "SLO tools: `slo rules` generates the Prometheus rules matching the policy's SLOs", Usage: sloUsage, Subcommands: []string{"rules"}, Run: sloCmd},
		{Name: "synthetic", Summary: "run the policy's synthetic load gates (optionally one shard) or merge shard results", Usage: syntheticUsage, Subcommands: []string{"merge"}, Run: syntheticCmd},
		{Name: "verify-provenance", Summary: "verify SLSA provenance of artifacts and Sigstore signatures of blobs, offline", Usage: verifyProvenanceUsage, Run: verifyProvenanceCmd},
		{Name: "version", Summary: "print the releasegate version", Usage: "Usage: releasegate version\n\nPrints the version, the Go version and the result schema.\n\nExample:\n  releasegate version\n", Run: versionCmd},
		{Name: "workflow", Summary: "plumbing of the reusable release workflow: plan the matrix, hand results over as artifacts and check them", Usage: workflowUsage, Subcommands: []string{"plan", "hand-over", "receive", "collect"}, Run: workflowCmd},
	}
}

const mainUsage = `releasegate evaluates a release policy's gates — provenance, ledger, SLOs,
synthetic tests, CI budget, jobs — and blocks the release when one fails.

Usage:
  releasegate <command> [flags]

Commands:
`

const mainFooter = `
Exit codes: 0 passed (warnings allowed) · 1 a gate failed · 2 bad input · 3 could not evaluate.
Run 'releasegate <command> --help' for a command's flags and an example.

Example:
  releasegate policy check --policy .github/release-policy.yml
  releasegate run --policy .github/release-policy.yml --format markdown --out results/
`

func usage(w io.Writer) {
	fmt.Fprint(w, mainUsage)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, c := range commandTable() {
		fmt.Fprintf(tw, "  %s\t%s\n", c.Name, c.Summary)
	}
	tw.Flush()
	fmt.Fprint(w, mainFooter)
}

// Main runs releasegate with args (without the program name) and returns
// the exit code. It is the only entry point of cmd/releasegate.
func Main(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	o := &IO{Stdin: stdin, Stdout: stdout, Stderr: stderr, Getenv: os.Getenv, LookupEnv: os.LookupEnv, Environ: os.Environ}
	return o.Main(ctx, args)
}

// Main runs a command line with this IO.
func (o *IO) Main(ctx context.Context, args []string) (code int) {
	if o.Getenv == nil {
		o.Getenv = os.Getenv
	}
	if o.LookupEnv == nil {
		o.LookupEnv = os.LookupEnv
	}
	set := o.redactor() // before anything is printed
	defer o.flush()
	for _, a := range args {
		// --db postgres://user:PASSWORD@host/db and the like
		if _, v, ok := strings.Cut(a, "="); ok && strings.Contains(v, "://") {
			set.AddURL(v)
		} else if strings.Contains(a, "://") {
			set.AddURL(a)
		}
	}
	if len(args) == 0 {
		usage(o.Stderr)
		return ExitBadInput
	}
	name := args[0]
	switch name {
	case "-h", "--help", "help":
		if len(args) > 1 {
			if c, ok := lookup(args[1]); ok {
				fmt.Fprint(o.Stdout, strings.TrimLeft(c.Usage, "\n"))
				return ExitOK
			}
		}
		usage(o.Stdout)
		return ExitOK
	case "-v", "--version":
		name = "version"
	}
	c, ok := lookup(name)
	if !ok {
		fmt.Fprintf(o.Stderr, "releasegate: unknown command %q\n\n", name)
		usage(o.Stderr)
		return ExitBadInput
	}
	if len(args) == 2 && (args[1] == "-h" || args[1] == "--help" || args[1] == "-help") {
		// every command's usage, with its example, whatever its flag parsing
		fmt.Fprint(o.Stdout, strings.TrimLeft(c.Usage, "\n"))
		return ExitOK
	}
	return o.exitFor(c.prefix(args[1:]), c.Run(ctx, o, args[1:]))
}

// prefix is how the command's error messages begin: "releasegate NAME",
// with the subcommand args start with.
func (c Command) prefix(args []string) string {
	p := "releasegate " + c.Name
	if len(args) > 0 && slices.Contains(c.Subcommands, args[0]) {
		p += " " + args[0]
	}
	return p
}

func lookup(name string) (Command, bool) {
	for _, c := range commandTable() {
		if c.Name == name {
			return c, true
		}
	}
	return Command{}, false
}

// NewFlagSet returns a flag set that prints the command's usage and flags
// on --help and reports errors to stderr.
func (o *IO) NewFlagSet(c Command) *flag.FlagSet {
	fs := flag.NewFlagSet(c.Name, flag.ContinueOnError)
	fs.SetOutput(o.Stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), strings.TrimLeft(c.Usage, "\n"))
		fmt.Fprintln(fs.Output(), "\nFlags:")
		fs.PrintDefaults()
	}
	return fs
}

// stringList is the one repeatable flag type: each use appends a value.
type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

// GCPercent is the garbage collector's target the releasegate binary runs
// with unless GOGC is set: 400 instead of Go's 100. The gates' heaps are
// small (tens of MiB at most), and the collector's work is CPU the gates
// share with what they measure on a CI runner: with Go's default, the
// check-slo speed benchmark spent 270–350 ms of CPU per 100 checks × 200
// tenants, with 400 180–200 ms (docs/benchmarks.md). The ledger verifier
// allocates nothing per entry, so its memory stays flat either way.
const GCPercent = 400

// TuneGC sets GCPercent unless the environment sets GOGC.
func TuneGC(lookupEnv func(string) (string, bool)) {
	if _, set := lookupEnv("GOGC"); !set {
		debug.SetGCPercent(GCPercent)
	}
}
