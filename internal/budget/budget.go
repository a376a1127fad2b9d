package budget

import (
	"errors"
	"fmt"
	"math"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/maestro-conductor/releasegate/internal/gate"
)

// Period is the window a budget resets over.
type Period string

// The budget periods.
const (
	Month Period = "month"
	Week  Period = "week"
)

// Bounds returns the UTC period containing t: a calendar month, or an ISO
// week starting Monday 00:00.
func (p Period) Bounds(t time.Time) (start, end time.Time) {
	t = t.UTC()
	switch p {
	case Week:
		d := (int(t.Weekday()) + 6) % 7
		start = time.Date(t.Year(), t.Month(), t.Day()-d, 0, 0, 0, 0, time.UTC)
		return start, start.AddDate(0, 0, 7)
	default:
		start = time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
		return start, start.AddDate(0, 1, 0)
	}
}

// Budget is one tenant's spending limit.
type Budget struct {
	// Tenant names the tenant the budget applies to.
	Tenant string
	// Period is month or week.
	Period Period
	// Limit is the hard limit in Unit.
	Limit float64
	// Unit is USD or minutes.
	Unit Unit
	// Warn are fractions of Limit that raise a warning, e.g. 0.75, 0.9.
	Warn []float64
	// Grace is how long after crossing the limit the tenant is tolerated.
	Grace time.Duration
	// GraceOverage is the fraction above Limit tolerated, e.g. 0.1.
	GraceOverage float64
	// Protected are workflow globs (path, file name or name) never throttled.
	Protected []string
}

// Validate reports every problem with the budget at once.
func (b Budget) Validate(field string) []error {
	var errs []error
	bad := func(f string, format string, args ...any) {
		errs = append(errs, &gate.InputError{Input: field + "." + f, Err: fmt.Errorf(format, args...)})
	}
	if b.Tenant == "" {
		bad("tenant", "empty; name the tenant the budget applies to")
	}
	if b.Period != Month && b.Period != Week {
		bad("period", "%q is not a period; expected month or week", b.Period)
	}
	if !(b.Limit > 0) || math.IsInf(b.Limit, 0) {
		bad("limit", "%v is not a positive budget; expected e.g. 500 (USD) or 20000 (minutes)", b.Limit)
	}
	if b.Unit != USD && b.Unit != Minutes {
		bad("unit", "%q is not a unit; expected USD or minutes", b.Unit)
	}
	for i, w := range b.Warn {
		if !(w > 0 && w < 1) {
			bad(fmt.Sprintf("warn[%d]", i), "%v is not a fraction of the budget; expected e.g. 0.75", w)
		}
	}
	if b.GraceOverage < 0 || math.IsNaN(b.GraceOverage) || math.IsInf(b.GraceOverage, 0) {
		bad("grace-overage", "%v is not a non-negative fraction; expected e.g. 0.1 for 10%%", b.GraceOverage)
	}
	if b.Grace < 0 {
		bad("grace", "%v is negative", b.Grace)
	}
	for i, p := range b.Protected {
		if _, err := path.Match(p, ""); err != nil {
			bad(fmt.Sprintf("protected[%d]", i), "%q is not a valid glob", p)
		}
	}
	return errs
}

// IsProtected reports whether a workflow (by path, file name or display
// name) matches one of the budget's protected globs.
func (b Budget) IsProtected(workflowPath, workflowName string) bool {
	cands := []string{workflowPath, path.Base(workflowPath), workflowName}
	for _, g := range b.Protected {
		for _, c := range cands {
			if c == "" {
				continue
			}
			if ok, _ := path.Match(strings.ToLower(g), strings.ToLower(c)); ok {
				return true
			}
		}
	}
	return false
}

// Level is where a tenant stands against its budget.
type Level string

// The levels, from best to worst.
const (
	LevelOK    Level = "ok"
	levelWarn  Level = "warning"
	levelGrace Level = "grace"
	LevelOver  Level = "over"
)

// Assessment is a tenant's spend judged against its budget.
type Assessment struct {
	Tenant string `json:"tenant"`
	Period Period `json:"period"`
	// PeriodStart and PeriodEnd bound the budget period.
	PeriodStart time.Time `json:"period_start"`
	PeriodEnd   time.Time `json:"period_end"`
	Unit        Unit      `json:"unit"`
	Spent       float64   `json:"spent"`
	Limit       float64   `json:"limit"`
	// Ratio is Spent / Limit.
	Ratio float64 `json:"ratio"`
	Level Level   `json:"level"`
	// Threshold is the warning fraction crossed, for LevelWarn.
	Threshold float64 `json:"threshold,omitempty"`
	// CrossedAt is the hour the cumulative spend first reached Limit.
	CrossedAt *time.Time `json:"crossed_at,omitempty"`
	// GraceEnds is when a time grace runs out.
	GraceEnds *time.Time `json:"grace_ends,omitempty"`
	// Message says what was expected, found, and what to do.
	Message string `json:"message"`
}

