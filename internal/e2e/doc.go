// Package e2e proves the GitHub Actions side of releasegate: the composite
// actions, the root action and the reusable release workflow.
//
// Its static tests read every action.yml and workflow with yaml.v3 and hold
// them to the rules the project promises (inputs reach scripts only through
// env:, remote actions pinned to a commit, status and result outputs,
// least-privilege permissions), run actionlint over the workflows, and keep
// docs/actions.md equal to what the action files declare. Its end-to-end
// test runs the reusable release workflow with the real workflow engine
// (nektos/act, pinned in tools/go.mod) against the demo service, offline.
//
// The non-test code here loads action and workflow files into a small model
// and renders the actions reference; it is used by the tests only.
package e2e
