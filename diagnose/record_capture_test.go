package diagnose_test

import (
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/connscope/connscope/capture"
	"github.com/connscope/connscope/capture/capturetest"
	"github.com/connscope/connscope/diagnose"
	"github.com/connscope/connscope/httpflow"
	"github.com/connscope/connscope/reassembly"
)

// numberTxn gives t an ID both pipelines below agree on, whichever
// connection closes first: findings cite transactions by ID.
func numberTxn(c *reassembly.Connection, t *httpflow.Transaction) {
	t.ID = c.ID*1_000_000 + t.Index + 1
}

// settledPipeline is analysis's way: a TxnLog takes each transaction as
// the parser settles it, the parser forgets most of them and recycles its
// records, and at the close the log takes what Transactions still returns
// in place of what it had of the same Index.
type settledPipeline struct {
	t      *testing.T
	engine *diagnose.Engine
	open   map[*reassembly.Connection]*settledConn
	// settled counts the transactions given to Settled; redelivered those
	// of them Transactions returned again at the close.
	settled, redelivered int
}

type settledConn struct {
	p       *httpflow.Conn
	log     *diagnose.TxnLog
	settled map[int]bool // by Index
}

func (h *settledPipeline) Opened(c *reassembly.Connection) reassembly.StreamConsumer {
	sc := &settledConn{log: h.engine.NewTxnLog(), settled: map[int]bool{}}
	sc.p = httpflow.NewConn(c, httpflow.Config{
		Settled: func(t *httpflow.Transaction) {
			if sc.settled[t.Index] {
				h.t.Errorf("connection %d: transaction %d settled twice", c.ID, t.Index)
			}
			sc.settled[t.Index] = true
			h.settled++
			numberTxn(c, t)
			sc.log.Add(t)
		},
		ForgetSettled: true, RecycleTransactions: true, DropHeaderFields: true,
	})
	h.open[c] = sc
	return sc.p
}

func (h *settledPipeline) Closed(c *reassembly.Connection) {
	sc := h.open[c]
	delete(h.open, c)
	if sc == nil {
		h.engine.ConnectionLog(c, httpflow.AppUnknown, h.engine.NewTxnLog())
		return
	}
	for _, t := range sc.p.Transactions() {
		if sc.settled[t.Index] {
			h.redelivered++
			// Transactions keeps the ID Settled's caller set.
			if want := c.ID*1_000_000 + t.Index + 1; t.ID != want {
				h.t.Errorf("connection %d: re-delivered transaction %d has ID %d, numbered %d", c.ID, t.Index, t.ID, want)
			}
		}
		if t.ID == 0 {
			numberTxn(c, t)
		}
		sc.log.Add(t)
	}
	h.engine.ConnectionLog(c, sc.p.App(), sc.log)
	sc.p.Release() // after the rules: the records are recycled
}

// runPipeline feeds the capture at path to h and returns the findings of
// engine, which h diagnoses with.
func runPipeline(t *testing.T, path string, engine *diagnose.Engine, h reassembly.Handler) []diagnose.Finding {
	t.Helper()
	r, err := capture.Open(path)
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	defer r.Close()
	asm := reassembly.NewAssembler(reassembly.Config{}, h)
	if _, err := capturetest.EachSegment(r, asm.Add); err != nil {
		t.Logf("%s: reading stopped: %v", path, err)
	}
	asm.Flush()
	return engine.Finish()
}

func newTestEngine(t *testing.T) *diagnose.Engine {
	t.Helper()
	e, err := diagnose.NewEngine(diagnose.Config{})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// TestConnectionLogMatchesConnection runs every test capture through both
// pipelines above: the rules must find the same on the records taken as
// transactions settle (with the parser forgetting and recycling its own)
// as on the transactions the parser kept to the end.
func TestConnectionLogMatchesConnection(t *testing.T) {
	ran, findings := 0, 0
	settled, redelivered := 0, 0
	forgot := false // a capture where the parser forgot a settled transaction
	for _, dir := range []string{capturesDir, ownCapturesDir} {
		for _, name := range captureFiles(t, dir) {
			ran++
			path := filepath.Join(dir, name)
			old := newTestEngine(t)
			want := runPipeline(t, path, old, &pipeline{engine: old, parsers: map[*reassembly.Connection]*httpflow.Conn{}, number: numberTxn}) // the old way: the parser keeps every transaction until the close
			e := newTestEngine(t)
			h := &settledPipeline{t: t, engine: e, open: map[*reassembly.Connection]*settledConn{}}
			got := runPipeline(t, path, e, h)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%s: the findings from the log differ from those from the kept transactions:\n%s", name, diffFindings(got, want))
			}
			if !reflect.DeepEqual(e.LeftOut(), old.LeftOut()) {
				t.Errorf("%s: LeftOut %v from the log, %v from the kept transactions", name, e.LeftOut(), old.LeftOut())
			}
			findings += len(want)
			settled, redelivered = settled+h.settled, redelivered+h.redelivered
			forgot = forgot || h.settled > h.redelivered
		}
	}
	if ran == 0 {
		t.Skip("no captures in " + capturesDir + " or " + ownCapturesDir)
	}
	// Without these the comparison could pass while testing little: no
	// findings to compare, no record replaced at the close, or a parser
	// that forgot nothing (and so re-delivered everything).
	if findings == 0 {
		t.Error("the captures gave no finding: the test compares nothing")
	}
	if redelivered == 0 {
		t.Errorf("no settled transaction was returned again at the close (%d settled): replacing by Index is untested", settled)
	}
	if !forgot {
		t.Errorf("no capture had a settled transaction the parser forgot (%d settled, %d re-delivered)", settled, redelivered)
	}
	t.Logf("%d captures, %d findings, %d transactions settled, %d of them re-delivered at the close", ran, findings, settled, redelivered)
}

// diffFindings lists the findings only one side has, one a line.
func diffFindings(got, want []diagnose.Finding) string {
	render := func(fs []diagnose.Finding) map[string]int {
		m := map[string]int{}
		for _, f := range fs {
			m[findingLine(f)]++
		}
		return m
	}
	g, w := render(got), render(want)
	var b strings.Builder
	for _, f := range want {
		if line := findingLine(f); g[line] < w[line] {
			fmt.Fprintf(&b, "  only from the kept transactions: %s\n", line)
			g[line]++
		}
	}
	g, w = render(got), render(want)
	for _, f := range got {
		if line := findingLine(f); w[line] < g[line] {
			fmt.Fprintf(&b, "  only from the log:               %s\n", line)
			w[line]++
		}
	}
	if b.Len() == 0 {
		return "  no line differs: the order, or a field not shown here, does"
	}
	return b.String()
}

func findingLine(f diagnose.Finding) string {
	tx := "-"
	if f.Transaction != nil {
		tx = fmt.Sprintf("%+v", *f.Transaction)
	}
	return fmt.Sprintf("%s %v conn %d %v txn %s frames %v time %d cost %d related %+v vantage %q: %s",
		f.Rule, f.Severity, f.Connection, f.Connections, tx, f.Frames, f.Time, f.Cost, f.Related, f.Vantage, f.Message)
}
