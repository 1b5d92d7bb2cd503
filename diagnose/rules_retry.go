package diagnose

import (
	"fmt"
	"sort"
)

var ruleNonIdempotentRetry = &Rule{
	ID: "CC1008", Slug: "non-idempotent-retry", Since: "0.1", Scope: ScopeCapture,
	Title:    "A non-idempotent request was sent again after its connection died",
	Severity: SeverityWarning,
	Doc: Doc{
		What: "A connection closed while its last request, a non-idempotent one such as POST, was unanswered, and " +
			"the same request (method, target and body size) was sent again on a new connection to the same server.",
		Detection: "For each client address and server address and port: a connection whose last transaction got " +
			"no response and whose method is not idempotent, followed within retry-window of its close by a " +
			"connection whose first request has the same method, target and body size. The finding is on the new " +
			"connection, with the original request as related evidence.",
		Why: "The server may have processed the first request before the connection died (the response was lost, " +
			"not the request), so resending it can charge a card twice or create a duplicate. RFC 9110 section " +
			"9.2.2: a client must not automatically retry a non-idempotent request.",
		Fix: "Make the operation idempotent (an idempotency key header the server deduplicates on, PUT to a " +
			"client-chosen URL) or ask the user before resending. Check which layer retried: many HTTP client " +
			"libraries, proxies and load balancers retry on connection errors.",
	},
	Thresholds: []Threshold{
		{Name: "retry-window", Default: 10, Unit: "s", Doc: "longest time from the first connection's close to the resend"},
	},
	checkCapture: checkNonIdempotentRetry,
}

func checkNonIdempotentRetry(p *capturePass) {
	window := p.dur("retry-window")
	for _, k := range p.v.keys {
		g := p.v.groups[k]
		for _, a := range p.v.withExtra[k] { // those with a retry entry among them
			ra := p.v.retry(a)
			if ra == nil || ra.lastUnanswered == nil || p.v.closeFrame(a) == 0 {
				continue
			}
			lost, closedAt := ra.lastUnanswered, p.v.closeTime(a)
			i := sort.Search(len(g), func(i int) bool { return opening(g[i]) >= closedAt })
			for end := min(len(g), i+maxCandidates); i < end && opening(g[i])-closedAt <= window; i++ {
				b := g[i]
				rb := p.v.retry(b)
				if b == a || rb == nil || rb.firstNonIdempotent == nil {
					continue
				}
				again := rb.firstNonIdempotent
				if again.Request().Method() != lost.Request().Method() ||
					again.target != lost.target || again.Request().BodyBytes != lost.Request().BodyBytes {
					continue
				}
				p.report(Finding{
					Connection:  b.ID,
					Connections: []int{a.ID, b.ID},
					txn:         again,
					Frames:      []uint64{lost.Request().FirstFrame, p.v.closeFrame(a), again.Request().FirstFrame},
					Time:        again.Request().Start,
					Cost:        -1,
					Message: fmt.Sprintf("%s (%s) was sent again on connection %d %s after connection %d "+
						"closed without answering it; the server may have processed it twice",
						requestLine(again), plural(int(again.Request().BodyBytes), "body byte", "body bytes"), b.ID, ms(again.Request().Start-closedAt), a.ID),
					Related: []Related{
						{Frame: lost.Request().FirstFrame, Time: lost.Request().Start, Message: "first, unanswered transmission"},
						{Frame: p.v.closeFrame(a), Time: closedAt, Message: "close of the first connection"},
					},
				})
				break
			}
		}
	}
}
