package httpflow

import (
	"fmt"
	"slices"
	"testing"
	"unsafe"

	"github.com/connscope/connscope/reassembly"
)

// TestTxnBoxSizeClass keeps a transaction's record within the allocator's
// 896-byte size class: a connection of one transaction (without
// Config.RecycleTransactions, beyond its first) allocates one, and the next
// class up is 1024 bytes.
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
		if q.Method != "GET" || q.Target != want || q.Version != "HTTP/1.1" || len(q.Headers()) != 1 ||
			q.Headers()[0] != (Header{"Host", "x"}) || r.Status != 200 || r.Reason != "OK" || !r.Complete {
			t.Errorf("transaction %d changed after its parser was reused: %+v / %+v", i, q, r)
		}
	}
}

// TestAllocationsPerConnection holds the parser to a small constant number
// of allocations: a connection of one transaction (its first chunks and
// the slice Transactions returns; the parser itself comes back from the
// pool), and a keep-alive connection per transaction.
func TestAllocationsPerConnection(t *testing.T) {
	oneShot := seq(cli(getA), srv(ok5), fin(s2c), fin(c2s))
	var keepAlive []op
	for range 100 {
		keepAlive = append(keepAlive, cli(getA), srv(ok5))
	}
	keepAlive = append(keepAlive, fin(s2c), fin(c2s))
	for _, c := range []struct {
		what string
		ops  []op
		max  float64
	}{
		// Measured: 2 and 37 (the chunks and lists doubling as the
		// connection grows, about a quarter of an allocation per
		// transaction, and the header lists kept here sitting in
		// MessageExtras, whose chunks of at most slabMaxExtras add 14 of
		// the 37). The margin is for sync.Pool, which may drop the parser
		// now and then (often under the race detector: 3 and 25 before
		// the MessageExtras). analysis drops the field lists: there a
		// message has a MessageExtra only for the rarer fields.
		{"one transaction", oneShot, 3},
		{"100 keep-alive transactions", keepAlive, 40},
	} {
		data := make([][]byte, len(c.ops))
		for i, o := range c.ops {
			data[i] = []byte(o.data)
		}
		conn := testConn()
		got := testing.AllocsPerRun(50, func() {
			p := NewConn(conn, Config{})
			for i, o := range c.ops {
				switch o.kind {
				case opData:
					p.Data(o.dir, data[i], reassembly.Span{Frame: uint64(i + 1), Time: int64(i + 1)})
				case opEnd:
					p.End(o.dir, o.reason, reassembly.Span{Frame: uint64(i + 1), Time: int64(i + 1)})
				}
			}
			if n := len(p.Transactions()); n != len(c.ops)/2-1 {
				t.Fatalf("%s: %d transactions", c.what, n)
			}
			p.Release()
		})
		t.Logf("%s: %.1f allocations", c.what, got)
		if got > c.max {
			t.Errorf("%s: %.1f allocations, want at most %.0f", c.what, got, c.max)
		}
	}
}

// With Config.RecycleTransactions, connections hand their chunks of
// transaction records on at Release: later connections that take them
// parse exactly what fresh parsers do, and the released transactions are
// zeroed (so a pooled chunk keeps no strings alive).
func TestRecycleTransactions(t *testing.T) {
	// Transactions that differ from connection to connection, with an
	// interim response now and then, so that every kind of record is
	// reused.
	conn := func(tag string, n int) []op {
		var ops []op
		for i := range n {
			target := fmt.Sprintf("/%s/%d", tag, i)
			ops = append(ops, cli("GET "+target+" HTTP/1.1\r\nHost: "+tag+"\r\nConnection: keep-alive\r\n\r\n"))
			if i%50 == 7 {
				ops = append(ops, srv("HTTP/1.1 103 Early Hints\r\nLink: </s.css>\r\n\r\n"))
			}
			ops = append(ops, srv(fmt.Sprintf("HTTP/1.1 200 OK-%s\r\nKeep-Alive: timeout=%d\r\nContent-Length: 2\r\n\r\nok", tag, i)))
		}
		return append(ops, fin(s2c), fin(c2s))
	}
	// Connections of every length: one record, a few chunks, full chunks.
	for _, n := range []int{1, 3*slabMaxBoxes + 17, 1, 2} {
		for _, drop := range []bool{false, true} {
			fresh := Config{DropHeaderFields: drop}
			recycled := Config{DropHeaderFields: drop, RecycleTransactions: true}
			for _, tag := range []string{"a", "bb", "ccc"} {
				ops := conn(tag, n)
				want := everythingButFields(run(testConn(), fresh, ops, whole).Transactions())
				p := run(testConn(), recycled, ops, whole)
				txns := p.Transactions()
				if got := everythingButFields(txns); got != want {
					t.Fatalf("connection %s parsed with recycled records differs:\n%s\nwant:\n%s", tag, got, want)
				}
				// The slice goes back at Release too (see listCache):
				// look at the records through a copy of it.
				records := slices.Clone(txns)
				p.Release()
				for i, tx := range txns {
					if tx != nil {
						t.Fatalf("connection %s of %d: Release left transaction %d in the list it gave back", tag, n, i)
					}
				}
				for _, tx := range records {
					if tx.Request != nil || tx.Response != nil || tx.Connection != 0 {
						t.Fatalf("connection %s of %d: Release left a recycled record as it was: %+v", tag, n, *tx)
					}
				}
			}
		}
	}
}

