package evidence

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"image/png"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/maestro-conductor/releasegate/internal/testutil"
)

// rawTarGz packs hand-made headers, bypassing WriteTarGz's checks.
func rawTarGz(t testing.TB, hdrs []*tar.Header, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, h := range hdrs {
		if h.Typeflag == tar.TypeReg {
			h.Size = int64(len(data))
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			tw.Write(data)
		}
	}
	tw.Close()
	return writeStoredGzip(buf.Bytes())
}

func TestUnsafeTarEntriesAreRejected(t *testing.T) {
	t.Parallel()
	reg := func(name string) *tar.Header {
		return &tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644, ModTime: epoch, Format: tar.FormatUSTAR}
	}
	tests := []struct {
		name string
		hdrs []*tar.Header
	}{
		{"an absolute path", []*tar.Header{reg("/etc/passwd")}},
		{"a path climbing out with ..", []*tar.Header{reg("results/../../x")}},
		{"a symlink", []*tar.Header{{Typeflag: tar.TypeSymlink, Name: "a", Linkname: "/etc/passwd", ModTime: epoch, Format: tar.FormatUSTAR}}},
		{"a hard link", []*tar.Header{{Typeflag: tar.TypeLink, Name: "a", Linkname: "b", ModTime: epoch, Format: tar.FormatUSTAR}}},
		{"a character device", []*tar.Header{{Typeflag: tar.TypeChar, Name: "tty", Devmajor: 5, ModTime: epoch, Format: tar.FormatUSTAR}}},
		{"a block device", []*tar.Header{{Typeflag: tar.TypeBlock, Name: "sda", Devmajor: 8, ModTime: epoch, Format: tar.FormatUSTAR}}},
		{"a directory", []*tar.Header{{Typeflag: tar.TypeDir, Name: "d/", Mode: 0o755, ModTime: epoch, Format: tar.FormatUSTAR}}},
		{"a duplicate entry", []*tar.Header{reg("a.json"), reg("a.json")}},
		{"an unclean path", []*tar.Header{reg("./a.json")}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadTarGz(rawTarGz(t, tc.hdrs, []byte("x")), DefaultLimits)
			if !errors.Is(err, ErrUnsafeEntry) {
				t.Fatalf("err %v; expected ErrUnsafeEntry", err)
			}
		})
	}
	t.Run("an oversized file", func(t *testing.T) {
		lim := DefaultLimits
		lim.MaxFileSize = 10
		_, err := ReadTarGz(rawTarGz(t, []*tar.Header{reg("big")}, bytes.Repeat([]byte("a"), 11)), lim)
		if !errors.Is(err, ErrUnsafeEntry) {
			t.Fatalf("err %v", err)
		}
	})
	t.Run("too many files", func(t *testing.T) {
		lim := DefaultLimits
		lim.MaxFiles = 1
		_, err := ReadTarGz(rawTarGz(t, []*tar.Header{reg("a"), reg("b")}, []byte("x")), lim)
		if !errors.Is(err, ErrUnsafeEntry) {
			t.Fatalf("err %v", err)
		}
	})
	t.Run("too much in total", func(t *testing.T) {
		lim := DefaultLimits
		lim.MaxTotalSize = 1024
		_, err := ReadTarGz(rawTarGz(t, []*tar.Header{reg("a")}, bytes.Repeat([]byte("a"), 4096)), lim)
		if !errors.Is(err, ErrUnsafeEntry) {
			t.Fatalf("err %v", err)
		}
	})
}

// FuzzReadTarGz feeds the tar reader. The seeds are small on purpose: Go
// minimizes every new interesting input, trying O(n²) candidates
// (internal/fuzz minimizeBytes), for up to -fuzzminimizetime (60s). From a
// whole evidence tarball (~27 KB, ~0.4 ms per run) a 60s fuzz run spent
// nearly all its time minimizing ("execs: N (0/sec)") and, when the worker
// was lost mid-minimization, reported "fuzzing process hung or terminated
// unexpectedly while minimizing" without a crasher (golang/go#48820,
// #52569). A three-file tarball covers the same code; TestMain caps
// minimization (see main_test.go).
func FuzzReadTarGz(f *testing.F) {
	small, err := WriteTarGz([]File{
		{Name: BundleFile, Data: []byte(`{"mediaType":"x"}`)},
		{Name: ManifestName("v1"), Data: []byte("schema: releasegate.evidence/v1\n")},
		{Name: "results/slo.json", Data: []byte(`{"gate":"slo"}`)},
	})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(small)
	f.Add(rawTarGz(f, []*tar.Header{{Typeflag: tar.TypeSymlink, Name: "a", Linkname: "b", Format: tar.FormatUSTAR}}, nil))
	f.Add([]byte{0x1f, 0x8b})
	lim := Limits{MaxFiles: 64, MaxFileSize: 1 << 20, MaxTotalSize: 4 << 20, MaxNameLen: 255}
	f.Fuzz(func(t *testing.T, b []byte) {
		files, err := ReadTarGz(b, lim)
		if err != nil {
			return
		}
		for _, fl := range files {
			if checkName(fl.Name, lim.MaxNameLen) != nil {
				t.Fatalf("accepted unsafe name %q", fl.Name)
			}
		}
		again, err := WriteTarGz(files)
		if err != nil || !bytes.Equal(again, b) {
			t.Fatalf("accepted a non-canonical tarball: %v", err)
		}
	})
}

