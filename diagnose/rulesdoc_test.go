package diagnose

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"
)

var updateDoc = flag.Bool("update-doc", false, "rewrite diagnose/RULES.md from the registry")

// rulesMarkdown renders the registry as the catalog in RULES.md: one
// section per rule with its documentation and thresholds.
func rulesMarkdown() string {
	var b strings.Builder
	b.WriteString("# connscope rules\n\n")
	b.WriteString("Generated from the registry in registry.go by `go test ./diagnose -run TestRulesDoc -update-doc`;\n")
	b.WriteString("a test fails when this file and the code disagree. `connscope explain ID` prints the same text.\n\n")
	b.WriteString("| ID | slug | severity | scope | title |\n|---|---|---|---|---|\n")
	for _, r := range Rules() {
		fmt.Fprintf(&b, "| [%s](#%s) | %s | %s | %s | %s |\n", r.ID, strings.ToLower(r.ID), r.Slug, r.Severity, r.Scope, r.Title)
	}
	for _, r := range Rules() {
		fmt.Fprintf(&b, "\n## %s\n\n`%s`: %s. Severity %s, scope %s, since %s.\n", r.ID, r.Slug, r.Title, r.Severity, r.Scope, r.Since)
		for _, s := range []struct{ head, text string }{
			{"What it means", r.Doc.What}, {"How it is detected", r.Doc.Detection},
			{"Why it matters", r.Doc.Why}, {"How to fix it", r.Doc.Fix},
		} {
			fmt.Fprintf(&b, "\n**%s.** %s\n", s.head, s.text)
		}
		if len(r.Thresholds) > 0 {
			b.WriteString("\n| threshold | default | meaning |\n|---|---|---|\n")
			for _, t := range r.Thresholds {
				fmt.Fprintf(&b, "| `%s.%s` | %g %s | %s |\n", r.ID, t.Name, t.Default, t.Unit, t.Doc)
			}
		}
	}
	return b.String()
}

// TestRulesDoc keeps RULES.md, the browsable catalog, in step with the
// registry.
func TestRulesDoc(t *testing.T) {
	want := rulesMarkdown()
	if *updateDoc {
		if err := os.WriteFile("RULES.md", []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	got, err := os.ReadFile("RULES.md")
	if err != nil || string(got) != want {
		t.Fatalf("RULES.md is out of date with the registry (err %v): run go test ./diagnose -run TestRulesDoc -update-doc", err)
	}
}
