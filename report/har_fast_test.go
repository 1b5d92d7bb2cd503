package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/connscope/connscope/analysis"
	"github.com/connscope/connscope/httpflow"
	"github.com/connscope/connscope/internal/jsontest"
)

// The HAR entries' hand encoder (har_fast.go) against encoding/json: what
// json.Encoder wrote for an entry, and what WriteHAR wrote before the
// hand encoder (oldWriteHAR, below), byte for byte.

// oldWriteHAR is WriteHAR as it was before the hand encoder: every entry
// through json.Encoder.
func oldWriteHAR(w io.Writer, r *analysis.Report, opts HAROptions) error {
	return writeHAR(w, r, opts, true)
}

// reflectHAREntry is what appendHAREntry must write: json.Encoder's
// bytes without the final new line; ok false when it refuses e.
func reflectHAREntry(e *harEntry, indent bool) ([]byte, bool) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	if indent {
		enc.SetIndent(harEntryIndent, "  ")
	}
	if err := enc.Encode(e); err != nil {
		return nil, false
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), true
}

// checkEntry wants e's hand encoding, compact and indented as WriteHAR
// indents entries, to be encoding/json's.
func checkEntry(t testing.TB, e *harEntry) {
	t.Helper()
	for _, indent := range []bool{false, true} {
		n := harCompact
		if indent {
			n = len(harEntryIndent)
		}
		want, wantOK := reflectHAREntry(e, indent)
		got, gotOK := appendHAREntry([]byte("x"), e, n)
		if gotOK != wantOK {
			t.Fatalf("entry (indent %v): hand encoder ok %v, encoding/json ok %v", indent, gotOK, wantOK)
		}
		if !gotOK {
			continue
		}
		if got[0] != 'x' {
			t.Fatal("appendHAREntry overwrote what b held")
		}
		if got = got[1:]; !bytes.Equal(got, want) {
			t.Fatalf("entry (indent %v): hand encoder differs from encoding/json %s", indent, jsontest.Diff(got, want))
		}
	}
}

// checkMembers wants every JSON field of typ (and of the structs and
// slices of structs inside it) among the members of v, decoded JSON.
func checkMembers(t testing.TB, typ reflect.Type, v any, path string) {
	t.Helper()
	m, ok := v.(map[string]any)
	if !ok {
		t.Fatalf("%s: %T, want an object", path, v)
	}
	for _, mb := range jsontest.Members(typ) {
		mv, ok := m[mb.Name]
		if !ok {
			t.Fatalf("%s.%s (%q) is not in the JSON of an entry with every field set", path, mb.Field, mb.Name)
		}
		switch ft := typ.Field(mb.Index).Type; {
		case ft.Kind() == reflect.Struct:
			checkMembers(t, ft, mv, path+"."+mb.Name)
		case ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Struct:
			for _, x := range mv.([]any) {
				checkMembers(t, ft.Elem(), x, path+"."+mb.Name+"[]")
			}
		}
	}
}

// TestHAREntryCoversEveryField sets every field of an entry (and of the
// types inside it) non-zero, then each top-level field alone, and wants
// encoding/json's bytes: a field added to an entry's types fails here
// until the hand encoder writes it.
func TestHAREntryCoversEveryField(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 32))
	typ := reflect.TypeFor[harEntry]()
	for range 50 {
		var e harEntry
		newFiller(t, rng, true, false).Fill(reflect.ValueOf(&e).Elem())
		raw, err := json.Marshal(&e)
		if err != nil {
			t.Fatal(err)
		}
		var v any
		if err := json.Unmarshal(raw, &v); err != nil {
			t.Fatal(err)
		}
		checkMembers(t, typ, v, "entry")
		checkEntry(t, &e)
	}
	// Each field alone, and each field of the request's, the response's
	// and the timings' alone.
	for _, sub := range []string{"", "Request", "Response", "Timings"} {
		st := typ
		if sub != "" {
			f, _ := typ.FieldByName(sub)
			st = f.Type
		}
		for i := range st.NumField() {
			for range 20 {
				for _, full := range []bool{true, false} {
					var e harEntry
					v := reflect.ValueOf(&e).Elem()
					if sub != "" {
						v = v.FieldByName(sub)
					}
					newFiller(t, rng, full, false).Fill(v.Field(i))
					checkEntry(t, &e)
				}
			}
		}
	}
	checkEntry(t, &harEntry{})
}

