package sbom

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func load(t *testing.T, path string) *Document {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata/real", path))
	if err != nil {
		t.Fatal(err)
	}
	d, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestRealSBOMs reads real SBOMs from Trivy's, cyclonedx-go's and
// tools-golang's test data (testdata/real/*/SOURCE.md) and judges each
// against one policy: at least 2 components, every one with a version and
// a purl, no GPL-3.0; the expected verdict is what fails.
func TestRealSBOMs(t *testing.T) {
	t.Parallel()
	pol := Policy{MinComponents: 2, Require: []string{FieldVersion, FieldPURL}, Deny: []string{"GPL-3.0-only", "GPLv3+"}}
	for _, tc := range []struct {
		file       string
		format     Format
		digest     string
		components int
		noPURL     []string
		noVersion  []string
		denied     []string
		deniedN    int // when the list is long: how many
	}{
		{file: "trivy/centos-7-cyclonedx.json", format: FormatCycloneDX, components: 3,
			digest: "sha256:f1cb7c7d58b73eac859c395882eec49d50651244e342cd6c68a5c7809785f427",
			noPURL: []string{"centos@7.6.1810"}, denied: []string{"bash@4.2.46-31.el7"}},
		{file: "trivy/centos-7-spdx.json", format: FormatSPDX, components: 3, noPURL: []string{"centos@7.6.1810"}, denied: []string{"bash@4.2.46"}},
		{file: "trivy/conda-spdx.json", format: FormatSPDX, components: 2},
		{file: "trivy/fluentd-multiple-lockfiles.cdx.json", format: FormatCycloneDX, components: 161,
			digest: "sha256:5a992077baba51b97f27591a10d54d2f2723dc9c81a3fe419e261023f2554933", noPURL: []string{"debian@10.2"}, deniedN: 31},
		{file: "trivy/license-cyclonedx.json", format: FormatCycloneDX, components: 4, noPURL: []string{"pom.xml"}, noVersion: []string{"pom.xml"}},
		{file: "cyclonedx-go/valid-bom.json", format: FormatCycloneDX, components: 2, noPURL: []string{"mylibrary@1.0.0"}},
		{file: "cyclonedx-go/valid-license-expression.json", format: FormatCycloneDX, components: 1, noPURL: []string{"tomcat-catalina@9.0.14"}},
		{file: "spdx-tools-golang/SPDXJSONExample-v2.3.spdx.json", format: FormatSPDX, components: 4,
			noPURL: []string{"Apache Commons Lang", "Saxon@8.8", "centos@centos7.9.2009"},
			digest: "sha256:11b6d3ee554eedf79299905a98f9b9a04e498210b59f15094c916c91d150efcd"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			t.Parallel()
			d := load(t, tc.file)
			if d.Format != tc.format {
				t.Errorf("format %s, want %s", d.Format, tc.format)
			}
			if tc.digest != "" && !d.NamesDigest(tc.digest) {
				t.Errorf("digests %v, want %s", d.Digests, tc.digest)
			}
			if tc.digest == "" && len(d.Digests) > 0 {
				t.Errorf("digests %v, want none", d.Digests)
			}
			v := pol.Judge(d)
			if v.Components != tc.components {
				t.Errorf("components %d, want %d", v.Components, tc.components)
			}
			if !slices.Equal(v.Missing[FieldPURL], tc.noPURL) {
				t.Errorf("without purl %v, want %v", v.Missing[FieldPURL], tc.noPURL)
			}
			if tc.noVersion != nil && !slices.Equal(v.Missing[FieldVersion], tc.noVersion) {
				t.Errorf("without version %v, want %v", v.Missing[FieldVersion], tc.noVersion)
			}
			var denied []string
			for _, x := range v.Denied {
				denied = append(denied, x.Component)
			}
			if tc.deniedN > 0 {
				if len(denied) != tc.deniedN {
					t.Errorf("denied %d, want %d", len(denied), tc.deniedN)
				}
			} else if !slices.Equal(denied, tc.denied) {
				t.Errorf("denied %v, want %v", denied, tc.denied)
			}
		})
	}
}

