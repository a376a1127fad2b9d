package evidence

import (
	"bytes"
	"crypto"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/maestro-conductor/releasegate/internal/checklist"
	"github.com/maestro-conductor/releasegate/internal/gate"
)

var update = flag.Bool("update", false, "rewrite golden files")

const fixtures = "../../testdata/evidence"

// fixtureResults loads the three fixture results; passing turns the failing
// SLO gate into a passing one.
func fixtureResults(t testing.TB, passing bool) []gate.Result {
	t.Helper()
	rs, err := LoadResults(filepath.Join(fixtures, "results"))
	if err != nil {
		t.Fatal(err)
	}
	out := rs.Results
	if passing {
		for i := range out {
			if out[i].Gate == "slo" {
				out[i].Status = gate.StatusPass
				out[i].Summary = "4 of 4 checks passed"
				out[i].Checks[2].Status = gate.StatusPass
				out[i].Checks[2].Observed = gate.Number(3.5)
			}
		}
	}
	return out
}

// provenanceFor is a DSSE envelope line whose statement's subject is data.
func provenanceFor(data []byte) []byte {
	st := fmt.Sprintf(`{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"tenantd","digest":{"sha256":"%x"}}]}`, sha256.Sum256(data))
	return []byte(fmt.Sprintf(`{"payloadType":"application/vnd.in-toto+json","payload":"%s"}`+"\n", base64.StdEncoding.EncodeToString([]byte(st))))
}

var (
	keysMu    sync.Mutex
	fixedKeys = map[string]crypto.Signer{}
)

