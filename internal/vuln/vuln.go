// Package vuln reads the vulnerability reports teams already produce —
// SARIF 2.1 (CodeQL, Trivy, Grype), Grype JSON, Trivy JSON, OSV-Scanner
// JSON and govulncheck JSON — into one model of findings, reads OpenVEX
// documents, and judges findings against a severity threshold, VEX
// statements and an allow-list with expiry dates.
//
// It knows nothing of policies or gates: internal/gates/vulnerabilities
// maps its settings to Judge and its outcome to a Result. Parsers read
// through a byte limit and stream SARIF, so a large report costs time
// proportional to its size and memory proportional to its findings.
package vuln

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Format is a report format.
type Format string

// The report formats this package reads.
const (
	FormatSARIF       Format = "sarif"
	FormatGrype       Format = "grype"
	FormatTrivy       Format = "trivy"
	FormatOSV         Format = "osv-scanner"
	FormatGovulncheck Format = "govulncheck"
)

// Formats lists every format, for settings and messages.
var Formats = []Format{FormatSARIF, FormatGrype, FormatTrivy, FormatOSV, FormatGovulncheck}

// Severity orders findings. SeverityUnknown means the report gave none:
// it meets every threshold, so a finding without a severity is never
// silently below the bar.
type Severity int

// The severities, from least to most severe; Unknown sorts last because it
// is judged as the worst.
const (
	SeverityNone Severity = iota
	SeverityLow
	SeverityMedium
	SeverityHigh
	SeverityCritical
	SeverityUnknown
)

var severityNames = map[Severity]string{SeverityNone: "none", SeverityLow: "low", SeverityMedium: "medium",
	SeverityHigh: "high", SeverityCritical: "critical", SeverityUnknown: "unknown"}

// String is the lowercase name of the severity.
func (s Severity) String() string {
	if n, ok := severityNames[s]; ok {
		return n
	}
	return "unknown"
}

// Meets reports whether a finding of severity s is at or above threshold.
// An unknown severity meets every threshold.
func (s Severity) Meets(threshold Severity) bool { return s == SeverityUnknown || s >= threshold }

// ErrSeverity means a severity name is not one this package knows.
var ErrSeverity = errors.New("unknown severity")

// ParseSeverity reads the severity names scanners use, in any case:
// negligible/info/none, low, medium/moderate, high, critical, unknown.
func ParseSeverity(s string) (Severity, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "none", "negligible", "info", "informational":
		return SeverityNone, nil
	case "low":
		return SeverityLow, nil
	case "medium", "moderate":
		return SeverityMedium, nil
	case "high":
		return SeverityHigh, nil
	case "critical":
		return SeverityCritical, nil
	case "unknown", "":
		return SeverityUnknown, nil
	}
	return SeverityUnknown, fmt.Errorf("%w %q: expected none, low, medium, high or critical", ErrSeverity, s)
}

// FromCVSS buckets a CVSS v3/v4 base score as NVD does: 0 none, 0.1–3.9
// low, 4.0–6.9 medium, 7.0–8.9 high, 9.0–10 critical. A score outside
// 0–10 or not a number is unknown.
func FromCVSS(score float64) Severity {
	switch {
	case math.IsNaN(score) || score < 0 || score > 10:
		return SeverityUnknown
	case score >= 9:
		return SeverityCritical
	case score >= 7:
		return SeverityHigh
	case score >= 4:
		return SeverityMedium
	case score > 0:
		return SeverityLow
	}
	return SeverityNone
}

// parseScore reads a CVSS score written as a string ("8.2"); ok is false
// for anything else.
func parseScore(s string) (float64, bool) {
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || math.IsNaN(f) || f < 0 || f > 10 {
		return 0, false
	}
	return f, true
}

// Finding is one vulnerability (or code-scanning result) in one package or
// place, as a report states it.
type Finding struct {
	// ID is the vulnerability id (CVE-…, GHSA-…, GO-…) or, for code
	// scanning, the rule id (go/sql-injection).
	ID string
	// Aliases are other ids of the same vulnerability.
	Aliases []string
	// Package, Version and PURL name the affected package, when known.
	Package string
	Version string
	PURL    string
	// Location is where a code-scanning result is (file:line), when known.
	Location string
	// Severity is the scanner's severity; Score the CVSS base score, when
	// the report carries one (HasScore).
	Severity Severity
	Score    float64
	HasScore bool
}

// Key identifies the finding within an artifact: the id and the package
// version, or, for a code-scanning result, its location. Two reports
// stating the same key state the same finding.
func (f Finding) Key() string {
	where := f.Location
	if f.Package != "" {
		where = f.Package
		if f.Version != "" {
			where += "@" + f.Version
		}
	}
	if where == "" {
		return f.ID
	}
	return f.ID + " in " + where
}

// IDs returns the id and the aliases.
func (f Finding) IDs() []string { return append([]string{f.ID}, f.Aliases...) }

// SeverityBy returns the severity the judgement uses: with cvss, the CVSS
// bucket of the score when the report carries one, else the scanner's.
func (f Finding) SeverityBy(cvss bool) Severity {
	if cvss && f.HasScore {
		return FromCVSS(f.Score)
	}
	return f.Severity
}

// Report is one scanner report reduced to what is judged.
type Report struct {
	// Format is the report's format.
	Format Format
	// Tool and ToolVersion name the scanner (SARIF: each run's driver).
	Tool        string
	ToolVersion string
	// Created is when the scan ran (or, for govulncheck, when its
	// vulnerability database was last modified: the data the scan used is
	// no newer); zero when the report does not say.
	Created time.Time
	// CreatedFrom names the field Created was read from.
	CreatedFrom string
	// Digests are the digests ("sha256:<hex>") of what was scanned, as the
	// report names them; empty for a source or directory scan.
	Digests []string
	// Target names what was scanned (image name, path), for messages.
	Target string
	// Findings are the report's findings, in report order.
	Findings []Finding
	// Ignored counts findings the format itself marks as not applying
	// (govulncheck findings whose vulnerable code is not called).
	Ignored int
}

// NamesDigest reports whether the report names digest ("sha256:<hex>").
func (r *Report) NamesDigest(digest string) bool {
	for _, d := range r.Digests {
		if strings.EqualFold(d, digest) {
			return true
		}
	}
	return false
}

// addDigest records a digest from a report field that may hold
// "repo@sha256:…" or "sha256:…".
func (r *Report) addDigest(s string) {
	if i := strings.LastIndex(s, "@"); i >= 0 {
		s = s[i+1:]
	}
	s = strings.ToLower(strings.TrimSpace(s))
	if !strings.HasPrefix(s, "sha256:") || len(s) != len("sha256:")+64 {
		return
	}
	for _, d := range r.Digests {
		if d == s {
			return
		}
	}
	r.Digests = append(r.Digests, s)
}
