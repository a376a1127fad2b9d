package ledgergate

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/maestro-conductor/releasegate/internal/evidence/evidencetest"
	"github.com/maestro-conductor/releasegate/internal/gate"
	"github.com/maestro-conductor/releasegate/internal/ledger"
	"github.com/maestro-conductor/releasegate/internal/policy"
)

const (
	kSigner = "ledger@acme.example"
	kIssuer = "https://accounts.acme.example"
)

// anchorKeyless anchors a tenant's checkpoint of day and writes its keyless
// bundle, signed by vs, into dir; it returns the signed checkpoint.
func (f fixture) anchorKeyless(t *testing.T, vs *evidencetest.VirtualSigner, dir, tenant, day string) []byte {
	t.Helper()
	c, err := f.st.DailyCheckpoint(context.Background(), tenant, day)
	if err != nil {
		t.Fatal(err)
	}
	signed, err := ledger.Sign(c, f.priv)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.st.Anchor(context.Background(), signed, c); err != nil {
		t.Fatal(err)
	}
	writeBundle(t, vs, filepath.Join(dir, ledger.BundleFile(ledger.CheckpointFile(tenant, day))), signed)
	return signed
}

func writeBundle(t *testing.T, vs *evidencetest.VirtualSigner, path string, signed []byte) {
	t.Helper()
	st, err := ledger.CheckpointStatement(signed, "x.checkpoint")
	if err != nil {
		t.Fatal(err)
	}
	b, err := vs.SignBundle(context.Background(), ledger.CheckpointPayloadType, st)
	if err != nil {
		t.Fatal(err)
	}
	js, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, js, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestGateKeylessCheckpoints(t *testing.T) {
	t.Parallel()
	vs, err := evidencetest.NewVirtualSigner(kSigner, kIssuer)
	if err != nil {
		t.Fatal(err)
	}
	foreign, err := evidencetest.NewVirtualSigner(kSigner, kIssuer)
	if err != nil {
		t.Fatal(err)
	}
	rootFile := func(v *evidencetest.VirtualSigner) string {
		b, err := evidencetest.TrustedRootJSON(v.Sigstore)
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(t.TempDir(), "trusted_root.json")
		os.WriteFile(p, b, 0o644)
		return p
	}
	root, foreignRoot := rootFile(vs), rootFile(foreign)
	const day = "2026-11-28"
	cases := []struct {
		name    string
		prepare func(t *testing.T, f fixture, dir string, s *Spec)
		want    gate.Status
		message string
	}{
		{"keyless bundles of the anchored checkpoints pass", func(t *testing.T, f fixture, dir string, s *Spec) {}, gate.StatusPass,
			"signs the anchored checkpoint, by ledger@acme.example (issuer https://accounts.acme.example), certificate chains to the trusted root, Rekor entry"},
		{"another identity fails", func(t *testing.T, f fixture, dir string, s *Spec) { s.CertificateIdentity = "mallory@acme.example" }, gate.StatusFail,
			`signer identity: expected mallory@acme.example, got "ledger@acme.example"`},
		{"another issuer fails", func(t *testing.T, f fixture, dir string, s *Spec) {
			s.CertificateOIDCIssuer = "https://token.actions.githubusercontent.com"
		}, gate.StatusFail,
			`signer issuer: expected https://token.actions.githubusercontent.com`},
		{"a foreign trusted root fails", func(t *testing.T, f fixture, dir string, s *Spec) { s.TrustedRoot = foreignRoot }, gate.StatusFail,
			"signature verification failed"},
		{"a bundle of another checkpoint fails", func(t *testing.T, f fixture, dir string, s *Spec) {
			os.Rename(filepath.Join(dir, ledger.BundleFile(ledger.CheckpointFile("beta", day))), filepath.Join(dir, ledger.BundleFile(ledger.CheckpointFile("acme", day))))
		}, gate.StatusFail, "keyless signature is for another checkpoint: expected the checkpoint of acme"},
		{"a missing bundle fails", func(t *testing.T, f fixture, dir string, s *Spec) {
			os.Remove(filepath.Join(dir, ledger.BundleFile(ledger.CheckpointFile("beta", day))))
		}, gate.StatusFail, "run `releasegate ledger root --date 2026-11-28 --keyless`"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, 5)
			dir := t.TempDir()
			f.anchorKeyless(t, vs, dir, "acme", day)
			f.anchorKeyless(t, vs, dir, "beta", day)
			s := Spec{DB: f.dsn, MinEntries: 1, RequireCheckpoint: "yesterday", PublicKey: f.pub, KeylessBundles: dir, TrustedRoot: root,
				CertificateIdentity: kSigner, CertificateOIDCIssuer: kIssuer}
			c.prepare(t, f, dir, &s)
			g, err := New(gate.Meta{ID: "ledger", Kind: Kind, Group: "provenance", Required: true}, s, gate.Env{Clock: func() time.Time { return now }})
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			g.skipSCTUnsafe = true
			res, err := evaluate(context.Background(), g)
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			checkOutcome(t, res, c.want, c.message)
		})
	}
}

func TestSpecKeylessValidation(t *testing.T) {
	t.Parallel()
	good := Spec{DB: "sqlite:l.db", RequireCheckpoint: "yesterday", PublicKey: "l.pub", KeylessBundles: "cp", TrustedRoot: "tr.json",
		CertificateIdentity: kSigner, CertificateOIDCIssuer: kIssuer}
	if errs := good.Validate(); len(errs) > 0 {
		t.Fatalf("a good spec fails: %v", errs)
	}
	cases := []struct {
		name   string
		change func(s *Spec)
		field  string
		want   string
	}{
		{"no trusted root", func(s *Spec) { s.TrustedRoot = "" }, "trusted-root", "required with keyless-bundles"},
		{"no checkpoint required", func(s *Spec) { s.RequireCheckpoint = "none" }, "keyless-bundles", "needs require-checkpoint"},
		{"an identity matching anyone", func(s *Spec) { s.CertificateIdentity, s.CertificateIdentityRegexp = "", ".*" }, "certificate-identity-regexp", "matches any signer"},
		{"no issuer", func(s *Spec) { s.CertificateOIDCIssuer = "" }, "certificate-oidc-issuer", "required"},
		{"an identity without bundles", func(s *Spec) { s.KeylessBundles = "" }, "keyless-bundles", "set keyless-bundles"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			s := good
			c.change(&s)
			errs := s.Validate()
			ok := false
			for _, err := range errs {
				var fe *policy.FieldError
				ok = ok || (errors.As(err, &fe) && fe.Field == c.field && strings.Contains(err.Error(), c.want))
			}
			if !ok {
				t.Fatalf("expected a %s error with %q, got %v", c.field, c.want, errs)
			}
		})
	}
}
