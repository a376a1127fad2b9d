package sbom

import (
	"fmt"
	"slices"
	"strings"
)

// Fields a policy can require of every component.
const (
	FieldSupplier = "supplier"
	FieldVersion  = "version"
	FieldPURL     = "purl"
	FieldLicense  = "license"
)

// Fields lists the fields a policy can require.
var Fields = []string{FieldSupplier, FieldVersion, FieldPURL, FieldLicense}

// Policy is what an SBOM must meet.
type Policy struct {
	// MinComponents is the least number of components.
	MinComponents int
	// Require are fields every component must have (Fields).
	Require []string
	// Allow, when set, lists the only licences components may carry;
	// a component without a licence then fails too.
	Allow []string
	// Deny lists licences no component may carry.
	Deny []string
}

// Violation is one component breaking a rule.
type Violation struct {
	Component string
	Detail    string
}

// Verdict is an SBOM judged against a Policy.
type Verdict struct {
	// Components is the number of components.
	Components int
	// Missing maps each required field to the components without it.
	Missing map[string][]string
	// Denied are components carrying a denied licence.
	Denied []Violation
	// NotAllowed are components carrying a licence outside the allow
	// list, or none while an allow list is set.
	NotAllowed []Violation
}

// Judge checks every component. An expression's identifiers are judged
// one by one, conservatively: every identifier must be allowed and none
// denied, whether joined by AND or OR.
func (p Policy) Judge(doc *Document) Verdict {
	v := Verdict{Components: len(doc.Components), Missing: map[string][]string{}}
	for _, c := range doc.Components {
		name := c.Name
		if c.Version != "" {
			name += "@" + c.Version
		}
		for _, f := range p.Require {
			if !c.has(f) {
				v.Missing[f] = append(v.Missing[f], name)
			}
		}
		for _, l := range c.Licenses {
			if contains(p.Deny, l) {
				v.Denied = append(v.Denied, Violation{Component: name, Detail: l})
			}
			if len(p.Allow) > 0 && !contains(p.Allow, l) {
				v.NotAllowed = append(v.NotAllowed, Violation{Component: name, Detail: l})
			}
		}
		if len(p.Allow) > 0 && len(c.Licenses) == 0 {
			v.NotAllowed = append(v.NotAllowed, Violation{Component: name, Detail: "no licence"})
		}
	}
	return v
}

func (c Component) has(field string) bool {
	switch field {
	case FieldSupplier:
		return c.Supplier != ""
	case FieldVersion:
		return c.Version != ""
	case FieldPURL:
		return c.PURL != ""
	case FieldLicense:
		return len(c.Licenses) > 0
	}
	return false
}

func contains(list []string, s string) bool {
	return slices.ContainsFunc(list, func(x string) bool { return strings.EqualFold(x, s) })
}

// ValidateField says whether name is a field a policy can require.
func ValidateField(name string) error {
	if !slices.Contains(Fields, name) {
		return fmt.Errorf("%q: expected one of %s", name, strings.Join(Fields, ", "))
	}
	return nil
}

// Predicate types of in-toto statements carrying an SBOM (cosign attest
// --type cyclonedx / spdxjson, GitHub attest-sbom).
const (
	PredicateCycloneDX = "https://cyclonedx.org/bom"
	PredicateSPDX      = "https://spdx.dev/Document"
)

// IsPredicate reports whether an in-toto predicate type carries an SBOM:
// CycloneDX or SPDX, with or without a version suffix (/v1.5, /v2.3).
func IsPredicate(t string) bool {
	for _, p := range []string{PredicateCycloneDX, PredicateSPDX} {
		if t == p || strings.HasPrefix(t, p+"/") {
			return true
		}
	}
	return false
}
