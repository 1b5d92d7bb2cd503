package diagnose

import (
	"fmt"

	"github.com/connscope/connscope/capture"
	"github.com/connscope/connscope/httpflow"
	"github.com/connscope/connscope/reassembly"
)

var ruleHandshakeOverhead = &Rule{
	ID: "CT1001", Slug: "handshake-overhead", Since: "0.1", Scope: ScopeConnection,
	Title:    "Handshake is a large share of a short connection's time",
	Severity: SeverityInfo,
	Doc: Doc{
		What: "A connection carried only a few transactions, and its TCP handshake (SYN, SYN/ACK, ACK) took a large " +
			"share of the time from the first SYN to the last response byte.",
		Detection: "The handshake time is the (last) SYN to the ACK that completed it, as seen at the capture " +
			"point; SYN retransmissions are CT1002's. The rule fires when the connection carried at most " +
			"max-transactions transactions and that time is at least min-share of the span from the SYN to the " +
			"end of the last response. The cost is the initial round trip, which a reused connection would not pay.",
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
	checkConnection: checkHandshakeOverhead,
}

func checkHandshakeOverhead(p *connPass) {
	h, v := &p.c.Handshake, p.v
	n := len(v.txs)
	if !v.legKnown || n == 0 || float64(n) > p.num("max-transactions") {
		return
	}
	last := v.txs[n-1]
	if last.Response == nil || last.Response.End == 0 {
		return
	}
	// From the last SYN: time lost to SYN retransmissions is CT1002's.
	handshake, span := h.ACKTime-h.SYNTime, last.Response.End-h.SYNTime
	if span <= 0 || handshake <= 0 {
		return
	}
	share := float64(handshake) / float64(span)
	if share < p.num("min-share") {
		return
	}
	p.report(Finding{
		Transaction: v.txs[0],
		Frames:      []uint64{h.SYNFrame, h.SYNACKFrame, h.ACKFrame},
		Time:        h.SYNTime,
		Cost:        v.irtt,
		Message: fmt.Sprintf("the handshake took %s of this connection's %s (%.0f%%) for %s; a reused connection "+
			"would have skipped it", ms(handshake), ms(span), share*100, plural(n, "transaction", "transactions")),
	})
}

var ruleSYNRetransmission = &Rule{
	ID: "CT1002", Slug: "syn-retransmission", Since: "0.1", Scope: ScopeConnection,
	Title:    "SYN or SYN/ACK retransmitted: seconds lost to connect",
	Severity: SeverityWarning,
	Doc: Doc{
		What: "The client sent its SYN more than once (or the server its SYN/ACK) before the connection opened.",
		Detection: "More than one SYN from the client (SYN/ACKs from the server) for the same connection. The cost " +
			"is the time from the first transmission to the last: the time the connect call spent waiting.",
		Why: "A lost SYN is only resent after the initial retransmission timeout (1 s on Linux, then 2 s, 4 s, ...; " +
			"3 s on older stacks), so each loss costs whole seconds. Repeated SYNs to a live server usually mean its " +
			"listen (accept) queue is full or a firewall drops them; repeated SYN/ACKs mean the client's ACK or the " +
			"SYN/ACK itself was lost.",
		Fix: "On the server: raise the listen backlog (listen(2) backlog, net.core.somaxconn, " +
			"net.ipv4.tcp_max_syn_backlog; nginx listen ... backlog=N) and accept faster. Check firewalls and " +
			"SYN-flood protection. On the client: reuse connections so fewer SYNs are needed at all.",
	},
	checkConnection: checkSYNRetransmission,
}

func checkSYNRetransmission(p *connPass) {
	h := &p.c.Handshake
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
	report := func(idx []int, what, answered string) {
		segs := p.c.Segments
		firstSeg, lastSeg := &segs[idx[0]], &segs[idx[len(idx)-1]]
		frames := make([]uint64, len(idx))
		for i, j := range idx {
			frames[i] = segs[j].Frame
		}
		var tx *httpflow.Transaction
		if len(p.v.txs) > 0 {
			tx = p.v.txs[0] // the transaction that waited for the connection
		}
		p.report(Finding{
			Transaction: tx,
			Frames:      frames,
			Time:        firstSeg.Time,
			Cost:        lastSeg.Time - firstSeg.Time,
			Message: fmt.Sprintf("%s sent %d times over %s before %s", what, len(idx),
				ms(lastSeg.Time-firstSeg.Time), answered),
			Vantage: p.v.vantageNote(),
		})
	}
	if len(syns) > 1 || h.SYNRetransmissions > 0 && len(syns) > 0 {
		answered := "the server answered"
		if h.SYNACKFrame == 0 && len(synacks) == 0 {
			answered = "the capture ended or the client gave up: the server never answered"
		}
		report(syns, "SYN", answered)
	}
	if len(synacks) > 1 {
		report(synacks, "SYN/ACK", "the handshake completed")
	}
}
