// Package report renders an analysis.Report for people, for CI and for
// other tools. Every renderer reads the same report; none re-analyses
// anything, and none reads the wall clock, so the same capture always
// gives the same bytes.
//
// # The formats
//
// WriteNDJSON writes newline-delimited JSON for log pipelines: one object
// per line, each a connection, transaction or finding with exactly the
// fields of the JSON report (docs/report-schema.md) plus "type"
// ("connection", "transaction", "finding"). Lines are in capture-time
// order: a connection at its first frame, a transaction at its request's
// first byte, a finding at its time; at equal times connections come
// first, then transactions, then findings, each in the report's own order.
// NDJSONStream writes the same lines one at a time for live capture, where
// a connection is only known when it closes; each line is one Write call.
//
// WriteHAR writes HAR 1.2, the format browser developer tools import and
// export: one entry per transaction with its headers (kept when the
// analysis ran with Options.KeepHeaders), sizes from the wire, and
// timings split as browsers split them: connect (the TCP handshake, on
// the first transaction of a connection whose handshake was captured,
// else -1), send (first to last request byte), wait (last request byte to
// first response byte, the "time to first byte") and receive (first to
// last response byte). blocked, dns and ssl are -1: a capture cannot see
// them. time is the sum of the timings that apply, and startedDateTime is
// the request start less the handshake. "connection" is our connection ID
// and serverIPAddress the server's address. The URL is http:// + the Host
// header (the server address when it is missing or not a host) + the
// target, percent-encoded so that it parses. Each input is a page (HAR
// viewers group entries by page). Bodies are never included. A
// transaction without a response gets status 0 and sizes -1, as browsers
// write an aborted request.
//
// WriteJUnit writes JUnit XML for CI dashboards, streamed, with a size
// that grows with the rules and the findings, never with the connections:
// a test suite per rule (every rule in the registry, so passing rules show
// as passing), one failing test case per finding at or above the
// threshold, named so that it is stable from run to run (rule, the
// connection's client -> server, the transaction), with the finding's
// message, evidence frames, time and cost; and one passing case for a rule
// with nothing at or above the threshold. WriteJUnitWith takes the rules
// that actually ran and a severity below which findings are reported in
// system-out but do not fail.
//
// WriteTimeline draws one connection in a terminal: a line per TCP
// segment (time since the connection's first frame, frame number,
// direction, flags, relative seq/len/ack, window and its classification in
// Wireshark's vocabulary), the start and end of every request and response
// between the segments that carried them, and every finding marked at its
// evidence frames. A Styler adds colour; the package itself never imports
// a colour library.
//
// WriteHTML writes one self-contained page (inline CSS and script, no
// fetches, no external fonts; a Content-Security-Policy forbids any): the
// summary, the findings grouped by rule with their evidence, an overview
// of every connection on the capture's time axis (lifetime, transaction
// phases, findings), tables of connections and transactions, and per
// connection a waterfall in the style of
// browser developer tools (connect, send, wait and receive bars on a time
// axis) with the connection's TCP segments as ticks on the same axis
// (retransmissions, segments not captured, zero windows and resets
// coloured) and findings marked at their frames, plus a time-sequence
// (Stevens) graph: relative sequence number against time, one stroke per
// data segment, the peer's ACK line and its advertised window above it.
// The static parts work without script; the script draws the graphs from
// JSON embedded in the page and records any error in the page
// (data-js-error) so a headless browser test can see it.
//
// # Captured text is hostile
//
// Targets, header values, reason phrases and even file names come from
// whoever sent the packets. Every renderer treats them as hostile:
//
//   - Terminal, JUnit and HTML output first pass them through
//     textsafe.Terminal, which turns control characters, escape sequences
//     and invalid UTF-8 into visible escapes (\x1b, \x00), so nothing can
//     move a cursor, and no character that XML 1.0 forbids reaches a
//     document.
//   - HTML then escapes them for their context with html/template; the
//     JSON for the script has <, > and & as \u escapes, so it cannot close
//     its script element, and the script only ever assigns textContent.
//     Links are built from numbers, never from captured text.
//   - JUnit escapes the five markup characters (and, as a second line of
//     defence, replaces anything XML forbids with U+FFFD).
//   - JSON formats (NDJSON, HAR) keep the text as captured: encoding/json
//     escapes control characters and turns invalid UTF-8 into U+FFFD, as
//     the JSON report does.
//
// # Testing
//
// Golden files in testdata/golden-report hold every text format for a
// hand-made report (one connection with hostile text everywhere) and for
// two real captures (frozen copies of testdata/captures files in
// testdata/golden-report/captures, since those are regenerated with new
// ports and times); go test ./report -update rewrites them after a
// deliberate change. The HTML is checked by a small
// tokenizer (only the page's own tags and scripts, no event handlers, no
// script URLs) and, when Chromium is installed, loaded headless.
package report
