package reassembly

import (
	"testing"

	"github.com/connscope/connscope/capture"
)

// TestClassification builds one short exchange per Wireshark tcp.analysis
// flag. want lists the frames that must carry a kind; every other frame
// must carry none, so a rule that fires too eagerly fails as well.
func TestClassification(t *testing.T) {
	tests := []struct {
		desc  string
		build func(f *flow)
		want  map[uint64]SegmentKind
	}{
		{
			desc: "clean exchange has no flags",
			build: func(f *flow) {
				f.handshake()
				f.seg("c", 30, "PA", 1, 1, "GET / HTTP/1.1\r\n\r\n")
				f.seg("s", 40, "A", 1, 19, "")
				f.seg("s", 41, "PA", 1, 19, "HTTP/1.1 200 OK\r\n\r\n")
				f.seg("c", 50, "A", 19, 20, "")
			},
			want: nil,
		},
		{
			desc: "retransmission after a timeout",
			build: func(f *flow) {
				f.handshake()
				f.seg("c", 30, "PA", 1, 1, "hello")
				f.seg("c", 330, "PA", 1, 1, "hello") // frame 5, new IP ID
			},
			want: map[uint64]SegmentKind{5: KindRetransmission},
		},
		{
			desc: "lost segment, three duplicate ACKs, fast retransmission",
			build: func(f *flow) {
				f.handshake()
				f.seg("c", 30, "A", 1, 1, "aaaa") // 4
				// bytes 5-8 lost before the capture point
				f.seg("c", 30.1, "A", 9, 1, "cccc")  // 5: previous segment not captured
				f.seg("c", 30.2, "A", 13, 1, "dddd") // 6
				f.seg("s", 40, "A", 1, 5, "")        // 7: ack of aaaa
				f.seg("s", 40.1, "A", 1, 5, "")      // 8: dup ack
				f.seg("s", 40.2, "A", 1, 5, "")      // 9: dup ack
				f.seg("c", 41, "A", 5, 1, "bbbb")    // 10: fast retransmission
				f.seg("s", 50, "A", 1, 17, "")       // 11
			},
			want: map[uint64]SegmentKind{
				5:  KindPreviousNotCaptured,
				8:  KindDuplicateAck,
				9:  KindDuplicateAck,
				10: KindRetransmission | KindFastRetransmission,
			},
		},
		{
			desc: "out-of-order within the initial RTT",
			build: func(f *flow) {
				f.handshake()
				f.seg("c", 30, "A", 1, 1, "aaaa")   // 4
				f.seg("c", 30.2, "A", 9, 1, "cccc") // 5 arrives before 6
				f.seg("c", 30.3, "A", 5, 1, "bbbb") // 6: out of order
				f.seg("s", 40, "A", 1, 13, "")      // 7
			},
			want: map[uint64]SegmentKind{5: KindPreviousNotCaptured, 6: KindOutOfOrder},
		},
		{
			desc: "spurious retransmission of acknowledged data",
			build: func(f *flow) {
				f.handshake()
				f.seg("c", 30, "PA", 1, 1, "hello")  // 4
				f.seg("s", 40, "A", 1, 6, "")        // 5
				f.seg("c", 300, "PA", 1, 1, "hello") // 6
			},
			want: map[uint64]SegmentKind{6: KindRetransmission | KindSpuriousRetrans},
		},
		{
			desc: "zero window, zero-window probe, window update",
			build: func(f *flow) {
				f.handshake()
				f.seg("c", 30, "PA", 1, 1, "abcd")           // 4
				f.seg("s", 40, "A", 1, 5, "", window(0))     // 5: zero window
				f.seg("c", 240, "A", 5, 1, "e")              // 6: probe
				f.seg("s", 250, "A", 1, 5, "", window(0))    // 7: zero window (not dup ack: window repeats but 0)
				f.seg("s", 400, "A", 1, 5, "", window(8192)) // 8: window update
				f.seg("c", 410, "A", 5, 1, "efgh")           // 9: resends the probe byte
				f.seg("s", 420, "A", 1, 9, "", window(8192)) // 10
			},
			want: map[uint64]SegmentKind{
				5: KindZeroWindow,
				6: KindZeroWindowProbe,
				7: KindZeroWindow,
				8: KindWindowUpdate,
			},
		},
		{
			desc: "window full",
			build: func(f *flow) {
				f.handshake()
				f.seg("s", 25, "A", 1, 1, "", window(8)) // 4: server window 8 bytes
				f.seg("c", 30, "A", 1, 1, "abcd")        // 5
				f.seg("c", 30.1, "A", 5, 1, "efgh")      // 6: fills 1+8
				f.seg("s", 40, "A", 1, 9, "", window(8)) // 7
			},
			want: map[uint64]SegmentKind{4: KindWindowUpdate, 6: KindWindowFull},
		},
		{
			desc: "keep-alive and its ACK",
			build: func(f *flow) {
				f.handshake()
				f.seg("c", 30, "PA", 1, 1, "abcd") // 4
				f.seg("s", 40, "A", 1, 5, "")      // 5
				f.seg("c", 60040, "A", 4, 1, "")   // 6: keep-alive (seq = next-1)
				f.seg("s", 60041, "A", 1, 5, "")   // 7: answers with a duplicate ACK
				f.seg("c", 60042, "A", 4, 1, "x")  // 8: keep-alive with one garbage byte
			},
			want: map[uint64]SegmentKind{6: KindKeepAlive, 8: KindKeepAlive},
		},
		{
			desc: "capture duplicates are not retransmissions",
			build: func(f *flow) {
				f.handshake()
				orig := f.seg("c", 30, "PA", 1, 1, "hello")             // 4
				f.seg("c", 30.001, "PA", 1, 1, "hello", sameIPID(orig)) // 5: recorded twice
				f.seg("c", 30.003, "PA", 1, 1, "hello", sameIPID(orig)) // 6: thrice
				f.seg("s", 40, "A", 1, 6, "")                           // 7
				f.seg("c", 300, "PA", 1, 1, "hello", sameIPID(orig))    // 8: same ID 270 ms later: a real resend
			},
			want: map[uint64]SegmentKind{
				5: KindCaptureDuplicate,
				6: KindCaptureDuplicate,
				8: KindRetransmission | KindSpuriousRetrans,
			},
		},
		{
			desc: "retransmitted SYN",
			build: func(f *flow) {
				f.seg("c", 0, "S", 0, 0, "")
				f.seg("c", 1000, "S", 0, 0, "")
				f.seg("s", 1010, "SA", 0, 1, "")
				f.seg("c", 1020, "A", 1, 1, "")
			},
			want: map[uint64]SegmentKind{2: KindRetransmission},
		},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			f := newFlow("10.0.0.1:40000", "10.0.0.2:80")
			tc.build(f)
			c, _ := only(t, Config{}, f.segs)
			if len(c.Segments) != len(f.segs) {
				t.Fatalf("%d segment records, want %d", len(c.Segments), len(f.segs))
			}
			for _, r := range c.Segments {
				if want := tc.want[r.Frame]; r.Kind != want {
					t.Errorf("frame %d: kind %s, want %s", r.Frame, r.Kind, want)
				}
			}
		})
	}
}

// TestKindCounters checks that classifications reach DirectionStats.
func TestKindCounters(t *testing.T) {
	f := newFlow("10.0.0.1:40000", "10.0.0.2:80").handshake()
	orig := f.seg("c", 30, "PA", 1, 1, "hello")
	f.seg("c", 30.001, "PA", 1, 1, "hello", sameIPID(orig))
	f.seg("c", 330, "PA", 1, 1, "hello")
	f.seg("s", 340, "A", 1, 6, "", window(0))
	c, _ := only(t, Config{}, f.segs)
	cs, sc := c.Dir[ClientToServer], c.Dir[ServerToClient]
	if cs.Packets != 5 || cs.Bytes != 10 || cs.UniqueBytes != 5 || cs.CaptureDuplicates != 1 || cs.CaptureDuplicateBytes != 5 || cs.Retransmissions != 1 {
		t.Errorf("client stats %+v", cs)
	}
	if sc.ZeroWindows != 1 || sc.Packets != 2 {
		t.Errorf("server stats %+v", sc)
	}
	_ = capture.FlagACK
}
