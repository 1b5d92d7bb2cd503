package reassembly

import (
	"net/netip"
	"testing"
)

func TestTupleReuse(t *testing.T) {
	closeFIN := func(f *flow, at float64) {
		f.seg("c", at, "FA", 1, 1, "")
		f.seg("s", at+1, "FA", 1, 2, "")
		f.seg("c", at+2, "A", 2, 2, "")
	}
	tests := []struct {
		desc    string
		cfg     Config
		build   func(f *flow)
		conns   int
		reused  bool
		prevEnd float64      // ms
		ends    [2]EndReason // of the first connection
	}{
		{
			desc: "new ISN after FIN while lingering",
			build: func(f *flow) {
				f.handshake()
				closeFIN(f, 30)
				f.cliISN, f.srvISN = 90000, 70000
				f.handshake2(100)
			},
			conns: 2, reused: true, prevEnd: 32, ends: [2]EndReason{EndFIN, EndFIN},
		},
		{
			desc: "new ISN after FIN, long after the linger",
			build: func(f *flow) {
				f.handshake()
				closeFIN(f, 30)
				f.cliISN, f.srvISN = 90000, 70000
				f.handshake2(30000)
			},
			conns: 2, reused: true, prevEnd: 32, ends: [2]EndReason{EndFIN, EndFIN},
		},
		{
			desc: "new ISN after RST",
			build: func(f *flow) {
				f.handshake()
				f.seg("c", 30, "RA", 1, 1, "")
				f.cliISN = 90000
				f.handshake2(40)
			},
			conns: 2, reused: true, prevEnd: 30, ends: [2]EndReason{EndRST, EndRST},
		},
		{
			desc: "new ISN after the old connection went idle",
			cfg:  Config{IdleTimeout: 60e9},
			build: func(f *flow) {
				f.handshake()
				f.seg("c", 30, "PA", 1, 1, "x")
				f.cliISN = 90000
				f.handshake2(120000)
			},
			conns: 2, reused: true, prevEnd: 30, ends: [2]EndReason{EndIdleExpired, EndIdleExpired},
		},
		{
			desc: "new ISN while the old connection looks open",
			build: func(f *flow) {
				f.handshake()
				f.seg("c", 30, "PA", 1, 1, "x")
				f.cliISN = 90000
				f.handshake2(5000)
			},
			conns: 2, reused: true, prevEnd: 30, ends: [2]EndReason{EndReused, EndReused},
		},
		{
			desc: "retransmitted SYN is the same connection",
			build: func(f *flow) {
				f.seg("c", 0, "S", 0, 0, "")
				f.seg("c", 1000, "S", 0, 0, "")
				f.seg("c", 3000, "S", 0, 0, "")
			},
			conns: 1,
		},
		{
			desc: "FIN resent after the last ACK stays in the connection",
			build: func(f *flow) {
				f.handshake()
				closeFIN(f, 30)
				f.seg("s", 230, "FA", 1, 2, "") // the server did not get the last ACK
				f.seg("c", 231, "A", 2, 2, "")
			},
			conns: 1,
		},
		{
			desc: "RST long after a reset stays in the connection",
			build: func(f *flow) {
				f.handshake()
				f.seg("c", 30, "PA", 1, 1, "x")
				f.seg("s", 31, "RA", 1, 2, "")
				f.seg("c", 3000, "PA", 2, 1, "y") // the client did not see the RST
				f.seg("s", 3001, "R", 1, 0, "")
			},
			conns: 1,
		},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			f := newFlow("10.0.0.1:40000", "10.0.0.2:80")
			tc.build(f)
			r, a := run(t, tc.cfg, f.segs)
			if len(r.closed) != tc.conns {
				t.Fatalf("%d connections, want %d", len(r.closed), tc.conns)
			}
			if tc.conns == 1 {
				if r.closed[0].ReusedTuple {
					t.Error("single connection marked reused")
				}
				return
			}
			byID := map[int]*Connection{}
			for _, c := range r.closed {
				byID[c.ID] = c
			}
			first, second := byID[1], byID[2]
			if first.ReusedTuple || !second.ReusedTuple || second.PreviousID != 1 || second.PreviousEnd != t0+int64(tc.prevEnd*1e6) {
				t.Errorf("reuse: first %v, second %v prev %d end %d", first.ReusedTuple, second.ReusedTuple, second.PreviousID, second.PreviousEnd-t0)
			}
			if got := r.streams[first].reasons; got != tc.ends {
				t.Errorf("first connection ended %v, want %v", got, tc.ends)
			}
			if second.Handshake.SYNFrame == 0 || second.Dir[ClientToServer].ISN != f.cliISN {
				t.Errorf("second connection handshake %+v", second.Handshake)
			}
			if a.Stats().ReusedTuples != 1 {
				t.Errorf("stats reused %d", a.Stats().ReusedTuples)
			}
		})
	}
}

// handshake2 appends a handshake starting at ms.
func (f *flow) handshake2(ms float64) {
	f.seg("c", ms, "S", 0, 0, "")
	f.seg("s", ms+10, "SA", 0, 1, "")
	f.seg("c", ms+20, "A", 1, 1, "")
}

func TestRolesInferred(t *testing.T) {
	tests := []struct {
		desc          string
		first         [2]string // src, dst of the first segment
		flags         string
		prior         bool // a handshake to first[0] as server happened before
		wantClient    string
		inferred      bool
		historyPrefix string
	}{
		{"SYN sender is the client", [2]string{"10.0.0.1:40000", "10.0.0.2:80"}, "S", false, "10.0.0.1:40000", false, "S"},
		{"SYN/ACK sender is the server", [2]string{"10.0.0.2:80", "10.0.0.1:40000"}, "SA", false, "10.0.0.1:40000", true, "^h"},
		{"well-known port mid-stream", [2]string{"10.0.0.2:8080", "10.0.0.1:40000"}, "PA", false, "10.0.0.1:40000", true, "^d"},
		{"port below 1024 mid-stream", [2]string{"10.0.0.1:40000", "10.0.0.2:993"}, "PA", false, "10.0.0.1:40000", true, "D"},
		{"both high ports: first sender", [2]string{"10.0.0.2:50000", "10.0.0.1:40000"}, "PA", false, "10.0.0.2:50000", true, "D"},
		{"endpoint seen as a server before", [2]string{"10.0.0.9:50000", "10.0.0.1:40000"}, "PA", true, "10.0.0.1:40000", true, "^d"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			var segs = []*flow{}
			_ = segs
			r := newRecorder(t)
			a := NewAssembler(Config{}, r)
			if tc.prior {
				p := newFlow("10.0.0.7:41000", tc.first[0]).handshake()
				for _, s := range p.segs {
					a.Add(s)
				}
			}
			f := newFlow(tc.first[0], tc.first[1])
			f.frame = 10
			payload := ""
			if tc.flags == "PA" {
				payload = "data"
			}
			a.Add(f.seg("c", 100, tc.flags, 1, 1, payload))
			a.Flush()
			c := r.closed[len(r.closed)-1]
			if c.Client != netip.MustParseAddrPort(tc.wantClient) || c.RolesInferred != tc.inferred {
				t.Errorf("client %v inferred %v, want %s %v", c.Client, c.RolesInferred, tc.wantClient, tc.inferred)
			}
			if c.History != tc.historyPrefix {
				t.Errorf("history %q, want %q", c.History, tc.historyPrefix)
			}
		})
	}
}
