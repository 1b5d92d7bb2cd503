package reassembly

import "sort"

// stream delivers one direction's bytes in sequence order. Bytes that arrive
// ahead of a hole wait in pending (bounded by Config.MaxBufferedBytes);
// bytes that arrive again (retransmissions, overlaps) are trimmed to what is
// new. A hole is given up on and reported as a Gap when the peer acknowledges
// past it, when the buffer bound is hit, or when the stream ends.
type stream struct {
	started bool
	ended   bool
	next    Seq   // next sequence number to deliver
	offset  int64 // stream offset of next (0 = first byte after the SYN)

	pending  []pendingSegment // sorted by seq, never overlapping next
	buffered int              // captured bytes held in pending

	finKnown bool
	finAt    Seq // sequence number of the FIN: the stream ends when next reaches it
}

// maxWindow is the largest window TCP can advertise (65535 << 14): a
// segment starting further than this beyond the next expected byte cannot
// belong to the stream.
const maxWindow = 65535 << 14

// pendingSegment is an out-of-order segment waiting for a hole to fill.
type pendingSegment struct {
	seq     Seq
	data    []byte // captured payload (nil when nobody consumes the bytes)
	capLen  int    // captured length (len(data) when data is kept)
	wireLen int    // payload length on the wire (> capLen when snaplen-cut)
	frame   uint64
	time    int64
}

func (p *pendingSegment) end() Seq { return p.seq.Add(p.wireLen) }

// streamSegment feeds one segment's payload (and FIN) to the stream.
func (c *conn) streamSegment(d Direction, seq Seq, payload []byte, wireLen int, fin bool, frame uint64, t int64) {
	h := &c.half[d]
	st := &h.stream
	if st.ended {
		return
	}
	if !st.started {
		st.started = true
		st.next = h.base.Add(1)
	}
	if wireLen > 0 {
		end := seq.Add(wireLen)
		switch {
		case end.LessThanEq(st.next):
			// Entirely old: a retransmission of delivered bytes.
		case seq.Diff(st.next) > maxWindow:
			// Further ahead than any TCP window allows: not part of this
			// byte stream (a stray or corrupt segment). It is counted and
			// classified, never delivered or buffered.
		case seq.LessThanEq(st.next):
			c.emit(d, seq, payload, len(payload), wireLen, frame, t)
			c.drain(d)
		default:
			c.buffer(d, seq, payload, wireLen, frame, t)
		}
	}
	if fin && !st.finKnown {
		st.finKnown = true
		st.finAt = seq.Add(wireLen)
	}
	c.checkFIN(d, frame, t)
}

// emit delivers the new part of a segment that starts at or before next.
func (c *conn) emit(d Direction, seq Seq, data []byte, capLen, wireLen int, frame uint64, t int64) {
	st := &c.half[d].stream
	skip := int(st.next.Diff(seq)) // bytes already delivered
	if skip < capLen {
		n := capLen - skip
		if c.consumer != nil && data != nil {
			c.consumer.Data(d, data[skip:capLen], Span{Frame: frame, Time: t, Offset: st.offset})
		}
		st.next = st.next.Add(n)
		st.offset += int64(n)
		c.Dir[d].UniqueBytes += int64(n)
	}
	// The snap length cut the rest of the payload: it was on the wire, it is
	// not in the file, and no other frame of this capture will carry it.
	if end := seq.Add(wireLen); st.next.LessThan(end) {
		c.gap(d, int(end.Diff(st.next)), frame, t, true)
	}
}

// drain delivers pending segments that the stream has reached.
func (c *conn) drain(d Direction) {
	st := &c.half[d].stream
	i := 0
	for ; i < len(st.pending); i++ {
		p := &st.pending[i]
		if st.next.LessThan(p.seq) {
			break
		}
		st.buffered -= p.capLen
		c.a.stats.BufferedBytes -= p.capLen
		if st.next.LessThan(p.end()) {
			c.emit(d, p.seq, p.data, p.capLen, p.wireLen, p.frame, p.time)
		}
		p.data = nil
	}
	if i > 0 {
		n := copy(st.pending, st.pending[i:])
		clear(st.pending[n:])
		st.pending = st.pending[:n]
	}
}

