package diagnose

import (
	"fmt"
	"slices"
	"strings"

	"github.com/connscope/connscope/internal/english"
	"github.com/connscope/connscope/reassembly"
)

var ruleMissingKeepAlive = &Rule{
	ID: "CH1001", Slug: "missing-keep-alive", Since: "0.1", Scope: ScopeCapture,
	Title:    "A client opens a new connection for every request (no keep-alive)",
	Severity: SeverityWarning,
	Doc: Doc{
		What: "A client closed a connection after a single transaction and opened a new one to the same server " +
			"right afterwards, paying a handshake (and slow start) each time instead of reusing the connection.",
		Detection: "For each client address and server address and port: an HTTP connection that carried exactly " +
			"one transaction, answered, and closed, followed by a new connection to the same server whose first " +
			"SYN came within reopen-window of that close (a connection that died unanswered is a failure, not " +
			"churn: see CC1008 and CH1006). Two kinds of close are not churn when no header or framing refused " +
			"persistence: a connection reset before either side sent a FIN (an abort or a failure, after which a " +
			"client must reconnect; a RST after a FIN, for data that arrived after the close or from a peer that " +
			"resets instead of closing, does not make a closed connection an abort), and a server's close after " +
			"the connection sat idle at least 100 ms after its response (a keep-alive idle timeout: persistence " +
			"worked, the client just paused longer than the server waits). At least min-new-connections such reopenings are needed: one reopening is as well a client " +
			"that needed a second connection once. One finding per client and server lists the extra connections " +
			"and says which side refused persistence and how: Connection: close from the client or the server, " +
			"HTTP/1.0 without Connection: keep-alive, or a close-delimited response body. The cost is the sum of " +
			"the extra connections' initial round trips.",
		Why: "Each new connection costs a round trip for the handshake, restarts slow start, and leaves a TIME_WAIT " +
			"entry behind (see CT1012). HTTP/1.1 connections persist by default; something explicitly turned " +
			"persistence off.",
		Fix: "Client: reuse one client or session object (Go: share one http.Client and read bodies to EOF then " +
			"Close them; Python: requests.Session; curl: several URLs in one invocation; Java: keep " +
			"http.keepAlive on). Server: do not send Connection: close (nginx keepalive_timeout > 0, Apache " +
			"KeepAlive On, raise MaxKeepAliveRequests / keepalive_requests); always send Content-Length or chunked " +
			"so responses need not be close-delimited; answer HTTP/1.0 keep-alive requests with Connection: " +
			"keep-alive.",
	},
	Thresholds: []Threshold{
		{Name: "reopen-window", Default: 1000, Unit: "ms", Doc: "longest time from a close to the next SYN counted as churn"},
		{Name: "min-new-connections", Default: 2, Unit: "count", Doc: "fewest reopenings (new connections right after a single-transaction one) reported for one client and server"},
	},
	checkCapture: checkMissingKeepAlive,
}

// maxCandidates bounds how many later connections a capture-scope rule
// examines for each earlier one.
const maxCandidates = 256

func checkMissingKeepAlive(p *capturePass) {
	window := p.dur("reopen-window")
	for _, k := range p.v.keys {
		g := p.v.groups[k]
		var first *connSummary // the first extra connection
		extra := 0
		var frames []uint64
		reasons := map[string]int{}
		var refusals [len(refusalText)]int // reasons that are a refusal, by kind
		conns := smallestInts{max: maxCited}
		taken := make([]bool, len(g)) // by position in g
		var cost int64
		i := 0 // where the last search ended: the next one starts there
		for _, a := range g {
			if !a.HTTP() || !a.oneTransaction() || p.v.closeFrame(a) == 0 || p.v.idleBeforeClose(a) < 0 {
				continue // a connection that died unanswered is a failure, not churn (CC1008, CH1006)
			}
			if a.refusal == refusalNone && (a.aborted() ||
				a.ClosedFirstBy == reassembly.RoleServer && p.v.idleBeforeClose(a) >= idleTimeoutHint) {
				continue // an abort, or a keep-alive idle timeout: persistence was not refused
			}
			// Groups are sorted by opening time: find the first connection
			// opened after a closed (less a round trip of tolerance for
			// where the capture was taken), looking at a bounded number of
			// candidates so a burst of simultaneous connections cannot make
			// the scan quadratic.
			i = firstOpenedFrom(g, p.v.closeTime(a)-p.v.irtt(a), i)
			for end := min(len(g), i+maxCandidates); i < end; i++ {
				b := g[i]
				if b == a || taken[i] || !b.HTTP() {
					continue
				}
				if opening(b)-p.v.closeTime(a) > window {
					break
				}
				taken[i] = true
				if first == nil {
					first = b
				}
				extra++
				if len(frames) < maxCited {
					frames = append(frames, p.v.synFrame(b))
				}
				conns.add(a.ID)
				conns.add(b.ID)
				cost += p.v.irtt(b)
				if a.refusal != refusalNone {
					refusals[a.refusal]++
				} else {
					reasons[unannouncedClose(p.v, a)]++
				}
				break
			}
		}
		if extra == 0 || float64(extra) < p.num("min-new-connections") {
			continue
		}
		for r, n := range refusals {
			if n > 0 {
				reasons[refusalKind(r).String()] += n
			}
		}
		p.report(Finding{
			Connections: conns.xs,
			Frames:      frames,
			Time:        opening(first),
			Cost:        cost,
			Message: fmt.Sprintf("client %s opened %s to %s right after single-transaction connections closed, "+
				"costing %s of handshakes; %s", k.client, plural(extra, "new connection", "new connections"),
				k.server, ms(cost), describeReasons(reasons)),
		})
	}
}

