package capture

import (
	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// gopacket's DecodingLayer types, wrapped where connscope needs more than
// they give. Each wrapper keeps gopacket's decoding and adds one thing.

// ethertypeQinQ9100 is the pre-standard QinQ tag (0x9100) that some
// switches still emit; gopacket knows 0x88a8 and 0x8100 but not this one.
const ethertypeQinQ9100 layers.EthernetType = 0x9100

// ethernetLayer is layers.Ethernet that follows the EtherTypes as
// etherTypeLayer says (a 0x9100 tag among them), and reads an LLC header
// after an 802.3 length field only when the length is one (at most 1500).
type ethernetLayer struct{ layers.Ethernet }

func (e *ethernetLayer) NextLayerType() gopacket.LayerType {
	if e.EthernetType == layers.EthernetTypeLLC { // gopacket's mark for a length field
		if e.Length > maxIEEE8023Length {
			return gopacket.LayerTypeZero
		}
		return layers.LayerTypeLLC
	}
	return etherTypeLayer(e.EthernetType)
}

// vlanLayer is layers.Dot1Q that remembers the VLAN IDs of the tags it
// decodes, outermost first: one struct decodes every tag of a QinQ frame, so
// gopacket alone would keep only the innermost.
type vlanLayer struct {
	layers.Dot1Q
	ids [2]uint16
	n   int // tags seen in this frame (may exceed len(ids))
}

func (v *vlanLayer) DecodeFromBytes(data []byte, df gopacket.DecodeFeedback) error {
	if err := v.Dot1Q.DecodeFromBytes(data, df); err != nil {
		return err
	}
	if v.n < len(v.ids) {
		v.ids[v.n] = v.VLANIdentifier
	}
	v.n++
	return nil
}

// NextLayerType follows the EtherType as etherTypeLayer says; a length
// field (at most 1500) leads to LLC, as after Ethernet.
func (v *vlanLayer) NextLayerType() gopacket.LayerType {
	if v.Type <= maxIEEE8023Length {
		return layers.LayerTypeLLC
	}
	return etherTypeLayer(v.Type)
}

// ipv6ExtClass is the IPv6 extension headers the Decoder walks through.
// Fragment headers are left out on purpose: the parser stops there and the
// packet is skipped as a fragment.
var ipv6ExtClass = gopacket.NewLayerClass([]gopacket.LayerType{
	layers.LayerTypeIPv6HopByHop,
	layers.LayerTypeIPv6Routing,
	layers.LayerTypeIPv6Destination,
})

// ipv6ExtLayer skips routing and destination-options headers (hop-by-hop is
// handled inside layers.IPv6), adding up their lengths so the TCP length
// can be computed from the IPv6 payload length.
type ipv6ExtLayer struct {
	layers.IPv6ExtensionSkipper
	total int // bytes of extension headers skipped in this packet
}

func (x *ipv6ExtLayer) CanDecode() gopacket.LayerClass { return ipv6ExtClass }

func (x *ipv6ExtLayer) NextLayerType() gopacket.LayerType {
	return ipNext(x.IPv6ExtensionSkipper.NextLayerType())
}

func (x *ipv6ExtLayer) DecodeFromBytes(data []byte, df gopacket.DecodeFeedback) error {
	if err := x.IPv6ExtensionSkipper.DecodeFromBytes(data, df); err != nil {
		return err
	}
	x.total += len(x.Contents)
	return nil
}
