package analysis

import (
	"errors"
	"testing"
)

// TestIteratorsOverSlices: a Report built by hand yields its slices in
// order without nil entries, stops at fn's error, and counts what it
// yields.
func TestIteratorsOverSlices(t *testing.T) {
	r := &Report{
		Connections:  []*ConnReport{{ID: 2}, nil, {ID: 1}},
		Transactions: []*TxnReport{nil, {ID: 7}, {ID: 3}},
	}
	var conns, txns []int
	if err := r.EachConnection(func(c *ConnReport) error { conns = append(conns, c.ID); return nil }); err != nil {
		t.Fatal(err)
	}
	if err := r.EachTransaction(func(x *TxnReport) error { txns = append(txns, x.ID); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(conns) != 2 || conns[0] != 2 || conns[1] != 1 || r.ConnectionCount() != 2 {
		t.Errorf("connections %v (count %d), want [2 1] (2)", conns, r.ConnectionCount())
	}
	if len(txns) != 2 || txns[0] != 7 || txns[1] != 3 || r.TransactionCount() != 2 {
		t.Errorf("transactions %v (count %d), want [7 3] (2)", txns, r.TransactionCount())
	}
	stop := errors.New("stop")
	calls := 0
	if err := r.EachTransaction(func(*TxnReport) error { calls++; return stop }); !errors.Is(err, stop) || calls != 1 {
		t.Errorf("EachTransaction returned %v after %d calls, want stop after 1", err, calls)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}
