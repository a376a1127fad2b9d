// Package provenancegate is the `provenance` gate kind: SLSA provenance of
// release artifacts and Sigstore signatures of blobs, verified offline
// against a pinned trusted root. The verification itself lives in
// internal/provenance; this package maps settings to it and its outcomes
// to a Result.
package provenancegate

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/maestro-conductor/releasegate/internal/fsx"
	"github.com/maestro-conductor/releasegate/internal/gate"
	prov "github.com/maestro-conductor/releasegate/internal/provenance"
	"github.com/sigstore/sigstore-go/pkg/root"
)

// Kind is the gate kind name.
const Kind = "provenance"

func init() {
	gate.RegisterTyped(gate.Typed[Spec]{
		Name:    Kind,
		Group:   "provenance",
		Summary: "verifies SLSA provenance of artifacts and Sigstore signatures of blobs, offline against a pinned trusted root",
		New: func(m gate.Meta, s Spec, env gate.Env) (gate.Gate, error) {
			return New(m, s, env), nil
		},
	})
}

// Gate verifies the artifacts and blobs of its Spec.
type Gate struct {
	meta gate.Meta
	spec Spec
	env  gate.Env
}

// New builds a gate; relative paths resolve against env.PolicyDir.
func New(m gate.Meta, s Spec, env gate.Env) *Gate {
	if m.Kind == "" {
		m.Kind = Kind
	}
	return &Gate{meta: m, spec: s, env: env}
}

// Name is the gate id.
func (g *Gate) Name() string { return g.meta.ID }

// Describe says what the gate checks.
func (g *Gate) Describe() string {
	var parts []string
	if n := len(g.spec.Artifacts) + len(g.spec.Checksums); n > 0 {
		parts = append(parts, fmt.Sprintf("SLSA provenance of %d artifact pattern(s) from %s", n, prov.NormalizeSourceURI(g.spec.SourceURI)))
	}
	if n := len(g.spec.Images); n > 0 {
		parts = append(parts, fmt.Sprintf("%d image(s)", n))
	}
	if n := len(g.spec.Blobs); n > 0 {
		parts = append(parts, fmt.Sprintf("signatures of %d blob(s)", n))
	}
	return "verify " + strings.Join(parts, ", ")
}

func (g *Gate) path(p string) string { return g.env.Path(p) }

func badInput(field string, err error) error { return &gate.InputError{Input: field, Err: err} }

// Run verifies everything and returns one check per artifact and blob.
func (g *Gate) Run(ctx context.Context) (*gate.Result, error) {
	s := g.spec
	if errs := s.Validate(); len(errs) > 0 {
		return nil, badInput(Kind, errors.Join(errs...))
	}
	res := &gate.Result{Schema: gate.SchemaVersion, Gate: g.meta.ID, Kind: Kind, Group: g.meta.Group,
		Required: g.meta.Required, Location: g.meta.Location, Details: map[string]any{}}
	opts := prov.Options{IgnoreTlogUnsafe: s.InsecureIgnoreTlog, Instance: s.SigstoreInstance}
	if s.Online {
		// The explicit opt-in: the only network call to Sigstore.
		tr, err := prov.FetchTrustedRoot(prov.OnlineOptions{Mirror: s.TUFMirror})
		if err != nil {
			return nil, fmt.Errorf("%w: %v", gate.ErrUnreachable, err)
		}
		opts.TrustedRoot = tr
		mirror := s.TUFMirror
		if mirror == "" {
			mirror = prov.PublicGoodTUF
		}
		res.Inputs = append(res.Inputs, gate.Input{Name: "trusted root (TUF)", URI: mirror})
	}
	if s.TrustedRoot != "" {
		tr, in, err := loadTrustedRoot(g.path(s.TrustedRoot), s.SigstoreInstance)
		if err != nil {
			return nil, badInput("trusted-root", err)
		}
		opts.TrustedRoot = tr
		res.Inputs = append(res.Inputs, in)
	}
	if len(s.Artifacts) > 0 || len(s.Checksums) > 0 {
		v, err := prov.NewVerifier(prov.Options{TrustedRoot: opts.TrustedRoot, Instance: opts.Instance})
		if err != nil {
			return nil, badInput("trusted-root", err)
		}
		if err := g.runSLSA(ctx, v, res); err != nil {
			return nil, err
		}
	}
	if len(s.Images) > 0 && s.SourceURI != "" {
		v, err := prov.NewVerifier(prov.Options{TrustedRoot: opts.TrustedRoot, Instance: opts.Instance})
		if err != nil {
			return nil, badInput("trusted-root", err)
		}
		if err := g.runImages(ctx, v, res, true); err != nil {
			return nil, err
		}
	}
	if len(s.Blobs) > 0 || (len(s.Images) > 0 && s.SourceURI == "") {
		if s.Key != "" {
			k, err := prov.LoadPublicKey(g.path(s.Key))
			if err != nil {
				return nil, badInput("key", err)
			}
			opts.Key = k
			res.Inputs = append(res.Inputs, fileInput("key", g.path(s.Key)))
		}
		v, err := prov.NewVerifier(opts)
		if err != nil {
			return nil, badInput("key", err)
		}
		g.runBlobs(ctx, v, res)
		if len(s.Images) > 0 && s.SourceURI == "" {
			if err := g.runImages(ctx, v, res, false); err != nil {
				return nil, err
			}
		}
		for _, w := range v.Warnings() {
			res.Add(gate.Check{Name: "transparency log", Status: gate.StatusWarn, Message: w})
		}
		if s.Key == "" && s.Identity().Insecure() {
			res.Add(gate.Check{Name: "signer identity", Status: gate.StatusWarn, Observed: gate.Text(s.CertificateIdentityRegexp),
				Message: "any signer identity is accepted (insecure-any-identity): anyone with an OIDC account can sign; pin certificate-identity"})
		}
	}
	res.Summary = summary(res) // the runner folds the status
	return res, nil
}

