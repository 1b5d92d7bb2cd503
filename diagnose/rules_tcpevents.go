package diagnose

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/connscope/connscope/capture"
	"github.com/connscope/connscope/reassembly"
)

var ruleRetransmissionTimeout = &Rule{
	ID: "CT1008", Slug: "retransmission-timeout", Since: "0.1", Scope: ScopeConnection,
	Title:    "Retransmission timeouts delayed a transaction",
	Severity: SeverityWarning,
	Doc: Doc{
		What: "Data of a request or response was lost and resent only after a sender's timer expired: the " +
			"retransmission timeout, or on Linux first the shorter tail-loss probe (about two round trips).",
		Detection: "Segments classified by reassembly as timeout retransmissions (not fast, not capture " +
			"duplicates), grouped by the transaction whose message they carried (the one being sent when the " +
			"bytes first went out), with the other resends of the same recovery (bytes first sent before the " +
			"recovery's first resend, until the sender sends new data): a loss in a pipelined burst is one finding, citing the earliest transaction it held up and " +
			"counting the others. Each resend is paired with the first transmission of the same bytes; the cost is the union of the intervals from first transmission to " +
			"retransmission. Spurious ones (data the receiver already had: reassembly says so, or the highest " +
			"ACK seen before the resend already covered it) are counted apart and add no cost: " +
			"they show a lost ACK, or a first copy lost before the capture point, which then saw only the " +
			"retransmission (the finding says so).",
		Why: "A retransmission timeout is at least 200 ms on Linux (1 s by RFC 6298) and doubles on every repeat; " +
			"the transaction stalls for all of it. Timeouts instead of fast retransmits mean the sender had too " +
			"little data in flight to get three duplicate ACKs (small windows, tail loss) or lost a whole flight.",
		Fix: "Find the loss: a congested or faulty link, a shallow buffer, a rate limiter (tc tbf/htb, a policer) " +
			"dropping bursts. Enable SACK and tail loss probes (Linux defaults). Compare with the capture taken at " +
			"the other end to see where packets disappear.",
	},
	onlyWith: factRetransmitted,
	checkConnection: func(p *connPass) {
		reportRetransmissions(p, "timer-driven retransmission (RTO or tail-loss probe)", "timer-driven retransmissions (RTO or tail-loss probe)", func(k reassembly.SegmentKind) bool {
			return k&(reassembly.KindRetransmission|reassembly.KindSpuriousRetrans) != 0 && k&reassembly.KindFastRetransmission == 0
		})
	},
}

var ruleFastRetransmission = &Rule{
	ID: "CT1009", Slug: "fast-retransmission", Since: "0.1", Scope: ScopeConnection,
	Title:    "Fast retransmissions delayed a transaction",
	Severity: SeverityInfo,
	Doc: Doc{
		What: "Data of a request or response was lost and resent after duplicate ACKs (or SACK) told the sender.",
		Detection: "Segments classified by reassembly as fast retransmissions (capture duplicates excluded), " +
			"grouped as CT1008 groups its own: by the transaction whose bytes they carried, with the other resends " +
			"of the same recovery. The cost is the union of the intervals from " +
			"first transmission to retransmission: about one round trip per loss, plus the halved congestion " +
			"window afterwards, which is not counted.",
		Why: "Fast retransmit repairs a loss in about one round trip instead of a timeout, but the sender also " +
			"halves its congestion window, so the rest of the transfer slows down.",
		Fix: "Find the loss (congested link, shallow buffers, policers). Loss that repeats at the same point of " +
			"every transfer often means a rate limiter dropping bursts.",
	},
	onlyWith: factRetransmitted,
	checkConnection: func(p *connPass) {
		reportRetransmissions(p, "fast retransmission", "fast retransmissions", func(k reassembly.SegmentKind) bool {
			return k&reassembly.KindFastRetransmission != 0 && k&reassembly.KindSpuriousRetrans == 0
		})
	},
}

// retransGroup gathers one transaction's retransmissions of one kind
// (reportRetransmissions keys groups by it), and those of the same
// recoveries that resent other transactions' bytes: a loss in a pipelined
// burst (several responses in each segment) is one finding, not one per
// transaction it touched.
type retransGroup struct {
	// txs are the transactions whose bytes the group's resends carried,
	// each once (bytes sent before any message belong to none); the
	// finding names the earliest and counts the others.
	txs       []*txnRec
	frames    []uint64
	intervals [][2]int64
	first     int64
	count     int
	spurious  int
	// recoveryStart is the time of the first resend of the group's latest
	// recovery.
	recoveryStart int64
}

// add counts t among the transactions whose bytes the group resent.
func (g *retransGroup) add(t *txnRec) {
	if t != nil && !slices.Contains(g.txs, t) {
		g.txs = append(g.txs, t)
	}
}

