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

// nameIndex returns s's index in names, or -1.
func nameIndex(names []string, s string) int {
	for i, n := range names {
		if n == s {
			return i
		}
	}
	return -1
}

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
// recycled), and a finding copies what it keeps (detach).
func (r *txnRec) record(t *httpflow.Transaction) {
	*r = txnRec{ID: t.ID, GapBefore: t.GapBefore, Index: int32(t.Index), Pipelined: t.Pipelined,
		PersistentAfter: t.PersistentAfter, hasReq: t.Request != nil, hasResp: t.Response != nil}
	if t.Request != nil {
		r.req.record(t.Request)
		r.target = t.Request.Target
	}
	if t.Response != nil {
		r.resp.record(t.Response)
	}
}

func (m *msgRec) record(src *httpflow.Message) {
	*m = msgRec{FirstFrame: src.FirstFrame, LastFrame: src.LastFrame, Start: src.Start, End: src.End,
		BodyBytes: src.BodyBytes, DeclaredLength: src.DeclaredLength, Framing: src.Framing,
		Incomplete: src.Incomplete, Complete: src.Complete, HasProxyConnection: src.HasProxyConnection}
	var rare rareFields
	if i := nameIndex(methodNames[:], src.Method); i >= 0 {
		m.method = uint8(i)
	} else {
		rare.method = src.Method
	}
	if i := nameIndex(versionNames[:], src.Version); i >= 0 {
		m.version = uint8(i)
	} else {
		rare.version = src.Version
	}
	switch toks := src.ConnectionTokens; {
	case len(toks) == 0:
	case len(toks) == 1 && toks[0] == "close":
		m.tokens = tokensClose
	case len(toks) == 1 && toks[0] == "keep-alive":
		m.tokens = tokensKeepAlive
	default:
		m.tokens, rare.tokens = tokensRare, slices.Clone(toks)
	}
	rare.keepAlive, rare.proxyConnection = src.KeepAlive(), src.ProxyConnection()
	if a := src.Anomalies(); len(a) > 0 {
		rare.anomalies = slices.Clone(a)
	}
	if rare.method != "" || rare.version != "" || rare.tokens != nil || rare.keepAlive != "" ||
		rare.proxyConnection != "" || rare.anomalies != nil {
		kept := rare // only this copy escapes: most messages allocate nothing
		m.rare = &kept
	}
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
// ForgetSettled). A TxnLog is not safe for concurrent use.
type TxnLog struct {
	pool   *recordPool
	chunks [][]txnRec
	n      int
}

// recChunk is how many records a chunk of a TxnLog holds: 64 × 168 bytes,
// about 10 KiB.
const recChunk = 64

// recordPool keeps the chunks of released TxnLogs for later ones: a
// capture's connections close one after the other, and each new one
// takes the memory the last left, already in cache and already paged in.
type recordPool struct {
	free [][]txnRec
}

// maxFreeChunks bounds the chunks a pool keeps (1 MiB of records): a
// connection of 100 000 transactions does not keep its 16 MB for ever.
const maxFreeChunks = 1 << 20 / (recChunk * 168)

// NewTxnLog returns an empty log for one connection, reusing the memory of
// logs released before.
func (e *Engine) NewTxnLog() *TxnLog { return &TxnLog{pool: &e.records} }

// Len returns how many transactions the log holds.
func (l *TxnLog) Len() int { return l.n }

// at returns the i-th record.
func (l *TxnLog) at(i int) *txnRec { return &l.chunks[i/recChunk][i%recChunk] }

// Add records t, replacing the record of the same Index if the log has
// one. Transactions come in order of Index (the parser settles them in
// order, and Transactions lists the rest after them); one out of order is
// put in its place.
func (l *TxnLog) Add(t *httpflow.Transaction) {
	if l.n > 0 {
		if last := l.at(l.n - 1); int(last.Index) >= t.Index {
			i, found := l.search(t.Index)
			if found {
				l.at(i).record(t)
				return
			}
			l.grow()
			for j := l.n - 1; j > i; j-- {
				*l.at(j) = *l.at(j - 1)
			}
			l.at(i).record(t)
			return
		}
	}
	l.grow()
	l.at(l.n - 1).record(t)
}

// appendRec records t after the others, whatever its Index: for
// Engine.Connection, whose caller gives the list to diagnose as it is.
func (l *TxnLog) appendRec(t *httpflow.Transaction) {
	l.grow()
	l.at(l.n - 1).record(t)
}

// grow adds one record at the end.
func (l *TxnLog) grow() {
	if l.n == len(l.chunks)*recChunk {
		var c []txnRec
		if p := l.pool; p != nil && len(p.free) > 0 {
			c, p.free = p.free[len(p.free)-1], p.free[:len(p.free)-1]
		} else {
			c = make([]txnRec, recChunk)
		}
		l.chunks = append(l.chunks, c)
	}
	l.n++
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
	for i, c := range l.chunks {
		// Clear what holds pointers (the parser's strings, rare values).
		used := min(recChunk, l.n-i*recChunk)
		if used > 0 {
			clear(c[:used])
		}
		if l.pool != nil && len(l.pool.free) < maxFreeChunks {
			l.pool.free = append(l.pool.free, c)
		}
	}
	clear(l.chunks)
	l.chunks, l.n = l.chunks[:0], 0
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
