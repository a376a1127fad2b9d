package evidence

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// FuzzStreamMatchesReference: the streaming reader accepts exactly the
// tarballs the in-memory reference reader accepted, with the same files.
func FuzzStreamMatchesReference(f *testing.F) {
	small, err := WriteTarGz([]File{
		{Name: BundleFile, Data: []byte(`{"mediaType":"x"}`)},
		{Name: ManifestName("v1"), Data: []byte("schema: releasegate.evidence/v1\n")},
		{Name: "results/slo.json", Data: bytes.Repeat([]byte("r"), 700)},
	})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(small)
	f.Add(writeStoredGzip(make([]byte, 1024)))
	f.Add(rawTarGz(f, []*tar.Header{{Typeflag: tar.TypeReg, Name: "b", Mode: 0o644, ModTime: epoch, Format: tar.FormatUSTAR}, {Typeflag: tar.TypeReg, Name: "a", Mode: 0o644, ModTime: epoch, Format: tar.FormatUSTAR}}, []byte("x")))
	lim := Limits{MaxFiles: 64, MaxFileSize: 1 << 20, MaxTotalSize: 4 << 20, MaxNameLen: 255}
	f.Fuzz(func(t *testing.T, b []byte) {
		want, werr := referenceReadTarGz(b, lim)
		got, gerr := ReadTarGz(b, lim)
		if (werr == nil) != (gerr == nil) {
			t.Fatalf("reference: %v; streaming: %v", werr, gerr)
		}
		if len(got) != len(want) {
			t.Fatalf("reference read %d files, streaming %d", len(want), len(got))
		}
		for i := range got {
			if got[i].Name != want[i].Name || !bytes.Equal(got[i].Data, want[i].Data) {
				t.Fatalf("file %d differs: %q vs %q", i, got[i].Name, want[i].Name)
			}
		}
	})
}

func TestStreamRefusesAlteredEncoding(t *testing.T) {
	t.Parallel()
	good, err := WriteTarGz([]File{{Name: "a", Data: []byte("hello")}, {Name: "b", Data: bytes.Repeat([]byte("z"), 70000)}})
	if err != nil {
		t.Fatal(err)
	}
	// A bit change is refused anywhere: every byte of the headers, the
	// stored-block boundary, the end blocks and trailer; every 61st byte of
	// the data in between (each of those read costs a whole scan).
	for i := range good {
		edge := i < 2048 || (i > 65535-600 && i < 65535+600) || i > len(good)-2048
		if !edge && i%61 != 0 {
			continue
		}
		b := bytes.Clone(good)
		b[i] ^= 0x80
		if _, err := ReadTarGz(b, DefaultLimits); err == nil {
			t.Fatalf("flipping byte %d of %d was accepted", i, len(good))
		}
	}
	for name, b := range map[string][]byte{
		"a trailing byte": append(bytes.Clone(good), 0),
		"cut short":       good[:len(good)-9],
		"empty":           nil,
	} {
		if _, err := ReadTarGz(b, DefaultLimits); !errors.Is(err, ErrTampered) && !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: err %v; expected ErrTampered or ErrMalformed", name, err)
		}
	}
}

