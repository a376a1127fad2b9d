package e2e

import (
	"fmt"
	"strings"
)

// Markers delimit the part of docs/actions.md that RenderActionsReference
// generates; the text around them is written by hand.
const (
	BeginGenerated = "<!-- BEGIN GENERATED: actions reference (go test ./internal/e2e -run TestActionsDoc -update) -->"
	EndGenerated   = "<!-- END GENERATED -->"
)

// RenderActionsReference renders the inputs and outputs of each action as
// Markdown, in the order the action files declare them.
func RenderActionsReference(actions []*Action) string {
	var b strings.Builder
	for _, a := range actions {
		ref := "maestro-conductor/releasegate@v1"
		if dir := strings.TrimSuffix(a.Path, "/action.yml"); dir != a.Path {
			ref = "maestro-conductor/releasegate/" + dir + "@v1"
		}
		fmt.Fprintf(&b, "### `%s`\n\n", ref)
		fmt.Fprintf(&b, "%s\n\n", a.Description)
		b.WriteString("| input | default | description |\n|---|---|---|\n")
		for _, name := range a.InputOrder {
			in := a.Inputs[name]
			def := "—"
			if in.Default != "" {
				def = "`" + in.Default + "`"
			}
			if in.Required {
				def = "**required**"
			}
			fmt.Fprintf(&b, "| `%s` | %s | %s |\n", name, def, cell(in.Description))
		}
		b.WriteString("\n| output | description |\n|---|---|\n")
		for _, name := range a.OutputOrder {
			fmt.Fprintf(&b, "| `%s` | %s |\n", name, cell(a.Outputs[name].Description))
		}
		b.WriteString("\n")
	}
	return b.String()
}

// cell makes text safe inside a Markdown table cell.
func cell(s string) string {
	s = strings.ReplaceAll(strings.TrimSpace(s), "\n", " ")
	s = strings.ReplaceAll(s, "|", `\|`)
	s = strings.ReplaceAll(s, "<", "&lt;")
	return strings.ReplaceAll(s, ">", "&gt;")
}

// SpliceGenerated replaces the text between the markers in doc with gen.
// It returns false when the markers are missing.
func SpliceGenerated(doc, gen string) (string, bool) {
	i := strings.Index(doc, BeginGenerated)
	j := strings.Index(doc, EndGenerated)
	if i < 0 || j < i {
		return doc, false
	}
	return doc[:i+len(BeginGenerated)] + "\n\n" + gen + doc[j:], true
}
