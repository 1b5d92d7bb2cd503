package diagnose

import (
	"fmt"

	"github.com/connscope/connscope/internal/english"
	"github.com/connscope/connscope/reassembly"
)

var rulePipelinedNonIdempotent = &Rule{
	ID: "CH1010", Slug: "pipelined-non-idempotent", Since: "0.1", Scope: ScopeConnection,
	Title:    "Non-idempotent request pipelined",
	Severity: SeverityWarning,
	Doc: Doc{
		What: "A non-idempotent request (POST, PATCH, ...) was pipelined, or a request was pipelined behind a " +
			"non-idempotent one before its response arrived.",
		Detection: "A transaction marked pipelined by httpflow (its request started before the previous response " +
			"was complete) whose method is not idempotent, or whose preceding request's method is not idempotent. " +
			"Idempotent: GET, HEAD, OPTIONS, TRACE, PUT, DELETE and the idempotent WebDAV methods. Connections " +
			"where the capture missed bytes are skipped (a response whose end was not seen makes the next request " +
			"look pipelined).",
		Why: "If the connection drops, the client cannot tell which pipelined requests the server processed. " +
			"Idempotent ones can be resent; a POST cannot without risking doing it twice. RFC 9112 section 9.3.2: " +
			"a client should not pipeline after a non-idempotent request until its final response arrives.",
		Fix: "Send non-idempotent requests alone: wait for the previous response before sending them, and for " +
			"their response before sending more.",
	},
	onlyWith: factReused,
	checkConnection: func(p *connPass) {
		if !p.v.timingTrusted() {
			return // pipelining is judged from message times
		}
		for i, t := range p.v.txs {
			if i == 0 || !t.Pipelined || t.Request() == nil {
				continue
			}
			prev := p.v.txs[i-1]
			var why string
			switch {
			case !idempotent(t.Request().Method()):
				why = fmt.Sprintf("non-idempotent %s was pipelined behind %s", requestLine(t), requestLine(prev))
			case prev.Request() != nil && !idempotent(prev.Request().Method()):
				why = fmt.Sprintf("%s was pipelined behind non-idempotent %s before its response arrived", requestLine(t), requestLine(prev))
			default:
				continue
			}
			p.report(Finding{
				txn:     t,
				Frames:  []uint64{firstFrame(prev.Request()), t.Request().FirstFrame},
				Time:    t.Request().Start,
				Cost:    -1,
				Message: why + "; if the connection drops the client cannot safely resend it",
			})
		}
	},
}

var rulePipeliningBeforePersistence = &Rule{
	ID: "CH1011", Slug: "pipelining-before-persistence", Since: "0.1", Scope: ScopeConnection,
	Title:    "Pipelining on HTTP/1.0 before the connection was known to persist",
	Severity: SeverityWarning,
	Doc: Doc{
		What: "A client pipelined a request on a connection whose first exchange was HTTP/1.0, before any response " +
			"had said the connection would stay open.",
		Detection: "A pipelined transaction whose request started before the first response on the connection " +
			"that kept it persistent (httpflow's PersistentAfter), on a connection where an earlier request or " +
			"response is HTTP/1.0 (which persists only by negotiation). Connections where the capture missed " +
			"bytes are skipped.",
		Why: "An HTTP/1.0 connection persists only when the response agrees (Connection: keep-alive). If it does " +
			"not, the server closes after the first response and the pipelined requests are lost; RFC 9112 " +
			"section 9.3.2 asks clients not to pipeline before they know the connection is persistent.",
		Fix: "Wait for the first response on a connection (and its keep-alive answer) before pipelining; use " +
			"HTTP/1.1 to servers that support it.",
	},
	onlyWith: factReused,
	checkConnection: func(p *connPass) {
		if !p.v.timingTrusted() {
			return // pipelining is judged from message times
		}
		var persistentFrom int64 = -1 // start of the first response that confirmed persistence
		for _, t := range p.v.txs {
			if t.Response() != nil && t.PersistentAfter {
				persistentFrom = t.Response().Start
				break
			}
		}
		http10 := false
		for i, t := range p.v.txs {
			if i > 0 && http10 && t.Pipelined && t.Request() != nil && (persistentFrom < 0 || t.Request().Start < persistentFrom) {
				p.report(Finding{
					txn:    t,
					Frames: []uint64{firstFrame(p.v.txs[0].Request()), t.Request().FirstFrame},
					Time:   t.Request().Start,
					Cost:   -1,
					Message: fmt.Sprintf("%s was pipelined on an HTTP/1.0 connection before any response confirmed "+
						"it would persist", requestLine(t)),
				})
			}
			http10 = http10 || isHTTP10(t.Request()) || isHTTP10(t.Response())
		}
	},
}

func isHTTP10(m *msgRec) bool { return m != nil && m.Version() == "HTTP/1.0" }

var rulePipelinedUnanswered = &Rule{
	ID: "CH1012", Slug: "pipelined-unanswered-at-close", Since: "0.1", Scope: ScopeConnection,
	Title:    "Pipelined requests left unanswered when the connection closed",
	Severity: SeverityWarning,
	Doc: Doc{
		What: "The connection closed while pipelined requests still had no response; the client must send them " +
			"again on another connection.",
		Detection: "On a connection that closed (FIN or RST), transactions with no response where at least one " +
			"of them was pipelined. One finding per connection lists them and the close.",
		Why: "A server may close a persistent connection at any time, for example after its request limit " +
			"(Keep-Alive max, nginx keepalive_requests). Requests pipelined behind the last answered one are then " +
			"lost; a client must be ready to resend them (only idempotent ones automatically), or users see errors.",
		Fix: "Clients: retry unanswered idempotent requests on a new connection, and respect Keep-Alive: max. " +
			"Servers: finish answering requests already received before closing, and announce the close with " +
			"Connection: close on the last response.",
	},
	onlyWith: factPipelinedUnanswered,
	checkConnection: func(p *connPass) {
		lost := unanswered(p.v.txs)
		anyPipelined := false
		for _, t := range lost {
			anyPipelined = anyPipelined || t.Pipelined
		}
		if !anyPipelined {
			return
		}
		closeFrame, closeTime := firstClose(p.c)
		if closeFrame == 0 || p.v.missedIn(reassembly.ServerToClient) {
			return
		}
		frames := []uint64{closeFrame}
		idx := make([]int, len(lost))
		for i, t := range lost {
			frames = append(frames, t.Request().FirstFrame)
			idx[i] = int(t.Index) + 1
		}
		p.report(Finding{
			txn:    lost[0],
			Frames: frames,
			Time:   closeTime,
			Cost:   -1,
			Message: fmt.Sprintf("the connection closed at frame %d with %s unanswered (the connection's %s %s, "+
				"pipelined ones among them); the client must resend them on a new connection", closeFrame,
				plural(len(lost), "request", "requests"), listOrdinals(idx, 20), english.Noun(len(idx), "transaction")),
			Related: []Related{{Frame: lost[0].Request().FirstFrame, Time: lost[0].Request().Start, Message: "first unanswered request"}},
		})
	},
}
