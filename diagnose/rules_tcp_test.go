package diagnose

import (
	"testing"

	"github.com/connscope/connscope/capture"
	"github.com/connscope/connscope/reassembly"
)

// synRetransmitted builds a connection whose SYN was sent at 0 and again at
// 1000 ms before the server answered.
func synRetransmitted() *fx {
	f := newConn(-1, 0)
	f.c.RolesInferred = false
	s1 := f.seg(0, c2s, 0, capture.FlagSYN, 0, true)
	s2 := f.seg(1000, c2s, 0, capture.FlagSYN, reassembly.KindRetransmission, true)
	sa := f.seg(1050, s2c, 0, capture.FlagSYN|capture.FlagACK, 0, true)
	a := f.ack(1050.5, c2s)
	h := &f.c.Handshake
	h.SYNFrame, h.SYNACKFrame, h.ACKFrame = s2.Frame, sa.Frame, a.Frame
	h.FirstSYNTime, h.SYNTime, h.SYNACKTime, h.ACKTime = s1.Time, s2.Time, sa.Time, a.Time
	h.SYNRetransmissions = 1
	f.exchange(1051, 100, 5, 300)
	f.finish(1100, c2s)
	return f
}

// flights sends a response from the server in flights of the given
// segment counts, a round trip (rttMs) apart, with the client's ACKs
// arriving just before each next flight (capture near the server).
func flights(f *fx, startMs, rttMs float64, counts ...int) (first, last *reassembly.SegmentRecord) {
	ms := startMs
	for i, n := range counts {
		for k := 0; k < n; k++ {
			s := f.data(ms+float64(k)*0.01, s2c, 1460)
			if first == nil {
				first = s
			}
			last = s
		}
		if i < len(counts)-1 {
			f.ack(ms+rttMs-0.05, c2s)
		}
		ms += rttMs
	}
	f.ack(ms-0.05, c2s) // the last flight's ACK
	return first, last
}

// slowStartConn builds a fresh connection (iRTT 20 ms, capture near the
// server) whose first response leaves in flights of the given sizes.
func slowStartConn(counts ...int) *fx {
	f := newConn(0.1, 19.9)
	q := f.data(20.1, c2s, 200)
	first, last := flights(f, 20.2, 20, counts...)
	f.tx(msg(q, q), msg(first, last))
	return f
}

