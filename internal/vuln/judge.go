package vuln

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/openvex/go-vex/pkg/vex"
)

// Allowance is a policy allow-list entry: a finding accepted until Expires.
type Allowance struct {
	// ID is the vulnerability or rule id; it matches a finding's id or one
	// of its aliases.
	ID string
	// Package, when set, limits the entry to that package (name or purl).
	Package string
	// Expires is when the acceptance ends; after it the finding counts.
	Expires time.Time
	// Reason says why it was accepted.
	Reason string
}

// Expired reports whether the entry has expired at now.
func (a Allowance) Expired(now time.Time) bool { return !now.Before(a.Expires) }

func (a Allowance) matches(f *Finding) bool {
	if a.Package != "" && a.Package != f.Package && a.Package != f.PURL && !vex.PurlMatches(a.Package, f.PURL) {
		return false
	}
	for _, id := range f.IDs() {
		if strings.EqualFold(id, a.ID) {
			return true
		}
	}
	return false
}

// Named is a parsed report and the name it is known by.
type Named struct {
	Name   string
	Report *Report
}

// Criteria is what findings are judged against.
type Criteria struct {
	// Threshold is the least severity that counts.
	Threshold Severity
	// CVSS prefers the CVSS bucket of a finding's score to the scanner's
	// severity, when the report carries a score.
	CVSS bool
	// Product is what the artifact is called in VEX statements.
	Product Product
	// VEX are the documents that may waive findings.
	VEX []*VEX
	// Allow is the policy's allow-list.
	Allow []Allowance
	// Now is the time expiries are judged at.
	Now time.Time
}

// Judged is one distinct finding of an artifact with the reports that state
// it and what became of it.
type Judged struct {
	// Finding is the first report's statement of it (not copied: a large
	// report's findings are judged without doubling them in memory).
	*Finding
	// Severity is the severity judged (SeverityBy), the highest any report
	// gives.
	Severity Severity
	// Reports are the names of the reports stating the finding.
	Reports []string
	// Waiver is set when the finding was waived.
	Waiver *Waiver
	// Expired is an expired allow-list entry that would have waived it.
	Expired *Allowance
}

// Waiver says what waived a finding.
type Waiver struct {
	// By is "vex" or "allow-list".
	By string
	// Source is the VEX document's name, or "policy".
	Source string
	// Statement says what the VEX statement states (not_affected
	// (justification), fixed), or the allow-list reason.
	Statement string
	// Signer is the VEX document's verified signer, empty when unsigned.
	Signer string
	// Expires is an allow-list entry's expiry.
	Expires time.Time
}

// Outcome is the judgement of one artifact's reports.
type Outcome struct {
	// Counted are the findings at or above the threshold that nothing
	// waived: each fails the artifact.
	Counted []Judged
	// Waived are the findings at or above the threshold that a VEX
	// statement or an allow-list entry waived.
	Waived []Judged
	// Below counts distinct findings under the threshold.
	Below int
	// Total counts distinct findings.
	Total int
}

// Judge merges the reports' findings (the same key in two reports is one
// finding, at the highest severity either gives) and sorts each into
// counted, waived or below the threshold. Waivers are tried in order: the
// latest applicable VEX statement (not_affected or fixed waive; affected
// and under_investigation do not), then an unexpired allow-list entry.
func Judge(reports []Named, c Criteria) Outcome {
	byKey := map[string]*Judged{}
	var order []string
	for _, nr := range reports {
		// Two results of one report with the same key are two findings
		// (two places a rule fired without a line, say); the same key in
		// two reports is one finding both state.
		seen := map[string]int{}
		for i := range nr.Report.Findings {
			f := &nr.Report.Findings[i]
			k := f.Key()
			if n := seen[k]; n > 0 {
				seen[k] = n + 1
				k = fmt.Sprintf("%s #%d", k, n+1)
			} else {
				seen[k] = 1
			}
			sev := f.SeverityBy(c.CVSS)
			j, ok := byKey[k]
			if !ok {
				j = &Judged{Finding: f, Severity: sev}
				byKey[k] = j
				order = append(order, k)
			} else if rank(sev) > rank(j.Severity) {
				j.Severity = sev
			}
			if len(j.Reports) == 0 || j.Reports[len(j.Reports)-1] != nr.Name {
				j.Reports = append(j.Reports, nr.Name)
			}
		}
	}
	out := Outcome{Total: len(order)}
	for _, k := range order {
		j := byKey[k]
		if !j.Severity.Meets(c.Threshold) {
			out.Below++
			continue
		}
		if w := waiveByVEX(j.Finding, c); w != nil {
			j.Waiver = w
			out.Waived = append(out.Waived, *j)
			continue
		}
		if w, expired := waiveByAllow(j.Finding, c); w != nil {
			j.Waiver = w
			out.Waived = append(out.Waived, *j)
			continue
		} else if expired != nil {
			j.Expired = expired
		}
		out.Counted = append(out.Counted, *j)
	}
	sort.SliceStable(out.Counted, func(a, b int) bool { return rank(out.Counted[a].Severity) > rank(out.Counted[b].Severity) })
	return out
}

// rank orders severities for "the highest": unknown above critical.
func rank(s Severity) int { return int(s) }

func waiveByVEX(f *Finding, c Criteria) *Waiver {
	var best *vex.Statement
	var bestAt time.Time
	var from *VEX
	for _, v := range c.VEX {
		if st, at := v.statementFor(f, c.Product); st != nil && (best == nil || !at.Before(bestAt)) {
			best, bestAt, from = st, at, v
		}
	}
	if best == nil || (best.Status != vex.StatusNotAffected && best.Status != vex.StatusFixed) {
		return nil
	}
	return &Waiver{By: "vex", Source: from.Name, Statement: describe(best), Signer: from.Signer}
}

func waiveByAllow(f *Finding, c Criteria) (*Waiver, *Allowance) {
	var expired *Allowance
	for i := range c.Allow {
		a := &c.Allow[i]
		if !a.matches(f) {
			continue
		}
		if a.Expired(c.Now) {
			expired = a
			continue
		}
		return &Waiver{By: "allow-list", Source: "policy", Statement: a.Reason, Expires: a.Expires}, nil
	}
	return nil, expired
}
