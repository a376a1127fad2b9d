package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/maestro-conductor/releasegate/internal/evidence"
	"github.com/maestro-conductor/releasegate/internal/ledger"
)

// TestKeylessOracles signs evidence and a ledger checkpoint keyless (the
// in-process virtual Sigstore in place of Fulcio and Rekor) and checks that
// cosign, given the virtual Sigstore's trusted_root.json offline, gives the
// verdict `releasegate evidence verify` and `ledger verify-root` give: the
// right signer passes; another identity, another issuer, a foreign trusted
// root and another artifact or checkpoint fail. --insecure-ignore-sct
// because the virtual CA issues no signed certificate timestamps (the
// releasegate side skips the same check through the same test hook). Not
// parallel: it swaps package hooks.
func TestKeylessOracles(t *testing.T) {
	t.Parallel()
	cosign := oracleBin(t, "cosign")
	const (
		signer = "release@acme.example"
		issuer = "https://accounts.acme.example"
		token  = "eyJhbGciOiJub25lIn0.eyJzdWIiOiJyZWxlYXNlIn0.c2ln"
	)
	root, foreignRoot, _ := keylessFixture(t, signer, issuer)
	env := map[string]string{"SIGSTORE_ID_TOKEN": token, "API_TOKEN": secret}

	// Evidence.
	art := writeFile(t, "tenantd.tar.gz", []byte("binary bytes"))
	otherArt := writeFile(t, "tenantd-other.tar.gz", []byte("other bytes"))
	pol, results := gateResults(t, "pass")
	out := t.TempDir()
	if r := runCLI(t, env, "evidence", "create", "--results", results, "--policy", pol, "--artifact", art, "--keyless", "--out", out); r.code != ExitOK {
		t.Fatalf("create --keyless: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	tgz, bundle := filepath.Join(out, evidence.TarballName("v1.4.0")), filepath.Join(out, evidence.BundleFile)

	// A checkpoint.
	db, dir, cp := signedKeylessCheckpoint(t, env)
	cpBundle := ledger.BundleFile(cp)
	signed, err := os.ReadFile(cp)
	if err != nil {
		t.Fatal(err)
	}
	altered := writeFile(t, "acme.checkpoint", append(signed, '\n'))

	type keylessCase struct {
		name                      string
		releasegate               []string
		bundle, blob, trustedRoot string
		identity, oidcIssuer      string
		accept                    bool
	}
	ev := func(name, blob, root, id, iss string, accept bool) keylessCase {
		return keylessCase{name: "evidence: " + name, bundle: bundle, blob: blob, trustedRoot: root, identity: id, oidcIssuer: iss, accept: accept,
			releasegate: []string{"evidence", "verify", "--trusted-root", root, "--certificate-identity", id, "--certificate-oidc-issuer", iss, "--artifact", blob, tgz}}
	}
	ck := func(name, blob, root, id, iss string, accept bool) keylessCase {
		return keylessCase{name: "checkpoint: " + name, bundle: cpBundle, blob: blob, trustedRoot: root, identity: id, oidcIssuer: iss, accept: accept,
			releasegate: []string{"ledger", "verify-root", db, "--pub", filepath.Join(dir, "k.pub"), "--checkpoint", blob, "--bundle", cpBundle,
				"--trusted-root", root, "--certificate-identity", id, "--certificate-oidc-issuer", iss}}
	}
	const gha = "https://token.actions.githubusercontent.com"
	cases := []keylessCase{
		ev("the signer", art, root, signer, issuer, true),
		ev("another identity", art, root, "mallory@acme.example", issuer, false),
		ev("another issuer", art, root, signer, gha, false),
		ev("a foreign trusted root", art, foreignRoot, signer, issuer, false),
		ev("another artifact", otherArt, root, signer, issuer, false),
		ck("the signer", cp, root, signer, issuer, true),
		ck("another identity", cp, root, "mallory@acme.example", issuer, false),
		ck("a foreign trusted root", cp, foreignRoot, signer, issuer, false),
		ck("an altered checkpoint", altered, root, signer, issuer, false),
	}
	var table strings.Builder
	table.WriteString("| case | releasegate | cosign verify-blob-attestation |\n|---|---|---|\n")
	for _, tc := range cases {
		r := runCLI(t, nil, tc.releasegate...)
		rg := r.code == ExitOK
		if r.code != ExitOK && r.code != ExitFail {
			t.Errorf("%s: releasegate exit %d; expected 0 or 1\n%s%s", tc.name, r.code, r.stdout, r.stderr)
		}
		co, out := runOracle(t, t.TempDir(), cosign, "verify-blob-attestation", "--new-bundle-format", "--bundle", tc.bundle,
			"--trusted-root", tc.trustedRoot, "--certificate-identity", tc.identity, "--certificate-oidc-issuer", tc.oidcIssuer,
			"--insecure-ignore-sct", "--type", "https://slsa.dev/verification_summary/v1", tc.blob)
		if rg != tc.accept {
			t.Errorf("%s: releasegate accepted=%v; expected %v\n%s%s", tc.name, rg, tc.accept, r.stdout, r.stderr)
		}
		if co != tc.accept {
			t.Errorf("%s: cosign accepted=%v; expected %v\n%s", tc.name, co, tc.accept, out)
		}
		fmt.Fprintf(&table, "| %s | %v | %v |\n", tc.name, rg, co)
	}
	t.Logf("keyless oracle table:\n%s", table.String())
}

// signedKeylessCheckpoint makes a SQLite ledger with a day of entries of tenant
// acme, and signs that day's checkpoint with a new key and keyless (the
// keyless hook must be set, see keylessFixture). It returns the --db flag,
// the directory (with k.key, k.pub) and the checkpoint file.
func signedKeylessCheckpoint(t *testing.T, env map[string]string) (db, dir, cp string) {
	t.Helper()
	dir = t.TempDir()
	db = "--db=sqlite:" + filepath.Join(dir, "ledger.db")
	if r := runCLI(t, nil, "ledger", "migrate", db); r.code != ExitOK {
		t.Fatalf("migrate: %s", r.stderr)
	}
	day := time.Now().UTC().AddDate(0, 0, -1).Format("2006-01-02")
	var in strings.Builder
	for i := range 3 {
		fmt.Fprintf(&in, `{"tenant":"acme","time":"%sT0%d:00:00Z","payload":{"release":"v1.%d"}}`+"\n", day, i, i)
	}
	if code, _, errs := ledgerRun(t, in.String(), "append", db); code != ExitOK {
		t.Fatalf("append: exit %d\n%s", code, errs)
	}
	if r := runCLI(t, nil, "ledger", "keygen", "--out", filepath.Join(dir, "k")); r.code != ExitOK {
		t.Fatalf("keygen: %s", r.stderr)
	}
	if r := runCLI(t, env, "ledger", "root", db, "--date", day, "--key", filepath.Join(dir, "k.key"), "--keyless", "--out", dir); r.code != ExitOK {
		t.Fatalf("root --keyless: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	return db, dir, filepath.Join(dir, ledger.CheckpointFile("acme", day))
}
