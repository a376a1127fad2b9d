package evidence

import (
	"fmt"
	"io"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/maestro-conductor/releasegate/internal/gate"
)

// groupTitles orders and names the checklist's sections.
var groupTitles = []struct{ group, title string }{
	{"provenance", "Provenance and supply chain"},
	{"abuse", "Abuse protection"},
	{"cost", "Cost"},
	{"slo", "SLOs"},
	{"infra", "Alerts and dashboards"},
	{"jobs", "Jobs"},
	{"evidence", "Evidence"},
}

// WriteChecklist writes the release checklist in Markdown: one ticked or
// unticked box per gate, grouped like the team's checklist, with the blanks
// filled from the results, then the evidence bundle, sign-off and release
// metrics sections.
func WriteChecklist(w io.Writer, ev *Evidence) error {
	m, rep := ev.Manifest, ev.Report
	ew := &errWriter{w: w}
	checklistHeader(ew, m)
	checklistGates(ew, m, rep)
	checklistBundle(ew, m, ev.bundled)
	checklistSignOff(ew, m)
	return ew.err
}

// checklistHeader writes the title, the verdict and the reasons it failed.
func checklistHeader(ew *errWriter, m *Manifest) {
	mark := "✅"
	if m.Result != ResultPassed {
		mark = "❌"
	}
	ew.printf("# Release checklist: %s %s\n\n", mdEscape(firstNonEmpty(m.Release, "release")), mdEscape(m.Version))
	ew.printf("**Result: %s %s** · verified %s by %s", m.Result, mark, m.Timestamp.UTC().Format(time.RFC3339), mdEscape(firstNonEmpty(m.Tool, "releasegate")))
	if m.Policy.Digest != "" {
		ew.printf(" · policy `%s` (`%s`)", mdEscape(m.Policy.Path), shortDigest(m.Policy.Digest))
	}
	ew.printf("\n\n")
	for _, r := range m.Reasons {
		ew.printf("> ❌ %s\n", mdEscape(r))
	}
	if len(m.Reasons) > 0 {
		ew.printf("\n")
	}
}

// checklistGates writes one box per gate, in the team's groups (then any
// other group, by name), and the required gates with no result.
func checklistGates(ew *errWriter, m *Manifest, rep *gate.Report) {
	byGroup := map[string][]gate.Result{}
	for _, r := range rep.Results {
		byGroup[firstNonEmpty(r.Group, "other")] = append(byGroup[firstNonEmpty(r.Group, "other")], r)
	}
	var order []struct{ group, title string }
	known := map[string]bool{}
	for _, g := range groupTitles {
		known[g.group] = true
		order = append(order, g)
	}
	var extra []string
	for g := range byGroup {
		if !known[g] {
			extra = append(extra, g)
		}
	}
	sort.Strings(extra)
	for _, g := range extra {
		order = append(order, struct{ group, title string }{g, strings.ToUpper(g[:1]) + g[1:]})
	}
	have := map[string]bool{}
	for _, r := range rep.Results {
		have[r.Gate] = true
	}
	for _, g := range order {
		rs := byGroup[g.group]
		if len(rs) == 0 {
			continue
		}
		ew.printf("## %s\n\n", g.title)
		for _, r := range rs {
			box := " "
			if r.Status == gate.StatusPass || r.Status == gate.StatusWarn {
				box = "x"
			}
			opt := ""
			if !containsStr(m.Required, r.Gate) {
				opt = " _(optional)_"
			}
			ew.printf("- [%s] **%s**%s: %s %s\n", box, mdEscape(r.Gate), opt, mdEscape(firstNonEmpty(r.Summary, string(r.Status))), r.Status.Symbol())
			for _, c := range r.Checks {
				if c.Status == gate.StatusPass {
					continue
				}
				ew.printf("  - %s %s%s: %s\n", c.Status.Symbol(), tenantOf(c), mdEscape(c.Name), mdEscape(c.Message))
			}
		}
		ew.printf("\n")
	}
	var missing []string
	for _, id := range m.Required {
		if !have[id] {
			missing = append(missing, id)
		}
	}
	if len(missing) > 0 {
		ew.printf("## Missing required gates\n\n")
		for _, id := range missing {
			ew.printf("- [ ] **%s**: no result ❌\n", mdEscape(id))
		}
		ew.printf("\n")
	}
}

