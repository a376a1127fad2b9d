package budget

import (
	"math"
	"sort"
	"time"
)

// repoDiff is one repository's job-derived spend against what GitHub's
// billing usage reports for the same days.
type repoDiff struct {
	Repo string `json:"repo"`
	// Jobs is the job-derived estimate, Billed the usage report's gross
	// amount, both USD over the compared days.
	Jobs   float64 `json:"jobs_usd"`
	Billed float64 `json:"billed_usd"`
	// Rel is |Jobs − Billed| / max(Jobs, Billed).
	Rel float64 `json:"relative_difference"`
}

// Reconciliation compares the two sources over [From, To).
type Reconciliation struct {
	From, To time.Time
	// Jobs and Billed are the totals over every repository compared.
	Jobs, Billed float64
	// Differ are the repositories whose sources differ by more than the
	// tolerance (and by at least a cent), largest difference first.
	Differ []repoDiff
	// Repos is how many repositories were compared.
	Repos int
}

// Reconcile compares job-derived records with billing usage records per
// repository over [from, to): a repository differs when the two USD
// amounts differ by more than tol of the larger and by at least one cent
// (the usage report rounds amounts). Only the repositories keep reports
// on are compared (nil: every repository either source names); a
// repository present in one source only is compared against zero.
func Reconcile(jobs, billed []Record, from, to time.Time, tol float64, keep func(repo string) bool) Reconciliation {
	rc := Reconciliation{From: from, To: to}
	type pair struct{ j, b float64 }
	by := map[string]*pair{}
	add := func(recs []Record, billedSide bool) {
		for _, r := range recs {
			if r.Time.Before(from) || !r.Time.Before(to) || (keep != nil && !keep(r.Repo)) {
				continue
			}
			p := by[r.Repo]
			if p == nil {
				p = &pair{}
				by[r.Repo] = p
			}
			if billedSide {
				p.b += r.USD
			} else {
				p.j += r.USD
			}
		}
	}
	add(jobs, false)
	add(billed, true)
	for repo, p := range by {
		rc.Repos++
		rc.Jobs += p.j
		rc.Billed += p.b
		d := math.Abs(p.j - p.b)
		if d < 0.01 {
			continue
		}
		rel := d / math.Max(p.j, p.b)
		if rel > tol {
			rc.Differ = append(rc.Differ, repoDiff{Repo: repo, Jobs: p.j, Billed: p.b, Rel: rel})
		}
	}
	sort.Slice(rc.Differ, func(i, j int) bool {
		di, dj := math.Abs(rc.Differ[i].Jobs-rc.Differ[i].Billed), math.Abs(rc.Differ[j].Jobs-rc.Differ[j].Billed)
		if di != dj {
			return di > dj
		}
		return rc.Differ[i].Repo < rc.Differ[j].Repo
	})
	return rc
}
