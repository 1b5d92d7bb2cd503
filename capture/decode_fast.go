package capture

import (
	"encoding/binary"
	"net/netip"
)

// The fast path. Nearly every frame of an HTTP capture is the same shape:
// Ethernet without a VLAN tag (or a raw IP link), an IPv4 header without
// options that is not a fragment, and TCP. decodePlainIPv4TCP reads that
// shape straight from the bytes, with exactly the checks and results the
// gopacket layers give it, and declines everything else (VLAN tags, IPv6,
// IP options, fragments, lengths that disagree with the capture, other
// protocols), which then takes the general path (decodeLayers). The
// differential test in decode_fast_test.go holds the two to the same
// answer on every frame of the test captures and on mutations of them.
//
// It roughly halves the decoding cost per packet: gopacket's layer parser
// spends most of its time dispatching between layers, not reading fields.

const (
	ethernetHeaderLen = 14
	etherTypeIPv4     = 0x0800
	ipv4MinHeaderLen  = 20
	ipProtoTCP        = 6
	ipv4MoreFragments = 0x2000
	ipv4FragOffset    = 0x1fff
)

// decodePlainIPv4TCP decodes p when it has the common shape; ok is false
// when p must take the general path.
func decodePlainIPv4TCP(p *Packet, s *Segment) (reason SkipReason, ok bool) {
	data := p.Data
	switch p.LinkType {
	case LinkTypeEthernet:
		if len(data) < ethernetHeaderLen+ipv4MinHeaderLen || binary.BigEndian.Uint16(data[12:]) != etherTypeIPv4 {
			return 0, false
		}
		data = data[ethernetHeaderLen:]
	case LinkTypeIPv4, LinkTypeRaw, LinkTypeRawDLT12, LinkTypeRawDLT14:
		if len(data) < ipv4MinHeaderLen {
			return 0, false
		}
	default:
		return 0, false
	}
	// Version 4, a 20-byte header, TCP, not a fragment, and an IP length
	// that the captured bytes hold (a longer one is a snap-length cut:
	// the general path classifies it).
	if data[0] != 0x45 || data[9] != ipProtoTCP {
		return 0, false
	}
	length := int(binary.BigEndian.Uint16(data[2:]))
	if length < ipv4MinHeaderLen || length > len(data) {
		return 0, false
	}
	if binary.BigEndian.Uint16(data[6:])&(ipv4MoreFragments|ipv4FragOffset) != 0 {
		return 0, false
	}
	*s = Segment{Frame: p.Frame, Time: p.Time}
	s.IPID = binary.BigEndian.Uint16(data[4:])
	s.Src = netip.AddrPortFrom(netip.AddrFrom4([4]byte(data[12:16])), 0)
	s.Dst = netip.AddrPortFrom(netip.AddrFrom4([4]byte(data[16:20])), 0)
	r := decodeTCP(data[ipv4MinHeaderLen:length], length-ipv4MinHeaderLen, s)
	if r == SkipTruncated && p.CaptureLength >= p.OriginalLength {
		r = SkipMalformed // short, but not because of the snap length
	}
	return r, true
}
