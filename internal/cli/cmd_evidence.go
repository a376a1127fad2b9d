package cli

import (
	"context"
	"crypto"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/maestro-conductor/releasegate/internal/checklist"
	"github.com/maestro-conductor/releasegate/internal/evidence"
	"github.com/maestro-conductor/releasegate/internal/fsx"
	"github.com/maestro-conductor/releasegate/internal/gate"
	"github.com/maestro-conductor/releasegate/internal/policy"
	"github.com/maestro-conductor/releasegate/internal/provenance"
)

const evidenceUsage = `Usage:
  releasegate evidence create --results DIR --version V --key cosign.key [flags]
  releasegate evidence create --results DIR --version V --keyless [flags]
  releasegate evidence verify --key cosign.pub [--artifact FILE]... [--resource-uri URI] [--verified-level L]... evidence-V.tar.gz
  releasegate evidence verify --trusted-root trusted_root.json \
      --certificate-identity ID --certificate-oidc-issuer URL evidence-V.tar.gz
  releasegate evidence keygen [--alg ecdsa-p256|ed25519] [--out-prefix cosign]

create collects the gate results (a directory from 'releasegate run --out DIR'
or one report JSON), the policy and its digest, the artifacts' digests, the
attestations and the GitHub run context, and writes to --out:
  evidence-manifest-V.yaml   the checklist's evidence manifest
  evidence.sigstore.json     the DSSE-signed in-toto VSA in a Sigstore bundle
  evidence.dsse.json         the same signed envelope alone (slsa-verifier verify-vsa)
  report.html, checklist.md  for people (the checklist's template: --template FILE;
                             its sign-off: --approvals FILE or RELEASEGATE_APPROVALS)
  evidence-V.tar.gz          all of it, reproducible byte for byte
The files the sbom, vulnerabilities and tests gates judged (SBOMs, VEX
documents, scan and test reports) go into the bundle under inputs/GATE/, read
where the gate read them or relative to the policy file, and refused when
their digest is not the one the gate recorded (one not found is recorded by
digest alone, with a warning); the manifest's checks carry sbom_scan_passed,
security_scan_passed and tests_passed (true only when every gate of the kind has status pass; false when none ran)
and its tests: section the test totals.
The VSA says PASSED only when every required gate passed; a required gate
without a result (--require) makes it FAILED with the reason.

create exits 0 once the evidence is written, whatever its verdict (a failed
release is recorded as FAILED; verify exits 1 for it), 2 for bad input and 3
when signing could not complete (keyless: Fulcio or Rekor unreachable).

--keyless signs with a short-lived Fulcio certificate for the identity in an
OIDC token (SIGSTORE_ID_TOKEN, or GitHub Actions' ID token with
id-token: write) and logs the signature in Rekor: network calls, opt-in.

verify checks the tarball offline: its encoding, the signature, every file's
digest against the signed manifest, the subjects (and --artifact files), and
that the required gates passed. Keyless evidence is verified against a pinned
trusted_root.json (no TUF, no network) and a signer identity: an exact
--certificate-identity or an anchored --certificate-identity-regexp (one that
matches anyone, like .*, is refused), and the OIDC issuer. It prints
PASSED/FAILED lines and exits 0 when the evidence is intact and the release
passed, 1 when it is altered, signed by someone else or records a failed
release, 2 for bad input (flags, unreadable key, root or file).

Encrypted keys (cosign's format) are read with the password in COSIGN_PASSWORD.

Example:
  releasegate run --policy .github/release-policy.yml --out results/
  releasegate evidence keygen --out-prefix release
  releasegate evidence create --results results/ --policy .github/release-policy.yml \
      --version v1.4.0 --artifact dist/app.tar.gz --key release.key --out evidence/
  releasegate evidence verify --key release.pub --artifact dist/app.tar.gz evidence/evidence-v1.4.0.tar.gz
`

const checklistUsage = `Usage:
  releasegate checklist --results DIR [--version V] [--require ID]... [--template FILE]
      [--approvals FILE] [--issue N --repo OWNER/NAME]

Writes the release checklist in Markdown: the template's sections and boxes
(the built-in template, or --template FILE; see docs/checklist.md), every
blank filled from the gate results with the gates that answered it, a box no
gate answers marked "not checked by this policy". The sign-off rows are
filled only from the environment reviews in --approvals (default
RELEASEGATE_APPROVALS): the JSON GitHub returns for
GET /repos/{owner}/{repo}/actions/runs/{run_id}/approvals; without it they
stay open. Under GitHub Actions the checklist is also appended to the step
summary. With --issue it writes the checklist into that GitHub issue's body
between marker comments, keeping everything outside them (GITHUB_API_URL,
token from GITHUB_TOKEN; repository from --repo or GITHUB_REPOSITORY).

Example:
  releasegate checklist --results results/ --version v1.4.0 --issue 12
`