func testSigner(t testing.TB, alg string) *Signer {
	t.Helper()
	keysMu.Lock()
	defer keysMu.Unlock()
	k, ok := fixedKeys[alg]
	if !ok {
		var err error
		if k, err = GenerateKey(alg); err != nil {
			t.Fatal(err)
		}
		fixedKeys[alg] = k
	}
	s, err := NewSigner(k)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// mustCreate creates evidence from testOptions(t, passing).
func mustCreate(t testing.TB, passing bool) (Options, *Evidence) {
	t.Helper()
	o := testOptions(t, passing)
	ev, err := Create(o)
	if err != nil {
		t.Fatal(err)
	}
	return o, ev
}

func testOptions(t testing.TB, passing bool) Options {
	return Options{
		Version: "v1.4.0", Release: "tenantd", Results: fixtureResults(t, passing),
		Policy:       &Input{Name: ".github/release-policy.yml", Data: []byte("version: 1\ngates: []\n")},
		Artifacts:    []Input{{Name: "tenantd_linux_amd64.tar.gz", Data: []byte("binary bytes")}},
		Attestations: []Input{{Name: "tenantd.intoto.jsonl", Data: provenanceFor([]byte("binary bytes"))}},
		Tool:         "releasegate v0.1.0",
		GitHub:       &GitHubContext{Repository: "acme/tenantd", RunID: "42", RunAttempt: "1", SHA: "0123456789abcdef", Ref: "refs/tags/v1.4.0", Actor: "octocat"},
		Signer:       testSigner(t, AlgECDSAP256),
	}
}

func TestCreateVerifyRoundTrip(t *testing.T) {
	t.Parallel()
	for _, alg := range []string{AlgECDSAP256, AlgEd25519} {
		t.Run(alg, func(t *testing.T) {
			o := testOptions(t, true)
			o.Signer = testSigner(t, alg)
			ev, err := Create(o)
			if err != nil {
				t.Fatal(err)
			}
			v, err := Verify(ev.TarGz, VerifyOptions{Key: o.Signer.(*Signer).Public(), Artifacts: o.Artifacts})
			if err != nil {
				t.Fatalf("verify: %v\nverified so far: %q", err, v.Passed)
			}
			if v.Result != ResultPassed || len(v.Passed) < 6 {
				t.Fatalf("result %s, passed %q", v.Result, v.Passed)
			}
			if got := ev.Manifest.Artifacts[0].Attestations; len(got) != 1 {
				t.Errorf("artifact attestations %v; expected the provenance file linked by subject digest", got)
			}
		})
	}
}

func TestFailedReleaseVerifiesAsFailed(t *testing.T) {
	t.Parallel()
	o, ev := mustCreate(t, false)
	if ev.Statement.Predicate.VerificationResult != ResultFailed {
		t.Fatalf("VSA result %s; expected FAILED for a failed required gate", ev.Statement.Predicate.VerificationResult)
	}
	v, err := Verify(ev.TarGz, VerifyOptions{Key: o.Signer.(*Signer).Public()})
	if !errors.Is(err, ErrNotPassed) {
		t.Fatalf("err %v; expected ErrNotPassed", err)
	}
	if !strings.Contains(err.Error(), "required gate slo fail") {
		t.Errorf("reason %q does not name the failing gate", err)
	}
	if len(v.Passed) < 5 {
		t.Errorf("a failed release must still verify its integrity; verified %q", v.Passed)
	}
}

func TestVerdict(t *testing.T) {
	t.Parallel()
	pass := gate.Result{Gate: "a", Required: true, Status: gate.StatusPass}
	tests := []struct {
		name     string
		results  []gate.Result
		required []string
		want     string
		reason   string
	}{
		{"every required gate passed", []gate.Result{pass}, nil, ResultPassed, ""},
		{"a warning still passes", []gate.Result{{Gate: "a", Required: true, Status: gate.StatusWarn}}, nil, ResultPassed, ""},
		{"a required gate without a result fails", []gate.Result{pass}, []string{"b"}, ResultFailed, "required gate b has no result"},
		{"a skipped required gate fails", []gate.Result{{Gate: "a", Required: true, Status: gate.StatusSkip}}, nil, ResultFailed, "skipped"},
		{"an errored required gate fails", []gate.Result{{Gate: "a", Required: true, Status: gate.StatusError, Error: "timeout"}}, nil, ResultFailed, "could not be evaluated: timeout"},
		{"an optional failure does not block", []gate.Result{pass, {Gate: "o", Status: gate.StatusFail}}, nil, ResultPassed, ""},
		{"no required gate at all fails", []gate.Result{{Gate: "o", Status: gate.StatusPass}}, nil, ResultFailed, "no required gates"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, reasons, _ := Verdict(tc.results, tc.required)
			if got != tc.want || !strings.Contains(strings.Join(reasons, ";"), tc.reason) {
				t.Fatalf("got %s %q; want %s with %q", got, reasons, tc.want, tc.reason)
			}
		})
	}
}

func TestMissingRequiredGateFailsTheVSA(t *testing.T) {
	t.Parallel()
	o := testOptions(t, true)
	o.Required = []string{"synthetic"}
	ev, err := Create(o)
	if err != nil {
		t.Fatal(err)
	}
	if r := ev.Statement.Predicate.VerificationResult; r != ResultFailed {
		t.Fatalf("VSA %s; expected FAILED", r)
	}
	if !strings.Contains(strings.Join(ev.Manifest.Reasons, ";"), "required gate synthetic has no result") {
		t.Fatalf("reasons %q", ev.Manifest.Reasons)
	}
	if ev.Manifest.Checks["synthetic"] {
		t.Fatal("a missing gate is ticked in the manifest")
	}
}

func TestReproducibleTarball(t *testing.T) {
	t.Parallel()
	a, err := Create(testOptions(t, true))
	if err != nil {
		t.Fatal(err)
	}
	b, err := Create(testOptions(t, true))
	if err != nil {
		t.Fatal(err)
	}
	if Digest(a.TarGz) != Digest(b.TarGz) {
		t.Fatalf("two runs over the same inputs: %s != %s", Digest(a.TarGz), Digest(b.TarGz))
	}
	o := testOptions(t, true)
	o.Results[0].Summary += "!"
	c, err := Create(o)
	if err != nil {
		t.Fatal(err)
	}
	if Digest(c.TarGz) == Digest(a.TarGz) {
		t.Fatal("a changed result gave the same tarball")
	}
}

