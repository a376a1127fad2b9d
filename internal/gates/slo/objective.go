package slogate

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/prometheus/promql/parser"

	"github.com/maestro-conductor/releasegate/internal/fsx"
	"github.com/maestro-conductor/releasegate/internal/gate"
	"github.com/maestro-conductor/releasegate/internal/metrics"
	"github.com/maestro-conductor/releasegate/internal/policy"
	"github.com/maestro-conductor/releasegate/internal/slo"
)

func init() {
	gate.RegisterTyped(gate.Typed[SLOSpec]{
		Name:    "slo",
		Group:   "slo",
		Summary: "SLO objects per tenant: multi-window burn rates, page/ticket tiers, error budget remaining and time to exhaustion",
		New:     newSLOGate,
	})
}

// SLOSpec is the `with:` block of an slo gate.
type SLOSpec struct {
	Source         SourceSpec          `yaml:"source" required:"true" doc:"where the metrics come from: url (Prometheus API) or file (in-process PromQL)"`
	Service        string              `yaml:"service" doc:"the service the SLOs belong to: with the SLO name it identifies an SLO across the policy, and it is the service label of generated rules (default: the gate id)"`
	TenantLabel    string              `yaml:"tenant-label" doc:"label whose values are tenants; the bad/good/total queries must keep it (sum by (tenant) …)"`
	Tenants        []string            `yaml:"tenants" doc:"tenants that must be present; a missing one is no data"`
	Concurrency    int                 `yaml:"concurrency" default:"8" doc:"queries in flight at once"`
	SLOs           []SLOObject         `yaml:"slos" doc:"the objectives (required unless from names a spec)"`
	From           string              `yaml:"from" doc:"a Sloth prometheus/v1 service spec or OpenSLO v1 documents (relative to the policy) whose SLOs the gate judges beside slos: the service (unless service is set), SLO names, objectives, event queries and, from Sloth, the alerting name, labels and annotations; problems are reported at the file's own line:col (see docs/slo.md)"`
	PrometheusRule *PrometheusRuleSpec `yaml:"prometheus-rule" doc:"the PrometheusRule resource releasegate slo rules --format prometheusrule writes for this gate's SLOs (prometheus-operator, kube-prometheus)"`
	FromPeriod     policy.Duration     `yaml:"from-period" default:"30d" doc:"the period of the SLOs read from a Sloth spec (Sloth's --default-slo-period), e.g. 28d or 7d; OpenSLO SLOs bring their timeWindow"`

	// gateID is the default service; dir resolves from.
	gateID, dir string
	// sloth is the spec read from From, whose SLOs are SLOs[slothFrom:];
	// slothDigest is its sha256 for the result's inputs.
	sloth       *FromSpec
	slothFrom   int
	slothDigest string
}

// PrometheusRuleSpec is the metadata of the PrometheusRule resource written
// for a gate's SLOs.
type PrometheusRuleSpec struct {
	Name      string            `yaml:"name" doc:"metadata.name (default releasegate-slo-<service>)"`
	Namespace string            `yaml:"namespace" doc:"metadata.namespace (default: none, the namespace kubectl applies to)"`
	Labels    map[string]string `yaml:"labels" doc:"metadata.labels the operator's ruleSelector matches, e.g. release: kube-prometheus-stack or prometheus: k8s"`
}

var dns1123RE = regexp.MustCompile(`^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$`)
var k8sLabelValueRE = regexp.MustCompile(`^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$`)

func (p *PrometheusRuleSpec) validate() []error {
	if p == nil {
		return nil
	}
	var errs []error
	if p.Name != "" && (len(p.Name) > 253 || !dns1123RE.MatchString(p.Name)) {
		errs = append(errs, &policy.FieldError{Field: "prometheus-rule.name", Err: fmt.Errorf("%q is not a Kubernetes object name; expected lowercase letters, digits, dots and dashes", p.Name)})
	}
	if p.Namespace != "" && (len(p.Namespace) > 63 || !dns1123RE.MatchString(p.Namespace) || strings.Contains(p.Namespace, ".")) {
		errs = append(errs, &policy.FieldError{Field: "prometheus-rule.namespace", Err: fmt.Errorf("%q is not a Kubernetes namespace; expected lowercase letters, digits and -", p.Namespace)})
	}
	for k, v := range p.Labels {
		name := k
		if i := strings.LastIndexByte(k, '/'); i >= 0 {
			name = k[i+1:]
		}
		if name == "" || len(name) > 63 || !k8sLabelValueRE.MatchString(name) {
			errs = append(errs, &policy.FieldError{Field: "prometheus-rule.labels." + k, Err: errors.New("not a Kubernetes label key")})
		}
		if len(v) > 63 || !k8sLabelValueRE.MatchString(v) {
			errs = append(errs, &policy.FieldError{Field: "prometheus-rule.labels." + k, Err: fmt.Errorf("%q is not a Kubernetes label value", v)})
		}
	}
	return errs
}

