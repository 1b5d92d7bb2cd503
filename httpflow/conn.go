package httpflow

import (
	"sync"
	"unsafe"

	"github.com/connscope/connscope/reassembly"
)

// Conn parses the two byte streams of one TCP connection into HTTP/1.x
// transactions. It implements reassembly.StreamConsumer: the Assembler
// feeds it both directions interleaved in capture order. A Conn keeps at
// most one partial line and one header block per direction, and one small
// record per transaction; bodies are counted, never stored.
//
// A Conn is not safe for concurrent use; the Assembler calls it from one
// goroutine.
type Conn struct {
	conn *reassembly.Connection
	cfg  Config

	app        App
	appDecided bool
	// http1 is app == AppHTTP1, for the tests made per message: App is a
	// string, and comparing it costs a load and two compares.
	http1 bool
	// midStream is set when the capture missed the handshake: the first
	// bytes may be in the middle of a message, so each direction scans for a
	// start line instead of requiring one at its first byte.
	midStream bool
	begun     bool  // begin has run
	scanned   int64 // bytes scanned while looking for the first start line

	streams [2]stream

	boxes []*txnBox // kept transactions, in request order, from index base
	// base is how many settled transactions Config.ForgetSettled let go
	// and dropped from boxes: boxes[i] is the transaction of Index base+i.
	// The first dead entries of boxes were let go too but not dropped yet
	// (they are nil).
	base, dead int
	// first is the connection's first transaction once ForgetSettled let
	// go of its place in boxes: it is kept, never let go, because
	// Transactions finalizes it again at the close (its Connect and
	// GapBefore read the handshake, which a late SYN/ACK can still change).
	first *txnBox
	// pending[pendHead:] are the transactions waiting for their final
	// response, oldest first.
	pending  []*txnBox
	pendHead int
	// serverGaps are the most recent gaps in the server's stream, as
	// [from, to) stream offsets.
	serverGaps [][2]int64
	dropped    int // transactions not kept: beyond MaxTransactionsPerConn or Budget
	overBudget int // of those, the ones Config.Budget refused
	taken      int // units taken from Config.Budget, given back by Release
	released   bool
	mem        slab
	// out is the list Transactions returned last, given back to txnLists
	// by Release with Config.RecycleTransactions.
	out []*Transaction

	// settled counts the leading transactions whose inputs to finalize
	// can no longer change (see settle); those after the first were
	// finalized then, while their records were in cache, and Transactions
	// does not read them again. unsettled says that something changed a
	// settled transaction afterwards (rare: bytes of a line counted for a
	// message that had ended), and Transactions finalizes every one.
	settled   int
	unsettled bool

	// First backing arrays of boxes and pending: enough for a connection
	// of one transaction, the commonest kind, without allocating.
	firstBoxes   [1]*txnBox
	firstPending [1]*txnBox
}

// txnBox holds a transaction, its request and its final response in one
// allocation, with the parser's private bookkeeping beside them: the
// transaction and the bookkeeping first (three cache lines), then each
// message (three lines; what most messages leave empty is behind
// Message.Extra). Each message starts on a cache line, and the record
// fills 9 lines, so that records side by side in a chunk (see slab) each
// start on a line too (TestTxnBoxLayout). Until the Extra pointer, the
// record was 13 lines, four of them a message's empty tail that Release
// cleared and a connection kept for nothing.
type txnBox struct {
	t Transaction
	// Backing arrays for the usual one Connection token ("keep-alive" or
	// "close"); a second token allocates.
	reqTok  [1]string
	respTok [1]string

	reqOff       int64 // client stream offset of the request's first byte
	cliAck       int64 // server bytes the client had received when it sent the request (-1 unknown)
	respEnd      int64 // server stream offset after the final response (-1 unknown)
	kept         bool  // in Conn.boxes (false beyond MaxTransactionsPerConn)
	respHeaders  bool  // the final response's header block ended
	responseDone bool  // the final response ended (complete or not)
	head         bool  // the request is HEAD: its response has no body
	connect      bool  // the request is CONNECT: a 2xx answer opens a tunnel

	_    [8]byte
	req  Message
	_    [8]byte
	resp Message
	_    [8]byte
}

// midStreamScanLimit bounds how far a connection whose handshake was not
// captured is scanned for a first start line before it is called unknown.
const midStreamScanLimit = 256 << 10

