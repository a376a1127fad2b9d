package cli

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/maestro-conductor/releasegate/internal/gate"
)

// The canaries: every secret the process is given in one of the ways a
// user gives them. None may appear in any byte releasegate writes.
const (
	canaryGitHubToken = "ghs_LeakCanary0123456789abcdefXYZ" // GITHUB_TOKEN
	canaryBasicAuth   = "basic-auth-canary-5150"            // ${BASIC_AUTH} in a header
	canaryPromToken   = "prom-bearer-canary-8086"           // ${PROM_TOKEN} as bearer-token
	canaryWebhook     = "webhook-hmac-canary-1999"          // ${WEBHOOK_SECRET}
	canaryCosign      = "cosign-pass-canary-4242"           // COSIGN_PASSWORD
	canaryURLPass     = "url-pass-canary-7777"              // a password written in a URL
	echoMarker        = "ECHO-MARKER"
)

// canaryForms are the canaries and the encodings they travel in.
func canaryForms() map[string]string {
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	return map[string]string{
		"GITHUB_TOKEN": canaryGitHubToken, "GITHUB_TOKEN as basic auth": b64("x-access-token:" + canaryGitHubToken),
		"BASIC_AUTH": canaryBasicAuth, "PROM_TOKEN": canaryPromToken, "WEBHOOK_SECRET": canaryWebhook,
		"COSIGN_PASSWORD": canaryCosign, "URL password": canaryURLPass, "URL basic auth": b64("user:" + canaryURLPass),
	}
}

// echoServer answers every request with the whole request quoted back —
// request line, headers (Authorization included) and body — as a proxy's
// error page or a wrong API URL would, in a JSON shape every client reads
// (GitHub's message, Prometheus's error). Paths under /ok answer 200, the
// rest 400. It records the bodies it was sent (check runs, statuses,
// webhooks, issue updates) to be scanned too.
type echoServer struct {
	*httptest.Server
	mu     sync.Mutex
	bodies []string
	paths  []string
}

func newEchoServer(t *testing.T) *echoServer {
	e := &echoServer{}
	e.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		dump, _ := httputil.DumpRequest(r, true)
		body, _ := io.ReadAll(r.Body)
		e.mu.Lock()
		e.bodies = append(e.bodies, string(body))
		e.paths = append(e.paths, r.Method+" "+r.URL.Path)
		e.mu.Unlock()
		text := echoMarker + "\n" + string(dump)
		j, _ := json.Marshal(text)
		w.Header().Set("Content-Type", "application/json")
		if strings.HasPrefix(r.URL.Path, "/ok") {
			w.WriteHeader(http.StatusOK)
		} else {
			w.WriteHeader(http.StatusBadRequest)
		}
		fmt.Fprintf(w, `{"status":"error","errorType":"echo","error":%s,"message":%s}`+"\n%s", j, j, text)
	}))
	t.Cleanup(e.Close)
	return e
}

func (e *echoServer) sent() (string, []string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return strings.Join(e.bodies, "\n"), append([]string(nil), e.paths...)
}

// leaks returns the canaries found in b.
func leaks(b []byte) []string {
	var found []string
	for name, v := range canaryForms() {
		if bytes.Contains(b, []byte(v)) {
			found = append(found, name)
		}
	}
	return found
}

// withoutMasks drops the ::add-mask:: lines, the only place a secret may
// be written (the runner reads them and hides the value in its logs).
func withoutMasks(s string) (string, int) {
	var b strings.Builder
	n := 0
	for _, line := range strings.SplitAfter(s, "\n") {
		if strings.HasPrefix(line, "::add-mask::") {
			n++
			continue
		}
		b.WriteString(line)
	}
	return b.String(), n
}

// outputs are the bytes of one output form, by name.
type outputs map[string][]byte

func (o outputs) addDir(t *testing.T, prefix, dir string) {
	t.Helper()
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(dir, p)
		o[prefix+rel] = b
		if strings.HasSuffix(p, ".tar.gz") {
			o.addTarGz(t, prefix+rel+"!", b)
		}
		return nil
	})
}

