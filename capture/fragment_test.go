package capture_test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"testing"

	"github.com/connscope/connscope/capture"
	ct "github.com/connscope/connscope/capture/capturetest"
)

// The fragment tests cut one TCP segment (header and 100 bytes of payload,
// 120 bytes of IP payload) into fragments, IPv4 and IPv6 alike.

const fragSecond = int64(1e9)

func fragSegment(v6 bool) ct.TCP {
	s := seg4()
	if v6 {
		s = seg6()
	}
	s.Payload = bytes.Repeat([]byte("0123456789"), 10)
	return s
}

// fragmenter makes fragments of one datagram.
type fragmenter struct {
	v6    bool
	id    uint32
	ip4   []byte // the whole IPv4 packet
	bytes []byte // the datagram's fragmentable bytes (the TCP segment)
}

func newFragmenter(v6 bool, id uint32) *fragmenter {
	s := fragSegment(v6)
	s.IPID = uint16(id)
	f := &fragmenter{v6: v6, id: id, bytes: s.Segment()}
	if !v6 {
		f.ip4 = s.IP()
	}
	return f
}

// piece is the fragment carrying bytes [from, to) of the datagram, with
// More Fragments set unless it ends the datagram.
func (f *fragmenter) piece(from, to int) []byte {
	return f.pieceData(from, f.bytes[from:to], to < len(f.bytes))
}

// pieceData is a fragment at offset from carrying data.
func (f *fragmenter) pieceData(from int, data []byte, more bool) []byte {
	if f.v6 {
		h := make([]byte, 8, 8+len(data))
		h[0] = ct.ProtoTCP
		v := uint16(from)
		if more {
			v |= 1
		}
		binary.BigEndian.PutUint16(h[2:], v)
		binary.BigEndian.PutUint32(h[4:], f.id)
		return ct.IPv6(cli6.Addr(), srv6.Addr(), ct.ProtoIPv6Frag, append(h, data...))
	}
	b := append(bytes.Clone(f.ip4[:20]), data...)
	binary.BigEndian.PutUint16(b[2:], uint16(len(b)))
	v := uint16(from / 8)
	if more {
		v |= 0x2000
	}
	binary.BigEndian.PutUint16(b[6:], v)
	return b
}

// fragRun decodes frames (raw IP), the i-th at times[i] (or i ms), and
// returns the results and the segments decoded, their payloads copied.
type fragRun struct {
	d        *capture.Decoder
	reasons  []capture.SkipReason
	segments []capture.Segment
}

func (r *fragRun) feed(t *testing.T, frame []byte, at int64) capture.SkipReason {
	t.Helper()
	if r.d == nil {
		r.d = capture.NewDecoder()
	}
	n := uint64(len(r.reasons) + 1)
	p := &capture.Packet{Frame: n, Time: at, LinkType: capture.LinkTypeRaw, Data: frame, CaptureLength: len(frame), OriginalLength: len(frame)}
	var s capture.Segment
	reason := r.d.Decode(p, &s)
	r.reasons = append(r.reasons, reason)
	if reason == capture.SkipNone {
		s.Payload = bytes.Clone(s.Payload)
		r.segments = append(r.segments, s)
	}
	checkFragmentCounts(t, r.d.Stats())
	return reason
}

func feedAll(t *testing.T, frames ...[]byte) *fragRun {
	t.Helper()
	r := &fragRun{}
	for i, f := range frames {
		r.feed(t, f, int64(i+1)*1e6)
	}
	return r
}

func family(v6 bool) string {
	if v6 {
		return "ipv6"
	}
	return "ipv4"
}

