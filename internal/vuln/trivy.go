package vuln

import (
	"io"
	"time"
)

// trivyDoc holds the documented fields of `trivy --format json` (schema
// version 2) that are judged: vulnerabilities, not misconfigurations,
// secrets or licences.
type trivyDoc struct {
	SchemaVersion int        `json:"SchemaVersion"`
	CreatedAt     *time.Time `json:"CreatedAt"`
	ArtifactName  string     `json:"ArtifactName"`
	ArtifactType  string     `json:"ArtifactType"`
	Metadata      struct {
		ImageID     string   `json:"ImageID"`
		RepoDigests []string `json:"RepoDigests"`
	} `json:"Metadata"`
	Trivy struct {
		Version string `json:"Version"`
	} `json:"Trivy"`
	Results []struct {
		Target          string `json:"Target"`
		Vulnerabilities []struct {
			VulnerabilityID  string `json:"VulnerabilityID"`
			PkgName          string `json:"PkgName"`
			InstalledVersion string `json:"InstalledVersion"`
			PkgIdentifier    struct {
				PURL string `json:"PURL"`
			} `json:"PkgIdentifier"`
			Severity       string `json:"Severity"`
			SeveritySource string `json:"SeveritySource"`
			CVSS           map[string]struct {
				V3Score  float64 `json:"V3Score"`
				V40Score float64 `json:"V40Score"`
			} `json:"CVSS"`
		} `json:"Vulnerabilities"`
	} `json:"Results"`
}

func parseTrivy(r io.Reader) (*Report, error) {
	var doc trivyDoc
	if err := decodeAll(FormatTrivy, r, &doc); err != nil {
		return nil, err
	}
	if doc.SchemaVersion != 2 {
		return nil, malformed(FormatTrivy, -1, "SchemaVersion %d, expected 2 (trivy --format json)", doc.SchemaVersion)
	}
	rep := &Report{Format: FormatTrivy, Tool: "trivy", ToolVersion: doc.Trivy.Version, Target: doc.ArtifactName}
	if doc.CreatedAt != nil {
		rep.Created, rep.CreatedFrom = *doc.CreatedAt, "CreatedAt"
	}
	rep.addDigest(doc.Metadata.ImageID)
	for _, d := range doc.Metadata.RepoDigests {
		rep.addDigest(d)
	}
	for i, res := range doc.Results {
		for j, v := range res.Vulnerabilities {
			if v.VulnerabilityID == "" {
				return nil, malformed(FormatTrivy, -1, "Results[%d].Vulnerabilities[%d] has no VulnerabilityID", i, j)
			}
			sev, err := ParseSeverity(v.Severity)
			if err != nil {
				return nil, malformed(FormatTrivy, -1, "Results[%d].Vulnerabilities[%d] (%s): %v", i, j, v.VulnerabilityID, err)
			}
			f := Finding{ID: v.VulnerabilityID, Package: v.PkgName, Version: v.InstalledVersion, PURL: v.PkgIdentifier.PURL, Severity: sev}
			// The score of the source Trivy took the severity from, else
			// the highest any source gives.
			if c, ok := v.CVSS[v.SeveritySource]; ok && c.V3Score > 0 {
				f.Score, f.HasScore = c.V3Score, true
			} else {
				for _, c := range v.CVSS {
					for _, s := range []float64{c.V40Score, c.V3Score} {
						if s > 0 && s <= 10 && (!f.HasScore || s > f.Score) {
							f.Score, f.HasScore = s, true
						}
					}
				}
			}
			rep.Findings = append(rep.Findings, f)
		}
	}
	return rep, nil
}
