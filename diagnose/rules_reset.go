package diagnose

import (
	"fmt"

	"github.com/connscope/connscope/capture"
	"github.com/connscope/connscope/httpflow"
	"github.com/connscope/connscope/internal/english"
	"github.com/connscope/connscope/reassembly"
)

// resetView describes a connection's first RST: who sent it, whether that
// side had closed gracefully first, and what it left behind.
type resetView struct {
	frame uint64
	time  int64
	by    reassembly.Role
	dir   reassembly.Direction // direction of the RST
	// finFrame/finTime are the RST sender's FIN, when it sent one before
	// the RST (0 otherwise).
	finFrame uint64
	finTime  int64
	// unanswered requests that reached the server before the RST.
	unanswered []*txnRec
	// cut is the first message the RST ended mid-way, nil when none.
	cut    *txnRec
	cutDir reassembly.Direction
}

// viewReset returns the connection's first RST as the reset rules see it,
// computed once per connection; ok is false when there was no RST.
func viewReset(p *connPass) (*resetView, bool) {
	if !p.v.resetDone {
		p.v.reset, p.v.resetDone = buildResetView(p), true
	}
	return p.v.reset, p.v.reset != nil
}

func buildResetView(p *connPass) *resetView {
	c := p.c
	if c.RSTBy == reassembly.RoleNone {
		return nil
	}
	r := &resetView{by: c.RSTBy, dir: reassembly.ClientToServer}
	if c.RSTBy == reassembly.RoleServer {
		r.dir = reassembly.ServerToClient
	}
	st := &c.Dir[r.dir]
	r.frame, r.time = st.RSTFrame, st.RSTTime
	if r.frame == 0 {
		return nil
	}
	if st.FINFrame != 0 && st.FINFrame < r.frame {
		r.finFrame, r.finTime = st.FINFrame, st.FINTime
	}
	for _, t := range p.v.txs {
		if t.Response() == nil && t.Request() != nil && t.Request().FirstFrame != 0 && t.Request().FirstFrame < r.frame &&
			!p.v.missedIn(reassembly.ServerToClient) {
			r.unanswered = append(r.unanswered, t)
		}
		if r.cut == nil {
			for _, d := range [...]reassembly.Direction{reassembly.ClientToServer, reassembly.ServerToClient} {
				if m := message(t, d); m != nil && !m.Complete && m.Incomplete == httpflow.IncompleteRST {
					r.cut, r.cutDir = t, d
					break
				}
			}
		}
	}
	return r
}

// dataAfterFIN returns the first segment with payload the peer sent toward
// the RST sender after that side's FIN, or -1. With newOnly, retransmissions
// do not count: their bytes were first sent earlier (before the FIN, or in a
// segment this scan meets first), and resending bytes the peer never
// acknowledged is TCP's duty, not a sender ignoring the FIN.
func (r *resetView) dataAfterFIN(c *reassembly.Connection, newOnly bool) int {
	if r.finFrame == 0 {
		return -1
	}
	skip := reassembly.KindCaptureDuplicate
	if newOnly {
		skip |= reassembly.KindRetransmission | reassembly.KindFastRetransmission | reassembly.KindSpuriousRetrans
	}
	for i := range c.Segments {
		s := &c.Segments[i]
		if s.Frame > r.finFrame && s.Frame < r.frame && s.Dir != r.dir && s.Len > 0 && s.Kind&skip == 0 {
			return i
		}
	}
	return -1
}

