package diagnose

import (
	"fmt"
	"slices"

	"github.com/connscope/connscope/reassembly"
)

var slowStartMinRTT = Threshold{Name: "min-rtt", Default: 1, Unit: "ms",
	Doc: "below this initial RTT flights cannot be told apart and the rule stays quiet"}

var ruleSlowStart = &Rule{
	ID: "CT1004", Slug: "slow-start-round-trips", Since: "0.1", Scope: ScopeConnection,
	Title:    "A response on a fresh connection paid extra round trips to slow start",
	Severity: SeverityInfo,
	Doc: Doc{
		What: "The first response on a new connection was larger than the sender's initial window, so it left in " +
			"several flights, each a round trip after the previous, while the congestion window grew.",
		Detection: "The response's new data is split into flights at gaps longer than half the initial RTT (gaps " +
			"longer than two RTTs mean the server paused, and a flight before the last with a segment smaller than " +
			"the MSS means it had no more data ready: the rule stays quiet). A warm window is estimated from every " +
			"response on the connection: after flights that grew as in slow start (each window-filling flight at " +
			"least 5/4 of the one before, and some flight larger than its predecessor), slow start has opened " +
			"the window to at least the first flight plus the bytes sent; after flights that did not grow (a " +
			"window held flat, or cut by a loss) it is only known to be the largest flight, so flat flights alone " +
			"never fire. Only the flights sent before the server's first retransmission in the response count: " +
			"after a loss the sender is in recovery, whose round trips are the loss's (CT1008, CT1009). The " +
			"flights beyond ceil(their bytes / warm window) are the extra round trips. Cost: extra round trips × " +
			"initial RTT.",
		Why: "TCP starts every connection with a small window (10 segments on current stacks, 2-4 on older ones) " +
			"and roughly doubles it each round trip. A large response on a fresh connection needs several round " +
			"trips that a warm, reused connection would not.",
		Fix: "Reuse connections (keep-alive, connection pools) so large responses travel on warm connections; make " +
			"sure servers use an initial window of 10 (RFC 6928; Linux default); on Linux the route's initcwnd " +
			"can be raised for known-good paths.",
	},
	Thresholds: []Threshold{
		{Name: "min-extra-round-trips", Default: 1, Unit: "count", Doc: "fewest extra round trips reported"},
		slowStartMinRTT,
	},
	checkConnection: checkSlowStart,
	onlyWith:        factServerPause, // a response of one flight shows nothing
}

var ruleSlowStartRestart = &Rule{
	ID: "CT1005", Slug: "slow-start-after-idle", Since: "0.1", Scope: ScopeConnection,
	Title:    "A reused connection restarted slow start after sitting idle",
	Severity: SeverityWarning,
	Doc: Doc{
		What: "A connection that had already sent large flights sat idle, and the next response left in small " +
			"flights again: the sender reset its congestion window after the idle period.",
		Detection: "A transaction after the first whose idle gap before it is at least min-idle, whose response " +
			"left in several flights with the first smaller than half the window earlier responses on the " +
			"connection had opened (estimated as for CT1004). As for CT1004, only the flights before the server's " +
			"first retransmission in the response count. Extra round trips: those flights beyond ceil(their " +
			"bytes / that window). Cost: extra round trips × initial RTT.",
		Why: "RFC 5681 (section 4.1) and Linux (net.ipv4.tcp_slow_start_after_idle=1, the default) restart slow " +
			"start when a connection was idle longer than its retransmission timeout, so keep-alive loses part of " +
			"its benefit for bursty traffic.",
		Fix: "On Linux servers set net.ipv4.tcp_slow_start_after_idle=0 (many CDNs do). Otherwise keep connections " +
			"busy, or accept the cost for idle periods.",
	},
	Thresholds: []Threshold{
		{Name: "min-idle", Default: 200, Unit: "ms", Doc: "idle gap before the transaction (Linux's minimum RTO is 200 ms)"},
		{Name: "min-extra-round-trips", Default: 1, Unit: "count", Doc: "fewest extra round trips reported"},
		slowStartMinRTT,
	},
	checkConnection: checkSlowStartRestart,
	onlyWith:        factServerPause, // a response of one flight shows nothing
}

