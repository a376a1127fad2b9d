// Package ledgergate implements the `ledger` gate kind (group provenance): it
// checks releasegate's provenance ledger in PostgreSQL or SQLite — schema v2
// applied, every tenant's hash chain intact end to end (or its latest N
// entries), a minimum number of entries, and, when asked, a signed daily
// checkpoint anchored in the chain whose Merkle root still matches the
// ledger and extends the previous day's, and, with keyless-bundles, a
// keyless Sigstore signature of that checkpoint by a given identity.
//
// It fails closed: an empty ledger, a tenant without entries, a missing
// schema or checkpoint fail; an unreachable database is an error.
package ledgergate

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/maestro-conductor/releasegate/internal/fsx"
	"github.com/maestro-conductor/releasegate/internal/gate"
	"github.com/maestro-conductor/releasegate/internal/ledger"
	"github.com/maestro-conductor/releasegate/internal/policy"
	"github.com/maestro-conductor/releasegate/internal/provenance"
)

// Kind is the gate kind's name in a policy.
const Kind = "ledger"

// Spec is the `with:` block of a ledger gate.
type Spec struct {
	// DB is the ledger's data source.
	DB string `yaml:"db" required:"true" secret:"true" doc:"the ledger database: postgres://USER:PASS@HOST:PORT/DB or sqlite:PATH (relative to the policy file); masked in every output"`
	// Tenants limits the check; empty means every tenant.
	Tenants []string `yaml:"tenants" doc:"tenants to check; every tenant in the ledger when empty"`
	// Limit checks only each tenant's latest entries.
	Limit int64 `yaml:"limit" default:"0" doc:"check only each tenant's latest N entries and their link to the entry before; 0 checks the whole chain"`
	// Since verifies only after signed checkpoints.
	Since string `yaml:"since" doc:"a signed checkpoint file (from ledger root) or a directory of them, relative to the policy file: each tenant with one is verified from its latest there only — signature with public-key, its head entry unchanged, then every entry after it — in time proportional to the new entries; tenants without one are verified in full"`
	// MinEntries is the least number of entries each tenant must have.
	MinEntries int64 `yaml:"min-entries" default:"1" doc:"the least number of entries each checked tenant must have"`
	// RequireCheckpoint asks for a signed, anchored checkpoint of a day.
	RequireCheckpoint string `yaml:"require-checkpoint" default:"none" enum:"none,today,yesterday" doc:"require a signed daily checkpoint anchored in each tenant's chain for this UTC day, matching the ledger and consistent with the day before"`
	// PublicKey is the verifier key file for checkpoints.
	PublicKey string `yaml:"public-key" doc:"file holding the checkpoint verifier key (from releasegate ledger keygen), relative to the policy file; required with require-checkpoint"`
	// KeylessBundles asks for a keyless signature of each checkpoint too.
	KeylessBundles string `yaml:"keyless-bundles" doc:"directory holding TENANT-DAY.checkpoint.sigstore.json files (from ledger root --keyless), relative to the policy file; with it each required checkpoint must also carry a keyless Sigstore signature, verified offline against trusted-root and the certificate identity"`
	// TrustedRoot is the Sigstore trust material of keyless bundles.
	TrustedRoot string `yaml:"trusted-root" doc:"with keyless-bundles: Sigstore trusted_root.json the bundles' certificates must chain to, read offline"`
	// CertificateIdentity is the exact keyless signer identity.
	CertificateIdentity string `yaml:"certificate-identity" doc:"with keyless-bundles: the keyless signer's exact identity (certificate SAN), e.g. a workflow URI"`
	// CertificateIdentityRegexp is an anchored pattern for it.
	CertificateIdentityRegexp string `yaml:"certificate-identity-regexp" doc:"with keyless-bundles: an anchored pattern (^…$) for the signer identity; one that matches anything is refused"`
	// CertificateOIDCIssuer is the exact OIDC issuer.
	CertificateOIDCIssuer string `yaml:"certificate-oidc-issuer" doc:"with keyless-bundles: the keyless signer's OIDC issuer, e.g. https://token.actions.githubusercontent.com"`
	// CertificateOIDCIssuerRegexp is an anchored pattern for it.
	CertificateOIDCIssuerRegexp string `yaml:"certificate-oidc-issuer-regexp" doc:"with keyless-bundles: an anchored pattern for the OIDC issuer"`
}

