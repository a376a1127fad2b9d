package budget

import (
	"errors"
	"fmt"
	"math"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/maestro-conductor/releasegate/internal/gate"
)

// The default prices come from
// https://docs.github.com/en/billing/reference/actions-runner-pricing
// (github/docs content/billing/reference/actions-runner-pricing.md and
// data/reusables/billing/actions-standard-runner-prices.md), rates from
// January 1, 2026, read on 2026-12-04.

// skuPrice is one row of GitHub's published price table.
type skuPrice struct {
	// SKU is the billing SKU as the pricing page and usage reports name it.
	SKU string
	// Runner describes the machine, as the pricing page does.
	Runner string
	// USD is the per-minute rate.
	USD float64
}

// priceTable is GitHub's published per-minute rates for GitHub-hosted
// runners (see PricesSource), in the page's order, plus self_hosted at 0.
// docs/budget.md carries the same table; a test keeps them equal.
func priceTable() []skuPrice {
	return []skuPrice{
		// standard runners
		{"linux_slim", "Linux 1-core", 0.002},
		{"linux", "Linux 2-core", 0.006},
		{"windows", "Windows 2-core", 0.010},
		{"macos", "macOS 3-core or 4-core (M1 or Intel)", 0.062},
		// x64 larger runners
		{"linux_2_core_advanced", "Linux Advanced 2-core", 0.006},
		{"linux_4_core", "Linux 4-core", 0.012},
		{"linux_8_core", "Linux 8-core", 0.022},
		{"linux_16_core", "Linux 16-core", 0.042},
		{"linux_32_core", "Linux 32-core", 0.082},
		{"linux_64_core", "Linux 64-core", 0.162},
		{"linux_96_core", "Linux 96-core", 0.252},
		{"windows_4_core", "Windows 4-core", 0.022},
		{"windows_8_core", "Windows 8-core", 0.042},
		{"windows_16_core", "Windows 16-core", 0.082},
		{"windows_32_core", "Windows 32-core", 0.162},
		{"windows_64_core", "Windows 64-core", 0.322},
		{"windows_96_core", "Windows 96-core", 0.552},
		{"macos_l", "macOS 12-core (large)", 0.077},
		// arm64 larger runners
		{"linux_2_core_arm", "Linux 2-core arm64", 0.005},
		{"linux_4_core_arm", "Linux 4-core arm64", 0.008},
		{"linux_8_core_arm", "Linux 8-core arm64", 0.014},
		{"linux_16_core_arm", "Linux 16-core arm64", 0.026},
		{"linux_32_core_arm", "Linux 32-core arm64", 0.050},
		{"linux_64_core_arm", "Linux 64-core arm64", 0.098},
		{"windows_2_core_arm", "Windows 2-core arm64", 0.008},
		{"windows_4_core_arm", "Windows 4-core arm64", 0.014},
		{"windows_8_core_arm", "Windows 8-core arm64", 0.026},
		{"windows_16_core_arm", "Windows 16-core arm64", 0.050},
		{"windows_32_core_arm", "Windows 32-core arm64", 0.098},
		{"windows_64_core_arm", "Windows 64-core arm64", 0.194},
		{"macos_xl", "macOS 5-core M2 Pro (xlarge)", 0.102},
		// GPU larger runners
		{"linux_4_core_gpu", "Linux 4-core GPU", 0.052},
		{"windows_4_core_gpu", "Windows 4-core GPU", 0.102},
		// self-hosted runners cost nothing per minute on GitHub
		{"self_hosted", "self-hosted runner", 0},
	}
}

// defaultPrices returns PriceTable keyed by SKU. Self-hosted runners are
// free unless the policy prices "self_hosted". Prices change: override
// them in the policy rather than trusting these forever.
func defaultPrices() map[string]float64 {
	m := map[string]float64{}
	for _, r := range priceTable() {
		m[r.SKU] = r.USD
	}
	return m
}

// LabelRule maps jobs whose runner labels match a glob to a SKU.
type LabelRule struct {
	// Match is a path.Match glob over one runner label, e.g. "acme-gpu-*".
	Match string
	// SKU is the normalized SKU the job is billed as, e.g. "linux_16_core".
	SKU string
}

