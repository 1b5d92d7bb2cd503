package analysis

import (
	"testing"

	"github.com/connscope/connscope/capture"
	"github.com/connscope/connscope/diagnose"
)

type recordedEvents struct {
	conns, txns int
	findings    []*FindingReport
}

func (r *recordedEvents) Connection(c *ConnReport, txns []*TxnReport) {
	r.conns++
	r.txns += len(txns)
}

func (r *recordedEvents) Finding(f *FindingReport) { r.findings = append(r.findings, f) }

// Events hear of every connection, transaction and connection-scope
// finding while the capture is read; the Report then lists the same.
func TestEventsStreamWhatTheReportHolds(t *testing.T) {
	r, err := capture.Open("../testdata/captures/nagle-stall-client.pcap")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	ev := &recordedEvents{}
	a := New(Options{Events: ev})
	if err := a.AddSource("nagle", r.Format(), r); err != nil {
		t.Fatal(err)
	}
	rep := a.Report()
	if ev.conns != len(rep.Connections) || ev.txns != len(rep.Transactions) {
		t.Errorf("events: %d connections, %d transactions; report: %d, %d", ev.conns, ev.txns, len(rep.Connections), len(rep.Transactions))
	}
	perConn := 0
	for _, f := range rep.Findings {
		if r := diagnose.Lookup(f.Rule); r != nil && r.Scope == diagnose.ScopeConnection {
			perConn++
		}
	}
	if perConn == 0 {
		t.Fatal("the Nagle capture raised no connection-scope finding; the test needs some")
	}
	if len(ev.findings) != perConn {
		t.Errorf("events streamed %d findings, the report lists %d from connection-scope rules", len(ev.findings), perConn)
	}
	for _, f := range ev.findings {
		if f.Connection == 0 || len(f.Frames) == 0 {
			t.Errorf("streamed finding %+v lacks its connection or evidence", f)
		}
	}
}
