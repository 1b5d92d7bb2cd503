package capturetest

import (
	"encoding/binary"
	"net/netip"

	"github.com/connscope/connscope/capture"
)

// IP protocol numbers and EtherTypes used by the builders.
const (
	ProtoICMP     = 1
	ProtoTCP      = 6
	ProtoUDP      = 17
	ProtoIPv6Frag = 44
	ProtoICMPv6   = 58

	EtherIPv4           = 0x0800
	EtherARP            = 0x0806
	EtherVLAN           = 0x8100
	EtherQinQ           = 0x88a8
	EtherIPv6           = 0x86dd
	EtherMPLS           = 0x8847
	EtherMPLSMulticast  = 0x8848
	EtherPPPoEDiscovery = 0x8863
	EtherPPPoESession   = 0x8864

	PPPIPv4 = 0x0021
	PPPIPv6 = 0x0057
	PPPMPLS = 0x0281
	PPPLCP  = 0xc021
)

// TCP describes a segment. The zero value of a field means the obvious
// default (window 0, no options, no payload, IP ID 0).
type TCP struct {
	Src, Dst netip.AddrPort
	Seq, Ack uint32
	Flags    capture.TCPFlags
	Window   uint16
	Options  []byte // raw option bytes, padded with zeros to a multiple of 4
	Payload  []byte
	IPID     uint16
}

// Segment returns the TCP header and payload, with a correct checksum.
func (t TCP) Segment() []byte {
	opts := append(t.Options[:len(t.Options):len(t.Options)], make([]byte, pad4(len(t.Options)))...)
	hl := 20 + len(opts)
	b := make([]byte, hl+len(t.Payload))
	binary.BigEndian.PutUint16(b, t.Src.Port())
	binary.BigEndian.PutUint16(b[2:], t.Dst.Port())
	binary.BigEndian.PutUint32(b[4:], t.Seq)
	binary.BigEndian.PutUint32(b[8:], t.Ack)
	b[12] = byte(hl/4) << 4
	b[13] = byte(t.Flags)
	binary.BigEndian.PutUint16(b[14:], t.Window)
	copy(b[20:], opts)
	copy(b[hl:], t.Payload)
	binary.BigEndian.PutUint16(b[16:], transportChecksum(t.Src.Addr(), t.Dst.Addr(), ProtoTCP, b))
	return b
}

// IP returns the segment inside an IPv4 or IPv6 packet, by address family.
func (t TCP) IP() []byte {
	return IP(t.Src.Addr(), t.Dst.Addr(), ProtoTCP, t.IPID, t.Segment())
}

// UDP returns a UDP datagram inside an IP packet.
func UDP(src, dst netip.AddrPort, payload []byte) []byte {
	return UDPPacket(src, dst, 0, payload)
}

// IP wraps payload in an IPv4 header (src is IPv4) or an IPv6 header.
func IP(src, dst netip.Addr, proto uint8, id uint16, payload []byte) []byte {
	if src.Is4() {
		return IPv4(src, dst, proto, id, payload)
	}
	return IPv6(src, dst, proto, payload)
}

// IPv4 returns an IPv4 packet (no options, TTL 64, checksum set).
func IPv4(src, dst netip.Addr, proto uint8, id uint16, payload []byte) []byte {
	b := make([]byte, 20+len(payload))
	b[0] = 0x45
	binary.BigEndian.PutUint16(b[2:], uint16(len(b)))
	binary.BigEndian.PutUint16(b[4:], id)
	b[8] = 64
	b[9] = proto
	s, d := src.As4(), dst.As4()
	copy(b[12:], s[:])
	copy(b[16:], d[:])
	binary.BigEndian.PutUint16(b[10:], ^fold(sum(0, b[:20])))
	copy(b[20:], payload)
	return b
}

