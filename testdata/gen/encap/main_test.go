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
