package sbom

import "testing"

// TestSPDXDocumentDescribes: the older documentDescribes list names the
// subject as well as a DESCRIBES relationship does (tools-golang folds it
// into the relationships).
func TestSPDXDocumentDescribes(t *testing.T) {
	t.Parallel()
	doc := `{"spdxVersion":"SPDX-2.3","dataLicense":"CC0-1.0","SPDXID":"SPDXRef-DOCUMENT","name":"img","documentNamespace":"https://example.com/x",
 "creationInfo":{"created":"2026-01-01T00:00:00Z","creators":["Tool: syft"]},
 "documentDescribes":["SPDXRef-img"],
 "packages":[
  {"SPDXID":"SPDXRef-img","name":"ghcr.io/acme/app","versionInfo":"sha256:f1cb7c7d58b73eac859c395882eec49d50651244e342cd6c68a5c7809785f427","downloadLocation":"NOASSERTION"},
  {"SPDXID":"SPDXRef-p","name":"zlib","versionInfo":"1.3","downloadLocation":"NOASSERTION","supplier":"Organization: zlib","licenseConcluded":"Zlib",
   "externalRefs":[{"referenceCategory":"PACKAGE-MANAGER","referenceType":"purl","referenceLocator":"pkg:apk/alpine/zlib@1.3"}]}]}`
	d, err := Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	if !d.NamesDigest("sha256:f1cb7c7d58b73eac859c395882eec49d50651244e342cd6c68a5c7809785f427") || len(d.Components) != 1 {
		t.Fatalf("digests %v components %+v", d.Digests, d.Components)
	}
	if c := d.Components[0]; c.Supplier != "zlib" || c.PURL != "pkg:apk/alpine/zlib@1.3" || len(c.Licenses) != 1 || c.Licenses[0] != "Zlib" {
		t.Errorf("component %+v", c)
	}
}