var ruleResetWithUnreadData = &Rule{
	ID: "CC1005", Slug: "reset-with-unread-data", Since: "0.1", Scope: ScopeConnection,
	Title:    "A side closed with unread data and reset the connection",
	Severity: SeverityWarning,
	Doc: Doc{
		What: "One side ended the connection with a RST instead of a FIN while data it had received was still " +
			"unread: the kernel's answer to close() on a socket with unread data.",
		Detection: "The first RST of the connection, sent without a FIN before it by that side, when the RST " +
			"sender is the server and requests had reached it that it never answered (a pipelined request), a " +
			"request was still arriving, or a response began before its request had fully arrived (an upload " +
			"answered early, its body unread); when the client reset while a response was still arriving; when " +
			"payload was in flight toward the RST sender (acknowledged neither before the RST nor by the RST's own " +
			"ACK: a RST that acknowledges every byte sent to it says the data arrived, not that it went unread); " +
			"or when the RST sender's last advertised " +
			"receive window was at least one MSS below the largest it had advertised (received bytes sat unread " +
			"in its buffer). The finding tells apart a RST that cut a " +
			"message short (named, with the truncation rule reporting the bytes) from one after every response " +
			"was complete.",
		Why: "A RST makes the peer's kernel discard data it has not yet delivered to its application, so even a " +
			"response that was fully sent can be lost on the client as 'connection reset by peer'. RFC 9112 " +
			"section 9.6 describes this and asks servers to close in stages (shutdown the write side, keep " +
			"reading, then close) — the 'lingering close'.",
		Fix: "Servers: read (or discard) the rest of a request body before closing, or shut down writing and " +
			"drain for a while before close (Apache lingering close, nginx lingering_close on). Clients: read " +
			"responses to the end before closing; do not set SO_LINGER to 0.",
	},
	onlyWith:        factReset,
	checkConnection: checkResetWithUnreadData,
}

func checkResetWithUnreadData(p *connPass) {
	r, ok := viewReset(p)
	if !ok || r.finFrame != 0 {
		return
	}
	var evidence string
	frames := []uint64{r.frame}
	var related []Related
	early := earlyAnswered(p.v.txs)
	switch {
	case r.by == reassembly.RoleServer && len(r.unanswered) > 0:
		t := r.unanswered[0]
		evidence = fmt.Sprintf("the server had received %s it never answered (first: %s)",
			plural(len(r.unanswered), "request", "requests"), requestLine(t))
		for _, u := range r.unanswered {
			frames = append(frames, u.Request().FirstFrame)
		}
		related = append(related, Related{Frame: t.Request().FirstFrame, Time: t.Request().Start, Message: "unanswered request"})
	case r.by == reassembly.RoleServer && r.cut != nil && r.cutDir == reassembly.ClientToServer:
		evidence = fmt.Sprintf("request %s was still arriving", requestLine(r.cut))
	case r.by == reassembly.RoleServer && early != nil:
		evidence = fmt.Sprintf("the server answered %s before its request had fully arrived (the last request "+
			"bytes, frame %d, came after the response began, frame %d), so it likely never read them",
			requestLine(early), early.Request().LastFrame, early.Response().FirstFrame)
		frames = append(frames, early.Request().LastFrame, early.Response().FirstFrame)
		related = append(related, Related{Frame: early.Request().LastFrame, Time: early.Request().End, Message: "request bytes that arrived after the response began"})
	case r.by == reassembly.RoleClient && r.cut != nil && r.cutDir == reassembly.ServerToClient:
		evidence = "the client stopped reading the response"
	case p.c.RSTWithUnreadData:
		evidence = fmt.Sprintf("the %s had data in flight toward it that it never took in", r.by)
	default:
		peak, last, lastFrame, ok := shrunkWindow(p.v, r)
		if !ok {
			return
		}
		unread := peak - last
		evidence = fmt.Sprintf("its receive window had shrunk from %d to %s (frame %d) and never reopened: "+
			"about %s it had received %s still unread", peak, byteCount(last), lastFrame, byteCount(unread), english.WasWere(int(unread)))
		frames = append(frames, lastFrame)
	}
	var tx *txnRec
	var outcome string
	unfinished := firstIncompleteResponse(p.v.txs)
	switch {
	case r.cut != nil:
		tx = r.cut
		m := message(r.cut, r.cutDir)
		outcome = fmt.Sprintf("cutting the %s short after %s", messageName(r.cut, r.cutDir), plural(int(m.BodyBytes), "body byte", "body bytes"))
		frames = append(frames, m.FirstFrame)
		related = append(related, Related{Frame: m.FirstFrame, Time: m.Start, Message: kindOf(r.cutDir) + " cut short"})
	case !anyResponse(p.v.txs):
		outcome = "before any response was sent"
		if len(r.unanswered) > 0 {
			tx = r.unanswered[0]
		}
	case unfinished != nil:
		tx = unfinished
		outcome = fmt.Sprintf("while the response to %s was unfinished", requestLine(unfinished))
	default:
		outcome = "after every response it got had arrived complete; the peer may still lose data it had not read"
		if r.by == reassembly.RoleServer {
			outcome = "after every response it sent was complete; the client may still lose a response it had not read"
		}
		if len(r.unanswered) > 0 {
			tx = r.unanswered[0]
		}
	}
	if tx == nil {
		tx = p.v.transactionAt(r.dir.Reverse(), r.frame) // the message the unread data belonged to
	}
	p.report(Finding{
		txn:     tx,
		Frames:  frames,
		Time:    r.time,
		Cost:    -1,
		Message: fmt.Sprintf("the %s reset the connection (frame %d) instead of closing it: %s, %s", r.by, r.frame, evidence, outcome),
		Related: related,
	})
}

