package reassembly

import (
	"testing"

	"github.com/connscope/connscope/capture"
)

func withOptions(mss uint16, ws int8, sack, ts bool) func(*capture.Segment) {
	return func(s *capture.Segment) {
		s.Options = capture.TCPOptions{MSS: mss, WindowScale: ws, SACKPermitted: sack, HasTimestamps: ts}
	}
}

func TestHandshake(t *testing.T) {
	t.Run("full handshake with options and scaling", func(t *testing.T) {
		f := newFlow("10.0.0.1:40000", "10.0.0.2:80")
		f.seg("c", 0, "S", 0, 0, "", withOptions(1460, 7, true, true))
		f.seg("s", 12, "SA", 0, 1, "", withOptions(1400, 9, true, true))
		f.seg("c", 25, "A", 1, 1, "", window(100))
		f.seg("s", 30, "A", 1, 1, "", window(3))
		c, _ := only(t, Config{}, f.segs)
		hs := c.Handshake
		if hs.SYNFrame != 1 || hs.SYNACKFrame != 2 || hs.ACKFrame != 3 {
			t.Errorf("frames %d %d %d", hs.SYNFrame, hs.SYNACKFrame, hs.ACKFrame)
		}
		if hs.IRTT != 25e6 {
			t.Errorf("IRTT %d, want 25 ms", hs.IRTT)
		}
		if hs.ClientMSS != 1460 || hs.ServerMSS != 1400 || hs.ClientWindowScale != 7 || hs.ServerWindowScale != 9 || !hs.SACKPermitted || !hs.Timestamps {
			t.Errorf("options %+v", hs)
		}
		if c.RolesInferred || c.Client != f.cli {
			t.Errorf("roles: client %v inferred %v", c.Client, c.RolesInferred)
		}
		if w := c.Segments[0].Window; w != 65535 {
			t.Errorf("SYN window %d, must not be scaled", w)
		}
		if w := c.Segments[2].Window; w != 100<<7 {
			t.Errorf("client window %d, want %d", w, 100<<7)
		}
		if w := c.Segments[3].Window; w != 3<<9 {
			t.Errorf("server window %d, want %d", w, 3<<9)
		}
		if c.Dir[ClientToServer].ISN != f.cliISN || c.Dir[ServerToClient].ISN != f.srvISN {
			t.Errorf("ISNs %d %d", c.Dir[0].ISN, c.Dir[1].ISN)
		}
		if c.Segments[2].Seq != 1 || c.Segments[2].Ack != 1 {
			t.Errorf("relative seq/ack %d/%d, want 1/1", c.Segments[2].Seq, c.Segments[2].Ack)
		}
	})
	t.Run("scaling needs both sides", func(t *testing.T) {
		f := newFlow("10.0.0.1:40000", "10.0.0.2:80")
		f.seg("c", 0, "S", 0, 0, "", withOptions(1460, 7, true, false))
		f.seg("s", 12, "SA", 0, 1, "", withOptions(1400, -1, false, true))
		f.seg("c", 25, "A", 1, 1, "", window(100))
		c, _ := only(t, Config{}, f.segs)
		if w := c.Segments[2].Window; w != 100 {
			t.Errorf("window %d, want unscaled 100", w)
		}
		if c.Handshake.SACKPermitted || c.Handshake.Timestamps {
			t.Errorf("SACK/TS offered by one side only must be false: %+v", c.Handshake)
		}
	})
	t.Run("SYN and SYN/ACK retransmissions", func(t *testing.T) {
		f := newFlow("10.0.0.1:40000", "10.0.0.2:80")
		f.seg("c", 0, "S", 0, 0, "")
		f.seg("c", 1000, "S", 0, 0, "")
		f.seg("s", 1010, "SA", 0, 1, "")
		f.seg("s", 2010, "SA", 0, 1, "")
		f.seg("c", 2020, "A", 1, 1, "")
		c, _ := only(t, Config{}, f.segs)
		hs := c.Handshake
		if hs.SYNRetransmissions != 1 || hs.SYNACKRetransmissions != 1 {
			t.Errorf("retransmissions SYN %d SYN/ACK %d", hs.SYNRetransmissions, hs.SYNACKRetransmissions)
		}
		if hs.FirstSYNTime != t0 || hs.SYNFrame != 2 || hs.SYNACKFrame != 4 || hs.ACKFrame != 5 {
			t.Errorf("handshake %+v", hs)
		}
		if hs.IRTT != 1020e6 {
			t.Errorf("IRTT %d, want from the last SYN (1020 ms)", hs.IRTT)
		}
		if c.Dir[0].Retransmissions != 1 || c.Dir[1].Retransmissions != 1 {
			t.Errorf("retransmission counts %d %d", c.Dir[0].Retransmissions, c.Dir[1].Retransmissions)
		}
	})
	t.Run("TCP Fast Open data in the SYN is delivered", func(t *testing.T) {
		f := newFlow("10.0.0.1:40000", "10.0.0.2:80")
		f.seg("c", 0, "S", 0, 0, "GET / HTTP/1.0\r\n\r\n")
		f.seg("s", 10, "SA", 0, 19, "")
		f.seg("s", 11, "PA", 1, 19, "HTTP/1.0 200 OK\r\n\r\n")
		f.seg("c", 20, "A", 19, 20, "")
		c, log := only(t, Config{}, f.segs)
		if !c.Handshake.FastOpenData {
			t.Error("FastOpenData not set")
		}
		if got := log.text[ClientToServer].String(); got != "GET / HTTP/1.0\r\n\r\n" {
			t.Errorf("client stream %q", got)
		}
		if c.Handshake.ACKFrame != 4 {
			t.Errorf("ACK frame %d", c.Handshake.ACKFrame)
		}
	})
}