func (o outputs) addTarGz(t *testing.T, prefix string, b []byte) {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("%s: %v", prefix, err)
	}
	tr := tar.NewReader(zr)
	n := 0
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("%s: %v", prefix, err)
		}
		data, _ := io.ReadAll(tr)
		o[prefix+h.Name] = data
		n++
	}
	if n == 0 {
		t.Fatalf("%s: an empty evidence tarball proves nothing", prefix)
	}
}

// TestNoSecretLeavesTheProcess is the table over clients × output forms:
// each HTTP client talks to a server that echoes the request — token
// included — back as an error body (or as a 200 the gate quotes), and every
// output of the real CLI path is scanned for every canary: stdout and
// stderr in text, JSON and Markdown, the --out files, the Actions outputs
// and step summary and annotations, the check-run and status payloads, the
// webhook bodies, the evidence files and the signed tarball's members, the
// checklist and the issue update.
func TestNoSecretLeavesTheProcess(t *testing.T) {
	t.Parallel()
	echo := newEchoServer(t)
	usage, err := filepath.Abs("../../examples/budget/usage-report.csv")
	if err != nil {
		t.Fatal(err)
	}
	// the password comes from a variable whose name says nothing: it is
	// a secret because it is the password of a URL
	hostURL := strings.Replace(echo.URL, "http://", "http://user:${PROBE_PW}@", 1)
	tests := []struct {
		name, cmd, policy string
		// want must reach the outputs, so the case can fail: the echoed
		// body, or the gate's masked message; empty where nothing is quoted
		// (a webhook's reply is not)
		want    string
		webhook bool
	}{
		{"GitHub API (ci-budget)", "ci-budget", `
version: 1
gates:
  - id: spend
    kind: ci-budget
    with:
      source:
        github: {org: acme, api-url: ` + echo.URL + `}
      tenants: [{name: acme, patterns: ["acme-*"]}]
      budgets: [{tenant: acme, usd: 300}]
`, echoMarker, false},
		{"Prometheus (metric gate)", "run", `
version: 1
gates:
  - id: prom
    kind: metric
    with:
      source: {url: ` + echo.URL + `, bearer-token: "${PROM_TOKEN}", retries: 0}
      checks: [{name: up, query: up, condition: "> 0"}]
`, echoMarker, false},
		{"http gate, error answer", "run", `
version: 1
gates:
  - id: probe
    kind: http
    with:
      url: ` + hostURL + `/health
      headers: {X-Api-Key: "${BASIC_AUTH}"}
`, echoMarker, false},
		{"http gate, 200 answer quoted", "run", `
version: 1
gates:
  - id: probe
    kind: http
    with:
      url: ` + hostURL + `/ok/health
      headers: {X-Api-Key: "${BASIC_AUTH}"}
      expect: {body-contains: never-there}
`, echoMarker, false},
		{"webhook (ci-budget notify)", "ci-budget", `
version: 1
gates:
  - id: spend
    kind: ci-budget
    with:
      source: {usage-file: ` + usage + `}
      tenants:
        - {name: acme, patterns: ["acme-*"]}
        - {name: globex, repos: [maestro-conductor/globex-ingest]}
      budgets:
        - {tenant: acme, usd: 1}
        - {tenant: globex, usd: 1}
      notify: {url: "${HOOK_URL}", secret: "${WEBHOOK_SECRET}", attempts: 1}
`, "", true},
		{"synthetic load target", "run", `
version: 1
gates:
  - id: load
    kind: synthetic
    with:
      target: ` + echo.URL + `
      tenants: [acme]
      rate: 60
      duration: 1s
      thresholds: {error-rate: "< 0.05"}
      loopback-only: true
      late-tolerance: 1s
      probe:
        path: /ok/{tenant}
        headers: {Authorization: "Bearer ${BASIC_AUTH}"}
        expect: {json: [{path: .error, equals: nope}]}
`, "", false}, // the engine counts failed checks and quotes no reply: nothing to want
		{"a gate quoting secrets in its own result", "run", `
version: 1
gates:
  - {id: quotes, kind: fake, with: {status: fail, token: "${GITHUB_TOKEN}"}}
  - {id: errs, kind: fake, with: {status: error, token: "${BASIC_AUTH}"}}
`, "with token ***", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			env := map[string]string{
				"GITHUB_TOKEN": canaryGitHubToken, "BASIC_AUTH": canaryBasicAuth, "PROM_TOKEN": canaryPromToken,
				"WEBHOOK_SECRET": canaryWebhook, "COSIGN_PASSWORD": canaryCosign, "PROBE_PW": canaryURLPass, "RUNNER_TEMP": dir,
				"HOOK_URL":       echo.URL + "/hook",
				"GITHUB_ACTIONS": "true", "GITHUB_API_URL": echo.URL, "GITHUB_REPOSITORY": "acme/app",
				"GITHUB_SHA": "0123456789abcdef0123456789abcdef01234567", "GITHUB_RUN_ID": "42",
				"GITHUB_SERVER_URL": "https://github.example", "SOURCE_DATE_EPOCH": "1700000000",
			}
			policyPath := writePolicy(t, tt.policy)
			out := outputs{}
			key := keyPair(t, env)
			for _, format := range []string{"text", "json", "markdown"} {
				env["GITHUB_OUTPUT"] = filepath.Join(dir, format+".output")
				env["GITHUB_STEP_SUMMARY"] = filepath.Join(dir, format+".summary")
				outDir := filepath.Join(dir, "results-"+format)
				r := runCLI(t, env, tt.cmd, "--policy", policyPath, "--format", format, "--out", outDir)
				if r.code == ExitOK || r.code == ExitBadInput {
					t.Fatalf("%s: exit %d; expected the gate to fail or error on the echo\n%s%s", format, r.code, r.stdout, r.stderr)
				}
				stderr, masks := withoutMasks(r.stderr)
				if masks == 0 || !strings.Contains(r.stderr, "::add-mask::"+canaryGitHubToken+"\n") {
					t.Errorf("%s: the token is not masked in Actions (::add-mask::):\n%s", format, r.stderr)
				}
				out[format+" stdout"], out[format+" stderr"] = []byte(r.stdout), []byte(stderr)
				out.addDir(t, format+" --out ", outDir)
				for _, f := range []string{env["GITHUB_OUTPUT"], env["GITHUB_STEP_SUMMARY"]} {
					b, err := os.ReadFile(f)
					if err != nil {
						t.Fatalf("%s: %v", format, err)
					}
					out[format+" "+filepath.Base(f)] = b
				}
			}
			evDir := filepath.Join(dir, "evidence")
			results := filepath.Join(dir, "results-json")
			r := runCLI(t, env, "evidence", "create", "--results", results, "--policy", policyPath, "--version", "v1.0.0",
				"--key", key+".key", "--out", evDir)
			if r.code != ExitOK {
				t.Fatalf("evidence create: exit %d\n%s%s", r.code, r.stdout, r.stderr)
			}
			out["evidence create stdout"], out["evidence create stderr"] = []byte(r.stdout), []byte(withoutMasksOnly(r.stderr))
			out.addDir(t, "evidence ", evDir)
			r = runCLI(t, env, "checklist", "--results", results, "--version", "v1.0.0")
			out["checklist stdout"], out["checklist stderr"] = []byte(r.stdout), []byte(withoutMasksOnly(r.stderr))
			r = runCLI(t, env, "checklist", "--results", results, "--version", "v1.0.0", "--issue", "7", "--repo", "acme/app")
			if r.code != ExitError {
				t.Errorf("checklist --issue against the echo: exit %d, expected %d", r.code, ExitError)
			}
			out["checklist --issue stdout"], out["checklist --issue stderr"] = []byte(r.stdout), []byte(withoutMasksOnly(r.stderr))
			sent, paths := echo.sent()
			out["payloads sent (check runs, statuses, webhooks, issue)"] = []byte(sent)

			for name, b := range out {
				if found := leaks(b); len(found) > 0 {
					t.Errorf("%s holds %v:\n%s", name, found, b)
				}
			}
			all := bytes.Join(func() (bs [][]byte) {
				for _, b := range out {
					bs = append(bs, b)
				}
				return
			}(), nil)
			if tt.want != "" && !bytes.Contains(all, []byte(tt.want)) {
				t.Errorf("%q never reached an output, so this case proves nothing", tt.want)
			}
			if !strings.Contains(strings.Join(paths, "\n"), "/check-runs") {
				t.Errorf("no check run was posted to the GitHub-shaped server; requests: %v", paths)
			}
			if tt.webhook && !strings.Contains(strings.Join(paths, "\n"), "POST /hook") {
				t.Errorf("no webhook was sent; requests: %v", paths)
			}
		})
	}
}

