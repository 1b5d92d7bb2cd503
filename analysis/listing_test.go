package analysis

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/connscope/connscope/capture"
	"github.com/connscope/connscope/httpflow"
	"github.com/connscope/connscope/reassembly"
)

// fill sets every field reachable from v to a value of its own: numbers
// from *n (counting up), strings naming the number, pointers allocated,
// slices of two elements. A field the codec forgets then fails the round
// trip instead of passing as zero.
func fill(v reflect.Value, n *int) {
	*n++
	switch v.Kind() {
	case reflect.Bool:
		v.SetBool(*n%2 == 1)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(int64(*n) * -37)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(uint64(*n))
	case reflect.Float64:
		v.SetFloat(float64(*n) + 0.125)
	case reflect.String:
		v.SetString(strings.Repeat("é<", *n%3+1) + string(rune('a'+*n%26)))
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fill(v.Elem(), n)
	case reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), 2, 2))
		for i := 0; i < 2; i++ {
			fill(v.Index(i), n)
		}
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() {
				fill(v.Field(i), n)
			}
		}
	default:
		panic("fill: unhandled kind " + v.Kind().String())
	}
}

func roundTripConn(t *testing.T, c *ConnReport) {
	t.Helper()
	var e recordEncoder
	e.conn(c)
	d := recordDecoder{b: e.b, tokens: &tokenTable{}}
	got := d.conn()
	if d.err != nil || len(d.b) != 0 {
		t.Fatalf("decoding a connection: %v, %d bytes left", d.err, len(d.b))
	}
	if !reflect.DeepEqual(got, c) {
		t.Errorf("connection round trip:\n got %+v\nwant %+v", got, c)
	}
}

func roundTripTxn(t *testing.T, x *TxnReport) {
	t.Helper()
	var e recordEncoder
	e.txn(x)
	d := recordDecoder{b: e.b, tokens: &tokenTable{}}
	got := d.txn()
	if d.err != nil || len(d.b) != 0 {
		t.Fatalf("decoding a transaction: %v, %d bytes left", d.err, len(d.b))
	}
	if !reflect.DeepEqual(got, x) {
		t.Errorf("transaction round trip:\n got %+v\nwant %+v", got, x)
	}
}

// TestCodecRoundTripsEveryField: every exported field (and the provisional
// ID) comes back, set or zero, with nil and empty kept apart.
func TestCodecRoundTripsEveryField(t *testing.T) {
	n := 0
	var c ConnReport
	fill(reflect.ValueOf(&c).Elem(), &n)
	roundTripConn(t, &c)
	roundTripConn(t, &ConnReport{})

	var x TxnReport
	fill(reflect.ValueOf(&x).Elem(), &n)
	x.provisional = 4242
	roundTripTxn(t, &x)
	roundTripTxn(t, &TxnReport{})

	zero, negative := Millis(0), int64(0)
	roundTripConn(t, &ConnReport{IRTTMS: &zero, Segments: nil})
	roundTripConn(t, &ConnReport{Segments: []reassembly.SegmentRecord{}})
	roundTripConn(t, &ConnReport{Close: "fin", ClosedFirstBy: "client", IgnoredRSTs: 2, Segments: []reassembly.SegmentRecord{
		{Frame: 4, Flags: uint8(capture.FlagRST | capture.FlagACK), Kind: reassembly.KindIgnoredRST},
		{Frame: 12, Flags: uint8(capture.FlagRST | capture.FlagACK)},
	}})
	roundTripTxn(t, &TxnReport{
		Request:        &MessageReport{DeclaredLength: &negative, Anomalies: []string{}},
		Response:       &MessageReport{Anomalies: nil},
		Interim:        []int{},
		Timings:        Timings{WaitMS: &zero},
		GapBeforeMS:    &zero,
		RequestHeaders: []httpflow.Header{}, ResponseHeaders: []httpflow.Header{{Name: "", Value: ""}},
	})
}

