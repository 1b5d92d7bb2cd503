package reassembly

import "github.com/connscope/connscope/capture"

// halfConn is everything the Assembler tracks about one direction of a
// connection: what its sender has sent (sequence space), what its sender has
// acknowledged of the other direction, its advertised window, and the
// in-order delivery of its bytes. Field names follow Wireshark's
// tcp_analyze_seq_info where they play the same part.
type halfConn struct {
	seen bool // the sender has sent at least one segment

	// base is the sequence number just before stream offset 0: the ISN when
	// the SYN was seen, else one less than the first sequence number known
	// (from the sender's first segment or from the peer's first ACK).
	base      Seq
	baseKnown bool
	synSeen   bool // base is a real ISN

	// nextSeq is one past the highest sequence number sent (SYN and FIN
	// count one each): Wireshark's nextseq.
	nextSeq     Seq
	nextSeqSet  bool
	nextSeqTime int64
	// dataEnd is one past the highest payload byte sent (FIN excluded).
	dataEnd    Seq
	dataEndSet bool

	// lastAck is the highest acknowledgment number this sender has sent,
	// i.e. how far it has acknowledged the other direction.
	lastAck     Seq
	ackSet      bool
	lastAckTime int64
	dupAcks     int // consecutive duplicate ACKs sent
	// maxAck is the highest acknowledgment number sent (lastAck is the
	// latest, as Wireshark keeps it; they differ when ACKs are reordered).
	maxAck    Seq
	maxAckSet bool

	window    uint16 // last raw window field sent
	windowSet bool
	scaledWin uint32 // last window sent, in bytes
	winScale  int8   // shift announced in this sender's SYN, -1 when none
	sackOK    bool   // this sender's SYN offered SACK
	tsOK      bool   // this sender's SYN carried timestamps

	finSeen bool
	finSeq  Seq // sequence number of the FIN
	rstSeen bool

	lastWasKeepAlive bool

	// recent remembers this direction's last few segments to recognise
	// frames the capture recorded twice.
	recent    [dupRing]fingerprint
	recentPos int

	state   endpointState // Zeek endpoint state
	letters uint16        // history letters already recorded
	counts  [3]int        // retransmissions, zero windows, gaps (history thresholds)

	stream stream
}

// fingerprint is what makes two captured frames "the same frame": a hash
// of the IP ID, TCP checksum, sequence and acknowledgment numbers, payload
// length, window and flags, and the capture time.
type fingerprint struct {
	sum  uint64
	time int64
}

const (
	dupRing = 8
	// dupWindow bounds how far apart two identical frames may be to count as
	// one frame recorded twice. With a real IP ID a retransmission would
	// carry a new one, so the window can be generous; without one (IPv6, or
	// stacks that send ID 0 with DF) only near-simultaneous copies count.
	dupWindowWithID    = int64(10e6)  // 10 ms
	dupWindowWithoutID = int64(200e3) // 200 µs
)

func fingerprintOf(s *capture.Segment) fingerprint {
	// Two multiply-xorshift rounds over the identifying fields: cheap, and
	// a collision (2^-64) would only merge two frames already alike.
	x := uint64(s.Seq)<<32 | uint64(s.Ack)
	y := uint64(uint32(s.PayloadLength))<<32 | uint64(s.IPID)<<16 | uint64(s.TCPChecksum)
	z := uint64(s.Window)<<8 | uint64(s.Flags)
	h := (x ^ 0x9E3779B97F4A7C15) * 0xBF58476D1CE4E5B9
	h = (h ^ h>>31 ^ y) * 0x94D049BB133111EB
	h = (h ^ h>>29 ^ z) * 0xBF58476D1CE4E5B9
	h ^= h >> 32
	if h == 0 {
		h = 1 // 0 marks an empty slot
	}
	return fingerprint{sum: h, time: s.Time}
}

// isCaptureDuplicate reports whether f repeats a frame this direction
// recently carried, and remembers f otherwise. ipid is the frame's IP ID.
func (h *halfConn) isCaptureDuplicate(f fingerprint, ipid uint16) bool {
	window := dupWindowWithID
	if ipid == 0 {
		window = dupWindowWithoutID
	}
	for i := range h.recent {
		r := &h.recent[i]
		if r.sum != f.sum {
			continue
		}
		if d := f.time - r.time; d >= 0 && d <= window {
			return true
		}
	}
	h.recent[h.recentPos] = f
	h.recentPos = (h.recentPos + 1) % dupRing
	return false
}

// scaledWindow returns the window this sender advertises, in bytes.
// Scaling applies only when both SYNs carried the window scale option and
// never to a SYN's own window.
func (h *halfConn) scaled(raw uint16, peer *halfConn, syn bool) uint32 {
	if syn || h.winScale < 0 || peer.winScale < 0 {
		return uint32(raw)
	}
	return uint32(raw) << uint(min(h.winScale, 14))
}

// relative converts an absolute sequence number of this direction to the
// relative number Wireshark shows (0 for the ISN).
func (h *halfConn) relative(s Seq) uint32 {
	if !h.baseKnown {
		return uint32(s)
	}
	return uint32(s - h.base)
}
