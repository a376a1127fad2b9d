package vulngate

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/maestro-conductor/releasegate/internal/fsx"
	"github.com/maestro-conductor/releasegate/internal/gate"
	"github.com/maestro-conductor/releasegate/internal/provenance"
	"github.com/maestro-conductor/releasegate/internal/vuln"
	"github.com/openvex/go-vex/pkg/vex"
)

// artifact judges one artifact: its reports, its VEX documents, then the
// findings. It returns the artifact's details; an error only when the
// context ended.
func (g *Gate) artifact(ctx context.Context, a Artifact, allow map[string][]vuln.Allowance, v *provenance.Verifier, now time.Time, res *gate.Result) (map[string]any, error) {
	reports, reportDetails, err := g.reports(ctx, a, now, res)
	if err != nil {
		return nil, err
	}
	vexes, vexDetails := g.vexes(ctx, a, v, res)
	if err := ctx.Err(); err != nil {
		return nil, stopped(ctx, "artifact "+a.Name)
	}
	c := vuln.Criteria{Threshold: g.spec.severity(), CVSS: g.spec.SeverityFrom == "cvss",
		Product: vuln.Product{IDs: a.Products, Digest: a.Digest}, VEX: vexes,
		Allow: append(append([]vuln.Allowance(nil), allow[""]...), allow[a.Name]...), Now: now}
	out := vuln.Judge(reports, c)
	expected := "< " + c.Threshold.String()
	for _, f := range out.Counted {
		msg := fmt.Sprintf("%s: %s %s (%s) in %s; fix it (upgrade %s), or waive it with a VEX statement or an allow-list entry with an expiry",
			a.Name, f.Severity, f.ID, scoreText(f), trim(f.Reports, 3), orWhat(f.Package))
		if f.Expired != nil {
			msg = fmt.Sprintf("%s: %s %s counts: its allow-list entry expired on %s; fix it or renew the waiver", a.Name, f.Severity, f.ID, f.Expired.Expires.UTC().Format(time.RFC3339))
		}
		res.Add(gate.Check{Name: a.Name + ": " + f.Key(), Status: gate.StatusFail, Observed: gate.Text(f.Severity.String()), Expected: expected, Message: msg})
	}
	var waivers []map[string]any
	for _, f := range out.Waived {
		w := f.Waiver
		by := fmt.Sprintf("VEX %s states %s", filepath.Base(w.Source), w.Statement)
		if w.Signer != "" {
			by += ", signed by " + w.Signer
		}
		if w.By == "allow-list" {
			by = fmt.Sprintf("the allow-list until %s: %s", w.Expires.UTC().Format(time.DateOnly), w.Statement)
		}
		res.Add(gate.Check{Name: a.Name + ": " + f.Key(), Status: gate.StatusPass, Observed: gate.Text("waived"), Expected: expected + " or waived",
			Message: fmt.Sprintf("%s %s waived by %s", f.Severity, f.ID, by)})
		waivers = append(waivers, map[string]any{"finding": f.Key(), "severity": f.Severity.String(), "by": w.By, "source": w.Source,
			"statement": w.Statement, "signer": w.Signer})
	}
	total := gate.Check{Name: a.Name + ": findings at or above " + c.Threshold.String(), Observed: gate.Int(int64(len(out.Counted))), Expected: "0",
		Status: gate.StatusPass, Message: fmt.Sprintf("%s: %d distinct finding(s) in %d report(s): %d counted, %d waived, %d below %s",
			a.Name, out.Total, len(reports), len(out.Counted), len(out.Waived), out.Below, c.Threshold)}
	switch {
	case len(reports) == 0:
		total.Status, total.Observed = gate.StatusFail, gate.Value{}
		total.Message = fmt.Sprintf("%s: none of its %d report(s) could be judged (see their checks); no data is never a pass", a.Name, len(a.Reports))
	case len(out.Counted) > 0:
		total.Status = gate.StatusFail
	}
	res.Add(total)
	return map[string]any{"name": a.Name, "digest": a.Digest, "reports": reportDetails, "vex": vexDetails,
		"total": out.Total, "counted": len(out.Counted), "waived": len(out.Waived), "below": out.Below, "waivers": waivers}, nil
}

