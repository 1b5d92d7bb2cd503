package txnpack

import (
	"github.com/connscope/connscope/httpflow"
)

// Unpacker holds the transactions Conn.Transactions unpacks, reused from
// one connection to the next: a consumer that is done with a connection's
// transactions when the next one closes (it copied what it keeps)
// allocates nothing per connection. The zero Unpacker is ready.
type Unpacker struct {
	boxes []box
	used  int
	out   []*httpflow.Transaction
}

// box is one unpacked transaction with its request and response, as
// httpflow keeps them.
type box struct {
	t         httpflow.Transaction
	req, resp httpflow.Message
}

// reset makes room for n transactions. Their memory is overwritten whole
// as each is unpacked.
func (u *Unpacker) reset(n int) {
	if cap(u.boxes) < n {
		u.boxes = make([]box, n)
	}
	u.boxes = u.boxes[:n]
	u.used = 0
	if cap(u.out) < n {
		u.out = make([]*httpflow.Transaction, 0, n+4)
	}
}

// The ConnectionTokens lists of unpacked messages share these, capped so
// that an append copies them.
var (
	emptyTokens     = []string{}
	keepAliveTokens = []string{"keep-alive"}
	closeTokens     = []string{"close"}
)

// unpack writes r into the next box.
func (u *Unpacker) unpack(r *record, conn int, strs []string) *httpflow.Transaction {
	b := &u.boxes[u.used]
	u.used++
	b.t = httpflow.Transaction{
		ID:              int(r.id),
		Connection:      conn,
		Index:           int(r.index),
		Pipelined:       r.flags&txnPipelined != 0,
		PersistentAfter: r.flags&txnPersistentAfter != 0,
		Tunnel:          r.flags&txnTunnel != 0,
		Connect:         r.timing[0],
		Send:            r.timing[1],
		Wait:            r.timing[2],
		Receive:         r.timing[3],
		Total:           r.timing[4],
		GapBefore:       r.timing[5],
	}
	if r.flags&txnRequest != 0 {
		unpackMessage(&b.req, &r.msgs[0], strs)
		b.t.Request = &b.req
	}
	if r.flags&txnResponse != 0 {
		unpackMessage(&b.resp, &r.msgs[1], strs)
		b.t.Response = &b.resp
	}
	return &b.t
}

func unpackMessage(m *httpflow.Message, p *message, strs []string) {
	var tokens []string
	switch p.tokens {
	case tokensEmpty:
		tokens = emptyTokens[:0:0]
	case tokensKeepAlive:
		tokens = keepAliveTokens[:1:1]
	case tokensClose:
		tokens = closeTokens[:1:1]
	}
	// Field by field rather than a whole Message: the fields a record
	// does not hold (header lists, Expect, Upgrade, Proxy-Connection,
	// anomalies) are never written in a box, so they are still zero.
	m.FirstFrame = p.firstFrame
	m.LastFrame = p.firstFrame + uint64(p.lastFrame)
	m.Start = p.start
	m.End = p.start + int64(p.end)
	m.Method = stringOf(p.method, strs)
	m.Target = stringOf(p.target, strs)
	m.Version = stringOf(p.version, strs)
	m.Status = int(p.status)
	m.Reason = stringOf(p.reason, strs)
	m.HeaderBytes = int64(p.headerBytes)
	m.BodyBytes = int64(p.bodyBytes)
	m.WireBytes = int64(p.wireBytes)
	m.DeclaredLength = int64(p.declared)
	m.Framing = httpflow.Framing(p.framing)
	m.Incomplete = httpflow.Incomplete(p.incomplete)
	m.Complete = p.flags&msgComplete != 0
	m.HeadersTruncated = p.flags&msgHeadersTruncated != 0
	m.HasProxyConnection = p.flags&msgHasProxyConnection != 0
	m.ConnectionTokens = tokens
	m.KeepAliveMax = p.keepAliveMax
	m.KeepAliveTimeout = p.keepAliveTimeout
	m.KeepAlive = stringOf(p.keepAlive, strs)
}

// stringOf returns the string r names.
func stringOf(r stringRef, strs []string) string {
	if int(r) < len(words) {
		return words[r]
	}
	return strs[int(r)-len(words)]
}
