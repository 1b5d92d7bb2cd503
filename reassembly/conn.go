package reassembly

import (
	"net/netip"

	"github.com/connscope/connscope/capture"
)

// conn is the Assembler's private view of a connection: the public
// Connection it hands out, plus the per-direction state and its place in the
// expiry lists. The Connection (with room for its first SegmentRecords) is
// the one allocation per connection, since the handler may keep it; the
// conn itself is recycled once the connection is released.
type conn struct {
	*Connection

	a        *Assembler
	key      connKey
	consumer StreamConsumer
	half     [2]halfConn // indexed by Direction of the sender

	// finished is set once both sides sent FIN or either sent RST: the
	// connection then lingers (Config.CloseLinger) for late packets.
	// complete is set once both FINs were acknowledged: the Assembler then
	// releases the connection at once.
	finished bool
	complete bool
	// held is a RST whose End is held back until the connection's next
	// segments show whether the peer ignored it (see heldRST).
	held     heldRST
	lastSeen int64 // capture time of the latest packet, for expiry
	listedAt int64 // lastSeen when it was last put at the back of its list
	// firstDir is the direction of the first segment (for Zeek's '^').
	firstDir Direction
	// history collects Connection.History's letters; it is copied to the
	// string when the connection is released. historyBuf holds the usual
	// dozen letters without an allocation.
	history    []byte
	historyBuf [16]byte

	prev, next *conn // links in the active or lingering list
	hashNext   *conn // next connection whose key has the same 64-bit hash
	list       *connList
}

// connectionRecord is what is allocated for each connection: the public
// Connection and room for its first SegmentRecords, so that a short
// connection needs no other allocation.
type connectionRecord struct {
	Connection
	segmentBuf [initialSegments]SegmentRecord
}

// dirOf returns the direction of a segment sent by src.
func (c *conn) dirOf(src netip.AddrPort) Direction {
	if src == c.Client {
		return ClientToServer
	}
	return ServerToClient
}

// isNewSYN reports whether a SYN (without ACK) from src opens a new
// connection on this 4-tuple rather than repeating the current one's SYN.
func (c *conn) isNewSYN(s *capture.Segment) bool {
	h := &c.half[c.dirOf(s.Src)]
	return !(h.synSeen && Seq(s.Seq) == h.base)
}

// record appends a SegmentRecord, releasing the oldest eighth of them when
// the per-connection cap is reached (so the cost is amortised), or when
// all open connections together keep MaxSegmentsTotal: then the
// connection adding records pays with its own oldest.
func (c *conn) record(r SegmentRecord) {
	a := c.a
	if limit := a.cfg.MaxSegmentsPerConn; len(c.Segments) >= limit {
		c.dropOldest(max(limit/8, 1))
	} else if a.stats.SegmentsKept >= a.cfg.MaxSegmentsTotal && len(c.Segments) > 0 {
		a.stats.SegmentsDroppedTotal += int64(c.dropOldest(max(len(c.Segments)/8, 1)))
	}
	if len(c.Segments) == cap(c.Segments) && a.cfg.RecycleSegments {
		c.Segments = a.segments.grow(c.Segments, a.cfg.MaxSegmentsPerConn)
	}
	c.Segments = append(c.Segments, r)
	a.stats.SegmentsKept++
}

// dropOldest releases the n oldest SegmentRecords (at most all of them)
// and returns how many it released.
func (c *conn) dropOldest(n int) int {
	n = min(n, len(c.Segments))
	k := copy(c.Segments, c.Segments[n:])
	c.Segments = c.Segments[:k]
	c.SegmentsDropped += n
	c.a.stats.SegmentsDropped += int64(n)
	c.a.stats.SegmentsKept -= n
	return n
}

const (
	synFlags = capture.FlagSYN
	finFlags = capture.FlagFIN
	rstFlags = capture.FlagRST
	ackFlags = capture.FlagACK
)

