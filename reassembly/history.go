package reassembly

import (
	"regexp"

	"github.com/connscope/connscope/capture"
)

// rstos0History is Zeek's test for RSTOS0: the originator sent a SYN and
// later a RST, with no handshake, ACK, FIN, gap or odd flags of its own.
var rstos0History = regexp.MustCompile(`^\^?S[^HAFGIQ]*R`)

// endpointState is one endpoint's TCP state as Zeek's TCP analyzer tracks it
// (TCP_INACTIVE, TCP_SYN_SENT, ...): the input of conn_state.
type endpointState uint8

const (
	epInactive    endpointState = iota // sent nothing yet
	epSynSent                          // sent a SYN
	epSynAckSent                       // sent a SYN/ACK
	epPartial                          // active, but its SYN was not seen
	epEstablished                      // handshake completed
	epClosed                           // sent a FIN
	epReset                            // sent a RST
)

// History letters, each recorded once per direction (upper case when the
// client sent it), in the order first seen. Zeek's set:
//
//	s  SYN without ACK            h  SYN+ACK
//	a  pure ACK                   d  packet with payload
//	f  FIN                        r  RST
//	t  retransmitted payload      w  zero window advertised
//	g  content gap                q  SYN together with FIN or RST
//	i  inconsistent (FIN and RST together)
//	^  roles were inferred and the first packet came from the server
//
// t, w and g are repeated each time their count reaches 1, 10, 100, ...
const historyLetters = "shadfrtwgqi"

func letterBit(l byte) uint16 {
	for i := 0; i < len(historyLetters); i++ {
		if historyLetters[i] == l {
			return 1 << i
		}
	}
	return 0
}

// Indexes into halfConn.counts for the repeated letters.
const (
	countRetrans = iota
	countZeroWindow
	countGap
)

// addLetter records letter l for direction d once.
func (c *conn) addLetter(d Direction, l byte) {
	h := &c.half[d]
	bit := letterBit(l)
	if h.letters&bit != 0 {
		return
	}
	h.letters |= bit
	c.appendLetter(d, l)
}

func (c *conn) appendLetter(d Direction, l byte) {
	if d == ClientToServer {
		l -= 'a' - 'A'
	}
	c.history = append(c.history, l)
}

// historyCount records a repeated letter at counts 1, 10, 100, ...
func (c *conn) historyCount(d Direction, which int, l byte) {
	h := &c.half[d]
	h.counts[which]++
	n := h.counts[which]
	for p := 1; p <= n; p *= 10 {
		if p == n {
			c.appendLetter(d, l)
			return
		}
	}
}

// updateHistory advances the endpoint states and the history string.
func (c *conn) updateHistory(s *capture.Segment, d Direction, seglen int, k SegmentKind) {
	h, r := &c.half[d], &c.half[d.Reverse()]
	syn, fin, rst, ack := s.Flags.Has(synFlags), s.Flags.Has(finFlags), s.Flags.Has(rstFlags), s.Flags.Has(ackFlags)
	// Zeek's update_history: a packet with several of SYN/FIN/RST is odd
	// ('q', or 'i' for FIN+RST); one with exactly one of them records that
	// flag only (a FIN carrying data records 'f', not 'd'); a plain packet
	// records 'd' with payload, else 'a' when it acknowledges.
	switch control := b2i(syn) + b2i(fin) + b2i(rst); {
	case control > 1 && fin && rst:
		c.addLetter(d, 'i')
	case control > 1:
		c.addLetter(d, 'q')
	case control == 1:
		switch {
		case syn && !ack:
			c.addLetter(d, 's')
		case syn:
			c.addLetter(d, 'h')
		case fin:
			c.addLetter(d, 'f')
		case rst:
			c.addLetter(d, 'r')
		}
	case seglen > 0:
		c.addLetter(d, 'd')
	case ack:
		c.addLetter(d, 'a')
	}
	if k&KindRetransmission != 0 && seglen > 0 {
		c.historyCount(d, countRetrans, 't')
	}
	if k&KindZeroWindow != 0 {
		c.historyCount(d, countZeroWindow, 'w')
	}

	// Endpoint states, as Zeek's TCP analyzer moves them.
	switch {
	case rst:
		h.state = epReset
	case fin:
		if h.state != epReset {
			h.state = epClosed
		}
	case syn && !ack:
		if h.state == epInactive {
			h.state = epSynSent
		}
	case syn:
		if h.state == epInactive || h.state == epPartial {
			h.state = epSynAckSent
		}
	default:
		switch h.state {
		case epInactive:
			h.state = epPartial
		case epSynSent:
			// The client's ACK completes the handshake once the server
			// answered (or at least spoke).
			if r.state != epInactive {
				h.state = epEstablished
				if r.state == epSynAckSent || r.state == epPartial {
					r.state = epEstablished
				}
			}
		case epSynAckSent:
			if r.state == epEstablished || r.state == epSynSent {
				h.state = epEstablished
			}
		}
	}
}

// connState computes Zeek's conn_state from the endpoint states (the
// client is Zeek's originator), following conn/main.zeek.
func (c *conn) connState() string {
	os, rs := c.half[ClientToServer].state, c.half[ServerToClient].state
	oInactive := os == epInactive || os == epPartial
	rInactive := rs == epInactive || rs == epPartial
	switch {
	case rs == epReset:
		if os == epSynSent || os == epSynAckSent ||
			(os == epReset && c.Dir[ClientToServer].Bytes == 0 && c.Dir[ServerToClient].Bytes == 0) {
			return "REJ"
		}
		if oInactive {
			return "RSTRH"
		}
		return "RSTR"
	case os == epReset:
		if rInactive {
			if rstos0History.Match(c.history) {
				return "RSTOS0"
			}
			return "OTH"
		}
		return "RSTO"
	case rs == epClosed && os == epClosed:
		return "SF"
	case os == epClosed:
		if rInactive {
			return "SH"
		}
		return "S2"
	case rs == epClosed:
		if oInactive {
			return "SHR"
		}
		return "S3"
	case os == epSynSent && rs == epInactive:
		return "S0"
	case os == epEstablished && rs == epEstablished:
		return "S1"
	}
	return "OTH"
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