func (g *Gate) runSLSA(ctx context.Context, v *prov.Verifier, res *gate.Result) error {
	s := g.spec
	patterns := make([]string, len(s.Artifacts))
	copy(patterns, s.Artifacts)
	arts, err := prov.ExpandArtifacts(g.env.PolicyDir, patterns, s.Checksums)
	if err != nil {
		return badInput("artifacts", err)
	}
	pol := s.SLSAPolicy()
	b := &prov.Batch{Verifier: v, Policy: pol, Provenance: g.path(s.Provenance)}
	results := b.Run(ctx, arts)
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("verifying %d artifacts: %w", len(arts), gate.ErrTimeout)
	}
	expected := expectation(pol)
	details := make([]map[string]any, 0, len(results))
	seenProv := map[string]bool{}
	for _, r := range results {
		d := map[string]any{"name": r.Name, "sha256": r.SHA256, "provenance": r.Provenance}
		if r.SHA256 != "" {
			res.Inputs = append(res.Inputs, gate.Input{Name: r.Name, URI: r.Path, Digest: "sha256:" + r.SHA256})
		}
		if r.Provenance != "" && !seenProv[r.Provenance] {
			seenProv[r.Provenance] = true
			res.Inputs = append(res.Inputs, fileInput("provenance "+filepath.Base(r.Provenance), r.Provenance))
		}
		c := gate.Check{Name: "slsa " + r.Name, Expected: expected}
		if r.Err != nil {
			c.Status = gate.StatusFail
			c.Observed = gate.Text("sha256:" + r.SHA256)
			c.Message = r.Err.Error()
			d["error"] = r.Err.Error()
		} else {
			a := r.Attestation
			e := a.Evidence
			ref := e.CertRef
			if ref == "" {
				ref = e.Ref
			}
			source := e.CertSource
			if source == "" {
				source = e.SourceURI
			}
			commit := e.CertCommit
			if commit == "" {
				commit = e.Commit
			}
			c.Status = gate.StatusPass
			c.Observed = gate.Text(e.BuilderID)
			c.Message = fmt.Sprintf("%s (sha256:%.12s…) built by %s from %s@%s (commit %.12s)", r.Name, r.SHA256, e.BuilderID, source, ref, commit)
			d["builder_id"], d["source"], d["ref"], d["commit"], d["subject"] = e.BuilderID, source, ref, commit, a.Subject
			d["signer"], d["predicate_type"] = e.Signer, e.PredicateType
			if e.CertBuildSigner != "" {
				c.Message += "; signed by " + e.CertBuildSigner
				d["signer_workflow"] = e.CertBuildSigner
			}
			if e.CertRunnerEnvironment != "" {
				d["runner_environment"] = e.CertRunnerEnvironment
			}
			addObserved(&c, d, a.Log, a.SignedTime)
		}
		res.Add(c)
		details = append(details, d)
	}
	res.Details["artifacts"] = details
	return nil
}

func (g *Gate) runBlobs(ctx context.Context, v *prov.Verifier, res *gate.Result) {
	id := g.spec.Identity()
	details := make([]map[string]any, 0, len(g.spec.Blobs))
	for _, b := range g.spec.Blobs {
		name := b.Path
		c := gate.Check{Name: "signature " + name}
		d := map[string]any{"name": name}
		sig, sum, bundlePath, err := verifyBlob(ctx, v, g.path(b.Path), g.path(b.Bundle), g.path(b.Signature), id)
		if sum != "" {
			res.Inputs = append(res.Inputs, gate.Input{Name: name, URI: g.path(b.Path), Digest: "sha256:" + sum})
			d["sha256"] = sum
		}
		if bundlePath != "" {
			d["bundle"] = bundlePath
		}
		if err != nil {
			c.Status, c.Message = gate.StatusFail, err.Error()
			d["error"] = err.Error()
		} else {
			c.Status = gate.StatusPass
			c.Observed = gate.Text(sig.Signer)
			c.Message = fmt.Sprintf("%s (sha256:%.12s…) signed by %s", name, sum, sig.Signer)
			if sig.Issuer != "" {
				c.Message += " (" + sig.Issuer + ")"
			}
			d["signer"], d["issuer"] = sig.Signer, sig.Issuer
			addObserved(&c, d, sig.Log, sig.SignedTime)
		}
		res.Add(c)
		details = append(details, d)
	}
	res.Details["blobs"] = details
}

