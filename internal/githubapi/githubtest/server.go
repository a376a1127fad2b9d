// Package githubtest is a local HTTP server that answers the GitHub REST
// endpoints releasegate uses with the response shapes GitHub documents:
// paginated lists with Link headers, ETags and 304 Not Modified, rate-limit
// headers, 202 for cancelling a run, 204 for disabling and enabling a
// workflow, 410 for the retired billing endpoint, and injectable faults
// (primary and secondary rate limits, 5xx). GitHub itself cannot be
// reached from the test environment; this server stands in for it.
package githubtest

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Repo is a repository the server knows.
type Repo struct {
	FullName string
	Topics   []string
	Archived bool
}

// Run is a workflow run.
type Run struct {
	ID         int64
	Repo       string
	WorkflowID int64
	Path       string
	Name       string
	Status     string // queued, in_progress, completed, waiting, pending, requested
	CreatedAt  time.Time
	// UpdatedAt is served as updated_at; zero is served as CreatedAt. A
	// re-run or a job finishing moves it; created_at never moves.
	UpdatedAt time.Time
	// Attempt is served as run_attempt; 0 is served as 1.
	Attempt int
}

// Job is a workflow job of one run attempt.
type Job struct {
	ID         int64
	RunID      int64
	RunAttempt int // 0 is served as 1
	// Status is queued, in_progress, completed, waiting, pending or
	// requested. GitHub fills started_at even for a queued job (the field
	// is required): StartedAt is served as given, whatever the status.
	Status      string
	StartedAt   time.Time
	CompletedAt time.Time // zero while running
	Labels      []string
	// RunnerName is served as runner_name; empty is served as null, as
	// GitHub does while no runner has taken the job.
	RunnerName string
}

// Workflow is a repository workflow.
type Workflow struct {
	ID    int64
	Repo  string
	Name  string
	Path  string
	State string
}

// UsageItem is one item of the enhanced billing usage API.
type UsageItem struct {
	Date           time.Time
	Product, SKU   string
	Quantity       float64
	UnitType       string
	PricePerUnit   float64
	GrossAmount    float64
	DiscountAmount float64
	NetAmount      float64
	Org, Repo      string
	// Enterprise is the enterprise the organization belongs to, for the
	// enterprise form of the endpoint.
	Enterprise string
}

// Fault is an answer the server gives instead of the real one, Times
// times, to requests whose path starts with Path.
type Fault struct {
	Path    string
	Times   int
	Status  int
	Headers map[string]string
	Body    string
}

// Server is the fake GitHub. Lock Mu to change its data while it runs.
type Server struct {
	*httptest.Server
	Mu        sync.Mutex
	Token     string
	Repos     []Repo
	Runs      []Run
	Jobs      []Job
	Workflows []Workflow
	Usage     []UsageItem
	Faults    []*Fault
	// Latency is added to every request (for benchmarks).
	Latency time.Duration
	// MaxFiltered caps total_count for run queries with a created or
	// status filter, as GitHub does (1000).
	MaxFiltered int
	// Limit is the primary rate limit per hour-long window (5000, as for
	// a user token). A request arriving with no points left is answered
	// 403 with X-RateLimit-Remaining: 0, as GitHub does, and counted in
	// Exhausted.
	Limit     int
	Exhausted int
	// Now is the server's clock (default time.Now); tests share a
	// simulated one with the client.
	Now func() time.Time

	// Requests counts requests by "METHOD path"; NotModified counts 304s;
	// Actions records state-changing calls in order.
	Requests    map[string]int
	Total       int
	NotModified int
	Actions     []string
	remaining   int
	reset       time.Time
	jobsByRun   map[int64][]Job
	indexed     int
}

