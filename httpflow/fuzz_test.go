package httpflow

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/connscope/connscope/reassembly"
)

// FuzzConn feeds random bytes as the two directions of a connection, cut
// into random segments, interleaved at random, with random gaps and a
// random ending. It checks that the parser never panics, that every
// delivered byte is accounted for (by a message or as skipped), that
// messages are internally consistent, that cutting the same bytes into
// one-byte segments gives the same transactions, that parsing into
// recycled transaction records does too, that a consumer of Settled with
// ForgetSettled ends up with them too (checkForgetSettled), and that the
// fast paths (fastpath.go) give what the general code gives.
func FuzzConn(f *testing.F) {
	for _, tc := range parseCases {
		var c, s strings.Builder
		for _, o := range tc.ops {
			if o.kind == opData {
				if o.dir == c2s {
					c.WriteString(o.data)
				} else {
					s.WriteString(o.data)
				}
			}
		}
		f.Add([]byte(c.String()), []byte(s.String()), uint64(len(tc.desc)), byte(0))
	}
	f.Add([]byte(getA+getB), []byte(ok5+ok3), uint64(1), byte(1))
	f.Add([]byte("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n4;x=y\r\nabcd\r\n0\r\nT: 1\r\n\r\n"),
		[]byte("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.0 200 OK\r\nKeep-Alive: max=5\r\n\r\nbody"), uint64(7), byte(6))
	// Repeated short header blocks, which fit in the fuzzer's segments:
	// the block memo (replayBlock) replays them.
	f.Add([]byte(strings.Repeat("GET /r HTTP/1.1\r\nH: x\r\nConnection: keep-alive\r\n\r\n", 5)),
		[]byte(strings.Repeat("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nz", 5)), uint64(3), byte(0))
	f.Fuzz(func(t *testing.T, client, server []byte, seed uint64, flags byte) {
		ops := fuzzOps(client, server, seed, flags)
		p := run(testConn(), Config{MaxHeaderBytes: 256, MaxHeaders: 8}, ops, whole)
		checkInvariants(t, p)
		q := run(testConn(), Config{MaxHeaderBytes: 256, MaxHeaders: 8}, ops, bytewise)
		if a, b := strings.Join(render(p.Transactions()), "\n"), strings.Join(render(q.Transactions()), "\n"); a != b || p.App() != q.App() {
			t.Errorf("delivery split changed the result:\nwhole (%s):\n%s\nbytewise (%s):\n%s", p.App(), a, q.App(), b)
		}
		checkDropHeaderFields(t, Config{MaxHeaderBytes: 256, MaxHeaders: 8}, ops, whole)
		// As analysis parses: records recycled from earlier inputs' parsers
		// (the pools are shared) give the same transactions, and go back
		// for the next input.
		r := run(testConn(), Config{MaxHeaderBytes: 256, MaxHeaders: 8, DropHeaderFields: true, RecycleTransactions: true}, ops, whole)
		if a, b := everythingButFields(p.Transactions()), everythingButFields(r.Transactions()); a != b || p.App() != r.App() {
			t.Errorf("recycled records changed the result:\nfresh (%s):\n%s\nrecycled (%s):\n%s", p.App(), a, r.App(), b)
		}
		r.Release()
		// As analysis parses now: forgetting what it gave to Settled.
		checkForgetSettled(t, p, Config{MaxHeaderBytes: 256, MaxHeaders: 8}, ops)
		// The fast paths (fastpath.go, Conn.settle) change nothing.
		for _, cfg := range []Config{{MaxHeaderBytes: 256, MaxHeaders: 8}, {MaxHeaderBytes: 256, MaxHeaders: 8, DropHeaderFields: true}} {
			fast := dumpConn(run(testConn(), cfg, ops, whole))
			var general string
			withoutFastPaths(func() { general = dumpConn(run(testConn(), cfg, ops, whole)) })
			if fast != general {
				t.Errorf("the fast paths changed the result (%+v):\nfast paths:\n%s\ngeneral code:\n%s", cfg, fast, general)
			}
		}
	})
}

