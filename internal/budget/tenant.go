package budget

import (
	"errors"
	"fmt"
	"path"
	"slices"
	"sort"
	"strings"

	"github.com/maestro-conductor/releasegate/internal/gate"
)

// Repo is a repository as tenants see it.
type Repo struct {
	// Name is "owner/name" (or "name" when the source omits the owner).
	Name string
	// Topics are the repository's topics, when the source gives them.
	Topics []string
}

// Tenant is a named set of repositories: by exact name, by topic, or by a
// glob over the name.
type Tenant struct {
	Name     string
	Repos    []string
	Topics   []string
	Patterns []string
}

// Matches reports whether the repository belongs to the tenant. Names and
// patterns match either "owner/name" or the bare "name".
func (t Tenant) Matches(r Repo) bool {
	full := strings.ToLower(r.Name)
	short := full
	if i := strings.LastIndex(full, "/"); i >= 0 {
		short = full[i+1:]
	}
	for _, n := range t.Repos {
		n = strings.ToLower(n)
		if n == full || n == short {
			return true
		}
	}
	for _, p := range t.Patterns {
		p = strings.ToLower(p)
		if ok, _ := path.Match(p, full); ok {
			return true
		}
		if ok, _ := path.Match(p, short); ok {
			return true
		}
	}
	for _, tp := range t.Topics {
		if slices.ContainsFunc(r.Topics, func(s string) bool { return strings.EqualFold(s, tp) }) {
			return true
		}
	}
	return false
}

// Tenants is the policy's tenant list.
type Tenants []Tenant

// Validate reports every tenant without a name, with no selector, with a
// malformed glob, or sharing a name or an exact repository with another.
func (ts Tenants) Validate() []error {
	var errs []error
	names := map[string]int{}
	repos := map[string]string{}
	for i, t := range ts {
		at := func(f string) string { return fmt.Sprintf("tenants[%d].%s", i, f) }
		if t.Name == "" {
			errs = append(errs, &gate.InputError{Input: at("name"), Err: errors.New("empty; every tenant needs a name")})
		} else if j, dup := names[t.Name]; dup {
			errs = append(errs, &gate.InputError{Input: at("name"), Err: fmt.Errorf("tenant %q is already defined at tenants[%d]", t.Name, j)})
		}
		names[t.Name] = i
		if len(t.Repos)+len(t.Topics)+len(t.Patterns) == 0 {
			errs = append(errs, &gate.InputError{Input: at("repos"), Err: fmt.Errorf("tenant %q selects no repositories; give repos, topics or patterns", t.Name)})
		}
		for k, p := range t.Patterns {
			if _, err := path.Match(p, ""); err != nil {
				errs = append(errs, &gate.InputError{Input: at(fmt.Sprintf("patterns[%d]", k)), Err: fmt.Errorf("%q is not a valid glob", p)})
			}
		}
		for k, r := range t.Repos {
			key := strings.ToLower(r)
			if other, dup := repos[key]; dup && other != t.Name {
				errs = append(errs, &gate.InputError{Input: at(fmt.Sprintf("repos[%d]", k)),
					Err: fmt.Errorf("repository %s is in both tenant %q and tenant %q; a repository's spend belongs to one tenant", r, other, t.Name)})
			}
			repos[key] = t.Name
		}
	}
	return errs
}

// overlapError says a repository matched more than one tenant.
type overlapError struct {
	Repo    string
	Tenants []string
}

func (e *overlapError) Error() string {
	return fmt.Sprintf("repository %s matches tenants %s; a repository's spend belongs to one tenant: narrow the patterns or topics", e.Repo, strings.Join(e.Tenants, " and "))
}

// Is makes an OverlapError match gate.ErrBadInput.
func (e *overlapError) Is(target error) bool { return target == gate.ErrBadInput }

// Owner returns the only tenant the repository belongs to.
func (ts Tenants) Owner(r Repo) (Tenant, bool) {
	for _, t := range ts {
		if t.Matches(r) {
			return t, true
		}
	}
	return Tenant{}, false
}

// Assign maps each repository to its tenant. A repository matched by two
// tenants is an OverlapError (all of them are reported); repositories no
// tenant claims are left out.
func (ts Tenants) Assign(repos []Repo) (map[string]string, error) {
	out := map[string]string{}
	var errs []error
	for _, r := range repos {
		var hit []string
		for _, t := range ts {
			if t.Matches(r) {
				hit = append(hit, t.Name)
			}
		}
		switch len(hit) {
		case 0:
		case 1:
			out[r.Name] = hit[0]
		default:
			sort.Strings(hit)
			errs = append(errs, &overlapError{Repo: r.Name, Tenants: hit})
		}
	}
	return out, errors.Join(errs...)
}

// Find returns the tenant with the given name.
func (ts Tenants) Find(name string) (Tenant, bool) {
	for _, t := range ts {
		if t.Name == name {
			return t, true
		}
	}
	return Tenant{}, false
}