func evidenceCmd(ctx context.Context, o *IO, args []string) error {
	if len(args) == 0 {
		fmt.Fprint(o.Stderr, evidenceUsage)
		return exitCode(ExitBadInput)
	}
	switch args[0] {
	case "create":
		return evidenceCreate(ctx, o, args[1:])
	case "verify":
		return evidenceVerify(o, args[1:])
	case "keygen":
		return evidenceKeygen(o, args[1:])
	case "-h", "--help", "help":
		fmt.Fprint(o.Stdout, evidenceUsage)
		return nil
	}
	return inputf("unknown subcommand %q; expected create, verify or keygen", args[0])
}

func readInputs(paths []string) ([]evidence.Input, error) {
	var out []evidence.Input
	for _, p := range paths {
		b, err := fsx.ReadFile(context.Background(), p, fsx.MaxDocSize)
		if err != nil {
			return nil, &gate.InputError{Input: p, Err: err}
		}
		out = append(out, evidence.Input{Name: filepath.Base(p), Data: b})
	}
	return out, nil
}

// evidenceInputs are the flags shared by create and checklist.
type evidenceInputs struct {
	results, policyPath, version, release string
	require                               stringList
	// template and approvals shape the release checklist (checklist.md).
	template, approvals string
}

func (e *evidenceInputs) register(fs *flag.FlagSet) {
	fs.StringVar(&e.results, "results", "", "results directory from 'releasegate run --out DIR', or a report JSON (required)")
	fs.StringVar(&e.policyPath, "policy", "", "the policy file that was evaluated; its required gates must all have results")
	fs.StringVar(&e.version, "version", "", "the release version, e.g. v1.4.0 (default: the policy's release.version)")
	fs.StringVar(&e.release, "release", "", "the release name (default: the policy's release.name)")
	fs.Var(&e.require, "require", "a gate id that must have passed (repeatable), in addition to those marked required")
	fs.StringVar(&e.template, "template", "", "release checklist template file (default: the built-in template; see docs/checklist.md)")
	fs.StringVar(&e.approvals, "approvals", "", "environment review history JSON from GitHub's run approvals API; fills the checklist's sign-off rows (default: RELEASEGATE_APPROVALS)")
}

// loadPolicy reads --policy into opts: the file itself, its required
// gates, and the release it names unless the flags say otherwise.
func (e *evidenceInputs) loadPolicy(o *IO, opts *evidence.Options) error {
	b, err := fsx.ReadFile(context.Background(), e.policyPath, policy.MaxFileSize)
	if err != nil {
		return &gate.InputError{Input: e.policyPath, Err: err}
	}
	opts.Policy = &evidence.Input{Name: e.policyPath, Data: b}
	pol, err := policy.Load(e.policyPath, policy.Options{LookupEnv: o.LookupEnv})
	if err != nil {
		return err
	}
	o.Redact(pol.Secrets)
	for _, g := range pol.Gates {
		if g.IsRequired() {
			opts.Required = append(opts.Required, g.ID)
		}
	}
	if opts.Version == "" {
		opts.Version = pol.Release.Version
	}
	if opts.Release == "" {
		opts.Release = pol.Release.Name
	}
	opts.Repository = pol.Release.Repository
	return nil
}