// fuzzOps turns fuzz input into StreamConsumer calls: both directions cut
// into segments of 1 to 64 bytes, interleaved by a seeded generator, with
// gaps when flags&1 and an ending chosen by flags>>1.
func fuzzOps(client, server []byte, seed uint64, flags byte) []op {
	r := rand.New(rand.NewPCG(seed, seed>>32|1))
	data := [2][]byte{client, server}
	var ops []op
	for len(data[0])+len(data[1]) > 0 {
		d := reassembly.Direction(r.IntN(2))
		if len(data[d]) == 0 {
			d = d.Reverse()
		}
		n := min(len(data[d]), 1+r.IntN(64))
		if flags&1 != 0 && r.IntN(8) == 0 {
			ops = append(ops, gapOp(d, int64(n)))
		} else {
			ops = append(ops, op{kind: opData, dir: d, data: string(data[d][:n])})
		}
		data[d] = data[d][n:]
	}
	reasons := []reassembly.EndReason{reassembly.EndFIN, reassembly.EndRST, reassembly.EndOfCapture, reassembly.EndIdleExpired}
	first := reassembly.Direction((flags >> 1) & 1)
	why := reasons[(flags>>2)%4]
	ops = append(ops, op{kind: opEnd, dir: first, reason: why}, op{kind: opEnd, dir: first.Reverse(), reason: why})
	return ops
}

var anomalyKey = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// checkInvariants checks what must hold for any input once both
// directions ended.
func checkInvariants(t *testing.T, p *Conn) {
	t.Helper()
	switch p.App() {
	case AppUnknown, AppHTTP1, AppTLS, AppHTTP2:
	default:
		t.Fatalf("App() = %q", p.App())
	}
	txns := p.Transactions()
	if p.App() != AppHTTP1 {
		if len(txns) != 0 {
			t.Fatalf("%s connection has %d transactions", p.App(), len(txns))
		}
		return
	}
	var wire [2]int64
	for i, tx := range txns {
		if tx.Index != i || tx.Connection != 7 {
			t.Errorf("txn %d: Index %d Connection %d", i, tx.Index, tx.Connection)
		}
		if tx.Request == nil && tx.Response == nil && len(tx.Interim) == 0 {
			t.Errorf("txn %d has no message", i)
		}
		if i == 0 && tx.Pipelined {
			t.Errorf("first transaction pipelined")
		}
		if tx.Request != nil {
			checkMessage(t, fmt.Sprintf("txn %d request", i), tx.Request, p.cfg)
			wire[0] += tx.Request.WireBytes
			if tx.Send < 0 {
				t.Errorf("txn %d: Send %d", i, tx.Send)
			}
		}
		for _, m := range tx.Interim {
			checkMessage(t, fmt.Sprintf("txn %d interim", i), m, p.cfg)
			if m.Status < 100 || m.Status > 199 || m.Status == 101 {
				t.Errorf("txn %d: interim status %d", i, m.Status)
			}
			wire[1] += m.WireBytes
		}
		if s := tx.Response; s != nil {
			checkMessage(t, fmt.Sprintf("txn %d response", i), s, p.cfg)
			wire[1] += s.WireBytes
			if s.Status >= 100 && s.Status < 200 && s.Status != 101 {
				t.Errorf("txn %d: final response with status %d", i, s.Status)
			}
			if tx.Tunnel != (s.Framing == FramingTunnel) {
				t.Errorf("txn %d: Tunnel %v with framing %s", i, tx.Tunnel, s.Framing)
			}
			if tx.Receive < 0 || tx.Total < 0 {
				t.Errorf("txn %d: Receive %d Total %d", i, tx.Receive, tx.Total)
			}
			if q := tx.Request; q != nil && s.FirstFrame <= q.FirstFrame {
				t.Errorf("txn %d: response (frame %d) before its request (frame %d)", i, s.FirstFrame, q.FirstFrame)
			}
		}
		if tx.Tunnel && i != len(txns)-1 {
			t.Errorf("txn %d: tunnel is not the last transaction", i)
		}
	}
	for d := range p.streams {
		if s := &p.streams[d]; wire[d]+s.skipped != s.total {
			t.Errorf("direction %d: %d bytes delivered, %d in messages + %d skipped", d, s.total, wire[d], s.skipped)
		}
	}
}

