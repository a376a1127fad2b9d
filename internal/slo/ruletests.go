package slo

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
	"gopkg.in/yaml.v3"
)

// Burn rates of the generated rule tests, as multiples of the error budget.
const (
	FastBurn    = 20  // pages: above the fast page tier's 14.4
	SlowBurn    = 2   // tickets (3d/6h ×1 for 30 days), never pages
	HealthyBurn = 0.5 // meets the SLO: silent
)

// TestEvaluationInterval is the rule tests' evaluation interval: 5m keeps
// promtool fast (0.8 s where 1m takes 13 s for a 30-day SLO).
const TestEvaluationInterval = 5 * time.Minute

// testRequests is the requests a minute of the generated series.
const testRequests = 1000

// ErrTestSeries is returned when RuleTests cannot build series that the
// SLI's queries select (a regexp no usual label value matches, or no
// selector telling bad requests from good ones, or a templated
// annotation).
var ErrTestSeries = errors.New("cannot build test series")

// RuleTests returns a `promtool test rules` file for the rules Rules
// generates for slos, read from rulesFile (relative to the test file). For
// every SLO it shows: a fast burn (20× the budget) paging within the fast
// page tier's short window and for:, a slow burn (2×) ticketing without
// paging, a healthy service (0.5×) silent, recovery clearing every alert,
// and, for the whole file, missing series firing SLOMetricAbsent. The
// series are counters of testRequests a minute built from the selectors of
// the SLI's queries, without a tenant label.
func RuleTests(slos []SLO, rulesFile string) ([]byte, error) {
	f := ruleTestFile{RuleFiles: []string{rulesFile}, EvaluationInterval: FormatWindow(TestEvaluationInterval)}
	sims := make([]*sim, len(slos))
	for i, s := range slos {
		sm, err := newSim(s)
		if err != nil {
			return nil, fmt.Errorf("slo %s: %w", s.ID(), err)
		}
		sims[i] = sm
	}
	keys := make([]string, len(sims))
	for i, sm := range sims {
		keys[i] = sm.key()
	}
	for i := range sims {
		for j := range i {
			if keys[i] != keys[j] && sims[i].overlaps(sims[j]) {
				return nil, fmt.Errorf("%w: slo %s and slo %s share some series but not all; write the rule tests by hand", ErrTestSeries, slos[j].ID(), slos[i].ID())
			}
		}
	}
	var names []string
	seenName := map[string]bool{}
	for _, sm := range sims {
		if n := sm.alertName(); !seenName[n] {
			seenName[n] = true
			names = append(names, n)
		}
	}
	var absent []expAlert
	var absentFor time.Duration
	for i, sm := range sims {
		var family []*sim
		var background []*sim
		seenKey := map[string]bool{keys[i]: true}
		for j, o := range sims {
			switch {
			case keys[j] == keys[i]:
				family = append(family, o)
			case !seenKey[keys[j]]:
				seenKey[keys[j]] = true
				background = append(background, o)
			}
		}
		f.Tests = append(f.Tests, sm.tests(family, background, names)...)
		for _, r := range Rules([]SLO{sm.s}).Groups[0].Rules {
			if r.Alert == AbsentAlertName {
				absent = append(absent, expAlert{Labels: sm.absentLabels(r), Annotations: r.Annotations})
				absentFor = max(absentFor, sm.s.Tiers()[0].Short)
			}
		}
	}
	at := roundUp(absentFor+TestEvaluationInterval, TestEvaluationInterval)
	f.Tests = append(f.Tests, ruleTest{
		Interval: "1m",
		// an unrelated series: no SLI series at all
		InputSeries:   []inputSeries{{Series: "releasegate_rule_test_unrelated", Values: "1x" + strconv.Itoa(int(at/time.Minute))}},
		AlertRuleTest: []alertTest{{EvalTime: FormatWindow(at), Alertname: AbsentAlertName, ExpAlerts: absent}},
	})
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

type ruleTestFile struct {
	RuleFiles          []string   `yaml:"rule_files"`
	EvaluationInterval string     `yaml:"evaluation_interval"`
	Tests              []ruleTest `yaml:"tests"`
}

type ruleTest struct {
	Interval      string        `yaml:"interval"`
	InputSeries   []inputSeries `yaml:"input_series"`
	AlertRuleTest []alertTest   `yaml:"alert_rule_test"`
}

type inputSeries struct {
	Series string `yaml:"series"`
	Values string `yaml:"values"`
}

type alertTest struct {
	EvalTime  string     `yaml:"eval_time"`
	Alertname string     `yaml:"alertname"`
	ExpAlerts []expAlert `yaml:"exp_alerts"`
}

type expAlert struct {
	Labels      map[string]string `yaml:"exp_labels"`
	Annotations map[string]string `yaml:"exp_annotations"`
}

// phase is a stretch of minutes at a burn rate (multiple of the budget).
type phase struct {
	burn    float64
	minutes int
}

// counter is one input series: its labels and whether its rate is the
// errors (bad), the successes (good) or every request (total).
type counter struct {
	labels map[string]string
	kind   string // "bad", "good" or "total"
}

// sim builds the input series of one SLO.
type sim struct {
	s        SLO
	counters []counter
}

func newSim(s SLO) (*sim, error) {
	for _, k := range sortedKeys(s.Alerts.Annotations) {
		if strings.Contains(s.Alerts.Annotations[k], "{{") {
			return nil, fmt.Errorf("%w: annotation %s is a template, whose text the tests cannot foresee; write the rule tests by hand", ErrTestSeries, k)
		}
	}
	totals, err := selectorsOf(s.Total)
	if err != nil {
		return nil, err
	}
	numQuery, numKind, otherKind := s.Bad, "bad", "good"
	if s.Good != "" {
		numQuery, numKind, otherKind = s.Good, "good", "bad"
	}
	nums, err := selectorsOf(numQuery)
	if err != nil {
		return nil, err
	}
	sm := &sim{s: s}
	names := map[string]bool{}
	for _, ts := range totals {
		name := metricName(ts)
		if name == "" {
			return nil, fmt.Errorf("%w: total selector %s has no metric name", ErrTestSeries, fmtMatchers(ts))
		}
		names[name] = true
		var narrow []*labels.Matcher
		for _, ns := range nums {
			if metricName(ns) == name {
				narrow = append(narrow, extra(ns, ts)...)
			}
		}
		if len(narrow) == 0 {
			l, err := pick(ts, nil)
			if err != nil {
				return nil, err
			}
			sm.counters = append(sm.counters, counter{l, "total"})
			continue
		}
		in, err := pick(append(append([]*labels.Matcher{}, ts...), narrow...), nil)
		if err != nil {
			return nil, err
		}
		out, err := pick(ts, narrow[0])
		if err != nil {
			return nil, err
		}
		sm.counters = append(sm.counters, counter{in, numKind}, counter{out, otherKind})
	}
	for _, ns := range nums {
		if name := metricName(ns); name != "" && !names[name] {
			l, err := pick(ns, nil)
			if err != nil {
				return nil, err
			}
			sm.counters = append(sm.counters, counter{l, numKind})
			names[name] = true
		}
	}
	hasNum := false
	for _, c := range sm.counters {
		hasNum = hasNum || c.kind == numKind
	}
	if !hasNum {
		return nil, fmt.Errorf("%w: no selector of the %s query narrows the total's series; write the rule tests by hand", ErrTestSeries, numKind)
	}
	return sm, nil
}

// series renders the counters over the phases: testRequests a minute, of
// which burn × budget fail.
func (sm *sim) series(phases []phase) []inputSeries {
	out := make([]inputSeries, 0, len(sm.counters))
	for _, c := range sm.counters {
		var b strings.Builder
		v, first := 0.0, true
		for _, p := range phases {
			bad := min(p.burn*sm.s.ErrorBudget(), 1) * testRequests
			rate := map[string]float64{"bad": bad, "good": testRequests - bad, "total": testRequests}[c.kind]
			rate = roundTo(rate, 9)
			n := p.minutes
			if first {
				fmt.Fprintf(&b, "%s+%sx%d", fmtF(v), fmtF(rate), n)
				v += rate * float64(n)
				first = false
				continue
			}
			fmt.Fprintf(&b, " %s+%sx%d", fmtF(roundTo(v+rate, 9)), fmtF(rate), n-1)
			v += rate * float64(n)
		}
		out = append(out, inputSeries{Series: seriesString(c.labels), Values: b.String()})
	}
	return out
}

// key identifies the SLO's series and what each counts.
func (sm *sim) key() string {
	k := make([]string, len(sm.counters))
	for i, c := range sm.counters {
		k[i] = seriesString(c.labels) + " " + c.kind
	}
	sort.Strings(k)
	return strings.Join(k, "\n")
}

// overlaps reports whether two SLOs share a series.
func (sm *sim) overlaps(o *sim) bool {
	for _, c := range sm.counters {
		for _, d := range o.counters {
			if seriesString(c.labels) == seriesString(d.labels) {
				return true
			}
		}
	}
	return false
}

func (sm *sim) alertName() string {
	if sm.s.Alerts.Name != "" {
		return sm.s.Alerts.Name
	}
	return AlertName
}

// firing lists the burn-rate alerts of the SLO firing at t for an error
// ratio that has held since 0: a tier's condition holds from the first
// evaluation with two samples and fires its for: later.
func (sm *sim) firing(ratio float64, t time.Duration, into map[string][]expAlert) {
	var alerts []Rule // one a tier, in the tiers' order
	for _, r := range Rules([]SLO{sm.s}).Groups[0].Rules {
		if r.Alert == sm.alertName() && r.Labels["window"] != "" {
			alerts = append(alerts, r)
		}
	}
	for i, tier := range sm.s.Tiers() {
		if ratio > tier.Factor*sm.s.ErrorBudget() && TestEvaluationInterval+tier.For <= t {
			into[sm.alertName()] = append(into[sm.alertName()], expAlert{Labels: alerts[i].Labels, Annotations: alerts[i].Annotations})
		}
	}
}

// tests are the SLO's fast burn, slow burn, healthy and recovery tests.
// The family are the SLOs over the same series (sm among them), whose
// alerts fire alike; the background are the other SLOs' series, healthy.
func (sm *sim) tests(family, background []*sim, names []string) []ruleTest {
	tiers := sm.s.Tiers()
	var maxFor, maxShort time.Duration
	for _, o := range family {
		for _, t := range o.s.Tiers() {
			maxFor, maxShort = max(maxFor, t.For), max(maxShort, t.Short)
		}
	}
	test := func(phases []phase, checks ...alertTest) ruleTest {
		n := 0
		for _, p := range phases {
			n += p.minutes
		}
		in := sm.series(phases)
		for _, o := range background {
			in = append(in, o.series([]phase{{0, n}})...)
		}
		return ruleTest{Interval: "1m", InputSeries: in, AlertRuleTest: checks}
	}
	// check expects, at t, the alerts of every SLO of the family for a
	// burn of sm's budget, and no SLOMetricAbsent
	check := func(burn float64, t time.Duration) []alertTest {
		exp := map[string][]expAlert{}
		for _, o := range family {
			o.firing(min(burn*sm.s.ErrorBudget(), 1), t, exp)
		}
		var out []alertTest
		for _, n := range names {
			out = append(out, alertTest{EvalTime: FormatWindow(t), Alertname: n, ExpAlerts: exp[n]})
		}
		return append(out, alertTest{EvalTime: FormatWindow(t), Alertname: AbsentAlertName})
	}
	page := roundUp(TestEvaluationInterval+tiers[0].For, TestEvaluationInterval)
	slow := roundUp(TestEvaluationInterval+maxFor, TestEvaluationInterval)
	cleared := page + roundUp(maxShort+TestEvaluationInterval, TestEvaluationInterval)
	mins := func(d time.Duration) int { return int(d/time.Minute) + 5 }
	return []ruleTest{
		// fast burn: the fast page tier fires within its short window + for:
		test([]phase{{FastBurn, mins(page)}}, check(FastBurn, page)...),
		// slow burn: tickets once the slowest for: has passed, never pages
		test([]phase{{SlowBurn, mins(slow)}}, check(SlowBurn, slow)...),
		// healthy: silent
		test([]phase{{HealthyBurn, mins(slow)}}, check(HealthyBurn, slow)...),
		// recovery: pages, then every alert clears once the errors stop
		test([]phase{{FastBurn, int(page / time.Minute)}, {0, mins(cleared) - int(page/time.Minute)}},
			append(check(FastBurn, page), check(0, cleared)...)...),
	}
}

// absentLabels are the labels of an absent() alert: the equality
// matchers of its selector, then the rule's labels.
func (sm *sim) absentLabels(r Rule) map[string]string {
	l := map[string]string{}
	sel := strings.TrimSuffix(strings.TrimPrefix(r.Expr, "absent("), ")")
	if ms, err := selectorsOf(sel); err == nil && len(ms) == 1 {
		for _, m := range ms[0] {
			if m.Type == labels.MatchEqual && m.Name != model.MetricNameLabel {
				l[m.Name] = m.Value
			}
		}
	}
	for k, v := range r.Labels {
		l[k] = v
	}
	return l
}

var testParser = parser.NewParser(parser.Options{})

// selectorsOf returns the matchers of every vector selector of q.
func selectorsOf(q string) ([][]*labels.Matcher, error) {
	expr, err := testParser.ParseExpr(strings.ReplaceAll(q, WindowPlaceholder, "5m"))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrTestSeries, err)
	}
	var out [][]*labels.Matcher
	parser.Inspect(expr, func(n parser.Node, _ []parser.Node) error {
		if vs, ok := n.(*parser.VectorSelector); ok {
			out = append(out, vs.LabelMatchers)
		}
		return nil
	})
	return out, nil
}

