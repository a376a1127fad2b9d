package vuln

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/openvex/go-vex/pkg/vex"
	"github.com/package-url/packageurl-go"
)

// FormatOpenVEX names OpenVEX documents in ParseErrors.
const FormatOpenVEX Format = "openvex"

// ParseVEX reads an OpenVEX JSON document with go-vex and checks what a
// waiver relies on: the OpenVEX context, a known status on every statement
// (go-vex's rules per status), a justification on every not_affected
// statement (an impact statement alone does not waive here) and at least
// one product per statement.
func ParseVEX(data []byte) (*vex.VEX, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	var doc vex.VEX
	if err := dec.Decode(&doc); err != nil {
		return nil, jsonError(FormatOpenVEX, dec, err)
	}
	if !strings.HasPrefix(doc.Context, "https://openvex.dev/ns") {
		return nil, malformed(FormatOpenVEX, -1, "@context %q: expected an OpenVEX document (https://openvex.dev/ns/…)", doc.Context)
	}
	if len(doc.Statements) == 0 {
		return nil, malformed(FormatOpenVEX, -1, "no statements")
	}
	for i := range doc.Statements {
		st := &doc.Statements[i]
		name := string(st.Vulnerability.Name)
		if name == "" {
			name = st.Vulnerability.ID
		}
		if err := st.Validate(); err != nil {
			return nil, malformed(FormatOpenVEX, -1, "statements[%d] (%s): %v", i, name, err)
		}
		if st.Status == vex.StatusNotAffected && st.Justification == "" {
			return nil, malformed(FormatOpenVEX, -1, "statements[%d] (%s): not_affected without a justification: expected one of %s", i, name, strings.Join(vex.Justifications(), ", "))
		}
		if len(st.Products) == 0 {
			return nil, malformed(FormatOpenVEX, -1, "statements[%d] (%s): no products: a statement applies to the products it names", i, name)
		}
	}
	return &doc, nil
}

// VEX is one OpenVEX document applied to an artifact.
type VEX struct {
	// Name is the file name, for messages.
	Name string
	// Doc is the parsed document.
	Doc *vex.VEX
	// Signer is the verified signer identity, empty when unsigned.
	Signer string
}

// Product is what an artifact is called in VEX statements.
type Product struct {
	// IDs are identifiers the policy gives it: a purl, an image
	// reference. A purl matches as OpenVEX says (qualifiers may be left
	// out).
	IDs []string
	// Digest ("sha256:<hex>"), when set, also matches a product whose
	// purl version is the digest (pkg:oci/name@sha256%3A…), whose @id is
	// the digest, or whose sha-256 hash is its hex.
	Digest string
}

// identifiers returns the identifiers the document's products name the
// artifact by: the policy's, and each product id naming the digest.
func (v *VEX) identifiers(p Product) []string {
	ids := append([]string(nil), p.IDs...)
	if p.Digest == "" {
		return ids
	}
	hexDigest := strings.TrimPrefix(p.Digest, "sha256:")
	ids = append(ids, p.Digest, hexDigest)
	for i := range v.Doc.Statements {
		for _, pr := range v.Doc.Statements[i].Products {
			if pr.ID != "" && purlVersion(pr.ID) == p.Digest {
				ids = append(ids, pr.ID)
			}
			if id := pr.Identifiers[vex.PURL]; id != "" && purlVersion(id) == p.Digest {
				ids = append(ids, id)
			}
		}
	}
	return ids
}

// purlVersion returns the decoded version of a purl ("" when it is not
// one).
func purlVersion(s string) string {
	if !strings.HasPrefix(s, "pkg:") {
		return ""
	}
	pu, err := packageurl.FromString(s)
	if err != nil {
		return ""
	}
	return strings.ToLower(pu.Version)
}

// NamesProduct reports whether any statement of the document names the
// product.
func (v *VEX) NamesProduct(p Product) bool {
	ids := v.identifiers(p)
	for i := range v.Doc.Statements {
		for _, id := range ids {
			if v.Doc.Statements[i].MatchesProduct(id, "") {
				return true
			}
		}
	}
	return false
}

// statementFor returns the latest statement of the document about one of
// the finding's ids for one of the products, and its time.
func (v *VEX) statementFor(f *Finding, p Product) (*vex.Statement, time.Time) {
	products := v.identifiers(p)
	var sub []string
	for _, s := range []string{f.PURL, f.Package} {
		if s != "" {
			sub = append(sub, s)
		}
	}
	var docTime time.Time
	if v.Doc.Timestamp != nil {
		docTime = *v.Doc.Timestamp
	}
	var best *vex.Statement
	var bestAt time.Time
	for _, id := range f.IDs() {
		for _, p := range products {
			for _, st := range v.Doc.Matches(id, p, sub) {
				at := docTime
				if st.Timestamp != nil && !st.Timestamp.IsZero() {
					at = *st.Timestamp
				}
				if best == nil || !at.Before(bestAt) {
					s := st
					best, bestAt = &s, at
				}
			}
		}
	}
	return best, bestAt
}

// describe says what the statement states, for a message.
func describe(st *vex.Statement) string {
	switch st.Status {
	case vex.StatusNotAffected:
		return fmt.Sprintf("not_affected (%s)", st.Justification)
	default:
		return string(st.Status)
	}
}
