package report

import (
	"bytes"
	"strings"
	"testing"
)

// TestHTMLSaysWhenRulesWereLeftOut: a page from a run with rules disabled
// says how many ran next to the finding counts, so "0 error 0 warning"
// does not pass for a clean capture; a run of every rule says nothing more.
func TestHTMLSaysWhenRulesWereLeftOut(t *testing.T) {
	for _, tc := range []struct {
		run, total int
		want       string
	}{
		{run: 3, total: 34, want: "3 of 34 rules ran"},
		{run: 0, total: 34, want: "0 of 34 rules ran"},
		{run: 34, total: 34, want: ""},
		{run: 0, total: 0, want: ""}, // not told: nothing said
	} {
		var b bytes.Buffer
		if err := WriteHTML(&b, fixtureReport(), HTMLOptions{RulesRun: tc.run, RulesTotal: tc.total}); err != nil {
			t.Fatal(err)
		}
		got := strings.Contains(b.String(), "rules ran")
		if tc.want != "" && !strings.Contains(b.String(), tc.want) || tc.want == "" && got {
			t.Errorf("%d of %d rules: page mentions %q: %v, want %q", tc.run, tc.total, "rules ran", got, tc.want)
		}
	}
}

// TestHTMLFindingCountIsSingularForOne: "1 finding by severity", not
// "1 findings".
func TestHTMLFindingCountIsSingularForOne(t *testing.T) {
	r := fixtureReport()
	r.Findings = r.Findings[:1]
	var b bytes.Buffer
	if err := WriteHTML(&b, r, HTMLOptions{}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), ">1 finding by severity") {
		t.Errorf("the summary card does not say \"1 finding by severity\"")
	}
}
