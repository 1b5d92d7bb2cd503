package capture

import "strconv"

// SkipReason says why the Decoder produced no TCP segment from a packet.
// SkipNone means it did.
type SkipReason uint8

// Skip reasons. Their String values are stable snake_case keys for reports.
const (
	SkipNone            SkipReason = iota // a TCP segment was decoded
	SkipUDP                               // UDP (including QUIC, DNS)
	SkipICMP                              // ICMP or ICMPv6
	SkipARP                               // ARP
	SkipOtherIPProto                      // IP carrying something other than TCP, UDP or ICMP
	SkipNonIP                             // a link-layer frame carrying neither IPv4 nor IPv6
	SkipUnknownLinkType                   // a link type the Decoder does not understand
	SkipIPFragment                        // an IPv4 or IPv6 fragment held for reassembly, or dropped
	SkipMalformed                         // headers that contradict themselves
	SkipTruncated                         // the capture cut the frame before the TCP header ended

	numSkipReasons
)

var skipNames = [numSkipReasons]string{
	SkipNone:            "none",
	SkipUDP:             "udp",
	SkipICMP:            "icmp",
	SkipARP:             "arp",
	SkipOtherIPProto:    "other_ip_proto",
	SkipNonIP:           "non_ip",
	SkipUnknownLinkType: "unknown_link_type",
	SkipIPFragment:      "ip_fragment",
	SkipMalformed:       "malformed",
	SkipTruncated:       "truncated",
}

// String returns the reason's stable snake_case key.
func (r SkipReason) String() string {
	if r < numSkipReasons {
		return skipNames[r]
	}
	return "skip_" + strconv.Itoa(int(r))
}

// SkipReasons lists every reason other than SkipNone, in order, for reports
// that print all counters.
func SkipReasons() []SkipReason {
	out := make([]SkipReason, 0, numSkipReasons-1)
	for r := SkipUDP; r < numSkipReasons; r++ {
		out = append(out, r)
	}
	return out
}

// Stats counts what a Decoder has seen.
type Stats struct {
	// Packets is every packet passed to Decode.
	Packets uint64
	// TCPSegments is the packets that yielded a segment (SkipNone).
	TCPSegments uint64
	// CutSegments is the TCP segments whose payload (or options) the
	// capture's snap length cut short: PayloadLength > len(Payload).
	CutSegments uint64
	// Skipped counts packets by reason; Skipped[SkipNone] is always 0.
	// Skipped[SkipIPFragment] counts the fragments that are not part of a
	// reassembled datagram (so far): duplicates, dropped fragments and those
	// still held (Fragments says which). A fragment that became part of
	// one is not skipped: Packets = TCPSegments + SkippedTotal() +
	// Fragments.Fragments - Fragments.Datagrams.
	Skipped [numSkipReasons]uint64
	// ByLinkType counts packets per link type.
	ByLinkType map[LinkType]uint64
	// Fragments counts IP fragment reassembly.
	Fragments FragmentStats
}

// SkippedTotal is the number of packets that yielded no segment.
func (s *Stats) SkippedTotal() uint64 {
	var n uint64
	for _, c := range s.Skipped {
		n += c
	}
	return n
}
