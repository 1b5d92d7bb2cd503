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
					if m.snap != nil && m.final != nil && len(m.final.Anomalies) > len(m.snap.Anomalies) &&
						slices.Equal(m.snap.Anomalies, m.final.Anomalies[:len(m.snap.Anomalies)]) {
						m.snap.Anomalies = m.final.Anomalies
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