// TestEveryAlteredByteIsRejected flips each byte of the tarball (every
// region: gzip header, deflate stream, trailer) and expects verification
// to fail every time.
func TestEveryAlteredByteIsRejected(t *testing.T) {
	t.Parallel()
	o := testOptions(t, true)
	o.Signer = testSigner(t, AlgEd25519)
	ev, err := Create(o)
	if err != nil {
		t.Fatal(err)
	}
	key := o.Signer.(*Signer).Public()
	step := 1
	if testing.Short() {
		step = 13
	}
	for i := 0; i < len(ev.TarGz); i += step {
		b := bytes.Clone(ev.TarGz)
		b[i] ^= 0x01
		if _, err := Verify(b, VerifyOptions{Key: key}); err == nil {
			t.Fatalf("flipping byte %d of %d was not detected", i, len(b))
		}
	}
	if _, err := Verify(append(bytes.Clone(ev.TarGz), 0), VerifyOptions{Key: key}); !errors.Is(err, ErrTampered) {
		t.Fatalf("trailing byte: %v", err)
	}
}

// TestAlteredMemberIsRejected changes one file inside an otherwise valid,
// re-packed tarball: the digests, not the gzip CRC, must catch it.
func TestAlteredMemberIsRejected(t *testing.T) {
	t.Parallel()
	o, ev := mustCreate(t, true)
	for _, f := range ev.Files {
		t.Run(f.Name, func(t *testing.T) {
			files := make([]File, len(ev.Files))
			copy(files, ev.Files)
			for i := range files {
				if files[i].Name == f.Name {
					d := bytes.Clone(files[i].Data)
					d[len(d)/2] ^= 0x20
					files[i].Data = d
				}
			}
			tgz, err := WriteTarGz(files)
			if err != nil {
				t.Fatal(err)
			}
			_, err = Verify(tgz, VerifyOptions{Key: o.Signer.(*Signer).Public()})
			if err == nil {
				t.Fatal("altered member accepted")
			}
			if !errors.Is(err, ErrTampered) && !errors.Is(err, ErrSignature) && !errors.Is(err, ErrMalformed) {
				t.Fatalf("unexpected error kind: %v", err)
			}
		})
	}
	// An extra file and a removed file.
	extra := append(append([]File(nil), ev.Files...), File{Name: "extra.txt", Data: []byte("x")})
	tgz, _ := WriteTarGz(extra)
	if _, err := Verify(tgz, VerifyOptions{Key: o.Signer.(*Signer).Public()}); !errors.Is(err, ErrTampered) {
		t.Fatalf("extra file: %v", err)
	}
	var fewer []File
	for _, f := range ev.Files {
		if f.Name != HTMLFile {
			fewer = append(fewer, f)
		}
	}
	tgz, _ = WriteTarGz(fewer)
	if _, err := Verify(tgz, VerifyOptions{Key: o.Signer.(*Signer).Public()}); !errors.Is(err, ErrTampered) {
		t.Fatalf("missing file: %v", err)
	}
}

func TestWrongKeyIsRejected(t *testing.T) {
	t.Parallel()
	o, ev := mustCreate(t, true)
	other, _ := GenerateKey(AlgECDSAP256)
	if _, err := Verify(ev.TarGz, VerifyOptions{Key: other.Public()}); !errors.Is(err, ErrSignature) {
		t.Fatalf("verify with another key: %v; expected ErrSignature", err)
	}
	if err := MatchKeys(o.Signer.(*Signer).key, other.Public()); !errors.Is(err, ErrKeyMismatch) {
		t.Fatalf("MatchKeys: %v; expected ErrKeyMismatch", err)
	}
	if err := MatchKeys(o.Signer.(*Signer).key, o.Signer.(*Signer).Public()); err != nil {
		t.Fatal(err)
	}
}

