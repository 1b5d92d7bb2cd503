package capture

import (
	"encoding/binary"
	"errors"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// Encapsulations between the link layer and IP: 802.3 frames with LLC/SNAP,
// MPLS label stacks and PPPoE sessions. Each is a DecodingLayer the
// Decoder's parsers share with the link and IP layers, so an encapsulated
// frame is decoded into the same Segment as the bare one. Which bytes lead
// to IP follows tshark 4.0 exactly (linktypes.pcapng holds a frame for each
// case; TestLinkTypesAgainstTshark compares): anything else stops the parser
// and the frame is counted as non_ip.

// maxIEEE8023Length is the largest value of an Ethernet type/length field
// that is a length (IEEE 802.3). Values from 1501 to 1535 are neither a
// length nor an EtherType; tshark then dissects no LLC header, and neither
// does the Decoder.
const maxIEEE8023Length = 1500

// etherTypeLayer is the layer an EtherType announces, as the Decoder
// follows it: as gopacket maps it, except that the pre-standard QinQ tag
// 0x9100 is a VLAN tag, PPPoE discovery (0x8863: session set-up, never IP)
// is followed by nothing, and a value below 0x600 (a length, or garbage) is
// no EtherType. It serves the layers that carry an EtherType: Ethernet II,
// 802.1Q tags and SNAP.
func etherTypeLayer(t layers.EthernetType) gopacket.LayerType {
	switch {
	case t == ethertypeQinQ9100:
		return layers.LayerTypeDot1Q
	case t == layers.EthernetTypePPPoEDiscovery, t < 0x600:
		return gopacket.LayerTypeZero
	}
	return t.LayerType()
}

// llcLayer is layers.LLC (IEEE 802.2, after an 802.3 length field) that
// leads to SNAP only where tshark's LLC dissector does: DSAP and SSAP both
// exactly 0xAA (gopacket ignores their individual/group and
// command/response bits) and an unnumbered-information (0x03) or
// information frame. Other LLC frames (spanning tree, NetBIOS, IPX) carry
// no IP.
type llcLayer struct{ layers.LLC }

func (l *llcLayer) NextLayerType() gopacket.LayerType {
	const (
		sapSNAP = 0xaa
		ctrlUI  = 0x03
	)
	c := l.Contents
	isUI := len(c) == 3 && l.Control == ctrlUI
	isInformation := len(c) == 4 && l.Control&0x100 == 0 // 2-byte control, low bit of the first clear
	if c[0] == sapSNAP && c[1] == sapSNAP && (isUI || isInformation) {
		return layers.LayerTypeSNAP
	}
	return gopacket.LayerTypeZero
}

// snapLayer is layers.SNAP that follows the EtherType only for the two
// organisation codes that mean "an EtherType follows": 00-00-00 (RFC 1042)
// and 00-00-F8 (IEEE 802.1H bridge tunnel), as tshark does. Cisco's,
// Apple's and other codes carry their own protocol IDs.
type snapLayer struct{ layers.SNAP }

func (s *snapLayer) NextLayerType() gopacket.LayerType {
	oui := s.OrganizationalCode
	if oui[0] != 0 || oui[1] != 0 || oui[2] != 0 && oui[2] != 0xf8 {
		return gopacket.LayerTypeZero
	}
	return etherTypeLayer(s.Type)
}

// Errors of the encapsulation layers, preallocated: decoding allocates
// nothing per packet.
var (
	errMPLSStackCut   = errors.New("MPLS label stack ends before its bottom-of-stack label")
	errMPLSNoPayload  = errors.New("nothing follows the MPLS label stack")
	errPPPoEHeaderCut = errors.New("PPPoE header cut short")
	errPPPProtocolCut = errors.New("PPP protocol field cut short")
)

// mplsLayer decodes a whole MPLS label stack (EtherType 0x8847 unicast,
// 0x8848 multicast, or PPP protocol 0x0281/0x0283): 4-byte labels until the
// one with the bottom-of-stack bit. MPLS does not say what it carries;
// like tshark, the Decoder reads IPv4 or IPv6 when the first nibble after
// the stack is 4 or 6. Anything else (a pseudowire control word and the
// Ethernet frame behind it, an associated channel) is a tunnel the Decoder
// does not follow. gopacket's layers.MPLS is no DecodingLayer.
type mplsLayer struct {
	layers.BaseLayer
	labels int // labels in the stack
	next   gopacket.LayerType
}

// mplsLabelLen is the size of one MPLS label stack entry: label (20 bits),
// traffic class (3), bottom of stack (1), TTL (8).
const mplsLabelLen = 4

func (m *mplsLayer) CanDecode() gopacket.LayerClass    { return layers.LayerTypeMPLS }
func (m *mplsLayer) NextLayerType() gopacket.LayerType { return m.next }

func (m *mplsLayer) DecodeFromBytes(data []byte, df gopacket.DecodeFeedback) error {
	m.next = gopacket.LayerTypeZero
	for end := mplsLabelLen; ; end += mplsLabelLen {
		if len(data) < end {
			df.SetTruncated()
			return errMPLSStackCut
		}
		if data[end-2]&1 == 0 {
			continue // not the bottom of the stack
		}
		m.labels = end / mplsLabelLen
		m.Contents, m.Payload = data[:end], data[end:]
		if len(m.Payload) == 0 {
			return errMPLSNoPayload
		}
		switch m.Payload[0] >> 4 {
		case 4:
			m.next = layers.LayerTypeIPv4
		case 6:
			m.next = layers.LayerTypeIPv6
		}
		return nil
	}
}

// pppoeLayer decodes a PPPoE session packet (RFC 2516, EtherType 0x8864)
// and the PPP protocol field after it: version/type, code, session ID and
// length (6 bytes), then the protocol, 2 bytes or 1 when compressed (odd
// first byte). PPP protocol 0x0021 is IPv4, 0x0057 IPv6, 0x0281/0x0283
// MPLS; link control, authentication and IPCP packets carry no IP. As in
// tshark, the code, version and type are not checked (the EtherType makes
// it a session packet), a length past the captured bytes is read as far as
// they go and a shorter one cuts off the Ethernet padding.
// gopacket's layers.PPPoE and layers.PPP are no DecodingLayers.
type pppoeLayer struct {
	layers.BaseLayer
	protocol layers.PPPType
}

const pppoeHeaderLen = 6

func (p *pppoeLayer) CanDecode() gopacket.LayerClass { return layers.LayerTypePPPoE }

func (p *pppoeLayer) NextLayerType() gopacket.LayerType {
	switch p.protocol {
	case layers.PPPTypeIPv4:
		return layers.LayerTypeIPv4
	case layers.PPPTypeIPv6:
		return layers.LayerTypeIPv6
	case layers.PPPTypeMPLSUnicast, layers.PPPTypeMPLSMulticast:
		return layers.LayerTypeMPLS
	}
	return gopacket.LayerTypeZero
}

func (p *pppoeLayer) DecodeFromBytes(data []byte, df gopacket.DecodeFeedback) error {
	p.protocol = 0
	if len(data) < pppoeHeaderLen {
		df.SetTruncated()
		return errPPPoEHeaderCut
	}
	ppp := data[pppoeHeaderLen:]
	if n := int(binary.BigEndian.Uint16(data[4:])); n < len(ppp) {
		ppp = ppp[:n]
	}
	protoLen := 2
	if len(ppp) > 0 && ppp[0]&1 != 0 {
		protoLen = 1 // protocol field compression (RFC 1661 section 6.5)
	}
	if len(ppp) < protoLen {
		df.SetTruncated()
		return errPPPProtocolCut
	}
	if protoLen == 1 {
		p.protocol = layers.PPPType(ppp[0])
	} else {
		p.protocol = layers.PPPType(binary.BigEndian.Uint16(ppp))
	}
	p.Contents, p.Payload = data[:pppoeHeaderLen+protoLen], ppp[protoLen:]
	return nil
}

// ipv4Layer is layers.IPv4 that leads into neither MPLS nor IP (ipNext).
type ipv4Layer struct{ layers.IPv4 }

func (ip *ipv4Layer) NextLayerType() gopacket.LayerType { return ipNext(ip.IPv4.NextLayerType()) }

// ipv6Layer is layers.IPv6 that leads into neither MPLS nor IP (ipNext).
type ipv6Layer struct{ layers.IPv6 }

func (ip *ipv6Layer) NextLayerType() gopacket.LayerType { return ipNext(ip.IPv6.NextLayerType()) }

// sllLayer and sll2Layer are the Linux cooked headers that, like the
// others, follow no PPPoE discovery packet.
type sllLayer struct{ layers.LinuxSLL }

func (s *sllLayer) NextLayerType() gopacket.LayerType {
	if s.EthernetType == layers.EthernetTypePPPoEDiscovery {
		return gopacket.LayerTypeZero
	}
	return s.LinuxSLL.NextLayerType()
}

type sll2Layer struct{ layers.LinuxSLL2 }

func (s *sll2Layer) NextLayerType() gopacket.LayerType {
	if s.ProtocolType == layers.EthernetTypePPPoEDiscovery {
		return gopacket.LayerTypeZero
	}
	return s.LinuxSLL2.NextLayerType()
}
