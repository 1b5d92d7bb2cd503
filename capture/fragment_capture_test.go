package capture_test

import (
	"bytes"
	"encoding/binary"
	"io"
	"net/netip"
	"path/filepath"
	"slices"
	"testing"

	"github.com/connscope/connscope/analysis"
	"github.com/connscope/connscope/capture"
	ct "github.com/connscope/connscope/capture/capturetest"
)

// fragmentedCapture is a real-kernel capture (testdata/gen/gen.sh
// fragmented-http): a router cut the server's 1500-byte datagrams into
// three IPv4 fragments each on the client's 576-byte-MTU link.
var fragmentedCapture = filepath.Join("..", "testdata", "captures", "fragmented-http.pcap")

// fragmentedReassembledIn is the set of frames tshark reassembles a datagram
// in (tshark -2 -r FILE -T fields -e ip.reassembled_in): the frames of the
// last fragments.
var fragmentedReassembledIn = []uint64{10, 14, 21, 24, 27, 30, 33, 36, 39, 42, 45, 48, 52, 55, 58, 61}

type decodedSegment struct {
	frame    uint64
	time     int64
	seq, ack uint32
	flags    capture.TCPFlags
	length   int
	payload  []byte
}

func readPackets(t *testing.T, path string) []capture.Packet {
	t.Helper()
	r, err := capture.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var out []capture.Packet
	for {
		p, err := r.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		q := *p
		q.Data = bytes.Clone(p.Data)
		out = append(out, q)
	}
}

func decodeAll(t *testing.T, pkts []capture.Packet) ([]decodedSegment, []uint64, capture.Stats) {
	t.Helper()
	d := capture.NewDecoder()
	var segs []decodedSegment
	var reassembledIn []uint64
	for i := range pkts {
		before := d.Stats().Fragments.Datagrams
		var s capture.Segment
		if d.Decode(&pkts[i], &s) != capture.SkipNone {
			continue
		}
		segs = append(segs, decodedSegment{s.Frame, s.Time, s.Seq, s.Ack, s.Flags, s.PayloadLength, bytes.Clone(s.Payload)})
		if d.Stats().Fragments.Datagrams > before {
			reassembledIn = append(reassembledIn, s.Frame)
		}
	}
	return segs, reassembledIn, d.Stats()
}

func TestFragmentedCaptureAsTsharkSeesIt(t *testing.T) {
	segs, reassembledIn, st := decodeAll(t, readPackets(t, fragmentedCapture))
	if !slices.Equal(reassembledIn, fragmentedReassembledIn) {
		t.Errorf("datagrams reassembled in frames %v, tshark: %v", reassembledIn, fragmentedReassembledIn)
	}
	fs := st.Fragments
	// 65 frames: 2 ARP, 15 TCP segments whole, 48 fragments of 16 datagrams.
	if st.Packets != 65 || st.TCPSegments != 31 || fs.Datagrams != 16 || fs.Fragments != 48 ||
		st.SkippedTotal() != 2 || st.Skipped[capture.SkipARP] != 2 || fs.Held != 0 || fs.DroppedTotal() != 0 {
		t.Errorf("stats %+v", st)
	}
	var s2c int
	for _, s := range segs {
		if len(s.payload) != s.length {
			t.Errorf("frame %d: %d of %d payload bytes", s.frame, len(s.payload), s.length)
		}
		if slices.Contains(fragmentedReassembledIn, s.frame) {
			s2c += s.length
		}
	}
	// tshark's 23205 payload bytes from the server, less the 206 of frame
	// 16, the only server segment small enough to cross whole.
	if s2c != 23205-206 {
		t.Errorf("%d payload bytes in reassembled datagrams, want %d", s2c, 23205-206)
	}
}

