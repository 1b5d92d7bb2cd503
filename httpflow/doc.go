// Package httpflow turns the two byte streams of a TCP connection into
// HTTP/1.x transactions and ties every message to the segments that carried
// it: first and last frame, capture times, bytes, and why it did not end
// when it did not.
//
// # Where it sits
//
// The reassembly package delivers each direction of a connection in
// sequence order through reassembly.StreamConsumer: Data for new bytes
// (with the frame and capture time of the segment that carried them), Gap
// for bytes that were never captured, End when a direction finishes. A Conn
// is that consumer for one connection:
//
//	func (h *handler) Opened(c *reassembly.Connection) reassembly.StreamConsumer {
//		p := httpflow.NewConn(c, httpflow.Config{})
//		h.parsers[c] = p
//		return p
//	}
//
//	func (h *handler) Closed(c *reassembly.Connection) {
//		p := h.parsers[c]
//		app, txns := p.App(), p.Transactions()
//		...
//		p.Release() // the transactions stay valid; the parser is reused
//	}
//
// The parser is incremental: each direction is a small state machine fed
// byte ranges as they arrive, so a connection is never buffered whole. It
// keeps at most one partial line and one header block per direction
// (bounded by Config.MaxHeaderBytes) and one record per transaction
// (bounded by Config.MaxTransactionsPerConn). Bodies are counted, never
// stored. Only capture time is used, so results do not depend on when or
// how fast the capture is read.
//
// # What a connection carries
//
// The first bytes decide Conn.App. A client that opens with a request line
// ("GET /path HTTP/1.1") makes the connection http1. A TLS record (0x16
// 0x03) is tls, the HTTP/2 prior-knowledge preface ("PRI * HTTP/2.0") is
// http2, and anything else (binary, SSH, SMTP) is unknown; such connections
// are skipped without HTTP errors. A first line of text that is not a valid
// request line is kept tentatively as a malformed request: if the server
// answers with an HTTP status line (usually 400) the connection is http1,
// otherwise it is unknown. When the capture missed the handshake, the first
// bytes may be in the middle of a message, so both directions scan for the
// first start line instead (up to 256 KiB).
//
// # Message framing (RFC 9112 section 6)
//
// A message is a start line, header fields, a blank line, and perhaps a
// body. How long the body is decides where the next message starts, so it
// is the heart of the parser:
//
//   - No body by rule: responses to HEAD, 1xx, 204 and 304 responses
//     (whatever Content-Length they carry), and requests with neither
//     Content-Length nor Transfer-Encoding. Framing is "none".
//   - Transfer-Encoding whose last coding is chunked: chunks of
//     "hex-size[;extensions] CRLF data CRLF", ended by a zero-size chunk and
//     an optional trailer section. BodyBytes counts the data only.
//   - Content-Length: exactly that many bytes. Identical repeated values are
//     accepted ("repeated_content_length"), differing ones are
//     "conflicting_content_length" (the first is used), and with
//     Transfer-Encoding present the anomaly is "te_and_cl" and chunked wins:
//     both are request-smuggling vectors.
//   - A response with neither is close-delimited: its body ends when the
//     server closes. A FIN ends it normally; a RST leaves it unverifiable
//     (incomplete "rst").
//   - CONNECT answered by 2xx and 101 Switching Protocols turn the
//     connection into a tunnel from the next byte on (framing "tunnel"):
//     parsing stops in both directions.
//
// A message that ends early says why in Incomplete: "fin" or "rst" when the
// connection closed first, "gap" when bytes were not captured,
// "end_of_capture" when the capture (or connscope's tracking of the
// connection) stopped, "malformed" when it could not be parsed. Bytes after
// a Content-Length body that do not start the next message are
// "body_beyond_content_length" on that message. Every parsing problem is an
// anomaly key on the message, never a panic or an error.
//
// Header fields are kept as received (original case, raw bytes, possibly
// not UTF-8) up to the bounds; a message that hit them says so with
// HeadersTruncated, and the fields beyond are still interpreted for framing
// and connection management. Obsolete line folding joins the continuation
// to the previous value ("obs_fold"). A consumer that never shows header
// fields sets Config.DropHeaderFields: the fields are still read, and every
// other part of the message is the same, but Message.Headers() is nil,
// which on a keep-alive connection is most of what a message allocates.
// The parser then copies only the fields it interprets (Content-Length,
// Transfer-Encoding, Connection, Keep-Alive, Proxy-Connection, Expect,
// Upgrade: told apart by length and first letter before any compare) and
// counts the others against the bounds.
//
// What stays is one record per transaction (the Transaction and its two
// Messages, 576 bytes; what most messages leave empty is behind
// Message.Extra) until the connection closes. A consumer that
// copies what it keeps before Release sets Config.RecycleTransactions:
// Release then zeroes those records and hands them to later connections,
// so a capture of long keep-alive connections stops allocating one per
// transaction.
//
// A consumer need not wait for the close. A transaction is over, settled,
// when its final response has ended (or was lost) and its request is no
// longer being sent: nothing later can change it but an anomaly found in
// bytes after its response, and Config.Settled gets it then, in order. A
// live display uses that to show requests as they are answered. With
// Config.ForgetSettled the parser also lets a settled record go as soon as
// it no longer reads it (once the next transaction settles, and no stream
// points into it), so a keep-alive connection holds a few records however
// many transactions it carries: the consumer keeps what it needs. Keeping
// a record per transaction until the close is, on keep-alive captures, a
// large part of what parsing costs (bench/README.md, seventh round).
//
// # Pairing and pipelining
//
// HTTP/1.x has no request IDs: on a connection, responses come back in the
// order the requests were sent (RFC 9112 section 9.3.2). So a status line
// pairs with the oldest request still waiting for its final response. 1xx
// interim responses (100 Continue, 103 Early Hints) join that request's
// Interim list and it keeps waiting. Whether a response has a body depends
// on its request (HEAD, CONNECT), which is why pairing happens while
// parsing, not afterwards.
//
// A request is Pipelined when its first byte was sent before the previous
// transaction's response had ended. Pairing in order is what makes
// pipelining come out right: Wireshark pairs a response with the most
// recent request instead, which is wrong as soon as two requests are
// outstanding.
//
// A response whose request was not captured gets a transaction with a nil
// Request; a request never answered gets a nil Response.
//
// # Persistence (RFC 9112 section 9.3)
//
// Transaction.PersistentAfter says whether the connection may carry another
// transaction under the protocol's rules: a "close" connection option on
// either side ends it; otherwise HTTP/1.1 persists by default, while
// HTTP/1.0 persists only when the request asked for keep-alive and the
// response agreed. A close-delimited response, a tunnel, and a response
// whose header block was not captured whole end it too.
//
// # Gaps
//
// A gap (bytes lost before the capture point, or cut by the snap length) is
// not glued over. Inside a body of known length (Content-Length, or chunk
// data) the parser subtracts the gap and stays in step: the message is
// incomplete ("gap") but the next one is found exactly. Anywhere else the
// parser has lost its place, so it resynchronises: it scans line starts for
// the next start line ("HTTP/1.x NNN" for responses, "METHOD SP target SP
// HTTP/1.x" for requests) and carries on from there. The interrupted
// message is marked "gap" and later transactions pair as they should, so
// one lost segment costs one transaction, not every pair after it.
//
// A gap can also swallow whole messages, and then counting responses in
// order would shift every later pair. TCP acknowledgment numbers (from the
// reassembly.SegmentRecord of the segment that carried a message's first
// byte) say how much of the other direction each side had received:
//
//   - A response whose segment acknowledges none of the oldest waiting
//     request cannot answer it: its request was lost in a client-side gap,
//     and it gets a transaction of its own with a nil Request.
//   - When a request was sent after the client had received server bytes
//     that the capture lost, the older request's response was lost in that
//     gap: the older request keeps a nil Response (anomaly
//     "response_lost_in_gap") instead of taking the next response.
//   - Pipelined compares the client's acknowledgment with the end of the
//     previous response when both are known, so a response whose end was
//     lost does not make the next request look pipelined.
//
// # Timings
//
// Transaction timings are nanoseconds of capture time, -1 when they do not
// apply:
//
//   - Connect: first SYN to the ACK that completed the handshake, for the
//     first transaction of a connection whose handshake was captured. It
//     starts at the first SYN so that SYN retransmissions count.
//   - Send: the request's first to last byte.
//   - Wait: the request's last byte to the first response byte, interim or
//     final, that came after it. A 100 Continue sent before the request body
//     does not end the wait; a response that began before the request ended
//     (an early rejection) gives 0.
//   - Receive: the final response's first to last byte.
//   - Total: the request's first byte (plus Connect) to the final
//     response's last byte. With interim responses it can exceed
//     Send+Wait+Receive.
//   - GapBefore: idle time before the request's first byte: since the
//     previous response's last byte (the previous request's, if it had no
//     response), or since the handshake for the first transaction; 0 for a
//     pipelined request, which did not wait.
//
// Times are those of the frames that carried the first and last bytes, as
// seen at the capture point: a capture taken near the client and one taken
// near the server show the same transaction with different timings.
//
// # Cost
//
// A keep-alive connection repeats a few forms thousands of times, so the
// parser has fast paths for them (fastpath.go): a request or status line
// of the usual form, and header field lines that are a token, a colon, a
// value and CRLF, lying whole in one delivered chunk, are each parsed in
// one pass. A client usually sends the same header block with every
// request: a block equal, byte for byte, to the direction's last one that
// went through the fast paths whole is not parsed again, its outcome is
// replayed (blockMemo). With DropHeaderFields, the commonest exchange
// of all, a repeated request with no body and an answer whose field names
// are the last answer's with a plain Content-Length, is taken in one step
// per message (expressRequest, expressResponse): in the capture pipeline
// the parser's code is fetched again for every message, after reassembly
// and the reader ran, and fewer steps fetch less code. An answer's lines
// are looked for where the last answer's ended (a server's Date and
// Content-Type lines keep their length), one count of the block's line
// feeds confirming them all, and only the values the parser interprets
// are read. Anything else, and anything that would need an anomaly or
// hits a cap, goes through the general code: the fast paths change what
// parsing costs, never what it finds, and the tests compare the two on
// every input they have. A transaction's timings and persistence are
// computed as soon as it is over, while its record is still in cache,
// rather than for all of them when the connection closes. Figures are in
// bench/README.md.
package httpflow
