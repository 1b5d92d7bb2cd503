package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/connscope/connscope/analysis"
	"github.com/connscope/connscope/capture"
	"github.com/connscope/connscope/internal/jsontest"
	"github.com/connscope/connscope/internal/sharedpcaps"
	"github.com/connscope/connscope/internal/textsafe"
)

// The NDJSON lines written by analysis's hand encoders against the lines
// json.Marshal wrote for them before (oldNDJSONStream and oldWriteNDJSON
// below are the writer as it was), byte for byte: every field by
// reflection, random hostile values, every capture, a fuzz target.

// oldNDJSONStream is NDJSONStream as it was before the hand encoders:
// every line through json.Marshal.
func oldNDJSONStream(w io.Writer) *NDJSONStream {
	s := NewNDJSONStream(w)
	s.reflective = true
	return s
}

// oldWriteNDJSON is WriteNDJSON with oldNDJSONStream.
func oldWriteNDJSON(w io.Writer, r *analysis.Report) error { return writeNDJSON(w, r, true) }

// checkLine writes v (a *ConnReport, *TxnReport or *FindingReport) as a
// line of an NDJSONStream and of oldNDJSONStream, and wants the same bytes,
// or the same error.
func checkLine(t testing.TB, v any) {
	t.Helper()
	var got, want bytes.Buffer
	s, old := NewNDJSONStream(&got), oldNDJSONStream(&want)
	var errGot, errWant error
	switch v := v.(type) {
	case *analysis.ConnReport:
		errGot, errWant = s.Connection(v), old.Connection(v)
	case *analysis.TxnReport:
		errGot, errWant = s.Transaction(v), old.Transaction(v)
	case *analysis.FindingReport:
		errGot, errWant = s.Finding(v), old.Finding(v)
	default:
		t.Fatalf("checkLine: %T", v)
	}
	if fmt.Sprint(errGot) != fmt.Sprint(errWant) {
		t.Fatalf("%T: error %v, the old writer's %v", v, errGot, errWant)
	}
	if !bytes.Equal(got.Bytes(), want.Bytes()) {
		t.Fatalf("%T: line differs from json.Marshal's %s", v, jsontest.Diff(got.Bytes(), want.Bytes()))
	}
}

// reportStrings are the hostile strings of report's tests: pieces of
// header fields, cookies and URLs among them, as HAR parses those.
var reportStrings = &jsontest.Strings{Pieces: jsontest.Pieces(jsontest.HTTPPieces...), LongMin: 3000, LongSpan: 10000}

// newFiller is a jsontest.Filler of reportStrings; hidden fills the
// fields tagged json:"-" too, as HAR reads some of them.
func newFiller(t testing.TB, rng *rand.Rand, full, hidden bool) *jsontest.Filler {
	return &jsontest.Filler{Rand: rng, Full: full, Hidden: hidden, Strings: reportStrings, T: t}
}

// The report types whose NDJSON lines are hand encoded.
var ndjsonFastTypes = []reflect.Type{
	reflect.TypeFor[analysis.ConnReport](),
	reflect.TypeFor[analysis.TxnReport](),
	reflect.TypeFor[analysis.FindingReport](),
}

// TestNDJSONLinesCoverEveryField sets every JSON field of each
// hand-encoded type (and of the types inside it) non-zero, then each field
// alone, and wants json.Marshal's line: a field added to a report type
// fails here until the hand encoder writes it.
func TestNDJSONLinesCoverEveryField(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	for _, typ := range ndjsonFastTypes {
		for range 50 {
			p := reflect.New(typ)
			newFiller(t, rng, true, false).Fill(p.Elem())
			var line bytes.Buffer
			s := NewNDJSONStream(&line)
			switch v := p.Interface().(type) {
			case *analysis.ConnReport:
				_ = s.Connection(v)
			case *analysis.TxnReport:
				_ = s.Transaction(v)
			case *analysis.FindingReport:
				_ = s.Finding(v)
			}
			var m map[string]json.RawMessage
			if err := json.Unmarshal(line.Bytes(), &m); err != nil {
				t.Fatalf("%s: %v: %s", typ.Name(), err, line.Bytes())
			}
			for _, name := range append(jsontest.Names(typ), "type") {
				if _, ok := m[name]; !ok {
					t.Fatalf("%s: %q is not in the line of a value with every field set: %s", typ.Name(), name, line.Bytes())
				}
			}
			if typ == reflect.TypeFor[analysis.TxnReport]() {
				var msg map[string]json.RawMessage
				if err := json.Unmarshal(m["request"], &msg); err != nil {
					t.Fatal(err)
				}
				for _, name := range jsontest.Names(reflect.TypeFor[analysis.MessageReport]()) {
					if _, ok := msg[name]; !ok {
						t.Fatalf("MessageReport: %q is not in the request of a transaction with every field set", name)
					}
				}
			}
			checkLine(t, p.Interface())
		}
		for _, mb := range jsontest.Members(typ) {
			for range 20 {
				p := reflect.New(typ)
				newFiller(t, rng, true, false).Fill(p.Elem().Field(mb.Index))
				checkLine(t, p.Interface())
				newFiller(t, rng, false, false).Fill(p.Elem().Field(mb.Index))
				checkLine(t, p.Interface())
			}
		}
		checkLine(t, reflect.New(typ).Interface())
	}
}

