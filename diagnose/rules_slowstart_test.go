package diagnose

import (
	"testing"

	"github.com/connscope/connscope/capture"
	"github.com/connscope/connscope/reassembly"
)

// flightsOf builds flights of the given segment counts, each segment
// carrying mss bytes.
func flightsOf(mss int64, counts ...int) []flight {
	fl := make([]flight, len(counts))
	for i, n := range counts {
		fl[i] = flight{segments: n, bytes: int64(n) * mss}
	}
	return fl
}

func TestWindowReached(t *testing.T) {
	const mss = 1448
	for _, tc := range []struct {
		desc    string
		counts  []int
		growth  bool
		windowS int64 // the estimated window in segments
	}{
		{"one flight: its size", []int{7}, false, 7},
		{"flat flights of one segment (cwnd locked at 1)", []int{1, 1, 1, 1}, false, 1},
		{"flat flights of four segments", []int{4, 4, 4, 2}, false, 4},
		{"two equal flights", []int{1, 1}, false, 1},
		{"two flights, the second smaller: the response ended", []int{10, 5}, false, 10},
		{"one segment more per round trip: congestion avoidance", []int{10, 11, 12, 3}, false, 12},
		{"grew, then cut by a loss", []int{2, 4, 8, 4, 5}, false, 8},
		{"doubling flights", []int{1, 2, 4, 1}, true, 1 + 8},
		{"one and a half times per round trip (delayed ACKs)", []int{2, 3, 5, 8, 5}, true, 2 + 23},
		{"two flights, the second larger", []int{10, 11}, true, 10 + 21},
		{"doubling then a small last flight", []int{10, 20, 3}, true, 10 + 33},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			fl := flightsOf(mss, tc.counts...)
			if got := slowStartGrowth(fl); got != tc.growth {
				t.Errorf("slowStartGrowth(%v) = %v, want %v", tc.counts, got, tc.growth)
			}
			if got, want := windowReached(fl), tc.windowS*mss; got != want {
				t.Errorf("windowReached(%v) = %d bytes, want %d (%d segments)", tc.counts, got, want, tc.windowS)
			}
		})
	}
}

// twoResponseConn builds a fresh connection (iRTT 20 ms) with a response
// in flights of first, then, gapMs after it ended, a second request whose
// response leaves in flights of second.
func twoResponseConn(first []int, gapMs float64, second []int) *fx {
	f := slowStartConn(first...)
	ms := float64(f.txs[0].Response.End-base)/1e6 + gapMs
	q := f.data(ms, c2s, 200)
	s, e := flights(f, ms+0.2, 20, second...)
	f.tx(msg(q, q), msg(s, e))
	return f
}

