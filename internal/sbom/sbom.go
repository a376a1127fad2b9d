// Package sbom reads software bills of materials — CycloneDX JSON (spec
// 1.4 to 1.7, with cyclonedx-go) and SPDX 2.3 JSON (with spdx/tools-golang,
// which also converts 2.2) — into one model: what the SBOM describes (its
// digests) and its components with their version, purl, supplier and
// licences, and judges them against a policy (minimum component count,
// required fields, licence allow and deny lists).
//
// SPDX 3.0 (JSON-LD) is refused with a clear error: no maintained Go
// library reads it yet. The package knows nothing of gates; in-toto
// attestations that bind an SBOM to an artifact are verified by
// internal/provenance and read here with Statement.
package sbom

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	cdx "github.com/CycloneDX/cyclonedx-go"
	spdxjson "github.com/spdx/tools-golang/json"
	"github.com/spdx/tools-golang/spdx"
)

// Format is an SBOM format.
type Format string

// The formats read.
const (
	FormatCycloneDX Format = "cyclonedx"
	FormatSPDX      Format = "spdx"
)

var (
	// ErrMalformed means the document is not a valid SBOM of its format.
	ErrMalformed = errors.New("malformed SBOM")
	// ErrUnsupported means the document is an SBOM in a format or version
	// this package does not read (SPDX 3.0, CycloneDX before 1.4, XML).
	ErrUnsupported = errors.New("unsupported SBOM")
)

// Component is one package the SBOM lists.
type Component struct {
	Name     string
	Version  string
	PURL     string
	Supplier string
	// Licenses are the licence identifiers or names; an expression is
	// split into its identifiers (see Identifiers).
	Licenses []string
}

// Document is an SBOM reduced to what is judged.
type Document struct {
	Format Format
	// SpecVersion is "1.5" (CycloneDX) or "SPDX-2.3".
	SpecVersion string
	// Subject names what the SBOM describes, for messages.
	Subject string
	// Digests are the "sha256:<hex>" digests the SBOM gives its subject:
	// CycloneDX metadata.component hashes, a digest in its purl or
	// bom-ref, Trivy's ImageID and RepoDigest properties; SPDX described
	// packages' checksums, a digest in their purl or version.
	Digests []string
	// Created is the SBOM's creation time, zero when absent.
	Created time.Time
	// Components are every component but the subject, nested ones
	// included.
	Components []Component
}

// NamesDigest reports whether the SBOM names digest ("sha256:<hex>").
func (d *Document) NamesDigest(digest string) bool {
	for _, x := range d.Digests {
		if strings.EqualFold(x, digest) {
			return true
		}
	}
	return false
}

// Parse reads a CycloneDX or SPDX JSON document, telling them apart by
// their first keys (bomFormat, spdxVersion, @context).
func Parse(data []byte) (*Document, error) {
	var probe struct {
		BOMFormat   *string         `json:"bomFormat"`
		SpecVersion string          `json:"specVersion"`
		SPDXVersion *string         `json:"spdxVersion"`
		Context     json.RawMessage `json:"@context"`
	}
	switch trimmed := bytes.TrimSpace(data); {
	case bytes.HasPrefix(trimmed, []byte("<")):
		return nil, fmt.Errorf("%w: an XML document (CycloneDX XML or SPDX RDF/XML); produce the JSON form of the SBOM", ErrUnsupported)
	case bytes.HasPrefix(trimmed, []byte("SPDXVersion:")):
		return nil, fmt.Errorf("%w: SPDX tag-value; produce SPDX 2.3 JSON", ErrUnsupported)
	}
	if err := json.Unmarshal(data, &probe); err != nil {
		return nil, fmt.Errorf("%w: not a JSON object: %v", ErrMalformed, jsonPosition(data, err))
	}
	switch {
	case probe.BOMFormat != nil:
		return parseCycloneDX(data, *probe.BOMFormat, probe.SpecVersion)
	case probe.SPDXVersion != nil:
		return parseSPDX(data, *probe.SPDXVersion)
	case bytes.Contains(probe.Context, []byte("spdx.org/rdf/3")):
		return nil, fmt.Errorf("%w: SPDX 3.0 JSON-LD: no maintained Go library reads SPDX 3.0 yet; produce SPDX 2.3 JSON or CycloneDX JSON", ErrUnsupported)
	}
	return nil, fmt.Errorf("%w: neither bomFormat (CycloneDX) nor spdxVersion (SPDX) found; expected a CycloneDX or SPDX JSON document", ErrMalformed)
}