// wantWhole checks that run produced exactly one segment, in frame frame,
// equal to the unfragmented segment.
func wantWhole(t *testing.T, r *fragRun, v6 bool, frame uint64) {
	t.Helper()
	if len(r.segments) != 1 {
		t.Fatalf("%d segments (reasons %v), want 1", len(r.segments), r.reasons)
	}
	s := r.segments[0]
	whole := fragSegment(v6)
	if s.Frame != frame || s.Time != int64(frame)*1e6 {
		t.Errorf("segment in frame %d at %d, want frame %d at %d", s.Frame, s.Time, frame, int64(frame)*1e6)
	}
	if !bytes.Equal(s.Payload, whole.Payload) || s.PayloadLength != len(whole.Payload) {
		t.Errorf("payload %q (length %d), want %q", s.Payload, s.PayloadLength, whole.Payload)
	}
	if s.Src != whole.Src || s.Dst != whole.Dst || s.Seq != whole.Seq || s.Ack != whole.Ack || s.Flags != whole.Flags {
		t.Errorf("segment %v -> %v seq %d ack %d flags %v, want %v -> %v seq %d ack %d flags %v",
			s.Src, s.Dst, s.Seq, s.Ack, s.Flags, whole.Src, whole.Dst, whole.Seq, whole.Ack, whole.Flags)
	}
	for i, reason := range r.reasons {
		if want := capture.SkipIPFragment; uint64(i+1) != frame && reason != want {
			t.Errorf("frame %d: %v, want %v", i+1, reason, want)
		}
	}
	st := r.d.Stats()
	if st.Fragments.Datagrams != 1 || st.TCPSegments != 1 {
		t.Errorf("stats %+v: want 1 datagram reassembled, 1 segment", st)
	}
}

func TestFragmentsInOrder(t *testing.T) {
	for _, v6 := range []bool{false, true} {
		t.Run(family(v6), func(t *testing.T) {
			f := newFragmenter(v6, 7)
			r := feedAll(t, f.piece(0, 48), f.piece(48, 96), f.piece(96, 120))
			wantWhole(t, r, v6, 3)
			st := r.d.Stats()
			if st.Fragments.Fragments != 3 || st.Skipped[capture.SkipIPFragment] != 0 || st.Packets != 3 {
				t.Errorf("stats %+v: want 3 fragments reassembled, none skipped", st)
			}
			if !v6 && r.segments[0].IPID != 7 {
				t.Errorf("IP ID %d, want the datagram's 7", r.segments[0].IPID)
			}
		})
	}
}

func TestFragmentsOutOfOrder(t *testing.T) {
	for _, v6 := range []bool{false, true} {
		t.Run(family(v6), func(t *testing.T) {
			f := newFragmenter(v6, 8)
			// The last first: the datagram's length is known before the
			// start comes; the first fragment completes it.
			r := feedAll(t, f.piece(96, 120), f.piece(48, 96), f.piece(0, 48))
			wantWhole(t, r, v6, 3)
			// The middle last.
			r = feedAll(t, f.piece(0, 48), f.piece(96, 120), f.piece(48, 96))
			wantWhole(t, r, v6, 3)
		})
	}
}

func TestFragmentsOfInterleavedDatagrams(t *testing.T) {
	for _, v6 := range []bool{false, true} {
		t.Run(family(v6), func(t *testing.T) {
			a, b := newFragmenter(v6, 1), newFragmenter(v6, 2)
			r := feedAll(t, a.piece(0, 64), b.piece(0, 64), b.piece(64, 120), a.piece(64, 120))
			if len(r.segments) != 2 || r.segments[0].Frame != 3 || r.segments[1].Frame != 4 {
				t.Fatalf("segments %+v, want frames 3 and 4", r.segments)
			}
		})
	}
}

func TestFragmentDuplicates(t *testing.T) {
	for _, v6 := range []bool{false, true} {
		t.Run(family(v6), func(t *testing.T) {
			f := newFragmenter(v6, 9)
			// A capture duplicate of the first fragment is ignored.
			r := feedAll(t, f.piece(0, 64), f.piece(0, 64), f.piece(64, 120))
			wantWhole(t, r, v6, 3)
			st := r.d.Stats().Fragments
			if st.Duplicates != 1 || st.Fragments != 2 || st.Held != 0 || st.DroppedTotal() != 0 {
				t.Errorf("fragment stats %+v: want 1 duplicate, 2 reassembled", st)
			}
			if n := r.d.Stats().Skipped[capture.SkipIPFragment]; n != 1 {
				t.Errorf("%d skipped as ip_fragment, want the duplicate", n)
			}
		})
	}
}

