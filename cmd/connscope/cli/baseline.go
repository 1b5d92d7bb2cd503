package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/connscope/connscope/analysis"
)

// A baseline is an earlier JSON report: findings that were already there
// are accepted and do not count toward --fail-on. Findings are matched by a
// fingerprint that survives re-recording the same traffic (connection and
// frame numbers do not): the rule, the server endpoint (for a capture-wide
// finding, which has no connection of its own, the distinct servers of the
// connections it lists), and the request line of the transaction when
// there is one. Matching counts: a baseline
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
		var syntax *json.SyntaxError
		if errors.As(err, &syntax) {
			// An NDJSON report fails here: several documents, one a line.
			return nil, &notAReportError{name: name, why: fmt.Sprintf("not one JSON document: invalid at byte offset %d", syntax.Offset), err: err}
		}
		return nil, &notAReportError{name: name, why: "JSON, but not a report object", err: err}
	}
	if r.Schema == "" {
		return nil, &notAReportError{name: name, why: `it has no "schema" field`}
	}
	if r.Schema != analysis.Schema {
		return nil, fmt.Errorf("baseline %s: schema %q, want %q", name, r.Schema, analysis.Schema)
	}
	keys, err := fingerprints(&r)
	if err != nil {
		return nil, fmt.Errorf("baseline %s: %w", name, err)
	}
	b := &baseline{counts: map[string]int{}}
	for _, k := range keys {
		b.counts[k]++
	}
	return b, nil
}

// notAReportError says that a --baseline file is not a JSON report (a
// HAR or NDJSON report, some other JSON) and how to write one, without the
// decoder's wording; the decoder's error stays reachable with errors.As.
type notAReportError struct {
	name, why string
	err       error
}

func (e *notAReportError) Error() string {
	return fmt.Sprintf("baseline %s: not a connscope JSON report (%s); write one with -f json", e.name, e.why)
}

func (e *notAReportError) Unwrap() error { return e.err }

// fingerprints identifies each of r's findings, in order, independently
// of frame numbers and IDs. It reads the listing once, keeping only the
// connections and transactions the findings name.
func fingerprints(r *analysis.Report) ([]string, error) {
	servers, requests := map[int]string{}, map[int]string{}
	for _, f := range r.Findings {
		servers[f.Connection] = ""
		for _, c := range f.Connections {
			servers[c] = ""
		}
		if f.Transaction != 0 {
			requests[f.Transaction] = ""
		}
	}
	// The first listed entry with an ID wins, as a search would find it.
	seenConn, seenTxn := map[int]bool{}, map[int]bool{}
	err := r.EachConnection(func(c *analysis.ConnReport) error {
		if _, ok := servers[c.ID]; ok && !seenConn[c.ID] {
			servers[c.ID], seenConn[c.ID] = c.Server, true
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(requests) > 0 {
		err = r.EachTransaction(func(t *analysis.TxnReport) error {
			if _, ok := requests[t.ID]; ok && !seenTxn[t.ID] {
				requests[t.ID], seenTxn[t.ID] = t.Method+" "+t.Target, true
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	out := make([]string, len(r.Findings))
	for i, f := range r.Findings {
		request := ""
		if f.Transaction != 0 {
			request = requests[f.Transaction]
		}
		server := servers[f.Connection]
		if f.Connection == 0 && len(f.Connections) > 0 {
			var distinct []string
			for _, c := range f.Connections {
				distinct = append(distinct, servers[c])
			}
			slices.Sort(distinct)
			server = strings.Join(slices.Compact(distinct), ",")
		}
		out[i] = f.Rule + "|" + server + "|" + request
	}
	return out, nil
}

// newFindings returns the findings of r that the baseline does not absorb.
func (b *baseline) newFindings(r *analysis.Report) ([]*analysis.FindingReport, error) {
	keys, err := fingerprints(r)
	if err != nil {
		return nil, err
	}
	left := make(map[string]int, len(b.counts))
	for k, v := range b.counts {
		left[k] = v
	}
	var out []*analysis.FindingReport
	for i, f := range r.Findings {
		if left[keys[i]] > 0 {
			left[keys[i]]--
			continue
		}
		out = append(out, f)
	}
	return out, nil
}

// knownFindings returns the findings of r that the baseline absorbs (the
// ones newFindings leaves out), for the JUnit report to pass them.
func (b *baseline) knownFindings(r *analysis.Report) (map[*analysis.FindingReport]bool, error) {
	fresh, err := b.newFindings(r)
	if err != nil {
		return nil, err
	}
	isNew := make(map[*analysis.FindingReport]bool, len(fresh))
	for _, f := range fresh {
		isNew[f] = true
	}
	known := map[*analysis.FindingReport]bool{}
	for _, f := range r.Findings {
		if !isNew[f] {
			known[f] = true
		}
	}
	return known, nil
}