// jsonPosition adds the line and column to a JSON error.
func jsonPosition(data []byte, err error) error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	off := int64(-1)
	switch {
	case errors.As(err, &se):
		off = se.Offset - 1
	case errors.As(err, &te):
		off = te.Offset
	}
	if off < 0 || off > int64(len(data)) {
		return err
	}
	line := 1 + bytes.Count(data[:off], []byte("\n"))
	col := int(off) - bytes.LastIndexByte(data[:off], '\n')
	return fmt.Errorf("line %d, column %d: %w", line, col, err)
}

var cdxVersions = map[string]cdx.SpecVersion{"1.4": cdx.SpecVersion1_4, "1.5": cdx.SpecVersion1_5, "1.6": cdx.SpecVersion1_6, "1.7": cdx.SpecVersion1_7}

func parseCycloneDX(data []byte, format, version string) (*Document, error) {
	if format != "CycloneDX" {
		return nil, fmt.Errorf("%w: bomFormat %q, expected CycloneDX", ErrMalformed, format)
	}
	if _, ok := cdxVersions[version]; !ok {
		return nil, fmt.Errorf("%w: CycloneDX specVersion %q: expected 1.4 to 1.7", ErrUnsupported, version)
	}
	var bom cdx.BOM
	if err := cdx.NewBOMDecoder(bytes.NewReader(data), cdx.BOMFileFormatJSON).Decode(&bom); err != nil {
		return nil, fmt.Errorf("%w: CycloneDX: %v", ErrMalformed, jsonPosition(data, err))
	}
	doc := &Document{Format: FormatCycloneDX, SpecVersion: version}
	if m := bom.Metadata; m != nil {
		if m.Timestamp != "" {
			t, err := time.Parse(time.RFC3339, m.Timestamp)
			if err != nil {
				return nil, fmt.Errorf("%w: metadata.timestamp %q: expected RFC 3339", ErrMalformed, m.Timestamp)
			}
			doc.Created = t
		}
		if c := m.Component; c != nil {
			doc.Subject = c.Name
			doc.Digests = cdxDigests(c)
		}
	}
	if bom.Components != nil {
		walkCDX(*bom.Components, func(c *cdx.Component) { doc.Components = append(doc.Components, cdxComponent(c)) })
	}
	return doc, nil
}

func walkCDX(list []cdx.Component, each func(*cdx.Component)) {
	for i := range list {
		each(&list[i])
		if list[i].Components != nil {
			walkCDX(*list[i].Components, each)
		}
	}
}

func cdxComponent(c *cdx.Component) Component {
	out := Component{Name: c.Name, Version: c.Version, PURL: c.PackageURL}
	switch {
	case c.Supplier != nil && c.Supplier.Name != "":
		out.Supplier = c.Supplier.Name
	case c.Manufacturer != nil && c.Manufacturer.Name != "":
		out.Supplier = c.Manufacturer.Name
	}
	if c.Licenses != nil {
		for _, l := range *c.Licenses {
			switch {
			case l.Expression != "":
				out.Licenses = append(out.Licenses, Identifiers(l.Expression)...)
			case l.License != nil && l.License.ID != "":
				out.Licenses = append(out.Licenses, l.License.ID)
			case l.License != nil && l.License.Name != "":
				out.Licenses = append(out.Licenses, l.License.Name)
			}
		}
	}
	return out
}

// cdxDigests collects the digests a CycloneDX subject names.
func cdxDigests(c *cdx.Component) []string {
	var ds digests
	if c.Hashes != nil {
		for _, h := range *c.Hashes {
			if h.Algorithm == cdx.HashAlgoSHA256 {
				ds.add("sha256:" + h.Value)
			}
		}
	}
	ds.fromText(c.PackageURL)
	ds.fromText(c.BOMRef)
	ds.fromText(c.Version)
	if c.Properties != nil {
		for _, p := range *c.Properties {
			if strings.HasSuffix(p.Name, ":ImageID") || strings.HasSuffix(p.Name, ":RepoDigest") || strings.HasSuffix(strings.ToLower(p.Name), "digest") {
				ds.fromText(p.Value)
			}
		}
	}
	return ds
}

