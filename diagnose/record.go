package diagnose

import (
	"slices"
	"strings"

	"github.com/connscope/connscope/httpflow"
)

// What the rules keep of a transaction.
//
// A keep-alive connection carries thousands of transactions, and the
// connection-scope rules read them only when it closes: whatever is kept of
// each one lives that long, and on a capture of long connections the bytes
// kept per transaction are most of what parsing HTTP costs beyond the
// parsing itself (bench/README.md, tenth round: about 2-3 % of the whole
// pass per 100 bytes). The parser's own record (httpflow.Transaction and
// its two Messages) is 576 bytes, most of them fields no rule reads: the
// status and reason, the timings, header and wire byte counts, interim
// responses, the keep-alive parameters. So the engine keeps its own record,
// txnRec, of the fields the rules read and nothing else: 168 bytes, taken
// from each transaction as soon as the parser settles it (TxnLog.Add), so
// that the parser can reuse its record for the next one.
//
// The field names are the parser's, so that a rule reads a txnRec as it
// would read the transaction: t.Request().FirstFrame. The few values most
// messages leave empty (a method or version other than the usual ones,
// Connection options other than a lone close or keep-alive, the Keep-Alive
// and Proxy-Connection values, anomalies) are behind one pointer, nil for
// almost every message.

// txnRec is the engine's record of one transaction (see above).
type txnRec struct {
	req, resp msgRec
	// target is the request target, the parser's string ("" without a
	// request).
	target string
	// ID is the transaction's capture-wide ID as the caller numbered it.
	ID int
	// GapBefore, Index, Pipelined and PersistentAfter are the
	// transaction's (httpflow.Transaction).
	GapBefore       int64
	Index           int32
	Pipelined       bool
	PersistentAfter bool
	// hasReq and hasResp say whether the transaction had a request and a
	// (final) response.
	hasReq, hasResp bool
}

// Request returns the request, nil when none was captured.
func (t *txnRec) Request() *msgRec {
	if !t.hasReq {
		return nil
	}
	return &t.req
}

// Response returns the final response, nil when none was seen.
func (t *txnRec) Response() *msgRec {
	if !t.hasResp {
		return nil
	}
	return &t.resp
}

// msgRec is the engine's record of one message: the fields of
// httpflow.Message the rules read.
type msgRec struct {
	FirstFrame, LastFrame uint64
	Start, End            int64
	BodyBytes             int64
	DeclaredLength        int64
	// rare holds the values most messages leave empty, nil when all are.
	rare               *rareFields
	Framing            httpflow.Framing
	Incomplete         httpflow.Incomplete
	Complete           bool
	HasProxyConnection bool
	// method and version index methodNames and versionNames (0: empty);
	// a name not in them is in rare.
	method, version uint8
	// tokens is the Connection options when they are none, a lone close
	// or a lone keep-alive; any other list is in rare.
	tokens tokenSet
}

// rareFields are a message's values that most messages leave empty.
type rareFields struct {
	method, version            string
	tokens                     []string
	keepAlive, proxyConnection string
	anomalies                  []string
}

// tokenSet is a message's Connection options in their usual forms.
type tokenSet uint8

const (
	tokensNone      tokenSet = iota // no Connection header, or an empty one
	tokensClose                     // exactly ["close"]
	tokensKeepAlive                 // exactly ["keep-alive"]
	tokensRare                      // any other list: in rareFields.tokens
)

var (
	closeTokens     = []string{"close"}
	keepAliveTokens = []string{"keep-alive"}
)

// methodNames are the methods a record names by index (0 for none); any
// other is kept in rareFields. Methods are case-sensitive.
var methodNames = [...]string{"", "GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "TRACE", "CONNECT", "PATCH",
	"PROPFIND", "PROPPATCH", "MKCOL", "COPY", "MOVE", "LOCK", "UNLOCK", "SEARCH", "REPORT"}

// versionNames are the versions a record names by index.
var versionNames = [...]string{"", "HTTP/1.1", "HTTP/1.0"}

