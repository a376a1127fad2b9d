package vuln

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"slices"

	"github.com/maestro-conductor/releasegate/internal/fsx"
)

// ErrMalformed means a report or VEX document is not what its format
// says: not JSON, truncated, a SARIF log without runs, a finding without an
// id. Match it with errors.Is; a *ParseError says where.
var ErrMalformed = errors.New("malformed report")

// ErrFormat means the format of a report could not be told from its first
// key, or is not one of Formats.
var ErrFormat = errors.New("unknown report format")

// ParseError is a malformed report, with the position of the fault when
// known (Line 0 when not).
type ParseError struct {
	// Format is the format the report was read as.
	Format Format
	// Offset is the byte offset of the fault; Line and Column are 1-based.
	Offset int64
	Line   int
	Column int
	// Err says what is wrong.
	Err error
}

func (e *ParseError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%d:%d: %s: %v", e.Line, e.Column, e.Format, e.Err)
	}
	return fmt.Sprintf("%s: %v", e.Format, e.Err)
}

// Unwrap returns the cause.
func (e *ParseError) Unwrap() error { return e.Err }

// Is makes every ParseError match ErrMalformed.
func (e *ParseError) Is(target error) bool { return target == ErrMalformed }

// malformed builds a ParseError at a byte offset (-1: unknown).
func malformed(f Format, offset int64, format string, args ...any) *ParseError {
	return &ParseError{Format: f, Offset: offset, Err: fmt.Errorf(format, args...)}
}

// jsonError turns a decoding error into a ParseError at its offset: a
// syntax error where it is, a truncated document at its end.
func jsonError(f Format, dec *json.Decoder, err error) error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return malformed(f, max(se.Offset-1, 0), "not valid JSON: %v", se)
	case errors.As(err, &te):
		return malformed(f, te.Offset, "%s holds a JSON %s, expected %s", te.Field, te.Value, te.Type)
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		off := int64(-1)
		if dec != nil {
			off = dec.InputOffset()
		}
		return malformed(f, off, "truncated: the JSON ends before the document does")
	}
	var tl *fsx.TooLargeError
	if errors.As(err, &tl) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return malformed(f, -1, "%v", err)
}

// File is a report file read from disk: its parsed content, its SHA-256
// and its size.
type File struct {
	Report *Report
	SHA256 string
	Size   int64
}

// ParseFile reads the report at path, at most limit bytes, as format (""
// detects it from the top-level keys). SARIF is decoded as a stream. A fault
// is a *ParseError with its line and column; a file over limit is a
// *fsx.TooLargeError.
func ParseFile(ctx context.Context, path string, format Format, limit int64) (*File, error) {
	f, err := fsx.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	h := sha256.New()
	cr := &countingReader{r: fsx.NewReader(ctx, f), limit: limit, h: h}
	br := bufio.NewReaderSize(cr, 64<<10)
	if format == "" {
		head, _ := br.Peek(16 << 10)
		if format, err = Detect(head); err != nil {
			return nil, err
		}
	}
	rep, err := Parse(br, format)
	if err == nil {
		// Hash what the decoder did not need to read: trailing space.
		_, err = io.Copy(io.Discard, br)
	}
	if err != nil {
		var pe *ParseError
		if errors.As(err, &pe) && pe.Offset >= 0 {
			pe.Line, pe.Column = position(path, pe.Offset)
		}
		return nil, err
	}
	return &File{Report: rep, SHA256: hex.EncodeToString(h.Sum(nil)), Size: cr.n}, nil
}

// countingReader hashes and counts what it reads and fails past limit.
type countingReader struct {
	r     io.Reader
	n     int64
	limit int64
	h     hash.Hash
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	c.h.Write(p[:n])
	if c.limit > 0 && c.n > c.limit {
		return n, &fsx.TooLargeError{Limit: c.limit}
	}
	return n, err
}