// load reads results and the policy into evidence options.
func (e *evidenceInputs) load(o *IO) (*evidence.Options, error) {
	if e.results == "" {
		return nil, &gate.InputError{Input: "--results", Err: errors.New("missing; pass the directory written by 'releasegate run --out DIR'")}
	}
	rs, err := evidence.LoadResults(e.results)
	if err != nil {
		return nil, err
	}
	opts := &evidence.Options{Version: e.version, Release: e.release, Results: rs.Results, Required: e.require,
		PolicyRef: rs.Policy, Tool: "releasegate " + toolVersion(), GitHub: evidence.GitHubFromEnv(o.Getenv),
		Secrets: o.redactor()}
	if e.policyPath != "" {
		if err := e.loadPolicy(o, opts); err != nil {
			return nil, err
		}
	}
	if e.template != "" {
		b, err := fsx.ReadFile(context.Background(), e.template, fsx.MaxDocSize)
		if err != nil {
			return nil, &gate.InputError{Input: e.template, Err: err}
		}
		if opts.Template, err = checklist.Parse(e.template, b); err != nil {
			return nil, err
		}
	}
	if p := firstNonEmptyStr(e.approvals, o.Getenv("RELEASEGATE_APPROVALS")); p != "" {
		b, err := fsx.ReadFile(context.Background(), p, fsx.MaxDocSize)
		if err != nil {
			return nil, &gate.InputError{Input: p, Err: err}
		}
		if opts.Approvals, err = checklist.ParseApprovals(p, b); err != nil {
			return nil, err
		}
	}
	if sde := o.Getenv("SOURCE_DATE_EPOCH"); sde != "" {
		var sec int64
		if _, err := fmt.Sscan(sde, &sec); err != nil {
			return nil, &gate.InputError{Input: "SOURCE_DATE_EPOCH", Err: fmt.Errorf("%q is not a number of seconds", sde)}
		}
		opts.Time = time.Unix(sec, 0).UTC()
	}
	return opts, nil
}

// createFlags are evidence create's flags.
type createFlags struct {
	in                              evidenceInputs
	kl                              keylessFlags
	artifacts, attestations, levels stringList
	keyPath, pubPath, out           string
	resource, policyURI             string
}

func parseEvidenceCreate(o *IO, args []string) (*createFlags, error) {
	fs := o.NewFlagSet(Command{Name: "evidence create", Usage: evidenceUsage}) // --help prints the usage and exits 0
	f := &createFlags{}
	f.in.register(fs)
	fs.Var(&f.artifacts, "artifact", "a released file; its digest becomes a subject (repeatable)")
	fs.Var(&f.attestations, "attestation", "a provenance or other in-toto file to include (repeatable)")
	fs.Var(&f.levels, "verified-level", "a level to declare in the VSA besides the SLSA build level the provenance gates verified, e.g. SLSA_SOURCE_LEVEL_2 or FEDRAMP_LOW (repeatable); a SLSA_BUILD level above the verified one is refused")
	fs.StringVar(&f.keyPath, "key", "", "private signing key (PEM; cosign's encrypted format with COSIGN_PASSWORD); or --keyless")
	f.kl.register(fs)
	fs.StringVar(&f.pubPath, "verify-key", "", "public key the signature must verify with; refuses a signing key that does not match")
	fs.StringVar(&f.out, "out", ".", "directory to write the evidence files to")
	fs.StringVar(&f.resource, "resource-uri", "", "the VSA resourceUri: the released artifact or image as an absolute URI (default: pkg:github/OWNER/REPO@VERSION from GITHUB_REPOSITORY or the policy's release.repository)")
	fs.StringVar(&f.policyURI, "policy-uri", "", "the VSA policy.uri (default: GITHUB_SERVER_URL/GITHUB_REPOSITORY/blob/GITHUB_SHA/<--policy path>)")
	if err := parseFlags(fs, args); err != nil {
		return nil, err
	}
	return f, noArgs(fs, "")
}

// options reads what the flags name into evidence options, signer included.
func (f *createFlags) options(ctx context.Context, o *IO) (*evidence.Options, error) {
	opts, err := f.in.load(o)
	if err != nil {
		return nil, asInput(err)
	}
	if opts.Artifacts, err = readInputs(f.artifacts); err != nil {
		return nil, asInput(err)
	}
	if opts.Attestations, err = readInputs(f.attestations); err != nil {
		return nil, asInput(err)
	}
	// the SBOMs, VEX documents, scan and test reports the gates judged, by
	// their names relative to the policy file, checked against the digests
	// the gates recorded (in evidence.Create)
	var missing []string
	if opts.Judged, missing, err = evidence.ReadJudgedInputs(ctx, opts.Results, judgedDir(f.in.policyPath, opts.PolicyRef.Name)); err != nil {
		return nil, asInput(err)
	}
	for _, m := range missing {
		fmt.Fprintf(o.Stderr, "releasegate evidence create: %s is not here; the manifest records its digest without a copy (make the evidence where the gates ran to carry it)\n", m)
	}
	opts.VerifiedLevels, opts.ResourceURI, opts.PolicyURI = f.levels, f.resource, f.policyURI
	if opts.Signer, err = evidenceSigner(ctx, o, &f.kl, f.keyPath, f.pubPath); err != nil {
		return nil, err
	}
	return opts, nil
}

