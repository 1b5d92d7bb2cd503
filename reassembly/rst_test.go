package reassembly

import (
	"testing"
)

// rstWant is what a test of a RST expects of the connection that carried it.
type rstWant struct {
	client, server string // bytes delivered each way
	reasons        [2]EndReason
	// endFrame is the frame both Ends must name (0: not checked), the RST's
	// when it ended the connection.
	endFrame    uint64
	close       CloseKind
	rstBy       Role
	ignored     int    // Connection.IgnoredRSTs
	ignoredAt   uint64 // frame whose record must carry KindIgnoredRST (0: none may)
	rstFrame    uint64 // the client's Dir RSTFrame
	state       string // Zeek conn_state ("" not checked)
	closedFirst Role
}

func checkRST(t *testing.T, c *Connection, l *streamLog, w rstWant) {
	t.Helper()
	if got := l.text[ClientToServer].String(); got != w.client {
		t.Errorf("client bytes %q, want %q", got, w.client)
	}
	if got := l.text[ServerToClient].String(); got != w.server {
		t.Errorf("server bytes %q, want %q", got, w.server)
	}
	if l.reasons != w.reasons {
		t.Errorf("end reasons %v, want %v", l.reasons, w.reasons)
	}
	if w.endFrame != 0 {
		for d, at := range l.endAt {
			if at.Frame != w.endFrame {
				t.Errorf("%s ended at frame %d, want the RST's frame %d", Direction(d), at.Frame, w.endFrame)
			}
		}
	}
	if c.Close != w.close || c.RSTBy != w.rstBy || c.ClosedFirstBy != w.closedFirst {
		t.Errorf("close %s rst by %q closed first by %q, want %s, %q, %q",
			c.Close, c.RSTBy, c.ClosedFirstBy, w.close, w.rstBy, w.closedFirst)
	}
	if c.IgnoredRSTs != w.ignored {
		t.Errorf("IgnoredRSTs %d, want %d", c.IgnoredRSTs, w.ignored)
	}
	if got := c.Dir[ClientToServer].RSTFrame; got != w.rstFrame {
		t.Errorf("client RSTFrame %d, want %d", got, w.rstFrame)
	}
	for _, s := range c.Segments {
		if marked := s.Kind&KindIgnoredRST != 0; marked != (s.Frame == w.ignoredAt) {
			t.Errorf("frame %d: ignored RST mark %v (kinds %s)", s.Frame, marked, s.Kind)
		}
	}
	if w.state != "" && c.State != w.state {
		t.Errorf("state %s (history %s), want %s", c.State, c.History, w.state)
	}
}

const (
	rstRequest  = "GET / HTTP/1.1\r\n\r\n"                       // 18 bytes
	rstResponse = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n" // 38 bytes
)