// TestFragmentCopiesAfterCompletion: a capture that records every frame
// twice repeats fragments after the datagram they complete. As in tshark
// (its fragment table forgets a datagram once reassembled), a copy after
// completion starts a new datagram: a whole repeated set is reassembled
// again, in the frame of its last copy (reassembly then calls the segment a
// capture duplicate: same IP ID and checksum), and a lone trailing copy
// waits, counted as held.
func TestFragmentCopiesAfterCompletion(t *testing.T) {
	for _, v6 := range []bool{false, true} {
		t.Run(family(v6), func(t *testing.T) {
			f := newFragmenter(v6, 16)
			a, b := f.piece(0, 64), f.piece(64, 120)
			r := feedAll(t, a, b, a, b)
			st := r.d.Stats().Fragments
			if len(r.segments) != 2 || r.segments[1].Frame != 4 || st.Datagrams != 2 || st.Held != 0 {
				t.Fatalf("%d segments, fragment stats %+v: want the datagram twice, in frames 2 and 4", len(r.segments), st)
			}
			r = feedAll(t, a, a, b, b)
			st = r.d.Stats().Fragments
			if len(r.segments) != 1 || r.segments[0].Frame != 3 || st.Duplicates != 1 || st.Held != 1 {
				t.Fatalf("%d segments, fragment stats %+v: want 1 segment in frame 3, 1 duplicate, 1 held", len(r.segments), st)
			}
		})
	}
}

func TestFragmentOverlapIPv4LowerOffsetWins(t *testing.T) {
	f := newFragmenter(false, 10)
	forged := bytes.Repeat([]byte("X"), 16)
	cases := []struct {
		desc   string
		frames [][]byte
	}{
		// Bytes 48-63 come in both; the fragment with the lower offset
		// (the true one) wins, whichever came first.
		{"true first", [][]byte{f.piece(0, 64), f.pieceData(48, forged, true), f.piece(64, 120)}},
		{"forged first", [][]byte{f.pieceData(48, forged, true), f.piece(0, 64), f.piece(64, 120)}},
		// The same offset and length: the first one wins.
		{"same range, true first", [][]byte{f.piece(0, 16), f.pieceData(0, forged, true), f.piece(16, 120)}},
	}
	for _, tc := range cases {
		t.Run(tc.desc, func(t *testing.T) {
			r := feedAll(t, tc.frames...)
			wantWhole(t, r, false, 3)
			if st := r.d.Stats().Fragments; st.Overlaps != 1 {
				t.Errorf("fragment stats %+v: want 1 overlap", st)
			}
		})
	}
	// The same range, forged first: the forged bytes win, as in tshark.
	forged = bytes.Repeat([]byte("X"), 32)
	r := feedAll(t, f.pieceData(0, forged, true), f.piece(0, 32), f.piece(32, 120))
	if len(r.segments) != 1 || !bytes.Equal(r.segments[0].Payload[:12], forged[20:]) {
		t.Fatalf("segments %+v: want the forged bytes first", r.segments)
	}
}

