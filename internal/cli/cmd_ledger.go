package cli

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/maestro-conductor/releasegate/internal/fsx"
	"github.com/maestro-conductor/releasegate/internal/gate"
	gledger "github.com/maestro-conductor/releasegate/internal/gates/ledger"
	"github.com/maestro-conductor/releasegate/internal/ledger"
)

const ledgerUsage = `Usage:
  releasegate ledger migrate      [--db DSN] [--down | --partitions N]
  releasegate ledger append       [--db DSN] [--tenant T] [--kind K] < records.jsonl
  releasegate ledger verify       [--db DSN] [--tenant T]... [--limit N | --since CHECKPOINT --pub FILE]
                                  [--format text|json|markdown]
  releasegate ledger root         [--db DSN] --date YYYY-MM-DD --key FILE [--tenant T]... [--anchor] [--out DIR]
                                  [--keyless [--identity-token-file FILE] [--fulcio-url URL] [--rekor-url URL]]
  releasegate ledger verify-root  [--db DSN] --checkpoint FILE --pub FILE
                                  [--bundle FILE --trusted-root FILE --certificate-identity[-regexp] ID
                                   --certificate-oidc-issuer URL]
  releasegate ledger prove        [--db DSN] [--inclusion] --tenant T --seq N [--checkpoint FILE | --size N]
  releasegate ledger prove        [--db DSN] --consistency --old-checkpoint FILE --checkpoint FILE
  releasegate ledger prove        [--db DSN] --consistency --tenant T --old-size N [--size M]
  releasegate ledger verify-proof --proof FILE --checkpoint FILE --pub FILE
  releasegate ledger verify-proof --consistency --proof FILE --old-checkpoint FILE --checkpoint FILE --pub FILE
  releasegate ledger keygen       --out PREFIX

The provenance ledger is a per-tenant, hash-chained, append-only log in PostgreSQL
(--db postgres://USER@HOST:PORT/DB) or SQLite (--db sqlite:PATH, the default:
sqlite:ledger.db, or $RELEASEGATE_LEDGER_DB). docs/ledger.md defines the entry hash.

append reads JSON lines: {"tenant":"acme","kind":"deploy","time":"2026-11-28T10:00:00Z",
"payload":{...}} (kind and time optional), or bare payloads with --tenant.
Any number of append processes may write to one tenant at once: a record without a
time gets the time taken under the tenant's lock (never before the tenant's latest
entry); a transaction that loses a race with another writer appends nothing and is
retried with backoff (12 tries); out of tries it exits 3. A record whose own time is
before the tenant's latest entry is bad input (exit 2).
root signs each tenant's RFC 6962 Merkle root for a UTC day as a signed note
(C2SP checkpoint, Ed25519) written to DIR/<tenant>-<date>.checkpoint and, with
--anchor, appended to the tenant's chain. With --keyless it also signs each signed
checkpoint keyless (a Fulcio certificate for the OIDC token's identity, logged in
Rekor; network) into DIR/<tenant>-<date>.checkpoint.sigstore.json; verify-root
--bundle checks that bundle offline against a trusted_root.json and the signer
identity, and that it signs exactly the --checkpoint file. The checkpoint itself
is not anchored in Rekor.
verify --since CHECKPOINT (a checkpoint file of ledger root, or its --out directory:
each tenant's latest) checks the signature, that the ledger still has the signed head
entry, then only the entries after it; a full verify reads every entry. Each day's
root is extended from the previous day's checkpoint in --out (or anchored in the
chain) when there is one, and the consistency proof between the two is written to
DIR/<tenant>-<date>.consistency.json. migrate --partitions N (PostgreSQL) lays the
chain out in N hash partitions by tenant; --partitions 0 makes it one table again.
prove prints an RFC 6962 inclusion proof (--inclusion, the default) or consistency
proof (--consistency) as JSON that golang.org/x/mod/sumdb/tlog's CheckRecord and
CheckTree verify (docs/ledger.md shows the Go an auditor runs); verify-proof checks
either against signed checkpoints.

Exit codes: 0 ok, 1 verification failed (broken chain, bad signature, root mismatch,
empty ledger), 2 bad input, 3 could not evaluate (database unreachable).

Example:
  releasegate ledger migrate --db sqlite:ledger.db
  echo '{"tenant":"acme","payload":{"release":"v1.2.3"}}' | releasegate ledger append
  releasegate ledger verify
  releasegate ledger keygen --out ledger
  releasegate ledger root --date 2026-11-28 --key ledger.key --anchor
  releasegate ledger verify-root --checkpoint acme-2026-11-28.checkpoint --pub ledger.pub
`

