package capture_test

import (
	"net/netip"
	"testing"

	"github.com/connscope/connscope/capture"
	ct "github.com/connscope/connscope/capture/capturetest"
)

var (
	cli4 = netip.MustParseAddrPort("192.0.2.10:49152")
	srv4 = netip.MustParseAddrPort("198.51.100.20:80")
	cli6 = netip.MustParseAddrPort("[2001:db8::10]:49152")
	srv6 = netip.MustParseAddrPort("[2001:db8::20]:8080")
)

func seg4() ct.TCP {
	return ct.TCP{Src: cli4, Dst: srv4, Seq: 1000, Ack: 2000, Flags: capture.FlagACK | capture.FlagPSH,
		Window: 512, IPID: 0x1234, Payload: []byte("GET / HTTP/1.1\r\n\r\n")}
}

func seg6() ct.TCP {
	s := seg4()
	s.Src, s.Dst = cli6, srv6
	return s
}

func decodeOne(lt capture.LinkType, data []byte, origLen int) (capture.SkipReason, capture.Segment, *capture.Decoder) {
	d := capture.NewDecoder()
	p := &capture.Packet{Frame: 9, Time: 77, LinkType: lt, Data: data, CaptureLength: len(data), OriginalLength: max(origLen, len(data))}
	var s capture.Segment
	r := d.Decode(p, &s)
	return r, s, d
}

// TestDecodeLinkTypes decodes the same kind of segment under every link
// type and checks the addresses, VLANs and payload.
func TestDecodeLinkTypes(t *testing.T) {
	ip4, ip6 := seg4().IP(), seg6().IP()
	for _, tc := range []struct {
		desc        string
		lt          capture.LinkType
		frame       []byte
		v6          bool
		vlan, inner uint16
	}{
		{"ethernet ipv4", capture.LinkTypeEthernet, ct.Ethernet(ip4), false, 0, 0},
		{"ethernet ipv6", capture.LinkTypeEthernet, ct.Ethernet(ip6), true, 0, 0},
		{"802.1Q", capture.LinkTypeEthernet, ct.Ethernet(ip4, ct.VLANTag{TPID: ct.EtherVLAN, ID: 3136}), false, 3136, 0},
		{"QinQ 88a8", capture.LinkTypeEthernet, ct.Ethernet(ip6, ct.VLANTag{TPID: ct.EtherQinQ, ID: 100}, ct.VLANTag{TPID: ct.EtherVLAN, ID: 200}), true, 100, 200},
		{"QinQ 9100", capture.LinkTypeEthernet, ct.Ethernet(ip4, ct.VLANTag{TPID: 0x9100, ID: 7}, ct.VLANTag{TPID: ct.EtherVLAN, ID: 8}), false, 7, 8},
		{"QinQ 9100 inside", capture.LinkTypeEthernet, ct.Ethernet(ip4, ct.VLANTag{TPID: ct.EtherVLAN, ID: 5}, ct.VLANTag{TPID: 0x9100, ID: 6}), false, 5, 6},
		{"linux sll", capture.LinkTypeLinuxSLL, ct.LinuxSLL(ct.EtherIPv4, ip4), false, 0, 0},
		{"linux sll2", capture.LinkTypeLinuxSLL2, ct.LinuxSLL2(ct.EtherIPv6, ip6), true, 0, 0},
		{"raw 101 v4", capture.LinkTypeRaw, ip4, false, 0, 0},
		{"raw 101 v6", capture.LinkTypeRaw, ip6, true, 0, 0},
		{"raw 12", capture.LinkTypeRawDLT12, ip4, false, 0, 0},
		{"raw 14", capture.LinkTypeRawDLT14, ip6, true, 0, 0},
		{"ipv4 228", capture.LinkTypeIPv4, ip4, false, 0, 0},
		{"ipv6 229", capture.LinkTypeIPv6, ip6, true, 0, 0},
		{"null little-endian AF_INET", capture.LinkTypeNull, ct.Null(2, false, ip4), false, 0, 0},
		{"null big-endian AF_INET", capture.LinkTypeNull, ct.Null(2, true, ip4), false, 0, 0},
		{"null AF_INET6 24 (NetBSD, OpenBSD)", capture.LinkTypeNull, ct.Null(24, false, ip6), true, 0, 0},
		{"null AF_INET6 28 (FreeBSD)", capture.LinkTypeNull, ct.Null(28, true, ip6), true, 0, 0},
		{"null AF_INET6 30 (macOS)", capture.LinkTypeNull, ct.Null(30, false, ip6), true, 0, 0},
		{"openbsd loop", capture.LinkTypeLoop, ct.Null(24, true, ip6), true, 0, 0},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			r, s, d := decodeOne(tc.lt, tc.frame, 0)
			if r != capture.SkipNone {
				t.Fatalf("skipped: %v", r)
			}
			want := seg4()
			if tc.v6 {
				want = seg6()
			}
			if s.Src != want.Src || s.Dst != want.Dst {
				t.Errorf("flow %v -> %v, want %v -> %v", s.Src, s.Dst, want.Src, want.Dst)
			}
			if s.VLAN != tc.vlan || s.InnerVLAN != tc.inner {
				t.Errorf("VLAN %d/%d, want %d/%d", s.VLAN, s.InnerVLAN, tc.vlan, tc.inner)
			}
			if s.Frame != 9 || s.Time != 77 || s.Seq != 1000 || s.Ack != 2000 || s.Flags != capture.FlagACK|capture.FlagPSH || s.Window != 512 {
				t.Errorf("header fields: %+v", s)
			}
			if string(s.Payload) != string(want.Payload) || s.PayloadLength != len(want.Payload) {
				t.Errorf("payload %q (%d), want %q", s.Payload, s.PayloadLength, want.Payload)
			}
			wantID := uint16(0x1234)
			if tc.v6 {
				wantID = 0
			}
			if s.IPID != wantID || s.TCPChecksum == 0 {
				t.Errorf("IPID %#x checksum %#x", s.IPID, s.TCPChecksum)
			}
			st := d.Stats()
			if st.Packets != 1 || st.TCPSegments != 1 || st.ByLinkType[tc.lt] != 1 || st.SkippedTotal() != 0 {
				t.Errorf("stats %+v", st)
			}
		})
	}
}