func TestSlowStartFlightGrowth(t *testing.T) {
	runCases(t, []ruleCase{
		// A route's "initcwnd 1 cwnd lock 1" (testdata/captures/delayed-ack-cwnd.pcap):
		// every flight is one segment, the window never opens.
		{desc: "look-alike: flat one-segment flights, window locked", rule: "CT1004", want: 0,
			build: func() []*fx { return one(slowStartConn(1, 1, 1, 1)) }},
		{desc: "look-alike: flat flights, and the next response flat too", rule: "CT1004", want: 0,
			build: func() []*fx { return one(twoResponseConn([]int{1, 1, 1, 1}, 1, []int{1, 1, 1, 1})) }},
		{desc: "look-alike: flat flights of 4 segments", rule: "CT1004", want: 0,
			build: func() []*fx { return one(slowStartConn(4, 4, 4, 4)) }},
		{desc: "look-alike: one segment more per round trip", rule: "CT1004", want: 0,
			build: func() []*fx { return one(slowStartConn(10, 11, 12, 13)) }},
		{desc: "the initial window of a locked route is still reported", rule: "CT1006", want: 1,
			build: func() []*fx { return one(slowStartConn(1, 1, 1, 1)) },
			check: wantText("initial window was 1 segment (1460 bytes")},

		{desc: "doubling flights from a one-segment window", rule: "CT1004", want: 1,
			build: func() []*fx { return one(slowStartConn(1, 2, 4, 8, 3)) },
			// Slow start opened the window to 1+18 segments: the 18 fit one flight.
			check: both(wantCost(80), wantText("5 flights (1+2+4+8+3 segments)", "warm window of about 27740 bytes",
				"4 extra round trips"))},
		{desc: "flights growing one and a half times per round trip", rule: "CT1004", want: 1,
			build: func() []*fx { return one(slowStartConn(2, 3, 5, 8, 5)) },
			check: both(wantCost(80), wantText("warm window of about 36500 bytes"))},
		{desc: "two flights, the second larger", rule: "CT1004", want: 1,
			build: func() []*fx { return one(slowStartConn(10, 11)) },
			check: wantCost(20)},
		{desc: "flat first response, but a warm response really larger", rule: "CT1004", want: 1,
			build: func() []*fx { return one(twoResponseConn([]int{4, 4, 4}, 1, []int{12})) },
			check: both(wantCost(40), wantText("warm window of about 17520 bytes"))},

		// zeek 206_example_a.pcap, connection 2: a 530 kB response grew in
		// slow start to 77 segments, lost segments, and took 79 more
		// flights of 1-6 segments in loss recovery; CT1004 charged all 80
		// to slow start (29.6 s). Only the flights before the first
		// retransmission are slow start's.
		{desc: "slow start, then a loss and flat flights of recovery", rule: "CT1004", want: 1,
			build: func() []*fx {
				f := newConn(0.1, 19.9)
				q := f.data(20.1, c2s, 200)
				first, _ := flights(f, 20.2, 20, 2, 4, 8, 16)
				f.seg(100.2, s2c, 1460, capture.FlagACK, reassembly.KindRetransmission, false)
				_, last := flights(f, 110.2, 20, 4, 4, 4, 4, 4, 4, 4, 4)
				f.tx(msg(q, q), msg(first, last))
				return one(f)
			},
			// 2+4+8+16 segments in slow start opened the window to 32: one
			// warm flight, so 3 extra round trips; not 8 (12 flights, 4
			// warm ones of the largest, 16 segments).
			check: both(wantCost(60), wantText("12 flights", "its first 4 flights (2+4+8+16 segments", "before the first retransmission",
				"3 extra round trips"))},

		{desc: "look-alike: flat flights before and after an idle second", rule: "CT1005", want: 0,
			build: func() []*fx { return one(twoResponseConn([]int{1, 1, 1, 1}, 1000, []int{1, 1, 1, 1})) }},
		{desc: "look-alike: one segment more per round trip before and after an idle second", rule: "CT1005", want: 0,
			build: func() []*fx { return one(twoResponseConn([]int{4, 5, 6, 7}, 1000, []int{4, 5, 6, 7})) }},
		{desc: "growing flights, then small ones again after an idle second", rule: "CT1005", want: 1,
			build: func() []*fx { return one(twoResponseConn([]int{2, 4, 8, 2}, 1000, []int{2, 4, 8, 2})) },
			// Earlier flights opened the window to 2+16 segments; 16 fit one flight.
			check: both(wantCost(60), wantText("opened its window to about 26280 bytes"))},
		// As for CT1004, the flights of loss recovery are not slow start's.
		{desc: "restarted slow start, then a loss and flat flights of recovery", rule: "CT1005", want: 1,
			build: func() []*fx {
				f := slowStartConn(2, 4, 8, 2) // opens the window to 2+16 segments
				ms := float64(f.txs[0].Response.End-base)/1e6 + 1000
				q := f.data(ms, c2s, 200)
				s, _ := flights(f, ms+0.2, 20, 2, 4)
				f.seg(ms+40.2, s2c, 1460, capture.FlagACK, reassembly.KindRetransmission, false)
				_, e := flights(f, ms+50.2, 20, 2, 2, 2, 2, 2, 2)
				f.tx(msg(q, q), msg(s, e))
				return one(f)
			},
			check: both(wantCost(20), wantText("before the first retransmission", "1 extra round trip"))},
	})
}

// TestServerPauseMatchesFlights holds factServerPause, which lets the
// Engine skip CT1004-CT1006, to the flight split it stands for: a response
// whose two segments lie exactly half the initial RTT apart is one flight
// and the fact is absent; a nanosecond more and it is two flights and the
// fact is present.
func TestServerPauseMatchesFlights(t *testing.T) {
	for _, tc := range []struct {
		extraNS     int64
		wantFlights int
		wantFact    bool
	}{
		{0, 1, false},
		{1, 2, true},
	} {
		f := slowStartConn(1, 1)
		v := newConnView(f.info())
		if v.irtt <= 0 {
			t.Fatalf("the fixture has no initial RTT")
		}
		var data []int
		for i := range f.c.Segments {
			if s := &f.c.Segments[i]; s.Dir == s2c && isNewData(s) {
				data = append(data, i)
			}
		}
		if len(data) != 2 {
			t.Fatalf("the fixture has %d new-data segments from the server, want 2", len(data))
		}
		segs := f.c.Segments
		segs[data[1]].Time = segs[data[0]].Time + v.irtt/2 + tc.extraNS
		v = newConnView(f.info())
		fl, ok := responseFlights(v, 0, 0)
		if !ok || len(fl) != tc.wantFlights {
			t.Errorf("second segment half the iRTT + %d ns after the first: %d flights (ok %v), want %d", tc.extraNS, len(fl), ok, tc.wantFlights)
		}
		if got := v.facts&factServerPause != 0; got != tc.wantFact {
			t.Errorf("second segment half the iRTT + %d ns after the first: factServerPause %v, want %v", tc.extraNS, got, tc.wantFact)
		}
	}
}
