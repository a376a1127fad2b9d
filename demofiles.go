// Package releasegate is the module's root. It holds the files `releasegate
// demo` runs on, embedded, so that the demo runs from any directory with
// only the binary (a `go install`ed or downloaded one): the demo policies
// with their scripts, alert rules and metrics, the usage export the cost
// gate prices, and the SLSA provenance fixture (with its licence) the
// provenance gate verifies offline. They keep their repository paths, which
// the policies' relative paths name.
package releasegate

import "embed"

// DemoFiles are the demo's files at their repository paths.
//
//go:embed examples/demo/release-policy.yml examples/demo/failing-policy.yml
//go:embed examples/demo/metrics.om examples/demo/rules examples/demo/scripts
//go:embed examples/demo/reports examples/demo/supply-chain
//go:embed examples/budget/usage-report.csv
//go:embed testdata/provenance/gha_generic/binary-linux-amd64-push-v14
//go:embed testdata/provenance/gha_generic/binary-linux-amd64-push-v14.intoto.jsonl
//go:embed testdata/provenance/trusted-root-public-good.json
//go:embed testdata/provenance/LICENSE testdata/provenance/README.md
var DemoFiles embed.FS