func metricName(ms []*labels.Matcher) string {
	for _, m := range ms {
		if m.Name == model.MetricNameLabel && m.Type == labels.MatchEqual {
			return m.Value
		}
	}
	return ""
}

// extra are the matchers of ns that ts lacks.
func extra(ns, ts []*labels.Matcher) []*labels.Matcher {
	var out []*labels.Matcher
	for _, m := range ns {
		found := false
		for _, t := range ts {
			found = found || m.String() == t.String()
		}
		if !found {
			out = append(out, m)
		}
	}
	return out
}

var regexLiteral = strings.NewReplacer(".+", "0", ".*", "", ".", "0", "^", "", "$", "", "(", "", ")", "", "?", "")

// pick chooses label values matching every matcher of ms and, if fail is
// set, not matching fail.
func pick(ms []*labels.Matcher, fail *labels.Matcher) (map[string]string, error) {
	byName := map[string][]*labels.Matcher{}
	for _, m := range ms {
		byName[m.Name] = append(byName[m.Name], m)
	}
	if fail != nil {
		if _, ok := byName[fail.Name]; !ok {
			byName[fail.Name] = nil
		}
	}
	l := map[string]string{}
	for name, group := range byName {
		var cands []string
		for _, m := range group {
			switch m.Type {
			case labels.MatchEqual:
				cands = append(cands, m.Value)
			case labels.MatchRegexp:
				cands = append(cands, regexLiteral.Replace(strings.Split(m.Value, "|")[0]))
			}
		}
		cands = append(cands, "200", "2xx", "ok", "success", "false", "0", "500", "503", "5xx", "error", "true", "1", "x", "")
		found := false
		for _, c := range cands {
			ok := true
			for _, m := range group {
				ok = ok && m.Matches(c)
			}
			if fail != nil && fail.Name == name {
				ok = ok && !fail.Matches(c)
			}
			if ok {
				if c != "" {
					l[name] = c
				}
				found = true
				break
			}
		}
		if !found {
			what := fmtMatchers(group)
			if fail != nil && fail.Name == name {
				what += " and not " + fail.String()
			}
			return nil, fmt.Errorf("%w: no value of label %s matches %s; write the rule tests by hand", ErrTestSeries, name, what)
		}
	}
	if l[model.MetricNameLabel] == "" {
		return nil, fmt.Errorf("%w: selector %s has no metric name", ErrTestSeries, fmtMatchers(ms))
	}
	return l, nil
}

func fmtMatchers(ms []*labels.Matcher) string {
	s := make([]string, len(ms))
	for i, m := range ms {
		s[i] = m.String()
	}
	return "{" + strings.Join(s, ",") + "}"
}

var labelNameRE = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)

// seriesString renders name{k="v",…} with sorted labels.
func seriesString(l map[string]string) string {
	keys := make([]string, 0, len(l))
	for k := range l {
		if k != model.MetricNameLabel && labelNameRE.MatchString(k) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + strconv.Quote(l[k])
	}
	if len(parts) == 0 {
		return l[model.MetricNameLabel]
	}
	return l[model.MetricNameLabel] + "{" + strings.Join(parts, ",") + "}"
}

func roundUp(d, to time.Duration) time.Duration {
	return (d + to - 1).Truncate(to)
}