func TestLicenceLists(t *testing.T) {
	t.Parallel()
	d := &Document{Components: []Component{
		{Name: "a", Version: "1", Licenses: Identifiers("(MIT OR Apache-2.0)")},
		{Name: "b", Version: "1", Licenses: Identifiers("GPL-2.0-or-later WITH Classpath-exception-2.0")},
		{Name: "c", Version: "1"},
	}}
	v := Policy{Allow: []string{"mit", "Apache-2.0"}, Deny: []string{"GPL-2.0-or-later"}}.Judge(d)
	if len(v.Denied) != 1 || v.Denied[0].Component != "b@1" {
		t.Errorf("denied %v, want b@1", v.Denied)
	}
	if len(v.NotAllowed) != 2 || v.NotAllowed[0].Component != "b@1" || v.NotAllowed[1].Detail != "no licence" {
		t.Errorf("not allowed %v, want b@1 and c@1 (no licence)", v.NotAllowed)
	}
	if got := Identifiers("(MIT OR Apache-2.0) AND BSD-3-Clause WITH x"); !slices.Equal(got, []string{"MIT", "Apache-2.0", "BSD-3-Clause"}) {
		t.Errorf("Identifiers = %v", got)
	}
}

func TestBadSBOMs(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, doc string
		want      error
	}{
		{"not json", `{"bomFormat":`, ErrMalformed},
		{"neither format", `{"name":"x"}`, ErrMalformed},
		{"cyclonedx 1.2", `{"bomFormat":"CycloneDX","specVersion":"1.2"}`, ErrUnsupported},
		{"not cyclonedx", `{"bomFormat":"Other","specVersion":"1.5"}`, ErrMalformed},
		{"cyclonedx components not a list", `{"bomFormat":"CycloneDX","specVersion":"1.5","components":{}}`, ErrMalformed},
		{"cyclonedx bad timestamp", `{"bomFormat":"CycloneDX","specVersion":"1.5","metadata":{"timestamp":"yesterday"}}`, ErrMalformed},
		{"spdx 3.0 json-ld", `{"@context":"https://spdx.org/rdf/3.0.1/spdx-context.jsonld","@graph":[]}`, ErrUnsupported},
		{"spdx 2.1", `{"spdxVersion":"SPDX-2.1"}`, ErrUnsupported},
		{"cyclonedx xml", "<?xml version=\"1.0\"?>\n<bom xmlns=\"http://cyclonedx.org/schema/bom/1.5\"/>", ErrUnsupported},
		{"spdx tag-value", "SPDXVersion: SPDX-2.3\nDataLicense: CC0-1.0\n", ErrUnsupported},
		{"spdx packages not a list", `{"spdxVersion":"SPDX-2.3","packages":7}`, ErrMalformed},
	} {
		if _, err := Parse([]byte(tc.doc)); !errors.Is(err, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, err, tc.want)
		}
	}
}

func TestIsPredicate(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]bool{"https://cyclonedx.org/bom": true, "https://cyclonedx.org/bom/v1.5": true, "https://spdx.dev/Document/v2.3": true,
		"https://slsa.dev/provenance/v1": false, "https://cyclonedx.org/bomb": false} {
		if IsPredicate(in) != want {
			t.Errorf("IsPredicate(%q) != %v", in, want)
		}
	}
}

func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/real/*/*.json")
	for _, p := range files {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := Parse(data)
		if err == nil && d == nil {
			t.Fatal("nil document without an error")
		}
		if err == nil {
			Policy{MinComponents: 1, Require: Fields, Allow: []string{"MIT"}, Deny: []string{"GPL-3.0"}}.Judge(d)
			for _, x := range d.Digests {
				if len(x) != 71 {
					t.Fatalf("digest %q", x)
				}
			}
		}
	})
}
