// Package syntheticgate is the `synthetic` gate kind: per-tenant synthetic
// load on an open-model schedule (internal/load) against a multi-tenant
// service, in five scenarios that map to the release checklist — SLO
// compliance, the rate-anomaly guard, the graph-complexity guard, the
// ingest validator and heavy-tenant isolation.
//
// A run can be split over shards (Shard, `--shard i/n`) whose Results are
// merged exactly by Merge: counts add and histograms merge, percentiles
// are never averaged.
package syntheticgate

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/maestro-conductor/releasegate/internal/gate"
	"github.com/maestro-conductor/releasegate/internal/gates/command/jsonpath"
	"github.com/maestro-conductor/releasegate/internal/load"
)

// Kind is the gate kind's name in the policy.
const Kind = "synthetic"

func init() {
	gate.RegisterTyped(gate.Typed[Spec]{
		Name:    Kind,
		Group:   "slo",
		Summary: "open-model per-tenant synthetic load: SLO compliance, rate-anomaly and graph-complexity guards, ingest validator, heavy-tenant isolation",
		New: func(m gate.Meta, s Spec, env gate.Env) (gate.Gate, error) {
			return New(m, s, env)
		},
	})
}

// Gate runs one synthetic scenario.
type Gate struct {
	meta  gate.Meta
	spec  Spec
	shard Shard
	logf  func(string, ...any)
	// client, when set, replaces the client built from the spec (tests).
	client *http.Client
}

// New builds a gate. The shard comes from ShardEnv in env.
func New(m gate.Meta, s Spec, env gate.Env) (*Gate, error) {
	if errs := s.Validate(); len(errs) > 0 {
		return nil, &gate.InputError{Input: "with", Err: errors.Join(errs...)}
	}
	s = s.withDefaults()
	sh := Shard{1, 1}
	if env.Getenv != nil {
		var err error
		if sh, err = ParseShard(env.Getenv(ShardEnv)); err != nil {
			return nil, &gate.InputError{Input: ShardEnv, Err: err}
		}
	}
	if s.LoopbackOnly {
		u, _ := url.Parse(s.Target)
		if err := loopbackHost(u.Hostname()); err != nil {
			return nil, &gate.InputError{Input: "with.target", Err: err}
		}
	}
	logf := env.Logf
	if logf == nil {
		logf = func(string, ...any) {}
	}
	return &Gate{meta: m, spec: s, shard: sh, logf: logf}, nil
}

func loopbackHost(h string) error {
	if h == "localhost" {
		return nil
	}
	if ip, err := netip.ParseAddr(h); err == nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("%w: %q; loopback-only is set, so only localhost and loopback addresses are allowed", load.ErrNotLoopback, h)
}

// Name is the gate's id.
func (g *Gate) Name() string { return g.meta.ID }

// Describe says what the gate is about to do.
func (g *Gate) Describe() string {
	return fmt.Sprintf("%s scenario against %s for %d tenant(s), shard %s", g.spec.Scenario, g.spec.Target, len(g.shard.Tenants(judgedTenants(g.spec))), g.shard)
}

func (g *Gate) httpClient() *http.Client {
	if g.client != nil {
		return g.client
	}
	var dial = load.LoopbackOnly
	if !g.spec.LoopbackOnly {
		dial = nil
	}
	c := load.NewClient(g.spec.MaxInFlight, g.spec.Timeout.D(), dial)
	if g.spec.InsecureSkipVerifyUnsafe {
		c.Transport.(*http.Transport).TLSClientConfig = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // opted into by the policy's …Unsafe key
	}
	return c
}

// Run sends the scenario's load and judges it.
func (g *Gate) Run(ctx context.Context) (*gate.Result, error) {
	s := g.spec
	streams, judge, err := plan(s, g.shard)
	if err != nil {
		return nil, &gate.InputError{Input: "with.scenario", Err: err}
	}
	if len(streams) == 0 {
		msg := fmt.Sprintf("shard %s has no tenants (%d tenants over %d shards); nothing to judge here", g.shard, len(s.Tenants), g.shard.N)
		return &gate.Result{Status: gate.StatusSkip, Summary: msg,
			Checks:  []gate.Check{{Name: "shard tenants", Status: gate.StatusSkip, Observed: gate.Int(0), Message: msg}},
			Details: map[string]any{DetailsKey: &Record{Judge: judge, Shards: []string{g.shard.String()}, Run: &load.Run{}}}}, nil
	}
	client := g.httpClient()
	var before map[string]int64
	if s.Scenario == ScenarioIngestValidator {
		if before, err = g.readAudit(ctx, client); err != nil {
			return nil, err
		}
	}
	eng := load.New(load.Config{
		Client: client, MaxInFlight: s.MaxInFlight, Timeout: s.Timeout.D(), LateTolerance: s.LateTolerance.D(),
		Progress: func(sent, planned int64, el time.Duration) {
			g.logf("  %s: %d/%d requests sent after %s", g.meta.ID, sent, planned, el.Round(time.Second))
		},
	})
	run, err := eng.Run(ctx, streams)
	if err != nil {
		return nil, err
	}
	tot := run.Totals()
	if tot.Responses == 0 {
		return nil, unreachable(s.Target, tot)
	}
	rec := &Record{Judge: judge, Shards: []string{g.shard.String()}, Run: run}
	if before != nil {
		after, err := g.readAudit(ctx, client)
		if err != nil {
			return nil, err
		}
		rec.Audit = map[string]int64{}
		for k, v := range after {
			rec.Audit[k] = v - before[k]
		}
	}
	res := Judged(rec)
	res.Inputs = []gate.Input{{Name: "target", URI: s.Target}}
	return res, nil
}

