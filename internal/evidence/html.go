package evidence

import (
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"reflect"
	"time"

	"github.com/maestro-conductor/releasegate/internal/gate"
	"github.com/maestro-conductor/releasegate/internal/report"
)

// WriteHTML writes report.html: one self-contained page (no scripts, no
// external assets; a Content-Security-Policy forbids loading any) with the
// verdict, a tenant × gate matrix, the gates with missing, failing and
// erroring ones first, inline SVG charts of each gate's numeric checks
// against their bounds (burn rate per tenant and window, budget remaining,
// latency against the SLO, spend against budget, ledger entries), each
// gate's checks and inputs, its raw details folded and pretty-printed, and
// the release checklist filled from the same results. Local paths are shown
// relative to the directory they share (display only). Nothing is
// recomputed: statuses, values and bounds are the Results'. docs/report.md
// describes each chart.
func WriteHTML(w io.Writer, ev *Evidence) error {
	return htmlTmpl.Execute(w, htmlView(ev))
}

type viewGate struct {
	gate.Result
	Anchor   string
	Required bool
	Charts   []template.HTML
	// Raw is the gate's details as indented JSON, empty fields left out.
	Raw string
	// RawFields counts the details shown in Raw.
	RawFields int
}

type viewMatrix struct {
	Tenants []string
	Rows    []viewMatrixRow
}

type viewMatrixRow struct {
	Gate, Anchor string
	Status       gate.Status
	Cells        []viewCell
}

type viewCell struct {
	Status gate.Status
	Tenant string
	Has    bool
}

type view struct {
	M       *Manifest
	Gates   []viewGate
	Matrix  viewMatrix
	Missing []string
	Metrics []MetricRow
	Passed  bool
	Time    string
	// PathBase names the directory input paths are shown relative to.
	PathBase string
	// PolicyPath and Reasons are the manifest's, with paths shortened.
	PolicyPath string
	Reasons    []string
	// Checklist is the filled release checklist, the same values as
	// checklist.md.
	Checklist template.HTML
}

func htmlView(ev *Evidence) view {
	paths := newPathShortener(ev)
	v := view{M: ev.Manifest, Metrics: ev.Manifest.ReleaseMetrics, Passed: ev.Manifest.Result == ResultPassed,
		Time: ev.Manifest.Timestamp.UTC().Format(time.RFC3339), PathBase: paths.label(),
		Checklist: template.HTML(paths.short(string(ev.filled().HTML())))}
	v.PolicyPath = paths.short(ev.Manifest.Policy.Path)
	for _, r := range ev.Manifest.Reasons {
		v.Reasons = append(v.Reasons, paths.short(r))
	}
	have := map[string]bool{}
	results := report.WorstFirst(ev.Report.Results)
	m := report.NewMatrix(results)
	for _, t := range m.Tenants {
		v.Matrix.Tenants = append(v.Matrix.Tenants, m.TenantLabel(t))
	}
	for i, r := range results {
		have[r.Gate] = true
		r = paths.result(r)
		g := viewGate{Result: r, Anchor: "gate-" + r.Gate, Required: containsStr(ev.Manifest.Required, r.Gate), Charts: gateCharts(r)}
		if c := ledgerChart(r.Gate, ledgerCheckpoints(r)); c != "" {
			g.Charts = append(g.Charts, c)
		}
		if c := latencyChart(r.Gate, syntheticLatency(r)); c != "" {
			g.Charts = append(g.Charts, c)
		}
		if c := forecastChart(r.Gate, forecastOutlooks(r)); c != "" {
			g.Charts = append(g.Charts, c)
		}
		g.Raw, g.RawFields = rawDetails(r.Details)
		g.Raw = paths.short(g.Raw)
		v.Gates = append(v.Gates, g)
		row := viewMatrixRow{Gate: r.Gate, Anchor: g.Anchor, Status: r.Status}
		for _, t := range m.Tenants {
			s, ok := m.Cell(i, t)
			row.Cells = append(row.Cells, viewCell{Status: s, Tenant: m.TenantLabel(t), Has: ok})
		}
		v.Matrix.Rows = append(v.Matrix.Rows, row)
	}
	for _, id := range ev.Manifest.Required {
		if !have[id] {
			v.Missing = append(v.Missing, id)
		}
	}
	return v
}