func checkMessage(t *testing.T, what string, m *Message, cfg Config) {
	t.Helper()
	if m.FirstFrame == 0 || m.FirstFrame > m.LastFrame || m.Start > m.End {
		t.Errorf("%s: frames %d-%d, times %d-%d", what, m.FirstFrame, m.LastFrame, m.Start, m.End)
	}
	if m.HeaderBytes <= 0 || m.BodyBytes < 0 || m.WireBytes < m.HeaderBytes+m.BodyBytes {
		t.Errorf("%s: header %d body %d wire %d bytes", what, m.HeaderBytes, m.BodyBytes, m.WireBytes)
	}
	if m.Complete == (m.Incomplete != IncompleteNone) {
		t.Errorf("%s: Complete %v with Incomplete %q", what, m.Complete, m.Incomplete)
	}
	if m.Complete && m.Framing == FramingContentLength && m.BodyBytes != m.DeclaredLength {
		t.Errorf("%s: complete with %d of %d body bytes", what, m.BodyBytes, m.DeclaredLength)
	}
	if len(m.Headers()) > cfg.MaxHeaders {
		t.Errorf("%s: %d headers kept, bound %d", what, len(m.Headers()), cfg.MaxHeaders)
	}
	switch m.Framing {
	case FramingNone, FramingContentLength, FramingChunked, FramingCloseDelimited, FramingTunnel:
	default:
		t.Errorf("%s: framing %q", what, m.Framing)
	}
	seen := map[string]bool{}
	for _, a := range m.Anomalies() {
		if !anomalyKey.MatchString(a) || seen[a] {
			t.Errorf("%s: anomaly key %q (repeated: %v)", what, a, seen[a])
		}
		seen[a] = true
	}
}

// TestInvariantsOnCases runs the fuzz invariants over the table cases.
func TestInvariantsOnCases(t *testing.T) {
	for _, tc := range parseCases {
		for _, sp := range []splitter{whole, bytewise} {
			checkInvariants(t, run(testConn(), Config{}, tc.ops, sp))
		}
	}
}

// checkForgetSettled parses ops as analysis does (cfg with Settled,
// ForgetSettled, RecycleTransactions and DropHeaderFields), with a
// consumer that takes a copy of each transaction when analysis would
// (analysis/pipeline.go, handler.settled and handler.closing): a settled
// one when the next one settles (the parser still holds it then), and at
// the close the last one settled and those Transactions returns, each in
// place of an earlier copy of the same Index. What it so ends up with,
// ordered by Index, must be what plain, which parsed ops with cfg alone,
// returns from Transactions, field by field, but for the header and
// trailer lists (dropped) and the IDs. It also checks that Settled gives
// an Index at most once, that Transactions keeps the ID the consumer set
// in Settled (analysis tells the transactions it numbered by it), and
// that the one settled last is among those Transactions returns
// (analysis takes it from there).
func checkForgetSettled(t *testing.T, plain *Conn, cfg Config, ops []op) {
	t.Helper()
	var (
		given []bool         // by Index: given to Settled
		taken []*Transaction // by Index: the copy kept
		early []bool         // by Index: taken when the next one settled, and not again
		held  *Transaction   // settled last: the parser still holds it
	)
	take := func(tx *Transaction, whenNextSettled bool) {
		for len(taken) <= tx.Index {
			taken, early = append(taken, nil), append(early, false)
		}
		taken[tx.Index], early[tx.Index] = copyTxn(tx), whenNextSettled
	}
	cfg.DropHeaderFields, cfg.RecycleTransactions, cfg.ForgetSettled = true, true, true
	cfg.Settled = func(tx *Transaction) {
		if tx.Index < 0 {
			t.Fatalf("Settled gave Index %d", tx.Index)
		}
		for len(given) <= tx.Index {
			given = append(given, false)
		}
		if given[tx.Index] {
			t.Errorf("Settled gave Index %d twice", tx.Index)
		}
		given[tx.Index] = true
		tx.ID = tx.Index + 1
		if held != nil {
			take(held, true)
		}
		held = tx
	}
	q := run(testConn(), cfg, ops, whole)
	defer q.Release()
	if held != nil {
		take(held, false)
	}
	heldReturned := held == nil
	for _, tx := range q.Transactions() {
		wantID := 0 // as a transaction never settled
		if tx.Index < len(given) && given[tx.Index] {
			wantID = tx.Index + 1
		}
		if tx.ID != wantID {
			t.Errorf("#%d has ID %d at the close, want %d", tx.Index, tx.ID, wantID)
		}
		heldReturned = heldReturned || tx.Index == held.Index
		take(tx, false)
	}
	if !heldReturned {
		t.Errorf("#%d, settled last, is not among the transactions Transactions returns", held.Index)
	}
	if plain.App() != q.App() {
		t.Errorf("App %s, with ForgetSettled %s", plain.App(), q.App())
	}
	want := plain.Transactions()
	if len(taken) != len(want) {
		t.Errorf("with ForgetSettled %d transactions taken, want %d", len(taken), len(want))
	}
	for i := range min(len(taken), len(want)) {
		if taken[i] == nil {
			t.Errorf("#%d: never taken (not settled before a later one, not returned at the close)", i)
			continue
		}
		diffs := fieldDiffs("", reflect.ValueOf(copyTxn(want[i])), reflect.ValueOf(taken[i]), nil)
		if len(diffs) == 0 {
			continue
		}
		when := "at the close"
		if early[i] {
			when = "when the next one settled; not returned again at the close, so nothing later replaced it"
		}
		t.Errorf("#%d (taken %s), plain vs ForgetSettled:\n\t%s", i, when, strings.Join(diffs, "\n\t"))
	}
}