func evidenceCreate(ctx context.Context, o *IO, args []string) error {
	f, err := parseEvidenceCreate(o, args)
	if err != nil {
		return err
	}
	opts, err := f.options(ctx, o)
	if err != nil {
		return err
	}
	out := f.out
	_, statErr := os.Stat(out)
	created := errors.Is(statErr, os.ErrNotExist)
	if err := prepareDir("--out", out); err != nil { // before signing: keyless signing writes to Rekor
		return err
	}
	cctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	ev, err := evidence.CreateContext(cctx, *opts)
	if err != nil {
		if created {
			os.Remove(out) // refused: leave nothing behind (only the empty directory made above)
		}
		return err
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return &gate.InputError{Input: out, Err: err}
	}
	if err := writeEvidence(out, opts.Version, ev); err != nil {
		return err
	}
	tgz := filepath.Join(out, evidence.TarballName(opts.Version))
	fmt.Fprintf(o.Stdout, "%s %s\n", evidence.Digest(ev.TarGz), tgz)
	fmt.Fprintf(o.Stdout, "verificationResult: %s\n", ev.Manifest.Result)
	for _, r := range ev.Manifest.Reasons {
		fmt.Fprintf(o.Stdout, "  %s\n", r)
	}
	return nil
}

// evidenceSigner is the signer evidence create's flags choose: keyless, or
// the private key (matched against --verify-key when given).
func evidenceSigner(ctx context.Context, o *IO, kl *keylessFlags, keyPath, pubPath string) (evidence.BundleSigner, error) {
	switch {
	case kl.keyless && (keyPath != "" || pubPath != ""):
		return nil, &gate.InputError{Input: "--keyless", Err: errors.New("with --key or --verify-key; sign with a key or keyless, not both")}
	case kl.keyless:
		return kl.signer(ctx, o)
	case keyPath == "":
		return nil, &gate.InputError{Input: "--key", Err: errors.New("missing; make a key pair with 'releasegate evidence keygen', or sign with --keyless")}
	}
	key, err := loadSigner(o, keyPath)
	if err != nil {
		return nil, err
	}
	if pubPath != "" {
		pub, err := loadPublicKey(pubPath)
		if err != nil {
			return nil, err
		}
		if err := evidence.MatchKeys(key, pub); err != nil {
			return nil, &gate.InputError{Input: keyPath, Err: err}
		}
	}
	signer, err := evidence.NewSigner(key)
	return signer, asInput(err)
}

// writeEvidence writes the tarball, the envelope and the top-level files
// of ev into out.
func writeEvidence(out, version string, ev *evidence.Evidence) error {
	write := map[string][]byte{evidence.TarballName(version): ev.TarGz, evidence.EnvelopeFile: ev.Envelope}
	for _, f := range ev.Files {
		if !strings.Contains(f.Name, "/") {
			write[f.Name] = f.Data
		}
	}
	for name, data := range write {
		if err := os.WriteFile(filepath.Join(out, name), data, 0o644); err != nil {
			return err
		}
	}
	return nil
}

func loadSigner(o *IO, path string) (crypto.Signer, error) {
	b, err := fsx.ReadFile(context.Background(), path, fsx.MaxKeySize)
	if err != nil {
		return nil, &gate.InputError{Input: path, Err: err}
	}
	pw := o.Getenv("COSIGN_PASSWORD")
	o.Redact([]string{pw})
	k, err := evidence.ParsePrivateKey(b, []byte(pw))
	if err != nil {
		return nil, &gate.InputError{Input: path, Err: err}
	}
	return k, nil
}

func loadPublicKey(path string) (crypto.PublicKey, error) {
	b, err := fsx.ReadFile(context.Background(), path, fsx.MaxKeySize)
	if err != nil {
		return nil, &gate.InputError{Input: path, Err: err}
	}
	k, err := evidence.ParsePublicKey(b)
	if err != nil {
		return nil, &gate.InputError{Input: path, Err: err}
	}
	return k, nil
}