func TestTCPRules(t *testing.T) {
	runCases(t, []ruleCase{
		{desc: "one small transaction behind a 50 ms handshake", rule: "CT1001", want: 1,
			build: func() []*fx {
				f := newConn(49, 1)
				f.exchange(50.1, 100, 51, 300)
				f.finish(200, c2s)
				return one(f)
			}, check: wantCost(50)},
		{desc: "two small transactions, each on its own connection behind a 50 ms handshake", rule: "CT1001", want: 1,
			build: func() []*fx {
				cf := &captureFx{}
				var out []*fx
				for i, start := range []float64{0, 300} {
					f := cf.conn(i+1, uint16(40000+i), start, 49, 1)
					f.exchange(start+50.1, 100, 51, 300)
					f.finish(start+200, c2s)
					out = append(out, f)
				}
				return out
			}, check: both(wantCost(100), wantText("(at most 1 transaction each)"))},
		{desc: "look-alike: same handshake amortised over five transactions", rule: "CT1001", want: 0,
			build: func() []*fx {
				f := newConn(49, 1)
				for i := 0; i < 5; i++ {
					f.exchange(50.1+float64(i)*60, 100, 51, 300)
				}
				f.finish(400, c2s)
				return one(f)
			}},
		{desc: "look-alike: handshake small next to a slow server", rule: "CT1001", want: 0,
			build: func() []*fx {
				f := newConn(1, 0.1)
				f.exchange(1.2, 100, 500, 300)
				f.finish(600, c2s)
				return one(f)
			}},

		{desc: "SYN sent twice, one second apart", rule: "CT1002", want: 1,
			build: func() []*fx { return one(synRetransmitted()) },
			check: both(wantCost(1000), wantText("SYN sent 2 times"))},
		// Captured near the server: its SYN/ACK never reached the client,
		// which sent its SYN again after 3 s; the server answered that one
		// too. One loss, one wait: one finding costing 3 s, not two.
		{desc: "SYN/ACK lost after the capture point: SYN and SYN/ACK both sent twice", rule: "CT1002", want: 1,
			build: func() []*fx {
				f := newConn(-1, 0)
				f.c.RolesInferred = false
				s1 := f.seg(0, c2s, 0, capture.FlagSYN, 0, true)
				f.seg(0.4, s2c, 0, capture.FlagSYN|capture.FlagACK, 0, true)
				s2 := f.seg(3000, c2s, 0, capture.FlagSYN, reassembly.KindRetransmission, true)
				sa := f.seg(3000.4, s2c, 0, capture.FlagSYN|capture.FlagACK, reassembly.KindRetransmission, true)
				a := f.ack(3370, c2s)
				h := &f.c.Handshake
				h.SYNFrame, h.SYNACKFrame, h.ACKFrame = s2.Frame, sa.Frame, a.Frame
				h.FirstSYNTime, h.SYNTime, h.SYNACKTime, h.ACKTime = s1.Time, s2.Time, sa.Time, a.Time
				h.SYNRetransmissions = 1
				f.exchange(3371, 100, 5, 300)
				f.finish(3400, c2s)
				return one(f)
			},
			check: both(wantCost(3000.4), wantText("SYN sent 2 times", "SYN/ACK sent 2 times", "answered the first SYN"))},
		{desc: "look-alike: clean handshake", rule: "CT1002", want: 0,
			build: func() []*fx {
				f := newConn(10, 0.1)
				f.exchange(10.2, 100, 5, 300)
				return one(f)
			}},

		{desc: "window-limited server waits for a delayed ACK", rule: "CT1003", want: 1,
			build: func() []*fx {
				f := newConn(0.1, 10) // capture near the server
				q := f.data(10.2, c2s, 200)
				x := f.data(11, s2c, 1460)
				f.ack(61, c2s) // 50 ms after x: 10 ms round trip + 40 ms delay
				y := f.data(61.05, s2c, 1460)
				f.ack(71.1, c2s)
				f.tx(msg(q, q), msg(x, y))
				return one(f)
			}, check: wantCost(40)},
		{desc: "look-alike: prompt ACK", rule: "CT1003", want: 0,
			build: func() []*fx {
				f := newConn(0.1, 10)
				q := f.data(10.2, c2s, 200)
				x := f.data(11, s2c, 1460)
				f.ack(21.5, c2s)
				y := f.data(21.55, s2c, 1460)
				f.tx(msg(q, q), msg(x, y))
				return one(f)
			}},
		{desc: "look-alike: sub-MSS held segment is Nagle's, not this rule's", rule: "CT1003", want: 0,
			build: func() []*fx { return one(nagleConn(false)) }},
		{desc: "far server released by the delayed ACK one round trip later", rule: "CT1003", want: 1,
			build: func() []*fx { return one(farSenderWait(s2c, 1460, 30.5)) }, check: wantCost(40)},
		{desc: "look-alike: the next segment passed the capture point 2 ms after the ACK, 30 ms from the server", rule: "CT1003", want: 0,
			build: func() []*fx { return one(farSenderWait(s2c, 1460, 2)) }},

		{desc: "request headers and body written apart, body held by Nagle", rule: "CT1007", want: 1,
			build: func() []*fx { return one(nagleConn(false)) },
			check: both(wantCost(50.05), wantText("client side Nagle stall", "held 100 bytes"))},
		{desc: "look-alike: TCP_NODELAY sends the body at once", rule: "CT1007", want: 0,
			build: func() []*fx { return one(nagleConn(true)) }},
		{desc: "far client's body released by the delayed ACK one round trip later", rule: "CT1007", want: 1,
			build: func() []*fx { return one(farSenderWait(c2s, 100, 30.5)) }},
		{desc: "look-alike: the body passed the capture point 2 ms after the ACK, 30 ms from the client", rule: "CT1007", want: 0,
			build: func() []*fx { return one(farSenderWait(c2s, 100, 2)) }},

		{desc: "large first response in flights of 10, 20, 40 segments", rule: "CT1004", want: 1,
			build: func() []*fx { return one(slowStartConn(10, 20, 40)) },
			// Slow start opened the window to 10+70 segments: warm, the 70 fit one flight.
			check: both(wantCost(40), wantText("3 flights (10+20+40 segments)", "2 extra round trips"))},
		{desc: "look-alike: response fits the initial window", rule: "CT1004", want: 0,
			build: func() []*fx { return one(slowStartConn(8)) }},

		{desc: "initial window of 4 segments", rule: "CT1006", want: 1,
			build: func() []*fx { return one(slowStartConn(4, 8, 16)) },
			check: wantText("initial window was 4 segments")},
		{desc: "look-alike: initial window of 10 segments", rule: "CT1006", want: 0,
			build: func() []*fx { return one(slowStartConn(10, 20, 40)) }},

		{desc: "slow start again after 1 s idle", rule: "CT1005", want: 1,
			build: func() []*fx { return one(idleRestartConn(1000, 10, 20, 40)) },
			check: wantCost(40)},
		{desc: "look-alike: flights that do not grow are not slow start", rule: "CT1004", want: 0,
			build: func() []*fx { return one(slowStartConn(20, 10, 20)) }},
		{desc: "look-alike: window kept after idle", rule: "CT1005", want: 0,
			build: func() []*fx { return one(idleRestartConn(1000, 70)) }},
		{desc: "look-alike: short pause", rule: "CT1005", want: 0,
			build: func() []*fx { return one(idleRestartConn(50, 10, 20, 40)) }},

		{desc: "response segment resent after 200 ms", rule: "CT1008", want: 1,
			build: func() []*fx { return one(retransConn(reassembly.KindRetransmission)) },
			check: both(wantCost(200), func(t *testing.T, fs []Finding) {
				if fs[0].Transaction == nil || fs[0].Transaction.Index != 0 {
					t.Errorf("retransmission not tied to its transaction: %+v", fs[0].Transaction)
				}
			})},
		// The client had acknowledged the segment before it was resent (the
		// ACK was lost on its way to the server, or the capture recorded the
		// resend late): the transaction waited for nothing.
		{desc: "look-alike: resent after the receiver acknowledged it", rule: "CT1008", want: 1,
			build: func() []*fx {
				f := newConn(10, 0.1)
				q := f.data(10.2, c2s, 100)
				r1 := f.data(30, s2c, 1460)
				f.ack(41, c2s)
				r2 := f.resend(230, s2c, r1.Seq, 1460, reassembly.KindRetransmission)
				f.ack(241, c2s)
				f.tx(msg(q, q), msg(r1, r2))
				return one(f)
			},
			check: both(wantCost(-1e-6), wantText("spurious"))},
		// Three pipelined requests; the second one's segment is lost and
		// resent by the timer after the third was sent. The resend belongs
		// to the second transaction, whose bytes it carries, not to the
		// third, the last to start before it.
		{desc: "pipelined request resent after a later one was sent", rule: "CT1008", want: 1,
			build: func() []*fx { return one(pipelinedLoss(resendAt{210.3, 1})) },
			check: both(wantCost(200), citesIndex(1))},
		// The second and third requests are lost in one flight and resent
		// by the timer one after the other: one recovery, one finding,
		// citing the earlier of the two.
		{desc: "two pipelined requests resent in one recovery", rule: "CT1008", want: 1,
			build: func() []*fx { return one(pipelinedLoss(resendAt{210.4, 2}, resendAt{420.3, 1})) },
			check: both(wantCost(410), citesIndex(1),
				wantText("delayed transaction \"GET\" \"/\" and 1 other transaction pipelined with it"))},
		{desc: "look-alike: frame duplicated by the capture", rule: "CT1008", want: 0,
			build: func() []*fx {
				return one(retransConn(reassembly.KindRetransmission | reassembly.KindCaptureDuplicate))
			}},
		{desc: "look-alike: fast retransmission", rule: "CT1008", want: 0,
			build: func() []*fx { return one(retransConn(reassembly.KindFastRetransmission)) }},

		{desc: "fast retransmission", rule: "CT1009", want: 1,
			build: func() []*fx { return one(retransConn(reassembly.KindFastRetransmission)) }},
		{desc: "look-alike: timeout retransmission", rule: "CT1009", want: 0,
			build: func() []*fx { return one(retransConn(reassembly.KindRetransmission)) }},

		{desc: "client advertises a zero window for 260 ms", rule: "CT1010", want: 1,
			build: func() []*fx { return one(zeroWindowConn(260)) }, check: wantCost(260)},
		{desc: "look-alike: 2 ms zero window", rule: "CT1010", want: 0,
			build: func() []*fx { return one(zeroWindowConn(2)) }},

		{desc: "tuple reused 5 s after a graceful close", rule: "CT1011", want: 1,
			build: func() []*fx { return reusedTuple(5000, false) },
			check: wantText("1 connection reused a 4-tuple", "after connection 1", "the client (1x)")},
		{desc: "look-alike: previous connection ended by RST", rule: "CT1011", want: 0,
			build: func() []*fx { return reusedTuple(5000, true) }},
		{desc: "look-alike: reuse after 2MSL", rule: "CT1011", want: 0,
			build: func() []*fx { return reusedTuple(61000, false) }},

		{desc: "40 client-closed connections in 4 s against a 28-port budget", rule: "CT1012", want: 1,
			cfg:   Config{Thresholds: map[string]float64{"CT1012.min-share": 0.001}},
			build: func() []*fx { return churn(40, false) },
			check: wantText("held 40 tuples", "opened 40 connections in the 3900 ms before the peak, 10.3 per second",
				"the client closed 40 of them first")},
		{desc: "look-alike: connections ended by RST hold no TIME_WAIT", rule: "CT1012", want: 0,
			cfg:   Config{Thresholds: map[string]float64{"CT1012.min-share": 0.001}},
			build: func() []*fx { return churn(40, true) }},
	})
}

