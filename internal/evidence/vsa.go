package evidence

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/maestro-conductor/releasegate/internal/gate"
)

// The VSA fields are filled from what was verified, never from what was
// merely handed in (docs/evidence.md, "The VSA, field by field"):
//
//   - verifiedLevels: the SLSA build level the provenance gates verified,
//     plus the levels the caller declares (--verified-level); a declared
//     SLSA level above the one the gates verified is refused;
//   - inputAttestations: attestations only (the --attestation files and the
//     provenance, bundle, signature and checkpoint inputs of the gates),
//     each with its digest, named by a fetchable URI or by its name;
//   - resourceUri: the released thing (a purl of the policy's release);
//   - policy.uri: the policy at its commit in its repository.

// ManifestField is the VSA extension field (the spec allows producers
// extension fields whose names are URIs) that carries the digest of the
// evidence manifest, which lists the digest of every file in the evidence
// tarball. Releases before it listed the manifest among inputAttestations;
// Verify accepts both.
const ManifestField = "https://github.com/maestro-conductor/releasegate/evidence-manifest/v1"

// Level prefixes and values of the SLSA SlsaResult enumeration.
const (
	levelPrefix      = "SLSA_"
	buildLevelPrefix = "SLSA_BUILD_LEVEL_"
	// BuildLevel0 is written when the release passed but nothing verified
	// build provenance: a true statement (SLSA Build L0 means "no
	// guarantees") instead of an empty list next to PASSED.
	BuildLevel0 = buildLevelPrefix + "0"
)

// ErrLevel: a declared verified level is malformed, or claims more than the
// gate results verified.
var ErrLevel = errors.New("verified level mismatch")

// Well-known builders and the SLSA build level their verified provenance
// gives. slsa-github-generator's reusable workflows (…_slsa3.yml) run
// isolated builds (Build L3); GitHub artifact attestations from
// actions/attest-build-provenance are Build L2 (signed provenance from a
// hosted platform) unless made in a reusable workflow, which the builder id
// alone does not tell. Any other verified, signed provenance is Build L1:
// provenance exists and names its builder.
func builderLevel(builderID string) int {
	switch {
	case strings.HasPrefix(builderID, "https://github.com/slsa-framework/slsa-github-generator/.github/workflows/") &&
		strings.Contains(builderID, "_slsa3.yml@"):
		return 3
	case strings.HasPrefix(builderID, "https://github.com/") && strings.Contains(builderID, "/.github/workflows/"):
		return 2
	}
	return 1
}

// ResultLevels returns the SLSA build level the passing provenance gates
// verified, or -1 when no gate verified build provenance. A gate reports
// its level in Details["slsa_build_level"] (a number); otherwise every
// passing "slsa <artifact>" check counts at its builder's level
// (builderLevel). The release's level is the lowest over its artifacts: a
// release is only as strong as its weakest artifact, and one failing
// check gives no level at all.
func ResultLevels(results []gate.Result) int {
	level := -1
	for _, r := range results {
		if r.Kind != "provenance" {
			continue
		}
		if r.Status != gate.StatusPass && r.Status != gate.StatusWarn {
			continue
		}
		if v, ok := detailLevel(r.Details["slsa_build_level"]); ok {
			level = minLevel(level, v)
			continue
		}
		for _, c := range r.Checks {
			if !strings.HasPrefix(c.Name, "slsa ") {
				continue
			}
			if c.Status != gate.StatusPass {
				return -1
			}
			level = minLevel(level, builderLevel(c.Observed.String()))
		}
	}
	return level
}

func detailLevel(v any) (int, bool) {
	switch n := v.(type) {
	case int:
		return n, n >= 0 && n <= 4
	case float64:
		return int(n), n >= 0 && n <= 4 && n == float64(int(n))
	}
	return 0, false
}

func minLevel(cur, v int) int {
	if cur < 0 || v < cur {
		return v
	}
	return cur
}

