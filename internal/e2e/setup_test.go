package e2e

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// setupRun is one run of actions/setup/setup.sh.
type setupRun struct {
	err     error
	log     string            // what it printed
	outputs map[string]string // what it wrote to GITHUB_OUTPUT
}

// runSetup runs actions/setup/setup.sh MODE from a copy of the actions
// tree under dir, as a composite action's step does.
func runSetup(t *testing.T, dir, mode string, env map[string]string) setupRun {
	t.Helper()
	out := filepath.Join(t.TempDir(), "output")
	cmd := exec.Command("bash", filepath.Join(dir, "actions", "setup", "setup.sh"), mode)
	cmd.Env = append(filteredEnv("GITHUB_", "RUNNER_", "INPUT_", "MODE"), "GITHUB_OUTPUT="+out, "RUNNER_TEMP="+t.TempDir())
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	b, err := cmd.CombinedOutput()
	r := setupRun{err: err, log: string(b), outputs: map[string]string{}}
	o, _ := os.ReadFile(out)
	for _, l := range strings.Split(string(o), "\n") {
		if k, v, ok := strings.Cut(l, "="); ok {
			r.outputs[k] = v
		}
	}
	return r
}

// TestSetupScript runs the setup script against a loopback release server:
// the release asset is downloaded, checked against the checksums at the
// action's ref and only then run; a changed asset, an unknown platform and
// a missing checksum are refused; a ref without a release builds from
// source and says so.
func TestSetupScript(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and packs the binary")
	}
	t.Parallel()
	root, err := filepath.Abs(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	bin := releasegateBinary(t, root, tmp)
	asset, archive := releaseArchive(t, bin)
	released := filepath.Join(tmp, "released")
	sha := releaseRepository(t, root, released, asset, archive)
	unreleased := filepath.Join(tmp, "unreleased")
	if err := copyTree(filepath.Join(root, "actions"), filepath.Join(unreleased, "actions")); err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(unreleased, "actions", "setup", "version"))
	os.Remove(filepath.Join(unreleased, "actions", "setup", "checksums.txt"))
	good := startReleaseServer(t, asset, archive, archive, sha)
	bad := startReleaseServer(t, asset, archive, tamperedArchive(t, bin), sha)
	sum := sha256.Sum256(archive)
	want := hex.EncodeToString(sum[:])
	linux := map[string]string{"RUNNER_OS": "Linux", "RUNNER_ARCH": "X64"}
	with := func(extra map[string]string) map[string]string {
		env := map[string]string{"RUNNER_OS": "Linux", "RUNNER_ARCH": "X64", "GITHUB_SERVER_URL": good.URL()}
		for k, v := range extra {
			env[k] = v
		}
		return env
	}

	t.Run("plan", func(t *testing.T) {
		cases := []struct {
			name, dir string
			env       map[string]string
			mode      string
			says      string
		}{
			{"a released ref downloads", released, linux, "download", "downloading release v0.0.0-e2e for Linux/X64"},
			{"a given binary is used", released, map[string]string{"INPUT_RELEASEGATE_PATH": bin}, "path", "releasegate_path"},
			{"asked to build, it builds", released, map[string]string{"INPUT_BUILD_FROM_SOURCE": "true"}, "build", "build_from_source is true"},
			{"a ref without a release builds and says so", unreleased, linux, "build", "this ref of releasegate has no release"},
			{"asked to build on an unknown platform, it builds", released, map[string]string{"RUNNER_OS": "Plan9", "RUNNER_ARCH": "X64", "INPUT_BUILD_FROM_SOURCE": "true"}, "build", "build_from_source"},
		}
		for _, tc := range cases {
			r := runSetup(t, tc.dir, "plan", tc.env)
			if r.err != nil || r.outputs["mode"] != tc.mode || !strings.Contains(r.log, tc.says) {
				t.Errorf("%s: expected mode %s saying %q, found mode %q (%v):\n%s", tc.name, tc.mode, tc.says, r.outputs["mode"], r.err, r.log)
			}
		}
		for _, platform := range [][2]string{{"Plan9", "X64"}, {"Linux", "ARM"}, {"", ""}} {
			r := runSetup(t, released, "plan", map[string]string{"RUNNER_OS": platform[0], "RUNNER_ARCH": platform[1]})
			if r.err == nil || r.outputs["mode"] != "" || !strings.Contains(r.log, fmt.Sprintf("no releasegate release asset for runner OS '%s' and architecture '%s'", platform[0], platform[1])) {
				t.Errorf("platform %v: expected a clear refusal and no mode, found mode %q (%v):\n%s", platform, r.outputs["mode"], r.err, r.log)
			}
		}
	})

	t.Run("a verified download runs", func(t *testing.T) {
		start := time.Now()
		r := runSetup(t, released, "install", with(map[string]string{"MODE": "download"}))
		if r.err != nil || !strings.Contains(r.log, asset+" matches sha256 "+want) || !strings.Contains(r.log, "releasegate: releasegate ") {
			t.Fatalf("expected the asset checked and run, found (%v):\n%s", r.err, r.log)
		}
		if _, err := os.Stat(r.outputs["path"]); err != nil {
			t.Errorf("expected the binary at the path output, found %v", err)
		}
		t.Logf("download and verify: %s", time.Since(start).Round(time.Millisecond))
	})

	t.Run("a tampered download is refused before it runs", func(t *testing.T) {
		r := runSetup(t, released, "install", with(map[string]string{"MODE": "download", "GITHUB_SERVER_URL": bad.URL()}))
		says := fmt.Sprintf("digest mismatch for %s from %s/maestro-conductor/releasegate/releases/download/v0.0.0-e2e/%s: expected sha256 %s (actions/setup/checksums.txt at this ref), found sha256 ", asset, bad.URL(), asset, want)
		if r.err == nil || !strings.Contains(r.log, says) || r.outputs["path"] != "" || strings.Contains(r.log, "releasegate: releasegate ") {
			t.Errorf("expected a refusal naming the asset and both digests, no path and nothing run, found path %q (%v):\n%s", r.outputs["path"], r.err, r.log)
		}
	})

	t.Run("a missing asset or checksum is refused", func(t *testing.T) {
		r := runSetup(t, released, "install", with(map[string]string{"MODE": "download", "RUNNER_ARCH": "ARM64"}))
		if r.err == nil || !strings.Contains(r.log, "checksums.txt at this ref has no SHA-256 for releasegate_linux_arm64.tar.gz") {
			t.Errorf("expected a refusal for an asset without a checksum, found (%v):\n%s", r.err, r.log)
		}
		r = runSetup(t, released, "install", with(map[string]string{"MODE": "download", "GITHUB_SERVER_URL": good.URL() + "/nothing-here"}))
		if r.err == nil || !strings.Contains(r.log, "could not download") || r.outputs["path"] != "" {
			t.Errorf("expected an unreachable asset refused, found (%v):\n%s", r.err, r.log)
		}
	})

	t.Run("a given path that is not a binary is refused", func(t *testing.T) {
		r := runSetup(t, released, "install", map[string]string{"MODE": "path", "INPUT_RELEASEGATE_PATH": filepath.Join(tmp, "absent")})
		if r.err == nil || !strings.Contains(r.log, "releasegate_path: expected an executable file") {
			t.Errorf("expected a refusal, found (%v):\n%s", r.err, r.log)
		}
	})
}
