package e2e

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// e2eVersion is the release the end-to-end run's releasegate commit says
// it is (actions/setup/version).
const e2eVersion = "v0.0.0-e2e"

// releaseServer stands in, on loopback, for what GitHub serves a workflow
// run: release assets at GITHUB_SERVER_URL/OWNER/REPO/releases/download/
// TAG/ASSET and the runner's OIDC token service, whose token says which
// reusable workflow, at which commit, the job runs.
type releaseServer struct {
	*httptest.Server
	assetSHA  string // digest of the good asset, as committed
	sha       string // the releasegate commit the token names
	oidcToken string // the bearer token the token service wants
	downloads atomic.Int64
}

func startReleaseServer(t *testing.T, asset string, good, served []byte, sha string) *releaseServer {
	t.Helper()
	sum := sha256.Sum256(good)
	rel := &releaseServer{sha: sha, assetSHA: hex.EncodeToString(sum[:]), oidcToken: fmt.Sprintf("e2e-oidc-%d", time.Now().UnixNano())}
	claims, _ := json.Marshal(map[string]string{
		"job_workflow_ref": "maestro-conductor/releasegate/.github/workflows/release.yml@refs/tags/" + e2eVersion,
		"job_workflow_sha": sha,
		"aud":              "releasegate",
	})
	enc := base64.RawURLEncoding.EncodeToString
	jwt := enc([]byte(`{"alg":"none"}`)) + "." + enc(claims) + "." + enc([]byte("unsigned"))
	mux := http.NewServeMux()
	mux.HandleFunc("GET /oidc", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "bearer "+rel.oidcToken || r.URL.Query().Get("audience") != "releasegate" {
			http.Error(w, "bad token request", http.StatusUnauthorized)
			return
		}
		json.NewEncoder(w).Encode(map[string]string{"value": jwt})
	})
	mux.HandleFunc("GET /maestro-conductor/releasegate/releases/download/"+e2eVersion+"/"+asset, func(w http.ResponseWriter, r *http.Request) {
		rel.downloads.Add(1)
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Write(served)
	})
	rel.Server = httptest.NewServer(mux)
	t.Cleanup(rel.Close)
	return rel
}

// URL is the server's base URL, GITHUB_SERVER_URL for the run.
func (r *releaseServer) URL() string { return r.Server.URL }

// releaseArchive packs the binary as GoReleaser's archive for this host,
// releasegate_<os>_<arch>.tar.gz holding the binary releasegate.
func releaseArchive(t *testing.T, bin string) (string, []byte) {
	t.Helper()
	b, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("releasegate_%s_%s.tar.gz", runtime.GOOS, runtime.GOARCH), tarGz(t, "releasegate", b)
}

// tamperedArchive is the same archive with one byte of the binary changed.
func tamperedArchive(t *testing.T, bin string) []byte {
	t.Helper()
	b, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 0xff
	return tarGz(t, "releasegate", b)
}

func tarGz(t *testing.T, name string, content []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o755, Size: int64(len(content)), ModTime: time.Unix(0, 0)}); err != nil {
		t.Fatal(err)
	}
	if _, err := tw.Write(content); err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// releaseRepository makes dir a git repository holding releasegate's
// actions as a release commit has them: actions/setup/version names the
// release and actions/setup/checksums.txt holds the asset's SHA-256 in
// GoReleaser's format. It returns the commit.
func releaseRepository(t *testing.T, root, dir, asset string, archive []byte) string {
	t.Helper()
	for _, p := range []string{"action.yml", "actions", ".github/workflows/release.yml", "go.mod", "go.sum"} {
		if err := copyTree(filepath.Join(root, p), filepath.Join(dir, p)); err != nil {
			t.Fatal(err)
		}
	}
	sum := sha256.Sum256(archive)
	files := map[string]string{
		"actions/setup/version":       e2eVersion + "\n",
		"actions/setup/checksums.txt": hex.EncodeToString(sum[:]) + "  " + asset + "\n",
	}
	for p, c := range files {
		if err := os.WriteFile(filepath.Join(dir, p), []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	git(t, dir, "init", "-q", "-b", "main")
	git(t, dir, "add", "-A")
	git(t, dir, "-c", "user.name=e2e", "-c", "user.email=e2e@example.invalid", "commit", "-q", "-m", "release "+e2eVersion)
	return strings.TrimSpace(git(t, dir, "rev-parse", "HEAD"))
}

func git(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}