func TestClose(t *testing.T) {
	tests := []struct {
		desc         string
		build        func(f *flow)
		close        CloseKind
		first, rstBy Role
		unread, half bool
		state        string
		history      string
		reasons      [2]EndReason
	}{
		{
			desc: "client closes first, both FIN",
			build: func(f *flow) {
				f.handshake()
				f.seg("c", 30, "PA", 1, 1, "req")
				f.seg("s", 40, "PA", 1, 4, "resp")
				f.seg("c", 50, "FA", 4, 5, "")
				f.seg("s", 60, "FA", 5, 5, "")
				f.seg("c", 70, "A", 5, 6, "")
			},
			close: CloseFIN, first: RoleClient, state: "SF", history: "ShADdFf",
			reasons: [2]EndReason{EndFIN, EndFIN},
		},
		{
			desc: "server closes first with its last data",
			build: func(f *flow) {
				f.handshake()
				f.seg("c", 30, "PA", 1, 1, "req")
				f.seg("s", 40, "FPA", 1, 4, "resp")
				f.seg("c", 50, "FA", 4, 6, "")
				f.seg("s", 60, "A", 6, 5, "")
			},
			close: CloseFIN, first: RoleServer, state: "SF", history: "ShADfFa",
			reasons: [2]EndReason{EndFIN, EndFIN},
		},
		{
			desc: "half close: client FIN after its request, server keeps sending",
			build: func(f *flow) {
				f.handshake()
				f.seg("c", 30, "FPA", 1, 1, "req")
				f.seg("s", 40, "PA", 1, 5, "resp")
				f.seg("s", 41, "FA", 5, 5, "")
				f.seg("c", 50, "A", 5, 6, "")
			},
			close: CloseFIN, first: RoleClient, half: true, state: "SF", history: "ShAFdf",
			reasons: [2]EndReason{EndFIN, EndFIN},
		},
		{
			desc: "server resets with an unread pipelined request",
			build: func(f *flow) {
				f.handshake()
				f.seg("c", 30, "PA", 1, 1, "req1")
				f.seg("s", 40, "PA", 1, 5, "resp")
				f.seg("c", 41, "PA", 5, 1, "req2") // server never acknowledges it
				f.seg("s", 42, "RA", 5, 5, "")
			},
			close: CloseRST, first: RoleServer, rstBy: RoleServer, unread: true, state: "RSTR", history: "ShADdr",
			reasons: [2]EndReason{EndRST, EndRST},
		},
		{
			desc: "client resets after a complete exchange",
			build: func(f *flow) {
				f.handshake()
				f.seg("c", 30, "PA", 1, 1, "req")
				f.seg("s", 40, "FPA", 1, 4, "resp")
				f.seg("c", 50, "A", 4, 6, "")
				f.seg("c", 51, "RA", 4, 6, "")
			},
			close: CloseRST, first: RoleServer, rstBy: RoleClient, state: "RSTO", history: "ShADfR",
			reasons: [2]EndReason{EndRST, EndFIN},
		},
		{
			desc: "client resets before its delayed ACK went out: the RST acknowledges the response",
			build: func(f *flow) {
				f.handshake()
				f.seg("c", 30, "PA", 1, 1, "req")
				f.seg("s", 40, "PA", 1, 4, "resp")
				f.seg("c", 41, "RA", 4, 5, "")
			},
			close: CloseRST, first: RoleClient, rstBy: RoleClient, state: "RSTO", history: "ShADdR",
			reasons: [2]EndReason{EndRST, EndRST},
		},
		{
			desc: "client resets with response bytes its RST does not acknowledge",
			build: func(f *flow) {
				f.handshake()
				f.seg("c", 30, "PA", 1, 1, "req")
				f.seg("s", 40, "PA", 1, 4, "resp")
				f.seg("c", 41, "RA", 4, 3, "") // acknowledges 2 of the 4 bytes
			},
			close: CloseRST, first: RoleClient, rstBy: RoleClient, unread: true, state: "RSTO", history: "ShADdR",
			reasons: [2]EndReason{EndRST, EndRST},
		},
		{
			desc: "connection refused",
			build: func(f *flow) {
				f.seg("c", 0, "S", 0, 0, "")
				f.seg("s", 1, "RA", 0, 1, "")
			},
			close: CloseRST, first: RoleServer, rstBy: RoleServer, state: "REJ", history: "Sr",
			reasons: [2]EndReason{EndRST, EndRST},
		},
		{
			desc: "SYN never answered",
			build: func(f *flow) {
				f.seg("c", 0, "S", 0, 0, "")
				f.seg("c", 1000, "S", 0, 0, "")
			},
			close: CloseOpen, state: "S0", history: "S",
			reasons: [2]EndReason{EndOfCapture, EndOfCapture},
		},
		{
			desc: "still open at the end of the capture",
			build: func(f *flow) {
				f.handshake()
				f.seg("c", 30, "PA", 1, 1, "req")
			},
			close: CloseOpen, state: "S1", history: "ShAD",
			reasons: [2]EndReason{EndOfCapture, EndOfCapture},
		},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			f := newFlow("10.0.0.1:40000", "10.0.0.2:80")
			tc.build(f)
			c, log := only(t, Config{}, f.segs)
			if c.Close != tc.close || c.ClosedFirstBy != tc.first || c.RSTBy != tc.rstBy {
				t.Errorf("close %s first %q rst by %q, want %s %q %q", c.Close, c.ClosedFirstBy, c.RSTBy, tc.close, tc.first, tc.rstBy)
			}
			if c.RSTWithUnreadData != tc.unread || c.HalfClosed != tc.half {
				t.Errorf("unread %v half %v, want %v %v", c.RSTWithUnreadData, c.HalfClosed, tc.unread, tc.half)
			}
			if c.State != tc.state || c.History != tc.history {
				t.Errorf("state %s history %s, want %s %s", c.State, c.History, tc.state, tc.history)
			}
			if log.reasons != tc.reasons {
				t.Errorf("end reasons %v, want %v", log.reasons, tc.reasons)
			}
		})
	}
}

