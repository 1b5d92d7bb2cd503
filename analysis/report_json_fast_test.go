package analysis

import (
	"bytes"
	"encoding/json"
	"io"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/connscope/connscope/capture"
	"github.com/connscope/connscope/internal/jsontest"
	"github.com/connscope/connscope/internal/sharedpcaps"
)

// The hand encoders of report_json_fast.go against encoding/json: what
// json.Marshal and json.Indent write for a value, and what WriteJSON wrote
// before it had them (oldWriteJSON, below), byte for byte.

// reflectJSON is what appendJSON(b, n) must append for v; ok false when
// json.Marshal refuses v.
func reflectJSON(t testing.TB, v any, n int) ([]byte, bool) {
	t.Helper()
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, false
	}
	var out bytes.Buffer
	if err := json.Indent(&out, raw, strings.Repeat(" ", n), "  "); err != nil {
		t.Fatal(err)
	}
	return out.Bytes(), true
}

// checkFast compares a's hand encoding with encoding/json's, indented by
// 0, 4 (as WriteJSON writes elements) and 6 spaces.
func checkFast(t testing.TB, a jsonAppender) {
	t.Helper()
	for _, n := range []int{0, 4, 6} {
		want, wantOK := reflectJSON(t, a, n)
		got, gotOK := a.appendJSON([]byte("x"), n)
		if gotOK != wantOK {
			t.Fatalf("%T indented %d: hand encoder ok %v, json.Marshal ok %v", a, n, gotOK, wantOK)
		}
		if !gotOK {
			continue
		}
		if got[0] != 'x' {
			t.Fatalf("%T: appendJSON overwrote what b held", a)
		}
		if got = got[1:]; !bytes.Equal(got, want) {
			t.Fatalf("%T indented %d: hand encoder differs from encoding/json %s", a, n, jsontest.Diff(got, want))
		}
	}
}

// The types with hand encoders.
var fastTypes = []reflect.Type{
	reflect.TypeFor[ConnReport](),
	reflect.TypeFor[TxnReport](),
	reflect.TypeFor[MessageReport](),
	reflect.TypeFor[FindingReport](),
}

// TestFastEncodersCoverEveryField sets every JSON field of each hand
// encoded type (and of the types inside it) to a value that is not zero,
// and then each field alone, and wants encoding/json's bytes: a field
// added to a report type fails here until the hand encoder writes it.
func TestFastEncodersCoverEveryField(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, typ := range fastTypes {
		for range 50 {
			p := reflect.New(typ)
			(&jsontest.Filler{Rand: rng, Full: true, T: t}).Fill(p.Elem())
			// Every member is present (none is omitted as empty).
			var m map[string]any
			raw, _ := json.Marshal(p.Interface())
			if err := json.Unmarshal(raw, &m); err != nil {
				t.Fatal(err)
			}
			for _, mb := range jsontest.Members(typ) {
				if _, ok := m[mb.Name]; !ok {
					t.Fatalf("%s.%s (%q) is not in the JSON of a value with every field set: %s", typ.Name(), mb.Field, mb.Name, raw)
				}
			}
			checkFast(t, p.Interface().(jsonAppender))
		}
		// One field at a time, the others zero.
		for _, mb := range jsontest.Members(typ) {
			for range 20 {
				p := reflect.New(typ)
				(&jsontest.Filler{Rand: rng, Full: true, T: t}).Fill(p.Elem().Field(mb.Index))
				checkFast(t, p.Interface().(jsonAppender))
				(&jsontest.Filler{Rand: rng, T: t}).Fill(p.Elem().Field(mb.Index))
				checkFast(t, p.Interface().(jsonAppender))
			}
		}
		checkFast(t, reflect.New(typ).Interface().(jsonAppender))                     // zero value
		checkFast(t, reflect.Zero(reflect.PointerTo(typ)).Interface().(jsonAppender)) // nil
	}
}

// TestFastEncodersRandom: random values of each hand-encoded type, their
// fields zero, nil, empty or set with hostile strings and numbers at the
// formatting boundaries.
func TestFastEncodersRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	n := 2000
	if testing.Short() {
		n = 200
	}
	for range n {
		for _, typ := range fastTypes {
			p := reflect.New(typ)
			(&jsontest.Filler{Rand: rng, T: t}).Fill(p.Elem())
			checkFast(t, p.Interface().(jsonAppender))
		}
	}
}