// shrunkWindow reports whether the RST sender's receive window, as it last
// advertised it before the RST, was at least one MSS below the largest it
// had advertised: received bytes sat in its buffer unread when it closed.
// (A window only shrinks as data arrives that the application has not
// read; small unread requests do not move it and need other evidence.)
func shrunkWindow(v *connView, r *resetView) (peak, last uint32, lastFrame uint64, ok bool) {
	segs := v.c.Segments
	for i := range segs {
		s := &segs[i]
		if s.Frame >= r.frame {
			break
		}
		f := flagsOf(s)
		if s.Dir != r.dir || f.Has(capture.FlagSYN) || f&finRST != 0 || s.Kind&reassembly.KindCaptureDuplicate != 0 {
			continue
		}
		peak = max(peak, s.Window)
		last, lastFrame = s.Window, s.Frame
	}
	toward := r.dir.Reverse() // data toward the RST sender
	return peak, last, lastFrame, lastFrame != 0 && v.mssOf(toward) > 0 && peak-last >= v.mssOf(toward)
}

// earlyAnswered returns the first transaction whose response began before
// its request had fully arrived (a server answering an upload early, for
// example with 413 or 401), or nil.
func earlyAnswered(txs []*txnRec) *txnRec {
	for _, t := range txs {
		if t.Request() != nil && t.Response() != nil && t.Request().LastFrame > t.Response().FirstFrame && t.Response().FirstFrame != 0 {
			return t
		}
	}
	return nil
}

// firstIncompleteResponse returns the first transaction whose response
// started but did not complete, or nil.
func firstIncompleteResponse(txs []*txnRec) *txnRec {
	for _, t := range txs {
		if t.Response() != nil && !t.Response().Complete {
			return t
		}
	}
	return nil
}

func anyResponse(txs []*txnRec) bool {
	for _, t := range txs {
		if t.Response() != nil {
			return true
		}
	}
	return false
}

