package provenance

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strings"
	"sync"

	"github.com/sigstore/sigstore-go/pkg/bundle"

	"github.com/maestro-conductor/releasegate/internal/fsx"
)

// Artifact is one file to verify.
type Artifact struct {
	// Name is how results name it (the path as given, or the checksums
	// file's entry).
	Name string
	// Path is where it is read from.
	Path string
	// Checksum, when set, is the sha256 a checksums file lists for it; the
	// file must hash to it.
	Checksum string
}

// ExpandArtifacts resolves paths and glob patterns (relative to dir) and
// the entries of sha256sum-format checksums files into a sorted,
// de-duplicated list. A pattern matching nothing is an error: a missing
// artifact is never a pass.
func ExpandArtifacts(dir string, patterns, checksumFiles []string) ([]Artifact, error) {
	seen := map[string]bool{}
	var out []Artifact
	add := func(a Artifact) {
		if !seen[a.Path] {
			seen[a.Path] = true
			out = append(out, a)
		}
	}
	for _, p := range patterns {
		full := resolve(dir, p)
		matches, err := filepath.Glob(full)
		if err != nil {
			return nil, fmt.Errorf("artifact pattern %q: %w", p, err)
		}
		if len(matches) == 0 {
			return nil, fmt.Errorf("artifact %q: no such file; expected a path or a glob matching at least one file", p)
		}
		sort.Strings(matches)
		for _, m := range matches {
			if fi, err := os.Stat(m); err == nil && fi.Mode().IsRegular() {
				add(Artifact{Name: rel(dir, m), Path: m})
			}
		}
	}
	for _, c := range checksumFiles {
		arts, err := readChecksums(resolve(dir, c))
		if err != nil {
			return nil, err
		}
		for _, a := range arts {
			add(a)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no artifacts: expected at least one artifact path, glob or checksums entry")
	}
	return out, nil
}

var checksumLine = regexp.MustCompile(`^([0-9a-fA-F]{64}) [ *](.+)$`)

// readChecksums parses a sha256sum file ("<hex>  <name>" or "<hex> *<name>"
// per line); names are relative to the file's directory.
func readChecksums(path string) ([]Artifact, error) {
	data, err := fsx.ReadFile(context.Background(), path, fsx.MaxDocSize)
	if err != nil {
		return nil, err
	}
	return parseChecksums(bytes.NewReader(data), filepath.Dir(path), path)
}

func parseChecksums(r io.Reader, dir, name string) ([]Artifact, error) {
	var out []Artifact
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimRight(sc.Text(), "\r")
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
			continue
		}
		m := checksumLine.FindStringSubmatch(line)
		if m == nil {
			return nil, fmt.Errorf("%s:%d: expected \"<sha256 hex>  <file>\" (sha256sum format), got %q", name, n, line)
		}
		file := m[2]
		if c := filepath.Clean(file); filepath.IsAbs(file) || c == "." || c == ".." || strings.HasPrefix(c, "../") {
			return nil, fmt.Errorf("%s:%d: %q: expected a path inside the checksums file's directory", name, n, file)
		}
		out = append(out, Artifact{Name: file, Path: filepath.Join(dir, file), Checksum: strings.ToLower(m[1])})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no entries; expected sha256sum lines", name)
	}
	return out, nil
}