func FuzzParseBundle(f *testing.F) {
	o := testOptions(f, true)
	ev, err := Create(o)
	if err != nil {
		f.Fatal(err)
	}
	bb, _ := MarshalBundle(ev.Bundle)
	f.Add(bb)
	f.Add([]byte(`{"mediaType":"x"}`))
	pub := o.Signer.(*Signer).Public()
	f.Fuzz(func(t *testing.T, b []byte) {
		bun, err := ParseBundle(b)
		if err != nil {
			return
		}
		payload, err := VerifyEnvelope(bun.DSSEEnvelope, pub)
		if err != nil {
			return
		}
		if _, err := parseStatement(payload); err != nil {
			return
		}
		if !bytes.Equal(b, bb) && bun.DSSEEnvelope.Payload != ev.Bundle.DSSEEnvelope.Payload {
			t.Fatal("a different payload verified with the release key")
		}
	})
}

func TestUpdateIssueBody(t *testing.T) {
	t.Parallel()
	const token = "ghs_secrettoken123"
	var got struct {
		method, path, auth, body string
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got.method, got.path, got.auth, got.body = r.Method, r.URL.Path, r.Header.Get("Authorization"), string(b)
		if r.Method != http.MethodPatch || r.URL.Path != "/api/v3/repos/acme/tenantd/issues/12" {
			w.WriteHeader(http.StatusNotFound)
			io.WriteString(w, `{"message":"Not Found","documentation_url":"https://docs.github.com/rest"}`)
			return
		}
		var in map[string]string
		json.Unmarshal(b, &in)
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"number": 12, "html_url": "https://github.example/acme/tenantd/issues/12", "body": in["body"], "state": "open"})
	}))
	defer srv.Close()
	u := &IssueUpdater{APIURL: srv.URL + "/api/v3", Token: token, Client: srv.Client()}
	md, err := Checklist(testOptions(t, false))
	if err != nil {
		t.Fatal(err)
	}
	url, err := u.UpdateIssueBody(context.Background(), "acme/tenantd", 12, md)
	if err != nil {
		t.Fatal(err)
	}
	if url != "https://github.example/acme/tenantd/issues/12" || got.auth != "Bearer "+token || !strings.Contains(got.body, "Release checklist") {
		t.Fatalf("url %q, request %+v", url, got)
	}
	_, err = u.UpdateIssueBody(context.Background(), "acme/other", 12, md)
	if err == nil || !strings.Contains(err.Error(), "404") || strings.Contains(err.Error(), token) {
		t.Fatalf("err %v; expected a 404 that does not print the token", err)
	}
	if _, err := (&IssueUpdater{APIURL: srv.URL}).UpdateIssueBody(context.Background(), "acme/tenantd", 12, md); err == nil {
		t.Fatal("no token accepted")
	}
}

// TestReportInChromium opens report.html of a failed release in headless
// Chromium: it must load, render a non-blank screenshot and show the
// failing gate.
func TestReportInChromium(t *testing.T) {
	bin := testutil.RequireEnv(t, "RELEASEGATE_TEST_CHROMIUM", "headless Chromium (scripts/services/chromium.sh)")
	ev, err := Create(testOptions(t, false))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	page := filepath.Join(dir, "report.html")
	for _, f := range ev.Files {
		if f.Name == HTMLFile {
			os.WriteFile(page, f.Data, 0o644)
		}
	}
	base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
		"--disable-component-update", "--disable-sync", "--no-first-run", "--user-data-dir=" + filepath.Join(dir, "profile")}
	run := func(args ...string) []byte {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, bin, append(base, args...)...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("chromium %v: %v\n%s", args, err, stderr.String())
		}
		return out
	}
	dom := string(run("--dump-dom", "file://"+page))
	for _, want := range []string{`id="verdict">FAILED<`, `data-gate="slo"`, `class="status fail">fail<`, "<svg"} {
		if !strings.Contains(dom, want) {
			t.Errorf("rendered DOM lacks %q", want)
		}
	}
	shot := filepath.Join(dir, "shot.png")
	run("--screenshot="+shot, "--window-size=1200,1600", "file://"+page)
	fh, err := os.Open(shot)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	img, err := png.Decode(fh)
	if err != nil {
		t.Fatalf("screenshot is not a PNG: %v", err)
	}
	colors := map[uint32]bool{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y += 7 {
		for x := b.Min.X; x < b.Max.X; x += 7 {
			r, g, bl, _ := img.At(x, y).RGBA()
			colors[(r>>8)<<16|(g>>8)<<8|bl>>8] = true
		}
	}
	if len(colors) < 8 {
		t.Fatalf("screenshot has %d colours; the page rendered blank", len(colors))
	}
	if os.Getenv("RELEASEGATE_KEEP_SCREENSHOT") != "" {
		data, _ := os.ReadFile(shot)
		os.WriteFile(os.Getenv("RELEASEGATE_KEEP_SCREENSHOT"), data, 0o644)
	}
}