// IPv6 returns an IPv6 packet (hop limit 64). payload may start with
// extension headers; next is the protocol of the first header in it.
func IPv6(src, dst netip.Addr, next uint8, payload []byte) []byte {
	b := make([]byte, 40+len(payload))
	b[0] = 0x60
	binary.BigEndian.PutUint16(b[4:], uint16(len(payload)))
	b[6] = next
	b[7] = 64
	s, d := src.As16(), dst.As16()
	copy(b[8:], s[:])
	copy(b[24:], d[:])
	copy(b[40:], payload)
	return b
}

// IPv6Ext returns an 8-byte extension header (hop-by-hop, routing,
// destination options: all share this shape) followed by rest.
func IPv6Ext(next uint8, rest []byte) []byte {
	b := make([]byte, 8, 8+len(rest))
	b[0] = next
	b[2] = 1 // a PadN option filling the header: type 1, length 4
	b[3] = 4
	return append(b, rest...)
}

// VLANTag is one 802.1Q-style tag.
type VLANTag struct {
	TPID uint16 // 0x8100, 0x88a8 or 0x9100
	ID   uint16
}

// Ethernet returns an Ethernet II frame carrying an IP packet (the
// EtherType follows the IP version), with optional VLAN tags, outermost
// first.
func Ethernet(ip []byte, tags ...VLANTag) []byte {
	return EthernetType(etherTypeOf(ip), ip, tags...)
}

// EthernetType returns an Ethernet II frame with any EtherType.
func EthernetType(ethertype uint16, payload []byte, tags ...VLANTag) []byte {
	b := []byte{0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1}
	for _, t := range tags {
		b = binary.BigEndian.AppendUint16(b, t.TPID)
		b = binary.BigEndian.AppendUint16(b, t.ID&0x0fff)
	}
	b = binary.BigEndian.AppendUint16(b, ethertype)
	return append(b, payload...)
}

// etherTypeOf is the EtherType of an IP packet, by its version nibble.
func etherTypeOf(ip []byte) uint16 {
	if len(ip) > 0 && ip[0]>>4 == 6 {
		return EtherIPv6
	}
	return EtherIPv4
}

// IEEE8023 returns an IEEE 802.3 frame: addresses, then the length of
// payload (an LLC header and what follows) instead of an EtherType, with
// optional VLAN tags before it.
func IEEE8023(payload []byte, tags ...VLANTag) []byte {
	return EthernetType(uint16(len(payload)), payload, tags...)
}

// LLCSNAP returns an 802.2 LLC header (DSAP and SSAP 0xAA, unnumbered
// information) and a SNAP header (organisation 00-00-00, RFC 1042) with the
// EtherType, then payload: what IEEE8023 carries when IP travels in an
// 802.3 frame.
func LLCSNAP(ethertype uint16, payload []byte) []byte {
	b := []byte{0xaa, 0xaa, 0x03, 0, 0, 0}
	b = binary.BigEndian.AppendUint16(b, ethertype)
	return append(b, payload...)
}

// EthernetLLCSNAP returns an 802.3 frame with LLC/SNAP carrying an IP
// packet (the EtherType follows the IP version).
func EthernetLLCSNAP(ip []byte, tags ...VLANTag) []byte {
	return IEEE8023(LLCSNAP(etherTypeOf(ip), ip), tags...)
}

// MPLSLabels returns an MPLS label stack, outermost first, the last with
// the bottom-of-stack bit, each with TTL 64, then payload.
func MPLSLabels(labels []uint32, payload []byte) []byte {
	var b []byte
	for i, l := range labels {
		entry := l<<12 | 64
		if i == len(labels)-1 {
			entry |= 1 << 8
		}
		b = binary.BigEndian.AppendUint32(b, entry)
	}
	return append(b, payload...)
}

// EthernetMPLS returns an Ethernet frame (EtherType 0x8847) carrying an IP
// packet behind the MPLS labels.
func EthernetMPLS(ip []byte, labels ...uint32) []byte {
	return EthernetType(EtherMPLS, MPLSLabels(labels, ip))
}