func TestArtifactNotASubjectIsRejected(t *testing.T) {
	t.Parallel()
	o, ev := mustCreate(t, true)
	_, err := Verify(ev.TarGz, VerifyOptions{Key: o.Signer.(*Signer).Public(), Artifacts: []Input{{Name: "tenantd_linux_amd64.tar.gz", Data: []byte("other bytes")}}})
	if !errors.Is(err, ErrSubject) {
		t.Fatalf("err %v; expected ErrSubject", err)
	}
}

func TestLoadResultsBadInput(t *testing.T) {
	t.Parallel()
	good, _ := os.ReadFile(filepath.Join(fixtures, "results", "ledger.json"))
	tests := []struct {
		name  string
		files map[string]string
		want  string
	}{
		{"a corrupt file is named", map[string]string{"ledger.json": string(good), "slo.json": "{not json"}, "slo.json"},
		{"a wrong schema is named", map[string]string{"x.json": `{"schema":"other/v9","gate":"x","status":"pass"}`}, `schema "other/v9"`},
		{"an unknown status is refused", map[string]string{"x.json": `{"schema":"releasegate.result/v1","gate":"x","status":"green"}`}, `status "green"`},
		{"duplicate gate ids are refused", map[string]string{"a.json": string(good), "b.json": string(good)}, `duplicate gate id "ledger"`},
		{"an empty directory is refused", map[string]string{}, "no gate results"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for n, c := range tc.files {
				os.WriteFile(filepath.Join(dir, n), []byte(c), 0o644)
			}
			_, err := LoadResults(dir)
			if !errors.Is(err, gate.ErrBadInput) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v; expected bad input mentioning %q", err, tc.want)
			}
		})
	}
}

func TestLoadResultsFromReport(t *testing.T) {
	t.Parallel()
	rs := fixtureResults(t, false)
	rep := gate.Report{Schema: gate.SchemaVersion, Status: gate.StatusFail, Tool: "releasegate v1", Policy: gate.Input{Name: "p.yml", Digest: "sha256:00"}, Results: rs}
	b, _ := marshalJSON(rep)
	p := filepath.Join(t.TempDir(), "report.json")
	os.WriteFile(p, b, 0o644)
	got, err := LoadResults(p)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Results) != 3 || got.Policy.Digest != "sha256:00" || got.Tool != "releasegate v1" {
		t.Fatalf("got %+v", got)
	}
}

func TestKeyFiles(t *testing.T) {
	t.Parallel()
	for _, alg := range []string{AlgECDSAP256, AlgEd25519} {
		k, _ := GenerateKey(alg)
		for _, pw := range []string{"", "correct horse"} {
			pemb, err := MarshalPrivateKey(k, []byte(pw))
			if err != nil {
				t.Fatal(err)
			}
			back, err := ParsePrivateKey(pemb, []byte(pw))
			if err != nil {
				t.Fatalf("%s pw=%q: %v", alg, pw, err)
			}
			pub, _ := MarshalPublicKey(back.Public())
			pk, err := ParsePublicKey(pub)
			if err != nil {
				t.Fatal(err)
			}
			if err := MatchKeys(back, pk); err != nil || MatchKeys(k, pk) != nil {
				t.Fatalf("round trip changed the key: %v", err)
			}
			if pw != "" {
				if _, err := ParsePrivateKey(pemb, []byte("wrong")); !errors.Is(err, ErrPassword) {
					t.Fatalf("wrong password: %v", err)
				}
			}
		}
	}
}

func TestChecklistGolden(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		passing bool
	}{{"checklist-failed", false}, {"checklist-passed", true}} {
		t.Run(tc.name, func(t *testing.T) {
			o := testOptions(t, tc.passing)
			ev, err := Create(o)
			if err != nil {
				t.Fatal(err)
			}
			var got []byte
			for _, f := range ev.Files {
				if f.Name == ChecklistFile {
					got = f.Data
				}
			}
			golden := filepath.Join(fixtures, tc.name+".md")
			if *update {
				os.WriteFile(golden, got, 0o644)
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("checklist differs from %s (run go test -update to accept):\n%s", golden, got)
			}
		})
	}
}

