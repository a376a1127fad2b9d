package evidence

import (
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/maestro-conductor/releasegate/internal/gate"
)

// WriteHTML writes report.html: one self-contained page (no scripts, no
// external assets; a Content-Security-Policy forbids loading any) with the
// verdict, the gate table, a per-tenant bar chart of each gate's checks as
// inline SVG, and each gate's checks, inputs and details (provenance
// builder ids, ledger heads and the like), and the release checklist filled
// from the same results (shortened hashes keep the full value in their
// title attribute).
func WriteHTML(w io.Writer, ev *Evidence) error {
	return htmlTmpl.Execute(w, htmlView(ev))
}

type viewGate struct {
	gate.Result
	Anchor   string
	Required bool
	Chart    template.HTML
	Details  []kv
}

type kv struct{ K, V string }

type view struct {
	M       *Manifest
	Gates   []viewGate
	Missing []string
	Metrics []MetricRow
	Passed  bool
	Time    string
	// Checklist is the filled release checklist, the same values as
	// checklist.md.
	Checklist template.HTML
}

func htmlView(ev *Evidence) view {
	v := view{M: ev.Manifest, Metrics: ev.Manifest.ReleaseMetrics, Passed: ev.Manifest.Result == ResultPassed,
		Time: ev.Manifest.Timestamp.UTC().Format(time.RFC3339), Checklist: ev.filled().HTML()}
	have := map[string]bool{}
	for _, r := range ev.Report.Results {
		have[r.Gate] = true
		g := viewGate{Result: r, Anchor: "gate-" + r.Gate, Required: containsStr(ev.Manifest.Required, r.Gate), Chart: tenantChart(r)}
		keys := make([]string, 0, len(r.Details))
		for k := range r.Details {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			val := fmt.Sprint(r.Details[k])
			if b, err := json.Marshal(r.Details[k]); err == nil {
				if s, ok := r.Details[k].(string); ok {
					val = s
				} else {
					val = string(b)
				}
			}
			g.Details = append(g.Details, kv{k, val})
		}
		v.Gates = append(v.Gates, g)
	}
	for _, id := range ev.Manifest.Required {
		if !have[id] {
			v.Missing = append(v.Missing, id)
		}
	}
	return v
}

// statusColor is the chart colour for a status.
var statusColor = map[gate.Status]string{
	gate.StatusPass: "#2e7d32", gate.StatusWarn: "#f9a825", gate.StatusSkip: "#9e9e9e",
	gate.StatusError: "#6a1b9a", gate.StatusFail: "#c62828",
}

