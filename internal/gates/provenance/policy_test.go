package provenancegate

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/maestro-conductor/releasegate/internal/gate"
	"github.com/maestro-conductor/releasegate/internal/policy"
)

func writePolicy(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "release-policy.yml")
	if err := os.WriteFile(p, []byte(strings.ReplaceAll(body, "VECTORS", vectors)), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestPolicyDecodesAndRuns goes through the real policy decoder: keys,
// validation at file:line:col, and a run with paths relative to the policy.
func TestPolicyDecodesAndRuns(t *testing.T) {
	t.Parallel()
	path := writePolicy(t, `version: 1
gates:
  - id: attested
    kind: provenance
    with:
      trusted-root: VECTORS/trusted-root-public-good.json
      artifacts: [VECTORS/gha_generic/binary-linux-amd64-push-v14]
      source-uri: github.com/slsa-framework/example-package
      source-versioned-tag: v14
`)
	p, err := policy.Load(path, policy.Options{})
	if err != nil {
		t.Fatal(err)
	}
	k, _ := gate.Lookup(Kind)
	g, err := k.New(gate.Meta{ID: p.Gates[0].ID, Group: k.Group}, p.Gates[0].Spec, gate.Env{PolicyDir: filepath.Dir(path)})
	if err != nil {
		t.Fatal(err)
	}
	res, err := evaluate(context.Background(), g)
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != gate.StatusPass {
		t.Fatalf("status %s: %+v", res.Status, res.Checks)
	}
}

func TestPolicyRejectsAnyIdentityAtItsKey(t *testing.T) {
	t.Parallel()
	path := writePolicy(t, `version: 1
gates:
  - id: signed
    kind: provenance
    with:
      trusted-root: VECTORS/trusted-root-public-good.json
      blobs: [{path: LICENSE}]
      certificate-oidc-issuer: https://token.actions.githubusercontent.com
      certificate-identity-regexp: ".*"
`)
	_, err := policy.Load(path, policy.Options{})
	if err == nil {
		t.Fatal("a match-anything identity was accepted")
	}
	msg := err.Error()
	if !strings.Contains(msg, "matches any signer") || !strings.Contains(msg, ":9:") {
		t.Fatalf("error %q should name the problem at line 9", msg)
	}
}