// nagleConn builds a request written as headers (200 bytes) then body (100
// bytes), captured near the client with a 10 ms RTT. With Nagle the body
// waits for the server's ACK, delayed 40 ms; with TCP_NODELAY it follows.
func nagleConn(nodelay bool) *fx {
	f := newConn(10, 0.1)
	x := f.data(20, c2s, 200)
	var y *reassembly.SegmentRecord
	if nodelay {
		y = f.data(20.05, c2s, 100)
		f.ack(70, s2c)
	} else {
		f.ack(70, s2c) // 10 ms round trip + 40 ms delayed ACK
		y = f.data(70.05, c2s, 100)
	}
	r := f.data(85, s2c, 300)
	f.tx(msg(x, y), msg(r, r))
	f.finish(100, c2s)
	return f
}

// farSenderWait: the capture point sits next to the receiver and 30 ms
// (round trip) from the sender of direction d. The sender's 1460-byte
// segment X is acknowledged 40 ms late by a pure ACK, and its next segment
// Y (yLen bytes) passes the capture point afterMs after that ACK. Y cannot
// answer the ACK sooner than the 30 ms round trip to its sender.
func farSenderWait(d reassembly.Direction, yLen uint32, afterMs float64) *fx {
	var f *fx
	if d == s2c {
		f = newConn(30, 0.1) // near the client
	} else {
		f = newConn(0.1, 30) // near the server
	}
	q := f.data(40, c2s, 200)
	f.ack(40.1, s2c)
	x := f.data(50, d, 1460)
	f.ack(90.1, d.Reverse()) // 0.1 ms round trip to the receiver + 40 ms delay
	y := f.data(90.1+afterMs, d, yLen)
	f.ack(90.2+afterMs, d.Reverse())
	if d == s2c {
		f.tx(msg(q, q), msg(x, y))
	} else {
		r := f.data(150, s2c, 300)
		f.tx(msg(x, y), msg(r, r))
	}
	return f
}

