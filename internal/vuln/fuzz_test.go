package vuln

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// seeds adds every real report of testdata/real/<dir> to f.
func seeds(f *testing.F, dirs ...string) {
	for _, d := range dirs {
		files, _ := filepath.Glob(filepath.Join("testdata/real", d, "*"))
		for _, p := range files {
			if b := filepath.Base(p); b == "LICENSE" || b == "SOURCE.md" {
				continue
			}
			data, err := os.ReadFile(p)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(data)
		}
	}
}

func fuzzFormat(f *testing.F, format Format, dirs ...string) {
	seeds(f, dirs...)
	f.Fuzz(func(t *testing.T, data []byte) {
		rep, err := Parse(bytes.NewReader(data), format)
		if err == nil && rep == nil {
			t.Fatal("nil report without an error")
		}
		if err != nil && rep != nil {
			t.Fatal("a report and an error")
		}
		if err == nil {
			for _, fd := range rep.Findings {
				if fd.ID == "" {
					t.Fatal("a finding without an id")
				}
			}
		}
	})
}

func FuzzSARIF(f *testing.F)       { fuzzFormat(f, FormatSARIF, "codeql-action", "grype", "trivy") }
func FuzzGrype(f *testing.F)       { fuzzFormat(f, FormatGrype, "grype") }
func FuzzTrivy(f *testing.F)       { fuzzFormat(f, FormatTrivy, "trivy") }
func FuzzOSV(f *testing.F)         { fuzzFormat(f, FormatOSV, "osv-scanner") }
func FuzzGovulncheck(f *testing.F) { fuzzFormat(f, FormatGovulncheck, "govulncheck") }

func FuzzDetect(f *testing.F) {
	seeds(f, "codeql-action", "grype", "trivy", "osv-scanner", "govulncheck", "openvex")
	f.Fuzz(func(t *testing.T, data []byte) {
		if format, err := Detect(data); err == nil && format == "" {
			t.Fatal("no format and no error")
		}
	})
}

func FuzzParseVEX(f *testing.F) {
	seeds(f, "openvex")
	f.Fuzz(func(t *testing.T, data []byte) {
		doc, err := ParseVEX(data)
		if err == nil {
			for i := range doc.Statements {
				if !doc.Statements[i].Status.Valid() || len(doc.Statements[i].Products) == 0 {
					t.Fatalf("statement %d accepted with status %q", i, doc.Statements[i].Status)
				}
			}
		}
	})
}
