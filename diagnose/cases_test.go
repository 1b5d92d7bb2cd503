package diagnose

import (
	"strings"
	"testing"
)

// ruleCase is one table entry: the connections a capture would produce, the
// rule under test and how many findings of it must appear (0 for a
// look-alike that must stay quiet).
type ruleCase struct {
	desc  string
	rule  string
	cfg   Config
	build func() []*fx
	want  int
	// check, when set, inspects the rule's findings.
	check func(t *testing.T, fs []Finding)
}

func runCases(t *testing.T, cases []ruleCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.rule+"/"+tc.desc, func(t *testing.T) {
			if Lookup(tc.rule) == nil {
				t.Fatalf("no rule %s", tc.rule)
			}
			all := runRules(t, tc.cfg, tc.build()...)
			got := only(all, tc.rule)
			if len(got) != tc.want {
				t.Fatalf("%s fired %d times, want %d; all findings:%s", tc.rule, len(got), tc.want, describe(all))
			}
			for _, f := range got {
				checkFindingShape(t, f)
			}
			if tc.check != nil {
				tc.check(t, got)
			}
		})
	}
}

// checkFindingShape holds for every finding of every rule.
func checkFindingShape(t *testing.T, f Finding) {
	t.Helper()
	r := Lookup(f.Rule)
	if r == nil || f.Slug != r.Slug || f.Severity != r.Severity {
		t.Errorf("finding identity %s/%s/%s does not match the registry", f.Rule, f.Slug, f.Severity)
	}
	if len(f.Frames) == 0 {
		t.Errorf("%s: no evidence frames", f.Rule)
	}
	for i := 1; i < len(f.Frames); i++ {
		if f.Frames[i] <= f.Frames[i-1] {
			t.Errorf("%s: frames not ascending and unique: %v", f.Rule, f.Frames)
		}
	}
	if f.Time == 0 || f.Message == "" || f.Cost < -1 {
		t.Errorf("%s: time %d, cost %d, message %q", f.Rule, f.Time, f.Cost, f.Message)
	}
	if f.Connection == 0 && len(f.Connections) == 0 {
		t.Errorf("%s: names no connection", f.Rule)
	}
}

// wantCost checks the finding's cost within a microsecond.
func wantCost(ms float64) func(t *testing.T, fs []Finding) {
	return func(t *testing.T, fs []Finding) {
		t.Helper()
		want := int64(ms * 1e6)
		if d := fs[0].Cost - want; d < -1000 || d > 1000 {
			t.Errorf("cost = %d ns, want %d", fs[0].Cost, want)
		}
	}
}

// wantText checks that the first finding's message contains each part.
func wantText(parts ...string) func(t *testing.T, fs []Finding) {
	return func(t *testing.T, fs []Finding) {
		t.Helper()
		for _, p := range parts {
			if !strings.Contains(fs[0].Message, p) {
				t.Errorf("message %q lacks %q", fs[0].Message, p)
			}
		}
	}
}

func both(checks ...func(t *testing.T, fs []Finding)) func(t *testing.T, fs []Finding) {
	return func(t *testing.T, fs []Finding) {
		t.Helper()
		for _, c := range checks {
			c(t, fs)
		}
	}
}

func one(f *fx) []*fx { return []*fx{f} }
