package cli

import (
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/connscope/connscope/diagnose"
)

// ruleSelector decides which rules run, from --enable and --disable lists
// (and the config file). Each item is a rule ID, a slug, a glob over either
// (CH*, *keep-alive*), "all", or a category prefix such as "CT"; an item
// starting with "-" removes what it matches. Items apply in order, enables
// before disables, starting from every rule enabled.
type ruleSelector struct {
	enabled map[*diagnose.Rule]bool
}

// newRuleSelector applies enable then disable items. Unknown items that
// match no rule are usage errors, so a typo never silently disables a gate.
func newRuleSelector(enable, disable []string) (*ruleSelector, error) {
	s := &ruleSelector{enabled: map[*diagnose.Rule]bool{}}
	all := diagnose.Rules()
	for _, r := range all {
		s.enabled[r] = true
	}
	apply := func(item string, on bool) error {
		item = strings.TrimSpace(item)
		if item == "" {
			return nil
		}
		if strings.HasPrefix(item, "-") {
			item, on = item[1:], !on
		} else if strings.HasPrefix(item, "+") {
			item = item[1:]
		}
		matched := false
		for _, r := range all {
			if ruleMatches(r, item) {
				s.enabled[r] = on
				matched = true
			}
		}
		if !matched {
			return fmt.Errorf("no rule matches %q (see 'connscope rules')", item)
		}
		return nil
	}
	if len(enable) > 0 {
		// An explicit enable list starts from nothing unless it says "all".
		// One that names nothing (--enable "$RULES" with RULES empty) would
		// run no rule and pass every --fail-on gate: refuse it.
		if !slices.ContainsFunc(enable, func(group string) bool { return strings.Trim(group, ", \t") != "" }) {
			return nil, fmt.Errorf("the enable list names no rule (it is empty): leave it out to run every rule, or use --disable all to run none")
		}
		for _, r := range all {
			s.enabled[r] = false
		}
	}
	for _, list := range []struct {
		items []string
		on    bool
	}{{enable, true}, {disable, false}} {
		for _, group := range list.items {
			for _, item := range strings.Split(group, ",") {
				if err := apply(item, list.on); err != nil {
					return nil, err
				}
			}
		}
	}
	return s, nil
}

func ruleMatches(r *diagnose.Rule, item string) bool {
	if item == "all" || strings.EqualFold(item, r.ID) || item == r.Slug {
		return true
	}
	if strings.ContainsAny(item, "*?[") {
		if ok, _ := path.Match(strings.ToUpper(item), r.ID); ok {
			return true
		}
		if ok, _ := path.Match(item, r.Slug); ok {
			return true
		}
		return false
	}
	// A bare category prefix: "CT" selects CT1001, CT1002, ...
	return len(item) >= 2 && len(item) < len(r.ID) && strings.HasPrefix(r.ID, strings.ToUpper(item)) &&
		strings.IndexFunc(item, func(c rune) bool { return c >= '0' && c <= '9' }) < 0
}

// Enabled is a diagnose.Config.Enabled function.
func (s *ruleSelector) Enabled(r *diagnose.Rule) bool { return s.enabled[r] }