// rawDetails pretty-prints a gate's details for the folded raw view,
// leaving out fields that carry nothing (null, empty lists and maps).
func rawDetails(d map[string]any) (string, int) {
	clean := map[string]any{}
	for k, v := range d {
		if empty(v) {
			continue
		}
		clean[k] = v
	}
	if len(clean) == 0 {
		return "", 0
	}
	b, err := json.MarshalIndent(clean, "", "  ")
	if err != nil {
		return fmt.Sprint(clean), len(clean)
	}
	return string(b), len(clean)
}

func empty(v any) bool {
	if v == nil {
		return true
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Slice, reflect.Map:
		return rv.Len() == 0
	case reflect.Pointer, reflect.Interface:
		return rv.IsNil()
	}
	return false
}

// statusColor is the chart colour for a status.
var statusColor = map[gate.Status]string{
	gate.StatusPass: "#2e7d32", gate.StatusWarn: "#f9a825", gate.StatusSkip: "#9e9e9e",
	gate.StatusError: "#6a1b9a", gate.StatusFail: "#c62828",
}

var htmlTmpl = template.Must(template.New("report").Funcs(template.FuncMap{
	"sym":   func(s gate.Status) string { return s.Symbol() },
	"short": shortDigest,
	"obs":   func(c gate.Check) string { return report.Observed(&c) },
	"took":  func(r gate.Result) string { return report.Elapsed(&r) },
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
td{overflow-wrap:break-word}td:last-child{overflow-wrap:anywhere}#gates td:last-child,.gate table td:last-child{min-width:14em}td.took{white-space:nowrap}.scroll{overflow-x:auto;max-width:100%}
pre.raw{font:12px/1.4 ui-monospace,monospace;background:#f6f6f6;padding:8px;overflow:auto;max-height:480px;max-width:100%;box-sizing:border-box}
details{margin:8px 0}summary{cursor:pointer;color:#444}
figure.chart{margin:10px 0}figure.chart svg{max-width:100%;height:auto}figure.chart figcaption{font-size:12px;color:#555}
table.matrix td.cell{text-align:center;white-space:nowrap}td.cell.fail,td.cell.error{font-weight:700}
.gate{min-width:0;overflow-wrap:break-word}
@media (max-width:600px){body{margin:8px auto;padding:0 8px}.meta td:first-child{width:auto}}
@media print{details>*{display:block}.gate{break-inside:avoid}body{max-width:none}}
</style>
</head>
<body>
<h1>Release evidence: {{.M.Release}} {{.M.Version}}</h1>
<p><span class="verdict {{.M.Result}}" id="verdict">{{.M.Result}}</span> verified {{.Time}} by {{.M.Tool}}</p>
{{if .Reasons}}<ul class="reasons" id="reasons">{{range .Reasons}}<li>{{.}}</li>{{end}}</ul>{{end}}
<table class="meta">
<tr><td>Policy</td><td>{{.PolicyPath}} <code>{{.M.Policy.Digest}}</code></td></tr>
{{with .M.GitHub}}<tr><td>Workflow run</td><td>{{.Repository}} run {{.RunID}} attempt {{.RunAttempt}} · {{.Ref}} · <code>{{.SHA}}</code> · by {{.Actor}}</td></tr>{{end}}
{{range .M.Artifacts}}<tr><td>Artifact</td><td>{{.Name}} <code>{{.Digest}}</code>{{range .Attestations}} · {{.}}{{end}}</td></tr>{{end}}
{{if .PathBase}}<tr><td>Paths</td><td>local paths are shown relative to <code>{{.PathBase}}</code></td></tr>{{end}}
</table>
{{if .Matrix.Tenants}}<h2>Tenant × gate</h2>
<div class="scroll"><table class="matrix" id="matrix">
<thead><tr><th>Gate</th><th>Result</th>{{range .Matrix.Tenants}}<th>{{.}}</th>{{end}}</tr></thead>
<tbody>{{range .Matrix.Rows}}<tr data-gate="{{.Gate}}"><td><a href="#{{.Anchor}}">{{.Gate}}</a></td><td class="status {{.Status}}">{{sym .Status}} {{.Status}}</td>{{range .Cells}}{{if .Has}}<td class="cell {{.Status}}" title="{{.Tenant}}: {{.Status}}">{{sym .Status}} {{.Status}}</td>{{else}}<td class="cell none" title="{{.Tenant}}: no check">—</td>{{end}}{{end}}</tr>
{{end}}</tbody></table></div>
<p class="legend">Each cell is the worst status of the gate's checks for that tenant; — means the gate has no check for it. Symbols and words carry the status without colour.</p>{{end}}
<h2>Gates</h2>
<div class="scroll"><table id="gates">
<thead><tr><th></th><th>Gate</th><th>Kind</th><th>Group</th><th>Required</th><th>Status</th><th>Time</th><th>Summary</th></tr></thead>
<tbody>
{{range .Missing}}<tr class="fail" data-gate="{{.}}"><td>❌</td><td>{{.}}</td><td></td><td></td><td>required</td><td class="status fail">missing</td><td></td><td>no result for this required gate</td></tr>
{{end}}{{range .Gates}}<tr class="{{.Status}}" data-gate="{{.Gate}}"><td>{{sym .Status}}</td><td><a href="#{{.Anchor}}">{{.Gate}}</a></td><td>{{.Kind}}</td><td>{{.Group}}</td><td>{{if .Required}}required{{else}}optional{{end}}</td><td class="status {{.Status}}">{{.Status}}</td><td class="took">{{took .Result}}</td><td>{{.Summary}}</td></tr>
{{end}}</tbody>
</table></div>
<h2>Release checklist</h2>
<div class="scroll">{{.Checklist}}</div>
<h2>Release metrics</h2>
<div class="scroll"><table id="metrics">{{range .Metrics}}<tr><td>{{.Name}}</td><td>{{.Value}}</td></tr>{{end}}</table></div>
<h2>Details</h2>
{{range .Gates}}<section class="gate {{.Status}}" id="{{.Anchor}}">
<h3>{{sym .Status}} {{.Gate}} <span class="status {{.Status}}">{{.Status}}</span></h3>
<p>{{.Summary}}</p>{{if .Error}}<p><strong>could not evaluate:</strong> {{.Error}}</p>{{end}}
{{range .Charts}}{{.}}{{end}}
{{if .Checks}}<div class="scroll"><table><thead><tr><th></th><th>Check</th><th>Tenant</th><th>Observed</th><th>Expected</th><th>Message</th></tr></thead><tbody>
{{range .Checks}}<tr class="{{.Status}}"><td>{{sym .Status}}</td><td>{{.Name}}</td><td>{{.Tenant}}</td><td>{{obs .}}</td><td>{{.Expected}}</td><td>{{.Message}}</td></tr>
{{end}}</tbody></table></div>{{end}}
{{if .Inputs}}<div class="scroll"><table><thead><tr><th>Input</th><th>Digest</th></tr></thead><tbody>{{range .Inputs}}<tr><td>{{.Name}}{{if .URI}} ({{.URI}}){{end}}</td><td><code>{{.Digest}}</code></td></tr>{{end}}</tbody></table></div>{{end}}
{{if .Raw}}<details class="raw"><summary>Raw details ({{.RawFields}} field{{if ne .RawFields 1}}s{{end}}, JSON)</summary><pre class="raw">{{.Raw}}</pre></details>{{end}}
</section>
{{end}}
<h2>Files</h2>
<div class="scroll"><table>{{range .M.Files}}<tr><td>{{.Path}}</td><td>{{.Size}} B</td><td><code>{{short .Digest}}</code></td></tr>{{end}}</table></div>
</body>
</html>
`))