// New starts a server. Close it when done.
func New() *Server {
	s := &Server{Requests: map[string]int{}, MaxFiltered: 1000, Limit: 5000}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// Inject adds a fault.
func (s *Server) Inject(f Fault) {
	s.Mu.Lock()
	defer s.Mu.Unlock()
	s.Faults = append(s.Faults, &f)
}

// Counts returns the total requests and 304s so far.
func (s *Server) Counts() (total, notModified int) {
	s.Mu.Lock()
	defer s.Mu.Unlock()
	return s.Total, s.NotModified
}

var (
	reOrgRepos  = regexp.MustCompile(`^/orgs/([^/]+)/repos$`)
	reRuns      = regexp.MustCompile(`^/repos/([^/]+/[^/]+)/actions/runs$`)
	reJobs      = regexp.MustCompile(`^/repos/([^/]+/[^/]+)/actions/runs/(\d+)/jobs$`)
	reCancel    = regexp.MustCompile(`^/repos/([^/]+/[^/]+)/actions/runs/(\d+)/cancel$`)
	reWorkflows = regexp.MustCompile(`^/repos/([^/]+/[^/]+)/actions/workflows$`)
	reToggle    = regexp.MustCompile(`^/repos/([^/]+/[^/]+)/actions/workflows/(\d+)/(disable|enable)$`)
	reOldBill   = regexp.MustCompile(`^/orgs/([^/]+)/settings/billing/actions$`)
	reUsage     = regexp.MustCompile(`^/organizations/([^/]+)/settings/billing/usage$`)
	reEntUsage  = regexp.MustCompile(`^/enterprises/([^/]+)/settings/billing/usage$`)
)

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	if s.Latency > 0 {
		time.Sleep(s.Latency)
	}
	s.Mu.Lock()
	defer s.Mu.Unlock()
	s.Total++
	s.Requests[r.Method+" "+r.URL.Path]++
	if s.Token != "" && r.Header.Get("Authorization") != "Bearer "+s.Token {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"})
		return
	}
	s.window()
	if s.remaining <= 0 {
		s.Exhausted++
		s.rateHeaders(w)
		writeJSON(w, http.StatusForbidden, map[string]string{"message": "API rate limit exceeded for user ID 1.",
			"documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"})
		return
	}
	for _, f := range s.Faults {
		if f.Times > 0 && strings.HasPrefix(r.URL.Path, f.Path) {
			f.Times--
			for k, v := range f.Headers {
				w.Header().Set(k, v)
			}
			w.Header().Set("Content-Type", "application/json; charset=utf-8")
			w.WriteHeader(f.Status)
			fmt.Fprint(w, f.Body)
			return
		}
	}
	s.route(w, r)
}

// route answers a request that passed the token, rate-limit and fault
// checks from the endpoint its method and path name.
func (s *Server) route(w http.ResponseWriter, r *http.Request) {
	switch p := r.URL.Path; {
	case r.Method == http.MethodGet && reOrgRepos.MatchString(p):
		s.serveRepos(w, r)
	case r.Method == http.MethodGet && reRuns.MatchString(p):
		s.serveRuns(w, r)
	case r.Method == http.MethodGet && reJobs.MatchString(p):
		s.serveJobs(w, r)
	case r.Method == http.MethodPost && reCancel.MatchString(p):
		s.serveCancel(w, r)
	case r.Method == http.MethodGet && reWorkflows.MatchString(p):
		s.serveWorkflows(w, r)
	case r.Method == http.MethodPut && reToggle.MatchString(p):
		s.serveToggle(w, r)
	case r.Method == http.MethodGet && reOldBill.MatchString(p):
		s.serveOldBilling(w, r)
	case r.Method == http.MethodGet && (reUsage.MatchString(p) || reEntUsage.MatchString(p)):
		s.serveUsage(w, r)
	default:
		writeJSON(w, http.StatusNotFound, map[string]string{"message": "Not Found", "documentation_url": "https://docs.github.com/rest"})
	}
}

// serveRepos lists an organization's repositories with their topics.
func (s *Server) serveRepos(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	org := reOrgRepos.FindStringSubmatch(p)[1]
	var items []any
	for _, rp := range s.Repos {
		if strings.HasPrefix(rp.FullName, org+"/") {
			items = append(items, map[string]any{"id": hash(rp.FullName), "name": strings.TrimPrefix(rp.FullName, org+"/"),
				"full_name": rp.FullName, "private": true, "archived": rp.Archived, "topics": nonNil(rp.Topics)})
		}
	}
	s.page(w, r, items, nil)
}

// serveRuns lists a repository's workflow runs, newest first, filtered by
// created and status and capped as GitHub caps filtered queries.
func (s *Server) serveRuns(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	q := r.URL.Query()
	repo := reRuns.FindStringSubmatch(p)[1]
	var from, to time.Time
	filtered := false
	if c := q.Get("created"); c != "" {
		a, b, ok := strings.Cut(c, "..")
		var err1, err2 error
		from, err1 = time.Parse(time.RFC3339, a)
		to, err2 = time.Parse(time.RFC3339, b)
		if !ok || err1 != nil || err2 != nil {
			writeJSON(w, http.StatusUnprocessableEntity, map[string]string{"message": "Validation Failed"})
			return
		}
		filtered = true
	}
	status := q.Get("status")
	var runs []Run
	for _, run := range s.Runs {
		if run.Repo != repo || (status != "" && run.Status != status) {
			continue
		}
		if !from.IsZero() && (run.CreatedAt.Before(from) || run.CreatedAt.After(to)) {
			continue
		}
		runs = append(runs, run)
	}
	sort.Slice(runs, func(i, j int) bool { return runs[i].CreatedAt.After(runs[j].CreatedAt) }) // newest first
	total := len(runs)
	if (filtered || status != "") && total > s.MaxFiltered {
		runs = runs[:s.MaxFiltered] // GitHub returns at most 1000 for filtered queries
	}
	items := make([]any, len(runs))
	for i, run := range runs {
		updated := run.UpdatedAt
		if updated.IsZero() {
			updated = run.CreatedAt
		}
		items[i] = map[string]any{"id": run.ID, "name": run.Name, "workflow_id": run.WorkflowID, "path": run.Path,
			"status": run.Status, "conclusion": nil, "event": "push", "run_attempt": max(run.Attempt, 1),
			"created_at": run.CreatedAt.UTC().Format(time.RFC3339), "updated_at": updated.UTC().Format(time.RFC3339),
			"repository": map[string]any{"full_name": run.Repo}}
	}
	s.page(w, r, items, func(page []any) any { return map[string]any{"total_count": total, "workflow_runs": page} })
}

