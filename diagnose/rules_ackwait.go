package diagnose

import (
	"fmt"

	"github.com/connscope/connscope/reassembly"
)

var ruleDelayedACKWait = &Rule{
	ID: "CT1003", Slug: "delayed-ack-wait", Since: "0.1", Scope: ScopeConnection,
	Title:    "A delayed ACK held up a transaction",
	Severity: SeverityWarning,
	Doc: Doc{
		What: "A sender stopped with data ready (its congestion window was full) until the peer's acknowledgment " +
			"arrived, and the peer held that acknowledgment for its delayed-ACK timer.",
		Detection: "Two consecutive new-data segments X and Y of one direction, where the first segment of the " +
			"other direction that acknowledges X is a pure ACK arriving min-ack-delay to max-ack-delay late (after " +
			"subtracting the round trip between the capture point and the receiver), and Y leaves within one " +
			"round trip (plus release-slack) of that ACK, but no sooner than half of it (less release-slack): a Y " +
			"that follows sooner was on its way before the ACK reached the sender. When Y is a full-sized segment the sender was " +
			"window-limited; a sub-MSS Y is reported as a Nagle stall (CT1007) instead. The cost is the ACK delay.",
		Why: "Receivers delay pure ACKs (Linux at least 40 ms, Windows and BSD about 200 ms) hoping to piggyback " +
			"them on data. When the sender cannot send more until it hears that ACK (a small congestion window " +
			"early in slow start or after idle), each delayed ACK adds its timer to the transfer.",
		Fix: "Avoid tiny congestion windows: reuse warm connections, keep a larger initial window (Linux: ip route " +
			"... initcwnd 10), disable slow start after idle (net.ipv4.tcp_slow_start_after_idle=0). On the " +
			"receiver, TCP_QUICKACK (Linux) acknowledges at once; Windows has TcpAckFrequency.",
	},
	Thresholds:      ackWaitThresholds,
	onlyWith:        factLongSpan, // an ACK delay cannot exceed the connection's span
	checkConnection: checkDelayedACKWait,
}

var ruleNagleStall = &Rule{
	ID: "CT1007", Slug: "nagle-delayed-ack-stall", Since: "0.1", Scope: ScopeConnection,
	Title:    "Nagle's algorithm and a delayed ACK stalled a message (write-write-read)",
	Severity: SeverityWarning,
	Doc: Doc{
		What: "A message was written in two pieces; the sender's Nagle algorithm held the second, small piece " +
			"until the first was acknowledged, and the receiver delayed that acknowledgment.",
		Detection: "Two consecutive new-data segments X and Y of one direction, with Y smaller than the MSS, where " +
			"the first segment of the other direction acknowledging X is a pure ACK arriving min-ack-delay to " +
			"max-ack-delay late (after subtracting the round trip between the capture point and the receiver) " +
			"and Y leaves within one round trip (plus release-slack) of that ACK but no sooner than half of it (less " +
			"release-slack). Evidence: X, the releasing ACK, " +
			"and the held segment Y. The cost is Y's time minus X's: without Nagle, Y would have followed X at once.",
		Why: "Nagle's algorithm (RFC 896) holds a small segment while sent data is unacknowledged; delayed ACK " +
			"holds the acknowledgment hoping for data to piggyback on. A request written as headers then body " +
			"(write-write-read) deadlocks the two until the delayed-ACK timer fires: 40 ms on Linux, about " +
			"200 ms on Windows, on every such message.",
		Fix: "Write each message with one call (buffer headers and body together, or writev), or set TCP_NODELAY " +
			"on the socket: Go sets it by default (net.TCPConn.SetNoDelay), Java Socket.setTcpNoDelay(true), " +
			"Node.js socket.setNoDelay(true), curl --tcp-nodelay (default since 7.50.2), nginx tcp_nodelay on.",
	},
	Thresholds:      ackWaitThresholds,
	onlyWith:        factLongSpan, // an ACK delay cannot exceed the connection's span
	checkConnection: checkNagleStall,
}

func checkDelayedACKWait(p *connPass) {
	for _, w := range findAckWaits(p.v, ackWaitLimitsOf(p)) {
		segs := p.c.Segments
		x, a, y := &segs[w.x], &segs[w.a], &segs[w.y]
		if y.Len < p.v.mssOf(w.dir) || !releasedByACK(p, w) {
			continue // Nagle's case, or a segment already on its way
		}
		p.report(Finding{
			txn:    p.v.transactionAt(w.dir, y.Frame),
			Frames: []uint64{x.Frame, a.Frame, y.Frame},
			Time:   a.Time,
			Cost:   w.ackDelay,
			Message: fmt.Sprintf("the %s waited for an ACK that the %s delayed %s: frame %d (%s) was "+
				"acknowledged only by frame %d, and the next full segment (frame %d) left right after it",
				w.dir.Sender(), w.dir.Reverse().Sender(), ms(w.ackDelay), x.Frame, byteCount(x.Len), a.Frame, y.Frame),
			Related: ackWaitRelated(x, a, y),
			Vantage: p.v.vantageNote(),
		})
	}
}

func checkNagleStall(p *connPass) {
	for _, w := range findAckWaits(p.v, ackWaitLimitsOf(p)) {
		segs := p.c.Segments
		x, a, y := &segs[w.x], &segs[w.a], &segs[w.y]
		if y.Len >= p.v.mssOf(w.dir) || !releasedByACK(p, w) {
			continue // a window-limited sender, not Nagle; or a segment already on its way
		}
		stall := y.Time - x.Time
		held := "them" // the held bytes
		if y.Len == 1 {
			held = "it"
		}
		p.report(Finding{
			txn:    p.v.transactionAt(w.dir, y.Frame),
			Frames: []uint64{x.Frame, a.Frame, y.Frame},
			Time:   y.Time,
			Cost:   stall,
			Message: fmt.Sprintf("%s side Nagle stall of %s: the %s held %s (frame %d) until the %s's "+
				"delayed ACK (frame %d, %s late) acknowledged the %s before %s (frame %d)",
				w.dir.Sender(), ms(stall), w.dir.Sender(), byteCount(y.Len), y.Frame, w.dir.Reverse().Sender(), a.Frame,
				ms(w.ackDelay), byteCount(x.Len), held, x.Frame),
			Related: ackWaitRelated(x, a, y),
			Vantage: p.v.vantageNote(),
		})
	}
}

// releasedByACK reports whether the held segment Y left late enough to
// answer the ACK. An ACK seen at the capture point needs the round trip
// between there and the sender before anything it releases can pass the
// capture point; findAckWaits bounds that time from above only. A Y that
// follows in under half that round trip (less release-slack) was on its
// way before the ACK reached its sender: the sender was not waiting for
// the ACK (an application-limited sender whose next write crossed it).
// Where the handshake was not seen the round trip is unknown (zero) and
// nothing is ruled out.
func releasedByACK(p *connPass, w ackWait) bool {
	segs := p.c.Segments
	back := p.v.leg[w.dir.Reverse()]
	return segs[w.y].Time-segs[w.a].Time >= back/2-p.dur("release-slack")
}

func ackWaitRelated(x, a, y *reassembly.SegmentRecord) []Related {
	return []Related{
		{Frame: x.Frame, Time: x.Time, Message: "segment sent before the wait"},
		{Frame: a.Frame, Time: a.Time, Message: "late pure ACK that released the sender"},
		{Frame: y.Frame, Time: y.Time, Message: "held segment"},
	}
}