// process runs one segment through sequence analysis, the handshake and
// close trackers, the history and the stream.
func (c *conn) process(s *capture.Segment, d Direction) {
	h, r := &c.half[d], &c.half[d.Reverse()]
	t := s.Time
	c.LastFrame = s.Frame
	if t > c.End {
		c.End = t
	}
	if c.VLAN == 0 {
		c.VLAN = s.VLAN // the first tag seen: some setups tag one direction only
	}
	ds := &c.Dir[d]
	ds.Packets++
	rec := SegmentRecord{Time: t, Frame: s.Frame, Len: uint32(max(s.PayloadLength, 0)), Flags: uint8(s.Flags), Dir: d}

	if h.isCaptureDuplicate(fingerprintOf(s), s.IPID) {
		ds.CaptureDuplicates++
		ds.CaptureDuplicateBytes += int64(rec.Len)
		c.a.stats.CaptureDuplicates++
		rec.Kind = KindCaptureDuplicate
		rec.Seq = h.relative(Seq(s.Seq))
		if s.Flags.Has(ackFlags) {
			rec.Ack = r.relative(Seq(s.Ack))
		}
		rec.Window = h.scaled(s.Window, r, s.Flags.Has(synFlags))
		c.record(rec)
		return
	}

	seglen := int(rec.Len)
	ds.Bytes += int64(seglen)
	seq, ack := Seq(s.Seq), Seq(s.Ack)
	syn, fin, rst, hasAck := s.Flags.Has(synFlags), s.Flags.Has(finFlags), s.Flags.Has(rstFlags), s.Flags.Has(ackFlags)
	// While a RST is held, the segments that leave it undecided (pure ACKs,
	// bytes already delivered) touch neither stream, as if it had ended them.
	holding := false
	if rst || c.held.active { // rare: one test on every other segment
		holding = c.heldRSTBefore(d, seq, seglen, syn, fin, rst, s.Frame, t)
	}

	h.seen = true
	if syn && !h.synSeen {
		h.synSeen, h.baseKnown, h.base = true, true, seq
		h.winScale = s.Options.WindowScale
		ds.ISN = s.Seq
	} else if !h.baseKnown {
		h.baseKnown, h.base = true, seq.Add(-1)
	}
	if hasAck && !r.baseKnown {
		r.baseKnown, r.base = true, ack.Add(-1)
	}

	kind := c.classify(s, d, seq, ack, seglen)
	rec.Kind = kind
	rec.Seq = h.relative(seq)
	if hasAck {
		rec.Ack = r.relative(ack)
	}
	rec.Window = h.scaled(s.Window, r, syn)

	// New data this segment adds beyond anything sent before it.
	advanced := seglen > 0 && (!h.nextSeqSet || seq.Add(seglen).GreaterThan(h.nextSeq))

	c.countKinds(ds, kind)
	c.trackHandshake(s, d, seglen)
	if rst {
		c.trackRST(d, t, s.Frame, hasAck, ack)
	}
	if fin && ds.FINFrame == 0 {
		ds.FINFrame, ds.FINTime = s.Frame, t
		if c.ClosedFirstBy == RoleNone {
			c.ClosedFirstBy = d.Sender()
		}
		if c.Close != CloseRST {
			c.Close = CloseFIN
		}
	}
	if advanced && r.finSeen && !h.finSeen {
		c.HalfClosed = true
	}

	c.updateSequence(s, d, seq, ack, seglen, kind)
	c.updateHistory(s, d, seglen, kind)
	c.record(rec)

	if !rst && !holding && (seglen > 0 || fin) {
		dataSeq := seq
		if syn {
			dataSeq = seq.Add(1) // data in a SYN (TCP Fast Open) follows the SYN's own number
		}
		payload := s.Payload
		if len(payload) > seglen {
			payload = payload[:seglen]
		}
		c.streamSegment(d, dataSeq, payload, seglen, fin, s.Frame, t)
	}
	if hasAck && !rst && !holding {
		c.peerAcked(d.Reverse(), ack, s.Frame, t)
	}
	if rst && !holding {
		c.finish(d, EndRST, s.Frame, t)
		c.finish(d.Reverse(), EndRST, s.Frame, t)
	}
	if rst || (h.finSeen && r.finSeen) {
		c.a.markFinished(c)
	}
	// Both FINs seen and acknowledged: the teardown is complete and nothing
	// more belongs to this connection (short of a lost final ACK), so it is
	// released right away instead of lingering.
	if !rst && !c.rstSeen() && h.finSeen && r.finSeen && h.finAcked(r) && r.finAcked(h) {
		c.complete = true
	}
}

// updateSequence advances the sender's sequence, acknowledgment and window
// state after classification (which must see the state before the segment).
func (c *conn) updateSequence(s *capture.Segment, d Direction, seq, ack Seq, seglen int, kind SegmentKind) {
	h, r := &c.half[d], &c.half[d.Reverse()]
	syn, fin, rst := s.Flags.Has(synFlags), s.Flags.Has(finFlags), s.Flags.Has(rstFlags)
	end := seq.Add(seglen)
	if syn || fin {
		end = end.Add(1)
	}
	// A RST's sequence number may be anything (it answers an unknown
	// segment); it must not move the sender's nextseq. A zero window probe
	// does not advance it either, as in Wireshark.
	if (!rst || !h.nextSeqSet) && kind&KindZeroWindowProbe == 0 &&
		(!h.nextSeqSet || end.GreaterThan(h.nextSeq)) {
		h.nextSeq, h.nextSeqSet, h.nextSeqTime = end, true, s.Time
	}
	if seglen > 0 {
		dataEnd := seq.Add(seglen)
		if syn {
			dataEnd = dataEnd.Add(1)
		}
		if !h.dataEndSet || dataEnd.GreaterThan(h.dataEnd) {
			h.dataEnd, h.dataEndSet = dataEnd, true
		}
	}
	if fin && !h.finSeen {
		h.finSeen, h.finSeq = true, seq.Add(seglen)
		if syn {
			h.finSeq = h.finSeq.Add(1)
		}
	}
	if rst {
		h.rstSeen = true
	}
	if kind&KindDuplicateAck != 0 {
		h.dupAcks++
	} else {
		h.dupAcks = 0
	}
	if s.Flags.Has(ackFlags) {
		h.lastAck, h.ackSet, h.lastAckTime = ack, true, s.Time
		if !h.maxAckSet || ack.GreaterThan(h.maxAck) {
			h.maxAck, h.maxAckSet = ack, true
		}
	}
	h.window, h.windowSet = s.Window, true
	h.scaledWin = h.scaled(s.Window, r, syn)
	h.lastWasKeepAlive = kind&KindKeepAlive != 0
}