func TestDecodeTCPOptions(t *testing.T) {
	s := seg4()
	s.Flags = capture.FlagSYN
	s.Payload = nil
	var opts []byte
	opts = append(opts, ct.OptMSS(1460)...)
	opts = append(opts, ct.OptSACKPermitted()...)
	opts = append(opts, ct.OptTimestamps(111, 222)...)
	opts = append(opts, ct.OptWindowScale(7)...)
	s.Options = opts
	r, got, _ := decodeOne(capture.LinkTypeRaw, s.IP(), 0)
	want := capture.TCPOptions{MSS: 1460, WindowScale: 7, SACKPermitted: true, HasTimestamps: true, TSVal: 111, TSEcr: 222}
	if r != capture.SkipNone || got.Options != want {
		t.Errorf("%v: options %+v, want %+v", r, got.Options, want)
	}

	s.Options = append(ct.OptSACK(3), ct.OptWindowScale(200)...) // scale above 14 counts as 14
	_, got, _ = decodeOne(capture.LinkTypeRaw, s.IP(), 0)
	if got.Options.SACKBlocks != 3 || got.Options.WindowScale != 14 || got.Options.MSS != 0 {
		t.Errorf("options %+v", got.Options)
	}

	s.Options = []byte{2, 4, 5, 0xb4, 3, 40} // MSS, then a window scale whose length overruns
	_, got, _ = decodeOne(capture.LinkTypeRaw, s.IP(), 0)
	if got.Options.MSS != 1460 || got.Options.WindowScale != -1 {
		t.Errorf("options %+v", got.Options)
	}

	s.Options = nil
	_, got, _ = decodeOne(capture.LinkTypeRaw, s.IP(), 0)
	if got.Options != (capture.TCPOptions{WindowScale: -1}) {
		t.Errorf("no options decoded as %+v", got.Options)
	}
}

