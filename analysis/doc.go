// Package analysis runs connscope's single streaming pass over a capture:
//
//	capture (read frames, decode TCP/IP)
//	  → reassembly (TCP connections, segment records, in-order bytes)
//	    → httpflow (HTTP/1.x messages and transactions per connection)
//	      → diagnose (rules with evidence and cost)
//	        → Report (what every output format renders)
//
// Each connection is handed on as soon as it closes: its parser's
// transactions are summarised, per-connection rules run while its segment
// records are still in memory, and then everything but a small summary is
// released. Memory therefore grows with the connections open at once, not
// with the size of the capture; the summaries (one per connection and per
// transaction) are the report itself.
//
// Only capture time is used, never the wall clock, so the same input gives
// the same Report, and the same JSON byte for byte.
package analysis
