// Package hostile builds adversarial captures and runs them through the
// whole connscope pipeline (capture → reassembly → httpflow → diagnose →
// report), to prove that hostile input cannot crash connscope, hang it, run
// it out of memory, or reach the user's terminal or browser.
//
// # Why
//
// Captures come from production incidents: truncated, corrupt, full of
// attack traffic. A packet analyser is an attack surface (Wireshark's
// dissectors have a long history of crashes found by fuzzing). Every
// structure that grows with the input must be bounded by a limit, and every
// limit that is hit must be said in the report: a silent cap makes a report
// that lies.
//
// # The captures
//
// Each Scenario writes one classic pcap, streamed to an io.Writer so a
// million-packet capture never sits in memory. Its size is a parameter N:
// the tests run small N (a few seconds in all), scripts/hostile-bench.sh
// runs the full sizes named in issue 7 through the built binary and prints
// time and peak RSS for N and N/2, so linear growth can be read off.
//
//   - syn-flood: N SYNs to distinct ports, never answered (connection table).
//   - open-conns: N connections with a handshake and one request, never
//     closed (table and per-connection parser state).
//   - huge-header: one request whose header line is N bytes (header cap).
//   - huge-chunk: a chunk size of 0xFFFFFFFFFFFF (length arithmetic).
//   - pipelined: N requests pipelined on one connection, then N responses
//     (transactions per connection).
//   - keepalive-hoard: N transactions over 1000 keep-alive connections
//     that stay open (transactions kept until their connection closes).
//   - tuple-reuse: one 4-tuple opened and closed N times, FIN and RST mixed
//     (reuse detection and its memory).
//   - time-backwards, capture-dups, ip-fragments, overlap-retrans: the
//     oddities of real captures at volume.
//   - nested-tunnels: N keep-alive transactions whose every frame is in 1
//     to 5 tunnels of six kinds (VXLAN to port 4789, VXLAN to Linux's port
//     8472, VXLAN-GPE carrying IPv4, IPv6, an Ethernet frame or MPLS,
//     GENEVE, GRE with key and sequence carrying IP, Ethernet, MPLS or
//     ERSPAN, IP in IP and 6in4), kinds rotating by level and frame so
//     each meets every level of every depth, the innermost or outermost
//     packet (or both) fragmented on some frames (tunnel following, its
//     depth bound, reassembly at every level). The connections in 5
//     tunnels, one past capture's bound, must be skipped and counted
//     (udp or other_ip_proto, by the fifth tunnel's kind), never
//     followed. Its tshark check reads UDP port 8472 as VXLAN
//     (-d udp.port==8472,vxlan), which tshark 4.0 does not by default.
//
// # The limits
//
// Limits live where the state is: reassembly.Config (MaxConnections,
// MaxSegmentsPerConn, MaxBufferedBytes, IdleTimeout), httpflow.Config
// (MaxHeaderBytes, MaxHeaders, MaxTransactionsPerConn), analysis.Options
// (MaxListedConnections, MaxListedTransactions: what the report lists) and
// diagnose.MaxFindingsPerRuleInCapture. The CLI exposes them as
// --max-conns, --max-segments-per-conn, --max-header-bytes,
// --max-txns-per-conn, --max-listed-conns and --max-listed-txns, with
// defaults chosen so one run stays under DefaultRSSCapMB, and sets a soft
// memory limit for the Go runtime. analysis turns every limit that was hit
// into an input warning ("connection table full (8192 connections,
// --max-conns): 91808 connections closed early ..."); the tests here read
// those warnings, with limits set low by flag so each one is reached at
// the small sizes.
//
// Time going backwards is not a limit but is handled the same way: the
// analysis never lets time run backwards (a frame stamped before its
// predecessor takes the latest time seen) and says how many frames it
// moved.
//
// # Safe output
//
// Captured text (request targets, header values, reason phrases) is
// attacker-controlled. TestSafeOutput runs a capture full of terminal escape
// sequences, NUL bytes, invalid UTF-8 and HTML through every output format
// and checks each format's own guarantee.
package hostile
