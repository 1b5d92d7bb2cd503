package analysis

import (
	"fmt"
	"io"
	"testing"
)

// benchReport is a report like a keep-alive capture's: many transactions
// over a few connections, each with a request and a response, and a
// finding for every hundredth.
func benchReport(n int) *Report {
	r := &Report{Schema: Schema, Inputs: []*InputReport{{Name: "bench.pcap", Format: "pcap", Skipped: map[string]int64{}}}}
	ms := func(v float64) *Millis { m := Millis(v); return &m }
	const t0 = Time(1_700_000_000_123_456_789)
	for c := 1; c <= n/100; c++ {
		r.Connections = append(r.Connections, &ConnReport{
			ID: c, Client: fmt.Sprintf("10.0.0.1:%d", 40000+c), Server: "10.0.0.2:80",
			FirstFrame: uint64(c * 300), LastFrame: uint64(c*300 + 299), Start: t0, End: t0 + 1_000_000,
			DurationMS: 1.5, Packets: Directional{150, 150}, Bytes: Directional{20000, 300000},
			IRTTMS: ms(0.25), State: "closed", History: "ShADadFf", Close: "fin", ClosedFirstBy: "client",
			App: "http", TransactionCount: 100,
		})
	}
	for i := 1; i <= n; i++ {
		start := t0 + Time(i)*12_345
		decl := int64(1234)
		r.Transactions = append(r.Transactions, &TxnReport{
			ID: i, Connection: 1 + i/100, Index: i % 100, Method: "GET",
			Target: fmt.Sprintf("/api/v1/items/%d?fields=name,price&sort=desc", i), Version: "HTTP/1.1", Status: 200,
			Request: &MessageReport{FirstFrame: uint64(3 * i), LastFrame: uint64(3 * i), Start: start, End: start,
				HeaderBytes: 120, Complete: true},
			Response: &MessageReport{FirstFrame: uint64(3*i + 1), LastFrame: uint64(3*i + 2), Start: start + 50_000, End: start + 80_000,
				HeaderBytes: 180, BodyBytes: 1234, DeclaredLength: &decl, Framing: "content-length", Complete: true},
			PersistentAfter: true,
			Timings:         Timings{SendMS: ms(0), WaitMS: ms(0.05), ReceiveMS: ms(0.03), TotalMS: ms(0.08)},
			GapBeforeMS:     ms(0.012),
		})
		if i%100 == 0 {
			r.Findings = append(r.Findings, &FindingReport{Rule: "CH1004", Slug: "slow-response", Severity: "warning",
				Connection: 1 + i/100, Transaction: i, Frames: []uint64{uint64(3 * i), uint64(3*i + 1)}, Time: start,
				CostMS: ms(12.5), Message: "the server took 12.5 ms to answer GET /api/v1/items"})
		}
	}
	return r
}

// BenchmarkWriteJSON writes a report of 10 000 transactions.
func BenchmarkWriteJSON(b *testing.B) {
	r := benchReport(10000)
	w := &countingWriter{}
	for b.Loop() {
		if err := r.WriteJSON(w); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(w.n / int64(b.N))
}

type countingWriter struct{ n int64 }

func (w *countingWriter) Write(p []byte) (int, error) { w.n += int64(len(p)); return len(p), nil }

var _ io.Writer = (*countingWriter)(nil)
