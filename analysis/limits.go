package analysis

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/connscope/connscope/diagnose"
	"github.com/connscope/connscope/httpflow"
	"github.com/connscope/connscope/internal/english"
	"github.com/connscope/connscope/reassembly"
)

// limitCounts adds up, for one input, what the httpflow limits left out.
// The reassembly limits are counted by the Assembler's Stats.
type limitCounts struct {
	// txnsDropped counts transactions parsed but not kept because a
	// connection reached httpflow.Config.MaxTransactionsPerConn, on
	// connsDropping connections.
	txnsDropped   int64
	connsDropping int64
	// overBudget counts transactions not kept because the connections
	// open together had reached MaxOpenTransactions, on connsOverBudget
	// connections.
	overBudget, connsOverBudget int64
	// headersCut counts messages whose header block went over
	// MaxHeaderBytes or MaxHeaders (Message.HeadersTruncated).
	headersCut int64
	// connsUnlisted counts connections the report did not list because
	// of Options.MaxListedConnections, with their txnsOfUnlistedConns
	// transactions; txnsUnlisted counts transactions of listed
	// connections left out by Options.MaxListedTransactions.
	connsUnlisted, txnsOfUnlistedConns, txnsUnlisted int64
	// timeClamped counts TCP segments stamped before an earlier one, whose
	// time the analysis raised to the latest time seen; maxStepBack is the
	// largest such step, in nanoseconds.
	timeClamped, maxStepBack int64
}

// Defaults of Options.MaxListedConnections and MaxListedTransactions: a
// listed connection costs about 350 bytes, a transaction about 600, so the
// report stays under about 50 MB.
const (
	DefaultMaxListedConnections  = 50_000
	DefaultMaxListedTransactions = 50_000
	// DefaultMaxOpenTransactions is the default of
	// Options.MaxOpenTransactions: a kept transaction costs 1 to 3 KB
	// until its connection closes.
	DefaultMaxOpenTransactions = 20_000
)

// listedCounts counts what the report lists, across inputs.
type listedCounts struct{ conns, txns int }

// conn reports whether one more connection may be listed under max, and
// counts it when it may.
func (l *listedCounts) conn(max int) bool {
	if l.conns >= orDefault(max, DefaultMaxListedConnections) {
		return false
	}
	l.conns++
	return true
}

// full reports whether conn or txn would refuse any more connections or
// transactions.
func (l *listedCounts) full(maxConns, maxTxns int) bool {
	return l.conns >= orDefault(maxConns, DefaultMaxListedConnections) || l.txns >= orDefault(maxTxns, DefaultMaxListedTransactions)
}

// txn is conn for transactions.
func (l *listedCounts) txn(max int) bool {
	if l.txns >= orDefault(max, DefaultMaxListedTransactions) {
		return false
	}
	l.txns++
	return true
}

// addConn counts what one closed connection's parser left out.
func (l *limitCounts) addConn(p *httpflow.Conn) {
	if p == nil {
		return
	}
	over := p.TransactionsOverBudget()
	if n := p.TransactionsDropped() - over; n > 0 {
		l.txnsDropped += int64(n)
		l.connsDropping++
	}
	if over > 0 {
		l.overBudget += int64(over)
		l.connsOverBudget++
	}
}

// addTxn counts the messages of t whose header block went over the caps.
// Each transaction is counted once, when the handler numbers it.
func (l *limitCounts) addTxn(t *httpflow.Transaction) {
	if t.Request != nil && t.Request.HeadersTruncated {
		l.headersCut++
	}
	for _, m := range t.Interim {
		if m != nil && m.HeadersTruncated {
			l.headersCut++
		}
	}
	if t.Response != nil && t.Response.HeadersTruncated {
		l.headersCut++
	}
}

// orDefault is v, or def when v is unset (<= 0), as the packages' Config
// types read their fields.
func orDefault(v, def int) int {
	if v <= 0 {
		return def
	}
	return v
}