func TestFINAndRSTFrames(t *testing.T) {
	f := newFlow("10.0.0.1:40000", "10.0.0.2:80").handshake()
	f.seg("s", 30, "FA", 1, 1, "")
	f.seg("c", 31, "RA", 1, 2, "")
	c, _ := only(t, Config{}, f.segs)
	if c.Dir[ServerToClient].FINFrame != 4 || c.Dir[ClientToServer].RSTFrame != 5 || c.Dir[ClientToServer].RSTTime != t0+31e6 {
		t.Errorf("FIN/RST frames: %+v", c.Dir)
	}
}

func TestIdleExpiry(t *testing.T) {
	f := newFlow("10.0.0.1:40000", "10.0.0.2:80").handshake()
	f.seg("c", 30, "PA", 1, 1, "req")
	other := newFlow("10.0.0.3:40000", "10.0.0.2:80")
	other.frame = f.frame
	other.seg("c", 5000, "S", 0, 0, "") // capture time moves on
	segs := append(f.segs, other.segs...)
	r, a := run(t, Config{IdleTimeout: 2e9}, segs)
	if len(r.closed) != 2 {
		t.Fatalf("%d connections", len(r.closed))
	}
	first := r.closed[0]
	if first.ID != 1 || r.streams[first].reasons != [2]EndReason{EndIdleExpired, EndIdleExpired} {
		t.Errorf("first closed: id %d reasons %v", first.ID, r.streams[first].reasons)
	}
	if st := a.Stats(); st.Expired != 1 || st.Connections != 2 || st.Closed != 2 || st.OpenNow != 0 {
		t.Errorf("stats %+v", st)
	}
}
