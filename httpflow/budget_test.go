package httpflow

import "testing"

// Connections sharing a Budget keep at most its size in transactions
// between them; a released connection gives its share back.
func TestBudgetSharedByConnections(t *testing.T) {
	b := NewBudget(3)
	cfg := Config{Budget: b}
	twice := seq(cli(getA+getB), srv(ok5+ok3), fin(s2c), fin(c2s))
	thrice := seq(cli(getA+getB+getA), srv(ok5+ok3+ok5), fin(s2c), fin(c2s))

	a := run(testConn(), cfg, twice, whole)
	if got := len(a.Transactions()); got != 2 || a.TransactionsDropped() != 0 || b.InUse() != 2 {
		t.Fatalf("first connection kept %d, dropped %d; budget in use %d; want 2, 0, 2", got, a.TransactionsDropped(), b.InUse())
	}
	c := run(testConn(), cfg, thrice, whole)
	if got := len(c.Transactions()); got != 1 || c.TransactionsDropped() != 2 || c.TransactionsOverBudget() != 2 {
		t.Errorf("second connection kept %d, dropped %d (%d over budget); want 1, 2, 2", got, c.TransactionsDropped(), c.TransactionsOverBudget())
	}
	a.Release()
	a.Release() // twice is harmless
	if b.InUse() != 1 {
		t.Errorf("after releasing the first connection the budget has %d in use, want 1", b.InUse())
	}
	d := run(testConn(), cfg, thrice, whole)
	if got := len(d.Transactions()); got != 2 || d.TransactionsOverBudget() != 1 {
		t.Errorf("third connection kept %d (%d over budget); want 2 (1)", got, d.TransactionsOverBudget())
	}
	// Over its own bound a connection's drops are not the budget's.
	e := run(testConn(), Config{MaxTransactionsPerConn: 1, Budget: NewBudget(10)}, thrice, whole)
	if e.TransactionsDropped() != 2 || e.TransactionsOverBudget() != 0 {
		t.Errorf("per-connection bound: dropped %d, over budget %d; want 2, 0", e.TransactionsDropped(), e.TransactionsOverBudget())
	}
}
