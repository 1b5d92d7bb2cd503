// Package capture reads packet captures (classic pcap, pcapng, either one
// gzip-compressed, from a file or standard input) and decodes the TCP
// segments inside them. It is the first stage of connscope:
//
//	capture.Reader → capture.Decoder → reassembly → httpflow → diagnose
//
// # Using it
//
//	r, err := capture.Open(name) // "-" reads standard input
//	if err != nil { ... }         // *capture.Error: not a capture, bad header
//	defer r.Close()
//	d := capture.NewDecoder()
//	var seg capture.Segment
//	for {
//		p, err := r.Next()
//		if err == io.EOF { break }
//		if err != nil { ... }     // *capture.Error: damage; packets before it were returned
//		if d.Decode(p, &seg) == capture.SkipNone {
//			// seg is a TCP segment; seg.Payload aliases p.Data
//		}
//	}
//	stats := d.Stats()            // packets, TCP segments, skipped by reason
//
// Packet.Data and Segment.Payload point into the Reader's buffer and are
// valid only until the next call to Next: copy what must outlive it. In
// exchange, reading and decoding allocate nothing per packet
// (TestSteadyStateAllocations proves it). IP fragments (see below) are
// copied into buffers the Decoder reuses (none allocated per datagram once
// warm: BenchmarkDecodeFragments), and the Payload of a segment reassembled
// from them lies in the Decoder's own buffer, valid until the next call to
// Decode.
//
// # Classic pcap
//
// A 24-byte file header, then records. The header starts with a magic
// number written in the byte order of the machine that wrote the file:
// a1b2c3d4 means timestamps in microseconds, a1b23c4d nanoseconds; read
// backwards (d4c3b2a1, 4d3cb2a1) it means the other byte order. The header
// also gives the version (always 2.4 in practice), the snap length (the most
// bytes captured per packet) and the link type of every packet in the file.
// Each record is a 16-byte header (seconds, fraction of a second, captured
// length, original length) and the captured bytes. When the snap length cut
// a packet, the captured length is smaller than the original length.
//
// The "modified" pcap of Alexey Kuznetsov's patched libpcap (Linux, 1999;
// magic a1b2cd34, either byte order, microseconds) is read too, as libpcap
// and tshark read it: its record headers are 24 bytes, the usual 16 then an
// interface index, an EtherType, a packet type and a pad byte, which are
// skipped. Reader.Format says "pcap-modified". An earlier patch wrote 28-byte
// headers under the same magic; tshark guesses which it has, the Reader
// reads only the 24-byte form.
//
// # pcapng
//
// A sequence of blocks, each "type, total length, body, total length". A
// Section Header Block (SHB) starts each section; its byte-order mark sets
// the byte order of the blocks that follow, until the next SHB. Interface
// Description Blocks (IDB) declare interfaces, numbered from 0 within the
// section, each with its own link type, snap length, timestamp unit
// (if_tsresol: 10^-n s, or 2^-n s with the top bit set; default 10^-6) and
// timestamp offset (if_tsoffset, seconds). Packets come in Enhanced Packet
// Blocks (EPB: interface, 64-bit timestamp, lengths, data), Simple Packet
// Blocks (SPB: interface 0, no timestamp; the Reader gives them the previous
// packet's time) and obsolete Packet Blocks (PB). Name resolution,
// statistics, decryption secrets and unknown blocks are skipped. So one
// pcapng file can mix link types, and Packet.LinkType and Packet.Interface
// say which one each packet has.
//
// Compressed input is recognised by the gzip magic (1f 8b), never by the
// file name; so are pcap and pcapng. Reader.Format says which it was.
//
// # Frame numbers
//
// Packet.Frame counts from 1, exactly as Wireshark (tshark 4.0) numbers
// frames, so a user can go from connscope's output to the same frame in
// Wireshark: every packet record counts, whatever it contains (including
// zero-length packets and packets of unknown link types). pcapng blocks that
// Wireshark also lists as frames (custom blocks, systemd journal entries)
// take a number too but are not returned, so Frame has a gap there; other
// non-packet blocks take none. TestSharedPcaps checks frame counts against
// tshark on every public capture.
//
// # Link types
//
// The Decoder understands Ethernet (with 802.1Q, and QinQ tags 0x88a8 and
// 0x9100: Segment.VLAN is the outer ID, InnerVLAN the inner), Linux cooked
// captures v1 (SLL, "tcpdump -i any" before libpcap 1.10) and v2 (SLL2),
// raw IP (LINKTYPE_RAW 101, and DLT_RAW's 12 and 14 from older systems,
// where the IP version nibble picks IPv4 or IPv6; LINKTYPE_IPV4 228,
// LINKTYPE_IPV6 229), BSD loopback (LINKTYPE_NULL: a 4-byte address family
// in the capturing host's byte order; AF_INET6 is 24, 28 or 30 depending on
// the BSD) and OpenBSD loopback (LINKTYPE_LOOP 108: the same in network
// order). Packets of any other link type are counted and skipped
// (SkipUnknownLinkType), not an error.
//
// Between the link layer and IP the Decoder follows, exactly where tshark
// 4.0 does (testdata/linktypes.pcapng holds a frame for each case):
//
//   - IEEE 802.3 frames with LLC/SNAP, as some switches, Token Ring bridges
//     and old gear send IP: a length field (at most 1500) instead of the
//     EtherType, after Ethernet or an 802.1Q tag (or Linux cooked protocol
//     0x0004), then LLC with DSAP and SSAP exactly 0xAA and an unnumbered
//     information (0x03) or information frame, then SNAP with organisation
//     00-00-00 (RFC 1042) or 00-00-F8 (802.1H) and the EtherType. Other LLC
//     frames (spanning tree, NetBIOS) and SNAP codes (Cisco's, Apple's)
//     carry no IP: non_ip. A value from 1501 to 1535 is neither a length
//     nor an EtherType: non_ip.
//   - MPLS (EtherType 0x8847, 0x8848, or PPP protocol 0x0281, 0x0283): labels until
//     the bottom-of-stack bit, then IPv4 or IPv6 told by the first nibble.
//     Other payloads (an Ethernet pseudowire, with or without a control
//     word, an associated channel) are tunnels of frames, not followed:
//     non_ip, where tshark guesses and dissects the frame inside. MPLS in IP
//     (protocol 137) is not followed either: other_ip_proto. (MPLS in GRE
//     is: see Tunnels.)
//   - PPPoE sessions (EtherType 0x8864): the PPPoE header, then PPP protocol
//     0x0021 (IPv4) or 0x0057 (IPv6), 2 bytes or 1 when compressed. Link
//     control, authentication and IPCP packets, PPPoE discovery (0x8863)
//     and PPP with address and control bytes (ff 03) are non_ip. As in
//     tshark, the code, version and type are not checked, and a PPPoE length
//     shorter than the frame cuts off the padding.
//
// These nest as they do on the wire (802.1Q tags then PPPoE, SNAP then
// MPLS, PPPoE then MPLS), and the segment is the one the bare Ethernet frame
// would give: same frame number, time and VLAN IDs. A frame cut inside any
// of these headers, or right after one that announces another, is truncated
// (or malformed when captured whole). Any number of VLAN tags is followed:
// Segment.VLAN is the outermost, InnerVLAN the second. Tunnels of IP are the
// next section.
//
// # Tunnels
//
// Mirrored traffic often arrives in a tunnel (AWS and Azure traffic
// mirroring send VXLAN, switches ERSPAN in GRE, routers IP in IP or 6in4).
// The Decoder follows these, as tshark 4.0 does (testdata/linktypes.pcapng
// holds a frame for each case, testdata/captures real conversations in
// GRE, IP in IP, 6in4 and VXLAN, two recorded from Linux's own VXLAN, to
// port 4789 and to 8472):
//
//   - IP in IP: IPv4 protocol 4 or IPv6 next header 4 (the inner version
//     told by its first nibble, as tshark does), protocol or next header 41
//     (IPv6 only: 6in4, IPv6 in IPv6), also after IPv6 extension headers.
//   - GRE (protocol 47) version 0 (RFC 2784, RFC 2890) with its optional
//     checksum, key and sequence number, and RFC 1701's routing list,
//     carrying IPv4 (0x0800; the first nibble decides again), IPv6 (0x86DD),
//     an Ethernet frame (Transparent Ethernet Bridging, 0x6558), MPLS
//     (0x8847, 0x8848) or a frame mirrored by ERSPAN: type I (0x88BE
//     without a sequence number: the frame at once), type II (0x88BE, an
//     8-byte header of version 1) or type III (0x22EB, a 12-byte header of
//     version 2, 8 more with its O flag). Other GRE (PPTP's enhanced GRE,
//     version 1, carrying PPP; other versions and protocols) is
//     other_ip_proto.
//   - VXLAN (RFC 7348): UDP to port 4789, or to 8472, whose flags have the
//     I bit, an Ethernet frame inside. 8472 is the port Linux uses when a
//     VXLAN device is made without dstport, and flannel's and Cilium's
//     VXLAN port, so pod-to-pod traffic recorded on a Kubernetes node's
//     interface is VXLAN to 8472; it is read exactly as 4789 is.
//     VXLAN-GPE (draft-ietf-nvo3-vxlan-gpe): UDP to port 4790, VXLAN's
//     header with a version and a next protocol, followed as a Linux
//     receiver accepts it (flags I and P set, version 0, O clear: OAM is
//     no tenant traffic), carrying IPv4 (1; the first nibble decides, as
//     in GRE), IPv6 (2), an Ethernet frame (3) or MPLS (5); NSH (4) and
//     other protocols are udp. GENEVE (RFC 8926): UDP to port 6081, version
//     0, its options skipped, carrying an Ethernet frame (0x6558), IPv4 or
//     IPv6. The UDP length bounds what they carry; a UDP length past the
//     IP packet is malformed. Other UDP is udp.
//
// The segment is the innermost one: its addresses, ports and IP ID are the
// inner packet's (that is the connection); its frame number and time are
// the frame's, and Segment.VLAN and InnerVLAN are the first two VLAN tags
// of the whole frame, outermost first (tags outside the tunnel, then those
// of an Ethernet frame inside it, which is how tshark lists them). What a
// tunnel carries is skipped under the usual reasons (ARP in VXLAN is arp,
// UDP in IP in IP is udp). At most four tunnels are followed in one frame
// (maxTunnelDepth): a fifth is counted as if it were not followed
// (other_ip_proto, or udp for VXLAN, VXLAN-GPE and GENEVE), so a hostile frame costs
// at most five passes. A frame cut inside a tunnel header, or right after
// one, is truncated when the snap length cut it and malformed when it was
// captured whole, as for the headers between link and IP; so is a UDP
// header cut before its destination port (the frame might have carried a
// tunnel), where a whole frame that short is udp.
//
// Fragments are reassembled at every level, each before the next is read:
// fragments of the outer packet are reassembled (as in the next section)
// and the tunnel is followed in the datagram, in the frame that completed
// it; an inner packet that is itself a fragment is held and reassembled
// the same way, keyed by its own (inner) addresses and identification, so
// the fragments of one inner datagram may come through different outer
// packets. One frame can so complete an outer and an inner datagram.
//
// Where connscope deliberately differs from tshark 4.0 (the last frames of
// linktypes.pcapng; TestLinkTypesAgainstTshark checks that tshark follows
// them and connscope does not): tshark follows tunnels at any depth; reads
// GRE of any version as version 0 (following IPv4 in version 1, and PPTP's
// PPP to the IP inside); takes UDP from port 4789, 4790 or 6081, as well
// as to it, for VXLAN, VXLAN-GPE or GENEVE, and VXLAN without the I flag,
// which a Linux receiver drops; reads VXLAN-GPE whatever its flags and
// version (a Linux receiver drops it without I or P, of another version,
// or OAM) and follows NSH in it; and reads GENEVE of an unknown version,
// which RFC 8926 says to drop. These frames are skipped (other_ip_proto, udp). The other
// way round, connscope follows VXLAN to UDP port 8472, which tshark 4.0
// shows as UDP data unless told -d udp.port==8472,vxlan (IANA gives 8472
// to Cisco's OTV, whose header is VXLAN's but for which tshark 4.0 has no
// dissector, so nothing else reads that port); the look-alikes of 4789
// (UDP from 8472, no I flag) are skipped there too. linktypes.tsv is
// tshark's reading with that option, linktypes-default.tsv with its
// defaults, and TestLinkTypesAgainstTshark checks that the two differ in
// exactly the frames that carry TCP in VXLAN to port 8472.
//
// # Decoding
//
// The link and IP layers are decoded by gopacket's DecodingLayerParser over
// preallocated layers, which costs no allocation per packet. Small wrappers
// add what gopacket lacks: the 0x9100 QinQ tag, remembering the outer VLAN
// ID of a QinQ frame, the IPv6 extension headers (hop-by-hop, routing,
// destination options) with their lengths, and tshark's rules for LLC and
// SNAP; the MPLS label stack and the PPPoE session with its PPP protocol
// are small hand-written layers (encap.go), gopacket's being no
// DecodingLayers. The IP layers stop at IP in IP, and tunnel.go reads the
// tunnel headers and hands what they carry to the parser that starts with
// IPv4, IPv6, Ethernet or MPLS, one level after another over the same
// preallocated layers. The TCP header is read by a
// hand-written view (tcp.go): gopacket's layers.TCP refuses a header that
// the snap length cut inside its options, and allocates for Multipath TCP
// options.
//
// Segment.PayloadLength comes from the IP header (so Ethernet padding is
// ignored and a snap-length cut is visible as PayloadLength > len(Payload)),
// but never runs past the frame's original length: an IP length that claims
// more than the wire carried is a damaged header, not a cut, and tshark too
// reads only what the frame held. Tunnels are followed (see Tunnels), IP
// fragments reassembled (next section). Everything that is not a TCP
// segment is counted under a SkipReason with a stable snake_case name: udp
// (UDP that is no tunnel followed), icmp, arp, other_ip_proto (IP carrying
// another protocol, tunnels not followed among them), non_ip (a frame carrying no IP where the Decoder reads: see Link
// types), unknown_link_type, ip_fragment (a
// fragment held, or dropped: see below), malformed (headers that contradict
// themselves) and truncated (the snap length cut the frame before the TCP
// header's first 20 bytes).
//
// # IP fragments
//
// A datagram larger than a link's MTU travels as fragments: IPv4 ones cut by
// the sender or by any router when Don't Fragment is clear (PMTU discovery
// off or broken, tunnels and VPNs with a smaller MTU), IPv6 ones only by the
// sender, behind a Fragment extension header. The Decoder reassembles both,
// as tshark does: fragments are keyed by (source, destination, protocol,
// identification) for IPv4 and (source, destination, identification) for
// IPv6, held until the datagram is whole, and the datagram is then decoded
// as one packet, in the frame and at the time of the fragment that
// completed it (tshark's "Reassembled in #N") and with the link-layer
// fields (VLAN) of that frame; its PayloadLength is the datagram's. A
// fragment that is held returns SkipIPFragment. The tests hold this to
// tshark on a real kernel's fragments (testdata/captures/fragmented-http.pcap,
// made by a router in front of a 576-byte MTU link). An IPv6 atomic fragment
// (offset 0, no more fragments: RFC 6946) is a whole packet and is decoded as
// one, at once.
//
// The bounds are Linux's, in capture time, never the wall clock: a datagram
// must be whole within FragmentTimeoutIPv4 (30 s) or FragmentTimeoutIPv6
// (60 s) of its first fragment; the fragments held are charged the buffers
// that hold their bytes plus 64 bytes each, at most MaxFragmentBytes (4 MiB)
// in all, for at most
// MaxFragmentDatagrams (4096) datagrams and MaxFragmentsPerDatagram (2048)
// fragments per datagram. Past a cap the oldest datagram is dropped. Expiry
// is checked when a fragment arrives, so a datagram still incomplete when the
// capture ends is counted as held, not as timed out.
//
// Hostile fragments: overlapping IPv4 fragments are kept, and where their
// bytes differ the fragment with the lower offset wins (on equal offsets the
// one that came first): Wireshark's reassembly does exactly that, as BSD
// stacks do, so connscope sees the bytes tshark shows (Linux instead drops
// such a datagram). An IPv6 fragment that overlaps another drops its whole
// datagram, and later fragments of it until its timeout, as RFC 5722
// requires. An exact copy (same offset, length and bytes) of a fragment
// held, as captures record when a frame is seen twice, is a duplicate and is
// ignored. A copy that comes after its datagram was completed starts a new
// one, as in tshark, whose fragment table forgets a datagram once it is
// reassembled: a whole repeated set is reassembled again (and reassembly
// calls that segment a capture duplicate, by its IP ID and checksum), a lone
// copy waits and is counted as held or timed out. Dropped:
// fragments with no bytes, with More Fragments and a length that is not a
// multiple of 8, reaching past 65535 bytes of datagram, or cut by the snap
// length (their bytes are not all there); and, with every fragment it held,
// a datagram whose fragments disagree on where it ends (two different last
// fragments, or a fragment past the end the last one set).
//
// Stats.Fragments counts the datagrams reassembled and the fragments that
// went into them, duplicates, IPv4 overlaps, drops by reason (timeout,
// overlap, over_cap, too_long, malformed, truncated: FragmentDrop) and the
// fragments still held. Stats.Skipped's ip_fragment counts only the fragments
// that are not part of a reassembled datagram (duplicates, dropped, held):
// one that is part of one is not skipped, so Packets = TCPSegments +
// SkippedTotal() + Fragments.Fragments - Fragments.Datagrams.
// FragmentStats.Warning says in one line, for a report's warnings, what could
// not be reassembled and why (a cap reached among them).
//
// # Damaged input
//
// Nothing here panics, whatever the input (the fuzz targets FuzzReader,
// FuzzDecode and FuzzFragments check it). Damage is an *Error naming the file, the frame and
// the byte offset (in the decompressed input, and the message then says "of
// the decompressed data") of the damaged header, record or block, wrapping
// ErrNotCapture, ErrUnsupportedVersion, ErrTruncated, ErrTooLarge or
// ErrCorrupt (test with errors.Is). A directory is refused by Open with
// ErrNotCapture. The packets before the damage are returned first, and
// after the error Next returns io.EOF.
// Lengths are checked before anything is allocated: a record over
// MaxPacketLength (256 KiB) or a block over MaxBlockLength (16 MiB) is
// refused, so a hostile file cannot make the Reader allocate more than that.
// Oddities that do not stop reading (time going backwards, a packet longer
// than the snap length, snap length 0, a pcapng stamp outside the years an
// int64 of nanoseconds holds, an interface whose option list is damaged)
// are Warnings, kept up to MaxWarnings and counted beyond. An error names
// no frame (only the offset) where no frame is involved: damage in a file
// or section header, an interface description, a name resolution,
// statistics or secrets block (Wireshark numbers none of these), or a gzip
// trailer that does not match the frames already read. testdata/bad at the repository root holds a corpus of
// damaged captures with the expected result of each (see its README.md).
//
// Timestamps are the capture's own: nothing in this package reads the
// clock, so every run over the same file gives the same result.
//
// # Tests
//
// The capturetest package writes synthetic captures of every format and
// link type for tests (also other packages' tests). testdata/gen-expect.sh
// records what tshark sees in the shared public captures
// (testdata/shared-pcaps.tsv), and TestSharedPcaps compares; it also
// records tshark's dissection of testdata/linktypes.pcapng, one frame per
// link type and decoding case, which TestLinkTypesAgainstTshark compares
// field by field (linktypes.tsv, with UDP port 8472 read as VXLAN, and
// linktypes-default.tsv, tshark's defaults: see Tunnels).
// BenchmarkReadDecode measures read + decode throughput.
package capture
