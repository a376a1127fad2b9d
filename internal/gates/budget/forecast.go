package budgetgate

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/maestro-conductor/releasegate/internal/budget"
	"github.com/maestro-conductor/releasegate/internal/forecast"
	"github.com/maestro-conductor/releasegate/internal/gate"
	"github.com/maestro-conductor/releasegate/internal/policy"
)

// ForecastGate is a cost-forecast gate.
type ForecastGate struct{ *common }

// NewForecast builds a cost-forecast gate.
func NewForecast(m gate.Meta, s Spec, env gate.Env, o Options) (*ForecastGate, error) {
	c, err := newCommon(m, s, env, o)
	if err != nil {
		return nil, err
	}
	if c.spec.Forecast.MaxDrift == 0 {
		c.spec.Forecast.MaxDrift = 0.05
	}
	if c.spec.Forecast.History == 0 {
		c.spec.Forecast.History = policy.Duration(28 * 24 * time.Hour)
	}
	return &ForecastGate{c}, nil
}

// Name implements gate.Gate.
func (g *ForecastGate) Name() string { return g.meta.ID }

// Describe implements gate.Describer.
func (g *ForecastGate) Describe() string {
	return fmt.Sprintf("period-end CI spend forecast of %d tenant(s), drift at most %.0f%% WAPE", len(g.budgets), 100*g.spec.Forecast.MaxDrift)
}

func (g *common) historyStart(asOf time.Time) time.Time {
	first := asOf
	for _, b := range g.budgets {
		if s, _ := b.Period.Bounds(asOf); s.Before(first) {
			first = s
		}
	}
	h := g.spec.Forecast.History.D()
	if h == 0 {
		h = 28 * 24 * time.Hour
	}
	return first.Add(-h)
}

// Run implements gate.Gate.
func (g *ForecastGate) Run(ctx context.Context) (*gate.Result, error) {
	u, err := g.load(ctx, g.historyStart)
	if err != nil {
		return nil, err
	}
	res := &gate.Result{Inputs: u.inputs, Details: map[string]any{"source": u.desc, "as_of": u.asOf}}
	byTenant := u.byTenant(g.tenants)
	var outlooks []Outlook
	for _, b := range g.budgets {
		o, err := g.outlook(b, byTenant[b.Tenant], u)
		if err != nil {
			res.Add(gate.Check{Name: "period-end forecast", Tenant: b.Tenant, Status: gate.StatusFail, Unit: string(b.Unit), Message: err.Error()})
			continue
		}
		outlooks = append(outlooks, *o)
		res.Add(o.forecastCheck(b))
		res.Add(o.driftCheck(g.spec.Forecast.MaxDrift))
	}
	res.Details["forecasts"] = outlooks
	res.Summary = fmt.Sprintf("period-end forecasts for %d tenant(s) from %s", len(g.budgets), u.desc)
	return res, nil
}

// Outlook is one tenant's forecast.
type Outlook struct {
	Tenant string      `json:"tenant"`
	Unit   budget.Unit `json:"unit"`
	AsOf   time.Time   `json:"as_of"`
	// Spent so far in the period; Projected adds the forecast of the rest.
	Spent     float64 `json:"spent"`
	Projected float64 `json:"projected"`
	Low       float64 `json:"low"`
	High      float64 `json:"high"`
	Limit     float64 `json:"limit"`
	// Grace is Limit × (1 + grace-overage): the line the forecast fails at.
	Grace      float64              `json:"grace_limit"`
	Hours      int                  `json:"hours_left"`
	Method     string               `json:"method"`
	Scores     []forecast.Score     `json:"scores"`
	Backtest   *forecast.Backtest   `json:"backtest,omitempty"`
	BacktestEr string               `json:"backtest_error,omitempty"`
	Assessment *budget.Assessment   `json:"-"`
	Prediction *forecast.Prediction `json:"-"`
}

// series returns a tenant's hourly usage from the history start to as-of.
// A file may hold less history than asked for; the series then starts
// where the file starts (the file covers that time for every tenant, so
// hours without rows are real zeros).
func (g *common) series(recs []budget.Record, unit budget.Unit, u *usage) ([]float64, time.Time) {
	start := g.historyStart(u.asOf)
	if !u.covered {
		if first, _ := budget.Span(u.recs); len(u.recs) > 0 && first.After(start) {
			start = first.Truncate(time.Hour)
		}
	}
	return budget.Hourly(recs, unit, start, u.asOf, u.daily), start
}

