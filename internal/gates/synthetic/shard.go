package syntheticgate

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// ShardEnv is the environment variable that selects a shard ("i/n") for
// every synthetic gate of a run, e.g. from a GitHub Actions matrix. The
// `releasegate synthetic --shard` flag sets it.
const ShardEnv = "RELEASEGATE_SYNTHETIC_SHARD"

// Shard is the i-th of n parts of the tenants (1 ≤ I ≤ N). The zero
// value and 1/1 are the whole run.
type Shard struct {
	I, N int
}

// ParseShard parses "i/n" with 1 ≤ i ≤ n; "" is the whole run.
func ParseShard(s string) (Shard, error) {
	if s == "" {
		return Shard{1, 1}, nil
	}
	a, b, ok := strings.Cut(s, "/")
	i, err1 := strconv.Atoi(strings.TrimSpace(a))
	n, err2 := strconv.Atoi(strings.TrimSpace(b))
	if !ok || err1 != nil || err2 != nil || n < 1 || i < 1 || i > n || n > 1000 {
		return Shard{}, fmt.Errorf("shard %q: expected i/n with 1 ≤ i ≤ n ≤ 1000, e.g. 1/2", s)
	}
	return Shard{i, n}, nil
}

// String formats the shard as "i/n".
func (s Shard) String() string {
	if s.N == 0 {
		return "1/1"
	}
	return fmt.Sprintf("%d/%d", s.I, s.N)
}

// Tenants returns this shard's tenants: the sorted tenant list dealt
// round-robin, so every shard's share is deterministic, independent of
// the order in the policy, and the shards differ in size by at most one.
func (s Shard) Tenants(all []string) []string {
	sorted := slices.Clone(all)
	slices.Sort(sorted)
	if s.N <= 1 {
		return sorted
	}
	var out []string
	for k, t := range sorted {
		if k%s.N == s.I-1 {
			out = append(out, t)
		}
	}
	return out
}