// buffer holds a segment that starts beyond next until the hole fills.
func (c *conn) buffer(d Direction, seq Seq, payload []byte, wireLen int, frame uint64, t int64) {
	st := &c.half[d].stream
	i := sort.Search(len(st.pending), func(i int) bool { return !st.pending[i].seq.LessThan(seq) })
	if i < len(st.pending) && st.pending[i].seq == seq && st.pending[i].wireLen >= wireLen {
		return // the same segment again
	}
	var data []byte
	if c.consumer != nil && len(payload) > 0 {
		data = make([]byte, len(payload))
		copy(data, payload)
	}
	st.pending = append(st.pending, pendingSegment{})
	copy(st.pending[i+1:], st.pending[i:])
	st.pending[i] = pendingSegment{seq: seq, data: data, capLen: len(payload), wireLen: wireLen, frame: frame, time: t}
	st.buffered += len(payload)
	c.a.stats.BufferedBytes += len(payload)
	if c.a.stats.BufferedBytes > c.a.stats.PeakBufferedBytes {
		c.a.stats.PeakBufferedBytes = c.a.stats.BufferedBytes
	}
	for st.buffered > c.a.cfg.MaxBufferedBytes && len(st.pending) > 0 {
		c.a.stats.BufferOverflows++
		c.skipTo(d, st.pending[0].seq, frame, t)
	}
}

// skipTo gives up on the hole before to: reports it as a Gap, moves next
// past it and delivers whatever pending data follows.
func (c *conn) skipTo(d Direction, to Seq, frame uint64, t int64) {
	st := &c.half[d].stream
	if st.next.LessThan(to) {
		c.gap(d, int(to.Diff(st.next)), frame, t, false)
	}
	c.drain(d)
	c.checkFIN(d, frame, t)
}

// gap reports size missing bytes at next and moves past them.
func (c *conn) gap(d Direction, size int, frame uint64, t int64, snapCut bool) {
	st := &c.half[d].stream
	if size <= 0 {
		return
	}
	if c.consumer != nil {
		c.consumer.Gap(d, int64(size), Span{Frame: frame, Time: t, Offset: st.offset})
	}
	st.next = st.next.Add(size)
	st.offset += int64(size)
	ds := &c.Dir[d]
	ds.Gaps++
	ds.LostBytes += int64(size)
	if snapCut {
		ds.SnapCutBytes += int64(size)
	}
	c.a.stats.Gaps++
	c.a.stats.GapBytes += int64(size)
	c.historyCount(d, countGap, 'g')
}

// peerAcked is called when the other side acknowledges up to ack: any hole
// in direction d below it was received by the peer but never captured.
func (c *conn) peerAcked(d Direction, ack Seq, frame uint64, t int64) {
	st := &c.half[d].stream
	if !st.started || st.ended || !st.next.LessThan(ack) {
		return
	}
	// Only holes before data we know of: an ACK beyond everything this
	// direction was seen sending (the capture missed the tail, or the ACK
	// is bogus) reports nothing beyond what was seen, and never past the FIN.
	h := &c.half[d]
	if !h.nextSeqSet {
		return
	}
	limit := minSeq(ack, h.nextSeq)
	if st.finKnown && st.finAt.LessThan(limit) {
		limit = st.finAt
	}
	// pending always starts after next, so each round makes progress.
	for st.next.LessThan(limit) {
		to := limit
		if len(st.pending) > 0 && st.pending[0].seq.LessThan(to) {
			to = st.pending[0].seq
		}
		c.gap(d, int(to.Diff(st.next)), frame, t, false)
		c.drain(d)
	}
	c.checkFIN(d, frame, t)
}

// checkFIN ends the stream once every byte before the FIN was delivered.
func (c *conn) checkFIN(d Direction, frame uint64, t int64) {
	st := &c.half[d].stream
	if st.ended || !st.finKnown || st.next.LessThan(st.finAt) {
		return
	}
	c.endStream(d, EndFIN, frame, t)
}

// finish ends direction d for reason: every pending segment is delivered
// with Gaps for the holes before it, and End is reported. A FIN already seen
// wins over the reason: the sender had closed.
func (c *conn) finish(d Direction, reason EndReason, frame uint64, t int64) {
	h := &c.half[d]
	st := &h.stream
	if st.ended {
		return
	}
	if !st.started {
		st.started = true
		st.next = h.base.Add(1)
	}
	for len(st.pending) > 0 && !st.ended {
		c.skipTo(d, st.pending[0].seq, frame, t)
	}
	if st.ended {
		return
	}
	if st.finKnown && reason != EndRST {
		if st.next.LessThan(st.finAt) {
			c.gap(d, int(st.finAt.Diff(st.next)), frame, t, false)
		}
		reason = EndFIN
	}
	c.endStream(d, reason, frame, t)
}

func (c *conn) endStream(d Direction, reason EndReason, frame uint64, t int64) {
	st := &c.half[d].stream
	st.ended = true
	c.a.stats.BufferedBytes -= st.buffered
	st.buffered = 0
	st.pending = nil
	if c.consumer != nil {
		c.consumer.End(d, reason, Span{Frame: frame, Time: t, Offset: st.offset})
	}
}
