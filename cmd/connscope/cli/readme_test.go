package cli

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/connscope/connscope/diagnose"
)

// TestREADMEAgreesWithTheCode keeps README.md's usage block in step with
// the code, as diagnose's TestRulesDoc does for RULES.md: every flag it
// names exists, every limit's default is the flag's default, the formats
// are the formats, and every rule ID and RULE.threshold it cites exists.
func TestREADMEAgreesWithTheCode(t *testing.T) {
	data, err := os.ReadFile("../../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(data)
	help, _, code := runCLI(t, nil, "analyze", "--help")
	if code != ExitOK {
		t.Fatalf("analyze --help: exit %d", code)
	}
	rulesHelp, _, _ := runCLI(t, nil, "rules", "--help")

	for _, flag := range regexp.MustCompile(`--[a-z][a-z-]+`).FindAllString(readme, -1) {
		whole := regexp.MustCompile(regexp.QuoteMeta(flag) + `([^a-z-]|$)`) // --all-finding is not --all-findings
		if !whole.MatchString(help) && !whole.MatchString(rulesHelp) {
			t.Errorf("README names %s, which neither analyze nor rules has", flag)
		}
	}

	// The limits block: "    --max-conns N   what it bounds (8192); ...".
	defaultOf := func(flag string) string {
		m := regexp.MustCompile(`(?m)^\s+` + regexp.QuoteMeta(flag) + ` \S+ .*\(default ([^)]+)\)`).FindStringSubmatch(help)
		if m == nil {
			return ""
		}
		return strings.Trim(m[1], `"`)
	}
	limits := regexp.MustCompile(`(?m)^    (--(?:max-[a-z-]+|idle-timeout)) [ND] .*?\(([^)]+)\)`).FindAllStringSubmatch(readme, -1)
	if len(limits) < 9 {
		t.Fatalf("found %d limits in README's limits block, want the 9 flags; the block's shape changed", len(limits))
	}
	for _, m := range limits {
		flag, documented := m[1], m[2]
		if got := defaultOf(flag); got != documented {
			t.Errorf("README gives %s a default of %s, analyze --help says %q", flag, documented, got)
		}
	}

	if m := regexp.MustCompile(`-f, --format FORMAT\s+text \(default\), (.*)`).FindStringSubmatch(readme); m == nil ||
		"text, "+strings.TrimSpace(m[1]) != formatNames {
		t.Errorf("README's --format line %q does not list the formats %q", m, formatNames)
	}

	for _, ref := range regexp.MustCompile(`\b(C[CHT]\d{4})(?:\.([a-z][a-z-]*))?`).FindAllStringSubmatch(readme, -1) {
		r := diagnose.Lookup(ref[1])
		if r == nil {
			t.Errorf("README cites rule %s, which the registry does not have", ref[1])
			continue
		}
		if name := ref[2]; name != "" && !strings.Contains(thresholdNames(r), " "+name+" ") {
			t.Errorf("README cites threshold %s.%s; %s has %s", ref[1], name, r.ID, thresholdNames(r))
		}
	}
}

func thresholdNames(r *diagnose.Rule) string {
	var names []string
	for _, t := range r.Thresholds {
		names = append(names, t.Name)
	}
	return " " + strings.Join(names, " ") + " "
}
