package httpflow

import (
	"strings"
	"testing"

	"github.com/connscope/connscope/reassembly"
)

// Connections sharing a Budget keep at most its size in transactions
// between them; a released connection gives its share back.
func TestBudgetSharedByConnections(t *testing.T) {
	b := NewBudget(3)
	cfg := Config{Budget: b}
	twice := seq(cli(getA+getB), srv(ok5+ok3), fin(s2c), fin(c2s))
	thrice := seq(cli(getA+getB+getA), srv(ok5+ok3+ok5), fin(s2c), fin(c2s))

	a := run(testConn(), cfg, twice, whole)
	if got := len(a.Transactions()); got != 2 || a.TransactionsDropped() != 0 || b.InUse() != 2 {
		t.Fatalf("first connection kept %d, dropped %d; budget in use %d; want 2, 0, 2", got, a.TransactionsDropped(), b.InUse())
	}
	c := run(testConn(), cfg, thrice, whole)
	if got := len(c.Transactions()); got != 1 || c.TransactionsDropped() != 2 || c.TransactionsOverBudget() != 2 {
		t.Errorf("second connection kept %d, dropped %d (%d over budget); want 1, 2, 2", got, c.TransactionsDropped(), c.TransactionsOverBudget())
	}
	a.Release()
	a.Release() // twice is harmless
	if b.InUse() != 1 {
		t.Errorf("after releasing the first connection the budget has %d in use, want 1", b.InUse())
	}
	d := run(testConn(), cfg, thrice, whole)
	if got := len(d.Transactions()); got != 2 || d.TransactionsOverBudget() != 1 {
		t.Errorf("third connection kept %d (%d over budget); want 2 (1)", got, d.TransactionsOverBudget())
	}
	// Over its own bound a connection's drops are not the budget's.
	e := run(testConn(), Config{MaxTransactionsPerConn: 1, Budget: NewBudget(10)}, thrice, whole)
	if e.TransactionsDropped() != 2 || e.TransactionsOverBudget() != 0 {
		t.Errorf("per-connection bound: dropped %d, over budget %d; want 2, 0", e.TransactionsDropped(), e.TransactionsOverBudget())
	}
}

// A transaction the connection does not keep (over its Budget or its own
// bound) is parsed and dropped: its header text must not go into the
// connection's slab, whose chunks live as long as the connection. Before,
// with header fields kept (HAR), every dropped message's block went into
// the slab, so a long keep-alive connection over the budget grew its text,
// header and MessageExtra chunks to their largest (about 70 kB a
// connection, held until it closed) however few transactions it kept: the
// 1 000 open connections of internal/hostile's keepalive-hoard held 80 MB
// that way, and the collector, near the CLI's memory limit, ran nonstop.
func TestDroppedTransactionsLeaveTheSlabAlone(t *testing.T) {
	for _, c := range []struct {
		name string
		cfg  Config
	}{
		{"over the budget", Config{Budget: NewBudget(2)}},
		{"over the budget, recycling", Config{Budget: NewBudget(2), RecycleTransactions: true}},
		{"over the connection's bound", Config{MaxTransactionsPerConn: 2, RecycleTransactions: true}},
	} {
		cfg := c.cfg
		exchange := func(n int) []op {
			var ops []op
			for i := range n {
				resp := "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-Trace: 12345678\r\n\r\nhello"
				if i%2 == 1 { // trailers go through the slab too
					resp = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-Trace: 12345678\r\n\r\n5\r\nhello\r\n0\r\nX-Sum: 99\r\n\r\n"
				}
				ops = append(ops, cli("GET /item/"+strings.Repeat("x", i%7)+" HTTP/1.1\r\nHost: example.test\r\nCookie: a=b\r\n\r\n"), srv(resp))
			}
			return ops
		}
		kept := run(testConn(), cfg, exchange(2), whole)
		if cfg.Budget != nil {
			cfg.Budget = NewBudget(2)
		}
		many := run(testConn(), cfg, exchange(2000), whole)
		if got := len(many.Transactions()); got != 2 || many.TransactionsDropped() != 1998 {
			t.Fatalf("%s: kept %d, dropped %d; want 2, 1998", c.name, got, many.TransactionsDropped())
		}
		for i, tx := range many.Transactions() {
			if h := tx.Request.Headers(); len(h) != 2 || h[1].Value != "a=b" {
				t.Errorf("%s: transaction %d kept request headers %q", c.name, i, h)
			}
			if h := tx.Response.Headers(); len(h) != 2 || h[1].Value != "12345678" {
				t.Errorf("%s: transaction %d kept response headers %q", c.name, i, h)
			}
			if tr := tx.Response.Trailers(); i == 1 && (len(tr) != 1 || tr[0].Value != "99") {
				t.Errorf("%s: transaction %d kept trailers %q", c.name, i, tr)
			}
		}
		type size struct{ bytes, headers, extras, boxes int }
		got := size{many.mem.nextBytes, many.mem.nextHeaders, many.mem.nextExtras, many.mem.nextBoxes}
		want := size{kept.mem.nextBytes, kept.mem.nextHeaders, kept.mem.nextExtras, kept.mem.nextBoxes}
		if got != want {
			t.Errorf("%s: slab chunks after 2 kept and 1998 dropped transactions %+v, after the 2 alone %+v", c.name, got, want)
		}
	}
}

// With header fields kept, a transaction the connection does not keep
// costs its record, one string per message (its start line and fields,
// which interpret reads) and here the request's MessageExtra for its
// Keep-Alive value: nothing reads a dropped message's field list, so it
// gets none, nor a MessageExtra to hold one. It cost seven allocations
// (a string, a []Header and a MessageExtra per message), which on
// keepalive-hoard's million dropped transactions kept the collector busy;
// with DropHeaderFields it costs the record alone.
func TestDroppedTransactionAllocations(t *testing.T) {
	for _, c := range []struct {
		drop bool
		max  float64
	}{{true, 1}, {false, 4}} {
		p := NewConn(testConn(), Config{Budget: NewBudget(1), DropHeaderFields: c.drop, RecycleTransactions: true})
		req := []byte("GET /item/12345 HTTP/1.1\r\nHost: example.test\r\nKeep-Alive: timeout=5\r\n\r\n")
		resp := []byte("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-Trace: 1\r\n\r\nhello")
		var off [2]int64
		frame := uint64(3)
		feed := func(dir reassembly.Direction, b []byte) {
			frame++
			p.Data(dir, b, reassembly.Span{Frame: frame, Time: ms(int64(frame)), Offset: off[dir]})
			off[dir] += int64(len(b))
		}
		exchange := func() { feed(c2s, req); feed(s2c, resp) }
		for range 10 {
			exchange()
		}
		got := testing.AllocsPerRun(200, exchange)
		if p.TransactionsDropped() < 200 {
			t.Fatalf("drop %v: %d transactions dropped, want every one after the first", c.drop, p.TransactionsDropped())
		}
		if got > c.max {
			t.Errorf("drop %v: a dropped transaction costs %.1f allocations, want at most %.0f", c.drop, got, c.max)
		}
		// The kept one still has its fields, and the dropped ones were
		// interpreted all the same (Keep-Alive read).
		txns := p.Transactions()
		if len(txns) != 1 || txns[0].Request.KeepAlive() != "timeout=5" || (!c.drop && len(txns[0].Request.Headers()) != 2) {
			t.Errorf("drop %v: kept %d transactions, the first with Keep-Alive %q and headers %q", c.drop, len(txns), txns[0].Request.KeepAlive(), txns[0].Request.Headers())
		}
	}
}
