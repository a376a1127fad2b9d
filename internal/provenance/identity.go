package provenance

import (
	"errors"
	"fmt"
	"regexp"
	"regexp/syntax"
	"strings"

	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"
	"github.com/sigstore/sigstore-go/pkg/verify"
)

// Identity is the keyless signer a signature must come from: an OIDC
// issuer and a certificate identity (SAN), each exact or an anchored
// regular expression.
type Identity struct {
	// Issuer is the exact OIDC issuer, e.g. GitHubActionsIssuer.
	Issuer string
	// IssuerRegexp is an anchored regular expression for the issuer.
	IssuerRegexp string
	// Identity is the exact certificate identity (SAN): an e-mail, a
	// workflow URI, ...
	Identity string
	// IdentityRegexp is an anchored regular expression for the identity.
	IdentityRegexp string
	// InsecureAnyIdentity accepts an identity regexp that matches anything.
	// Every result then carries a warning.
	InsecureAnyIdentity bool
}

// ErrAnyIdentity is the bad-input error for an identity pattern that
// accepts any signer.
var ErrAnyIdentity = errors.New("identity pattern matches any signer")

// Validate reports every problem with the identity policy. An identity
// regexp that matches anything is refused unless InsecureAnyIdentity.
func (id Identity) Validate() []error {
	var errs []error
	switch {
	case id.Issuer == "" && id.IssuerRegexp == "":
		errs = append(errs, errors.New("certificate-oidc-issuer: required for keyless verification, e.g. "+GitHubActionsIssuer))
	case id.Issuer != "" && id.IssuerRegexp != "":
		errs = append(errs, errors.New("certificate-oidc-issuer and certificate-oidc-issuer-regexp: set one, not both"))
	}
	if id.IssuerRegexp != "" {
		errs = append(errs, checkPattern("certificate-oidc-issuer-regexp", id.IssuerRegexp, false)...)
	}
	switch {
	case id.Identity != "" && id.IdentityRegexp != "":
		errs = append(errs, errors.New("certificate-identity and certificate-identity-regexp: set one, not both"))
	case id.Identity == "" && id.IdentityRegexp == "" && !id.InsecureAnyIdentity:
		errs = append(errs, fmt.Errorf("certificate-identity: required; expected the signer's identity or an anchored certificate-identity-regexp (%w unless insecure-any-identity is set)", ErrAnyIdentity))
	case id.IdentityRegexp != "":
		errs = append(errs, checkPattern("certificate-identity-regexp", id.IdentityRegexp, id.InsecureAnyIdentity)...)
	}
	return errs
}

// Insecure reports whether the policy accepts any signer identity; results
// must then carry a warning.
func (id Identity) Insecure() bool {
	return id.Identity == "" && (id.IdentityRegexp == "" || matchesAnything(id.IdentityRegexp))
}

func checkPattern(field, pattern string, allowAny bool) []error {
	if _, err := regexp.Compile(pattern); err != nil {
		return []error{fmt.Errorf("%s %q: %v", field, pattern, err)}
	}
	var errs []error
	if matchesAnything(pattern) {
		if !allowAny {
			errs = append(errs, fmt.Errorf("%s %q: %w; anchor it to your workflow, e.g. ^https://github\\.com/OWNER/REPO/\\.github/workflows/release\\.yml@refs/tags/v.*$ (the provenance gate also accepts it with insecure-any-identity: true, and then warns)", field, pattern, ErrAnyIdentity))
		}
		return errs
	}
	if !strings.HasPrefix(pattern, "^") || !strings.HasSuffix(pattern, "$") {
		errs = append(errs, fmt.Errorf("%s %q: expected an anchored pattern (^…$); an unanchored one matches inside any longer identity", field, pattern))
	}
	return errs
}

// anyProbes are unrelated identities; a pattern that matches all of them
// accepts practically anyone.
var anyProbes = []string{
	"x",
	"mallory@example.com",
	"https://github.com/attacker/evil/.github/workflows/x.yml@refs/heads/main",
	"\x00\u00e9Z9 \t",
	"spiffe://evil.example/ns/default/sa/x",
}

// matchesAnything reports whether an identity pattern accepts any signer:
// it is empty, or its syntax tree reduces to "any string" (.*, ^.*$, (?s).*,
// .*|x, …), or it matches every probe identity in anyProbes.
func matchesAnything(pattern string) bool {
	if strings.TrimSpace(pattern) == "" {
		return true
	}
	re, err := regexp.Compile(pattern)
	if err != nil {
		return false
	}
	if tree, err := syntax.Parse(pattern, syntax.Perl); err == nil && acceptsAll(tree.Simplify()) {
		return true
	}
	for _, p := range anyProbes {
		if !re.MatchString(p) {
			return false
		}
	}
	return true
}

// acceptsAll reports whether a (simplified) regexp, used as an unanchored
// search like sigstore-go does, matches every string. It is conservative:
// false when unsure (the probes catch the rest).
func acceptsAll(re *syntax.Regexp) bool {
	subs := []*syntax.Regexp{re}
	if re.Op == syntax.OpConcat {
		subs = re.Sub
	}
	startAnchored, endAnchored := false, false
	for len(subs) > 0 && isBegin(subs[0]) {
		startAnchored, subs = true, subs[1:]
	}
	for len(subs) > 0 && isEnd(subs[len(subs)-1]) {
		endAnchored, subs = true, subs[:len(subs)-1]
	}
	core := &syntax.Regexp{Op: syntax.OpConcat, Sub: subs}
	if hasAnchor(core) {
		// An anchor inside ("0*^$", "a|^b") constrains in ways this
		// analysis does not model: let the probes decide.
		return false
	}
	if startAnchored && endAnchored {
		return universal(core)
	}
	// Not anchored on both ends: a core that can match the empty string
	// matches at the start or the end of every input.
	return nullable(core)
}