// ledgerSub is one `releasegate ledger` subcommand.
type ledgerSub func(ctx context.Context, o *IO, fs *flag.FlagSet, args []string) error

func ledgerCmd(ctx context.Context, o *IO, args []string) error {
	subs := map[string]ledgerSub{
		"migrate": ledgerMigrate, "append": ledgerAppend, "verify": ledgerVerify, "root": ledgerRoot,
		"verify-root": ledgerVerifyRoot, "prove": ledgerProve, "verify-proof": ledgerVerifyProof, "keygen": ledgerKeygen,
	}
	c, _ := lookup("ledger")
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(o.Stderr, ledgerUsage)
		if len(args) == 0 {
			return exitCode(ExitBadInput)
		}
		return nil
	}
	sub, ok := subs[args[0]]
	if !ok {
		return inputf("unknown subcommand %q; expected migrate, append, verify, root, verify-root, prove, verify-proof or keygen", args[0])
	}
	c.Name = "ledger " + args[0]
	return sub(ctx, o, o.NewFlagSet(c), args[1:])
}

// dbFlag registers --db with its default from $RELEASEGATE_LEDGER_DB.
func dbFlag(o *IO, fs *flag.FlagSet) *string {
	def := "sqlite:ledger.db"
	if o.Getenv != nil {
		if v := o.Getenv("RELEASEGATE_LEDGER_DB"); v != "" {
			def = v
		}
	}
	return fs.String("db", def, "ledger database: postgres://USER:PASS@HOST:PORT/DB or sqlite:PATH (default $RELEASEGATE_LEDGER_DB or sqlite:ledger.db)")
}

// openLedger masks the DSN's password in all output, then connects.
func openLedger(ctx context.Context, o *IO, dsn string) (*ledger.Store, error) {
	return openLedgerMode(ctx, o, dsn, true)
}

// openLedgerRead opens an existing ledger only (no new SQLite file).
func openLedgerRead(ctx context.Context, o *IO, dsn string) (*ledger.Store, error) {
	return openLedgerMode(ctx, o, dsn, false)
}

func openLedgerMode(ctx context.Context, o *IO, dsn string, create bool) (*ledger.Store, error) {
	openLedgerSecrets(o, dsn)
	open := ledger.OpenExisting
	if create {
		open = ledger.Open
	}
	st, err := open(ctx, dsn)
	if err != nil {
		return nil, ledgerError(o, err)
	}
	return st, nil
}

// ledgerExit maps ledger errors to exit codes: failed verification is 1,
// bad input 2, anything else (unreachable database) 3.
func ledgerExit(err error) int {
	switch {
	case err == nil:
		return ExitOK
	case errors.Is(err, ledger.ErrBadRecord), errors.Is(err, ledger.ErrBadDSN), errors.Is(err, ledger.ErrBadCheckpoint), errors.Is(err, gate.ErrBadInput):
		return ExitBadInput
	case errors.Is(err, ledger.ErrBrokenChain), errors.Is(err, ledger.ErrRootMismatch), errors.Is(err, ledger.ErrBadSignature),
		errors.Is(err, ledger.ErrBadProof), errors.Is(err, ledger.ErrEmpty), errors.Is(err, ledger.ErrNoSchema):
		return ExitFail
	}
	return ExitError
}

