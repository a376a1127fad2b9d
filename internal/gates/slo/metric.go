package slogate

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/maestro-conductor/releasegate/internal/clock"
	"github.com/maestro-conductor/releasegate/internal/gate"
	"github.com/maestro-conductor/releasegate/internal/metrics"
	"github.com/maestro-conductor/releasegate/internal/policy"
)

func init() {
	gate.RegisterTyped(gate.Typed[MetricSpec]{
		Name:    "metric",
		Group:   "slo",
		Summary: "PromQL checks per tenant against a condition, canary vs baseline, repeated measurement; never passes on no data",
		New:     newMetricGate,
	})
}

// MetricSpec is the `with:` block of a metric gate.
type MetricSpec struct {
	Source      SourceSpec    `yaml:"source" required:"true" doc:"where the metrics come from: url (Prometheus API) or file (in-process PromQL)"`
	TenantLabel string        `yaml:"tenant-label" doc:"label whose values are tenants; each check then yields one result per tenant"`
	Tenants     []string      `yaml:"tenants" doc:"tenants that must be present in every check's result; a missing one is no data"`
	Concurrency int           `yaml:"concurrency" default:"8" doc:"queries in flight at once"`
	Checks      []MetricCheck `yaml:"checks" required:"true" doc:"the checks; each is one query"`
}

// MetricCheck is one PromQL check.
type MetricCheck struct {
	Name        string           `yaml:"name" required:"true" doc:"what is checked, e.g. p95 latency"`
	Query       string           `yaml:"query" required:"true" doc:"PromQL instant query; with tenant-label it must keep that label (sum by (tenant) …)"`
	Condition   policy.Condition `yaml:"condition" required:"true" doc:"what the value must satisfy: \"< 0.01\", \"between 0.1 and 0.5\", \"<= baseline * 1.1\""`
	TenantLabel string           `yaml:"tenant-label" doc:"overrides the gate's tenant-label for this check; \"-\" turns fan-out off"`
	Unit        string           `yaml:"unit" doc:"unit of the value, e.g. s, ratio, req/s"`
	OnNoData    string           `yaml:"on-no-data" enum:"fail,warn,skip" default:"fail" doc:"outcome when the result is empty, a tenant is missing or the value is NaN"`
	Canary      string           `yaml:"canary" doc:"label matchers added to every selector of the query for the canary, e.g. track=\"canary\""`
	Baseline    string           `yaml:"baseline" doc:"label matchers for the baseline; the condition then compares against baseline (\"<= baseline * 1.1\")"`
	Repeat      *Repeat          `yaml:"repeat" doc:"measure several times; pass when failures stay within failure-limit"`
}

// Repeat is repeated measurement.
type Repeat struct {
	Count        int             `yaml:"count" required:"true" doc:"number of measurements"`
	Interval     policy.Duration `yaml:"interval" required:"true" doc:"time between measurements (a file source steps back through its history instead of waiting)"`
	FailureLimit int             `yaml:"failure-limit" default:"0" doc:"measurements that may fail (or have no data) before the check fails"`
}

