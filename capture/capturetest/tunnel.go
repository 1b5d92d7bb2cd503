package capturetest

import (
	"encoding/binary"
	"net/netip"
)

// Tunnel protocol numbers, EtherTypes and UDP ports used by the builders.
const (
	ProtoIPIP = 4  // IPv4 in IP
	ProtoIPv6 = 41 // IPv6 in IP (6in4, and IPv6 in IPv6)
	ProtoGRE  = 47

	EtherTEB     = 0x6558 // Transparent Ethernet Bridging: an Ethernet frame in GRE or GENEVE
	EtherERSPAN  = 0x88be // ERSPAN types I and II, in GRE
	EtherERSPAN3 = 0x22eb // ERSPAN type III, in GRE

	PortVXLAN      = 4789
	PortVXLANLinux = 8472 // Linux's default VXLAN port (ip link ... type vxlan without dstport), flannel's
	PortGENEVE     = 6081
	PortVXLANGPE   = 4790

	// VXLAN-GPE next protocols (draft-ietf-nvo3-vxlan-gpe).
	GPEIPv4     = 1
	GPEIPv6     = 2
	GPEEthernet = 3
	GPENSH      = 4
	GPEMPLS     = 5
)

// GREOptions says which optional fields a GRE header carries (RFC 2784,
// RFC 2890) and its version (0; PPTP's enhanced GRE is 1).
type GREOptions struct {
	Checksum bool // C: checksum and reserved1 (4 bytes), the checksum set
	Key      bool // K: a 4-byte key (0x00001234)
	Sequence bool // S: a 4-byte sequence number (7)
	Version  uint8
}

// GRE returns a GRE header announcing protocol (an EtherType), then
// payload.
func GRE(o GREOptions, protocol uint16, payload []byte) []byte {
	var flags uint16
	n := 4
	if o.Checksum {
		flags |= 0x8000
		n += 4
	}
	if o.Key {
		flags |= 0x2000
		n += 4
	}
	if o.Sequence {
		flags |= 0x1000
		n += 4
	}
	flags |= uint16(o.Version & 7)
	b := make([]byte, n, n+len(payload))
	binary.BigEndian.PutUint16(b, flags)
	binary.BigEndian.PutUint16(b[2:], protocol)
	at := 4
	sumAt := -1
	if o.Checksum {
		sumAt = at
		at += 4
	}
	if o.Key {
		binary.BigEndian.PutUint32(b[at:], 0x1234)
		at += 4
	}
	if o.Sequence {
		binary.BigEndian.PutUint32(b[at:], 7)
	}
	b = append(b, payload...)
	if sumAt >= 0 {
		binary.BigEndian.PutUint16(b[sumAt:], ^fold(sum(0, b)))
	}
	return b
}

// VXLAN returns a VXLAN header (RFC 7348: flags with only I set, the VNI)
// and the Ethernet frame it carries: the payload of a UDP datagram to port
// 4789 (or 8472, Linux's default).
func VXLAN(vni uint32, frame []byte) []byte {
	b := make([]byte, 8, 8+len(frame))
	b[0] = 0x08
	binary.BigEndian.PutUint32(b[4:], vni<<8)
	return append(b, frame...)
}

// VXLANGPE returns a VXLAN-GPE header (draft-ietf-nvo3-vxlan-gpe: version
// 0, flags I and P set, the next protocol, the VNI) and payload: the
// payload of a UDP datagram to port 4790.
func VXLANGPE(next byte, vni uint32, payload []byte) []byte {
	b := make([]byte, 8, 8+len(payload))
	b[0] = 0x0c
	b[3] = next
	binary.BigEndian.PutUint32(b[4:], vni<<8)
	return append(b, payload...)
}

// GENEVE returns a GENEVE header (RFC 8926: version 0, the options, the
// protocol type, the VNI) and payload: the payload of a UDP datagram to
// port 6081. options must be a multiple of 4 bytes long.
func GENEVE(protocol uint16, vni uint32, options, payload []byte) []byte {
	b := make([]byte, 8, 8+len(options)+len(payload))
	b[0] = byte(len(options) / 4)
	binary.BigEndian.PutUint16(b[2:], protocol)
	binary.BigEndian.PutUint32(b[4:], vni<<8)
	return append(append(b, options...), payload...)
}

// UDPPacket returns a UDP datagram inside an IP packet, like UDP, with the
// IPv4 identification id.
func UDPPacket(src, dst netip.AddrPort, id uint16, payload []byte) []byte {
	b := make([]byte, 8+len(payload))
	binary.BigEndian.PutUint16(b, src.Port())
	binary.BigEndian.PutUint16(b[2:], dst.Port())
	binary.BigEndian.PutUint16(b[4:], uint16(len(b)))
	copy(b[8:], payload)
	binary.BigEndian.PutUint16(b[6:], transportChecksum(src.Addr(), dst.Addr(), ProtoUDP, b))
	return IP(src.Addr(), dst.Addr(), ProtoUDP, id, b)
}