// TestCodecRejectsDamage: every truncation of a record, and a record with
// a length past its end, is an error, never a panic.
func TestCodecRejectsDamage(t *testing.T) {
	n := 0
	var x TxnReport
	fill(reflect.ValueOf(&x).Elem(), &n)
	var e recordEncoder
	e.txn(&x)
	for cut := 0; cut < len(e.b); cut++ {
		d := recordDecoder{b: e.b[:cut], tokens: &tokenTable{}}
		if got := d.txn(); got != nil || d.err == nil {
			t.Fatalf("a record cut to %d of %d bytes decoded", cut, len(e.b))
		}
	}
	var c ConnReport
	fill(reflect.ValueOf(&c).Elem(), &n)
	e.b = e.b[:0]
	e.conn(&c)
	for i := range e.b {
		damaged := append([]byte(nil), e.b...)
		damaged[i] = 0xff
		d := recordDecoder{b: damaged, tokens: &tokenTable{}}
		_ = d.conn() // must not panic; it may decode to something else
	}
}

// analyzeAll runs every test capture through one Analyzer.
func analyzeAll(t *testing.T, opts Options) *Report {
	t.Helper()
	files, err := filepath.Glob("../testdata/captures/*.pcap*")
	if err != nil || len(files) < 10 {
		t.Fatalf("captures: %v (%d)", err, len(files))
	}
	a := New(opts)
	for _, name := range files {
		r, err := capture.Open(name)
		if err != nil {
			a.AddUnreadable(name, err)
			continue
		}
		_ = a.AddSource(name, r.Format(), r)
		r.Close()
	}
	return a.Report()
}

