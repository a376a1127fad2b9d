// Package slogate holds the metric gates of the checklist: "metric" (PromQL
// checks per tenant, canary vs baseline, repeated measurement) and "slo"
// (SLO objects: multi-window burn rates, error budget remaining), both in
// group "slo", and the infrastructure gates "rules" (alerting and recording
// rule files, optionally loaded in a running Prometheus) and "dashboard"
// (Grafana dashboard JSON), in group "infra".
//
// Every gate fails closed: an empty result, a tenant missing from it, or NaN
// is "no data" (fail unless the policy says on-no-data: warn|skip); an
// unreachable or erroring source, a partial response or a warning is an
// error (exit 3).
package slogate

import (
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/maestro-conductor/releasegate/internal/gate"
	"github.com/maestro-conductor/releasegate/internal/metrics"
	"github.com/maestro-conductor/releasegate/internal/outbound"
	"github.com/maestro-conductor/releasegate/internal/policy"
)

// SourceSpec says where metrics come from: a Prometheus-compatible HTTP API
// (url) or a metrics file evaluated in-process (file). Exactly one is set.
type SourceSpec struct {
	URL                      string            `yaml:"url" doc:"Prometheus-compatible base URL (Prometheus, Thanos, Mimir, VictoriaMetrics), e.g. http://prometheus:9090"`
	File                     string            `yaml:"file" doc:"metrics file (Prometheus text with timestamps, or OpenMetrics) evaluated in-process; relative to the policy"`
	At                       string            `yaml:"at" doc:"evaluation time (RFC 3339); default the newest sample of a file, the current time for a server"`
	BearerToken              string            `yaml:"bearer-token" secret:"true" doc:"bearer token sent to the API"`
	Username                 string            `yaml:"username" doc:"HTTP basic auth user"`
	Password                 string            `yaml:"password" secret:"true" doc:"HTTP basic auth password"`
	Headers                  map[string]string `yaml:"headers" secret:"true" doc:"extra request headers, e.g. X-Scope-OrgID for Mimir; values are treated as secrets"`
	CAFile                   string            `yaml:"ca-file" doc:"PEM file of CAs to trust for https"`
	InsecureSkipVerifyUnsafe bool              `yaml:"insecure-skip-verify-unsafe" doc:"do not verify the server's TLS certificate (unsafe: anyone on the path can answer)"`
	Timeout                  policy.Duration   `yaml:"timeout" default:"30s" doc:"bound on each HTTP attempt"`
	Retries                  *int              `yaml:"retries" default:"2" doc:"retries after a connection error, 429 or 5xx, with exponential backoff"`
	Backoff                  policy.Duration   `yaml:"backoff" default:"500ms" doc:"wait before the first retry; doubles each time"`
	AllowRedirectsTo         []string          `yaml:"allow-redirects-to" doc:"hosts a redirect may go to beyond the default rule (same origin, no https to http, never link-local, metadata, loopback or private from another origin; docs/security.md)"`
}

func (s *SourceSpec) validate(prefix string) []error {
	var errs []error
	switch {
	case s.URL == "" && s.File == "":
		errs = append(errs, &policy.FieldError{Field: prefix + "source", Err: errors.New("set url (a Prometheus API) or file (a metrics file)")})
	case s.URL != "" && s.File != "":
		errs = append(errs, &policy.FieldError{Field: prefix + "source", Err: errors.New("set url or file, not both")})
	}
	if s.At != "" {
		if _, err := time.Parse(time.RFC3339, s.At); err != nil {
			errs = append(errs, &policy.FieldError{Field: prefix + "source.at", Err: fmt.Errorf("%q is not an RFC 3339 time such as 2026-11-28T12:00:00Z", s.At)})
		}
	}
	if s.Retries != nil && *s.Retries < 0 {
		errs = append(errs, &policy.FieldError{Field: prefix + "source.retries", Err: fmt.Errorf("%d is negative", *s.Retries)})
	}
	for _, err := range outbound.ValidateHosts(s.AllowRedirectsTo) {
		errs = append(errs, &policy.FieldError{Field: prefix + "source.allow-redirects-to", Err: err})
	}
	return errs
}

// Open builds the source. Relative files resolve against dir.
func (s *SourceSpec) Open(dir string) (metrics.Source, error) {
	if s.File != "" {
		path := s.File
		if !filepath.IsAbs(path) && dir != "" {
			path = filepath.Join(dir, path)
		}
		var opts metrics.FileOptions
		if s.At != "" {
			t, err := time.Parse(time.RFC3339, s.At)
			if err != nil {
				return nil, &gate.InputError{Input: "source.at", Err: err}
			}
			opts.At = t
		}
		return metrics.OpenFile(path, opts)
	}
	var at time.Time
	if s.At != "" {
		t, err := time.Parse(time.RFC3339, s.At)
		if err != nil {
			return nil, &gate.InputError{Input: "source.at", Err: err}
		}
		at = t
	}
	retries := 2
	if s.Retries != nil {
		retries = *s.Retries
	}
	return metrics.NewHTTPSource(metrics.HTTPOptions{
		URL: s.URL, BearerToken: s.BearerToken, Username: s.Username, Password: s.Password,
		Headers: s.Headers, CAFile: s.CAFile, InsecureSkipVerifyUnsafe: s.InsecureSkipVerifyUnsafe,
		Timeout: s.Timeout.D(), Retries: retries, Backoff: s.Backoff.D(), At: at,
		AllowRedirectsTo: s.AllowRedirectsTo,
	})
}

// sourceInput names the source for the Result's inputs.
func sourceInput(src metrics.Source) gate.Input {
	if f, ok := src.(*metrics.FileSource); ok {
		return gate.Input{Name: f.String(), Digest: f.Data().Digest}
	}
	return gate.Input{Name: "prometheus", URI: src.String()}
}

// digest is gate.Digest, for the rules and dashboard kinds.
func digest(b []byte) string { return gate.Digest(b) }
