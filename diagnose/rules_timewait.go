package diagnose

import (
	"fmt"
	"slices"
	"strings"

	"github.com/connscope/connscope/reassembly"
)

var twoMSL = Threshold{Name: "time-wait", Default: 60, Unit: "s",
	Doc: "how long the side that closes first keeps the 4-tuple in TIME_WAIT (2MSL; 60 s on Linux)"}

var ruleTimeWaitReuse = &Rule{
	ID: "CT1011", Slug: "time-wait-tuple-reuse", Since: "0.1", Scope: ScopeCapture,
	Title:    "A 4-tuple was reused while it was still in TIME_WAIT",
	Severity: SeverityWarning,
	Doc: Doc{
		What: "A new connection used the same client and server address and port as an earlier one that had " +
			"closed gracefully less than 2MSL before, while the side that closed first still held the tuple in " +
			"TIME_WAIT.",
		Detection: "A connection marked by reassembly as reusing its 4-tuple, whose previous connection ended with " +
			"FINs (a RST skips TIME_WAIT) less than time-wait before the new SYN. One finding per client address " +
			"and server address and port counts them, cites each reusing SYN and the previous connection's FIN, " +
			"and names the side that closed the previous connections first: that side held TIME_WAIT.",
		Why: "TIME_WAIT exists so that late segments of the old connection are not taken for the new one. Reusing " +
			"a tuple inside it relies on timestamps or a higher ISN (RFC 6191); when that fails the SYN is " +
			"answered by a stale ACK or dropped and the connect stalls. It also shows a client cycling through " +
			"few ports, a sign of connection churn or an exhausted ephemeral range.",
		Fix: "Reuse connections (keep-alive) instead of opening one per request; do not bind clients to fixed " +
			"source ports; let the client close last if the server accumulates TIME_WAIT; on Linux clients " +
			"net.ipv4.tcp_tw_reuse=1 (with timestamps) makes reuse safe.",
	},
	Thresholds:   []Threshold{twoMSL},
	checkCapture: checkTimeWaitReuse,
}

func checkTimeWaitReuse(p *capturePass) {
	tw := p.dur("time-wait")
	for _, k := range p.v.keys {
		var conns []int
		var frames []uint64
		var related []Related
		var first, firstPrev *connSummary
		var firstGap, shortest int64
		count := 0
		var holders [3]int // by reassembly.Role, RoleNone for any other
		for _, s := range p.v.groups[k] {
			if !s.ReusedTuple() {
				continue
			}
			prev := p.v.find(p.v.previousID(s))
			if prev == nil || prev.Close != reassembly.CloseFIN {
				continue
			}
			gap := opening(s) - p.v.end(prev)
			if gap < 0 || gap >= tw {
				continue
			}
			count++
			who := prev.ClosedFirstBy
			if who > reassembly.RoleServer {
				who = reassembly.RoleNone // not known: "the closing side"
			}
			holders[who]++
			if first == nil {
				first, firstPrev, firstGap, shortest = s, prev, gap, gap
			}
			shortest = min(shortest, gap)
			if len(conns) < maxCited {
				conns = append(conns, prev.ID, s.ID)
				frames = append(frames, p.v.synFrame(s))
				related = append(related, Related{Frame: p.v.closeFrame(prev), Time: p.v.closeTime(prev),
					Message: fmt.Sprintf("connection %d's first FIN", prev.ID)})
			}
		}
		if count == 0 {
			continue
		}
		slices.Sort(conns)
		conns = slices.Compact(conns)
		f := Finding{
			Connections: conns,
			Frames:      frames,
			Time:        opening(first),
			Cost:        -1,
			Message: fmt.Sprintf("%s reused a 4-tuple toward %s inside the %s TIME_WAIT period (the shortest "+
				"reuse %s after the previous connection closed; first: connection %d on %s, %s after connection %d); "+
				"the side that closed the previous connection first held it in TIME_WAIT: %s",
				plural(count, "connection", "connections"), k.server, ms(tw), ms(shortest), first.ID,
				p.v.client(first), ms(firstGap), firstPrev.ID, describeHolders(holders)),
			Related: related,
		}
		if count == 1 {
			f.Connection = first.ID // about that connection, with its predecessor
		}
		p.report(f)
	}
}

// describeHolders renders TIME_WAIT holders, counted by role (RoleNone
// for a side not known): "the server (14x), the client (1x)".
func describeHolders(holders [3]int) string {
	var parts []string
	for _, who := range []reassembly.Role{reassembly.RoleServer, reassembly.RoleClient, reassembly.RoleNone} {
		if n := holders[who]; n > 0 {
			parts = append(parts, fmt.Sprintf("the %s (%dx)", roleOr(who, "closing side"), n))
		}
	}
	return strings.Join(parts, ", ")
}