// Method returns the request method ("" for a response or an unparsed
// request line).
func (m *msgRec) Method() string {
	if m.rare != nil && m.rare.method != "" {
		return m.rare.method
	}
	return methodNames[m.method]
}

// Version returns the HTTP version of the start line ("" when not
// understood).
func (m *msgRec) Version() string {
	if m.rare != nil && m.rare.version != "" {
		return m.rare.version
	}
	return versionNames[m.version]
}

// ConnectionTokens returns the lower-cased options of the message's
// Connection headers. The slice is shared: do not modify it.
func (m *msgRec) ConnectionTokens() []string {
	switch m.tokens {
	case tokensClose:
		return closeTokens
	case tokensKeepAlive:
		return keepAliveTokens
	case tokensRare:
		return m.rare.tokens
	}
	return nil
}

// KeepAlive returns the raw Keep-Alive header value, "" when absent.
func (m *msgRec) KeepAlive() string {
	if m.rare == nil {
		return ""
	}
	return m.rare.keepAlive
}

// ProxyConnection returns the raw Proxy-Connection value, "" when absent.
func (m *msgRec) ProxyConnection() string {
	if m.rare == nil {
		return ""
	}
	return m.rare.proxyConnection
}

// Anomalies returns the parser's anomalies for the message.
func (m *msgRec) Anomalies() []string {
	if m.rare == nil {
		return nil
	}
	return m.rare.anomalies
}

// record fills r from t. The strings are the parser's, not copied: they
// stay valid after the parser reuses its record (httpflow's strings are not
// recycled), and what outlives the connection is copied (detached).
//
// Both write the record field by field, the values computed first: a
// composite literal is built on the stack and copied in with the write
// barrier's typed copy, and the record is usually in memory the cache
// does not hold, so it is written once, in order.
func (r *txnRec) record(t *httpflow.Transaction) {
	req, resp := t.Request, t.Response
	if req != nil {
		r.req.record(req)
		r.target = req.Target
	} else {
		r.req, r.target = msgRec{}, ""
	}
	if resp != nil {
		r.resp.record(resp)
	} else {
		r.resp = msgRec{}
	}
	r.ID, r.GapBefore, r.Index = t.ID, t.GapBefore, int32(t.Index)
	r.Pipelined, r.PersistentAfter, r.hasReq, r.hasResp = t.Pipelined, t.PersistentAfter, req != nil, resp != nil
}

func (m *msgRec) record(src *httpflow.Message) {
	var rare rareFields
	method, version, tokens := uint8(0), uint8(0), tokensNone
	if i := slices.Index(methodNames[:], src.Method); i >= 0 {
		method = uint8(i)
	} else {
		rare.method = src.Method
	}
	if i := slices.Index(versionNames[:], src.Version); i >= 0 {
		version = uint8(i)
	} else {
		rare.version = src.Version
	}
	switch toks := src.ConnectionTokens; {
	case len(toks) == 0:
	case len(toks) == 1 && toks[0] == "close":
		tokens = tokensClose
	case len(toks) == 1 && toks[0] == "keep-alive":
		tokens = tokensKeepAlive
	default:
		tokens, rare.tokens = tokensRare, slices.Clone(toks)
	}
	var kept *rareFields
	if x := src.Extra; x != nil {
		rare.keepAlive, rare.proxyConnection = x.KeepAlive, x.ProxyConnection
		if len(x.Anomalies) > 0 {
			rare.anomalies = slices.Clone(x.Anomalies)
		}
	}
	if rare.method != "" || rare.version != "" || rare.tokens != nil || rare.keepAlive != "" ||
		rare.proxyConnection != "" || rare.anomalies != nil {
		kept = new(rareFields) // most messages allocate nothing
		*kept = rare
	}
	m.FirstFrame, m.LastFrame, m.Start, m.End = src.FirstFrame, src.LastFrame, src.Start, src.End
	m.BodyBytes, m.DeclaredLength, m.rare = src.BodyBytes, src.DeclaredLength, kept
	m.Framing, m.Incomplete, m.Complete, m.HasProxyConnection = src.Framing, src.Incomplete, src.Complete, src.HasProxyConnection
	m.method, m.version, m.tokens = method, version, tokens
}

