// Package oci fetches what provenance verification needs from an OCI
// registry: the digest a reference resolves to, the Sigstore bundles
// attached to that digest as OCI 1.1 referrers (cosign
// --new-bundle-format, GitHub artifact attestations pushed to a
// registry), and cosign's legacy signatures under the sha256-<hex>.sig tag. Verification itself is internal/provenance's; this package
// only talks to the registry.
package oci

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/maestro-conductor/releasegate/internal/outbound"
	prov "github.com/maestro-conductor/releasegate/internal/provenance"
	"github.com/maestro-conductor/releasegate/internal/redact"
)

// maxBundle bounds a bundle layer read from a registry.
const maxBundle = 16 << 20

// BundleArtifactPrefix is how the artifact type of a Sigstore bundle
// referrer starts ("application/vnd.dev.sigstore.bundle.v0.3+json", or
// "application/vnd.dev.sigstore.bundle+json;version=0.2").
const BundleArtifactPrefix = "application/vnd.dev.sigstore.bundle"

// ErrNoBundles means the image has no Sigstore bundle attached.
var ErrNoBundles = errors.New("no Sigstore bundle attached")

// ErrNoLegacySignatures means the image has no cosign signature (or
// attestation) tag.
var ErrNoLegacySignatures = errors.New("no cosign signature tag")

// Legacy annotations of cosign's signature manifests.
const (
	annotationSignature   = "dev.cosignproject.cosign/signature"
	annotationCertificate = "dev.sigstore.cosign/certificate"
	annotationChain       = "dev.sigstore.cosign/chain"
	annotationBundle      = "dev.sigstore.cosign/bundle"
)

// LegacySignatureTag is the tag cosign stores the signatures of a digest
// under, before bundles: sha256-<hex>.sig in the same repository.
func LegacySignatureTag(d name.Digest) name.Tag { return legacyTag(d, ".sig") }

// LegacyAttestationTag is where cosign stores attestations (`cosign
// attest` without --new-bundle-format, as slsa-github-generator's container
// generator does): sha256-<hex>.att.
func LegacyAttestationTag(d name.Digest) name.Tag { return legacyTag(d, ".att") }

func legacyTag(d name.Digest, suffix string) name.Tag {
	return d.Context().Tag(strings.Replace(d.DigestStr(), ":", "-", 1) + suffix)
}

// LegacySignatures reads cosign's legacy signatures of the digest: the
// simple-signing layers of the sha256-<hex>.sig manifest with their
// annotations. No such tag is ErrNoLegacySignatures.
func LegacySignatures(ctx context.Context, d name.Digest, opts ...remote.Option) ([]prov.LegacySignature, error) {
	return legacyLayers(ctx, LegacySignatureTag(d), prov.SimpleSigningMediaType, opts)
}

// LegacyAttestations reads cosign's legacy attestations of the digest:
// the DSSE-envelope layers of the sha256-<hex>.att manifest with their
// annotations (certificate, chain, Rekor entry). No such tag is
// ErrNoLegacySignatures.
func LegacyAttestations(ctx context.Context, d name.Digest, opts ...remote.Option) ([]prov.LegacySignature, error) {
	return legacyLayers(ctx, LegacyAttestationTag(d), prov.DSSEMediaType, opts)
}

// withDefaults puts the shared outbound rules before the caller's options
// (a caller's WithTransport still wins): error bodies are cut and
// sanitized before the registry client quotes them, and redirects may go
// to another public https host (registries send blobs to a CDN) but never
// to a link-local, metadata, loopback or private address, nor from https
// to http.
func withDefaults(ctx context.Context, opts []remote.Option) []remote.Option {
	tr := &redact.Transport{Base: &outbound.Transport{Base: remote.DefaultTransport, Policy: outbound.Policy{CrossOrigin: true}}}
	return append(append([]remote.Option{remote.WithTransport(tr)}, opts...), remote.WithContext(ctx))
}

