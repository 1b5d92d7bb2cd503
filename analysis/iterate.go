package analysis

import "fmt"

// The listed connections and transactions of a Report are reached through
// its iterators, not its slices. A Report built by an Analyzer with
// Options.SpillListing keeps them encoded, in memory while they are few
// and in a temporary file after that, and leaves Connections and
// Transactions nil: the iterators read the records back one at a time,
// and Close releases the file. A Report built without it, or by hand
// (tests, a baseline read back from JSON), holds them in its slices, and
// the iterators walk those.
//
// Each record an iterator yields is fn's to keep: a spilled report decodes
// a new one for every call. Keeping them all brings back the memory the
// listing saved, so renderers keep what they need and let the rest go.

// EachConnection calls fn for every listed connection, in ID order (a
// Report built by hand: slice order), skipping nil entries. It stops at
// the first error fn returns, or at an error reading the listing back
// (the temporary file's disk filled up, say), and returns it.
func (r *Report) EachConnection(fn func(*ConnReport) error) error {
	if r.listing != nil {
		return r.listing.eachConn(fn)
	}
	for _, c := range r.Connections {
		if c == nil {
			continue
		}
		if err := fn(c); err != nil {
			return err
		}
	}
	return nil
}

// EachTransaction calls fn for every listed transaction, in final ID order
// (a Report built by hand: slice order), skipping nil entries, as
// EachConnection does. It returns ErrNotListed, calling fn for none, when
// the report was built with Options.OmitTransactions.
func (r *Report) EachTransaction(fn func(*TxnReport) error) error {
	if r.listing != nil {
		return r.listing.eachTxn(fn)
	}
	for _, t := range r.Transactions {
		if t == nil {
			continue
		}
		if err := fn(t); err != nil {
			return err
		}
	}
	return nil
}

// ConnectionCount is the number of connections EachConnection yields.
func (r *Report) ConnectionCount() int {
	if r.listing != nil {
		return len(r.listing.conns)
	}
	return len(r.nonNilConns())
}

// TransactionCount is the number of transactions EachTransaction yields
// (0 when they were omitted).
func (r *Report) TransactionCount() int {
	if r.listing != nil {
		if r.listing.omitTxns {
			return 0
		}
		return len(r.listing.txns)
	}
	return len(r.nonNilTxns())
}

// ConnectionAt returns the connection EachConnection yields i-th (from 0),
// for renderers that merge the listing with other records in an order of
// their own. Reading them in iteration order is the fast way.
func (r *Report) ConnectionAt(i int) (*ConnReport, error) {
	if i < 0 || i >= r.ConnectionCount() {
		return nil, fmt.Errorf("analysis: connection %d of %d: out of range", i, r.ConnectionCount())
	}
	if r.listing != nil {
		if err := r.listing.readable(); err != nil {
			return nil, err
		}
		return r.listing.conn(i)
	}
	return r.nonNilConns()[i], nil
}

// TransactionAt is ConnectionAt for transactions.
func (r *Report) TransactionAt(i int) (*TxnReport, error) {
	if r.listing != nil && r.listing.omitTxns {
		return nil, ErrNotListed
	}
	if i < 0 || i >= r.TransactionCount() {
		return nil, fmt.Errorf("analysis: transaction %d of %d: out of range", i, r.TransactionCount())
	}
	if r.listing != nil {
		if err := r.listing.readable(); err != nil {
			return nil, err
		}
		return r.listing.txn(i)
	}
	return r.nonNilTxns()[i], nil
}

// Close releases whatever backs the report's listing (the temporary file
// of a spilled report). The report's inputs and findings stay readable;
// its listing does not, and neither does that of any other Report of the
// same Analyzer, which shares it. Close is safe to call more than once,
// and on a Report built by hand.
func (r *Report) Close() error {
	if r.listing != nil {
		return r.listing.close()
	}
	return nil
}

// nonNilConns is r.Connections without nil entries (the slice itself when
// it has none, the usual case).
func (r *Report) nonNilConns() []*ConnReport { return withoutNil(r.Connections) }

func (r *Report) nonNilTxns() []*TxnReport { return withoutNil(r.Transactions) }

func withoutNil[T any](xs []*T) []*T {
	for i, x := range xs {
		if x == nil {
			out := append([]*T(nil), xs[:i]...)
			for _, y := range xs[i+1:] {
				if y != nil {
					out = append(out, y)
				}
			}
			return out
		}
	}
	return xs
}
