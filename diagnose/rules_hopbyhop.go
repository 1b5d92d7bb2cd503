package diagnose

import (
	"fmt"
	"slices"
	"strings"

	"github.com/connscope/connscope/reassembly"
)

// messageCheck inspects one message; it returns a short description of the
// problem ("" when none).
type messageCheck func(m *msgRec) string

// reportMessages runs check over every request and response of the
// connection and reports one finding per connection, citing each offending
// message's first frame and describing the earliest one.
func reportMessages(p *connPass, check messageCheck) {
	var first *txnRec
	var firstMsg *msgRec
	var desc string
	var frames []uint64
	var count, total [2]int
	eachMessage(p.v.txs, func(t *txnRec, m *msgRec, d reassembly.Direction) {
		total[d]++
		what := check(m)
		if what == "" {
			return
		}
		count[d]++
		if first == nil || m.Start < firstMsg.Start {
			first, firstMsg, desc = t, m, what
		}
		if len(frames) < maxCited {
			frames = append(frames, m.FirstFrame)
		}
	})
	if first == nil {
		return
	}
	var where []string
	for d, kind := range [2][2]string{{"request", "requests"}, {"response", "responses"}} {
		if count[d] > 0 {
			where = append(where, fmt.Sprintf("%d of %s", count[d], plural(int(total[d]), kind[0], kind[1])))
		}
	}
	p.report(Finding{
		txn:     first,
		Frames:  frames,
		Time:    firstMsg.Start,
		Cost:    -1,
		Message: fmt.Sprintf("%s (in %s on this connection)", desc, strings.Join(where, " and ")),
	})
}

var ruleProxyConnection = &Rule{
	ID: "CH1002", Slug: "proxy-connection-header", Since: "0.1", Scope: ScopeConnection,
	Title:    "Non-standard Proxy-Connection header sent",
	Severity: SeverityWarning,
	Doc: Doc{
		What: "A message carried a Proxy-Connection header, an old Netscape invention for talking keep-alive to " +
			"proxies that was never standardised.",
		Detection: "Any request or response with a Proxy-Connection header field. One finding per connection, " +
			"citing each message.",
		Why: "Proxy-Connection was meant to let a client ask a proxy for keep-alive without a dumb proxy forwarding " +
			"Connection: keep-alive to the server. It only works when the client talks to the proxy directly: " +
			"behind a second, dumb proxy it is forwarded like any header and the hang comes back. RFC 9112 " +
			"(appendix C.2.2) says clients are encouraged not to send it.",
		Fix: "Drop it: HTTP/1.1 connections, proxied or not, persist by default. Old curl versions and some " +
			"browsers sent it; current ones do not.",
	},
	onlyWith: factProxyConnection,
	checkConnection: func(p *connPass) {
		if !p.v.msgs.proxyConnection {
			return
		}
		reportMessages(p, func(m *msgRec) string {
			if !m.HasProxyConnection {
				return ""
			}
			return "Proxy-Connection: " + quote(m.ProxyConnection()) + " sent"
		})
	},
}

var ruleKeepAliveWithoutToken = &Rule{
	ID: "CH1003", Slug: "keep-alive-without-connection-token", Since: "0.1", Scope: ScopeConnection,
	Title:    "Keep-Alive header without Connection: keep-alive",
	Severity: SeverityWarning,
	Doc: Doc{
		What: "A message carried a Keep-Alive header (timeout, max) but its Connection header does not list " +
			"keep-alive.",
		Detection: "A request or response whose Keep-Alive header is present while its Connection tokens lack " +
			"keep-alive. One finding per connection.",
		Why: "Keep-Alive is hop-by-hop and only meaningful together with Connection: Keep-Alive (RFC 2068 section " +
			"19.7.1); on its own a proxy may forward it as an end-to-end header, and peers ignore it, so the " +
			"limits it announces (timeout, max) are not in force.",
		Fix: "Send Keep-Alive only with Connection: keep-alive (HTTP/1.0 keep-alive), or not at all on HTTP/1.1.",
	},
	onlyWith: factKeepAliveHeader,
	checkConnection: func(p *connPass) {
		if !p.v.msgs.keepAliveHeader {
			return
		}
		reportMessages(p, func(m *msgRec) string {
			if m.KeepAlive() == "" || hasToken(m, "keep-alive") {
				return ""
			}
			return "Keep-Alive: " + quote(m.KeepAlive()) + " sent without a Connection: keep-alive token"
		})
	},
}

