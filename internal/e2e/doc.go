// Package e2e proves the GitHub Actions side of releasegate: the composite
// actions, the root action, actions/setup (the verified binary), the
// reusable release workflow and the publish workflow.
//
// Its static tests read every action.yml and workflow with yaml.v3 and hold
// them to the rules the project promises (inputs reach scripts only through
// env:, remote actions pinned to a commit, status and result outputs,
// least-privilege permissions, no env.ACT, results handed over as
// artifacts with digests, one definition of the stage jobs), run
// actionlint over the workflows, check .goreleaser.yaml's reproducibility
// settings, run actions/setup/setup.sh against a loopback release server,
// and keep docs/actions.md equal to what the action files declare. Its
// end-to-end test runs the reusable release workflow with the real
// workflow engine (nektos/act, pinned in tools/go.mod) against the demo
// service, offline, with stand-ins (testdata/stubs) for what GitHub's
// runner provides and act does not.
//
// The non-test code here loads action and workflow files into a small model
// and renders the actions reference; it is used by the tests only.
package e2e