// Identity returns the keyless signer identity of the bundles.
func (s *Spec) Identity() provenance.Identity {
	return provenance.Identity{Issuer: s.CertificateOIDCIssuer, IssuerRegexp: s.CertificateOIDCIssuerRegexp,
		Identity: s.CertificateIdentity, IdentityRegexp: s.CertificateIdentityRegexp}
}

// Validate reports every problem with the settings at once.
func (s *Spec) Validate() []error {
	var errs []error
	if s.DB != "" && !strings.HasPrefix(s.DB, "postgres://") && !strings.HasPrefix(s.DB, "postgresql://") && !strings.HasPrefix(s.DB, "sqlite:") {
		errs = append(errs, &policy.FieldError{Field: "db", Err: errors.New("expected postgres://… or sqlite:PATH")})
	}
	if s.Limit < 0 {
		errs = append(errs, &policy.FieldError{Field: "limit", Err: fmt.Errorf("%d is negative; expected 0 (whole chain) or more", s.Limit)})
	}
	if s.MinEntries < 0 {
		errs = append(errs, &policy.FieldError{Field: "min-entries", Err: fmt.Errorf("%d is negative", s.MinEntries)})
	}
	if s.Since != "" && s.PublicKey == "" {
		errs = append(errs, &policy.FieldError{Field: "public-key", Err: errors.New("since needs the checkpoints' verifier key file; create one with `releasegate ledger keygen`")})
	}
	if s.Since != "" && s.Limit > 0 {
		errs = append(errs, &policy.FieldError{Field: "since", Err: errors.New("since and limit both shorten the check: set one of them")})
	}
	switch s.RequireCheckpoint {
	case "", "none":
	case "today", "yesterday":
		if s.PublicKey == "" {
			errs = append(errs, &policy.FieldError{Field: "public-key", Err: errors.New("require-checkpoint needs the verifier key file; create one with `releasegate ledger keygen`")})
		}
	default:
		errs = append(errs, &policy.FieldError{Field: "require-checkpoint", Err: fmt.Errorf("%q: expected none, today or yesterday", s.RequireCheckpoint)})
	}
	keylessSet := s.TrustedRoot != "" || s.Identity() != (provenance.Identity{})
	switch {
	case s.KeylessBundles == "" && keylessSet:
		errs = append(errs, &policy.FieldError{Field: "keyless-bundles", Err: errors.New("trusted-root and certificate-* verify keyless checkpoint bundles: set keyless-bundles to their directory")})
	case s.KeylessBundles != "":
		if s.RequireCheckpoint != "today" && s.RequireCheckpoint != "yesterday" {
			errs = append(errs, &policy.FieldError{Field: "keyless-bundles", Err: errors.New("needs require-checkpoint: today or yesterday, the day whose checkpoints are signed")})
		}
		if s.TrustedRoot == "" {
			errs = append(errs, &policy.FieldError{Field: "trusted-root", Err: errors.New("required with keyless-bundles: the Sigstore trusted_root.json the bundles chain to")})
		}
		for _, err := range s.Identity().Validate() {
			f, _, _ := strings.Cut(err.Error(), ":")
			if i := strings.IndexByte(f, ' '); i > 0 {
				f = f[:i]
			}
			errs = append(errs, &policy.FieldError{Field: f, Err: err})
		}
	}
	for i, t := range s.Tenants {
		if err := ledger.ValidateName("tenant", t, ledger.MaxTenantLen); err != nil {
			errs = append(errs, &policy.FieldError{Field: fmt.Sprintf("tenants[%d]", i), Err: err})
		}
	}
	return errs
}

func init() {
	gate.RegisterTyped(gate.Typed[Spec]{
		Name:    Kind,
		Group:   "provenance",
		Summary: "verifies the provenance ledger: schema v2, per-tenant hash chains, signed daily Merkle checkpoints",
		Default: func() Spec { return Spec{MinEntries: 1} },
		New: func(m gate.Meta, s Spec, env gate.Env) (gate.Gate, error) {
			return New(m, s, env)
		},
	})
}

// Gate is a configured ledger gate.
type Gate struct {
	meta gate.Meta
	spec Spec
	env  gate.Env
	// skipSCTUnsafe skips the certificate-transparency check of keyless
	// bundles; only tests with the virtual Sigstore set it.
	skipSCTUnsafe bool
}