// cited is the earliest transaction whose bytes the group resent (nil when
// they carried none): the first of those the loss held up.
func (g *retransGroup) cited() *txnRec {
	var c *txnRec
	for _, t := range g.txs {
		if c == nil || t.Index < c.Index {
			c = t
		}
	}
	return c
}

func reportRetransmissions(p *connPass, one, many string, match func(reassembly.SegmentKind) bool) {
	segs := p.c.Segments
	if p.v.facts&factRetransmitted == 0 || !slices.ContainsFunc(segs, func(s reassembly.SegmentRecord) bool { return match(s.Kind) }) {
		return
	}
	originals := p.v.originalsBySeq()
	var groups []*retransGroup
	byTx := map[*txnRec]*retransGroup{}
	// recovering[d] is the group of direction d's current recovery: its
	// resends since d last sent new data.
	var recovering [2]*retransGroup
	// The highest acknowledgment each direction has sent so far: data at or
	// below it had reached the receiver, whatever later (reordered, or
	// duplicated late by the capture) ACKs say.
	var acked [2]uint32
	var ackSeen [2]bool
	for i := range segs {
		s := &segs[i]
		alreadyAcked := false
		if s.Dir <= reassembly.ServerToClient {
			peer := s.Dir.Reverse()
			alreadyAcked = s.Len > 0 && ackSeen[peer] && seqGE(acked[peer], seqEnd(s))
			if flagsOf(s).Has(capture.FlagACK) && s.Kind&reassembly.KindCaptureDuplicate == 0 &&
				(!ackSeen[s.Dir] || seqGE(s.Ack, acked[s.Dir])) {
				acked[s.Dir], ackSeen[s.Dir] = s.Ack, true
			}
		}
		if s.Dir <= reassembly.ServerToClient && isNewData(s) {
			recovering[s.Dir] = nil // new data: the sender is past its recovery
		}
		if s.Dir > reassembly.ServerToClient || !match(s.Kind) || s.Kind&reassembly.KindCaptureDuplicate != 0 ||
			flagsOf(s).Has(capture.FlagSYN) {
			continue
		}
		// The transaction whose bytes the resend carries: the one being
		// sent when they first went out. The resend's own frame may come
		// after later pipelined requests (or responses) had started.
		o := originalOf(segs, originals[s.Dir], s)
		sentAt := s.Frame
		if o >= 0 {
			sentAt = segs[o].Frame
		}
		tx := p.v.transactionAt(s.Dir, sentAt)
		// A resend belongs to the recovery under way when its bytes were
		// first sent before that recovery's first resend: lost in the same
		// flight. Bytes first sent later, or whose first copy the capture
		// did not see, start a recovery of their own.
		g := recovering[s.Dir]
		if g != nil && (o < 0 || segs[o].Time >= g.recoveryStart) {
			g = nil
		}
		if g == nil {
			g = byTx[tx]
			if g == nil {
				g = &retransGroup{first: s.Time}
				byTx[tx] = g
				groups = append(groups, g)
			}
			g.recoveryStart = s.Time
			recovering[s.Dir] = g
		}
		g.add(tx)
		g.count++
		g.frames = append(g.frames, s.Frame)
		if o >= 0 {
			g.frames = append(g.frames, segs[o].Frame)
		}
		switch {
		case s.Kind&reassembly.KindSpuriousRetrans != 0 || alreadyAcked:
			g.spurious++
		case o >= 0:
			g.intervals = append(g.intervals, [2]int64{segs[o].Time, s.Time})
		}
	}
	for _, g := range groups {
		cost := int64(-1)
		if len(g.intervals) > 0 {
			cost = unionLength(g.intervals)
		}
		what := "this connection"
		cited := g.cited()
		if cited != nil {
			what = "transaction " + requestLine(cited)
			if n := len(g.txs) - 1; n > 0 {
				what += fmt.Sprintf(" and %s pipelined with it", plural(n, "other transaction", "other transactions"))
			}
		}
		var parts []string
		if real := g.count - g.spurious; real > 0 {
			costText := "by an unknown time (the first transmissions were not captured)"
			if cost >= 0 {
				costText = "by " + ms(cost)
			}
			parts = append(parts, fmt.Sprintf("%s delayed %s %s", plural(real, one, many), what, costText))
		}
		vantage := p.v.vantageNote()
		if g.spurious > 0 {
			parts = append(parts, fmt.Sprintf("%s of %s repeated data the receiver already had (spurious): an "+
				"ACK was lost, or an earlier copy was lost before the capture point, which then saw only the "+
				"retransmission", plural(g.spurious, one, many), what))
			if vantage == "" {
				vantage = "losses between the sender and the capture point are invisible here: the first copy seen may " +
					"itself have been a retransmission"
			}
		}
		msg := strings.Join(parts, "; ")
		p.report(Finding{
			txn:     cited,
			Frames:  g.frames,
			Time:    g.first,
			Cost:    cost,
			Message: msg,
			Vantage: vantage,
		})
	}
}

