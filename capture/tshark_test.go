package capture_test

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/connscope/connscope/capture"
	ct "github.com/connscope/connscope/capture/capturetest"
)

var updateLinktypes = flag.Bool("update-linktypes", false, "rewrite testdata/linktypes.pcapng; then run testdata/gen-expect.sh to refresh linktypes.tsv")

// linktypesCapture is a pcapng file with one interface per frame, covering
// every link type and the decoding cases that matter, for comparison with
// tshark (testdata/linktypes.tsv, written by testdata/gen-expect.sh).
func linktypesCapture() []byte {
	ip4, ip6 := seg4().IP(), seg6().IP()
	s6 := seg6()
	ext := ct.IPv6(cli6.Addr(), srv6.Addr(), 0, ct.IPv6Ext(43, ct.IPv6Ext(60, ct.IPv6Ext(ct.ProtoTCP, s6.Segment()))))
	syn := seg4()
	syn.Flags, syn.Payload = capture.FlagSYN, nil
	syn.Options = append(append(ct.OptMSS(1460), ct.OptSACKPermitted()...), append(ct.OptTimestamps(1000, 0), ct.OptWindowScale(7)...)...)
	big := seg4()
	big.Payload = make([]byte, 1000)
	cut := ct.Ethernet(big.IP())
	frag := seg4().IP()
	frag[6] |= 0x20
	withOpts := append(append([]byte{0x47}, ip4[1:20]...), 0x94, 0x04, 0, 0, 1, 1, 1, 0) // router alert, NOPs, end
	withOpts = append(withOpts, ip4[20:]...)
	withOpts[2], withOpts[3] = byte(len(withOpts)>>8), byte(len(withOpts))
	atomic := ct.IPv6(cli6.Addr(), srv6.Addr(), ct.ProtoIPv6Frag, append([]byte{ct.ProtoTCP, 0, 0, 0, 0, 0, 0, 9}, s6.Segment()...))
	lying := seg4().IP() // total length 100 bytes past the frame, captured whole
	lying[2], lying[3] = byte((len(lying)+100)>>8), byte(len(lying)+100)
	vlanSLL := func(ip []byte, et uint16) []byte {
		return append([]byte{0, 5, byte(et >> 8), byte(et)}, ip...) // 802.1Q tag: VLAN 5, then et
	}
	// Encapsulations between the link layer and IP (encap.go), and the
	// neighbouring cases tshark reads as no IP.
	vlan := func(id uint16) ct.VLANTag { return ct.VLANTag{TPID: ct.EtherVLAN, ID: id} }
	snapOUI := func(oui byte) []byte {
		b := ct.LLCSNAP(ct.EtherIPv4, ip4)
		b[5] = oui
		return ct.IEEE8023(b)
	}
	llcIFrame := ct.IEEE8023(append([]byte{0xaa, 0xaa, 0x00, 0x00, 0, 0, 0, 0x08, 0x00}, ip4...))
	llcGroup := ct.EthernetLLCSNAP(ip4)
	llcGroup[14] = 0xab
	notALength := ct.EthernetLLCSNAP(ip4)
	notALength[12], notALength[13] = 1510>>8, 1510&0xff
	pppoeCompressed := ct.EthernetType(ct.EtherPPPoESession, compressPPP(ct.PPPoESession(ct.PPPIPv4, ip4)))
	frames := []struct {
		lt      capture.LinkType
		data    []byte
		origLen int
	}{
		{1, ct.Ethernet(ip4), 0},
		{1, ct.Ethernet(ip6), 0},
		{1, ct.Ethernet(ip4, ct.VLANTag{TPID: ct.EtherVLAN, ID: 3136}), 0},
		{1, ct.Ethernet(ip6, ct.VLANTag{TPID: ct.EtherQinQ, ID: 100}, ct.VLANTag{TPID: ct.EtherVLAN, ID: 200}), 0},
		{1, ct.Ethernet(ip4, ct.VLANTag{TPID: 0x9100, ID: 7}, ct.VLANTag{TPID: ct.EtherVLAN, ID: 8}), 0},
		{113, ct.LinuxSLL(ct.EtherIPv4, ip4), 0},
		{276, ct.LinuxSLL2(ct.EtherIPv6, ip6), 0},
		{101, ip4, 0}, {101, ip6, 0}, {12, ip4, 0}, {14, ip6, 0}, {228, ip4, 0}, {229, ip6, 0},
		{0, ct.Null(2, false, ip4), 0}, {0, ct.Null(2, true, ip4), 0},
		{0, ct.Null(24, false, ip6), 0}, {0, ct.Null(28, true, ip6), 0}, {0, ct.Null(30, false, ip6), 0},
		{108, ct.Null(24, true, ip6), 0},
		{101, ext, 0},
		{1, ct.Ethernet(syn.IP()), 0},
		{1, cut[:100], len(cut)},
		{1, append(ct.Ethernet(seg4().IP()), make([]byte, 6)...), 0}, // Ethernet padding
		{1, ct.Ethernet(ct.UDP(cli4, srv4, []byte("q"))), 0},
		{1, ct.EthernetType(ct.EtherARP, make([]byte, 28)), 0},
		{101, frag, 0},
		{101, ct.IPv4(cli4.Addr(), srv4.Addr(), ct.ProtoICMP, 1, []byte{8, 0, 0xf7, 0xff, 0, 0, 0, 0}), 0},
		{1, ct.Ethernet(withOpts), 0},
		{101, atomic, 0},
		{1, ct.Ethernet(lying), 0},
		{101, ext[:40+8], len(ext)}, // cut right after the hop-by-hop header
		{113, ct.LinuxSLL(ct.EtherVLAN, vlanSLL(ip4, ct.EtherIPv4)), 0},
		{276, ct.LinuxSLL2(ct.EtherVLAN, vlanSLL(ip6, ct.EtherIPv6)), 0},
		{1, ct.Ethernet(ip4, ct.VLANTag{TPID: ct.EtherQinQ, ID: 1}, vlan(2), vlan(3)), 0}, // three tags
		{1, ct.EthernetLLCSNAP(ip4), 0},
		{1, ct.EthernetLLCSNAP(ip6, vlan(12)), 0},
		{1, snapOUI(0xf8), 0}, // 00-00-F8, 802.1H: an EtherType
		{1, snapOUI(0x0c), 0}, // 00-00-0C, Cisco: no EtherType
		{1, llcIFrame, 0},     // information frame, 2-byte control
		{1, llcGroup, 0},      // DSAP 0xAB
		{1, notALength, 0},    // 1510: neither length nor EtherType
		{113, ct.LinuxSLL(0x0004, ct.LLCSNAP(ct.EtherIPv4, ip4)), 0}, // 802.2 LLC on cooked v1
		{1, ct.EthernetMPLS(ip4, 100), 0},
		{1, ct.EthernetMPLS(ip6, 16001, 24005, 3), 0},
		{1, ct.EthernetType(ct.EtherMPLSMulticast, ct.MPLSLabels([]uint32{7}, ip4)), 0},
		{1, ct.EthernetType(ct.EtherMPLS, ct.MPLSLabels([]uint32{5}, ip6), vlan(9)), 0},
		{1, ct.EthernetType(ct.EtherMPLS, []byte{0, 0x64, 0, 64, 0, 0x65, 0, 64}), 0}, // no bottom of stack
		{113, ct.LinuxSLL(ct.EtherMPLS, ct.MPLSLabels([]uint32{1, 2}, ip4)), 0},
		{1, ct.EthernetPPPoE(ip4), 0},
		{1, ct.EthernetPPPoE(ip6, vlan(7)), 0},
		{1, pppoeCompressed, 0},
		{1, ct.EthernetType(ct.EtherPPPoESession, ct.PPPoESession(ct.PPPMPLS, ct.MPLSLabels([]uint32{42}, ip4))), 0},
		{1, ct.EthernetType(ct.EtherPPPoESession, ct.PPPoESession(ct.PPPLCP, []byte{9, 1, 0, 8, 0, 0, 0, 0})), 0},
		{1, ct.EthernetType(ct.EtherPPPoEDiscovery, ct.PPPoESession(ct.PPPIPv4, ip4)), 0},
		{276, ct.LinuxSLL2(ct.EtherPPPoESession, ct.PPPoESession(ct.PPPIPv6, ip6)), 0},
	}
	// Tunnels (tunnel.go): every frame tunnel_test.go decodes, and the
	// neighbouring cases tshark reads as no TCP.
	for _, e := range tunnelledFrames() {
		frames = append(frames, struct {
			lt      capture.LinkType
			data    []byte
			origLen int
		}{e.lt, e.frame, 0})
	}
	greCut := ct.Ethernet(grePacket(ct.GREOptions{Key: true}, ct.EtherIPv4, ip4))
	vxlanCut := ct.Ethernet(vxlanPacket(false, ct.Ethernet(ip4)))
	vxlan8472Cut := ct.Ethernet(vxlanPacketTo(ct.PortVXLANLinux, false, ct.VXLAN(42, ct.Ethernet(ip4))))
	udpTo := func(dst uint16, payload []byte) []byte {
		return ct.Ethernet(ct.UDP(netip.AddrPortFrom(tun4a, 51234), netip.AddrPortFrom(tun4b, dst), payload))
	}
	erspanV3 := erspanII()
	erspanV3[0] = 0x30
	for _, f := range []struct {
		lt      capture.LinkType
		data    []byte
		origLen int
	}{
		{1, greCut[:14+20+6], len(greCut)},                               // cut inside the GRE key
		{1, vxlanCut[:14+20+8+8+10], len(vxlanCut)},                      // cut inside the inner Ethernet header
		{1, ct.Ethernet(ct.IPv4(tun4a, tun4b, ct.ProtoIPv6, 1, ip4)), 0}, // IPv4 under protocol 41
		{1, ct.Ethernet(vxlanPacket(false, ct.EthernetType(ct.EtherARP, make([]byte, 28)))), 0},
		{1, udpTo(ct.PortVXLANLinux, ct.VXLAN(42, ct.EthernetType(ct.EtherARP, make([]byte, 28)))), 0},
		{1, vxlan8472Cut[:14+20+8+8+10], len(vxlan8472Cut)},                                                             // VXLAN to port 8472, cut inside the inner Ethernet header
		{1, udpTo(ct.PortVXLANGPE, ct.VXLANGPE(0x99, 42, ip4)), 0},                                                      // VXLAN-GPE, unknown next protocol
		{1, udpTo(ct.PortVXLANGPE, ct.VXLANGPE(ct.GPEIPv4, 42, append([]byte{0x55}, ip4[1:]...))), 0},                   // VXLAN-GPE IPv4, version 5 inside
		{1, udpTo(ct.PortVXLANGPE, ct.VXLANGPE(ct.GPEEthernet, 42, ct.EthernetType(ct.EtherARP, make([]byte, 28)))), 0}, // VXLAN-GPE ARP
		{1, ct.Ethernet(grePacket(ct.GREOptions{Sequence: true}, ct.EtherERSPAN, append(erspanV3, ct.Ethernet(ip4)...))), 0},
	} {
		frames = append(frames, f)
	}
	// Last, the look-alikes tshark follows and connscope does not
	// (tunnelLookalikes).
	for _, f := range tunnelLookalikes() {
		frames = append(frames, struct {
			lt      capture.LinkType
			data    []byte
			origLen int
		}{1, f.frame, 0})
	}
	var b bytes.Buffer
	w := ct.NewPcapng(&b)
	w.Section(false)
	for i, f := range frames {
		w.Interface(ct.Interface{LinkType: f.lt})
		w.EPB(uint32(i), uint64(1_600_000_000_000_000+i), f.data, max(f.origLen, len(f.data)))
	}
	return b.Bytes()
}