// PrometheusRuleMeta returns the metadata of the gate's PrometheusRule.
func (s *SLOSpec) PrometheusRuleMeta() slo.PrometheusRuleMeta {
	m := slo.PrometheusRuleMeta{Name: "releasegate-slo-" + strings.ToLower(dnsUnsafe.ReplaceAllString(s.service(), "-"))}
	if p := s.PrometheusRule; p != nil {
		if p.Name != "" {
			m.Name = p.Name
		}
		m.Namespace, m.Labels = p.Namespace, p.Labels
	}
	return m
}

var dnsUnsafe = regexp.MustCompile(`[^A-Za-z0-9.-]+`)

// loadFrom reads the Sloth spec named by From once, appending its SLOs.
func (s *SLOSpec) loadFrom() []error {
	if s.From == "" || s.sloth != nil {
		return nil
	}
	path := s.From
	if !filepath.IsAbs(path) && s.dir != "" {
		path = filepath.Join(s.dir, path)
	}
	b, err := fsx.ReadFile(context.Background(), path, fsx.MaxDocSize)
	if err != nil {
		return []error{&policy.FieldError{Field: "from", Err: fmt.Errorf("cannot read the Sloth spec: %w", err)}}
	}
	parse := ParseSlothSpec
	if isOpenSLO(b) {
		parse = ParseOpenSLO
	}
	spec, errs := parse(path, b)
	out := make([]error, len(errs))
	for i, e := range errs {
		out[i] = e
		if se := (*SpecError)(nil); errors.As(e, &se) {
			out[i] = &policy.FileError{Field: "from", Location: se.Location, Err: errors.New(se.Msg)}
		}
	}
	if spec == nil {
		return out
	}
	// the SLOs it could read are validated too, so every problem shows
	s.sloth, s.slothFrom, s.slothDigest = spec, len(s.SLOs), digest(b)
	for _, o := range spec.SLOs {
		if o.Period == 0 { // OpenSLO names its window, Sloth does not
			o.Period = s.FromPeriod
		}
		s.SLOs = append(s.SLOs, o)
	}
	if s.Service == "" {
		s.Service = spec.Service
	}
	return out
}

// Bind learns the gate's id, the default service, and the policy's
// directory, against which from is read.
func (s *SLOSpec) Bind(c policy.GateContext) { s.gateID, s.dir = c.ID, c.Dir }

// service is the service that identifies the SLOs: Service, else the gate id.
func (s *SLOSpec) service() string {
	if s.Service != "" {
		return s.Service
	}
	return s.gateID
}

// Identities are the policy-wide keys of the SLOs: service and name. Two
// gates with one service and SLO name would give rule series and groups
// that collide.
func (s *SLOSpec) Identities() []policy.Identity {
	out := make([]policy.Identity, 0, len(s.SLOs))
	for i, o := range s.SLOs {
		if o.Name == "" {
			continue
		}
		field := fmt.Sprintf("slos[%d].name", i)
		if s.sloth != nil && i >= s.slothFrom {
			field = "from" // read from the Sloth spec
		}
		out = append(out, policy.Identity{
			Key:   fmt.Sprintf("slo %q of service %q", o.Name, s.service()),
			Field: field,
			Hint:  "their rules would share one group name and one set of series: give one gate another service or rename one SLO",
		})
	}
	return out
}

