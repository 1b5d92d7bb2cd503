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
// and traced by the collector meanwhile. Packed, a transaction is a few
// dozen bytes of variable-length integers, written while the record is
// still in cache, plus its target and rarer text as strings (which
// httpflow never reuses); the parser's record goes back to it at once
// (httpflow.Config.ForgetSettled).
//
// The packing is lossless: every field of a Transaction and of its
// Messages, header lists included, comes back equal (tested against the
// httpflow records themselves on every test capture).
//
// A Conn is fed from httpflow.Config.Settled and, at the close, merges what
// it packed with what httpflow.Conn.Transactions still returns (which wins:
// a transaction later bytes could still change is returned there). The
// transaction given to Settled last is always among those, so Conn packs
// each transaction only when the next one settles, and a connection of one
// transaction, the commonest kind, packs nothing.
package txnpack

import (
	"encoding/binary"
	"slices"

	"github.com/connscope/connscope/httpflow"
)

// Conn holds one connection's packed transactions. The zero Conn is empty
// and ready; Reset empties it for another connection, keeping its memory.
type Conn struct {
	buf  []byte   // the packed records, one after the other
	strs []string // the strings the records name that are not common words
	n    int      // records in buf
	// pending is the transaction given to Settled last, not packed yet:
	// httpflow keeps its record until the next one settles, and returns it
	// at the close.
	pending *httpflow.Transaction
	// Packing state: values that the next message's are written relative
	// to.
	frame uint64
	time  int64
}

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
func (c *Conn) Len() int { return c.n }

// Reset empties c for another connection. Transactions returned by
// Unpacker.Transactions for it stay valid (they share no memory with c).
func (c *Conn) Reset() {
	clear(c.strs) // let the collector have the strings
	*c = Conn{buf: c.buf[:0], strs: c.strs[:0]}
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
	if c.n == 0 {
		return held
	}
	u.reset(c.n)
	out := u.out[:0]
	r := reader{buf: c.buf, strs: c.strs, lists: &u.lists}
	h := 0
	for i := 0; i < c.n; i++ {
		t := u.next()
		r.transaction(t)
		for h < len(held) && held[h].Index < t.Index {
			out = append(out, held[h])
			h++
		}
		if h < len(held) && held[h].Index == t.Index {
			continue // httpflow's own record is final; the copy may not be
		}
		out = append(out, t)
	}
	out = append(out, held[h:]...)
	u.out = out
	return out
}

// Flags of a packed transaction.
const (
	txnRequest = 1 << iota
	txnResponse
	txnPipelined
	txnPersistentAfter
	txnTunnel
	txnInterim
)

// Flags of a packed message.
const (
	msgComplete = 1 << iota
	msgHeadersTruncated
	msgHasProxyConnection
	msgRare // the message has header lists, rare headers or anomalies
)

func (c *Conn) pack(t *httpflow.Transaction) {
	var flags uint64
	set := func(bit uint64, on bool) {
		if on {
			flags |= bit
		}
	}
	set(txnRequest, t.Request != nil)
	set(txnResponse, t.Response != nil)
	set(txnPipelined, t.Pipelined)
	set(txnPersistentAfter, t.PersistentAfter)
	set(txnTunnel, t.Tunnel)
	set(txnInterim, t.Interim != nil)
	b := c.buf
	b = binary.AppendUvarint(b, flags)
	b = binary.AppendVarint(b, int64(t.ID))
	b = binary.AppendVarint(b, int64(t.Connection))
	b = binary.AppendVarint(b, int64(t.Index))
	for _, v := range [...]int64{t.Connect, t.Send, t.Wait, t.Receive, t.Total, t.GapBefore} {
		b = binary.AppendVarint(b, v)
	}
	c.buf = b
	if t.Interim != nil {
		c.buf = binary.AppendUvarint(c.buf, uint64(len(t.Interim)))
		for _, m := range t.Interim {
			c.message(m)
		}
	}
	if t.Request != nil {
		c.message(t.Request)
	}
	if t.Response != nil {
		c.message(t.Response)
	}
	c.n++
}