// Validate checks the spec as a whole and parses every query.
func (s *MetricSpec) Validate() []error {
	errs := s.Source.validate("")
	if s.Concurrency < 0 {
		errs = append(errs, &policy.FieldError{Field: "concurrency", Err: fmt.Errorf("%d is negative", s.Concurrency)})
	}
	if len(s.Tenants) > 0 && s.TenantLabel == "" {
		errs = append(errs, &policy.FieldError{Field: "tenants", Err: errors.New("tenants are matched against tenant-label; set tenant-label, e.g. tenant")})
	}
	if len(s.Checks) == 0 {
		errs = append(errs, &policy.FieldError{Field: "checks", Err: errors.New("no checks; expected at least one")})
	}
	names := map[string]bool{}
	for i, c := range s.Checks {
		f := func(k string) string { return fmt.Sprintf("checks[%d].%s", i, k) }
		if names[c.Name] {
			errs = append(errs, &policy.FieldError{Field: f("name"), Err: fmt.Errorf("%q is used twice; names identify checks in results", c.Name)})
		}
		names[c.Name] = true
		_, qerr := metrics.ParseQuery(c.Query)
		if qerr != nil && c.Query != "" {
			errs = append(errs, &policy.FieldError{Field: f("query"), Err: fmt.Errorf("not valid PromQL: %v", qerr)})
		}
		for _, sel := range []struct{ k, v string }{{"canary", c.Canary}, {"baseline", c.Baseline}} {
			if sel.v == "" || qerr != nil { // matchers are added to a query that parses
				continue
			}
			if _, err := metrics.WithMatchers(c.Query, sel.v); err != nil {
				errs = append(errs, &policy.FieldError{Field: f(sel.k), Err: err})
			}
		}
		switch {
		case c.Condition.Relative() && c.Condition.Ref != "baseline":
			errs = append(errs, &policy.FieldError{Field: f("condition"), Err: fmt.Errorf("%q refers to %q; the only reference is baseline", c.Condition, c.Condition.Ref)})
		case c.Condition.Relative() && c.Baseline == "":
			errs = append(errs, &policy.FieldError{Field: f("baseline"), Err: fmt.Errorf("condition %q compares with baseline; set baseline to its label matchers, e.g. track=\"baseline\"", c.Condition)})
		case !c.Condition.Relative() && c.Baseline != "":
			errs = append(errs, &policy.FieldError{Field: f("condition"), Err: fmt.Errorf("baseline is set but %q does not use it; write e.g. \"<= baseline * 1.1\"", c.Condition)})
		}
		if r := c.Repeat; r != nil {
			if r.Count < 1 {
				errs = append(errs, &policy.FieldError{Field: f("repeat.count"), Err: fmt.Errorf("%d; expected at least 1", r.Count)})
			}
			if r.Count > 1 && r.Interval <= 0 {
				errs = append(errs, &policy.FieldError{Field: f("repeat.interval"), Err: errors.New("expected a positive interval such as 10s")})
			}
			if r.FailureLimit < 0 || (r.Count > 0 && r.FailureLimit >= r.Count) {
				errs = append(errs, &policy.FieldError{Field: f("repeat.failure-limit"), Err: fmt.Errorf("%d; expected 0 to count-1 (%d)", r.FailureLimit, r.Count-1)})
			}
		}
	}
	return errs
}

// MetricGate evaluates PromQL checks.
type MetricGate struct {
	meta gate.Meta
	spec *MetricSpec
	src  metrics.Source
	// sleep waits between live repeated measurements; tests replace it.
	sleep func(ctx context.Context, d time.Duration) error
}

func newMetricGate(m gate.Meta, s MetricSpec, env gate.Env) (gate.Gate, error) {
	src, err := s.Source.Open(env.PolicyDir)
	if err != nil {
		return nil, err
	}
	return NewMetricGate(m, &s, src), nil
}

// NewMetricGate returns a metric gate over an open source.
func NewMetricGate(m gate.Meta, s *MetricSpec, src metrics.Source) *MetricGate {
	return &MetricGate{meta: m, spec: s, src: src, sleep: clock.Sleep}
}

// Name returns the gate id.
func (g *MetricGate) Name() string { return g.meta.ID }

// Describe says what the gate checks.
func (g *MetricGate) Describe() string {
	return fmt.Sprintf("%d metric check(s) against %s", len(g.spec.Checks), g.src)
}

