// Package vulngate is the `vulnerabilities` gate kind: the scanner
// reports of each released artifact (SARIF 2.1 from CodeQL, Trivy or
// Grype; Grype, Trivy, OSV-Scanner or govulncheck JSON) are read with
// internal/vuln, must be made for the artifact's digest and fresh enough,
// and no finding at or above the policy's severity may remain that an
// OpenVEX statement (optionally signed, verified with internal/provenance)
// or an unexpired allow-list entry does not waive.
//
// Every finding that counts is a failing check, every waiver applied a
// passing one that says who waived it; a report that is missing, too
// large, truncated or malformed fails its check. The result's inputs carry
// the SHA-256 of every report, VEX document and bundle.
package vulngate

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"time"

	"github.com/maestro-conductor/releasegate/internal/fsx"
	"github.com/maestro-conductor/releasegate/internal/gate"
	"github.com/maestro-conductor/releasegate/internal/provenance"
	"github.com/maestro-conductor/releasegate/internal/vuln"
)

// Kind is the gate kind name.
const Kind = "vulnerabilities"

// MaxReportSize bounds each report and VEX document.
const MaxReportSize = fsx.MaxDocSize

func init() {
	gate.RegisterTyped(gate.Typed[Spec]{
		Name:    Kind,
		Group:   "provenance",
		Summary: "judges scanner reports (SARIF, Grype, Trivy, OSV-Scanner, govulncheck) of each artifact against a severity, OpenVEX waivers and an expiring allow-list",
		New:     func(m gate.Meta, s Spec, env gate.Env) (gate.Gate, error) { return New(m, s, env), nil },
	})
}

// Gate judges the reports of its Spec.
type Gate struct {
	meta gate.Meta
	spec Spec
	env  gate.Env
	now  func() time.Time
}

// New builds a gate; relative paths resolve against env.PolicyDir.
func New(m gate.Meta, s Spec, env gate.Env) *Gate {
	if m.Kind == "" {
		m.Kind = Kind
	}
	return &Gate{meta: m, spec: s, env: env, now: time.Now}
}

// Name is the gate id.
func (g *Gate) Name() string { return g.meta.ID }

// Describe says what the gate checks.
func (g *Gate) Describe() string {
	n := 0
	for _, a := range g.spec.Artifacts {
		n += len(a.Reports)
	}
	return fmt.Sprintf("judge %d vulnerability report(s) of %d artifact(s) at fail-on %s", n, len(g.spec.Artifacts), g.spec.severity())
}

// Run judges every artifact.
func (g *Gate) Run(ctx context.Context) (*gate.Result, error) {
	s := g.spec
	if errs := s.Validate(); len(errs) > 0 {
		return nil, &gate.InputError{Input: Kind, Err: errors.Join(errs...)}
	}
	now := g.now()
	res := &gate.Result{Schema: gate.SchemaVersion, Gate: g.meta.ID, Kind: Kind, Group: g.meta.Group,
		Required: g.meta.Required, Location: g.meta.Location}
	var verifier *provenance.Verifier
	if s.TrustedRoot != "" {
		v, in, err := g.loadVerifier()
		if err != nil {
			return nil, &gate.InputError{Input: "trusted-root", Err: err}
		}
		verifier = v
		res.Inputs = append(res.Inputs, in)
	}
	allow, expired := g.allowances(now)
	for _, a := range expired {
		res.Add(gate.Check{Name: "allow-list " + a.ID, Status: gate.StatusFail, Observed: gate.Text(a.Expires),
			Expected: "expires after " + now.UTC().Format(time.DateOnly),
			Message:  fmt.Sprintf("the waiver of %s expired on %s (%s); fix the finding, or renew the waiver with a new expiry and reason", a.ID, a.Expires, a.Reason)})
	}
	var details []map[string]any
	for _, a := range s.Artifacts {
		d, err := g.artifact(ctx, a, allow, verifier, now, res)
		if err != nil {
			return nil, err
		}
		details = append(details, d)
	}
	res.Details = map[string]any{"fail_on": s.severity().String(), "severity_from": severityFrom(s), "artifacts": details}
	res.Summary = summary(res, details)
	return res, nil
}

func severityFrom(s Spec) string {
	if s.SeverityFrom == "" {
		return "scanner"
	}
	return s.SeverityFrom
}

// allowances splits the allow-list into live entries, per artifact name
// ("" for all), and the expired ones.
func (g *Gate) allowances(now time.Time) (map[string][]vuln.Allowance, []Allow) {
	live := map[string][]vuln.Allowance{}
	var expired []Allow
	for _, a := range g.spec.Allow {
		t, _ := expiry(a.Expires) // validated
		al := vuln.Allowance{ID: a.ID, Package: a.Package, Expires: t, Reason: a.Reason}
		if al.Expired(now) {
			expired = append(expired, a)
		}
		// expired entries stay listed so a finding they would waive says so
		if len(a.Artifacts) == 0 {
			live[""] = append(live[""], al)
		}
		for _, n := range a.Artifacts {
			live[n] = append(live[n], al)
		}
	}
	return live, expired
}

func (g *Gate) loadVerifier() (*provenance.Verifier, gate.Input, error) {
	path := g.env.Path(g.spec.TrustedRoot)
	v, data, err := provenance.LoadVerifier(context.Background(), path)
	if err != nil {
		return nil, gate.Input{}, err
	}
	return v, gate.Input{Name: "trusted root", URI: path, Digest: gate.Digest(data)}, nil
}

// stopped says why the gate stopped early, naming what it was doing.
func stopped(ctx context.Context, what string) error {
	return fmt.Errorf("%s: %w", what, gate.Stopped(ctx))
}

// readProblem words a report or VEX file that could not be read.
func readProblem(err error) string {
	var tl *fsx.TooLargeError
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "not found: expected the file the scanner wrote; check the path and that the scan ran"
	case errors.As(err, &tl):
		return fmt.Sprintf("%v; a report this large is refused: split the scan or filter it", err)
	}
	return err.Error()
}

func summary(res *gate.Result, details []map[string]any) string {
	counted, waived := 0, 0
	for _, d := range details {
		counted += d["counted"].(int)
		waived += d["waived"].(int)
	}
	if gate.Folded(res.Checks) == gate.StatusPass {
		return fmt.Sprintf("%d artifact(s): no finding at or above the threshold remains (%d waived)", len(details), waived)
	}
	return fmt.Sprintf("%d artifact(s): %d finding(s) at or above the threshold, %d waived; see the failing checks", len(details), counted, waived)
}

// trim shortens a list for a message.
func trim(list []string, n int) string {
	if len(list) <= n {
		return strings.Join(list, ", ")
	}
	return strings.Join(list[:n], ", ") + fmt.Sprintf(" and %d more", len(list)-n)
}