// connPool holds parsers given back by Release. A capture of short
// connections opens one parser per connection; reusing them saves an
// allocation of about a kilobyte each (the transactions and strings a
// parser hands out live in its slab, never in the Conn, so they outlive
// the reuse).
var connPool = sync.Pool{New: func() any { return new(Conn) }}

// NewConn returns the parser for one connection. c may be nil (tests);
// it is read for the connection ID and the handshake, never modified.
func NewConn(c *reassembly.Connection, cfg Config) *Conn {
	p := connPool.Get().(*Conn)
	*p = Conn{conn: c, cfg: cfg.withDefaults(), app: AppUnknown}
	p.boxes, p.pending = p.firstBoxes[:0], p.firstPending[:0]
	p.mem.recycle = cfg.RecycleTransactions
	p.streams[0].dir = reassembly.ClientToServer
	p.streams[1].dir = reassembly.ServerToClient
	return p
}

// begin runs before the first byte or gap is handled. The Assembler opens
// a connection at its first segment, before the handshake is recorded, so
// whether the handshake was captured is only known now.
func (p *Conn) begin() {
	p.begun = true
	if c := p.conn; c != nil && c.Handshake.SYNFrame == 0 && c.Handshake.SYNACKFrame == 0 {
		p.midStream = true
		for i := range p.streams {
			if p.streams[i].st == stStart {
				p.streams[i].st = stResync
			}
		}
	}
}

// App returns what the connection carried. Until its first bytes were seen
// it is AppUnknown.
func (p *Conn) App() App { return p.app }

// TransactionsDropped counts transactions parsed but not kept because the
// connection exceeded Config.MaxTransactionsPerConn or Config.Budget was
// spent.
func (p *Conn) TransactionsDropped() int { return p.dropped }

// Data implements reassembly.StreamConsumer.
func (p *Conn) Data(d reassembly.Direction, data []byte, at reassembly.Span) {
	if d > reassembly.ServerToClient || len(data) == 0 {
		return
	}
	if !p.begun {
		p.begin()
	}
	s := &p.streams[d]
	s.total += int64(len(data))
	if !p.appDecided {
		switch p.detectBinary(s, data) {
		case detectSkip:
			return
		case detectWait:
			// One byte that might start a TLS record: hold it (it is in
			// s.first) until the next one says.
			s.held, s.heldAt = len(data), at
			return
		}
		if s.held > 0 {
			held := s.held
			s.held = 0
			p.feed(s, s.first[:held], s.heldAt)
		}
	}
	p.feed(s, data, at)
}

// Gap implements reassembly.StreamConsumer.
func (p *Conn) Gap(d reassembly.Direction, size int64, at reassembly.Span) {
	if d > reassembly.ServerToClient || size <= 0 {
		return
	}
	if !p.begun {
		p.begin()
	}
	p.gap(&p.streams[d], size, at)
}

// End implements reassembly.StreamConsumer.
func (p *Conn) End(d reassembly.Direction, reason reassembly.EndReason, at reassembly.Span) {
	if d > reassembly.ServerToClient {
		return
	}
	s := &p.streams[d]
	if s.held > 0 {
		// A lone first byte that might have started a TLS record.
		held := s.held
		s.held = 0
		p.feed(s, s.first[:held], s.heldAt)
	}
	p.end(s, incompleteFor(reason), at)
}

func incompleteFor(r reassembly.EndReason) Incomplete {
	switch r {
	case reassembly.EndFIN:
		return IncompleteFIN
	case reassembly.EndRST:
		return IncompleteRST
	}
	return IncompleteEndOfCapture
}

type detectResult uint8

const (
	detectParse detectResult = iota // parse the bytes as HTTP/1.x (text decides later)
	detectWait                      // too few bytes to tell: hold them
	detectSkip                      // not HTTP/1.x: the App is decided
)

// detectBinary labels connections whose first bytes cannot be HTTP/1.x
// text before any line is assembled: TLS records. The decision for text
// (request line, HTTP/2 preface) is taken when the first line completes,
// in startLine.
func (p *Conn) detectBinary(s *stream, data []byte) detectResult {
	if s.st == stTunnel {
		return detectSkip
	}
	if s.firstN < len(s.first) {
		s.firstN += copy(s.first[s.firstN:], data)
	}
	tls, decided := looksLikeTLS(s.first[:s.firstN], p.midStream)
	switch {
	case !decided:
		return detectWait
	case tls:
		p.decide(AppTLS)
		return detectSkip
	}
	return detectParse
}