// TestDecodeLengths: the payload length comes from the IP header, not from
// the frame (Ethernet pads short frames to 60 bytes), and a snap length that
// cut the frame leaves PayloadLength > len(Payload).
func TestDecodeLengths(t *testing.T) {
	s := seg4()
	s.Payload = []byte("hi")
	frame := append(ct.Ethernet(s.IP()), make([]byte, 10)...) // Ethernet padding
	r, got, _ := decodeOne(capture.LinkTypeEthernet, frame, 0)
	if r != capture.SkipNone || string(got.Payload) != "hi" || got.PayloadLength != 2 {
		t.Errorf("%v: payload %q length %d", r, got.Payload, got.PayloadLength)
	}

	s.Payload = make([]byte, 1000)
	full := ct.Ethernet(s.IP())
	r, got, d := decodeOne(capture.LinkTypeEthernet, full[:14+20+20+100], len(full))
	if r != capture.SkipNone || len(got.Payload) != 100 || got.PayloadLength != 1000 || d.Stats().CutSegments != 1 {
		t.Errorf("%v: cut payload %d of %d, cut count %d", r, len(got.Payload), got.PayloadLength, d.Stats().CutSegments)
	}

	// Cut inside the TCP options: the segment is kept, with what was captured.
	s.Options = append(ct.OptMSS(1400), ct.OptTimestamps(1, 2)...)
	full = ct.Ethernet(s.IP())
	r, got, _ = decodeOne(capture.LinkTypeEthernet, full[:14+20+20+4], len(full))
	if r != capture.SkipNone || got.Options.MSS != 1400 || got.Options.HasTimestamps || got.PayloadLength != 1000 || len(got.Payload) != 0 {
		t.Errorf("%v: options %+v payload %d/%d", r, got.Options, len(got.Payload), got.PayloadLength)
	}

	// IPv4 with header options (IHL 7): the TCP header starts after them.
	s4 := seg4()
	plain := s4.IP()
	withOpts := append(append([]byte{0x47}, plain[1:20]...), 0x94, 0x04, 0, 0, 1, 1, 1, 0) // router alert, NOPs, end
	withOpts = append(withOpts, plain[20:]...)
	withOpts[2], withOpts[3] = byte(len(withOpts)>>8), byte(len(withOpts))
	r, got, _ = decodeOne(capture.LinkTypeRaw, withOpts, 0)
	if r != capture.SkipNone || got.Seq != 1000 || string(got.Payload) != string(s4.Payload) {
		t.Errorf("%v: IPv4 with options: seq %d payload %q", r, got.Seq, got.Payload)
	}

	// Total length 0, as captured on a host doing TCP segmentation offload:
	// the packet runs to the end of the frame.
	tso := seg4().IP()
	tso[2], tso[3] = 0, 0
	r, got, _ = decodeOne(capture.LinkTypeRaw, tso, 0)
	if r != capture.SkipNone || got.PayloadLength != len(s4.Payload) {
		t.Errorf("%v: IPv4 total length 0: payload length %d", r, got.PayloadLength)
	}

	// An IP total length beyond the frame, which was captured whole
	// (captured length = original length): the bytes it claims were never
	// on the wire, so the segment carries what the frame held, as tshark
	// reads it (Len=2), and nothing counts as cut by the snap length.
	for _, tc := range []struct {
		desc string
		ip   []byte
	}{
		{"ipv4", func() []byte { b := s4.IP(); b[2], b[3] = byte((len(b)+100)>>8), byte(len(b)+100); return b }()},
		{"ipv6", func() []byte { b := seg6().IP(); b[4], b[5] = 0x04, 0x00; return b }()},
	} {
		r, got, d = decodeOne(capture.LinkTypeEthernet, ct.Ethernet(tc.ip), 0)
		if r != capture.SkipNone || got.PayloadLength != len(s4.Payload) || string(got.Payload) != string(s4.Payload) || d.Stats().CutSegments != 0 {
			t.Errorf("%s total length beyond a whole frame: %v, payload %q length %d, cut count %d (want length %d, not cut)",
				tc.desc, r, got.Payload, got.PayloadLength, d.Stats().CutSegments, len(s4.Payload))
		}
		// The same frame cut by the snap length 8 bytes before its end: the
		// payload on the wire is still the frame's, of which 8 bytes are
		// missing from the capture.
		frame := ct.Ethernet(tc.ip)
		r, got, d = decodeOne(capture.LinkTypeEthernet, frame[:len(frame)-8], len(frame))
		if r != capture.SkipNone || got.PayloadLength != len(s4.Payload) || len(got.Payload) != len(s4.Payload)-8 || d.Stats().CutSegments != 1 {
			t.Errorf("%s total length beyond a cut frame: %v, payload %d of length %d, cut count %d (want %d of %d, cut)",
				tc.desc, r, len(got.Payload), got.PayloadLength, d.Stats().CutSegments, len(s4.Payload)-8, len(s4.Payload))
		}
	}

	// An IPv6 atomic fragment (RFC 6946: a fragment header with offset 0
	// and no more fragments) holds a whole packet, which tshark decodes as
	// TCP: so does the Decoder, behind any extension headers.
	for _, tc := range []struct {
		desc string
		next uint8 // the IPv6 header's next header
		ext  func([]byte) []byte
	}{
		{"atomic fragment", ct.ProtoIPv6Frag, func(b []byte) []byte { return b }},
		{"atomic fragment after hop-by-hop", 0, func(b []byte) []byte { return ct.IPv6Ext(ct.ProtoIPv6Frag, b) }},
	} {
		atomic := append([]byte{ct.ProtoTCP, 0, 0, 0, 0, 0, 0, 9}, seg6().Segment()...)
		r, got, _ = decodeOne(capture.LinkTypeRaw, ct.IPv6(cli6.Addr(), srv6.Addr(), tc.next, tc.ext(atomic)), 0)
		if r != capture.SkipNone || got.Src != cli6 || got.Seq != 1000 || string(got.Payload) != string(s4.Payload) || got.PayloadLength != len(s4.Payload) {
			t.Errorf("%s: %v, %v seq %d payload %q length %d", tc.desc, r, got.Src, got.Seq, got.Payload, got.PayloadLength)
		}
	}

	// IPv6 with hop-by-hop, routing and destination-options headers.
	s6 := seg6()
	tcp := s6.Segment()
	ext := ct.IPv6Ext(43, ct.IPv6Ext(60, ct.IPv6Ext(ct.ProtoTCP, tcp))) // hop-by-hop -> routing -> dest opts -> TCP
	pkt := ct.IPv6(cli6.Addr(), srv6.Addr(), 0, ext)
	r, got, _ = decodeOne(capture.LinkTypeRaw, append(pkt, 0, 0, 0), 0) // with trailing junk
	if r != capture.SkipNone || string(got.Payload) != string(s6.Payload) || got.PayloadLength != len(s6.Payload) {
		t.Errorf("%v: IPv6 with extensions: payload %q (%d)", r, got.Payload, got.PayloadLength)
	}
}

