package txnpack

import (
	"encoding/binary"

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
	// lists backs the unpacked Connection token and anomaly lists.
	lists []string
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
	clear(u.lists)
	u.lists = u.lists[:0]
	if cap(u.out) < n {
		u.out = make([]*httpflow.Transaction, 0, n+4)
	}
}

// next returns the next unpacked transaction's place, its messages
// attached by reader.transaction.
func (u *Unpacker) next() *httpflow.Transaction {
	b := &u.boxes[u.used]
	u.used++
	b.t.Request, b.t.Response = &b.req, &b.resp
	return &b.t
}

// reader reads what Conn.pack wrote, in the same order. Packed data is
// written by this package only, so a short or bad record is a bug here,
// not bad input: it panics (index out of range) rather than guessing.
type reader struct {
	buf   []byte
	strs  []string
	lists *[]string // Unpacker.lists
	frame uint64
	time  int64
}

func (r *reader) uvarint() uint64 {
	v, n := binary.Uvarint(r.buf)
	if n <= 0 {
		panic("txnpack: packed data cut short")
	}
	r.buf = r.buf[n:]
	return v
}

func (r *reader) varint() int64 {
	v, n := binary.Varint(r.buf)
	if n <= 0 {
		panic("txnpack: packed data cut short")
	}
	r.buf = r.buf[n:]
	return v
}

func (r *reader) byte() byte {
	b := r.buf[0]
	r.buf = r.buf[1:]
	return b
}

func (r *reader) string() string {
	k := r.uvarint()
	if k < uint64(len(words)) {
		return words[k]
	}
	return r.strs[k-uint64(len(words))]
}

func (r *reader) strings() []string {
	n := r.uvarint()
	switch n {
	case 0:
		return nil
	case 1:
		return []string{}
	}
	// Appended to the Unpacker's list memory, capped so that a later
	// append cannot write into it.
	l := *r.lists
	from := len(l)
	for range n - 1 {
		l = append(l, r.string())
	}
	*r.lists = l
	return l[from:len(l):len(l)]
}

func (r *reader) headers() []httpflow.Header {
	n := r.uvarint()
	if n == 0 {
		return nil
	}
	hs := make([]httpflow.Header, n-1)
	for i := range hs {
		hs[i].Name = r.string()
		hs[i].Value = r.string()
	}
	return hs
}

// transaction unpacks one record into t, whose Request and Response point
// to its box's messages; a message not packed is detached.
func (r *reader) transaction(t *httpflow.Transaction) {
	req, resp := t.Request, t.Response
	flags := r.uvarint()
	*t = httpflow.Transaction{
		ID:              int(r.varint()),
		Connection:      int(r.varint()),
		Index:           int(r.varint()),
		Pipelined:       flags&txnPipelined != 0,
		PersistentAfter: flags&txnPersistentAfter != 0,
		Tunnel:          flags&txnTunnel != 0,
		Connect:         r.varint(),
		Send:            r.varint(),
		Wait:            r.varint(),
		Receive:         r.varint(),
		Total:           r.varint(),
		GapBefore:       r.varint(),
	}
	if flags&txnInterim != 0 {
		t.Interim = make([]*httpflow.Message, r.uvarint())
		for i := range t.Interim {
			t.Interim[i] = r.message(nil)
		}
	}
	if flags&txnRequest != 0 {
		t.Request = r.message(req)
	}
	if flags&txnResponse != 0 {
		t.Response = r.message(resp)
	}
}

// message unpacks one message into m, or into a new Message when m is nil.
func (r *reader) message(m *httpflow.Message) *httpflow.Message {
	flags := r.uvarint()
	if flags == 0 {
		return nil
	}
	if m == nil {
		m = new(httpflow.Message)
	}
	first := r.frame + uint64(r.varint())
	last := first + uint64(r.varint())
	start := r.time + r.varint()
	end := start + r.varint()
	r.frame, r.time = first, start
	*m = httpflow.Message{
		FirstFrame:         first,
		LastFrame:          last,
		Start:              start,
		End:                end,
		Method:             r.string(),
		Target:             r.string(),
		Version:            r.string(),
		Status:             int(r.varint()),
		Reason:             r.string(),
		HeaderBytes:        r.varint(),
		BodyBytes:          r.varint(),
		WireBytes:          r.varint(),
		DeclaredLength:     r.varint(),
		Framing:            httpflow.Framing(r.byte()),
		Incomplete:         httpflow.Incomplete(r.byte()),
		Complete:           flags&msgComplete != 0,
		HeadersTruncated:   flags&msgHeadersTruncated != 0,
		HasProxyConnection: flags&msgHasProxyConnection != 0,
		ConnectionTokens:   r.strings(),
		KeepAliveMax:       int32(r.varint()),
		KeepAliveTimeout:   int32(r.varint()),
	}
	if flags&msgRare != 0 {
		m.Headers = r.headers()
		m.Trailers = r.headers()
		m.KeepAlive = r.string()
		m.ProxyConnection = r.string()
		m.Expect = r.string()
		m.Upgrade = r.string()
		m.Anomalies = r.strings()
	}
	return m
}