// TestFragmentedCaptureThroughThePipeline: every response is seen whole,
// nothing is lost or skipped but ARP (before reassembly, both responses were
// missing, 2 segments lost, 48 frames skipped as ip_fragment).
func TestFragmentedCaptureThroughThePipeline(t *testing.T) {
	a := analysis.New(analysis.Options{})
	src, err := capture.Open(fragmentedCapture)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	if err := a.AddSource("fragmented-http.pcap", src.Format(), src); err != nil {
		t.Fatal(err)
	}
	rep := a.Report()
	in := rep.Inputs[0]
	if len(in.Skipped) != 1 || in.Skipped["arp"] != 2 || len(in.Warnings) != 0 {
		t.Errorf("skipped %v, warnings %v: want only 2 arp", in.Skipped, in.Warnings)
	}
	var conns int
	if err := rep.EachConnection(func(c *analysis.ConnReport) error {
		conns++
		if c.LostSegments != 0 || c.Retransmissions != 0 || c.TransactionCount != 2 || c.Bytes.ServerToClient != 23205 {
			t.Errorf("connection %+v: want 2 transactions, 23205 bytes from the server, none lost", *c)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	var responseFrames []uint64
	if err := rep.EachTransaction(func(x *analysis.TxnReport) error {
		if x.Status != 200 || x.Response == nil || !x.Response.Complete {
			t.Errorf("transaction %d %s: status %d, response %+v", x.ID, x.Target, x.Status, x.Response)
		} else {
			responseFrames = append(responseFrames, x.Response.LastFrame)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	// tshark: responses in frames 16 and 61 (testdata/truth/http).
	if conns != 1 || !slices.Equal(responseFrames, []uint64{16, 61}) {
		t.Errorf("%d connections, responses ending in frames %v; tshark: 1, [16 61]", conns, responseFrames)
	}
}

// TestFragmentedCaptureAsIPv6 replays the capture's payloads over IPv6: no
// real stack fragments TCP over IPv6 (Linux's ip6_xmit refuses a TCP packet
// over the path MTU rather than fragment it, and IPv6 routers never do), so
// each IPv4 packet becomes an IPv6 one with the same TCP bytes, and each IPv4
// fragment an IPv6 fragment with the same offset, More Fragments flag,
// identification and bytes. The segments must be the same.
func TestFragmentedCaptureAsIPv6(t *testing.T) {
	pkts := readPackets(t, fragmentedCapture)
	want, wantIn, _ := decodeAll(t, pkts)
	v6 := map[netip.Addr]netip.Addr{
		netip.MustParseAddr("10.77.0.1"): netip.MustParseAddr("fd77::1"),
		netip.MustParseAddr("10.77.1.2"): netip.MustParseAddr("fd77::2"),
	}
	var converted []capture.Packet
	for _, p := range pkts {
		if binary.BigEndian.Uint16(p.Data[12:]) != ct.EtherIPv4 {
			converted = append(converted, p)
			continue
		}
		ip := p.Data[14:]
		ihl := int(ip[0]&15) * 4
		total := int(binary.BigEndian.Uint16(ip[2:]))
		src, dst := v6[netip.AddrFrom4([4]byte(ip[12:16]))], v6[netip.AddrFrom4([4]byte(ip[16:20]))]
		payload := ip[ihl:total]
		flags := binary.BigEndian.Uint16(ip[6:])
		var pkt []byte
		if flags&0x3fff == 0 { // not a fragment
			pkt = ct.IPv6(src, dst, ip[9], payload)
		} else {
			h := make([]byte, 8, 8+len(payload))
			h[0] = ip[9]
			offsetAndMore := (flags & 0x1fff) << 3
			if flags&0x2000 != 0 {
				offsetAndMore |= 1
			}
			binary.BigEndian.PutUint16(h[2:], offsetAndMore)
			binary.BigEndian.PutUint32(h[4:], uint32(binary.BigEndian.Uint16(ip[4:])))
			pkt = ct.IPv6(src, dst, ct.ProtoIPv6Frag, append(h, payload...))
		}
		q := p
		q.Data = ct.Ethernet(pkt)
		q.CaptureLength, q.OriginalLength = len(q.Data), len(q.Data)
		converted = append(converted, q)
	}
	got, gotIn, st := decodeAll(t, converted)
	if !slices.Equal(gotIn, wantIn) || st.Fragments.Datagrams != 16 || st.Fragments.Fragments != 48 {
		t.Errorf("IPv6: reassembled in %v, stats %+v; IPv4: %v", gotIn, st.Fragments, wantIn)
	}
	if len(got) != len(want) {
		t.Fatalf("IPv6: %d segments, IPv4: %d", len(got), len(want))
	}
	for i := range got {
		g, w := got[i], want[i]
		if g.frame != w.frame || g.time != w.time || g.seq != w.seq || g.ack != w.ack || g.flags != w.flags || g.length != w.length || !bytes.Equal(g.payload, w.payload) {
			t.Errorf("segment %d: IPv6 %+v, IPv4 %+v", i, g, w)
		}
	}
}