// countKinds adds a classified segment to its direction's counters.
func (c *conn) countKinds(ds *DirectionStats, k SegmentKind) {
	if k&KindRetransmission != 0 {
		ds.Retransmissions++
	}
	if k&KindFastRetransmission != 0 {
		ds.FastRetransmissions++
	}
	if k&KindSpuriousRetrans != 0 {
		ds.SpuriousRetrans++
	}
	if k&KindOutOfOrder != 0 {
		ds.OutOfOrder++
	}
	if k&KindPreviousNotCaptured != 0 {
		ds.LostSegments++
	}
	if k&KindDuplicateAck != 0 {
		ds.DuplicateAcks++
	}
	if k&KindZeroWindow != 0 {
		ds.ZeroWindows++
	}
	if k&KindZeroWindowProbe != 0 {
		ds.ZeroWindowProbes++
	}
	if k&KindWindowFull != 0 {
		ds.WindowFull++
	}
	if k&KindKeepAlive != 0 {
		ds.KeepAlives++
	}
}

// trackHandshake records the SYN, SYN/ACK and the ACK that completes them.
func (c *conn) trackHandshake(s *capture.Segment, d Direction, seglen int) {
	hs := &c.Handshake
	syn, hasAck := s.Flags.Has(synFlags), s.Flags.Has(ackFlags)
	o := &s.Options
	switch {
	case syn && !hasAck && d == ClientToServer:
		if hs.SYNFrame == 0 {
			hs.FirstSYNTime = s.Time
			hs.ClientMSS, hs.ClientWindowScale = o.MSS, o.WindowScale
			c.half[d].sackOK, c.half[d].tsOK = o.SACKPermitted, o.HasTimestamps
		} else {
			hs.SYNRetransmissions++
		}
		hs.SYNFrame, hs.SYNTime = s.Frame, s.Time
		if seglen > 0 {
			hs.FastOpenData = true
		}
	case syn && hasAck && d == ServerToClient:
		if hs.SYNACKFrame == 0 {
			hs.ServerMSS, hs.ServerWindowScale = o.MSS, o.WindowScale
			c.half[d].sackOK, c.half[d].tsOK = o.SACKPermitted, o.HasTimestamps
		} else {
			hs.SYNACKRetransmissions++
		}
		hs.SYNACKFrame, hs.SYNACKTime = s.Frame, s.Time
		hs.SACKPermitted = c.half[0].sackOK && c.half[1].sackOK
		hs.Timestamps = c.half[0].tsOK && c.half[1].tsOK
	case !syn && hasAck && d == ClientToServer && hs.SYNACKFrame != 0 && hs.ACKFrame == 0:
		srv := &c.half[ServerToClient]
		if srv.synSeen && srv.base.Add(1).LessThanEq(Seq(s.Ack)) {
			hs.ACKFrame, hs.ACKTime = s.Frame, s.Time
			if hs.SYNFrame != 0 {
				hs.IRTT = s.Time - hs.SYNTime
			}
			c.a.rememberServer(c.Server)
		}
	}
}

// trackRST records who reset the connection and whether data sent toward
// the resetting side was still unacknowledged by it (the application closed
// a socket with unread data: the kernel answers with RST instead of FIN).
// The RST's own acknowledgment counts: Linux stamps a RST with everything
// its socket received, read or not, so a RST whose ACK covers every byte
// sent toward it says the data arrived (only the delayed ACK that would
// have said so had not gone out yet), not that it went unread.
func (c *conn) trackRST(d Direction, t int64, frame uint64, hasAck bool, ack Seq) {
	h, r := &c.half[d], &c.half[d.Reverse()]
	ds := &c.Dir[d]
	if ds.RSTFrame == 0 {
		ds.RSTFrame, ds.RSTTime = frame, t
	}
	if c.RSTBy == RoleNone {
		c.RSTBy = d.Sender()
		ackedBefore := h.maxAckSet && !h.maxAck.LessThan(r.dataEnd)
		ackedByRST := hasAck && !ack.LessThan(r.dataEnd)
		if r.dataEndSet && !ackedBefore && !ackedByRST {
			c.RSTWithUnreadData = true
		}
	}
	if c.ClosedFirstBy == RoleNone {
		c.ClosedFirstBy = d.Sender()
	}
	c.Close = CloseRST
}

// rstSeen reports whether either side sent a RST.
func (c *conn) rstSeen() bool { return c.half[0].rstSeen || c.half[1].rstSeen }

// finAcked reports whether peer acknowledged h's FIN.
func (h *halfConn) finAcked(peer *halfConn) bool {
	return h.finSeen && peer.maxAckSet && h.finSeq.LessThan(peer.maxAck)
}
