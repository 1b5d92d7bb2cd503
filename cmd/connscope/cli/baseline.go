package cli

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/connscope/connscope/analysis"
)

// A baseline is an earlier JSON report: findings that were already there
// are accepted and do not count toward --fail-on. Findings are matched by a
// fingerprint that survives re-recording the same traffic (connection and
// frame numbers do not): the rule, the server endpoint, and the request
// line of the transaction when there is one. Matching counts: a baseline
// with two findings of a kind absorbs two, and a third is new.
type baseline struct {
	counts map[string]int
}

func loadBaseline(name string) (*baseline, error) {
	data, err := os.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("baseline: %w", err)
	}
	var r analysis.Report
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("baseline %s: not a connscope JSON report: %w", name, err)
	}
	if r.Schema != analysis.Schema {
		return nil, fmt.Errorf("baseline %s: schema %q, want %q", name, r.Schema, analysis.Schema)
	}
	b := &baseline{counts: map[string]int{}}
	for _, f := range r.Findings {
		b.counts[fingerprint(&r, f)]++
	}
	return b, nil
}

// fingerprint identifies a finding independently of frame numbers and IDs.
func fingerprint(r *analysis.Report, f *analysis.FindingReport) string {
	server, request := "", ""
	for _, c := range r.Connections {
		if c.ID == f.Connection {
			server = c.Server
			break
		}
	}
	if f.Transaction != 0 {
		for _, t := range r.Transactions {
			if t.ID == f.Transaction {
				request = t.Method + " " + t.Target
				break
			}
		}
	}
	return f.Rule + "|" + server + "|" + request
}

// newFindings returns the findings of r that the baseline does not absorb.
func (b *baseline) newFindings(r *analysis.Report) []*analysis.FindingReport {
	left := make(map[string]int, len(b.counts))
	for k, v := range b.counts {
		left[k] = v
	}
	var out []*analysis.FindingReport
	for _, f := range r.Findings {
		k := fingerprint(r, f)
		if left[k] > 0 {
			left[k]--
			continue
		}
		out = append(out, f)
	}
	return out
}
