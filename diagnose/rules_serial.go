package diagnose

import (
	"fmt"
	"slices"

	"github.com/connscope/connscope/internal/english"
)

var ruleSerialIdleGaps = &Rule{
	ID: "CH1007", Slug: "serial-idle-gaps", Since: "0.1", Scope: ScopeConnection,
	Title:    "Idle gaps between serial transactions on a connection",
	Severity: SeverityInfo,
	Doc: Doc{
		What: "Transactions on a persistent connection followed each other with idle time in between: the client " +
			"waited after each response before sending the next request.",
		Detection: "On a connection with several transactions, the idle gap before each non-pipelined transaction " +
			"after the first (the previous response's last byte to the request's first byte, from httpflow) of at " +
			"least min-gap and at most max-gap, unless the request's first segment is a retransmission (the time " +
			"went to a loss, not to idleness). A longer gap is think time or polling (a client that asks again " +
			"every few seconds), not a serial dependency: it is named in the message but not counted. " +
			"Connections where the capture missed bytes are skipped: their message times cannot be trusted. One " +
			"finding per connection lists the gaps; the cost is their sum.",
		Why: "Serial transactions add up: every gap, plus every request's round trip, is on the critical path. A " +
			"page fetching many objects one after another over one connection spends most of its time waiting. " +
			"Gaps can be user think time, which is not a problem; gaps of a few hundred milliseconds between " +
			"requests of one page are client-side processing or a serial dependency.",
		Fix: "Fetch independent resources concurrently (several connections, or HTTP/2 multiplexing); issue " +
			"requests before processing the previous response; preload or batch. If the gaps are user think time, " +
			"nothing needs fixing.",
	},
	Thresholds: []Threshold{
		{Name: "min-gap", Default: 100, Unit: "ms", Doc: "shortest idle gap counted"},
		{Name: "max-gap", Default: 2000, Unit: "ms", Doc: "longest idle gap counted; longer ones are think time or polling"},
	},
	onlyWith:        factReused,
	checkConnection: checkSerialIdleGaps,
}

func checkSerialIdleGaps(p *connPass) {
	if !p.v.timingTrusted() {
		return
	}
	minGap, maxGap := p.dur("min-gap"), p.dur("max-gap")
	var frames []uint64
	var total, longest, longestIdle int64
	var longestTx, first *txnRec
	count, idle := 0, 0
	for i, t := range p.v.txs {
		if i == 0 || t.Pipelined || t.Request() == nil || t.GapBefore < minGap {
			continue
		}
		prev := p.v.txs[i-1]
		if prev.Response() == nil || p.v.retransmitted(t.Request().FirstFrame) {
			continue // a request first seen as a retransmission was not idle: it was lost
		}
		if t.GapBefore > maxGap {
			// Think time or polling: named, not counted.
			idle++
			longestIdle = max(longestIdle, t.GapBefore)
			continue
		}
		count++
		total += t.GapBefore
		if first == nil {
			first = t
		}
		if t.GapBefore > longest {
			longest, longestTx = t.GapBefore, t
		}
		if len(frames) < maxCited {
			frames = append(frames, prev.Response().LastFrame, t.Request().FirstFrame)
		}
	}
	if count == 0 {
		return
	}
	msg := fmt.Sprintf("%s of at least %s between serial transactions, %s in total; the longest, %s, "+
		"came before the connection's %s transaction (%s)", plural(count, "idle gap", "idle gaps"), ms(minGap), ms(total),
		ms(longest), english.Ordinal(int(longestTx.Index)+1), requestLine(longestTx))
	if idle > 0 {
		msg += fmt.Sprintf("; %s over %s (up to %s), think time or polling, not counted",
			plural(idle, "longer gap", "longer gaps"), ms(maxGap), ms(longestIdle))
	}
	p.report(Finding{
		txn:     first,
		Frames:  frames,
		Time:    first.Request().Start,
		Cost:    total,
		Message: msg,
	})
}

var ruleHeadOfLineBlocking = &Rule{
	ID: "CH1008", Slug: "pipeline-head-of-line-blocking", Since: "0.1", Scope: ScopeConnection,
	Title:    "A slow response held up pipelined responses behind it",
	Severity: SeverityWarning,
	Doc: Doc{
		What: "A pipelined request had been sent in full, but its response could not start until the response " +
			"ahead of it on the connection had finished.",
		Detection: "For each pipelined transaction with a response: the time from its request's last byte to the " +
			"end of the previous response (responses must come back in request order). When that blocked time is " +
			"at least min-blocked the transaction is reported, with the previous response as related evidence. " +
			"The cost is the blocked time. Connections where the capture missed bytes are skipped: their " +
			"message times cannot be trusted.",
		Why: "HTTP/1.1 pipelining returns responses strictly in order, so one slow response (a large download, a " +
			"slow backend) delays every response queued behind it: head-of-line blocking. It is one reason " +
			"browsers abandoned pipelining.",
		Fix: "Do not pipeline requests behind ones that may be slow; use separate connections for large or slow " +
			"requests, or HTTP/2, which multiplexes responses.",
	},
	Thresholds: []Threshold{
		{Name: "min-blocked", Default: 100, Unit: "ms", Doc: "shortest blocked time reported"},
	},
	onlyWith:        factReused,
	checkConnection: checkHeadOfLineBlocking,
}