// Run evaluates every check at one evaluation time. The queries go through
// a metrics.Planner: each distinct sub-query (sum by (tenant) (rate(x[5m])))
// is fetched once, longest range first, at most Concurrency at once, and
// combined in-process.
func (g *MetricGate) Run(ctx context.Context) (*gate.Result, error) {
	res := &gate.Result{Kind: "metric", Inputs: []gate.Input{sourceInput(g.src)}}
	per := make([][]gate.Check, len(g.spec.Checks))
	queries := map[string]any{}
	now := g.src.Now()
	conc, serverMax := concurrency(ctx, g.src, g.spec.Concurrency)
	plan := metrics.NewPlanner(g.src, conc)
	var reqs []metrics.Request
	for i := range g.spec.Checks {
		reqs = append(reqs, g.requests(&g.spec.Checks[i], now)...)
	}
	plan.Prefetch(ctx, reqs)
	// Every check runs at once: they wait on the planner, which bounds the
	// queries in flight, and live repeated measurements sleep side by side.
	err := parallel(ctx, len(g.spec.Checks), len(g.spec.Checks), func(ctx context.Context, i int) error {
		cs, err := g.runCheck(ctx, plan, &g.spec.Checks[i], now)
		per[i] = cs
		return err
	})
	for i, cs := range per {
		res.Checks = append(res.Checks, cs...)
		queries[g.spec.Checks[i].Name] = g.spec.Checks[i].Query
	}
	res.Details = map[string]any{"source": g.src.String(), "queries": queries, "evaluated_at": now.UTC().Format(time.RFC3339),
		"source_queries": plan.Fetched(), "concurrency": conc}
	if serverMax > 0 {
		res.Details["server_max_concurrency"] = serverMax
	}
	if err != nil {
		return res, err
	}
	res.Summary = summarize(res.Checks)
	return res, nil
}

func summarize(cs []gate.Check) string {
	n := map[gate.Status]int{}
	for _, c := range cs {
		n[c.Status]++
	}
	var parts []string
	for _, s := range gate.Statuses() {
		if n[s] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n[s], s))
		}
	}
	return fmt.Sprintf("%d check(s): %s", len(cs), strings.Join(parts, ", "))
}

// measurement is one evaluation of a check for one tenant.
type measurement struct {
	value, ref    float64
	found, hasRef bool
	// stale: the query or its baseline answered from data that stopped
	// arriving (see freshness).
	stale bool
}

// missing reports whether the measurement is no data: no series, NaN, or
// (when a baseline is compared) no or NaN baseline.
func (m measurement) missing(withBaseline bool) bool {
	return m.stale || !m.found || isNaN(m.value) || withBaseline && (!m.hasRef || isNaN(m.ref))
}

func (c *MetricCheck) tenantLabel(gateLabel string) string {
	switch c.TenantLabel {
	case "":
		return gateLabel
	case "-":
		return ""
	}
	return c.TenantLabel
}

// queries returns the check's query (with the canary matchers) and its
// baseline query, if any.
func (c *MetricCheck) queries() (q, bq string, err error) {
	q = c.Query
	if c.Canary != "" {
		if q, err = metrics.WithMatchers(c.Query, c.Canary); err != nil {
			return "", "", &gate.InputError{Input: c.Name, Err: err}
		}
	}
	if c.Baseline != "" {
		if bq, err = metrics.WithMatchers(c.Query, c.Baseline); err != nil {
			return "", "", &gate.InputError{Input: c.Name, Err: err}
		}
	}
	return q, bq, nil
}

func (c *MetricCheck) repeat() (count int, interval time.Duration, limit int) {
	if c.Repeat != nil {
		return c.Repeat.Count, c.Repeat.Interval.D(), c.Repeat.FailureLimit
	}
	return 1, 0, 0
}

// requests lists the queries of c known before it runs: every measurement
// over a fixed source, the first one over a live source.
func (g *MetricGate) requests(c *MetricCheck, now time.Time) []metrics.Request {
	q, bq, err := c.queries()
	if err != nil {
		return nil
	}
	count, interval, _ := c.repeat()
	if !g.src.Fixed() {
		count = 1
	}
	var out []metrics.Request
	for i := 0; i < count; i++ {
		at := now.Add(-time.Duration(count-1-i) * interval)
		label := c.tenantLabel(g.spec.TenantLabel)
		for _, query := range []string{q, bq} {
			if query == "" {
				continue
			}
			out = append(out, metrics.Request{Query: query, At: at})
			for _, fq := range freshnessQueries(query, label) {
				out = append(out, metrics.Request{Query: fq, At: at})
			}
		}
	}
	return out
}