// TestFastTimesAndMillis checks the pieces on their own: times over all
// of int64; Millis at the boundaries. (Strings are internal/jsonw's, and
// its tests hold them to json.Marshal.)
func TestFastTimesAndMillis(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	times := []int64{0, -1, 1, math.MaxInt64, math.MinInt64, 951782400e9, 951868800e9 - 1, -86400e9, -86400e9 + 1,
		946684800e9, 4102444800e9, 253402300799e9 / 1000}
	for range 200000 {
		times = append(times, int64(rng.Uint64()))
	}
	for range 10000 {
		times = append(times, rng.Int64N(200*365*86400e9)-100*365*86400e9)
	}
	for _, ns := range times {
		want, _ := json.Marshal(Time(ns))
		if got := appendJSONTime(nil, Time(ns)); !bytes.Equal(got, want) {
			t.Fatalf("Time(%d): got %s, want %s", ns, got, want)
		}
	}
	for d := int64(-106000); d < 106000; d++ { // every day an int64 of nanoseconds reaches
		ns := d * 86400e9
		want, _ := json.Marshal(Time(ns))
		if got := appendJSONTime(nil, Time(ns)); !bytes.Equal(got, want) {
			t.Fatalf("Time(%d): got %s, want %s", ns, got, want)
		}
	}
	f := &jsontest.Filler{Rand: rng, T: t}
	floats := append([]float64(nil), jsontest.BoundaryFloats...)
	for range 200000 {
		floats = append(floats, f.Float())
	}
	for _, x := range floats {
		for _, v := range []float64{x, -x} {
			want, err := json.Marshal(Millis(v))
			got, ok := appendJSONMillis(nil, Millis(v))
			if ok != (err == nil) || !bytes.Equal(got, want) {
				t.Fatalf("Millis(%g): got %s %v, want %s %v", v, got, ok, want, err)
			}
		}
	}
	for _, v := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
		if _, ok := appendJSONMillis(nil, Millis(v)); ok {
			t.Fatalf("Millis(%g) encoded; json.Marshal refuses it", v)
		}
	}
}

// TestCivilFromDays against the time package over ±5 million days.
func TestCivilFromDays(t *testing.T) {
	for d := int64(-5e6); d < 5e6; d += 7 {
		tm := time.Unix(d*86400, 0).UTC()
		y, m, day := civilFromDays(d)
		if y != int64(tm.Year()) || m != int(tm.Month()) || day != tm.Day() {
			t.Fatalf("day %d: %d-%d-%d, want %s", d, y, m, day, tm)
		}
	}
}

// TestWriteJSONRefusesNaN: a NaN Millis fails WriteJSON, as it did when
// encoding/json wrote every element.
func TestWriteJSONRefusesNaN(t *testing.T) {
	nan := Millis(math.NaN())
	for _, r := range []*Report{
		{Transactions: []*TxnReport{{GapBeforeMS: &nan}}},
		{Transactions: []*TxnReport{{Timings: Timings{WaitMS: &nan}}}},
		{Connections: []*ConnReport{{DurationMS: nan}}},
		{Findings: []*FindingReport{{CostMS: &nan}}},
	} {
		if err := r.WriteJSON(io.Discard); err == nil {
			t.Errorf("WriteJSON of a report with a NaN returned nil")
		}
		if err := oldWriteJSON(r, io.Discard); err == nil {
			t.Errorf("the old WriteJSON of a report with a NaN returned nil")
		}
	}
}

// checkBothWays writes r with WriteJSON and with oldWriteJSON and wants
// the same bytes.
func checkBothWays(t testing.TB, r *Report) {
	t.Helper()
	var got, want bytes.Buffer
	errGot, errWant := r.WriteJSON(&got), oldWriteJSON(r, &want)
	if (errGot == nil) != (errWant == nil) {
		t.Fatalf("WriteJSON: %v; the old WriteJSON: %v", errGot, errWant)
	}
	if !bytes.Equal(got.Bytes(), want.Bytes()) {
		t.Fatalf("WriteJSON differs from the old WriteJSON %s", jsontest.Diff(got.Bytes(), want.Bytes()))
	}
}

// TestWriteJSONEveryCapture analyses every capture of testdata/captures
// and of the shared public captures (when present), listing in memory and
// spilled, and writes each report both ways.
func TestWriteJSONEveryCapture(t *testing.T) {
	paths := jsontest.Captures(t, "../testdata/captures", sharedpcaps.Dir())
	var txns, conns, findings int
	all := New(Options{})
	for _, path := range paths {
		for _, opts := range []Options{{}, {SpillListing: true, SpillThreshold: -1}} {
			a := New(opts)
			src, err := capture.Open(path)
			if err != nil {
				continue // not a capture (a deliberately broken one)
			}
			_ = a.AddSource(path, src.Format(), src)
			src.Close()
			r := a.Report()
			checkBothWays(t, r)
			if !opts.SpillListing {
				checkWriteJSON(t, r)
				txns += len(r.Transactions)
				conns += len(r.Connections)
				findings += len(r.Findings)
			}
			r.Close()
		}
		if src, err := capture.Open(path); err == nil {
			_ = all.AddSource(path, src.Format(), src)
			src.Close()
		}
	}
	r := all.Report()
	checkBothWays(t, r)
	checkWriteJSON(t, r)
	t.Logf("%d captures: %d connections, %d transactions, %d findings", len(paths), conns, txns, findings)
	if txns < 100 || conns < 100 || findings < 50 {
		t.Fatalf("the captures gave few elements; the test checks little")
	}
}