func (c *Conn) message(m *httpflow.Message) {
	if m == nil { // an Interim entry: never nil in httpflow's records
		c.buf = binary.AppendUvarint(c.buf, 0)
		return
	}
	var flags uint64 = 1 << 7 // present
	if m.Complete {
		flags |= msgComplete
	}
	if m.HeadersTruncated {
		flags |= msgHeadersTruncated
	}
	if m.HasProxyConnection {
		flags |= msgHasProxyConnection
	}
	rare := m.Headers != nil || m.Trailers != nil || m.KeepAlive != "" || m.ProxyConnection != "" ||
		m.Expect != "" || m.Upgrade != "" || m.Anomalies != nil
	if rare {
		flags |= msgRare
	}
	b := c.buf
	b = binary.AppendUvarint(b, flags)
	b = binary.AppendVarint(b, int64(m.FirstFrame-c.frame))
	b = binary.AppendVarint(b, int64(m.LastFrame-m.FirstFrame))
	b = binary.AppendVarint(b, m.Start-c.time)
	b = binary.AppendVarint(b, m.End-m.Start)
	c.frame, c.time = m.FirstFrame, m.Start
	b = c.appendString(b, m.Method)
	b = c.appendString(b, m.Target)
	b = c.appendString(b, m.Version)
	b = binary.AppendVarint(b, int64(m.Status))
	b = c.appendString(b, m.Reason)
	b = binary.AppendVarint(b, m.HeaderBytes)
	b = binary.AppendVarint(b, m.BodyBytes)
	b = binary.AppendVarint(b, m.WireBytes)
	b = binary.AppendVarint(b, m.DeclaredLength)
	b = append(b, byte(m.Framing), byte(m.Incomplete))
	b = c.appendStrings(b, m.ConnectionTokens)
	b = binary.AppendVarint(b, int64(m.KeepAliveMax))
	b = binary.AppendVarint(b, int64(m.KeepAliveTimeout))
	if rare {
		b = c.appendHeaders(b, m.Headers)
		b = c.appendHeaders(b, m.Trailers)
		b = c.appendString(b, m.KeepAlive)
		b = c.appendString(b, m.ProxyConnection)
		b = c.appendString(b, m.Expect)
		b = c.appendString(b, m.Upgrade)
		b = c.appendStrings(b, m.Anomalies)
	}
	c.buf = b
}

// appendString writes s as a number: 0 for "", a common word's place in
// words, or past those, its place in c.strs.
func (c *Conn) appendString(b []byte, s string) []byte {
	if s == "" {
		return append(b, 0)
	}
	if w := wordOf(s); w != 0 {
		return binary.AppendUvarint(b, uint64(w))
	}
	c.strs = append(c.strs, s)
	return binary.AppendUvarint(b, uint64(len(words)+len(c.strs)-1))
}

// appendStrings writes a list: its length plus one, 0 for nil (httpflow
// distinguishes an empty list from none), then the strings.
func (c *Conn) appendStrings(b []byte, ss []string) []byte {
	if ss == nil {
		return append(b, 0)
	}
	b = binary.AppendUvarint(b, uint64(len(ss))+1)
	for _, s := range ss {
		b = c.appendString(b, s)
	}
	return b
}

func (c *Conn) appendHeaders(b []byte, hs []httpflow.Header) []byte {
	if hs == nil {
		return append(b, 0)
	}
	b = binary.AppendUvarint(b, uint64(len(hs))+1)
	for _, h := range hs {
		b = c.appendString(b, h.Name)
		b = c.appendString(b, h.Value)
	}
	return b
}

// words are the strings written as their place here (from 1): the
// methods, versions, reasons and Connection tokens most messages carry.
// Appending keeps what is packed readable; the order must not change.
var words = [...]string{
	"", // 0 is ""
	"GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS", "PATCH", "CONNECT", "TRACE",
	"HTTP/1.1", "HTTP/1.0",
	"OK", "Not Modified", "No Content", "Continue", "Found", "Not Found", "Moved Permanently",
	"Partial Content", "Created", "See Other", "Bad Request", "Internal Server Error",
	"keep-alive", "close", "upgrade",
}

// wordOf returns s's place in words, or 0.
func wordOf(s string) int {
	switch s {
	case "GET":
		return 1
	case "POST":
		return 2
	case "HEAD":
		return 3
	case "PUT":
		return 4
	case "DELETE":
		return 5
	case "OPTIONS":
		return 6
	case "PATCH":
		return 7
	case "CONNECT":
		return 8
	case "TRACE":
		return 9
	case "HTTP/1.1":
		return 10
	case "HTTP/1.0":
		return 11
	case "OK":
		return 12
	case "Not Modified":
		return 13
	case "No Content":
		return 14
	case "Continue":
		return 15
	case "Found":
		return 16
	case "Not Found":
		return 17
	case "Moved Permanently":
		return 18
	case "Partial Content":
		return 19
	case "Created":
		return 20
	case "See Other":
		return 21
	case "Bad Request":
		return 22
	case "Internal Server Error":
		return 23
	case "keep-alive":
		return 24
	case "close":
		return 25
	case "upgrade":
		return 26
	}
	return 0
}