// errNoUsage means there is no usage at all for a tenant's period; it is
// never read as zero spend.
var errNoUsage = errors.New("no usage data for the tenant's period")

// Assess judges the tenant's records against the budget at time now. The
// records must come from a source that covers the period (a tenant with
// no jobs yields an empty slice only if covered is true; then spend is
// zero). Grace by time holds until CrossedAt+Grace; grace by overage holds
// while spend stays within Limit×(1+GraceOverage); with both set, both must
// hold.
func Assess(b Budget, recs []Record, now time.Time, covered bool) (Assessment, error) {
	start, end := b.Period.Bounds(now)
	a := Assessment{Tenant: b.Tenant, Period: b.Period, PeriodStart: start, PeriodEnd: end, Unit: b.Unit, Limit: b.Limit}
	var in []Record
	for _, r := range recs {
		if !r.Time.Before(start) && r.Time.Before(end) {
			in = append(in, r)
		}
	}
	if len(in) == 0 && !covered {
		return a, fmt.Errorf("tenant %s: %w %s to %s; expected usage rows or jobs in the period; check the usage export's dates or the tenant's repositories",
			b.Tenant, errNoUsage, start.Format(time.DateOnly), end.Format(time.DateOnly))
	}
	sort.SliceStable(in, func(i, j int) bool { return in[i].Time.Before(in[j].Time) })
	for _, r := range in {
		a.Spent += r.Of(b.Unit)
		if a.CrossedAt == nil && a.Spent >= b.Limit {
			t := r.Time
			a.CrossedAt = &t
		}
	}
	a.Ratio = a.Spent / b.Limit
	unit := func(v float64) string {
		if b.Unit == USD {
			return fmtUSD(v)
		}
		return fmt.Sprintf("%.0f min", v)
	}
	switch {
	case a.Spent >= b.Limit:
		inTime := b.Grace > 0 && now.Before(a.CrossedAt.Add(b.Grace))
		inOverage := b.GraceOverage > 0 && a.Spent <= b.Limit*(1+b.GraceOverage)
		hold := (b.Grace > 0 || b.GraceOverage > 0) &&
			(b.Grace == 0 || inTime) && (b.GraceOverage == 0 || inOverage)
		if b.Grace > 0 {
			g := a.CrossedAt.Add(b.Grace)
			a.GraceEnds = &g
		}
		if hold {
			a.Level = levelGrace
			a.Message = fmt.Sprintf("tenant %s: %s of %s %s budget spent (%.0f%%), over the limit since %s but within grace%s; expected at most %s; cut CI usage before grace ends",
				b.Tenant, unit(a.Spent), unit(b.Limit), b.Period, 100*a.Ratio, a.CrossedAt.Format(time.RFC3339), graceText(b, a), unit(b.Limit))
		} else {
			a.Level = LevelOver
			a.Message = fmt.Sprintf("tenant %s: %s of %s %s budget spent (%.0f%%), over the limit since %s and past grace%s; expected at most %s; unprotected workflows are throttled until the period ends on %s or the budget is raised",
				b.Tenant, unit(a.Spent), unit(b.Limit), b.Period, 100*a.Ratio, a.CrossedAt.Format(time.RFC3339), graceText(b, a), unit(b.Limit), end.Format(time.DateOnly))
		}
	default:
		a.Level = LevelOK
		ws := append([]float64(nil), b.Warn...)
		sort.Float64s(ws)
		for _, w := range ws {
			if a.Ratio >= w {
				a.Level, a.Threshold = levelWarn, w
			}
		}
		if a.Level == levelWarn {
			a.Message = fmt.Sprintf("tenant %s: %s of %s %s budget spent (%.0f%%), past the %.0f%% warning; expected below %s; review the heaviest workflows",
				b.Tenant, unit(a.Spent), unit(b.Limit), b.Period, 100*a.Ratio, 100*a.Threshold, unit(a.Threshold*b.Limit))
		} else {
			a.Message = fmt.Sprintf("tenant %s: %s of %s %s budget spent (%.0f%%)", b.Tenant, unit(a.Spent), unit(b.Limit), b.Period, 100*a.Ratio)
		}
	}
	return a, nil
}

func graceText(b Budget, a Assessment) string {
	var parts []string
	if b.Grace > 0 {
		parts = append(parts, fmt.Sprintf("%s after crossing, until %s", b.Grace, a.GraceEnds.Format(time.RFC3339)))
	}
	if b.GraceOverage > 0 {
		parts = append(parts, fmt.Sprintf("%.0f%% overage", 100*b.GraceOverage))
	}
	if len(parts) == 0 {
		return " (no grace configured)"
	}
	return " (" + strings.Join(parts, ", ") + ")"
}

// Status maps a level to a check status: over fails, grace and warning
// warn, ok passes.
func (l Level) Status() gate.Status {
	switch l {
	case LevelOver:
		return gate.StatusFail
	case levelGrace, levelWarn:
		return gate.StatusWarn
	case LevelOK:
		return gate.StatusPass
	}
	return gate.StatusFail
}
