// Package budget turns GitHub Actions usage into per-tenant spend, judges it
// against budgets with warning levels and grace, plans throttling of
// unprotected workflows, and sends signed notifications.
//
// Usage comes either from workflow jobs (each job's started_at and
// completed_at, rounded up to a whole minute, priced by its runner labels
// through a Prices table) or from GitHub's enhanced billing usage report
// (the REST endpoint or its CSV export). The package holds the domain only:
// the GitHub REST adapter lives in internal/githubapi and satisfies the
// Source and Actuator interfaces declared here.
package budget

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"time"
)

// Record is GitHub Actions usage of one SKU in one repository during one
// time bucket (an hour for job-derived usage, a day or an hour for usage
// reports).
type Record struct {
	// Time is the start of the bucket, UTC.
	Time time.Time `json:"time"`
	// Org is the organization, when known.
	Org string `json:"org,omitempty"`
	// Repo is the repository, "owner/name" or "name" as the source gives it.
	Repo string `json:"repo"`
	// Workflow is the workflow path, when the source gives it.
	Workflow string `json:"workflow,omitempty"`
	// SKU is the normalized billing SKU, e.g. "linux", "linux_4_core".
	SKU string `json:"sku"`
	// Minutes are billable minutes (whole minutes per job).
	Minutes float64 `json:"minutes"`
	// USD is the cost of those minutes.
	USD float64 `json:"usd"`
}

// NormalizeSKU maps the spellings GitHub uses for one SKU ("Actions Linux"
// in the REST API, "actions_linux" in exports, "linux" in the pricing
// reference) to one form: lowercase, underscores, no "actions_" prefix.
func NormalizeSKU(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	s = strings.NewReplacer(" ", "_", "-", "_").Replace(s)
	return strings.TrimPrefix(s, "actions_")
}

// Unit is what a budget counts.
type Unit string

// The units a budget can be written in.
const (
	USD     Unit = "USD"
	Minutes Unit = "minutes"
)

// Of returns the record's amount in unit u.
func (r Record) Of(u Unit) float64 {
	if u == Minutes {
		return r.Minutes
	}
	return r.USD
}

// Hourly sums the records' amounts in unit u into hourly buckets over
// [start, end). Records outside the range are ignored. Records with a
// day-long bucket (Time at midnight and Daily true) are spread evenly over
// the day's hours.
func Hourly(recs []Record, u Unit, start, end time.Time, daily bool) []float64 {
	start, end = start.UTC().Truncate(time.Hour), end.UTC()
	n := int(math.Ceil(end.Sub(start).Hours()))
	if n <= 0 {
		return nil
	}
	out := make([]float64, n)
	for _, r := range recs {
		t := r.Time.UTC()
		if daily {
			for h := 0; h < 24; h++ {
				i := int(t.Add(time.Duration(h) * time.Hour).Sub(start).Hours())
				if i >= 0 && i < n {
					out[i] += r.Of(u) / 24
				}
			}
			continue
		}
		i := int(math.Floor(t.Sub(start).Hours()))
		if i >= 0 && i < n {
			out[i] += r.Of(u)
		}
	}
	return out
}

// Total sums the records' amounts in unit u over [start, end).
func Total(recs []Record, u Unit, start, end time.Time) float64 {
	var s float64
	for _, r := range recs {
		if !r.Time.Before(start) && r.Time.Before(end) {
			s += r.Of(u)
		}
	}
	return s
}

// Span returns the earliest and latest record times.
func Span(recs []Record) (first, last time.Time) {
	for i, r := range recs {
		if i == 0 || r.Time.Before(first) {
			first = r.Time
		}
		if i == 0 || r.Time.After(last) {
			last = r.Time
		}
	}
	return first, last
}

// ByTenant splits records by the tenant their repository belongs to; topics
// maps repositories to their topics for tenants defined by topic (nil when
// the source cannot say). Records of repositories no tenant claims are
// returned under "".
func ByTenant(recs []Record, ts Tenants, topics map[string][]string) map[string][]Record {
	out := map[string][]Record{}
	for _, r := range recs {
		name := ""
		if t, ok := ts.Owner(Repo{Name: r.Repo, Topics: topics[r.Repo]}); ok {
			name = t.Name
		}
		out[name] = append(out[name], r)
	}
	return out
}

// SortRecords orders records by time, repository and SKU, so outputs are
// deterministic.
func SortRecords(recs []Record) {
	sort.SliceStable(recs, func(i, j int) bool {
		a, b := recs[i], recs[j]
		if !a.Time.Equal(b.Time) {
			return a.Time.Before(b.Time)
		}
		if a.Repo != b.Repo {
			return a.Repo < b.Repo
		}
		return a.SKU < b.SKU
	})
}

func fmtUSD(v float64) string { return fmt.Sprintf("$%.2f", v) }
