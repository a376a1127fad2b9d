package cli

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"text/tabwriter"

	"github.com/maestro-conductor/releasegate/internal/gate"
	"github.com/maestro-conductor/releasegate/internal/policy"
)

// versionCmd prints the version, the Go version and the result schema.
func versionCmd(_ context.Context, o *IO, _ []string) error {
	fmt.Fprintf(o.Stdout, "releasegate %s (%s, %s/%s, result schema %s)\n", toolVersion(), runtime.Version(), runtime.GOOS, runtime.GOARCH, gate.SchemaVersion)
	return nil
}

// kindsCmd lists every gate kind with its group and summary.
func kindsCmd(_ context.Context, o *IO, _ []string) error {
	tw := tabwriter.NewWriter(o.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "KIND\tGROUP\tSUMMARY")
	for _, k := range gate.Kinds() {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", k.Name, k.Group, k.Summary)
	}
	return tw.Flush()
}

const policyUsage = `Usage:
  releasegate policy check [--policy FILE]   validate; every problem with file:line:col
  releasegate policy schema                  print the policy's JSON Schema (for editors)
  releasegate policy docs                    print the policy reference (docs/policy.md)

'check' exits 0 when the policy is valid and 2 when it is not; nothing is run.

Example:
  releasegate policy check --policy .github/release-policy.yml
`

func policyCmd(_ context.Context, o *IO, args []string) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
			fmt.Fprint(o.Stdout, policyUsage)
			return nil
		}
		fmt.Fprint(o.Stderr, policyUsage)
		return exitCode(ExitBadInput)
	}
	sub := Command{Name: "policy " + args[0], Usage: policyUsage}
	fs := o.NewFlagSet(sub)
	path := fs.String("policy", policy.DefaultPath, "policy file")
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	switch args[0] {
	case "check":
		return policyCheck(o, *path)
	case "schema":
		b, err := policy.Schema(gate.Kinds())
		if err != nil {
			return err
		}
		_, err = o.Stdout.Write(b)
		return err
	case "docs":
		fmt.Fprint(o.Stdout, policy.Reference(gate.Kinds()))
		return nil
	}
	return inputf("unknown subcommand %q; expected check, schema or docs", args[0])
}

// policyCheck validates the policy and prints how many gates each group has.
func policyCheck(o *IO, path string) error {
	p, err := o.openPolicy(path)
	if err != nil {
		return err
	}
	groups := map[string]int{}
	var order []string
	for _, g := range p.Gates {
		if groups[g.Group] == 0 {
			order = append(order, g.Group)
		}
		groups[g.Group]++
	}
	parts := make([]string, len(order))
	for i, g := range order {
		parts[i] = fmt.Sprintf("%s %d", g, groups[g])
	}
	fmt.Fprintf(o.Stdout, "policy %s is valid: %d gate(s) (%s)\n", p.File, len(p.Gates), strings.Join(parts, ", "))
	return nil
}