// TestHAREntryRandom: random entries, fields zero, nil, empty or hostile.
func TestHAREntryRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(33, 34))
	n := 3000
	if testing.Short() {
		n = 300
	}
	for range n {
		var e harEntry
		newFiller(t, rng, false, false).Fill(reflect.ValueOf(&e).Elem())
		checkEntry(t, &e)
	}
}

// TestHARFloat: appendHARFloat against json.Marshal of a float64, at the
// format's boundaries and at random; NaN and the infinities refused.
func TestHARFloat(t *testing.T) {
	rng := rand.New(rand.NewPCG(35, 36))
	f := newFiller(t, rng, false, false)
	xs := append([]float64{0, -1, 1e-6, 1e-5, 9.999999999999999e-7, 1e21, 9.999999999999999e20, 1e-9, 1e-10, 1e-100, 1e100, 5e-324},
		jsontest.BoundaryFloats...)
	for range 300000 {
		xs = append(xs, f.Float())
	}
	for _, x := range xs {
		for _, v := range []float64{x, -x} {
			want, err := json.Marshal(v)
			got, ok := appendHARFloat(nil, v)
			if ok != (err == nil) || !bytes.Equal(got, want) {
				t.Fatalf("%g: got %s %v, want %s %v", v, got, ok, want, err)
			}
		}
	}
	for _, v := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
		if _, ok := appendHARFloat(nil, v); ok {
			t.Fatalf("%g encoded; encoding/json refuses it", v)
		}
	}
}

// checkHARBothWays writes r with WriteHAR and oldWriteHAR, compact and
// indented, and wants the same bytes, or both an error.
func checkHARBothWays(t testing.TB, name string, r *analysis.Report) int {
	t.Helper()
	size := 0
	for _, opts := range []HAROptions{{}, {Indent: true, CreatorVersion: "v1 <&>\u2028"}} {
		var got, want bytes.Buffer
		errGot, errWant := WriteHAR(&got, r, opts), oldWriteHAR(&want, r, opts)
		if fmt.Sprint(errGot) != fmt.Sprint(errWant) {
			t.Fatalf("%s (indent %v): WriteHAR: %v; the old one: %v", name, opts.Indent, errGot, errWant)
		}
		if errGot == nil && !bytes.Equal(got.Bytes(), want.Bytes()) {
			t.Fatalf("%s (indent %v): WriteHAR differs from the old one %s", name, opts.Indent, jsontest.Diff(got.Bytes(), want.Bytes()))
		}
		size += got.Len()
	}
	return size
}

// TestHAREveryCapture writes the HAR of every capture both ways.
func TestHAREveryCapture(t *testing.T) {
	size, entries := 0, 0
	analyzeEach(t, func(name string, r *analysis.Report) {
		size += checkHARBothWays(t, name, r)
		entries += r.TransactionCount()
	})
	t.Logf("%d entries, %d bytes", entries, size)
	if entries < 500 {
		t.Fatalf("the captures gave %d entries; the test checks little", entries)
	}
}

// harHostileHeaders are header fields that reach every branch of
// harEntryOf: cookies, Set-Cookie attributes, Host, Content-Type,
// Content-Encoding, Location.
func harHostileHeaders(rng *rand.Rand) []httpflow.Header {
	names := []string{"Host", "host", "Cookie", "Set-Cookie", "set-cookie", "Content-Type", "Content-Encoding", "Location", "X-A"}
	values := []string{"a=1; b=2", "=", ";;", "id=x; Path=/p<; Domain=.ex&; Expires=Wed, 21 Oct 2015 07:28:00 GMT; Secure; HttpOnly",
		"id=\"q\"; expires=Sun, 06-Nov-1994 08:49:37 GMT", "n; max-age=5", "example.test:8080", "[::1]:80", "text/html; charset=\xff",
		"gzip", "http://x/\u2028", ""}
	var hs []httpflow.Header
	for range rng.IntN(8) {
		h := httpflow.Header{Name: names[rng.IntN(len(names))], Value: values[rng.IntN(len(values))]}
		if rng.IntN(3) == 0 {
			h.Value += reportStrings.String(rng)
		}
		if rng.IntN(8) == 0 {
			h.Name = reportStrings.String(rng)
		}
		hs = append(hs, h)
	}
	return hs
}