// originalOf finds the first transmission of the byte at s.Seq among the
// direction's new-data segments (sorted by sequence number), or -1.
func originalOf(segs []reassembly.SegmentRecord, byseq []int, s *reassembly.SegmentRecord) int {
	j := sortSearchLast(len(byseq), func(i int) bool { return seqGE(s.Seq, segs[byseq[i]].Seq) })
	if j < 0 {
		return -1
	}
	o := &segs[byseq[j]]
	if o.Frame < s.Frame && (o.Seq == s.Seq || !seqGE(s.Seq, seqEnd(o))) {
		return byseq[j]
	}
	return -1
}

// sortSearchLast returns the last index in [0, n) for which ok is true,
// given ok is true for a prefix; -1 when none.
func sortSearchLast(n int, ok func(int) bool) int {
	lo, hi := 0, n
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if ok(mid) {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo - 1
}

// unionLength is the total length covered by the intervals.
func unionLength(iv [][2]int64) int64 {
	iv = slices.Clone(iv)
	slices.SortFunc(iv, func(a, b [2]int64) int { return cmp.Compare(a[0], b[0]) })
	var total, end int64
	started := false
	for _, x := range iv {
		if x[1] < x[0] {
			continue
		}
		switch {
		case !started || x[0] > end:
			total += x[1] - x[0]
			end, started = x[1], true
		case x[1] > end:
			total += x[1] - end
			end = x[1]
		}
	}
	return total
}

var ruleZeroWindow = &Rule{
	ID: "CT1010", Slug: "zero-window-stall", Since: "0.1", Scope: ScopeConnection,
	Title:    "A receiver's zero window stalled a transaction",
	Severity: SeverityWarning,
	Doc: Doc{
		What: "A receiver advertised a zero receive window: its application was not reading, so the sender had to " +
			"stop until the window opened again.",
		Detection: "A segment classified as zero window starts a stall that lasts until the same side next " +
			"advertises a non-zero window (or the connection ends). Stalls of at least min-stall are reported, " +
			"tied to the transaction whose message was being sent toward the stalled receiver. Evidence: the " +
			"zero-window segment, the sender's zero-window probes and the window update.",
		Why: "The transfer stops entirely during the stall. A client that stops reading (a slow consumer, a " +
			"blocked event loop) or a server that stops reading a request body both show this way.",
		Fix: "Read sockets promptly: do not block the reading thread or event loop on slow work; raise receive " +
			"buffers (SO_RCVBUF, net.ipv4.tcp_rmem) when the reader is bursty rather than slow.",
	},
	Thresholds: []Threshold{
		{Name: "min-stall", Default: 10, Unit: "ms", Doc: "shortest stall reported"},
	},
	onlyWith:        factZeroWindow,
	checkConnection: checkZeroWindow,
}

func checkZeroWindow(p *connPass) {
	if p.v.kinds&reassembly.KindZeroWindow == 0 {
		return
	}
	segs := p.c.Segments
	minStall := p.dur("min-stall")
	for i := 0; i < len(segs); i++ {
		z := &segs[i]
		if z.Kind&reassembly.KindZeroWindow == 0 || z.Kind&reassembly.KindCaptureDuplicate != 0 || z.Dir > reassembly.ServerToClient {
			continue
		}
		frames := []uint64{z.Frame}
		end, endFrame := p.c.End, uint64(0)
		j := i + 1
		for ; j < len(segs); j++ {
			s := &segs[j]
			if s.Dir == z.Dir && s.Window > 0 && s.Kind&reassembly.KindZeroWindow == 0 {
				end, endFrame = s.Time, s.Frame
				break
			}
			if s.Dir != z.Dir && s.Kind&reassembly.KindZeroWindowProbe != 0 {
				frames = append(frames, s.Frame)
			}
		}
		i = j // the next stall starts after this one ended
		stall := end - z.Time
		if stall < minStall {
			continue
		}
		frames = append(frames, endFrame)
		reopened := fmt.Sprintf("until frame %d opened it again", endFrame)
		if endFrame == 0 {
			reopened = "until the connection ended"
		}
		receiver := z.Dir.Sender()
		p.report(Finding{
			txn:    p.v.transactionAt(z.Dir.Reverse(), z.Frame),
			Frames: frames,
			Time:   z.Time,
			Cost:   stall,
			Message: fmt.Sprintf("the %s advertised a zero window at frame %d and the %s could not send for %s, %s",
				receiver, z.Frame, z.Dir.Reverse().Sender(), ms(stall), reopened),
		})
	}
}