func TestDecodeSkips(t *testing.T) {
	udp := ct.UDP(cli4, srv4, []byte("dns"))
	icmp := ct.IPv4(cli4.Addr(), srv4.Addr(), ct.ProtoICMP, 1, []byte{8, 0, 0, 0, 0, 0, 0, 0})
	icmp6 := ct.IPv6(cli6.Addr(), srv6.Addr(), ct.ProtoICMPv6, []byte{128, 0, 0, 0})
	gre := ct.IPv4(cli4.Addr(), srv4.Addr(), 47, 1, make([]byte, 8))
	// IP in IP is followed (tunnel_test.go); what it carries here is not.
	ipip := ct.IPv4(cli4.Addr(), srv4.Addr(), 4, 1, ct.IPv4(cli4.Addr(), srv4.Addr(), 47, 1, []byte{0, 1, 8, 0}))
	frag := seg4().IP()
	frag[6] |= 0x20 // more fragments
	lastFrag := seg4().IP()
	lastFrag[7] = 10 // offset 80
	frag6 := ct.IPv6(cli6.Addr(), srv6.Addr(), ct.ProtoIPv6Frag, append([]byte{ct.ProtoTCP, 0, 0, 1, 0, 0, 0, 1}, seg6().Segment()...))
	badVersion := seg4().IP()
	badVersion[0] = 0x55
	shortTCP := seg4().IP()
	shortTCP = ct.IPv4(cli4.Addr(), srv4.Addr(), ct.ProtoTCP, 1, shortTCP[20:30])
	badOffset := seg4().IP()
	badOffset[20+12] = 0x30 // data offset 3 words
	eth := ct.Ethernet(seg4().IP())
	// hop-by-hop -> destination options -> routing -> TCP
	ext6 := ct.IPv6(cli6.Addr(), srv6.Addr(), 0, ct.IPv6Ext(60, ct.IPv6Ext(43, ct.IPv6Ext(ct.ProtoTCP, seg6().Segment()))))

	for _, tc := range []struct {
		desc    string
		lt      capture.LinkType
		frame   []byte
		origLen int
		want    capture.SkipReason
	}{
		{"udp", capture.LinkTypeEthernet, ct.Ethernet(udp), 0, capture.SkipUDP},
		{"icmp", capture.LinkTypeRaw, icmp, 0, capture.SkipICMP},
		{"icmpv6", capture.LinkTypeRaw, icmp6, 0, capture.SkipICMP},
		{"arp", capture.LinkTypeEthernet, ct.EthernetType(ct.EtherARP, make([]byte, 28)), 0, capture.SkipARP},
		{"arp in vlan", capture.LinkTypeEthernet, ct.EthernetType(ct.EtherARP, make([]byte, 28), ct.VLANTag{TPID: ct.EtherVLAN, ID: 2}), 0, capture.SkipARP},
		{"gre", capture.LinkTypeRaw, gre, 0, capture.SkipOtherIPProto},
		{"ip in ip carrying gre version 1", capture.LinkTypeRaw, ipip, 0, capture.SkipOtherIPProto},
		{"lldp", capture.LinkTypeEthernet, ct.EthernetType(0x88cc, make([]byte, 40)), 0, capture.SkipNonIP},
		{"802.3 llc", capture.LinkTypeEthernet, ct.EthernetType(40, make([]byte, 40)), 0, capture.SkipNonIP},
		{"raw with version 5", capture.LinkTypeRaw, badVersion, 0, capture.SkipNonIP},
		{"unknown link type", capture.LinkType(147), eth, 0, capture.SkipUnknownLinkType},
		{"ipv4 first fragment", capture.LinkTypeRaw, frag, 0, capture.SkipIPFragment},
		{"ipv4 later fragment", capture.LinkTypeRaw, lastFrag, 0, capture.SkipIPFragment},
		{"ipv6 fragment", capture.LinkTypeRaw, frag6, 0, capture.SkipIPFragment},
		{"ipv4 says version 5", capture.LinkTypeEthernet, ct.EthernetType(ct.EtherIPv4, badVersion), 0, capture.SkipMalformed},
		{"tcp header shorter than 20 bytes", capture.LinkTypeRaw, shortTCP, 0, capture.SkipMalformed},
		{"tcp data offset below 5", capture.LinkTypeRaw, badOffset, 0, capture.SkipMalformed},
		{"empty frame", capture.LinkTypeEthernet, nil, 0, capture.SkipMalformed},
		{"empty raw frame", capture.LinkTypeRaw, nil, 0, capture.SkipMalformed},
		{"ethernet cut by snaplen", capture.LinkTypeEthernet, eth[:10], len(eth), capture.SkipTruncated},
		{"ip header cut by snaplen", capture.LinkTypeEthernet, eth[:14+12], len(eth), capture.SkipTruncated},
		{"tcp header cut by snaplen", capture.LinkTypeEthernet, eth[:14+20+12], len(eth), capture.SkipTruncated},
		{"ethernet too short", capture.LinkTypeEthernet, eth[:10], 0, capture.SkipMalformed},
		// Frames captured whole whose IP header runs past their end: the
		// snap length cut nothing, the header is wrong (tshark: Malformed).
		{"ipv6 header longer than a whole frame", capture.LinkTypeEthernet, ct.Ethernet(seg6().IP())[:14+30], 0, capture.SkipMalformed},
		{"ipv4 options longer than a whole frame", capture.LinkTypeEthernet, func() []byte { b := ct.Ethernet(seg4().IP())[:14+20]; b[14] = 0x4f; return b }(), 0, capture.SkipMalformed},
		{"ipv6 header cut by snaplen", capture.LinkTypeEthernet, ct.Ethernet(seg6().IP())[:14+30], 14 + 40 + 20, capture.SkipTruncated},
		// A frame that ends right after an IPv6 extension header, before
		// the next one: cut (or damaged), not a protocol other than TCP.
		{"ipv6 cut by snaplen after hop-by-hop", capture.LinkTypeRaw, ext6[:40+8], len(ext6), capture.SkipTruncated},
		{"ipv6 cut by snaplen after destination options", capture.LinkTypeRaw, ext6[:40+16], len(ext6), capture.SkipTruncated},
		{"ipv6 whole frame ending after routing header", capture.LinkTypeRaw, ext6[:40+24], 0, capture.SkipMalformed},
		{"ethernet header only, cut by snaplen", capture.LinkTypeEthernet, eth[:14], len(eth), capture.SkipTruncated},
		{"ethernet header only, nothing after it", capture.LinkTypeEthernet, eth[:14], 0, capture.SkipMalformed},
		{"vlan tag then nothing", capture.LinkTypeEthernet, ct.EthernetType(ct.EtherIPv6, nil, ct.VLANTag{TPID: ct.EtherVLAN, ID: 1}), 0, capture.SkipMalformed},
		{"ip total length below header", capture.LinkTypeRaw, func() []byte { b := seg4().IP(); b[2], b[3] = 0, 10; return b }(), 0, capture.SkipMalformed},
		{"null unknown family", capture.LinkTypeNull, ct.Null(99, false, seg4().IP()), 0, capture.SkipNonIP},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			r, _, d := decodeOne(tc.lt, tc.frame, tc.origLen)
			if r != tc.want {
				t.Fatalf("reason %v, want %v", r, tc.want)
			}
			st := d.Stats()
			if st.Skipped[tc.want] != 1 || st.TCPSegments != 0 || st.Packets != 1 {
				t.Errorf("stats %+v", st)
			}
		})
	}
}