func (g *common) outlook(b budget.Budget, recs []budget.Record, u *usage) (*Outlook, error) {
	a, err := budget.Assess(b, recs, u.asOf, u.covered)
	if err != nil {
		return nil, err
	}
	series, _ := g.series(recs, b.Unit, u)
	_, end := b.Period.Bounds(u.asOf)
	hours := int(math.Ceil(end.Sub(u.asOf).Hours()))
	o := &Outlook{Tenant: b.Tenant, Unit: b.Unit, AsOf: u.asOf, Spent: a.Spent, Limit: b.Limit, Grace: b.Limit * (1 + b.GraceOverage), Hours: hours, Assessment: &a}
	if hours <= 0 {
		o.Projected, o.Low, o.High, o.Method = a.Spent, a.Spent, a.Spent, "period over"
	} else {
		p, err := forecast.Select(series, hours, nil)
		if err != nil {
			return nil, fmt.Errorf("tenant %s: cannot forecast the %d hours to the period's end: %w", b.Tenant, hours, err)
		}
		o.Prediction = p
		o.Method, o.Scores = p.Method, p.Scores
		o.Projected, o.Low, o.High = a.Spent+p.Total, a.Spent+p.Low, a.Spent+p.High
	}
	bt, err := forecast.RunBacktest(series, 24, nil)
	if err != nil {
		o.BacktestEr = err.Error()
	} else {
		o.Backtest = bt
	}
	return o, nil
}

func (o *Outlook) fmt(v float64) string {
	if o.Unit == budget.USD {
		return fmt.Sprintf("$%.2f", v)
	}
	return fmt.Sprintf("%.0f min", v)
}

// methodText names the chosen method, the backtest it was chosen on and a
// level shift it adapted to.
func (o *Outlook) methodText() string {
	p := o.Prediction
	if p == nil || p.Windows == 0 {
		return o.Method
	}
	t := fmt.Sprintf("%s, chosen on %d×%dh backtest windows", o.Method, p.Windows, p.WindowHours)
	if p.Shift != nil {
		t += fmt.Sprintf(" after a level shift ×%.2f %dh ago", p.Shift.Ratio, p.Shift.HoursAgo)
	}
	return t
}

func (o *Outlook) forecastCheck(b budget.Budget) gate.Check {
	c := gate.Check{Name: "period-end forecast", Tenant: o.Tenant, Observed: gate.Number(round2(o.Projected)), Unit: string(o.Unit),
		Expected: fmt.Sprintf("<= %g", o.Grace)}
	what := fmt.Sprintf("tenant %s: %s spent, %s forecast by the end of the %s (90%% interval %s–%s, %s, %dh left)",
		o.Tenant, o.fmt(o.Spent), o.fmt(o.Projected), b.Period, o.fmt(o.Low), o.fmt(o.High), o.methodText(), o.Hours)
	switch {
	case o.Projected > o.Grace:
		c.Status = gate.StatusFail
		c.Message = fmt.Sprintf("%s; expected at most %s (limit plus grace); cut CI usage or raise the budget before the period ends", what, o.fmt(o.Grace))
	case o.Projected > o.Limit || o.High > o.Grace:
		c.Status = gate.StatusWarn
		c.Message = fmt.Sprintf("%s; within grace (%s) but at risk of exceeding the limit %s; watch the heaviest workflows", what, o.fmt(o.Grace), o.fmt(o.Limit))
	default:
		c.Status = gate.StatusPass
		c.Message = fmt.Sprintf("%s; within the limit %s", what, o.fmt(o.Limit))
	}
	return c
}

