package vuln

import (
	"io"
	"sort"
)

// osvDoc holds the documented fields of `osv-scanner --format json`. A
// group (one vulnerability under all its ids) of one package is one
// finding; its severity is the group's max_severity (a CVSS score), else
// the highest GitHub advisory severity among its entries.
type osvDoc struct {
	Results *[]struct {
		Source struct {
			Path string `json:"path"`
		} `json:"source"`
		Packages []struct {
			Package struct {
				Name      string `json:"name"`
				Version   string `json:"version"`
				Ecosystem string `json:"ecosystem"`
			} `json:"package"`
			Vulnerabilities []struct {
				ID               string   `json:"id"`
				Aliases          []string `json:"aliases"`
				DatabaseSpecific struct {
					Severity string `json:"severity"`
				} `json:"database_specific"`
			} `json:"vulnerabilities"`
			Groups []struct {
				IDs         []string `json:"ids"`
				Aliases     []string `json:"aliases"`
				MaxSeverity string   `json:"max_severity"`
			} `json:"groups"`
		} `json:"packages"`
	} `json:"results"`
	ImageMetadata *struct {
		// not used: OSV-Scanner's image metadata names no digest
	} `json:"image_metadata"`
}

func parseOSV(r io.Reader) (*Report, error) {
	var doc osvDoc
	if err := decodeAll(FormatOSV, r, &doc); err != nil {
		return nil, err
	}
	if doc.Results == nil {
		return nil, malformed(FormatOSV, -1, "no results: expected the output of osv-scanner --format json")
	}
	rep := &Report{Format: FormatOSV, Tool: "osv-scanner"}
	for i, res := range *doc.Results {
		if rep.Target == "" {
			rep.Target = res.Source.Path
		}
		for j, p := range res.Packages {
			sevOf := map[string]string{}
			for _, v := range p.Vulnerabilities {
				sevOf[v.ID] = v.DatabaseSpecific.Severity
			}
			groups := p.Groups
			if len(groups) == 0 { // older reports: one group per vulnerability
				for _, v := range p.Vulnerabilities {
					groups = append(groups, struct {
						IDs         []string `json:"ids"`
						Aliases     []string `json:"aliases"`
						MaxSeverity string   `json:"max_severity"`
					}{IDs: []string{v.ID}, Aliases: v.Aliases})
				}
			}
			for k, g := range groups {
				if len(g.IDs) == 0 {
					return nil, malformed(FormatOSV, -1, "results[%d].packages[%d].groups[%d] has no ids", i, j, k)
				}
				f := finding(g.IDs, g.Aliases, p.Package.Name, p.Package.Version)
				if sc, ok := parseScore(g.MaxSeverity); ok {
					f.Score, f.HasScore, f.Severity = sc, true, FromCVSS(sc)
				} else {
					f.Severity = SeverityUnknown
					for _, id := range g.IDs {
						if s, err := ParseSeverity(sevOf[id]); err == nil && s != SeverityUnknown && (f.Severity == SeverityUnknown || s > f.Severity) {
							f.Severity = s
						}
					}
				}
				rep.Findings = append(rep.Findings, f)
			}
		}
	}
	return rep, nil
}

// finding names a group by its first id in order, with every other id and
// alias as aliases.
func finding(ids, aliases []string, pkg, version string) Finding {
	sorted := append([]string(nil), ids...)
	sort.Strings(sorted)
	f := Finding{ID: sorted[0], Package: pkg, Version: version}
	seen := map[string]bool{f.ID: true}
	for _, a := range append(sorted[1:], aliases...) {
		if !seen[a] {
			seen[a] = true
			f.Aliases = append(f.Aliases, a)
		}
	}
	return f
}
