package diagnose

import (
	"cmp"
	"slices"
)

// Finding is one diagnosis: what a rule saw, where, and what it cost.
type Finding struct {
	Rule     string // stable rule ID, e.g. "CH1001"
	Slug     string // the rule's slug, e.g. "missing-keep-alive"
	Severity Severity

	// Connection is the reassembly.Connection ID the finding is about, 0
	// when it is about several; Connections lists them for findings that
	// span connections (ascending).
	Connection  int
	Connections []int
	// Transaction is the transaction the finding is about, nil when none.
	Transaction *TxnRef
	// txn is the record a rule cites, on Connection: report turns it
	// into Transaction.
	txn *txnRec

	// Frames are the evidence frames, ascending and without duplicates.
	Frames []uint64
	// Time is the capture time the finding points at (ns since the epoch).
	Time int64
	// Cost is the estimated time lost in ns, -1 when it cannot be estimated.
	Cost int64
	// Message says what happened, with the numbers in it. Captured text in
	// it is quoted (strconv.Quote escaping), never raw.
	Message string
	// Related is secondary evidence, such as the request a RST cut off.
	Related []Related
	// Vantage is set when where the capture was taken limits the conclusion.
	Vantage string
}

// Related points at a piece of secondary evidence.
type Related struct {
	Frame   uint64
	Time    int64
	Message string
}

// transactionID returns the transaction's capture-wide ID, 0 when none.
func (f *Finding) transactionID() int {
	if f.Transaction == nil {
		return 0
	}
	return f.Transaction.ID
}

// sortFindings orders findings deterministically: by time, rule,
// connection, transaction, then evidence frames and message.
func sortFindings(fs []Finding) {
	slices.SortStableFunc(fs, func(a, b Finding) int {
		return cmp.Or(
			cmp.Compare(a.Time, b.Time),
			cmp.Compare(a.Rule, b.Rule),
			cmp.Compare(a.Connection, b.Connection),
			cmp.Compare(a.transactionID(), b.transactionID()),
			slices.Compare(a.Frames, b.Frames),
			cmp.Compare(a.Message, b.Message),
		)
	})
}

// normalizeFrames sorts frames and removes duplicates and zeros (a zero
// frame means "not seen" in the data model).
func normalizeFrames(frames []uint64) []uint64 {
	out := slices.DeleteFunc(slices.Clone(frames), func(f uint64) bool { return f == 0 })
	slices.Sort(out)
	return slices.Compact(out)
}
