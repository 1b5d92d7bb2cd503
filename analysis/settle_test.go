package analysis

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/connscope/connscope/capture"
	"github.com/connscope/connscope/httpflow"
	"github.com/connscope/connscope/reassembly"
)

// The handler takes each transaction as the parser settles it, and the
// parser forgets most of them (httpflow.Config.ForgetSettled): the tests
// here hold the listing, its warnings and Events to what they promised
// when the parser kept every transaction until the close.

// keepAliveCaptures have several transactions per connection, on
// connections open at the same time (so that the listing can fill up
// while a connection that settled transactions is still open), pipelined,
// unanswered at the close, or changed after they settled.
var keepAliveCaptures = []string{
	"healthy-page-load.pcap",     // 6 overlapping connections, 3 to 5 each
	"parallel-6.pcap",            // 6 connections, 2 each
	"parallel-12.pcap",           // 12 connections, 2 each
	"multi-linktype.pcapng",      // 5, 2 and 1
	"keepalive-reuse.pcap",       // 5 on one connection
	"keepalive-race.pcap",        // 2 and 1
	"serial-idle-gaps.pcap",      // 5 on one connection
	"dumb-proxy-hang.pcap",       // 2 and 1
	"pipeline-get.pcap",          // 3 pipelined
	"pipeline-hol-blocking.pcap", // 3 pipelined
	"pipeline-unanswered-close.pcap",
	"rst-unread-pipelined.pcap",
	"gap-mid-response.pcap",
	"body-exceeds-content-length.pcap", // an anomaly found after it settled
}

func capturePath(name string) string { return filepath.Join("..", "testdata", "captures", name) }

