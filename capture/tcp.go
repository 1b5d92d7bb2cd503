package capture

import (
	"encoding/binary"
	"net/netip"
)

// The TCP header is read through a hand-written view rather than
// layers.TCP: gopacket refuses a header that the snap length cut inside its
// options (the segment is still worth having: sequence numbers, flags and
// window are there), and it allocates for Multipath TCP options.
//
//	0      2      4          8          12     13     14     16       18    20
//	| sport| dport| seq      | ack      |off<<4| flags| window| checksum| urg | options...
const (
	tcpMinHeaderLen = 20

	tcpOptEnd           = 0
	tcpOptNOP           = 1
	tcpOptMSS           = 2
	tcpOptWindowScale   = 3
	tcpOptSACKPermitted = 4
	tcpOptSACK          = 5
	tcpOptTimestamps    = 8

	// maxWindowScale is the largest shift RFC 7323 allows; larger values are
	// treated as 14, as the RFC says a receiver must.
	maxWindowScale = 14
)

// decodeTCP fills s from a TCP header and payload; s.Src and s.Dst hold the
// IP addresses, decodeTCP adds the ports. b is the captured part of
// the IP payload; wireLen is its length on the wire according to the IP
// header.
func decodeTCP(b []byte, wireLen int, s *Segment) SkipReason {
	if wireLen < tcpMinHeaderLen {
		return SkipMalformed
	}
	if len(b) < tcpMinHeaderLen {
		return SkipTruncated
	}
	hdrLen := int(b[12]>>4) * 4
	if hdrLen < tcpMinHeaderLen || hdrLen > wireLen {
		return SkipMalformed
	}
	s.Src = netip.AddrPortFrom(s.Src.Addr(), binary.BigEndian.Uint16(b[0:]))
	s.Dst = netip.AddrPortFrom(s.Dst.Addr(), binary.BigEndian.Uint16(b[2:]))
	s.Seq = binary.BigEndian.Uint32(b[4:])
	s.Ack = binary.BigEndian.Uint32(b[8:])
	s.Flags = TCPFlags(b[13])
	s.Window = binary.BigEndian.Uint16(b[14:])
	s.TCPChecksum = binary.BigEndian.Uint16(b[16:])
	s.Options = parseTCPOptions(b[tcpMinHeaderLen:min(hdrLen, len(b))])
	s.PayloadLength = wireLen - hdrLen
	if len(b) > hdrLen {
		s.Payload = b[hdrLen:min(len(b), wireLen)]
	} else {
		s.Payload = b[len(b):]
	}
	return SkipNone
}

// parseTCPOptions reads the options connection analysis uses. It stops at
// the end-of-options kind or at an option whose length does not fit, and
// ignores options of the wrong length, as receivers do.
func parseTCPOptions(b []byte) TCPOptions {
	o := TCPOptions{WindowScale: -1}
	for len(b) > 0 {
		kind := b[0]
		if kind == tcpOptEnd {
			break
		}
		if kind == tcpOptNOP {
			b = b[1:]
			continue
		}
		if len(b) < 2 {
			break
		}
		n := int(b[1])
		if n < 2 || n > len(b) {
			break
		}
		v := b[2:n]
		switch {
		case kind == tcpOptMSS && n == 4:
			o.MSS = binary.BigEndian.Uint16(v)
		case kind == tcpOptWindowScale && n == 3:
			o.WindowScale = int8(min(v[0], maxWindowScale))
		case kind == tcpOptSACKPermitted && n == 2:
			o.SACKPermitted = true
		case kind == tcpOptSACK && (n-2)%8 == 0:
			o.SACKBlocks = uint8((n - 2) / 8)
		case kind == tcpOptTimestamps && n == 10:
			o.HasTimestamps = true
			o.TSVal = binary.BigEndian.Uint32(v)
			o.TSEcr = binary.BigEndian.Uint32(v[4:])
		}
		b = b[n:]
	}
	return o
}
