// Package txnpack keeps the HTTP transactions of an open connection, as
// httpflow hands them on while they settle, in a packed form until the
// connection closes, and gives them back whole then.
//
// Why: the rules of diagnose look at a connection's transactions together,
// when it closes, but a keep-alive connection can carry thousands of them.
// httpflow's record of a transaction is 832 bytes with 29 pointers;
// keeping one per transaction until the close was half of what parsing
// cost on a capture of long keep-alive connections (bench/README.md,
// "httpflow, seventh round"): memory written once, read back long after,
// and traced by the collector meanwhile. Packed, a transaction is a
// pointer-free record of 232 bytes (frames, times and sizes as 32-bit
// distances, methods, versions, reasons and Connection tokens as small
// numbers), written while the record is
// still in cache, plus its target as a string (httpflow never reuses
// those); the parser's record goes back to it at once
// (httpflow.Config.ForgetSettled).
//
// The packing is lossless: every field of a Transaction and of its
// Messages, header lists included, comes back equal (tested against the
// httpflow records themselves on every test capture). A transaction whose
// values do not fit the record (an interim response, header lists, an
// anomaly, a rare header, a message of more than 4 GiB or 4 s, an unusual
// method) is kept whole instead, as a copy: rare, and as costly as before.
//
// A Conn is fed from httpflow.Config.Settled and, at the close, merges what
// it packed with what httpflow.Conn.Transactions still returns (which wins:
// a transaction later bytes could still change is returned there). The
// transaction given to Settled last is always among those, so Conn packs
// each transaction only when the next one settles, and a connection of one
// transaction, the commonest kind, packs nothing.
package txnpack

import (
	"math"
	"slices"
	"unsafe"

	"github.com/connscope/connscope/httpflow"
)

// Conn holds one connection's packed transactions. The zero Conn is empty
// and ready; Reset empties it for another connection, keeping its memory.
type Conn struct {
	recs []record
	// strs are the strings records name that are not in words (targets,
	// raw Keep-Alive values, uncommon methods and reasons), by a
	// stringRef's value less len(words).
	strs []string
	// whole are the transactions that do not fit a record, copied.
	whole []*httpflow.Transaction
	// last holds, for requests and responses, the previous message's
	// strings and their names (see ref).
	last [2][slots]lastRef
	// conn is the transactions' Connection (one for all).
	conn int
	// pending is the transaction given to Settled last, not packed yet:
	// httpflow keeps its record until the next one settles, and returns it
	// at the close.
	pending *httpflow.Transaction
}

// record is one packed transaction: no pointers, so the collector never
// reads it.
type record struct {
	id    int64
	index int32
	// whole is the transaction's place in Conn.whole plus one, or 0 when
	// the record holds it.
	whole  int32
	timing [6]int64 // Connect, Send, Wait, Receive, Total, GapBefore
	flags  uint8
	msgs   [2]message // request, response
}

// message is one packed Message.
type message struct {
	firstFrame                                 uint64
	start                                      int64
	lastFrame                                  uint32 // LastFrame - FirstFrame
	end                                        uint32 // End - Start
	headerBytes, bodyBytes, wireBytes          uint32
	declared                                   int32
	keepAliveMax, keepAliveTimeout             int32
	method, target, version, reason, keepAlive stringRef
	status                                     uint16
	framing, incomplete                        uint8
	flags                                      uint8
	tokens                                     tokenList
}

// lastRef is a string a Conn named last in one of its slots.
type lastRef struct {
	s   string
	r   stringRef
	set bool
}

// stringRef names a string: its place in words, or past those, its place
// in Conn.strs.
type stringRef uint32

// Flags of a record.
const (
	txnRequest = 1 << iota
	txnResponse
	txnPipelined
	txnPersistentAfter
	txnTunnel
)

// Flags of a message.
const (
	msgComplete = 1 << iota
	msgHeadersTruncated
	msgHasProxyConnection
)

// tokenList is a message's ConnectionTokens as the record keeps them.
type tokenList uint8

const (
	tokensNone      tokenList = iota // nil
	tokensEmpty                      // no token, an empty list
	tokensKeepAlive                  // "keep-alive"
	tokensClose                      // "close"
)

// Settled takes a transaction httpflow handed on (Config.Settled with
// ForgetSettled). It packs the one given before, whose record httpflow may
// let go after this call.
func (c *Conn) Settled(t *httpflow.Transaction) {
	if c.pending != nil {
		c.pack(c.pending)
	}
	c.pending = t
}

// Len returns how many transactions the Conn packed.
func (c *Conn) Len() int { return len(c.recs) }