func TestHTMLIsSelfContained(t *testing.T) {
	t.Parallel()
	ev, err := Create(testOptions(t, false))
	if err != nil {
		t.Fatal(err)
	}
	var html string
	for _, f := range ev.Files {
		if f.Name == HTMLFile {
			html = string(f.Data)
		}
	}
	for _, bad := range []string{"<script", "<link", "src=", "url(", "@import", "http://", "https://"} {
		if strings.Contains(strings.ReplaceAll(html, `xmlns="http://www.w3.org/2000/svg"`, ""), bad) {
			t.Errorf("report.html contains %q; it must load nothing from outside", bad)
		}
	}
	for _, want := range []string{`data-gate="slo"`, "<svg", "tenant beta: 1h burn rate 16.2 &gt; 14.4", "FAILED"} {
		if !strings.Contains(html, want) {
			t.Errorf("report.html lacks %q", want)
		}
	}
}

func TestTimeDefaultsToResults(t *testing.T) {
	t.Parallel()
	ev, err := Create(testOptions(t, true))
	if err != nil {
		t.Fatal(err)
	}
	want := time.Date(2026, 11, 28, 10, 0, 5, 0, time.UTC)
	if !ev.Statement.Predicate.TimeVerified.Equal(want) {
		t.Fatalf("timeVerified %s; expected the latest result %s", ev.Statement.Predicate.TimeVerified, want)
	}
}

// The release workflow downloads one report.json per gate group into one
// directory; they are one policy run and are merged, but reports of two
// different policies, or the same gate twice, are refused.
func TestLoadResultsFromGroupReports(t *testing.T) {
	t.Parallel()
	rs := fixtureResults(t, false)
	write := func(dir, name, digest string, results []gate.Result) {
		rep := gate.Report{Schema: gate.SchemaVersion, Status: gate.StatusPass, Tool: "releasegate v1", Policy: gate.Input{Name: "p.yml", Digest: digest}, Results: results}
		b, _ := marshalJSON(rep)
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Run("reports of one policy are merged", func(t *testing.T) {
		dir := t.TempDir()
		write(dir, "infra.json", "sha256:00", rs[:1])
		write(dir, "slo.json", "sha256:00", rs[1:])
		got, err := LoadResults(dir)
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Results) != len(rs) || got.Policy.Digest != "sha256:00" {
			t.Fatalf("got %d results of policy %s; expected %d of sha256:00", len(got.Results), got.Policy.Digest, len(rs))
		}
	})
	t.Run("reports of two policies are refused", func(t *testing.T) {
		dir := t.TempDir()
		write(dir, "infra.json", "sha256:00", rs[:1])
		write(dir, "slo.json", "sha256:11", rs[1:])
		_, err := LoadResults(dir)
		if !errors.Is(err, gate.ErrBadInput) || !strings.Contains(err.Error(), "one policy run") {
			t.Fatalf("err %v; expected bad input about one policy run", err)
		}
	})
	t.Run("a gate in two reports is refused", func(t *testing.T) {
		dir := t.TempDir()
		write(dir, "infra.json", "sha256:00", rs[:1])
		write(dir, "slo.json", "sha256:00", rs)
		_, err := LoadResults(dir)
		if !errors.Is(err, gate.ErrBadInput) || !strings.Contains(err.Error(), "duplicate gate id") {
			t.Fatalf("err %v; expected bad input about a duplicate gate id", err)
		}
	})
}