func (g *MetricGate) runCheck(ctx context.Context, plan *metrics.Planner, c *MetricCheck, now time.Time) ([]gate.Check, error) {
	label := c.tenantLabel(g.spec.TenantLabel)
	q, bq, err := c.queries()
	if err != nil {
		return nil, err
	}
	count, interval, limit := c.repeat()
	var expected []string
	if label != "" {
		expected = g.spec.Tenants
	}
	// rounds[i][tenant] is measurement i.
	rounds := make([]map[string]measurement, count)
	var seen []map[string]float64
	for i := 0; i < count; i++ {
		at := now
		if g.src.Fixed() {
			at = now.Add(-time.Duration(count-1-i) * interval)
		} else if i > 0 {
			if err := g.sleep(ctx, interval); err != nil {
				return nil, fmt.Errorf("check %s: %w: waiting for measurement %d of %d", c.Name, gate.ErrTimeout, i+1, count)
			}
			at = g.src.Now()
		}
		vals, refs, stale, err := measure(ctx, plan, q, bq, label, at)
		if err != nil {
			var se *ShapeError
			if errors.As(err, &se) {
				return []gate.Check{{Name: c.Name, Status: gate.StatusError, Expected: c.Condition.String(), Unit: c.Unit,
					Message: se.Error()}}, nil
			}
			return nil, fmt.Errorf("check %s: %w", c.Name, err)
		}
		seen = append(seen, vals, stale)
		r := map[string]measurement{}
		for t, v := range vals {
			m := measurement{value: v, found: true}
			if refs != nil {
				m.ref, m.hasRef = refs[t]
			}
			r[t] = m
		}
		for t := range stale {
			m := r[t]
			m.found, m.stale = false, true
			r[t] = m
		}
		rounds[i] = r
	}
	tenants := tenantsOf(expected, seen...)
	if len(tenants) == 0 {
		tenants = []string{""}
	}
	out := make([]gate.Check, 0, len(tenants))
	for _, t := range tenants {
		out = append(out, judge(c, label, t, rounds, limit))
	}
	return out, nil
}

// measure evaluates the query (and the baseline query) at at. Tenants
// whose data went stale are left out of vals and refs and listed in stale.
func measure(ctx context.Context, plan *metrics.Planner, q, bq, label string, at time.Time) (vals, refs, stale map[string]float64, err error) {
	stale = map[string]float64{}
	one := func(query string) (map[string]float64, error) {
		v, err := plan.Query(ctx, query, at)
		if err != nil {
			return nil, err
		}
		out, err := byTenant(query, v, label)
		if err != nil {
			return nil, err
		}
		f, err := checkFresh(ctx, plan, query, label, at)
		if err != nil {
			return nil, err
		}
		for t := range out {
			if !f.fresh(t) {
				delete(out, t)
				stale[t] = 0
			}
		}
		return out, nil
	}
	if vals, err = one(q); err != nil {
		return nil, nil, nil, err
	}
	if bq == "" {
		return vals, nil, stale, nil
	}
	if refs, err = one(bq); err != nil {
		return nil, nil, nil, err
	}
	return vals, refs, stale, nil
}

