package diagnose

import (
	"cmp"
	"slices"
	"sort"

	"github.com/connscope/connscope/capture"
	"github.com/connscope/connscope/httpflow"
	"github.com/connscope/connscope/reassembly"
)

// connView is computed once per connection and shared by every
// connection-scope rule: timing legs, segment sizes and lookups.
type connView struct {
	// connValues describes the connection; resetConnView zeroes it in one
	// store, while the lookups' buffers keep their capacity.
	connValues
	lookupBuffers
	// ackDelayFloor is the shortest min-ack-delay of the rules built on
	// findAckWaits (0 in a view no Engine set up): a connection whose
	// segments span less has no delayed ACK (factLongSpan). It is the
	// Engine's, kept from one connection to the next.
	ackDelayFloor int64
}

// connValues is what a connView knows of its connection.
type connValues struct {
	c   *reassembly.Connection
	txs []*txnRec

	// leg[d] is the round trip, seen from the capture point, between data
	// sent in direction d and the receiver's answer to it: toward the
	// server for client-to-server data, toward the client otherwise.
	// legKnown is false when the handshake was not seen whole.
	leg      [2]int64
	legKnown bool
	// irtt is the whole initial round trip (both legs).
	irtt int64
	// mss and missed are built on first use (mssOf, missedIn): few
	// connections get as far as a rule that needs them, and both read
	// memory the scan below does not touch (the handshake's options, the
	// direction stats) or need more per segment than it does.
	mss         [2]uint32
	mssBuilt    bool
	missed      [2]bool
	missedBuilt bool

	// From the one pass over the segments, for rules to rule themselves
	// out before any work of their own: kinds is every segment's Kind
	// or-ed together; syns and synacks count SYN and SYN/ACK segments
	// (capture duplicates left out); firstTime and lastTime bound the
	// segments' times.
	kinds               reassembly.SegmentKind
	syns, synacks       int
	firstTime, lastTime int64
	// serverGap is the longest time between two successive new-data
	// segments from the server (0 with fewer than two): a response splits
	// into flights (responseFlights) only at a gap longer than half the
	// initial RTT.
	serverGap int64
	// closeFrame and closeTime are of the first FIN or RST segment, capture
	// duplicates and ignored RSTs left out (0, 0 when none was recorded):
	// what firstClose reads from the connection's direction stats, which the
	// summary would otherwise fetch from memory the scan did not touch.
	closeFrame uint64
	closeTime  int64
	// msgs is the same for the requests and responses.
	msgs messageFacts
	// facts sums up the above for the Engine's choice of rules to call
	// (Rule.onlyWith).
	facts connFacts

	// Whether the lookups below built their index (in lookupBuffers) for
	// this connection: the buffers are kept from one connection to the
	// next (an Engine diagnoses one connection at a time), so these flags,
	// not nil, say whether they describe this connection.
	byFrameBuilt   [2]bool
	originalsBuilt bool
	flightsBuilt   bool
	closesBuilt    bool
	newDataBuilt   [2]bool
	reset          *resetView // see viewReset
	resetDone      bool
}

// lookupBuffers are the indexes the connView's lookups build on first use
// (see the built flags in connValues).
type lookupBuffers struct {
	byFrame   [2][]msgRef
	originals [2][]int       // new-data segment indexes per direction, by sequence number
	ackWaits  []ackWaitScan  // findAckWaits results, by limits
	flights   []flightResult // by transaction index
	flightBuf []flight       // every response's flights, see responseFlights
	closes    []int
	newData   [2][]int32 // newData[d][i]: new-data segments of d among the first i
	// txBuf holds the pointers to the connection's records that are
	// connValues.txs.
	txBuf []*txnRec
}

// empty truncates every buffer, keeping its capacity.
func (b *lookupBuffers) empty() {
	b.byFrame[0], b.byFrame[1] = b.byFrame[0][:0], b.byFrame[1][:0]
	b.originals[0], b.originals[1] = b.originals[0][:0], b.originals[1][:0]
	b.ackWaits, b.flights, b.flightBuf, b.closes = b.ackWaits[:0], b.flights[:0], b.flightBuf[:0], b.closes[:0]
	b.newData[0], b.newData[1] = b.newData[0][:0], b.newData[1][:0]
}

