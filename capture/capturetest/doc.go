// Package capturetest writes small captures for tests: classic pcap and
// pcapng files (any byte order, resolution, interfaces and block types,
// including deliberately broken ones) and the frames inside them (Ethernet
// with VLAN tags, Linux cooked v1/v2, BSD loopback, IPv4, IPv6, TCP, UDP,
// and the tunnels: GRE, VXLAN, GENEVE).
//
// EachSegment feeds a capture's TCP segments to a test (a reassembly.Assembler,
// usually).
//
// Nothing here validates: the point is to be able to write exactly the bytes
// a test needs, right or wrong.
//
//	var buf bytes.Buffer
//	w := capturetest.NewPcap(&buf, capture.LinkTypeEthernet, capturetest.PcapOptions{})
//	seg := capturetest.TCP{Src: a, Dst: b, Seq: 1, Flags: capture.FlagSYN}
//	w.Write(time.Unix(1, 0).UnixNano(), capturetest.Ethernet(seg.IP()))
package capturetest
