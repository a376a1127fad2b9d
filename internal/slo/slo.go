// Package slo models service level objectives the way the gates and the
// generated Prometheus rules share them: an error ratio built from a bad/total
// or good/total pair of PromQL queries, an objective and a period; burn rates
// over the standard windows; error budget remaining; and the multi-window,
// multi-burn-rate alerting tiers of the SRE workbook (Sloth, Pyrra).
//
// The package holds no I/O: a gate evaluates the queries it builds, and
// Rules renders the same queries as recording and alerting rules, so alerts
// and gates agree.
package slo

import (
	"fmt"
	"math"
	"math/big"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// WindowPlaceholder is replaced by a window ("5m", "1h", "30d") in the
// bad, good and total queries.
const WindowPlaceholder = "{{.window}}"

// Day is 24 hours.
const Day = 24 * time.Hour

// Windows are the burn-rate windows every SLO reports, those within its
// period (see ReportWindows).
var Windows = []time.Duration{5 * time.Minute, 30 * time.Minute, time.Hour, 2 * time.Hour, 6 * time.Hour, Day, 3 * Day}

// SLO is one objective over an error ratio.
type SLO struct {
	// Service and Name identify the SLO: two services may each have an
	// "availability" SLO. They are the `service` and `slo` labels of the
	// generated rules. A policy's service is the gate id unless it names
	// one.
	Service, Name string
	// Objective is the target good ratio, e.g. 0.999 (ObjectiveRatio turns
	// a percentage as written into it). It is read as the shortest decimal
	// that gives back the same float64, so that the budget is exact: see
	// ErrorBudget.
	Objective float64
	// Period is the compliance window, e.g. 30 days.
	Period time.Duration
	// Selectors are the series selectors of Total, e.g.
	// http_requests_total{job="api"} (the caller parses them out of the
	// query): Rules alerts when every series of one is absent, since the
	// burn-rate alerts go silent without data. Optional.
	Selectors []string
	// AveragePeriod records the period's error ratio as the average of the
	// recorded 5m ratios over the period (as Sloth does) instead of
	// evaluating the queries over the whole period: for SLIs built on
	// subqueries, whose period query re-evaluates the subquery at every
	// step of the period at every rule evaluation. It approximates the
	// exact ratio: every 5m evaluation weighs the same whatever its
	// traffic (exact under steady traffic, quiet hours weigh more), and
	// the period only fills as the rule runs. The gate still evaluates the
	// exact ratio.
	AveragePeriod bool
	// Alerts names and labels the generated alerts; the zero value gives
	// the defaults.
	Alerts Alerts
	// Bad or Good (exactly one) and Total are PromQL queries over counters
	// containing WindowPlaceholder, e.g.
	// sum by (tenant) (rate(http_requests_total{code=~"5.."}[{{.window}}])).
	Bad, Good, Total string
}

var nameRE = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_-]*$`)

// Alerts are the policy's say over the generated alerts.
type Alerts struct {
	// Name of the burn-rate alerts; default AlertName.
	Name string
	// PageSeverity and TicketSeverity are the severity label values of the
	// page and ticket tiers; default "page" and "ticket".
	PageSeverity, TicketSeverity string
	// Labels are added to every alert, e.g. team: payments.
	Labels map[string]string
	// PageLabels and TicketLabels are added to the page and to the ticket
	// alerts (Sloth's page_alert and ticket_alert labels).
	PageLabels, TicketLabels map[string]string
	// Annotations are added to every alert, e.g. runbook_url; a summary
	// replaces releasegate's.
	Annotations map[string]string
}

// reservedLabels are set by the generated rules or come from the queries.
var reservedLabels = []string{"service", "slo", "severity", "window", "tenant", "alertname"}

var labelRE = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)

// validate reports every problem, each a *FieldError under alerts.
func (a Alerts) validate() []error {
	var errs []error
	bad := func(field string, format string, args ...any) {
		errs = append(errs, &FieldError{Field: "alerts." + field, Err: fmt.Errorf(format, args...)})
	}
	if a.Name != "" && !labelRE.MatchString(a.Name) {
		bad("name", "%q: expected letters, digits and _, e.g. CheckoutErrorBudgetBurn", a.Name)
	}
	for k, v := range map[string]string{"page-severity": a.PageSeverity, "ticket-severity": a.TicketSeverity} {
		if strings.TrimSpace(v) != v {
			bad(k, "%q has leading or trailing spaces", v)
		}
	}
	for _, set := range []struct {
		key    string
		labels map[string]string
	}{{"labels", a.Labels}, {"page-labels", a.PageLabels}, {"ticket-labels", a.TicketLabels}} {
		for _, k := range sortedKeys(set.labels) {
			switch {
			case !labelRE.MatchString(k):
				bad(set.key+"."+k, "%q is not a label name: expected letters, digits and _", k)
			case slices.Contains(reservedLabels, k):
				bad(set.key+"."+k, "%s is set by the generated rules (reserved: %s)", k, strings.Join(reservedLabels, ", "))
			}
		}
	}
	for _, k := range sortedKeys(a.Annotations) {
		if !labelRE.MatchString(k) {
			bad("annotations."+k, "%q is not an annotation name: expected letters, digits and _", k)
		}
	}
	return errs
}

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// CheckName reports whether s is a valid SLO or service name: letters,
// digits, _ and -, starting with a letter or _ (a valid label value, and
// free of the @ and / that join names in group names and IDs).
func CheckName(s string) error {
	if !nameRE.MatchString(s) {
		return fmt.Errorf("%q: expected letters, digits, _ and -", s)
	}
	return nil
}

// FieldError is a problem with one field of an SLO. Field is the field's
// key as a policy writes it: name, objective, period, bad, good or total.
type FieldError struct {
	Field string
	Err   error
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Err.Error() }

// Unwrap returns the wrapped error.
func (e *FieldError) Unwrap() error { return e.Err }

// Validate reports every problem with the SLO's fields, each a
// *FieldError (not PromQL syntax, which the caller checks with its parser
// on ErrorRatioQuery).
func (s SLO) Validate() []error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, &FieldError{Field: field, Err: fmt.Errorf(format, args...)})
	}
	if err := CheckName(s.Name); err != nil {
		errs = append(errs, &FieldError{Field: "name", Err: err})
	}
	if err := CheckName(s.Service); err != nil && s.Service != "" {
		errs = append(errs, &FieldError{Field: "service", Err: err})
	}
	if !(s.Objective > 0 && s.Objective < 1) {
		bad("objective", "%s: expected a percentage between 0 and 100 exclusive, e.g. 99.9", s.ObjectivePercent())
	}
	if s.Period < time.Hour {
		bad("period", "%s: expected at least 1h, typically 30d", FormatWindow(s.Period))
	}
	switch {
	case s.Bad == "" && s.Good == "":
		bad("bad", "set exactly one of bad and good")
	case s.Bad != "" && s.Good != "":
		bad("good", "set exactly one of bad and good")
	}
	if s.Total == "" {
		bad("total", "required")
	}
	errs = append(errs, s.Alerts.validate()...)
	for _, q := range []struct{ k, v string }{{"bad", s.Bad}, {"good", s.Good}, {"total", s.Total}} {
		if q.v != "" && !strings.Contains(q.v, WindowPlaceholder) {
			bad(q.k, "expected %s in the range selector, e.g. rate(x[%s])", WindowPlaceholder, WindowPlaceholder)
		}
	}
	return errs
}

// ID is "service/name", or the name alone without a service.
func (s SLO) ID() string {
	if s.Service == "" {
		return s.Name
	}
	return s.Service + "/" + s.Name
}

// ErrorBudget is the allowed error ratio, 1 − objective, computed in
// decimal and rounded once: 0.01 for 99%, where 1 − 0.99 in binary floating
// point is 0.010000000000000009 and would make a burn of exactly 2 read as
// 1.9999999999999982.
func (s SLO) ErrorBudget() float64 {
	o, ok := decimal(s.Objective)
	if !ok {
		return 1 - s.Objective // NaN or ±Inf: Validate refuses them
	}
	f, _ := new(big.Rat).Sub(big.NewRat(1, 1), o).Float64()
	return f
}

// ObjectivePercent renders the objective as the percentage it was written
// as, e.g. 99.9.
func (s SLO) ObjectivePercent() string {
	o, ok := decimal(s.Objective)
	if !ok {
		return fmtF(s.Objective * 100)
	}
	f, _ := o.Mul(o, big.NewRat(100, 1)).Float64()
	return fmtF(f)
}

// ObjectiveRatio turns a percentage as written in a policy (99.9) into the
// good ratio (0.999), dividing in decimal: 99.9 / 100 in binary floating
// point is 0.9990000000000001. Decimals of up to 15 significant digits
// are exact.
func ObjectiveRatio(percent float64) float64 {
	p, ok := decimal(percent)
	if !ok {
		return percent / 100
	}
	f, _ := p.Quo(p, big.NewRat(100, 1)).Float64()
	return f
}

// decimal returns f as the shortest decimal that reads back as f: the
// number as a person wrote it, for any decimal of up to 15 significant
// digits.
func decimal(f float64) (*big.Rat, bool) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return nil, false
	}
	return new(big.Rat).SetString(strconv.FormatFloat(f, 'g', -1, 64))
}

// ErrorRatioQuery is the PromQL error ratio over window w.
func (s SLO) ErrorRatioQuery(w time.Duration) string {
	win := FormatWindow(w)
	total := strings.ReplaceAll(s.Total, WindowPlaceholder, win)
	if s.Bad != "" {
		return fmt.Sprintf("(%s) / (%s)", strings.ReplaceAll(s.Bad, WindowPlaceholder, win), total)
	}
	return fmt.Sprintf("1 - ((%s) / (%s))", strings.ReplaceAll(s.Good, WindowPlaceholder, win), total)
}

// BurnRate is how fast an error ratio spends the budget: 1 spends it
// exactly over the period, 14.4 spends 2% of a 30-day budget in an hour.
func (s SLO) BurnRate(errorRatio float64) float64 { return errorRatio / s.ErrorBudget() }

// BudgetRemaining is the fraction of the period's error budget left given
// the error ratio over the whole period; negative when overspent.
func (s SLO) BudgetRemaining(periodErrorRatio float64) float64 {
	return 1 - periodErrorRatio/s.ErrorBudget()
}

// TimeToExhaustion is how long the remaining budget lasts at burn rate b.
// It is 0 when nothing remains and +Inf (ok=false) when b <= 0 or unknown.
func (s SLO) TimeToExhaustion(remaining, burn float64) (d time.Duration, ok bool) {
	if math.IsNaN(remaining) || math.IsNaN(burn) || math.IsInf(burn, 0) || math.IsInf(remaining, 0) {
		return 0, false
	}
	if remaining <= 0 {
		return 0, true
	}
	if burn <= 0 {
		return 0, false
	}
	h := remaining * s.Period.Hours() / burn
	if h > 100*365*24 {
		return 0, false
	}
	return time.Duration(h * float64(time.Hour)), true
}

// Tier is one multi-window burn-rate alert: it fires when the burn rate
// over both Long and Short exceeds Factor.
type Tier struct {
	// Severity is "page" or "ticket".
	Severity string
	// Long and Short are the two windows.
	Long, Short time.Duration
	// BudgetSpent is the fraction of the period's budget spent within Long
	// at the tier's threshold: Factor × Long / Period, e.g. 0.02.
	BudgetSpent float64
	// Factor is the burn-rate threshold.
	Factor float64
	// For is how long the alert condition must hold before the generated
	// alert fires: half the short window, whole minutes, at least 1m (as
	// Pyrra: 2m, 15m, 1h and 3h for 30 days). The gate judges one instant
	// and does not wait.
	For time.Duration
}

// Name is e.g. "page 1h/5m".
func (t Tier) Name() string {
	return fmt.Sprintf("%s %s/%s", t.Severity, FormatWindow(t.Long), FormatWindow(t.Short))
}

// WorkbookPeriod is the period of the SRE workbook's tiers, which Tiers
// scales to other periods.
const WorkbookPeriod = 30 * Day

// MinWindow is the shortest window a tier uses: shorter scaled windows are
// raised to it, so that a rate has several scrapes to work with.
const MinWindow = 5 * time.Minute

// workbook are the SRE workbook's tiers for 30 days.
var workbook = []Tier{
	{Severity: "page", Long: time.Hour, Short: 5 * time.Minute, BudgetSpent: 0.02, Factor: 14.4},
	{Severity: "page", Long: 6 * time.Hour, Short: 30 * time.Minute, BudgetSpent: 0.05, Factor: 6},
	{Severity: "ticket", Long: Day, Short: 2 * time.Hour, BudgetSpent: 0.10, Factor: 3},
	{Severity: "ticket", Long: 3 * Day, Short: 6 * time.Hour, BudgetSpent: 0.10, Factor: 1},
}

// Tiers returns the SRE workbook's multi-window tiers for the SLO's period.
// For 30 days they are 1h/5m ×14.4 and 6h/30m ×6 (page), 1d/2h ×3 and
// 3d/6h ×1 (ticket). For another period the windows scale with it (as
// Pyrra does): window × period / 30d, rounded to the minute, at least
// MinWindow and at most the period; the factors stay, so no tier fires for
// a burn rate of 1 or less (a service meeting its SLO never pages), and
// BudgetSpent says what share of the budget each tier lets go before it
// fires. The gate judges and the generated rules alert on this one table.
func (s SLO) Tiers() []Tier {
	out := make([]Tier, len(workbook))
	for i, t := range workbook {
		t.Long, t.Short = s.scale(t.Long), s.scale(t.Short)
		t.For = max((t.Short / 2).Truncate(time.Minute), time.Minute)
		if s.Period > 0 {
			t.BudgetSpent = roundTo(t.Factor*float64(t.Long)/float64(s.Period), 4)
		}
		out[i] = t
	}
	return out
}

// scale turns a workbook window into the window for the SLO's period.
func (s SLO) scale(w time.Duration) time.Duration {
	d := time.Duration(float64(w) / float64(WorkbookPeriod) * float64(s.Period)).Round(time.Minute)
	if d < MinWindow {
		d = MinWindow
	}
	if d > s.Period && s.Period >= MinWindow {
		d = s.Period
	}
	return d
}

// TierTable renders the tiers for each period as a Markdown table: the
// windows and factors docs/slo.md shows (a test keeps it true).
func TierTable(periods []time.Duration) string {
	var b strings.Builder
	b.WriteString("| period | page (long/short ×factor, budget spent) | page | ticket | ticket |\n|---|---|---|---|---|\n")
	for _, p := range periods {
		b.WriteString("| " + FormatWindow(p) + " |")
		for _, t := range (SLO{Period: p}).Tiers() {
			fmt.Fprintf(&b, " %s/%s ×%s, %s%% |", FormatWindow(t.Long), FormatWindow(t.Short), fmtF(t.Factor), fmtF(roundTo(t.BudgetSpent*100, 2)))
		}
		b.WriteString("\n")
	}
	return b.String()
}

// ReportWindows are the windows the SLO reports burn rates over: Windows
// within the period, every tier's windows and the period itself, without
// duplicates, ascending. The gate queries them and Rules records them.
func (s SLO) ReportWindows() []time.Duration {
	seen := map[time.Duration]bool{}
	var out []time.Duration
	add := func(w time.Duration) {
		if !seen[w] && w <= s.Period {
			seen[w] = true
			out = append(out, w)
		}
	}
	for _, w := range Windows {
		add(w)
	}
	for _, t := range s.Tiers() {
		add(t.Long)
		add(t.Short)
	}
	add(s.Period)
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

func roundTo(f float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	return math.Round(f*p) / p
}

// FormatWindow renders a duration in PromQL form with the largest exact
// unit: 5m, 1h, 3d, 90s.
func FormatWindow(d time.Duration) string {
	switch {
	case d <= 0:
		return "0s"
	case d%Day == 0:
		return fmt.Sprintf("%dd", d/Day)
	case d%time.Hour == 0:
		return fmt.Sprintf("%dh", d/time.Hour)
	case d%time.Minute == 0:
		return fmt.Sprintf("%dm", d/time.Minute)
	case d%time.Second == 0:
		return fmt.Sprintf("%ds", d/time.Second)
	}
	return fmt.Sprintf("%dms", d/time.Millisecond)
}

// FormatDuration renders a time to exhaustion for people: 9h, 2d 4h, 45m.
func FormatDuration(d time.Duration) string {
	switch {
	case d >= Day:
		days := d / Day
		h := (d % Day) / time.Hour
		if h == 0 {
			return fmt.Sprintf("%dd", days)
		}
		return fmt.Sprintf("%dd %dh", days, h)
	case d >= time.Hour:
		return fmt.Sprintf("%dh", int(math.Round(d.Hours())))
	default:
		return fmt.Sprintf("%dm", int(math.Ceil(d.Minutes())))
	}
}

func fmtF(f float64) string { return fmt.Sprintf("%g", f) }