// New builds a ledger gate; relative paths resolve against the policy dir.
func New(m gate.Meta, s Spec, env gate.Env) (*Gate, error) {
	if errs := s.Validate(); len(errs) > 0 {
		return nil, &gate.InputError{Input: "with", Err: errors.Join(errs...)}
	}
	if s.RequireCheckpoint == "" {
		s.RequireCheckpoint = "none"
	}
	if p, ok := strings.CutPrefix(s.DB, "sqlite:"); ok && p != "" {
		s.DB = "sqlite:" + env.Path(p)
	}
	for _, p := range []*string{&s.PublicKey, &s.KeylessBundles, &s.TrustedRoot, &s.Since} {
		*p = env.Path(*p)
	}
	return &Gate{meta: m, spec: s, env: env}, nil
}

// Name returns the gate's id.
func (g *Gate) Name() string { return g.meta.ID }

// Describe says what the gate checks.
func (g *Gate) Describe() string {
	return fmt.Sprintf("ledger %s: hash chains, checkpoint %s", ledger.Redact(g.spec.DB), g.spec.RequireCheckpoint)
}

// Run evaluates the gate.
func (g *Gate) Run(ctx context.Context) (*gate.Result, error) {
	res := &gate.Result{Schema: gate.SchemaVersion, Gate: g.meta.ID, Kind: Kind, Group: g.meta.Group,
		Required: g.meta.Required, Location: g.meta.Location, Details: map[string]any{}}
	st, err := ledger.OpenExisting(ctx, g.spec.DB)
	switch {
	case errors.Is(err, ledger.ErrBadDSN):
		return nil, &gate.InputError{Input: "with.db", Err: err}
	case errors.Is(err, ledger.ErrUnreachable):
		return nil, fmt.Errorf("%w: %w", gate.ErrUnreachable, err)
	case err != nil:
		return nil, err
	}
	defer st.Close()

	v, err := st.Version(ctx)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", gate.ErrUnreachable, err)
	}
	if v != 2 {
		res.Add(gate.Check{Name: "schema v2 migration applied", Status: gate.StatusFail, Observed: gate.Int(int64(v)), Expected: "2",
			Message: fmt.Sprintf("expected ledger schema v2, found v%d; run `releasegate ledger migrate --db …`", v)})
		res.Summary = "ledger schema v2 is not applied"
		return res, nil
	}
	res.Add(gate.Check{Name: "schema v2 migration applied", Status: gate.StatusPass, Observed: gate.Int(2), Expected: "2", Message: "ledger schema v2 is applied"})

	reps, since, verr := g.verify(ctx, st)
	if verr != nil && !errors.Is(verr, ledger.ErrEmpty) {
		return nil, verr
	}
	if len(reps) == 0 {
		res.Add(gate.Check{Name: "hash chain", Status: gate.StatusFail, Observed: gate.Int(0), Expected: ">= 1 entry",
			Message: "expected ledger entries, found none; an empty ledger proves nothing — append entries or point db at the right ledger"})
		res.Summary = "the ledger is empty"
		return res, nil
	}
	var broken, total int64
	chains := map[string]any{}
	for _, r := range reps {
		switch {
		case since[r.Tenant].err != nil:
			res.Add(gate.Check{Name: "hash chain", Tenant: r.Tenant, Status: gate.StatusFail, Observed: gate.Text("checkpoint refused"), Expected: "a signed checkpoint the ledger still continues",
				Message: fmt.Sprintf("tenant %s: %v", r.Tenant, since[r.Tenant].err)})
			broken++
			continue
		case r.Entries == 0 && r.Break == nil:
			res.Add(gate.Check{Name: "hash chain", Tenant: r.Tenant, Status: gate.StatusFail, Observed: gate.Int(0), Expected: ">= 1 entry",
				Message: fmt.Sprintf("tenant %s: expected entries, found none; check the tenant name or append its entries", r.Tenant)})
			broken++
			continue
		case r.Break != nil:
			res.Add(gate.Check{Name: "hash chain", Tenant: r.Tenant, Status: gate.StatusFail, Observed: gate.Text(string(r.Break.Kind) + " at seq " + fmt.Sprint(r.Break.Seq)), Expected: "intact chain",
				Message: fmt.Sprintf("tenant %s: chain broken at seq %d (%s): %s; compare with a backup and the last signed checkpoint", r.Tenant, r.Break.Seq, r.Break.Kind, r.Break.Detail)})
			broken++
		default:
			msg := fmt.Sprintf("tenant %s: %d entries verified (seq %d..%d), genesis %s, latest %s", r.Tenant, r.Entries, r.From, r.To, r.Genesis, r.Latest)
			if sr := since[r.Tenant].rep; sr != nil {
				msg += fmt.Sprintf("; since the signed checkpoint of %s (size %d, head unchanged), root now %s", sr.Checkpoint.Day, sr.Checkpoint.Size, sr.Root)
			}
			res.Add(gate.Check{Name: "hash chain", Tenant: r.Tenant, Status: gate.StatusPass, Observed: gate.Int(r.Entries), Unit: "entries", Expected: "intact chain", Message: msg})
		}
		total += r.To
		chains[r.Tenant] = map[string]any{"entries": r.To, "checked": r.Entries, "genesis_hash": r.Genesis.String(), "latest_hash": r.Latest.String()}
		st := gate.StatusPass
		if r.To < g.spec.MinEntries {
			st = gate.StatusFail
		}
		res.Add(gate.Check{Name: "entries", Tenant: r.Tenant, Status: st, Observed: gate.Int(r.To), Unit: "entries", Expected: fmt.Sprintf(">= %d", g.spec.MinEntries),
			Message: fmt.Sprintf("tenant %s: %d entries, expected at least %d", r.Tenant, r.To, g.spec.MinEntries)})
	}
	res.Details["chains"] = chains

	if g.spec.RequireCheckpoint != "none" {
		if err := g.checkpoints(ctx, st, reps, res); err != nil {
			return nil, err
		}
	}
	switch { // the runner folds the status; the summary words the same fold
	case broken > 0:
		res.Summary = fmt.Sprintf("%d of %d tenant chains broken or empty", broken, len(reps))
	case gate.Folded(res.Checks) == gate.StatusPass:
		res.Summary = fmt.Sprintf("%d tenant chains intact, %d entries", len(reps), total)
	default:
		res.Summary = fmt.Sprintf("%d tenant chains intact, but a check failed", len(reps))
	}
	return res, nil
}

