package report

import (
	"io"
	"testing"

	"github.com/connscope/connscope/analysis"
)

// What the hand encoders (analysis/report_json_fast.go for NDJSON lines,
// har_fast.go for HAR entries) gained, measured against 0581f9c (every
// NDJSON line through json.Marshal, every HAR entry through json.Encoder),
// taskset -c 0, on a machine other sessions shared:
//
//	go test -bench              before      after
//	WriteNDJSON (5 000 txns)     71.6 ms     11.2 ms
//	WriteNDJSONManyTxns         565 ms       96-104 ms
//	WriteHAR (compact)           21-31 ms    15-16 ms
//	WriteHARManyTxns (compact)  222-435 ms  163-226 ms
//	WriteHARIndentManyTxns      473-647 ms  167-183 ms
//
//	connscope analyze, CPU s (user+sys, mean of 4 alternated runs, outputs equal)
//	                    ndjson        har
//	keepalive.pcap   1.33 -> 1.15  2.50 -> 2.08
//	short.pcap       2.09 -> 1.65  2.14 -> 1.90
//	mixed.pcap       1.66 -> 1.37  1.78 -> 1.52

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
