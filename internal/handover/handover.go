// Package handover is how the jobs of the reusable release workflow hand
// their results to each other: as artifacts whose SHA-256 digest travels
// separately (in a job output, and in the artifact's name), checked by the
// job that downloads them before anything reads them.
//
// A directory's digest is the SHA-256 of its manifest: one line
// "<hex sha256 of the file>  <slash-separated relative path>\n" per regular
// file, sorted by path. It is the same whatever order the files were
// written in and whatever the modes or times, so an artifact that went
// through upload and download keeps its digest.
//
// It also plans the matrix of the workflow's middle stage: the groups that
// run after provenance and before cost, the synthetic group split into a
// bounded number of shards.
package handover

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Errors callers match with errors.Is.
var (
	// errMissing: the artifact's directory is not there or holds no file.
	errMissing = errors.New("artifact missing")
	// errDigest: the artifact's content does not have the digest it was handed over with.
	errDigest = errors.New("artifact digest mismatch")
	// errName: an artifact name or digest is not in the form this package writes.
	errName = errors.New("malformed artifact name or digest")
	// errShards: a shard count outside the bounds, or shards missing or twice.
	errShards = errors.New("bad shards")
)

// MaxShards bounds the synthetic matrix: GitHub runs at most 256 legs per
// matrix, and a shard per runner beyond this is a load test, not a gate.
const MaxShards = 64

// digestPrefix is the algorithm prefix of every digest.
const digestPrefix = "sha256:"

// nameSep separates an artifact's base name from its digest in the name.
const nameSep = ".sha256-"

// DigestDir returns the digest ("sha256:<hex>") of the regular files under
// dir. A directory without files is ErrMissing: an artifact always holds
// something.
func DigestDir(dir string) (string, error) {
	var lines []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.Type().IsRegular() {
			return nil
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		sum, err := fileSHA256(p)
		if err != nil {
			return err
		}
		lines = append(lines, sum+"  "+filepath.ToSlash(rel)+"\n")
		return nil
	})
	if errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("%s: %w: expected a downloaded artifact directory, found none", dir, errMissing)
	}
	if err != nil {
		return "", err
	}
	if len(lines) == 0 {
		return "", fmt.Errorf("%s: %w: expected files, found an empty directory", dir, errMissing)
	}
	slices.SortFunc(lines, func(a, b string) int { return strings.Compare(a[66:], b[66:]) })
	h := sha256.New()
	for _, l := range lines {
		io.WriteString(h, l)
	}
	return digestPrefix + hex.EncodeToString(h.Sum(nil)), nil
}

