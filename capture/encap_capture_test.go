package capture_test

import (
	"bytes"
	"net/netip"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/connscope/connscope/capture"
)

// TestEncapsulatedCapturesMatchTheirSource decodes the real captures that
// testdata/gen/encap (and editcap, for the modified pcap) rewrote into
// other encapsulations and tunnels, frame by frame beside the captures they came from:
// every frame must give the same skip reason or the same segment (frame
// number, time, addresses, VLANs, lengths, options, payload). tshark's view
// of them is in testdata/truth and testdata/captures/FACTS.md.
func TestEncapsulatedCapturesMatchTheirSource(t *testing.T) {
	dir := filepath.Join("..", "testdata", "captures")
	for _, tc := range []struct{ file, source string }{
		{"llc-snap.pcap", "chunked-trailers.pcap"},
		{"mpls.pcap", "keepalive-reuse.pcap"},
		{"pppoe-ipv6.pcap", "ipv6.pcap"},
		{"keepalive-reuse-modified.pcap", "keepalive-reuse.pcap"},
		{"gre.pcap", "keepalive-reuse.pcap"},
		{"ipip.pcap", "chunked-trailers.pcap"},
		{"6in4.pcap", "ipv6.pcap"},
		{"vxlan.pcap", "keepalive-reuse.pcap"},
		{"erspan.pcap", "conn-per-request.pcap"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			got, want := decodeFile(t, filepath.Join(dir, tc.file)), decodeFile(t, filepath.Join(dir, tc.source))
			if len(got) != len(want) {
				t.Fatalf("%d frames, %s has %d", len(got), tc.source, len(want))
			}
			segments := 0
			for i := range got {
				if !reflect.DeepEqual(got[i], want[i]) {
					t.Fatalf("frame %d:\n got %+v\nwant %+v", i+1, got[i], want[i])
				}
				if got[i].reason == capture.SkipNone {
					segments++
				}
			}
			if segments < 20 {
				t.Fatalf("only %d segments", segments)
			}
		})
	}
}

type decodedFrame struct {
	reason capture.SkipReason
	seg    capture.Segment
}

// decodeFile decodes every frame of a capture, keeping copies of the
// segments' payloads.
func decodeFile(t *testing.T, path string) []decodedFrame {
	t.Helper()
	r, err := capture.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	pkts, err := readAll(t, r)
	if err != nil {
		t.Fatal(err)
	}
	d := capture.NewDecoder()
	out := make([]decodedFrame, len(pkts))
	for i := range pkts {
		out[i].reason = d.Decode(&pkts[i], &out[i].seg)
		if out[i].reason == capture.SkipNone {
			out[i].seg.Payload = bytes.Clone(out[i].seg.Payload)
		} else {
			out[i].seg = capture.Segment{}
		}
	}
	return out
}

// TestVXLANKernelCapture decodes the VXLAN that real Linux stacks sent,
// recorded on the underlay: vxlan-kernel.pcap to port 4789, vxlan-8472.pcap
// to 8472, the port Linux picks when none is given (flannel's too). Every
// TCP frame tshark shows (told that 8472 is VXLAN, for the second) is a
// segment between the inner addresses, the rest ARP (on the underlay, and
// inside VXLAN). reassembly's and httpflow's truth tests compare the
// connection and the transactions with tshark's.
func TestVXLANKernelCapture(t *testing.T) {
	for _, name := range []string{"vxlan-kernel.pcap", "vxlan-8472.pcap"} {
		t.Run(name, func(t *testing.T) {
			frames := decodeFile(t, filepath.Join("..", "testdata", "captures", name))
			client, server := netip.MustParseAddr("10.77.0.1"), netip.MustParseAddr("10.77.0.2")
			var segments, arp int
			for i, f := range frames {
				switch f.reason {
				case capture.SkipNone:
					segments++
					s := f.seg
					if !(s.Src.Addr() == client && s.Dst == netip.AddrPortFrom(server, 80) || s.Src == netip.AddrPortFrom(server, 80) && s.Dst.Addr() == client) {
						t.Errorf("frame %d: segment %v -> %v, want between the inner addresses", i+1, s.Src, s.Dst)
					}
				case capture.SkipARP:
					arp++
				default:
					t.Errorf("frame %d: %v", i+1, f.reason)
				}
			}
			if segments != 30 || arp != 4 {
				t.Fatalf("%d segments and %d ARP frames, tshark has 30 and 4", segments, arp)
			}
		})
	}
}