// messageFacts says what any of a connection's requests and responses
// holds, from one pass over them, so that the rules that look at each
// message for something rare can skip a connection that has none of it.
type messageFacts struct {
	incomplete      bool // a message did not complete
	anomalies       bool // a message has an httpflow anomaly
	proxyConnection bool // a message has a Proxy-Connection header
	keepAliveHeader bool // a message has a Keep-Alive header
	// otherTokens: a Connection header lists a token besides close and
	// keep-alive.
	otherTokens bool
	// keepAliveToken: a Connection header lists keep-alive (CH1004 counts
	// a connection only then, see countKeepAlive).
	keepAliveToken bool
	// closeDelimited: a response's body ends with the connection.
	closeDelimited bool
	// pipelinedUnanswered: a pipelined request got no response.
	pipelinedUnanswered bool
}

func (f *messageFacts) add(m *msgRec) {
	f.incomplete = f.incomplete || !m.Complete
	f.anomalies = f.anomalies || len(m.Anomalies()) > 0
	f.proxyConnection = f.proxyConnection || m.HasProxyConnection
	f.keepAliveHeader = f.keepAliveHeader || m.KeepAlive() != ""
	for _, tok := range m.ConnectionTokens() {
		f.otherTokens = f.otherTokens || tok != "close" && tok != "keep-alive"
		f.keepAliveToken = f.keepAliveToken || tok == "keep-alive"
	}
}

// addTransaction adds t's messages and what only the pair tells.
func (f *messageFacts) addTransaction(t *txnRec) {
	if t.Request() != nil {
		f.add(t.Request())
		f.pipelinedUnanswered = f.pipelinedUnanswered || t.Pipelined && t.Response() == nil
	}
	if t.Response() != nil {
		f.add(t.Response())
		f.closeDelimited = f.closeDelimited || t.Response().Framing == httpflow.FramingCloseDelimited
	}
}

// connFacts are facts about a connection that a rule may need at least one
// of to find anything (Rule.onlyWith), from the connView's one pass.
type connFacts uint16

const (
	factRetransmitted        connFacts = 1 << iota // a segment is a retransmission of any kind
	factZeroWindow                                 // a segment announced a zero window
	factSYNRepeated                                // more than one SYN or SYN/ACK, or a SYN retransmission
	factReset                                      // a RST ended the connection or reassembly names who reset it
	factReused                                     // two or more transactions
	factIncompleteMessage                          // messageFacts.incomplete
	factAnomaly                                    // messageFacts.anomalies
	factProxyConnection                            // messageFacts.proxyConnection
	factKeepAliveHeader                            // messageFacts.keepAliveHeader
	factOtherConnectionToken                       // messageFacts.otherTokens
	factServerPause                                // the server's new data paused longer than half the initial RTT (serverGap)
	factCloseDelimited                             // messageFacts.closeDelimited
	factPipelinedUnanswered                        // messageFacts.pipelinedUnanswered
	factLongSpan                                   // the segments span ackDelayFloor or more (or overflowed): an ACK delay could fit
)

// connFactsOf sums up v's facts; v is filled but for facts.
func connFactsOf(v *connView) connFacts {
	var f connFacts
	set := func(fact connFacts, present bool) {
		if present {
			f |= fact
		}
	}
	c := v.c
	set(factRetransmitted, v.kinds&(reassembly.KindRetransmission|reassembly.KindFastRetransmission|reassembly.KindSpuriousRetrans) != 0)
	set(factZeroWindow, v.kinds&reassembly.KindZeroWindow != 0)
	set(factSYNRepeated, v.syns > 1 || v.synacks > 1 || c.Handshake.SYNRetransmissions != 0)
	set(factReset, c.Close == reassembly.CloseRST || c.RSTBy != reassembly.RoleNone)
	set(factReused, len(v.txs) >= 2)
	set(factIncompleteMessage, v.msgs.incomplete)
	set(factAnomaly, v.msgs.anomalies)
	set(factProxyConnection, v.msgs.proxyConnection)
	set(factKeepAliveHeader, v.msgs.keepAliveHeader)
	set(factOtherConnectionToken, v.msgs.otherTokens)
	set(factServerPause, v.legKnown && v.irtt > 0 && v.serverGap > v.irtt/2)
	set(factCloseDelimited, v.msgs.closeDelimited)
	set(factPipelinedUnanswered, v.msgs.pipelinedUnanswered)
	span := v.lastTime - v.firstTime
	set(factLongSpan, span < 0 || span >= v.ackDelayFloor)
	return f
}