func (g *Gate) checkpoints(ctx context.Context, st *ledger.Store, reps []ledger.Report, res *gate.Result) error {
	day := g.env.Now().UTC()
	if g.spec.RequireCheckpoint == "yesterday" {
		day = day.AddDate(0, 0, -1)
	}
	date := day.Format(ledger.DayLayout)
	key, err := ledger.ReadKey(g.spec.PublicKey)
	if err != nil {
		return &gate.InputError{Input: "with.public-key", Err: err}
	}
	var keyless *provenance.Verifier
	if g.spec.KeylessBundles != "" {
		tr, err := provenance.LoadTrustedRoot(g.spec.TrustedRoot)
		if err != nil {
			return &gate.InputError{Input: "with.trusted-root", Err: err}
		}
		if keyless, err = provenance.NewVerifier(provenance.Options{TrustedRoot: tr, SkipSCTUnsafe: g.skipSCTUnsafe}); err != nil {
			return &gate.InputError{Input: "with.trusted-root", Err: err}
		}
	}
	roots := map[string]any{}
	for _, r := range reps {
		name := "signed checkpoint " + date
		signed, ok, err := st.AnchoredCheckpoint(ctx, r.Tenant, date)
		if err != nil {
			return err
		}
		if !ok {
			res.Add(gate.Check{Name: name, Tenant: r.Tenant, Status: gate.StatusFail, Expected: "a signed checkpoint anchored in the chain",
				Message: fmt.Sprintf("tenant %s: expected a signed checkpoint for %s, found none; run `releasegate ledger root --date %s --key KEY --anchor`", r.Tenant, date, date)})
			continue
		}
		// The signed checkpoint is an attestation the release relied on:
		// the evidence's VSA lists it (inputAttestations) by this digest.
		res.Inputs = append(res.Inputs, gate.Input{Name: "checkpoint " + ledger.CheckpointFile(r.Tenant, date),
			Digest: gate.Digest(signed)})
		rc, err := st.VerifyCheckpoint(ctx, signed, key)
		switch {
		case errors.Is(err, ledger.ErrBadSignature), errors.Is(err, ledger.ErrRootMismatch), errors.Is(err, ledger.ErrBadProof),
			errors.Is(err, ledger.ErrBrokenChain), errors.Is(err, ledger.ErrBadCheckpoint), errors.Is(err, ledger.ErrEmpty):
			res.Add(gate.Check{Name: name, Tenant: r.Tenant, Status: gate.StatusFail, Expected: "signature valid, root matches the ledger",
				Message: fmt.Sprintf("tenant %s: %v", r.Tenant, err)})
			continue
		case err != nil:
			return err
		}
		c := rc.Checkpoint
		msg := fmt.Sprintf("tenant %s: %s root %s over %d entries signed and matching; day root %s (seq %d..%d)", r.Tenant, date, c.Root, c.Size, c.DayRoot, c.DayFirst, c.DayLast)
		if rc.Consistent {
			msg += fmt.Sprintf("; consistent with %s (size %d)", rc.Previous.Day, rc.Previous.Size)
		} else {
			msg += "; no previous day's checkpoint to check consistency with"
		}
		res.Add(gate.Check{Name: name, Tenant: r.Tenant, Status: gate.StatusPass, Observed: gate.Text(c.Root.String()), Expected: "signature valid, root matches the ledger", Message: msg})
		root := map[string]any{"day": date, "size": c.Size, "root": c.Root.String(), "day_root": c.DayRoot.String(), "consistent_with_previous": rc.Consistent}
		roots[r.Tenant] = root
		if keyless != nil {
			if signer := g.keylessCheck(keyless, r.Tenant, date, signed, res); signer != "" {
				root["keyless_signer"] = signer
			}
		}
	}
	res.Details["checkpoints"] = roots
	return nil
}

