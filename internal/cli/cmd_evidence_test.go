package cli

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/maestro-conductor/releasegate/internal/evidence"
	"github.com/maestro-conductor/releasegate/internal/evidence/evidencetest"
)

// gateResults runs a policy of fake gates with the given statuses and
// returns the policy file and the results directory.
func gateResults(t *testing.T, statuses ...string) (policyPath, dir string) {
	t.Helper()
	policyPath = writePolicy(t, "release:\n  name: tenantd\n  version: v1.4.0\n"+policyWith(statuses...))
	dir = filepath.Join(t.TempDir(), "results")
	r := runCLI(t, map[string]string{"API_TOKEN": secret}, "run", "--policy", policyPath, "--out", dir)
	if r.code != ExitOK && r.code != ExitFail {
		t.Fatalf("run: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	return policyPath, dir
}

// keyPair makes an encrypted key pair with keygen and returns its prefix.
func keyPair(t *testing.T, env map[string]string) string {
	t.Helper()
	prefix := filepath.Join(t.TempDir(), "release")
	if r := runCLI(t, env, "evidence", "keygen", "--out-prefix", prefix); r.code != ExitOK || !strings.Contains(r.stdout, "wrote "+prefix+".key") {
		t.Fatalf("keygen: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	return prefix
}

func writeFile(t *testing.T, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestEvidenceCreateVerifyExitCodes(t *testing.T) {
	t.Parallel()
	env := map[string]string{"COSIGN_PASSWORD": "correct horse", "API_TOKEN": secret}
	prefix := keyPair(t, env)
	art := writeFile(t, "tenantd.tar.gz", []byte("binary bytes"))
	create := func(t *testing.T, statuses ...string) string {
		t.Helper()
		pol, dir := gateResults(t, statuses...)
		out := t.TempDir()
		r := runCLI(t, env, "evidence", "create", "--results", dir, "--policy", pol, "--artifact", art,
			"--key", prefix+".key", "--verify-key", prefix+".pub", "--out", out)
		if r.code != ExitOK {
			t.Fatalf("create: exit %d; expected 0 whatever the verdict\n%s%s", r.code, r.stdout, r.stderr)
		}
		for _, s := range []string{r.stdout, r.stderr} {
			if strings.Contains(s, secret) || strings.Contains(s, "correct horse") {
				t.Fatalf("a secret was printed:\n%s", s)
			}
		}
		return filepath.Join(out, evidence.TarballName("v1.4.0"))
	}

	t.Run("a passed release verifies: exit 0", func(t *testing.T) {
		t.Parallel()
		tgz := create(t, "pass", "warn")
		r := runCLI(t, nil, "evidence", "verify", "--key", prefix+".pub", "--artifact", art, tgz)
		if r.code != ExitOK || !strings.Contains(r.stdout, "PASSED: verified "+tgz) || !strings.Contains(r.stdout, "PASSED: artifact tenantd.tar.gz") {
			t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
		}
	})
	t.Run("a failed release is recorded, and verify exits 1", func(t *testing.T) {
		t.Parallel()
		tgz := create(t, "pass", "fail")
		r := runCLI(t, nil, "evidence", "verify", "--key", prefix+".pub", tgz)
		if r.code != ExitFail || !strings.Contains(r.stdout, "FAILED: "+tgz+": release did not pass: verificationResult FAILED: required gate gb fail") {
			t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
		}
		if !strings.Contains(r.stdout, "PASSED: signature:") {
			t.Fatalf("the intact evidence should still say what verified:\n%s", r.stdout)
		}
	})
	t.Run("an altered byte exits 1", func(t *testing.T) {
		t.Parallel()
		b, err := os.ReadFile(create(t, "pass"))
		if err != nil {
			t.Fatal(err)
		}
		b[len(b)/2] ^= 0x20
		bad := writeFile(t, "evidence-v1.4.0.tar.gz", b)
		if r := runCLI(t, nil, "evidence", "verify", "--key", prefix+".pub", bad); r.code != ExitFail || !strings.Contains(r.stdout, "FAILED: "+bad+": evidence altered") {
			t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
		}
	})
	t.Run("another key exits 1", func(t *testing.T) {
		t.Parallel()
		other := keyPair(t, nil)
		r := runCLI(t, nil, "evidence", "verify", "--key", other+".pub", create(t, "pass"))
		if r.code != ExitFail || !strings.Contains(r.stdout, "signature verification failed: the bundle names key") {
			t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
		}
	})
	t.Run("an artifact that is not a subject exits 1", func(t *testing.T) {
		t.Parallel()
		other := writeFile(t, "tenantd.tar.gz", []byte("other bytes"))
		r := runCLI(t, nil, "evidence", "verify", "--key", prefix+".pub", "--artifact", other, create(t, "pass"))
		if r.code != ExitFail || !strings.Contains(r.stdout, "subject mismatch: artifact tenantd.tar.gz") {
			t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
		}
	})
}

// TestEvidenceBadInputExits2 changes one thing of a good invocation.
func TestEvidenceBadInputExits2(t *testing.T) {
	t.Parallel()
	env := map[string]string{"API_TOKEN": secret}
	prefix := keyPair(t, env)
	other := keyPair(t, env)
	pol, dir := gateResults(t, "pass")
	corrupt := t.TempDir()
	for _, name := range []string{"ga.json", "gb.json"} {
		data, err := os.ReadFile(filepath.Join(dir, "ga.json"))
		if err != nil {
			t.Fatal(err)
		}
		if name == "gb.json" {
			data = data[:len(data)/2]
		}
		if err := os.WriteFile(filepath.Join(corrupt, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tgz := filepath.Join(t.TempDir(), "out")
	if r := runCLI(t, env, "evidence", "create", "--results", dir, "--policy", pol, "--key", prefix+".key", "--out", tgz); r.code != ExitOK {
		t.Fatalf("create: exit %d\n%s", r.code, r.stderr)
	}
	tgz = filepath.Join(tgz, evidence.TarballName("v1.4.0"))
	root := writeFile(t, "trusted_root.json", []byte(`{"mediaType":"x"}`))
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"a corrupt results file is named", []string{"evidence", "create", "--results", corrupt, "--key", prefix + ".key"}, filepath.Join(corrupt, "gb.json") + ": not a JSON object"},
		{"a missing results directory", []string{"evidence", "create", "--results", filepath.Join(corrupt, "nope"), "--key", prefix + ".key"}, "not found"},
		{"a signing key that does not match the verification key", []string{"evidence", "create", "--results", dir, "--key", prefix + ".key", "--verify-key", other + ".pub"}, prefix + ".key: signing key does not match the verification key: signing key"},
		{"no signing key", []string{"evidence", "create", "--results", dir}, "--key: missing; make a key pair"},
		{"keyless and a key", []string{"evidence", "create", "--results", dir, "--keyless", "--key", prefix + ".key"}, "sign with a key or keyless, not both"},
		{"keyless without an OIDC token", []string{"evidence", "create", "--results", dir, "--keyless"}, "no OIDC token; set SIGSTORE_ID_TOKEN"},
		{"a bad version", []string{"evidence", "create", "--results", dir, "--key", prefix + ".key", "--version", "../x"}, `--version: "../x"`},
		{"verify without a key or root", []string{"evidence", "verify", tgz}, "--key: missing"},
		{"verify with a key and a root", []string{"evidence", "verify", "--key", prefix + ".pub", "--trusted-root", root, tgz}, "not both"},
		{"verify with an identity and a key", []string{"evidence", "verify", "--key", prefix + ".pub", "--certificate-identity", "x@y", tgz}, "apply to keyless evidence"},
		{"an identity regexp matching anyone", []string{"evidence", "verify", "--trusted-root", root, "--certificate-identity-regexp", ".*", "--certificate-oidc-issuer", "https://issuer.example", tgz}, "identity pattern matches any signer"},
		{"no identity", []string{"evidence", "verify", "--trusted-root", root, "--certificate-oidc-issuer", "https://issuer.example", tgz}, "certificate-identity: required"},
		{"no issuer", []string{"evidence", "verify", "--trusted-root", root, "--certificate-identity", "x@y", tgz}, "certificate-oidc-issuer: required"},
		{"an unreadable trusted root", []string{"evidence", "verify", "--trusted-root", root, "--certificate-identity", "x@y", "--certificate-oidc-issuer", "https://issuer.example", tgz}, root + ": trusted root"},
		{"a missing evidence file", []string{"evidence", "verify", "--key", prefix + ".pub", tgz + ".nope"}, tgz + ".nope"},
		{"a private key given to verify", []string{"evidence", "verify", "--key", prefix + ".key", tgz}, prefix + ".key: unsupported key type"},
		{"keygen over existing files", []string{"evidence", "keygen", "--out-prefix", prefix}, "pass --force to overwrite"},
		{"keygen with an unknown algorithm", []string{"evidence", "keygen", "--alg", "rsa", "--out-prefix", filepath.Join(t.TempDir(), "k")}, `algorithm "rsa"`},
		{"an unknown subcommand", []string{"evidence", "sign"}, `unknown subcommand "sign"`},
		{"checklist over a corrupt results file", []string{"checklist", "--results", corrupt}, filepath.Join(corrupt, "gb.json")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := runCLI(t, env, tc.args...)
			if r.code != ExitBadInput || !strings.Contains(r.stderr, tc.want) {
				t.Fatalf("exit %d; expected %d with %q on stderr\nstdout: %s\nstderr: %s", r.code, ExitBadInput, tc.want, r.stdout, r.stderr)
			}
			if r.stdout != "" && !strings.HasPrefix(tc.args[0], "checklist") {
				t.Fatalf("bad input printed results:\n%s", r.stdout)
			}
		})
	}
}

func TestChecklistCommand(t *testing.T) {
	t.Parallel()
	pol, dir := gateResults(t, "pass", "fail")
	t.Run("prints the checklist", func(t *testing.T) {
		t.Parallel()
		r := runCLI(t, map[string]string{"API_TOKEN": secret}, "checklist", "--results", dir, "--policy", pol)
		if r.code != ExitOK || !strings.Contains(r.stdout, "# Release checklist: tenantd v1.4.0") || !strings.Contains(r.stdout, "not checked by this policy") ||
			!strings.Contains(r.stdout, "## Release metrics") {
			t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
		}
	})
	t.Run("a bad template or approvals file: exit 2 with its position, nothing printed", func(t *testing.T) {
		t.Parallel()
		tmpl := filepath.Join(t.TempDir(), "checklist.yml")
		os.WriteFile(tmpl, []byte("version: 1\nsections:\n  - id: a\n    title: A\n    boxes:\n      - label: X\n        from: [{kind: slo}]\n        colour: red\n"), 0o644)
		r := runCLI(t, map[string]string{"API_TOKEN": secret}, "checklist", "--results", dir, "--policy", pol, "--template", tmpl)
		if r.code != ExitBadInput || !strings.Contains(r.stderr, tmpl+`:8:9: sections[0].boxes[0]: unknown key "colour"`) || r.stdout != "" {
			t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
		}
		appr := filepath.Join(t.TempDir(), "approvals.json")
		os.WriteFile(appr, []byte(`[{"state":"pending","user":{"login":"dana"}}]`), 0o644)
		r = runCLI(t, map[string]string{"RELEASEGATE_APPROVALS": appr, "API_TOKEN": secret}, "checklist", "--results", dir, "--policy", pol)
		if r.code != ExitBadInput || !strings.Contains(r.stderr, `state "pending"; expected approved or rejected`) || r.stdout != "" {
			t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
		}
	})
	t.Run("a custom template, approvals and the step summary", func(t *testing.T) {
		t.Parallel()
		tmp := t.TempDir()
		tmpl := filepath.Join(tmp, "checklist.yml")
		os.WriteFile(tmpl, []byte("version: 1\nsections:\n  - id: gates\n    title: Our gates\n    boxes:\n      - label: Gate b\n        from: [{gate: gb}]\n  - id: sign-off\n    title: Sign-off\n    sign-off: [{role: Release manager}, {role: SRE}]\n"), 0o644)
		appr := filepath.Join(tmp, "approvals.json")
		os.WriteFile(appr, []byte(`[{"state":"approved","comment":"ok","environments":[{"name":"production"}],"user":{"login":"dana"}}]`), 0o644)
		summary := filepath.Join(tmp, "summary.md")
		r := runCLI(t, map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": summary, "API_TOKEN": secret}, "checklist", "--results", dir, "--policy", pol, "--template", tmpl, "--approvals", appr)
		if r.code != ExitOK {
			t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
		}
		for _, want := range []string{"## Our gates\n\n- [ ] ❌ **Gate b**: ", "| Release manager | @dana | not recorded by GitHub | go (approved) ✅ · environment production · “ok” |", "| SRE | _____ | _____ | _____ |"} {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("checklist lacks %q:\n%s", want, r.stdout)
			}
		}
		if b, err := os.ReadFile(summary); err != nil || !strings.Contains(string(b), r.stdout) {
			t.Errorf("the step summary does not hold the checklist (%v):\n%s", err, b)
		}
	})
	// A GitHub-shaped issues API: "Get an issue" and "Update an issue" on
	// the one issue that exists; creating issues is counted (never expected).
	var mu sync.Mutex
	manual := "Release owner: @dana\n\n- [ ] hand-written item the team keeps\n"
	body, patches, posts := manual, 0, 0
	gh := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		switch {
		case req.Header.Get("Authorization") != "Bearer "+secret:
			w.WriteHeader(http.StatusUnauthorized)
			w.Write([]byte(`{"message":"Bad credentials"}`))
		case req.Method == http.MethodPost:
			posts++
			w.WriteHeader(http.StatusCreated)
		case req.URL.Path != "/repos/acme/tenantd/issues/12":
			w.WriteHeader(http.StatusNotFound)
			w.Write([]byte(`{"message":"Not Found"}`))
		case req.Method == http.MethodGet || req.Method == http.MethodPatch:
			if req.Method == http.MethodPatch {
				var p struct {
					Body *string `json:"body"`
				}
				if err := json.NewDecoder(req.Body).Decode(&p); err != nil || p.Body == nil {
					w.WriteHeader(http.StatusUnprocessableEntity)
					return
				}
				body = *p.Body
				patches++
			}
			json.NewEncoder(w).Encode(map[string]any{"number": 12, "html_url": "https://github.example/acme/tenantd/issues/12", "body": body})
		default:
			w.WriteHeader(http.StatusMethodNotAllowed)
		}
	}))
	t.Cleanup(gh.Close)
	env := func(token string) map[string]string {
		return map[string]string{"GITHUB_API_URL": gh.URL, "GITHUB_TOKEN": token, "GITHUB_REPOSITORY": "acme/tenantd", "API_TOKEN": secret}
	}
	t.Run("refused token or unknown issue: exit 3, nothing written", func(t *testing.T) {
		for _, tc := range []struct{ token, issue, want string }{
			{"wrong-token", "12", "401 Unauthorized: Bad credentials"},
			{secret, "13", "404 Not Found"},
		} {
			r := runCLI(t, env(tc.token), "checklist", "--results", dir, "--policy", pol, "--issue", tc.issue)
			if r.code != ExitError || !strings.Contains(r.stderr, tc.want) || strings.Contains(r.stdout+r.stderr, tc.token) {
				t.Fatalf("exit %d; expected %d with %q and no token\n%s%s", r.code, ExitError, tc.want, r.stdout, r.stderr)
			}
		}
		mu.Lock()
		defer mu.Unlock()
		if patches != 0 || body != manual {
			t.Fatalf("a failed run changed the issue: %d updates, body %q", patches, body)
		}
	})
	t.Run("writes the block, then updates it in place keeping manual edits", func(t *testing.T) {
		r := runCLI(t, env(secret), "checklist", "--results", dir, "--policy", pol, "--issue", "12")
		if r.code != ExitOK || !strings.Contains(r.stdout, "updated https://github.example/acme/tenantd/issues/12") {
			t.Fatalf("first run: exit %d\n%s%s", r.code, r.stdout, r.stderr)
		}
		mu.Lock()
		first := body
		// someone edits the issue outside the block, and inside it (which
		// the next run replaces), between runs
		body = "Edited by hand above the block\n" + strings.Replace(body, "## Sign-off", "## Sign-off (edited)", 1) + "\nand a note below it\n"
		mu.Unlock()
		if !strings.HasPrefix(first, manual) || !strings.Contains(first, evidence.ChecklistStart+"\n# Release checklist: tenantd v1.4.0") {
			t.Fatalf("first body does not keep the manual text and add the block:\n%s", first)
		}
		r = runCLI(t, env(secret), "checklist", "--results", dir, "--policy", pol, "--issue", "12")
		if r.code != ExitOK {
			t.Fatalf("second run: exit %d\n%s%s", r.code, r.stdout, r.stderr)
		}
		mu.Lock()
		defer mu.Unlock()
		if n := strings.Count(body, evidence.ChecklistStart); n != 1 || strings.Count(body, evidence.ChecklistEnd) != 1 {
			t.Fatalf("the block is there %d times after two runs:\n%s", n, body)
		}
		for _, want := range []string{"Edited by hand above the block\n", manual, "\nand a note below it\n", "# Release checklist: tenantd v1.4.0"} {
			if !strings.Contains(body, want) {
				t.Errorf("the issue body lost %q:\n%s", want, body)
			}
		}
		if posts != 0 {
			t.Errorf("%d issues created; the checklist must update issue 12 only", posts)
		}
		if patches != 2 || strings.Contains(body, "(edited)") {
			t.Errorf("%d updates, expected 2 with the block restored:\n%s", patches, body)
		}
	})
}

// TestEvidenceKeylessCLI signs keyless through the CLI with the in-process
// virtual Sigstore in place of Fulcio and Rekor, and verifies offline
// against its trusted_root.json.
func TestEvidenceKeylessCLI(t *testing.T) {
	t.Parallel()
	const (
		signer = "release@acme.example"
		issuer = "https://accounts.acme.example"
		token  = "eyJhbGciOiJub25lIn0.eyJzdWIiOiJyZWxlYXNlIn0.c2ln"
	)
	root, foreignRoot, gotToken := keylessFixture(t, signer, issuer)

	pol, dir := gateResults(t, "pass")
	out := t.TempDir()
	env := map[string]string{"SIGSTORE_ID_TOKEN": token, "API_TOKEN": secret}
	r := runCLI(t, env, "evidence", "create", "--results", dir, "--policy", pol, "--keyless", "--out", out)
	if r.code != ExitOK || *gotToken != token || !strings.Contains(r.stdout, "verificationResult: PASSED") {
		t.Fatalf("create: exit %d, token passed %q\n%s%s", r.code, *gotToken, r.stdout, r.stderr)
	}
	if strings.Contains(r.stdout+r.stderr, token) {
		t.Fatal("the OIDC token was printed")
	}
	tgz := filepath.Join(out, evidence.TarballName("v1.4.0"))
	b, err := os.ReadFile(tgz)
	if err != nil {
		t.Fatal(err)
	}
	altered := bytes.Clone(b)
	altered[len(altered)-100] ^= 0x01
	alteredPath := writeFile(t, "evidence-v1.4.0.tar.gz", altered)
	keyPrefix := keyPair(t, nil)

	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"the signer verifies", []string{"--trusted-root", root, "--certificate-identity", signer, "--certificate-oidc-issuer", issuer, tgz}, ExitOK,
			"PASSED: signature: DSSE envelope signed keyless by release@acme.example (issuer https://accounts.acme.example), certificate chains to the trusted root, Rekor entry 1 logged"},
		{"an anchored identity pattern verifies", []string{"--trusted-root", root, "--certificate-identity-regexp", `^release@acme\.example$`, "--certificate-oidc-issuer", issuer, tgz}, ExitOK, "PASSED: verified"},
		{"another identity fails", []string{"--trusted-root", root, "--certificate-identity", "mallory@acme.example", "--certificate-oidc-issuer", issuer, tgz}, ExitFail,
			`signer identity mismatch: signer identity: expected mallory@acme.example, got "release@acme.example"`},
		{"another issuer fails", []string{"--trusted-root", root, "--certificate-identity", signer, "--certificate-oidc-issuer", "https://token.actions.githubusercontent.com", tgz}, ExitFail,
			`expected https://token.actions.githubusercontent.com, got "https://accounts.acme.example"`},
		{"a foreign trusted root fails", []string{"--trusted-root", foreignRoot, "--certificate-identity", signer, "--certificate-oidc-issuer", issuer, tgz}, ExitFail,
			"signature verification failed"},
		{"an altered byte fails", []string{"--trusted-root", root, "--certificate-identity", signer, "--certificate-oidc-issuer", issuer, alteredPath}, ExitFail,
			"evidence altered"},
		{"a key instead of the trusted root fails", []string{"--key", keyPrefix + ".pub", tgz}, ExitFail, "signed keyless (a Fulcio certificate), not with a key"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := runCLI(t, nil, append([]string{"evidence", "verify"}, tc.args...)...)
			if r.code != tc.code || !strings.Contains(r.stdout, tc.want) {
				t.Fatalf("exit %d; expected %d with %q\n%s%s", r.code, tc.code, tc.want, r.stdout, r.stderr)
			}
		})
	}
}