// TestNDJSONLinesRandom: random values, hidden fields set too, their
// fields zero, nil, empty or hostile.
func TestNDJSONLinesRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(23, 24))
	n := 2000
	if testing.Short() {
		n = 200
	}
	for range n {
		for _, typ := range ndjsonFastTypes {
			p := reflect.New(typ)
			newFiller(t, rng, false, rng.IntN(2) == 0).Fill(p.Elem())
			checkLine(t, p.Interface())
		}
	}
}

// TestNDJSONNaN: a NaN or an infinity fails the line with json.Marshal's
// error, as before, and leaves the stream usable.
func TestNDJSONNaN(t *testing.T) {
	nan, inf := analysis.Millis(math.NaN()), analysis.Millis(math.Inf(1))
	for _, v := range []any{
		&analysis.ConnReport{ID: 4, DurationMS: nan},
		&analysis.ConnReport{ID: 5, IRTTMS: &inf},
		&analysis.TxnReport{ID: 6, GapBeforeMS: &nan},
		&analysis.TxnReport{ID: 7, Timings: analysis.Timings{SendMS: &inf}},
		&analysis.FindingReport{Rule: "CT1", Connection: 8, CostMS: &nan},
	} {
		checkLine(t, v)
	}
	var b bytes.Buffer
	s := NewNDJSONStream(&b)
	if err := s.Transaction(&analysis.TxnReport{GapBeforeMS: &nan}); err == nil {
		t.Fatal("a NaN was written")
	}
	if err := s.Transaction(&analysis.TxnReport{ID: 1}); err != nil || b.Len() == 0 || b.Bytes()[b.Len()-1] != '\n' {
		t.Fatalf("after a NaN: %v, %q", err, b.Bytes())
	}
}