// position turns a byte offset of the file at path into the 1-based line
// and column of the first byte at or after it that is not white space or
// a JSON separator: the start of the value at fault (0, 0 when the file
// cannot be read again).
func position(path string, offset int64) (line, col int) {
	f, err := fsx.Open(path)
	if err != nil {
		return 0, 0
	}
	defer f.Close()
	line, col = 1, 1
	br := bufio.NewReader(f)
	for i := int64(0); ; i++ {
		b, err := br.ReadByte()
		if err != nil || (i >= offset && !bytes.ContainsRune([]byte(" \t\r\n:,"), rune(b))) {
			return line, col
		}
		if b == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
}

// Parse reads one report of format from r.
func Parse(r io.Reader, format Format) (*Report, error) {
	switch format {
	case FormatSARIF:
		return parseSARIF(r)
	case FormatGrype:
		return parseGrype(r)
	case FormatTrivy:
		return parseTrivy(r)
	case FormatOSV:
		return parseOSV(r)
	case FormatGovulncheck:
		return parseGovulncheck(r)
	}
	return nil, fmt.Errorf("%w %q: expected one of %v", ErrFormat, format, Formats)
}

// Detect tells a report's format from the top-level keys of its (first)
// JSON object found in head, in any order (a report passed through jq
// --sort-keys keeps its keys): SARIF logs have runs, version or
// $schema; Grype matches; Trivy SchemaVersion, ArtifactName or Results;
// OSV-Scanner results; govulncheck streams objects keyed config,
// progress, osv or finding.
func Detect(head []byte) (Format, error) {
	keys, err := topKeys(head)
	if err != nil {
		return "", err
	}
	switch {
	case keys["runs"] || keys["version"] || keys["$schema"] || keys["inlineExternalProperties"]:
		return FormatSARIF, nil
	case keys["matches"]:
		return FormatGrype, nil
	case keys["SchemaVersion"] || keys["ArtifactName"] || keys["Results"]:
		return FormatTrivy, nil
	case keys["results"]:
		return FormatOSV, nil
	case keys["config"] || keys["progress"] || keys["osv"] || keys["finding"]:
		return FormatGovulncheck, nil
	}
	var seen []string
	for k := range keys {
		seen = append(seen, k)
	}
	slices.Sort(seen)
	return "", fmt.Errorf("%w: the top-level keys %v are not those of a SARIF, Grype, Trivy, OSV-Scanner or govulncheck JSON report", ErrFormat, seen)
}

// topKeys returns the keys of the first JSON object in head, as far as
// head goes.
func topKeys(head []byte) (map[string]bool, error) {
	dec := json.NewDecoder(bytes.NewReader(head))
	tok, err := dec.Token()
	if err != nil || tok != json.Delim('{') {
		return nil, fmt.Errorf("%w: expected a JSON object", ErrFormat)
	}
	keys := map[string]bool{}
	depth := 1
	expectKey := true
	for depth > 0 {
		tok, err := dec.Token()
		if err != nil {
			break // the end of head, or not JSON: judge by the keys seen
		}
		switch t := tok.(type) {
		case json.Delim:
			switch t {
			case '{', '[':
				depth++
			default:
				depth--
			}
			if depth == 1 {
				expectKey = true
			}
			continue
		case string:
			if depth == 1 && expectKey {
				keys[t] = true
				expectKey = false
				continue
			}
		}
		if depth == 1 {
			expectKey = true
		}
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("%w: expected a JSON object with keys", ErrFormat)
	}
	return keys, nil
}

// decodeAll decodes r into v, refusing trailing data.
func decodeAll(f Format, r io.Reader, v any) error {
	dec := json.NewDecoder(r)
	if err := dec.Decode(v); err != nil {
		return jsonError(f, dec, err)
	}
	end := dec.InputOffset()
	switch _, err := dec.Token(); {
	case err == io.EOF:
		return nil
	case err != nil:
		return jsonError(f, dec, err)
	}
	return malformed(f, end, "unexpected data after the JSON document")
}