func TestFragmentOverlapIPv6DropsDatagram(t *testing.T) {
	f := newFragmenter(true, 11)
	r := feedAll(t, f.piece(0, 64), f.piece(48, 96), f.piece(96, 120), f.piece(64, 96))
	if len(r.segments) != 0 {
		t.Fatalf("segments %+v from overlapping IPv6 fragments", r.segments)
	}
	st := r.d.Stats()
	if st.Fragments.Dropped[capture.FragmentOverlap] != 4 || st.Fragments.Held != 0 || st.Skipped[capture.SkipIPFragment] != 4 {
		t.Fatalf("stats %+v: want all 4 fragments dropped for the overlap", st)
	}
	// Once the timeout has passed, the identification may be used again.
	later := capture.FragmentTimeoutIPv6 + 2*fragSecond
	r.feed(t, f.piece(0, 64), later)
	if r.feed(t, f.piece(64, 120), later+1) != capture.SkipNone {
		t.Fatalf("the identification reused after the timeout: %v", r.reasons)
	}
}

func TestFragmentTimeout(t *testing.T) {
	for _, v6 := range []bool{false, true} {
		t.Run(family(v6), func(t *testing.T) {
			timeout := capture.FragmentTimeoutIPv4
			if v6 {
				timeout = capture.FragmentTimeoutIPv6
			}
			f := newFragmenter(v6, 12)
			// Within the timeout: reassembled.
			r := &fragRun{}
			r.feed(t, f.piece(0, 64), fragSecond)
			if r.feed(t, f.piece(64, 120), fragSecond+timeout) != capture.SkipNone {
				t.Fatalf("not reassembled at the timeout: %v", r.reasons)
			}
			// Past it: the first fragment was dropped, the second waits.
			r = &fragRun{}
			r.feed(t, f.piece(0, 64), fragSecond)
			r.feed(t, f.piece(64, 120), fragSecond+timeout+1)
			st := r.d.Stats().Fragments
			if len(r.segments) != 0 || st.Dropped[capture.FragmentTimeout] != 1 || st.Held != 1 || st.HeldDatagrams != 1 {
				t.Fatalf("segments %d, fragment stats %+v: want 1 timed out, 1 held", len(r.segments), st)
			}
			// Expiry follows capture time only: a frame stamped earlier
			// (seconds earlier: not a copy of the first) does not expire
			// anything.
			r.feed(t, f.piece(0, 64), fragSecond+timeout-4*fragSecond)
			if len(r.segments) != 1 {
				t.Fatalf("time going backwards: %v", r.reasons)
			}
		})
	}
}

func TestFragmentDatagramCap(t *testing.T) {
	for _, v6 := range []bool{false, true} {
		t.Run(family(v6), func(t *testing.T) {
			r := &fragRun{}
			// First fragments of MaxFragmentDatagrams+1 datagrams: the
			// oldest goes.
			for id := range capture.MaxFragmentDatagrams + 1 {
				r.feed(t, newFragmenter(v6, uint32(id)).piece(0, 64), int64(id))
			}
			st := r.d.Stats().Fragments
			if st.Dropped[capture.FragmentOverCap] != 1 || st.HeldDatagrams != capture.MaxFragmentDatagrams {
				t.Fatalf("fragment stats %+v: want 1 dropped over the cap, %d held", st, capture.MaxFragmentDatagrams)
			}
			r.feed(t, newFragmenter(v6, 1).piece(64, 120), 1e6)
			r.feed(t, newFragmenter(v6, 0).piece(64, 120), 1e6)
			if len(r.segments) != 1 || r.segments[0].Frame != capture.MaxFragmentDatagrams+2 {
				t.Fatalf("segments %+v: want only the second datagram, which was kept", r.segments)
			}
		})
	}
}

func TestFragmentByteCap(t *testing.T) {
	for _, v6 := range []bool{false, true} {
		t.Run(family(v6), func(t *testing.T) {
			r := &fragRun{}
			big := make([]byte, 60000)
			n := capture.MaxFragmentBytes/len(big) + 1
			for id := range n {
				f := newFragmenter(v6, uint32(id))
				r.feed(t, f.pieceData(0, big, true), int64(id))
			}
			// Each is charged its buffer (60000 bytes, rounded up to the
			// allocator's size class) and 64 bytes.
			st := r.d.Stats().Fragments
			held := int(st.Held)
			if st.Dropped[capture.FragmentOverCap] == 0 || held+int(st.Dropped[capture.FragmentOverCap]) != n ||
				held*len(big) > capture.MaxFragmentBytes || held < capture.MaxFragmentBytes/(len(big)+len(big)/8) {
				t.Fatalf("fragment stats %+v: want the oldest of %d dropped over the byte cap", st, n)
			}
		})
	}
}