// Reset empties c for another connection. Transactions returned by
// Unpacker.Transactions for it stay valid (they share no memory with c).
func (c *Conn) Reset() {
	clear(c.strs) // let the collector have the strings
	clear(c.whole)
	c.last = [2][slots]lastRef{}
	*c = Conn{recs: c.recs[:0], strs: c.strs[:0], whole: c.whole[:0]}
}

// Transactions returns the connection's transactions in Index order: the
// packed ones unpacked into u's memory, with those of held (what
// httpflow.Conn.Transactions returned at the close, in Index order) in
// place of the packed ones of the same Index. They are valid until u is
// used again. Without packed transactions it returns held itself.
func (c *Conn) Transactions(held []*httpflow.Transaction, u *Unpacker) []*httpflow.Transaction {
	if p := c.pending; p != nil && !slices.ContainsFunc(held, func(t *httpflow.Transaction) bool { return t.Index == p.Index }) {
		// httpflow returns the last transaction it settled; a caller that
		// does not still gets it.
		c.pack(p)
		c.pending = nil
	}
	if len(c.recs) == 0 {
		return held
	}
	u.reset(len(c.recs))
	out := u.out[:0]
	h := 0
	for i := range c.recs {
		r := &c.recs[i]
		for h < len(held) && held[h].Index < int(r.index) {
			out = append(out, held[h])
			h++
		}
		if h < len(held) && held[h].Index == int(r.index) {
			continue // httpflow's own record is final; the copy may not be
		}
		if r.whole != 0 {
			out = append(out, c.whole[r.whole-1])
			continue
		}
		out = append(out, u.unpack(r, c.conn, c.strs))
	}
	out = append(out, held[h:]...)
	u.out = out
	return out
}

func (c *Conn) pack(t *httpflow.Transaction) {
	if len(c.recs) == 0 {
		c.conn = t.Connection
	}
	c.recs = append(c.recs, record{})
	r := &c.recs[len(c.recs)-1]
	if !c.fill(r, t) {
		c.whole = append(c.whole, copyTransaction(t))
		*r = record{index: int32(t.Index), whole: int32(len(c.whole))}
	}
}

// fill packs t into r, or reports that it does not fit.
func (c *Conn) fill(r *record, t *httpflow.Transaction) bool {
	if t.Interim != nil || t.Index < 0 || t.Index > math.MaxInt32 || t.Connection != c.conn {
		return false
	}
	r.id, r.index = int64(t.ID), int32(t.Index)
	r.timing = [6]int64{t.Connect, t.Send, t.Wait, t.Receive, t.Total, t.GapBefore}
	if t.Request != nil {
		r.flags |= txnRequest
	}
	if t.Response != nil {
		r.flags |= txnResponse
	}
	if t.Pipelined {
		r.flags |= txnPipelined
	}
	if t.PersistentAfter {
		r.flags |= txnPersistentAfter
	}
	if t.Tunnel {
		r.flags |= txnTunnel
	}
	strs := len(c.strs)
	for i, m := range [2]*httpflow.Message{t.Request, t.Response} {
		if m != nil && !c.fillMessage(&r.msgs[i], i, m) {
			clear(c.strs[strs:])
			c.strs = c.strs[:strs]
			return false
		}
	}
	return true
}

func (c *Conn) fillMessage(p *message, side int, m *httpflow.Message) bool {
	if m.Headers != nil || m.Trailers != nil || m.Anomalies != nil ||
		m.ProxyConnection != "" || m.Expect != "" || m.Upgrade != "" {
		return false
	}
	lastFrame, end := m.LastFrame-m.FirstFrame, m.End-m.Start
	if lastFrame > math.MaxUint32 || end < 0 || end > math.MaxUint32 ||
		!fitsUint32(m.HeaderBytes) || !fitsUint32(m.BodyBytes) || !fitsUint32(m.WireBytes) ||
		m.DeclaredLength != int64(int32(m.DeclaredLength)) || m.Status < 0 || m.Status > math.MaxUint16 {
		return false
	}
	tokens, ok := tokenListOf(m.ConnectionTokens)
	if !ok {
		return false
	}
	var flags uint8
	if m.Complete {
		flags |= msgComplete
	}
	if m.HeadersTruncated {
		flags |= msgHeadersTruncated
	}
	if m.HasProxyConnection {
		flags |= msgHasProxyConnection
	}
	*p = message{
		firstFrame: m.FirstFrame, start: m.Start,
		lastFrame: uint32(lastFrame), end: uint32(end),
		headerBytes: uint32(m.HeaderBytes), bodyBytes: uint32(m.BodyBytes), wireBytes: uint32(m.WireBytes),
		declared:     int32(m.DeclaredLength),
		keepAliveMax: m.KeepAliveMax, keepAliveTimeout: m.KeepAliveTimeout,
		method: c.ref(side, slotMethod, m.Method), target: c.refOther(m.Target),
		version: c.ref(side, slotVersion, m.Version), reason: c.ref(side, slotReason, m.Reason),
		keepAlive: c.ref(side, slotKeepAlive, m.KeepAlive),
		status:    uint16(m.Status),
		framing:   uint8(m.Framing), incomplete: uint8(m.Incomplete),
		flags: flags, tokens: tokens,
	}
	return true
}