func TestSkipReasonNames(t *testing.T) {
	seen := map[string]bool{}
	for _, r := range capture.SkipReasons() {
		n := r.String()
		if n == "" || seen[n] || n == capture.SkipNone.String() {
			t.Errorf("reason %d has name %q (duplicate or empty)", r, n)
		}
		for _, c := range n {
			if !(c >= 'a' && c <= 'z' || c == '_' || c >= '0' && c <= '9') {
				t.Errorf("name %q is not snake_case", n)
			}
		}
		seen[n] = true
	}
	if len(seen) != 9 || capture.SkipUDP.String() != "udp" || capture.SkipIPFragment.String() != "ip_fragment" {
		t.Errorf("names %v", seen)
	}
}

// TestDecodeStatsAcrossLinkTypes checks the per-link-type counts, which are
// batched per run of same-type packets.
func TestDecodeStatsAcrossLinkTypes(t *testing.T) {
	d := capture.NewDecoder()
	var s capture.Segment
	eth, raw := ct.Ethernet(seg4().IP()), seg4().IP()
	seq := []capture.LinkType{1, 1, 101, 1, 101, 101, 147}
	for i, lt := range seq {
		data := eth
		if lt == 101 {
			data = raw
		}
		d.Decode(&capture.Packet{Frame: uint64(i + 1), LinkType: lt, Data: data, CaptureLength: len(data), OriginalLength: len(data)}, &s)
		if i == 3 {
			if got := d.Stats().ByLinkType; got[1] != 3 || got[101] != 1 {
				t.Errorf("after 4 packets: %v", got)
			}
		}
	}
	st := d.Stats()
	if st.ByLinkType[1] != 3 || st.ByLinkType[101] != 3 || st.ByLinkType[147] != 1 || st.Packets != 7 || st.TCPSegments != 6 || st.Skipped[capture.SkipUnknownLinkType] != 1 {
		t.Errorf("stats %+v", st)
	}
}