// VerifiedLevels returns the VSA verifiedLevels of a release: on FAILED
// exactly ["FAILED"]; on PASSED the highest verified level of each track,
// one per track as the spec requires. The SLSA build track comes from the
// results (ResultLevels); declared levels add custom values (anything not
// starting with SLSA_) and SLSA levels of tracks the results say nothing
// about, or at or below the verified level. A declared SLSA level above
// what the results verified, or malformed, is ErrLevel. When nothing
// supports a build level, SLSA_BUILD_LEVEL_0 is written, so PASSED never
// comes with an empty list.
func VerifiedLevels(result string, results []gate.Result, declared []string) ([]string, error) {
	tracks := map[string]int{}
	var custom []string
	verified := ResultLevels(results)
	for _, d := range declared {
		if !strings.HasPrefix(d, levelPrefix) {
			if d == "" || d == ResultFailed {
				return nil, fmt.Errorf("%w: --verified-level %q; expected SLSA_<TRACK>_LEVEL_<n> or a custom value", ErrLevel, d)
			}
			custom = append(custom, d)
			continue
		}
		track, n, err := parseLevel(d)
		if err != nil {
			return nil, err
		}
		if track == "BUILD" && verified >= 0 && n > verified {
			return nil, fmt.Errorf("%w: --verified-level %s, but the provenance gates verified SLSA_BUILD_LEVEL_%d; declare at most that level or verify provenance from a builder that gives %s", ErrLevel, d, verified, d)
		}
		if cur, ok := tracks[track]; !ok || n > cur {
			tracks[track] = n
		}
	}
	if result != ResultPassed {
		return []string{ResultFailed}, nil
	}
	if verified >= 0 {
		if cur, ok := tracks["BUILD"]; !ok || verified > cur {
			tracks["BUILD"] = verified
		}
	}
	if _, ok := tracks["BUILD"]; !ok {
		tracks["BUILD"] = 0
	}
	var out []string
	for t, n := range tracks {
		out = append(out, levelPrefix+t+"_LEVEL_"+strconv.Itoa(n))
	}
	sort.Strings(custom)
	sort.Strings(out)
	return append(out, slices.Compact(custom)...), nil
}

// parseLevel splits SLSA_<TRACK>_LEVEL_<n>.
func parseLevel(s string) (string, int, error) {
	rest := strings.TrimPrefix(s, levelPrefix)
	track, num, ok := strings.Cut(rest, "_LEVEL_")
	n, err := strconv.Atoi(num)
	if !ok || track == "" || strings.ContainsAny(track, "_ ") || err != nil || n < 0 || n > 4 || strconv.Itoa(n) != num {
		return "", 0, fmt.Errorf("%w: %q is not SLSA_<TRACK>_LEVEL_<n> (e.g. SLSA_BUILD_LEVEL_3); values starting with SLSA_ are reserved by the spec", ErrLevel, s)
	}
	return track, n, nil
}

// attestationInput reports whether a gate input is an attestation: the
// provenance gate names them "provenance <file>", and gates that verify
// signature bundles or ledger checkpoints name them "bundle …",
// "signature …", "attestation …" or "checkpoint …".
func attestationInput(in gate.Input) bool {
	for _, p := range []string{"provenance ", "bundle ", "signature ", "attestation ", "checkpoint "} {
		if strings.HasPrefix(in.Name, p) {
			return true
		}
	}
	return false
}

// fetchableURI returns u when it can name an attestation for anyone who
// reads the VSA: an https, oci or purl URI whose host is not loopback,
// link-local, private or unspecified. Local paths and file: URIs say
// nothing outside the machine that made the evidence.
func fetchableURI(u string) string {
	if strings.HasPrefix(u, "pkg:") {
		return u
	}
	p, err := url.Parse(u)
	if err != nil || (p.Scheme != "https" && p.Scheme != "oci") || p.Host == "" || p.User != nil {
		return ""
	}
	host := p.Hostname()
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return ""
	}
	if ip := net.ParseIP(host); ip != nil && (ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsUnspecified()) {
		return ""
	}
	return u
}

// inputAttestations lists the attestations the verification used, each once
// (by digest), with its digest: the --attestation files (by their path in
// the tarball) and the attestation inputs of the gates (by a fetchable URI
// when they have one, else by their base name).
func inputAttestations(attestations []Input, inputs []InputRef) []ResourceDescriptor {
	var out []ResourceDescriptor
	seen := map[string]bool{}
	add := func(rd ResourceDescriptor) {
		key := rd.Digest["sha256"]
		if key == "" || seen[key] {
			return
		}
		seen[key] = true
		out = append(out, rd)
	}
	for _, a := range attestations {
		add(ResourceDescriptor{Name: "attestations/" + a.Name, Digest: digestMap(Digest(a.Data))})
	}
	for _, in := range inputs {
		if !attestationInput(gate.Input{Name: in.Name}) {
			continue
		}
		dm := digestMap(in.Digest)
		if dm == nil || len(dm["sha256"]) != 64 {
			continue
		}
		rd := ResourceDescriptor{URI: fetchableURI(in.URI), Digest: dm}
		if rd.URI == "" {
			kind, name, _ := strings.Cut(in.Name, " ")
			rd.Name = kind + " " + path.Base(strings.ReplaceAll(name, "\\", "/"))
		}
		add(rd)
	}
	if out == nil {
		out = []ResourceDescriptor{}
	}
	return out
}

