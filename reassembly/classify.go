package reassembly

import "github.com/connscope/connscope/capture"

const (
	// fastRetransWindow: a retransmission within this long of the peer's
	// latest duplicate ACK is a fast retransmission (Wireshark's 20 ms).
	fastRetransWindow = int64(20e6)
	// defaultOutOfOrderWindow is used when the initial RTT is unknown: a
	// segment filling a hole within this long of the highest segment is
	// out-of-order rather than retransmitted (Wireshark's 3 ms).
	defaultOutOfOrderWindow = int64(3e6)
)

// classify applies Wireshark's tcp.analysis rules (tcp_analyze_sequence_number
// in packet-tcp.c, documented in the Wireshark User's Guide, "TCP Analysis")
// to a segment, in Wireshark's order, against the state before the segment.
// Capture duplicates never reach it.
func (c *conn) classify(s *capture.Segment, d Direction, seq, ack Seq, seglen int) SegmentKind {
	h, r := &c.half[d], &c.half[d.Reverse()]
	var k SegmentKind
	control := s.Flags&(synFlags|finFlags|rstFlags) != 0
	syn, fin, rst := s.Flags.Has(synFlags), s.Flags.Has(finFlags), s.Flags.Has(rstFlags)

	// Zero window probe: one byte at the next sequence number while the
	// peer advertises a zero window.
	if seglen == 1 && h.nextSeqSet && seq == h.nextSeq && r.windowSet && r.window == 0 {
		k |= KindZeroWindowProbe
	}
	// Zero window: this sender says it can take nothing more.
	if s.Window == 0 && !control {
		k |= KindZeroWindow
	}
	// Previous segment not captured: starts beyond the next expected byte.
	if h.nextSeqSet && seq.GreaterThan(h.nextSeq) && !rst {
		k |= KindPreviousNotCaptured
	}
	// Keep-alive: zero or one byte at next-1, to make the peer answer.
	if seglen <= 1 && !control && h.nextSeqSet && seq == h.nextSeq.Add(-1) {
		k |= KindKeepAlive
	}
	pureAck := seglen == 0 && !control && s.Flags.Has(ackFlags) &&
		h.nextSeqSet && seq == h.nextSeq && h.ackSet && ack == h.lastAck && h.windowSet
	// Window update: a pure ACK that only changes the window.
	if pureAck && s.Window != 0 && s.Window != h.window {
		k |= KindWindowUpdate
	}
	// Window full: the segment fills the peer's advertised window exactly.
	if seglen > 0 && !control && r.windowSet && r.ackSet &&
		seq.Add(seglen) == r.lastAck.Add(int(r.scaledWin)) {
		k |= KindWindowFull
	}
	// Duplicate ACK: a pure ACK repeating the last ACK and a non-zero
	// window. The answer to a keep-alive looks the same but is not one
	// (Wireshark calls it a keep-alive ACK).
	if pureAck && s.Window != 0 && s.Window == h.window && k&KindKeepAlive == 0 && !r.lastWasKeepAlive {
		k |= KindDuplicateAck
	}
	if (seglen > 0 || syn || fin) && k&KindKeepAlive == 0 {
		k |= c.classifyResend(s, d, seq, seglen)
	}
	return k
}

// classifyResend tells a retransmission (fast, spurious, by timeout) from an
// out-of-order segment, for a segment that does not advance nextseq.
func (c *conn) classifyResend(s *capture.Segment, d Direction, seq Seq, seglen int) SegmentKind {
	h, r := &c.half[d], &c.half[d.Reverse()]
	notAdvanced := h.nextSeqSet && seq.LessThan(h.nextSeq)
	t := s.Time
	// Fast retransmission: the peer sent >= 2 duplicate ACKs for exactly
	// this sequence number, the last of them within 20 ms.
	if notAdvanced && r.dupAcks >= 2 && r.ackSet && r.lastAck == seq && t-r.lastAckTime < fastRetransWindow {
		return KindRetransmission | KindFastRetransmission
	}
	// Spurious: the peer had already acknowledged every byte of it. Checked
	// before out-of-order, as tshark 4.0 does: data acknowledged cannot be
	// filling a hole.
	if seglen > 0 && r.ackSet && seq.Add(seglen).LessThanEq(r.lastAck) {
		return KindRetransmission | KindSpuriousRetrans
	}
	// Out-of-order: fills a hole soon (within the initial RTT) after the
	// highest segment, and is not simply a resend of the last one.
	window := defaultOutOfOrderWindow
	if c.Handshake.IRTT > 0 {
		window = c.Handshake.IRTT
	}
	span := seglen
	if s.Flags&(synFlags|finFlags) != 0 {
		span++
	}
	if notAdvanced && t-h.nextSeqTime < window && h.nextSeq != seq.Add(span) {
		return KindOutOfOrder
	}
	if notAdvanced {
		return KindRetransmission
	}
	return 0
}