// ErrUnpriced means a job's runner or a SKU has no price. It is never
// treated as free.
var ErrUnpriced = errors.New("unpriced usage")

// Prices prices jobs and usage by SKU.
type Prices struct {
	// PerMinute maps normalized SKUs to USD per minute.
	PerMinute map[string]float64
	// Rules are the policy's label rules, tried before the label grammar
	// (see SKUFor). The first rule matching any label wins.
	Rules []LabelRule
}

// NewPrices returns the default table with the policy's per-minute
// overrides and label rules applied on top. It refuses negative or
// non-finite prices, malformed globs and rules naming a SKU without a
// price, reporting all of them.
func NewPrices(overrides map[string]float64, rules []LabelRule) (*Prices, error) {
	p := &Prices{PerMinute: defaultPrices()}
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
		} else if _, ok := p.PerMinute[NormalizeSKU(r.SKU)]; !ok {
			errs = append(errs, &gate.InputError{Input: fmt.Sprintf("runners[%d].sku", i), Err: fmt.Errorf("SKU %q has no price; expected one of GitHub's SKUs (linux_16_core, windows_8_core_arm, …) or add its price under prices", r.SKU)})
		}
		p.Rules = append(p.Rules, LabelRule{Match: strings.ToLower(r.Match), SKU: NormalizeSKU(r.SKU)})
	}
	return p, errors.Join(errs...)
}

// SKUFor returns the SKU of a job from its runner labels, in this order:
//
//  1. the policy's rules (runners:), first match over any label;
//  2. a "self-hosted" label: self_hosted;
//  3. GitHub's label grammar for hosted runners (ParseLabel): every label
//     that parses must name the same SKU, and that SKU must have a price.
//
// Anything else is ErrUnpriced naming the labels and the mapping to add:
// a job is never priced as something it may not be.
func (p *Prices) SKUFor(labels []string) (string, error) {
	for _, r := range p.Rules {
		for _, l := range labels {
			if ok, _ := path.Match(r.Match, strings.ToLower(l)); ok {
				return r.SKU, nil
			}
		}
	}
	for _, l := range labels {
		if strings.EqualFold(l, "self-hosted") {
			return "self_hosted", nil
		}
	}
	sku, from := "", ""
	for _, l := range labels {
		s, ok := parseLabel(l)
		if !ok {
			continue
		}
		if sku != "" && s != sku {
			return "", fmt.Errorf("%w: runner labels %q and %q name different SKUs (%s, %s); map the runner under runners: in the policy, e.g. {match: %q, sku: %s}",
				ErrUnpriced, from, l, sku, s, from, sku)
		}
		sku, from = s, l
	}
	if sku == "" {
		return "", fmt.Errorf("%w: runner labels %q are not GitHub-hosted runner labels (e.g. ubuntu-latest, ubuntu-24.04-16core, windows-latest-8-cores, macos-15-xlarge) nor self-hosted; map them under runners: in the policy, e.g. {match: %q, sku: linux_4_core}",
			ErrUnpriced, labels, firstLabel(labels))
	}
	if _, ok := p.PerMinute[sku]; !ok {
		return "", fmt.Errorf("%w: runner label %q reads as SKU %s, which has no price; add it under prices: (e.g. %s: 0.05) or map the label under runners: (e.g. {match: %q, sku: linux_4_core})",
			ErrUnpriced, from, sku, sku, from)
	}
	return sku, nil
}

func firstLabel(labels []string) string {
	if len(labels) == 0 {
		return "<no labels>"
	}
	return labels[0]
}

var (
	reCores   = regexp.MustCompile(`^(\d+)cores?$`)
	reNumber  = regexp.MustCompile(`^\d+$`)
	reVersion = regexp.MustCompile(`^(latest|\d+(\.\d+)*)$`)
	reSKU     = regexp.MustCompile(`^(linux|windows)_\d+_core(_arm|_gpu|_advanced)?$`)
)