func TestFragmentsPerDatagramCap(t *testing.T) {
	r := &fragRun{}
	f := newFragmenter(false, 13)
	for i := range capture.MaxFragmentsPerDatagram + 1 {
		r.feed(t, f.pieceData(8*i, make([]byte, 8), true), 0)
	}
	if st := r.d.Stats().Fragments; st.Dropped[capture.FragmentOverCap] != capture.MaxFragmentsPerDatagram+1 || st.Held != 0 {
		t.Fatalf("fragment stats %+v: want the datagram dropped at its %d-th fragment", st, capture.MaxFragmentsPerDatagram+1)
	}
}

func TestFragmentsHostile(t *testing.T) {
	for _, v6 := range []bool{false, true} {
		f := newFragmenter(v6, 14)
		cut := f.piece(0, 64)
		for _, tc := range []struct {
			desc   string
			frames [][]byte
			want   capture.FragmentDrop
			n      uint64
		}{
			{"zero length", [][]byte{f.pieceData(0, nil, true)}, capture.FragmentMalformed, 1},
			{"more fragments, length not a multiple of 8", [][]byte{f.pieceData(0, f.bytes[:60], true)}, capture.FragmentMalformed, 1},
			{"beyond 65535", [][]byte{f.pieceData(65528, make([]byte, 16), false)}, capture.FragmentTooLong, 1},
			{"two different ends", [][]byte{f.piece(64, 120), f.pieceData(64, f.bytes[64:112], false)}, capture.FragmentMalformed, 2},
			{"past the end", [][]byte{f.piece(64, 120), f.pieceData(120, make([]byte, 8), true)}, capture.FragmentMalformed, 2},
			{"last before a held piece's end", [][]byte{f.piece(0, 64), f.pieceData(48, f.bytes[48:56], false)}, capture.FragmentMalformed, 2},
			{"ip length past the frame", [][]byte{cut[:len(cut)-8]}, capture.FragmentTruncated, 1},
		} {
			t.Run(family(v6)+" "+tc.desc, func(t *testing.T) {
				r := feedAll(t, tc.frames...)
				st := r.d.Stats().Fragments
				if len(r.segments) != 0 || st.Dropped[tc.want] != tc.n || st.DroppedTotal() != tc.n || st.Held != 0 {
					t.Fatalf("segments %d, fragment stats %+v: want %d dropped as %v", len(r.segments), st, tc.n, tc.want)
				}
			})
		}
	}
}

// TestFragmentsEndless sends first fragments without a last one, for
// longer than the timeout: what is held stays under the caps, and all but
// the held ones are counted as timed out. (TestFragmentByteCap covers a
// faster flood, which reaches the byte cap first.)
func TestFragmentsEndless(t *testing.T) {
	r := &fragRun{}
	const n = 20000
	for i := range n {
		f := newFragmenter(i%2 == 1, uint32(i))
		r.feed(t, f.pieceData(0, make([]byte, 1400), true), int64(i)*int64(100e6)) // 10 per second
	}
	st := r.d.Stats().Fragments
	// 10 per second, half IPv4 (30 s), half IPv6 (60 s): 450 held.
	if st.HeldDatagrams != 451 || st.Held+st.Dropped[capture.FragmentTimeout] != n {
		t.Fatalf("fragment stats %+v", st)
	}
}

