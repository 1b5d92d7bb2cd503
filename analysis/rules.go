package analysis

import (
	"slices"

	"github.com/connscope/connscope/diagnose"
)

// RulesReport says which diagnostic rules ran and with which thresholds.
// A report with no findings means "clean" only for the rules that ran: a
// CI job reads Ran (or Disabled) to tell a clean capture from one whose
// rules were switched off by --disable, --enable or a config file.
//
// Thresholds holds every threshold of the rules that ran, with the value
// in effect, not only the overridden ones: the report then says by itself
// what a finding was measured against, even when a later version changes a
// default. ChangedThresholds names those that differ from their default.
type RulesReport struct {
	// Ran lists the IDs of the rules that ran, sorted.
	Ran []string `json:"ran"`
	// Disabled lists the IDs of the rules that did not run, sorted.
	Disabled []string `json:"disabled"`
	// Thresholds maps "ID.name" to the value in the threshold's unit
	// (connscope explain ID), for each threshold of a rule that ran.
	Thresholds map[string]float64 `json:"thresholds"`
	// ChangedThresholds lists the keys of Thresholds whose value is not
	// the default, sorted.
	ChangedThresholds []string `json:"changed_thresholds"`
}

// NewRulesReport describes what cfg runs. It fails as diagnose.NewEngine
// does, for a threshold that names no rule or has a value out of range.
func NewRulesReport(cfg diagnose.Config) (*RulesReport, error) {
	e, err := diagnose.NewEngine(cfg)
	if err != nil {
		return nil, err
	}
	rr := &RulesReport{
		Ran:               []string{},
		Disabled:          []string{},
		Thresholds:        map[string]float64{},
		ChangedThresholds: []string{},
	}
	ran := e.Ran()
	for _, r := range diagnose.Rules() {
		if !slices.Contains(ran, r) {
			rr.Disabled = append(rr.Disabled, r.ID)
			continue
		}
		rr.Ran = append(rr.Ran, r.ID)
		for i, v := range e.ThresholdValues(r) {
			key := r.ID + "." + r.Thresholds[i].Name
			rr.Thresholds[key] = v
			if v != r.Thresholds[i].Default {
				rr.ChangedThresholds = append(rr.ChangedThresholds, key)
			}
		}
	}
	slices.Sort(rr.Ran)
	slices.Sort(rr.Disabled)
	slices.Sort(rr.ChangedThresholds)
	return rr, nil
}
