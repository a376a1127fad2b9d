package evidence

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/maestro-conductor/releasegate/internal/fsx"
	"github.com/maestro-conductor/releasegate/internal/gate"
)

// The gate kinds whose judged input files (SBOMs, VEX documents, scan
// reports, test reports) the bundle carries, and the manifest checks they
// answer. They are named by kind string, so this package needs none of
// their code.
const (
	KindSBOM            = "sbom"
	KindVulnerabilities = "vulnerabilities"
	KindTests           = "tests"
)

// JudgedKinds are the kinds whose inputs go into the bundle.
var JudgedKinds = []string{KindSBOM, KindVulnerabilities, KindTests}

// The manifest check keys derived from the gate kinds (gate ids cannot
// hold an underscore, so these never collide with a gate's own key).
const (
	CheckSBOMScanPassed     = "sbom_scan_passed"
	CheckSecurityScanPassed = "security_scan_passed"
	CheckTestsPassed        = "tests_passed"
)

// kindChecks maps each manifest check key to its gate kind.
var kindChecks = []struct{ key, kind string }{
	{CheckSBOMScanPassed, KindSBOM},
	{CheckSecurityScanPassed, KindVulnerabilities},
	{CheckTestsPassed, KindTests},
}

// KindPassed reports whether every gate of kind has status pass and at
// least one ran: no gate of the kind is false ("not run"), never true, and
// so is a warning (a skipped check, a flaky test, a gate that could not
// judge everything): these keys claim a clean result.
func KindPassed(results []gate.Result, kind string) bool {
	n := 0
	for _, r := range results {
		if r.Kind != kind {
			continue
		}
		if r.Status != gate.StatusPass {
			return false
		}
		n++
	}
	return n > 0
}

// TestTotals are the totals of the tests gates' reports, summed over the
// gates, from their checks (the checks the tests kind names "tests run",
// "tests passed", "failures", "errors", "skipped" and "flaky tests"; the
// per-tenant ones are not summed again).
type TestTotals struct {
	// Gates are the ids of the gates of kind tests.
	Gates []string `yaml:"gates"`
	// Passed: "Functional test results: N passing".
	Passed  int64 `yaml:"passed"`
	Failed  int64 `yaml:"failed"`
	Errors  int64 `yaml:"errors"`
	Skipped int64 `yaml:"skipped"`
	Flaky   int64 `yaml:"flaky"`
	// Complete is false when a gate of kind tests has no totals (it could
	// not be evaluated): the numbers then undercount.
	Complete bool `yaml:"complete"`
}

// String is the totals in one line.
func (t *TestTotals) String() string {
	s := fmt.Sprintf("%d passing, %d failed, %d errors, %d skipped, %d flaky", t.Passed, t.Failed, t.Errors, t.Skipped, t.Flaky)
	if !t.Complete {
		s += " (incomplete: a tests gate gave no totals)"
	}
	return s
}

// SumTestTotals sums the totals of the gates of kind tests; nil when there
// is none.
func SumTestTotals(results []gate.Result) *TestTotals {
	var t *TestTotals
	for _, r := range results {
		if r.Kind != KindTests {
			continue
		}
		if t == nil {
			t = &TestTotals{Complete: true}
		}
		t.Gates = append(t.Gates, r.Gate)
		found := false
		for _, c := range r.Checks {
			n, ok := c.Observed.Any().(int64)
			if c.Tenant != "" || !ok {
				continue
			}
			switch c.Name {
			case "tests passed":
				t.Passed += n
				found = true
			case "failures":
				t.Failed += n
			case "errors":
				t.Errors += n
			case "skipped":
				t.Skipped += n
			case "flaky tests":
				t.Flaky += n
			}
		}
		if !found {
			t.Complete = false
		}
	}
	return t
}

// JudgedInput is an input file a gate judged, to be carried in the bundle.
type JudgedInput struct {
	// Gate is the id of the gate that judged it.
	Gate string
	// Name is the input's name in the gate's result.
	Name string
	// Data is the file's content; its digest must be the one the gate
	// recorded.
	Data []byte
}

// ErrInputChanged means an input file's content is not what its gate
// judged: the digests differ.
var ErrInputChanged = errors.New("input changed since it was judged")

// judgedFile is where a judged input goes in the bundle.
func judgedFile(gateID, name string) string {
	return "inputs/" + gateID + "/" + path.Base(filepath.ToSlash(name))
}

