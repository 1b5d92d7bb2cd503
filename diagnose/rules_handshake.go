package diagnose

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/connscope/connscope/capture"
	"github.com/connscope/connscope/reassembly"
)

var ruleHandshakeOverhead = &Rule{
	ID: "CT1001", Slug: "handshake-overhead", Since: "0.1", Scope: ScopeCapture,
	Title:    "Handshakes are a large share of short connections' time",
	Severity: SeverityInfo,
	Doc: Doc{
		What: "Connections that carried only a few transactions spent a large share of their time, from the SYN " +
			"to the last response byte, in the TCP handshake (SYN, SYN/ACK, ACK).",
		Detection: "For each connection, the handshake time is the (last) SYN to the ACK that completed it, as seen " +
			"at the capture point (SYN retransmissions are CT1002's), and its share is that time over the span " +
			"from the SYN to the end of the last response. Connections with at most max-transactions " +
			"transactions and a share of at least min-share are counted; one finding per client address and " +
			"server address and port lists them. The cost is their initial round trips, which reused " +
			"connections would not pay.",
		Why: "Every new connection pays a full round trip before the first request byte can leave. For small " +
			"transactions over a long path this dominates: the user waits mostly for connection setup.",
		Fix: "Reuse connections: keep-alive in the client (a pooled http.Client in Go, requests.Session in Python, " +
			"an agent with keepAlive in Node.js) and on the server (nginx keepalive_timeout, Apache KeepAlive On). " +
			"For many small requests to one origin, batch them or use HTTP/2.",
	},
	Thresholds: []Threshold{
		{Name: "max-transactions", Default: 1, Unit: "count", Doc: "connections with more transactions than this are not short"},
		{Name: "min-share", Default: 0.3, Unit: "ratio", Doc: "handshake time as a share of the connection's useful span"},
	},
	checkCapture: checkHandshakeOverhead,
}

// handshakeShare is what the engine keeps for CT1001 (in a side table,
// for the connections CT1001 counts): the handshake's frames, its time,
// and its share of the connection's useful span.
type handshakeShare struct {
	synack, ack uint64
	time        int64
	share       float32
	// transactions is the connection's transaction count.
	transactions int32
}

// handshakeLimits are CT1001's thresholds, which decide which connections
// it counts.
type handshakeLimits struct {
	maxTransactions, minShare float64
}

func handshakeLimitsOf(run *ruleRun) *handshakeLimits {
	r := run.rule
	return &handshakeLimits{
		maxTransactions: run.vals[r.thresholdIndex("max-transactions")],
		minShare:        run.vals[r.thresholdIndex("min-share")],
	}
}

// counts reports whether CT1001 counts the connection whose handshake
// measured hs. The engine keeps hs only then: on a capture of short
// connections over a short path (a few percent of handshake each), almost
// none qualifies.
func (l *handshakeLimits) counts(hs *handshakeShare) bool {
	return hs.share != 0 && float64(hs.transactions) <= l.maxTransactions && float64(hs.share) >= l.minShare
}

// measureHandshake computes a connection's handshake share (zero when the
// handshake or a completed last response was not seen).
func measureHandshake(c *reassembly.Connection, txs []*txnRec) handshakeShare {
	h := &c.Handshake
	_, _, ok := handshakeLegs(h)
	if !ok || len(txs) == 0 {
		return handshakeShare{}
	}
	last := txs[len(txs)-1]
	if last.Response() == nil || last.Response().End == 0 {
		return handshakeShare{}
	}
	// From the last SYN: time lost to SYN retransmissions is CT1002's.
	handshake, span := h.ACKTime-h.SYNTime, last.Response().End-h.SYNTime
	if span <= 0 || handshake <= 0 {
		return handshakeShare{}
	}
	return handshakeShare{synack: h.SYNACKFrame, ack: h.ACKFrame, time: handshake, share: float32(float64(handshake) / float64(span)),
		transactions: int32(min(len(txs), 1<<30))}
}

func checkHandshakeOverhead(p *capturePass) {
	limits := p.e.handshakeLimits // what summarize kept handshakes by
	maxTx := limits.maxTransactions
	for _, k := range p.v.keys {
		var conns []int // the first maxCited of them
		var frames []uint64
		var cost, spent int64
		var shares float64
		var first *connSummary
		n := 0
		for _, s := range p.v.withExtra[k] {
			hs := p.v.handshake(s)
			if hs == nil || !limits.counts(hs) {
				continue
			}
			if first == nil {
				first = s
			}
			n++
			if len(conns) < maxCited {
				conns = append(conns, s.ID)
			}
			if len(frames) < maxCited {
				frames = append(frames, p.v.synFrame(s), hs.synack, hs.ack)
			}
			cost += p.v.irtt(s)
			spent += hs.time
			shares += float64(hs.share)
		}
		if n == 0 {
			continue
		}
		msg := fmt.Sprintf("%d short connections from %s to %s (at most %s each) spent on average "+
			"%.0f%% of their time in the TCP handshake, %s in all; reused connections would have skipped it",
			n, k.client, k.server, plural(int(math.Round(maxTx)), "transaction", "transactions"), 100*shares/float64(n), ms(spent))
		if n == 1 {
			msg = fmt.Sprintf("connection %d to %s spent %.0f%% of its time in the TCP handshake (%s) for %s; a "+
				"reused connection would have skipped it", first.ID, k.server, 100*shares, ms(spent),
				plural(int(p.v.handshake(first).transactions), "transaction", "transactions"))
		}
		p.report(Finding{
			Connections: conns,
			Frames:      frames,
			Time:        opening(first),
			Cost:        cost,
			Message:     msg,
		})
	}
}

