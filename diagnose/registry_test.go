package diagnose

import (
	"regexp"
	"slices"
	"strings"
	"testing"
)

var (
	idPattern   = regexp.MustCompile(`^(CT|CH|CC)[0-9]{4}$`)
	slugPattern = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)
)

func TestRegistry(t *testing.T) {
	rules := Rules()
	if len(rules) == 0 {
		t.Fatal("no rules registered")
	}
	ids, slugs := map[string]bool{}, map[string]bool{}
	for i, r := range rules {
		if !idPattern.MatchString(r.ID) {
			t.Errorf("rule %q: ID does not match %s", r.ID, idPattern)
		}
		if slices.Contains(retiredIDs, r.ID) {
			t.Errorf("rule %s reuses a retired ID", r.ID)
		}
		if i > 0 && rules[i-1].ID >= r.ID {
			t.Errorf("registry not in ID order: %s before %s", rules[i-1].ID, r.ID)
		}
		if ids[r.ID] {
			t.Errorf("duplicate ID %s", r.ID)
		}
		ids[r.ID] = true
		if !slugPattern.MatchString(r.Slug) {
			t.Errorf("rule %s: slug %q is not kebab-case", r.ID, r.Slug)
		}
		if slugs[r.Slug] || ids[r.Slug] {
			t.Errorf("rule %s: slug %q is not unique", r.ID, r.Slug)
		}
		slugs[r.Slug] = true
		if r.Severity < SeverityInfo || r.Severity > SeverityError {
			t.Errorf("rule %s: invalid severity %d", r.ID, r.Severity)
		}
		if r.Title == "" || r.Since == "" {
			t.Errorf("rule %s: missing title or since", r.ID)
		}
		switch r.Scope {
		case ScopeConnection:
			if r.checkConnection == nil || r.checkCapture != nil {
				t.Errorf("rule %s: connection scope needs exactly checkConnection", r.ID)
			}
		case ScopeCapture:
			if r.checkCapture == nil || r.checkConnection != nil {
				t.Errorf("rule %s: capture scope needs exactly checkCapture", r.ID)
			}
		default:
			t.Errorf("rule %s: invalid scope %d", r.ID, r.Scope)
		}
		names := map[string]bool{}
		for _, th := range r.Thresholds {
			if !slugPattern.MatchString(th.Name) || names[th.Name] {
				t.Errorf("rule %s: threshold name %q is not kebab-case or repeats", r.ID, th.Name)
			}
			names[th.Name] = true
			if th.Doc == "" || th.Default < 0 {
				t.Errorf("rule %s: threshold %s needs a doc and a non-negative default", r.ID, th.Name)
			}
			if !slices.Contains([]string{"ms", "s", "count", "ratio", "bytes"}, th.Unit) {
				t.Errorf("rule %s: threshold %s has unknown unit %q", r.ID, th.Name, th.Unit)
			}
		}
	}
}

// TestRuleDocs checks that every rule's documentation is present and reads
// as sentences, since `connscope explain` prints it as is.
func TestRuleDocs(t *testing.T) {
	for _, r := range Rules() {
		for _, s := range []struct{ name, text string }{
			{"What", r.Doc.What}, {"Detection", r.Doc.Detection}, {"Why", r.Doc.Why}, {"Fix", r.Doc.Fix},
		} {
			if len(s.text) < 40 {
				t.Errorf("rule %s: Doc.%s is missing or too short: %q", r.ID, s.name, s.text)
			}
			if !strings.HasSuffix(strings.TrimSpace(s.text), ".") {
				t.Errorf("rule %s: Doc.%s does not end with a full stop", r.ID, s.name)
			}
		}
	}
}

func TestLookup(t *testing.T) {
	for _, r := range Rules() {
		if Lookup(r.ID) != r || Lookup(strings.ToLower(r.ID)) != r || Lookup(r.Slug) != r {
			t.Errorf("Lookup does not find rule %s by ID and slug %s", r.ID, r.Slug)
		}
	}
	if Lookup("XX9999") != nil || Lookup("") != nil {
		t.Error("Lookup found a rule that does not exist")
	}
}