// SLOObject is one objective in the policy.
type SLOObject struct {
	Name            string                      `yaml:"name" required:"true" doc:"SLO name, used in results and in the slo label of generated rules"`
	Objective       float64                     `yaml:"objective" required:"true" doc:"target percentage of good events, e.g. 99.9"`
	Period          policy.Duration             `yaml:"period" default:"30d" doc:"compliance period of the error budget: at least 1h; the tiers' windows scale with it (see docs/slo.md) and burn-rate windows must fit in it"`
	Bad             string                      `yaml:"bad" doc:"PromQL rate of bad events with {{.window}} as the range, e.g. sum by (tenant) (rate(http_requests_total{code=~\"5..\"}[{{.window}}])); set bad or good"`
	Good            string                      `yaml:"good" doc:"PromQL rate of good events with {{.window}}; set bad or good"`
	Total           string                      `yaml:"total" required:"true" doc:"PromQL rate of all events with {{.window}}"`
	BurnRates       map[string]policy.Condition `yaml:"burn-rates" doc:"burn-rate conditions by window, e.g. {5m: \"< 2.0\", 1h: \"< 1.0\"}"`
	Tiers           *bool                       `yaml:"tiers" default:"true" doc:"check the multi-window tiers: page tiers (1h/5m ×14.4, 6h/30m ×6 for 30d) fail, ticket tiers (1d/2h ×3, 3d/6h ×1) warn; for other periods the windows scale with the period"`
	BudgetRemaining *policy.Condition           `yaml:"budget-remaining" default:"> 0" doc:"condition on the fraction of the period's error budget left"`
	OnNoData        string                      `yaml:"on-no-data" enum:"fail,warn,skip" default:"fail" doc:"outcome when a query returns nothing for a tenant, or NaN"`
	Alerts          *SLOAlerts                  `yaml:"alerts" doc:"names, severities, labels and annotations of the alerts releasegate slo rules generates"`
	PeriodRatio     string                      `yaml:"period-ratio" enum:"auto,exact,average" default:"auto" doc:"how the generated rules record the error ratio over the period: exact (the queries over the whole period), average (the mean of the recorded 5m ratios, as Sloth: cheap, weighs every 5m alike), or auto: average when a query uses a subquery, else exact; the gate always evaluates the exact ratio"`
}

// SLOAlerts is the policy's say over the generated alerts of one SLO.
type SLOAlerts struct {
	Name           string            `yaml:"name" default:"SLOErrorBudgetBurn" doc:"name of the burn-rate alerts"`
	PageSeverity   string            `yaml:"page-severity" default:"page" doc:"severity label of the page tiers and of SLOMetricAbsent"`
	TicketSeverity string            `yaml:"ticket-severity" default:"ticket" doc:"severity label of the ticket tiers"`
	Labels         map[string]string `yaml:"labels" doc:"labels added to every generated alert, e.g. {team: payments}; service, slo, severity, window, tenant and alertname are reserved"`
	PageLabels     map[string]string `yaml:"page-labels" doc:"labels added to the page alerts only, e.g. {routing_key: payments}"`
	TicketLabels   map[string]string `yaml:"ticket-labels" doc:"labels added to the ticket alerts only, e.g. {channel: \"#payments\"}"`
	Annotations    map[string]string `yaml:"annotations" doc:"annotations added to every generated alert, e.g. {runbook_url: https://…, dashboard: https://…}; a summary replaces releasegate's; Prometheus templates such as {{ $labels.tenant }} work and are checked"`
}

func (o *SLOObject) model() slo.SLO {
	p := o.Period.D()
	if p == 0 {
		p = 30 * slo.Day
	}
	m := slo.SLO{Name: o.Name, Objective: slo.ObjectiveRatio(o.Objective), Period: p, Bad: o.Bad, Good: o.Good, Total: o.Total}
	if a := o.Alerts; a != nil {
		m.Alerts = slo.Alerts{Name: a.Name, PageSeverity: a.PageSeverity, TicketSeverity: a.TicketSeverity,
			Labels: a.Labels, PageLabels: a.PageLabels, TicketLabels: a.TicketLabels, Annotations: a.Annotations}
	}
	return m
}

// burnWindows returns the burn-rate windows sorted, or an error per bad
// key (a *policy.FieldError at burn-rates.<key>).
func (o *SLOObject) burnWindows() ([]time.Duration, map[time.Duration]policy.Condition, []error) {
	var errs []error
	conds := map[time.Duration]policy.Condition{}
	period := o.model().Period
	for k, c := range o.BurnRates {
		at := func(err error) { errs = append(errs, &policy.FieldError{Field: "burn-rates." + k, Err: err}) }
		d, err := policy.ParseDuration(k)
		switch {
		case err != nil || d <= 0:
			at(fmt.Errorf("window %q: expected a duration such as 5m or 1h", k))
			continue
		case d > period && period >= time.Hour: // a shorter period is reported by itself
			at(fmt.Errorf("window %s is longer than the period %s; the error budget is judged over the period", k, slo.FormatWindow(period)))
			continue
		case c.Relative():
			at(fmt.Errorf("window %s: %q compares with %s; burn rates take absolute conditions such as \"< 2\"", k, c, c.Ref))
			continue
		}
		conds[d] = c
	}
	ws := make([]time.Duration, 0, len(conds))
	for d := range conds {
		ws = append(ws, d)
	}
	sort.Slice(ws, func(i, j int) bool { return ws[i] < ws[j] })
	return ws, conds, errs
}