// keylessFixture swaps the keyless signer for an in-process virtual
// Sigstore signing as signer/issuer (SCT checks off, as its CA issues
// none) until the test ends. It returns the trusted_root.json of it and of
// a foreign Sigstore, and where the OIDC token the CLI handed
// to the signer is recorded. The fixture belongs to the
// top-level test: its subtests share it, other tests run beside it.
func keylessFixture(t *testing.T, signer, issuer string) (root, foreignRoot string, gotToken *string) {
	t.Helper()
	vs, err := evidencetest.NewVirtualSigner(signer, issuer)
	if err != nil {
		t.Fatal(err)
	}
	foreign, err := evidencetest.NewVirtualSigner(signer, issuer)
	if err != nil {
		t.Fatal(err)
	}
	gotToken = new(string)
	var mu sync.Mutex
	hooks := func(o *IO) {
		o.keylessSigner = func(s *evidence.SigstoreSigner) evidence.BundleSigner {
			mu.Lock()
			defer mu.Unlock()
			*gotToken = s.IDToken
			return vs
		}
		o.skipSCTUnsafe = true
	}
	name := topTest(t)
	if _, dup := testHooks.LoadOrStore(name, hooks); dup {
		t.Fatalf("keylessFixture: %s already has a keyless fixture", name)
	}
	t.Cleanup(func() { testHooks.Delete(name) })
	rootJSON := func(v *evidencetest.VirtualSigner) string {
		b, err := evidencetest.TrustedRootJSON(v.Sigstore)
		if err != nil {
			t.Fatal(err)
		}
		return writeFile(t, "trusted_root.json", b)
	}
	return rootJSON(vs), rootJSON(foreign), gotToken
}
