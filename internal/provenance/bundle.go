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
// Lines with one bundle per line (`.intoto.jsonl`), media types v0.1 to v0.3.
// A bare DSSE envelope without verification material is refused with a
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

func parseBundle(data []byte) (*bundle.Bundle, error) {
	var probe struct {
		MediaType   string          `json:"mediaType"`
		PayloadType string          `json:"payloadType"`
		Signatures  json.RawMessage `json:"signatures"`
	}
	if err := json.Unmarshal(data, &probe); err != nil {
		return nil, fmt.Errorf("%w: not JSON (%v); expected a Sigstore bundle", ErrMalformedBundle, err)
	}
	if probe.MediaType == "" {
		if probe.PayloadType != "" && probe.Signatures != nil {
			return nil, fmt.Errorf("%w: a bare DSSE envelope without certificate or transparency-log entry; "+
				"offline verification needs a Sigstore bundle (slsa-github-generator v1.10+ writes one), or use online verification", ErrMalformedBundle)
		}
		return nil, fmt.Errorf("%w: no mediaType; expected application/vnd.dev.sigstore.bundle…+json", ErrMalformedBundle)
	}
	var b bundle.Bundle
	if err := b.UnmarshalJSON(data); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrMalformedBundle, probe.MediaType, err)
	}
	return &b, nil
}
