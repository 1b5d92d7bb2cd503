package report

import (
	"bytes"
	"html/template"
	"strings"
	"testing"

	"github.com/connscope/connscope/diagnose"
)

// TestHTMLExplainsEachRule: each rule's group of findings says what the
// rule means, why it matters and how to fix it, from diagnose's registry,
// as the text report prints the title and the fix; the page used to show
// only the ID and the slug.
func TestHTMLExplainsEachRule(t *testing.T) {
	rep := fixtureReport()
	if len(rep.Findings) == 0 {
		t.Fatal("the fixture has no findings: the test proves nothing")
	}
	var b bytes.Buffer
	if err := WriteHTML(&b, rep, HTMLOptions{}); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	seen := map[string]bool{}
	for _, f := range rep.Findings {
		r := diagnose.Lookup(f.Rule)
		if r == nil || seen[r.ID] {
			continue
		}
		seen[r.ID] = true
		for what, text := range map[string]string{"title": r.Title, "what": r.Doc.What, "why": r.Doc.Why, "fix": r.Doc.Fix} {
			if !strings.Contains(page, template.HTMLEscapeString(text)) {
				t.Errorf("%s: the page lacks the rule's %s %q", r.ID, what, text)
			}
		}
	}
	if len(seen) == 0 {
		t.Fatal("no finding of a known rule in the fixture")
	}
}