// unannouncedClose describes a close that no header announced: right after
// the response, or, by the client, after the connection sat idle (a
// server's close after idling is its keep-alive timeout, which
// checkMissingKeepAlive does not count).
func unannouncedClose(v *captureView, s *connSummary) string {
	who := roleOr(s.ClosedFirstBy, "one side")
	if idle := v.idleBeforeClose(s); idle >= idleTimeoutHint {
		return fmt.Sprintf("no header refused persistence; the %s closed the connection after it sat idle %s "+
			"instead of reusing it", who, roundMS(idle))
	}
	return "no header refused persistence, yet the " + who + " closed the connection right after the response"
}

// idleTimeoutHint is the idle time before a close from which the close
// reads as a keep-alive timeout rather than part of the exchange.
const idleTimeoutHint = 100e6

// roundMS renders a duration for grouping messages, to 100 ms.
func roundMS(ns int64) string {
	return fmt.Sprintf("about %d ms", (ns+50e6)/100e6*100)
}

// opening is when a connection was first tried: its first SYN, or its first
// frame when the handshake was not seen.
func opening(s *connSummary) int64 { return s.opening }

func roleOr(r reassembly.Role, fallback string) string {
	if s := r.String(); s != "" {
		return s
	}
	return fallback
}

// describeReasons renders reason counts, most frequent first.
func describeReasons(reasons map[string]int) string {
	keys := make([]string, 0, len(reasons))
	for k := range reasons {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int {
		if reasons[a] != reasons[b] {
			return reasons[b] - reasons[a]
		}
		return strings.Compare(a, b)
	})
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s (%dx)", k, reasons[k])
	}
	return strings.Join(parts, "; ")
}

var ruleDumbProxyHang = &Rule{
	ID: "CH1006", Slug: "reused-connection-hang", Since: "0.1", Scope: ScopeConnection,
	Title:    "A request on a reused connection got no response until the connection closed (dumb proxy hang)",
	Severity: SeverityError,
	Doc: Doc{
		What: "A client sent a request on a connection that had already carried a transaction, got no response, " +
			"and the connection was closed seconds later.",
		Detection: "A transaction after the first on its connection with no response, whose request was followed " +
			"by the connection's close (FIN or RST) no sooner than min-wait after the request's last byte. A close " +
			"that comes within a round trip of the request is a keep-alive race instead (CC1009). The finding says " +
			"whether the previous exchange negotiated keep-alive with a Connection: keep-alive header, the setup a " +
			"dumb proxy breaks.",
		Why: "A proxy that does not understand Connection: keep-alive forwards it, the server and client both " +
			"believe the connection persists, but the proxy waits for the server to close. The client's next " +
			"request on that connection is never forwarded and hangs until a timeout. The same shape shows a " +
			"server that silently stops serving a kept-alive connection.",
		Fix: "Upgrade or fix the proxy (it must strip hop-by-hop headers and understand persistence); clients " +
			"should not send Proxy-Connection or Connection: keep-alive through unknown proxies, and should retry " +
			"idempotent requests on a fresh connection after a short timeout.",
	},
	Thresholds: []Threshold{
		{Name: "min-wait", Default: 1000, Unit: "ms", Doc: "shortest silence between the request and the close reported"},
	},
	onlyWith:        factReused,
	checkConnection: checkDumbProxyHang,
}

