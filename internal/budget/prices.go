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

// PricesSource is where DefaultPrices come from.
const PricesSource = "https://docs.github.com/en/billing/reference/actions-runner-pricing (rates from January 1, 2026)"

// DefaultPrices returns GitHub's published per-minute rates in USD for
// GitHub-hosted runners, keyed by normalized billing SKU. Self-hosted
// runners are free unless the policy prices "self_hosted". Prices change:
// override them in the policy rather than trusting these forever.
func DefaultPrices() map[string]float64 {
	return map[string]float64{
		// standard runners
		"linux_slim": 0.002, // Linux 1-core
		"linux":      0.006, // Linux 2-core
		"windows":    0.010, // Windows 2-core
		"macos":      0.062, // macOS 3- or 4-core
		// x64 larger runners
		"linux_2_core_advanced": 0.006,
		"linux_4_core":          0.012,
		"linux_8_core":          0.022,
		"linux_16_core":         0.042,
		"linux_32_core":         0.082,
		"linux_64_core":         0.162,
		"linux_96_core":         0.252,
		"windows_4_core":        0.022,
		"windows_8_core":        0.042,
		"windows_16_core":       0.082,
		"windows_32_core":       0.162,
		"windows_64_core":       0.322,
		"windows_96_core":       0.552,
		"macos_l":               0.077, // macOS 12-core
		"macos_xl":              0.102, // macOS 6-core M1
		// arm64 larger runners
		"linux_2_core_arm":  0.005,
		"linux_4_core_arm":  0.008,
		"linux_8_core_arm":  0.014,
		"linux_16_core_arm": 0.026,
		"linux_32_core_arm": 0.050,
		"linux_64_core_arm": 0.098,
		// self-hosted runners cost nothing per minute on GitHub
		"self_hosted": 0,
	}
}

// LabelRule maps jobs whose runner labels match a glob to a SKU.
type LabelRule struct {
	// Match is a path.Match glob over one runner label, e.g. "ubuntu-*-16core".
	Match string
	// SKU is the normalized SKU the job is billed as, e.g. "linux_16_core".
	SKU string
}

// DefaultLabelRules are the labels of GitHub's standard hosted runners and
// self-hosted runners. Larger runners carry names chosen by the
// organization, so the policy maps them; a label nothing maps is an error.
func DefaultLabelRules() []LabelRule {
	return []LabelRule{
		{Match: "self-hosted", SKU: "self_hosted"},
		{Match: "ubuntu-slim", SKU: "linux_slim"},
		{Match: "ubuntu-*-arm", SKU: "linux_2_core_arm"},
		{Match: "ubuntu-*", SKU: "linux"},
		{Match: "windows-*-arm", SKU: "windows_2_core_arm"},
		{Match: "windows-*", SKU: "windows"},
		{Match: "macos-*-xlarge", SKU: "macos_xl"},
		{Match: "macos-*-large", SKU: "macos_l"},
		{Match: "macos-*", SKU: "macos"},
	}
}

// ErrUnpriced means a job's runner or a SKU has no price. It is never
// treated as free.
var ErrUnpriced = errors.New("unpriced usage")

// Prices prices jobs and usage by SKU.
type Prices struct {
	// PerMinute maps normalized SKUs to USD per minute.
	PerMinute map[string]float64
	// Rules map runner labels to SKUs: the policy's rules first, then
	// DefaultLabelRules. The first rule matching any label wins.
	Rules []LabelRule
}

// NewPrices returns the default table with the policy's per-minute
// overrides and label rules applied on top. It refuses negative or
// non-finite prices and malformed globs, reporting all of them.
func NewPrices(overrides map[string]float64, rules []LabelRule) (*Prices, error) {
	p := &Prices{PerMinute: DefaultPrices()}
	var errs []error
	keys := make([]string, 0, len(overrides))
	for k := range overrides {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := overrides[k]
		if v < 0 || math.IsNaN(v) || math.IsInf(v, 0) {
			errs = append(errs, &gate.InputError{Input: "prices." + k, Err: fmt.Errorf("price %v is not a finite, non-negative USD per minute", v)})
			continue
		}
		p.PerMinute[NormalizeSKU(k)] = v
	}
	for i, r := range rules {
		if _, err := path.Match(r.Match, ""); err != nil || r.Match == "" {
			errs = append(errs, &gate.InputError{Input: fmt.Sprintf("runners[%d].match", i), Err: fmt.Errorf("%q is not a valid glob", r.Match)})
		}
		if r.SKU == "" {
			errs = append(errs, &gate.InputError{Input: fmt.Sprintf("runners[%d].sku", i), Err: errors.New("empty; expected a SKU such as linux_16_core")})
		}
		p.Rules = append(p.Rules, LabelRule{Match: strings.ToLower(r.Match), SKU: NormalizeSKU(r.SKU)})
	}
	p.Rules = append(p.Rules, DefaultLabelRules()...)
	return p, errors.Join(errs...)
}