func TestSeverityRoundTrip(t *testing.T) {
	for _, s := range []Severity{SeverityInfo, SeverityWarning, SeverityError} {
		got, err := ParseSeverity(s.String())
		if err != nil || got != s {
			t.Errorf("ParseSeverity(%q) = %v, %v", s.String(), got, err)
		}
	}
	if _, err := ParseSeverity("fatal"); err == nil {
		t.Error("ParseSeverity accepted an unknown severity")
	}
}

func TestNewEngineThresholds(t *testing.T) {
	for _, tc := range []struct {
		desc    string
		key     string
		value   float64
		wantErr bool
	}{
		{desc: "by ID", key: "CH1009.max-connections", value: 12},
		{desc: "by slug", key: "too-many-parallel-connections.max-connections", value: 12},
		{desc: "unknown rule", key: "XX0001.max-connections", value: 1, wantErr: true},
		{desc: "unknown threshold", key: "CH1009.nope", value: 1, wantErr: true},
		{desc: "no dot", key: "CH1009", value: 1, wantErr: true},
		{desc: "negative", key: "CH1009.max-connections", value: -1, wantErr: true},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			e, err := NewEngine(Config{Thresholds: map[string]float64{tc.key: tc.value}})
			if (err != nil) != tc.wantErr {
				t.Fatalf("NewEngine: err = %v, want error %v", err, tc.wantErr)
			}
			if err == nil && e.thresholds[ruleTooManyParallel][ruleTooManyParallel.thresholdIndex("max-connections")] != tc.value {
				t.Errorf("override not applied: %v", e.thresholds[ruleTooManyParallel])
			}
		})
	}
}

// TestNewEngineRejectsMeaninglessThresholds: a value of the right sign can
// still make no sense for its unit or against its partner threshold; the
// engine refuses it instead of reporting "+Inf% of a 0-port range" or
// counting gaps that are both shorter than max-gap and longer than min-gap.
func TestNewEngineRejectsMeaninglessThresholds(t *testing.T) {
	for _, tc := range []struct {
		desc       string
		thresholds map[string]float64
		wantErr    string // "" when the values are fine
	}{
		{"a count that is not whole", map[string]float64{"CH1009.max-connections": 0.5}, "whole number"},
		{"a share above 1", map[string]float64{"CT1001.min-share": 5}, "between 0 and 1"},
		{"a share of 1", map[string]float64{"CT1012.min-share": 1}, ""},
		{"a share of 0", map[string]float64{"CT1001.min-share": 0}, ""},
		{"an empty port range", map[string]float64{"CT1012.port-range": 0}, "at least 1"},
		{"min-gap above the default max-gap", map[string]float64{"CH1007.min-gap": 5000}, "max-gap"},
		{"min-gap and max-gap raised together", map[string]float64{"CH1007.min-gap": 5000, "CH1007.max-gap": 10000}, ""},
		{"min-ack-delay above max-ack-delay", map[string]float64{"CT1003.min-ack-delay": 300}, "max-ack-delay"},
		{"equal bounds", map[string]float64{"CT1007.min-ack-delay": 100, "CT1007.max-ack-delay": 100}, ""},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			_, err := NewEngine(Config{Thresholds: tc.thresholds})
			switch {
			case tc.wantErr == "" && err != nil:
				t.Errorf("NewEngine: %v, want no error", err)
			case tc.wantErr != "" && err == nil:
				t.Errorf("NewEngine accepted %v", tc.thresholds)
			case tc.wantErr != "" && !strings.Contains(err.Error(), tc.wantErr):
				t.Errorf("NewEngine: %v, want it to say %q", err, tc.wantErr)
			}
		})
	}
}

// TestNewEngineRefusesOneThresholdTwice: the same threshold named twice,
// by ID and by slug, has no defined winner (map order would pick one at
// random), so it is an error.
func TestNewEngineRefusesOneThresholdTwice(t *testing.T) {
	for range 20 { // map order varies from run to run: try it several times
		_, err := NewEngine(Config{Thresholds: map[string]float64{"CH1007.min-gap": 100, "serial-idle-gaps.min-gap": 1900}})
		if err == nil || !strings.Contains(err.Error(), `"CH1007.min-gap" and "serial-idle-gaps.min-gap"`) {
			t.Fatalf("NewEngine: %v, want an error naming both spellings", err)
		}
	}
}
