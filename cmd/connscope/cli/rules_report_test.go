package cli

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/connscope/connscope/diagnose"
)

// rulesRecord is the "rules" object of the JSON report and the first
// NDJSON line.
type rulesRecord struct {
	Type              string             `json:"type"`
	Ran               []string           `json:"ran"`
	Disabled          []string           `json:"disabled"`
	Thresholds        map[string]float64 `json:"thresholds"`
	ChangedThresholds []string           `json:"changed_thresholds"`
}

// TestReportSaysWhichRulesRan holds the JSON and NDJSON reports to naming
// the rules that ran and the thresholds they ran with, so that a CI job
// can tell a clean capture from one whose rules were switched off.
func TestReportSaysWhichRulesRan(t *testing.T) {
	all := diagnose.Rules()
	var allIDs []string
	for _, r := range all {
		allIDs = append(allIDs, r.ID)
	}
	tests := []struct {
		desc        string
		args        []string
		wantRan     []string
		wantChanged []string
		wantValue   map[string]float64
		wantNoKey   []string
	}{
		{
			desc:      "defaults",
			wantRan:   allIDs,
			wantValue: map[string]float64{"CH1009.max-connections": 6},
		},
		{
			desc:        "disabled category and a threshold by slug",
			args:        []string{"--disable", "CT", "--threshold", "too-many-parallel-connections.max-connections=9"},
			wantRan:     slices.DeleteFunc(slices.Clone(allIDs), func(id string) bool { return strings.HasPrefix(id, "CT") }),
			wantChanged: []string{"CH1009.max-connections"},
			wantValue:   map[string]float64{"CH1009.max-connections": 9},
			wantNoKey:   []string{"CT1001.min-share"},
		},
		{
			desc:      "a threshold set to its default is not changed",
			args:      []string{"--enable", "CH1009,CH1007", "--threshold", "CH1009.max-connections=6"},
			wantRan:   []string{"CH1007", "CH1009"},
			wantValue: map[string]float64{"CH1009.max-connections": 6},
		},
		{
			desc:    "no rule",
			args:    []string{"--disable", "all"},
			wantRan: []string{},
		},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			for _, format := range []string{"json", "ndjson"} {
				args := append([]string{"analyze", "--format", format}, tc.args...)
				out, stderr, code := runCLI(t, nil, append(args, keepAlive)...)
				if code != ExitOK {
					t.Fatalf("%s: exit %d: %s", format, code, stderr)
				}
				var got rulesRecord
				if format == "json" {
					var doc struct {
						Rules *rulesRecord `json:"rules"`
					}
					if err := json.Unmarshal([]byte(out), &doc); err != nil {
						t.Fatal(err)
					}
					if doc.Rules == nil {
						t.Fatalf("json: no rules object")
					}
					got = *doc.Rules
				} else {
					first, _, _ := strings.Cut(out, "\n")
					if err := json.Unmarshal([]byte(first), &got); err != nil {
						t.Fatalf("ndjson first line %q: %v", first, err)
					}
					if got.Type != "rules" {
						t.Fatalf("ndjson: first line has type %q, want rules", got.Type)
					}
				}
				if got.Ran == nil || !slices.Equal(got.Ran, tc.wantRan) {
					t.Errorf("%s: ran %v, want %v", format, got.Ran, tc.wantRan)
				}
				var wantDisabled []string
				for _, id := range allIDs {
					if !slices.Contains(tc.wantRan, id) {
						wantDisabled = append(wantDisabled, id)
					}
				}
				if len(got.Disabled)+len(wantDisabled) > 0 && !slices.Equal(got.Disabled, wantDisabled) {
					t.Errorf("%s: disabled %v, want %v", format, got.Disabled, wantDisabled)
				}
				if got.Disabled == nil || got.ChangedThresholds == nil || got.Thresholds == nil {
					t.Errorf("%s: lists must be [] or {} when empty, not null: %+v", format, got)
				}
				if len(got.ChangedThresholds)+len(tc.wantChanged) > 0 && !slices.Equal(got.ChangedThresholds, tc.wantChanged) {
					t.Errorf("%s: changed thresholds %v, want %v", format, got.ChangedThresholds, tc.wantChanged)
				}
				for k, v := range tc.wantValue {
					if got.Thresholds[k] != v {
						t.Errorf("%s: threshold %s = %v, want %v", format, k, got.Thresholds[k], v)
					}
				}
				for _, k := range tc.wantNoKey {
					if _, ok := got.Thresholds[k]; ok {
						t.Errorf("%s: threshold %s of a rule that did not run is listed", format, k)
					}
				}
				// Every threshold listed belongs to a rule that ran, and
				// every threshold of a rule that ran is listed.
				for k := range got.Thresholds {
					id, _, _ := strings.Cut(k, ".")
					if !slices.Contains(tc.wantRan, id) {
						t.Errorf("%s: threshold %s listed, but %s did not run", format, k, id)
					}
				}
				for _, r := range all {
					if !slices.Contains(tc.wantRan, r.ID) {
						continue
					}
					for _, th := range r.Thresholds {
						if _, ok := got.Thresholds[r.ID+"."+th.Name]; !ok {
							t.Errorf("%s: threshold %s.%s of a rule that ran is missing", format, r.ID, th.Name)
						}
					}
				}
			}
		})
	}
}
