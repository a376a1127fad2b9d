package provenancegate

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/maestro-conductor/releasegate/internal/gate"
	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	"google.golang.org/protobuf/encoding/protojson"
)

const bundleType = "application/vnd.dev.sigstore.bundle.v0.3+json"

// signedDigestBundle is a key-signed bundle over a manifest digest.
func signedDigestBundle(t *testing.T, key *ecdsa.PrivateKey, digest v1.Hash) []byte {
	t.Helper()
	raw, err := hex.DecodeString(digest.Hex)
	if err != nil {
		t.Fatal(err)
	}
	sig, err := ecdsa.SignASN1(rand.Reader, key, raw)
	if err != nil {
		t.Fatal(err)
	}
	b, err := protojson.Marshal(&protobundle.Bundle{
		MediaType:            bundleType,
		VerificationMaterial: &protobundle.VerificationMaterial{Content: &protobundle.VerificationMaterial_PublicKey{PublicKey: &protocommon.PublicKeyIdentifier{Hint: "k"}}},
		Content: &protobundle.Bundle_MessageSignature{MessageSignature: &protocommon.MessageSignature{
			MessageDigest: &protocommon.HashOutput{Algorithm: protocommon.HashAlgorithm_SHA2_256, Digest: raw}, Signature: sig}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// pushImage pushes a random image to repo:tag and, when bundle is set,
// attaches it as an OCI 1.1 referrer; it returns the image digest.
func pushImage(t *testing.T, repo name.Repository, tag string, bundle func(v1.Hash) []byte) v1.Hash {
	t.Helper()
	img, err := random.Image(256, 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(repo.Tag(tag), img); err != nil {
		t.Fatal(err)
	}
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	if bundle == nil {
		return d
	}
	desc, err := remote.Head(repo.Digest(d.String()))
	if err != nil {
		t.Fatal(err)
	}
	att := mutate.ConfigMediaType(empty.Image, types.MediaType(bundleType))
	att, err = mutate.AppendLayers(att, static.NewLayer(bundle(d), types.MediaType(bundleType)))
	if err != nil {
		t.Fatal(err)
	}
	att = mutate.Subject(att, *desc).(v1.Image)
	ad, err := att.Digest()
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(repo.Digest(ad.String()), att); err != nil {
		t.Fatal(err)
	}
	return d
}

func TestImagesInProcessRegistry(t *testing.T) {
	t.Parallel()
	repo := testRepository(t)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	signed := pushImage(t, repo, "v1", func(d v1.Hash) []byte { return signedDigestBundle(t, key, d) })
	forged := pushImage(t, repo, "forged", func(d v1.Hash) []byte { return signedDigestBundle(t, other, d) })
	unsigned := pushImage(t, repo, "unsigned", nil)

	dir := t.TempDir()
	der, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err := os.WriteFile(filepath.Join(dir, "cosign.pub"), pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		ref    string
		want   map[string]gate.Status
		digest string
	}{
		{"a signed image by digest passes", repo.Name() + "@" + signed.String(),
			map[string]gate.Status{"signature " + repo.Name() + "@" + signed.String(): gate.StatusPass}, signed.String()},
		{"a signed image by tag passes and warns that the tag is not pinned", repo.Name() + ":v1",
			map[string]gate.Status{"signature " + repo.Name() + ":v1": gate.StatusPass, "pinned " + repo.Name() + ":v1": gate.StatusWarn}, signed.String()},
		{"a signature by another key fails", repo.Name() + "@" + forged.String(),
			map[string]gate.Status{"signature " + repo.Name() + "@" + forged.String(): gate.StatusFail}, forged.String()},
		{"an image without bundles fails", repo.Name() + "@" + unsigned.String(),
			map[string]gate.Status{"signature " + repo.Name() + "@" + unsigned.String(): gate.StatusFail}, unsigned.String()},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			g := New(gate.Meta{ID: "image"}, Spec{Images: []string{tc.ref}, Key: "cosign.pub", InsecureIgnoreTlog: true}, gate.Env{PolicyDir: dir})
			res, err := evaluate(context.Background(), g)
			if err != nil {
				t.Fatal(err)
			}
			seen := 0
			for _, c := range res.Checks {
				if c.Name == "transparency log" {
					continue
				}
				seen++
				if want, ok := tc.want[c.Name]; !ok || want != c.Status {
					t.Errorf("check %q = %s (%s), want %v", c.Name, c.Status, c.Message, tc.want[c.Name])
				}
			}
			if seen != len(tc.want) {
				t.Errorf("%d checks, want %d: %+v", seen, len(tc.want), res.Checks)
			}
			found := false
			for _, in := range res.Inputs {
				found = found || in.Digest == tc.digest
			}
			if !found {
				t.Errorf("inputs %+v do not record the digest %s", res.Inputs, tc.digest)
			}
		})
	}
}

// testRepository is acme/api in an in-process OCI registry (with the
// referrers API) that lives as long as the test.
func testRepository(t *testing.T) name.Repository {
	t.Helper()
	srv := httptest.NewServer(registry.New(registry.WithReferrersSupport(true), registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	repo, err := name.NewRepository(strings.TrimPrefix(srv.URL, "http://") + "/acme/api")
	if err != nil {
		t.Fatal(err)
	}
	return repo
}
