package report

import (
	"cmp"
	"errors"
	"math"
	"slices"
	"strings"

	"github.com/connscope/connscope/analysis"
	"github.com/connscope/connscope/httpflow"
)

// errNilReport is returned by every writer given a nil report.
var errNilReport = errors.New("report: nil report")

// Severity names as they appear in analysis.FindingReport.Severity.
const (
	sevInfo    = "info"
	sevWarning = "warning"
	sevError   = "error"
)

// severityRank orders severities: error 3, warning 2, info 1, anything
// else 0 (so an unknown severity sorts last rather than failing).
func severityRank(s string) int {
	switch s {
	case sevError:
		return 3
	case sevWarning:
		return 2
	case sevInfo:
		return 1
	}
	return 0
}

// txnStart is the capture time a transaction began: its request's first
// byte, or its response's when no request was seen.
func txnStart(t *analysis.TxnReport) analysis.Time {
	if t.Request != nil {
		return t.Request.Start
	}
	if t.Response != nil {
		return t.Response.Start
	}
	return 0
}

// findConnection returns the first listed connection with ID id, or nil.
func findConnection(r *analysis.Report, id int) (*analysis.ConnReport, error) {
	var found *analysis.ConnReport
	err := r.EachConnection(func(c *analysis.ConnReport) error {
		if c.ID == id {
			found = c
			return errStop
		}
		return nil
	})
	if err != nil && err != errStop {
		return nil, err
	}
	return found, nil
}

// errStop ends an iteration early; it never leaves the package.
var errStop = errors.New("stop")

// nonNil returns xs without nil entries, in the same order.
func nonNil[T any](xs []*T) []*T {
	out := make([]*T, 0, len(xs))
	for _, x := range xs {
		if x != nil {
			out = append(out, x)
		}
	}
	return out
}

// sortedFindings returns the findings in capture-time order; ties break
// by rule, connection, transaction and message, the order diagnose uses.
func sortedFindings(fs []*analysis.FindingReport) []*analysis.FindingReport {
	out := nonNil(fs)
	slices.SortStableFunc(out, func(a, b *analysis.FindingReport) int {
		return cmp.Or(
			cmp.Compare(a.Time, b.Time),
			cmp.Compare(a.Rule, b.Rule),
			cmp.Compare(a.Connection, b.Connection),
			cmp.Compare(a.Transaction, b.Transaction),
			cmp.Compare(a.Message, b.Message),
		)
	})
	return out
}

// severityCounts counts findings per severity name.
func severityCounts(fs []*analysis.FindingReport) map[string]int {
	m := map[string]int{sevError: 0, sevWarning: 0, sevInfo: 0}
	for _, f := range fs {
		if f != nil {
			m[f.Severity]++
		}
	}
	return m
}

// totalCostMS adds up the estimated cost of every finding that has one.
// Findings can overlap (two rules may blame the same stall), so the sum is
// an upper bound on the time lost, which is how the summaries label it.
func totalCostMS(fs []*analysis.FindingReport) float64 {
	var sum float64
	for _, f := range fs {
		if f != nil && f.CostMS != nil {
			sum += float64(*f.CostMS)
		}
	}
	return sum
}

// headerValue returns the first header field called name (ASCII
// case-insensitive), as captured.
func headerValue(hs []httpflow.Header, name string) (string, bool) {
	for _, h := range hs {
		if strings.EqualFold(h.Name, name) {
			return h.Value, true
		}
	}
	return "", false
}

// millis returns *m, or def when m is nil or not a finite number.
func millis(m *analysis.Millis, def float64) float64 {
	if m == nil || math.IsNaN(float64(*m)) || math.IsInf(float64(*m), 0) {
		return def
	}
	return float64(*m)
}

// reportSpan returns the earliest and latest capture time of the inputs
// and connections, the range a whole-capture time axis covers. ok is
// false when they hold no time at all.
func reportSpan(inputs []*analysis.InputReport, conns []*analysis.ConnReport) (start, end analysis.Time, ok bool) {
	add := func(t analysis.Time) {
		if t == 0 {
			return
		}
		if !ok || t < start {
			start = t
		}
		if !ok || t > end {
			end = t
		}
		ok = true
	}
	for _, in := range inputs {
		if in != nil {
			add(in.Start)
			add(in.End)
		}
	}
	for _, c := range conns {
		if c != nil {
			add(c.Start)
			add(c.End)
		}
	}
	return start, end, ok
}