// keylessCheck verifies the keyless bundle of a tenant's anchored
// checkpoint and adds the check; it returns the signer when it passed.
func (g *Gate) keylessCheck(v *provenance.Verifier, tenant, date string, signed []byte, res *gate.Result) string {
	name := "keyless checkpoint signature " + date
	expected := "a Sigstore bundle of this checkpoint by " + describeIdentity(g.spec.Identity())
	path := filepath.Join(g.spec.KeylessBundles, ledger.BundleFile(ledger.CheckpointFile(tenant, date)))
	fail := func(msg string) {
		res.Add(gate.Check{Name: name, Tenant: tenant, Status: gate.StatusFail, Expected: expected, Message: "tenant " + tenant + ": " + msg})
	}
	data, err := fsx.ReadFile(context.Background(), path, fsx.MaxDocSize)
	if err != nil {
		fail(fmt.Sprintf("%v; run `releasegate ledger root --date %s --keyless` and put the bundle in keyless-bundles", err, date))
		return ""
	}
	res.Inputs = append(res.Inputs, gate.Input{Name: "signature " + filepath.Base(path), Digest: gate.Digest(data)})
	sig, err := VerifyBundle(v, data, signed, g.spec.Identity())
	if err != nil {
		fail(fmt.Sprintf("%s: %v", path, err))
		return ""
	}
	msg := fmt.Sprintf("tenant %s: %s signs the anchored checkpoint, by %s (issuer %s), certificate chains to the trusted root", tenant, filepath.Base(path), sig.Signer, sig.Issuer)
	if sig.Log != nil {
		msg += fmt.Sprintf(", Rekor entry %d", sig.Log.Index)
	}
	res.Add(gate.Check{Name: name, Tenant: tenant, Status: gate.StatusPass, Observed: gate.Text(sig.Signer), Expected: expected, Message: msg})
	return sig.Signer
}

func describeIdentity(id provenance.Identity) string {
	who, iss := id.Identity, id.Issuer
	if who == "" {
		who = "/" + id.IdentityRegexp + "/"
	}
	if iss == "" {
		iss = "/" + id.IssuerRegexp + "/"
	}
	return who + " (issuer " + iss + ")"
}

// VerifyBundle verifies the keyless Sigstore bundle (JSON) of a signed
// checkpoint offline: that its statement is for exactly signed, that it
// chains to v's trusted root with a transparency-log entry, and that its
// signer matches id. The error wraps ledger.ErrOtherCheckpoint,
// ledger.ErrBadCheckpoint, provenance.ErrMalformedBundle,
// provenance.ErrSignature or a *provenance.MismatchError.
func VerifyBundle(v *provenance.Verifier, bundleJSON, signed []byte, id provenance.Identity) (*provenance.Signature, error) {
	bundles, err := provenance.ParseBundles(bundleJSON)
	if err != nil {
		return nil, err
	}
	if len(bundles) != 1 {
		return nil, fmt.Errorf("%w: %d bundles, expected one", provenance.ErrMalformedBundle, len(bundles))
	}
	check := func(payload []byte) error { return ledger.CheckStatement(payload, signed) }
	return v.VerifyEnvelope(bundles[0], ledger.CheckpointPayloadType, check, id)
}