// detached returns a copy of t that shares no string with the parser, for
// what outlives its connection (a finding, CC1008's evidence).
func (t *txnRec) detached() *txnRec {
	d := *t
	d.target = strings.Clone(t.target)
	d.req.rare, d.resp.rare = t.req.rare.detached(), t.resp.rare.detached()
	return &d
}

func (x *rareFields) detached() *rareFields {
	if x == nil {
		return nil
	}
	d := rareFields{method: strings.Clone(x.method), version: strings.Clone(x.version),
		keepAlive: strings.Clone(x.keepAlive), proxyConnection: strings.Clone(x.proxyConnection)}
	for _, s := range x.tokens {
		d.tokens = append(d.tokens, strings.Clone(s))
	}
	for _, s := range x.anomalies {
		d.anomalies = append(d.anomalies, strings.Clone(s))
	}
	return &d
}

// TxnLog is what an Engine keeps of one open connection's transactions
// for its rules, in order of Index: give it each transaction as the parser
// settles it (httpflow.Config.Settled), and at the close those
// Transactions returns (they replace the records of the same Index), then
// hand it to Engine.ConnectionLog. It keeps a small record of each (see
// txnRec), so the parser need not keep its own (httpflow.Config.
// ForgetSettled). The zero TxnLog works but recycles nothing; take one
// from Engine.NewTxnLog. A TxnLog is not safe for concurrent use.
type TxnLog struct {
	// n, last, tail and chunks come first: a log's first cache line is
	// all that a connection without transactions touches.
	n int
	// tail is the unused part of the last chunk; last is the last record
	// (nil when there is none).
	last *txnRec
	tail []txnRec
	// chunks hold the records: the first chunkSizes[0], the next
	// chunkSizes[1], and so on, the last size repeating (see chunkOf).
	// Its first array is inline, so that a connection of few transactions
	// costs no allocation for it.
	chunks [][]txnRec
	pool   *recordPool
	inline [len(chunkSizes)][]txnRec
}

// chunkSizes are the sizes of a TxnLog's first chunks and, the last, of
// every chunk after them. Most connections carry one or a few
// transactions (a capture of short connections has 100 000 of them, many
// open at once while reassembly lets them linger), and a keep-alive one
// thousands: a first chunk of one record keeps the first kind at one
// record's 168 bytes, sizes growing by four keep a connection held to a
// few transactions by the open-transaction budget (20 each when 1 000
// connections hoard them) below 3.5 KiB, and 64-record chunks (10.5 KiB)
// hold a long connection's records at one chunk for every 64.
var chunkSizes = [...]int{1, 4, 16, 64}

// chunkOf returns the chunk holding record i and i's place in it.
func chunkOf(i int) (chunk, at int) {
	for k, n := range chunkSizes[:len(chunkSizes)-1] {
		if i < n {
			return k, i
		}
		i -= n
	}
	last := chunkSizes[len(chunkSizes)-1]
	return len(chunkSizes) - 1 + i/last, i % last
}

// sizeClass returns the index in chunkSizes of chunk k's size.
func sizeClass(k int) int { return min(k, len(chunkSizes)-1) }

// recordPool keeps the chunks of released TxnLogs for later ones, by size:
// a capture's connections close one after the other, and each new one
// takes the memory the last left, already paged in and often still in
// cache.
type recordPool struct {
	free [len(chunkSizes)][][]txnRec
}

// maxFreeRecords bounds the records a pool keeps of each size (about
// 1 MiB each): a connection of 100 000 transactions does not keep its
// 16 MB for ever.
const maxFreeRecords = 1 << 20 / 168

// NewTxnLog returns an empty log for one connection, reusing the memory of
// logs released before.
func (e *Engine) NewTxnLog() *TxnLog {
	l := new(TxnLog)
	e.InitTxnLog(l)
	return l
}