var ruleResetAfterResponse = &Rule{
	ID: "CC1006", Slug: "reset-after-complete-response", Since: "0.1", Scope: ScopeConnection,
	Title:    "Connection reset after every response was complete",
	Severity: SeverityInfo,
	Doc: Doc{
		What: "A connection ended with a RST, but every request had its complete response before it and no " +
			"unread data was seen: an abortive close that lost nothing visible.",
		Detection: "The connection's first RST, when no message was cut by it, no request was left unanswered, " +
			"no payload was in flight toward the RST sender, its receive window showed no unread data, and no " +
			"data reached that side after its FIN (those cases are CC1001-CC1003, CC1005 and CC1007).",
		Why: "Harmless to these transactions, but it shows an application closing abortively (SO_LINGER 0, or " +
			"close with a few unread bytes such as a trailing CRLF); the same code will truncate responses when " +
			"the timing is less lucky. Load balancers also reset idle connections this way.",
		Fix: "Close gracefully: shutdown(SHUT_WR), read to EOF, then close; avoid SO_LINGER 0 unless resets are " +
			"intended.",
	},
	onlyWith: factReset,
	checkConnection: func(p *connPass) {
		r, ok := viewReset(p)
		if !ok || r.cut != nil || len(r.unanswered) > 0 || p.c.RSTWithUnreadData || r.dataAfterFIN(p.c, false) >= 0 || len(p.v.txs) == 0 {
			return
		}
		if _, _, _, shrunk := shrunkWindow(p.v, r); shrunk {
			return // unread data: CC1005's
		}
		if firstIncompleteResponse(p.v.txs) != nil || len(unanswered(p.v.txs)) > 0 {
			return
		}
		p.report(Finding{
			Frames: []uint64{r.frame},
			Time:   r.time,
			Cost:   -1,
			Message: fmt.Sprintf("the %s reset the connection (frame %d) after every request had its complete "+
				"response (%s): an abortive close that cost nothing this time", r.by, r.frame,
				plural(len(p.v.txs), "transaction", "transactions")),
		})
	},
}

var ruleDataAfterClose = &Rule{
	ID: "CC1007", Slug: "data-after-close", Since: "0.1", Scope: ScopeConnection,
	Title:    "Data sent to a side that had already closed drew a RST",
	Severity: SeverityWarning,
	Doc: Doc{
		What: "One side closed the connection (FIN), and the other kept sending data well after it could have " +
			"seen the FIN; the closed side's kernel answered with a RST.",
		Detection: "The first RST comes from a side that sent a FIN earlier, and between the two the peer sent " +
			"new payload (not a retransmission) later than the FIN plus the round trip to the peer plus slack " +
			"(sooner than that the two crossed: see CC1009).",
		Why: "After close() a socket cannot receive; data arriving for it is answered by a RST, which also makes " +
			"the sender's kernel discard anything it had not yet read. The sender ignored the FIN: a client that " +
			"keeps writing a request body after the server answered and closed (for example a 413 or 401 on an " +
			"upload), or one that reuses a connection the server had closed.",
		Fix: "Clients: watch for the peer's close (EOF on read) before reusing a connection and stop sending a " +
			"body once a final response arrived. Servers answering early should drain the body or shut down " +
			"writing and linger before closing.",
	},
	Thresholds: []Threshold{
		{Name: "slack", Default: 5, Unit: "ms", Doc: "added to the round trip before data counts as sent after the FIN was seen"},
	},
	onlyWith: factReset,
	checkConnection: func(p *connPass) {
		r, ok := viewReset(p)
		if !ok {
			return
		}
		i := r.dataAfterFIN(p.c, true)
		if i < 0 {
			return
		}
		s := &p.c.Segments[i]
		// Round trip from the capture point to the data's sender.
		if s.Time <= r.finTime+p.v.leg[r.dir]+p.dur("slack") {
			return
		}
		p.report(Finding{
			txn:    p.v.transactionAt(s.Dir, s.Frame),
			Frames: []uint64{r.finFrame, s.Frame, r.frame},
			Time:   s.Time,
			Cost:   -1,
			Message: fmt.Sprintf("the %s closed (FIN, frame %d) but the %s sent %s %s later (frame %d), "+
				"drawing a RST (frame %d)", r.by, r.finFrame, s.Dir.Sender(), byteCount(s.Len), ms(s.Time-r.finTime), s.Frame, r.frame),
			Related: []Related{{Frame: r.finFrame, Time: r.finTime, Message: "FIN of the side that closed"}},
			Vantage: p.v.vantageNote(),
		})
	},
}