func withoutMasksOnly(s string) string {
	out, _ := withoutMasks(s)
	return out
}

// TestEvidenceRefusesAPolicyWithALiteralSecret: the policy is signed byte
// for byte, so a password written in it cannot be masked: evidence create
// refuses it (bad input) and writes nothing.
func TestEvidenceRefusesAPolicyWithALiteralSecret(t *testing.T) {
	t.Parallel()
	env := map[string]string{"COSIGN_PASSWORD": canaryCosign}
	p := writePolicy(t, policyWith("pass")+"  - id: probe\n    kind: http\n    with: {url: \"http://user:"+canaryURLPass+"@127.0.0.1:1/\"}\n")
	results := filepath.Join(t.TempDir(), "results")
	os.MkdirAll(results, 0o755)
	os.WriteFile(filepath.Join(results, "report.json"), []byte(`{"schema":"releasegate.result/v1","status":"pass","results":[{"schema":"releasegate.result/v1","gate":"ga","kind":"fake","status":"pass","summary":"ok","checks":[{"name":"c","status":"pass"}]}]}`), 0o644)
	out := filepath.Join(t.TempDir(), "ev")
	key := keyPair(t, env)
	r := runCLI(t, map[string]string{"COSIGN_PASSWORD": canaryCosign, "API_TOKEN": "x-token-123"}, "evidence", "create", "--results", results, "--policy", p, "--version", "v1", "--key", key+".key", "--out", out)
	if r.code != ExitBadInput || !strings.Contains(r.stderr, "holds a secret written literally") {
		t.Fatalf("exit %d, expected %d with the reason:\n%s", r.code, ExitBadInput, r.stderr)
	}
	if leaks([]byte(r.stdout+r.stderr)) != nil {
		t.Errorf("the refusal itself leaks: %s", r.stderr)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("nothing may be written, found %s", out)
	}
}