var ruleSmallInitialWindow = &Rule{
	ID: "CT1006", Slug: "small-initial-window", Since: "0.1", Scope: ScopeConnection,
	Title:    "The server's initial congestion window is small",
	Severity: SeverityInfo,
	Doc: Doc{
		What: "The first flight of the first response on a fresh connection, which shows the server's initial " +
			"congestion window, held fewer segments than modern stacks send.",
		Detection: "For the first response on a connection whose handshake was seen and that needed more than " +
			"one flight, the first flight's bytes divided by the MSS (rounded up) is below min-segments.",
		Why: "An initial window of 10 segments (RFC 6928) lets most small responses go in one round trip; older " +
			"stacks or tuned-down servers start with 2-4 segments and pay more round trips on every new connection.",
		Fix: "Use a current kernel (Linux has used 10 since 2.6.39); check for an initcwnd route setting (ip route " +
			"show) or middleboxes that shrink the window.",
	},
	Thresholds: []Threshold{
		{Name: "min-segments", Default: 10, Unit: "count", Doc: "initial windows smaller than this are reported (RFC 6928's value)"},
		slowStartMinRTT,
	},
	checkConnection: checkSmallInitialWindow,
	onlyWith:        factServerPause, // a response of one flight shows nothing
}

// slowStartLimits are the thresholds of CT1004, CT1005 and CT1006,
// resolved on first use and kept in the rule's ruleRun; a threshold the
// rule does not declare stays zero.
type slowStartLimits struct {
	minRTT, minIdle    int64 // ns
	minExtraRoundTrips float64
	minSegments        float64
}

func slowStartLimitsOf(p *connPass) *slowStartLimits {
	if p.run.slowStart == nil {
		l := &slowStartLimits{minRTT: p.dur(slowStartMinRTT.Name)}
		r := p.rule
		if r.thresholdIndex("min-idle") >= 0 {
			l.minIdle = p.dur("min-idle")
		}
		if r.thresholdIndex("min-extra-round-trips") >= 0 {
			l.minExtraRoundTrips = p.num("min-extra-round-trips")
		}
		if r.thresholdIndex("min-segments") >= 0 {
			l.minSegments = p.num("min-segments")
		}
		p.run.slowStart = l
	}
	return p.run.slowStart
}

// firstFreshResponse returns the index of the first transaction with a
// response on a connection whose handshake was seen, or -1.
func firstFreshResponse(p *connPass) int {
	if p.c.Handshake.SYNFrame == 0 || p.c.RolesInferred {
		return -1
	}
	for i, t := range p.v.txs {
		if t.Response() != nil {
			return i
		}
	}
	return -1
}

func checkSlowStart(p *connPass) {
	i := firstFreshResponse(p)
	if i < 0 {
		return
	}
	t := p.v.txs[i]
	lim := slowStartLimitsOf(p)
	all, ok := responseFlights(p.v, i, lim.minRTT)
	if !ok || len(all) < 2 {
		return
	}
	// After a loss the sender is in recovery and congestion avoidance:
	// the flights from there on are the loss's cost (CT1008, CT1009), not
	// slow start's.
	fl, lossFrame := flightsBeforeLoss(p.c.Segments, all)
	if len(fl) < 2 {
		return
	}
	warm := windowReached(fl)
	for j := i + 1; j < len(p.v.txs); j++ {
		if lf, ok := responseFlights(p.v, j, lim.minRTT); ok {
			warm = max(warm, windowReached(lf))
		}
	}
	total := flightsBytes(fl)
	extra := int64(len(fl)) - ceilDiv(total, warm)
	if extra < 1 || float64(extra) < lim.minExtraRoundTrips {
		return
	}
	segs := p.c.Segments
	msg := fmt.Sprintf("the %d-byte response left in %d flights (%s) on a fresh connection, starting from "+
		"an initial window of %s; a warm window of about %s would have needed %d, so slow start "+
		"cost %s", total, len(fl), flightSizes(fl), byteCount(fl[0].bytes), byteCount(warm), ceilDiv(total, warm),
		roundTrips(extra, p.v.irtt))
	if len(fl) < len(all) {
		msg = fmt.Sprintf("the %d-byte response left in %d flights (%s) on a fresh connection; its first %d "+
			"flights (%s, %d bytes), before the first retransmission (frame %d), grew in slow start from an "+
			"initial window of %s; a warm window of about %s would have sent them in %d, so slow "+
			"start cost %s (the flights after the loss are the loss's cost, not slow start's)",
			flightsBytes(all), len(all), flightSizes(all), len(fl), flightSizes(fl), total, lossFrame,
			byteCount(fl[0].bytes), byteCount(warm), ceilDiv(total, warm), roundTrips(extra, p.v.irtt))
	}
	p.report(Finding{
		txn:     t,
		Frames:  flightFrames(segs, fl),
		Time:    segs[fl[0].first].Time,
		Cost:    extra * p.v.irtt,
		Message: msg,
	})
}

