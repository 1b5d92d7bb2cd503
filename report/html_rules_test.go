package report

import (
	"bytes"
	"strings"
	"testing"

	"github.com/connscope/connscope/analysis"
	"github.com/connscope/connscope/diagnose"
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

// TestHTMLNamesChangedThresholds: findings judged with thresholds other
// than the defaults say so on the page, as the JSON's rules object does.
func TestHTMLNamesChangedThresholds(t *testing.T) {
	rep := fixtureReport()
	rules, err := analysis.NewRulesReport(diagnose.Config{Thresholds: map[string]float64{"CH1009.max-connections": 8, "CH1007.min-gap": 250}})
	if err != nil {
		t.Fatal(err)
	}
	rep.Rules = rules
	var b bytes.Buffer
	if err := WriteHTML(&b, rep, HTMLOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"thresholds changed from their defaults: CH1007.min-gap = 250, CH1009.max-connections = 8"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	defaults, err := analysis.NewRulesReport(diagnose.Config{})
	if err != nil {
		t.Fatal(err)
	}
	rep.Rules = defaults
	b.Reset()
	if err := WriteHTML(&b, rep, HTMLOptions{}); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b.String(), "thresholds changed") {
		t.Error("a page with every threshold at its default says some changed")
	}
}
