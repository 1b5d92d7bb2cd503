package analysis

import (
	"bytes"
	"path/filepath"
	"testing"

	"github.com/connscope/connscope/capture"
)

// TestReportNumbersTransactionsStably: transactions are numbered 1..n in
// request order, findings name the transaction of their own connection,
// and calling Report again (Report numbers in place when no Events hold
// the TxnReports) gives the same report, with and without Events.
func TestReportNumbersTransactionsStably(t *testing.T) {
	files, _ := filepath.Glob("../testdata/captures/*.pcap")
	if len(files) < 5 {
		t.Fatalf("only %d captures", len(files))
	}
	for _, events := range []Events{nil, &recordedEvents{}} {
		a := New(Options{Events: events})
		for _, name := range files {
			r, err := capture.Open(name)
			if err != nil {
				t.Fatal(err)
			}
			_ = a.AddSource(name, r.Format(), r)
			r.Close()
		}
		first := a.Report()
		var firstJSON bytes.Buffer
		if err := first.WriteJSON(&firstJSON); err != nil {
			t.Fatal(err)
		}
		connOf := map[int]int{}
		for i, tr := range first.Transactions {
			if tr.ID != i+1 {
				t.Fatalf("transaction %d has ID %d", i, tr.ID)
			}
			if i > 0 && txnStart(tr) < txnStart(first.Transactions[i-1]) {
				t.Fatalf("transaction %d starts before %d", tr.ID, tr.ID-1)
			}
			connOf[tr.ID] = tr.Connection
		}
		cited := 0
		for _, f := range first.Findings {
			if f.Transaction == 0 {
				continue
			}
			cited++
			if c, ok := connOf[f.Transaction]; !ok || (f.Connection != 0 && c != f.Connection) {
				t.Errorf("%s names transaction %d of connection %d, finding is on connection %d", f.Rule, f.Transaction, c, f.Connection)
			}
		}
		if cited == 0 {
			t.Fatal("no finding names a transaction: the test checks little")
		}
		var again bytes.Buffer
		if err := a.Report().WriteJSON(&again); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(firstJSON.Bytes(), again.Bytes()) {
			t.Errorf("events=%v: a second Report differs from the first", events != nil)
		}
	}
}