// tenantChart draws one horizontal stacked bar per tenant: how many of its
// checks passed, warned, were skipped, errored or failed. Gates without
// checks get no chart.
func tenantChart(r gate.Result) template.HTML {
	if len(r.Checks) == 0 {
		return ""
	}
	counts := map[string]map[gate.Status]int{}
	var tenants []string
	maxN := 0
	for _, c := range r.Checks {
		t := firstNonEmpty(c.Tenant, "(all)")
		if counts[t] == nil {
			counts[t] = map[gate.Status]int{}
			tenants = append(tenants, t)
		}
		counts[t][c.Status]++
	}
	sort.Strings(tenants)
	for _, t := range tenants {
		n := 0
		for _, k := range counts[t] {
			n += k
		}
		maxN = max(maxN, n)
	}
	const rowH, labelW, barW = 22, 140, 360
	h := rowH*len(tenants) + 24
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" role="img" aria-label="checks per tenant for %s" width="%d" height="%d" viewBox="0 0 %d %d" xmlns="http://www.w3.org/2000/svg">`,
		template.HTMLEscapeString(r.Gate), labelW+barW+60, h, labelW+barW+60, h)
	for i, t := range tenants {
		y := i*rowH + 4
		fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="end" font-size="12" fill="#222">%s</text>`, labelW-6, y+14, template.HTMLEscapeString(t))
		x := labelW
		total := 0
		for _, s := range gate.Statuses {
			n := counts[t][s]
			if n == 0 {
				continue
			}
			wd := n * barW / maxN
			fmt.Fprintf(&b, `<rect class="bar-%s" x="%d" y="%d" width="%d" height="%d" fill="%s"><title>%s: %d %s</title></rect>`,
				s, x, y, max(wd, 2), rowH-6, statusColor[s], template.HTMLEscapeString(t), n, s)
			x += wd
			total += n
		}
		fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="12" fill="#222">%d/%d</text>`, x+6, y+14, counts[t][gate.StatusPass], total)
	}
	fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="11" fill="#555">passed/checks per tenant</text></svg>`, labelW, h-4)
	return template.HTML(b.String())
}

var htmlTmpl = template.Must(template.New("report").Funcs(template.FuncMap{
	"sym":   func(s gate.Status) string { return s.Symbol() },
	"short": shortDigest,
	"obs": func(c gate.Check) string {
		s := c.Observed.String()
		if c.Unit != "" && !c.Observed.IsZero() {
			s += " " + c.Unit
		}
		return s
	},
}).Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Release evidence: {{.M.Release}} {{.M.Version}} — {{.M.Result}}</title>
<style>
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px auto;max-width:1100px;color:#1b1b1b;background:#fff;padding:0 16px}
h1{font-size:24px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #ddd;padding-bottom:4px}
.verdict{display:inline-block;padding:6px 14px;border-radius:6px;font-weight:700;color:#fff;font-size:18px}
.verdict.PASSED{background:#2e7d32}.verdict.FAILED{background:#c62828}
table{border-collapse:collapse;width:100%;margin:8px 0}th,td{text-align:left;padding:5px 8px;border-bottom:1px solid #e4e4e4;vertical-align:top}
th{background:#f5f5f5}tr.fail td,tr.error td{background:#fdecea}tr.warn td{background:#fff8e1}
.status{font-weight:700;text-transform:uppercase}.status.pass{color:#2e7d32}.status.fail{color:#c62828}.status.error{color:#6a1b9a}.status.warn{color:#b26a00}.status.skip{color:#757575}
code{font:12px ui-monospace,monospace;background:#f3f3f3;padding:1px 4px;border-radius:3px;word-break:break-all}
.gate{border:1px solid #e0e0e0;border-radius:8px;padding:8px 16px;margin:14px 0}.gate.fail,.gate.error{border-color:#c62828;border-width:2px}
tr.unchecked td{color:#757575}table.checklist td:nth-child(1){width:24px}table.checklist td:nth-child(2){width:30%}table.checklist td:nth-child(4){width:18%}h3{font-size:15px;margin:18px 0 4px}
.reasons li{color:#c62828;font-weight:600}.meta td:first-child{width:180px;color:#555}
</style>
</head>
<body>
<h1>Release evidence: {{.M.Release}} {{.M.Version}}</h1>
<p><span class="verdict {{.M.Result}}" id="verdict">{{.M.Result}}</span> verified {{.Time}} by {{.M.Tool}}</p>
{{if .M.Reasons}}<ul class="reasons" id="reasons">{{range .M.Reasons}}<li>{{.}}</li>{{end}}</ul>{{end}}
<table class="meta">
<tr><td>Policy</td><td>{{.M.Policy.Path}} <code>{{.M.Policy.Digest}}</code></td></tr>
{{with .M.GitHub}}<tr><td>Workflow run</td><td>{{.Repository}} run {{.RunID}} attempt {{.RunAttempt}} · {{.Ref}} · <code>{{.SHA}}</code> · by {{.Actor}}</td></tr>{{end}}
{{range .M.Artifacts}}<tr><td>Artifact</td><td>{{.Name}} <code>{{.Digest}}</code>{{range .Attestations}} · {{.}}{{end}}</td></tr>{{end}}
</table>
<h2>Gates</h2>
<table id="gates">
<thead><tr><th></th><th>Gate</th><th>Kind</th><th>Group</th><th>Required</th><th>Status</th><th>Summary</th></tr></thead>
<tbody>
{{range .Gates}}<tr class="{{.Status}}" data-gate="{{.Gate}}"><td>{{sym .Status}}</td><td><a href="#{{.Anchor}}">{{.Gate}}</a></td><td>{{.Kind}}</td><td>{{.Group}}</td><td>{{if .Required}}required{{else}}optional{{end}}</td><td class="status {{.Status}}">{{.Status}}</td><td>{{.Summary}}</td></tr>
{{end}}{{range .Missing}}<tr class="fail" data-gate="{{.}}"><td>❌</td><td>{{.}}</td><td></td><td></td><td>required</td><td class="status fail">missing</td><td>no result for this required gate</td></tr>
{{end}}</tbody>
</table>
<h2>Release checklist</h2>
{{.Checklist}}
<h2>Release metrics</h2>
<table id="metrics">{{range .Metrics}}<tr><td>{{.Name}}</td><td>{{.Value}}</td></tr>{{end}}</table>
<h2>Details</h2>
{{range .Gates}}<section class="gate {{.Status}}" id="{{.Anchor}}">
<h3>{{sym .Status}} {{.Gate}} <span class="status {{.Status}}">{{.Status}}</span></h3>
<p>{{.Summary}}</p>{{if .Error}}<p><strong>could not evaluate:</strong> {{.Error}}</p>{{end}}
{{.Chart}}
{{if .Checks}}<table><thead><tr><th></th><th>Check</th><th>Tenant</th><th>Observed</th><th>Expected</th><th>Message</th></tr></thead><tbody>
{{range .Checks}}<tr class="{{.Status}}"><td>{{sym .Status}}</td><td>{{.Name}}</td><td>{{.Tenant}}</td><td>{{obs .}}</td><td>{{.Expected}}</td><td>{{.Message}}</td></tr>
{{end}}</tbody></table>{{end}}
{{if .Inputs}}<table><thead><tr><th>Input</th><th>Digest</th></tr></thead><tbody>{{range .Inputs}}<tr><td>{{.Name}}{{if .URI}} ({{.URI}}){{end}}</td><td><code>{{.Digest}}</code></td></tr>{{end}}</tbody></table>{{end}}
{{if .Details}}<table><thead><tr><th>Detail</th><th>Value</th></tr></thead><tbody>{{range .Details}}<tr><td>{{.K}}</td><td><code>{{.V}}</code></td></tr>{{end}}</tbody></table>{{end}}
</section>
{{end}}
<h2>Files</h2>
<table>{{range .M.Files}}<tr><td>{{.Path}}</td><td>{{.Size}} B</td><td><code>{{short .Digest}}</code></td></tr>{{end}}</table>
</body>
</html>
`))
