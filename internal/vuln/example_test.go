package vuln_test

import (
	"context"
	"fmt"
	"time"

	"github.com/maestro-conductor/releasegate/internal/fsx"
	"github.com/maestro-conductor/releasegate/internal/vuln"
)

// Judge Grype's real report of an image at fail-on high, with an
// allow-list entry for one finding.
func ExampleJudge() {
	f, err := vuln.ParseFile(context.Background(), "testdata/real/grype/image.json", "", fsx.MaxDocSize)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(f.Report.Format, f.Report.Digests[0])
	out := vuln.Judge([]vuln.Named{{Name: "image.json", Report: f.Report}}, vuln.Criteria{
		Threshold: vuln.SeverityHigh,
		Allow:     []vuln.Allowance{{ID: "CVE-1999-0002", Expires: time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC), Reason: "no fix yet"}},
		Now:       time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC),
	})
	for _, w := range out.Waived {
		fmt.Println("waived:", w.Key(), w.Severity, "by", w.Waiver.By)
	}
	fmt.Println("counted:", len(out.Counted), "below:", out.Below)
	// Output:
	// grype sha256:ca738abb87a8d58f112d3400ebb079b61ceae7dc290beb34bda735be4b1941d5
	// waived: CVE-1999-0002 in package-2@2.2.2 critical by allow-list
	// counted: 0 below: 1
}