// InitTxnLog makes l an empty log of e, as NewTxnLog does, for a log that
// is part of the caller's own per-connection state (one allocation less
// per connection). l must not be copied once used.
func (e *Engine) InitTxnLog(l *TxnLog) {
	*l = TxnLog{pool: &e.records}
	l.chunks = l.inline[:0]
}

// Len returns how many transactions the log holds.
func (l *TxnLog) Len() int { return l.n }

// at returns the i-th record.
func (l *TxnLog) at(i int) *txnRec {
	k, j := chunkOf(i)
	return &l.chunks[k][j]
}

// Add records t, replacing the record of the same Index if the log has
// one. Transactions come in order of Index (the parser settles them in
// order, and Transactions lists the rest after them); one out of order is
// put in its place.
func (l *TxnLog) Add(t *httpflow.Transaction) {
	if l.n > 0 && l.last.Index >= int32(t.Index) {
		i, found := l.search(t.Index)
		if !found {
			l.push()
			for j := l.n - 1; j > i; j-- {
				*l.at(j) = *l.at(j - 1)
			}
		}
		l.at(i).record(t)
		l.last = l.at(l.n - 1)
		return
	}
	l.appendRec(t)
}

// appendRec records t after the others, whatever its Index: for
// Engine.Connection, whose caller gives the list to diagnose as it is.
func (l *TxnLog) appendRec(t *httpflow.Transaction) {
	r := l.push()
	r.record(t)
	l.last = r
}

// push adds one record at the end and returns it: the first of tail, the
// unused part of the last chunk, or of a chunk added for it.
func (l *TxnLog) push() *txnRec {
	if len(l.tail) == 0 {
		class := sizeClass(len(l.chunks))
		var c []txnRec
		if p := l.pool; p != nil && len(p.free[class]) > 0 {
			free := p.free[class]
			c, p.free[class] = free[len(free)-1], free[:len(free)-1]
			if class == len(chunkSizes)-1 {
				// Released chunks are zero already; clearing a large
				// one again brings it into cache in one sweep that the
				// processor streams, so the records written into it
				// over the next transactions mostly hit the cache
				// instead of each missing it (bench/README.md, eleventh
				// round). A small one is filled at once.
				clear(c)
			}
		} else {
			c = make([]txnRec, chunkSizes[class])
		}
		l.chunks = append(l.chunks, c)
		l.tail = c
	}
	r := &l.tail[0]
	l.tail = l.tail[1:]
	l.n++
	return r
}

// records appends a pointer to each record, in order, to dst.
func (l *TxnLog) records(dst []*txnRec) []*txnRec {
	left := l.n
	for _, c := range l.chunks {
		for i := range c[:min(len(c), left)] {
			dst = append(dst, &c[i])
		}
		left -= min(len(c), left)
	}
	return dst
}

// search returns the position of the record of Index index, or where it
// belongs.
func (l *TxnLog) search(index int) (int, bool) {
	lo, hi := 0, l.n
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if int(l.at(mid).Index) < index {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo, lo < l.n && int(l.at(lo).Index) == index
}

// Release empties the log and hands its memory on to later logs of the same
// engine. The log may be used again.
func (l *TxnLog) Release() {
	if l.n == 0 && len(l.chunks) == 0 {
		return // nothing to hand on, and nothing to write
	}
	left := l.n
	for k, c := range l.chunks {
		// Clear what holds pointers (the parser's strings, rare values).
		clear(c[:min(len(c), left)])
		left -= min(len(c), left)
		class := sizeClass(k)
		if p := l.pool; p != nil && len(p.free[class])*chunkSizes[class] < maxFreeRecords {
			p.free[class] = append(p.free[class], c)
		}
	}
	clear(l.chunks)
	l.chunks, l.n, l.tail, l.last = l.chunks[:0], 0, nil, nil
}

// TxnRef names the transaction a finding is about.
type TxnRef struct {
	// ID is the transaction's ID as the caller numbered it
	// (httpflow.Transaction.ID when the engine got it).
	ID int
	// Connection is the connection's ID; Index is the transaction's
	// 0-based position on it.
	Connection, Index int
}