func parseSPDX(data []byte, version string) (*Document, error) {
	switch version {
	case "SPDX-2.3", "SPDX-2.2":
	case "SPDX-3.0":
		return nil, fmt.Errorf("%w: SPDX 3.0: no maintained Go library reads SPDX 3.0 yet; produce SPDX 2.3 JSON or CycloneDX JSON", ErrUnsupported)
	default:
		return nil, fmt.Errorf("%w: spdxVersion %q: expected SPDX-2.3", ErrUnsupported, version)
	}
	sd, err := spdxjson.Read(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%w: SPDX: %v", ErrMalformed, jsonPosition(data, err))
	}
	doc := &Document{Format: FormatSPDX, SpecVersion: version, Subject: sd.DocumentName}
	if ci := sd.CreationInfo; ci != nil && ci.Created != "" {
		t, err := time.Parse(time.RFC3339, ci.Created)
		if err != nil {
			return nil, fmt.Errorf("%w: creationInfo.created %q: expected RFC 3339", ErrMalformed, ci.Created)
		}
		doc.Created = t
	}
	described := describedBy(sd)
	var ds digests
	for _, p := range sd.Packages {
		if p == nil {
			continue
		}
		if described[string(p.PackageSPDXIdentifier)] {
			doc.Subject = p.PackageName
			for _, c := range p.PackageChecksums {
				if c.Algorithm == "SHA256" {
					ds.add("sha256:" + c.Value)
				}
			}
			ds.fromText(p.PackageVersion)
			for _, r := range p.PackageExternalReferences {
				if r != nil && r.RefType == "purl" {
					ds.fromText(r.Locator)
				}
			}
			continue
		}
		doc.Components = append(doc.Components, spdxComponent(p))
	}
	doc.Digests = ds
	return doc, nil
}

// describedBy returns the ids of the packages the document DESCRIBES
// (relationships, or the older documentDescribes list the library folds
// into them).
func describedBy(sd *spdx.Document) map[string]bool {
	out := map[string]bool{}
	for _, r := range sd.Relationships {
		if r == nil {
			continue
		}
		switch r.Relationship {
		case "DESCRIBES":
			if string(r.RefA.ElementRefID) == string(sd.SPDXIdentifier) {
				out[string(r.RefB.ElementRefID)] = true
			}
		case "DESCRIBED_BY":
			if string(r.RefB.ElementRefID) == string(sd.SPDXIdentifier) {
				out[string(r.RefA.ElementRefID)] = true
			}
		}
	}
	return out
}

func spdxComponent(p *spdx.Package) Component {
	out := Component{Name: p.PackageName, Version: p.PackageVersion}
	if s := p.PackageSupplier; s != nil && s.Supplier != "" && s.Supplier != "NOASSERTION" {
		out.Supplier = s.Supplier
	}
	for _, r := range p.PackageExternalReferences {
		if r != nil && r.RefType == "purl" && out.PURL == "" {
			out.PURL = r.Locator
		}
	}
	lic := p.PackageLicenseConcluded
	if lic == "" || lic == "NOASSERTION" || lic == "NONE" {
		lic = p.PackageLicenseDeclared
	}
	if lic != "" && lic != "NOASSERTION" && lic != "NONE" {
		out.Licenses = Identifiers(lic)
	}
	return out
}

// digests is a list of "sha256:<hex>" without duplicates.
type digests []string

func (d *digests) add(s string) {
	s = strings.ToLower(s)
	if len(s) != len("sha256:")+64 || strings.Trim(s[7:], "0123456789abcdef") != "" {
		return
	}
	for _, x := range *d {
		if x == s {
			return
		}
	}
	*d = append(*d, s)
}

// fromText adds each sha256 digest written in s: "sha256:<hex>",
// "sha256%3A<hex>" (a purl version) or "…@sha256:<hex>".
func (d *digests) fromText(s string) {
	s = strings.ReplaceAll(strings.ToLower(s), "sha256%3a", "sha256:")
	for {
		i := strings.Index(s, "sha256:")
		if i < 0 {
			return
		}
		s = s[i:]
		if len(s) >= 71 {
			d.add(s[:71])
		}
		s = s[7:]
	}
}

// Identifiers splits an SPDX licence expression into its licence
// identifiers: "(MIT OR Apache-2.0) AND BSD-3-Clause WITH x" gives MIT,
// Apache-2.0, BSD-3-Clause (exceptions after WITH are dropped).
func Identifiers(expr string) []string {
	f := strings.Fields(strings.NewReplacer("(", " ", ")", " ").Replace(expr))
	var out []string
	for i := 0; i < len(f); i++ {
		switch strings.ToUpper(f[i]) {
		case "AND", "OR":
			continue
		case "WITH":
			i++
			continue
		}
		out = append(out, f[i])
	}
	return out
}
