package diagnose

import (
	"fmt"
	"slices"

	"github.com/connscope/connscope/httpflow"
	"github.com/connscope/connscope/internal/english"
	"github.com/connscope/connscope/reassembly"
)

// cutShort reports whether m, sent in direction d, stopped early because
// its connection was closed, and by what ("a FIN", "a RST"). A message that
// httpflow marked incomplete for a capture gap counts too when it was the
// last in its direction and the connection then closed: the close, not the
// gap, ended it. A response whose request was not parsed is never judged:
// its framing depends on the request's method (a HEAD response declares a
// length it does not send).
func cutShort(c *reassembly.Connection, txs []*txnRec, t *txnRec, m *msgRec, d reassembly.Direction) (string, bool) {
	if m == nil || m.Complete || (m == t.Response() && (t.Request() == nil || t.Request().Method() == "")) {
		return "", false
	}
	switch m.Incomplete {
	case httpflow.IncompleteFIN:
		return "a FIN", true
	case httpflow.IncompleteRST:
		return "a RST", true
	case httpflow.IncompleteGap:
		for _, later := range txs[slices.Index(txs, t)+1:] {
			if message(later, d) != nil {
				return "", false // parsing went on after the gap: not cut here
			}
		}
		switch {
		case c.Close == reassembly.CloseRST:
			return "a RST", true
		case c.Dir[d].FINFrame != 0:
			return "a FIN", true
		}
	}
	return "", false
}

// lostNote mentions bytes of direction d the capture did not see.
func lostNote(c *reassembly.Connection, d reassembly.Direction) string {
	if n := c.Dir[d].LostBytes; n > 0 {
		return fmt.Sprintf(" (and %s the capture missed)", byteCount(n))
	}
	return ""
}

// eachMessage calls fn for every request and response of the connection.
func eachMessage(txs []*txnRec, fn func(t *txnRec, m *msgRec, d reassembly.Direction)) {
	for _, t := range txs {
		if t.Request() != nil {
			fn(t, t.Request(), reassembly.ClientToServer)
		}
		if t.Response() != nil {
			fn(t, t.Response(), reassembly.ServerToClient)
		}
	}
}

func kindOf(d reassembly.Direction) string {
	if d == reassembly.ClientToServer {
		return "request"
	}
	return "response"
}

// messageName names a transaction's message in direction d for messages:
// `request "POST" "/x"` or `response to "GET" "/"`.
func messageName(t *txnRec, d reassembly.Direction) string {
	if d == reassembly.ClientToServer {
		return "request " + requestLine(t)
	}
	return "response to " + requestLine(t)
}

var ruleTruncatedBody = &Rule{
	ID: "CC1001", Slug: "truncated-body", Since: "0.1", Scope: ScopeConnection,
	Title:    "Body shorter than its Content-Length: cut by a FIN or RST",
	Severity: SeverityError,
	Doc: Doc{
		What: "A message declared a Content-Length, but its connection closed (FIN or RST) before that many body " +
			"bytes arrived: the body was truncated.",
		Detection: "A request or response framed by Content-Length that httpflow marks incomplete because of a FIN " +
			"or RST, or because of a capture gap when it was the last message in its direction and the " +
			"connection then closed (not the end of the capture). Bytes the capture missed are counted as if they " +
			"were body, so only a shortfall beyond them is reported. The evidence is the message's first and last " +
			"frame and the close.",
		Why: "The receiver got a partial object; a client that does not check the length (or a proxy that forwards " +
			"it) passes on corrupt data. The cause is a server or proxy that crashed, timed out, or closed with " +
			"unread data (a RST), or a client that gave up.",
		Fix: "Find why the sender closed early: server logs at that time, proxy timeouts (nginx " +
			"proxy_read_timeout/send_timeout), client timeouts. Clients should treat a short body as an error and " +
			"retry idempotent requests.",
	},
	onlyWith: factIncompleteMessage,
	checkConnection: func(p *connPass) {
		if !p.v.msgs.incomplete {
			return // every message completed: none was cut short
		}
		eachMessage(p.v.txs, func(t *txnRec, m *msgRec, d reassembly.Direction) {
			how, cut := cutShort(p.c, p.v.txs, t, m, d)
			// Bytes the capture missed may have been body: only what is
			// short even counting them is provably truncated.
			missing := m.DeclaredLength - m.BodyBytes - p.c.Dir[d].LostBytes
			if m.Framing != httpflow.FramingContentLength || !cut || m.DeclaredLength < 0 || missing <= 0 {
				return
			}
			closeFrame, closeTime := p.v.closeAfter(m.Start)
			p.report(Finding{
				txn:    t,
				Frames: []uint64{m.FirstFrame, m.LastFrame, closeFrame},
				Time:   closeTime,
				Cost:   -1,
				Message: fmt.Sprintf("%s cut %s short by %s: %d of %s arrived%s",
					messageName(t, d), byteCount(missing), how, m.BodyBytes, plural(int(m.DeclaredLength), "body byte", "body bytes"), lostNote(p.c, d)),
				Related: cutRelated(t, d, closeFrame, closeTime),
				Vantage: truncationVantage(p.v, d),
			})
		})
	},
}

