package githubapi

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"sync"
)

// Cache keeps GET responses with their ETags on disk so that a later run
// can send If-None-Match and reuse the body on 304. Entries are keyed by
// URL and a hash of the token (never the token itself), so two identities
// never share an entry. A corrupt or unreadable entry is a cache miss.
type Cache struct {
	dir string
	mu  sync.Mutex
}

// NewCache returns a cache in dir, creating it.
func NewCache(dir string) (*Cache, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	return &Cache{dir: dir}, nil
}

type entry struct {
	ETag string `json:"etag"`
	Next string `json:"next,omitempty"`
	Body []byte `json:"body"`
}

func (c *Cache) key(url, token string) string {
	h := sha256.New()
	h.Write([]byte(url))
	h.Write([]byte{0})
	t := sha256.Sum256([]byte(token))
	h.Write(t[:])
	return hex.EncodeToString(h.Sum(nil))
}

func (c *Cache) path(key string) string { return filepath.Join(c.dir, key[:2], key+".json") }

func (c *Cache) get(key string) *entry {
	b, err := os.ReadFile(c.path(key))
	if err != nil {
		return nil
	}
	var e entry
	if json.Unmarshal(b, &e) != nil || e.ETag == "" {
		return nil
	}
	return &e
}

func (c *Cache) put(key string, e *entry) {
	b, err := json.Marshal(e)
	if err != nil {
		return
	}
	p := c.path(key)
	c.mu.Lock()
	defer c.mu.Unlock()
	if os.MkdirAll(filepath.Dir(p), 0o700) != nil {
		return
	}
	tmp := p + ".tmp"
	if os.WriteFile(tmp, b, 0o600) == nil {
		_ = os.Rename(tmp, p)
	}
}
