package provenance

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/maestro-conductor/releasegate/internal/provenance/sigstoretest"
)

// Run by hand (never part of go test without -bench):
//
//	go test ./internal/provenance -run '^$' -bench . -benchmem -benchtime 2s
//	go test ./internal/provenance -run '^$' -bench HashFile1GiB -benchmem -benchtime 3x
// Figures are in docs/benchmarks.md.

// BenchmarkVerifyProvenance is one bundle verified and checked, with the
// trusted root parsed once beforehand (as the gate does per run).
func BenchmarkVerifyProvenance(b *testing.B) {
	tr, err := LoadTrustedRoot(publicGood)
	if err != nil {
		b.Fatal(err)
	}
	v, err := NewVerifier(Options{TrustedRoot: tr})
	if err != nil {
		b.Fatal(err)
	}
	data, err := os.ReadFile(genericProv)
	if err != nil {
		b.Fatal(err)
	}
	sum, err := HashFile(genericArt)
	if err != nil {
		b.Fatal(err)
	}
	p := Policy{SourceURI: exampleRepo, SourceTag: "v14"}
	b.ResetTimer()
	for b.Loop() {
		bundles, err := ParseBundles(data)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := v.VerifyProvenance(bundles[0], sum, p); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLoadTrustedRoot is the once-per-run cost of the trust root.
func BenchmarkLoadTrustedRoot(b *testing.B) {
	for b.Loop() {
		if _, err := LoadTrustedRoot(publicGood); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBatch200 verifies 200 artifacts, each with its own copy of the
// delegator bundle beside it (200 bundles parsed and verified), with one
// worker and with GOMAXPROCS workers; the trusted root is parsed once.
func BenchmarkBatch200(b *testing.B) {
	tr, err := LoadTrustedRoot(publicGood)
	if err != nil {
		b.Fatal(err)
	}
	v, err := NewVerifier(Options{TrustedRoot: tr})
	if err != nil {
		b.Fatal(err)
	}
	art, _ := os.ReadFile(delegatorArt)
	bundle, _ := os.ReadFile(delegatorProv)
	dir := b.TempDir()
	arts := make([]Artifact, 200)
	for i := range arts {
		p := filepath.Join(dir, fmt.Sprintf("a%03d", i))
		if err := os.WriteFile(p, art, 0o644); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(p+".build.slsa", bundle, 0o644); err != nil {
			b.Fatal(err)
		}
		arts[i] = Artifact{Name: filepath.Base(p), Path: p}
	}
	p := Policy{SourceURI: exampleRepo, BuilderIDs: []string{trwBuilder}}
	for _, workers := range []int{1, runtime.GOMAXPROCS(0)} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) {
			for b.Loop() {
				batch := &Batch{Verifier: v, Policy: p, Concurrency: workers}
				for _, r := range batch.Run(context.Background(), arts) {
					if r.Err != nil {
						b.Fatal(r.Err)
					}
				}
			}
			perBatch := b.Elapsed().Seconds() / float64(b.N)
			b.ReportMetric(perBatch/200*1e3, "ms/artifact")
			b.ReportMetric(200/perBatch, "artifacts/s")
		})
	}
}

// BenchmarkVerifyKeylessBlob is one keyless blob bundle (message
// signature, certificate with SCT, Rekor entry with SET and inclusion
// proof, TSA timestamp) from the in-process Sigstore, parsed and verified.
func BenchmarkVerifyKeylessBlob(b *testing.B) {
	s, err := sigstoretest.New()
	if err != nil {
		b.Fatal(err)
	}
	tr, err := s.TrustedRoot()
	if err != nil {
		b.Fatal(err)
	}
	v, err := NewVerifier(Options{TrustedRoot: tr})
	if err != nil {
		b.Fatal(err)
	}
	blob := []byte("SHA256SUMS")
	const who = "https://github.com/acme/api/.github/workflows/release.yml@refs/tags/v1"
	data, err := s.SignBlob(sigstoretest.Signer{Identity: who, Issuer: GitHubActionsIssuer}, blob)
	if err != nil {
		b.Fatal(err)
	}
	sum := sha256Hex(blob)
	id := Identity{Issuer: GitHubActionsIssuer, Identity: who}
	for b.Loop() {
		bundles, err := ParseBundles(data)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := v.VerifyBlob(bundles[0], sum, id); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkHashFile1GiB streams a 1 GiB artifact (written to a temporary
// directory, removed afterwards) through SHA-256. Memory stays flat: it
// reports the bytes allocated per hash and the growth of the process's
// peak resident set (VmHWM, reset before each hash), both independent of
// the file's size.
func BenchmarkHashFile1GiB(b *testing.B) {
	const size = 1 << 30
	p := filepath.Join(b.TempDir(), "artifact.bin")
	writeBigFile(b, p, size)
	b.SetBytes(size)
	var peak int64
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	b.ResetTimer()
	for b.Loop() {
		base := resetPeakRSS(b)
		if _, err := HashFile(p); err != nil {
			b.Fatal(err)
		}
		if grew := peakRSS(b) - base; grew > peak {
			peak = grew
		}
	}
	b.StopTimer()
	runtime.ReadMemStats(&after)
	b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/float64(b.N), "heap-B/hash")
	b.ReportMetric(float64(peak)/1024, "peak-RSS-growth-KiB")
}

// writeBigFile writes size bytes of non-zero data (a repeated random MiB),
// so the file is a real one, not a sparse hole.
func writeBigFile(b *testing.B, path string, size int) {
	b.Helper()
	block := make([]byte, 1<<20)
	if _, err := rand.Read(block); err != nil {
		b.Fatal(err)
	}
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	for n := 0; n < size; n += len(block) {
		if _, err := f.Write(block); err != nil {
			b.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
}

// resetPeakRSS resets the kernel's peak-RSS mark of this process and
// returns the current RSS in bytes.
func resetPeakRSS(b *testing.B) int64 {
	b.Helper()
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		b.Skipf("cannot reset the peak RSS here: %v", err)
	}
	return procStatus(b, "VmRSS:")
}

func peakRSS(b *testing.B) int64 { return procStatus(b, "VmHWM:") }

func procStatus(b *testing.B, field string) int64 {
	b.Helper()
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		b.Skipf("no /proc/self/status: %v", err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, field); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err != nil {
				b.Fatal(err)
			}
			return kb * 1024
		}
	}
	b.Fatalf("no %s in /proc/self/status", field)
	return 0
}

// BenchmarkVerifyGitHubAttestation is one real GitHub artifact attestation
// (slsa-verifier's bcr rules_lint source archive, signed by a reusable
// workflow): parse, verify at the Rekor time, and apply the GitHub policy
// (signer workflow, source, branch, runner, certificate vs predicate);
// the trusted root is parsed once beforehand.
func BenchmarkVerifyGitHubAttestation(b *testing.B) {
	v := realPublicGood(b)
	r := realAttestations[1]
	data, err := os.ReadFile(filepath.Join(realDir, r.bundle))
	if err != nil {
		b.Fatal(err)
	}
	sum := r.subjectDigest(b)
	b.ResetTimer()
	for b.Loop() {
		if _, err := r.verify(b, v, data, sum, r.policy); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyRekorV2 is one real Rekor v2 bundle (sigstore-conformance
// rekor2-dsse-happy-path): parse, verify the note-signed checkpoint and
// inclusion proof, the timestamp authority's signed time, the chain at
// that time and the DSSE signature, then the signer identity.
func BenchmarkVerifyRekorV2(b *testing.B) {
	const dir = "rekor2-dsse-happy-path"
	v := conformanceVerifier(b, dir)
	data := conformanceBundle(b, dir)
	sum := conformanceArtifact(b)
	b.ResetTimer()
	for b.Loop() {
		if _, err := verifyBlobData(v, data, sum, conformanceSigner); err != nil {
			b.Fatal(err)
		}
	}
}