// cutRelated points at the request of a transaction whose response was cut,
// and at the close.
func cutRelated(t *txnRec, d reassembly.Direction, closeFrame uint64, closeTime int64) []Related {
	var r []Related
	if d == reassembly.ServerToClient && t.Request() != nil {
		r = append(r, Related{Frame: t.Request().FirstFrame, Time: t.Request().Start, Message: "request whose response was cut"})
	}
	if closeFrame != 0 {
		r = append(r, Related{Frame: closeFrame, Time: closeTime, Message: "close that ended the message"})
	}
	return r
}

// truncationVantage notes when the capture point may not see what the
// receiver got.
func truncationVantage(v *connView, d reassembly.Direction) string {
	near := VantageClient
	if d == reassembly.ClientToServer {
		near = VantageServer
	}
	vantage := Vantage(v.c)
	if vantage == near {
		return ""
	}
	return fmt.Sprintf("the capture was taken %s, not at the receiving %s: bytes seen here may still have "+
		"been lost before reaching it, or bytes lost before this point resent", vantagePhrase(vantage), d.Reverse().Sender())
}

// vantagePhrase says where a capture was taken, for messages.
func vantagePhrase(v string) string {
	switch v {
	case VantageClient:
		return "near the client"
	case VantageServer:
		return "near the server"
	case VantageMiddle:
		return "between client and server"
	}
	return "at a point the handshake did not reveal"
}

var ruleUnterminatedChunked = &Rule{
	ID: "CC1002", Slug: "unterminated-chunked-body", Since: "0.1", Scope: ScopeConnection,
	Title:    "Chunked body ended by a close without its final chunk",
	Severity: SeverityError,
	Doc: Doc{
		What: "A chunked message's connection closed before the zero-size last chunk arrived: the body was " +
			"truncated, and the receiver cannot know how much is missing.",
		Detection: "A request or response framed as chunked that httpflow marks incomplete because of a FIN or " +
			"RST, or because of a capture gap when it was the last message in its direction and the connection " +
			"then closed.",
		Why: "The last chunk is the only way a chunked body says it is complete; without it the receiver has a " +
			"partial object. Typical causes are a crashed or timed-out backend behind a proxy that had already " +
			"started streaming.",
		Fix: "Find why the sender closed early (backend errors, proxy timeouts). Clients must treat a missing last " +
			"chunk as an error.",
	},
	onlyWith: factIncompleteMessage,
	checkConnection: func(p *connPass) {
		if !p.v.msgs.incomplete {
			return // every message completed: none was cut short
		}
		eachMessage(p.v.txs, func(t *txnRec, m *msgRec, d reassembly.Direction) {
			how, cut := cutShort(p.c, p.v.txs, t, m, d)
			if m.Framing != httpflow.FramingChunked || !cut {
				return
			}
			closeFrame, closeTime := p.v.closeAfter(m.Start)
			p.report(Finding{
				txn:    t,
				Frames: []uint64{m.FirstFrame, m.LastFrame, closeFrame},
				Time:   closeTime,
				Cost:   -1,
				Message: fmt.Sprintf("chunked %s ended by %s after %s, without its final zero-size chunk",
					messageName(t, d), how, plural(int(m.BodyBytes), "body byte", "body bytes")),
				Related: cutRelated(t, d, closeFrame, closeTime),
				Vantage: truncationVantage(p.v, d),
			})
		})
	},
}

// serverReset reports whether the server-to-client stream ended in a RST
// rather than a FIN: the connection was reset and the server sent no FIN
// before the reset.
func serverReset(c *reassembly.Connection) (uint64, int64, bool) {
	if c.Close != reassembly.CloseRST {
		return 0, 0, false
	}
	fin := c.Dir[reassembly.ServerToClient].FINFrame
	rstFrame, rstTime := uint64(0), int64(0)
	for d := range c.Dir {
		if f := c.Dir[d].RSTFrame; f != 0 && (rstFrame == 0 || f < rstFrame) {
			rstFrame, rstTime = f, c.Dir[d].RSTTime
		}
	}
	if rstFrame == 0 || fin != 0 && fin < rstFrame {
		return 0, 0, false
	}
	return rstFrame, rstTime, true
}