// idleRestartConn: a first response in flights 10, 20, 40 (warming the
// window to 40 segments), idleMs of silence, then a second response in the
// given flights.
func idleRestartConn(idleMs float64, counts ...int) *fx {
	f := slowStartConn(10, 20, 40)
	end := f.txs[0].Response.End
	ms := float64(end-base)/1e6 + idleMs
	q := f.data(ms, c2s, 200)
	first, last := flights(f, ms+0.2, 20, counts...)
	f.tx(msg(q, q), msg(first, last))
	return f
}

func retransConn(kind reassembly.SegmentKind) *fx {
	f := newConn(10, 0.1)
	q := f.data(10.2, c2s, 100)
	r1 := f.data(30, s2c, 1460)
	f.data(30.1, s2c, 1000)
	// r1 was lost: the client's ACK still asks for it (an ACK beyond it
	// would make the resend spurious).
	f.ack(41, c2s).Ack = r1.Seq
	r3 := f.resend(230, s2c, r1.Seq, 1460, kind)
	f.ack(241, c2s)
	f.tx(msg(q, q), msg(r1, r3))
	return f
}

func zeroWindowConn(stallMs float64) *fx {
	f := newConn(10, 0.1)
	q := f.data(10.2, c2s, 100)
	r := f.data(30, s2c, 1460)
	z := f.ack(40, c2s)
	z.Window, z.Kind = 0, reassembly.KindZeroWindow
	f.c.Dir[c2s].ZeroWindows++
	if stallMs > 100 {
		f.seg(40+stallMs/2, s2c, 1, capture.FlagACK, reassembly.KindZeroWindowProbe, false)
	}
	f.ack(40+stallMs, c2s)
	r2 := f.data(40+stallMs+5, s2c, 500)
	f.tx(msg(q, q), msg(r, r2))
	return f
}

