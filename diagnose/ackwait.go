package diagnose

import (
	"github.com/connscope/connscope/capture"
	"github.com/connscope/connscope/reassembly"
)

// ackWait is one place where a sender sat on data until a late pure ACK
// from its peer released it: the shape behind both delayed-ACK waits and
// Nagle stalls.
//
//	sender:   X ─────────────────────────── Y      (Y follows X in sequence)
//	receiver:         ... delayed ACK ... A         (first ACK covering X)
type ackWait struct {
	dir     reassembly.Direction // direction of X and Y
	x, a, y int                  // segment indexes
	// ackDelay is how long the receiver sat on its ACK: A's time minus X's,
	// less the round trip between the capture point and the receiver.
	ackDelay int64
}

// ackWaitLimits bounds what counts as a delayed ACK and a prompt release.
type ackWaitLimits struct {
	minDelay, maxDelay int64 // the delayed-ACK window
	releaseSlack       int64 // how late after its round trip the release may be
}

// findAckWaits scans the connection once per direction. Between two
// consecutive new-data segments X and Y of one direction it looks for the
// first segment of the other direction that acknowledges all of X; when that
// is a pure ACK late by a delayed-ACK timer, and Y leaves right after it
// (within the round trip to the sender), with no data from the receiver in
// between that Y could be answering, the sender was waiting for that ACK.
// Each pair (X, Y) is examined once, so the scan is linear.
func findAckWaits(v *connView, lim ackWaitLimits) []ackWait {
	for _, s := range v.ackWaits {
		if s.lim == lim {
			return s.waits // CT1003 and CT1007 share one scan when their limits agree
		}
	}
	w := scanAckWaits(v, lim)
	v.ackWaits = append(v.ackWaits, ackWaitScan{lim, w})
	return w
}

// ackWaitScan is one scan's result, kept in the connView for the next rule
// that asks with the same limits. A connection sees one or two sets of
// limits, so a short list does what a map would without allocating one
// per connection.
type ackWaitScan struct {
	lim   ackWaitLimits
	waits []ackWait
}

func scanAckWaits(v *connView, lim ackWaitLimits) []ackWait {
	// An ACK delay is at most the time between two of the connection's
	// segments (the leg subtracted from it is never negative): a
	// connection that lasted less than the shortest delay has none. (A
	// negative span is one that overflowed: not short.)
	if span := v.lastTime - v.firstTime; span >= 0 && span < lim.minDelay {
		return nil
	}
	segs := v.c.Segments
	var out []ackWait
	for _, d := range [...]reassembly.Direction{reassembly.ClientToServer, reassembly.ServerToClient} {
		last := -1
		for j := range segs {
			y := &segs[j]
			if y.Dir != d || y.Kind&reassembly.KindCaptureDuplicate != 0 {
				continue
			}
			if !isNewData(y) {
				if y.Len > 0 || flagsOf(y)&(capture.FlagFIN|capture.FlagRST) != 0 {
					last = -1 // retransmissions and closes break the pattern
				}
				continue
			}
			if last >= 0 && y.Seq == seqEnd(&segs[last]) {
				if w, ok := ackWaitBetween(v, d, last, j, lim); ok {
					out = append(out, w)
				}
			}
			last = j
		}
	}
	return out
}

func ackWaitBetween(v *connView, d reassembly.Direction, xi, yi int, lim ackWaitLimits) (ackWait, bool) {
	segs := v.c.Segments
	x, y := &segs[xi], &segs[yi]
	end := seqEnd(x)
	ai := -1
	for k := xi + 1; k < yi; k++ {
		s := &segs[k]
		if s.Dir == d || s.Kind&reassembly.KindCaptureDuplicate != 0 {
			continue
		}
		if ai >= 0 {
			if s.Len > 0 || flagsOf(s)&(capture.FlagFIN|capture.FlagRST) != 0 {
				return ackWait{}, false // Y may be answering this, not the ACK
			}
			continue
		}
		if flagsOf(s).Has(capture.FlagACK) && seqGE(s.Ack, end) {
			if !isPureACK(s) {
				return ackWait{}, false // piggybacked or closing: no delayed ACK
			}
			ai = k
		}
	}
	if ai < 0 {
		return ackWait{}, false
	}
	a := &segs[ai]
	delay := a.Time - x.Time - v.leg[d]
	release := y.Time - a.Time
	if delay < lim.minDelay || delay > lim.maxDelay || release > v.leg[d.Reverse()]+lim.releaseSlack {
		return ackWait{}, false
	}
	return ackWait{dir: d, x: xi, a: ai, y: yi, ackDelay: delay}, true
}

// ackWaitThresholds is the threshold set shared by the rules built on
// findAckWaits.
var ackWaitThresholds = []Threshold{
	{Name: "min-ack-delay", Default: 30, Unit: "ms", Doc: "shortest ACK delay counted as a delayed-ACK timer (Linux's minimum is 40 ms)"},
	{Name: "max-ack-delay", Default: 250, Unit: "ms", Doc: "longest ACK delay counted as a delayed-ACK timer (Windows and BSD use about 200 ms)"},
	{Name: "release-slack", Default: 5, Unit: "ms", Doc: "how long after the ACK's round trip to the sender the held segment may leave and still count as released by it"},
}

// ackWaitLimitsOf returns the rule's limits, resolved from its thresholds
// on first use and kept in its ruleRun: they are asked for on every
// connection.
func ackWaitLimitsOf(p *connPass) ackWaitLimits {
	if p.run.ackWait == nil {
		p.run.ackWait = &ackWaitLimits{minDelay: p.dur("min-ack-delay"), maxDelay: p.dur("max-ack-delay"), releaseSlack: p.dur("release-slack")}
	}
	return *p.run.ackWait
}
