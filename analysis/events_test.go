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

// txnEvents records TransactionEvents in the order they come.
type txnEvents struct {
	log     []string             // "txn 3" and "conn 2" in order
	early   map[int]*TxnReport   // by provisional ID
	connOf  map[int]int          // an early transaction's connection
	atClose map[int][]*TxnReport // by connection
}

func (e *txnEvents) Transaction(t *TxnReport) {
	e.log = append(e.log, "txn")
	e.early[t.ID] = t
	e.connOf[t.ID] = t.Connection
}

func (e *txnEvents) Connection(c *ConnReport, txns []*TxnReport) {
	e.log = append(e.log, "conn")
	e.atClose[c.ID] = txns
}

func (*txnEvents) Finding(*FindingReport) {}

// TransactionEvents hear of a keep-alive connection's transactions as
// they end, before the connection closes, each once, as Connection then
// gives them; the Report is the one a run without events gives.
func TestTransactionEventsComeBeforeTheirConnection(t *testing.T) {
	const path = "../testdata/captures/keepalive-reuse.pcap"
	run := func(ev Events) *Report {
		r, err := capture.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		a := New(Options{Events: ev})
		if err := a.AddSource("keepalive", r.Format(), r); err != nil {
			t.Fatal(err)
		}
		return a.Report()
	}
	ev := &txnEvents{early: map[int]*TxnReport{}, connOf: map[int]int{}, atClose: map[int][]*TxnReport{}}
	rep := run(ev)
	if len(ev.early) < 2 {
		t.Fatalf("%d transactions given before their connection closed, want the keep-alive connection's", len(ev.early))
	}
	if ev.log[0] != "txn" {
		t.Errorf("the first event is a %s, want a transaction", ev.log[0])
	}
	for id, early := range ev.early {
		var closed *TxnReport
		for _, tr := range ev.atClose[ev.connOf[id]] {
			if tr.ID == id {
				closed = tr
			}
		}
		if closed == nil {
			t.Errorf("transaction %d was given early but not with its connection %d", id, ev.connOf[id])
			continue
		}
		if early.Method != closed.Method || early.Target != closed.Target || early.Status != closed.Status ||
			early.Index != closed.Index || *early.Timings.TotalMS != *closed.Timings.TotalMS || early.Request.FirstFrame != closed.Request.FirstFrame {
			t.Errorf("transaction %d: given as %+v, closed as %+v", id, early, closed)
		}
	}
	plain := run(nil)
	if len(rep.Transactions) != len(plain.Transactions) {
		t.Fatalf("%d transactions with events, %d without", len(rep.Transactions), len(plain.Transactions))
	}
	for i := range rep.Transactions {
		x, y := *rep.Transactions[i], *plain.Transactions[i]
		x.provisional, y.provisional = 0, 0
		if x.ID != y.ID || x.Connection != y.Connection || x.Index != y.Index || x.Target != y.Target || x.Status != y.Status {
			t.Errorf("transaction %d: %+v with events, %+v without", i+1, x, y)
		}
	}
	if len(rep.Findings) != len(plain.Findings) {
		t.Errorf("%d findings with events, %d without", len(rep.Findings), len(plain.Findings))
	}
	for i := range rep.Findings {
		if rep.Findings[i].Transaction != plain.Findings[i].Transaction || rep.Findings[i].Rule != plain.Findings[i].Rule {
			t.Errorf("finding %d cites transaction %d of %s with events, %d of %s without", i,
				rep.Findings[i].Transaction, rep.Findings[i].Rule, plain.Findings[i].Transaction, plain.Findings[i].Rule)
		}
	}
}
