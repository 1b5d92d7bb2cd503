package reassembly

import (
	"slices"
	"strings"
	"testing"
)

func TestDelivery(t *testing.T) {
	tests := []struct {
		desc     string
		cfg      Config
		build    func(f *flow)
		client   string // bytes delivered client to server, gaps as <gap N>
		server   string
		frames   []uint64 // frames of the client's Data calls
		sequence string   // call order, when it matters
		reasons  [2]EndReason
	}{
		{
			desc: "in order",
			build: func(f *flow) {
				f.handshake()
				f.seg("c", 30, "PA", 1, 1, "GET ")
				f.seg("c", 31, "PA", 5, 1, "/ HTTP/1.1\r\n\r\n")
				f.seg("s", 40, "PA", 1, 19, "HTTP/1.1 200 OK\r\n\r\n")
			},
			client: "GET / HTTP/1.1\r\n\r\n", server: "HTTP/1.1 200 OK\r\n\r\n", frames: []uint64{4, 5},
			sequence: "c:data c:data s:data c:end s:end",
			reasons:  [2]EndReason{EndOfCapture, EndOfCapture},
		},
		{
			desc: "reordered segments wait for the hole",
			build: func(f *flow) {
				f.handshake()
				f.seg("c", 30, "PA", 5, 1, "efgh") // 4
				f.seg("c", 31, "PA", 9, 1, "ijkl") // 5
				f.seg("c", 32, "PA", 1, 1, "abcd") // 6
			},
			client: "abcdefghijkl", frames: []uint64{6, 4, 5},
			reasons: [2]EndReason{EndOfCapture, EndOfCapture},
		},
		{
			desc: "overlapping retransmission delivers only new bytes",
			build: func(f *flow) {
				f.handshake()
				f.seg("c", 30, "PA", 1, 1, "abcd")
				f.seg("c", 300, "PA", 1, 1, "abcdefgh") // repacketised resend
				f.seg("c", 301, "PA", 3, 1, "cdefghij")
			},
			client: "abcdefghij", frames: []uint64{4, 5, 6},
			reasons: [2]EndReason{EndOfCapture, EndOfCapture},
		},
		{
			desc: "hole the peer acknowledges is a gap, then delivery goes on",
			build: func(f *flow) {
				f.handshake()
				f.seg("c", 30, "PA", 1, 1, "abcd")
				f.seg("c", 31, "PA", 9, 1, "ijkl") // efgh never captured
				f.seg("s", 40, "A", 1, 13, "")
				f.seg("c", 41, "PA", 13, 1, "mn")
			},
			client: "abcd<gap 4>ijklmn", frames: []uint64{4, 5, 7},
			sequence: "c:data c:gap c:data c:data c:end s:end",
			reasons:  [2]EndReason{EndOfCapture, EndOfCapture},
		},
		{
			desc: "hole never filled is a gap at the end of the stream",
			build: func(f *flow) {
				f.handshake()
				f.seg("c", 30, "PA", 1, 1, "abcd")
				f.seg("c", 31, "FPA", 9, 1, "ijkl")
			},
			client: "abcd<gap 4>ijkl", frames: []uint64{4, 5},
			reasons: [2]EndReason{EndFIN, EndOfCapture},
		},
		{
			desc: "buffer bound gives up on a hole",
			cfg:  Config{MaxBufferedBytes: 6},
			build: func(f *flow) {
				f.handshake()
				f.seg("c", 30, "PA", 1, 1, "ab")
				f.seg("c", 31, "PA", 5, 1, "efgh")
				f.seg("c", 32, "PA", 9, 1, "ijkl") // 8 bytes buffered > 6
				f.seg("c", 33, "PA", 3, 1, "cd")   // too late: already reported lost
			},
			client: "ab<gap 2>efghijkl", frames: []uint64{4, 5, 6},
			reasons: [2]EndReason{EndOfCapture, EndOfCapture},
		},
		{
			desc: "snaplen-cut payload is data then a gap",
			build: func(f *flow) {
				f.handshake()
				f.seg("c", 30, "PA", 1, 1, "abcd", wireLen(10))
				f.seg("c", 31, "PA", 11, 1, "klmn")
				f.seg("c", 32, "PA", 5, 1, "efghij") // the missing bytes, too late
			},
			client: "abcd<gap 6>klmn", frames: []uint64{4, 5},
			reasons: [2]EndReason{EndOfCapture, EndOfCapture},
		},
		{
			desc: "RST ends both directions and flushes buffered data",
			build: func(f *flow) {
				f.handshake()
				f.seg("c", 30, "PA", 1, 1, "ab")
				f.seg("c", 31, "PA", 5, 1, "ef")
				f.seg("s", 32, "RA", 1, 3, "")
				f.seg("c", 33, "PA", 3, 1, "cd") // after the RST: counted, not delivered
			},
			client: "ab<gap 2>ef", frames: []uint64{4, 5},
			reasons: [2]EndReason{EndRST, EndRST},
		},
		{
			desc: "both directions interleave in capture order",
			build: func(f *flow) {
				f.handshake()
				f.seg("c", 30, "PA", 1, 1, "req1")
				f.seg("s", 31, "PA", 1, 5, "resp1")
				f.seg("c", 32, "PA", 5, 6, "req2")
				f.seg("s", 33, "FPA", 6, 9, "resp2")
				f.seg("c", 34, "FA", 9, 12, "")
			},
			client: "req1req2", server: "resp1resp2", frames: []uint64{4, 6},
			sequence: "c:data s:data c:data s:data s:end c:end",
			reasons:  [2]EndReason{EndFIN, EndFIN},
		},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			f := newFlow("10.0.0.1:40000", "10.0.0.2:80")
			tc.build(f)
			_, log := only(t, tc.cfg, f.segs)
			if got := log.text[ClientToServer].String(); got != tc.client {
				t.Errorf("client stream %q, want %q", got, tc.client)
			}
			if got := log.text[ServerToClient].String(); got != tc.server {
				t.Errorf("server stream %q, want %q", got, tc.server)
			}
			if !slices.Equal(log.frames[ClientToServer], tc.frames) {
				t.Errorf("client Data frames %v, want %v", log.frames[ClientToServer], tc.frames)
			}
			if tc.sequence != "" {
				if got := strings.Join(log.sequence, " "); got != tc.sequence {
					t.Errorf("call order %q, want %q", got, tc.sequence)
				}
			}
			if log.reasons != tc.reasons {
				t.Errorf("end reasons %v, want %v", log.reasons, tc.reasons)
			}
		})
	}
}

