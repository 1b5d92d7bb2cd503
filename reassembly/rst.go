package reassembly

// A RST does not always end a connection. The receiver drops it when it
// carries a TCP-MD5 or TCP-AO option that does not verify (RFC 2385, RFC
// 5925), when its sequence number is outside the receive window, and when
// it is inside the window but not exactly at the next expected number (RFC
// 5961 section 3: the receiver answers with a "challenge ACK" and carries
// on). IDS captures and RST-injection attacks show exactly this: a RST, then
// the connection going on as if nothing had happened.
//
// A single capture point cannot see whether the receiver accepted a RST; it
// can see what follows. So the Assembler holds a RST's End back, and the
// connection's next segments decide:
//
//   - the RST's sender goes on in the same sequence space (new payload in
//     sequence, or its FIN at its next number, no SYN, no RST) with bytes at
//     or beyond the RST's own sequence number: the RST was ignored. Its
//     effects on the close (Close, ClosedFirstBy, RSTBy, RSTWithUnreadData,
//     the direction's RSTFrame, the Zeek endpoint state) are undone, its
//     SegmentRecord gets KindIgnoredRST, Connection.IgnoredRSTs counts it,
//     and both streams go on;
//   - a pure ACK (the challenge ACK of RFC 5961, or any ACK in flight) or
//     bytes that were already delivered (a retransmission) decide nothing:
//     the RST stays held, and those segments touch neither stream;
//   - anything else (another RST, a SYN, new data or a FIN from the RST's
//     receiver, data beyond a hole) and the end of the connection (the
//     close linger running out, eviction, reuse of the 4-tuple, Flush)
//     deliver End(EndRST) with the RST's own frame and time, exactly what
//     the Assembler did at the RST before it held anything.
//
// New data from the RST's receiver is not taken as proof: it may have been
// sent before the RST reached it (the two crossed on the wire), which is
// how a response cut short by a client's RST looks. A segment whose bytes
// all lie before the RST's sequence number is not proof either: it may have
// been sent before the RST and captured after it. So a RST numbered ahead
// of its sender's next byte (an in-window RST injected blind) is seen as
// ignored only once that sender's data passes its number; data that
// arrives first ends the connection as before.

// heldRST is a RST whose End is held back, and what processing it changed,
// so that it can be undone if the RST turns out to have been ignored.
type heldRST struct {
	active bool
	dir    Direction // the RST's direction
	seq    Seq       // its sequence number
	frame  uint64
	time   int64

	// The fields the RST changed, as they were before it.
	close                      CloseKind
	closedFirstBy, rstBy       Role
	rstWithUnreadData          bool
	dirRSTFrame                uint64
	dirRSTTime                 int64
	senderState                endpointState
	senderRSTSeen, wasFinished bool
}

// heldRSTBefore is process's part for a RST or while one is held, before
// any of the segment is applied: a held RST is decided on the state
// before this segment, and a new RST's End waits for the next segments
// (its effects noted so they can be undone). It reports whether a RST is
// held after it.
func (c *conn) heldRSTBefore(d Direction, seq Seq, seglen int, syn, fin, rst bool, frame uint64, t int64) bool {
	if c.held.active {
		c.settleHeldRST(d, seq, seglen, syn, fin, rst)
	}
	if rst && !syn && !fin && !(c.half[d].stream.ended && c.half[d.Reverse()].stream.ended) {
		c.holdRST(d, seq, frame, t)
	}
	return c.held.active
}

// holdRST notes a RST of direction d before any of its effects are applied.
func (c *conn) holdRST(d Direction, seq Seq, frame uint64, t int64) {
	h := &c.half[d]
	c.held = heldRST{
		active: true, dir: d, seq: seq, frame: frame, time: t,
		close: c.Close, closedFirstBy: c.ClosedFirstBy, rstBy: c.RSTBy,
		rstWithUnreadData: c.RSTWithUnreadData,
		dirRSTFrame:       c.Dir[d].RSTFrame, dirRSTTime: c.Dir[d].RSTTime,
		senderState: h.state, senderRSTSeen: h.rstSeen, wasFinished: c.finished,
	}
}

// settleHeldRST lets a segment of direction d decide the held RST, against
// the state before the segment: ignored, still undecided, or ended.
func (c *conn) settleHeldRST(d Direction, seq Seq, seglen int, syn, fin, rst bool) {
	switch {
	case syn || rst:
		c.endHeldRST()
	case d == c.held.dir && c.continuesAfterRST(seq, seglen, fin):
		c.ignoreHeldRST()
	case !fin && c.deliversNothing(d, seq, seglen):
		// A pure ACK or a retransmission: no evidence either way.
	default:
		c.endHeldRST()
	}
}

// continuesAfterRST reports whether a segment of the RST's sender (neither
// SYN nor RST) goes on with its sequence space past the RST: it starts at
// or before the sender's next number (no hole before it), and carries new
// bytes or its first FIN, at or beyond the RST's number.
func (c *conn) continuesAfterRST(seq Seq, seglen int, fin bool) bool {
	h := &c.half[c.held.dir]
	if !h.nextSeqSet || seq.GreaterThan(h.nextSeq) {
		return false
	}
	end := seq.Add(seglen)
	if seglen > 0 && end.GreaterThan(h.nextSeq) && end.GreaterThan(c.held.seq) {
		return true
	}
	return fin && !h.finSeen && end == h.nextSeq && !end.LessThan(c.held.seq)
}

// deliversNothing reports whether a segment without SYN, FIN or RST would
// give direction d's stream nothing new: no payload, or payload that was
// all delivered before.
func (c *conn) deliversNothing(d Direction, seq Seq, seglen int) bool {
	if seglen == 0 {
		return true
	}
	h := &c.half[d]
	st := &h.stream
	if st.ended {
		return true
	}
	next := st.next
	if !st.started {
		next = h.base.Add(1)
	}
	return seq.Add(seglen).LessThanEq(next)
}

// ignoreHeldRST undoes what the held RST changed and records it as ignored:
// the connection goes on.
func (c *conn) ignoreHeldRST() {
	hr := c.held
	c.held = heldRST{}
	c.Close, c.ClosedFirstBy, c.RSTBy = hr.close, hr.closedFirstBy, hr.rstBy
	c.RSTWithUnreadData = hr.rstWithUnreadData
	c.Dir[hr.dir].RSTFrame, c.Dir[hr.dir].RSTTime = hr.dirRSTFrame, hr.dirRSTTime
	h := &c.half[hr.dir]
	h.state, h.rstSeen = hr.senderState, hr.senderRSTSeen
	c.IgnoredRSTs++
	// The RST's record is among the last ones (only undecided segments
	// came after it), unless the per-connection cap released it.
	for i := len(c.Segments) - 1; i >= 0 && c.Segments[i].Frame >= hr.frame; i-- {
		if c.Segments[i].Frame == hr.frame {
			c.Segments[i].Kind |= KindIgnoredRST
			break
		}
	}
	if c.finished && !hr.wasFinished {
		// Back from the close linger to the open connections.
		c.finished = false
		if c.list != nil {
			c.list.remove(c)
		}
		c.a.active.pushBack(c)
		c.listedAt = c.lastSeen
	}
}

// endHeldRST delivers the held RST's End on both directions, at the RST.
func (c *conn) endHeldRST() {
	hr := c.held
	c.held.active = false
	c.finish(hr.dir, EndRST, hr.frame, hr.time)
	c.finish(hr.dir.Reverse(), EndRST, hr.frame, hr.time)
}
