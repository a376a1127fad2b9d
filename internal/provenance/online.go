package provenance

import (
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/tuf"
	"github.com/theupdateframework/go-tuf/v2/metadata"

	"github.com/maestro-conductor/releasegate/internal/outbound"
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
	opts.WithFetcher(&tufFetcher{client: &http.Client{
		Transport: &outbound.Transport{Policy: outbound.Policy{CrossOrigin: true}},
	}})
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

// tufFetcher downloads TUF metadata and targets like go-tuf's default
// fetcher, through a client that follows redirects by the shared rule
// (another public https host, e.g. a CDN, is fine; https to http, link-local,
// metadata, loopback and private addresses from elsewhere are not).
type tufFetcher struct {
	client *http.Client
}

// DownloadFile fetches url, refusing more than maxLength bytes.
func (f *tufFetcher) DownloadFile(url string, maxLength int64, timeout time.Duration) ([]byte, error) {
	c := *f.client
	c.Timeout = timeout
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("User-Agent", "releasegate")
	res, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		// go-tuf looks for this type (404/403 end the root rotation walk)
		return nil, &metadata.ErrDownloadHTTP{StatusCode: res.StatusCode, URL: url}
	}
	if n, err := strconv.ParseInt(res.Header.Get("Content-Length"), 10, 64); err == nil && n > maxLength {
		return nil, &metadata.ErrDownloadLengthMismatch{Msg: fmt.Sprintf("download failed for %s, length %d is larger than expected %d", url, n, maxLength)}
	}
	data, err := io.ReadAll(io.LimitReader(res.Body, maxLength+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > maxLength {
		return nil, &metadata.ErrDownloadLengthMismatch{Msg: fmt.Sprintf("download failed for %s, length %d is larger than expected %d", url, len(data), maxLength)}
	}
	return data, nil
}