// unreachable explains a run in which no request got an answer.
func unreachable(target string, tot *load.StreamResult) error {
	top, n := "", int64(0)
	for k, v := range tot.Errors {
		if v > n || v == n && k < top {
			top, n = k, v
		}
	}
	advice := "check the target URL and that the service is up"
	switch top {
	case load.ClassTLS:
		advice = "the TLS handshake failed: check the certificate, its issuer and the host name in target"
	case load.ClassRefused:
		advice = "nothing listens there: start the service or fix the port in target"
	case load.ClassReset:
		advice = "the service closes connections without answering: check its logs"
	case load.ClassTimeout:
		advice = "the service did not answer within the timeout: check that it is healthy or raise timeout"
	case load.ClassNotLoopback:
		advice = "loopback-only is set and the target is not a loopback address"
	case load.ClassBadResponse:
		advice = "the answers are not HTTP/1.x: check that target's port serves plain HTTP (use https:// for TLS)"
	}
	return fmt.Errorf("%w: %s: no answer to any of %d requests (%s); %s", gate.ErrUnreachable, target, tot.Sent, errorSummary(tot), advice)
}

// Judged turns a record into a Result: its checks and summary, for the
// runner to fold (see verdict). A run whose schedule slipped is declared an
// error (the rate could not be reached), never a pass and never blamed on
// the service; the runner keeps the worse of that and the folded checks.
func Judged(rec *Record) *gate.Result {
	res := &gate.Result{Details: map[string]any{DetailsKey: rec}}
	res.Checks = Evaluate(rec)
	if len(res.Checks) == 0 && shardCount(rec) > 1 {
		// Only a shard can judge nothing: it holds none of the judged
		// tenants, only its share of the special tenant's load, which the
		// merge judges. That is a skip with its reason, never a failure.
		msg := fmt.Sprintf("shard %s judges no tenant of its own (%d judged tenants over %d shards); it ran its share of tenant %s's load, which the merge of all shards judges",
			strings.Join(rec.Shards, "+"), len(rec.Judge.Tenants)-btoi(rec.Judge.Special != ""), shardCount(rec), rec.Judge.Special)
		res.Checks = []gate.Check{{Name: "shard tenants", Status: gate.StatusSkip, Observed: gate.Int(0), Message: msg}}
		res.Status, res.Summary = gate.StatusSkip, msg
	} else {
		res.Summary = fmt.Sprintf("%s: %d tenant(s), %d requests, %d checks failed of %d (shard %s)",
			rec.Judge.Scenario, tenantsIn(rec), rec.Run.Totals().Sent, res.Counts()[gate.StatusFail], len(res.Checks), strings.Join(rec.Shards, "+"))
	}
	if sf := rec.Run.Shortfall(); sf != "" {
		res.Status = gate.StatusError
		res.Error = "rate not reached: " + sf
		res.Summary = "could not evaluate: " + res.Error
	}
	return res
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

func shardCount(rec *Record) int {
	if len(rec.Shards) == 0 {
		return 1
	}
	sh, _ := ParseShard(rec.Shards[0])
	return sh.N
}

func tenantsIn(rec *Record) int {
	seen := map[string]bool{}
	for _, s := range rec.Run.Streams {
		seen[s.Tenant] = true
	}
	return len(seen)
}

// readAudit reads the rejected-payload counter, per tenant when the URL
// has {tenant}. A missing or non-numeric counter is an error: an
// unverifiable audit never passes.
func (g *Gate) readAudit(ctx context.Context, c *http.Client) (map[string]int64, error) {
	s := g.spec
	out := map[string]int64{}
	tenants := []string{"*"}
	if strings.Contains(s.Ingest.AuditURL, "{tenant}") {
		tenants = g.shard.Tenants(s.Tenants)
	}
	sort.Strings(tenants)
	for _, t := range tenants {
		u := strings.ReplaceAll(s.Ingest.AuditURL, "{tenant}", url.QueryEscape(t))
		if !strings.Contains(u, "://") {
			u = strings.TrimRight(s.Target, "/") + "/" + strings.TrimLeft(u, "/")
		}
		n, err := fetchCount(ctx, c, u, s.TenantHeader, t, s.Ingest.AuditField)
		if err != nil {
			return nil, err
		}
		out[t] = n
	}
	return out, nil
}

func fetchCount(ctx context.Context, c *http.Client, u, header, tenant string, field jsonpath.Path) (int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return 0, &gate.InputError{Input: "with.ingest.audit-url", Err: err}
	}
	if tenant != "*" {
		req.Header.Set(header, tenant)
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, fmt.Errorf("%w: audit counter %s: %v", gate.ErrUnreachable, u, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil || resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("%w: audit counter %s answered %d; expected 200 with a JSON document", gate.ErrNoData, u, resp.StatusCode)
	}
	doc, err := jsonpath.Decode(body)
	if err != nil {
		return 0, fmt.Errorf("%w: audit counter %s is not JSON: %v", gate.ErrNoData, u, err)
	}
	v, err := field.Lookup(doc)
	if err != nil {
		return 0, fmt.Errorf("%w: audit counter %s has no %s: %v; set ingest.audit-field", gate.ErrNoData, u, field, err)
	}
	n, ok := v.(json.Number)
	i, err := n.Int64()
	if !ok || err != nil || i < 0 {
		return 0, fmt.Errorf("%w: audit counter %s field %s is %v, expected a count", gate.ErrNoData, u, field, v)
	}
	return i, nil
}