// HashFile returns the sha256 of a file as lowercase hex, streaming.
func HashFile(path string) (string, error) {
	f, err := fsx.Open(path) // any size, but a regular file: never a device or FIFO
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("hashing %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// provenanceSuffixes are where a provenance is looked for next to an
// artifact when none is given.
var provenanceSuffixes = []string{".intoto.jsonl", ".build.slsa", ".sigstore.json", ".sigstore", ".bundle"}

// findProvenance returns the provenance file next to an artifact.
func findProvenance(artifactPath string) (string, error) {
	for _, s := range provenanceSuffixes {
		if fi, err := os.Stat(artifactPath + s); err == nil && fi.Mode().IsRegular() {
			return artifactPath + s, nil
		}
	}
	return "", fmt.Errorf("no provenance next to %s: expected one of %s beside it, or pass the provenance file", artifactPath, strings.Join(provenanceSuffixes, ", "))
}

// ArtifactResult is the outcome for one artifact.
type ArtifactResult struct {
	Artifact
	// SHA256 is the digest of the file as read.
	SHA256 string
	// Provenance is the bundle file used.
	Provenance string
	// Attestation is set when verification passed.
	Attestation *Attestation
	// Err says why verification failed.
	Err error
}

// Batch verifies many artifacts against SLSA provenance concurrently,
// parsing each provenance file once.
type Batch struct {
	Verifier *Verifier
	Policy   Policy
	// Provenance, when set, is the one provenance file for every artifact;
	// otherwise each artifact's is found with FindProvenance.
	Provenance string
	// Concurrency bounds the parallel verifications; 0 means GOMAXPROCS.
	Concurrency int

	mu    sync.Mutex
	cache map[string]*bundleSet
}

type bundleSet struct {
	once    sync.Once
	bundles []*bundle.Bundle
	err     error
}

// Run verifies every artifact and returns one result each, in order.
func (b *Batch) Run(ctx context.Context, arts []Artifact) []ArtifactResult {
	out := make([]ArtifactResult, len(arts))
	n := b.Concurrency
	if n <= 0 {
		n = runtime.GOMAXPROCS(0)
	}
	sem := make(chan struct{}, n)
	var wg sync.WaitGroup
	for i, a := range arts {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			out[i] = b.one(ctx, a)
		}()
	}
	wg.Wait()
	return out
}

func (b *Batch) one(ctx context.Context, a Artifact) ArtifactResult {
	r := ArtifactResult{Artifact: a}
	if err := ctx.Err(); err != nil {
		r.Err = err
		return r
	}
	sum, err := HashFile(a.Path)
	if err != nil {
		r.Err = err
		return r
	}
	r.SHA256 = sum
	if a.Checksum != "" && a.Checksum != sum {
		r.Err = &MismatchError{Kind: ErrMismatchSubject, What: "checksum", Expected: "sha256:" + a.Checksum + " (checksums file)", Got: "sha256:" + sum,
			Hint: "the file changed after the checksums were written"}
		return r
	}
	r.Provenance = b.Provenance
	if r.Provenance == "" {
		if r.Provenance, err = findProvenance(a.Path); err != nil {
			r.Err = err
			return r
		}
	}
	bundles, err := b.bundles(r.Provenance)
	if err != nil {
		r.Err = err
		return r
	}
	// A JSON Lines file may hold bundles for other artifacts: use the one
	// whose statement names this digest, else report the first failure.
	var firstErr error
	for _, bd := range bundles {
		att, err := b.Verifier.VerifyProvenance(bd, sum, b.Policy)
		if err == nil {
			r.Attestation = att
			return r
		}
		if firstErr == nil || (isSubjectMismatch(firstErr) && !isSubjectMismatch(err)) {
			firstErr = err
		}
	}
	r.Err = firstErr
	return r
}

func isSubjectMismatch(err error) bool {
	return errors.Is(err, ErrMismatchSubject)
}

func (b *Batch) bundles(path string) ([]*bundle.Bundle, error) {
	b.mu.Lock()
	if b.cache == nil {
		b.cache = map[string]*bundleSet{}
	}
	s, ok := b.cache[path]
	if !ok {
		s = &bundleSet{}
		b.cache[path] = s
	}
	b.mu.Unlock()
	s.once.Do(func() {
		data, err := fsx.ReadFile(context.Background(), path, fsx.MaxDocSize)
		if err != nil {
			s.err = err
			return
		}
		s.bundles, s.err = ParseBundles(data)
		if s.err != nil {
			s.err = fmt.Errorf("%s: %w", path, s.err)
		}
	})
	return s.bundles, s.err
}

func resolve(dir, p string) string {
	if filepath.IsAbs(p) || dir == "" {
		return p
	}
	return filepath.Join(dir, p)
}

func rel(dir, p string) string {
	if dir == "" {
		return p
	}
	if r, err := filepath.Rel(dir, p); err == nil && !strings.HasPrefix(r, "..") {
		return r
	}
	return p
}
