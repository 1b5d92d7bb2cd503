package httpflow

// This file holds the queue of requests waiting for their responses, and
// the evidence used to pair responses with requests when the capture lost
// bytes: TCP acknowledgment numbers say how much of the other direction
// each side had received when it sent a segment.

import (
	"github.com/connscope/connscope/capture"
	"github.com/connscope/connscope/reassembly"
)

// serverHadRequest reports whether the server could have received the
// start of b's request when it sent the segment (frame) that carried a
// response's first byte: that segment's acknowledgment number says how
// many client bytes the server had. A response sent before the server had
// any of the oldest waiting request answers a request the capture lost (a
// gap in the client's stream), so it must not take that request's place
// and shift every later pair. Without the segment's record, the answer is
// yes.
func (p *Conn) serverHadRequest(b *txnBox, frame uint64) bool {
	acked := p.ackedAt(reassembly.ServerToClient, frame)
	if acked < 0 || b.t.Request == nil {
		return true
	}
	return seqBefore(b.reqOff, acked)
}

// ackedAt returns how many bytes of the other direction the sender in
// direction d had received when it sent frame: the segment's relative
// acknowledgment number minus one (the SYN counts one). It returns -1 when
// the segment's record is not at hand or carries no acknowledgment. The
// value is a 32-bit sequence distance: compare it with seqBefore.
func (p *Conn) ackedAt(d reassembly.Direction, frame uint64) int64 {
	if p.conn == nil {
		return -1
	}
	segs := p.conn.Segments
	if n := len(segs); n > 0 && segs[n-1].Frame == frame {
		// The segment being delivered is usually the last recorded: no
		// loop, and small enough to be inlined.
		return ackOf(&segs[n-1], d)
	}
	return ackedAtBefore(segs, d, frame)
}

// ackOf is ackedAt's answer for the segment record r.
func ackOf(r *reassembly.SegmentRecord, d reassembly.Direction) int64 {
	if r.Dir != d || !capture.TCPFlags(r.Flags).Has(capture.FlagACK) || r.Kind&reassembly.KindCaptureDuplicate != 0 {
		return -1
	}
	return int64(r.Ack - 1)
}

// ackedAtBefore is ackedAt's search among the last 256 records.
func ackedAtBefore(segs []reassembly.SegmentRecord, d reassembly.Direction, frame uint64) int64 {
	for i := len(segs) - 1; i >= 0 && i >= len(segs)-256; i-- {
		if segs[i].Frame == frame {
			return ackOf(&segs[i], d)
		}
	}
	return -1
}

// seqBefore reports whether stream offset a comes before b, comparing in
// 32-bit sequence space as acknowledgment numbers do (RFC 9293 section
// 3.4), so that streams longer than 4 GiB compare right.
func seqBefore(a, b int64) bool { return int32(uint32(b)-uint32(a)) > 0 }

// skipLostResponses handles a status line found at server stream offset
// off while the oldest waiting request has no response yet. When the next
// request was sent after the client had received more of the server's
// stream than when it sent the oldest one, and those bytes fell into a
// capture gap, then the oldest request's response began inside the gap
// and was lost whole: that request gets no response (anomaly
// "response_lost_in_gap") instead of taking this one and shifting every
// later pair.
func (p *Conn) skipLostResponses(off int64) {
	for p.waiting() >= 2 {
		b, next := p.oldest(), p.pending[p.pendHead+1]
		if len(b.t.Interim) > 0 || b.t.Request == nil || b.cliAck < 0 || next.cliAck < 0 {
			return
		}
		if !seqBefore(b.cliAck, next.cliAck) || seqBefore(off, next.cliAck) || !p.serverGapWithin(b.cliAck, next.cliAck) {
			return
		}
		addAnomaly(b.t.Request, "response_lost_in_gap")
		b.responseDone = true
		// It ended before the next request, as far as the client's
		// acknowledgments tell.
		b.respEnd = next.cliAck
		p.popPending()
	}
}

// noteServerGap remembers a gap in the server's stream (the most recent
// ones only).
func (p *Conn) noteServerGap(from, to int64) {
	if len(p.serverGaps) == cap(p.serverGaps) && len(p.serverGaps) >= 16 {
		copy(p.serverGaps, p.serverGaps[1:])
		p.serverGaps = p.serverGaps[:len(p.serverGaps)-1]
	}
	p.serverGaps = append(p.serverGaps, [2]int64{from, to})
}

// serverGapWithin reports whether a remembered server gap overlaps the
// stream range [from, to).
func (p *Conn) serverGapWithin(from, to int64) bool {
	for _, g := range p.serverGaps {
		if seqBefore(g[0], to) && seqBefore(from, g[1]) {
			return true
		}
	}
	return false
}

// startedBefore reports whether a waiting transaction's request began
// before frame: a response cannot answer a request sent after it began.
func startedBefore(b *txnBox, frame uint64) bool {
	q := b.t.Request
	return q == nil || q.FirstFrame < frame
}

// moveBefore moves the kept transaction b (the last one) to just before
// the kept transaction at, renumbering those after it.
func (p *Conn) moveBefore(b, at *txnBox) {
	if !b.kept || !at.kept || at.t.Index >= b.t.Index {
		return
	}
	i := at.t.Index - p.base
	copy(p.boxes[i+1:], p.boxes[i:len(p.boxes)-1])
	p.boxes[i] = b
	for j := i; j < len(p.boxes); j++ {
		p.boxes[j].t.Index = p.base + j
	}
}

// waiting returns how many requests wait for their final response.
func (p *Conn) waiting() int { return len(p.pending) - p.pendHead }

// oldest returns the oldest waiting request (waiting() > 0).
func (p *Conn) oldest() *txnBox { return p.pending[p.pendHead] }

// popPending removes the oldest waiting request.
func (p *Conn) popPending() {
	p.pending[p.pendHead] = nil
	p.pendHead++
	if p.pendHead == len(p.pending) {
		p.pending, p.pendHead = p.pending[:0], 0
	} else if p.pendHead >= 1024 && p.pendHead*2 >= len(p.pending) {
		// Many answered, many still waiting (deep pipelining): compact.
		n := copy(p.pending, p.pending[p.pendHead:])
		clear(p.pending[n:])
		p.pending, p.pendHead = p.pending[:n], 0
	}
}

// pushFront makes b the oldest waiting request.
func (p *Conn) pushFront(b *txnBox) {
	if p.pendHead > 0 {
		p.pendHead--
		p.pending[p.pendHead] = b
		return
	}
	p.pending = append(p.pending, nil)
	copy(p.pending[1:], p.pending)
	p.pending[0] = b
}

// clearPending forgets every waiting request.
func (p *Conn) clearPending() {
	clear(p.pending)
	p.pending, p.pendHead = p.pending[:0], 0
}
