package reassembly

import (
	"net/netip"
)

// Direction says which way a segment or byte went.
type Direction uint8

const (
	ClientToServer Direction = 0
	ServerToClient Direction = 1
)

// Reverse returns the other direction.
func (d Direction) Reverse() Direction { return d ^ 1 }

func (d Direction) String() string {
	if d == ClientToServer {
		return "client_to_server"
	}
	return "server_to_client"
}

// Role names an endpoint of a connection.
type Role uint8

const (
	RoleNone Role = iota
	RoleClient
	RoleServer
)

func (r Role) String() string {
	switch r {
	case RoleClient:
		return "client"
	case RoleServer:
		return "server"
	}
	return ""
}

// Sender returns the role that sends in direction d.
func (d Direction) Sender() Role {
	if d == ClientToServer {
		return RoleClient
	}
	return RoleServer
}

// SegmentKind is a bit set classifying one segment, in the vocabulary of
// Wireshark's tcp.analysis flags.
type SegmentKind uint16

const (
	KindRetransmission      SegmentKind = 1 << iota // data already sent, sent again after a timeout
	KindFastRetransmission                          // retransmission after >= 3 duplicate ACKs (or SACK)
	KindSpuriousRetrans                             // retransmission of data the peer had already acknowledged
	KindOutOfOrder                                  // fills a hole below the highest sequence seen, soon after it
	KindPreviousNotCaptured                         // starts beyond the next expected byte: a gap before it
	KindDuplicateAck                                // pure ACK repeating the previous ACK with the same window
	KindZeroWindow                                  // advertises a zero receive window
	KindZeroWindowProbe                             // one byte sent into a zero window
	KindWindowFull                                  // fills the peer's advertised window exactly
	KindKeepAlive                                   // TCP keep-alive: one byte (or none) at next-1
	KindCaptureDuplicate                            // the capture recorded the same frame twice (same IP ID and bytes)
	KindWindowUpdate                                // pure ACK that only opens the window
	// KindIgnoredRST marks a RST the connection outlived: its sender went on
	// in the same sequence space after it, so the peer ignored it (a bad
	// TCP-MD5/TCP-AO option, an out-of-window or inexact sequence number,
	// an injected RST). It did not close the connection. Not a Wireshark
	// flag.
	KindIgnoredRST
)

// SegmentRecord is the compact record kept for every segment of a
// connection: enough to draw it on a timeline and to cite it as evidence.
// Sequence and acknowledgment numbers are relative to each direction's ISN
// (the SYN counts as one), as Wireshark shows them.
type SegmentRecord struct {
	Time   int64  // capture time, ns since the Unix epoch
	Frame  uint64 // 1-based frame number
	Seq    uint32 // relative sequence number of the first payload byte
	Ack    uint32 // relative acknowledgment number (0 when ACK is not set)
	Len    uint32 // payload length on the wire
	Window uint32 // receive window, scaled when scaling was negotiated
	Flags  uint8  // capture.TCPFlags
	Dir    Direction
	Kind   SegmentKind
}

// Handshake describes how the connection was opened.
type Handshake struct {
	// Frames of the SYN, SYN/ACK and the ACK that completed the handshake
	// (0 when not seen). SYN and SYNACK name the last (re)transmission.
	SYNFrame, SYNACKFrame, ACKFrame uint64
	SYNTime, SYNACKTime, ACKTime    int64
	// FirstSYNTime is the time of the first SYN transmission.
	FirstSYNTime int64
	// SYNRetransmissions counts repeated SYNs (each costs the client 1 s, then 2 s, ... on Linux).
	SYNRetransmissions    int
	SYNACKRetransmissions int
	// IRTT is the initial round-trip time seen from the capture point:
	// ACK time minus SYN time (0 when the handshake was not seen whole).
	IRTT int64
	// Options each side announced in its SYN.
	ClientMSS, ServerMSS                 uint16
	ClientWindowScale, ServerWindowScale int8 // -1 when absent
	SACKPermitted                        bool // both sides offered SACK
	Timestamps                           bool // both sides offered timestamps
	// FastOpenData is true when the SYN carried data (TCP Fast Open).
	FastOpenData bool
}

// CloseKind is how a connection ended.
type CloseKind uint8

const (
	CloseOpen CloseKind = iota // still open when the capture ended (or expired idle)
	CloseFIN                   // at least one FIN and no RST
	CloseRST                   // a RST ended it
)

func (c CloseKind) String() string {
	switch c {
	case CloseFIN:
		return "fin"
	case CloseRST:
		return "rst"
	}
	return "open"
}

// DirectionStats counts what one direction carried.
type DirectionStats struct {
	Packets int64
	// Bytes is the TCP payload on the wire, retransmissions included (the
	// sum of tshark's tcp.len over the direction's frames, capture
	// duplicates excluded); UniqueBytes counts each sequence number once.
	Bytes       int64
	UniqueBytes int64
	// ISN is the initial sequence number (absolute).
	ISN uint32

	Retransmissions     int // all retransmissions, fast and spurious included
	FastRetransmissions int
	SpuriousRetrans     int
	OutOfOrder          int
	LostSegments        int   // times a segment started beyond the next expected byte
	LostBytes           int64 // bytes never captured in this direction
	DuplicateAcks       int
	ZeroWindows         int
	ZeroWindowProbes    int
	WindowFull          int
	KeepAlives          int
	CaptureDuplicates   int
	// CaptureDuplicateBytes is the payload the capture duplicates carried:
	// tshark counts it in tcp.len, connscope does not (it never crossed the
	// wire twice).
	CaptureDuplicateBytes int64
	// Gaps counts the holes reported with StreamConsumer.Gap (lost before the
	// capture point, given up for the buffer bound, or cut by the snap
	// length); SnapCutBytes is the part of LostBytes that the capture's snap
	// length cut from frames that were captured.
	Gaps         int
	SnapCutBytes int64

	// FINFrame / FINTime of the first FIN sent in this direction (0 if none).
	FINFrame uint64
	FINTime  int64
	// RSTFrame / RSTTime of the first RST sent in this direction (0 if none).
	RSTFrame uint64
	RSTTime  int64
}

