package report

import (
	"io"
	"runtime"
	"testing"

	"github.com/connscope/connscope/analysis"
	"github.com/connscope/connscope/httpflow"
)

// The HAR benchmarks report what writing costs per entry: allocations and
// bytes allocated, from runtime.MemStats around the timed loop (the
// document's own few allocations, its pages and the connection index,
// spread over its 50 000 entries). The CLI writes HAR indented.
//
//	go test -run '^$' -bench 'HAREntries' -benchtime 20x ./report

// harEntriesReport is manyTxnsReport (2000 connections of 25
// transactions, each with a query string, two request and two response
// headers) or, with browser set, the same with the header blocks a
// browser and a web server exchange: cookies sent and set, a compressed
// response.
func harEntriesReport(browser bool) *analysis.Report {
	r := syntheticReport(2000, 25, 50)
	if !browser {
		return r
	}
	for _, t := range r.Transactions {
		t.RequestHeaders = append(t.RequestHeaders[:len(t.RequestHeaders):len(t.RequestHeaders)],
			httpflow.Header{Name: "Accept", Value: "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"},
			httpflow.Header{Name: "Accept-Encoding", Value: "gzip, deflate, br"},
			httpflow.Header{Name: "Cookie", Value: "session=4f2a9c; theme=dark; consent=yes"},
		)
		t.ResponseHeaders = append(t.ResponseHeaders[:len(t.ResponseHeaders):len(t.ResponseHeaders)],
			httpflow.Header{Name: "Content-Encoding", Value: "gzip"},
			httpflow.Header{Name: "Set-Cookie", Value: "session=4f2a9c; Path=/; Expires=Wed, 21 Oct 2026 07:28:00 GMT; HttpOnly; Secure"},
			httpflow.Header{Name: "Cache-Control", Value: "private, max-age=0"},
		)
	}
	return r
}

func benchmarkHAREntries(b *testing.B, r *analysis.Report, opts HAROptions) {
	var cw countingWriter
	if err := WriteHAR(&cw, r, opts); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(cw.n)
	b.ReportAllocs()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	b.ResetTimer()
	for range b.N {
		if err := WriteHAR(io.Discard, r, opts); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	runtime.ReadMemStats(&after)
	entries := float64(b.N) * float64(len(r.Transactions))
	b.ReportMetric(float64(after.Mallocs-before.Mallocs)/entries, "allocs/entry")
	b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/entries, "B/entry")
}

func BenchmarkHAREntries(b *testing.B) {
	for _, c := range []struct {
		name    string
		browser bool
	}{{"plain", false}, {"browser", true}} {
		r := harEntriesReport(c.browser)
		b.Run(c.name, func(b *testing.B) { benchmarkHAREntries(b, r, HAROptions{Indent: true}) })
	}
}