// newConnView builds a view of one connection. Engine.Connection uses
// resetConnView instead, which reuses the buffers of the previous one.
func newConnView(ci *ConnInfo) *connView {
	v := &connView{}
	l := &TxnLog{}
	for _, t := range ci.Transactions {
		l.appendRec(t)
	}
	v.resetConnView(ci.Conn, l)
	return v
}

// resetConnView makes v the view of c with the transactions of l, keeping
// the capacity of every buffer the lookups fill.
func (v *connView) resetConnView(c *reassembly.Connection, l *TxnLog) {
	txs := l.records(v.txBuf[:0])
	v.txBuf = txs
	v.connValues = connValues{c: c, txs: txs}
	v.lookupBuffers.empty()
	if toServer, toClient, ok := handshakeLegs(&c.Handshake); ok {
		v.leg[reassembly.ClientToServer], v.leg[reassembly.ServerToClient] = toServer, toClient
		v.legKnown = true
		v.irtt = toServer + toClient
	}
	serverDataSeen, serverDataTime := false, int64(0)
	// The time bounds are kept in locals and stored once: through v they
	// were loaded and stored again for every segment.
	var firstTime, lastTime int64
	if len(c.Segments) > 0 {
		firstTime, lastTime = c.Segments[0].Time, c.Segments[0].Time
	}
	for i := range c.Segments {
		s := &c.Segments[i]
		v.kinds |= s.Kind
		firstTime, lastTime = min(firstTime, s.Time), max(lastTime, s.Time)
		f := flagsOf(s)
		if closes(s) && (v.closeFrame == 0 || s.Frame < v.closeFrame) {
			v.closeFrame, v.closeTime = s.Frame, s.Time
		}
		if f.Has(capture.FlagSYN) && s.Kind&reassembly.KindCaptureDuplicate == 0 {
			if f.Has(capture.FlagACK) {
				v.synacks++
			} else {
				v.syns++
			}
		}
		if s.Dir == reassembly.ServerToClient && isNewData(s) {
			if serverDataSeen {
				v.serverGap = max(v.serverGap, s.Time-serverDataTime)
			}
			serverDataSeen, serverDataTime = true, s.Time
		}
	}
	v.firstTime, v.lastTime = firstTime, lastTime
	for _, t := range v.txs {
		v.msgs.addTransaction(t)
	}
	v.facts = connFactsOf(v)
}

// mssOf returns the payload of a full-sized segment in direction d: the
// receiver's announced MSS less the 12 bytes the timestamp option takes
// from every segment when both sides use it, or the largest payload seen
// when no MSS was announced.
func (v *connView) mssOf(d reassembly.Direction) uint32 {
	if !v.mssBuilt {
		v.mssBuilt = true
		h := &v.c.Handshake
		v.mss[reassembly.ClientToServer] = uint32(h.ServerMSS)
		v.mss[reassembly.ServerToClient] = uint32(h.ClientMSS)
		var largest [2]uint32
		if v.mss[0] == 0 || v.mss[1] == 0 {
			for i := range v.c.Segments {
				if s := &v.c.Segments[i]; s.Dir <= reassembly.ServerToClient {
					largest[s.Dir] = max(largest[s.Dir], s.Len)
				}
			}
		}
		for d := range v.mss {
			if h.Timestamps && v.mss[d] > timestampOptionBytes {
				v.mss[d] -= timestampOptionBytes
			}
			if v.mss[d] == 0 {
				v.mss[d] = largest[d]
			}
		}
	}
	return v.mss[d]
}