// Models returns the domain objects of the spec (for rule generation),
// each identified by the spec's service and its name.
func (s *SLOSpec) Models() []slo.SLO {
	out := make([]slo.SLO, len(s.SLOs))
	for i := range s.SLOs {
		out[i] = s.SLOs[i].model()
		out[i].Service = s.service()
		// Validate has parsed the query: an error here leaves no selectors
		sels, _ := metrics.Selectors(strings.ReplaceAll(s.SLOs[i].Total, slo.WindowPlaceholder, "5m"))
		out[i].Selectors = sels
		out[i].AveragePeriod = s.SLOs[i].averagePeriod()
	}
	return out
}

// Validate checks every SLO and parses every query it will run, each
// problem at its key.
func (s *SLOSpec) Validate() []error {
	errs := s.Source.validate("")
	errs = append(errs, s.PrometheusRule.validate()...)
	if s.Concurrency < 0 {
		errs = append(errs, &policy.FieldError{Field: "concurrency", Err: fmt.Errorf("%d is negative", s.Concurrency)})
	}
	if len(s.Tenants) > 0 && s.TenantLabel == "" {
		errs = append(errs, &policy.FieldError{Field: "tenants", Err: errors.New("tenants are matched against tenant-label; set tenant-label, e.g. tenant")})
	}
	ferrs := s.loadFrom()
	if len(ferrs) > 0 && s.sloth == nil {
		return append(errs, ferrs...)
	}
	errs = append(errs, ferrs...)
	if len(s.SLOs) == 0 && len(ferrs) == 0 {
		errs = append(errs, &policy.FieldError{Field: "slos", Err: errors.New("no SLOs; expected at least one under slos, or a Sloth spec in from")})
	}
	if err := slo.CheckName(s.Service); err != nil && s.Service != "" {
		errs = append(errs, &policy.FieldError{Field: "service", Err: err})
	}
	names := map[string]bool{}
	for i := range s.SLOs {
		o := &s.SLOs[i]
		at := func(field string, err error) {
			if s.sloth != nil && i >= s.slothFrom {
				errs = append(errs, s.sloth.fileError(i-s.slothFrom, field, err))
				return
			}
			errs = append(errs, &policy.FieldError{Field: fmt.Sprintf("slos[%d].%s", i, field), Err: err})
		}
		if names[o.Name] && o.Name != "" {
			at("name", fmt.Errorf("%q is used twice", o.Name))
		}
		names[o.Name] = true
		m := o.model()
		for _, err := range m.Validate() {
			if fe := (*slo.FieldError)(nil); errors.As(err, &fe) {
				at(fe.Field, fe.Err)
			} else {
				errs = append(errs, &policy.FieldError{Field: fmt.Sprintf("slos[%d]", i), Err: err})
			}
		}
		parsed := 0
		for _, q := range []struct{ k, v string }{{"bad", o.Bad}, {"good", o.Good}, {"total", o.Total}} {
			if q.v == "" {
				continue
			}
			if err := checkRatioPart(q.v); err != nil {
				at(q.k, err)
				continue
			}
			parsed++
		}
		if parsed >= 2 && (o.Bad == "") != (o.Good == "") {
			if _, err := metrics.ParseQuery(m.ErrorRatioQuery(5 * time.Minute)); err != nil {
				at("total", fmt.Errorf("the error ratio built from bad/good and total is not valid PromQL: %v", err))
			}
		}
		if o.BudgetRemaining != nil && o.BudgetRemaining.Relative() {
			at("budget-remaining", errors.New("expected an absolute condition such as \"> 0.25\""))
		}
		before := len(errs)
		_, _, werrs := o.burnWindows()
		for _, err := range werrs {
			if fe := (*policy.FieldError)(nil); errors.As(err, &fe) {
				at(fe.Field, fe.Err)
			} else {
				at("burn-rates", err)
			}
		}
		if o.Alerts != nil && len(errs) == before && len(m.Validate()) == 0 && parsed >= 2 {
			// what releasegate slo rules would write for it, checked like
			// promtool check rules: annotation templates above all
			if err := checkGenerated(m); err != nil {
				at("alerts", err)
			}
		}
	}
	return errs
}

