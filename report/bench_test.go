package report

import (
	"fmt"
	"io"
	"testing"

	"github.com/connscope/connscope/analysis"
	"github.com/connscope/connscope/reassembly"
)

// syntheticReport builds a report of conns keep-alive connections, each
// with txnsPer transactions of segsPer/txnsPer segments and one finding,
// by repeating the fixture's first connection shifted in time.
func syntheticReport(conns, txnsPer, segsPer int) *analysis.Report {
	base := fixtureReport()
	r := &analysis.Report{Schema: analysis.Schema, Inputs: base.Inputs}
	proto, ptx := base.Connections[0], base.Transactions[0]
	txnID := 0
	for c := 1; c <= conns; c++ {
		shift := analysis.Time(int64(c) * 3e6)
		cr := *proto
		cr.ID, cr.Start, cr.End = c, proto.Start+shift, proto.Start+shift+analysis.Time(int64(segsPer)*1e5)
		cr.Client = fmt.Sprintf("10.0.%d.%d:40000", c/250, c%250)
		cr.Segments = make([]reassembly.SegmentRecord, segsPer)
		for i := range cr.Segments {
			s := proto.Segments[i%len(proto.Segments)]
			s.Time = int64(cr.Start) + int64(i)*1e5
			s.Frame = uint64(c*segsPer + i)
			cr.Segments[i] = s
		}
		r.Connections = append(r.Connections, &cr)
		for k := 0; k < txnsPer; k++ {
			txnID++
			t := *ptx
			req, resp := *ptx.Request, *ptx.Response
			off := analysis.Time(int64(k) * int64(segsPer/txnsPer) * 1e5)
			req.Start, req.End = cr.Start+off, cr.Start+off
			resp.Start, resp.End = cr.Start+off+1e6, cr.Start+off+2e6
			t.ID, t.Connection, t.Index, t.Request, t.Response = txnID, c, k, &req, &resp
			r.Transactions = append(r.Transactions, &t)
		}
		f := *base.Findings[0]
		f.Connection, f.Time = c, cr.Start
		r.Findings = append(r.Findings, &f)
	}
	return r
}

// countingWriter counts bytes, so benchmarks report output MB/s.
type countingWriter struct{ n int64 }

func (w *countingWriter) Write(p []byte) (int, error) { w.n += int64(len(p)); return len(p), nil }

// benchReport has 1000 connections, 5000 transactions, 100000 segments
// and 1000 findings.
func benchReport() *analysis.Report { return syntheticReport(1000, 5, 100) }

func benchmarkWriter(b *testing.B, r *analysis.Report, write func(io.Writer, *analysis.Report) error) {
	var cw countingWriter
	if err := write(&cw, r); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(cw.n)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := write(io.Discard, r); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkWriteNDJSON(b *testing.B) { benchmarkWriter(b, benchReport(), WriteNDJSON) }

func BenchmarkWriteHAR(b *testing.B) {
	benchmarkWriter(b, benchReport(), func(w io.Writer, r *analysis.Report) error { return WriteHAR(w, r, HAROptions{}) })
}

func BenchmarkWriteJUnit(b *testing.B) {
	rules := fixtureRules()
	benchmarkWriter(b, benchReport(), func(w io.Writer, r *analysis.Report) error {
		return WriteJUnitWith(w, r, JUnitOptions{Rules: rules})
	})
}

func BenchmarkWriteHTML(b *testing.B) {
	benchmarkWriter(b, benchReport(), func(w io.Writer, r *analysis.Report) error {
		return WriteHTML(w, r, HTMLOptions{MaxConnections: -1})
	})
}

func BenchmarkWriteTimeline(b *testing.B) {
	// One connection of 100000 segments and 50 transactions.
	benchmarkWriter(b, syntheticReport(1, 50, 100000), func(w io.Writer, r *analysis.Report) error { return WriteTimeline(w, r, 1, nil) })
}