// decide fixes the connection's App. Anything but HTTP/1.x stops parsing
// in both directions.
func (p *Conn) decide(a App) {
	if p.appDecided {
		return
	}
	p.app, p.appDecided, p.http1 = a, true, a == AppHTTP1
	if a != AppHTTP1 {
		for i := range p.streams {
			p.streams[i].toTunnel()
		}
	}
}

// nextIndex is the Index of the next kept transaction: how many were kept,
// those let go included.
func (p *Conn) nextIndex() int { return p.base + len(p.boxes) }

func (p *Conn) lastBox() *txnBox {
	if len(p.boxes) == 0 {
		return nil
	}
	return p.boxes[len(p.boxes)-1]
}

// newBox starts a transaction. Beyond the per-connection bound, or when
// the shared Budget is spent, it is parsed but not kept.
func (p *Conn) newBox() *txnBox {
	var b *txnBox
	under := p.nextIndex() < p.cfg.MaxTransactionsPerConn
	if under && p.cfg.Budget.take() {
		p.taken++
		b = p.mem.box()
		b.kept = true
		b.t.Index = p.nextIndex()
		if len(p.boxes) == cap(p.boxes) && p.cfg.RecycleTransactions {
			p.growBoxes()
		}
		p.boxes = append(p.boxes, b)
	} else {
		b = new(txnBox) // not kept: garbage once answered
		p.dropped++
		if under {
			p.overBudget++
		}
	}
	b.t.Connection = p.connID()
	b.cliAck, b.respEnd = -1, -1
	// The timings are finalize's to set: it sets every one, and no
	// transaction is handed out before it ran.
	return b
}

// growBoxes doubles boxes' room from boxLists, giving the old array back
// (Config.RecycleTransactions; see listCache).
func (p *Conn) growBoxes() {
	grown := append(boxLists.take(2*cap(p.boxes)), p.boxes...)
	if cap(p.boxes) > len(p.firstBoxes) {
		boxLists.give(p.boxes)
	}
	p.boxes = grown
}

func (p *Conn) connID() int {
	if p.conn == nil {
		return 0
	}
	return p.conn.ID
}

func newMessage(m *Message, tok []string) {
	m.DeclaredLength = -1
	m.KeepAliveMax = -1
	m.KeepAliveTimeout = -1
	m.Framing = FramingNone
	m.ConnectionTokens = tok[:0]
}

// Transactions returns the connection's transactions in request order,
// with timings and persistence computed. It is complete once End was
// delivered for both directions; called earlier it describes what was
// parsed so far. ID is left 0 for the caller to number.
func (p *Conn) Transactions() []*Transaction {
	if p.app != AppHTTP1 {
		// Nothing, or a tentative malformed first request that the server
		// never confirmed as HTTP.
		return nil
	}
	boxes := p.boxes[p.dead:] // dead is 0 unless ForgetSettled let records go
	n := len(boxes)
	if p.first != nil {
		n++
	}
	var out []*Transaction
	if p.cfg.RecycleTransactions {
		// The records go at Release, and the list with them (see
		// listCache); a list from an earlier call is left to the
		// collector, as its caller may still read it.
		out = txnLists.take(n)
		p.out = out
	} else {
		out = make([]*Transaction, 0, n)
	}
	if p.first != nil { // kept by ForgetSettled (see forgetSettled)
		p.finalize(0, p.first)
		out = append(out, &p.first.t)
	}
	for i, b := range boxes {
		// Finalizing again reads the transaction before. The first record
		// listed is the connection's first (index 0, which reads none) or,
		// with ForgetSettled, follows one let go, whose messages no stream
		// pointed to: then neither changed since it was finalized.
		if index := b.t.Index; index == 0 || index >= p.settled || p.unsettled && i > 0 {
			p.finalize(index, b)
		}
		out = append(out, &b.t)
	}
	return out
}