func scoreText(f vuln.Judged) string {
	if f.HasScore {
		return fmt.Sprintf("CVSS %s", gate.FormatFloat(f.Score))
	}
	return "no CVSS score"
}

func orWhat(pkg string) string {
	if pkg == "" {
		return "or fix the code"
	}
	return pkg
}

// reports reads each report of a and checks it names the digest and is
// fresh; each problem is a failing check, and a report with one is left
// out of the judgement (its check already fails the gate).
func (g *Gate) reports(ctx context.Context, a Artifact, now time.Time, res *gate.Result) ([]vuln.Named, []map[string]any, error) {
	var named []vuln.Named
	var details []map[string]any
	bySHA := map[string]string{}
	for _, p := range a.Reports {
		name := a.Name + ": report " + p
		f, err := vuln.ParseFile(ctx, g.env.Path(p), "", MaxReportSize)
		if ctx.Err() != nil {
			return nil, nil, stopped(ctx, "reading "+p)
		}
		if err != nil {
			res.Add(gate.Check{Name: name, Status: gate.StatusFail, Expected: "a readable report",
				Message: fmt.Sprintf("%s: %s", p, readProblem(err))})
			continue
		}
		rep := f.Report
		res.Inputs = append(res.Inputs, gate.Input{Name: "report " + p, URI: g.env.Path(p), Digest: "sha256:" + f.SHA256})
		d := map[string]any{"path": p, "sha256": f.SHA256, "format": string(rep.Format), "tool": rep.Tool, "tool_version": rep.ToolVersion,
			"digests": rep.Digests, "findings": len(rep.Findings)}
		if !rep.Created.IsZero() {
			d["created"] = rep.Created.UTC().Format(time.RFC3339)
		}
		details = append(details, d)
		if first, dup := bySHA[f.SHA256]; dup {
			res.Add(gate.Check{Name: name, Status: gate.StatusFail, Observed: gate.Text("sha256:" + f.SHA256), Expected: "distinct reports",
				Message: fmt.Sprintf("%s is the same report as %s; list each report once", p, first)})
			continue
		}
		bySHA[f.SHA256] = p
		ok := g.checkTarget(a, p, rep, res)
		ok = g.checkAge(a, p, rep, now, res) && ok
		if ok {
			named = append(named, vuln.Named{Name: p, Report: rep})
		}
	}
	return named, details, nil
}

func (g *Gate) checkTarget(a Artifact, p string, rep *vuln.Report, res *gate.Result) bool {
	if a.Digest == "" {
		return true
	}
	c := gate.Check{Name: a.Name + ": report " + p + " target", Expected: a.Digest}
	switch {
	case rep.NamesDigest(a.Digest):
		c.Status, c.Observed = gate.StatusPass, gate.Text(a.Digest)
		c.Message = fmt.Sprintf("%s (%s) was made for %s", p, rep.Format, a.Digest)
	case len(rep.Digests) == 0:
		c.Status = gate.StatusFail
		c.Message = fmt.Sprintf("%s (%s) names no image digest, so it cannot be bound to %s; scan the image by digest, or list the report under an artifact without digest (a source scan)", p, rep.Format, a.Digest)
	default:
		c.Status, c.Observed = gate.StatusFail, gate.Text(trim(rep.Digests, 3))
		c.Message = fmt.Sprintf("%s was made for another digest (%s), expected %s; scan the released image", p, trim(rep.Digests, 3), a.Digest)
	}
	res.Add(c)
	return c.Status == gate.StatusPass
}