// A transaction record fills whole cache lines, so that records side by
// side in a chunk each start on a line and a message's empty tail shares
// no line with the next record; each message starts on a line, and the
// fields every message writes (up to Headers, see Message) fill three
// (see txnBox).
func TestTxnBoxLayout(t *testing.T) {
	var b txnBox
	if size := unsafe.Sizeof(b); size%64 != 0 {
		t.Errorf("a txnBox is %d bytes, not a multiple of 64: adjust its padding", size)
	}
	if head := unsafe.Offsetof(b.connect) + 1; head > 3*64 {
		t.Errorf("the transaction and the bookkeeping take %d bytes, more than three lines", head)
	}
	for name, off := range map[string]uintptr{"req": unsafe.Offsetof(b.req), "resp": unsafe.Offsetof(b.resp)} {
		if off%64 != 0 {
			t.Errorf("txnBox.%s starts at byte %d, not on a cache line: adjust its padding", name, off)
		}
	}
	if size := unsafe.Sizeof(b.req); size > 3*64 {
		t.Errorf("a Message takes %d bytes, more than three cache lines", size)
	}
}

// boxCache gives back zeroed chunks of the size asked for, most recent
// first, and keeps no more than boxCacheBytes: what does not fit is left
// to the collector.
func TestBoxCacheBound(t *testing.T) {
	const n = slabMaxBoxes
	chunkBytes := n * int(unsafe.Sizeof(txnBox{}))
	// Empty the cache of this size, and note what other sizes hold.
	for {
		boxCache.Lock()
		l := len(boxCache.chunks[slabMaxBoxesLog2])
		boxCache.Unlock()
		if l == 0 {
			break
		}
		takeBoxes(n)
	}
	boxCache.Lock()
	others := boxCache.bytes
	boxCache.Unlock()

	var given [][]txnBox
	for range boxCacheBytes/chunkBytes + 3 {
		c := make([]txnBox, n)
		c[n-1].t.Index = 7 // something to zero
		c[0].req.Method = "GET"
		giveBoxes(c)
		given = append(given, c)
	}
	boxCache.Lock()
	kept, bytes := len(boxCache.chunks[slabMaxBoxesLog2]), boxCache.bytes
	boxCache.Unlock()
	if bytes > boxCacheBytes || kept != (boxCacheBytes-others)/chunkBytes {
		t.Fatalf("cache holds %d chunks of %d records, %d bytes in all (%d of other sizes); want %d chunks, at most %d bytes",
			kept, n, bytes, others, (boxCacheBytes-others)/chunkBytes, boxCacheBytes)
	}
	for i, c := range given {
		if c[n-1].t.Index != 0 || c[0].req.Method != "" {
			t.Fatalf("chunk %d was given back without being zeroed", i)
		}
	}
	// Taken back most recent first, each one a chunk that was given.
	for i := kept - 1; i >= 0; i-- {
		c := takeBoxes(n)
		if len(c) != n || &c[0] != &given[i][0] {
			t.Fatalf("takeBoxes gave %d records at %p, want chunk %d at %p", len(c), &c[0], i, &given[i][0])
		}
	}
	if c := takeBoxes(n); len(c) != n || c[n-1].t.Index != 0 {
		t.Fatalf("a new chunk: %d records, last index %d", len(c), c[n-1].t.Index)
	}
	boxCache.Lock()
	defer boxCache.Unlock()
	if boxCache.bytes != others {
		t.Errorf("after every chunk was taken back the cache counts %d bytes, want %d", boxCache.bytes, others)
	}
}