// averagePeriod reports whether the rules record the period's ratio as
// the average of the 5m ratios (period-ratio). Only rule generation asks:
// it parses the queries.
func (o *SLOObject) averagePeriod() bool {
	switch o.PeriodRatio {
	case "average":
		return true
	case "", "auto":
		return hasSubquery(o.Bad) || hasSubquery(o.Good) || hasSubquery(o.Total)
	}
	return false
}

// hasSubquery reports whether q (with the window placeholder) uses a
// subquery such as sum_over_time((x > bool 0.5)[{{.window}}:1m]).
func hasSubquery(q string) bool {
	if q == "" {
		return false
	}
	expr, err := metrics.ParseQuery(strings.ReplaceAll(q, slo.WindowPlaceholder, "5m"))
	if err != nil {
		return false
	}
	found := false
	parser.Inspect(expr, func(n parser.Node, _ []parser.Node) error {
		if _, ok := n.(*parser.SubqueryExpr); ok {
			found = true
		}
		return nil
	})
	return found
}

// checkGenerated checks the rules generated for m as promtool check rules
// would (rulefmt: names, labels, templates, every expr).
func checkGenerated(m slo.SLO) error {
	b, err := slo.Rules([]slo.SLO{m}).YAML()
	if err != nil {
		return fmt.Errorf("the generated rules cannot be written: %w", err)
	}
	if _, probs := CheckRuleFile("generated rules", b); len(probs) > 0 {
		// one alert setting repeats in every alert: say it once
		seen := map[string]bool{}
		var msgs []string
		for _, p := range probs {
			msg := ruleNameRE.ReplaceAllString(p.Msg, "")
			if !seen[msg] {
				seen[msg] = true
				msgs = append(msgs, msg)
			}
		}
		return fmt.Errorf("the generated rules would not load in Prometheus: %s", strings.Join(msgs, "; "))
	}
	return nil
}

// checkRatioPart parses one of an SLO's bad, good and total queries the
// way the gate will run it. The window placeholder is replaced by a window
// of the same length, so that the parser's line:column positions are those
// of the query as written.
func checkRatioPart(q string) error {
	win := strings.Repeat("0", len(slo.WindowPlaceholder)-2) + "5m"
	expr, err := metrics.ParseQuery(strings.ReplaceAll(q, slo.WindowPlaceholder, win))
	if err != nil {
		return fmt.Errorf("not valid PromQL: %w", err)
	}
	if t := expr.Type(); t != parser.ValueTypeVector && t != parser.ValueTypeScalar {
		return fmt.Errorf("the query gives a %s; expected an instant vector such as sum(rate(x[%s]))", t, slo.WindowPlaceholder)
	}
	return nil
}

// SLOGate evaluates SLO objects.
type SLOGate struct {
	meta gate.Meta
	spec *SLOSpec
	src  metrics.Source
}

func newSLOGate(m gate.Meta, s SLOSpec, env gate.Env) (gate.Gate, error) {
	src, err := s.Source.Open(env.PolicyDir)
	if err != nil {
		return nil, err
	}
	return NewSLOGate(m, &s, src), nil
}

// NewSLOGate returns an slo gate over an open source.
func NewSLOGate(m gate.Meta, s *SLOSpec, src metrics.Source) *SLOGate {
	return &SLOGate{meta: m, spec: s, src: src}
}

// Name returns the gate id.
func (g *SLOGate) Name() string { return g.meta.ID }

// Describe says what the gate checks.
func (g *SLOGate) Describe() string {
	return fmt.Sprintf("%d SLO(s) against %s", len(g.spec.SLOs), g.src)
}

type ratioKey struct {
	slo int
	w   time.Duration
}

