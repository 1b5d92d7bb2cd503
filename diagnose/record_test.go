package diagnose

import (
	"math/rand/v2"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unsafe"

	"github.com/connscope/connscope/httpflow"
)

// The values the random messages below draw from: the usual ones a record
// names by index, and the unusual ones it must keep aside.
var (
	someMethods  = []string{"", "GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "CONNECT", "PATCH", "REPORT", "BREW", "get", "M-SEARCH"}
	someVersions = []string{"", "HTTP/1.1", "HTTP/1.0", "HTTP/0.9", "HTTP/2.0", "http/1.1"}
	someTokens   = [][]string{nil, {}, {"close"}, {"keep-alive"}, {"keep-alive", "close"}, {"upgrade"},
		{"close", "close"}, {"keep-alive", "keep-alive"}, {"te", "close"}, {"Close"}}
	someKeepAlives   = []string{"", "timeout=5", "timeout=5, max=100"}
	someProxyConns   = []string{"", "keep-alive", "close"}
	someAnomalies    = [][]string{nil, {"obs_fold"}, {"te_and_cl", "bad_chunk_size"}}
	someFramings     = []httpflow.Framing{0, httpflow.FramingNone, httpflow.FramingContentLength, httpflow.FramingChunked, httpflow.FramingCloseDelimited, httpflow.FramingTunnel}
	someIncompletes  = []httpflow.Incomplete{httpflow.IncompleteNone, httpflow.IncompleteFIN, httpflow.IncompleteRST, httpflow.IncompleteGap, httpflow.IncompleteEndOfCapture, httpflow.IncompleteMalformed, httpflow.IncompleteNoResponse}
	someMaybeStrings = []string{"", "x"}
)

func pick[T any](r *rand.Rand, xs []T) T { return xs[r.IntN(len(xs))] }

// randomMessage returns a message with every field the record reads drawn
// at random, and some it does not read (headers, Expect, Upgrade, status)
// set too. Slices are fresh, so that the caller may overwrite them.
func randomMessage(r *rand.Rand) *httpflow.Message {
	m := &httpflow.Message{
		FirstFrame: r.Uint64N(1 << 40), LastFrame: r.Uint64N(1 << 40),
		Start: r.Int64() - r.Int64(), End: r.Int64() - r.Int64(),
		Method: pick(r, someMethods), Target: pick(r, []string{"", "/", "/a?b=c", "*"}), Version: pick(r, someVersions),
		Status: r.IntN(600), Reason: pick(r, someMaybeStrings), HeaderBytes: r.Int64N(1 << 20),
		BodyBytes: r.Int64N(1 << 40), WireBytes: r.Int64N(1 << 40), DeclaredLength: r.Int64N(1<<40) - 1,
		Framing: pick(r, someFramings), Incomplete: pick(r, someIncompletes), Complete: r.IntN(2) == 0,
		HasProxyConnection: r.IntN(3) == 0, ConnectionTokens: slices.Clone(pick(r, someTokens)),
		KeepAliveMax: int32(r.IntN(100)) - 1, KeepAliveTimeout: int32(r.IntN(100)) - 1,
	}
	if r.IntN(2) == 0 {
		// HasProxyConnection is drawn apart from the value: a
		// Proxy-Connection header may be present and empty.
		m.Extra = &httpflow.MessageExtra{
			Headers:   []httpflow.Header{{Name: "Host", Value: "example"}},
			KeepAlive: pick(r, someKeepAlives), ProxyConnection: pick(r, someProxyConns),
			Expect: pick(r, someMaybeStrings), Upgrade: pick(r, someMaybeStrings),
			Anomalies: slices.Clone(pick(r, someAnomalies)),
		}
	}
	return m
}

func randomTransaction(r *rand.Rand) *httpflow.Transaction {
	t := &httpflow.Transaction{ID: r.IntN(1 << 40), Connection: r.IntN(1 << 20), Index: r.IntN(1 << 30),
		Pipelined: r.IntN(2) == 0, PersistentAfter: r.IntN(2) == 0, Tunnel: r.IntN(2) == 0,
		GapBefore: r.Int64N(1<<50) - 1<<49, Connect: r.Int64N(1 << 30), Total: r.Int64N(1 << 30)}
	if r.IntN(5) > 0 {
		t.Request = randomMessage(r)
	}
	if r.IntN(5) > 0 {
		t.Response = randomMessage(r)
	}
	if r.IntN(4) == 0 {
		t.Interim = []*httpflow.Message{randomMessage(r)}
	}
	return t
}

// wantMessage is what a record must answer for a message, taken from src
// before anything could change it.
type wantMessage struct {
	src       httpflow.Message // a shallow copy
	tokens    []string
	keepAlive string
	proxyConn string
	anomalies []string
	usual     bool // only values a record names without its rare part
}

func wantOf(src *httpflow.Message) wantMessage {
	usualMethod := slices.Contains([]string{"", "GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "CONNECT", "PATCH", "REPORT"}, src.Method)
	usualVersion := slices.Contains([]string{"", "HTTP/1.1", "HTTP/1.0"}, src.Version)
	toks := src.ConnectionTokens
	usualTokens := len(toks) == 0 || len(toks) == 1 && (toks[0] == "close" || toks[0] == "keep-alive")
	return wantMessage{src: *src, tokens: slices.Clone(toks), keepAlive: src.KeepAlive(), proxyConn: src.ProxyConnection(),
		anomalies: slices.Clone(src.Anomalies()),
		usual:     usualMethod && usualVersion && usualTokens && src.KeepAlive() == "" && src.ProxyConnection() == "" && len(src.Anomalies()) == 0}
}

// checkMessage compares every field and accessor of got with want.
func checkMessage(t *testing.T, what string, got *msgRec, want wantMessage) {
	t.Helper()
	src := &want.src
	type pair struct {
		name      string
		got, want any
	}
	for _, p := range []pair{
		{"FirstFrame", got.FirstFrame, src.FirstFrame},
		{"LastFrame", got.LastFrame, src.LastFrame},
		{"Start", got.Start, src.Start},
		{"End", got.End, src.End},
		{"BodyBytes", got.BodyBytes, src.BodyBytes},
		{"DeclaredLength", got.DeclaredLength, src.DeclaredLength},
		{"Framing", got.Framing, src.Framing},
		{"Incomplete", got.Incomplete, src.Incomplete},
		{"Complete", got.Complete, src.Complete},
		{"HasProxyConnection", got.HasProxyConnection, src.HasProxyConnection},
		{"Method()", got.Method(), src.Method},
		{"Version()", got.Version(), src.Version},
		{"KeepAlive()", got.KeepAlive(), want.keepAlive},
		{"ProxyConnection()", got.ProxyConnection(), want.proxyConn},
	} {
		if p.got != p.want {
			t.Errorf("%s: %s = %#v, want %#v", what, p.name, p.got, p.want)
		}
	}
	// nil and empty both mean "none" for the lists.
	if toks := got.ConnectionTokens(); !slices.Equal(toks, want.tokens) {
		t.Errorf("%s: ConnectionTokens() = %q, want %q", what, toks, want.tokens)
	}
	if a := got.Anomalies(); !slices.Equal(a, want.anomalies) {
		t.Errorf("%s: Anomalies() = %q, want %q", what, a, want.anomalies)
	}
	if want.usual && got.rare != nil {
		t.Errorf("%s: a message of usual values (%q %q %q) has a rare part %+v", what, src.Method, src.Version, want.tokens, *got.rare)
	}
	if !want.usual && got.rare == nil {
		t.Errorf("%s: a message with an unusual value has no rare part", what)
	}
}

// TestRecordKeepsWhatRulesRead records random transactions and checks that
// the record answers every field the rules read as the transaction did,
// and goes on doing so after the parser's record is overwritten (the
// parser reuses it once the transaction settled).
func TestRecordKeepsWhatRulesRead(t *testing.T) {
	for _, seed := range []uint64{1, 2, 3, 0x5eed} {
		r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
		for n := range 2000 {
			tx := randomTransaction(r)
			var wantReq, wantResp wantMessage
			if tx.Request != nil {
				wantReq = wantOf(tx.Request)
			}
			if tx.Response != nil {
				wantResp = wantOf(tx.Response)
			}
			wantTx := *tx

			var rec txnRec
			rec.record(tx)
			// What the parser may do with its record once it is settled:
			// overwrite the lists in place and reuse the structs.
			for _, m := range []*httpflow.Message{tx.Request, tx.Response} {
				if m == nil {
					continue
				}
				for i := range m.ConnectionTokens {
					m.ConnectionTokens[i] = "overwritten"
				}
				for i := range m.Anomalies() {
					m.Anomalies()[i] = "overwritten"
				}
				*m = httpflow.Message{}
			}
			*tx = httpflow.Transaction{}

			what := func(part string) string {
				return "seed " + strconv.Itoa(int(seed)) + " #" + strconv.Itoa(n) + " " + part
			}
			if (rec.Request() == nil) != (wantTx.Request == nil) {
				t.Fatalf("%s: Request() nil = %v, transaction's nil = %v", what("request"), rec.Request() == nil, wantTx.Request == nil)
			}
			if (rec.Response() == nil) != (wantTx.Response == nil) {
				t.Fatalf("%s: Response() nil = %v, transaction's nil = %v", what("response"), rec.Response() == nil, wantTx.Response == nil)
			}
			if wantTx.Request != nil {
				checkMessage(t, what("request"), rec.Request(), wantReq)
			}
			if wantTx.Response != nil {
				checkMessage(t, what("response"), rec.Response(), wantResp)
			}
			wantTarget := ""
			if wantTx.Request != nil {
				wantTarget = wantReq.src.Target
			}
			if rec.target != wantTarget || rec.ID != wantTx.ID || int(rec.Index) != wantTx.Index || rec.GapBefore != wantTx.GapBefore ||
				rec.Pipelined != wantTx.Pipelined || rec.PersistentAfter != wantTx.PersistentAfter {
				t.Errorf("%s: target %q ID %d Index %d GapBefore %d Pipelined %v PersistentAfter %v, want %q %d %d %d %v %v",
					what("transaction"), rec.target, rec.ID, rec.Index, rec.GapBefore, rec.Pipelined, rec.PersistentAfter,
					wantTarget, wantTx.ID, wantTx.Index, wantTx.GapBefore, wantTx.Pipelined, wantTx.PersistentAfter)
			}
			if t.Failed() {
				return // one broken field fails thousands of transactions
			}
		}
	}
}

// TestRecordOfUsualMessageAllocatesNothing: the record of the messages
// almost every connection carries has no rare part, and taking it
// allocates nothing.
func TestRecordOfUsualMessageAllocatesNothing(t *testing.T) {
	for _, toks := range [][]string{nil, {"keep-alive"}, {"close"}} {
		req := &httpflow.Message{Method: "GET", Target: "/index.html", Version: "HTTP/1.1", ConnectionTokens: toks,
			Framing: httpflow.FramingNone, Complete: true, DeclaredLength: -1, FirstFrame: 4, LastFrame: 4}
		resp := &httpflow.Message{Version: "HTTP/1.1", Status: 200, Reason: "OK", ConnectionTokens: toks,
			Framing: httpflow.FramingContentLength, Complete: true, DeclaredLength: 512, BodyBytes: 512, FirstFrame: 6, LastFrame: 7,
			// Fields the record does not keep leave it without a rare part.
			Extra: &httpflow.MessageExtra{Headers: []httpflow.Header{{Name: "Server", Value: "x"}}, Upgrade: "h2c"}}
		tx := &httpflow.Transaction{ID: 1, Index: 3, Request: req, Response: resp, PersistentAfter: true}
		var rec txnRec
		allocs := testing.AllocsPerRun(100, func() { rec.record(tx) })
		if allocs != 0 {
			t.Errorf("tokens %q: recording a usual transaction allocates %v times, want 0", toks, allocs)
		}
		if rec.req.rare != nil || rec.resp.rare != nil {
			t.Errorf("tokens %q: a usual transaction's record has a rare part: request %+v, response %+v", toks, rec.req.rare, rec.resp.rare)
		}
		if rec.Request().Method() != "GET" || rec.Request().Version() != "HTTP/1.1" || !slices.Equal(rec.Response().ConnectionTokens(), toks) {
			t.Errorf("tokens %q: record reads %q %q %q", toks, rec.Request().Method(), rec.Request().Version(), rec.Response().ConnectionTokens())
		}
	}
}

// TestTxnRecLayout holds the record's size. The 168 bytes are documented
// in record.go (the comments on txnRec and on the chunks and the pool of
// TxnLog, whose sizes are counted in records of 168 bytes) and in
// bench/README.md, whose measurements are per byte kept per transaction:
// a change that grows the record should be a conscious one, and update
// both.
func TestTxnRecLayout(t *testing.T) {
	if got := unsafe.Sizeof(txnRec{}); got != 168 {
		t.Errorf("txnRec is %d bytes, want 168 (see record.go and bench/README.md)", got)
	}
	if got := unsafe.Sizeof(msgRec{}); got != 64 {
		t.Errorf("msgRec is %d bytes, want 64 (one cache line)", got)
	}
}

// TestDetachedSharesNoBytes: detached copies every string of a record out
// of the parser's buffers, keeping their values.
func TestDetachedSharesNoBytes(t *testing.T) {
	// One slab for every string, as the parser's buffer would hold them.
	slab := "BREW/potHTTP/0.9keep-alivetimeout=5closeobs_foldte_and_clupgradeHTTP/2.0"
	part := func(s string) string { // s, as a substring of slab
		i := strings.Index(slab, s)
		if i < 0 {
			t.Fatalf("%q is not in the slab", s)
		}
		return slab[i : i+len(s)]
	}
	req := &httpflow.Message{Method: part("BREW"), Target: part("/pot"), Version: part("HTTP/0.9"),
		ConnectionTokens: []string{part("keep-alive"), part("close")}, HasProxyConnection: true,
		Extra: &httpflow.MessageExtra{KeepAlive: part("timeout=5"), ProxyConnection: part("close"),
			Anomalies: []string{part("obs_fold"), part("te_and_cl")}}}
	resp := &httpflow.Message{Version: part("HTTP/2.0"), ConnectionTokens: []string{part("upgrade")},
		Extra: &httpflow.MessageExtra{KeepAlive: part("timeout=5"), Anomalies: []string{part("obs_fold")}}}
	tx := &httpflow.Transaction{ID: 7, Index: 2, Request: req, Response: resp, Pipelined: true, GapBefore: 11}
	var rec txnRec
	rec.record(tx)
	if rec.req.rare == nil || rec.resp.rare == nil {
		t.Fatal("the messages' unusual values left no rare part: the test checks nothing")
	}
	before := rec
	d := rec.detached()
	if !reflect.DeepEqual(*d, rec) {
		t.Errorf("detached changed a value:\n got %+v\nwant %+v", *d, rec)
	}
	if rec != before {
		t.Error("detached changed the record it copied")
	}
	if d.req.rare == rec.req.rare || d.resp.rare == rec.resp.rare {
		t.Error("detached shares a rare part with the record")
	}

	lo := uintptr(unsafe.Pointer(unsafe.StringData(slab)))
	hi := lo + uintptr(len(slab))
	strs := map[string]string{"target": d.target}
	for name, m := range map[string]*msgRec{"request": d.Request(), "response": d.Response()} {
		strs[name+" method"], strs[name+" version"] = m.rare.method, m.rare.version
		strs[name+" keepAlive"], strs[name+" proxyConnection"] = m.KeepAlive(), m.ProxyConnection()
		for i, s := range m.ConnectionTokens() {
			strs[name+" token "+strconv.Itoa(i)] = s
		}
		for i, s := range m.Anomalies() {
			strs[name+" anomaly "+strconv.Itoa(i)] = s
		}
	}
	if len(strs) != 15 {
		t.Fatalf("checked %d strings, want 15: %q", len(strs), strs)
	}
	for name, s := range strs {
		if s == "" {
			continue
		}
		if p := uintptr(unsafe.Pointer(unsafe.StringData(s))); p >= lo && p < hi {
			t.Errorf("detached %s %q still points into the parser's buffer", name, s)
		}
	}
	// The slab check above would pass for strings that lost their value.
	if d.target != "/pot" || d.Request().Method() != "BREW" || d.Response().Version() != "HTTP/2.0" ||
		!slices.Equal(d.Request().ConnectionTokens(), []string{"keep-alive", "close"}) {
		t.Errorf("detached values: %q %q %q %q", d.target, d.Request().Method(), d.Response().Version(), d.Request().ConnectionTokens())
	}

	// A record with no rare part stays without one.
	var plain txnRec
	plain.record(&httpflow.Transaction{Index: 1, Request: &httpflow.Message{Method: "GET", Target: part("/pot"), Version: "HTTP/1.1"}})
	if pd := plain.detached(); pd.req.rare != nil || pd.resp.rare != nil || pd.target != "/pot" {
		t.Errorf("detached of a usual record: %+v", *pd)
	}
}

// logTxn is a transaction for the TxnLog tests: usual values, so the
// records allocate nothing; ID marks which version of the Index the log
// holds.
func logTxn(index, id int) *httpflow.Transaction {
	return &httpflow.Transaction{ID: id, Index: index, Request: &httpflow.Message{Method: "GET", Target: "/", Version: "HTTP/1.1"}}
}

// logContents returns the log's (Index, ID) pairs in order.
func logContents(l *TxnLog) [][2]int {
	var out [][2]int
	for i := range l.Len() {
		out = append(out, [2]int{int(l.at(i).Index), l.at(i).ID})
	}
	return out
}

func TestTxnLogAdd(t *testing.T) {
	e, err := NewEngine(Config{})
	if err != nil {
		t.Fatal(err)
	}
	l := e.NewTxnLog()
	for _, i := range []int{0, 1, 2, 5, 6} {
		l.Add(logTxn(i, 100+i))
	}
	want := [][2]int{{0, 100}, {1, 101}, {2, 102}, {5, 105}, {6, 106}}
	if got := logContents(l); !slices.Equal(got, want) {
		t.Fatalf("in order: %v, want %v", got, want)
	}
	l.Add(logTxn(2, 202)) // replaces
	l.Add(logTxn(6, 206)) // replaces the last
	l.Add(logTxn(0, 200)) // replaces the first
	want = [][2]int{{0, 200}, {1, 101}, {2, 202}, {5, 105}, {6, 206}}
	if got := logContents(l); !slices.Equal(got, want) {
		t.Fatalf("replacing: %v, want %v", got, want)
	}
	l.Add(logTxn(4, 104)) // absent, smaller than the last: inserted
	l.Add(logTxn(3, 103))
	want = [][2]int{{0, 200}, {1, 101}, {2, 202}, {3, 103}, {4, 104}, {5, 105}, {6, 206}}
	if got := logContents(l); !slices.Equal(got, want) {
		t.Fatalf("inserting: %v, want %v", got, want)
	}
	l.Release()
	if l.Len() != 0 {
		t.Fatalf("Len after Release = %d", l.Len())
	}
	l.Add(logTxn(9, 9))
	if got := logContents(l); !slices.Equal(got, [][2]int{{9, 9}}) {
		t.Fatalf("reused after Release: %v", got)
	}
	l.Release()
}

// TestTxnLogAddRandom adds, over several chunks, transactions in order of
// Index with some re-delivered (as Transactions does at the close) and
// some late, and compares the log with the latest version of each Index.
func TestTxnLogAddRandom(t *testing.T) {
	e, err := NewEngine(Config{})
	if err != nil {
		t.Fatal(err)
	}
	l := e.NewTxnLog()
	for _, seed := range []uint64{1, 2, 3} {
		r := rand.New(rand.NewPCG(seed, 42))
		next := 0 // the Index after the last in order
		latest := map[int]int{}
		id, inserted, replaced := 0, 0, 0
		add := func(index int) {
			if _, ok := latest[index]; ok {
				replaced++
			} else if index < next {
				inserted++
			}
			id++
			latest[index] = id
			l.Add(logTxn(index, id))
		}
		for range 320 {
			switch k := r.IntN(10); {
			case k < 6 || next == 0:
				add(next) // in order
				next += 1 + r.IntN(2)
			case k < 8:
				add(r.IntN(next)) // re-delivered (or late, if skipped)
			default:
				add(next - 1) // the last again
			}
		}
		// At the close, the last few again, in order.
		for i := max(0, next-10); i < next; i++ {
			add(i)
		}
		if inserted == 0 || replaced == 0 {
			t.Fatalf("seed %d: %d late inserts, %d replacements: the test misses a case", seed, inserted, replaced)
		}
		var want [][2]int
		for index := range next {
			if id, ok := latest[index]; ok {
				want = append(want, [2]int{index, id})
			}
		}
		if got := logContents(l); !slices.Equal(got, want) {
			i := 0
			for i < min(len(got), len(want)) && got[i] == want[i] {
				i++
			}
			t.Fatalf("seed %d: the log holds %d records, want %d; the first %d agree, then (Index, ID)\n got %v\nwant %v",
				seed, len(got), len(want), i, got[i:min(i+5, len(got))], want[i:min(i+5, len(want))])
		}
		if len(l.chunks) < 3 {
			t.Fatalf("seed %d: %d records in %d chunks: the test spans too few chunks", seed, len(want), len(l.chunks))
		}
		l.Release()
	}
}

// TestTxnLogRelease: Release clears the records it hands on, a later log
// of the same engine takes its chunks, and a fill and release cycle then
// allocates nothing.
func TestTxnLogRelease(t *testing.T) {
	e, err := NewEngine(Config{})
	if err != nil {
		t.Fatal(err)
	}
	const n = 250 // several chunks, whatever their sizes
	txs := make([]*httpflow.Transaction, n)
	for i := range txs {
		txs[i] = logTxn(i, i+1)
		txs[i].Request.Method = "BREW" // a rare part: a pointer to clear
	}
	first := e.NewTxnLog()
	for _, tx := range txs {
		first.Add(tx)
	}
	chunks := slices.Clone(first.chunks) // Release forgets them
	if len(chunks) < 3 {
		t.Fatalf("%d records fill %d chunks: the test spans too few", n, len(chunks))
	}
	first.Release()
	if first.Len() != 0 {
		t.Errorf("Len after Release = %d", first.Len())
	}
	mine := map[*txnRec]bool{}
	for k, c := range chunks {
		mine[&c[0]] = true
		for j := range c {
			if c[j] != (txnRec{}) {
				t.Fatalf("released chunk %d record %d not cleared: %+v", k, j, c[j])
			}
		}
	}

	second := e.NewTxnLog()
	for _, tx := range txs {
		second.Add(tx)
	}
	for k, c := range second.chunks {
		if !mine[&c[0]] {
			t.Errorf("the second log's chunk %d is new, not one the first released", k)
		}
	}
	if got := logContents(second); len(got) != n || got[n-1] != [2]int{n - 1, n} {
		t.Errorf("the second log holds %d records, last %v", len(got), got[len(got)-1])
	}
	second.Release()
	if second.Len() != 0 {
		t.Errorf("Len after the second Release = %d", second.Len())
	}

	for i := range txs {
		txs[i].Request.Method = "GET" // no rare part: recording allocates nothing
	}
	allocs := testing.AllocsPerRun(20, func() {
		for _, tx := range txs {
			second.Add(tx)
		}
		second.Release()
	})
	if allocs != 0 {
		t.Errorf("filling and releasing a log allocates %v times after warm-up, want 0", allocs)
	}
}

// TestTxnLogPoolBounded: what the engine keeps of released logs is about
// 1 MiB, so one long connection does not keep its memory for ever, and a
// later long one still reuses that much.
func TestTxnLogPoolBounded(t *testing.T) {
	e, err := NewEngine(Config{})
	if err != nil {
		t.Fatal(err)
	}
	const n = 4 << 20 / 168 // 4 MiB of records
	fill := func(l *TxnLog) {
		for i := range n {
			l.Add(logTxn(i, i+1))
		}
	}
	first := e.NewTxnLog()
	fill(first)
	released := map[*txnRec]bool{}
	for _, c := range first.chunks {
		released[&c[0]] = true
	}
	first.Release()
	second := e.NewTxnLog()
	fill(second)
	reused := 0 // records
	for _, c := range second.chunks {
		if released[&c[0]] {
			reused += len(c)
		}
	}
	second.Release()
	const slack = 2 * 64 // records: the pool may go over its bound by a chunk
	if reused == 0 || reused*168 > 1<<20+slack*168 {
		t.Errorf("a log of %d records reused %d records (%d bytes) of a released one, want some and about 1 MiB at most",
			n, reused, reused*168)
	}
}
