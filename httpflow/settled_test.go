package httpflow

import (
	"path/filepath"
	"reflect"
	"slices"
	"testing"
)

// settledSnapshot is what a Settled callback saw of a transaction.
type settledSnapshot struct {
	t         Transaction
	req, resp *Message
}

// Config.Settled gives each transaction once, in order, as soon as it is
// over, with the values Transactions returns at the close; a transaction
// it gave keeps the ID the callback set.
func TestSettledGivesFinalTransactionsInOrder(t *testing.T) {
	paths, err := filepath.Glob(filepath.Join("..", "testdata", "captures", "*.pcap"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no captures: %v", err)
	}
	settledTotal, keptTotal := 0, 0
	for _, path := range paths {
		seen := map[int][]settledSnapshot{} // by connection
		nextID := 0
		cfg := Config{Settled: func(tx *Transaction) {
			s := settledSnapshot{t: *tx}
			if tx.Request != nil {
				r := *tx.Request
				s.req = &r
			}
			if tx.Response != nil {
				r := *tx.Response
				s.resp = &r
			}
			nextID++
			tx.ID = nextID
			s.t.ID = nextID
			seen[tx.Connection] = append(seen[tx.Connection], s)
		}}
		res, _ := analyzeFile(t, path, cfg)
		name := filepath.Base(path)
		for _, r := range res {
			snaps := seen[r.conn.ID]
			if len(snaps) > len(r.txns) {
				t.Errorf("%s conn %d: %d transactions settled, %d at the close", name, r.conn.ID, len(snaps), len(r.txns))
				continue
			}
			keptTotal += len(r.txns)
			settledTotal += len(snaps)
			for i, s := range snaps {
				final := r.txns[i]
				if s.t.Index != i {
					t.Errorf("%s conn %d: settled transaction %d has index %d: not in order", name, r.conn.ID, i, s.t.Index)
					continue
				}
				if final.ID != s.t.ID {
					t.Errorf("%s conn %d #%d: ID %d at the close, %d set when it settled", name, r.conn.ID, i, final.ID, s.t.ID)
				}
				got, want := s.t, *final
				got.Request, got.Response, got.Interim = nil, nil, nil
				want.Request, want.Response, want.Interim = nil, nil, nil
				if !reflect.DeepEqual(got, want) {
					t.Errorf("%s conn %d #%d: settled as %+v, closed as %+v", name, r.conn.ID, i, got, want)
				}
				// Bytes after a response's body can add an anomaly to it
				// later (body_beyond_content_length): what it had stays.
				for _, m := range []struct{ snap, final *Message }{{s.req, final.Request}, {s.resp, final.Response}} {
					if m.snap == nil || m.final == nil {
						continue
					}
					if sa, fa := m.snap.Anomalies(), m.final.Anomalies(); len(fa) > len(sa) && slices.Equal(sa, fa[:len(sa)]) {
						if m.snap.Extra == nil {
							m.snap.Extra = &MessageExtra{}
						}
						m.snap.Extra.Anomalies = fa
					}
				}
				if !reflect.DeepEqual(s.req, final.Request) || !reflect.DeepEqual(s.resp, final.Response) {
					t.Errorf("%s conn %d #%d: its messages changed after it settled:\nrequest  %+v\n      -> %+v\nresponse %+v\n      -> %+v",
						name, r.conn.ID, i, s.req, final.Request, s.resp, final.Response)
				}
			}
			for i := len(snaps); i < len(r.txns); i++ {
				if r.txns[i].ID != 0 {
					t.Errorf("%s conn %d #%d: not settled, yet ID %d", name, r.conn.ID, i, r.txns[i].ID)
				}
			}
		}
	}
	// Most transactions end well before their connection closes.
	if settledTotal < keptTotal*3/4 {
		t.Errorf("%d of %d transactions settled before the close", settledTotal, keptTotal)
	}
	t.Logf("%d of %d transactions settled before the close", settledTotal, keptTotal)
}

// snapshotOf copies a transaction and its messages deeply enough to
// outlive its record, which ForgetSettled hands to a later transaction.
func snapshotOf(tx *Transaction) settledSnapshot {
	s := settledSnapshot{t: *tx}
	s.t.Interim = slices.Clone(tx.Interim)
	for _, m := range []struct {
		from *Message
		to   **Message
	}{{tx.Request, &s.req}, {tx.Response, &s.resp}} {
		if m.from != nil {
			c := *m.from
			c.ConnectionTokens = slices.Clone(c.ConnectionTokens)
			if c.Extra != nil {
				x := *c.Extra
				x.Anomalies = slices.Clone(x.Anomalies)
				c.Extra = &x
			}
			*m.to = &c
		}
	}
	return s
}

// With ForgetSettled a connection keeps few of the transactions it gave
// to Settled, and what it gives there, with those it returns at the close
// in place of the copies given (by Index), is every transaction a parser
// that keeps them all returns, in order, with the same values: a
// transaction that bytes after it may still change (an anomaly, a line
// that goes on) is among those returned at the close.
func TestForgetSettledLosesNothing(t *testing.T) {
	paths, err := filepath.Glob(filepath.Join("..", "testdata", "captures", "*.pcap"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no captures: %v", err)
	}
	if d := sharedPcaps(); d != "" {
		shared, _ := filepath.Glob(filepath.Join(d, "*.pcap*"))
		paths = append(paths, shared...)
	}
	forgotten := 0
	for _, path := range paths {
		name := filepath.Base(path)
		plain, _ := analyzeFile(t, path, Config{})
		given := map[int][]settledSnapshot{}
		cfg := Config{ForgetSettled: true, Settled: func(tx *Transaction) {
			given[tx.Connection] = append(given[tx.Connection], snapshotOf(tx))
		}}
		forgetful, _ := analyzeFile(t, path, cfg)
		if len(plain) != len(forgetful) {
			t.Fatalf("%s: %d connections, %d with ForgetSettled", name, len(plain), len(forgetful))
		}
		for ci, r := range forgetful {
			byIndex := map[int]settledSnapshot{}
			for _, s := range given[r.conn.ID] {
				byIndex[s.t.Index] = s
			}
			for _, tx := range r.txns {
				byIndex[tx.Index] = snapshotOf(tx)
			}
			all := make([]settledSnapshot, 0, len(byIndex))
			for _, s := range byIndex {
				all = append(all, s)
			}
			slices.SortFunc(all, func(a, b settledSnapshot) int { return a.t.Index - b.t.Index })
			want := plain[ci].txns
			if len(all) != len(want) {
				t.Errorf("%s conn %d: %d transactions given and %d at the close, %d in all, want %d", name, r.conn.ID, len(given[r.conn.ID]), len(r.txns), len(all), len(want))
				continue
			}
			forgotten += len(all) - len(r.txns)
			for i, got := range all {
				w := snapshotOf(want[i])
				gt, wt := got.t, w.t
				gt.Request, gt.Response, wt.Request, wt.Response = nil, nil, nil, nil
				gt.Interim, wt.Interim = nil, nil
				if !reflect.DeepEqual(gt, wt) || !reflect.DeepEqual(got.req, w.req) || !reflect.DeepEqual(got.resp, w.resp) {
					t.Errorf("%s conn %d #%d: with ForgetSettled\n%+v %+v %+v\nwithout\n%+v %+v %+v",
						name, r.conn.ID, i, gt, got.req, got.resp, wt, w.req, w.resp)
				}
			}
		}
	}
	if forgotten == 0 {
		t.Error("no transaction was let go: the test proves nothing")
	}
	t.Logf("%d transactions let go before their connection closed", forgotten)
}

// A keep-alive connection with ForgetSettled holds a few records, however
// many transactions it carried.
func TestForgetSettledKeepsAFewRecords(t *testing.T) {
	var ops []op
	for range 200 {
		ops = append(ops, cli(getA), srv(ok5))
	}
	given := 0
	cfg := Config{ForgetSettled: true, Settled: func(*Transaction) { given++ }}
	p := run(testConn(), cfg, ops, whole)
	if gone, kept := p.base+p.dead, len(p.boxes)-p.dead; gone < 190 || kept > 3 || len(p.mem.freed) > 3 || len(p.boxes) > 64 {
		t.Errorf("after 200 transactions: %d let go, %d kept (in a slice of %d), %d records free", gone, kept, len(p.boxes), len(p.mem.freed))
	}
	if given < 199 {
		t.Errorf("%d transactions given to Settled, want at least 199", given)
	}
	p.Release()
}

// ForgetSettled never lets go of a record a stream still points to (its
// last message, which later bytes can mark with an anomaly, the message
// whose line it counts, or the one it parses): after every prefix of
// these exchanges, none of them is among the records let go.
func TestForgetSettledKeepsWhatStreamsPointTo(t *testing.T) {
	reqLost := gapOp(c2s, int64(len(getB)))
	exchanges := map[string][]op{
		"keep-alive":            seq(cli(getA), srv(ok5), cli(getB), srv(ok3), cli(getA), srv(ok5), cli(getB), srv(ok3)),
		"pipelined":             seq(cli(getA+getB+getA), srv(ok5+ok3+ok5), cli(getB), srv(ok3)),
		"request lost in a gap": seq(cli(getA), srv(ok5), reqLost, srv(ok3), srv(""), cli(getA), srv(ok5), srv(ok3)),
		"stray bytes after":     seq(cli(getA), srv(ok5), cli(getB), srv(ok3+"xyz"), cli(getA), srv(ok5)),
	}
	for name, ops := range exchanges {
		for k := 1; k <= len(ops); k++ {
			for _, split := range []splitter{whole, bytewise} {
				p := run(testConn(), Config{ForgetSettled: true, Settled: func(*Transaction) {}}, ops[:k], split)
				listed := func(m *Message) bool {
					for _, b := range p.boxes[p.dead:] {
						if m == &b.req || m == &b.resp || slices.Contains(b.t.Interim, m) {
							return true
						}
					}
					return false
				}
				for i := range p.streams {
					st := &p.streams[i]
					for what, m := range map[string]*Message{"last message": st.last, "line's message": st.lineMsg, "message": st.msg} {
						if m != nil && !listed(m) {
							t.Errorf("%s, first %d steps: the %s stream's %s is in no listed record", name, k, st.dir, what)
						}
					}
					if st.box != nil && !slices.Contains(p.boxes[p.dead:], st.box) {
						t.Errorf("%s, first %d steps: the %s stream parses into a record not listed", name, k, st.dir)
					}
				}
				for _, b := range p.mem.freed {
					if p.inUse(b) {
						t.Errorf("%s, first %d steps: a stream points into a record that was let go", name, k)
					}
					for _, kept := range p.boxes {
						if kept == b {
							t.Errorf("%s, first %d steps: a record let go is still listed", name, k)
						}
					}
				}
				p.Release()
			}
		}
	}
}

// With ForgetSettled the transactions given to Settled keep their units of
// the Budget until Release: the consumer holds them, and the Budget bounds
// the transactions of open connections whoever holds them.
func TestForgetSettledKeepsBudgetUnits(t *testing.T) {
	var ops []op
	for range 50 {
		ops = append(ops, cli(getA), srv(ok5))
	}
	budget := NewBudget(1000)
	given := 0
	cfg := Config{Budget: budget, ForgetSettled: true, Settled: func(*Transaction) { given++ }}
	p := run(testConn(), cfg, ops, whole)
	if p.base+p.dead < 40 {
		t.Fatalf("only %d of 50 transactions let go: the test proves nothing", p.base+p.dead)
	}
	if budget.InUse() != 50 {
		t.Errorf("budget in use %d after 50 transactions (%d given to Settled), want 50", budget.InUse(), given)
	}
	p.Release()
	if budget.InUse() != 0 {
		t.Errorf("budget in use %d after Release, want 0", budget.InUse())
	}
}