// TestWriteJSONRandomReports: whole reports of random elements (nil ones
// among them), written both ways and by json.Encoder.
func TestWriteJSONRandomReports(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	for range 100 {
		var r Report
		fillReportElements(&jsontest.Filler{Rand: rng, T: t}, &r)
		r.Schema = jsontest.Hostile.String(rng)
		checkBothWays(t, &r)
		checkWriteJSON(t, &r)
	}
}

// fillReportElements fills r's connections, transactions and findings,
// leaving the slices nil, empty, or with nil entries at random.
func fillReportElements(f *jsontest.Filler, r *Report) {
	v := reflect.ValueOf(r).Elem()
	for _, name := range []string{"Connections", "Transactions", "Findings"} {
		s := v.FieldByName(name)
		switch f.Rand.IntN(4) {
		case 0:
			continue // nil
		case 1:
			s.Set(reflect.MakeSlice(s.Type(), 0, 0))
			continue
		}
		n := f.Rand.IntN(20)
		s.Set(reflect.MakeSlice(s.Type(), n, n))
		for i := range n {
			if f.Rand.IntN(10) != 0 {
				f.Fill(s.Index(i))
			}
		}
	}
	inputs := f.Rand.IntN(3)
	for range inputs {
		r.Inputs = append(r.Inputs, &InputReport{Name: jsontest.Hostile.String(f.Rand), Skipped: map[string]int64{jsontest.Hostile.String(f.Rand): 1}})
	}
}

// FuzzTxnReportJSON builds a transaction from fuzzed fields and wants the
// hand encoder to write what encoding/json writes. `go test` runs the
// seeds only; `go test -fuzz FuzzTxnReportJSON ./analysis` explores.
func FuzzTxnReportJSON(f *testing.F) {
	f.Add(1, "GET", "/", "HTTP/1.1", 200, []byte{}, uint16(0), int64(0), int64(0), 0.0, 0.0, "", "")
	f.Add(-5, "<>&", "\u2028\xff\x00\u009b", "\u202e", -1, []byte{100, 101}, uint16(0xffff), int64(math.MinInt64), int64(math.MaxInt64), 1e21, 1e-7, "content-length", "gap,rst")
	f.Add(123456789, "", "a\"\\b\t\n\r\f\b", "\x7f", 1<<40, []byte(nil), uint16(0x5555), int64(-1), int64(1e18), 123456789012345678.0, 0.000001, "\xe2\x80", "\x1b[31m")
	f.Fuzz(func(t *testing.T, id int, method, target, version string, status int, interim []byte, flags uint16,
		start, declared int64, ms1, ms2 float64, framing, anomalies string) {
		bit := func(i int) bool { return flags&(1<<i) != 0 }
		millis := func(i int, v float64) *Millis {
			if bit(i) {
				return nil
			}
			m := Millis(v)
			return &m
		}
		msg := func(i int) *MessageReport {
			if bit(i) {
				return nil
			}
			m := &MessageReport{FirstFrame: uint64(start), LastFrame: uint64(declared), Start: Time(start), End: Time(declared),
				HeaderBytes: declared, BodyBytes: -start, Framing: framing, Complete: bit(i + 1), IncompleteReason: target}
			if bit(i + 2) {
				m.DeclaredLength = &declared
			}
			if anomalies != "" || bit(i+3) {
				m.Anomalies = strings.Split(anomalies, ",")
			}
			return m
		}
		tr := &TxnReport{ID: id, Connection: -id, Index: status, Method: method, Target: target, Version: version, Status: status,
			Request: msg(0), Response: msg(4), Pipelined: bit(8), PersistentAfter: bit(9), Tunnel: bit(10),
			Timings:     Timings{ConnectMS: millis(11, ms1), SendMS: millis(12, ms2), WaitMS: millis(13, -ms1), ReceiveMS: millis(14, ms1*ms2), TotalMS: millis(15, ms1+ms2)},
			GapBeforeMS: millis(11, ms2-ms1),
		}
		if interim != nil {
			tr.Interim = []int{}
			for _, c := range interim {
				tr.Interim = append(tr.Interim, int(c)*int(status))
			}
		}
		checkFast(t, tr)
	})
}

// oldWriteJSON is WriteJSON as it was before the hand encoders: every
// value through json.Marshal and json.Indent.
func oldWriteJSON(r *Report, w io.Writer) error { return r.writeJSON(w, true) }