// Run queries every window of every SLO (bounded concurrency) and judges
// each tenant.
func (g *SLOGate) Run(ctx context.Context) (*gate.Result, error) {
	at := g.src.Now()
	var keys []ratioKey
	for i := range g.spec.SLOs {
		for _, w := range g.windows(i) {
			keys = append(keys, ratioKey{i, w})
		}
	}
	ratios := make(map[ratioKey]map[string]float64, len(keys))
	var mu sync.Mutex
	var shapeErrs []gate.Check
	// The planner fetches each distinct sub-query once (SLOs that share a
	// total share its windows), longest window first, Concurrency at once.
	conc, _ := concurrency(ctx, g.src, g.spec.Concurrency)
	plan := metrics.NewPlanner(g.src, conc)
	reqs := make([]metrics.Request, len(keys))
	for n, k := range keys {
		reqs[n] = metrics.Request{Query: g.spec.SLOs[k.slo].model().ErrorRatioQuery(k.w), At: at}
	}
	// Freshness: the selectors are the same for every window of an SLO.
	fresh := make([]freshness, len(g.spec.SLOs))
	freshQ := make([]string, len(g.spec.SLOs))
	for i := range g.spec.SLOs {
		freshQ[i] = g.spec.SLOs[i].model().ErrorRatioQuery(5 * time.Minute)
		for _, fq := range freshnessQueries(freshQ[i], g.spec.TenantLabel) {
			reqs = append(reqs, metrics.Request{Query: fq, At: at})
		}
	}
	plan.Prefetch(ctx, reqs)
	err := parallel(ctx, len(g.spec.SLOs), len(g.spec.SLOs), func(ctx context.Context, i int) error {
		f, err := checkFresh(ctx, plan, freshQ[i], g.spec.TenantLabel, at)
		fresh[i] = f
		if err != nil {
			return fmt.Errorf("slo %s: %w", g.spec.SLOs[i].Name, err)
		}
		return nil
	})
	if err == nil {
		err = parallel(ctx, len(keys), len(keys), func(ctx context.Context, n int) error {
			k := keys[n]
			o := &g.spec.SLOs[k.slo]
			q := reqs[n].Query
			v, err := plan.Query(ctx, q, at)
			if err != nil {
				return fmt.Errorf("slo %s: %w", o.Name, err)
			}
			byT, err := byTenant(q, v, g.spec.TenantLabel)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				shapeErrs = append(shapeErrs, gate.Check{Name: o.Name, Status: gate.StatusError, Message: err.Error()})
				return nil
			}
			ratios[k] = byT
			return nil
		})
	}
	res := &gate.Result{Kind: "slo", Inputs: []gate.Input{sourceInput(g.src)}}
	if g.spec.sloth != nil {
		res.Inputs = append(res.Inputs, gate.Input{Name: g.spec.From, Digest: g.spec.slothDigest})
	}
	if err != nil {
		return res, err
	}
	details := map[string]any{"source": g.src.String(), "evaluated_at": at.UTC().Format(time.RFC3339), "source_queries": plan.Fetched(), "concurrency": conc}
	if len(shapeErrs) > 0 {
		sort.Slice(shapeErrs, func(i, j int) bool { return shapeErrs[i].Message < shapeErrs[j].Message })
		res.Checks = append(res.Checks, shapeErrs[0])
	} else {
		for i := range g.spec.SLOs {
			cs, d := g.judgeSLO(i, ratios, fresh[i])
			res.Checks = append(res.Checks, cs...)
			details[g.spec.SLOs[i].Name] = d
		}
	}
	res.Details = details
	res.Summary = summarize(res.Checks)
	return res, nil
}

func (g *SLOGate) windows(i int) []time.Duration {
	o := &g.spec.SLOs[i]
	seen := map[time.Duration]bool{}
	var out []time.Duration
	bw, _, _ := o.burnWindows()
	for _, w := range append(o.model().ReportWindows(), bw...) {
		if !seen[w] {
			seen[w] = true
			out = append(out, w)
		}
	}
	return out
}

// tenantView is one tenant's error ratios by window.
type tenantView map[time.Duration]float64

func (g *SLOGate) judgeSLO(i int, ratios map[ratioKey]map[string]float64, fresh freshness) ([]gate.Check, map[string]any) {
	o := &g.spec.SLOs[i]
	m := o.model()
	var all []map[string]float64
	for _, w := range g.windows(i) {
		all = append(all, ratios[ratioKey{i, w}])
	}
	var expected []string
	if g.spec.TenantLabel != "" {
		expected = g.spec.Tenants
	}
	tenants := tenantsOf(expected, all...)
	if len(tenants) == 0 {
		tenants = []string{""}
	}
	details := map[string]any{}
	var out []gate.Check
	for _, t := range tenants {
		view := tenantView{}
		for _, w := range g.windows(i) {
			if v, ok := ratios[ratioKey{i, w}][t]; ok {
				view[w] = v
			}
		}
		if !fresh.fresh(t) && len(view) > 0 {
			// judged on nothing: every check is no data, saying why
			cs := g.judgeTenant(o, m, t, tenantView{})
			for j := range cs {
				cs[j].Message = cs[j].Name + ": " + staleMessage(g.spec.TenantLabel, t)
				if o.OnNoData != "" && o.OnNoData != onNoDataFail {
					cs[j].Message += "; on-no-data: " + o.OnNoData
				}
			}
			details[t] = map[string]any{"stale": true}
			out = append(out, cs...)
			continue
		}
		burns := map[string]any{}
		for _, w := range m.ReportWindows() {
			if r, ok := view[w]; ok && w != m.Period {
				burns[slo.FormatWindow(w)] = gate.FormatFloat(m.BurnRate(r))
			}
		}
		details[t] = burns
		out = append(out, g.judgeTenant(o, m, t, view)...)
	}
	return out, details
}