func (g *Gate) checkAge(a Artifact, p string, rep *vuln.Report, now time.Time, res *gate.Result) bool {
	maxAge := g.spec.MaxAge.D()
	if maxAge <= 0 {
		return true
	}
	c := gate.Check{Name: a.Name + ": report " + p + " age", Expected: "<= " + g.spec.MaxAge.String(), Unit: "h"}
	switch age := now.Sub(rep.Created); {
	case rep.Created.IsZero():
		c.Status = gate.StatusFail
		c.Message = fmt.Sprintf("%s (%s) carries no scan time, so its age is unknown; use a format that records one, or set max-age: 0", p, rep.Format)
	case age > maxAge:
		c.Status, c.Observed = gate.StatusFail, gate.Number(age.Hours())
		c.Message = fmt.Sprintf("%s is %s old (%s %s), older than %s; scan again", p, age.Round(time.Minute), rep.CreatedFrom, rep.Created.UTC().Format(time.RFC3339), g.spec.MaxAge)
	case age < -5*time.Minute:
		c.Status, c.Observed = gate.StatusFail, gate.Number(age.Hours())
		c.Message = fmt.Sprintf("%s says it was made at %s, in the future; check the scanner's clock", p, rep.Created.UTC().Format(time.RFC3339))
	default:
		c.Status, c.Observed = gate.StatusPass, gate.Number(age.Hours())
		c.Message = fmt.Sprintf("%s is %s old", p, age.Round(time.Minute))
	}
	res.Add(c)
	return c.Status == gate.StatusPass
}

// vexes reads, verifies and checks each VEX document of a.
func (g *Gate) vexes(ctx context.Context, a Artifact, v *provenance.Verifier, res *gate.Result) ([]*vuln.VEX, []map[string]any) {
	var out []*vuln.VEX
	var details []map[string]any
	product := vuln.Product{IDs: a.Products, Digest: a.Digest}
	for _, vf := range a.VEX {
		file := vf.Path
		if file == "" {
			file = vf.Attestation
		}
		fail := func(msg string) {
			res.Add(gate.Check{Name: a.Name + ": vex " + file, Status: gate.StatusFail, Expected: "a valid OpenVEX document for " + a.Name, Message: file + ": " + msg})
		}
		var x *vuln.VEX
		var sum string
		var err error
		if vf.Attestation != "" {
			x, sum, err = g.attestedVEX(ctx, a, vf, v, res)
		} else {
			x, sum, err = g.vexFile(ctx, vf, v, res)
		}
		if err != nil {
			fail(err.Error())
			continue
		}
		if !x.NamesProduct(product) {
			fail(fmt.Sprintf("no statement names %s (%s); it is a VEX document for another product", a.Name, productText(a)))
			continue
		}
		out = append(out, x)
		details = append(details, map[string]any{"path": file, "sha256": sum[len("sha256:"):], "author": x.Doc.Author, "signer": x.Signer,
			"statements": len(x.Doc.Statements)})
	}
	return out, details
}

// vexFile reads a VEX document and, with a bundle, verifies its signature.
func (g *Gate) vexFile(ctx context.Context, vf VEXFile, v *provenance.Verifier, res *gate.Result) (*vuln.VEX, string, error) {
	data, err := fsx.ReadFile(ctx, g.env.Path(vf.Path), MaxReportSize)
	if err != nil {
		return nil, "", errors.New(readProblem(err))
	}
	sum := gate.Digest(data)
	res.Inputs = append(res.Inputs, gate.Input{Name: "vex " + vf.Path, URI: g.env.Path(vf.Path), Digest: sum})
	doc, err := vuln.ParseVEX(data)
	if err != nil {
		return nil, "", err
	}
	x := &vuln.VEX{Name: vf.Path, Doc: doc}
	if vf.Bundle != "" {
		signer, err := g.verifyVEX(v, vf, sum, res)
		if err != nil {
			return nil, "", fmt.Errorf("signature: %w; sign the document as it is (cosign sign-blob --bundle) by %s", err, describeIdentity(g.spec.Identity()))
		}
		x.Signer = signer
	}
	return x, sum, nil
}