var ruleCloseDelimitedReset = &Rule{
	ID: "CC1003", Slug: "close-delimited-reset", Since: "0.1", Scope: ScopeConnection,
	Title:    "Close-delimited response ended by a RST: completeness cannot be verified",
	Severity: SeverityWarning,
	Doc: Doc{
		What: "A response without Content-Length or chunked framing, whose end is marked only by the server " +
			"closing, ended with a RST instead of a FIN.",
		Detection: "A close-delimited response on a connection that ended in a RST before the server sent any FIN.",
		Why: "A close-delimited body is complete only if the server closed gracefully; a RST may mean the server " +
			"crashed or aborted mid-body, and a RST also lets the receiving kernel discard data not yet read. " +
			"Neither the client nor connscope can tell whether the body arrived whole.",
		Fix: "Have the server send Content-Length or use chunked encoding (HTTP/1.1) so the body length is " +
			"checkable, and close with FIN (shutdown then close) rather than abort.",
	},
	onlyWith: factReset,
	checkConnection: func(p *connPass) {
		rstFrame, rstTime, ok := serverReset(p.c)
		if !ok {
			return
		}
		for _, t := range p.v.txs {
			m := t.Response()
			if m == nil || m.Framing != httpflow.FramingCloseDelimited {
				continue
			}
			p.report(Finding{
				txn:    t,
				Frames: []uint64{m.FirstFrame, m.LastFrame, rstFrame},
				Time:   rstTime,
				Cost:   -1,
				Message: fmt.Sprintf("close-delimited response to %s ended by a RST (frame %d) after %s: "+
					"whether the body is complete cannot be verified", requestLine(t), rstFrame, plural(int(m.BodyBytes), "body byte", "body bytes")),
				Related: cutRelated(t, reassembly.ServerToClient, rstFrame, rstTime),
			})
		}
	},
}

var ruleCloseDelimitedBody = &Rule{
	ID: "CC1010", Slug: "close-delimited-body", Since: "0.1", Scope: ScopeConnection,
	Title:    "Close-delimited response: its length cannot be checked",
	Severity: SeverityInfo,
	Doc: Doc{
		What: "A response had neither Content-Length nor chunked framing, so only the server's close marked its " +
			"end. It ended with a FIN, but its completeness still cannot be checked.",
		Detection: "A close-delimited response on a connection that did not end in a server RST (those are CC1003).",
		Why: "A receiver cannot tell a complete close-delimited body from one cut by a crash that still closed " +
			"gracefully, and the connection cannot be reused (see CH1001).",
		Fix: "Send Content-Length, or chunked encoding for HTTP/1.1 clients.",
	},
	onlyWith: factCloseDelimited,
	checkConnection: func(p *connPass) {
		if _, _, reset := serverReset(p.c); reset {
			return
		}
		for _, t := range p.v.txs {
			m := t.Response()
			if m == nil || m.Framing != httpflow.FramingCloseDelimited {
				continue
			}
			p.report(Finding{
				txn:    t,
				Frames: []uint64{m.FirstFrame, m.LastFrame},
				Time:   m.Start,
				Cost:   -1,
				Message: fmt.Sprintf("response to %s has no Content-Length and is not chunked: its %s "+
					"ended with the connection and %s completeness cannot be checked", requestLine(t),
					plural(int(m.BodyBytes), "body byte", "body bytes"), english.ItsTheir(int(m.BodyBytes))),
			})
		}
	},
}

// beyondLengthAnomaly is httpflow's anomaly key for bytes after a
// Content-Length body that do not start a new message.
const beyondLengthAnomaly = "body_beyond_content_length"

var ruleBodyBeyondLength = &Rule{
	ID: "CC1004", Slug: "body-beyond-content-length", Since: "0.1", Scope: ScopeConnection,
	Title:    "Bytes beyond Content-Length",
	Severity: SeverityError,
	Doc: Doc{
		What: "A sender sent more body bytes than its Content-Length declared.",
		Detection: "A message that httpflow flagged with the " + beyondLengthAnomaly + " anomaly: bytes after the " +
			"declared body that do not start a valid next message.",
		Why: "The receiver takes the extra bytes as the start of the next message: the next response is garbage, " +
			"or, through a shared proxy connection, another user's response (response splitting / request " +
			"smuggling). It also shows a server computing Content-Length wrongly (before compression, in " +
			"characters instead of bytes).",
		Fix: "Compute Content-Length from the bytes actually sent (after compression and encoding); let the " +
			"framework set it; use chunked encoding when the length is not known up front.",
	},
	onlyWith: factAnomaly,
	checkConnection: func(p *connPass) {
		if !p.v.msgs.anomalies {
			return
		}
		eachMessage(p.v.txs, func(t *txnRec, m *msgRec, d reassembly.Direction) {
			if !slices.Contains(m.Anomalies(), beyondLengthAnomaly) {
				return
			}
			p.report(Finding{
				txn:    t,
				Frames: []uint64{m.FirstFrame, m.LastFrame},
				Time:   m.End,
				Cost:   -1,
				Message: fmt.Sprintf("%s carried bytes beyond its Content-Length of %d",
					messageName(t, d), m.DeclaredLength),
			})
		})
	},
}
