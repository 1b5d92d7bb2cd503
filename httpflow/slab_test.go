package httpflow

import (
	"testing"
	"unsafe"
)

// TestTxnBoxSizeClass keeps a transaction's record in the allocator's
// 896-byte size class: a keep-alive capture allocates one per transaction,
// and the next class up is 1024 bytes.
func TestTxnBoxSizeClass(t *testing.T) {
	if n := unsafe.Sizeof(txnBox{}); n > 896 {
		t.Errorf("txnBox is %d bytes, over the 896-byte size class", n)
	}
}

// A released parser is reused by a later NewConn; what it handed out
// before must not change when the reused parser parses other bytes.
func TestReleasedParserLeavesItsTransactionsAlone(t *testing.T) {
	first := run(testConn(), Config{}, seq(cli(getA+getB), srv(ok5+ok3), fin(s2c), fin(c2s)), whole)
	txns := first.Transactions()
	first.Release()
	first.Release() // twice is harmless
	for range 4 {
		other := "POST /zzzz HTTP/1.0\r\nHost: yyyy\r\nContent-Length: 2\r\n\r\nzz"
		p := run(testConn(), Config{}, seq(cli(other), srv("HTTP/1.0 404 Nope\r\nX-Q: qqqq\r\n\r\n"), fin(s2c), fin(c2s)), whole)
		if len(p.Transactions()) != 1 {
			t.Fatalf("the later connection has %d transactions, want 1", len(p.Transactions()))
		}
		p.Release()
	}
	if len(txns) != 2 {
		t.Fatalf("%d transactions, want 2", len(txns))
	}
	for i, want := range []string{"/a", "/b"} {
		q, r := txns[i].Request, txns[i].Response
		if q.Method != "GET" || q.Target != want || q.Version != "HTTP/1.1" || len(q.Headers) != 1 ||
			q.Headers[0] != (Header{"Host", "x"}) || r.Status != 200 || r.Reason != "OK" || !r.Complete {
			t.Errorf("transaction %d changed after its parser was reused: %+v / %+v", i, q, r)
		}
	}
}