// serveJobs lists the jobs of one run.
func (s *Server) serveJobs(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	m := reJobs.FindStringSubmatch(p)
	id, _ := strconv.ParseInt(m[2], 10, 64)
	if s.jobsByRun == nil || len(s.Jobs) != s.indexed {
		s.jobsByRun = map[int64][]Job{}
		for _, j := range s.Jobs {
			s.jobsByRun[j.RunID] = append(s.jobsByRun[j.RunID], j)
		}
		s.indexed = len(s.Jobs)
	}
	var items []any
	for _, j := range s.jobsByRun[id] {
		job := map[string]any{"id": j.ID, "run_id": j.RunID, "run_attempt": max(j.RunAttempt, 1), "status": j.Status, "conclusion": nil,
			"started_at": j.StartedAt.UTC().Format(time.RFC3339), "completed_at": nil, "labels": nonNil(j.Labels),
			"name": "build", "runner_name": nil, "runner_id": nil, "workflow_name": "CI"}
		if j.RunnerName != "" {
			job["runner_name"], job["runner_id"] = j.RunnerName, hash(j.RunnerName)
		}
		if !j.CompletedAt.IsZero() {
			job["completed_at"] = j.CompletedAt.UTC().Format(time.RFC3339)
			job["conclusion"] = "success"
		}
		items = append(items, job)
	}
	total := len(items)
	s.page(w, r, items, func(page []any) any { return map[string]any{"total_count": total, "jobs": page} })
}

// serveCancel cancels a run that is not completed yet.
func (s *Server) serveCancel(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	m := reCancel.FindStringSubmatch(p)
	id, _ := strconv.ParseInt(m[2], 10, 64)
	for i := range s.Runs {
		if s.Runs[i].ID == id && s.Runs[i].Repo == m[1] {
			if s.Runs[i].Status == "completed" {
				writeJSON(w, http.StatusConflict, map[string]string{"message": "Cannot cancel a workflow run that is completed."})
				return
			}
			s.Runs[i].Status = "completed"
			s.Actions = append(s.Actions, fmt.Sprintf("cancel %s %d", m[1], id))
			writeJSON(w, http.StatusAccepted, map[string]any{})
			return
		}
	}
	writeJSON(w, http.StatusNotFound, map[string]string{"message": "Not Found"})
}

// serveWorkflows lists a repository's workflows.
func (s *Server) serveWorkflows(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	repo := reWorkflows.FindStringSubmatch(p)[1]
	var items []any
	for _, wf := range s.Workflows {
		if wf.Repo == repo {
			items = append(items, map[string]any{"id": wf.ID, "name": wf.Name, "path": wf.Path, "state": wf.State})
		}
	}
	total := len(items)
	s.page(w, r, items, func(page []any) any { return map[string]any{"total_count": total, "workflows": page} })
}

// serveToggle disables or enables a workflow.
func (s *Server) serveToggle(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	m := reToggle.FindStringSubmatch(p)
	id, _ := strconv.ParseInt(m[2], 10, 64)
	for i := range s.Workflows {
		if s.Workflows[i].ID == id && s.Workflows[i].Repo == m[1] {
			if m[3] == "disable" {
				s.Workflows[i].State = "disabled_manually"
			} else {
				s.Workflows[i].State = "active"
			}
			s.Actions = append(s.Actions, fmt.Sprintf("%s %s %d", m[3], m[1], id))
			w.WriteHeader(http.StatusNoContent)
			return
		}
	}
	writeJSON(w, http.StatusNotFound, map[string]string{"message": "Not Found"})
}

