package evidence

// Helpers for the external tests (package evidence_test), which need the
// virtual Sigstore of evidencetest and so cannot live in this package.
var (
	TestOptions = testOptions
)
