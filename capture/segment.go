package capture

import "net/netip"

// Packet is one record read from a capture source, before any decoding.
//
// Data aliases the reader's buffer: it is valid only until the next call to
// Next. Copy it to keep it.
type Packet struct {
	// Frame is the 1-based frame number, counted exactly as Wireshark counts
	// it, so a user can jump from connscope's output to the same frame.
	Frame uint64
	// Time is the capture time in nanoseconds since the Unix epoch.
	Time int64
	// CaptureLength is how many bytes of the frame were captured (len(Data));
	// OriginalLength is how long the frame was on the wire. They differ when
	// the capture's snap length cut the frame.
	CaptureLength  int
	OriginalLength int
	// LinkType is the link-layer header type of Data (a LINKTYPE_ value).
	LinkType LinkType
	// Interface is the pcapng interface index (0 for classic pcap).
	Interface int
	// Offset is the byte offset of the record in the (decompressed) input,
	// used to name the place of damage in errors.
	Offset int64
	Data   []byte
}

// LinkType is a LINKTYPE_ value from the tcpdump.org link-layer header type
// registry, as stored in pcap and pcapng headers.
type LinkType uint16

// The link types connscope decodes.
const (
	LinkTypeNull      LinkType = 0   // BSD loopback: 4-byte host-order address family
	LinkTypeEthernet  LinkType = 1   // Ethernet II, possibly 802.1Q / QinQ tagged
	LinkTypeRaw       LinkType = 101 // raw IPv4 or IPv6 (DLT_RAW)
	LinkTypeLoop      LinkType = 108 // OpenBSD loopback: 4-byte network-order family
	LinkTypeLinuxSLL  LinkType = 113 // Linux cooked capture v1 (tcpdump -i any, old)
	LinkTypeIPv4      LinkType = 228 // raw IPv4
	LinkTypeIPv6      LinkType = 229 // raw IPv6
	LinkTypeLinuxSLL2 LinkType = 276 // Linux cooked capture v2 (tcpdump -i any)
)

// TCPFlags is the TCP header's flag byte.
type TCPFlags uint8

// TCP flag bits, as in the header (RFC 9293 section 3.1).
const (
	FlagFIN TCPFlags = 1 << iota
	FlagSYN
	FlagRST
	FlagPSH
	FlagACK
	FlagURG
	FlagECE
	FlagCWR
)

// Has reports whether all bits of f are set.
func (t TCPFlags) Has(f TCPFlags) bool { return t&f == f }

// String spells the flags the way tcpdump does: S, F, R, P, ., U, E, W.
func (t TCPFlags) String() string {
	var b []byte
	for _, x := range []struct {
		f TCPFlags
		c byte
	}{{FlagSYN, 'S'}, {FlagFIN, 'F'}, {FlagRST, 'R'}, {FlagPSH, 'P'}, {FlagURG, 'U'}, {FlagECE, 'E'}, {FlagCWR, 'W'}, {FlagACK, '.'}} {
		if t.Has(x.f) {
			b = append(b, x.c)
		}
	}
	if len(b) == 0 {
		return "none"
	}
	return string(b)
}

// TCPOptions holds the TCP options that connection analysis uses.
type TCPOptions struct {
	MSS           uint16 // 0 when absent
	WindowScale   int8   // -1 when absent
	SACKPermitted bool
	SACKBlocks    uint8 // number of SACK blocks present (0 when none)
	HasTimestamps bool
	TSVal, TSEcr  uint32
}

// Segment is one TCP segment decoded from a packet: the input of reassembly.
//
// Payload aliases the packet buffer and is valid only until the next packet
// is read. It may be shorter than PayloadLength when the capture's snap length
// cut the frame; the missing bytes were on the wire but are not in the file.
type Segment struct {
	Frame uint64
	Time  int64 // capture time, ns since the Unix epoch

	Src, Dst netip.AddrPort
	// VLAN is the 802.1Q VLAN ID of the outermost tag (0 when untagged);
	// InnerVLAN is the inner tag of a QinQ frame.
	VLAN, InnerVLAN uint16
	// IPID is the IPv4 identification field (0 for IPv6). Together with the
	// bytes it lets reassembly tell a frame the capture duplicated from a
	// retransmission, which carries a new IP ID.
	IPID uint16
	// IPChecksum / TCPChecksum as seen, used with IPID to recognise duplicates.
	TCPChecksum uint16

	Seq, Ack uint32
	Flags    TCPFlags
	Window   uint16 // raw, unscaled
	Options  TCPOptions

	// PayloadLength is the TCP payload length on the wire, computed from the
	// IP header; Payload holds the captured part of it.
	PayloadLength int
	Payload       []byte
}

// Flow returns the segment's direction as (source, destination).
func (s *Segment) Flow() (netip.AddrPort, netip.AddrPort) { return s.Src, s.Dst }