var ruleRedundantKeepAlive = &Rule{
	ID: "CH1004", Slug: "redundant-connection-keep-alive", Since: "0.1", Scope: ScopeCapture,
	Title:    "Connection: keep-alive on HTTP/1.1 is redundant",
	Severity: SeverityInfo,
	Doc: Doc{
		What: "HTTP/1.1 messages said Connection: keep-alive, which is the default for HTTP/1.1.",
		Detection: "Requests and responses with version HTTP/1.1 whose Connection tokens include keep-alive. " +
			"Browsers still send it on every request, so the rule reports once per client address and server " +
			"address and port, with the counts, the connections and the first such message of each.",
		Why: "Harmless on its own, but it shows a client or server written for HTTP/1.0 habits, and through a dumb " +
			"proxy the header can cause the hang of CH1006.",
		Fix: "Nothing needs fixing; drop the header from HTTP/1.1 messages when convenient.",
	},
	checkCapture: checkRedundantKeepAlive,
}

// redundantKeepAlive reports whether m is HTTP/1.1 and says Connection:
// keep-alive anyway.
func redundantKeepAlive(m *msgRec) bool {
	return m.Version() == "HTTP/1.1" && hasToken(m, "keep-alive")
}

// keepAliveCounts is what connSummary keeps for CH1004.
type keepAliveCounts struct {
	said, total [2]int32 // messages with the token, and all messages, per direction
	frame       uint64   // first message with the token
	at          int64
}

func countKeepAlive(txs []*txnRec) (k keepAliveCounts) {
	eachMessage(txs, func(_ *txnRec, m *msgRec, d reassembly.Direction) {
		k.total[d]++
		if redundantKeepAlive(m) {
			k.said[d]++
			if k.frame == 0 || m.FirstFrame < k.frame {
				k.frame, k.at = m.FirstFrame, m.Start
			}
		}
	})
	return k
}

func checkRedundantKeepAlive(p *capturePass) {
	for _, k := range p.v.keys {
		var said, total [2]int
		var conns []int
		var frames []uint64
		first := int64(0)
		for _, s := range p.v.withExtra[k] {
			ka := p.v.keepAlive(s)
			if ka == nil {
				continue
			}
			for d := range said {
				said[d] += int(ka.said[d])
				total[d] += int(ka.total[d])
			}
			if len(conns) < maxCited {
				conns, frames = append(conns, s.ID), append(frames, ka.frame)
			}
			if first == 0 || ka.at < first {
				first = ka.at
			}
		}
		if len(conns) == 0 {
			continue
		}
		slices.Sort(conns)
		p.report(Finding{
			Connections: conns,
			Frames:      frames,
			Time:        first,
			Cost:        -1,
			Message: fmt.Sprintf("%d of %s from %s and %d of %s from %s said Connection: "+
				"keep-alive on HTTP/1.1, where it is the default (%s)", said[0], plural(int(total[0]), "request", "requests"),
				k.client, said[1], plural(int(total[1]), "response", "responses"), k.server,
				plural(len(conns), "connection", "connections")),
		})
	}
}

// endToEnd are well-known end-to-end header names: a Connection header
// listing one makes every proxy strip it.
var endToEnd = []string{"host", "content-length", "content-type", "content-encoding", "content-range",
	"authorization", "cookie", "set-cookie", "cache-control", "etag", "last-modified", "expires", "date",
	"location", "range", "accept", "accept-encoding", "user-agent", "referer", "vary", "age", "server",
	"if-modified-since", "if-none-match", "www-authenticate", "origin", "x-forwarded-for"}

var ruleConnectionEndToEnd = &Rule{
	ID: "CH1005", Slug: "connection-names-end-to-end-header", Since: "0.1", Scope: ScopeConnection,
	Title:    "Connection header lists an end-to-end header",
	Severity: SeverityWarning,
	Doc: Doc{
		What: "A message's Connection header names a header that must travel end to end (such as Content-Length, " +
			"Authorization or Cookie), marking it hop-by-hop.",
		Detection: "A Connection token that is a well-known end-to-end header name (Host, Content-Length, " +
			"Content-Type, Authorization, Cookie, Cache-Control, ...). One finding per connection.",
		Why: "Every compliant proxy removes the headers listed in Connection before forwarding (RFC 9110 section " +
			"7.6.1), so the message arrives without them: a request loses its credentials or length, a response " +
			"its caching headers. Attackers use this to strip security headers through proxies.",
		Fix: "List only connection options (close, keep-alive, upgrade, te) and genuinely hop-by-hop extension " +
			"headers in Connection.",
	},
	onlyWith: factOtherConnectionToken,
	checkConnection: func(p *connPass) {
		if !p.v.msgs.otherTokens {
			return
		}
		reportMessages(p, func(m *msgRec) string {
			var named []string
			for _, tok := range m.ConnectionTokens() {
				if slices.Contains(endToEnd, tok) && !slices.Contains(named, tok) {
					named = append(named, quote(tok))
				}
			}
			if len(named) == 0 {
				return ""
			}
			return "Connection header lists end-to-end " + strings.Join(named, ", ") + ", which proxies will strip"
		})
	},
}
