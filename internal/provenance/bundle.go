package provenance

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/sigstore/sigstore-go/pkg/bundle"
)

// maxBundleSize bounds a provenance file; real ones are tens of KiB.
const maxBundleSize = 32 << 20

// ParseBundles reads every Sigstore bundle in data. It accepts one JSON
// bundle (pretty-printed or not; `.build.slsa`, `.sigstore.json`) or JSON
// Lines with one bundle per line (`.intoto.jsonl`), media types v0.1 to v0.3,
// and the blob bundle `cosign sign-blob --bundle` wrote before the Sigstore
// bundle format ({"base64Signature","cert","rekorBundle"}). A bare DSSE envelope without verification material is refused with a
// message: it cannot be verified offline.
func ParseBundles(data []byte) ([]*bundle.Bundle, error) {
	if len(data) > maxBundleSize {
		return nil, fmt.Errorf("%w: %d bytes, expected at most %d", ErrMalformedBundle, len(data), maxBundleSize)
	}
	data = bytes.TrimSpace(data)
	if len(data) == 0 {
		return nil, fmt.Errorf("%w: the file is empty; expected a Sigstore bundle", ErrMalformedBundle)
	}
	// A whole-file JSON value first: pretty-printed bundles span lines.
	if json.Valid(data) {
		b, err := parseBundle(data)
		if err != nil {
			return nil, err
		}
		return []*bundle.Bundle{b}, nil
	}
	var out []*bundle.Bundle
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64<<10), maxBundleSize)
	line := 0
	for sc.Scan() {
		line++
		l := bytes.TrimSpace(sc.Bytes())
		if len(l) == 0 {
			continue
		}
		b, err := parseBundle(l)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		out = append(out, b)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformedBundle, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: no bundle found; expected a Sigstore bundle", ErrMalformedBundle)
	}
	return out, nil
}

func parseBundle(data []byte) (b *bundle.Bundle, err error) {
	// sigstore-go and rekor parse log entries from outside input; a
	// panic there is a malformed bundle, not a crash of the gate.
	defer recoverAs(&err, ErrMalformedBundle)
	var probe struct {
		MediaType            string          `json:"mediaType"`
		Base64Signature      *string         `json:"base64Signature"`
		PayloadType          string          `json:"payloadType"`
		Signatures           json.RawMessage `json:"signatures"`
		VerificationMaterial struct {
			TlogEntries []struct {
				CanonicalizedBody []byte `json:"canonicalizedBody"`
			} `json:"tlogEntries"`
		} `json:"verificationMaterial"`
	}
	if err := json.Unmarshal(data, &probe); err != nil {
		if !json.Valid(data) {
			return nil, fmt.Errorf("%w: not JSON (%v); expected a Sigstore bundle", ErrMalformedBundle, err)
		}
		return nil, fmt.Errorf("%w: %v; expected a Sigstore bundle", ErrMalformedBundle, err)
	}
	for i, e := range probe.VerificationMaterial.TlogEntries {
		if err := checkRekorBody(e.CanonicalizedBody); err != nil {
			return nil, fmt.Errorf("%w: transparency-log entry %d: %v", ErrMalformedBundle, i, err)
		}
	}
	if probe.MediaType == "" && probe.Base64Signature != nil {
		return parseCosignBlobBundle(data)
	}
	if probe.MediaType == "" {
		if probe.PayloadType != "" && probe.Signatures != nil {
			return nil, fmt.Errorf("%w: a bare DSSE envelope without certificate or transparency-log entry; "+
				"offline verification needs a Sigstore bundle (slsa-github-generator v1.10+ writes one), or use online verification", ErrMalformedBundle)
		}
		return nil, fmt.Errorf("%w: no mediaType; expected application/vnd.dev.sigstore.bundle…+json", ErrMalformedBundle)
	}
	b = &bundle.Bundle{}
	if err := b.UnmarshalJSON(data); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrMalformedBundle, probe.MediaType, err)
	}
	return b, nil
}

// checkRekorBody refuses a log entry body that rekor's parser would crash
// on (rekor v1.3.6 dereferences a missing apiVersion): it must be a Rekor
// entry with a kind, an apiVersion and a spec object.
func checkRekorBody(body []byte) error {
	var e struct {
		Kind       string          `json:"kind"`
		APIVersion string          `json:"apiVersion"`
		Spec       json.RawMessage `json:"spec"`
	}
	if err := json.Unmarshal(body, &e); err != nil {
		return fmt.Errorf("body is not JSON (%v); expected a Rekor entry", err)
	}
	if e.Kind == "" || e.APIVersion == "" || len(e.Spec) == 0 || e.Spec[0] != '{' {
		return fmt.Errorf("body has kind %q, apiVersion %q; expected a Rekor entry with kind, apiVersion and a spec object", e.Kind, e.APIVersion)
	}
	return nil
}

// recoverAs turns a panic in third-party parsing or verification of
// outside input into an error wrapping kind.
func recoverAs(err *error, kind error) {
	if r := recover(); r != nil {
		*err = fmt.Errorf("%w: the Sigstore library failed on this input (%v); it is not a valid bundle", kind, r)
	}
}