// runInputs analyses the captures, each one input, with one Analyzer.
func runInputs(t *testing.T, opts Options, names ...string) *Report {
	t.Helper()
	a := New(opts)
	for _, name := range names {
		r, err := capture.Open(capturePath(name))
		if err != nil {
			t.Fatal(err)
		}
		err = a.AddSource(name, r.Format(), r)
		r.Close()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	rep := a.Report()
	t.Cleanup(func() { rep.Close() })
	return rep
}

// listingMode is one way of keeping the listing.
type listingMode struct {
	name string
	// set configures the mode; it is called once per run, so that each
	// run has Events of its own.
	set func(*Options)
}

var listingModes = []listingMode{
	{"slices", func(*Options) {}},
	{"spill", func(o *Options) { o.SpillListing, o.SpillThreshold = true, -1 }},
	{"omit", func(o *Options) { o.OmitTransactions = true }},
	{"events", func(o *Options) { o.Events = &closeOrder{} }},
	{"omit+events", func(o *Options) { o.OmitTransactions, o.Events = true, &closeOrder{} }},
}

// txnKey names a transaction across runs of the same inputs.
type txnKey struct{ conn, index int }

// listedTxnKeys returns the listed transactions' keys in the report's
// order. A report built with OmitTransactions lists them by index entry
// alone, which only the package can read.
func listedTxnKeys(t *testing.T, r *Report) []txnKey {
	t.Helper()
	var keys []txnKey
	if r.listing != nil && r.listing.omitTxns {
		for _, ref := range r.listing.txns {
			keys = append(keys, txnKey{ref.conn, ref.index})
		}
		return keys
	}
	if err := r.EachTransaction(func(x *TxnReport) error {
		keys = append(keys, txnKey{x.Connection, x.Index})
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return keys
}

func listedConns(t *testing.T, r *Report) []*ConnReport {
	t.Helper()
	var conns []*ConnReport
	if err := r.EachConnection(func(c *ConnReport) error { conns = append(conns, c); return nil }); err != nil {
		t.Fatal(err)
	}
	return conns
}

var (
	moreConnsWarning = regexp.MustCompile(`^report lists at most (\d+) connections? \(--max-listed-conns\): (\d+) more(?:, with (?:its|their) (\d+) transactions?,)? (?:was|were) counted in the totals`)
	moreTxnsWarning  = regexp.MustCompile(`^report lists at most (\d+) transactions? \(--max-listed-txns\): (\d+) more (?:was|were) counted in the totals`)
)

// unlisted is what an input's warnings say the listing caps left out.
type unlisted struct {
	conns, txnsOfConns, txns int
	connCap, txnCap          int // as the warnings name them (0: no warning)
}

func unlistedOf(t *testing.T, in *InputReport) unlisted {
	t.Helper()
	atoi := func(s string) int {
		if s == "" {
			return 0
		}
		n, err := strconv.Atoi(s)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	var u unlisted
	for _, w := range in.Warnings {
		if m := moreConnsWarning.FindStringSubmatch(w); m != nil {
			u.connCap, u.conns, u.txnsOfConns = atoi(m[1]), atoi(m[2]), atoi(m[3])
		} else if m := moreTxnsWarning.FindStringSubmatch(w); m != nil {
			u.txnCap, u.txns = atoi(m[1]), atoi(m[2])
		} else if strings.Contains(w, "--max-listed-") {
			t.Fatalf("%s: warning %q names a listing cap in words this test does not read", in.Name, w)
		}
	}
	return u
}

// checkListedCountsAddUp holds each input of r to: listed + left out ==
// counted, for connections and for transactions, and the warnings name
// the caps the run was given.
func checkListedCountsAddUp(t *testing.T, r *Report, connCap, txnCap int) {
	t.Helper()
	inputOf := map[int]int{} // listed connection → its input
	connsListed := make([]int, len(r.Inputs))
	for _, c := range listedConns(t, r) {
		inputOf[c.ID] = c.Input
		connsListed[c.Input]++
	}
	txnsListed := make([]int, len(r.Inputs))
	keys := listedTxnKeys(t, r)
	for _, k := range keys {
		in, ok := inputOf[k.conn]
		if !ok {
			t.Fatalf("transaction %d of connection %d is listed, its connection is not", k.index, k.conn)
		}
		txnsListed[in]++
	}
	if len(keys) > txnCap || len(inputOf) > connCap {
		t.Errorf("listed %d connections and %d transactions, caps %d and %d", len(inputOf), len(keys), connCap, txnCap)
	}
	for i, in := range r.Inputs {
		u := unlistedOf(t, in)
		if got := connsListed[i] + u.conns; got != in.Connections {
			t.Errorf("%s: %d connections listed + %d left out = %d, counted %d", in.Name, connsListed[i], u.conns, got, in.Connections)
		}
		if got := txnsListed[i] + u.txnsOfConns + u.txns; got != in.Transactions {
			t.Errorf("%s: %d transactions listed + %d of unlisted connections + %d left out by --max-listed-txns = %d, counted %d",
				in.Name, txnsListed[i], u.txnsOfConns, u.txns, got, in.Transactions)
		}
		if u.conns > 0 && u.connCap != connCap || u.txns > 0 && u.txnCap != txnCap {
			t.Errorf("%s: warnings name caps of %d connections and %d transactions, the run had %d and %d", in.Name, u.connCap, u.txnCap, connCap, txnCap)
		}
	}
}

// Small caps, so that the listing fills up in the middle of captures of a
// few dozen transactions.
var (
	smallTxnCaps  = []int{1, 2, 3, 5, 8, 13, 21}
	smallConnCaps = []int{1, 2, 3, 5, DefaultMaxListedConnections}
)

// TestListedCountsAddUp: whatever the caps and however the listing is
// kept, every transaction counted in an input's total is either listed or
// counted in its warnings as left out, once. A transaction the parser gave
// to the handler when it settled and again at the close is one
// transaction: it must not be counted twice when the listing filled up
// in between (as it once was, when another connection closed meanwhile).
func TestListedCountsAddUp(t *testing.T) {
	t.Setenv("TMPDIR", t.TempDir())
	checked := 0
	for _, mode := range listingModes {
		for _, connCap := range smallConnCaps {
			for _, txnCap := range smallTxnCaps {
				t.Run(fmt.Sprintf("%s/conns=%d/txns=%d", mode.name, connCap, txnCap), func(t *testing.T) {
					opts := Options{MaxListedConnections: connCap, MaxListedTransactions: txnCap}
					mode.set(&opts)
					for _, name := range keepAliveCaptures {
						checkListedCountsAddUp(t, runInputs(t, opts, name), connCap, txnCap)
						checked++
					}
					// All of them as the inputs of one run, which share the caps.
					checkListedCountsAddUp(t, runInputs(t, opts, keepAliveCaptures...), connCap, txnCap)
				})
			}
		}
	}
	if checked == 0 {
		t.Fatal("nothing was checked")
	}
}

// closeOrder is an Events that records the connections in the order they
// closed, with their transactions' keys.
type closeOrder struct {
	conns []int
	txns  [][]txnKey
}

func (e *closeOrder) Connection(c *ConnReport, txns []*TxnReport) {
	e.conns = append(e.conns, c.ID)
	keys := make([]txnKey, 0, len(txns))
	for _, x := range txns {
		keys = append(keys, txnKey{x.Connection, x.Index})
	}
	e.txns = append(e.txns, keys)
}

func (*closeOrder) Finding(*FindingReport) {}

// zeroIDs returns a copy of x without its report and provisional IDs,
// which depend on what else was listed.
func zeroIDs(x *TxnReport) TxnReport {
	c := *x
	c.ID, c.provisional = 0, 0
	return c
}

// TestListedAreFirstInCloseOrder: the caps list the connections that
// closed first, and the first transactions, in Index order, of those
// connections, exactly as an uncapped run reports them.
func TestListedAreFirstInCloseOrder(t *testing.T) {
	t.Setenv("TMPDIR", t.TempDir())
	order := &closeOrder{}
	full := runInputs(t, Options{Events: order}, keepAliveCaptures...)
	fullConns := map[int]*ConnReport{}
	for _, c := range full.Connections {
		fullConns[c.ID] = c
	}
	fullTxns := map[txnKey]*TxnReport{}
	for _, x := range full.Transactions {
		fullTxns[txnKey{x.Connection, x.Index}] = x
	}
	if len(order.conns) != len(full.Connections) || len(fullTxns) != len(full.Transactions) || len(fullTxns) < 50 {
		t.Fatalf("uncapped run: %d connections closed, %d listed; %d transactions (%d keys): the test checks little",
			len(order.conns), len(full.Connections), len(full.Transactions), len(fullTxns))
	}
	for _, mode := range listingModes {
		for _, connCap := range smallConnCaps {
			for _, txnCap := range append(slices.Clone(smallTxnCaps), 34, 55) {
				t.Run(fmt.Sprintf("%s/conns=%d/txns=%d", mode.name, connCap, txnCap), func(t *testing.T) {
					// What the caps should keep: the first connections to
					// close, and the first transactions of those.
					var wantConns []int
					var wantTxns []txnKey
					for i, id := range order.conns[:min(connCap, len(order.conns))] {
						wantConns = append(wantConns, id)
						keys := slices.SortedFunc(slices.Values(order.txns[i]), func(a, b txnKey) int { return a.index - b.index })
						wantTxns = append(wantTxns, keys...)
					}
					wantTxns = wantTxns[:min(txnCap, len(wantTxns))]

					opts := Options{MaxListedConnections: connCap, MaxListedTransactions: txnCap}
					mode.set(&opts)
					r := runInputs(t, opts, keepAliveCaptures...)

					conns := listedConns(t, r)
					var gotConns []int
					for _, c := range conns {
						gotConns = append(gotConns, c.ID)
						if !reflect.DeepEqual(c, fullConns[c.ID]) {
							t.Errorf("connection %d:\n got %+v\nwant %+v", c.ID, c, fullConns[c.ID])
						}
					}
					slices.Sort(gotConns)
					slices.Sort(wantConns)
					if !slices.Equal(gotConns, wantConns) {
						t.Errorf("listed connections %v, want the first %d to close: %v", gotConns, connCap, wantConns)
					}

					gotTxns := listedTxnKeys(t, r)
					sortKeys := func(a, b txnKey) int {
						if a.conn != b.conn {
							return a.conn - b.conn
						}
						return a.index - b.index
					}
					slices.SortFunc(gotTxns, sortKeys)
					slices.SortFunc(wantTxns, sortKeys)
					if !slices.Equal(gotTxns, wantTxns) {
						t.Errorf("listed transactions %v,\nwant the first %d in close order: %v", gotTxns, txnCap, wantTxns)
					}
					if err := r.EachTransaction(func(x *TxnReport) error {
						want, ok := fullTxns[txnKey{x.Connection, x.Index}]
						if ok && !reflect.DeepEqual(zeroIDs(x), zeroIDs(want)) {
							t.Errorf("transaction %d of connection %d:\n got %+v\nwant %+v", x.Index, x.Connection, zeroIDs(x), zeroIDs(want))
						}
						return nil
					}); err != nil && !(opts.OmitTransactions && errors.Is(err, ErrNotListed)) {
						t.Fatal(err)
					}
				})
			}
		}
	}
}

// referenceHandler parses every connection with httpflow keeping every
// transaction until the close (no Settled, nothing forgotten, header
// fields kept), and converts them there.
type referenceHandler struct {
	parsers     map[*reassembly.Connection]*httpflow.Conn
	keepHeaders bool
	txns        map[txnKey]*TxnReport
}

func (h *referenceHandler) Opened(c *reassembly.Connection) reassembly.StreamConsumer {
	p := httpflow.NewConn(c, httpflow.Config{})
	h.parsers[c] = p
	return p
}

func (h *referenceHandler) Closed(c *reassembly.Connection) {
	p := h.parsers[c]
	delete(h.parsers, c)
	for _, x := range p.Transactions() {
		tr := newTxnReport(x)
		tr.Connection = c.ID // the report's ID, for a single input
		if h.keepHeaders {
			if x.Request != nil {
				tr.RequestHeaders = detachHeaders(x.Request.Headers())
			}
			if x.Response != nil {
				tr.ResponseHeaders = detachHeaders(x.Response.Headers())
			}
		}
		h.txns[txnKey{tr.Connection, tr.Index}] = tr
	}
	p.Release()
}

// referenceTxns parses the capture as referenceHandler does, with the
// segments given to reassembly as Analyzer gives them (time never runs
// backwards).
func referenceTxns(t *testing.T, name string, keepHeaders bool) map[txnKey]*TxnReport {
	t.Helper()
	r, err := capture.Open(capturePath(name))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	h := &referenceHandler{parsers: map[*reassembly.Connection]*httpflow.Conn{}, keepHeaders: keepHeaders, txns: map[txnKey]*TxnReport{}}
	asm := reassembly.NewAssembler(reassembly.Config{}, h)
	dec := capture.NewDecoder()
	var seg capture.Segment
	var latest int64
	for {
		p, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if dec.Decode(p, &seg) != capture.SkipNone {
			continue
		}
		seg.Time = max(seg.Time, latest)
		latest = seg.Time
		asm.Add(&seg)
	}
	asm.Flush()
	return h.txns
}

// allCaptures is every test capture, by name.
func allCaptures(t *testing.T) []string {
	t.Helper()
	paths, err := filepath.Glob(capturePath("*.pcap*"))
	if err != nil || len(paths) < 10 {
		t.Fatalf("captures: %v (%d)", err, len(paths))
	}
	var names []string
	for _, p := range paths {
		if !strings.HasSuffix(p, ".gz") { // the same captures, compressed
			names = append(names, filepath.Base(p))
		}
	}
	return names
}

// connEvents is an Events that keeps every transaction Connection gives.
type connEvents struct{ txns []*TxnReport }

func (e *connEvents) Connection(_ *ConnReport, txns []*TxnReport) { e.txns = append(e.txns, txns...) }
func (*connEvents) Finding(*FindingReport)                        {}

// TestSettledReportsAreFinal: a transaction's report, built when it
// settled (or at the close, for the few the parser kept), is the one a
// parser that forgets nothing gives at the close: in the listing, with
// its header fields (HAR), and as Events hear of it.
func TestSettledReportsAreFinal(t *testing.T) {
	t.Setenv("TMPDIR", t.TempDir())
	compare := func(t *testing.T, what string, got []*TxnReport, want map[txnKey]*TxnReport) {
		t.Helper()
		seen := map[txnKey]bool{}
		for _, x := range got {
			k := txnKey{x.Connection, x.Index}
			if seen[k] {
				t.Errorf("%s: transaction %d of connection %d given twice", what, k.index, k.conn)
			}
			seen[k] = true
			ref, ok := want[k]
			if !ok {
				t.Errorf("%s: transaction %d of connection %d, which the parser did not give", what, k.index, k.conn)
				continue
			}
			if g, w := zeroIDs(x), zeroIDs(ref); !reflect.DeepEqual(g, w) {
				t.Errorf("%s: transaction %d of connection %d:\n got %+v\nwant %+v", what, k.index, k.conn, g, w)
			}
		}
		if len(seen) != len(want) {
			t.Errorf("%s: %d transactions, the parser gave %d", what, len(seen), len(want))
		}
	}
	total := 0
	for _, name := range allCaptures(t) {
		for _, keepHeaders := range []bool{false, true} {
			want := referenceTxns(t, name, keepHeaders)
			total += len(want)
			for _, mode := range []listingMode{listingModes[0], listingModes[1]} {
				opts := Options{KeepHeaders: keepHeaders}
				mode.set(&opts)
				var got []*TxnReport
				r := runInputs(t, opts, name)
				if err := r.EachTransaction(func(x *TxnReport) error { got = append(got, x); return nil }); err != nil {
					t.Fatal(err)
				}
				compare(t, fmt.Sprintf("%s, %s listing, headers %v", name, mode.name, keepHeaders), got, want)
			}
			ev := &connEvents{}
			runInputs(t, Options{KeepHeaders: keepHeaders, Events: ev}, name)
			compare(t, fmt.Sprintf("%s, Events, headers %v", name, keepHeaders), ev.txns, want)
		}
	}
	if total < 100 {
		t.Fatalf("%d transactions in the captures: the test checks little", total)
	}
}

// settleEvents is a TransactionEvents that holds the events to their
// promises as they come.
type settleEvents struct {
	t *testing.T
	// given maps the ID of each transaction given to Transaction to its
	// connection; closed holds the connections Connection was called for.
	given  map[int]int
	closed map[int]bool
	// atClose maps a connection to the IDs of its transactions, as
	// Connection gave them.
	atClose map[int][]int
	ids     map[int]bool // every ID Connection gave
	early   int          // transactions given to Transaction
}

func newSettleEvents(t *testing.T) *settleEvents {
	return &settleEvents{t: t, given: map[int]int{}, closed: map[int]bool{}, atClose: map[int][]int{}, ids: map[int]bool{}}
}

func (e *settleEvents) Transaction(x *TxnReport) {
	e.early++
	if _, twice := e.given[x.ID]; twice {
		e.t.Errorf("transaction %d (index %d of connection %d) given to Transaction twice", x.ID, x.Index, x.Connection)
	}
	if e.closed[x.Connection] {
		e.t.Errorf("transaction %d given to Transaction after its connection %d closed", x.ID, x.Connection)
	}
	if x.ID == 0 || x.EventID() != x.ID {
		e.t.Errorf("transaction given to Transaction with ID %d, event ID %d", x.ID, x.EventID())
	}
	e.given[x.ID] = x.Connection
}

func (e *settleEvents) Connection(c *ConnReport, txns []*TxnReport) {
	if e.closed[c.ID] {
		e.t.Errorf("connection %d closed twice", c.ID)
	}
	e.closed[c.ID] = true
	if len(txns) != c.TransactionCount {
		e.t.Errorf("connection %d given with %d transactions, its report counts %d", c.ID, len(txns), c.TransactionCount)
	}
	for _, x := range txns {
		if x.Connection != c.ID {
			e.t.Errorf("connection %d given with transaction %d of connection %d", c.ID, x.ID, x.Connection)
		}
		if e.ids[x.ID] {
			e.t.Errorf("transaction %d given with connection %d, and before", x.ID, c.ID)
		}
		e.ids[x.ID] = true
		e.atClose[c.ID] = append(e.atClose[c.ID], x.ID)
	}
}

func (*settleEvents) Finding(*FindingReport) {}

// TestTransactionEventsKeepTheirPromises: each transaction is given to
// Transaction at most once, before its connection closes; Connection then
// gives every transaction of the connection (as many as its report
// counts), among them those given to Transaction with the same IDs,
// whatever the listing caps and however the listing is kept.
func TestTransactionEventsKeepTheirPromises(t *testing.T) {
	t.Setenv("TMPDIR", t.TempDir())
	names := allCaptures(t)
	for _, mode := range []listingMode{listingModes[0], listingModes[1], listingModes[2]} {
		for _, txnCap := range []int{1, 3, DefaultMaxListedTransactions} {
			t.Run(fmt.Sprintf("%s/txns=%d", mode.name, txnCap), func(t *testing.T) {
				ev := newSettleEvents(t)
				opts := Options{MaxListedConnections: max(txnCap/2, 1), MaxListedTransactions: txnCap}
				mode.set(&opts)
				opts.Events = ev
				r := runInputs(t, opts, names...)
				if ev.early < 50 {
					t.Fatalf("%d transactions given to Transaction: the test checks little", ev.early)
				}
				for id, conn := range ev.given {
					if !slices.Contains(ev.atClose[conn], id) {
						t.Errorf("transaction %d was given to Transaction, not with its connection %d (given %v)", id, conn, ev.atClose[conn])
					}
				}
				counted := 0
				for _, in := range r.Inputs {
					counted += in.Transactions
				}
				if len(ev.ids) != counted {
					t.Errorf("Connection gave %d transactions, the inputs count %d", len(ev.ids), counted)
				}
			})
		}
	}
}