var ruleSYNRetransmission = &Rule{
	ID: "CT1002", Slug: "syn-retransmission", Since: "0.1", Scope: ScopeConnection,
	Title:    "SYN or SYN/ACK retransmitted: seconds lost to connect",
	Severity: SeverityWarning,
	Doc: Doc{
		What: "The client sent its SYN more than once (or the server its SYN/ACK) before the connection opened.",
		Detection: "More than one SYN from the client (SYN/ACKs from the server) for the same connection. The cost " +
			"is the time from the first transmission to the last: the time the connect call spent waiting. When both " +
			"repeat (a SYN/ACK lost on its way to the client draws a new SYN and a new SYN/ACK), one finding covers " +
			"both and counts that wait once; a SYN/ACK captured before the client's last SYN is named as an answer " +
			"that did not reach the client.",
		Why: "A lost SYN is only resent after the initial retransmission timeout (1 s on Linux, then 2 s, 4 s, ...; " +
			"3 s on older stacks), so each loss costs whole seconds. Repeated SYNs to a live server usually mean its " +
			"listen (accept) queue is full or a firewall drops them; repeated SYN/ACKs mean the client's ACK or the " +
			"SYN/ACK itself was lost.",
		Fix: "On the server: raise the listen backlog (listen(2) backlog, net.core.somaxconn, " +
			"net.ipv4.tcp_max_syn_backlog; nginx listen ... backlog=N) and accept faster. Check firewalls and " +
			"SYN-flood protection. On the client: reuse connections so fewer SYNs are needed at all.",
	},
	onlyWith:        factSYNRepeated,
	checkConnection: checkSYNRetransmission,
}

func checkSYNRetransmission(p *connPass) {
	h := &p.c.Handshake
	if p.v.syns <= 1 && p.v.synacks <= 1 && h.SYNRetransmissions == 0 {
		return // one SYN and at most one SYN/ACK: nothing was sent again
	}
	var syns, synacks []int
	for i := range p.c.Segments {
		s := &p.c.Segments[i]
		f := flagsOf(s)
		if !f.Has(capture.FlagSYN) || s.Kind&reassembly.KindCaptureDuplicate != 0 {
			continue
		}
		if f.Has(capture.FlagACK) {
			synacks = append(synacks, i)
		} else {
			syns = append(syns, i)
		}
	}
	segs := p.c.Segments
	var tx *txnRec
	if len(p.v.txs) > 0 {
		tx = p.v.txs[0] // the transaction that waited for the connection
	}
	span := func(idx []int) (first, last *reassembly.SegmentRecord) {
		return &segs[idx[0]], &segs[idx[len(idx)-1]]
	}
	synRepeated := len(syns) > 1 || h.SYNRetransmissions > 0 && len(syns) > 0
	synackRepeated := len(synacks) > 1
	var (
		idx       []int
		intervals [][2]int64
		parts     []string
	)
	if synRepeated {
		first, last := span(syns)
		idx, intervals = append(idx, syns...), append(intervals, [2]int64{first.Time, last.Time})
		switch {
		case len(synacks) > 0 && segs[synacks[0]].Time < last.Time:
			// The capture saw an answer before the client gave up on its
			// SYN: the SYN/ACK was lost (or held) beyond the capture point.
			answer := &segs[synacks[0]]
			parts = append(parts, fmt.Sprintf("SYN sent %d times over %s although the server answered the first SYN "+
				"(frame %d, after %s): its SYN/ACK did not reach the client", len(syns), ms(last.Time-first.Time),
				answer.Frame, ms(answer.Time-first.Time)))
		case h.SYNACKFrame == 0 && len(synacks) == 0:
			parts = append(parts, fmt.Sprintf("SYN sent %d times over %s before the capture ended or the client "+
				"gave up: the server never answered", len(syns), ms(last.Time-first.Time)))
		default:
			parts = append(parts, fmt.Sprintf("SYN sent %d times over %s before the server answered", len(syns),
				ms(last.Time-first.Time)))
		}
	}
	if synackRepeated {
		// With the SYN repeated too, the SYN/ACKs answer those SYNs: the
		// same wait, reported once and counted once.
		first, last := span(synacks)
		idx, intervals = append(idx, synacks...), append(intervals, [2]int64{first.Time, last.Time})
		parts = append(parts, fmt.Sprintf("SYN/ACK sent %d times over %s before the handshake completed", len(synacks),
			ms(last.Time-first.Time)))
	}
	if len(idx) == 0 {
		return
	}
	slices.Sort(idx)
	frames := make([]uint64, len(idx))
	for i, j := range idx {
		frames[i] = segs[j].Frame
	}
	p.report(Finding{
		txn:     tx,
		Frames:  frames,
		Time:    segs[idx[0]].Time,
		Cost:    unionLength(intervals),
		Message: strings.Join(parts, "; "),
		Vantage: p.v.vantageNote(),
	})
}
