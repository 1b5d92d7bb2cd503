// Package reassembly rebuilds TCP connections from decoded segments: it
// finds where each connection starts and ends, classifies every segment the
// way Wireshark's TCP analysis does, summarises the handshake and the close,
// and delivers each direction's bytes in order to a consumer (httpflow).
//
// # Using it
//
// Feed segments in capture order and flush at the end:
//
//	a := reassembly.NewAssembler(reassembly.Config{}, handler)
//	for each decoded segment s { a.Add(&s) }
//	a.Flush()
//
// handler.Opened is called when a connection is first seen and may return a
// StreamConsumer for its bytes; handler.Closed is called exactly once per
// connection, after End on both directions, when the connection is finished
// and released. Until Closed the Assembler owns the *Connection; its State
// and History are final only then.
//
// # Connections and the 4-tuple
//
// A connection is keyed by its 4-tuple (addresses and ports of both ends) in
// a symmetric key: A→B and B→A find the same entry. The VLAN tag is recorded
// (Connection.VLAN, from the first frame) but is not part of the key, since
// some capture setups tag only one direction. A 4-tuple is reused when a SYN
// arrives with an initial sequence number (ISN) different from the current
// connection's: after both FINs, after a RST, after the old connection went
// idle and was expired, or even while it still looked open (its close was
// not captured; the old one then ends with EndReused). That SYN starts a new
// Connection with ReusedTuple, PreviousID and PreviousEnd set. A SYN with the
// same ISN is a retransmitted SYN, not a new connection. Released tuples are
// remembered for Config.ReuseMemory (4 minutes, twice the usual MSL) so a
// reuse is recognised even after the old connection was handed off.
//
// The SYN sender is the client. When the capture starts after the handshake
// the roles are inferred and RolesInferred is set: the SYN/ACK sender is the
// server; else the client of the last connection on the same tuple; else an
// endpoint already seen answering a handshake is the server; else a
// well-known HTTP port (80, 443, 8080, ...), then a port below 1024, is the
// server; else the first sender is the client.
//
// # Sequence space
//
// Sequence numbers live on a circle of 2^32 values; Seq compares them
// wrap-safely (a comes before b when int32(a-b) < 0), so a connection may
// start near 2^32 or carry more than 4 GiB. The SYN and the FIN each occupy
// one number. Relative numbers, as Wireshark shows them, count from the ISN
// (the SYN is 0, the first data byte 1); a direction whose SYN was not seen
// counts from one before its first known number. Stream offsets (Span.Offset)
// count delivered bytes from 0.
//
// Per direction the Assembler tracks what Wireshark calls nextseq (one past
// the highest number sent), the last acknowledgment and window the sender
// advertised, and its duplicate-ACK run. Windows are scaled only when both
// SYNs carried the window-scale option.
//
// # What each classification means on the wire
//
// Every segment gets a compact SegmentRecord with a SegmentKind, following
// tcp_analyze_sequence_number in Wireshark's packet-tcp.c in its order:
//
//   - zero window probe: one byte at nextseq while the peer advertises a zero
//     window (the sender asks whether the window opened);
//   - zero window: the sender advertises a window of 0: its receive buffer is
//     full, its application is not reading;
//   - previous segment not captured: the segment starts beyond nextseq, so
//     bytes before it were lost before the capture point or not captured;
//   - keep-alive: zero or one byte at nextseq-1, sent by an idle side to make
//     the peer answer (its answer is not a duplicate ACK);
//   - window update: a pure ACK that only changes the window;
//   - window full: the segment ends exactly at the edge of the peer's
//     advertised window: the sender must now wait;
//   - duplicate ACK: a pure ACK repeating the previous ACK number and a
//     non-zero window: the receiver saw a segment beyond a hole;
//   - fast retransmission: data resent at the peer's duplicated ACK number
//     after at least two duplicate ACKs, within 20 ms of the last one;
//   - spurious retransmission: data resent although the peer had already
//     acknowledged all of it (the timer fired too early, or an ACK was lost);
//   - out-of-order: fills a hole below nextseq within the initial RTT (3 ms
//     when unknown) of the highest segment: reordered, not resent;
//   - retransmission: any other segment that does not advance nextseq.
//
// Fast and spurious retransmissions carry KindRetransmission too, as in
// tshark's tcp.analysis.retransmission. A capture duplicate is different:
// the same frame recorded twice by the capture (same IP ID, TCP checksum,
// sequence and acknowledgment numbers, length, window and flags, within 10
// ms; within 200 µs when the IP ID is 0). It never crossed the wire twice, so
// it is not a retransmission and its bytes are not counted (tshark calls it a
// retransmission; we disagree on purpose).
//
// # Handshake and close
//
// Handshake records the SYN, SYN/ACK and completing ACK (the last
// transmission of each), the initial RTT seen from the capture point (ACK
// time minus SYN time), MSS, window scale, SACK and timestamp options, SYN
// and SYN/ACK retransmissions, and data carried in the SYN (TCP Fast Open),
// which is delivered as the stream's first bytes.
//
// Close records each side's first FIN and RST, who closed first, half close
// (one side sent FIN and the other kept sending new data), who reset, and
// RSTWithUnreadData: the RST sender had been sent data it had not
// acknowledged when it reset, not even in the RST's own ACK, the signature
// of an application closing a socket with unread data (the kernel answers
// with RST instead of FIN, and the peer may lose what it had not read).
//
// Not every RST ends a connection: the receiver drops one whose TCP-MD5 or
// TCP-AO signature does not verify (RFC 2385, 5925), or whose sequence
// number is outside the window or not exactly the next expected one (RFC
// 5961: it answers with a challenge ACK), which is what RST injection and
// IDS evasion tests look like. The capture shows the receiver's decision
// only in what follows, so a RST's End waits for the connection's next
// segments. When the RST's sender goes on in the same sequence space (new
// bytes in sequence, or its FIN, at or past the RST's number, with no SYN
// and no RST) the RST was ignored: its record carries KindIgnoredRST,
// Connection.IgnoredRSTs counts it, it is left out of Close, ClosedFirstBy,
// RSTBy, RSTWithUnreadData, RSTFrame and the Zeek state (History keeps its
// letter: the packet was there), and both streams go on. Pure ACKs (the
// challenge ACK) and bytes already delivered leave it undecided; anything
// else, or the connection's end, delivers End(EndRST) at the RST's frame, as
// if it had never been held. New data from the RST's receiver does not
// count: it may have crossed the RST on the wire (rst.go has the details).
//
// State and History use Zeek's vocabulary (scripts/base/protocols/conn/
// main.zeek): State is conn_state (S0 attempt unanswered, S1 established
// and open, SF normal close, REJ rejected, RSTO/RSTR reset by
// originator/responder, S2/S3 one side closed, SH/SHR half-open, RSTOS0,
// RSTRH, OTH), computed from Zeek-style endpoint states with the client as
// originator. History has one letter per event kind and direction, upper
// case for the client: s SYN, h SYN/ACK, a pure ACK, d data, f FIN, r RST,
// q SYN with FIN or RST, i FIN with RST; t (retransmitted data), w (zero
// window) and g (gap) repeat at counts 1, 10, 100, ...; a leading ^ means
// the roles were inferred and the first packet came from the server.
//
// # Delivery
//
// Per direction, bytes reach StreamConsumer.Data in sequence order, each
// call with the frame and capture time of the segment that carried them.
// A retransmission that overlaps delivered bytes delivers only the new ones.
// A segment beyond a hole is buffered until the hole fills; a hole that will
// not fill is reported with Gap(size) and delivery continues after it: when
// the peer acknowledges past it (the receiver got bytes the capture missed),
// when the direction's buffer exceeds Config.MaxBufferedBytes, or when the
// stream ends. A snaplen-cut segment (len(Payload) < PayloadLength) delivers
// its captured part, then a Gap for the rest. Calls for one connection come
// in capture order across both directions. End comes once per direction:
// EndFIN when every byte before the FIN was delivered, EndRST at a RST
// (with the RST's frame and time, delivered once the segments after it
// showed it was not ignored: see Handshake and close), EndOfCapture from
// Flush, EndIdleExpired, EndEvicted, EndReused.
//
// # Lifetime and the memory bound
//
// A connection is released (Closed, then forgotten) when its teardown is
// done: 250 ms of capture time after both FINs were acknowledged, or
// Config.CloseLinger (5 s) after a RST or after both FINs without their
// ACKs, so late packets of the teardown still land in it. An open connection
// with no packet for Config.IdleTimeout (10 minutes) of capture time is
// expired. Beyond Config.MaxConnections the idlest connection is evicted.
// Only capture time is used, never the wall clock: runs are deterministic.
// Capture time moves with segments; a live capture whose interface has gone
// quiet moves it on with Assembler.Advance (its source's clock, never
// backwards), so a connection that closed is released after its linger
// rather than at the next unrelated packet. Capture files never Advance.
//
// Memory therefore grows with the connections open at once, never with the
// file. Each open connection costs about 2.4 KiB (its state, its table
// entry and room for its first 16 SegmentRecords, measured) plus 40 bytes
// per further kept SegmentRecord (at most Config.MaxSegmentsPerConn, 65536
// by default: 2.5 MiB for a very long connection; beyond it the oldest
// records are released and counted in SegmentsDropped) plus the
// out-of-order bytes it buffers (at most Config.MaxBufferedBytes, 4 MiB, per
// direction, and only when a consumer wants the bytes). Remembered tuples
// cost about 80 bytes each, at most Config.MaxRemembered (32768): 2.6 MiB.
// With Config.RecycleSegments the arrays of closed connections, and those
// a connection outgrew, are kept for later ones, up to 8 MiB. So the bound
// is roughly
//
//	open connections × (2.4 KiB + 40 B × kept segments beyond 16 + buffered bytes) + 2.6 MiB (+ 8 MiB)
//
// For example 10 000 open short connections take about 24 MiB.
package reassembly