func checkDumbProxyHang(p *connPass) {
	if p.v.missedIn(reassembly.ServerToClient) {
		return // a response may be in what the capture missed
	}
	for i, t := range p.v.txs {
		req := t.Request()
		if i == 0 || t.Response() != nil || req == nil || req.End == 0 {
			continue
		}
		closeFrame, closeTime := p.v.closeAfter(req.End)
		if closeFrame == 0 || closeTime-req.End < p.dur("min-wait") ||
			p.v.sentData(reassembly.ServerToClient, req.FirstFrame, closeFrame) {
			continue
		}
		prev := p.v.txs[i-1]
		how := ""
		if hasToken(prev.Request(), "keep-alive") || hasToken(prev.Response(), "keep-alive") {
			how = "; the previous exchange asked for persistence with Connection: keep-alive, which a proxy that " +
				"does not understand it forwards and then waits for the server to close (a dumb proxy)"
		}
		p.report(Finding{
			txn:    t,
			Frames: []uint64{req.FirstFrame, req.LastFrame, closeFrame},
			Time:   req.Start,
			Cost:   closeTime - req.Start,
			Message: fmt.Sprintf("request %s (the %s transaction on a reused connection) got no response for %s until "+
				"the connection closed at frame %d%s", requestLine(t), english.Ordinal(int(t.Index)+1), ms(closeTime-req.End), closeFrame, how),
			Related: []Related{{Frame: closeFrame, Time: closeTime, Message: "close that ended the wait"}},
		})
	}
}

var ruleIdleRace = &Rule{
	ID: "CC1009", Slug: "keep-alive-idle-race", Since: "0.1", Scope: ScopeConnection,
	Title:    "The server closed an idle connection just as the client sent its next request",
	Severity: SeverityWarning,
	Doc: Doc{
		What: "After an idle period, the server's keep-alive timeout closed the connection at the moment the " +
			"client reused it; the request crossed the server's FIN and was lost.",
		Detection: "A transaction after the first on its connection, preceded by at least min-idle of idle time, " +
			"that got no response, where the server's first FIN or RST was sent before the server could have seen " +
			"the request and the request was sent before the client could have seen the FIN: at the capture " +
			"point, the request starts no earlier than the FIN minus the round trip to the server and no later " +
			"than the FIN plus the round trip to the client (each plus slack). The cost runs from the request to " +
			"the end of the connection, after which the client must retry on a new one.",
		Why: "HTTP lets either side close an idle persistent connection at any time (RFC 9112 section 9.8), so " +
			"this race is inherent; clients must retry. Clients that do not (or cannot, for POST) fail the " +
			"request with 'connection reset' or 'server closed idle connection' errors.",
		Fix: "Make the client's idle timeout shorter than the server's (Go Transport.IdleConnTimeout, Apache " +
			"HttpClient evictIdleConnections, Node agent freeSocketTimeout) so the client closes first; servers " +
			"can announce their timeout with Keep-Alive: timeout=N. Retry idempotent requests automatically.",
	},
	Thresholds: []Threshold{
		{Name: "min-idle", Default: 200, Unit: "ms", Doc: "idle time before the request that makes a server's idle timeout plausible (shorter gaps mean the server closed right after a response, not on a timeout)"},
		{Name: "slack", Default: 5, Unit: "ms", Doc: "added to each round trip when deciding the two messages crossed"},
	},
	onlyWith:        factReused,
	checkConnection: checkIdleRace,
}

func checkIdleRace(p *connPass) {
	srv := &p.c.Dir[reassembly.ServerToClient]
	closeFrame, closeTime := srv.FINFrame, srv.FINTime
	if srv.RSTFrame != 0 && (closeFrame == 0 || srv.RSTFrame < closeFrame) {
		closeFrame, closeTime = srv.RSTFrame, srv.RSTTime
	}
	if closeFrame == 0 || p.v.missedIn(reassembly.ServerToClient) {
		return
	}
	slack := p.dur("slack")
	for i, t := range p.v.txs {
		req := t.Request()
		if i == 0 || t.Response() != nil || req == nil || req.FirstFrame == 0 || t.GapBefore < p.dur("min-idle") {
			continue
		}
		if req.Start < closeTime-p.v.leg[reassembly.ClientToServer]-slack || req.Start > closeTime+p.v.leg[reassembly.ServerToClient]+slack {
			continue
		}
		cost := max(p.c.End-req.Start, 0)
		p.report(Finding{
			txn:    t,
			Frames: []uint64{closeFrame, req.FirstFrame},
			Time:   req.Start,
			Cost:   cost,
			Message: fmt.Sprintf("after %s idle the server closed the connection (frame %d) as the client sent %s "+
				"(frame %d, %s apart): the request crossed the close and was never answered",
				ms(t.GapBefore), closeFrame, requestLine(t), req.FirstFrame, ms(absDiff(req.Start, closeTime))),
			Related: []Related{{Frame: closeFrame, Time: closeTime, Message: "server's close"}},
			Vantage: p.v.vantageNote(),
		})
	}
}

func absDiff(a, b int64) int64 {
	if a > b {
		return a - b
	}
	return b - a
}

// unanswered lists the transactions whose request got no response.
func unanswered(txs []*txnRec) []*txnRec {
	var out []*txnRec
	for _, t := range txs {
		if t.Response() == nil && t.Request() != nil {
			out = append(out, t)
		}
	}
	return out
}