// limitWarnings says, for one input, every limit that was reached, so that
// a report cut short by a bound never passes for a complete one. The words
// in parentheses name the analyze flag that raises the limit.
func limitWarnings(opts Options, st reassembly.Stats, l limitCounts) []string {
	var out []string
	if st.Evicted > 0 {
		limit := orDefault(opts.Reassembly.MaxConnections, reassembly.DefaultMaxConnections)
		out = append(out, fmt.Sprintf("connection table full (%d %s, --max-conns): %d %s closed early, the idlest first; their later packets start new connections with inferred roles",
			limit, english.Noun(limit, "connection"), st.Evicted, english.Noun(int(st.Evicted), "connection")))
	}
	if n := st.SegmentsDropped - st.SegmentsDroppedTotal; n > 0 {
		out = append(out, fmt.Sprintf("segment records capped at %d per connection (--max-segments-per-conn): %d oldest %s released, so timelines and segment evidence of long connections are partial",
			orDefault(opts.Reassembly.MaxSegmentsPerConn, reassembly.DefaultMaxSegmentsPerConn), n, english.Noun(int(n), "record")))
	}
	if st.SegmentsDroppedTotal > 0 {
		out = append(out, fmt.Sprintf("segment records kept by open connections capped at %d (--max-segments): %d oldest %s released, so timelines and segment evidence of long connections are partial",
			orDefault(opts.Reassembly.MaxSegmentsTotal, reassembly.DefaultMaxSegmentsTotal), st.SegmentsDroppedTotal, english.Noun(int(st.SegmentsDroppedTotal), "record")))
	}
	if st.BufferOverflows > 0 {
		limit := orDefault(opts.Reassembly.MaxBufferedBytes, reassembly.DefaultMaxBufferedBytes)
		out = append(out, fmt.Sprintf("out-of-order buffer full (%d %s per direction): %d %s given up on and reported as gaps",
			limit, english.Noun(limit, "byte"), st.BufferOverflows, english.Noun(int(st.BufferOverflows), "hole")))
	}
	if l.headersCut > 0 {
		maxBytes := orDefault(opts.HTTP.MaxHeaderBytes, httpflow.DefaultMaxHeaderBytes)
		maxFields := orDefault(opts.HTTP.MaxHeaders, httpflow.DefaultMaxHeaders)
		out = append(out, fmt.Sprintf("header block over %d %s or %d %s cut on %d %s (--max-header-bytes): framing was still read, the fields beyond were not kept",
			maxBytes, english.Noun(maxBytes, "byte"), maxFields, english.Noun(maxFields, "field"), l.headersCut, english.Noun(int(l.headersCut), "message")))
	}
	if l.txnsDropped > 0 {
		out = append(out, fmt.Sprintf("transactions per connection capped at %d (--max-txns-per-conn): %d more %s on %d %s %s parsed but not listed",
			orDefault(opts.HTTP.MaxTransactionsPerConn, httpflow.DefaultMaxTransactionsPerConn), l.txnsDropped, english.Noun(int(l.txnsDropped), "transaction"),
			l.connsDropping, english.Noun(int(l.connsDropping), "connection"), english.WasWere(int(l.txnsDropped))))
	}
	if l.overBudget > 0 {
		out = append(out, fmt.Sprintf("transactions kept by open connections capped at %d (--max-open-txns): %d more %s on %d %s %s parsed but not listed",
			orDefault(opts.MaxOpenTransactions, DefaultMaxOpenTransactions), l.overBudget, english.Noun(int(l.overBudget), "transaction"),
			l.connsOverBudget, english.Noun(int(l.connsOverBudget), "connection"), english.WasWere(int(l.overBudget))))
	}
	if n := l.connsUnlisted; n > 0 {
		with := ""
		if t := l.txnsOfUnlistedConns; t > 0 {
			with = fmt.Sprintf(", with %s %d %s,", english.ItsTheir(int(n)), t, english.Noun(int(t), "transaction"))
		}
		limit := orDefault(opts.MaxListedConnections, DefaultMaxListedConnections)
		out = append(out, fmt.Sprintf("report lists at most %d %s (--max-listed-conns): %d more%s %s counted in the totals and diagnosed but not listed",
			limit, english.Noun(limit, "connection"), n, with, english.WasWere(int(n))))
	}
	if n := l.txnsUnlisted; n > 0 {
		limit := orDefault(opts.MaxListedTransactions, DefaultMaxListedTransactions)
		out = append(out, fmt.Sprintf("report lists at most %d %s (--max-listed-txns): %d more %s counted in the totals and diagnosed but not listed",
			limit, english.Noun(limit, "transaction"), n, english.WasWere(int(n))))
	}
	if n := l.timeClamped; n > 0 {
		// A step back of a millisecond or more (a second pcapng section
		// recorded earlier, a clock stepped back) flattens every interval
		// that spans it: say so.
		shortened := ""
		if l.maxStepBack >= int64(time.Millisecond) {
			shortened = " and the timings measured across them are shortened"
		}
		if n == 1 {
			out = append(out, fmt.Sprintf("1 TCP segment was stamped before an earlier frame (%v before it): the analysis used the latest earlier time for it, so time never runs backwards%s",
				time.Duration(l.maxStepBack).Round(time.Microsecond), strings.Replace(shortened, "them", "it", 1)))
		} else {
			out = append(out, fmt.Sprintf("%d TCP segments were stamped before an earlier frame (up to %v before it): the analysis used the latest earlier time for them, so time never runs backwards%s",
				n, time.Duration(l.maxStepBack).Round(time.Microsecond), shortened))
		}
	}
	if n := st.CaptureDuplicates; n == 1 {
		out = append(out, "1 frame was recorded twice by the capture (same IP ID and bytes): counted once, not as a retransmission")
	} else if n > 1 {
		out = append(out, fmt.Sprintf("%d frames were recorded twice by the capture (same IP ID and bytes): counted once, not as retransmissions", n))
	}
	return out
}

// findingCapWarnings says, by rule in ID order, how many findings the
// engine counted but did not keep (diagnose.MaxFindingsPerRuleInCapture).
func findingCapWarnings(leftOut map[string]int) []string {
	ids := make([]string, 0, len(leftOut))
	for id := range leftOut {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	var out []string
	for _, id := range ids {
		out = append(out, fmt.Sprintf("rule %s kept its first %d findings: %d more %s counted but not listed", id, diagnose.MaxFindingsPerRuleInCapture, leftOut[id], english.WasWere(int(leftOut[id]))))
	}
	return out
}