var ruleEphemeralPortPressure = &Rule{
	ID: "CT1012", Slug: "ephemeral-port-pressure", Since: "0.1", Scope: ScopeCapture,
	Title:    "A client holds a large share of its ephemeral ports toward one server",
	Severity: SeverityWarning,
	Doc: Doc{
		What: "A client opened connections to one server address and port so fast that the 4-tuples in use " +
			"(open, or in TIME_WAIT after a close) approach the size of the client's ephemeral port range.",
		Detection: "For each client address and server address and port, every connection holds its tuple from " +
			"its start until its end plus time-wait when it closed with FINs (the side that closed first keeps " +
			"TIME_WAIT), or until its end after a RST, or until a new connection reused the tuple. The peak number held at once, divided by port-range " +
			"(Linux's default 32768-60999), is compared with min-share. The finding says which side closed first " +
			"and so accumulates TIME_WAIT.",
		Why: "A client can have only one connection per source port to a given server address and port. Linux's " +
			"default range has 28,232 ports, so about 470 new connections per second that each linger 60 s in " +
			"TIME_WAIT exhaust it: connect() then fails with EADDRNOTAVAIL or stalls. Server-side TIME_WAIT costs " +
			"memory and blocks reuse of those tuples instead.",
		Fix: "Reuse connections (keep-alive, a connection pool with enough idle connections: Go's " +
			"Transport.MaxIdleConnsPerHost, whose default of 2 causes exactly this under load); widen the range " +
			"(net.ipv4.ip_local_port_range); net.ipv4.tcp_tw_reuse=1 on clients; spread load over several server " +
			"addresses.",
	},
	Thresholds: []Threshold{
		twoMSL,
		{Name: "port-range", Default: 28232, Unit: "count", Min: 1, Doc: "ephemeral ports available to the client (Linux 32768-60999)"},
		{Name: "min-share", Default: 0.1, Unit: "ratio", Doc: "share of the range held at once that is reported"},
	},
	checkCapture: checkEphemeralPortPressure,
}

// rate renders n events over span ns as a per-second rate.
func rate(n int, span int64) string {
	if span <= 0 {
		return "all at once"
	}
	return fmt.Sprintf("%.1f per second", float64(n)/(float64(span)/1e9))
}

// tupleHolds fills, for the group g (sorted by opening), holdEnd[i] with
// when g[i] stopped holding its 4-tuple: its end, plus tw when it closed with FINs (the side that
// closed first keeps TIME_WAIT), or, when a new connection of the group
// took the tuple over before then, when that successor opened (the
// earliest successor's, at 0 at the earliest; the result does not depend
// on the order successors are applied in). One sweep fills both and
// applies each successor whose predecessor's hold end it has already
// filled (the predecessor opened first, so nearly all); the others wait
// for the end of the sweep. A tuple is held from the connection's first
// frame, which is nearly always its opening: then tupleHolds returns nil,
// else the first frames' times, g[i]'s at i, in scratchBuf(1, len(g)).
func (v *captureView) tupleHolds(g []*connSummary, tw int64, holdEnd []int64) (starts []int64) {
	var later []*connSummary // successors whose predecessor comes later in g
	for i, s := range g {
		holdEnd[i] = v.end(s)
		if s.Close == reassembly.CloseFIN {
			holdEnd[i] += tw
		}
		if start := v.start(s); starts != nil {
			starts[i] = start
		} else if start != opening(s) {
			starts = v.scratchBuf(1, len(g))
			for j := range i {
				starts[j] = opening(g[j])
			}
			starts[i] = start
		}
		if !s.ReusedTuple() {
			continue
		}
		if prev := v.find(v.previousID(s)); prev != nil && prev.group == s.group {
			if int(prev.pos) > i {
				later = append(later, s)
			} else if opening(s) < holdEnd[prev.pos] {
				holdEnd[prev.pos] = max(opening(s), 0)
			}
		}
	}
	for _, s := range later {
		if prev := v.find(v.previousID(s)); opening(s) < holdEnd[prev.pos] {
			holdEnd[prev.pos] = max(opening(s), 0)
		}
	}
	return starts
}

// maxCited bounds the connections and frames a capture-wide finding lists.
const maxCited = 100

func checkEphemeralPortPressure(p *capturePass) {
	tw := p.dur("time-wait")
	rangeSize := p.num("port-range")
	for _, k := range p.v.keys {
		g := p.v.groups[k]
		if float64(len(g)) < p.num("min-share")*rangeSize || len(g) == 0 {
			continue
		}
		holdEnd := p.v.scratchBuf(0, len(g))
		starts := p.v.tupleHolds(g, tw, holdEnd)
		p.v.sortAnyTimes(holdEnd) // ends of FIN-closed tuples come a TIME_WAIT later: not nearly sorted
		// A tuple released at the instant another is taken was not held
		// by both.
		var peak int
		var peakAt int64
		if starts == nil {
			peak, peakAt = peakOverlapOpenings(g, holdEnd, true)
		} else {
			sortTimes(starts)
			peak, peakAt = peakOverlap(starts, holdEnd, true)
		}
		share := float64(peak) / rangeSize
		if share < p.num("min-share") {
			continue
		}
		var conns []int
		var frames []uint64
		opened, byClient, byServer := 0, 0, 0
		firstOpen := peakAt
		for _, s := range g {
			start := p.v.start(s)
			if start > peakAt || start < peakAt-tw {
				continue
			}
			opened++
			firstOpen = min(firstOpen, start)
			switch s.ClosedFirstBy {
			case reassembly.RoleClient:
				byClient++
			case reassembly.RoleServer:
				byServer++
			}
			if len(conns) < maxCited {
				conns = append(conns, s.ID)
				frames = append(frames, p.v.synFrame(s))
			}
		}
		slices.Sort(conns)
		p.report(Finding{
			Connections: conns,
			Frames:      frames,
			Time:        peakAt,
			Cost:        -1,
			Message: fmt.Sprintf("client %s held %s toward %s at once (%.1f%% of a %.0f-port ephemeral "+
				"range): it opened %s in the %s before the peak, %s; the client closed %d of them first "+
				"(TIME_WAIT on the client, holding its ports) and the server %d (TIME_WAIT on the server)",
				k.client, plural(peak, "tuple", "tuples"), k.server, share*100, rangeSize, plural(opened, "connection", "connections"), ms(peakAt-firstOpen),
				rate(opened, peakAt-firstOpen), byClient, byServer),
		})
	}
}