// missedIn reports whether the capture did not see all of direction d's
// bytes: reassembly counted lost bytes, or the peer acknowledged sequence
// numbers the capture never saw. Rules that conclude from the absence of a
// response stay quiet when the server's side was missed.
func (v *connView) missedIn(d reassembly.Direction) bool {
	if !v.missedBuilt {
		v.missedBuilt = true
		var sentEnd, acked [2]uint32
		var sentSeen, ackSeen [2]bool
		for i := range v.c.Segments {
			s := &v.c.Segments[i]
			if s.Dir > reassembly.ServerToClient {
				continue
			}
			f := flagsOf(s)
			end := seqEnd(s)
			if f&(capture.FlagSYN|capture.FlagFIN) != 0 {
				end++
			}
			if !sentSeen[s.Dir] || seqGE(end, sentEnd[s.Dir]) {
				sentEnd[s.Dir], sentSeen[s.Dir] = end, true
			}
			if r := s.Dir.Reverse(); f.Has(capture.FlagACK) && (!ackSeen[r] || seqGE(s.Ack, acked[r])) {
				acked[r], ackSeen[r] = s.Ack, true
			}
		}
		c := v.c
		for d := range v.missed {
			v.missed[d] = c.Dir[d].LostBytes > 0 || c.Dir[d].LostSegments > 0 ||
				ackSeen[d] && (!sentSeen[d] || !seqGE(sentEnd[d], acked[d]))
		}
	}
	return v.missed[d]
}

// timestampOptionBytes is what the TCP timestamp option (RFC 7323) takes
// from each segment's payload room, padding included.
const timestampOptionBytes = 12

// finRST matches segments that close a connection.
const finRST = capture.FlagFIN | capture.FlagRST

func flagsOf(s *reassembly.SegmentRecord) capture.TCPFlags { return capture.TCPFlags(s.Flags) }

// closes reports whether s is a FIN or a RST that counts as a close: not a
// capture duplicate, and not a RST the connection outlived (reassembly's
// KindIgnoredRST: the peer dropped it and the connection went on).
func closes(s *reassembly.SegmentRecord) bool {
	return flagsOf(s)&finRST != 0 && s.Kind&(reassembly.KindCaptureDuplicate|reassembly.KindIgnoredRST) == 0
}

// isNewData reports whether s carries payload sent for the first time.
func isNewData(s *reassembly.SegmentRecord) bool {
	return s.Len > 0 && s.Kind&(reassembly.KindRetransmission|reassembly.KindFastRetransmission|
		reassembly.KindSpuriousRetrans|reassembly.KindCaptureDuplicate|reassembly.KindKeepAlive|
		reassembly.KindZeroWindowProbe) == 0
}

// isPureACK reports whether s is an acknowledgment with nothing else in it.
func isPureACK(s *reassembly.SegmentRecord) bool {
	f := flagsOf(s)
	return s.Len == 0 && f.Has(capture.FlagACK) &&
		f&(capture.FlagSYN|capture.FlagFIN|capture.FlagRST) == 0 &&
		s.Kind&reassembly.KindCaptureDuplicate == 0
}

// seqEnd is the relative sequence number just past s's payload.
func seqEnd(s *reassembly.SegmentRecord) uint32 { return s.Seq + s.Len }

// seqGE compares relative sequence numbers wrap-safely (RFC 1982 serial
// arithmetic): a is at or after b.
func seqGE(a, b uint32) bool { return int32(a-b) >= 0 }

// segmentAt returns the index of the segment carried by frame, or -1.
func (v *connView) segmentAt(frame uint64) int {
	segs := v.c.Segments
	i := sort.Search(len(segs), func(i int) bool { return segs[i].Frame >= frame })
	if i < len(segs) && segs[i].Frame == frame {
		return i
	}
	return -1
}

// message returns the transaction's message travelling in direction d.
func message(t *txnRec, d reassembly.Direction) *msgRec {
	if d == reassembly.ClientToServer {
		return t.Request()
	}
	return t.Response()
}

// msgRef locates one message of a transaction by its first frame.
type msgRef struct {
	frame uint64
	tx    *txnRec
}