// checklistBundle writes the evidence bundle section.
func checklistBundle(ew *errWriter, m *Manifest, bundled bool) {
	ew.printf("## Evidence bundle\n\n")
	passedAll := m.Result == ResultPassed
	if !bundled {
		ew.printf("- [ ] Manifest and signature: not created yet; run `releasegate evidence create` ❌\n")
	} else {
		ew.printf("- [x] Manifest: `%s` with the SHA-256 of every file ✅\n", ManifestName(m.Version))
		ew.printf("- [x] Signature: in-toto VSA (`verificationResult: %s`) signed as DSSE in `%s` ✅\n", m.Result, BundleFile)
	}
	ew.printf("- [x] Artifacts: %s ✅\n", artifactLine(m.Artifacts))
	tick, sym := " ", "❌"
	if passedAll {
		tick, sym = "x", "✅"
	}
	ew.printf("- [%s] Test evidence: %d of %d required gates passed %s\n\n", tick, requiredPassed(m), len(m.Required), sym)
}

// checklistSignOff writes the sign-off table and the release metrics.
func checklistSignOff(ew *errWriter, m *Manifest) {
	ew.printf("## Sign-off\n\n| Role | Name | Date | Decision |\n|---|---|---|---|\n")
	actor := "_____"
	if m.GitHub != nil && m.GitHub.Actor != "" {
		actor = "@" + mdEscape(m.GitHub.Actor)
	}
	ew.printf("| Release manager | %s | %s | %s |\n", actor, m.Timestamp.UTC().Format("2006-01-02"), decision(m.Result))
	ew.printf("| Engineering lead | _____ | _____ | _____ |\n| SRE on call | _____ | _____ | _____ |\n\n")

	ew.printf("## Release metrics\n\n| Metric | Value |\n|---|---|\n")
	for _, row := range m.ReleaseMetrics {
		ew.printf("| %s | %s |\n", row.Name, mdEscape(row.Value))
	}
	if m.GitHub != nil && m.GitHub.RunID != "" {
		ew.printf("\nRun %s attempt %s of %s at %s (%s).\n", mdEscape(m.GitHub.RunID), mdEscape(firstNonEmpty(m.GitHub.RunAttempt, "1")),
			mdEscape(m.GitHub.Repository), shortSHA(m.GitHub.SHA), mdEscape(m.GitHub.Ref))
	}
}

// requiredPassed counts the required gates whose result passed.
func requiredPassed(m *Manifest) int {
	n := 0
	for _, g := range m.Gates {
		if g.Required && (g.Status == string(gate.StatusPass) || g.Status == string(gate.StatusWarn)) {
			n++
		}
	}
	return n
}

func decision(result string) string {
	if result == ResultPassed {
		return "go ✅"
	}
	return "no-go ❌"
}

func artifactLine(as []Artifact) string {
	if len(as) == 0 {
		return "none given; the statement's subject is the results report"
	}
	parts := make([]string, len(as))
	for i, a := range as {
		parts[i] = fmt.Sprintf("`%s` (`%s`", mdEscape(a.Name), shortDigest(a.Digest))
		if len(a.Attestations) > 0 {
			parts[i] += fmt.Sprintf(", %d attestation", len(a.Attestations))
			if len(a.Attestations) > 1 {
				parts[i] += "s"
			}
		}
		parts[i] += ")"
	}
	return strings.Join(parts, ", ")
}

// MetricRow is one row of the release metrics section.
type MetricRow struct {
	Name  string `yaml:"name"`
	Value string `yaml:"value"`
}

// ReleaseMetrics derives the release metrics from the results: how long the
// gates ran (deploy time, when a check reports one), SLO violations, the
// worst error-budget burn and the cost delta. A metric no result reports is
// shown as "no data", never as zero.
func ReleaseMetrics(rep *gate.Report) []MetricRow {
	deploy := "no data"
	if !rep.StartedAt.IsZero() && !rep.FinishedAt.IsZero() {
		deploy = fmt.Sprintf("%s (gate run)", rep.FinishedAt.Sub(rep.StartedAt).Round(time.Second))
	}
	var sloChecks, sloBad int
	burn, burnAt := math.Inf(-1), ""
	var cost []string
	for _, r := range rep.Results {
		for _, c := range r.Checks {
			name := strings.ToLower(c.Name)
			if strings.Contains(name, "deploy") {
				if f, ok := c.Observed.Float(); ok {
					deploy = gate.FormatFloat(f) + " " + c.Unit
				}
			}
			if r.Group == "slo" {
				sloChecks++
				if c.Status.Blocks() {
					sloBad++
				}
				if strings.Contains(name, "burn") {
					if f, ok := c.Observed.Float(); ok && f > burn {
						burn, burnAt = f, strings.TrimSpace(tenantOf(c)+c.Name)
					}
				}
			}
			if r.Group == "cost" && (c.Unit == "USD" || strings.Contains(name, "delta") || strings.Contains(name, "drift")) {
				if !c.Observed.IsZero() {
					cost = append(cost, costLine(c))
				}
			}
		}
	}
	slo := "no data"
	if sloChecks > 0 {
		slo = fmt.Sprintf("%d of %d SLO checks", sloBad, sloChecks)
	}
	burnS := "no data"
	if !math.IsInf(burn, -1) {
		burnS = fmt.Sprintf("%s× (worst: %s)", gate.FormatFloat(burn), burnAt)
	}
	costS := "no data"
	if len(cost) > 0 {
		costS = strings.Join(cost, "; ")
	}
	return []MetricRow{{"Deploy time", strings.TrimSpace(deploy)}, {"SLO violations", slo}, {"Error-budget burn", burnS}, {"Cost delta", costS}}
}

