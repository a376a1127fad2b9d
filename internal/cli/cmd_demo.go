package cli

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/maestro-conductor/releasegate/internal/demo"
)

func init() {
	Register(Command{Name: "demo", Summary: "start the built-in demo service and run the demo policy against it", Usage: demoUsage, Run: demoCmd})
}

// DemoPolicy is the policy `releasegate demo` runs by default.
const DemoPolicy = "examples/demo/release-policy.yml"

const demoUsage = `Usage:
  releasegate demo [--policy FILE] [--format text|json|markdown] [--out DIR]
  releasegate demo serve [--addr 127.0.0.1:0] [--for DURATION]

Without a subcommand, starts the built-in multi-tenant demo service on a free
loopback port, runs the demo policy against it (its URL is given to the
policy as ${DEMO_URL}), prints the checklist and exits with the verdict.

'serve' only starts the service: its URL is the first line on stdout, logs
go to stderr, and it runs until interrupted or until --for has passed. The
service has /health, /ready, /t/{tenant}/items (GET, POST), /admin/tenants
and /metrics (Prometheus format); tenants acme, globex and initech.

Example:
  releasegate demo
  releasegate demo --policy examples/demo/failing-policy.yml
  releasegate demo serve --addr 127.0.0.1:8080 --for 10m
`

func demoCmd(ctx context.Context, o *IO, args []string) int {
	if len(args) > 0 && args[0] == "serve" {
		return demoServe(ctx, o, args[1:])
	}
	c, _ := lookup("demo")
	fs := o.NewFlagSet(c)
	var ro RunOptions
	fs.StringVar(&ro.Policy, "policy", DemoPolicy, "policy file to run against the demo service")
	fs.BoolVar(&ro.Quiet, "quiet", false, "no progress on stderr")
	addOutputFlags(fs, &ro.Output)
	if code, ok := Parse(fs, args); !ok {
		return code
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(o.Stderr, "releasegate demo: unexpected arguments %q; the only subcommand is serve\n", fs.Args())
		return ExitBadInput
	}
	srv, err := demo.Start(ctx, "127.0.0.1:0")
	if err != nil {
		fmt.Fprintf(o.Stderr, "releasegate demo: %v\n", err)
		return ExitError
	}
	defer srv.Close()
	if !ro.Quiet {
		o.Logf("demo service on %s (tenants %s)", srv.URL(), strings.Join(srv.Tenants(), ", "))
	}
	lookupEnv, getenv := o.LookupEnv, o.Getenv
	o.LookupEnv = func(k string) (string, bool) {
		if k == "DEMO_URL" {
			return srv.URL(), true
		}
		return lookupEnv(k)
	}
	o.Getenv = func(k string) string {
		if k == "DEMO_URL" {
			return srv.URL()
		}
		return getenv(k)
	}
	return RunPolicy(ctx, o, ro)
}

func demoServe(ctx context.Context, o *IO, args []string) int {
	c := Command{Name: "demo serve", Usage: demoUsage}
	fs := o.NewFlagSet(c)
	addr := fs.String("addr", "127.0.0.1:0", "loopback address to listen on; port 0 picks a free port")
	dur := fs.Duration("for", 0, "stop after this long (default: run until interrupted)")
	ready := fs.Duration("ready-after", 0, "answer 503 on /ready for this long after start, like a service warming up")
	if code, ok := Parse(fs, args); !ok {
		return code
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(o.Stderr, "releasegate demo serve: unexpected arguments %q\n", fs.Args())
		return ExitBadInput
	}
	if *dur < 0 || *ready < 0 {
		fmt.Fprintln(o.Stderr, "releasegate demo serve: --for and --ready-after must not be negative")
		return ExitBadInput
	}
	if *dur > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *dur)
		defer cancel()
	}
	srv, err := demo.StartWith(ctx, *addr, demo.Options{ReadyAfter: *ready})
	if err != nil {
		fmt.Fprintf(o.Stderr, "releasegate demo serve: %v\n", err)
		return ExitBadInput
	}
	defer srv.Close()
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
	return ExitOK
}
