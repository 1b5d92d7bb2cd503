package reassembly

import (
	"net/netip"
	"slices"

	"github.com/connscope/connscope/capture"
)

// Assembler rebuilds TCP connections from segments given in capture order.
// It is not safe for concurrent use: one goroutine feeds it.
type Assembler struct {
	cfg     Config
	handler Handler

	table     connTable
	last      *conn    // the connection of the previous segment, if still open
	free      []*conn  // released connection states, for reuse
	active    connList // open connections, idlest first
	lingering connList // finished connections waiting for late packets
	closing   connList // completed teardowns (both FINs acknowledged), shorter wait
	nextID    int
	now       int64 // latest capture time seen (time never runs backwards here)
	stats     Stats

	segments  segmentCache // arrays for Config.RecycleSegments
	memory    reuseMemory
	servers   map[netip.AddrPort]struct{} // endpoints seen answering a handshake
	histories map[string]string           // interned Connection.History values
}

// completeTeardownLinger is how long a connection whose both FINs were
// acknowledged waits for stragglers (copies of the last ACK, a FIN resent
// because that ACK was lost: Linux's minimum RTO is 200 ms) before it is
// released. Much shorter than CloseLinger, so a high rate of short
// connections does not keep thousands of finished ones in memory.
const completeTeardownLinger = int64(250e6)

// initialSegments is the starting capacity of Connection.Segments: a short
// HTTP connection fits without growing it.
const initialSegments = 16

// maxKnownServers bounds the set of endpoints remembered as servers.
const maxKnownServers = 1 << 16

// NewAssembler returns an Assembler that reports to h (nil: report nothing,
// only count). Unset Config fields take their defaults.
func NewAssembler(cfg Config, h Handler) *Assembler {
	if h == nil {
		h = nopHandler{}
	}
	return &Assembler{
		cfg:       cfg.withDefaults(),
		handler:   h,
		table:     newConnTable(),
		memory:    newReuseMemory(),
		servers:   make(map[netip.AddrPort]struct{}),
		histories: make(map[string]string),
	}
}

type nopHandler struct{}

func (nopHandler) Opened(*Connection) StreamConsumer { return nil }
func (nopHandler) Closed(*Connection)                {}

// Stats returns the counters so far.
func (a *Assembler) Stats() Stats {
	s := a.stats
	s.OpenNow = a.table.n
	return s
}

// Add processes one segment. Segments must come in capture order. A nil
// segment is ignored. Add never keeps s or its Payload after it returns.
func (a *Assembler) Add(s *capture.Segment) {
	if s == nil {
		return
	}
	a.stats.Segments++
	if s.Time > a.now {
		a.now = s.Time
	}
	a.expire()

	// Segments come in bursts per connection (a flight of data, its ACKs):
	// the last connection is checked before hashing the 4-tuple.
	var key connKey
	c := a.last
	if c == nil || !((s.Src == c.Client && s.Dst == c.Server) || (s.Src == c.Server && s.Dst == c.Client)) {
		key = makeKey(s.Src, s.Dst)
		c = a.table.get(key)
	} else {
		key = c.key
	}
	if c != nil && s.Flags&(synFlags|ackFlags) == synFlags && c.isNewSYN(s) {
		// A SYN with a new ISN: the 4-tuple is being reused.
		prevID, prevEnd := c.ID, c.End
		a.release(c, EndReused)
		c = a.open(s, key, prevID, prevEnd)
	}
	if c == nil {
		prev, _ := a.memory.get(key, a.now, a.cfg.ReuseMemory)
		c = a.open(s, key, prev.id, prev.end)
	}
	if s.Time > c.lastSeen {
		c.lastSeen = s.Time
	}
	a.last = c
	c.process(s, c.dirOf(s.Src))
	if c.complete && c.list != &a.closing {
		if c.list != nil {
			c.list.remove(c)
		}
		a.closing.pushBack(c)
		c.listedAt = c.lastSeen
	}
}

// Advance tells the Assembler that capture time has reached now although
// no segment came: a live capture whose interface has gone quiet. It
// releases what Add would release at a segment stamped now (connections
// lingering after their close, completed teardowns, connections idle past
// IdleTimeout), so their Closed comes while the capture is still quiet
// instead of at the next, unrelated, segment. Time never runs backwards:
// an Advance to a time before the latest segment or Advance is ignored.
//
// The caller promises that no segment still to come is stamped before now
// (a live source takes a margin for frames still on their way to it).
// Capture files never call it: their results depend on their segments only.
func (a *Assembler) Advance(now int64) {
	if now <= a.now {
		return
	}
	a.now = now
	a.expire()
}

// Flush ends the capture: every connection still in the table gets End
// (EndOfCapture, or EndFIN for a side whose FIN was seen) on both
// directions and then Closed, in connection ID order.
func (a *Assembler) Flush() {
	all := a.table.all()
	slices.SortFunc(all, func(x, y *conn) int { return x.ID - y.ID })
	for _, c := range all {
		a.release(c, EndOfCapture)
	}
}

