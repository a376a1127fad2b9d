package evidence

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"html"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/maestro-conductor/releasegate/internal/gate"
	"github.com/maestro-conductor/releasegate/internal/testutil"
)

// fakeRoot stands in for the scratch directory of a demo run: the demo's
// reports (report.json of `releasegate demo`, passing and with
// failing-policy.yml) are kept with their paths relative, and the test puts
// this absolute prefix back so relative display can be checked.
const fakeRoot = "/var/tmp/rg-demo-scratch/"

// demoHTML renders report.html for the demo's passing or failing run.
func demoHTML(t *testing.T, name string) (string, *gate.Report) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "report", "testdata", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	b = bytes.ReplaceAll(b, []byte(`demo-out/`), []byte(fakeRoot+"demo-out/"))
	var rep gate.Report
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	ev, err := Create(Options{Version: "v1.4.0", Release: "demo-service", Results: rep.Results, PolicyRef: rep.Policy,
		Tool: rep.Tool, Signer: testSigner(t, AlgECDSAP256)})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range ev.Files {
		if f.Name == HTMLFile {
			return string(f.Data), &rep
		}
	}
	t.Fatal("no report.html in the evidence")
	return "", nil
}

var (
	gateRowRE = regexp.MustCompile(`<table id="gates">[\s\S]*?<tbody>\s*<tr class="(\w+)" data-gate="([^"]+)"`)
	barRE     = regexp.MustCompile(`<g class="bar (\w+)" data-tenant="([^"]*)" data-check="([^"]*)" data-value="([^"]*)" data-bound="([^"]*)"><text[^>]*>[^<]*</text><rect[^>]*><title>([^<]*)</title></rect><line[^>]*><title>([^<]*)</title></line><text[^>]*>([^<]*)</text></g>`)
)

// TestDemoHTML checks the demo's report.html without a browser: the
// failing gate comes first, every chart bar carries the value and bound of
// the check it draws, raw details are folded without null fields, and no
// absolute local path is shown.
func TestDemoHTML(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, first string
		charts      int
	}{
		{"demo-pass", "", 5},
		{"demo-fail", "rtbf-job", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			page, rep := demoHTML(t, tc.name)
			m := gateRowRE.FindStringSubmatch(page)
			if m == nil {
				t.Fatal("no gate rows in report.html")
			}
			if tc.first != "" && (m[2] != tc.first || m[1] != "fail") {
				t.Errorf("first gate row %s (%s), want the failing %s first", m[2], m[1], tc.first)
			}
			if !strings.Contains(page, `<table class="matrix" id="matrix">`) {
				t.Error("no tenant × gate matrix")
			}
			if strings.Contains(page, fakeRoot) {
				t.Errorf("report.html shows the absolute path %s", fakeRoot)
			}
			if strings.Contains(page, "&#34;actions&#34;: null") || strings.Contains(page, `"actions": null`) {
				t.Error("raw details show actions: null")
			}
			charts, bars := strings.Count(page, `<figure class="chart">`), 0
			if charts < tc.charts {
				t.Errorf("%d charts, want at least %d", charts, tc.charts)
			}
			for _, r := range rep.Results {
				start := strings.Index(page, `id="gate-`+r.Gate+`"`)
				if start < 0 {
					t.Errorf("no section for gate %s", r.Gate)
					continue
				}
				section := page[start:]
				section = section[:strings.Index(section, "</section>")]
				checks := map[string]gate.Check{}
				for _, c := range r.Checks {
					checks[c.Tenant+"/"+c.Name] = c
				}
				found := barRE.FindAllStringSubmatch(section, -1)
				if n := strings.Count(section, `<g class="bar `); n != len(found) {
					t.Fatalf("gate %s: %d bars, %d of them in the expected shape", r.Gate, n, len(found))
				}
				bars += len(found)
				for _, b := range found {
					c, ok := checks[b[2]+"/"+b[3]]
					if !ok {
						t.Errorf("gate %s: bar %s/%s draws no check of the result", r.Gate, b[2], b[3])
						continue
					}
					if want := c.Observed.String(); b[4] != want || !strings.Contains(b[6], want) || !strings.Contains(b[8], want) {
						t.Errorf("gate %s: bar %s/%s shows %q / %q / %q, want the check's observed %s", r.Gate, b[2], b[3], b[4], b[6], b[8], want)
					}
					if string(c.Status) != b[1] || !strings.Contains(b[8], c.Status.Symbol()) {
						t.Errorf("gate %s: bar %s/%s status %s, want %s with its symbol", r.Gate, b[2], b[3], b[1], c.Status)
					}
					if f, _ := strconv.ParseFloat(b[5], 64); !strings.Contains(c.Expected, b[5]) && !strings.Contains(c.Expected, strconv.FormatFloat(f, 'f', 1, 64)) {
						t.Errorf("gate %s: bar %s/%s bound %s, not the check's expected %q", r.Gate, b[2], b[3], b[5], c.Expected)
					}
					if !strings.Contains(b[7], html.EscapeString(c.Expected[:strings.IndexAny(c.Expected, "0123456789-")])) {
						t.Errorf("gate %s: bar %s/%s bound title %q lacks the comparison of %q", r.Gate, b[2], b[3], b[7], c.Expected)
					}
				}
			}
			if tc.charts > 0 && bars < 2*tc.charts {
				t.Errorf("%d bars in %d charts", bars, charts)
			}
		})
	}
}