func (g *SLOGate) noData(o *SLOObject, name, tenant string, w time.Duration, found bool) gate.Check {
	msg := fmt.Sprintf("%s: the %s error ratio is NaN (no traffic in the window?); expected a number; NaN is never a pass", name, slo.FormatWindow(w))
	if !found {
		msg = fmt.Sprintf("%s: the %s error ratio query returned nothing%s; empty is not 0: if the bad series can be absent, write bad as `(BAD) or (TOTAL) * 0`",
			name, slo.FormatWindow(w), forTenant(g.spec.TenantLabel, tenant))
	}
	if o.OnNoData != "" && o.OnNoData != onNoDataFail {
		msg += "; on-no-data: " + o.OnNoData
	}
	return gate.Check{Name: name, Tenant: tenant, Status: noDataStatus(o.OnNoData), Message: msg}
}

func forTenant(label, t string) string {
	if t == "" {
		return ""
	}
	return fmt.Sprintf(" for %s=%q", label, t)
}

// tenantJudge judges one tenant of one SLO over its error ratios by
// window; exhaust says when the budget runs out at the 1h burn rate.
type tenantJudge struct {
	g       *SLOGate
	o       *SLOObject
	m       slo.SLO
	tenant  string
	view    tenantView
	exhaust string
}

// get is the error ratio over w, false when missing or NaN.
func (j *tenantJudge) get(w time.Duration) (float64, bool) {
	v, ok := j.view[w]
	return v, ok && !isNaN(v)
}

// noData is the check for a window without a usable ratio.
func (j *tenantJudge) noData(name string, w time.Duration) gate.Check {
	_, found := j.view[w]
	return j.g.noData(j.o, name, j.tenant, w, found)
}

// judgeTenant checks the burn-rate conditions, the tiers and the budget
// remaining of one tenant.
func (g *SLOGate) judgeTenant(o *SLOObject, m slo.SLO, t string, view tenantView) []gate.Check {
	j := &tenantJudge{g: g, o: o, m: m, tenant: t, view: view}
	remaining, remOK := j.get(m.Period)
	if remOK {
		// a period burn of 1 within the tolerance leaves exactly nothing,
		// so that "> 0" fails at the threshold as every condition does
		if policy.Equal(m.BurnRate(remaining), 1) {
			remaining = 0
		} else {
			remaining = m.BudgetRemaining(remaining)
		}
	}
	j.exhaust = j.exhaustion(remaining, remOK)
	out := j.burnRates()
	if o.Tiers == nil || *o.Tiers {
		out = append(out, j.tiers()...)
	}
	return append(out, j.budget(remaining, remOK))
}

// exhaustion says when the remaining budget runs out at the 1h burn rate,
// or "" without the data to say.
func (j *tenantJudge) exhaustion(remaining float64, remOK bool) string {
	burn1h, ok := j.get(time.Hour)
	if !remOK || !ok {
		return ""
	}
	d, ok := j.m.TimeToExhaustion(remaining, j.m.BurnRate(burn1h))
	switch {
	case !ok:
		return "budget not being spent"
	case d == 0:
		return "budget exhausted"
	}
	return "budget exhausted in " + slo.FormatDuration(d) + " at the 1h burn rate"
}

