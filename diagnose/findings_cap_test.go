package diagnose

import (
	"testing"

	"github.com/connscope/connscope/httpflow"
)

// A rule keeps at most MaxFindingsPerRuleInCapture findings over a capture
// and counts the rest: an attack where every connection raises a finding
// (each keeping its transaction alive) must not grow memory without bound.
func TestFindingsPerRuleCappedInCapture(t *testing.T) {
	e, err := NewEngine(Config{Enabled: func(r *Rule) bool { return r.ID == "CC1001" }})
	if err != nil {
		t.Fatal(err)
	}
	const extra = 5
	for range MaxFindingsPerRuleInCapture + extra {
		e.Connection(cutResponse(httpflow.FramingContentLength, httpflow.IncompleteRST).info())
	}
	if got := len(e.Finish()); got != MaxFindingsPerRuleInCapture {
		t.Errorf("%d findings kept, want %d", got, MaxFindingsPerRuleInCapture)
	}
	if got := e.LeftOut()["CC1001"]; got != extra {
		t.Errorf("LeftOut()[CC1001] = %d, want %d (all of LeftOut: %v)", got, extra, e.LeftOut())
	}
}