func fileSHA256(p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// baseName is what an artifact's base name may hold: GitHub refuses some
// characters in artifact names, and the name becomes a directory.
var baseName = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]*$`)

// hexDigest is a SHA-256 in hex.
var hexDigest = regexp.MustCompile(`^[0-9a-f]{64}$`)

// Name is the artifact name for base and digest: base.sha256-<hex>. The
// digest in the name lets a job check an artifact of a matrix leg, whose
// outputs GitHub does not keep apart.
func Name(base, digest string) (string, error) {
	h, err := digestHex(digest)
	if err != nil {
		return "", err
	}
	if !baseName.MatchString(base) {
		return "", fmt.Errorf("%w: base name %q: expected lowercase letters, digits, '.', '_' and '-'", errName, base)
	}
	return base + nameSep + h, nil
}

// ParseName splits an artifact name written by Name into its base and digest.
func ParseName(name string) (base, digest string, err error) {
	i := strings.LastIndex(name, nameSep)
	if i <= 0 || !hexDigest.MatchString(name[i+len(nameSep):]) {
		return "", "", fmt.Errorf("%w: %q: expected BASE%s<64 hex digits>", errName, name, nameSep)
	}
	return name[:i], digestPrefix + name[i+len(nameSep):], nil
}

func digestHex(digest string) (string, error) {
	h, ok := strings.CutPrefix(digest, digestPrefix)
	if !ok || !hexDigest.MatchString(h) {
		return "", fmt.Errorf("%w: digest %q: expected sha256:<64 hex digits>", errName, digest)
	}
	return h, nil
}

// Verify checks that dir holds the artifact name with the digest it was
// handed over with; an empty digest takes the one in the name. The digest
// in the name and the given one must agree.
func Verify(dir, name, digest string) error {
	_, inName, err := ParseName(name)
	if err != nil {
		return err
	}
	if digest == "" {
		digest = inName
	}
	if _, err := digestHex(digest); err != nil {
		return err
	}
	if digest != inName {
		return fmt.Errorf("artifact %s: %w: its name says %s, the job output says %s; it is not the artifact the job handed over", name, errDigest, inName, digest)
	}
	got, err := DigestDir(dir)
	if err != nil {
		return fmt.Errorf("artifact %s: %w", name, err)
	}
	if got != digest {
		return fmt.Errorf("artifact %s: %w: expected %s, found %s; it changed between upload and download, refusing to read it", name, errDigest, digest, got)
	}
	return nil
}

// Leg is one leg of the middle stage's matrix: a whole group, or one shard
// of the synthetic group ("I/N").
type Leg struct {
	Group string `json:"group"`
	Shard string `json:"shard"`
}

// Base is the artifact base name of the leg's results.
func (l Leg) Base() string {
	if l.Shard == "" {
		return "releasegate-result-" + l.Group
	}
	i, n, _ := strings.Cut(l.Shard, "/")
	return "releasegate-result-" + l.Group + "-" + i + "-of-" + n
}

// Matrix is a GitHub Actions strategy.matrix of legs.
type Matrix struct {
	Include []Leg `json:"include"`
}

// Plan builds the middle stage's matrix: each group once, and sharded
// split into shards legs. shards must be 1..MaxShards.
func Plan(groups []string, sharded string, shards int) (Matrix, error) {
	if shards < 1 || shards > MaxShards {
		return Matrix{}, fmt.Errorf("%w: shards %d: expected 1 to %d (one runner each); a larger load needs fewer, bigger shards", errShards, shards, MaxShards)
	}
	var m Matrix
	for _, g := range groups {
		if g != sharded {
			m.Include = append(m.Include, Leg{Group: g})
			continue
		}
		for i := 1; i <= shards; i++ {
			m.Include = append(m.Include, Leg{Group: g, Shard: strconv.Itoa(i) + "/" + strconv.Itoa(shards)})
		}
	}
	return m, nil
}

// Found is an artifact a leg uploaded, verified.
type Found struct {
	Leg
	// Name is the artifact's name, Dir where it was downloaded.
	Name, Dir string
}

// Collect finds, under root (one directory per downloaded artifact, named
// as the artifact), exactly one artifact per leg of m and verifies each
// against the digest in its name. Every problem is reported, not only the
// first: a missing shard, a shard twice, a digest that does not match.
// Directories of other artifacts are ignored.
func Collect(root string, m Matrix) ([]Found, error) {
	entries, err := os.ReadDir(root)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	byBase := map[string][]string{}
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		if base, _, err := ParseName(e.Name()); err == nil {
			byBase[base] = append(byBase[base], e.Name())
		}
	}
	var out []Found
	var errs []error
	for _, l := range m.Include {
		names := byBase[l.Base()]
		switch {
		case len(names) == 0:
			what := "group " + l.Group
			if l.Shard != "" {
				what = "shard " + l.Shard + " of group " + l.Group
			}
			errs = append(errs, fmt.Errorf("%s: %w: expected an artifact %s%s<digest>, found none; its job did not run or uploaded nothing", what, errMissing, l.Base(), nameSep))
			continue
		case len(names) > 1:
			errs = append(errs, fmt.Errorf("%s: %w: expected one artifact, found %d (%s); re-run the whole workflow", l.Base(), errShards, len(names), strings.Join(names, ", ")))
			continue
		}
		dir := filepath.Join(root, names[0])
		if err := Verify(dir, names[0], ""); err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, Found{Leg: l, Name: names[0], Dir: dir})
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return out, nil
}
