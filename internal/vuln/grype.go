package vuln

import (
	"io"
	"time"
)

// grypeDoc holds the documented fields of `grype -o json` that are judged.
type grypeDoc struct {
	Matches *[]struct {
		Vulnerability struct {
			ID       string `json:"id"`
			Severity string `json:"severity"`
			CVSS     []struct {
				Metrics struct {
					BaseScore float64 `json:"baseScore"`
				} `json:"metrics"`
			} `json:"cvss"`
		} `json:"vulnerability"`
		RelatedVulnerabilities []struct {
			ID string `json:"id"`
		} `json:"relatedVulnerabilities"`
		Artifact struct {
			Name    string `json:"name"`
			Version string `json:"version"`
			PURL    string `json:"purl"`
		} `json:"artifact"`
	} `json:"matches"`
	Source *struct {
		Type   string `json:"type"`
		Target any    `json:"target"`
	} `json:"source"`
	Descriptor struct {
		Name      string `json:"name"`
		Version   string `json:"version"`
		Timestamp string `json:"timestamp"`
	} `json:"descriptor"`
}

func parseGrype(r io.Reader) (*Report, error) {
	var doc grypeDoc
	if err := decodeAll(FormatGrype, r, &doc); err != nil {
		return nil, err
	}
	if doc.Matches == nil || doc.Source == nil {
		return nil, malformed(FormatGrype, -1, "no matches or source: expected the output of grype -o json")
	}
	rep := &Report{Format: FormatGrype, Tool: doc.Descriptor.Name, ToolVersion: doc.Descriptor.Version}
	if rep.Tool == "" {
		rep.Tool = "grype"
	}
	if doc.Descriptor.Timestamp != "" {
		t, err := time.Parse(time.RFC3339Nano, doc.Descriptor.Timestamp)
		if err != nil {
			return nil, malformed(FormatGrype, -1, "descriptor.timestamp %q: expected RFC 3339", doc.Descriptor.Timestamp)
		}
		rep.Created, rep.CreatedFrom = t, "descriptor.timestamp"
	}
	switch t := doc.Source.Target.(type) {
	case map[string]any: // an image: its manifest digest, image id and repo digests
		for _, k := range []string{"manifestDigest", "imageID"} {
			if s, ok := t[k].(string); ok {
				rep.addDigest(s)
			}
		}
		if list, ok := t["repoDigests"].([]any); ok {
			for _, v := range list {
				if s, ok := v.(string); ok {
					rep.addDigest(s)
				}
			}
		}
		rep.Target, _ = t["userInput"].(string)
	case string: // a directory or file
		rep.Target = t
	}
	rep.Findings = make([]Finding, 0, len(*doc.Matches))
	for i, m := range *doc.Matches {
		v := m.Vulnerability
		if v.ID == "" {
			return nil, malformed(FormatGrype, -1, "matches[%d] has no vulnerability.id", i)
		}
		sev, err := ParseSeverity(v.Severity)
		if err != nil {
			return nil, malformed(FormatGrype, -1, "matches[%d] (%s): %v", i, v.ID, err)
		}
		f := Finding{ID: v.ID, Package: m.Artifact.Name, Version: m.Artifact.Version, PURL: m.Artifact.PURL, Severity: sev}
		for _, c := range v.CVSS {
			if s := c.Metrics.BaseScore; s > 0 && s <= 10 && (!f.HasScore || s > f.Score) {
				f.Score, f.HasScore = s, true
			}
		}
		for _, rv := range m.RelatedVulnerabilities {
			if rv.ID != "" && rv.ID != v.ID {
				f.Aliases = append(f.Aliases, rv.ID)
			}
		}
		rep.Findings = append(rep.Findings, f)
	}
	return rep, nil
}
