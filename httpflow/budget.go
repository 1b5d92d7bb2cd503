package httpflow

// Budget bounds the transactions kept by all the Conns that share it (set
// as Config.Budget), on top of each connection's MaxTransactionsPerConn:
// thousands of open keep-alive connections, each under its own bound, could
// otherwise keep millions of transactions until they close. A Conn takes
// one unit per transaction it keeps and gives its units back on Release.
// Transactions refused by the budget are still parsed (framing and pairing
// stay right) and counted by Conn.TransactionsOverBudget.
//
// A Budget is not safe for concurrent use; the Conns sharing it are fed by
// one goroutine, as the Assembler requires.
type Budget struct {
	limit, used int
}

// NewBudget returns a budget of limit transactions (at least 1).
func NewBudget(limit int) *Budget { return &Budget{limit: max(limit, 1)} }

// InUse returns how many transactions are kept now under the budget.
func (b *Budget) InUse() int {
	if b == nil {
		return 0
	}
	return b.used
}

// take reports whether one more transaction may be kept, and counts it
// when it may. A nil budget always allows.
func (b *Budget) take() bool {
	if b == nil {
		return true
	}
	if b.used >= b.limit {
		return false
	}
	b.used++
	return true
}

// give returns n units.
func (b *Budget) give(n int) {
	if b != nil {
		b.used = max(b.used-n, 0)
	}
}

// Release gives the connection's share of Config.Budget back, once its
// transactions have been handed on (the connection closed), and gives the
// parser back for a later NewConn to reuse: the Conn must not be used in
// any way afterwards. The transactions it returned stay valid: they and
// their strings live outside the Conn. Calling Release again, before any
// NewConn, does nothing.
//
// With Config.RecycleTransactions, Release also hands the connection's
// transaction records to later connections: the *Transaction values (and
// their Messages) that Transactions returned, and the slice it returned
// last, are zeroed and must not be used afterwards; the strings they held
// stay valid.
func (p *Conn) Release() {
	if p.released {
		return
	}
	p.cfg.Budget.give(p.taken)
	for i := range p.streams {
		p.streams[i].blk.release() // when End never came
		p.streams[i].releaseMemo()
	}
	if p.cfg.RecycleTransactions {
		p.mem.recycleBoxes()
		if cap(p.boxes) > len(p.firstBoxes) {
			boxLists.give(p.boxes)
		}
		txnLists.give(p.out)
	}
	// Nothing the Conn pointed to is kept alive by the pool.
	*p = Conn{released: true}
	connPool.Put(p)
}

// TransactionsOverBudget counts the transactions parsed but not kept
// because Config.Budget was spent (they are also in TransactionsDropped).
func (p *Conn) TransactionsOverBudget() int { return p.overBudget }
