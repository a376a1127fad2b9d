// Package evidence builds and verifies the signed evidence bundle of a
// release: a manifest in the release checklist's shape, an in-toto
// Statement v1 with a SLSA Verification Summary Attestation (VSA v1.0)
// predicate signed as a DSSE envelope inside a Sigstore bundle, a
// self-contained HTML report, the release checklist in Markdown, and a
// reproducible tar.gz holding all of it.
//
// The chain of trust when verifying is: the signature over the statement →
// the manifest digest in the statement (the ManifestField extension; among
// the input attestations in evidence made before it) → every other file's
// digest in the manifest. Verification is offline and streams the tarball.
package evidence

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/maestro-conductor/releasegate/internal/checklist"
	"github.com/maestro-conductor/releasegate/internal/gate"
	"github.com/maestro-conductor/releasegate/internal/redact"
)

// Names of the fixed files in the bundle.
const (
	BundleFile = "evidence.sigstore.json"
	// EnvelopeFile is the bare DSSE envelope of the signed VSA, beside
	// the tarball (not in it).
	EnvelopeFile  = "evidence.dsse.json"
	ReportFile    = "report.json"
	HTMLFile      = "report.html"
	ChecklistFile = "checklist.md"
)

// ManifestName is the manifest's file name for a version.
func ManifestName(version string) string { return "evidence-manifest-" + version + ".yaml" }

// TarballName is the tarball's file name for a version.
func TarballName(version string) string { return "evidence-" + version + ".tar.gz" }

var versionRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$`)

// Input is a file given to Create: an artifact, an attestation or the
// policy.
type Input struct {
	// Name is how the file is named in the evidence (usually its base name).
	Name string
	// Data is the file's content.
	Data []byte
}

// Options are the inputs of Create.
type Options struct {
	// Version of the release, e.g. v1.4.0; it names the files.
	Version string
	// Release is the product or service name.
	Release string
	// Results are the gate results.
	Results []gate.Result
	// Required lists gate ids that must pass, in addition to every result
	// marked required. A required gate without a result fails the release.
	Required []string
	// Policy is the policy file, when known; its digest is the VSA policy.
	Policy *Input
	// PolicyRef is the policy named by a report when the file itself is not
	// given: its path and digest.
	PolicyRef gate.Input
	// Artifacts are the released files: the subjects of the statement.
	Artifacts []Input
	// Attestations are provenance or other in-toto files to include.
	Attestations []Input
	// Tool is the releasegate version.
	Tool string
	// GitHub is the workflow run context.
	GitHub *GitHubContext
	// Time is the verification time written into the evidence. Zero means
	// the latest FinishedAt of the results, so the same inputs give the
	// same bytes.
	Time time.Time
	// ResourceURI names what was verified (an absolute URI); default: the
	// purl of the release (see resourceURI).
	ResourceURI string
	// Repository is the policy's release.repository (owner/name), used for
	// the default ResourceURI outside GitHub Actions.
	Repository string
	// PolicyURI is where the policy can be fetched; default: the policy at
	// the released commit on GitHub (see policyURI).
	PolicyURI string
	// VerifiedLevels are levels the caller declares, e.g. a custom
	// FEDRAMP_LOW or SLSA_SOURCE_LEVEL_2; the SLSA build level comes from
	// the provenance gates' results (see VerifiedLevels).
	VerifiedLevels []string
	// Signer signs the statement: a key (*Signer) or keyless
	// (SigstoreSigner, or a virtual Sigstore in tests).
	Signer BundleSigner
	// Secrets are masked in the results, the run context and everything
	// made from them (manifest, VSA, HTML, checklist) before anything is
	// signed. Inputs included byte for byte (policy, artifacts,
	// attestations) are not altered: their digests are what is signed.
	Secrets *redact.Set
	// Template is the release checklist's template; nil is the built-in
	// one (checklist.Builtin).
	Template *checklist.Template
	// Approvals are the environment reviews that fill the checklist's
	// sign-off rows; without any, the rows stay open.
	Approvals []checklist.Approval
	// Judged are the input files the gates of the judged kinds (sbom,
	// vulnerabilities, tests) read, included byte for byte under
	// inputs/<gate>/ once each matches the digest its gate recorded (see
	// ReadJudgedInputs).
	Judged []JudgedInput
}

// ErrLiteralSecret means a file included byte for byte (the policy, an
// attestation) holds a known secret as is; it is refused, since masking it
// would change the digest the evidence vouches for.
var ErrLiteralSecret = errors.New("holds a secret written literally (a token, or a password in a URL); reference it as ${VAR} from the environment so it never enters the evidence")

// redact masks o.Secrets in the results and the GitHub context. It fails
// closed: a value that cannot be redacted is an error, never signed.
func (o *Options) redact() error {
	if o.Secrets == nil || o.Secrets.Len() == 0 {
		return nil
	}
	verbatim := append([]Input(nil), o.Attestations...)
	if o.Policy != nil {
		verbatim = append(verbatim, *o.Policy)
	}
	for _, j := range o.Judged {
		verbatim = append(verbatim, Input{Name: j.Name, Data: j.Data})
	}
	for _, in := range verbatim {
		if o.Secrets.String(string(in.Data)) != string(in.Data) {
			return &gate.InputError{Input: in.Name, Err: ErrLiteralSecret}
		}
	}
	rs, err := redact.Value(o.Secrets, o.Results)
	if err != nil {
		return fmt.Errorf("results: %w", err)
	}
	o.Results = rs
	if o.GitHub != nil {
		gh, err := redact.Value(o.Secrets, *o.GitHub)
		if err != nil {
			return fmt.Errorf("run context: %w", err)
		}
		o.GitHub = &gh
	}
	o.Version, o.Release, o.ResourceURI = o.Secrets.String(o.Version), o.Secrets.String(o.Release), o.Secrets.String(o.ResourceURI)
	return nil
}

// Evidence is everything Create made.
type Evidence struct {
	Manifest  *Manifest
	Statement *Statement
	Bundle    *Bundle
	// Report is the combined run report included as report.json.
	Report *gate.Report
	// Files are the bundle's files (without the tarball itself).
	Files []File
	// TarGz is evidence-<version>.tar.gz.
	TarGz []byte
	// Envelope is EnvelopeFile: the bundle's DSSE envelope on its own, the
	// same signature, for DSSE clients such as slsa-verifier verify-vsa.
	// It is not in the tarball (the bundle there holds the same bytes).
	Envelope []byte
	// Checklist is the release checklist filled from Report (nil: the
	// built-in template, no approvals).
	Checklist *checklist.Filled
	// bundled is set while Create renders the views of a bundle it signs.
	bundled bool
}

// Digest returns "sha256:<hex>" of b.
func Digest(b []byte) string { return fmt.Sprintf("sha256:%x", sha256.Sum256(b)) }

// Validate reports every problem with o at once.
func (o *Options) Validate() error {
	var errs []error
	if !versionRE.MatchString(o.Version) {
		errs = append(errs, &gate.InputError{Input: "--version", Err: fmt.Errorf("%q: expected a version such as v1.4.0 (letters, digits, . _ + -)", o.Version)})
	}
	if len(o.Results) == 0 {
		errs = append(errs, &gate.InputError{Input: "--results", Err: errors.New("no gate results; expected at least one")})
	}
	if o.Signer == nil {
		errs = append(errs, &gate.InputError{Input: "--key", Err: errors.New("no signer; pass --key cosign.key (make one with `releasegate evidence keygen`) or --keyless with an OIDC token")})
	}
	seen := map[string]bool{}
	for _, r := range o.Results {
		if seen[r.Gate] {
			errs = append(errs, &gate.InputError{Input: "results", Err: fmt.Errorf("duplicate gate id %q; each gate must have one result", r.Gate)})
		}
		seen[r.Gate] = true
	}
	for flag, u := range map[string]string{"--resource-uri": o.ResourceURI, "--policy-uri": o.PolicyURI} {
		if err := checkURI(flag, u); err != nil {
			errs = append(errs, err)
		}
	}
	names := map[string]bool{}
	for _, a := range append(append([]Input(nil), o.Artifacts...), o.Attestations...) {
		if err := checkName(a.Name, 200); err != nil || strings.Contains(a.Name, "/") {
			errs = append(errs, &gate.InputError{Input: a.Name, Err: errors.New("expected a plain file name")})
		}
		if names[a.Name] {
			errs = append(errs, &gate.InputError{Input: a.Name, Err: errors.New("given twice; artifact and attestation names must be unique")})
		}
		names[a.Name] = true
	}
	return errors.Join(errs...)
}

// Verdict says whether the release passed: PASSED only when every required
// gate has a result that passed (pass or warn). It returns the reasons for
// FAILED, one per gate.
func Verdict(results []gate.Result, required []string) (string, []string, []string) {
	byID := map[string]*gate.Result{}
	for i := range results {
		byID[results[i].Gate] = &results[i]
	}
	req := slices.Clone(required)
	for _, r := range results {
		if r.Required {
			req = append(req, r.Gate)
		}
	}
	sort.Strings(req)
	req = slices.Compact(req)
	var reasons []string
	if len(req) == 0 {
		reasons = append(reasons, "no required gates; expected at least one gate marked required in the policy")
	}
	for _, id := range req {
		r, ok := byID[id]
		switch {
		case !ok:
			reasons = append(reasons, fmt.Sprintf("required gate %s has no result; expected %s.json from `releasegate run --out DIR`", id, id))
		case r.Status == gate.StatusPass || r.Status == gate.StatusWarn:
		case r.Status == gate.StatusSkip:
			reasons = append(reasons, fmt.Sprintf("required gate %s was skipped: %s", id, orDash(r.Summary)))
		case r.Status == gate.StatusError:
			reasons = append(reasons, fmt.Sprintf("required gate %s could not be evaluated: %s", id, orDash(firstNonEmpty(r.Error, r.Summary))))
		default:
			reasons = append(reasons, fmt.Sprintf("required gate %s %s: %s", id, r.Status, orDash(r.Summary)))
		}
	}
	if len(reasons) > 0 {
		return ResultFailed, reasons, req
	}
	return ResultPassed, nil, req
}

func orDash(s string) string {
	if s == "" {
		return "(no summary)"
	}
	return s
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

// Create builds, signs and packages the evidence. The output depends only
// on the options: with a key, the same inputs give a byte-identical tarball
// (keyless signatures differ per run: a new key, certificate and log entry).
func Create(o Options) (*Evidence, error) { return CreateContext(context.Background(), o) }

// CreateContext is Create with a context for a signer that calls out
// (keyless signing). It writes the policy, the gate results and report, the
// attestations, the people's views and the manifest, then signs the
// statement and packs the tarball.
func CreateContext(ctx context.Context, o Options) (*Evidence, error) {
	if err := o.redact(); err != nil {
		return nil, err
	}
	if err := o.Validate(); err != nil {
		return nil, err
	}
	results := slices.Clone(o.Results)
	ts := o.Time
	if ts.IsZero() {
		for _, r := range results {
			if r.FinishedAt.After(ts) {
				ts = r.FinishedAt
			}
		}
	}
	ts = ts.UTC().Truncate(time.Second)
	result, reasons, required := Verdict(results, o.Required)
	levels, err := VerifiedLevels(result, results, o.VerifiedLevels)
	if err != nil {
		return nil, &gate.InputError{Input: "--verified-level", Err: err}
	}

	m := &Manifest{
		Schema: ManifestSchema, Version: o.Version, Release: o.Release, Timestamp: ts,
		Result: result, Reasons: reasons, Tool: o.Tool, GitHub: o.GitHub,
		Checks: map[string]bool{}, Required: required, Artifacts: []Artifact{},
	}
	var files fileList
	m.Policy = files.addPolicy(o)
	rep, repJSON, err := files.addResults(m, o.Tool, results, required)
	if err != nil {
		return nil, err
	}
	addKindChecks(m, results)
	if err := files.addJudged(m, o.Judged); err != nil {
		return nil, err
	}
	subjects := files.addAttestations(m, o, repJSON)

	// The release metrics, derived once here; the views print them.
	m.ReleaseMetrics = ReleaseMetrics(rep)
	ev := &Evidence{Manifest: m, Report: rep, bundled: true, Checklist: o.fill(rep.Results)}
	if err := files.addViews(ev); err != nil {
		return nil, err
	}
	mname, mb, err := files.addManifest(m, o.Version)
	if err != nil {
		return nil, err
	}

	// The statement, signed.
	st := &Statement{
		Type: StatementType, Subject: subjects, PredicateType: VSAType,
		Predicate: VSA{
			Verifier:     Verifier{ID: VerifierID, Version: map[string]string{"releasegate": firstNonEmpty(o.Tool, "dev")}},
			TimeVerified: ts, ResourceURI: resourceURI(o), Policy: ResourceDescriptor{URI: policyURI(o, m.Policy), Digest: digestMap(m.Policy.Digest)},
			InputAttestations: inputAttestations(o.Attestations, m.Inputs), VerificationResult: result, VerifiedLevels: levels, SLSAVersion: "1.0",
			Manifest: &ResourceDescriptor{Name: mname, Digest: digestMap(Digest(mb))},
		},
	}
	payload, err := json.Marshal(st)
	if err != nil {
		return nil, err
	}
	b, err := o.Signer.SignBundle(ctx, PayloadType, payload)
	if err != nil {
		return nil, err
	}
	bb, err := MarshalBundle(b)
	if err != nil {
		return nil, err
	}
	files.add(BundleFile, bb)
	envJSON, err := marshalJSON(b.DSSEEnvelope)
	if err != nil {
		return nil, err
	}

	tgz, err := WriteTarGz(files)
	if err != nil {
		return nil, err
	}
	sort.Slice(files, func(i, j int) bool { return files[i].Name < files[j].Name })
	ev.Statement, ev.Bundle, ev.Files, ev.TarGz, ev.Envelope = st, b, files, tgz, envJSON
	return ev, nil
}

// fileList is the evidence's files as CreateContext writes them.
type fileList []File

func (fl *fileList) add(name string, data []byte) {
	*fl = append(*fl, File{Name: name, Data: data})
}

// addPolicy adds the policy file, when given, and returns its reference.
func (fl *fileList) addPolicy(o Options) PolicyRef {
	pref := PolicyRef{Path: o.PolicyRef.Name, Digest: o.PolicyRef.Digest}
	if o.Policy != nil {
		pref = PolicyRef{Path: o.Policy.Name, Digest: Digest(o.Policy.Data), File: "policy/" + path.Base(o.Policy.Name)}
		fl.add(pref.File, o.Policy.Data)
	}
	return pref
}

// addResults adds the gate results, one file each, and the combined report,
// recording each gate, its checks and its inputs in m. It returns the
// report and its JSON.
func (fl *fileList) addResults(m *Manifest, tool string, results []gate.Result, required []string) (*gate.Report, []byte, error) {
	rep := &gate.Report{Schema: gate.SchemaVersion, Status: gate.Verdict(results),
		Policy: gate.Input{Name: m.Policy.Path, Digest: m.Policy.Digest}, Tool: tool, Results: results}
	if m.Release != "" || m.Version != "" {
		rep.Release = &gate.Release{Name: m.Release, Version: m.Version}
	}
	for _, r := range results {
		if rep.StartedAt.IsZero() || r.StartedAt.Before(rep.StartedAt) {
			rep.StartedAt = r.StartedAt
		}
		if r.FinishedAt.After(rep.FinishedAt) {
			rep.FinishedAt = r.FinishedAt
		}
		b, err := marshalJSON(r)
		if err != nil {
			return nil, nil, fmt.Errorf("encode result %s: %w", r.Gate, err)
		}
		name := "results/" + r.Gate + ".json"
		if err := checkName(name, 200); err != nil {
			return nil, nil, &gate.InputError{Input: r.Gate, Err: fmt.Errorf("gate id cannot name a file: %w", err)}
		}
		fl.add(name, b)
		counts := r.Counts()
		m.Checks[r.Gate] = r.Status == gate.StatusPass || r.Status == gate.StatusWarn
		m.Gates = append(m.Gates, GateRecord{ID: r.Gate, Kind: r.Kind, Group: r.Group, Required: slices.Contains(required, r.Gate),
			Status: string(r.Status), Checks: len(r.Checks), Passed: counts[gate.StatusPass], Summary: r.Summary, File: name})
		for _, in := range r.Inputs {
			m.Inputs = append(m.Inputs, InputRef{Gate: r.Gate, Name: in.Name, URI: in.URI, Digest: in.Digest})
		}
	}
	for _, id := range required {
		if _, ok := m.Checks[id]; !ok {
			m.Checks[id] = false
		}
	}
	repJSON, err := marshalJSON(rep)
	if err != nil {
		return nil, nil, err
	}
	fl.add(ReportFile, repJSON)
	return rep, repJSON, nil
}

// addAttestations adds the attestations, linked in m to the artifacts they
// are about, and returns the statement's subjects: the artifacts, or the
// report (repJSON) when no artifact is given.
func (fl *fileList) addAttestations(m *Manifest, o Options, repJSON []byte) []Subject {
	attSubjects := map[string][]string{}
	for _, a := range o.Attestations {
		name := "attestations/" + a.Name
		fl.add(name, a.Data)
		for _, d := range attestationSubjects(a.Data) {
			attSubjects[d] = append(attSubjects[d], name)
		}
	}
	var subjects []Subject
	for _, a := range o.Artifacts {
		d := Digest(a.Data)
		m.Artifacts = append(m.Artifacts, Artifact{Name: a.Name, Digest: d, Attestations: attSubjects[d]})
		subjects = append(subjects, Subject{Name: a.Name, Digest: digestMap(d)})
	}
	if len(subjects) == 0 {
		// No artifact given: the statement is about the judged results.
		subjects = append(subjects, Subject{Name: ReportFile, Digest: digestMap(Digest(repJSON))})
	}
	return subjects
}

// addViews adds people's views: the checklist and the HTML page.
func (fl *fileList) addViews(ev *Evidence) error {
	var cl strings.Builder
	if err := WriteChecklist(&cl, ev); err != nil {
		return err
	}
	fl.add(ChecklistFile, []byte(cl.String()))
	var html strings.Builder
	if err := WriteHTML(&html, ev); err != nil {
		return err
	}
	fl.add(HTMLFile, []byte(html.String()))
	return nil
}

// addManifest sorts the files, lists every one in m (the manifest lists
// every file but itself and the signature) and adds the manifest; it
// returns the manifest's name and bytes.
func (fl *fileList) addManifest(m *Manifest, version string) (string, []byte, error) {
	files := *fl
	sort.Slice(files, func(i, j int) bool { return files[i].Name < files[j].Name })
	for _, f := range files {
		m.Files = append(m.Files, FileRef{Path: f.Name, Digest: Digest(f.Data), Size: int64(len(f.Data))})
	}
	mb, err := MarshalManifest(m)
	if err != nil {
		return "", nil, err
	}
	mname := ManifestName(version)
	fl.add(mname, mb)
	return mname, mb, nil
}

func marshalJSON(v any) ([]byte, error) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// attestationSubjects returns the "sha256:<hex>" subject digests of an
// in-toto statement given as JSON, JSON lines, a DSSE envelope or a
// Sigstore bundle. Anything else has no subjects.
func attestationSubjects(b []byte) []string {
	var out []string
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		out = append(out, subjectsOf([]byte(line), 0)...)
	}
	if len(out) == 0 {
		out = subjectsOf(b, 0)
	}
	sort.Strings(out)
	return slices.Compact(out)
}

func subjectsOf(b []byte, depth int) []string {
	if depth > 2 {
		return nil
	}
	var doc struct {
		Subject []Subject `json:"subject"`
		Payload []byte    `json:"payload"`
		DSSE    *struct {
			Payload []byte `json:"payload"`
		} `json:"dsseEnvelope"`
	}
	if json.Unmarshal(b, &doc) != nil {
		return nil
	}
	var out []string
	for _, s := range doc.Subject {
		if h, ok := s.Digest["sha256"]; ok {
			out = append(out, "sha256:"+h)
		}
	}
	if len(doc.Payload) > 0 {
		out = append(out, subjectsOf(doc.Payload, depth+1)...)
	}
	if doc.DSSE != nil {
		out = append(out, subjectsOf(doc.DSSE.Payload, depth+1)...)
	}
	return out
}