// TestIgnoredRST covers the RSTs a connection outlives and the ones that
// still end it, each built by hand.
func TestIgnoredRST(t *testing.T) {
	tests := []struct {
		desc  string
		build func(f *flow)
		want  rstWant
	}{
		{
			// suricata-verify security-4710: the RST carries a TCP-MD5
			// option the server does not accept, and the exchange goes on.
			desc: "RST then the sender's request: ignored, the connection goes on",
			build: func(f *flow) {
				f.handshake()
				f.seg("c", 30, "RA", 1, 1, "")           // 4
				f.seg("c", 40, "PA", 1, 1, rstRequest)   // 5
				f.seg("s", 41, "A", 1, 19, "")           // 6
				f.seg("s", 42, "PA", 1, 19, rstResponse) // 7
				f.seg("s", 42, "FA", 39, 19, "")         // 8
				f.seg("c", 50, "FA", 19, 40, "")         // 9
				f.seg("s", 51, "A", 40, 20, "")          // 10
			},
			want: rstWant{client: rstRequest, server: rstResponse, reasons: [2]EndReason{EndFIN, EndFIN},
				close: CloseFIN, closedFirst: RoleServer, ignored: 1, ignoredAt: 4, state: "SF"},
		},
		{
			desc: "RST then nothing: End at the RST",
			build: func(f *flow) {
				f.handshake()
				f.seg("c", 30, "PA", 1, 1, rstRequest) // 4
				f.seg("c", 40, "RA", 19, 1, "")        // 5
			},
			want: rstWant{client: rstRequest, reasons: [2]EndReason{EndRST, EndRST}, endFrame: 5,
				close: CloseRST, rstBy: RoleClient, closedFirst: RoleClient, rstFrame: 5, state: "RSTO"},
		},
		{
			// The receiver may have answered with a challenge ACK, but
			// the sender never went on: the RST closed it for all we see.
			desc: "RST then only the peer's pure ACK: still a RST close",
			build: func(f *flow) {
				f.handshake()
				f.seg("c", 30, "PA", 1, 1, rstRequest) // 4
				f.seg("c", 40, "RA", 19, 1, "")        // 5
				f.seg("s", 41, "A", 1, 19, "")         // 6
				f.seg("s", 80, "A", 1, 19, "")         // 7
			},
			want: rstWant{client: rstRequest, reasons: [2]EndReason{EndRST, EndRST}, endFrame: 5,
				close: CloseRST, rstBy: RoleClient, closedFirst: RoleClient, rstFrame: 5, state: "RSTO"},
		},
		{
			desc: "RST, challenge ACK, then the sender's data: ignored",
			build: func(f *flow) {
				f.handshake()
				f.seg("c", 30, "RA", 1, 1, "")         // 4
				f.seg("s", 31, "A", 1, 1, "")          // 5: challenge ACK
				f.seg("c", 40, "PA", 1, 1, rstRequest) // 6
			},
			want: rstWant{client: rstRequest, reasons: [2]EndReason{EndOfCapture, EndOfCapture},
				close: CloseOpen, ignored: 1, ignoredAt: 4, state: "S1"},
		},
		{
			desc: "RST then a retransmission below its number: undecided, so End at the RST",
			build: func(f *flow) {
				f.handshake()
				f.seg("c", 30, "PA", 1, 1, rstRequest)  // 4
				f.seg("c", 40, "RA", 19, 1, "")         // 5
				f.seg("c", 300, "PA", 1, 1, rstRequest) // 6
			},
			want: rstWant{client: rstRequest, reasons: [2]EndReason{EndRST, EndRST}, endFrame: 5,
				close: CloseRST, rstBy: RoleClient, closedFirst: RoleClient, rstFrame: 5},
		},
		{
			desc: "RST, a retransmission, then new data past it: ignored",
			build: func(f *flow) {
				f.handshake()
				f.seg("c", 30, "PA", 1, 1, "abcd")  // 4
				f.seg("c", 40, "RA", 5, 1, "")      // 5
				f.seg("c", 300, "PA", 1, 1, "abcd") // 6
				f.seg("c", 310, "PA", 5, 1, "efgh") // 7
			},
			want: rstWant{client: "abcdefgh", reasons: [2]EndReason{EndOfCapture, EndOfCapture},
				close: CloseOpen, ignored: 1, ignoredAt: 5},
		},
		{
			// Bytes that end at the RST's number may have been sent before
			// it and captured after it: no proof.
			desc: "RST then data that ends at its number: End at the RST",
			build: func(f *flow) {
				f.handshake()
				f.seg("c", 30, "PA", 1, 1, "abcd") // 4
				f.seg("c", 31, "RA", 9, 1, "")     // 5
				f.seg("c", 31, "PA", 5, 1, "efgh") // 6
			},
			want: rstWant{client: "abcd", reasons: [2]EndReason{EndRST, EndRST}, endFrame: 5,
				close: CloseRST, rstBy: RoleClient, closedFirst: RoleClient, rstFrame: 5},
		},
		{
			// The server's bytes may have crossed the RST on the wire: a
			// response cut short by the client's RST looks like this.
			desc: "client RST then the server's new data: End at the RST",
			build: func(f *flow) {
				f.handshake()
				f.seg("c", 30, "PA", 1, 1, rstRequest)  // 4
				f.seg("s", 40, "PA", 1, 19, "HTTP/1.1") // 5
				f.seg("c", 41, "RA", 19, 9, "")         // 6
				f.seg("s", 42, "PA", 9, 19, " 200 OK")  // 7
			},
			want: rstWant{client: rstRequest, server: "HTTP/1.1", reasons: [2]EndReason{EndRST, EndRST}, endFrame: 6,
				close: CloseRST, rstBy: RoleClient, closedFirst: RoleClient, rstFrame: 6},
		},
		{
			desc: "server RST mid-response, then the server goes on: ignored",
			build: func(f *flow) {
				f.handshake()
				f.seg("c", 30, "PA", 1, 1, rstRequest)  // 4
				f.seg("s", 40, "PA", 1, 19, "HTTP/1.1") // 5
				f.seg("s", 41, "RA", 9, 19, "")         // 6
				f.seg("s", 42, "PA", 9, 19, " 200 OK")  // 7
			},
			want: rstWant{client: rstRequest, server: "HTTP/1.1 200 OK", reasons: [2]EndReason{EndOfCapture, EndOfCapture},
				close: CloseOpen, ignored: 1, ignoredAt: 6},
		},
		{
			desc: "an ignored RST, then one that ends it",
			build: func(f *flow) {
				f.handshake()
				f.seg("c", 30, "RA", 1, 1, "")         // 4
				f.seg("c", 40, "PA", 1, 1, rstRequest) // 5
				f.seg("c", 50, "RA", 19, 1, "")        // 6
				f.seg("c", 51, "RA", 19, 1, "")        // 7: the RST again
			},
			want: rstWant{client: rstRequest, reasons: [2]EndReason{EndRST, EndRST}, endFrame: 6,
				close: CloseRST, rstBy: RoleClient, closedFirst: RoleClient, rstFrame: 6, ignored: 1, ignoredAt: 4},
		},
		{
			desc: "RST then the sender's FIN: ignored, closed by FIN",
			build: func(f *flow) {
				f.handshake()
				f.seg("c", 30, "PA", 1, 1, rstRequest) // 4
				f.seg("c", 31, "RA", 19, 1, "")        // 5
				f.seg("c", 32, "FA", 19, 1, "")        // 6
			},
			want: rstWant{client: rstRequest, reasons: [2]EndReason{EndFIN, EndOfCapture},
				close: CloseFIN, closedFirst: RoleClient, ignored: 1, ignoredAt: 5},
		},
		{
			// The ignored RST must not leave the connection on the close
			// linger: a pause longer than CloseLinger is not its end.
			desc: "after an ignored RST the connection is open again, past the close linger",
			build: func(f *flow) {
				f.handshake()
				f.seg("c", 30, "RA", 1, 1, "")            // 4
				f.seg("c", 40, "PA", 1, 1, rstRequest)    // 5
				f.seg("s", 7000, "PA", 1, 19, "HTTP/1.1") // 6
			},
			want: rstWant{client: rstRequest, server: "HTTP/1.1", reasons: [2]EndReason{EndOfCapture, EndOfCapture},
				close: CloseOpen, ignored: 1, ignoredAt: 4},
		},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			f := newFlow("10.0.0.1:40000", "10.0.0.2:80")
			tc.build(f)
			c, l := only(t, Config{}, f.segs)
			checkRST(t, c, l, tc.want)
		})
	}
}

