package diagnose

import (
	"slices"

	"github.com/connscope/connscope/reassembly"
)

// flight is a burst of new data a sender put on the wire in one round
// trip.
type flight struct {
	first, last int // segment indexes
	bytes       int64
	segments    int
}

// responseFlights splits the new data of a response into flights: a new
// flight starts when the gap since the previous data segment exceeds half
// the initial RTT. ok is false when the flights do not show a sender limited
// by its congestion window: the RTT is unknown or below minRTT (flights
// cannot be told apart), a gap between flights is longer than two RTTs (the
// server paused), or a flight before the last holds a segment smaller than
// the MSS (the server had no more data ready: application-limited).
func responseFlights(v *connView, i int, minRTT int64) ([]flight, bool) {
	m := v.txs[i].Response()
	if m == nil || m.FirstFrame == 0 || !v.legKnown || v.irtt < minRTT || v.irtt <= 0 {
		return nil, false
	}
	// CT1004, CT1005 and CT1006 ask for the same responses: split each
	// once, into one buffer shared by the connection's responses.
	if !v.flightsBuilt {
		v.flights = slices.Grow(v.flights[:0], len(v.txs))[:len(v.txs)]
		clear(v.flights)
		v.flightsBuilt = true
	}
	r := &v.flights[i]
	if !r.done {
		r.lo = len(v.flightBuf)
		r.ok = v.splitFlights(m)
		if !r.ok {
			v.flightBuf = v.flightBuf[:r.lo]
		}
		r.hi, r.done = len(v.flightBuf), true
	}
	return v.flightBuf[r.lo:r.hi:r.hi], r.ok
}

// flightResult caches one response's flights as v.flightBuf[lo:hi]. It does
// not depend on minRTT, which only decides whether to split at all.
type flightResult struct {
	lo, hi   int
	ok, done bool
}

// splitFlights appends m's flights to v.flightBuf and reports whether they
// show a window-limited sender.
func (v *connView) splitFlights(m *msgRec) bool {
	segs := v.c.Segments
	start := v.segmentAt(m.FirstFrame)
	if start < 0 {
		return false
	}
	lo := len(v.flightBuf)
	mss := v.mssOf(reassembly.ServerToClient)
	prev := int64(0)
	small := false // the current flight holds a segment smaller than the MSS
	for i := start; i < len(segs) && segs[i].Frame <= m.LastFrame; i++ {
		s := &segs[i]
		if s.Dir != reassembly.ServerToClient || !isNewData(s) {
			continue
		}
		if len(v.flightBuf) == lo || s.Time-prev > v.irtt/2 {
			if len(v.flightBuf) > lo && (s.Time-prev > 2*v.irtt || small) {
				return false // a pause, or an application-limited flight
			}
			v.flightBuf = append(v.flightBuf, flight{first: i})
			small = false
		}
		f := &v.flightBuf[len(v.flightBuf)-1]
		f.last, f.bytes, f.segments = i, f.bytes+int64(s.Len), f.segments+1
		small = small || s.Len < mss
		prev = s.Time
	}
	return len(v.flightBuf) > lo
}

// windowReached estimates the sender's congestion window after it sent
// these flights. In slow start the window grows by the bytes acknowledged,
// so after flights that grew (see slowStartGrowth) it is at least the first
// flight (the initial window) plus everything sent. Flights that do not
// grow show no slow start: a window held flat (a route's "cwnd lock", a
// receiver window, congestion avoidance) or cut by a loss. Then the window
// is only known to be at least the largest flight, which is what it is
// after a response of one flight too.
func windowReached(fl []flight) int64 {
	if slowStartGrowth(fl) {
		return fl[0].bytes + flightsBytes(fl)
	}
	return largestFlight(fl)
}

// slowStartGrowth reports whether the flights show a window opening in
// slow start, which roughly doubles it every round trip (1.5 times with
// per-packet counting and delayed ACKs). Every flight before the last
// filled the window (the sender had more to send), so each must be at
// least minGrowthNum/minGrowthDen of the one before it: a flight the same
// size as the previous one, or one segment larger, is a window that did
// not grow geometrically. The last flight only carried what was left of
// the response, so it may be smaller than the window; but a response of
// two flights shows growth only when the second is the larger, so at
// least one flight must be larger than its predecessor.
func slowStartGrowth(fl []flight) bool {
	if len(fl) < 2 {
		return false
	}
	grew := false
	for i := 1; i < len(fl); i++ {
		prev, cur := fl[i-1].bytes, fl[i].bytes
		if i < len(fl)-1 && cur*minGrowthDen < prev*minGrowthNum {
			return false
		}
		grew = grew || cur > prev
	}
	return grew
}

// The least growth, as a fraction, between successive window-filling
// flights for slowStartGrowth to call it slow start: 5/4. Slow start grows
// a window 1.5 to 2 times per round trip; congestion avoidance adds one
// segment (1.1 times at 10 segments), and a locked window none.
const minGrowthNum, minGrowthDen = 5, 4

// flightsBytes sums the flights' payload.
func flightsBytes(fl []flight) int64 {
	var n int64
	for _, f := range fl {
		n += f.bytes
	}
	return n
}

// largestFlight returns the largest flight's bytes.
func largestFlight(fl []flight) int64 {
	var n int64
	for _, f := range fl {
		n = max(n, f.bytes)
	}
	return n
}

// ceilDiv divides rounding up, for positive b.
func ceilDiv(a, b int64) int64 { return (a + b - 1) / b }