func checkHeadOfLineBlocking(p *connPass) {
	if !p.v.timingTrusted() {
		return
	}
	for i, t := range p.v.txs {
		if i == 0 || !t.Pipelined || t.Request() == nil || t.Response() == nil {
			continue
		}
		prev := p.v.txs[i-1]
		if prev.Response() == nil || prev.Response().End == 0 {
			continue
		}
		blocked := prev.Response().End - t.Request().End
		if blocked < p.dur("min-blocked") {
			continue
		}
		slow, held := slowestAhead(p.v.txs, i)
		p.report(Finding{
			txn:    t,
			Frames: []uint64{t.Request().LastFrame, slow.Response().FirstFrame, slow.Response().LastFrame, t.Response().FirstFrame},
			Time:   t.Request().End,
			Cost:   blocked,
			Message: fmt.Sprintf("pipelined request %s waited %s for the responses queued ahead of it before its own "+
				"could start; the slowest, to %s (%s), held the line for %s", requestLine(t), ms(blocked),
				requestLine(slow), frameRange(slow.Response().FirstFrame, slow.Response().LastFrame), ms(held)),
			Related: []Related{{Frame: slow.Response().LastFrame, Time: slow.Response().End, Message: "end of the slowest response ahead"}},
		})
	}
}

// slowestAhead returns, among the transactions before txs[i] whose
// responses were still due when its request had been sent, the one whose
// response held the line longest, and for how long: from when it could
// have started (its request sent, the response before it done, txs[i]'s
// request sent) to its end.
func slowestAhead(txs []*txnRec, i int) (*txnRec, int64) {
	t := txs[i]
	slow, held := txs[i-1], int64(-1)
	for j := i - 1; j >= 0; j-- {
		r := txs[j].Response()
		if r == nil || r.End <= t.Request().End {
			break // answered before this request was sent: not ahead of it
		}
		from := t.Request().End
		if txs[j].Request() != nil {
			from = max(from, txs[j].Request().End)
		}
		if j > 0 && txs[j-1].Response() != nil {
			from = max(from, txs[j-1].Response().End)
		}
		if h := r.End - from; h > held {
			slow, held = txs[j], h
		}
	}
	return slow, max(held, 0)
}

// frameRange renders "frame 12" or "frames 12-15".
func frameRange(first, last uint64) string {
	if first == last {
		return fmt.Sprintf("frame %d", first)
	}
	return fmt.Sprintf("frames %d-%d", first, last)
}

var ruleTooManyParallel = &Rule{
	ID: "CH1009", Slug: "too-many-parallel-connections", Since: "0.1", Scope: ScopeCapture,
	Title:    "Too many parallel connections from one client to one server",
	Severity: SeverityWarning,
	Doc: Doc{
		What: "A client had more connections open to one server address and port at the same time than " +
			"max-connections.",
		Detection: "For each client address and server address and port, a sweep over the connections' lifetimes " +
			"(first to last frame) finds the peak number open at once. More than max-connections is reported, " +
			"citing the connections open at the peak and their SYN frames.",
		Why: "Parallel connections overlap latency, but each pays its own handshake and slow start, competes with " +
			"the others for bandwidth, and costs the server memory and a worker. Browsers cap HTTP/1.1 at about 6 " +
			"connections per host; RFC 2616 asked for 2.",
		Fix: "Cap the client's pool (Go Transport.MaxConnsPerHost, Apache HttpClient setMaxPerRoute, Node agent " +
			"maxSockets) and reuse connections; use HTTP/2 to multiplex over one connection.",
	},
	Thresholds: []Threshold{
		{Name: "max-connections", Default: 6, Unit: "count", Doc: "most concurrent connections allowed per client and server (browsers use 6)"},
	},
	checkCapture: checkTooManyParallel,
}

func checkTooManyParallel(p *capturePass) {
	limit := p.num("max-connections")
	for _, k := range p.v.keys {
		g := p.v.groups[k]
		if float64(len(g)) <= limit {
			continue
		}
		// Starts are the openings, in group order already; ends count
		// after starts at the same instant: a connection that ends
		// exactly when another starts overlapped it.
		ends := p.v.scratchBuf(0, len(g))
		for i, s := range g {
			ends[i] = p.v.end(s)
		}
		sortTimes(ends)
		peak, peakAt := peakOverlapOpenings(g, ends, false)
		if float64(peak) <= limit {
			continue
		}
		var conns []int
		var frames []uint64
		for _, s := range g {
			if opening(s) > peakAt || len(conns) == maxCited {
				break // g is sorted by opening
			}
			if p.v.end(s) >= peakAt {
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
			Message: fmt.Sprintf("client %s had %s open to %s at once (limit %.0f)",
				k.client, plural(int(peak), "connection", "connections"), k.server, limit),
		})
	}
}
