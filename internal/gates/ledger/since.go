package ledgergate

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/maestro-conductor/releasegate/internal/fsx"
	"github.com/maestro-conductor/releasegate/internal/gate"
	"github.com/maestro-conductor/releasegate/internal/ledger"
)

// sinceResult is one tenant's incremental verify: its report, or the
// reason its checkpoint was refused.
type sinceResult struct {
	rep *ledger.SinceReport
	err error
}

// verify checks every tenant's chain: in full (or its latest Limit
// entries), or, with since, from the tenant's latest signed checkpoint.
func (g *Gate) verify(ctx context.Context, st *ledger.Store) ([]ledger.Report, map[string]sinceResult, error) {
	if g.spec.Since == "" {
		reps, err := st.VerifyAll(ctx, ledger.VerifyOptions{Tenants: g.spec.Tenants, Limit: g.spec.Limit})
		return reps, nil, err
	}
	key, err := ledger.ReadKey(g.spec.PublicKey)
	if err != nil {
		return nil, nil, &gate.InputError{Input: "with.public-key", Err: err}
	}
	cps, isDir, err := g.sinceCheckpoints()
	if err != nil {
		return nil, nil, err
	}
	tenants := g.spec.Tenants
	if len(tenants) == 0 && !isDir {
		tenants = slices.Collect(maps.Keys(cps)) // one checkpoint file: its tenant
	}
	if len(tenants) == 0 {
		if tenants, err = st.Tenants(ctx); err != nil {
			return nil, nil, err
		}
		if len(tenants) == 0 {
			return nil, nil, fmt.Errorf("%w: the ledger has no tenants; expected at least one entry", ledger.ErrEmpty)
		}
	}
	var full []string
	since := map[string]sinceResult{}
	var reps []ledger.Report
	for _, t := range tenants {
		signed, ok := cps[t]
		if !ok {
			full = append(full, t)
			continue
		}
		r, err := st.VerifySince(ctx, signed, key, t)
		switch {
		case err == nil:
			since[t] = sinceResult{rep: &r}
		case errors.Is(err, ledger.ErrBadSignature), errors.Is(err, ledger.ErrBadCheckpoint), errors.Is(err, ledger.ErrRootMismatch), errors.Is(err, ledger.ErrEmpty):
			since[t] = sinceResult{err: err}
			r.Report = ledger.Report{Tenant: t}
		default:
			return nil, nil, err
		}
		reps = append(reps, r.Report)
	}
	var verr error
	if len(full) > 0 {
		var more []ledger.Report
		more, verr = st.VerifyAll(ctx, ledger.VerifyOptions{Tenants: full})
		reps = append(reps, more...)
	}
	slices.SortFunc(reps, func(a, b ledger.Report) int { return strings.Compare(a.Tenant, b.Tenant) })
	return reps, since, verr
}

// sinceCheckpoints reads the since setting: one checkpoint file (its
// tenant's), or a directory holding TENANT-DAY.checkpoint files, of which
// each tenant's latest day is taken.
func (g *Gate) sinceCheckpoints() (map[string][]byte, bool, error) {
	cps, isDir, err := g.readSince()
	if err != nil {
		return nil, isDir, &gate.InputError{Input: "with.since", Err: err}
	}
	return cps, isDir, nil
}

func (g *Gate) readSince() (map[string][]byte, bool, error) {
	fi, err := os.Stat(g.spec.Since)
	if err != nil {
		return nil, false, err
	}
	files := []string{g.spec.Since}
	if fi.IsDir() {
		if files, err = filepath.Glob(filepath.Join(g.spec.Since, "*.checkpoint")); err != nil {
			return nil, true, err
		}
	}
	out, days := map[string][]byte{}, map[string]string{}
	for _, f := range files {
		b, err := fsx.ReadFile(context.Background(), f, fsx.MaxDocSize)
		if err != nil {
			return nil, fi.IsDir(), err
		}
		c, err := ledger.ReadCheckpointFile(b)
		if err != nil {
			return nil, fi.IsDir(), fmt.Errorf("%s: %w", f, err)
		}
		if c.Day > days[c.Tenant] {
			out[c.Tenant], days[c.Tenant] = b, c.Day
		}
	}
	if len(out) == 0 {
		return nil, true, fmt.Errorf("%s holds no .checkpoint files; point since at the --out directory of `releasegate ledger root`", g.spec.Since)
	}
	if !fi.IsDir() && len(g.spec.Tenants) > 0 {
		for t := range out {
			if !slices.Contains(g.spec.Tenants, t) {
				return nil, false, fmt.Errorf("%w: %s is tenant %s's checkpoint, not one of tenants %v", ledger.ErrOtherOrigin, g.spec.Since, t, g.spec.Tenants)
			}
		}
	}
	return out, fi.IsDir(), nil
}