// checkNDJSONBothWays writes r with WriteNDJSON and oldWriteNDJSON, raw
// and through textsafe.JSONWriter as the CLI does, and wants the same bytes.
func checkNDJSONBothWays(t testing.TB, name string, r *analysis.Report) int {
	t.Helper()
	var got, want bytes.Buffer
	errGot, errWant := WriteNDJSON(&got, r), oldWriteNDJSON(&want, r)
	if (errGot == nil) != (errWant == nil) {
		t.Fatalf("%s: WriteNDJSON: %v; the old one: %v", name, errGot, errWant)
	}
	if !bytes.Equal(got.Bytes(), want.Bytes()) {
		t.Fatalf("%s: WriteNDJSON differs from the old one %s", name, jsontest.Diff(got.Bytes(), want.Bytes()))
	}
	var safeGot, safeWant bytes.Buffer
	for _, p := range []struct {
		b   *bytes.Buffer
		out *bytes.Buffer
	}{{&got, &safeGot}, {&want, &safeWant}} {
		jw := textsafe.NewJSONWriter(p.out)
		if _, err := jw.Write(p.b.Bytes()); err != nil {
			t.Fatal(err)
		}
		if err := jw.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(safeGot.Bytes(), safeWant.Bytes()) {
		t.Fatalf("%s: through textsafe.JSONWriter, WriteNDJSON differs from the old one", name)
	}
	return bytes.Count(got.Bytes(), []byte("\n"))
}

// analyzeEach analyses each capture (and all of them together as one
// report), listing in memory and spilled, headers kept, and calls check
// on each report.
func analyzeEach(t *testing.T, check func(name string, r *analysis.Report)) {
	paths := jsontest.Captures(t, "../testdata/captures", sharedpcaps.Dir())
	for _, opts := range []analysis.Options{{KeepHeaders: true}, {KeepHeaders: true, SpillListing: true, SpillThreshold: -1}} {
		all := analysis.New(opts)
		for _, path := range paths {
			a := analysis.New(opts)
			src, err := capture.Open(path)
			if err != nil {
				continue // not a capture (a deliberately broken one)
			}
			_ = a.AddSource(path, src.Format(), src)
			src.Close()
			r := a.Report()
			check(path, r)
			r.Close()
			if src, err := capture.Open(path); err == nil {
				_ = all.AddSource(path, src.Format(), src)
				src.Close()
			}
		}
		r := all.Report()
		check("every capture", r)
		r.Close()
	}
}

// TestNDJSONEveryCapture writes the report of every capture both ways.
func TestNDJSONEveryCapture(t *testing.T) {
	lines := 0
	analyzeEach(t, func(name string, r *analysis.Report) {
		lines += checkNDJSONBothWays(t, name, r)
	})
	t.Logf("%d lines", lines)
	if lines < 1000 {
		t.Fatalf("the captures gave %d lines; the test checks little", lines)
	}
}

// TestNDJSONRandomReports: whole reports of random elements, nil entries
// among them, written both ways.
func TestNDJSONRandomReports(t *testing.T) {
	rng := rand.New(rand.NewPCG(25, 26))
	for range 100 {
		r := &analysis.Report{Schema: analysis.Schema}
		f := newFiller(t, rng, false, true)
		v := reflect.ValueOf(r).Elem()
		for _, name := range []string{"Connections", "Transactions", "Findings"} {
			s := v.FieldByName(name)
			n := rng.IntN(20)
			s.Set(reflect.MakeSlice(s.Type(), n, n))
			for i := range n {
				if rng.IntN(10) != 0 {
					f.Fill(s.Index(i))
				}
			}
		}
		for i := range rng.IntN(3) {
			r.Inputs = append(r.Inputs, &analysis.InputReport{Index: i, Name: reportStrings.String(rng), Error: reportStrings.String(rng)})
		}
		checkNDJSONBothWays(t, "random report", r)
	}
}

// FuzzNDJSONTxnLine builds a transaction from fuzzed fields and wants its
// line to be json.Marshal's. `go test` runs the seeds only; `go test
// -fuzz FuzzNDJSONTxnLine ./report` explores.
func FuzzNDJSONTxnLine(f *testing.F) {
	f.Add(1, "GET", "/", "HTTP/1.1", 200, []byte{}, uint16(0), int64(0), int64(0), 0.0, 0.0, "", "")
	f.Add(-5, "<>&", "\u2028\xff\x00\u009b", "\u202e", -1, []byte{100, 101}, uint16(0xffff), int64(math.MinInt64), int64(math.MaxInt64), 1e21, 1e-7, "content-length", "gap,rst")
	f.Add(123456789, "", "a\"\\b\t\n\r\f\b", "\x7f", 1<<40, []byte(nil), uint16(0x5555), int64(-1), int64(1e18), 123456789012345678.0, 0.000001, "\xe2\x80", "\x1b[31m")
	f.Fuzz(func(t *testing.T, id int, method, target, version string, status int, interim []byte, flags uint16,
		start, declared int64, ms1, ms2 float64, framing, anomalies string) {
		bit := func(i int) bool { return flags&(1<<i) != 0 }
		millis := func(i int, v float64) *analysis.Millis {
			if bit(i) {
				return nil
			}
			m := analysis.Millis(v)
			return &m
		}
		msg := func(i int) *analysis.MessageReport {
			if bit(i) {
				return nil
			}
			m := &analysis.MessageReport{FirstFrame: uint64(start), LastFrame: uint64(declared), Start: analysis.Time(start), End: analysis.Time(declared),
				HeaderBytes: declared, BodyBytes: -start, Framing: framing, Complete: bit(i + 1), IncompleteReason: target}
			if bit(i + 2) {
				m.DeclaredLength = &declared
			}
			if anomalies != "" || bit(i+3) {
				m.Anomalies = strings.Split(anomalies, ",")
			}
			return m
		}
		tr := &analysis.TxnReport{ID: id, Connection: -id, Index: status, Method: method, Target: target, Version: version, Status: status,
			Request: msg(0), Response: msg(4), Pipelined: bit(8), PersistentAfter: bit(9), Tunnel: bit(10),
			Timings:     analysis.Timings{ConnectMS: millis(11, ms1), SendMS: millis(12, ms2), WaitMS: millis(13, -ms1), ReceiveMS: millis(14, ms1*ms2), TotalMS: millis(15, ms1+ms2)},
			GapBeforeMS: millis(11, ms2-ms1),
		}
		if interim != nil {
			tr.Interim = []int{}
			for _, c := range interim {
				tr.Interim = append(tr.Interim, int(c)*status)
			}
		}
		checkLine(t, tr)
		checkLine(t, &analysis.FindingReport{Rule: method, Slug: target, Severity: version, Connection: id, Transaction: status,
			Frames: []uint64{uint64(start)}, Time: analysis.Time(declared), CostMS: tr.GapBeforeMS, Message: anomalies, Vantage: framing})
		checkLine(t, &analysis.ConnReport{ID: id, Client: target, Server: method, VLAN: status, Start: analysis.Time(start),
			End: analysis.Time(declared), DurationMS: analysis.Millis(ms1), IRTTMS: tr.Timings.WaitMS, State: version, History: framing, App: anomalies})
	})
}