// messagesByFrame returns direction d's messages ordered by first frame,
// built on first use.
func (v *connView) messagesByFrame(d reassembly.Direction) []msgRef {
	if !v.byFrameBuilt[d] {
		refs := v.byFrame[d][:0]
		for _, t := range v.txs {
			if m := message(t, d); m != nil && m.FirstFrame != 0 {
				refs = append(refs, msgRef{m.FirstFrame, t})
			}
		}
		slices.SortStableFunc(refs, func(a, b msgRef) int { return cmp.Compare(a.frame, b.frame) })
		v.byFrame[d], v.byFrameBuilt[d] = refs, true
	}
	return v.byFrame[d]
}

// transactionAt returns the transaction whose message in direction d was
// being sent at frame: the last one whose message started at or before it.
// Server-to-client data before any response belongs to the request
// waiting for one. It returns nil before the first message.
func (v *connView) transactionAt(d reassembly.Direction, frame uint64) *txnRec {
	refs := v.messagesByFrame(d)
	if i := sortSearchLast(len(refs), func(i int) bool { return refs[i].frame <= frame }); i >= 0 {
		return refs[i].tx
	}
	if d == reassembly.ServerToClient {
		return v.transactionAt(reassembly.ClientToServer, frame)
	}
	return nil
}

// originalsBySeq returns each direction's new-data segments (indexes)
// sorted by sequence number, for finding a retransmission's first
// transmission.
func (v *connView) originalsBySeq() [2][]int {
	if !v.originalsBuilt {
		segs := v.c.Segments
		o := &v.originals
		for i := range segs {
			if isNewData(&segs[i]) && segs[i].Dir <= reassembly.ServerToClient {
				o[segs[i].Dir] = append(o[segs[i].Dir], i)
			}
		}
		for d := range o {
			slices.SortStableFunc(o[d], func(a, b int) int { return cmp.Compare(segs[a].Seq, segs[b].Seq) })
		}
		v.originalsBuilt = true
	}
	return v.originals
}

// closeAfter returns the first FIN or RST of either side at or after
// capture time at (0, 0 when none), ignored RSTs left out.
func (v *connView) closeAfter(at int64) (uint64, int64) {
	if !v.closesBuilt {
		v.closesBuilt = true
		for i := range v.c.Segments {
			s := &v.c.Segments[i]
			if closes(s) {
				v.closes = append(v.closes, i)
			}
		}
	}
	segs := v.c.Segments
	for _, i := range v.closes {
		if segs[i].Time >= at {
			return segs[i].Frame, segs[i].Time
		}
	}
	return 0, 0
}

// retransmitted reports whether the segment carried by frame is a
// retransmission (its first transmission was lost or not captured).
func (v *connView) retransmitted(frame uint64) bool {
	i := v.segmentAt(frame)
	return i >= 0 && v.c.Segments[i].Kind&(reassembly.KindRetransmission|reassembly.KindFastRetransmission) != 0
}

// timingTrusted reports whether the capture saw every byte of the
// connection, so that httpflow's message times, and the pipelining and
// idle gaps derived from them, describe what the endpoints did. When bytes
// were missed, a message may seem to end late or a request to start early.
func (v *connView) timingTrusted() bool {
	return !v.missedIn(reassembly.ClientToServer) && !v.missedIn(reassembly.ServerToClient)
}

// sentData reports whether direction d carried new payload in a frame after
// from and before until, from prefix counts built on first use.
func (v *connView) sentData(d reassembly.Direction, from, until uint64) bool {
	segs := v.c.Segments
	if !v.newDataBuilt[d] {
		counts := slices.Grow(v.newData[d][:0], len(segs)+1)[:len(segs)+1]
		counts[0] = 0
		for i := range segs {
			counts[i+1] = counts[i]
			if segs[i].Dir == d && isNewData(&segs[i]) {
				counts[i+1]++
			}
		}
		v.newData[d], v.newDataBuilt[d] = counts, true
	}
	lo := sort.Search(len(segs), func(i int) bool { return segs[i].Frame > from })
	hi := sort.Search(len(segs), func(i int) bool { return segs[i].Frame >= until })
	return hi > lo && v.newData[d][hi] > v.newData[d][lo]
}

// vantageNote returns a note for findings whose timing depends on where the
// capture was taken, or "" when the handshake placed it.
func (v *connView) vantageNote() string {
	if v.legKnown {
		return ""
	}
	return "handshake not seen whole: round-trip times unknown, so timing is measured at the capture point only"
}