// TestDemoHTMLInChromium renders the demo's pass and fail report.html in
// headless Chromium at phone, tablet and desktop widths and checks nothing
// overflows the page horizontally and the failing gate is listed first.
// With RELEASEGATE_SCREENSHOTS=DIR it also writes a screenshot per width
// for a person (`make screenshots`).
func TestDemoHTMLInChromium(t *testing.T) {
	bin := testutil.RequireEnv(t, "RELEASEGATE_TEST_CHROMIUM", "headless Chromium (scripts/services/chromium.sh)")
	shots := os.Getenv("RELEASEGATE_SCREENSHOTS")
	for _, tc := range []struct{ name, first string }{{"demo-pass", ""}, {"demo-fail", "rtbf-job"}} {
		page, _ := demoHTML(t, tc.name)
		dir := t.TempDir()
		for _, width := range []int{375, 768, 1400} {
			// The page forbids scripts, and Chromium's headless window is at
			// least 500 px wide: the page is loaded untouched into an iframe
			// of the width under test (srcdoc: same origin), and the wrapper
			// records the iframe's layout in the DOM for --dump-dom.
			wrapper := filepath.Join(dir, fmt.Sprintf("wrap-%d.html", width))
			err := os.WriteFile(wrapper, []byte(fmt.Sprintf(`<!DOCTYPE html><html><body style="margin:0">
<iframe id="f" style="border:0;display:block" width="%d" height="%d" srcdoc="%s"></iframe>
<script>
document.getElementById("f").addEventListener("load", function () {
  var w = this.contentWindow, d = this.contentDocument;
  var row = d.querySelector("#gates tbody tr");
  document.body.setAttribute("data-probe", d.documentElement.scrollWidth + "/" + w.innerWidth + "/" + (row ? row.getAttribute("data-gate") : ""));
});
</script></body></html>`, width, 4000, html.EscapeString(page))), 0o644)
			if err != nil {
				t.Fatal(err)
			}
			out := chromium(t, bin, dir, fmt.Sprintf("--window-size=%d,900", max(width, 500)), "--virtual-time-budget=5000", "--dump-dom", "file://"+wrapper)
			m := regexp.MustCompile(`data-probe="(\d+)/(\d+)/([^"]*)"`).FindStringSubmatch(out)
			if m == nil {
				t.Fatalf("%s at %d px: the probe did not run", tc.name, width)
			}
			if sw, iw := atoi(t, m[1]), atoi(t, m[2]); sw > iw {
				t.Errorf("%s at %d px: page is %d px wide in a %d px viewport: horizontal overflow", tc.name, width, sw, iw)
			}
			if m[2] != fmt.Sprint(width) {
				t.Errorf("%s: viewport %s px wide, asked for %d", tc.name, m[2], width)
			}
			if tc.first != "" && m[3] != tc.first {
				t.Errorf("%s at %d px: first gate row %s, want %s", tc.name, width, m[3], tc.first)
			}
			if shots != "" {
				if err := os.MkdirAll(shots, 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(shots, tc.name+".html"), []byte(page), 0o644); err != nil {
					t.Fatal(err)
				}
				chromium(t, bin, dir, fmt.Sprintf("--window-size=%d,4000", max(width, 500)), "--hide-scrollbars", "--virtual-time-budget=5000",
					"--screenshot="+filepath.Join(shots, fmt.Sprintf("%s-%d.png", tc.name, width)), "file://"+wrapper)
			}
		}
	}
}

func chromium(t *testing.T, bin, dir string, args ...string) string {
	t.Helper()
	base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir=" + filepath.Join(dir, "profile")}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, append(base, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium %v: %v\n%s", args, err, stderr.String())
	}
	return string(out)
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}
