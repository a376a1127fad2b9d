package cli

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/maestro-conductor/releasegate/internal/actions"
	"github.com/maestro-conductor/releasegate/internal/gate"
	"github.com/maestro-conductor/releasegate/internal/outbound"
	"github.com/maestro-conductor/releasegate/internal/promexport"
	"github.com/maestro-conductor/releasegate/internal/redact"
	"github.com/maestro-conductor/releasegate/internal/release"
	"github.com/maestro-conductor/releasegate/internal/report"
)

// OutputOptions says where and how a command's results go.
type OutputOptions struct {
	// Format of stdout: text, json or markdown.
	Format string
	// OutDir, when set, receives <gate>.json per gate and report.json.
	OutDir string
	// Policy names the policy file and its digest, when there is one.
	Policy gate.Input
	// Release is the policy's release section, written at the top of the
	// report when set.
	Release *gate.Release
	// MetricsOut, when set, receives the release metrics as a
	// node_exporter textfile (Prometheus text format).
	MetricsOut string
	// MetricsPush, when set, is the base URL of a Prometheus Pushgateway
	// the release metrics are pushed to (a user and password in it are
	// sent as basic auth).
	MetricsPush string
	// Checks posts each result as a PR status check: "auto" (inside GitHub
	// Actions), "always" or "never".
	Checks string
}

// addOutputFlags registers --format, --out and --checks.
func addOutputFlags(fs interface {
	StringVar(*string, string, string, string)
}, o *OutputOptions) {
	fs.StringVar(&o.Format, "format", "text", "output format: text, json or markdown")
	fs.StringVar(&o.OutDir, "out", "", "directory to write <gate>.json per gate and report.json")
	fs.StringVar(&o.MetricsOut, "metrics-out", "", "file to write the release metrics to as a node_exporter textfile (Prometheus text format)")
	fs.StringVar(&o.MetricsPush, "metrics-push", "", "also push the release metrics to this Prometheus Pushgateway (base URL); a failed push is reported, never changes the verdict")
	fs.StringVar(&o.Checks, "checks", "auto", "post results as PR status checks: auto (inside GitHub Actions), always or never")
}

// validate reports a bad output option as bad input.
func (o OutputOptions) validate() error {
	if o.Format != "" && !slices.Contains(report.Formats(), o.Format) {
		return fmt.Errorf("--format %q: expected one of %s", o.Format, strings.Join(report.Formats(), ", "))
	}
	if o.Checks != "" && !slices.Contains([]string{"auto", "always", "never"}, o.Checks) {
		return fmt.Errorf("--checks %q: expected auto, always or never", o.Checks)
	}
	if o.MetricsPush != "" {
		if u, err := url.Parse(o.MetricsPush); err != nil {
			// the parse error quotes the URL, which may hold a password
			return errors.New("--metrics-push: not a URL; expected an http(s) base URL such as http://pushgateway:9091")
		} else if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("--metrics-push %q: expected an http(s) base URL such as http://pushgateway:9091", u.Redacted())
		}
	}
	return nil
}

// emit renders results: the report on stdout in the chosen format, the
// files under --out, and inside GitHub Actions the outputs, step summary,
// annotations and status checks. It returns the verdict (see verdict).
func emit(ctx context.Context, o *IO, opts OutputOptions, results []gate.Result) error {
	return emitReport(ctx, o, opts, release.NewReport(opts.Policy, results, "releasegate "+toolVersion()))
}

// emitReport writes an assembled report where opts say and returns its
// verdict: nil when it lets the release go, a *verdictError otherwise.
// Every secret the process knows is masked in the report first; a report
// that cannot be redacted is not written at all.
func emitReport(ctx context.Context, o *IO, opts OutputOptions, rep *gate.Report) error {
	if rep.Release == nil {
		rep.Release = opts.Release
	}
	if rep.Run == nil {
		rep.Run = runFromEnv(o.Getenv)
	}
	if err := opts.validate(); err != nil {
		return asInput(err)
	}
	rep, err := o.redactReport(rep)
	if err != nil {
		return fmt.Errorf("%w; nothing was written, so no secret can leak", err)
	}
	if err := writeFiles(ctx, o, opts, rep); err != nil {
		return err
	}
	if err := report.Write(o.Stdout, opts.Format, rep); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	inActions := actions.Detect(o.Getenv)
	if inActions {
		if err := actions.NewRuntime(o.Stderr, o.Getenv).Publish(rep); err != nil {
			o.Logf("releasegate: publish to GitHub Actions: %v", err)
		}
	}
	if opts.Checks == "always" || opts.Checks != "never" && inActions {
		postChecks(ctx, o, rep)
	}
	return verdict(rep.Status)
}