func legacyLayers(ctx context.Context, tag name.Tag, mediaType string, opts []remote.Option) ([]prov.LegacySignature, error) {
	opts = withDefaults(ctx, opts)
	img, err := remote.Image(tag, opts...)
	if err != nil {
		var terr *transport.Error
		if errors.As(err, &terr) && terr.StatusCode == http.StatusNotFound {
			return nil, fmt.Errorf("%s: %w", tag, ErrNoLegacySignatures)
		}
		return nil, fmt.Errorf("fetching %s: %w", tag, err)
	}
	m, err := img.Manifest()
	if err != nil {
		return nil, fmt.Errorf("fetching %s: %w", tag, err)
	}
	var out []prov.LegacySignature
	for _, desc := range m.Layers {
		if string(desc.MediaType) != mediaType {
			continue
		}
		l, err := img.LayerByDigest(desc.Digest)
		if err != nil {
			return nil, fmt.Errorf("fetching %s layer %s: %w", tag, desc.Digest, err)
		}
		payload, err := readLayer(l)
		if err != nil {
			return nil, fmt.Errorf("fetching %s layer %s: %w", tag, desc.Digest, err)
		}
		a := desc.Annotations
		out = append(out, prov.LegacySignature{Payload: payload, Signature: a[annotationSignature],
			Certificate: a[annotationCertificate], Chain: a[annotationChain], RekorBundle: a[annotationBundle]})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: %w; expected layers of media type %s", tag, ErrNoLegacySignatures, mediaType)
	}
	return out, nil
}

// Resolved is an image reference pinned to a digest.
type Resolved struct {
	// Ref is the reference as given.
	Ref string
	// Digest is the manifest digest it resolved to.
	Digest name.Digest
	// TagOnly is true when Ref named a tag and no digest: the tag was
	// resolved now and may point elsewhere tomorrow.
	TagOnly bool
}

// Hex is the manifest's sha256 in hex.
func (r Resolved) Hex() string { return strings.TrimPrefix(r.Digest.DigestStr(), "sha256:") }

// Resolve pins ref to a digest. A reference with a digest is not looked
// up; a tag is resolved with a HEAD request.
func Resolve(ctx context.Context, ref string, opts ...remote.Option) (Resolved, error) {
	r, err := name.ParseReference(ref, name.StrictValidation)
	if err != nil {
		if r, err = name.ParseReference(ref); err != nil {
			return Resolved{}, fmt.Errorf("image %q: %w; expected registry/repository:tag or @sha256:digest", ref, err)
		}
	}
	if d, ok := r.(name.Digest); ok {
		if !strings.HasPrefix(d.DigestStr(), "sha256:") {
			return Resolved{}, fmt.Errorf("image %q: expected a sha256 digest", ref)
		}
		return Resolved{Ref: ref, Digest: d}, nil
	}
	desc, err := remote.Head(r, withDefaults(ctx, opts)...)
	if err != nil {
		return Resolved{}, fmt.Errorf("resolving %s: %w", ref, err)
	}
	if desc.Digest.Algorithm != "sha256" {
		return Resolved{}, fmt.Errorf("resolving %s: digest %s, expected sha256", ref, desc.Digest)
	}
	return Resolved{Ref: ref, Digest: r.Context().Digest(desc.Digest.String()), TagOnly: true}, nil
}

// Bundles returns the Sigstore bundles (JSON) attached to the digest as
// referrers, in the registry's order.
func Bundles(ctx context.Context, d name.Digest, opts ...remote.Option) ([][]byte, error) {
	opts = withDefaults(ctx, opts)
	idx, err := remote.Referrers(d, opts...)
	if err != nil {
		return nil, fmt.Errorf("listing referrers of %s: %w", d, err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("listing referrers of %s: %w", d, err)
	}
	var out [][]byte
	for _, desc := range im.Manifests {
		if !strings.HasPrefix(desc.ArtifactType, BundleArtifactPrefix) {
			continue
		}
		b, err := bundleLayer(d.Context().Digest(desc.Digest.String()), opts)
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: %w; expected a referrer of artifact type %s… (cosign attest --new-bundle-format, or GitHub attestations pushed to the registry)", d, ErrNoBundles, BundleArtifactPrefix)
	}
	return out, nil
}

func bundleLayer(ref name.Digest, opts []remote.Option) ([]byte, error) {
	img, err := remote.Image(ref, opts...)
	if err != nil {
		return nil, fmt.Errorf("fetching bundle %s: %w", ref, err)
	}
	layers, err := img.Layers()
	if err != nil {
		return nil, fmt.Errorf("fetching bundle %s: %w", ref, err)
	}
	if len(layers) != 1 {
		return nil, fmt.Errorf("bundle %s has %d layers, expected 1", ref, len(layers))
	}
	return readLayer(layers[0])
}

func readLayer(l v1.Layer) ([]byte, error) {
	rc, err := l.Compressed()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, maxBundle+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxBundle {
		return nil, fmt.Errorf("bundle layer larger than %d bytes", maxBundle)
	}
	return data, nil
}
