package provenance

import (
	"fmt"

	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/tuf"
)

// PublicGoodTUF is the Sigstore public-good TUF repository.
const PublicGoodTUF = "https://tuf-repo-cdn.sigstore.dev"

// OnlineOptions configure FetchTrustedRoot, the only function of this
// package that uses the network.
type OnlineOptions struct {
	// Mirror is the TUF repository; default PublicGoodTUF.
	Mirror string
	// InitialRoot is the TUF root.json to start from; default the
	// public-good root embedded in sigstore-go.
	InitialRoot []byte
	// CacheDir keeps TUF metadata between runs; empty disables the cache.
	CacheDir string
}

// FetchTrustedRoot refreshes the Sigstore trusted root over TUF: it is the
// explicit online opt-in. Offline verification never calls it.
func FetchTrustedRoot(o OnlineOptions) (*root.TrustedRoot, error) {
	opts := tuf.DefaultOptions()
	if o.Mirror != "" {
		opts.WithRepositoryBaseURL(o.Mirror)
	}
	if o.InitialRoot != nil {
		opts.WithRoot(o.InitialRoot)
	}
	if o.CacheDir == "" {
		opts.WithDisableLocalCache()
	} else {
		opts.WithCachePath(o.CacheDir)
	}
	tr, err := root.FetchTrustedRootWithOptions(opts)
	if err != nil {
		mirror := opts.RepositoryBaseURL
		return nil, fmt.Errorf("refreshing the trusted root from %s over TUF: %w; check the network or pin trusted-root to verify offline", mirror, err)
	}
	return tr, nil
}