func (o *Outlook) driftCheck(maxDrift float64) gate.Check {
	c := gate.Check{Name: "forecast drift (24h backtest WAPE)", Tenant: o.Tenant, Unit: "ratio", Expected: fmt.Sprintf("<= %g", maxDrift)}
	if o.Backtest == nil {
		c.Status = gate.StatusFail
		c.Message = fmt.Sprintf("tenant %s: the forecast's accuracy could not be measured: %s", o.Tenant, o.BacktestEr)
		return c
	}
	w := o.Backtest.WAPE
	c.Observed = gate.Number(w)
	pred := o.Backtest.Prediction
	what := fmt.Sprintf("tenant %s: the last 24h forecast from the history before them was %s (%s), actual %s: WAPE %.1f%%",
		o.Tenant, o.fmt(pred.Total), pred.Method, o.fmt(o.Backtest.ActualTotal), 100*w)
	if math.IsInf(w, 1) {
		what = fmt.Sprintf("tenant %s: the last 24h had no usage but %s was forecast: WAPE undefined", o.Tenant, o.fmt(pred.Total))
	}
	if w <= maxDrift {
		c.Status = gate.StatusPass
		c.Message = fmt.Sprintf("%s, within %.1f%%", what, 100*maxDrift)
	} else {
		c.Status = gate.StatusFail
		c.Message = fmt.Sprintf("%s; expected at most %.1f%%; the forecast is not reliable for this tenant: check for a change in its CI load", what, 100*maxDrift)
	}
	return c
}

// DriftGate is the forecast command's backtest of one tenant as a gate, so
// that gate.Runner judges, stamps and renders it like every other.
type DriftGate struct {
	f        *ForecastGate
	id       string
	tenant   string
	hours    int
	maxDrift float64
}

// DriftGate returns the gate, named id, that backtests tenant's last hours
// hours from the history before them against maxDrift (WAPE, 0.05 = 5 %).
func (g *ForecastGate) DriftGate(id, tenant string, hours int, maxDrift float64) *DriftGate {
	return &DriftGate{f: g, id: id, tenant: tenant, hours: hours, maxDrift: maxDrift}
}

// Name implements gate.Gate.
func (d *DriftGate) Name() string { return d.id }

// Run implements gate.Gate.
func (d *DriftGate) Run(ctx context.Context) (*gate.Result, error) {
	return d.f.drift(ctx, d.tenant, d.hours, d.maxDrift)
}

// drift backtests one tenant's last `hours` hours from the history before
// them and returns the result with the tenant's WAPE check.
func (g *ForecastGate) drift(ctx context.Context, tenant string, hours int, maxDrift float64) (*gate.Result, error) {
	var b *budget.Budget
	for i := range g.budgets {
		if g.budgets[i].Tenant == tenant {
			b = &g.budgets[i]
		}
	}
	unit := budget.USD
	if b != nil {
		unit = b.Unit
	}
	if _, ok := g.tenants.Find(tenant); !ok {
		return nil, &gate.InputError{Input: "tenant", Err: fmt.Errorf("no tenant named %q in the gate's tenants", tenant)}
	}
	u, err := g.load(ctx, g.historyStart)
	if err != nil {
		return nil, err
	}
	recs := u.byTenant(g.tenants)[tenant]
	if len(recs) == 0 && !u.covered {
		return nil, fmt.Errorf("%w: tenant %s has no usage in %s; expected rows for its repositories", gate.ErrNoData, tenant, u.desc)
	}
	series, start := g.series(recs, unit, u)
	res := &gate.Result{Inputs: u.inputs, Details: map[string]any{"source": u.desc, "as_of": u.asOf, "history_start": start}}
	bt, err := forecast.RunBacktest(series, hours, nil)
	o := &Outlook{Tenant: tenant, Unit: unit, AsOf: u.asOf, Backtest: bt}
	if err != nil {
		if !errors.Is(err, forecast.ErrTooShort) && !errors.Is(err, forecast.ErrNonFinite) {
			return nil, err
		}
		o.BacktestEr = err.Error()
	}
	c := o.driftCheck(maxDrift)
	c.Name = fmt.Sprintf("forecast drift (%dh backtest WAPE)", hours)
	if hours != 24 {
		c.Message = strings.Replace(c.Message, "the last 24h", fmt.Sprintf("the last %dh", hours), 1)
	}
	res.Add(c)
	if bt != nil {
		res.Details["backtest"] = bt
	}
	if bt != nil {
		res.Summary = fmt.Sprintf("tenant %s: last %dh forecast from the history before them with %s: drift (WAPE) %.1f%%, bound %.1f%%; from %s",
			tenant, hours, bt.Prediction.Method, 100*bt.WAPE, 100*maxDrift, u.desc)
	} else {
		res.Summary = fmt.Sprintf("tenant %s: the last %dh could not be backtested; from %s", tenant, hours, u.desc)
	}
	return res, nil
}