// copyTxn copies what a consumer of a recycled transaction record keeps:
// every field, and the messages' fields but for the header and trailer
// lists, with strings cloned; ID is left zero. Empty lists are nil, and so
// is an Extra left empty, so that fieldDiffs compares copies of a record
// with and without DropHeaderFields alike.
func copyTxn(tx *Transaction) *Transaction {
	c := *tx
	c.ID = 0
	c.Request, c.Response, c.Interim = copyMessage(tx.Request), copyMessage(tx.Response), nil
	for _, m := range tx.Interim {
		c.Interim = append(c.Interim, copyMessage(m))
	}
	return &c
}

func copyMessage(m *Message) *Message {
	if m == nil {
		return nil
	}
	c := *m
	c.Method, c.Target, c.Version, c.Reason = strings.Clone(m.Method), strings.Clone(m.Target), strings.Clone(m.Version), strings.Clone(m.Reason)
	c.ConnectionTokens = cloneStrings(m.ConnectionTokens)
	c.Extra = nil
	if x := m.Extra; x != nil && (x.KeepAlive != "" || x.ProxyConnection != "" || x.Expect != "" || x.Upgrade != "" || len(x.Anomalies) > 0) {
		c.Extra = &MessageExtra{
			KeepAlive:       strings.Clone(x.KeepAlive),
			ProxyConnection: strings.Clone(x.ProxyConnection),
			Expect:          strings.Clone(x.Expect),
			Upgrade:         strings.Clone(x.Upgrade),
			Anomalies:       cloneStrings(x.Anomalies),
		}
	}
	return &c
}

func cloneStrings(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	c := make([]string, len(s))
	for i, v := range s {
		c[i] = strings.Clone(v)
	}
	return c
}

// fieldDiffs appends to out each field in which a and b differ, by its
// path from them (".Response.Extra.Anomalies"), following pointers and
// going into structs and slices.
func fieldDiffs(path string, a, b reflect.Value, out []string) []string {
	switch a.Kind() {
	case reflect.Pointer:
		if a.IsNil() || b.IsNil() {
			if a.IsNil() != b.IsNil() {
				out = append(out, fmt.Sprintf("%s: nil %v vs nil %v", path, a.IsNil(), b.IsNil()))
			}
			return out
		}
		return fieldDiffs(path, a.Elem(), b.Elem(), out)
	case reflect.Struct:
		for i := range a.NumField() {
			out = fieldDiffs(path+"."+a.Type().Field(i).Name, a.Field(i), b.Field(i), out)
		}
		return out
	case reflect.Slice:
		if a.Len() != b.Len() {
			return append(out, fmt.Sprintf("%s: %d vs %d elements", path, a.Len(), b.Len()))
		}
		for i := range a.Len() {
			out = fieldDiffs(fmt.Sprintf("%s[%d]", path, i), a.Index(i), b.Index(i), out)
		}
		return out
	default:
		if !a.Equal(b) {
			out = append(out, fmt.Sprintf("%s: %v vs %v", path, a, b))
		}
		return out
	}
}