// TestURLPasswordInAFlagIsMasked: a password given in a URL on the command
// line is a secret from the first byte printed.
func TestURLPasswordInAFlagIsMasked(t *testing.T) {
	t.Parallel()
	r := runCLI(t, nil, "run", "--policy", "postgres://app:"+canaryURLPass+"@db.invalid/x")
	if r.code != ExitBadInput {
		t.Fatalf("exit %d, expected %d", r.code, ExitBadInput)
	}
	if found := leaks([]byte(r.stdout + r.stderr)); found != nil || !strings.Contains(r.stderr, "***") {
		t.Errorf("expected the password masked, found %v in:\n%s", found, r.stderr)
	}
}

// TestEmitFailsClosed: a report that cannot be redacted (here it cannot
// even be encoded) is an error and nothing is written — never the
// unredacted report.
func TestEmitFailsClosed(t *testing.T) {
	t.Parallel()
	var out, errb bytes.Buffer
	o := &IO{Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" }}
	o.Redact([]string{canaryBasicAuth})
	dir := filepath.Join(t.TempDir(), "out")
	results := []gate.Result{{Schema: gate.SchemaVersion, Gate: "g", Kind: "fake", Status: gate.StatusPass,
		Summary: "token " + canaryBasicAuth, Details: map[string]any{"ratio": math.NaN()},
		Checks: []gate.Check{{Name: "c", Status: gate.StatusPass}}}}
	code := o.exitFor("releasegate", emit(t.Context(), o, OutputOptions{Format: "text", OutDir: dir}, results))
	o.flush()
	if code != ExitError {
		t.Errorf("exit %d, expected %d", code, ExitError)
	}
	if out.Len() != 0 || !strings.Contains(errb.String(), "cannot redact secrets") {
		t.Errorf("expected nothing on stdout and the reason on stderr, got:\n%s\n%s", out.String(), errb.String())
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("--out must not be written, found %s", dir)
	}
	if leaks(append(out.Bytes(), errb.Bytes()...)) != nil {
		t.Errorf("leaked: %s", errb.String())
	}
}