// limitRE reads an upper bound from a check's expected condition, e.g.
// "<= 1000".
var limitRE = regexp.MustCompile(`^\s*(<=|<|≤)\s*(-?[0-9]+(?:\.[0-9]+)?)\s*$`)

// costLine is a cost check as a delta: the spend and how far it is from
// the budget the check held it to, when the check states one.
func costLine(c gate.Check) string {
	s := fmt.Sprintf("%s%s %s%s", tenantOf(c), c.Name, c.Observed.String(), unitSuffix(c.Unit))
	f, ok := c.Observed.Float()
	m := limitRE.FindStringSubmatch(c.Expected)
	if !ok || m == nil {
		return s
	}
	limit, err := strconv.ParseFloat(m[2], 64)
	if err != nil {
		return s
	}
	d := f - limit
	sign := "+"
	if d < 0 {
		sign, d = "−", -d
	}
	return fmt.Sprintf("%s (%s%s%s vs budget %s)", s, sign, gate.FormatFloat(d), unitSuffix(c.Unit), gate.FormatFloat(limit))
}

func unitSuffix(u string) string {
	if u == "" {
		return ""
	}
	return " " + u
}

func tenantOf(c gate.Check) string {
	if c.Tenant == "" {
		return ""
	}
	return "tenant " + c.Tenant + ": "
}

func containsStr(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

func shortDigest(d string) string {
	_, h, ok := cut(d, ':')
	if ok && len(h) > 12 {
		return d[:len(d)-len(h)] + h[:12]
	}
	return d
}

func shortSHA(s string) string {
	if len(s) > 7 {
		return s[:7]
	}
	return s
}

// mdEscape keeps text from breaking tables or turning into markup.
func mdEscape(s string) string {
	r := strings.NewReplacer("|", "\\|", "\n", " ", "\r", " ", "<", "&lt;", ">", "&gt;")
	return r.Replace(s)
}

type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) printf(format string, args ...any) {
	if e.err == nil {
		_, e.err = fmt.Fprintf(e.w, format, args...)
	}
}

// Checklist renders the release checklist from o without signing anything:
// the same Markdown that Create puts in checklist.md.
func Checklist(o Options) (string, error) {
	if err := o.redact(); err != nil {
		return "", err
	}
	verdict, reasons, required := Verdict(o.Results, o.Required)
	ts := o.Time
	for _, r := range o.Results {
		if o.Time.IsZero() && r.FinishedAt.After(ts) {
			ts = r.FinishedAt
		}
	}
	m := &Manifest{Schema: ManifestSchema, Version: o.Version, Release: o.Release, Timestamp: ts.UTC().Truncate(time.Second),
		Result: verdict, Reasons: reasons, Tool: o.Tool, GitHub: o.GitHub, Required: required,
		Policy: PolicyRef{Path: o.PolicyRef.Name, Digest: o.PolicyRef.Digest}}
	if o.Policy != nil {
		m.Policy = PolicyRef{Path: o.Policy.Name, Digest: Digest(o.Policy.Data)}
	}
	rep := &gate.Report{Schema: gate.SchemaVersion, Status: gate.Verdict(o.Results), Tool: o.Tool, Results: o.Results}
	for _, r := range o.Results {
		if rep.StartedAt.IsZero() || r.StartedAt.Before(rep.StartedAt) {
			rep.StartedAt = r.StartedAt
		}
		if r.FinishedAt.After(rep.FinishedAt) {
			rep.FinishedAt = r.FinishedAt
		}
		counts := r.Counts()
		m.Gates = append(m.Gates, GateRecord{ID: r.Gate, Required: containsStr(required, r.Gate), Status: string(r.Status), Checks: len(r.Checks), Passed: counts[gate.StatusPass]})
	}
	for _, a := range o.Artifacts {
		m.Artifacts = append(m.Artifacts, Artifact{Name: a.Name, Digest: Digest(a.Data)})
	}
	m.ReleaseMetrics = ReleaseMetrics(rep)
	var b strings.Builder
	err := WriteChecklist(&b, &Evidence{Manifest: m, Report: rep})
	return b.String(), err
}