// TestReleaseMetrics: the manifest carries the release metrics derived from
// the results, and the checklist and HTML print the manifest's rows rather
// than recomputing them.
func TestReleaseMetrics(t *testing.T) {
	t.Parallel()
	ev, err := Create(testOptions(t, false))
	if err != nil {
		t.Fatal(err)
	}
	want := []MetricRow{
		{"Gate wall time", "5 s (first gate start to last gate finish)"},
		{"SLO violations", "1 of 4 SLO checks"},
		{"Error-budget burn", "16.2× (worst: tenant beta: 1h burn rate)"},
		{"Cost delta", "spend 412.5 USD (−587.5 USD vs budget 1000)"},
	}
	m, err := ParseManifest(fileOf(t, ev, ManifestName("v1.4.0")))
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(m.ReleaseMetrics) != fmt.Sprint(want) {
		t.Fatalf("manifest release_metrics = %v\nwant %v", m.ReleaseMetrics, want)
	}
	for _, name := range []string{HTMLFile, ChecklistFile} {
		if !strings.Contains(string(fileOf(t, ev, name)), "16.2× (worst: tenant beta: 1h burn rate)") {
			t.Errorf("%s has no release metrics", name)
		}
	}
	// Renderers read the manifest: change its rows, not the results.
	ev.Manifest.ReleaseMetrics = []MetricRow{{"Deploy time", "42m from the manifest"}}
	var html, md strings.Builder
	if err := WriteHTML(&html, ev); err != nil {
		t.Fatal(err)
	}
	if err := WriteChecklist(&md, ev); err != nil {
		t.Fatal(err)
	}
	for name, out := range map[string]string{"html": html.String(), "checklist": md.String()} {
		if !strings.Contains(out, "42m from the manifest") || strings.Contains(out, "16.2×") {
			t.Errorf("%s recomputed the release metrics instead of printing the manifest's", name)
		}
	}
	// No data is never zero.
	if rows := ReleaseMetrics(&gate.Report{}); rows[0].Value != "no data" || rows[3].Value != "no data" {
		t.Errorf("empty report: %v", rows)
	}
}

// TestReleaseMetricsUnits: a deploy time is named so only when a check
// reports one; every tenant's cost delta is in its budget's own unit, a
// minutes budget included; a short run never reads as 0.
func TestReleaseMetricsUnits(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	spend := func(tenant, unit string, spent float64, limit string) gate.Check {
		return gate.Check{Name: "CI spend this month", Tenant: tenant, Status: gate.StatusPass, Observed: gate.Number(spent), Unit: unit, Expected: "<= " + limit}
	}
	rep := &gate.Report{StartedAt: t0, FinishedAt: t0.Add(840 * time.Millisecond), Results: []gate.Result{{Gate: "ci-budget", Group: "cost", Status: gate.StatusPass,
		Checks: []gate.Check{spend("acme", "USD", 251.15, "400"), spend("initech", "minutes", 8953, "20000"),
			{Name: "throttle", Tenant: "acme", Status: gate.StatusWarn, Observed: gate.Int(2), Unit: "actions"}}}}}
	rows := ReleaseMetrics(rep)
	if rows[0] != (MetricRow{"Gate wall time", "840 ms (first gate start to last gate finish)"}) {
		t.Errorf("time row %v", rows[0])
	}
	want := "tenant acme: CI spend this month 251.15 USD (−148.85 USD vs budget 400); tenant initech: CI spend this month 8953 minutes (−11047 minutes vs budget 20000)"
	if rows[3].Value != want {
		t.Errorf("cost delta %q\nwant %q", rows[3].Value, want)
	}
	rep.Results = append(rep.Results, gate.Result{Gate: "rollout", Checks: []gate.Check{{Name: "deploy duration", Status: gate.StatusPass, Observed: gate.Number(312), Unit: "s"}}})
	if rows := ReleaseMetrics(rep); rows[0] != (MetricRow{"Deploy time", "312 s (deploy duration)"}) {
		t.Errorf("with a deploy check, time row %v", rows[0])
	}
}

func fileOf(t *testing.T, ev *Evidence, name string) []byte {
	t.Helper()
	for _, f := range ev.Files {
		if f.Name == name {
			return f.Data
		}
	}
	t.Fatalf("no %s in the evidence", name)
	return nil
}

