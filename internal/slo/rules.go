package slo

import (
	"bytes"
	"fmt"
	"time"

	"gopkg.in/yaml.v3"
)

// Metric names of the generated recording rules, one per window: e.g.
// slo:sli_error:ratio_rate5m{service="checkout", slo="availability", tenant="acme"}
// (tenant, or the gate's tenant-label, comes from the SLO's queries).
const RecordPrefix = "slo:sli_error:ratio_rate"

// AlertName is the name of every generated burn-rate alert; the service,
// slo, severity and window labels tell them apart.
const AlertName = "SLOErrorBudgetBurn"

// Metadata recording rules of every SLO (labelled service and slo), for
// dashboards and for alerts people write themselves.
const (
	// ObjectiveRecord is the objective as a ratio, e.g. 0.999.
	ObjectiveRecord = "slo:objective:ratio"
	// ErrorBudgetRecord is the error budget, 1 − objective, e.g. 0.001.
	ErrorBudgetRecord = "slo:error_budget:ratio"
	// PeriodRecord is the period in days, e.g. 30.
	PeriodRecord = "slo:time_period:days"
	// BudgetRemainingRecord is, per tenant, the share of the period's
	// budget left: 1 − error ratio over the period / budget (negative when
	// overspent), what the gate's error budget remaining check judges.
	BudgetRemainingRecord = "slo:period_error_budget_remaining:ratio"
	// InfoRecord is 1, labelled with the objective (percent) and period.
	InfoRecord = "releasegate_slo_info"
)

// AbsentAlertName is the name of the generated alerts that fire when an
// SLI's series are gone, and with them every burn-rate alert.
const AbsentAlertName = "SLOMetricAbsent"

// RuleFile is a Prometheus rule file.
type RuleFile struct {
	Groups []RuleGroup `yaml:"groups"`
}

// RuleGroup is one group of rules.
type RuleGroup struct {
	Name     string `yaml:"name"`
	Interval string `yaml:"interval,omitempty"`
	Rules    []Rule `yaml:"rules"`
}

// Rule is a recording or alerting rule.
type Rule struct {
	Record      string            `yaml:"record,omitempty"`
	Alert       string            `yaml:"alert,omitempty"`
	Expr        string            `yaml:"expr"`
	For         string            `yaml:"for,omitempty"`
	Labels      map[string]string `yaml:"labels,omitempty"`
	Annotations map[string]string `yaml:"annotations,omitempty"`
}

// RecordName is the recording rule metric for window w.
func RecordName(w time.Duration) string { return RecordPrefix + FormatWindow(w) }

// Rules returns the recording rules (the error ratio over every window and
// the period) and the multi-window burn-rate alerts of each SLO, one group
// per SLO named releasegate-slo-<name>@<service>. The recording rules use
// exactly the queries the slo gate evaluates, so the alerts and the gate
// agree; they carry the service and slo labels, and every alert selects its
// own SLO's series by both, so SLOs of one name in two services never read
// each other's ratios. The SLOs must have distinct IDs (policy check
// ensures it).
func Rules(slos []SLO) RuleFile {
	var f RuleFile
	for _, s := range slos {
		g := RuleGroup{Name: s.GroupName()}
		for _, w := range s.ReportWindows() {
			expr := s.ErrorRatioQuery(w)
			if w == s.Period && s.AveragePeriod && w != MinWindow {
				expr = fmt.Sprintf("avg_over_time(%s%s[%s])", RecordName(MinWindow), s.Selector(), FormatWindow(w))
			}
			g.Rules = append(g.Rules, Rule{Record: RecordName(w), Expr: expr, Labels: s.idLabels()})
		}
		g.Rules = append(g.Rules, s.metadataRules()...)
		for _, t := range s.Tiers() {
			g.Rules = append(g.Rules, s.alert(t))
		}
		g.Rules = append(g.Rules, s.absentAlerts()...)
		f.Groups = append(f.Groups, g)
	}
	return f
}

// GroupName is the SLO's rule group: releasegate-slo-<name>@<service>, or
// releasegate-slo-<name> without a service. Names and services cannot
// contain @, so distinct IDs give distinct groups.
func (s SLO) GroupName() string {
	if s.Service == "" {
		return "releasegate-slo-" + s.Name
	}
	return "releasegate-slo-" + s.Name + "@" + s.Service
}

// idLabels are the labels that identify the SLO's series.
func (s SLO) idLabels() map[string]string {
	l := map[string]string{"slo": s.Name}
	if s.Service != "" {
		l["service"] = s.Service
	}
	return l
}

// Selector matches the SLO's recording rule series, e.g.
// {service="checkout",slo="availability"}.
func (s SLO) Selector() string {
	if s.Service == "" {
		return fmt.Sprintf(`{slo=%q}`, s.Name)
	}
	return fmt.Sprintf(`{service=%q,slo=%q}`, s.Service, s.Name)
}