func verifyBlob(ctx context.Context, v *prov.Verifier, path, bundlePath, sigPath string, id prov.Identity) (*prov.Signature, string, string, error) {
	if err := ctx.Err(); err != nil {
		return nil, "", "", err
	}
	sum, err := prov.HashFile(path)
	if err != nil {
		return nil, "", "", err
	}
	if sigPath != "" {
		sig, err := verifyDetached(v, sum, sigPath, id)
		return sig, sum, sigPath, err
	}
	if bundlePath == "" {
		for _, suffix := range []string{".sigstore.json", ".bundle", ".sigstore"} {
			if _, err := os.Stat(path + suffix); err == nil {
				bundlePath = path + suffix
				break
			}
		}
		if bundlePath == "" {
			return nil, sum, "", fmt.Errorf("no bundle beside %s: expected %s.sigstore.json or .bundle, or set bundle", path, filepath.Base(path))
		}
	}
	data, err := fsx.ReadFile(context.Background(), bundlePath, fsx.MaxDocSize)
	if err != nil {
		return nil, sum, bundlePath, err
	}
	bundles, err := prov.ParseBundles(data)
	if err != nil {
		return nil, sum, bundlePath, err
	}
	sig, err := v.VerifyBlob(bundles[0], sum, id)
	return sig, sum, bundlePath, err
}

// verifyDetached verifies a detached key signature (base64, as cosign
// writes it, or raw) of the blob with the given sha256.
func verifyDetached(v *prov.Verifier, sum, sigPath string, id prov.Identity) (*prov.Signature, error) {
	data, err := fsx.ReadFile(context.Background(), sigPath, fsx.MaxKeySize)
	if err != nil {
		return nil, err
	}
	text := strings.TrimSpace(string(data))
	if _, err := base64.StdEncoding.DecodeString(text); err != nil {
		text = base64.StdEncoding.EncodeToString(data)
	}
	digest, err := hex.DecodeString(sum)
	if err != nil {
		return nil, err
	}
	b, err := prov.LegacySignature{Signature: text, Digest: digest}.Bundle()
	if err != nil {
		return nil, err
	}
	return v.VerifyBlob(b, sum, id)
}

// addObserved says where and when the signature was observed: the Rekor
// entry (v1 with its integrated time, or v2) and the timestamp authority.
func addObserved(c *gate.Check, d map[string]any, l *prov.LogEntry, signed time.Time) {
	if o := prov.Observed(l, signed); o != "" {
		c.Message += "; " + o
	}
	if l != nil {
		d["rekor_log_index"] = l.Index
		if l.Rekor2 {
			d["rekor_version"] = 2
		} else {
			d["integrated_time"] = l.IntegratedTime.Format(time.RFC3339)
		}
	}
	if !signed.IsZero() {
		d["signed_time"] = signed.Format(time.RFC3339)
	}
}

func loadTrustedRoot(path, instance string) (*root.TrustedRoot, gate.Input, error) {
	data, err := fsx.ReadFile(context.Background(), path, fsx.MaxDocSize)
	if err != nil {
		return nil, gate.Input{}, err
	}
	tr, err := prov.ParseTrustedRoot(data, instance)
	if err != nil {
		return nil, gate.Input{}, fmt.Errorf("%s: %w", path, err)
	}
	return tr, gate.Input{Name: "trusted root", URI: path, Digest: digest(data)}, nil
}

func fileInput(name, path string) gate.Input {
	in := gate.Input{Name: name, URI: path}
	if data, err := fsx.ReadFile(context.Background(), path, fsx.MaxDocSize); err == nil {
		in.Digest = digest(data)
	}
	return in
}

func digest(data []byte) string {
	h := sha256.Sum256(data)
	return "sha256:" + hex.EncodeToString(h[:])
}

func expectation(p prov.Policy) string {
	parts := []string{"source " + prov.NormalizeSourceURI(p.SourceURI)}
	switch {
	case p.SourceTag != "":
		parts = append(parts, "tag "+p.SourceTag)
	case p.SourceVersionedTag != "":
		parts = append(parts, "tag ~"+p.SourceVersionedTag)
	case p.SourceBranch != "":
		parts = append(parts, "branch "+p.SourceBranch)
	}
	if len(p.BuilderIDs) > 0 {
		parts = append(parts, "builder "+strings.Join(p.BuilderIDs, "|"))
	} else {
		parts = append(parts, "trusted builder")
	}
	return strings.Join(parts, ", ")
}

func summary(r *gate.Result) string {
	c := r.Counts()
	return fmt.Sprintf("%d verified, %d failed, %d warning(s)", c[gate.StatusPass], c[gate.StatusFail], c[gate.StatusWarn])
}
