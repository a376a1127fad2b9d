package provenance

import (
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
)

func readJSON(t *testing.T, path string) map[string]any {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestDamagedBundlesFail derives broken bundles from the real ones; each
// must fail with the named error and never panic.
func TestDamagedBundlesFail(t *testing.T) {
	t.Parallel()
	v := realVerifier(t)
	generic, err := os.ReadFile(genericProv)
	if err != nil {
		t.Fatal(err)
	}
	genericSum, err := HashFile(genericArt)
	if err != nil {
		t.Fatal(err)
	}
	edit := func(f func(g, d map[string]any)) []byte {
		g, d := readJSON(t, genericProv), readJSON(t, delegatorProv)
		f(g, d)
		return mustJSON(t, g)
	}
	vm := func(m map[string]any) map[string]any { return m["verificationMaterial"].(map[string]any) }
	delegatorSum, err := HashFile(delegatorArt)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		data []byte
		want error
		sum  string // the artifact digest checked; default the generic one
	}{
		{"a truncated bundle", generic[:len(generic)/2], ErrMalformedBundle, ""},
		{"an empty file", nil, ErrMalformedBundle, ""},
		{"not JSON", []byte("<html>rate limited</html>"), ErrMalformedBundle, ""},
		{"a bare DSSE envelope", []byte(`{"payloadType":"application/vnd.in-toto+json","payload":"e30=","signatures":[{"sig":"AA=="}]}`), ErrMalformedBundle, ""},
		{"an unknown bundle media type", edit(func(g, _ map[string]any) { g["mediaType"] = "application/vnd.dev.sigstore.bundle.v0.9+json" }), ErrMalformedBundle, ""},
		{"a bundle with no transparency-log entry", edit(func(g, _ map[string]any) { delete(vm(g), "tlogEntries") }), ErrSignature, ""},
		{"a log entry that does not bind the signature", edit(func(g, d map[string]any) { vm(g)["tlogEntries"] = vm(d)["tlogEntries"] }), ErrSignature, ""},
		{"a certificate from another bundle", edit(func(g, d map[string]any) {
			chain := vm(d)["x509CertificateChain"].(map[string]any)["certificates"].([]any)
			vm(g)["certificate"] = chain[0]
		}), ErrSignature, ""},
		{"a payload of another statement, for its own artifact", edit(func(g, d map[string]any) {
			g["dsseEnvelope"].(map[string]any)["payload"] = d["dsseEnvelope"].(map[string]any)["payload"]
		}), ErrSignature, delegatorSum},
		{"a log entry body rekor cannot parse (no apiVersion: a panic in rekor v1.3.6)", edit(func(g, _ map[string]any) {
			vm(g)["tlogEntries"].([]any)[0].(map[string]any)["canonicalizedBody"] = "eyJraW5kIjoiaGFzaGVkcmVrb3JkIn0=" // {"kind":"hashedrekord"}
		}), ErrMalformedBundle, ""},
		{"a DSSE payload type other than in-toto", edit(func(g, _ map[string]any) {
			g["dsseEnvelope"].(map[string]any)["payloadType"] = "text/plain"
		}), ErrMalformedBundle, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sum := tc.sum
			if sum == "" {
				sum = genericSum
			}
			bundles, err := ParseBundles(tc.data)
			if err == nil {
				_, err = v.VerifyProvenance(bundles[0], sum, Policy{SourceURI: exampleRepo})
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("error = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestParseBundlesJSONLines(t *testing.T) {
	t.Parallel()
	g, err := os.ReadFile(genericProv)
	if err != nil {
		t.Fatal(err)
	}
	d, err := os.ReadFile(delegatorProv)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.TrimSpace(string(g)) + "\n\n" + strings.TrimSpace(string(d)) + "\n"
	bundles, err := ParseBundles([]byte(lines))
	if err != nil {
		t.Fatal(err)
	}
	if len(bundles) != 2 {
		t.Fatalf("got %d bundles, want 2", len(bundles))
	}
	// Both artifacts verify against the one two-line file.
	dir := t.TempDir()
	prov := dir + "/both.intoto.jsonl"
	if err := os.WriteFile(prov, []byte(lines), 0o644); err != nil {
		t.Fatal(err)
	}
	b := &Batch{Verifier: realVerifier(t), Provenance: prov,
		Policy: Policy{SourceURI: exampleRepo, SourceTag: "v14", BuilderIDs: []string{trwBuilder, GeneratorBuilders[0]}}}
	for _, r := range b.Run(t.Context(), []Artifact{{Name: "g", Path: genericArt}, {Name: "d", Path: delegatorArt}}) {
		if r.Err != nil {
			t.Errorf("%s: %v", r.Name, r.Err)
		}
	}
	if _, err := ParseBundles([]byte(strings.TrimSpace(string(g)) + "\n{oops\n")); err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Fatalf("err = %v, want one naming line 2", err)
	}
}

func TestParseStatement(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, json string
		want       string
	}{
		{"no subjects", `{"_type":"https://in-toto.io/Statement/v1","subject":[]}`, "no subjects"},
		{"a subject without digest", `{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"a"}]}`, "no digest"},
		{"not a statement", `{"_type":"x","subject":[{"name":"a","digest":{"sha256":"00"}}]}`, "_type"},
		{"not JSON", `{`, "not JSON"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := parseStatement([]byte(tc.json))
			if !errors.Is(err, ErrMalformedBundle) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want ErrMalformedBundle naming %q", err, tc.want)
			}
		})
	}
	st, err := parseStatement([]byte(`{"_type":"https://in-toto.io/Statement/v1","predicateType":"https://example.com/x","subject":[{"name":"a","digest":{"sha256":"00"}}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.SLSA(); !errors.Is(err, ErrMalformedBundle) {
		t.Fatalf("unknown predicate type: err = %v", err)
	}
}

func FuzzParseBundles(f *testing.F) {
	for _, p := range []string{genericProv, delegatorProv} {
		if data, err := os.ReadFile(p); err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte(`{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json"}`))
	f.Add([]byte("{}\n{}\n"))
	// cosign's blob bundle before the Sigstore bundle format
	f.Add([]byte(`{"base64Signature":"MEUCIQ==","cert":"","rekorBundle":{"SignedEntryTimestamp":"MEUCIQ==","Payload":{"body":"eyJhcGlWZXJzaW9uIjoiMC4wLjEiLCJraW5kIjoiaGFzaGVkcmVrb3JkIiwic3BlYyI6eyJkYXRhIjp7Imhhc2giOnsiYWxnb3JpdGhtIjoic2hhMjU2IiwidmFsdWUiOiIwMCJ9fX19","integratedTime":1,"logIndex":1,"logID":"00"}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		bundles, err := ParseBundles(data)
		if err == nil && len(bundles) == 0 {
			t.Fatal("no error and no bundles")
		}
		if err != nil && !errors.Is(err, ErrMalformedBundle) {
			t.Fatalf("error %v does not wrap ErrMalformedBundle", err)
		}
	})
}

func FuzzStatementSLSA(f *testing.F) {
	for _, p := range []string{genericProv, delegatorProv} {
		m := map[string]any{}
		if data, err := os.ReadFile(p); err == nil && json.Unmarshal(data, &m) == nil {
			if payload, err := statementPayloadFromMap(m); err == nil {
				f.Add(payload)
			}
		}
	}
	f.Add([]byte(`{"_type":"https://in-toto.io/Statement/v1","predicateType":"https://slsa.dev/provenance/v1","subject":[{"digest":{"sha256":"00"}}],"predicate":null}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		st, err := parseStatement(data)
		if err != nil {
			return
		}
		p, err := st.SLSA()
		if err == nil && p.BuilderID == "" {
			t.Fatal("provenance without builder id accepted")
		}
		_ = Policy{SourceURI: "github.com/a/b", SourceVersionedTag: "v1"}.checkRef(p.refOrEmpty())
	})
}

func (p *Provenance) refOrEmpty() string {
	if p == nil {
		return ""
	}
	return p.Ref
}

func statementPayloadFromMap(m map[string]any) ([]byte, error) {
	env, ok := m["dsseEnvelope"].(map[string]any)
	if !ok {
		return nil, errors.New("no envelope")
	}
	s, _ := env["payload"].(string)
	return base64Decode(s)
}