// reusedTuple: connection 1 closes (FIN by the client, or RST), and
// connection 2 uses the same 4-tuple gapMs later.
func reusedTuple(gapMs float64, byRST bool) []*fx {
	cf := &captureFx{}
	a := cf.conn(1, 40000, 0, 10, 0.1)
	a.exchange(10.2, 100, 5, 300)
	if byRST {
		a.rst(30, c2s)
	} else {
		a.finish(30, c2s)
	}
	endMs := float64(a.c.End-base) / 1e6
	b := cf.conn(2, 40000, endMs+gapMs, 10, 0.1)
	b.c.ReusedTuple, b.c.PreviousID, b.c.PreviousEnd = true, 1, a.c.End
	b.exchange(endMs+gapMs+10.2, 100, 5, 300)
	b.finish(endMs+gapMs+30, c2s)
	return []*fx{a, b}
}

// churn: n single-transaction connections from one client to one server,
// 100 ms apart, each closed by the client (FIN or RST).
func churn(n int, byRST bool) []*fx {
	cf := &captureFx{}
	var out []*fx
	for i := 0; i < n; i++ {
		start := float64(i) * 100
		f := cf.conn(i+1, uint16(40000+i), start, 1, 0.1)
		f.exchange(start+1.2, 100, 5, 300)
		if byRST {
			f.rst(start+10, c2s)
		} else {
			f.finish(start+10, c2s)
		}
		out = append(out, f)
	}
	return out
}

// resendAt is a timer-driven resend, at ms, of pipelinedLoss's request of
// index req.
type resendAt struct {
	ms  float64
	req int
}

// pipelinedLoss is a connection of three pipelined requests of 100 bytes
// at 10.2, 10.3 and 10.4 ms; the server acknowledges the first only (with
// its response at 20.5 ms) until the resends are done, then answers the
// other two.
func pipelinedLoss(resends ...resendAt) *fx {
	f := newConn(10, 0.1)
	var q [3]*reassembly.SegmentRecord
	for i := range q {
		q[i] = f.data(10.2+0.1*float64(i), c2s, 100)
	}
	var r [3]*reassembly.SegmentRecord
	r[0] = f.data(20.5, s2c, 300)
	r[0].Ack = q[1].Seq // the server has the first request only
	last := 20.5
	for _, x := range resends {
		f.resend(x.ms, c2s, q[x.req].Seq, 100, reassembly.KindRetransmission)
		last = x.ms
	}
	r[1] = f.data(last+5, s2c, 300)
	r[2] = f.data(last+5.1, s2c, 300)
	f.ack(last+15, c2s)
	for i := range q {
		f.tx(msg(q[i], q[i]), msg(r[i], r[i]))
	}
	return f
}

// citesIndex checks that the first finding cites the transaction of index i.
func citesIndex(i int) func(t *testing.T, fs []Finding) {
	return func(t *testing.T, fs []Finding) {
		t.Helper()
		if fs[0].Transaction == nil || fs[0].Transaction.Index != i {
			t.Errorf("the finding cites %+v, want the transaction of index %d", fs[0].Transaction, i)
		}
	}
}

// A recovery's resends of bytes sent before any message (no transaction)
// count as no transaction: the finding cites the earliest transaction and
// counts only the other transactions.
func TestRetransGroupCountsTransactionsOnly(t *testing.T) {
	t1, t2 := &txnRec{Index: 3}, &txnRec{Index: 1}
	g := &retransGroup{}
	for _, tx := range []*txnRec{t1, nil, t2, t2, nil} {
		g.add(tx)
	}
	if got := g.cited(); got != t2 {
		t.Errorf("cited %+v, want the transaction of index 1", got)
	}
	if len(g.txs) != 2 {
		t.Errorf("%d transactions counted, want 2 (the nil one is none)", len(g.txs))
	}
	if (&retransGroup{}).cited() != nil {
		t.Error("a group of bytes sent before any message cites a transaction")
	}
}