func evidenceVerify(o *IO, args []string) error {
	fs := o.NewFlagSet(Command{Name: "evidence verify", Usage: evidenceUsage}) // --help prints the usage and exits 0
	var f verifyFlags
	fs.StringVar(&f.keyPath, "key", "", "public key the evidence must be signed with, e.g. cosign.pub")
	fs.StringVar(&f.rootPath, "trusted-root", "", "Sigstore trusted_root.json that keyless evidence must chain to (read offline)")
	registerIdentityFlags(fs, &f.id)
	fs.Var(&f.artifacts, "artifact", "a file that must be a subject of the evidence (repeatable)")
	fs.Var(&f.levels, "verified-level", "a level the VSA must meet, e.g. SLSA_BUILD_LEVEL_3 (at least that level of the track) or FEDRAMP_LOW (exactly); repeatable, as slsa-verifier verify-vsa --verified-level")
	fs.StringVar(&f.resource, "resource-uri", "", "the resourceUri the VSA must name, e.g. pkg:github/acme/app@v1.4.0, as slsa-verifier verify-vsa --resource-uri")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return inputf("expected one evidence-<version>.tar.gz argument")
	}
	vo, err := f.options(o.skipSCTUnsafe)
	if err != nil {
		return err
	}
	file := fs.Arg(0)
	fh, err := openEvidence(file)
	if err != nil {
		return err
	}
	defer fh.Close()
	v, err := evidence.VerifyReader(fh, vo)
	if errors.Is(err, gate.ErrBadInput) {
		return err
	}
	for _, line := range v.Passed {
		fmt.Fprintf(o.Stdout, "PASSED: %s\n", line)
	}
	if err != nil {
		fmt.Fprintf(o.Stdout, "FAILED: %s: %v\n", file, err)
		return verdict(gate.StatusFail) // the FAILED line says why
	}
	fmt.Fprintf(o.Stdout, "PASSED: verified %s (%s)\n", file, v.Digest)
	return nil
}

// verifyFlags are evidence verify's flags.
type verifyFlags struct {
	keyPath, rootPath, resource string
	artifacts, levels           stringList
	id                          provenance.Identity
}

// options are the verification the flags ask for: key-signed evidence
// with --key, keyless evidence with --trusted-root and an identity.
func (f *verifyFlags) options(skipSCT bool) (evidence.VerifyOptions, error) {
	vo := evidence.VerifyOptions{Identity: f.id, SkipSCTUnsafe: skipSCT, ResourceURI: f.resource, VerifiedLevels: f.levels}
	switch {
	case f.keyPath != "" && f.rootPath != "":
		return vo, &gate.InputError{Input: "--key", Err: errors.New("with --trusted-root; pass --key for key-signed evidence or --trusted-root for keyless evidence, not both")}
	case f.keyPath != "":
		if f.id != (provenance.Identity{}) {
			return vo, &gate.InputError{Input: "--certificate-identity", Err: errors.New("given with --key; certificate identities apply to keyless evidence, verified with --trusted-root")}
		}
		pub, err := loadPublicKey(f.keyPath)
		if err != nil {
			return vo, err
		}
		vo.Key = pub
	case f.rootPath != "":
		if errs := f.id.Validate(); len(errs) > 0 {
			return vo, &gate.InputError{Input: "keyless identity", Err: errors.Join(errs...)}
		}
		tr, err := evidence.LoadTrustedRoot(f.rootPath)
		if err != nil {
			return vo, &gate.InputError{Input: f.rootPath, Err: err}
		}
		vo.TrustedRoot = tr
	default:
		return vo, &gate.InputError{Input: "--key", Err: errors.New("missing; pass the public key (--key cosign.pub), or --trusted-root with --certificate-identity and --certificate-oidc-issuer for keyless evidence")}
	}
	arts, err := readInputs(f.artifacts)
	vo.Artifacts = arts
	return vo, asInput(err)
}

// openEvidence opens the tarball to verify. It is streamed (twice), never
// read whole into memory; a device or FIFO would never end or block, so
// only regular files up to the size limit.
func openEvidence(file string) (*os.File, error) {
	st, err := os.Stat(file)
	if err != nil {
		return nil, &gate.InputError{Input: file, Err: err}
	}
	if st.Size() > evidence.DefaultLimits.MaxTotalSize {
		return nil, &gate.InputError{Input: file, Err: fmt.Errorf("%d bytes; at most %d are accepted", st.Size(), evidence.DefaultLimits.MaxTotalSize)}
	}
	if !st.Mode().IsRegular() {
		return nil, &gate.InputError{Input: file, Err: errors.New("not a regular file; expected evidence-<version>.tar.gz")}
	}
	f, err := os.Open(file)
	if err != nil {
		return nil, &gate.InputError{Input: file, Err: err}
	}
	return f, nil
}