// open starts a new connection for segment s. prevID/prevEnd name the
// connection that used the 4-tuple before (0 when none is known).
func (a *Assembler) open(s *capture.Segment, key connKey, prevID int, prevEnd int64) *conn {
	for a.table.n >= a.cfg.MaxConnections {
		victim := a.closing.head
		if victim == nil {
			victim = a.lingering.head
		}
		if victim == nil {
			victim = a.active.head
		}
		if victim == nil {
			break
		}
		a.stats.Evicted++
		a.release(victim, EndEvicted)
	}
	c := a.newConn()
	c.a, c.key = a, key
	rec := &connectionRecord{}
	c.Connection = &rec.Connection
	c.Segments = rec.segmentBuf[:0]
	a.nextID++
	c.ID = a.nextID
	c.Client, c.Server, c.RolesInferred = a.inferRoles(s, key)
	c.VLAN = s.VLAN
	c.FirstFrame, c.LastFrame = s.Frame, s.Frame
	c.Start, c.End = s.Time, s.Time
	c.half[0].winScale, c.half[1].winScale = -1, -1
	c.Handshake.ClientWindowScale, c.Handshake.ServerWindowScale = -1, -1
	c.firstDir = c.dirOf(s.Src)
	c.history = c.historyBuf[:0]
	if c.RolesInferred && c.firstDir == ServerToClient {
		c.history = append(c.history, '^')
	}
	if prevID != 0 {
		c.ReusedTuple, c.PreviousID, c.PreviousEnd = true, prevID, prevEnd
		a.stats.ReusedTuples++
	}
	a.table.put(c)
	a.active.pushBack(c)
	c.lastSeen, c.listedAt = s.Time, s.Time
	a.stats.Connections++
	if n := a.table.n; n > a.stats.PeakOpen {
		a.stats.PeakOpen = n
	}
	c.consumer = a.handler.Opened(c.Connection)
	return c
}

// markFinished moves a connection whose both sides closed (or that was
// reset) to the lingering list.
func (a *Assembler) markFinished(c *conn) {
	if c.finished {
		return
	}
	c.finished = true
	if c.list != nil {
		c.list.remove(c)
	}
	a.lingering.pushBack(c)
	c.listedAt = c.lastSeen
}

// expire releases lingering connections past CloseLinger and open ones
// past IdleTimeout, measured on capture time.
func (a *Assembler) expire() {
	a.expireList(&a.lingering, a.cfg.CloseLinger, EndOfCapture)
	a.expireList(&a.closing, min(a.cfg.CloseLinger, completeTeardownLinger), EndOfCapture)
	a.expireList(&a.active, a.cfg.IdleTimeout, EndIdleExpired)
}

// expireList releases the connections of l that saw no packet for longer
// than timeout. The list is kept in order of when each connection was put
// at its back (listedAt), not of its latest packet: touching a connection
// costs nothing per packet. A connection found at the front that was
// touched since is moved to the back instead, at most once per timeout, so
// the work stays amortised O(1) per packet.
func (a *Assembler) expireList(l *connList, timeout int64, reason EndReason) {
	for c := l.head; c != nil && a.now-c.listedAt > timeout; c = l.head {
		if a.now-c.lastSeen > timeout {
			if reason == EndIdleExpired {
				a.stats.Expired++
			}
			a.release(c, reason)
			continue
		}
		l.remove(c)
		l.pushBack(c)
		c.listedAt = c.lastSeen
	}
}

// release ends both directions of c, summarises it, hands it to the
// handler and forgets it.
func (a *Assembler) release(c *conn, reason EndReason) {
	if c.held.active {
		c.endHeldRST() // nothing showed the RST was ignored: it ended the connection
	}
	c.finish(ClientToServer, reason, c.LastFrame, c.End)
	c.finish(ServerToClient, reason, c.LastFrame, c.End)
	c.History = a.internHistory(c.history)
	c.State = c.connState()
	if c.list != nil {
		c.list.remove(c)
	}
	a.table.remove(c)
	if a.last == c {
		a.last = nil
	}
	a.memory.remember(c.key, c.ID, c.End, c.Client, a.now, a.cfg)
	a.stats.Closed++
	a.stats.SegmentsKept -= len(c.Segments)
	a.handler.Closed(c.Connection)
	if a.cfg.RecycleSegments {
		a.segments.give(c.Segments)
		c.Segments = nil // the handler was told not to keep it
	}
	a.recycle(c)
}

// maxFreeConns bounds the recycled connection states kept for reuse.
const maxFreeConns = 1024

// newConn returns a zeroed connection state, recycled when one is free.
func (a *Assembler) newConn() *conn {
	if n := len(a.free); n > 0 {
		c := a.free[n-1]
		a.free = a.free[:n-1]
		*c = conn{}
		return c
	}
	return &conn{}
}

// recycle keeps a released connection's state for the next connection.
// The Connection itself belongs to the handler now and is not reused.
func (a *Assembler) recycle(c *conn) {
	c.Connection, c.consumer = nil, nil
	for d := range c.half {
		c.half[d].stream.pending = nil
	}
	if len(a.free) < maxFreeConns {
		a.free = append(a.free, c)
	}
}

// maxInternedHistories bounds the history strings shared between
// connections: a capture of many similar connections repeats a few
// histories ("ShADadFf"), and sharing them saves an allocation each.
const maxInternedHistories = 4096

// internHistory returns h as a string, shared with earlier connections
// that had the same history.
func (a *Assembler) internHistory(h []byte) string {
	if s, ok := a.histories[string(h)]; ok {
		return s
	}
	s := string(h)
	if len(a.histories) < maxInternedHistories {
		a.histories[s] = s
	}
	return s
}

// rememberServer notes an endpoint that answered a handshake, to infer
// roles of later connections whose handshake was not captured.
func (a *Assembler) rememberServer(ep netip.AddrPort) {
	if len(a.servers) < maxKnownServers {
		a.servers[ep] = struct{}{}
	}
}