// ledgerError returns err as Main reports it (ledgerExit): bad input
// marked as such, anything else as it is; a failed verification is printed
// here as a FAILED line and returned as the failed verdict.
func ledgerError(o *IO, err error) error {
	switch ledgerExit(err) {
	case ExitOK:
		return nil
	case ExitBadInput:
		return asInput(err)
	case ExitFail:
		return failed(o, err.Error())
	}
	return err
}

// failed prints a FAILED line and returns the failed verdict (exit 1).
func failed(o *IO, msg string) error {
	fmt.Fprintf(o.Stderr, "FAILED: %s\n", msg)
	return verdict(gate.StatusFail) // the FAILED line says why
}

func ledgerMigrate(ctx context.Context, o *IO, fs *flag.FlagSet, args []string) error {
	db := dbFlag(o, fs)
	down := fs.Bool("down", false, "migrate back to schema v1 (without loss)")
	parts := fs.Int("partitions", -1, "PostgreSQL: lay the v2 chain out in N hash partitions by tenant (0: one plain table)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *down && *parts >= 0 {
		return inputf("--down and --partitions: expected one of them")
	}
	st, err := openLedger(ctx, o, *db)
	if err != nil {
		return err
	}
	defer st.Close()
	if *parts >= 0 {
		rep, err := st.Partition(ctx, *parts)
		if err != nil {
			return ledgerError(o, err)
		}
		fmt.Fprintf(o.Stdout, "ledger_chain: %d → %d partitions, %d entries moved\n", rep.From, rep.To, rep.Rows)
		return nil
	}
	rep, err := st.Migrate(ctx, *down)
	if err != nil {
		return ledgerError(o, err)
	}
	switch {
	case rep.From == rep.To:
		fmt.Fprintf(o.Stdout, "ledger schema already at v%d; nothing to do\n", rep.To)
	default:
		fmt.Fprintf(o.Stdout, "migrated ledger schema v%d → v%d: %d rows, %d tenants\n", rep.From, rep.To, rep.Rows, rep.Tenants)
	}
	if rep.Checksum != "" {
		fmt.Fprintf(o.Stdout, "chain checksum %s\n", rep.Checksum)
	}
	return nil
}

func ledgerAppend(ctx context.Context, o *IO, fs *flag.FlagSet, args []string) error {
	db := dbFlag(o, fs)
	opt := ledger.LinesOptions{Backoff: ledger.AppendBackoff}
	fs.StringVar(&opt.Tenant, "tenant", "", "tenant of every line; each line is then a bare JSON payload")
	fs.StringVar(&opt.Kind, "kind", "", "kind of every entry without one (default entry)")
	fs.IntVar(&opt.Batch, "batch", 1000, "records per transaction")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if opt.Batch < 1 {
		return inputf("--batch %d: expected at least 1", opt.Batch)
	}
	st, err := openLedger(ctx, o, *db)
	if err != nil {
		return err
	}
	defer st.Close()
	res, err := st.AppendLines(ctx, o.Stdin, opt)
	if res.Retries > 0 {
		fmt.Fprintf(o.Stderr, "releasegate ledger append: %d transactions retried after losing a race with another writer\n", res.Retries)
	}
	if err != nil {
		return appendError(o, err)
	}
	fmt.Fprintf(o.Stdout, "appended %d entries\n", res.Total)
	for _, t := range slices.Sorted(maps.Keys(res.Heads)) {
		e := res.Heads[t]
		fmt.Fprintf(o.Stdout, "  %s: seq %d hash %s\n", t, e.Seq, e.Hash)
	}
	return nil
}

// appendError is the error of reading stdin into the ledger, with the exit
// code of ledgerExit; a ledger that cannot take entries (no schema) exits
// 1 with the same message, not a FAILED line.
func appendError(o *IO, err error) error {
	err = fmt.Errorf("stdin: %w", err)
	switch ledgerExit(err) {
	case ExitBadInput:
		return asInput(err)
	case ExitFail:
		fmt.Fprintf(o.Stderr, "releasegate ledger append: %v\n", err)
		return exitCode(ExitFail)
	}
	return err
}