// SKUFor returns the SKU of a job from its runner labels.
func (p *Prices) SKUFor(labels []string) (string, error) {
	for _, r := range p.Rules {
		for _, l := range labels {
			if ok, _ := path.Match(r.Match, strings.ToLower(l)); ok {
				return r.SKU, nil
			}
		}
	}
	return "", fmt.Errorf("%w: runner labels %v match no rule; expected a GitHub-hosted label (ubuntu-*, windows-*, macos-*) or self-hosted; map them under runners: in the policy", ErrUnpriced, labels)
}

// Rate returns the per-minute price of a SKU.
func (p *Prices) Rate(sku string) (float64, error) {
	v, ok := p.PerMinute[NormalizeSKU(sku)]
	if !ok {
		return 0, fmt.Errorf("%w: SKU %q has no per-minute price; add it under prices: in the policy", ErrUnpriced, sku)
	}
	return v, nil
}

// Job is one workflow job (of one run attempt), as the REST API lists it.
type Job struct {
	ID, RunID int64
	// RunAttempt is the attempt of the run the job belongs to; every
	// attempt is billed on its own.
	RunAttempt int
	Repo       string
	Workflow   string
	Labels     []string
	Status     string
	// RunnerName is the runner that took the job; empty while the job
	// waits for one (and for a job cancelled before any runner took it).
	RunnerName  string
	StartedAt   time.Time
	CompletedAt time.Time
}

// waitingStatuses are the job and run statuses of work no runner has taken:
// GitHub fills started_at of a queued job with the time it was queued, so
// these never cost anything.
var waitingStatuses = map[string]bool{"queued": true, "waiting": true, "pending": true, "requested": true}

// Running reports whether a runner took the job: its status is not one of
// queued, waiting, pending or requested, and it names a runner.
func (j Job) Running() bool {
	return !waitingStatuses[strings.ToLower(j.Status)] && j.RunnerName != ""
}

// End is when the job's billing stops: its completed_at, or now for a job
// still running (or one completed after now, when evaluating as of a past
// time).
func (j Job) End(now time.Time) time.Time {
	if j.CompletedAt.IsZero() || j.CompletedAt.After(now) {
		return now
	}
	return j.CompletedAt
}

// BillableMinutes is the job's run time rounded up to a whole minute, as
// GitHub bills it: from started_at, only once a runner took the job (see
// Running), until completed_at or, still running, until now. A job no
// runner took costs nothing however long it queued; so does a job whose
// completion precedes its start (as skipped jobs report).
func BillableMinutes(j Job, now time.Time) float64 {
	if j.StartedAt.IsZero() || !j.Running() {
		return 0
	}
	d := j.End(now).Sub(j.StartedAt)
	if d <= 0 {
		return 0
	}
	return math.Ceil(d.Minutes())
}

// Price turns a job into a usage record in the hour it started.
func (p *Prices) Price(j Job, now time.Time) (Record, error) {
	sku, err := p.SKUFor(j.Labels)
	if err != nil {
		return Record{}, fmt.Errorf("%s job %d (%s): %w", j.Repo, j.ID, j.Workflow, err)
	}
	rate, err := p.Rate(sku)
	if err != nil {
		return Record{}, fmt.Errorf("%s job %d (%s): %w", j.Repo, j.ID, j.Workflow, err)
	}
	m := BillableMinutes(j, now)
	return Record{Time: j.StartedAt.UTC().Truncate(time.Hour), Repo: j.Repo, Workflow: j.Workflow, SKU: sku, Minutes: m, USD: m * rate}, nil
}

// Reprice checks that every SKU in records has a price; usage reports carry
// their own amounts, but a SKU unknown to the table still means a runner
// nobody has priced for forecasting or minutes budgets.
func (p *Prices) Reprice(recs []Record) error {
	seen := map[string]bool{}
	var errs []error
	for _, r := range recs {
		if seen[r.SKU] {
			continue
		}
		seen[r.SKU] = true
		if _, err := p.Rate(r.SKU); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
