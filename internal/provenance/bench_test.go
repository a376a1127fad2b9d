package provenance

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// Run by hand:
//   go test ./internal/provenance -run '^$' -bench . -benchmem -benchtime 2s
// Figures are in docs/benchmarks-provenance.md.

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
// delegator bundle beside it, concurrently (GOMAXPROCS workers).
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
	b.ResetTimer()
	for b.Loop() {
		batch := &Batch{Verifier: v, Policy: p}
		for _, r := range batch.Run(context.Background(), arts) {
			if r.Err != nil {
				b.Fatal(r.Err)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Seconds())/float64(b.N)/200*1e3, "ms/artifact")
}

// BenchmarkHashFile streams a 256 MiB file: memory per op stays flat
// (a fixed copy buffer), whatever the size.
func BenchmarkHashFile(b *testing.B) {
	p := filepath.Join(b.TempDir(), "big")
	f, err := os.Create(p)
	if err != nil {
		b.Fatal(err)
	}
	if err := f.Truncate(256 << 20); err != nil {
		b.Fatal(err)
	}
	f.Close()
	b.SetBytes(256 << 20)
	b.ResetTimer()
	for b.Loop() {
		if _, err := HashFile(p); err != nil {
			b.Fatal(err)
		}
	}
}