func isBegin(re *syntax.Regexp) bool {
	return re.Op == syntax.OpBeginText || re.Op == syntax.OpBeginLine
}

func isEnd(re *syntax.Regexp) bool {
	return re.Op == syntax.OpEndText || re.Op == syntax.OpEndLine
}

// hasAnchor reports whether re contains a position assertion.
func hasAnchor(re *syntax.Regexp) bool {
	switch re.Op {
	case syntax.OpBeginLine, syntax.OpEndLine, syntax.OpBeginText, syntax.OpEndText,
		syntax.OpWordBoundary, syntax.OpNoWordBoundary:
		return true
	}
	for _, s := range re.Sub {
		if hasAnchor(s) {
			return true
		}
	}
	return false
}

// nullable reports whether re can match the empty string.
func nullable(re *syntax.Regexp) bool {
	switch re.Op {
	case syntax.OpEmptyMatch, syntax.OpStar, syntax.OpQuest,
		syntax.OpBeginLine, syntax.OpEndLine, syntax.OpBeginText, syntax.OpEndText:
		return true
	case syntax.OpRepeat:
		return re.Min == 0 || nullable(re.Sub[0])
	case syntax.OpCapture, syntax.OpPlus:
		return nullable(re.Sub[0])
	case syntax.OpConcat:
		for _, s := range re.Sub {
			if !nullable(s) {
				return false
			}
		}
		return true
	case syntax.OpAlternate:
		for _, s := range re.Sub {
			if nullable(s) {
				return true
			}
		}
	}
	return false
}

// universal reports whether re matches every string in full.
func universal(re *syntax.Regexp) bool {
	switch re.Op {
	case syntax.OpStar:
		return anyChar(re.Sub[0])
	case syntax.OpRepeat:
		return re.Min == 0 && re.Max == -1 && anyChar(re.Sub[0])
	case syntax.OpCapture:
		return universal(re.Sub[0])
	case syntax.OpConcat:
		if len(re.Sub) == 0 {
			return false
		}
		for _, s := range re.Sub {
			if !universal(s) && !(nullable(s) && !isBegin(s) && !isEnd(s)) {
				return false
			}
		}
		for _, s := range re.Sub {
			if universal(s) {
				return true
			}
		}
		return false
	case syntax.OpAlternate:
		for _, s := range re.Sub {
			if universal(s) {
				return true
			}
		}
	}
	return false
}

// anyChar reports whether re matches any single character; "." without
// (?s) is treated as any, since identities have no newlines.
func anyChar(re *syntax.Regexp) bool {
	switch re.Op {
	case syntax.OpAnyChar, syntax.OpAnyCharNotNL:
		return true
	case syntax.OpCapture:
		return anyChar(re.Sub[0])
	case syntax.OpCharClass:
		// [\s\S], [^x] with x a control character, ...: a class covering
		// nearly every rune. Count the runes it excludes.
		var covered int64
		for i := 0; i+1 < len(re.Rune); i += 2 {
			covered += int64(re.Rune[i+1]-re.Rune[i]) + 1
		}
		return covered >= 0x10FFFF-2
	}
	return false
}

// certificateIdentity builds sigstore-go's matcher.
func (id Identity) certificateIdentity() (verify.CertificateIdentity, error) {
	// sanPattern is ".*" only with InsecureAnyIdentity.
	return verify.NewShortCertificateIdentity(id.Issuer, id.IssuerRegexp, id.Identity, id.sanPattern())
}

// checkSummary compares a certificate with the identity, for a message
// naming what differs.
func (id Identity) checkSummary(c *certificate.Summary) error {
	if c == nil {
		return &MismatchError{Kind: ErrMismatchIdentity, What: "signer", Expected: "a keyless certificate", Got: "a public-key signature"}
	}
	ci, err := id.certificateIdentity()
	if err != nil {
		return err
	}
	if err := ci.Verify(*c); err != nil {
		// Name the part that differs: the identity, the issuer, or both.
		want := id.Identity
		if want == "" {
			want = "/" + id.IdentityRegexp + "/"
		}
		iss := id.Issuer
		if iss == "" {
			iss = "/" + id.IssuerRegexp + "/"
		}
		sanOK, issOK := false, false
		if m, err := verify.NewSANMatcher(id.Identity, id.sanPattern()); err == nil {
			sanOK = m.Verify(*c) == nil
		}
		if m, err := verify.NewIssuerMatcher(id.Issuer, id.IssuerRegexp); err == nil {
			issOK = m.Verify(*c) == nil
		}
		switch {
		case sanOK && !issOK:
			return &MismatchError{Kind: ErrMismatchIdentity, What: "signer issuer", Expected: iss, Got: c.Issuer,
				Hint: fmt.Sprintf("%s signed, but its OIDC token came from another issuer; check --certificate-oidc-issuer", c.SubjectAlternativeName)}
		case issOK && !sanOK:
			return &MismatchError{Kind: ErrMismatchIdentity, What: "signer identity", Expected: want, Got: c.SubjectAlternativeName,
				Hint: "the signature was made by someone else; check --certificate-identity"}
		}
		return &MismatchError{Kind: ErrMismatchIdentity, What: "signer", Expected: fmt.Sprintf("%s from %s", want, iss),
			Got: fmt.Sprintf("%s from %s", c.SubjectAlternativeName, c.Issuer), Hint: "the signature was made by someone else; check --certificate-identity and --certificate-oidc-issuer"}
	}
	return nil
}

// sanPattern is the identity regexp sigstore-go matches with.
func (id Identity) sanPattern() string {
	if id.Identity == "" && id.IdentityRegexp == "" {
		return ".*"
	}
	return id.IdentityRegexp
}