func collect(t *testing.T, r *Report) ([]*ConnReport, []*TxnReport) {
	t.Helper()
	var conns []*ConnReport
	var txns []*TxnReport
	if err := r.EachConnection(func(c *ConnReport) error { conns = append(conns, c); return nil }); err != nil {
		t.Fatal(err)
	}
	if err := r.EachTransaction(func(x *TxnReport) error { txns = append(txns, x); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(conns) != r.ConnectionCount() || len(txns) != r.TransactionCount() {
		t.Fatalf("iterated %d connections and %d transactions, counts say %d and %d", len(conns), len(txns), r.ConnectionCount(), r.TransactionCount())
	}
	for i := range conns {
		if c, err := r.ConnectionAt(i); err != nil || !reflect.DeepEqual(c, conns[i]) {
			t.Fatalf("ConnectionAt(%d) = %v, %v; iteration gave %+v", i, c, err, conns[i])
		}
	}
	for i := range txns {
		if x, err := r.TransactionAt(i); err != nil || !reflect.DeepEqual(x, txns[i]) {
			t.Fatalf("TransactionAt(%d) = %v, %v; iteration gave %+v", i, x, err, txns[i])
		}
	}
	return conns, txns
}

func reportJSON(t *testing.T, r *Report) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := r.WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestSpilledListingMatchesMemory is the differential test of the listing:
// every test capture analysed in memory, and spilled to disk from the
// first record (and kept in memory under the default threshold), gives
// the same connections, transactions (segments, headers and reason phrase
// included), findings and JSON, byte for byte.
func TestSpilledListingMatchesMemory(t *testing.T) {
	t.Setenv("TMPDIR", t.TempDir())
	base := Options{KeepSegments: true, KeepHeaders: true}
	mem := analyzeAll(t, base)
	wantConns, wantTxns := collect(t, mem)
	if len(wantConns) < 50 || len(wantTxns) < 50 || len(mem.Findings) == 0 {
		t.Fatalf("%d connections, %d transactions, %d findings: the test checks little", len(wantConns), len(wantTxns), len(mem.Findings))
	}
	wantJSON := reportJSON(t, mem)
	for _, threshold := range []int{-1, 0, 4096} {
		opts := base
		opts.SpillListing, opts.SpillThreshold = true, threshold
		r := analyzeAll(t, opts)
		if r.Connections != nil || r.Transactions != nil {
			t.Fatalf("threshold %d: a spilled report has slices", threshold)
		}
		if threshold == -1 && r.listing.path == "" {
			t.Fatal("threshold -1: nothing was written to disk")
		}
		if threshold == 0 && r.listing.path != "" {
			t.Fatal("default threshold: the test captures were written to disk")
		}
		conns, txns := collect(t, r)
		if !reflect.DeepEqual(conns, wantConns) {
			t.Errorf("threshold %d: connections differ", threshold)
		}
		if !reflect.DeepEqual(txns, wantTxns) {
			t.Errorf("threshold %d: transactions differ", threshold)
		}
		if !reflect.DeepEqual(r.Findings, mem.Findings) {
			t.Errorf("threshold %d: findings differ", threshold)
		}
		if got := reportJSON(t, r); !bytes.Equal(got, wantJSON) {
			t.Errorf("threshold %d: JSON differs from the in-memory report's", threshold)
		}
		if err := r.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// TestOmittedTransactionsKeepTheirIDs: listing no transactions changes
// neither the findings (which cite transactions by final ID), nor the
// connections, nor the warnings; the transactions are an error to read.
func TestOmittedTransactionsKeepTheirIDs(t *testing.T) {
	// A cap below the captures' count exercises the numbering of
	// transactions past it (cited as 0) too.
	base := Options{MaxListedTransactions: 60}
	mem := analyzeAll(t, base)
	opts := base
	opts.OmitTransactions = true
	r := analyzeAll(t, opts)
	defer r.Close()
	cited := 0
	for _, f := range mem.Findings {
		if f.Transaction != 0 {
			cited++
		}
	}
	if cited == 0 {
		t.Fatal("no finding cites a transaction: the test checks little")
	}
	if !reflect.DeepEqual(r.Findings, mem.Findings) {
		t.Error("findings differ when transactions are omitted")
	}
	if !reflect.DeepEqual(r.Inputs, mem.Inputs) {
		t.Error("inputs (warnings, totals) differ when transactions are omitted")
	}
	var conns []*ConnReport
	if err := r.EachConnection(func(c *ConnReport) error { conns = append(conns, c); return nil }); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(conns, mem.Connections) {
		t.Error("connections differ when transactions are omitted")
	}
	calls := 0
	if err := r.EachTransaction(func(*TxnReport) error { calls++; return nil }); !errors.Is(err, ErrNotListed) || calls != 0 {
		t.Errorf("EachTransaction of an omitted listing: %v after %d calls, want ErrNotListed", err, calls)
	}
	if r.TransactionCount() != 0 {
		t.Errorf("TransactionCount %d, want 0", r.TransactionCount())
	}
}

// TestSpillFileIsRemoved: the temporary file is gone once the report is
// closed (on Linux as soon as it is created), and Close can be repeated;
// a closed report's listing is an error to read, its findings are not.
func TestSpillFileIsRemoved(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("TMPDIR", dir)
	r := analyzeAll(t, Options{SpillListing: true, SpillThreshold: -1})
	if r.listing.path == "" || filepath.Dir(r.listing.path) != dir {
		t.Fatalf("spilled to %q, want a file in TMPDIR %s", r.listing.path, dir)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Errorf("%d files left in TMPDIR after Close: %v", len(left), left)
	}
	if err := r.EachConnection(func(*ConnReport) error { return nil }); err == nil {
		t.Error("a closed report's connections were read")
	}
	if len(r.Findings) == 0 {
		t.Error("a closed report lost its findings")
	}
}

// TestSpillErrorsNameTheFile: a temporary directory that cannot be used
// keeps the listing in memory (the report is whole, and a warning names
// the directory); a write that fails comes back from the iterators with
// the file named, the rest of the report is still there, and no file is
// left behind.
func TestSpillErrorsNameTheFile(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing")
	t.Setenv("TMPDIR", missing)
	r := analyzeAll(t, Options{SpillListing: true, SpillThreshold: -1})
	t.Setenv("TMPDIR", t.TempDir())
	mem := analyzeAll(t, Options{})
	if got, want := reportJSON(t, r), reportJSON(t, mem); bytes.Equal(got, want) {
		t.Error("a listing kept in memory for want of a temporary file gave no warning")
	}
	warned := 0
	for i, in := range r.Inputs {
		for _, w := range in.Warnings {
			if strings.Contains(w, missing) && strings.Contains(w, "held in memory") {
				warned++
				in.Warnings = slices.Delete(in.Warnings, slices.Index(in.Warnings, w), slices.Index(in.Warnings, w)+1)
				r.Inputs[i] = in
				break
			}
		}
	}
	if warned != 1 {
		t.Errorf("%d inputs warn that the listing is held in memory, want 1 (the one where the first write failed)", warned)
	}
	if got, want := reportJSON(t, r), reportJSON(t, mem); !bytes.Equal(got, want) {
		t.Error("the listing kept in memory for want of a temporary file differs from the in-memory report, beyond its warning")
	}

	dir := t.TempDir()
	t.Setenv("TMPDIR", dir)
	a := New(Options{SpillListing: true, SpillThreshold: -1})
	c := &ConnReport{ID: 1, Client: "10.0.0.1:1"}
	a.listing.addConn(c)
	// The disk "fills": the file stops taking writes.
	a.listing.file.Close()
	for i := 0; i < 2000; i++ {
		a.listing.addConn(c)
	}
	r = a.Report()
	err := r.EachConnection(func(*ConnReport) error { return nil })
	if err == nil || !strings.Contains(err.Error(), a.listing.path) {
		t.Errorf("failed write: error %v, want one naming the file %s", err, a.listing.path)
	}
	r.Close()
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Errorf("%d files left in TMPDIR after a failed write: %v", len(left), left)
	}
}

// TestSpilledReportIsDeterministic: the same captures give the same JSON
// twice.
func TestSpilledReportIsDeterministic(t *testing.T) {
	t.Setenv("TMPDIR", t.TempDir())
	opts := Options{SpillListing: true, SpillThreshold: -1}
	first := analyzeAll(t, opts)
	defer first.Close()
	second := analyzeAll(t, opts)
	defer second.Close()
	if !bytes.Equal(reportJSON(t, first), reportJSON(t, second)) {
		t.Error("two runs over the same captures differ")
	}
}

// TestListingOrdersLikeMemory: ties in start time break by connection,
// then index, then listing order, in the spilled report as in memory.
func TestListingOrdersLikeMemory(t *testing.T) {
	t.Setenv("TMPDIR", t.TempDir())
	mem := New(Options{})
	spill := New(Options{SpillListing: true, SpillThreshold: -1})
	prov := 0
	for _, x := range []struct {
		start      Time
		conn, idx  int
		noRequest  bool
		noResponse bool
	}{{5, 2, 0, false, false}, {5, 1, 1, false, false}, {5, 1, 0, false, false}, {3, 9, 0, true, false}, {5, 1, 0, false, false}, {0, 4, 0, true, true}, {1, 3, 2, false, false}} {
		prov++
		tr := &TxnReport{ID: prov, Connection: x.conn, Index: x.idx, Target: "/" + string(rune('a'+prov)), provisional: prov}
		if !x.noRequest {
			tr.Request = &MessageReport{Start: x.start}
		}
		if !x.noResponse {
			tr.Response = &MessageReport{Start: x.start + 100}
		}
		c := *tr
		mem.report.Transactions = append(mem.report.Transactions, &c)
		spill.listing.addTxn(tr)
	}
	want, got := mem.Report(), spill.Report()
	defer got.Close()
	_, txns := collect(t, got)
	if len(txns) != len(want.Transactions) {
		t.Fatalf("%d transactions, want %d", len(txns), len(want.Transactions))
	}
	for i := range txns {
		if txns[i].Target != want.Transactions[i].Target || txns[i].ID != want.Transactions[i].ID {
			t.Errorf("position %d: %s (ID %d), want %s (ID %d)", i, txns[i].Target, txns[i].ID, want.Transactions[i].Target, want.Transactions[i].ID)
		}
	}
}