func TestFragmentedUDPIsUDP(t *testing.T) {
	udp := ct.UDP(cli4, srv4, make([]byte, 100))
	f := &fragmenter{ip4: udp, bytes: udp[20:]}
	r := feedAll(t, f.piece(0, 64), f.piece(64, len(f.bytes)))
	if r.reasons[1] != capture.SkipUDP {
		t.Fatalf("reasons %v: want the reassembled datagram skipped as udp", r.reasons)
	}
}

func TestFragmentedIPv6WithDestinationOptions(t *testing.T) {
	// The destination options header travels in the fragmentable part.
	whole := ct.IPv6Ext(ct.ProtoTCP, fragSegment(true).Segment())
	f := &fragmenter{v6: true, id: 15, bytes: whole}
	frames := [][]byte{f.piece(0, 64), f.piece(64, len(whole))}
	for _, b := range frames {
		b[40] = 60 // the fragment header's next header: destination options
	}
	r := feedAll(t, frames...)
	wantWhole(t, r, true, 2)
}

func TestFragmentWarning(t *testing.T) {
	for _, tc := range []struct {
		st   capture.FragmentStats
		want string
	}{
		{capture.FragmentStats{Datagrams: 3, Fragments: 9, Duplicates: 2}, ""},
		{capture.FragmentStats{Held: 1},
			"1 IP fragment could not be reassembled (1 still incomplete at the end): any TCP segment they carried is missing"},
		{capture.FragmentStats{Dropped: [6]uint64{capture.FragmentTimeout: 30, capture.FragmentOverCap: 5, capture.FragmentOverlap: 2}, Held: 3, Overlaps: 1},
			"40 IP fragments could not be reassembled (30 timed out, 2 overlapped in IPv6 (RFC 5722), 5 over the cap (4 MiB, 4096 datagrams), 3 still incomplete at the end): " +
				"any TCP segment they carried is missing; 1 IPv4 fragment overlapped held ones with different bytes (the lower offset's bytes were kept, as tshark keeps them)"},
	} {
		if got := tc.st.Warning(); got != tc.want {
			t.Errorf("%+v:\n got %q\nwant %q", tc.st, got, tc.want)
		}
	}
}

func TestFragmentDropNames(t *testing.T) {
	seen := map[string]bool{}
	for _, r := range capture.FragmentDrops() {
		name := r.String()
		if seen[name] || name == "" || name == fmt.Sprint(int(r)) {
			t.Errorf("drop reason %d has name %q", r, name)
		}
		seen[name] = true
	}
	if len(seen) != 6 || capture.FragmentOverlap.String() != "overlap" {
		t.Errorf("drop reasons %v", seen)
	}
}

// BenchmarkDecodeFragments decodes datagrams of 1448 bytes of TCP payload cut
// in three IPv4 fragments (552, 552, 376 bytes), as fragmented-http.pcap
// has them; per datagram.
func BenchmarkDecodeFragments(b *testing.B) {
	s := fragSegment(false)
	s.Payload = bytes.Repeat([]byte("x"), 1448)
	ip := s.IP()
	bounds := []int{0, 552, 1104, len(ip) - 20}
	frames := make([][]byte, 0, 3*256)
	for id := range 256 {
		binary.BigEndian.PutUint16(ip[4:], uint16(id))
		f := &fragmenter{ip4: ip, bytes: ip[20:]}
		for i := range 3 {
			frames = append(frames, ct.Ethernet(f.piece(bounds[i], bounds[i+1])))
		}
	}
	d := capture.NewDecoder()
	var seg capture.Segment
	p := capture.Packet{LinkType: capture.LinkTypeEthernet}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		for j := range 3 {
			p.Frame, p.Time = uint64(3*i+j+1), int64(i)
			p.Data = frames[(3*i+j)%len(frames)]
			p.CaptureLength, p.OriginalLength = len(p.Data), len(p.Data)
			d.Decode(&p, &seg)
		}
	}
	if st := d.Stats().Fragments; st.Datagrams != uint64(b.N) {
		b.Fatalf("%d datagrams of %d", st.Datagrams, b.N)
	}
}