// judge folds a tenant's measurements into one check.
func judge(c *MetricCheck, label, tenant string, rounds []map[string]measurement, limit int) gate.Check {
	chk := gate.Check{Name: c.Name, Tenant: tenant, Expected: c.Condition.String(), Unit: c.Unit}
	var failed, noData int
	var last measurement
	var lastMsg string
	for _, r := range rounds {
		m := r[tenant]
		last = m
		ok, why := verdict(c, label, tenant, m)
		switch {
		case ok:
		case m.missing(c.Baseline != ""):
			lastMsg = why
			noData++
		default:
			lastMsg = why
			failed++
		}
	}
	if last.found {
		chk.Observed = gate.Number(last.value)
	}
	if last.hasRef {
		chk.Expected = c.Condition.Describe(last.ref)
	}
	n := len(rounds)
	bad := failed + noData
	switch {
	case bad <= limit:
		chk.Status = gate.StatusPass
		chk.Message = describeValue(c, last) + " meets " + chk.Expected
		if n > 1 {
			chk.Message += fmt.Sprintf(" (%d of %d measurements failed, limit %d)", bad, n, limit)
		}
	case failed == 0:
		chk.Status = noDataStatus(c.OnNoData)
		chk.Message = lastMsg
		if n > 1 {
			chk.Message += fmt.Sprintf(" (%d of %d measurements had no data, limit %d)", noData, n, limit)
		}
		if c.OnNoData != "" && c.OnNoData != onNoDataFail {
			chk.Message += fmt.Sprintf("; on-no-data: %s", c.OnNoData)
		}
	default:
		chk.Status = gate.StatusFail
		chk.Message = lastMsg
		if n > 1 {
			chk.Message += fmt.Sprintf(" (%d of %d measurements failed, limit %d)", bad, n, limit)
		}
	}
	return chk
}

func describeValue(c *MetricCheck, m measurement) string {
	s := "value " + gate.FormatFloat(m.value) + unitSuffix(c.Unit)
	if m.hasRef {
		s = fmt.Sprintf("canary %s%s vs baseline %s%s (delta %s, ratio %s)", gate.FormatFloat(m.value), unitSuffix(c.Unit),
			gate.FormatFloat(m.ref), unitSuffix(c.Unit), gate.FormatFloat(m.value-m.ref), ratio(m.value, m.ref))
	}
	return s
}

func ratio(a, b float64) string {
	if b == 0 {
		return "n/a"
	}
	return gate.FormatFloat(a / b)
}

func unitSuffix(u string) string {
	if u == "" {
		return ""
	}
	return " " + u
}

// verdict judges one measurement; why is empty when it holds.
func verdict(c *MetricCheck, label, tenant string, m measurement) (ok bool, why string) {
	switch {
	case m.stale:
		return false, fmt.Sprintf("%s; expected a value %s", staleMessage(label, tenant), c.Condition)
	case !m.found && tenant == "":
		return false, fmt.Sprintf("query returned no series; expected a value %s; empty is not 0: check the metric name, labels and that it is scraped", c.Condition)
	case !m.found:
		return false, fmt.Sprintf("no series with %s=%q in the result; expected a value %s; check that the tenant is scraped and the query keeps %s", label, tenant, c.Condition, label)
	case isNaN(m.value):
		return false, fmt.Sprintf("value is NaN (e.g. 0/0: no traffic); expected %s; NaN is never a pass", c.Condition)
	case c.Baseline != "" && !m.hasRef:
		return false, fmt.Sprintf("baseline query returned no series; expected a baseline to compare canary %s with; check the baseline selector %s", gate.FormatFloat(m.value), c.Baseline)
	case c.Baseline != "" && isNaN(m.ref):
		return false, fmt.Sprintf("baseline value is NaN; expected a number to compare canary %s with", gate.FormatFloat(m.value))
	}
	if c.Baseline != "" {
		if c.Condition.HoldsRel(m.value, m.ref) {
			return true, ""
		}
		return false, fmt.Sprintf("%s does not meet %s (bound %s); the canary is worse than the baseline: hold the rollout",
			describeValue(c, m), c.Condition, gate.FormatFloat(c.Condition.Bound(m.ref)))
	}
	if c.Condition.Holds(m.value) {
		return true, ""
	}
	return false, fmt.Sprintf("%s %s does not meet %s; investigate before releasing", c.Name, gate.FormatFloat(m.value)+unitSuffix(c.Unit), c.Condition)
}