// ReleasePURL is the package URL of a release on GitHub:
// pkg:github/OWNER/REPO@VERSION, with repository_url for a server other
// than github.com (GitHub Enterprise Server).
func ReleasePURL(serverURL, repository, version string) string {
	owner, repo, ok := strings.Cut(repository, "/")
	if !ok || owner == "" || repo == "" || strings.Contains(repo, "/") {
		return ""
	}
	u := "pkg:github/" + url.PathEscape(strings.ToLower(owner)) + "/" + url.PathEscape(strings.ToLower(repo)) + "@" + url.PathEscape(version)
	if s := strings.TrimSuffix(serverURL, "/"); s != "" && s != "https://github.com" {
		u += "?repository_url=" + url.QueryEscape(s)
	}
	return u
}

// resourceURI is --resource-uri, else the purl of the policy's release on
// its repository (GITHUB_REPOSITORY, else the policy's release.repository),
// else a generic purl of the release name and version.
func resourceURI(o Options) string {
	if o.ResourceURI != "" {
		return o.ResourceURI
	}
	server, repo := "", o.Repository
	if g := o.GitHub; g != nil {
		server = g.ServerURL
		if g.Repository != "" {
			repo = g.Repository
		}
	}
	if u := ReleasePURL(server, repo, o.Version); u != "" {
		return u
	}
	return "pkg:generic/" + url.PathEscape(firstNonEmpty(o.Release, "release")) + "@" + url.PathEscape(o.Version)
}

// policyURI is --policy-uri, else the policy file at the commit that was
// released (GITHUB_SERVER_URL/GITHUB_REPOSITORY/blob/GITHUB_SHA/<path>), when
// the path is relative to the repository; else the policy's copy inside the
// evidence tarball, or its path as the report names it.
func policyURI(o Options, pref PolicyRef) string {
	if o.PolicyURI != "" {
		return o.PolicyURI
	}
	p := strings.TrimPrefix(path.Clean(strings.ReplaceAll(pref.Path, "\\", "/")), "./")
	if g := o.GitHub; g != nil && g.Repository != "" && g.SHA != "" && pref.Path != "" && !path.IsAbs(p) && !strings.HasPrefix(p, "../") && p != ".." {
		server := strings.TrimSuffix(firstNonEmpty(g.ServerURL, "https://github.com"), "/")
		return server + "/" + g.Repository + "/blob/" + g.SHA + "/" + p
	}
	if pref.File != "" {
		return pref.File
	}
	if pref.Path == "" {
		return "unknown"
	}
	if path.IsAbs(p) || strings.HasPrefix(p, "../") || (len(p) > 1 && p[1] == ':') {
		return path.Base(p) // an absolute local path says nothing elsewhere
	}
	return p
}

// checkURI accepts an absolute URI (scheme and something after it).
func checkURI(flag, u string) error {
	if u == "" {
		return nil
	}
	p, err := url.Parse(u)
	if err != nil || p.Scheme == "" || (p.Opaque == "" && p.Host == "" && p.Path == "") {
		return &gate.InputError{Input: flag, Err: fmt.Errorf("%q: expected an absolute URI such as pkg:github/acme/app@v1.4.0 or https://…", u)}
	}
	return nil
}

// meetsLevels checks the VSA's verifiedLevels against the required ones as
// slsa-verifier verify-vsa --verified-level does: each required SLSA level
// needs a level of its track at least as high; any other value must be
// present exactly. A FAILED VSA meets none.
func meetsLevels(got, want []string) error {
	tracks := map[string]int{}
	values := map[string]bool{}
	for _, l := range got {
		if !strings.HasPrefix(l, levelPrefix) {
			values[l] = true
			continue
		}
		if track, n, err := parseLevel(l); err == nil {
			if cur, ok := tracks[track]; !ok || n > cur {
				tracks[track] = n
			}
		}
	}
	for _, w := range want {
		if !strings.HasPrefix(w, levelPrefix) {
			if !values[w] || w == ResultFailed {
				return fmt.Errorf("%w: --verified-level %s is not among the VSA's verifiedLevels %v", ErrLevel, w, got)
			}
			continue
		}
		track, n, err := parseLevel(w)
		if err != nil {
			return &gate.InputError{Input: "--verified-level", Err: err}
		}
		if have, ok := tracks[track]; !ok || have < n {
			return fmt.Errorf("%w: --verified-level %s, but the VSA's verifiedLevels are %v", ErrLevel, w, got)
		}
	}
	return nil
}