func TestSequenceWraparound(t *testing.T) {
	f := newFlow("10.0.0.1:40000", "10.0.0.2:80")
	f.cliISN = 0xFFFFFFF8 // the client's bytes cross 2^32
	f.srvISN = 0xFFFFFFFE
	f.handshake()
	f.seg("c", 30, "PA", 1, 1, "abcdef")
	f.seg("c", 31, "PA", 13, 1, "mnop") // arrives before ghijkl
	f.seg("c", 31.5, "PA", 7, 1, "ghijkl")
	f.seg("s", 40, "PA", 1, 17, "response")
	f.seg("c", 41, "A", 17, 9, "")
	c, log := only(t, Config{}, f.segs)
	if got := log.text[ClientToServer].String(); got != "abcdefghijklmnop" {
		t.Errorf("client stream %q", got)
	}
	if got := log.text[ServerToClient].String(); got != "response" {
		t.Errorf("server stream %q", got)
	}
	want := map[uint64]SegmentKind{5: KindPreviousNotCaptured, 6: KindOutOfOrder}
	for _, r := range c.Segments {
		if r.Kind != want[r.Frame] {
			t.Errorf("frame %d kind %s, want %s", r.Frame, r.Kind, want[r.Frame])
		}
	}
	if c.Segments[5].Seq != 7 || c.Segments[7].Ack != 9 {
		t.Errorf("relative numbers across the wrap: seq %d ack %d", c.Segments[5].Seq, c.Segments[7].Ack)
	}
	if c.Dir[ClientToServer].UniqueBytes != 16 || c.Dir[ClientToServer].LostBytes != 0 {
		t.Errorf("client unique %d lost %d", c.Dir[0].UniqueBytes, c.Dir[0].LostBytes)
	}
}

func TestSeq(t *testing.T) {
	tests := []struct {
		a, b Seq
		less bool
		diff int64
	}{
		{1, 2, true, -1},
		{2, 1, false, 1},
		{0xFFFFFFFF, 0, true, -1},
		{0, 0xFFFFFFFF, false, 1},
		{0xFFFFFF00, 0x100, true, -0x200},
		{5, 5, false, 0},
	}
	for _, tc := range tests {
		if got := tc.a.LessThan(tc.b); got != tc.less {
			t.Errorf("%d.LessThan(%d) = %v", tc.a, tc.b, got)
		}
		if got := tc.a.Diff(tc.b); got != tc.diff {
			t.Errorf("%d.Diff(%d) = %d, want %d", tc.a, tc.b, got, tc.diff)
		}
		if tc.a.Add(int(-tc.diff)) != tc.b {
			t.Errorf("%d.Add(%d) != %d", tc.a, -tc.diff, tc.b)
		}
	}
	if !Seq(0xFFFFFFF0).Add(0x20).GreaterThan(0xFFFFFFF0) {
		t.Error("Add across the wrap must stay after")
	}
}