func ledgerVerify(ctx context.Context, o *IO, fs *flag.FlagSet, args []string) error {
	db := dbFlag(o, fs)
	var tenants stringList
	fs.Var(&tenants, "tenant", "tenant to verify (repeatable; default: every tenant, in parallel)")
	limit := fs.Int64("limit", 0, "verify only each tenant's latest N entries and their link to the entry before")
	minEntries := fs.Int64("min-entries", 1, "the least number of entries each tenant must have")
	since := fs.String("since", "", "verify only after this signed checkpoint (a file of ledger root, or its --out directory: each tenant's latest)")
	pub := fs.String("pub", "", "with --since: the checkpoints' verifier key file")
	var out OutputOptions
	addOutputFlags(fs, &out)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	for name, path := range map[string]string{"since": *since, "pub": *pub} {
		if _, err := os.Stat(path); path != "" && err != nil {
			return inputf("--%s: %w", name, err)
		}
	}
	spec := gledger.Spec{DB: *db, Tenants: tenants, Limit: *limit, MinEntries: *minEntries, RequireCheckpoint: "none", Since: *since, PublicKey: *pub}
	openLedgerSecrets(o, *db)
	m := gate.Meta{ID: "ledger", Kind: gledger.Kind, Group: "provenance", Required: true}
	g, err := gledger.New(m, spec, gate.Env{Getenv: o.Getenv, Logf: o.Logf})
	if err != nil {
		return asInput(err)
	}
	if err := out.check(o); err != nil { // results must be writable before any gate runs
		return asInput(err)
	}
	return emit(ctx, o, out, (&gate.Runner{}).Run(ctx, []gate.Planned{{Meta: m, Gate: g}}))
}

// openLedgerSecrets masks a DSN's password before anything is printed.
func openLedgerSecrets(o *IO, dsn string) {
	u, err := url.Parse(dsn)
	if err != nil {
		return
	}
	if u.User != nil {
		if p, ok := u.User.Password(); ok {
			o.Redact([]string{p})
		}
	}
	if p := u.Query().Get("password"); p != "" {
		o.Redact([]string{p})
	}
}

