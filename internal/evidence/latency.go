package evidence

import (
	"encoding/json"
	"fmt"
	"html/template"
	"math"
	"strconv"
	"strings"

	"github.com/maestro-conductor/releasegate/internal/gate"
	"github.com/maestro-conductor/releasegate/internal/load"
)

// latencyPercentiles are the quantiles the latency chart draws.
var latencyPercentiles = []struct {
	Name string
	Q    float64
}{{"p50", 0.50}, {"p95", 0.95}, {"p99", 0.99}}

// tenantLatency is one tenant's percentiles, in milliseconds, and the SLO
// bound of its p95 latency check.
type tenantLatency struct {
	Tenant string
	MS     []float64 // one per latencyPercentiles
	Bound  float64
	Op     string
}

// syntheticLatency reads a synthetic gate's merged record
// (details.synthetic): for each tenant with a "p95 latency" check, the
// p50/p95/p99 of the first stream of that tenant's histogram (the stream
// the gate judged), and the check's bound as the SLO line. Reading a
// percentile off the stored histogram is display only: the check keeps its
// verdict. Anything missing or unreadable draws nothing.
func syntheticLatency(r gate.Result) []tenantLatency {
	raw, ok := r.Details["synthetic"]
	if !ok {
		return nil
	}
	b, err := json.Marshal(raw)
	if err != nil {
		return nil
	}
	var rec struct {
		Run struct {
			Streams []struct {
				Tenant  string         `json:"tenant"`
				Latency load.Histogram `json:"latency"`
			} `json:"streams"`
		} `json:"run"`
	}
	if json.Unmarshal(b, &rec) != nil {
		return nil
	}
	var out []tenantLatency
	for _, c := range r.Checks {
		m := boundRE.FindStringSubmatch(c.Expected)
		if c.Name != "p95 latency" || c.Tenant == "" || m == nil {
			continue
		}
		bound, err := strconv.ParseFloat(m[2], 64)
		if err != nil {
			continue
		}
		for i := range rec.Run.Streams {
			s := &rec.Run.Streams[i]
			if s.Tenant != c.Tenant {
				continue
			}
			tl := tenantLatency{Tenant: c.Tenant, Bound: bound, Op: m[1]}
			for _, p := range latencyPercentiles {
				d, ok := s.Latency.Quantile(p.Q)
				if !ok {
					tl.MS = nil
					break
				}
				tl.MS = append(tl.MS, float64(d.Microseconds())/1000)
			}
			if tl.MS != nil {
				out = append(out, tl)
			}
			break
		}
	}
	return out
}

// latencyChart draws p50, p95 and p99 per tenant as bars with the p95
// bound (the SLO line) dashed across each tenant's group.
func latencyChart(gateName string, ts []tenantLatency) template.HTML {
	if len(ts) == 0 {
		return ""
	}
	const rowH, groupGap, labelW, barW, valueW, top = 18, 10, 130, 300, 110, 22
	width := labelW + barW + valueW
	groupH := rowH*len(latencyPercentiles) + groupGap
	h := top + groupH*len(ts) + 4
	scale := 0.0
	for _, t := range ts {
		scale = math.Max(scale, t.Bound)
		for _, v := range t.MS {
			scale = math.Max(scale, v)
		}
	}
	if scale <= 0 {
		scale = 1
	}
	scale *= 1.1
	x := func(v float64) float64 { return labelW + math.Max(0, v)/scale*barW }
	esc := template.HTMLEscapeString
	title := gateName + ": latency p50, p95, p99 per tenant (ms) from the merged histograms, against the p95 SLO"
	var b strings.Builder
	fmt.Fprintf(&b, `<figure class="chart latency"><svg role="img" aria-label="%s" viewBox="0 0 %d %d" width="%d" height="%d" xmlns="http://www.w3.org/2000/svg"><title>%s</title>`,
		esc(title), width, h, width, h, esc(title))
	fmt.Fprintf(&b, `<text x="0" y="14" font-size="12" fill="#555">ms · bars = p50, p95, p99 · dashed line = p95 SLO</text>`)
	for i, t := range ts {
		y0 := top + i*groupH
		bound := t.Op + " " + gate.FormatFloat(t.Bound)
		fmt.Fprintf(&b, `<g class="latency-tenant" data-tenant="%s" data-bound="%s">`, esc(t.Tenant), gate.FormatFloat(t.Bound))
		fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="end" font-size="12" fill="#222">%s</text>`, labelW-6, y0+rowH+13, esc(shorten(t.Tenant, 18)))
		for j, p := range latencyPercentiles {
			y := y0 + j*rowH
			v := gate.FormatFloat(t.MS[j])
			wd := x(t.MS[j]) - labelW
			if t.MS[j] != 0 {
				wd = math.Max(wd, 2)
			}
			fmt.Fprintf(&b, `<g class="pct" data-percentile="%s" data-value="%s">`, p.Name, v)
			fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%.1f" height="%d" fill="%s" fill-opacity="%.2f"><title>%s · %s: %s ms (SLO p95 %s ms)</title></rect>`,
				labelW, y+2, wd, rowH-5, "#4a6fa5", 0.45+0.25*float64(j), esc(t.Tenant), p.Name, v, esc(bound))
			fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="11" fill="#222">%s %s ms</text>`, labelW+barW+6, y+13, p.Name, v)
			b.WriteString(`</g>`)
		}
		bx := x(t.Bound)
		fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="%d" y2="%d" stroke="#222" stroke-width="2" stroke-dasharray="3 2"><title>p95 SLO %s ms</title></line>`,
			bx, bx, y0, y0+rowH*len(latencyPercentiles), esc(bound))
		b.WriteString(`</g>`)
	}
	b.WriteString(`</svg>`)
	fmt.Fprintf(&b, `<figcaption>%s</figcaption></figure>`, esc(title))
	return template.HTML(b.String())
}