// inUse reports whether a stream still points into b: at b itself (the
// transaction it parses) or at one of b's messages (the one it parses, its
// last one, the one a line goes on for). Each pointer is compared with the
// record's address range, one test where b and its two messages took
// three: a record's messages are the only Messages inside it (interim
// ones are allocated on their own), and records do not overlap.
func (p *Conn) inUse(b *txnBox) bool {
	const size = unsafe.Sizeof(txnBox{})
	start := uintptr(unsafe.Pointer(b))
	c, s := &p.streams[reassembly.ClientToServer], &p.streams[reassembly.ServerToClient]
	return uintptr(unsafe.Pointer(c.box))-start < size || uintptr(unsafe.Pointer(c.msg))-start < size ||
		uintptr(unsafe.Pointer(c.last))-start < size || uintptr(unsafe.Pointer(c.lineMsg))-start < size ||
		uintptr(unsafe.Pointer(s.box))-start < size || uintptr(unsafe.Pointer(s.msg))-start < size ||
		uintptr(unsafe.Pointer(s.last))-start < size || uintptr(unsafe.Pointer(s.lineMsg))-start < size
}

// settle finalizes the transactions that are over, oldest first, when a
// message ends: their records were just written and are still in cache,
// whereas at the close of a long keep-alive connection Transactions would
// read thousands of them back from memory. A transaction is over when its
// final response ended (or was lost) and its request is not still being
// sent; finalize then reads nothing that can change, given that the
// transaction before it is over too: its messages' times, the client's
// acknowledgment, the end of the previous response, the previous
// messages' end times. Reordering leaves the settled ones alone:
// moveBefore inserts before a transaction still waiting for its response,
// and openTunnel drops or renumbers only transactions after the one
// ending. What can change a settled transaction is a line that goes on
// after its message ended (lineMsg): lineBytes then sets unsettled. The
// first transaction is finalized again by Transactions, since its Connect
// and GapBefore read the handshake.
func (p *Conn) settle() {
	if !fastPaths || p.unsettled {
		return
	}
	if p.cfg.Settled != nil {
		p.settleHandingOn()
		return
	}
	// Without Settled nothing is let go: base is 0.
	for p.settled < len(p.boxes) {
		b := p.boxes[p.settled]
		if !b.responseDone || p.streams[reassembly.ClientToServer].box == b {
			return
		}
		if p.settled > 0 {
			p.finalize(p.settled, b)
		}
		p.settled++
	}
}

// settleHandingOn is settle with Config.Settled: every transaction that
// settles is finalized and given to it, and with ForgetSettled the older
// ones are let go.
func (p *Conn) settleHandingOn() {
	before := p.settled
	for p.settled < p.nextIndex() {
		b := p.boxes[p.settled-p.base]
		if !b.responseDone || p.streams[reassembly.ClientToServer].box == b {
			break
		}
		p.finalize(p.settled, b)
		p.settled++
		if p.http1 {
			p.cfg.Settled(&b.t)
		}
	}
	if p.settled > before && p.cfg.ForgetSettled && p.http1 {
		p.forgetSettled()
	}
}

// forgetSettled lets go of the settled transactions but the last (lastBox
// and the next transaction's finalize read that one), but any whose
// messages a stream still points to (its last message, which bytes after
// it can mark with an anomaly or count a line for, or the one it parses),
// and but the one before such a transaction, which finalizing it again at
// the close reads: a connection whose request was lost in a gap has a
// response-only transaction after the last request. The first transaction
// moves to p.first instead (see there). Their records go back to the slab;
// their units stay taken from the Budget until Release, because the
// consumer keeps the transactions it was given (the Budget bounds the
// transactions of open connections, whoever keeps them).
func (p *Conn) forgetSettled() {
	// boxes[:dead] were let go already; the candidates follow, up to the
	// last settled one.
	n := 0
	// A candidate goes when neither it nor the one after it is in use:
	// the answer for the one after is carried to the next candidate,
	// which is that one (a call usually tests two records, not three).
	last := p.settled - 1 - p.base
	busy := p.dead < last && p.inUse(p.boxes[p.dead])
	for i := p.dead; i < last && !busy; i++ {
		if busy = p.inUse(p.boxes[i+1]); busy {
			break
		}
		b := p.boxes[i]
		if b.t.Index == 0 {
			p.first = b
		} else {
			p.mem.free(b)
		}
		p.boxes[i] = nil
		n++
	}
	if n == 0 {
		return
	}
	p.dead += n
	// Drop the dead entries once they are most of the slice, so that the
	// slice stays as short as the transactions kept and the copy is paid
	// once per many transactions.
	if p.dead >= 32 && 2*p.dead >= len(p.boxes) {
		k := copy(p.boxes, p.boxes[p.dead:])
		clear(p.boxes[k:])
		p.boxes = p.boxes[:k]
		p.base += p.dead
		p.dead = 0
	}
}