// TestUnsignedBundleFieldsAreChecked: the key hint and the signature's key
// id are not covered by the signature; changing them must still fail.
func TestUnsignedBundleFieldsAreChecked(t *testing.T) {
	t.Parallel()
	o, ev := mustCreate(t, true)
	key := o.Signer.(*Signer).Public()
	for name, change := range map[string]func(*Bundle){
		"the key hint": func(b *Bundle) {
			b.VerificationMaterial.PublicKey.Hint = "0000" + b.VerificationMaterial.PublicKey.Hint[4:]
		},
		"the signature's key id": func(b *Bundle) { b.DSSEEnvelope.Signatures[0].KeyID = "0000" },
		"a second signature": func(b *Bundle) {
			b.DSSEEnvelope.Signatures = append(b.DSSEEnvelope.Signatures, b.DSSEEnvelope.Signatures[0])
		},
		"a non-canonical base64 payload": func(b *Bundle) { b.DSSEEnvelope.Payload += "\n" },
	} {
		files := slices.Clone(ev.Files)
		for i := range files {
			if files[i].Name == BundleFile {
				b, err := ParseBundle(files[i].Data)
				if err != nil {
					t.Fatal(err)
				}
				change(b)
				files[i].Data, _ = MarshalBundle(b)
			}
		}
		tgz, err := WriteTarGz(files)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Verify(tgz, VerifyOptions{Key: key}); err == nil {
			t.Errorf("changing %s was not detected", name)
		}
	}
}

// TestEveryAlteredKeyBundleByteIsRejected flips each byte of the
// key-signed bundle inside a re-packed, canonical tarball: the bundle is
// outside the manifest, so its own checks must catch every change.
func TestEveryAlteredKeyBundleByteIsRejected(t *testing.T) {
	t.Parallel()
	o, ev := mustCreate(t, true)
	key := o.Signer.(*Signer).Public()
	bb := fileOf(t, ev, BundleFile)
	for i := range bb {
		files := slices.Clone(ev.Files)
		for j := range files {
			if files[j].Name == BundleFile {
				files[j].Data = bytes.Clone(bb)
				files[j].Data[i] ^= 0x01
			}
		}
		tgz, err := WriteTarGz(files)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Verify(tgz, VerifyOptions{Key: key}); err == nil {
			t.Fatalf("flipping byte %d of %d of %s was not detected (%q)", i, len(bb), BundleFile, bb[max(0, i-20):min(len(bb), i+20)])
		}
	}
}

// TestChecklistSignOffFromApprovals: the sign-off rows of checklist.md and
// report.html are filled only from the approvals given, never from the
// verdict or the run's actor.
func TestChecklistSignOffFromApprovals(t *testing.T) {
	t.Parallel()
	o := testOptions(t, true)
	o.GitHub = &GitHubContext{Actor: "ci-bot", Repository: "acme/tenantd", RunID: "1"}
	ev, err := Create(o)
	if err != nil {
		t.Fatal(err)
	}
	if md := string(fileOf(t, ev, ChecklistFile)); strings.Contains(md, "ci-bot |") || !strings.Contains(md, "| Release manager | _____ | _____ | _____ |") {
		t.Errorf("sign-off filled without an approval:\n%s", md)
	}
	o.Approvals, err = checklist.ParseApprovals("approvals.json", []byte(`[{"state":"approved","environments":[{"name":"production"}],"user":{"login":"dana"},"submitted_at":"2026-11-28T09:00:00Z"}]`))
	if err != nil {
		t.Fatal(err)
	}
	if ev, err = Create(o); err != nil {
		t.Fatal(err)
	}
	if md := string(fileOf(t, ev, ChecklistFile)); !strings.Contains(md, "| Release manager | @dana | 2026-11-28 09:00 UTC | go (approved) ✅ · environment production |") {
		t.Errorf("checklist.md lacks the approval:\n%s", md)
	}
	if html := string(fileOf(t, ev, HTMLFile)); !strings.Contains(html, "<td>@dana</td><td>2026-11-28 09:00 UTC</td>") {
		t.Errorf("report.html lacks the approval")
	}
}
