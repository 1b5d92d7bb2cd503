package report

import (
	"io"
	"testing"

	"github.com/connscope/connscope/analysis"
)

// manyTxnsReport has 2000 connections of 25 transactions each (50 000
// transactions) and a finding per connection: a report whose writing is
// nearly all transaction records.
var manyTxnsReport = func() func() *analysis.Report {
	var r *analysis.Report
	return func() *analysis.Report {
		if r == nil {
			r = syntheticReport(2000, 25, 50)
		}
		return r
	}
}()

func BenchmarkWriteNDJSONManyTxns(b *testing.B) { benchmarkWriter(b, manyTxnsReport(), WriteNDJSON) }

func BenchmarkWriteHARManyTxns(b *testing.B) {
	benchmarkWriter(b, manyTxnsReport(), func(w io.Writer, r *analysis.Report) error { return WriteHAR(w, r, HAROptions{}) })
}

// The CLI writes HAR indented.
func BenchmarkWriteHARIndentManyTxns(b *testing.B) {
	benchmarkWriter(b, manyTxnsReport(), func(w io.Writer, r *analysis.Report) error {
		return WriteHAR(w, r, HAROptions{Indent: true})
	})
}
