package release

import (
	"errors"
	"testing"

	"github.com/maestro-conductor/releasegate/internal/gate"
)

// FuzzDecodeShard: a shard file is outside input (an artifact another job
// uploaded). Whatever its bytes, decoding returns results or an error,
// never panics, and merging what it decoded succeeds or is bad input.
func FuzzDecodeShard(f *testing.F) {
	f.Add([]byte(`{"gate":"g","kind":"synthetic","status":"pass","checks":[]}`))
	f.Add([]byte(`{"policy":{"name":"p","digest":"sha256:aa"},"results":[{"gate":"g","status":"fail"}]}`))
	f.Add([]byte(`{"results":null,"gate":""}`))
	f.Add([]byte(`{"results":[{"gate":"g","checks":[{"observed":"NaN"}]}]}`))
	f.Add([]byte(`[`))
	f.Fuzz(func(t *testing.T, b []byte) {
		rs, pol, err := decodeShard(b)
		if err != nil {
			if rs != nil {
				t.Errorf("an error with results: %v", err)
			}
			return
		}
		// a report may hold no results (a skip); merging any decoded shard
		// either succeeds or refuses it as bad input, never anything else
		rep, err := MergeShards([]Shard{{Name: "fuzz", Results: rs, Policy: pol}}, "releasegate fuzz")
		if err != nil && !errors.Is(err, gate.ErrBadInput) {
			t.Errorf("merge: %v; expected success or bad input", err)
		}
		if err == nil && (rep == nil || !rep.Status.Valid()) {
			t.Errorf("merge: report %+v without a valid status", rep)
		}
	})
}
