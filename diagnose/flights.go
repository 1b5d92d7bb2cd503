package diagnose

import (
	"slices"

	"github.com/connscope/connscope/httpflow"
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
	m := v.txs[i].Response
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
func (v *connView) splitFlights(m *httpflow.Message) bool {
	segs := v.c.Segments
	start := v.segmentAt(m.FirstFrame)
	if start < 0 {
		return false
	}
	lo := len(v.flightBuf)
	mss := v.mss[reassembly.ServerToClient]
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
// so after flights that kept growing it is at least the first flight (the
// initial window) plus everything sent; otherwise it is at least the
// largest flight.
func windowReached(fl []flight) int64 {
	if len(fl) < 2 {
		return largestFlight(fl)
	}
	for i := 1; i < len(fl)-1; i++ {
		if fl[i].bytes < fl[i-1].bytes {
			return largestFlight(fl) // not growing: not slow start
		}
	}
	return fl[0].bytes + flightsBytes(fl)
}

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
