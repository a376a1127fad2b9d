package provenance

import (
	"errors"
	"strings"
	"testing"
)

func TestParseSignerWorkflow(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		in       string
		workflow string
		ref      string
		any      bool // refused as match-anything
		bad      bool // refused otherwise
	}{
		{in: "acme/api/.github/workflows/release.yml", workflow: "github.com/acme/api/.github/workflows/release.yml"},
		{in: "github.com/acme/api/.github/workflows/release.yaml", workflow: "github.com/acme/api/.github/workflows/release.yaml"},
		{in: "https://github.com/acme/api/.github/workflows/r.yml@refs/tags/v1.2.3", workflow: "github.com/acme/api/.github/workflows/r.yml", ref: "refs/tags/v1.2.3"},
		{in: "ghe.acme.example/acme/api/.github/workflows/r.yml@refs/heads/main", workflow: "ghe.acme.example/acme/api/.github/workflows/r.yml", ref: "refs/heads/main"},
		{in: "acme/api/.github/workflows/r.yml@0123456789abcdef0123456789abcdef01234567", workflow: "github.com/acme/api/.github/workflows/r.yml", ref: "0123456789abcdef0123456789abcdef01234567"},
		{in: "", any: true},
		{in: "   ", any: true},
		{in: ".*", any: true},
		{in: "acme/*", any: true},
		{in: "^https://github.com/acme/", any: true},
		{in: "acme", any: true},
		{in: "github.com/acme", any: true},
		{in: "acme/api", any: true},
		{in: "acme/api/build.sh", bad: true},
		{in: "acme/api/.github/workflows/sub/r.yml", bad: true},
		{in: "acme/api/.github/workflows/r.yml@main", bad: true},
		{in: "acme/api/.github/workflows/r.yml@refs/pull/1/merge", bad: true},
	} {
		got, err := ParseSignerWorkflow(c.in)
		switch {
		case c.any:
			if !errors.Is(err, ErrAnyIdentity) {
				t.Errorf("%q: expected %v, got %v", c.in, ErrAnyIdentity, err)
			}
		case c.bad:
			if err == nil || errors.Is(err, ErrAnyIdentity) {
				t.Errorf("%q: expected a malformed-setting error, got %v", c.in, err)
			}
		case err != nil:
			t.Errorf("%q: %v", c.in, err)
		case got.Workflow != c.workflow || got.Ref != c.ref:
			t.Errorf("%q: got %+v, want %s @ %s", c.in, got, c.workflow, c.ref)
		}
	}
}

// FuzzParseSignerWorkflow: whatever a policy says, the parser never
// panics, and what it accepts names exactly one workflow file of one
// repository, with no pattern in it.
func FuzzParseSignerWorkflow(f *testing.F) {
	for _, s := range []string{"acme/api/.github/workflows/r.yml@refs/tags/v1", ".*", "acme/*", "a/b/.github/workflows/x.yaml@0123456789abcdef0123456789abcdef01234567", "https://x.y/a/b/.github/workflows/c.yml"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseSignerWorkflow(s)
		if err != nil {
			return
		}
		parts := strings.Split(got.Workflow, "/")
		if len(parts) != 6 || parts[3] != ".github" || parts[4] != "workflows" || strings.ContainsAny(got.Workflow, "*?[]()|^$\\+{} @") {
			t.Fatalf("%q accepted as %q: expected host/owner/repo/.github/workflows/file", s, got.Workflow)
		}
		if matchesAnything(got.Workflow) {
			t.Fatalf("%q accepted as %q, which matches anything", s, got.Workflow)
		}
	})
}

// FuzzParseTrustedRoot: a trusted root file (JSON or gh's JSON lines) is
// outside input; it parses or is refused, never panics.
func FuzzParseTrustedRoot(f *testing.F) {
	f.Add([]byte(`{"mediaType":"application/vnd.dev.sigstore.trustedroot+json;version=0.1"}`))
	f.Add([]byte("{\"mediaType\":\"application/vnd.dev.sigstore.trustedroot+json;version=0.1\"}\n{}\n"))
	f.Add([]byte("not json\n{}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, instance := range []string{InstancePublicGood, InstanceGitHub} {
			if tr, err := ParseTrustedRoot(data, instance); err == nil && tr == nil {
				t.Fatal("no error and no root")
			}
		}
	})
}