// writeFiles writes the report under --out and --metrics-out and pushes
// its metrics to --metrics-push; a failed push is said, never changes the
// verdict.
func writeFiles(ctx context.Context, o *IO, opts OutputOptions, rep *gate.Report) error {
	if opts.OutDir != "" {
		if err := writeOutDir(opts.OutDir, rep); err != nil {
			return inputf("--out %s: %w", opts.OutDir, err)
		}
	}
	if opts.MetricsOut != "" {
		if err := promexport.WriteTextfile(opts.MetricsOut, rep); err != nil {
			return inputf("--metrics-out: %w", err)
		}
	}
	if opts.MetricsPush != "" {
		if err := promexport.Push(ctx, o.httpClient(30*time.Second), opts.MetricsPush, rep, o.redactor()); err != nil {
			o.Logf("releasegate: --metrics-push: %v; the verdict is unaffected", err)
		}
	}
	return nil
}

// runFromEnv is the GitHub Actions run the process runs in, from
// GITHUB_SERVER_URL, GITHUB_REPOSITORY and GITHUB_RUN_ID, or nil when any
// of them is unset (outside Actions, or a repository not in owner/name form).
func runFromEnv(getenv func(string) string) *gate.Run {
	server, repo, id := strings.TrimSuffix(getenv("GITHUB_SERVER_URL"), "/"), getenv("GITHUB_REPOSITORY"), getenv("GITHUB_RUN_ID")
	if owner, name, ok := strings.Cut(repo, "/"); server == "" || id == "" || !ok || owner == "" || name == "" {
		return nil
	}
	return &gate.Run{URL: server + "/" + repo + "/actions/runs/" + url.PathEscape(id)}
}

// writeOutDir writes one JSON file per gate and the whole report.
func writeOutDir(dir string, rep *gate.Report) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for i := range rep.Results {
		r := &rep.Results[i]
		if err := writeJSONFile(filepath.Join(dir, r.Gate+".json"), func(f *os.File) error { return report.ResultJSON(f, r) }); err != nil {
			return err
		}
	}
	return writeJSONFile(filepath.Join(dir, "report.json"), func(f *os.File) error { return report.JSON(f, rep) })
}

func writeJSONFile(path string, write func(*os.File) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// postChecks posts every result as a status check. Missing credentials are
// said once; failures are logged and never change the verdict. Posting
// stops with ctx (a signal), and takes at most two minutes.
func postChecks(ctx context.Context, o *IO, rep *gate.Report) {
	checks, err := actions.NewChecksFromEnv(o.Getenv, o.httpClient(30*time.Second))
	if err != nil {
		if errors.Is(err, actions.ErrNoToken) {
			o.Logf("releasegate: %v; carrying on without status checks", err)
		} else {
			o.Logf("releasegate: not posting status checks: %v", err)
		}
		return
	}
	checks.Logf = o.Logf
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	for i := range rep.Results {
		if err := checks.Post(ctx, &rep.Results[i]); err != nil {
			o.Logf("releasegate: %v", err)
		}
	}
}

// redactReport returns a copy of rep with every known secret masked. It
// fails closed: when the report cannot be encoded or decoded again the
// error is returned and nothing may be written.
func (o *IO) redactReport(rep *gate.Report) (*gate.Report, error) {
	out, err := redact.Value(o.redactor(), *rep)
	if err != nil {
		return nil, fmt.Errorf("redact the report: %w", err)
	}
	if out.Results == nil {
		out.Results = []gate.Result{}
	}
	return &out, nil
}

// httpClient returns a client for the CLI's own requests (status checks,
// issue updates, Pushgateway pushes): error bodies are cut and sanitized
// with every known secret, and redirects follow the shared rule.
func (o *IO) httpClient(timeout time.Duration) *http.Client {
	return redact.NewClient(o.redactor(), timeout, outbound.Policy{}.CheckRedirect())
}

// redactResults returns a copy of results with every known secret masked,
// or an error (fail closed: the caller writes nothing).
func (o *IO) redactResults(results []gate.Result) ([]gate.Result, error) {
	out, err := redact.Value(o.redactor(), results)
	if err != nil {
		return nil, fmt.Errorf("redact the results: %w", err)
	}
	return out, nil
}