func evidenceKeygen(o *IO, args []string) error {
	fs := o.NewFlagSet(Command{Name: "evidence keygen", Usage: evidenceUsage}) // --help prints the usage and exits 0
	var alg, prefix string
	var force bool
	fs.StringVar(&alg, "alg", evidence.AlgECDSAP256, "key algorithm: ecdsa-p256 or ed25519")
	fs.StringVar(&prefix, "out-prefix", "cosign", "write PREFIX.key and PREFIX.pub")
	fs.BoolVar(&force, "force", false, "overwrite existing key files")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	k, err := evidence.GenerateKey(alg)
	if err != nil {
		return asInput(err)
	}
	pw := o.Getenv("COSIGN_PASSWORD")
	o.Redact([]string{pw})
	priv, err := evidence.MarshalPrivateKey(k, []byte(pw))
	if err != nil {
		return err
	}
	pub, err := evidence.MarshalPublicKey(k.Public())
	if err != nil {
		return err
	}
	flags := os.O_WRONLY | os.O_CREATE | os.O_EXCL
	if force {
		flags = os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	}
	for _, f := range []struct {
		name string
		data []byte
		mode os.FileMode
	}{{prefix + ".key", priv, 0o600}, {prefix + ".pub", pub, 0o644}} {
		fh, err := os.OpenFile(f.name, flags, f.mode)
		if err != nil {
			return asInput(&gate.InputError{Input: f.name, Err: fmt.Errorf("%v; pass --force to overwrite", err)})
		}
		_, werr := fh.Write(f.data)
		if cerr := fh.Close(); werr == nil {
			werr = cerr
		}
		if werr != nil {
			return werr
		}
	}
	if pw == "" {
		o.Logf("releasegate evidence keygen: %s.key is not encrypted; set COSIGN_PASSWORD to encrypt it", prefix)
	}
	fmt.Fprintf(o.Stdout, "wrote %s.key and %s.pub (key id %s)\n", prefix, prefix, evidence.KeyID(k.Public()))
	return nil
}

func checklistCmd(ctx context.Context, o *IO, args []string) error {
	fs := o.NewFlagSet(Command{Name: "checklist", Usage: checklistUsage}) // --help prints the usage and exits 0
	var in evidenceInputs
	in.register(fs)
	var issue int
	var repo string
	fs.IntVar(&issue, "issue", 0, "GitHub issue number whose body is replaced with the checklist")
	fs.StringVar(&repo, "repo", "", "owner/name of the issue's repository (default: GITHUB_REPOSITORY)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	opts, err := in.load(o)
	if err != nil {
		return asInput(err)
	}
	if opts.Version == "" {
		opts.Version = "unversioned"
	}
	md, err := evidence.Checklist(*opts)
	if err != nil {
		return asInput(err)
	}
	md = o.redactor().String(md)
	if p := o.Getenv("GITHUB_STEP_SUMMARY"); p != "" && o.Getenv("GITHUB_ACTIONS") == "true" {
		if err := appendFile(p, md); err != nil {
			return fmt.Errorf("step summary %s not written: %w", p, err)
		}
	}
	if issue == 0 {
		fmt.Fprint(o.Stdout, md)
		return nil
	}
	token := o.Getenv("GITHUB_TOKEN")
	o.Redact([]string{token})
	u := &evidence.IssueUpdater{APIURL: o.Getenv("GITHUB_API_URL"), Token: token, Client: o.httpClient(30 * time.Second)}
	if repo == "" {
		repo = o.Getenv("GITHUB_REPOSITORY")
	}
	cctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	url, err := u.UpdateIssueChecklist(cctx, repo, issue, md)
	if err != nil {
		return err
	}
	fmt.Fprintf(o.Stdout, "updated %s\n", firstNonEmptyStr(url, fmt.Sprintf("%s#%d", repo, issue)))
	return nil
}

// appendFile appends s to the file at p (the step summary).
func appendFile(p, s string) error {
	f, err := os.OpenFile(p, os.O_APPEND|os.O_WRONLY|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	_, werr := f.WriteString(s + "\n")
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	return werr
}

func firstNonEmptyStr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// judgedDir is the directory the gates resolved their relative input names
// against: the policy file's, from --policy or else the report's policy.
func judgedDir(policyFlag, reportPolicy string) string {
	if p := firstNonEmptyStr(policyFlag, reportPolicy); p != "" {
		return filepath.Dir(p)
	}
	return "."
}