// parseLabel reads the billing SKU from a GitHub-hosted runner label, by
// the grammar GitHub uses for its standard and larger runners:
//
//	<os>[-<version>][-<arch>][-<N>core | -<N>-cores | -<N>cores][-gpu][-<arch>]
//	os       ubuntu | windows | macos
//	version  latest | 24.04 | 2022 | 15 …
//	arch     arm | arm64 (x64 when absent)
//	macOS    macos-<version>[-large | -xlarge]
//
// ubuntu-slim is linux_slim; ubuntu with neither cores nor arm is linux,
// with arm and no cores linux_2_core_arm; windows likewise (windows-11-arm
// is windows_2_core_arm); a GPU runner without a core count is the 4-core
// GPU runner. A label that is itself a billing SKU of the core kind
// (windows_4_core_arm, linux_8_core) is that SKU. Any other word in the
// label, or an OS it does not know, makes it unparsed (false): runners
// with names an organization chose are mapped in the policy.
func parseLabel(label string) (string, bool) {
	l := strings.ToLower(strings.TrimSpace(label))
	if reSKU.MatchString(l) {
		return l, true
	}
	toks := strings.Split(l, "-")
	os := toks[0]
	switch os {
	case "ubuntu":
		os = "linux"
	case "windows", "macos":
	default:
		return "", false
	}
	cores, arm, gpu, size, slim := 0, false, false, "", false
	rest := toks[1:]
	for i := 0; i < len(rest); i++ {
		t := rest[i]
		switch {
		case t == "arm" || t == "arm64":
			arm = true
		case t == "gpu":
			gpu = true
		case t == "large" || t == "xlarge":
			size = t
		case t == "slim" && os == "linux" && len(rest) == 1:
			slim = true
		case reCores.MatchString(t) && cores == 0:
			cores, _ = strconv.Atoi(reCores.FindStringSubmatch(t)[1])
		case reNumber.MatchString(t) && i+1 < len(rest) && (rest[i+1] == "core" || rest[i+1] == "cores") && cores == 0:
			cores, _ = strconv.Atoi(t)
			i++
		case reVersion.MatchString(t) && i == 0:
			// the image version: latest, 24.04, 2022, 15
		default:
			return "", false
		}
	}
	switch os {
	case "macos":
		if cores != 0 || gpu || arm || slim {
			return "", false
		}
		switch size {
		case "large":
			return "macos_l", true
		case "xlarge":
			return "macos_xl", true
		}
		return "macos", true
	default:
		if size != "" || cores < 0 || (slim && (arm || gpu)) {
			return "", false
		}
	}
	switch {
	case slim:
		return "linux_slim", true
	case gpu:
		if arm || (cores != 0 && cores != 4) {
			return "", false
		}
		return os + "_4_core_gpu", true
	case cores == 0 && arm:
		return os + "_2_core_arm", true
	case cores == 0:
		return os, true
	case arm:
		return fmt.Sprintf("%s_%d_core_arm", os, cores), true
	case cores == 2 && os == "linux":
		// the 2-core larger runner is "Linux Advanced 2-core"
		return "linux_2_core_advanced", true
	}
	return fmt.Sprintf("%s_%d_core", os, cores), true
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

// billableMinutes is the job's run time rounded up to a whole minute, as
// GitHub bills it: from started_at, only once a runner took the job (see
// Running), until completed_at or, still running, until now. A job no
// runner took costs nothing however long it queued; so does a job whose
// completion precedes its start (as skipped jobs report).
func billableMinutes(j Job, now time.Time) float64 {
	if j.StartedAt.IsZero() || !j.Running() {
		return 0
	}
	d := j.End(now).Sub(j.StartedAt)
	if d <= 0 {
		return 0
	}
	return math.Ceil(d.Minutes())
}

// Price turns a job into a usage record in the hour its billing ended:
// the hour it completed, or for a job still running the hour of now.
func (p *Prices) Price(j Job, now time.Time) (Record, error) {
	sku, err := p.SKUFor(j.Labels)
	if err != nil {
		return Record{}, fmt.Errorf("%s job %d (%s): %w", j.Repo, j.ID, j.Workflow, err)
	}
	rate, err := p.Rate(sku)
	if err != nil {
		return Record{}, fmt.Errorf("%s job %d (%s): %w", j.Repo, j.ID, j.Workflow, err)
	}
	m := billableMinutes(j, now)
	return Record{Time: j.End(now).UTC().Truncate(time.Hour), Repo: j.Repo, Workflow: j.Workflow, SKU: sku, Minutes: m, USD: m * rate}, nil
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