// flightsBeforeLoss returns the flights sent before the sender's first
// retransmission among them, and that retransmission's frame (0, and all
// the flights, when there was none).
func flightsBeforeLoss(segs []reassembly.SegmentRecord, fl []flight) ([]flight, uint64) {
	const retransmitted = reassembly.KindRetransmission | reassembly.KindFastRetransmission | reassembly.KindSpuriousRetrans
	dir := segs[fl[0].first].Dir
	for i := fl[0].first; i <= fl[len(fl)-1].last; i++ {
		if s := &segs[i]; s.Dir == dir && s.Len > 0 && s.Kind&retransmitted != 0 {
			n := 0
			for n < len(fl) && fl[n].last < i {
				n++
			}
			return fl[:n], s.Frame
		}
	}
	return fl, 0
}

func checkSlowStartRestart(p *connPass) {
	lim := slowStartLimitsOf(p)
	minRTT, minIdle := lim.minRTT, lim.minIdle
	if !slices.ContainsFunc(p.v.txs[min(1, len(p.v.txs)):], func(t *txnRec) bool { return t.GapBefore >= minIdle }) {
		return // no idle period for slow start to restart after
	}
	var warm int64
	for i, t := range p.v.txs {
		fl, ok := responseFlights(p.v, i, minRTT)
		if !ok {
			continue
		}
		// As in CT1004, flights after a loss are the loss's cost.
		ss, lossFrame := flightsBeforeLoss(p.c.Segments, fl)
		if i > 0 && warm > 0 && t.GapBefore >= minIdle && len(ss) >= 2 && 2*ss[0].bytes < warm {
			total := flightsBytes(ss)
			extra := int64(len(ss)) - ceilDiv(total, warm)
			if extra >= 1 && float64(extra) >= lim.minExtraRoundTrips {
				segs := p.c.Segments
				what := fmt.Sprintf("the %d-byte response left in %d flights (%s)", total, len(ss), flightSizes(ss))
				if len(ss) < len(fl) {
					what = fmt.Sprintf("the %d-byte response left in %d flights (%s), the first %d of them (%s, %d "+
						"bytes) before the first retransmission (frame %d),", flightsBytes(fl), len(fl), flightSizes(fl),
						len(ss), flightSizes(ss), total, lossFrame)
				}
				p.report(Finding{
					txn:    t,
					Frames: flightFrames(segs, ss),
					Time:   segs[ss[0].first].Time,
					Cost:   extra * p.v.irtt,
					Message: fmt.Sprintf("after %s idle the server restarted slow start: %s although earlier "+
						"responses had opened its window to about %s; %s",
						ms(t.GapBefore), what, byteCount(warm), roundTrips(extra, p.v.irtt)),
				})
			}
		}
		warm = max(warm, windowReached(fl))
	}
}

func checkSmallInitialWindow(p *connPass) {
	i := firstFreshResponse(p)
	if i < 0 {
		return
	}
	lim := slowStartLimitsOf(p)
	fl, ok := responseFlights(p.v, i, lim.minRTT)
	mss := int64(p.v.mssOf(reassembly.ServerToClient))
	if !ok || len(fl) < 2 || mss == 0 {
		return
	}
	iw := ceilDiv(fl[0].bytes, mss)
	if float64(iw) >= lim.minSegments {
		return
	}
	segs := p.c.Segments
	p.report(Finding{
		txn:    p.v.txs[i],
		Frames: []uint64{segs[fl[0].first].Frame, segs[fl[0].last].Frame},
		Time:   segs[fl[0].first].Time,
		Cost:   -1,
		Message: fmt.Sprintf("the server's initial window was %s (%s at MSS %d); current stacks "+
			"start with 10", plural(int(iw), "segment", "segments"), byteCount(fl[0].bytes), mss),
	})
}

// roundTrips renders "1 extra round trip of 60.0 ms" or "2 extra round
// trips of 60.0 ms each".
func roundTrips(n, rtt int64) string {
	if n == 1 {
		return "1 extra round trip of " + ms(rtt)
	}
	return fmt.Sprintf("%d extra round trips of %s each", n, ms(rtt))
}

// flightFrames cites the first frame of each flight and the last frame of
// the last one.
func flightFrames(segs []reassembly.SegmentRecord, fl []flight) []uint64 {
	out := make([]uint64, 0, len(fl)+1)
	for _, f := range fl {
		if len(out) < maxCited {
			out = append(out, segs[f.first].Frame)
		}
	}
	return append(out, segs[fl[len(fl)-1].last].Frame)
}

// flightSizes lists flights as "10+20+8 segments".
func flightSizes(fl []flight) string {
	n := make([]int, len(fl))
	for i, f := range fl {
		n[i] = f.segments
	}
	return joinIntsWith(n, "+") + " segments"
}
