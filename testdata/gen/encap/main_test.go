package main

import (
	"bytes"
	"encoding/binary"
	"os"
	"testing"
)

// records splits a little-endian classic pcap into its records' data.
func records(t *testing.T, data []byte) [][]byte {
	t.Helper()
	var out [][]byte
	for off := fileHeaderLen; off < len(data); {
		incl := int(binary.LittleEndian.Uint32(data[off+8:]))
		orig := int(binary.LittleEndian.Uint32(data[off+12:]))
		if orig < incl {
			t.Fatalf("record at %d: original length %d < captured %d", off, orig, incl)
		}
		off += recordHeaderLen
		out = append(out, data[off:off+incl])
		off += incl
	}
	return out
}

// TestRewrite wraps a real capture in each encapsulation and checks every
// record: the same number, IP frames carrying the same IP packet after the
// expected headers, other frames unchanged.
func TestRewrite(t *testing.T) {
	in, err := os.ReadFile("../../captures/keepalive-reuse.pcap")
	if err != nil {
		t.Skip(err)
	}
	for mode, header := range map[string]func(ip []byte, fromClient bool) []byte{
		"llc-snap": func(ip []byte, _ bool) []byte {
			return append(binary.BigEndian.AppendUint16(nil, uint16(8+len(ip))), 0xaa, 0xaa, 3, 0, 0, 0, 8, 0)
		},
		"mpls": func(_ []byte, fromClient bool) []byte {
			if fromClient {
				return []byte{0x88, 0x47, 0x03, 0xe8, 0x10, 0x40, 0x05, 0xdc, 0x51, 0x40} // 16001, 24005 (bottom)
			}
			return []byte{0x88, 0x47, 0x05, 0xdc, 0xa1, 0x40} // 24010 (bottom)
		},
		"pppoe": func(ip []byte, _ bool) []byte {
			return append([]byte{0x88, 0x64, 0x11, 0, 0, 1}, append(binary.BigEndian.AppendUint16(nil, uint16(2+len(ip))), 0, 0x21)...)
		},
	} {
		t.Run(mode, func(t *testing.T) {
			if mode == "llc-snap" {
				if _, err := rewrite(mode, in); err == nil {
					t.Fatal("keepalive-reuse has 1500-byte IP packets, which do not fit LLC/SNAP; want an error")
				}
				return
			}
			out, err := rewrite(mode, in)
			if err != nil {
				t.Fatal(err)
			}
			before, after := records(t, in), records(t, out)
			if len(before) != len(after) || !bytes.Equal(in[:fileHeaderLen], out[:fileHeaderLen]) {
				t.Fatalf("%d records, want %d", len(after), len(before))
			}
			var client []byte
			for i, b := range before {
				addrs, ip, pad, ok := splitIP(b)
				if !ok {
					if !bytes.Equal(after[i], b) {
						t.Fatalf("record %d is not IP but changed", i+1)
					}
					continue
				}
				if client == nil {
					client = sourceOf(ip)
				}
				want := append(append(append(append([]byte(nil), addrs...), header(ip, bytes.Equal(sourceOf(ip), client))...), ip...), pad...)
				if !bytes.Equal(after[i], want) {
					t.Fatalf("record %d:\n got % x\nwant % x", i+1, after[i][:min(40, len(after[i]))], want[:min(40, len(want))])
				}
			}
		})
	}
}

// TestRewriteLLCSNAP checks the 802.3 length on a capture whose packets fit.
func TestRewriteLLCSNAP(t *testing.T) {
	in, err := os.ReadFile("../../captures/chunked-trailers.pcap")
	if err != nil {
		t.Skip(err)
	}
	out, err := rewrite("llc-snap", in)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range records(t, out) {
		if et := binary.BigEndian.Uint16(r[12:]); et <= 1500 && int(et) != len(r)-14 {
			t.Errorf("record %d: 802.3 length %d, %d bytes follow", i+1, et, len(r)-14)
		}
	}
}

// checksum16 is the Internet checksum of b (0 when b carries a correct one).
func checksum16(sum uint32, b []byte) uint16 {
	for i := 0; i < len(b); i += 2 {
		sum += uint32(b[i]) << 8
		if i+1 < len(b) {
			sum += uint32(b[i+1])
		}
	}
	for sum > 0xffff {
		sum = sum&0xffff + sum>>16
	}
	return ^uint16(sum)
}

