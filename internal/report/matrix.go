package report

import (
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/maestro-conductor/releasegate/internal/gate"
)

// noTenant is the matrix column of checks that name no tenant.
const noTenant = ""

// Matrix is the tenant × gate view of a run: for each gate (in the order
// given) and each tenant a check named, the worst status of those checks.
// It only reads the checks' statuses; the gate's own status is its Result's.
type Matrix struct {
	// Tenants are the columns in order of first appearance; NoTenant, when
	// some check names no tenant, comes last.
	Tenants []string
	cells   []map[string]gate.Status
}

// NewMatrix builds the matrix of results.
func NewMatrix(results []gate.Result) *Matrix {
	m := &Matrix{cells: make([]map[string]gate.Status, len(results))}
	untenanted := false
	for i, r := range results {
		m.cells[i] = map[string]gate.Status{}
		for _, c := range r.Checks {
			if c.Tenant == noTenant {
				untenanted = true
			} else if !slices.Contains(m.Tenants, c.Tenant) {
				m.Tenants = append(m.Tenants, c.Tenant)
			}
			if s, ok := m.cells[i][c.Tenant]; !ok || c.Status.Worse(s) {
				m.cells[i][c.Tenant] = c.Status
			}
		}
	}
	if len(m.Tenants) > 0 && untenanted {
		m.Tenants = append(m.Tenants, noTenant)
	}
	return m
}

// Cell returns the worst status of gate i's checks for tenant, and false
// when the gate has no check for it.
func (m *Matrix) Cell(i int, tenant string) (gate.Status, bool) {
	s, ok := m.cells[i][tenant]
	return s, ok
}

// TenantLabel is the column heading of tenant.
func (m *Matrix) TenantLabel(tenant string) string {
	if tenant == noTenant {
		return "(all)"
	}
	return tenant
}

// WorstFirst returns the results with blocking ones first (fail, then
// error), then warnings and skips, then passes; policy order within each.
func WorstFirst(results []gate.Result) []gate.Result {
	out := slices.Clone(results)
	rank := func(r gate.Result) int {
		for i, s := range gate.Statuses() {
			if s == r.Status {
				return i + 1
			}
		}
		return len(gate.Statuses()) + 1 // unknown statuses are worse than anything known
	}
	slices.SortStableFunc(out, func(a, b gate.Result) int { return rank(b) - rank(a) })
	return out
}

// Elapsed is how long a gate ran, from its start and finish times when it
// has them (so 840µs reads "840 µs", not "0 ms"), else from DurationMS; a
// run shorter than the clock's resolution reads "< 1 ms", never "0".
func Elapsed(r *gate.Result) string {
	d := time.Duration(r.DurationMS) * time.Millisecond
	if !r.StartedAt.IsZero() && r.FinishedAt.After(r.StartedAt) {
		d = r.FinishedAt.Sub(r.StartedAt)
	}
	return FormatDuration(d)
}

// FormatDuration formats d with three significant digits in the largest
// unit that keeps it at least 1: 840 µs, 2.43 ms, 7.02 s, 3.5 min. It never
// shows a non-zero duration as 0; zero (nothing measured) reads "< 1 ms".
func FormatDuration(d time.Duration) string {
	switch {
	case d <= 0:
		return "< 1 ms"
	case d < time.Microsecond:
		return fmt.Sprintf("%d ns", d.Nanoseconds())
	case d < time.Millisecond:
		return sig3(float64(d)/float64(time.Microsecond)) + " µs"
	case d < time.Second:
		return sig3(float64(d)/float64(time.Millisecond)) + " ms"
	case d < 2*time.Minute:
		return sig3(d.Seconds()) + " s"
	}
	return sig3(d.Minutes()) + " min"
}

// sig3 formats f (>= 1) with three significant digits, trailing zeros cut.
func sig3(f float64) string {
	r, err := strconv.ParseFloat(fmt.Sprintf("%.3g", f), 64)
	if err != nil {
		return gate.FormatFloat(f)
	}
	return gate.FormatFloat(r)
}