// manyEntries is a canonical-looking tarball of n empty files.
func manyEntries(t testing.TB, n int) []byte {
	t.Helper()
	files := make([]File, n)
	for i := range files {
		files[i] = File{Name: fmt.Sprintf("f%07d", i)}
	}
	b, err := WriteTarGz(files)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestManyEntriesRefusedFast: a 100,000-entry tarball is refused at entry
// 4,097 (DefaultLimits.MaxFiles), in well under a second, without reading
// the rest. The memory side is measured by the child process in
// TestVerifyMemory.
func TestManyEntriesRefusedFast(t *testing.T) {
	t.Parallel()
	b := manyEntries(t, 100_000)
	start := time.Now()
	_, err := Verify(b, VerifyOptions{Key: testSigner(t, AlgEd25519).Public()})
	if !errors.Is(err, ErrUnsafeEntry) {
		t.Fatalf("err %v; expected ErrUnsafeEntry for too many entries", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("refused after %v; expected < 1s", d)
	}
}

// bigEvidence writes a key-signed evidence tarball of about total bytes:
// attestations of member bytes each, and the usual small files.
func bigEvidence(t testing.TB, dir string, member, total int) (tgzPath, pubPath string) {
	t.Helper()
	o := testOptions(t, true)
	for i := 0; len(o.Attestations)*member < total; i++ {
		data := bytes.Repeat([]byte{byte('a' + i)}, member)
		o.Attestations = append(o.Attestations, Input{Name: "big" + strconv.Itoa(i) + ".intoto.jsonl", Data: data})
	}
	ev, err := Create(o)
	if err != nil {
		t.Fatal(err)
	}
	tgzPath = filepath.Join(dir, "evidence.tar.gz")
	if err := os.WriteFile(tgzPath, ev.TarGz, 0o644); err != nil {
		t.Fatal(err)
	}
	pem, err := MarshalPublicKey(o.Signer.(*Signer).Public())
	if err != nil {
		t.Fatal(err)
	}
	pubPath = filepath.Join(dir, "key.pub")
	if err := os.WriteFile(pubPath, pem, 0o644); err != nil {
		t.Fatal(err)
	}
	return tgzPath, pubPath
}

// The child side of TestVerifyMemory: verify a file and report.
func TestVerifyMemoryChild(t *testing.T) {
	path := os.Getenv("RELEASEGATE_VERIFY_MEMORY_CHILD")
	if path == "" {
		t.Skip("run by TestVerifyMemory in a child process")
	}
	pemKey, err := os.ReadFile(os.Getenv("RELEASEGATE_VERIFY_MEMORY_KEY"))
	if err != nil {
		t.Fatal(err)
	}
	pub, err := ParsePublicKey(pemKey)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	start := time.Now()
	_, err = VerifyReader(f, VerifyOptions{Key: pub})
	elapsed := time.Since(start).Round(time.Millisecond)
	// VmHWM is this process's peak RSS since exec; the rusage of a child
	// also counts the parent's pages shared before exec (vfork).
	status, rerr := os.ReadFile("/proc/self/status")
	if rerr != nil {
		t.Fatal(rerr)
	}
	hwm := ""
	for _, line := range strings.Split(string(status), "\n") {
		if strings.HasPrefix(line, "VmHWM:") {
			hwm = strings.TrimSpace(strings.TrimSuffix(strings.TrimPrefix(line, "VmHWM:"), "kB"))
		}
	}
	fmt.Printf("VERIFY-RESULT hwm_kib=%s elapsed=%s err=%v\n", hwm, elapsed, err)
}

// verifyInChild verifies path in a fresh test process and returns its peak
// RSS (VmHWM, measured by the child itself) and its report line.
func verifyInChild(t *testing.T, path, pub string) (peakMiB float64, out string) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^TestVerifyMemoryChild$", "-test.v")
	cmd.Env = append(os.Environ(), "RELEASEGATE_VERIFY_MEMORY_CHILD="+path, "RELEASEGATE_VERIFY_MEMORY_KEY="+pub)
	b, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, b)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VERIFY-RESULT") {
			out = line
			f := strings.Fields(line)
			kib, err := strconv.ParseFloat(strings.TrimPrefix(f[1], "hwm_kib="), 64)
			if err != nil {
				t.Fatalf("child report %q: %v", line, err)
			}
			peakMiB = kib / 1024
		}
	}
	if out == "" {
		t.Fatalf("child printed no report:\n%s", b)
	}
	return peakMiB, out
}

// TestVerifyMemory measures the peak RSS of verifying, in a child process
// (its own VmHWM): an evidence tarball must peak at no more than 2× its
// largest member + 64 MiB, and a 100,000-entry tarball is refused under
// 100 MiB. By default the tarball is 64 MiB (4 × 15 MiB members), so the
// bound is checked on every `go test`; RELEASEGATE_BENCH_MEMORY=1 measures
// the 251 MB tarball of docs/benchmarks.md (4 × 60 MiB).
func TestVerifyMemory(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("VmHWM is Linux's")
	}
	member, total := 15<<20, 64<<20
	if os.Getenv("RELEASEGATE_BENCH_MEMORY") != "" {
		member, total = 60<<20, 250<<20
	}
	dir := t.TempDir()
	if d := os.Getenv("RELEASEGATE_BENCH_MEMORY_DIR"); d != "" {
		dir = d // keep the tarballs, e.g. to measure the CLI on them
	}
	tgz, pub := bigEvidence(t, dir, member, total)
	st, _ := os.Stat(tgz)
	peak, out := verifyInChild(t, tgz, pub)
	limit := float64(2*member>>20) + 64
	t.Logf("evidence of %d bytes (largest member %d MiB): peak RSS %.0f MiB (limit %.0f MiB); %s", st.Size(), member>>20, peak, limit, out)
	if !strings.Contains(out, "err=<nil>") {
		t.Fatalf("verify failed: %s", out)
	}
	if peak > limit {
		t.Errorf("peak RSS %.0f MiB > %.0f MiB", peak, limit)
	}

	many := filepath.Join(dir, "many.tar.gz")
	if err := os.WriteFile(many, manyEntries(t, 100_000), 0o644); err != nil {
		t.Fatal(err)
	}
	peak, out = verifyInChild(t, many, pub)
	t.Logf("100,000 entries: peak RSS %.0f MiB; %s", peak, out)
	if !strings.Contains(out, "more than 4096 entries") || peak > 100 {
		t.Errorf("100,000 entries: peak %.0f MiB, %s; expected refused under 100 MiB", peak, out)
	}
}
