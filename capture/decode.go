package capture

import (
	"encoding/binary"
	"net/netip"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// Decoder turns packets into TCP segments. The link and IP layers are
// decoded by gopacket's DecodingLayerParser over preallocated layers (zero
// copy, no allocation per packet); the TCP header by a hand-written view
// (see decodeTCP). A Decoder is not safe for concurrent use; its zero value
// is not ready, use NewDecoder.
type Decoder struct {
	eth   ethernetLayer
	vlan  vlanLayer
	sll   sllLayer
	sll2  sll2Layer
	loop  layers.Loopback
	llc   llcLayer
	snap  snapLayer
	mpls  mplsLayer
	pppoe pppoeLayer
	ip4   ipv4Layer
	ip6   ipv6Layer
	ext   ipv6ExtLayer

	// One parser per first layer; all share the layers above.
	ethParser, sllParser, sll2Parser, loopParser, ip4Parser, ip6Parser *gopacket.DecodingLayerParser
	mplsParser                                                         *gopacket.DecodingLayerParser // MPLS in GRE
	decoded                                                            []gopacket.LayerType

	stats Stats
	// Link-type counts are kept for a run of same-type packets and folded
	// into linkCounts when the type changes, to keep map writes off the
	// per-packet path.
	linkCounts map[LinkType]uint64
	runLink    LinkType
	runCount   uint64

	// frags holds IP fragments until their datagram is whole (fragment.go);
	// nil until the first fragment.
	frags *fragmentTable
}

// NewDecoder returns a Decoder ready for use.
func NewDecoder() *Decoder {
	d := &Decoder{decoded: make([]gopacket.LayerType, 0, 8), linkCounts: map[LinkType]uint64{}}
	var c gopacket.DecodingLayerContainer = gopacket.DecodingLayerSparse(nil)
	for _, l := range []gopacket.DecodingLayer{
		&d.eth, &d.vlan, &d.sll, &d.sll2, &d.loop, &d.llc, &d.snap, &d.mpls, &d.pppoe, &d.ip4, &d.ip6, &d.ext,
	} {
		c = c.Put(l)
	}
	parser := func(first gopacket.LayerType) *gopacket.DecodingLayerParser {
		p := gopacket.NewDecodingLayerParser(first)
		p.SetDecodingLayerContainer(c)
		// The parser stops quietly at the first layer it has no decoder for
		// (TCP, UDP, ARP, ...); decode looks at where it stopped.
		p.IgnoreUnsupported = true
		return p
	}
	d.ethParser = parser(layers.LayerTypeEthernet)
	d.sllParser = parser(layers.LayerTypeLinuxSLL)
	d.sll2Parser = parser(layers.LayerTypeLinuxSLL2)
	d.loopParser = parser(layers.LayerTypeLoopback)
	d.ip4Parser = parser(layers.LayerTypeIPv4)
	d.ip6Parser = parser(layers.LayerTypeIPv6)
	d.mplsParser = parser(layers.LayerTypeMPLS)
	return d
}

// Decode decodes p into s. It returns SkipNone when p carried a TCP segment
// (s is filled; s.Payload aliases p.Data), or the reason it was skipped (s
// is then unspecified).
func (d *Decoder) Decode(p *Packet, s *Segment) SkipReason {
	d.stats.Packets++
	if p.LinkType != d.runLink || d.runCount == 0 {
		d.flushLinkRun()
		d.runLink = p.LinkType
	}
	d.runCount++

	r := d.decode(p, s)
	if r != SkipNone {
		d.stats.Skipped[r]++
		return r
	}
	d.stats.TCPSegments++
	if s.PayloadLength > len(s.Payload) {
		d.stats.CutSegments++
	}
	return SkipNone
}

// Stats returns the counts so far.
func (d *Decoder) Stats() Stats {
	d.flushLinkRun()
	st := d.stats
	st.ByLinkType = make(map[LinkType]uint64, len(d.linkCounts))
	for k, v := range d.linkCounts {
		st.ByLinkType[k] = v
	}
	if d.frags != nil {
		st.Fragments = d.frags.snapshot()
	}
	return st
}

func (d *Decoder) flushLinkRun() {
	if d.runCount > 0 {
		d.linkCounts[d.runLink] += d.runCount
		d.runCount = 0
	}
}

func (d *Decoder) parserFor(p *Packet) (*gopacket.DecodingLayerParser, SkipReason) {
	switch p.LinkType {
	case LinkTypeEthernet:
		return d.ethParser, SkipNone
	case LinkTypeLinuxSLL:
		return d.sllParser, SkipNone
	case LinkTypeLinuxSLL2:
		return d.sll2Parser, SkipNone
	case LinkTypeNull, LinkTypeLoop:
		// layers.Loopback reads the family in either byte order, which
		// covers DLT_NULL (host order) and DLT_LOOP (network order), and
		// maps all of AF_INET6's values (24, 28, 30; 10 on Linux) to IPv6.
		return d.loopParser, SkipNone
	case LinkTypeIPv4:
		return d.ip4Parser, SkipNone
	case LinkTypeIPv6:
		return d.ip6Parser, SkipNone
	case LinkTypeRaw, LinkTypeRawDLT12, LinkTypeRawDLT14:
		if len(p.Data) == 0 {
			return nil, d.damaged(p)
		}
		if parser := d.ipParserOf(p.Data[0]); parser != nil {
			return parser, SkipNone
		}
		return nil, SkipNonIP
	}
	return nil, SkipUnknownLinkType
}

// ipParserOf returns the parser for an IP packet whose first byte is
// first, by its version nibble (as tshark's "ip" dissector goes), or nil
// when it is neither 4 nor 6.
func (d *Decoder) ipParserOf(first byte) *gopacket.DecodingLayerParser {
	switch first >> 4 {
	case 4:
		return d.ip4Parser
	case 6:
		return d.ip6Parser
	}
	return nil
}

// damaged classifies a packet whose headers could not be decoded: cut by the
// snap length (truncated) or simply wrong (malformed). gopacket's parser
// also says "truncated" when a length field runs past the data, but in a
// frame captured whole that is a wrong header, not a cut (tshark calls it
// malformed), just as decodeTCP's short headers are.
func (d *Decoder) damaged(p *Packet) SkipReason {
	if p.CaptureLength < p.OriginalLength {
		return SkipTruncated
	}
	return SkipMalformed
}

func (d *Decoder) decode(p *Packet, s *Segment) SkipReason {
	if r, ok := decodePlainIPv4TCP(p, s); ok {
		return r
	}
	return d.decodeLayers(p, s)
}

// decodeLayers decodes any packet through gopacket's layers, following
// tunnels (tunnel.go) down to the innermost IP packet: each pass of the
// loop decodes one level, from its link layer (or IP, inside IP tunnels)
// to its transport, and ends with a TCP segment in s, the reason there is
// none, or a tunnel to decode next (depth is the number already followed).
// It is one function rather than a loop over a per-level call, which cost
// the general path about 8 % more per packet.
func (d *Decoder) decodeLayers(p *Packet, s *Segment) SkipReason {
	parser, reason := d.parserFor(p)
	if parser == nil {
		return reason
	}
	d.vlan.n = 0 // VLAN tags add up through the tunnels: outermost first
	data := p.Data
	// beyond is how many bytes of data the wire carried past the capture.
	beyond := max(0, p.OriginalLength-len(p.Data))
	for depth := 0; ; depth++ {
		d.ext.total = 0
		if err := parser.DecodeLayers(data, &d.decoded); err != nil || len(d.decoded) == 0 {
			return d.damaged(p)
		}

		// Find the IP layer the parser reached, and the protocol after it.
		var (
			ipLayers int
			proto    layers.IPProtocol
			last     = d.decoded[len(d.decoded)-1]
		)
		for _, t := range d.decoded {
			if t == layers.LayerTypeIPv4 || t == layers.LayerTypeIPv6 {
				ipLayers++
			}
		}
		switch {
		case ipLayers == 0:
			switch d.linkNext(last) {
			case layers.LayerTypeARP:
				return SkipARP
			case layers.LayerTypeIPv4, layers.LayerTypeIPv6, layers.LayerTypeDot1Q,
				layers.LayerTypeLLC, layers.LayerTypeSNAP, layers.LayerTypeMPLS, layers.LayerTypePPPoE:
				// The link layer announced IP, or a header on the way to it,
				// but nothing followed.
				return d.damaged(p)
			}
			return SkipNonIP
		case ipLayers > 1:
			// The IP layers lead to no IP layer (ipNext): IP in IP is
			// followed by the tunnel code, one level at a time.
			return SkipOtherIPProto
		}

		*s = Segment{Frame: p.Frame, Time: p.Time}
		if d.vlan.n > 0 {
			s.VLAN = d.vlan.ids[0]
		}
		if d.vlan.n > 1 {
			s.InnerVLAN = d.vlan.ids[1]
		}

		var (
			tcp      []byte
			wireLen  int
			src, dst netip.Addr
		)
		switch last {
		case layers.LayerTypeIPv4:
			ip := &d.ip4
			if ip.Version != 4 {
				return SkipMalformed
			}
			proto = ip.Protocol
			tcp = ip.Payload
			wireLen = int(ip.Length) - int(ip.IHL)*4
			src, dst = netip.AddrFrom4([4]byte(ip.SrcIP)), netip.AddrFrom4([4]byte(ip.DstIP))
			s.IPID = ip.Id
			if ip.Flags&layers.IPv4MoreFragments != 0 || ip.FragOffset != 0 {
				f := fragment{
					key:         fragmentKey{src: src, dst: dst, id: uint32(ip.Id), proto: uint8(proto)},
					offset:      int(ip.FragOffset) * 8,
					more:        ip.Flags&layers.IPv4MoreFragments != 0,
					headerBytes: int(ip.IHL) * 4,
				}
				datagram, ok := d.reassemble(p, &f, tcp, wireLen)
				if !ok {
					return SkipIPFragment
				}
				tcp, wireLen, beyond = datagram, len(datagram), 0
			}
		default: // IPv6, possibly followed by extension headers
			ip := &d.ip6
			if ip.Version != 6 {
				return SkipMalformed
			}
			proto, tcp = ip.NextHeader, ip.Payload
			if ip.HopByHop != nil {
				proto = ip.HopByHop.NextHeader
			}
			if last != layers.LayerTypeIPv6 {
				proto, tcp = d.ext.NextHeader, d.ext.Payload
			}
			if ip.Length == 0 { // jumbogram: gopacket already cut Payload to its length
				wireLen = len(ip.Payload) - d.ext.total
			} else {
				wireLen = int(ip.Length) - d.ext.total
				if ip.HopByHop != nil {
					wireLen -= len(ip.HopByHop.Contents)
				}
			}
			src, dst = netip.AddrFrom16([16]byte(ip.SrcIP)), netip.AddrFrom16([16]byte(ip.DstIP))
			if proto == layers.IPProtocolIPv6Fragment && isAtomicFragment(tcp) {
				// A whole packet behind a fragment header: step over it.
				proto = layers.IPProtocol(tcp[0])
				tcp, wireLen = tcp[ipv6FragmentHeaderLen:], wireLen-ipv6FragmentHeaderLen
			} else if proto == layers.IPProtocolIPv6Fragment {
				if len(tcp) < ipv6FragmentHeaderLen || wireLen < ipv6FragmentHeaderLen || ip.Length == 0 {
					// Cut inside the fragment header, or a jumbogram (RFC 2675
					// forbids fragmenting one).
					d.dropFragment(FragmentMalformed)
					return SkipIPFragment
				}
				offsetAndFlags := binary.BigEndian.Uint16(tcp[2:])
				f := fragment{
					key:        fragmentKey{src: src, dst: dst, id: binary.BigEndian.Uint32(tcp[4:])},
					ipv6:       true,
					offset:     int(offsetAndFlags &^ 7),
					more:       offsetAndFlags&1 != 0,
					nextHeader: tcp[0],
					// The unfragmentable part: the extension headers before
					// the fragment header, which stay in the reassembled packet.
					headerBytes: int(ip.Length) - wireLen,
				}
				datagram, ok := d.reassemble(p, &f, tcp[ipv6FragmentHeaderLen:], wireLen-ipv6FragmentHeaderLen)
				if !ok {
					return SkipIPFragment
				}
				proto, tcp = stepOverExtensions(layers.IPProtocol(d.frags.nextHeader), datagram)
				wireLen, beyond = len(tcp), 0
			}
		}

		// An IP length may claim more than the frame carried on the wire: the
		// bytes past the frame's original length never existed (a damaged or
		// forged header, not the snap length), so the segment is as long as the
		// frame allows, as tshark reads it. tcp runs to the end of the captured
		// data whenever the IP length reaches past it.
		if onWire := len(tcp) + beyond; wireLen > onWire {
			wireLen = onWire
		}
		switch proto {
		case layers.IPProtocolTCP:
		case layers.IPProtocolUDP:
			in, r := d.udpTunnel(p, tcp, wireLen, depth)
			if in.parser == nil {
				return r
			}
			parser, data, beyond = in.parser, in.data, in.beyond
			continue
		case layers.IPProtocolUDPLite:
			return SkipUDP
		case layers.IPProtocolICMPv4, layers.IPProtocolICMPv6:
			return SkipICMP
		case layers.IPProtocolIPv6HopByHop, layers.IPProtocolIPv6Routing, layers.IPProtocolIPv6Destination:
			// An extension header the parser walks was announced, but the
			// frame ended before it: the frame was cut or is damaged.
			return d.damaged(p)
		case layers.IPProtocolIPv4, layers.IPProtocolIPv6, layers.IPProtocolGRE:
			in, r := d.ipTunnel(p, proto, tcp, wireLen, depth)
			if in.parser == nil {
				return r
			}
			parser, data, beyond = in.parser, in.data, in.beyond
			continue
		default:
			return SkipOtherIPProto
		}
		s.Src, s.Dst = netip.AddrPortFrom(src, 0), netip.AddrPortFrom(dst, 0)
		r := decodeTCP(tcp, wireLen, s)
		if r == SkipTruncated && p.CaptureLength >= p.OriginalLength {
			r = SkipMalformed // short, but not because of the snap length
		}
		return r
	}
}

// linkNext is the type a link layer said comes next.
func (d *Decoder) linkNext(t gopacket.LayerType) gopacket.LayerType {
	switch t {
	case layers.LayerTypeEthernet:
		return d.eth.NextLayerType()
	case layers.LayerTypeDot1Q:
		return d.vlan.NextLayerType()
	case layers.LayerTypeLinuxSLL:
		return d.sll.NextLayerType()
	case layers.LayerTypeLinuxSLL2:
		return d.sll2.NextLayerType()
	case layers.LayerTypeLoopback:
		return d.loop.NextLayerType()
	case layers.LayerTypeLLC:
		return d.llc.NextLayerType()
	case layers.LayerTypeSNAP:
		return d.snap.NextLayerType()
	case layers.LayerTypeMPLS:
		return d.mpls.NextLayerType()
	case layers.LayerTypePPPoE:
		return d.pppoe.NextLayerType()
	}
	return gopacket.LayerTypeZero
}

// reassemble gives f, whose bytes are payload (wireLen of them on the wire),
// to the fragment table. ok is true when f completed its datagram, which
// is then returned (its bytes are the Decoder's, valid until the next
// Decode); the fragments held before f become part of it and are no
// longer counted as skipped.
func (d *Decoder) reassemble(p *Packet, f *fragment, payload []byte, wireLen int) (datagram []byte, ok bool) {
	if d.frags == nil {
		d.frags = newFragmentTable()
	}
	if wireLen < 0 || len(payload) < wireLen {
		// The snap length cut the fragment, or its IP length claims more
		// than the frame carried: its bytes are not all there.
		d.frags.drop(FragmentTruncated, 1)
		return nil, false
	}
	f.data, f.time = payload[:wireLen], p.Time
	datagram, before := d.frags.add(f)
	if datagram == nil {
		return nil, false
	}
	d.stats.Skipped[SkipIPFragment] -= uint64(before)
	return datagram, true
}

// dropFragment counts a fragment whose header could not be used.
func (d *Decoder) dropFragment(r FragmentDrop) {
	if d.frags == nil {
		d.frags = newFragmentTable()
	}
	d.frags.drop(r, 1)
}

// stepOverExtensions skips the IPv6 extension headers at the start of a
// reassembled datagram's fragmentable part (destination options, routing)
// and returns the protocol after them and its bytes. A header that runs past
// the datagram, or a second fragment header, yields IPProtocolNoNextHeader
// with no bytes (which the caller reports as other_ip_proto).
func stepOverExtensions(next layers.IPProtocol, b []byte) (layers.IPProtocol, []byte) {
	if next == layers.IPProtocolIPv6Fragment {
		return layers.IPProtocolNoNextHeader, nil
	}
	for next == layers.IPProtocolIPv6Destination || next == layers.IPProtocolIPv6Routing {
		if len(b) < 2 || len(b) < (int(b[1])+1)*8 {
			return layers.IPProtocolNoNextHeader, nil
		}
		next, b = layers.IPProtocol(b[0]), b[(int(b[1])+1)*8:]
		if next == layers.IPProtocolIPv6Fragment {
			return layers.IPProtocolNoNextHeader, nil
		}
	}
	return next, b
}

// ipv6FragmentHeaderLen is the size of the IPv6 fragment header: next
// header, reserved, offset and flags (2 bytes), identification (4 bytes).
const ipv6FragmentHeaderLen = 8

// isAtomicFragment reports whether b starts with an IPv6 fragment header
// whose offset is 0 and whose more-fragments flag is clear: an "atomic
// fragment" (RFC 6946), which carries a whole packet. Hosts send them after
// an ICMPv6 Packet Too Big with an MTU below 1280; receivers, and tshark,
// process the packet as if the header were absent. Any other fragment is
// held until its datagram is whole (fragment.go).
func isAtomicFragment(b []byte) bool {
	const offsetAndMoreFragments = 0xfff9 // bits 1-2 are reserved
	return len(b) >= ipv6FragmentHeaderLen && binary.BigEndian.Uint16(b[2:])&offsetAndMoreFragments == 0
}