// TestHeldRSTEndsWithTheConnection checks that a RST nothing followed
// ends its connection at the RST's frame however the connection is let go:
// the close linger running out, eviction, reuse of the 4-tuple.
func TestHeldRSTEndsWithTheConnection(t *testing.T) {
	tests := []struct {
		desc  string
		cfg   Config
		build func(f, other *flow)
		conns int
	}{
		{
			desc: "close linger",
			build: func(f, other *flow) {
				f.handshake()
				f.seg("c", 30, "PA", 1, 1, rstRequest)
				f.seg("c", 40, "RA", 19, 1, "") // 5
				other.segs = nil
				other.frame = f.frame
				other.seg("c", 6000, "S", 0, 0, "")
				f.segs = append(f.segs, other.segs...)
			},
			conns: 2,
		},
		{
			desc: "eviction",
			cfg:  Config{MaxConnections: 1},
			build: func(f, other *flow) {
				f.handshake()
				f.seg("c", 30, "PA", 1, 1, rstRequest)
				f.seg("c", 40, "RA", 19, 1, "") // 5
				other.frame = f.frame
				other.seg("c", 50, "S", 0, 0, "")
				f.segs = append(f.segs, other.segs...)
			},
			conns: 2,
		},
		{
			desc: "reuse",
			build: func(f, other *flow) {
				f.handshake()
				f.seg("c", 30, "PA", 1, 1, rstRequest)
				f.seg("c", 40, "RA", 19, 1, "") // 5
				f.cliISN = 90000
				f.seg("c", 50, "S", 0, 0, "")
			},
			conns: 2,
		},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			f := newFlow("10.0.0.1:40000", "10.0.0.2:80")
			other := newFlow("10.0.0.3:40000", "10.0.0.2:80")
			tc.build(f, other)
			r, _ := run(t, tc.cfg, f.segs)
			if len(r.closed) != tc.conns {
				t.Fatalf("%d connections, want %d", len(r.closed), tc.conns)
			}
			first := r.opened[0]
			checkRST(t, first, r.streams[first], rstWant{client: rstRequest, reasons: [2]EndReason{EndRST, EndRST},
				endFrame: 5, close: CloseRST, rstBy: RoleClient, closedFirst: RoleClient, rstFrame: 5, state: "RSTO"})
		})
	}
}