// checkOuterIPv4 checks an outer IPv4 header of the tunnel modes and
// returns what follows it.
func checkOuterIPv4(t *testing.T, i int, b []byte, proto byte, fromClient bool) []byte {
	t.Helper()
	src, dst := endpointClient, endpointServer
	if !fromClient {
		src, dst = dst, src
	}
	if len(b) < 20 || b[0] != 0x45 || b[9] != proto || !bytes.Equal(b[12:16], src) || !bytes.Equal(b[16:20], dst) || checksum16(0, b[:20]) != 0 {
		t.Fatalf("record %d: outer IPv4 header % x", i+1, b[:min(20, len(b))])
	}
	return b[20:]
}

// TestRewriteTunnels wraps real captures in each tunnel and checks every
// record: IP frames (every frame, for VXLAN) carry the same bytes after
// correct outer headers, between the endpoints that match their direction.
func TestRewriteTunnels(t *testing.T) {
	for _, tc := range []struct{ mode, source string }{
		{"ipip", "chunked-trailers.pcap"},
		{"ipip", "ipv6.pcap"},
		{"gre", "keepalive-reuse.pcap"},
		{"vxlan", "keepalive-reuse.pcap"},
		{"erspan", "conn-per-request.pcap"},
	} {
		t.Run(tc.mode+"/"+tc.source, func(t *testing.T) {
			in, err := os.ReadFile("../../captures/" + tc.source)
			if err != nil {
				t.Skip(err)
			}
			out, err := rewrite(tc.mode, in)
			if err != nil {
				t.Fatal(err)
			}
			before, after := records(t, in), records(t, out)
			if len(before) != len(after) {
				t.Fatalf("%d records, want %d", len(after), len(before))
			}
			var client, clientMAC []byte
			for i, b := range before {
				addrs, ip, pad, ok := splitIP(b)
				if ok && client == nil {
					client, clientMAC = sourceOf(ip), addrs[6:12]
				}
				a := after[i]
				if tc.mode == "erspan" {
					// Every frame, from the switch to the analyser,
					// numbered from 0.
					rest := checkOuterIPv4(t, i, a[14:], protoGRE, true)
					want := []byte{0x10, 0, 0x88, 0xbe}
					want = binary.BigEndian.AppendUint32(want, uint32(i))
					want = append(want, 0x10, 0, 0, 1, 0, 0, 0, 0)
					if !bytes.Equal(rest, append(want, b...)) {
						t.Fatalf("record %d: GRE and ERSPAN % x", i+1, rest[:16])
					}
					continue
				}
				if tc.mode == "vxlan" {
					fromClient := bytes.Equal(b[6:12], clientMAC)
					if ok {
						fromClient = bytes.Equal(sourceOf(ip), client)
					}
					rest := checkOuterIPv4(t, i, a[14:], protoUDP, fromClient)
					udp := a[14+20:]
					pseudo := checksum16(0, append(append([]byte(nil), a[14+12:14+20]...), 0, protoUDP, byte(len(udp)>>8), byte(len(udp))))
					if binary.BigEndian.Uint16(rest[2:]) != portVXLAN || int(binary.BigEndian.Uint16(rest[4:])) != len(udp) ||
						checksum16(uint32(^pseudo), udp) != 0 || rest[8] != 0x08 || !bytes.Equal(rest[16:], b) {
						t.Fatalf("record %d: VXLAN % x", i+1, rest[:16])
					}
					continue
				}
				if !ok {
					if !bytes.Equal(a, b) {
						t.Fatalf("record %d is not IP but changed", i+1)
					}
					continue
				}
				fromClient := bytes.Equal(sourceOf(ip), client)
				if !bytes.Equal(a[:12], addrs) || binary.BigEndian.Uint16(a[12:]) != etherIPv4 {
					t.Fatalf("record %d: Ethernet header % x", i+1, a[:14])
				}
				want := append(append([]byte(nil), ip...), pad...)
				switch tc.mode {
				case "ipip":
					proto := byte(protoIPIP)
					if ip[0]>>4 == 6 {
						proto = protoIPv6
					}
					if rest := checkOuterIPv4(t, i, a[14:], proto, fromClient); !bytes.Equal(rest, want) {
						t.Fatalf("record %d: inner packet changed", i+1)
					}
				case "gre":
					rest := checkOuterIPv4(t, i, a[14:], protoGRE, fromClient)
					gre := append([]byte{0x20, 0}, binary.BigEndian.AppendUint16(nil, etherTypeOf(ip))...)
					gre = append(gre, 0, 0, 0, greKey)
					if !bytes.Equal(rest, append(gre, want...)) {
						t.Fatalf("record %d: GRE % x", i+1, rest[:8])
					}
				}
			}
		})
	}
}
