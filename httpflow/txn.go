package httpflow

// finalize computes a transaction's timings and persistence from its
// messages and the connection's handshake, as the package documentation
// defines them. It is idempotent.
func (p *Conn) finalize(i int, b *txnBox) {
	t := &b.t
	req, resp := t.Request, t.Response
	var prev *txnBox // the transaction before, read twice
	if i > 0 {
		prev = p.boxes[i-1-p.base]
		// The client's acknowledgment says whether it had received all of
		// the previous response when it sent this request: that is what
		// pipelining means, and unlike capture order it survives capture
		// gaps and does not depend on where the capture was taken.
		if prev.respEnd >= 0 && b.cliAck >= 0 {
			t.Pipelined = seqBefore(b.cliAck, prev.respEnd)
		}
	}
	// The timings, -1 where they do not apply, each stored once.
	connect, send, wait, receive, total, gapBefore := int64(-1), int64(-1), int64(-1), int64(-1), int64(-1), int64(-1)

	var synTime, ackTime int64
	if i == 0 && p.conn != nil { // only the first transaction reads the handshake
		hs := &p.conn.Handshake
		if hs.SYNFrame != 0 && hs.ACKFrame != 0 && hs.ACKTime != 0 {
			synTime, ackTime = hs.FirstSYNTime, hs.ACKTime
			if synTime == 0 {
				synTime = hs.SYNTime
			}
		}
	}
	if i == 0 && req != nil && ackTime != 0 {
		connect = max(0, ackTime-synTime)
	}
	if req != nil {
		send = req.End - req.Start
		if resp != nil || len(t.Interim) > 0 {
			wait = 0
			found := false
			for _, m := range t.Interim {
				if m.Start >= req.End {
					wait, found = m.Start-req.End, true
					break
				}
			}
			if !found && resp != nil && resp.Start >= req.End {
				wait = resp.Start - req.End
			}
		}
	}
	if resp != nil {
		receive = resp.End - resp.Start
		start := resp.Start
		switch {
		case req != nil:
			start = req.Start
		case len(t.Interim) > 0:
			start = t.Interim[0].Start
		}
		total = resp.End - start + max(connect, 0)
	}
	if req != nil {
		switch {
		case i == 0:
			if ackTime != 0 {
				gapBefore = max(0, req.Start-ackTime)
			}
		case t.Pipelined:
			gapBefore = 0
		default:
			if prev := &prev.t; prev.Response != nil {
				gapBefore = max(0, req.Start-prev.Response.End)
			} else if prev.Request != nil {
				gapBefore = max(0, req.Start-prev.Request.End)
			}
		}
	}
	t.Connect, t.Send, t.Wait, t.Receive, t.Total, t.GapBefore = connect, send, wait, receive, total, gapBefore
	t.PersistentAfter = persistentAfter(t, b.respHeaders)
}

// persistentAfter applies RFC 9112 section 9.3: a "close" option on either
// side ends the connection after this response; otherwise HTTP/1.1
// persists by default, while HTTP/1.0 persists only when the request asked
// for keep-alive and the response agreed. A close-delimited response, a
// tunnel, or a missing or unparsable response also end it; so does a
// response whose header block was not captured whole (a close option may
// have been lost).
func persistentAfter(t *Transaction, headersSeen bool) bool {
	if !headersSeen {
		return false // the response's headers were not all captured
	}
	resp, req := t.Response, t.Request
	if resp == nil || t.Tunnel || resp.Framing == FramingCloseDelimited || resp.Version == "" {
		return false
	}
	if req != nil && req.Version == "" {
		req = nil // request line not understood: judge by the response
	}
	// Each side's Connection options read once; no token (the usual
	// response) and the one "keep-alive" (the usual request) without a
	// call.
	respClose, respKeepAlive := false, false
	if len(resp.ConnectionTokens) != 0 {
		respClose, respKeepAlive = connectionOptions(resp.ConnectionTokens)
	}
	if respClose {
		return false
	}
	reqOK := true
	if req != nil {
		reqClose, reqKeepAlive := false, false
		if toks := req.ConnectionTokens; len(toks) == 1 && toks[0] == "keep-alive" {
			reqKeepAlive = true
		} else if len(toks) != 0 {
			reqClose, reqKeepAlive = connectionOptions(toks)
		}
		if reqClose {
			return false
		}
		reqOK = req.Version == "HTTP/1.1" || reqKeepAlive || atLeast11(req.Version)
	}
	return reqOK && (resp.Version == "HTTP/1.1" || respKeepAlive || atLeast11(resp.Version))
}

// connectionOptions reports whether the Connection tokens hold "close"
// and "keep-alive" (compared case-insensitively, as HasConnectionToken
// does), in one pass.
func connectionOptions(tokens []string) (hasClose, hasKeepAlive bool) {
	for _, t := range tokens {
		switch len(t) {
		case len("close"):
			hasClose = hasClose || t == "close" || equalFold(t, "close")
		case len("keep-alive"):
			hasKeepAlive = hasKeepAlive || t == "keep-alive" || equalFold(t, "keep-alive")
		}
	}
	return hasClose, hasKeepAlive
}

// atLeast11 reports HTTP/1.1 or a later 1.x.
func atLeast11(v string) bool {
	if v == "HTTP/1.1" {
		return true
	}
	major, minor, ok := httpVersion([]byte(v))
	return ok && major == 1 && minor >= 1
}