func ledgerRoot(ctx context.Context, o *IO, fs *flag.FlagSet, args []string) error {
	db := dbFlag(o, fs)
	opt := ledger.PublishOptions{}
	fs.StringVar(&opt.Day, "date", "", "UTC day, YYYY-MM-DD")
	keyFile := fs.String("key", "", "signing key file (from ledger keygen)")
	fs.BoolVar(&opt.Anchor, "anchor", false, "append each signed checkpoint to its tenant's chain")
	fs.StringVar(&opt.OutDir, "out", ".", "directory for <tenant>-<date>.checkpoint files; the previous day's are read from it")
	var tenants stringList
	fs.Var(&tenants, "tenant", "tenant (repeatable; default: every tenant with entries that day)")
	var kl keylessFlags
	kl.register(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	opt.Tenants = tenants
	if err := ledgerRootInputs(ctx, o, &opt, *keyFile, &kl); err != nil {
		return err
	}
	return publishRoots(ctx, o, *db, opt)
}

// publishRoots opens the ledger, signs the day's roots and prints a line
// for each one published, even when a later one failed.
func publishRoots(ctx context.Context, o *IO, db string, opt ledger.PublishOptions) error {
	st, err := openLedger(ctx, o, db)
	if err != nil {
		return err
	}
	defer st.Close()
	done, err := st.PublishRoots(ctx, opt)
	for _, p := range done {
		fmt.Fprintln(o.Stdout, publishedLine(p))
	}
	return ledgerError(o, err)
}

// ledgerRootInputs checks ledger root's date, key, output directory and
// keyless signer before the ledger is opened, and sets them in opt.
func ledgerRootInputs(ctx context.Context, o *IO, opt *ledger.PublishOptions, keyFile string, kl *keylessFlags) error {
	if _, err := time.Parse(ledger.DayLayout, opt.Day); err != nil {
		return inputf("--date %q: expected YYYY-MM-DD", opt.Day)
	}
	if keyFile == "" {
		return inputf("--key is required; create a key with `releasegate ledger keygen --out ledger`")
	}
	key, err := ledger.ReadKey(keyFile)
	if err != nil {
		return asInput(err)
	}
	o.Redact([]string{key})
	opt.SignerKey = key
	if err := prepareDir("--out", opt.OutDir); err != nil { // created, and writable, before anything is signed
		return asInput(err)
	}
	if !kl.keyless {
		return nil
	}
	signer, err := kl.signer(ctx, o)
	if err != nil {
		return err // bad input when it matches gate.ErrBadInput, else could not sign (3)
	}
	opt.Keyless = func(ctx context.Context, signed []byte, name string) ([]byte, error) {
		return signCheckpointKeyless(ctx, signer, signed, name)
	}
	return nil
}

// publishedLine is the line ledger root prints for one tenant's day.
func publishedLine(p ledger.Published) string {
	c := p.Checkpoint
	line := fmt.Sprintf("%s %s: size %d root %s day %d..%d root %s → %s", c.Tenant, c.Day, c.Size, b64(c.Root), c.DayFirst, c.DayLast, b64(c.DayRoot), p.Path)
	if p.BundlePath != "" {
		line += " + keyless " + p.BundlePath
	}
	if p.Previous != nil {
		line += fmt.Sprintf(" + consistency with %s (size %d) %s", p.Previous.Day, p.Previous.Size, p.ProofPath)
	}
	if p.AnchorSeq > 0 {
		line += fmt.Sprintf(" (anchored at seq %d)", p.AnchorSeq)
	}
	return line
}

func b64(h ledger.Hash) string { return base64.StdEncoding.EncodeToString(h[:]) }

// readFileFlag reads the file a required flag names (bad input when it
// is missing or unreadable).
func readFileFlag(name, path string) ([]byte, error) {
	if path == "" {
		return nil, inputf("--%s is required", name)
	}
	b, err := fsx.ReadFile(context.Background(), path, fsx.MaxDocSize)
	if err != nil {
		return nil, inputf("--%s: %w", name, err)
	}
	return b, nil
}

func ledgerVerifyRoot(ctx context.Context, o *IO, fs *flag.FlagSet, args []string) error {
	db := dbFlag(o, fs)
	cp := fs.String("checkpoint", "", "signed checkpoint file (from ledger root)")
	pub := fs.String("pub", "", "verifier key file (from ledger keygen)")
	var kv keylessCheckpointFlags
	kv.register(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	signed, err := readFileFlag("checkpoint", *cp)
	if err != nil {
		return err
	}
	key, err := readFileFlag("pub", *pub)
	if err != nil {
		return err
	}
	// The keyless signature is checked offline first, before the ledger
	// is opened; then the Ed25519 signature and the roots.
	keylessSig, err := kv.verify(o, *cp, signed)
	if err != nil {
		return err
	}
	st, err := openLedgerRead(ctx, o, *db)
	if err != nil {
		return err
	}
	defer st.Close()
	rc, err := st.VerifyCheckpoint(ctx, signed, strings.TrimSpace(string(key)))
	if err != nil {
		return ledgerError(o, err)
	}
	c := rc.Checkpoint
	fmt.Fprintf(o.Stdout, "PASSED: %s %s: signature valid, root %s over %d entries matches the ledger, day root %s\n", c.Tenant, c.Day, b64(c.Root), c.Size, b64(c.DayRoot))
	if keylessSig != nil {
		fmt.Fprintf(o.Stdout, "PASSED: %s\n", keylessSig)
	}
	if rc.Consistent {
		fmt.Fprintf(o.Stdout, "PASSED: consistent with the anchored checkpoint of %s (size %d)\n", rc.Previous.Day, rc.Previous.Size)
	} else {
		fmt.Fprintln(o.Stdout, "note: no anchored checkpoint of the previous day to check consistency with")
	}
	return nil
}

func ledgerProve(ctx context.Context, o *IO, fs *flag.FlagSet, args []string) error {
	db := dbFlag(o, fs)
	inclusion := fs.Bool("inclusion", false, "prove that entry --seq is in a tree (the default)")
	consistency := fs.Bool("consistency", false, "prove that the tree of --old-size / --old-checkpoint is a prefix of the tree of --size / --checkpoint")
	tenant := fs.String("tenant", "", "tenant of the entry or of the trees (default with checkpoint files: their tenant)")
	seq := fs.Int64("seq", 0, "seq of the entry to prove (--inclusion)")
	cp := fs.String("checkpoint", "", "prove against this checkpoint's tree (default: the whole chain)")
	size := fs.Int64("size", 0, "prove against the tree of this many entries")
	oldCP := fs.String("old-checkpoint", "", "--consistency: the older checkpoint")
	oldSize := fs.Int64("old-size", 0, "--consistency: the size of the older tree")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *inclusion && *consistency {
		return inputf("--inclusion and --consistency: expected one of them")
	}
	if *cp != "" && *size != 0 {
		return inputf("--checkpoint and --size: expected one of them")
	}
	var newer *ledger.Checkpoint
	if *cp != "" {
		c, err := readCheckpointFlag("checkpoint", *cp)
		if err != nil {
			return err
		}
		newer = &c
	}
	if *consistency {
		return ledgerProveConsistency(ctx, o, *db, *tenant, *seq, *size, *oldSize, *oldCP, newer)
	}
	if *oldCP != "" || *oldSize != 0 {
		return inputf("--old-checkpoint and --old-size go with --consistency")
	}
	if newer != nil {
		if *tenant == "" {
			*tenant = newer.Tenant
		}
		*size = newer.Size
	}
	if *tenant == "" || *seq < 1 {
		return inputf("--tenant and --seq (>= 1) are required")
	}
	if newer != nil && newer.Tenant != *tenant {
		return inputf("--checkpoint is of tenant %s, --tenant is %s", newer.Tenant, *tenant)
	}
	st, err := openLedgerRead(ctx, o, *db)
	if err != nil {
		return err
	}
	defer st.Close()
	p, err := st.Prove(ctx, *tenant, *seq, *size)
	if err != nil {
		return ledgerError(o, err)
	}
	return writeJSON(o, p)
}

// ledgerProveConsistency is `ledger prove --consistency`: between two
// trees given as sizes (--old-size, --size: default the whole chain) or as
// checkpoint files (--old-checkpoint, --checkpoint), not mixed.
func ledgerProveConsistency(ctx context.Context, o *IO, db, tenant string, seq, size, oldSize int64, oldCP string, newer *ledger.Checkpoint) error {
	bad := func(format string, a ...any) error {
		return inputf("--consistency: "+format, a...)
	}
	if seq != 0 {
		return bad("--seq goes with --inclusion")
	}
	files := oldCP != "" || newer != nil
	switch {
	case oldCP != "" && oldSize != 0:
		return bad("--old-checkpoint and --old-size: expected one of them")
	case files && (oldCP == "" || newer == nil):
		return bad("expected both --old-checkpoint and --checkpoint, or sizes: --old-size N [--size M]")
	case !files && oldSize < 1:
		return bad("expected --old-size N (>= 1) [--size M], or --old-checkpoint FILE --checkpoint FILE")
	case !files && tenant == "":
		return bad("--tenant is required with sizes")
	}
	var older *ledger.Checkpoint
	if files {
		c, err := readCheckpointFlag("old-checkpoint", oldCP)
		if err != nil {
			return err
		}
		older = &c
		if tenant != "" && (older.Tenant != tenant || newer.Tenant != tenant) {
			return bad("--tenant %s, but the checkpoints are of %s and %s", tenant, older.Tenant, newer.Tenant)
		}
	}
	st, err := openLedgerRead(ctx, o, db)
	if err != nil {
		return err
	}
	defer st.Close()
	var p ledger.Consistency
	if files {
		p, err = st.ProveBetween(ctx, *older, *newer)
	} else {
		p, err = st.ProveConsistency(ctx, tenant, oldSize, size)
	}
	if err != nil {
		return ledgerError(o, err)
	}
	return writeJSON(o, p)
}

// readCheckpointFlag reads and parses a checkpoint file named by a flag
// (its signature is not checked: provers need no key).
func readCheckpointFlag(name, path string) (ledger.Checkpoint, error) {
	b, err := readFileFlag(name, path)
	if err != nil {
		return ledger.Checkpoint{}, err
	}
	c, err := ledger.ReadCheckpointFile(b)
	if err != nil {
		return c, inputf("--%s %s: %w", name, path, err)
	}
	return c, nil
}

func writeJSON(o *IO, v any) error {
	enc := json.NewEncoder(o.Stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("write the proof: %w", err)
	}
	return nil
}

func ledgerVerifyProof(_ context.Context, o *IO, fs *flag.FlagSet, args []string) error {
	proofFile := fs.String("proof", "", "proof JSON (from ledger prove)")
	cp := fs.String("checkpoint", "", "signed checkpoint file (--consistency: the newer one)")
	oldCP := fs.String("old-checkpoint", "", "--consistency: the older signed checkpoint file")
	consistency := fs.Bool("consistency", false, "the proof is a consistency proof (ledger prove --consistency)")
	pub := fs.String("pub", "", "verifier key file")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *consistency != (*oldCP != "") {
		return inputf("--consistency and --old-checkpoint go together")
	}
	pb, err := readFileFlag("proof", *proofFile)
	if err != nil {
		return err
	}
	signed, err := readFileFlag("checkpoint", *cp)
	if err != nil {
		return err
	}
	key, err := readFileFlag("pub", *pub)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(pb))
	dec.DisallowUnknownFields()
	if *consistency {
		return verifyConsistencyProof(o, dec, *oldCP, signed, strings.TrimSpace(string(key)))
	}
	var p ledger.Proof
	if err := dec.Decode(&p); err != nil {
		return inputf("--proof: %w", err)
	}
	c, err := ledger.VerifyProof(p, signed, strings.TrimSpace(string(key)))
	if err != nil {
		return ledgerError(o, err)
	}
	fmt.Fprintf(o.Stdout, "PASSED: %s seq %d (entry hash %s) is in the signed tree of %d entries, root %s\n", p.Tenant, p.Seq, p.EntryHash, c.Size, b64(c.Root))
	return nil
}

// verifyConsistencyProof is ledger verify-proof --consistency: the proof
// dec reads between the checkpoints of --old-checkpoint and signed.
func verifyConsistencyProof(o *IO, dec *json.Decoder, oldCP string, signed []byte, key string) error {
	oldSigned, err := readFileFlag("old-checkpoint", oldCP)
	if err != nil {
		return err
	}
	var p ledger.Consistency
	if err := dec.Decode(&p); err != nil {
		return inputf("--proof: %w; expected the JSON of ledger prove --consistency", err)
	}
	older, newer, err := ledger.VerifyConsistency(p, oldSigned, signed, key)
	if err != nil {
		return ledgerError(o, err)
	}
	fmt.Fprintf(o.Stdout, "PASSED: %s: the signed tree of %d entries (%s) is a prefix of the signed tree of %d entries (%s), root %s\n",
		p.Origin, older.Size, older.Day, newer.Size, newer.Day, b64(newer.Root))
	return nil
}

func ledgerKeygen(_ context.Context, o *IO, fs *flag.FlagSet, args []string) error {
	out := fs.String("out", "", "path prefix: writes PREFIX.key (private, mode 0600) and PREFIX.pub")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *out == "" {
		return inputf("--out PREFIX is required")
	}
	priv, pub, err := ledger.GenerateKey()
	if err != nil {
		return err
	}
	f, err := os.OpenFile(*out+".key", os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return inputf("%w; not overwriting an existing key", err)
	}
	_, werr := io.WriteString(f, priv+"\n")
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.WriteFile(*out+".pub", []byte(pub+"\n"), 0o644)
	}
	if werr != nil {
		return werr
	}
	fmt.Fprintf(o.Stdout, "wrote %s.key (private, keep it secret) and %s.pub: %s\n", *out, *out, pub)
	return nil
}