// Slots of Conn.last: the strings that repeat from one message to the
// next on a connection.
const (
	slotMethod = iota
	slotVersion
	slotReason
	slotKeepAlive
	slots
)

// ref names s, the value of a slot of side's messages: the previous
// message's name when s is the same string (the commonest case, and a
// comparison of pointers when httpflow gave the same string), else its
// place in words, else a new place in c.strs. Comparing the strings'
// pointers, not their bytes, costs a call less; httpflow gives the same
// string for a method, version or reason it recognises.
func (c *Conn) ref(side, slot int, s string) stringRef {
	last := &c.last[side&1][slot&(slots-1)]
	if unsafe.StringData(s) == unsafe.StringData(last.s) && len(s) == len(last.s) && last.set {
		return last.r
	}
	r := c.refOther(s)
	*last = lastRef{s: s, r: r, set: true}
	return r
}

// refOther names s by its place in words or a new place in c.strs.
func (c *Conn) refOther(s string) stringRef {
	if s == "" {
		return 0
	}
	if w, ok := wordOf(s); ok {
		return stringRef(w)
	}
	c.strs = append(c.strs, s)
	return stringRef(len(words) + len(c.strs) - 1)
}

func fitsUint32(v int64) bool { return v >= 0 && v <= math.MaxUint32 }

func tokenListOf(tokens []string) (tokenList, bool) {
	switch {
	case tokens == nil:
		return tokensNone, true
	case len(tokens) == 0:
		return tokensEmpty, true
	case len(tokens) > 1:
		return 0, false
	case tokens[0] == "keep-alive":
		return tokensKeepAlive, true
	case tokens[0] == "close":
		return tokensClose, true
	}
	return 0, false
}

// copyTransaction copies t and everything it points to that httpflow may
// reuse (the records and their lists; not the strings, which it never
// reuses).
func copyTransaction(t *httpflow.Transaction) *httpflow.Transaction {
	c := *t
	c.Request, c.Response = copyMessage(t.Request), copyMessage(t.Response)
	if t.Interim != nil {
		c.Interim = make([]*httpflow.Message, len(t.Interim))
		for i, m := range t.Interim {
			c.Interim[i] = copyMessage(m)
		}
	}
	return &c
}

func copyMessage(m *httpflow.Message) *httpflow.Message {
	if m == nil {
		return nil
	}
	c := *m
	c.ConnectionTokens = slices.Clone(m.ConnectionTokens)
	c.Headers, c.Trailers = slices.Clone(m.Headers), slices.Clone(m.Trailers)
	c.Anomalies = slices.Clone(m.Anomalies)
	return &c
}

// words are the methods, versions and reasons most messages carry, which
// a record names by their place here rather than keep as strings.
var words = [...]string{
	"", // 0 is ""
	"GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS", "PATCH", "CONNECT", "TRACE",
	"HTTP/1.1", "HTTP/1.0",
	"OK", "Not Modified", "No Content", "Continue", "Found", "Not Found", "Moved Permanently",
	"Partial Content", "Created", "See Other", "Bad Request", "Internal Server Error",
	"Switching Protocols", "Temporary Redirect", "Forbidden", "Unauthorized",
}

// wordOf returns s's place in words.
func wordOf(s string) (uint8, bool) {
	switch s {
	case "":
		return 0, true
	case "GET":
		return 1, true
	case "POST":
		return 2, true
	case "HEAD":
		return 3, true
	case "PUT":
		return 4, true
	case "DELETE":
		return 5, true
	case "OPTIONS":
		return 6, true
	case "PATCH":
		return 7, true
	case "CONNECT":
		return 8, true
	case "TRACE":
		return 9, true
	case "HTTP/1.1":
		return 10, true
	case "HTTP/1.0":
		return 11, true
	case "OK":
		return 12, true
	case "Not Modified":
		return 13, true
	case "No Content":
		return 14, true
	case "Continue":
		return 15, true
	case "Found":
		return 16, true
	case "Not Found":
		return 17, true
	case "Moved Permanently":
		return 18, true
	case "Partial Content":
		return 19, true
	case "Created":
		return 20, true
	case "See Other":
		return 21, true
	case "Bad Request":
		return 22, true
	case "Internal Server Error":
		return 23, true
	case "Switching Protocols":
		return 24, true
	case "Temporary Redirect":
		return 25, true
	case "Forbidden":
		return 26, true
	case "Unauthorized":
		return 27, true
	}
	return 0, false
}
