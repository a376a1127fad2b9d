package provenance

import (
	"encoding/base64"
	"errors"
	"regexp"
	"strings"
	"testing"
)

func base64Decode(s string) ([]byte, error) { return base64.StdEncoding.DecodeString(s) }

func TestMatchesAnything(t *testing.T) {
	t.Parallel()
	cases := []struct {
		pattern string
		any     bool
	}{
		{".*", true},
		{"", true},
		{"  ", true},
		{"^.*$", true},
		{"(?s).*", true},
		{"^(.*)$", true},
		{".+", true},
		{"^.+$", true},
		{"a*", true},
		{"^a*", true},
		{"x|.*", true},
		{`[\s\S]*`, true},
		{".*.*", true},
		{"^a*$", false},
		{`^https://github\.com/acme/api/\.github/workflows/release\.yml@refs/tags/v.*$`, false},
		{`^release@acme\.example$`, false},
		{"acme", false},
		{"^https://", false},
	}
	for _, tc := range cases {
		t.Run("pattern "+tc.pattern, func(t *testing.T) {
			t.Parallel()
			if got := matchesAnything(tc.pattern); got != tc.any {
				t.Fatalf("MatchesAnything(%q) = %v, want %v", tc.pattern, got, tc.any)
			}
		})
	}
}

func TestIdentityValidate(t *testing.T) {
	t.Parallel()
	good := Identity{Issuer: GitHubActionsIssuer, IdentityRegexp: `^https://github\.com/acme/api/\.github/workflows/release\.yml@refs/tags/v.*$`}
	with := func(f func(*Identity)) Identity { id := good; f(&id); return id }
	cases := []struct {
		name     string
		id       Identity
		want     string // "" means valid
		anyErr   bool
		insecure bool
	}{
		{"an anchored workflow pattern is valid", good, "", false, false},
		{"an exact identity is valid", with(func(i *Identity) { i.IdentityRegexp = ""; i.Identity = "release@acme.example" }), "", false, false},
		{"a match-anything regexp is refused", with(func(i *Identity) { i.IdentityRegexp = ".*" }), "matches any signer", true, true},
		{"^.*$ is refused", with(func(i *Identity) { i.IdentityRegexp = "^.*$" }), "matches any signer", true, true},
		{"no identity at all is refused", with(func(i *Identity) { i.IdentityRegexp = "" }), "certificate-identity: required", true, true},
		{"insecure-any-identity accepts .* and marks it", with(func(i *Identity) { i.IdentityRegexp = ".*"; i.InsecureAnyIdentity = true }), "", false, true},
		{"an unanchored pattern is refused", with(func(i *Identity) { i.IdentityRegexp = "acme" }), "anchored", false, false},
		{"an invalid pattern is refused", with(func(i *Identity) { i.IdentityRegexp = "^(acme$" }), "missing closing", false, false},
		{"no issuer is refused", with(func(i *Identity) { i.Issuer = "" }), "certificate-oidc-issuer: required", false, false},
		{"identity and regexp together are refused", with(func(i *Identity) { i.Identity = "x" }), "set one", false, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			errs := tc.id.Validate()
			err := errors.Join(errs...)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
			} else if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v, want one containing %q", err, tc.want)
			}
			if tc.anyErr != errors.Is(err, ErrAnyIdentity) {
				t.Errorf("errors.Is(err, ErrAnyIdentity) = %v, want %v", !tc.anyErr, tc.anyErr)
			}
			if tc.insecure != tc.id.Insecure() {
				t.Errorf("Insecure() = %v, want %v", tc.id.Insecure(), tc.insecure)
			}
		})
	}
}

func TestVersionedTag(t *testing.T) {
	t.Parallel()
	cases := []struct {
		want, tag string
		ok        bool
	}{
		{"v1", "v1.2.3", true},
		{"v1", "v1.0.0", true},
		{"v1", "v2.0.0", false},
		{"v1", "v10.0.0", false},
		{"v1.2", "v1.2.9", true},
		{"v1.2", "v1.3.0", false},
		{"v1.2.3", "v1.2.3", true},
		{"v1.2.3", "v1.2.4", false},
		{"v14", "v14", true},
	}
	for _, tc := range cases {
		p := Policy{SourceURI: "x", SourceVersionedTag: tc.want}
		err := p.checkRef("refs/tags/" + tc.tag)
		if (err == nil) != tc.ok {
			t.Errorf("%s against tag %s: err = %v, want ok=%v", tc.want, tc.tag, err, tc.ok)
		}
	}
	if err := (Policy{SourceVersionedTag: "v1"}).checkRef("refs/heads/v1.2.3"); !errors.Is(err, ErrMismatchRef) {
		t.Errorf("a branch named like a version passed: %v", err)
	}
}

func FuzzMatchesAnything(f *testing.F) {
	for _, s := range []string{".*", "^a*$", "(?s).*", `^https://x$`, "x|.*"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, pattern string) {
		if !matchesAnything(pattern) {
			return
		}
		// Whatever is called "anything" must at least match the probes.
		if strings.TrimSpace(pattern) == "" {
			return
		}
		for _, p := range anyProbes {
			if ok, err := matchString(pattern, p); err == nil && !ok {
				t.Fatalf("%q called match-anything but does not match %q", pattern, p)
			}
		}
	})
}

func matchString(pattern, s string) (bool, error) {
	re, err := regexpCompile(pattern)
	if err != nil {
		return false, err
	}
	return re.MatchString(s), nil
}

var regexpCompile = regexp.Compile