// Connection is one TCP connection: a 4-tuple from SYN (or first sight) to
// close. A reused 4-tuple starts a new Connection.
//
// A Connection is owned by the Assembler until Handler.Closed returns;
// after that the Assembler no longer touches it.
type Connection struct {
	// ID numbers connections 1, 2, 3, ... in the order their first frame
	// appears in the capture.
	ID int
	// Client is the endpoint that sent the first SYN; when the capture
	// started after the handshake the roles are guessed and RolesInferred
	// is set (lower port... see reassembly docs).
	Client, Server netip.AddrPort
	RolesInferred  bool
	VLAN           uint16

	FirstFrame, LastFrame uint64
	Start, End            int64 // capture times of the first and last frame

	Handshake Handshake
	Dir       [2]DirectionStats // indexed by Direction

	Close         CloseKind
	ClosedFirstBy Role // the side that sent the first FIN or RST
	RSTBy         Role // the side that sent the first RST (RoleNone when none)
	// RSTWithUnreadData is set when the RST sender had received payload it
	// had not acknowledged, before the RST or in the RST's own ACK (data in
	// flight toward it), the signature of an application closing a socket
	// with unread data.
	RSTWithUnreadData bool
	HalfClosed        bool // one side sent FIN and the other kept sending data after it
	// IgnoredRSTs counts the RSTs the connection outlived (their records
	// carry KindIgnoredRST): the RST's sender went on after it with new
	// bytes or its FIN, so the peer had dropped it. They count in neither
	// Close, ClosedFirstBy, RSTBy nor the direction's RSTFrame, which
	// describe the RST that ended the connection, if one did.
	IgnoredRSTs int

	// State and History summarise the connection in Zeek's vocabulary
	// (conn_state S0, S1, SF, REJ, RSTO, RSTR, OTH, ...; history letters
	// ShADadFfRr with uppercase for the originator).
	State   string
	History string

	// Segments holds the compact record of every segment, in capture order,
	// up to the Assembler's per-connection cap; SegmentsDropped counts those
	// beyond it (the oldest are released first).
	Segments        []SegmentRecord
	SegmentsDropped int

	// ReusedTuple is set when this connection's 4-tuple was used by an
	// earlier connection in the capture; PreviousID names it and
	// PreviousEnd is when it ended.
	ReusedTuple bool
	PreviousID  int
	PreviousEnd int64
}

// Span locates bytes in the capture: the frame that carried them and its time.
type Span struct {
	Frame uint64
	Time  int64
	// Offset is the stream offset of the first byte: 0 is the first byte
	// after the SYN.
	Offset int64
}

// EndReason says why a direction's byte stream ended.
type EndReason uint8

const (
	EndFIN         EndReason = iota + 1 // the sender closed its side
	EndRST                              // a RST (from either side) ended the connection (one not ignored: see KindIgnoredRST)
	EndOfCapture                        // the capture ended while the stream was open
	EndIdleExpired                      // the connection was idle past the expiry timeout
	// EndEvicted: the Assembler's MaxConnections cap was reached and this
	// was the idlest connection (added for Config.MaxConnections).
	EndEvicted
	// EndReused: a SYN with a new ISN took over the 4-tuple before this
	// connection was seen to finish (its close was not captured).
	EndReused
)

func (e EndReason) String() string {
	switch e {
	case EndFIN:
		return "fin"
	case EndRST:
		return "rst"
	case EndOfCapture:
		return "end_of_capture"
	case EndIdleExpired:
		return "idle_expired"
	case EndEvicted:
		return "evicted"
	case EndReused:
		return "reused"
	}
	return "unknown"
}

// StreamConsumer receives one connection's byte streams, each direction in
// sequence order. Calls for one connection come in capture order across both
// directions (so a consumer sees a request before the response that answers
// it, as the capture saw them).
type StreamConsumer interface {
	// Data delivers new in-order bytes of direction d, carried by the frame in
	// at. data aliases a buffer that is reused after the call returns.
	Data(d Direction, data []byte, at Span)
	// Gap reports size bytes of direction d that were never captured (lost
	// before the capture point, or cut by the snap length). The stream
	// continues after them.
	Gap(d Direction, size int64, at Span)
	// End reports that direction d will deliver nothing more.
	End(d Direction, reason EndReason, at Span)
}

// Handler is told about connections as they open and close.
type Handler interface {
	// Opened is called when a connection is first seen. It may return a
	// StreamConsumer for the connection's bytes, or nil to ignore them.
	Opened(c *Connection) StreamConsumer
	// Closed is called once per connection when it is finished (closed,
	// expired, or the capture ended), after End was delivered for both
	// directions. The Assembler releases the connection when Closed returns.
	Closed(c *Connection)
}