// burnRates checks the burn-rates conditions.
func (j *tenantJudge) burnRates() []gate.Check {
	var out []gate.Check
	ws, conds, _ := j.o.burnWindows()
	for _, w := range ws {
		c := conds[w]
		name := fmt.Sprintf("%s %s burn rate", j.o.Name, slo.FormatWindow(w))
		r, ok := j.get(w)
		if !ok {
			out = append(out, j.noData(name, w))
			continue
		}
		b := j.m.BurnRate(r)
		chk := gate.Check{Name: name, Tenant: j.tenant, Observed: gate.Number(b), Expected: c.String(), Unit: "x"}
		if c.Holds(b) {
			chk.Status = gate.StatusPass
			chk.Message = fmt.Sprintf("%s %s meets %s (error ratio %s)", name, gate.FormatFloat(b), c, gate.FormatFloat(r))
		} else {
			chk.Status = gate.StatusFail
			chk.Message = fmt.Sprintf("%s %s does not meet %s (error ratio %s against a budget of %s%s); find what raised errors in the last %s before releasing",
				name, gate.FormatFloat(b), c, gate.FormatFloat(r), gate.FormatFloat(j.m.ErrorBudget()), semi(j.exhaust), slo.FormatWindow(w))
		}
		out = append(out, chk)
	}
	return out
}

// tiers checks the multi-window tiers: a firing page tier fails, a firing
// ticket tier warns.
func (j *tenantJudge) tiers() []gate.Check {
	var out []gate.Check
	for _, tier := range j.m.Tiers() {
		name := fmt.Sprintf("%s %s burn ×%s", j.o.Name, tier.Name(), gate.FormatFloat(tier.Factor))
		lr, lok := j.get(tier.Long)
		sr, sok := j.get(tier.Short)
		if !lok || !sok {
			w := tier.Long
			if lok {
				w = tier.Short
			}
			out = append(out, j.noData(name, w))
			continue
		}
		lb, sb := j.m.BurnRate(lr), j.m.BurnRate(sr)
		chk := gate.Check{Name: name, Tenant: j.tenant, Observed: gate.Number(lb), Unit: "x",
			Expected: fmt.Sprintf("not both %s and %s burn > %s", slo.FormatWindow(tier.Long), slo.FormatWindow(tier.Short), gate.FormatFloat(tier.Factor))}
		firing := policy.Greater(lb, tier.Factor) && policy.Greater(sb, tier.Factor)
		both := fmt.Sprintf("%s burn %s, %s burn %s", slo.FormatWindow(tier.Long), gate.FormatFloat(lb), slo.FormatWindow(tier.Short), gate.FormatFloat(sb))
		switch {
		case !firing:
			chk.Status = gate.StatusPass
			chk.Message = fmt.Sprintf("%s: %s; the %s alert would not fire", name, both, tier.Severity)
		case tier.Severity == "page":
			chk.Status = gate.StatusFail
			chk.Message = fmt.Sprintf("%s: %s, both above %s: the page alert fires%s; stop the release and handle the incident",
				name, both, gate.FormatFloat(tier.Factor), paren(j.exhaust))
		default:
			chk.Status = gate.StatusWarn
			chk.Message = fmt.Sprintf("%s: %s, both above %s: the ticket alert fires%s; the budget is draining steadily",
				name, both, gate.FormatFloat(tier.Factor), paren(j.exhaust))
		}
		out = append(out, chk)
	}
	return out
}

// budget checks the error budget remaining over the period.
func (j *tenantJudge) budget(remaining float64, ok bool) gate.Check {
	cond := policy.MustCondition("> 0")
	if j.o.BudgetRemaining != nil {
		cond = *j.o.BudgetRemaining
	}
	name := j.o.Name + " error budget remaining"
	if !ok {
		return j.noData(name, j.m.Period)
	}
	period := slo.FormatWindow(j.m.Period)
	chk := gate.Check{Name: name, Tenant: j.tenant, Observed: gate.Number(remaining), Expected: cond.String(), Unit: "ratio"}
	if cond.Holds(remaining) {
		chk.Status = gate.StatusPass
		chk.Message = fmt.Sprintf("%s of the %s budget remains, meets %s%s", pct(remaining), period, cond, paren(j.exhaust))
	} else {
		chk.Status = gate.StatusFail
		chk.Message = fmt.Sprintf("%s of the %s budget remains, does not meet %s%s; freeze risky releases until the budget recovers",
			pct(remaining), period, cond, paren(j.exhaust))
	}
	return chk
}

func semi(s string) string {
	if s == "" {
		return ""
	}
	return "; " + s
}

func pct(f float64) string { return gate.FormatFloat(f*100) + "%" }

func paren(s string) string {
	if s == "" {
		return ""
	}
	return " (" + s + ")"
}