// TestHARRandomReports: whole reports of random transactions and
// connections, their hidden fields (headers, reason, response version)
// set too, written both ways.
func TestHARRandomReports(t *testing.T) {
	rng := rand.New(rand.NewPCG(37, 38))
	for range 200 {
		r := &analysis.Report{Schema: analysis.Schema}
		f := newFiller(t, rng, false, true)
		for i := range 1 + rng.IntN(3) {
			r.Inputs = append(r.Inputs, &analysis.InputReport{Index: i, Name: reportStrings.String(rng), Error: reportStrings.String(rng)})
		}
		for i := range rng.IntN(10) {
			c := &analysis.ConnReport{ID: i + 1, Input: rng.IntN(4), Server: []string{"10.0.0.1:80", "[2001:db8::1]:8080", reportStrings.String(rng)}[rng.IntN(3)]}
			r.Connections = append(r.Connections, c)
		}
		for range rng.IntN(20) {
			var tr analysis.TxnReport
			f.Fill(reflect.ValueOf(&tr).Elem())
			tr.Connection = rng.IntN(12)
			if rng.IntN(2) == 0 {
				tr.Target = []string{"/a?b=c&d=%41", "http://h/x", "*", "h:443", "/?q=%zz&&x"}[rng.IntN(5)] + tr.Target
			}
			if rng.IntN(2) == 0 {
				tr.Status = 300 + rng.IntN(100)
			}
			tr.RequestHeaders = append(tr.RequestHeaders, harHostileHeaders(rng)...)
			tr.ResponseHeaders = append(tr.ResponseHeaders, harHostileHeaders(rng)...)
			r.Transactions = append(r.Transactions, &tr)
		}
		checkHARBothWays(t, "random report", r)
	}
}

// TestHARNonFinite: WriteHAR turns a NaN or infinite Millis into the
// timing's default, so an entry never holds one; one that did would fail
// with encoding/json's error, as before.
func TestHARNonFinite(t *testing.T) {
	for _, v := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
		m := analysis.Millis(v)
		r := &analysis.Report{Transactions: []*analysis.TxnReport{{ID: 1, Timings: analysis.Timings{ConnectMS: &m, WaitMS: &m}}}}
		checkHARBothWays(t, "non-finite", r)
		checkEntry(t, &harEntry{Time: v})
		checkEntry(t, &harEntry{Timings: harTimings{Wait: v}})
		var got, want bytes.Buffer
		s, old := newHARStream(&got, true), newHARStream(&want, true)
		old.reflective = true
		errGot, errWant := s.entry(&harEntry{Time: v}), old.entry(&harEntry{Time: v})
		if errGot == nil || fmt.Sprint(errGot) != fmt.Sprint(errWant) {
			t.Fatalf("entry with %g: %v, before: %v", v, errGot, errWant)
		}
	}
}

// FuzzHAREntry builds a transaction from fuzzed fields, turns it into an
// entry as WriteHAR does, and wants encoding/json's bytes. `go test` runs
// the seeds only; `go test -fuzz FuzzHAREntry ./report` explores.
func FuzzHAREntry(f *testing.F) {
	f.Add("GET", "/a?b=c", "HTTP/1.1", 200, "OK", "Host", "example.test", "Set-Cookie", "a=b; Path=/; Secure", 1.5, 2.25, int64(1e18))
	f.Add("CONNECT", "h:443", "HTTP/1.0", 302, "<&>\u2028\xff", "Cookie", "x=1; y", "Location", "\x00\u009b", -1.0, 1e-7, int64(-1))
	f.Add("", "", "", -5, "", "", "", "Content-Encoding", "gzip", 1e21, 0.0005, int64(0))
	f.Fuzz(func(t *testing.T, method, target, version string, status int, reason, n1, v1, n2, v2 string, ms1, ms2 float64, start int64) {
		m1, m2 := analysis.Millis(ms1), analysis.Millis(ms2)
		tr := &analysis.TxnReport{ID: 1, Connection: 1, Method: method, Target: target, Version: version, Status: status, Reason: reason,
			Request:         &analysis.MessageReport{Start: analysis.Time(start), HeaderBytes: start, BodyBytes: -start},
			Response:        &analysis.MessageReport{Start: analysis.Time(start), Complete: ms1 > 0, IncompleteReason: v1},
			Timings:         analysis.Timings{ConnectMS: &m1, SendMS: &m2, WaitMS: &m1, ReceiveMS: &m2},
			RequestHeaders:  []httpflow.Header{{Name: n1, Value: v1}, {Name: n2, Value: v2}},
			ResponseHeaders: []httpflow.Header{{Name: n2, Value: v2}, {Name: n1, Value: v1}},
			Pipelined:       ms2 > ms1,
		}
		e := harEntryOf(tr, harConn{input: 0, server: v2}, status%2 == 0)
		e.PageRef = reason
		checkEntry(t, &e)
	})
}