// TestLinkTypesAgainstTshark decodes testdata/linktypes.pcapng and compares
// each frame with what tshark 4.0 dissected in it: addresses, ports, TCP
// payload length (from the IP header), VLAN IDs and TCP options. Frames
// tshark shows without TCP must be skipped.
func TestLinkTypesAgainstTshark(t *testing.T) {
	path := filepath.Join("testdata", "linktypes.pcapng")
	if *updateLinktypes {
		if err := os.WriteFile(path, linktypesCapture(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(data, linktypesCapture()) {
		t.Fatalf("%s differs from linktypesCapture; run with -update-linktypes, then gen-expect.sh", path)
	}
	want := readTsharkFields(t, filepath.Join("testdata", "linktypes.tsv"))
	// UDP to port 8472, Linux's default VXLAN port, is VXLAN to connscope
	// and to tshark only when told (linktypes.tsv was written with
	// -d udp.port==8472,vxlan): with its defaults tshark shows no TCP in
	// exactly those frames and reads every other one the same way.
	byDefault := readTsharkFields(t, filepath.Join("testdata", "linktypes-default.tsv"))
	if len(byDefault) != len(want) {
		t.Fatalf("linktypes-default.tsv has %d frames, linktypes.tsv %d: run gen-expect.sh", len(byDefault), len(want))
	}
	port8472 := 0
	for _, e := range tunnelledFrames() {
		if strings.Contains(e.desc, "8472") {
			port8472++
		}
	}
	for _, l := range tunnelLookalikes() {
		if strings.Contains(l.desc, "8472") {
			port8472++
		}
	}
	differ := 0
	for i := range want {
		if want[i] != byDefault[i] {
			differ++
			if byDefault[i] != "-" || want[i] == "-" {
				t.Errorf("frame %d: tshark's default reads %s, told 8472 is VXLAN %s", i+1, byDefault[i], want[i])
			}
		}
	}
	if differ != port8472 {
		t.Errorf("tshark's default and tshark told 8472 is VXLAN differ in %d frames; %d carry TCP in VXLAN to port 8472", differ, port8472)
	}

	r, err := capture.NewReader(bytes.NewReader(data), path)
	if err != nil {
		t.Fatal(err)
	}
	pkts, err := readAll(t, r)
	if err != nil {
		t.Fatal(err)
	}
	if len(pkts) != len(want) {
		t.Fatalf("%d packets, tshark %d", len(pkts), len(want))
	}
	d := capture.NewDecoder()
	lookalikes := tunnelLookalikes()
	firstLookalike := len(pkts) - len(lookalikes)
	for i := range pkts {
		var s capture.Segment
		reason := d.Decode(&pkts[i], &s)
		got := "-"
		if reason == capture.SkipNone {
			got = segmentFields(&s)
		}
		if i >= firstLookalike {
			if l := lookalikes[i-firstLookalike]; want[i] == "-" || reason != l.want {
				t.Errorf("frame %d (%s): %v where tshark has %s; want %v, and tshark to follow it", pkts[i].Frame, l.desc, reason, want[i], l.want)
			}
			continue
		}
		if got != want[i] {
			t.Errorf("frame %d (link type %v, %v):\n got %s\nwant %s", pkts[i].Frame, pkts[i].LinkType, reason, got, want[i])
		}
	}
}

// tunnelLookalikes are frames that tshark 4.0 follows into a tunnel and
// connscope deliberately does not (capture/doc.go says why): the last
// frames of linktypes.pcapng, for which TestLinkTypesAgainstTshark checks
// that tshark shows TCP and connscope skips them.
func tunnelLookalikes() []struct {
	desc  string
	frame []byte
	want  capture.SkipReason
} {
	ip4 := seg4().IP()
	udpTo := func(src, dst uint16, payload []byte) []byte {
		return ct.Ethernet(ct.UDP(netip.AddrPortFrom(tun4a, src), netip.AddrPortFrom(tun4b, dst), payload))
	}
	noI := ct.VXLAN(42, ct.Ethernet(ip4))
	noI[0] = 0
	geneveV1 := ct.GENEVE(ct.EtherIPv4, 7, nil, ip4)
	geneveV1[0] |= 0x40
	return []struct {
		desc  string
		frame []byte
		want  capture.SkipReason
	}{
		{"five tunnels deep", ct.Ethernet(nested(ip4, 5)), capture.SkipOtherIPProto},
		{"GRE version 1 carrying IPv4", ct.Ethernet(grePacket(ct.GREOptions{Key: true, Version: 1}, ct.EtherIPv4, ip4)), capture.SkipOtherIPProto},
		{"VXLAN without the I flag", udpTo(51234, ct.PortVXLAN, noI), capture.SkipUDP},
		{"VXLAN from port 4789, not to it", udpTo(ct.PortVXLAN, 51234, ct.VXLAN(42, ct.Ethernet(ip4))), capture.SkipUDP},
		{"VXLAN to port 8472 without the I flag", udpTo(51234, ct.PortVXLANLinux, noI), capture.SkipUDP},
		{"VXLAN from port 8472, not to it", udpTo(ct.PortVXLANLinux, 51234, ct.VXLAN(42, ct.Ethernet(ip4))), capture.SkipUDP},
		{"GENEVE from port 6081, not to it", udpTo(ct.PortGENEVE, 51234, ct.GENEVE(ct.EtherIPv4, 7, nil, ip4)), capture.SkipUDP},
		{"GENEVE version 1", udpTo(51234, ct.PortGENEVE, geneveV1), capture.SkipUDP},
		{"VXLAN-GPE without the I flag", udpTo(51234, ct.PortVXLANGPE, gpeFlags(0x04, ct.GPEIPv4, ip4)), capture.SkipUDP},
		{"VXLAN-GPE without the P flag", udpTo(51234, ct.PortVXLANGPE, gpeFlags(0x08, ct.GPEIPv4, ip4)), capture.SkipUDP},
		{"VXLAN-GPE version 1", udpTo(51234, ct.PortVXLANGPE, gpeFlags(0x1c, ct.GPEIPv4, ip4)), capture.SkipUDP},
		{"VXLAN-GPE OAM", udpTo(51234, ct.PortVXLANGPE, gpeFlags(0x0d, ct.GPEIPv4, ip4)), capture.SkipUDP},
		{"VXLAN-GPE from port 4790, not to it", udpTo(ct.PortVXLANGPE, 51234, ct.VXLANGPE(ct.GPEIPv4, 42, ip4)), capture.SkipUDP},
		{"VXLAN-GPE carrying NSH", udpTo(51234, ct.PortVXLANGPE, ct.VXLANGPE(ct.GPENSH, 42, nshIPv4(ip4))), capture.SkipUDP},
		{"PPTP: PPP in enhanced GRE (version 1)", ct.Ethernet(grePacket(ct.GREOptions{Key: true, Sequence: true, Version: 1}, 0x880b, append([]byte{0xff, 0x03, 0, 0x21}, ip4...))), capture.SkipOtherIPProto},
	}
}

// segmentFields spells a segment the way linktypes.tsv does.
func segmentFields(s *capture.Segment) string {
	o := s.Options
	ts := "-"
	if o.HasTimestamps {
		ts = fmt.Sprintf("%d/%d", o.TSVal, o.TSEcr)
	}
	return fmt.Sprintf("%v %v len=%d vlan=%d/%d mss=%d ws=%d sackok=%t ts=%s",
		s.Src, s.Dst, s.PayloadLength, s.VLAN, s.InnerVLAN, o.MSS, o.WindowScale, o.SACKPermitted, ts)
}

// readTsharkFields reads linktypes.tsv (tshark -T fields, columns as in
// gen-expect.sh) into the segmentFields spelling, "-" for frames without TCP.
func readTsharkFields(t *testing.T, path string) []string {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		c := strings.Split(sc.Text(), "\t")
		if len(c) != 16 {
			t.Fatalf("%s: %d columns in %q", path, len(c), sc.Text())
		}
		// frame ip.src ip.dst ipv6.src ipv6.dst tcp.srcport tcp.dstport tcp.len
		// ieee8021ad.id vlan.id mss wscale.shift sack_perm tsval tsecr
		// frame.protocols
		if c[5] == "" {
			out = append(out, "-")
			continue
		}
		// The segment's addresses are its innermost IP layer's: the last
		// "ip" or "ipv6" in the protocol list, whose addresses tshark
		// lists last.
		last := func(list string) string { return list[strings.LastIndex(list, ",")+1:] }
		var inner string
		for _, p := range strings.Split(c[15], ":") {
			if p == "ip" || p == "ipv6" {
				inner = p
			}
		}
		src, dst := last(c[1]), last(c[2])
		if inner == "ipv6" {
			src, dst = "["+last(c[3])+"]", "["+last(c[4])+"]"
		}
		var vlans []string
		for _, v := range []string{c[8], c[9]} {
			if v != "" {
				vlans = append(vlans, strings.Split(v, ",")...)
			}
		}
		vlans = append(vlans, "0", "0")
		ws := c[11]
		if ws == "" {
			ws = "-1"
		}
		mss := c[10]
		if mss == "" {
			mss = "0"
		}
		ts := "-"
		if c[13] != "" {
			ts = c[13] + "/" + c[14]
		}
		out = append(out, fmt.Sprintf("%s:%s %s:%s len=%s vlan=%s/%s mss=%s ws=%s sackok=%t ts=%s",
			src, c[5], dst, c[6], c[7], vlans[0], vlans[1], mss, ws, c[12] != "", ts))
	}
	return out
}
