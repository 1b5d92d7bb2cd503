package diagnose

import (
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
	// CT1004, CT1005 and CT1006 ask for the same responses: split each once.
	if v.flights == nil {
		v.flights = make([]flightResult, len(v.txs))
	}
	r := &v.flights[i]
	if !r.done {
		r.fl, r.ok = splitFlights(v, m)
		r.done = true
	}
	return r.fl, r.ok
}

// flightResult caches splitFlights for one transaction; it does not depend
// on minRTT, which only decides whether to split at all.
type flightResult struct {
	fl       []flight
	ok, done bool
}

func splitFlights(v *connView, m *httpflow.Message) (fl []flight, ok bool) {
	segs := v.c.Segments
	start := v.segmentAt(m.FirstFrame)
	if start < 0 {
		return nil, false
	}
	prev := int64(0)
	for i := start; i < len(segs) && segs[i].Frame <= m.LastFrame; i++ {
		s := &segs[i]
		if s.Dir != reassembly.ServerToClient || !isNewData(s) {
			continue
		}
		if len(fl) == 0 || s.Time-prev > v.irtt/2 {
			if len(fl) > 0 && s.Time-prev > 2*v.irtt {
				return nil, false
			}
			fl = append(fl, flight{first: i})
		}
		f := &fl[len(fl)-1]
		f.last, f.bytes, f.segments = i, f.bytes+int64(s.Len), f.segments+1
		prev = s.Time
	}
	if len(fl) == 0 {
		return nil, false
	}
	mss := v.mss[reassembly.ServerToClient]
	for _, f := range fl[:len(fl)-1] {
		for i := f.first; i <= f.last; i++ {
			if s := &segs[i]; s.Dir == reassembly.ServerToClient && isNewData(s) && s.Len < mss {
				return nil, false
			}
		}
	}
	return fl, true
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