// attestedVEX verifies a keyless in-toto attestation whose predicate is an
// OpenVEX document (vexctl attest, cosign attest --type openvex) for the
// artifact's digest, and reads the document from it.
func (g *Gate) attestedVEX(ctx context.Context, a Artifact, vf VEXFile, v *provenance.Verifier, res *gate.Result) (*vuln.VEX, string, error) {
	data, err := fsx.ReadFile(ctx, g.env.Path(vf.Attestation), fsx.MaxDocSize)
	if err != nil {
		return nil, "", errors.New(readProblem(err))
	}
	sum := gate.Digest(data)
	res.Inputs = append(res.Inputs, gate.Input{Name: "vex attestation " + vf.Attestation, URI: g.env.Path(vf.Attestation), Digest: sum})
	bundles, err := provenance.ParseBundles(data)
	if err != nil {
		return nil, "", err
	}
	if len(bundles) != 1 {
		return nil, "", fmt.Errorf("%w: %d bundles, expected one", provenance.ErrMalformedBundle, len(bundles))
	}
	if v == nil {
		return nil, "", errors.New("no trusted root to verify it against")
	}
	var doc *vex.VEX
	check := func(payload []byte) error {
		st, err := provenance.ParseStatement(payload)
		if err != nil {
			return err
		}
		if !strings.HasPrefix(st.PredicateType, vexPredicate) {
			return &provenance.MismatchError{Kind: provenance.ErrMismatchSubject, What: "predicate type", Expected: vexPredicate + "…",
				Got: st.PredicateType, Hint: "the attestation carries something other than an OpenVEX document"}
		}
		if _, ok := st.HasSubject(strings.TrimPrefix(a.Digest, "sha256:")); !ok {
			return &provenance.MismatchError{Kind: provenance.ErrMismatchSubject, What: "subject", Expected: a.Digest,
				Got: fmt.Sprint(len(st.Subjects), " other subject(s)"), Hint: "the attestation is for another artifact"}
		}
		doc, err = vuln.ParseVEX(st.Predicate)
		return err
	}
	sig, err := v.VerifyEnvelope(bundles[0], "application/vnd.in-toto+json", check, g.spec.Identity())
	if err != nil {
		return nil, "", err
	}
	return &vuln.VEX{Name: vf.Attestation, Doc: doc, Signer: sig.Signer}, sum, nil
}

// vexPredicate starts the in-toto predicate types of OpenVEX documents.
const vexPredicate = "https://openvex.dev/ns"

func (g *Gate) verifyVEX(v *provenance.Verifier, vf VEXFile, sum string, res *gate.Result) (string, error) {
	data, err := fsx.ReadFile(context.Background(), g.env.Path(vf.Bundle), fsx.MaxDocSize)
	if err != nil {
		return "", err
	}
	res.Inputs = append(res.Inputs, gate.Input{Name: "vex bundle " + vf.Bundle, URI: g.env.Path(vf.Bundle), Digest: gate.Digest(data)})
	bundles, err := provenance.ParseBundles(data)
	if err != nil {
		return "", err
	}
	if len(bundles) != 1 {
		return "", fmt.Errorf("%w: %d bundles, expected one", provenance.ErrMalformedBundle, len(bundles))
	}
	if v == nil {
		return "", errors.New("no trusted root to verify it against")
	}
	sig, err := v.VerifyBlob(bundles[0], sum[len("sha256:"):], g.spec.Identity())
	if err != nil {
		return "", err
	}
	return sig.Signer, nil
}

func productText(a Artifact) string {
	parts := append([]string(nil), a.Products...)
	if a.Digest != "" {
		parts = append(parts, a.Digest)
	}
	if len(parts) == 0 {
		return "no products or digest set for the artifact: set products"
	}
	return trim(parts, 3)
}

func describeIdentity(id provenance.Identity) string {
	who, iss := id.Identity, id.Issuer
	if who == "" {
		who = "/" + id.IdentityRegexp + "/"
	}
	if iss == "" {
		iss = "/" + id.IssuerRegexp + "/"
	}
	return who + " (issuer " + iss + ")"
}
