package evidence

import (
	"encoding/json"
	"fmt"
	"html/template"
	"math"
	"sort"
	"strings"

	"github.com/maestro-conductor/releasegate/internal/gate"
)

// tenantForecast is one tenant's period-end outlook as a cost-forecast gate
// recorded it (details.forecasts), with the status of its forecast check.
type tenantForecast struct {
	Tenant    string  `json:"tenant"`
	Unit      string  `json:"unit"`
	Spent     float64 `json:"spent"`
	Projected float64 `json:"projected"`
	Low       float64 `json:"low"`
	High      float64 `json:"high"`
	Limit     float64 `json:"limit"`
	Grace     float64 `json:"grace_limit"`
	Check     *gate.Check
}

// forecastOutlooks reads a cost-forecast gate's details. Nothing is
// recomputed: the figures are the gate's, the status its check's.
func forecastOutlooks(r gate.Result) []tenantForecast {
	raw, ok := r.Details["forecasts"]
	if !ok || r.Kind != "cost-forecast" {
		return nil
	}
	b, err := json.Marshal(raw)
	if err != nil {
		return nil
	}
	var out []tenantForecast
	if json.Unmarshal(b, &out) != nil {
		return nil
	}
	for i := range out {
		for j := range r.Checks {
			if r.Checks[j].Tenant == out[i].Tenant && r.Checks[j].Name == "period-end forecast" {
				out[i].Check = &r.Checks[j]
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Tenant < out[j].Tenant })
	return out
}

// forecastChart draws, per tenant, the spend so far, the projected
// period-end spend with its prediction interval as a whisker, and the
// budget and grace lines: what the forecast check judged, in one row.
func forecastChart(gateName string, ts []tenantForecast) template.HTML {
	if len(ts) == 0 {
		return ""
	}
	const rowH, labelW, barW, valueW, top = 30, 130, 300, 170, 22
	width := labelW + barW + valueW
	h := top + rowH*len(ts) + 4
	scale := 0.0
	for _, t := range ts {
		scale = math.Max(scale, math.Max(math.Max(t.High, t.Projected), math.Max(t.Limit, t.Grace)))
	}
	if scale <= 0 {
		scale = 1
	}
	scale *= 1.05
	x := func(v float64) float64 { return labelW + math.Max(0, v)/scale*barW }
	esc := template.HTMLEscapeString
	f := gate.FormatFloat
	title := gateName + ": spend so far, projected period-end spend with its 90% interval, budget (solid line) and grace (dashed)"
	var b strings.Builder
	fmt.Fprintf(&b, `<figure class="chart forecast"><svg role="img" aria-label="%s" viewBox="0 0 %d %d" width="%d" height="%d" xmlns="http://www.w3.org/2000/svg"><title>%s</title>`,
		esc(title), width, h, width, h, esc(title))
	b.WriteString(`<text x="0" y="14" font-size="12" fill="#555">dark = spent, light = projected, whisker = 90% interval</text>`)
	for i, t := range ts {
		y := float64(top + i*rowH)
		status := "none"
		fill := "#4a6fa5"
		if t.Check != nil {
			status, fill = string(t.Check.Status), statusColor[t.Check.Status]
		}
		fmt.Fprintf(&b, `<g class="forecast-tenant" data-tenant="%s" data-spent="%s" data-projected="%s" data-low="%s" data-high="%s" data-limit="%s" data-status="%s">`,
			esc(t.Tenant), f(t.Spent), f(t.Projected), f(t.Low), f(t.High), f(t.Limit), status)
		fmt.Fprintf(&b, `<text x="%d" y="%.0f" text-anchor="end" font-size="12" fill="#222">%s</text>`, labelW-6, y+13, esc(shorten(t.Tenant, 18)))
		fmt.Fprintf(&b, `<rect x="%d" y="%.0f" width="%.1f" height="12" fill="#c9d6ea"><title>%s: projected %s %s by the period's end</title></rect>`,
			labelW, y+3, x(t.Projected)-labelW, esc(t.Tenant), f(t.Projected), esc(t.Unit))
		fmt.Fprintf(&b, `<rect x="%d" y="%.0f" width="%.1f" height="12" fill="%s"><title>%s: %s %s spent so far</title></rect>`,
			labelW, y+3, x(t.Spent)-labelW, fill, esc(t.Tenant), f(t.Spent), esc(t.Unit))
		fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="%.0f" y2="%.0f" stroke="#222" stroke-width="1.5"><title>%s: 90%% interval %s–%s %s</title></line>`,
			x(t.Low), x(t.High), y+9, y+9, esc(t.Tenant), f(t.Low), f(t.High), esc(t.Unit))
		if t.Limit > 0 {
			fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="%.0f" y2="%.0f" stroke="#b00020" stroke-width="2"><title>%s: budget %s %s</title></line>`,
				x(t.Limit), x(t.Limit), y, y+18, esc(t.Tenant), f(t.Limit), esc(t.Unit))
		}
		if t.Grace > t.Limit {
			fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="%.0f" y2="%.0f" stroke="#b00020" stroke-dasharray="3 2"><title>%s: grace %s %s</title></line>`,
				x(t.Grace), x(t.Grace), y, y+18, esc(t.Tenant), f(t.Grace), esc(t.Unit))
		}
		fmt.Fprintf(&b, `<text x="%d" y="%.0f" font-size="12" fill="#222">%s / %s %s</text>`, labelW+barW+6, y+13, f(t.Projected), f(t.Limit), esc(t.Unit))
		b.WriteString(`</g>`)
	}
	b.WriteString(`</svg>`)
	fmt.Fprintf(&b, `<figcaption>%s</figcaption></figure>`, esc(title))
	return template.HTML(b.String())
}
