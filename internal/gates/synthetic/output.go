package syntheticgate

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"

	"github.com/maestro-conductor/releasegate/internal/gate"
	"github.com/maestro-conductor/releasegate/internal/load"
)

var promEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)

func labels(kv ...string) string {
	var b strings.Builder
	b.WriteByte('{')
	for i := 0; i < len(kv); i += 2 {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `%s="%s"`, kv[i], promEscaper.Replace(kv[i+1]))
	}
	b.WriteByte('}')
	return b.String()
}

// WritePrometheus writes the run of a synthetic Result in the Prometheus
// text exposition format (version 0.0.4): request counters by status
// code, error class and schedule outcome, and the latency of each stream
// as a summary whose quantiles come from the merged histogram.
func WritePrometheus(w io.Writer, r *gate.Result) error {
	rec, err := RecordOf(r)
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(w)
	g := r.Gate
	streams := rec.Run.Streams
	type metric struct {
		name, help, typ string
		emit            func(s *load.StreamResult, base []string)
	}
	metrics := []metric{
		{"releasegate_synthetic_responses_total", "Responses received, by HTTP status code.", "counter", func(s *load.StreamResult, base []string) {
			codes := make([]int, 0, len(s.Status))
			for c := range s.Status {
				codes = append(codes, c)
			}
			sort.Ints(codes)
			for _, c := range codes {
				fmt.Fprintf(bw, "releasegate_synthetic_responses_total%s %d\n", labels(append(base, "code", fmt.Sprint(c))...), s.Status[c])
			}
		}},
		{"releasegate_synthetic_errors_total", "Requests without a response, by error class.", "counter", func(s *load.StreamResult, base []string) {
			keys := make([]string, 0, len(s.Errors))
			for k := range s.Errors {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				fmt.Fprintf(bw, "releasegate_synthetic_errors_total%s %d\n", labels(append(base, "class", k)...), s.Errors[k])
			}
		}},
		{"releasegate_synthetic_requests_total", "Scheduled requests, by outcome: sent, ok (passed expectations), good (ok within the latency objective), late (sent after the schedule), unsent.", "counter", func(s *load.StreamResult, base []string) {
			for _, o := range []struct {
				k string
				v int64
			}{{"sent", s.Sent}, {"ok", s.OK}, {"good", s.Good}, {"late", s.Late}, {"unsent", s.Unsent}} {
				fmt.Fprintf(bw, "releasegate_synthetic_requests_total%s %d\n", labels(append(base, "outcome", o.k)...), o.v)
			}
		}},
		{"releasegate_synthetic_latency_seconds", "Latency from the scheduled send time (coordinated omission corrected).", "summary", func(s *load.StreamResult, base []string) {
			for _, q := range []float64{0.5, 0.9, 0.95, 0.99, 1} {
				v, ok := s.Latency.Quantile(q)
				if !ok {
					continue
				}
				fmt.Fprintf(bw, "releasegate_synthetic_latency_seconds%s %g\n", labels(append(base, "quantile", fmt.Sprint(q))...), v.Seconds())
			}
			fmt.Fprintf(bw, "releasegate_synthetic_latency_seconds_sum%s %g\n", labels(base...), s.Latency.Mean().Seconds()*float64(s.Latency.Count()))
			fmt.Fprintf(bw, "releasegate_synthetic_latency_seconds_count%s %d\n", labels(base...), s.Latency.Count())
		}},
	}
	for _, m := range metrics {
		fmt.Fprintf(bw, "# HELP %s %s\n# TYPE %s %s\n", m.name, m.help, m.name, m.typ)
		for _, s := range streams {
			m.emit(s, []string{"gate", g, "tenant", s.Tenant, "scenario", s.Scenario})
		}
	}
	fmt.Fprintf(bw, "# HELP releasegate_synthetic_check_passed Whether each check passed (1) or not (0).\n# TYPE releasegate_synthetic_check_passed gauge\n")
	for _, c := range r.Checks {
		v := 0
		if c.Status == gate.StatusPass {
			v = 1
		}
		fmt.Fprintf(bw, "releasegate_synthetic_check_passed%s %d\n", labels("gate", g, "tenant", c.Tenant, "check", c.Name), v)
	}
	return bw.Flush()
}

// WriteMarkdown writes the step-summary section of a synthetic Result: a
// per-tenant table and a latency chart (Mermaid xychart) of p50/p95/p99.
func WriteMarkdown(w io.Writer, r *gate.Result) error {
	rec, err := RecordOf(r)
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "### %s %s — synthetic %s (shards %s)\n\n", r.Status.Symbol(), mdEscape(r.Gate), rec.Judge.Scenario, strings.Join(rec.Shards, ", "))
	if r.Error != "" {
		fmt.Fprintf(bw, "> %s\n\n", mdEscape(r.Error))
	}
	bw.WriteString("| tenant | stream | sent | ok | 429 | no answer | p50 ms | p95 ms | p99 ms | max ms | error rate | checks |\n")
	bw.WriteString("|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|\n")
	status := map[string]gate.Status{}
	for _, c := range r.Checks {
		if s, ok := status[c.Tenant]; !ok || c.Status.Worse(s) {
			status[c.Tenant] = c.Status
		}
	}
	for _, s := range rec.Run.Streams {
		q := func(x float64) string {
			v, ok := s.Latency.Quantile(x)
			if !ok {
				return "–"
			}
			return gate.FormatFloat(ms(v))
		}
		var errs int64
		for _, v := range s.Errors {
			errs += v
		}
		mark := "–"
		if st, ok := status[s.Tenant]; ok {
			mark = st.Symbol()
		}
		fmt.Fprintf(bw, "| %s | %s | %d | %d | %d | %d | %s | %s | %s | %s | %s | %s |\n", mdEscape(s.Tenant), s.Scenario, s.Sent, s.OK, s.Status[http.StatusTooManyRequests], errs,
			q(0.5), q(0.95), q(0.99), q(1), gate.FormatFloat(s.ErrorRate()), mark)
	}
	if len(rec.Run.Streams) > 0 {
		var names, p50, p95, p99 []string
		top := 0.0
		for _, s := range rec.Run.Streams {
			label := s.Tenant
			if s.Scenario != rec.Judge.Scenario {
				label += " " + strings.TrimPrefix(s.Scenario, rec.Judge.Scenario+":")
			}
			names = append(names, `"`+chartLabel(label)+`"`)
			for _, p := range []struct {
				q   float64
				out *[]string
			}{{0.5, &p50}, {0.95, &p95}, {0.99, &p99}} {
				v, _ := s.Latency.Quantile(p.q)
				top = max(top, ms(v))
				*p.out = append(*p.out, gate.FormatFloat(ms(v)))
			}
		}
		fmt.Fprintf(bw, "\n```mermaid\nxychart-beta\n    title \"latency by stream (bars p95, lines p50 and p99)\"\n    x-axis [%s]\n    y-axis \"ms\" 0 --> %s\n    bar [%s]\n    line [%s]\n    line [%s]\n```\n",
			strings.Join(names, ", "), gate.FormatFloat(top*1.1+1), strings.Join(p95, ", "), strings.Join(p50, ", "), strings.Join(p99, ", "))
	}
	bw.WriteString("\n")
	return bw.Flush()
}

func mdEscape(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ", "<", "&lt;", ">", "&gt;").Replace(s)
}

func chartLabel(s string) string {
	return strings.TrimSpace(strings.NewReplacer(`"`, "'", "\n", " ", "[", "(", "]", ")", ",", " ").Replace(s))
}