func (s SLO) alert(t Tier) Rule {
	threshold := fmt.Sprintf("(%s * %s)", fmtF(t.Factor), fmtF(roundTo(s.ErrorBudget(), 12)))
	sel := s.Selector()
	labels := s.alertLabels(t.Severity)
	labels["severity"] = s.severity(t.Severity)
	labels["window"] = FormatWindow(t.Long) + "/" + FormatWindow(t.Short)
	name := s.Alerts.Name
	if name == "" {
		name = AlertName
	}
	return Rule{
		Alert: name,
		Expr: fmt.Sprintf("%s%s > %s\nand\n%s%s > %s",
			RecordName(t.Long), sel, threshold, RecordName(t.Short), sel, threshold),
		For:    FormatWindow(t.For),
		Labels: labels,
		Annotations: s.annotations(fmt.Sprintf("SLO %s (%s%% over %s) is burning its error budget %sx too fast over %s and %s",
			s.ID(), s.ObjectivePercent(), FormatWindow(s.Period), fmtF(t.Factor), FormatWindow(t.Long), FormatWindow(t.Short))),
	}
}

// alertLabels are the SLO's identity and the policy's alert labels, those
// of every alert and those of the tier's severity (page or ticket).
func (s SLO) alertLabels(tier string) map[string]string {
	l := s.idLabels()
	extra := s.Alerts.PageLabels
	if tier == "ticket" {
		extra = s.Alerts.TicketLabels
	}
	for _, m := range []map[string]string{s.Alerts.Labels, extra} {
		for k, v := range m {
			if k != "service" && k != "slo" {
				l[k] = v
			}
		}
	}
	return l
}

// annotations are releasegate's summary and the policy's alert
// annotations (whose summary, if any, replaces releasegate's).
func (s SLO) annotations(summary string) map[string]string {
	a := map[string]string{"summary": summary}
	for k, v := range s.Alerts.Annotations {
		a[k] = v
	}
	return a
}

// severity maps a tier's severity to the policy's label value.
func (s SLO) severity(tier string) string {
	switch {
	case tier == "page" && s.Alerts.PageSeverity != "":
		return s.Alerts.PageSeverity
	case tier == "ticket" && s.Alerts.TicketSeverity != "":
		return s.Alerts.TicketSeverity
	}
	return tier
}

// metadataRules record the SLO's objective, budget, period and info, and
// the budget remaining per tenant.
func (s SLO) metadataRules() []Rule {
	budget := fmtF(roundTo(s.ErrorBudget(), 12))
	info := s.idLabels()
	info["objective"] = s.ObjectivePercent()
	info["period"] = FormatWindow(s.Period)
	return []Rule{
		{Record: ObjectiveRecord, Expr: fmt.Sprintf("vector(%s)", fmtF(roundTo(s.Objective, 12))), Labels: s.idLabels()},
		{Record: ErrorBudgetRecord, Expr: fmt.Sprintf("vector(%s)", budget), Labels: s.idLabels()},
		{Record: PeriodRecord, Expr: fmt.Sprintf("vector(%s)", fmtF(roundTo(s.Period.Hours()/24, 6))), Labels: s.idLabels()},
		{Record: BudgetRemainingRecord, Expr: fmt.Sprintf("1 - %s%s / %s", RecordName(s.Period), s.Selector(), budget), Labels: s.idLabels()},
		{Record: InfoRecord, Expr: "vector(1)", Labels: info},
	}
}

// absentAlerts are one alert per selector of the SLI's total query: it
// fires when no series of the selector has had a sample for the lookback
// (5m) plus the fast page tier's short window, the time the fastest
// burn-rate alert needs to see anything. Only the total's selectors: the
// bad series may rightly be absent while nothing fails.
func (s SLO) absentAlerts() []Rule {
	tiers := s.Tiers()
	var out []Rule
	seen := map[string]bool{}
	for _, sel := range s.Selectors {
		if seen[sel] {
			continue
		}
		seen[sel] = true
		labels := s.alertLabels("page")
		labels["severity"] = s.severity("page")
		out = append(out, Rule{
			Alert:       AbsentAlertName,
			Expr:        fmt.Sprintf("absent(%s)", sel),
			For:         FormatWindow(tiers[0].Short),
			Labels:      labels,
			Annotations: s.annotations(fmt.Sprintf("SLO %s has no data: no series of %s; its burn-rate alerts cannot fire", s.ID(), sel)),
		})
	}
	return out
}

// YAML renders the rule file.
func (f RuleFile) YAML() ([]byte, error) {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(f); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// PrometheusRuleMeta is the metadata of a PrometheusRule resource
// (monitoring.coreos.com/v1), as prometheus-operator selects it.
type PrometheusRuleMeta struct {
	Name      string            `yaml:"name"`
	Namespace string            `yaml:"namespace,omitempty"`
	Labels    map[string]string `yaml:"labels,omitempty"`
}

// PrometheusRule is the rule file as a prometheus-operator custom
// resource: its spec is the rule file.
type PrometheusRule struct {
	APIVersion string             `yaml:"apiVersion"`
	Kind       string             `yaml:"kind"`
	Metadata   PrometheusRuleMeta `yaml:"metadata"`
	Spec       RuleFile           `yaml:"spec"`
}

// PrometheusRules writes one PrometheusRule resource per entry as a
// multi-document YAML stream, in order.
func PrometheusRules(rules []PrometheusRule) ([]byte, error) {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	for _, r := range rules {
		r.APIVersion, r.Kind = "monitoring.coreos.com/v1", "PrometheusRule"
		if err := enc.Encode(r); err != nil {
			return nil, err
		}
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