// PPPoESession returns a PPPoE session header (version 1, type 1, code 0,
// session 0x1234, the length) and the PPP protocol field, then payload.
func PPPoESession(pppProtocol uint16, payload []byte) []byte {
	b := []byte{0x11, 0, 0x12, 0x34}
	b = binary.BigEndian.AppendUint16(b, uint16(2+len(payload)))
	b = binary.BigEndian.AppendUint16(b, pppProtocol)
	return append(b, payload...)
}

// EthernetPPPoE returns an Ethernet frame (EtherType 0x8864) carrying an IP
// packet in a PPPoE session.
func EthernetPPPoE(ip []byte, tags ...VLANTag) []byte {
	proto := uint16(PPPIPv4)
	if etherTypeOf(ip) == EtherIPv6 {
		proto = PPPIPv6
	}
	return EthernetType(EtherPPPoESession, PPPoESession(proto, ip), tags...)
}

// LinuxSLL returns a Linux cooked v1 frame (packet sent to us).
func LinuxSLL(ethertype uint16, payload []byte) []byte {
	b := make([]byte, 16, 16+len(payload))
	binary.BigEndian.PutUint16(b[2:], 1) // ARPHRD_ETHER
	binary.BigEndian.PutUint16(b[4:], 6)
	copy(b[6:], []byte{0x02, 0, 0, 0, 0, 1})
	binary.BigEndian.PutUint16(b[14:], ethertype)
	return append(b, payload...)
}

// LinuxSLL2 returns a Linux cooked v2 frame.
func LinuxSLL2(ethertype uint16, payload []byte) []byte {
	b := make([]byte, 20, 20+len(payload))
	binary.BigEndian.PutUint16(b, ethertype)
	binary.BigEndian.PutUint32(b[4:], 2) // interface index
	binary.BigEndian.PutUint16(b[8:], 1) // ARPHRD_ETHER
	b[11] = 6
	copy(b[12:], []byte{0x02, 0, 0, 0, 0, 1})
	return append(b, payload...)
}

// Null returns a BSD loopback frame: the address family in the given byte
// order (host order of the capturing machine), then the packet.
func Null(family uint32, bigEndian bool, payload []byte) []byte {
	b := make([]byte, 4, 4+len(payload))
	order(bigEndian).PutUint32(b, family)
	return append(b, payload...)
}

// TCP option builders, for TCP.Options.
func OptMSS(v uint16) []byte       { return []byte{2, 4, byte(v >> 8), byte(v)} }
func OptWindowScale(v byte) []byte { return []byte{1, 3, 3, v} } // NOP-padded
func OptSACKPermitted() []byte     { return []byte{1, 1, 4, 2} }
func OptTimestamps(val, ecr uint32) []byte {
	b := []byte{1, 1, 8, 10}
	b = binary.BigEndian.AppendUint32(b, val)
	return binary.BigEndian.AppendUint32(b, ecr)
}

// OptSACK returns a SACK option with n blocks (edges 0), NOP-padded.
func OptSACK(n int) []byte {
	b := []byte{1, 1, 5, byte(2 + 8*n)}
	return append(b, make([]byte, 8*n)...)
}

func transportChecksum(src, dst netip.Addr, proto uint8, b []byte) uint16 {
	var s uint32
	if src.Is4() {
		a, c := src.As4(), dst.As4()
		s = sum(s, a[:])
		s = sum(s, c[:])
	} else {
		a, c := src.As16(), dst.As16()
		s = sum(s, a[:])
		s = sum(s, c[:])
	}
	s += uint32(proto) + uint32(len(b))
	return ^fold(sum(s, b))
}

func sum(s uint32, b []byte) uint32 {
	for i := 0; i+1 < len(b); i += 2 {
		s += uint32(b[i])<<8 | uint32(b[i+1])
	}
	if len(b)%2 == 1 {
		s += uint32(b[len(b)-1]) << 8
	}
	return s
}

func fold(s uint32) uint16 {
	for s > 0xffff {
		s = s&0xffff + s>>16
	}
	return uint16(s)
}