// serveOldBilling answers the removed billing endpoint as GitHub does: 410.
func (s *Server) serveOldBilling(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusGone, map[string]string{"message": "This endpoint has been removed. Please use the enhanced billing platform usage endpoints.",
		"documentation_url": "https://docs.github.com/rest/billing/enhanced-billing"})
}

// serveUsage answers the billing usage API of an organization or an
// enterprise for one month.
func (s *Server) serveUsage(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	q := r.URL.Query()
	org, ent := "", ""
	if m := reUsage.FindStringSubmatch(p); m != nil {
		org = m[1]
	} else {
		ent = reEntUsage.FindStringSubmatch(p)[1]
	}
	year, _ := strconv.Atoi(q.Get("year"))
	month, _ := strconv.Atoi(q.Get("month"))
	items := []any{}
	for _, u := range s.Usage {
		if (org != "" && u.Org != org) || (ent != "" && u.Enterprise != ent) || (year != 0 && u.Date.Year() != year) || (month != 0 && int(u.Date.Month()) != month) {
			continue
		}
		items = append(items, map[string]any{"date": u.Date.UTC().Format(time.RFC3339), "product": u.Product, "sku": u.SKU,
			"quantity": u.Quantity, "unitType": u.UnitType, "pricePerUnit": u.PricePerUnit, "grossAmount": u.GrossAmount,
			"discountAmount": u.DiscountAmount, "netAmount": u.NetAmount, "organizationName": u.Org, "repositoryName": u.Repo})
	}
	s.write(w, r, map[string]any{"usageItems": items}, "")
}

// page writes one page of items (per_page, page) with a Link header, as
// GitHub paginates, wrapped by wrap (nil writes a bare array).
func (s *Server) page(w http.ResponseWriter, r *http.Request, items []any, wrap func([]any) any) {
	q := r.URL.Query()
	per, _ := strconv.Atoi(q.Get("per_page"))
	if per <= 0 {
		per = 30
	}
	per = min(per, 100)
	pg, _ := strconv.Atoi(q.Get("page"))
	pg = max(pg, 1)
	lo, hi := min((pg-1)*per, len(items)), min(pg*per, len(items))
	last := max(1, (len(items)+per-1)/per)
	link := func(n int, rel string) string {
		u := url.URL{Scheme: "http", Host: r.Host, Path: r.URL.Path}
		v := r.URL.Query()
		v.Set("page", strconv.Itoa(n))
		u.RawQuery = v.Encode()
		return fmt.Sprintf("<%s>; rel=%q", u.String(), rel)
	}
	var links []string
	if pg < last {
		links = append(links, link(pg+1, "next"), link(last, "last"))
	}
	if pg > 1 {
		links = append(links, link(1, "first"), link(pg-1, "prev"))
	}
	page := items[lo:hi]
	if page == nil {
		page = []any{}
	}
	var body any = page
	if wrap != nil {
		body = wrap(page)
	}
	s.write(w, r, body, strings.Join(links, ", "))
}

// write answers 304 when If-None-Match carries the body's ETag (without
// spending rate-limit points, as GitHub does), else 200 with the body.
func (s *Server) write(w http.ResponseWriter, r *http.Request, body any, link string) {
	b, _ := json.Marshal(body)
	sum := sha256.Sum256(b)
	etag := `"` + hex.EncodeToString(sum[:16]) + `"`
	w.Header().Set("ETag", etag)
	if link != "" {
		w.Header().Set("Link", link)
	}
	if r.Header.Get("If-None-Match") == etag {
		s.NotModified++
		s.rateHeaders(w)
		w.WriteHeader(http.StatusNotModified)
		return
	}
	s.remaining--
	s.rateHeaders(w)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Write(b)
}

// window starts a new rate-limit window when the last one has ended.
func (s *Server) window() {
	now := time.Now()
	if s.Now != nil {
		now = s.Now()
	}
	if s.reset.IsZero() || !now.Before(s.reset) {
		s.remaining = s.Limit
		s.reset = now.Add(time.Hour).Truncate(time.Second)
	}
}

func (s *Server) rateHeaders(w http.ResponseWriter) {
	w.Header().Set("X-RateLimit-Limit", strconv.Itoa(s.Limit))
	w.Header().Set("X-RateLimit-Remaining", strconv.Itoa(s.remaining))
	w.Header().Set("X-RateLimit-Reset", strconv.FormatInt(s.reset.Unix(), 10))
	w.Header().Set("X-RateLimit-Used", strconv.Itoa(s.Limit-s.remaining))
	w.Header().Set("X-RateLimit-Resource", "core")
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func hash(s string) int64 {
	h := sha256.Sum256([]byte(s))
	return int64(h[0])<<16 | int64(h[1])<<8 | int64(h[2])
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
