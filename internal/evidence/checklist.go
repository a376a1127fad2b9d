package evidence

import (
	"fmt"
	"io"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/maestro-conductor/releasegate/internal/checklist"
	"github.com/maestro-conductor/releasegate/internal/gate"
	"github.com/maestro-conductor/releasegate/internal/report"
)

// WriteChecklist writes the release checklist in Markdown: the template's
// sections and boxes in its order (the built-in template unless the
// options named one), each blank filled from the results with the gates
// that answered it, a box no gate answers marked "not checked by this
// policy"; the evidence section lists the bundle; the sign-off rows are
// filled only from real approvals.
func WriteChecklist(w io.Writer, ev *Evidence) error {
	m, rep := ev.Manifest, ev.Report
	ew := &errWriter{w: w}
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
	have := map[string]bool{}
	for _, r := range rep.Results {
		have[r.Gate] = true
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
	if ew.err != nil {
		return ew.err
	}
	return ev.filled().Markdown(w, "##", map[string][]string{"evidence": evidenceLines(ev), "metrics": metricLines(m)})
}

// metricLines are the manifest's release metrics (derived once by Create)
// as a table under the template's release metrics section.
func metricLines(m *Manifest) []string {
	if len(m.ReleaseMetrics) == 0 {
		return nil
	}
	out := []string{"", "| Metric (from the evidence manifest) | Value |", "|---|---|"}
	for _, row := range m.ReleaseMetrics {
		out = append(out, fmt.Sprintf("| %s | %s |", mdEscape(row.Name), mdEscape(row.Value)))
	}
	if g := m.GitHub; g != nil && g.RunID != "" {
		out = append(out, "", fmt.Sprintf("Run %s attempt %s of %s at %s (%s).", mdEscape(g.RunID), mdEscape(firstNonEmpty(g.RunAttempt, "1")),
			mdEscape(g.Repository), shortSHA(g.SHA), mdEscape(g.Ref)))
	}
	return out
}

// filled is the checklist filled from the evidence's results: the one Create
// or Checklist made, or the built-in template without approvals.
func (ev *Evidence) filled() *checklist.Filled {
	if ev.Checklist != nil {
		return ev.Checklist
	}
	return checklist.Fill(checklist.Builtin(), ev.Report.Results, nil)
}

// evidenceLines are the evidence section's lines: the bundle's files and
// how many required gates passed.
func evidenceLines(ev *Evidence) []string {
	m := ev.Manifest
	var out []string
	if !ev.bundled {
		out = append(out, "- [ ] ➖ **Manifest and signature**: not created yet; run `releasegate evidence create`")
	} else {
		out = append(out, fmt.Sprintf("- [x] ✅ **Manifest**: `%s` with the SHA-256 of every file", ManifestName(m.Version)),
			fmt.Sprintf("- [x] ✅ **Signature**: in-toto VSA (`verificationResult: %s`) signed as DSSE in `%s`", m.Result, BundleFile))
	}
	out = append(out, fmt.Sprintf("- [x] ✅ **Artifacts**: %s", artifactLine(m.Artifacts)))
	tick, sym := " ", "❌"
	if m.Result == ResultPassed {
		tick, sym = "x", "✅"
	}
	out = append(out, fmt.Sprintf("- [%s] %s **Test evidence**: %d of %d required gates passed", tick, sym, requiredPassed(m), len(m.Required)))
	return append(out, kindLines(ev)...)
}

// kindLines are the evidence lines of the judged kinds: the SBOM, the
// security scan and the test reports, each with its manifest check, the
// gates that answered it and the files they judged (with their bundle
// copies); a kind no gate checked says "not run" and is never ticked.
func kindLines(ev *Evidence) []string {
	m := ev.Manifest
	files := map[[2]string]string{}
	for _, in := range m.Inputs {
		files[[2]string{in.Gate, in.Name}] = in.File
	}
	var out []string
	for _, kl := range []struct{ label, key, kind string }{
		{"SBOM generated", CheckSBOMScanPassed, KindSBOM},
		{"Security scan reports clean", CheckSecurityScanPassed, KindVulnerabilities},
		{"Test reports", CheckTestsPassed, KindTests},
	} {
		var gates, inputs []string
		for _, r := range ev.Report.Results {
			if r.Kind != kl.kind {
				continue
			}
			gates = append(gates, fmt.Sprintf("%s %s", mdEscape(r.Gate), r.Status.Symbol()))
			for _, in := range r.Inputs {
				s := fmt.Sprintf("`%s` (`%s`", mdEscape(in.Name), shortDigest(in.Digest))
				if f, listed := files[[2]string{r.Gate, in.Name}]; f != "" {
					s += fmt.Sprintf(", in the bundle as `%s`", mdEscape(f))
				} else if _, local := localURI(in.URI); listed && local && ev.bundled && in.Digest != "" {
					s += ", not in the bundle: the file was not where the evidence was made"
				}
				inputs = append(inputs, s+")")
			}
		}
		if len(gates) == 0 {
			out = append(out, fmt.Sprintf("- [ ] ➖ **%s**: not run (no gate of kind %s); `%s: false`", kl.label, kl.kind, kl.key))
			continue
		}
		tick, sym := " ", "❌"
		if m.Checks[kl.key] {
			tick, sym = "x", "✅"
		}
		line := fmt.Sprintf("- [%s] %s **%s**: `%s: %t`; gates %s", tick, sym, kl.label, kl.key, m.Checks[kl.key], strings.Join(gates, ", "))
		if kl.kind == KindTests && m.Tests != nil {
			line += "; " + m.Tests.String()
		}
		if len(inputs) > 0 {
			line += "; judged " + strings.Join(inputs, ", ")
		}
		out = append(out, line)
	}
	return out
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

// ReleaseMetrics derives the release metrics from the results: the deploy
// time when a check reports one, else the gate run's wall time (named so),
// SLO violations, the worst error-budget burn and every tenant's cost
// delta in its budget's own unit (USD, minutes). A metric no result
// reports is shown as "no data", never as zero.
func ReleaseMetrics(rep *gate.Report) []MetricRow {
	timeName, timeValue := "Gate wall time", "no data"
	if !rep.StartedAt.IsZero() && !rep.FinishedAt.IsZero() {
		timeValue = report.FormatDuration(rep.FinishedAt.Sub(rep.StartedAt)) + " (first gate start to last gate finish)"
	}
	var sloChecks, sloBad int
	burn, burnAt := math.Inf(-1), ""
	var cost []string
	for _, r := range rep.Results {
		for _, c := range r.Checks {
			name := strings.ToLower(c.Name)
			if strings.Contains(name, "deploy") {
				if f, ok := c.Observed.Float(); ok {
					timeName, timeValue = "Deploy time", gate.FormatFloat(f)+unitSuffix(c.Unit)+" ("+tenantOf(c)+c.Name+")"
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
			if r.Group == "cost" && (costUnit(c.Unit) || strings.Contains(name, "delta")) {
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
	return []MetricRow{{timeName, timeValue}, {"SLO violations", slo}, {"Error-budget burn", burnS}, {"Cost delta", costS}}
}

// costUnit reports whether a cost check's unit is one a budget is kept in
// (USD, minutes, or another currency or quantity), not a ratio or a count
// of actions or repositories.
func costUnit(u string) bool {
	switch u {
	case "", "ratio", "x", "×", "actions", "repositories":
		return false
	}
	return true
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
	m.Checks = map[string]bool{}
	addKindChecks(m, o.Results)
	m.ReleaseMetrics = ReleaseMetrics(rep)
	var b strings.Builder
	err := WriteChecklist(&b, &Evidence{Manifest: m, Report: rep, Checklist: o.fill(rep.Results)})
	return b.String(), err
}

// fill fills the checklist template of o (the built-in one by default)
// from results, with o's approvals.
func (o Options) fill(results []gate.Result) *checklist.Filled {
	t := o.Template
	if t == nil {
		t = checklist.Builtin()
	}
	return checklist.Fill(t, results, o.Approvals)
}