// ReadJudgedInputs reads the local input files of the results' judged
// kinds (inputs with a digest and a local or no URI), where the gate read
// them or by name relative to dir (the policy's directory). A file that is
// not there (evidence made on another machine than the run, as the
// reusable workflow's evidence job is) is returned in missing: the
// manifest then records its digest without a copy, and the checklist says
// so. A file that cannot be read (not a regular file, too large) is a
// *gate.InputError; one whose digest changed is refused by Create.
func ReadJudgedInputs(ctx context.Context, results []gate.Result, dir string) (judged []JudgedInput, missing []string, err error) {
	var errs []error
	for _, r := range results {
		if !isJudgedKind(r.Kind) {
			continue
		}
		for _, in := range r.Inputs {
			local, ok := localURI(in.URI)
			if in.Digest == "" || !ok {
				continue // nothing to check it by, or not a local file (a URL, a database)
			}
			b, err := readJudged(ctx, local, in.Name, dir, in.Digest)
			switch {
			case errors.Is(err, os.ErrNotExist):
				missing = append(missing, fmt.Sprintf("%s (gate %s, %s)", in.Name, r.Gate, in.Digest))
			case err != nil:
				errs = append(errs, &gate.InputError{Input: in.Name, Err: fmt.Errorf("gate %s judged it (%s) and the evidence must carry it: %w", r.Gate, in.Digest, err)})
			default:
				judged = append(judged, JudgedInput{Gate: r.Gate, Name: in.Name, Data: b})
			}
		}
	}
	return judged, missing, errors.Join(errs...)
}

// localURI returns the local file an input's URI names ("" for none): a
// path (as the gate opened it, relative to the working directory) or a
// file:// URL; ok is false for anything else (an https:// source, a
// database).
func localURI(uri string) (string, bool) {
	switch {
	case strings.HasPrefix(uri, "file://"):
		return strings.TrimPrefix(uri, "file://"), true
	case strings.Contains(uri, "://") || strings.HasPrefix(uri, "sqlite:"):
		return "", false
	}
	return uri, true
}

// readJudged reads an input file: at the local path its URI named when the
// file is still there with the judged digest (evidence made where the run
// ran), else by its name in the result: a path relative to dir, or "ROLE PATH" as the sbom and
// vulnerabilities gates name theirs ("sbom dist/app.cdx.json", "report
// scans/grype.sarif", "vex …").
func readJudged(ctx context.Context, local, name, dir, digest string) ([]byte, error) {
	var paths []string
	if local != "" {
		paths = append(paths, filepath.FromSlash(local))
	}
	byName := []string{name}
	if role, rest, ok := strings.Cut(name, " "); ok && rest != "" && role != "" && strings.Trim(role, "abcdefghijklmnopqrstuvwxyz-") == "" {
		byName = append(byName, rest)
	}
	for _, p := range byName {
		p = filepath.FromSlash(p)
		if !filepath.IsAbs(p) && dir != "" {
			p = filepath.Join(dir, p)
		}
		paths = append(paths, p)
	}
	// the first file whose digest is the judged one; else the first that
	// exists, which Create then refuses as changed
	var found []byte
	var first error
	for _, p := range paths {
		b, err := fsx.ReadFile(ctx, p, fsx.MaxDocSize)
		switch {
		case err == nil && Digest(b) == digest:
			return b, nil
		case err == nil && found == nil:
			found = b
		case err != nil && !errors.Is(err, os.ErrNotExist):
			return nil, err
		case err != nil && first == nil:
			first = err
		}
	}
	if found != nil {
		return found, nil
	}
	return nil, first
}

func isJudgedKind(k string) bool {
	for _, j := range JudgedKinds {
		if j == k {
			return true
		}
	}
	return false
}

// addJudged adds the judged input files, each checked against the digest
// its gate recorded, and points the manifest's input records at them.
func (fl *fileList) addJudged(m *Manifest, judged []JudgedInput) error {
	byInput := map[[2]string]int{}
	for i, in := range m.Inputs {
		byInput[[2]string{in.Gate, in.Name}] = i
	}
	seen := map[string]bool{}
	var errs []error
	for _, j := range judged {
		i, ok := byInput[[2]string{j.Gate, j.Name}]
		if !ok {
			errs = append(errs, &gate.InputError{Input: j.Name, Err: fmt.Errorf("gate %s has no such input; expected one of its results' inputs", j.Gate)})
			continue
		}
		if d := Digest(j.Data); d != m.Inputs[i].Digest {
			errs = append(errs, &gate.InputError{Input: j.Name, Err: fmt.Errorf("%w: gate %s judged %s, the file now has %s; create the evidence from the files the run judged", ErrInputChanged, j.Gate, m.Inputs[i].Digest, d)})
			continue
		}
		name := judgedFile(j.Gate, j.Name)
		if err := checkName(name, 200); err != nil {
			errs = append(errs, &gate.InputError{Input: j.Name, Err: fmt.Errorf("cannot name a bundle file: %w", err)})
			continue
		}
		if seen[name] {
			// two inputs of one gate with the same base name: keep both
			name = strings.TrimSuffix(name, path.Ext(name)) + "-" + strings.TrimPrefix(m.Inputs[i].Digest, "sha256:")[:12] + path.Ext(name)
		}
		seen[name] = true
		m.Inputs[i].File = name
		fl.add(name, j.Data)
	}
	return errors.Join(errs...)
}

// addKindChecks sets the manifest checks derived from gate kinds and the
// test totals.
func addKindChecks(m *Manifest, results []gate.Result) {
	for _, kc := range kindChecks {
		m.Checks[kc.key] = KindPassed(results, kc.kind)
	}
	m.Tests = SumTestTotals(results)
}
