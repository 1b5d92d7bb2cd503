// Package analysis runs connscope's single streaming pass over a capture:
//
//	capture (read frames, decode TCP/IP)
//	  → reassembly (TCP connections, segment records, in-order bytes)
//	    → httpflow (HTTP/1.x messages and transactions per connection)
//	      → diagnose (rules with evidence and cost)
//	        → Report (what every output format renders)
//
// Each transaction is taken as soon as it is over: the parser settles it
// (httpflow.Config.Settled), diagnose keeps a small record of it for its
// rules (diagnose.TxnLog) and the report its listing entry, and the parser
// lets its own record go (ForgetSettled), so that a keep-alive connection
// of thousands of transactions keeps about 170 bytes of each instead of the
// parser's 576 until it closes. Each connection is handed on as soon as it
// closes: per-connection rules run while its segment records are still in
// memory, and then everything but a small summary is released. Memory
// therefore grows with the connections open at once, not with the size of
// the capture. The summaries (one per listed connection
// and transaction) are the report's listing: held in the Report's slices
// by default, or, with Options.SpillListing, encoded (codec.go) into a
// temporary file and read back one at a time by Report.EachConnection and
// EachTransaction (listing.go), so that the report costs a small index
// entry per record instead of its full summary.
//
// Only capture time is used, never the wall clock, so the same input gives
// the same Report, and the same JSON byte for byte.
package analysis
