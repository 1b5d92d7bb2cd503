// Package diagnose turns reassembled TCP connections and HTTP/1.x
// transactions into findings about connection management: what went wrong
// or cost time, with the frames that prove it and the time it cost.
//
// # The domain
//
// HTTP/1.x rides on TCP, and most of the latency of a small transaction is
// TCP's, not HTTP's (chapter 4, "Connection Management", of HTTP: The
// Definitive Guide). The rules follow that chapter:
//
//   - Connection setup. Every new connection pays a round trip for the
//     handshake before the first request byte (CT1001), whole seconds when a
//     SYN is lost (CT1002), and starts with a small congestion window that
//     grows one round trip at a time (slow start: CT1004, CT1006), again
//     after an idle period on Linux (CT1005).
//   - ACK timing. Receivers delay pure ACKs (40 ms on Linux, about 200 ms on
//     Windows) hoping to piggyback them; a sender waiting for that ACK stalls
//     (CT1003). Nagle's algorithm holds a small segment while data is
//     unacknowledged, so a message written in two pieces waits a whole
//     delayed-ACK timer (write-write-read, CT1007).
//   - Loss and flow control: retransmission timeouts (CT1008), fast
//     retransmits (CT1009) and zero windows (CT1010), each tied to the
//     transaction it delayed.
//   - TIME_WAIT. The side that closes first keeps the 4-tuple for 2MSL (60 s
//     on Linux); clients that churn connections reuse tuples inside it
//     (CT1011) and run out of ephemeral ports (CT1012).
//   - Persistence. HTTP/1.1 connections persist unless a side says
//     Connection: close; HTTP/1.0 ones only when both agree on keep-alive,
//     and a body without a length can end only by closing. A client that
//     opens a new connection per request pays setup every time (CH1001).
//   - Hop-by-hop headers. Connection, Keep-Alive and Proxy-Connection
//     concern one hop only; misuse breaks behind proxies (CH1002-CH1005),
//     and a dumb proxy that forwards Connection: keep-alive hangs the next
//     request on the connection (CH1006).
//   - Serial, parallel and pipelined transactions: idle gaps between serial
//     transactions (CH1007), head-of-line blocking behind a slow pipelined
//     response (CH1008), too many parallel connections (CH1009), and
//     pipelining's rules: never pipeline non-idempotent requests (CH1010),
//     not before persistence is known (CH1011), and resend what was left
//     unanswered (CH1012).
//   - Closing. Anyone may close at any time. A body shorter than its
//     Content-Length, a chunked body without its last chunk, or a
//     close-delimited body ended by a RST was truncated or cannot be trusted
//     (CC1001-CC1004, CC1010). Closing a socket with unread data sends a RST
//     that can destroy a response the peer has not read yet (CC1005-CC1007).
//     A non-idempotent request must not be retried automatically (CC1008),
//     and the keep-alive idle timeout races with the client's next request
//     (CC1009).
//
// Rule IDs have a category prefix and are never reused: CT for TCP
// behaviour, CH for HTTP connection handling, CC for closing. Each rule
// documents what it means, how it is detected, why it matters and how to fix
// it (Rule.Doc), which `connscope explain ID` prints and RULES.md, generated
// from the registry and kept in step by a test, lists.
//
// # Where the capture was taken
//
// A capture sees each connection from one point. The handshake tells where:
// the capture point sees SYN→SYN/ACK as the round trip to the server and
// SYN/ACK→ACK as the round trip to the client (Vantage). Rules use these two
// legs to turn times seen at the capture point into what each end saw: a
// pure ACK that arrives 40 ms after the data it acknowledges is a delayed
// ACK only once the round trip to the receiver is subtracted. Findings say
// in Finding.Vantage when the capture point limits the conclusion.
//
// # Using the engine
//
//	e, err := diagnose.NewEngine(diagnose.Config{})    // all rules, defaults
//	// for each connection, when reassembly's Handler.Closed is called:
//	e.Connection(&diagnose.ConnInfo{Conn: c, App: app, Transactions: txns})
//	findings := e.Finish()                             // sorted, deterministic
//
// A consumer of a capture of long keep-alive connections gives each
// transaction to the engine as the parser settles it instead, so that
// neither keeps the parser's records until the close:
//
//	log := e.NewTxnLog()                 // when the connection opens
//	cfg.Settled = func(t *httpflow.Transaction) { log.Add(t) }
//	cfg.ForgetSettled = true
//	// at the close: what the parser still holds replaces or completes it
//	for _, t := range p.Transactions() { log.Add(t) }
//	e.ConnectionLog(c, p.App(), log)
//
// The rules read the engine's own record of each transaction (txnRec,
// 168 bytes: the fields they use, not the parser's 576-byte Transaction).
// Connection-scope rules run inside Connection, while the connection's
// segments are still there; the engine keeps only a small summary of each
// connection (64 bytes: no segments, no headers) for the
// capture-scope rules that run in Finish. Rules read reassembly's and
// httpflow's values only; they never re-parse packets, and they use capture
// time only, never the wall clock. Rules that would fire on most
// connections of a busy client (handshake overhead, churn, redundant
// keep-alive, TIME_WAIT reuse) report once per client address and server
// address and port.
//
// # Trusting the capture
//
// A capture can miss bytes (a snap length, a busy capture host dropping
// packets, a one-sided capture). connView.missed tells rules when the peer
// acknowledged bytes the capture never saw; rules that conclude from the
// absence of a response, or from message times (pipelining, idle gaps),
// stay quiet then. Capture duplicates (the same frame recorded twice) are
// never taken for retransmissions or new data.
//
// # Bounds
//
// Hostile input cannot make the engine grow without bound: each rule
// reports at most 100 findings per connection (the last says how many were
// left out), each finding cites at most 100 frames, lookups over a
// connection's segments and transactions are indexed once, capture-scope
// scans look at a bounded number of candidates, and SYNs that were never
// answered keep no summary.
//
// # Cost
//
// The rules run on every connection, and a capture of short connections
// has 100 000 of them; together they may add at most 15 % to the httpflow
// pass (bench/README.md measures it). So a connection-scope rule returns
// before any work of its own when the connView's facts rule it out: the or
// of every segment's kind (no retransmission, no zero window), the SYN and
// SYN/ACK counts, the span of segment times (an ACK delay cannot exceed it),
// and messageFacts (no incomplete message, no anomaly, no Proxy-Connection
// or Keep-Alive header, no Connection token besides close and keep-alive).
// A rule that needs one of a few such facts says so in Rule.onlyWith
// (a retransmission, a RST, two transactions, a Keep-Alive header, a
// pause in the server's data long enough to split a response into
// flights, a close-delimited response, a pipelined request left
// unanswered, segments spanning at least the shortest delayed-ACK
// threshold...), and the Engine does not even call it on a connection with
// none of them (on a capture of short, clean connections no
// connection-scope rule runs at all);
// TestOnlyWithChangesNoFinding holds the shortcut to losing no finding.
// The Engine reuses one connView and its lookup buffers from one
// connection to the next, and resolves thresholds once. A connSummary
// stays pointer-free and small (a test holds it to 64 bytes): the
// collector never scans the chunks that hold them, the capture-scope
// sweeps read less than half the memory they did at 144 bytes, and a
// one-pass process faults in fewer fresh pages (see connSummary). Times
// are kept as 32-bit offsets from the connection's opening and frames in
// 32 bits, with the full values in a side table for the rare connection
// where they do not fit (connSummary explains it); anything a few
// connections need goes in a side table it indexes. Capture-scope rules
// scan their groups linearly, sort times with sortTimes when they come
// nearly in order and radixSortTimes when not, and cite only what they
// list.
//
// # Adding a rule
//
//  1. Pick the next free ID in the right category (see registry.go; IDs of
//     removed rules are listed in retiredIDs and never reused) and a
//     kebab-case slug.
//  2. Declare the rule as a value next to related rules (rules_*.go): Title,
//     Severity, all four Doc sections, every threshold it reads with a
//     default, unit and doc, Since, Scope, and a check function. A
//     connection-scope check gets a *connPass (the connection, its
//     transactions and a connView with shared timing helpers); a
//     capture-scope check gets a *capturePass with per-client-and-server
//     groups of connection summaries. If it needs more of a connection than
//     connSummary keeps, add a pointer-free field there (or a side table
//     for what few connections have), not the segments.
//  3. Report with p.report(Finding{...}): evidence frames, the capture time,
//     the cost in ns (-1 when it cannot be estimated), a message with the
//     numbers in it, captured text only through quote().
//  4. Add it to registry in ID order, then a table case that must fire and a
//     look-alike that must not (rules_tcp_test.go, rules_http_test.go,
//     rules_close_test.go: connections built by hand with fixture_test.go),
//     then regenerate the golden files (go test ./diagnose -run TestGolden
//     -update) and review every changed line against the capture with
//     tshark. The golden files record each capture's SHA-256: after a
//     capture is regenerated only the set of rules that fire on it is
//     compared, until the file is reviewed again. Finally regenerate RULES.md
//     (go test ./diagnose -run TestRulesDoc -update-doc).
package diagnose
