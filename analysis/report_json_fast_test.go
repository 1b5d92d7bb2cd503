package analysis

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/connscope/connscope/capture"
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

// firstDiff describes where got and want part.
func firstDiff(got, want []byte) string {
	i := 0
	for i < min(len(got), len(want)) && got[i] == want[i] {
		i++
	}
	return fmt.Sprintf("at byte %d of %d/%d:\n got …%q\nwant …%q", i, len(got), len(want),
		got[max(i-60, 0):min(i+60, len(got))], want[max(i-60, 0):min(i+60, len(want))])
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
			t.Fatalf("%T indented %d: hand encoder differs from encoding/json %s", a, n, firstDiff(got, want))
		}
	}
}

// Hostile pieces of the strings a capture puts into a report.
var hostilePieces = func() []string {
	p := []string{
		`<`, `>`, `&`, `"`, `\`, `/`, "\u2028", "\u2029", "\u2027", "\u202a", "\u202e", "\u200e", "\u200f",
		"\u2066", "\u2069", "\u0085", "\u009b", "\u00a0", "\u00e9", "€", "😀", "\ufffd", "\ufeff",
		"\xff", "\xfe", "\x80", "\xbf", "\xc0\xaf", "\xc2", "\xe2\x80", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xf0\x9f\x98",
		"GET", "HTTP/1.1", "/index.html?a=1&b=<2>", " ", "abc", "0",
	}
	for c := range 0x20 {
		p = append(p, string(rune(c)))
	}
	p = append(p, "\x7f")
	for r := rune(0x80); r < 0xa0; r++ {
		p = append(p, string(r))
	}
	return p
}()

func hostileString(rng *rand.Rand) string {
	var b strings.Builder
	switch rng.IntN(8) {
	case 0:
		return ""
	case 1: // long, now and then
		if rng.IntN(16) != 0 {
			break
		}
		for b.Len() < 5000+rng.IntN(20000) {
			b.WriteString(hostilePieces[rng.IntN(len(hostilePieces))])
		}
		return b.String()
	case 2: // random bytes
		n := rng.IntN(40)
		for range n {
			b.WriteByte(byte(rng.IntN(256)))
		}
		return b.String()
	}
	for range 1 + rng.IntN(12) {
		b.WriteString(hostilePieces[rng.IntN(len(hostilePieces))])
	}
	return b.String()
}

// Floats at encoding/json's and strconv's boundaries ('e' notation below
// 1e-6 and from 1e21 for float64, rounding at the third decimal).
var boundaryFloats = []float64{
	1e-7, 1e-6, 0.000001, 9.99999e-7, 1e20, 1e21, 1e21 - 65536, 123456789012345678, 0.0005, 0.0015, 0.0025,
	0.001, 0.0004999, 2.5e-4, 1.0005, 999.9995, 1e-300, 1e300, math.MaxFloat64, math.SmallestNonzeroFloat64,
	math.Copysign(0, -1), 0.1, 0.7, 1.5, 12.345, 40.0, 1 << 53, 1<<53 + 1, math.MaxInt64, math.MinInt64,
}

var boundaryInts = []int64{0, 1, -1, 9, 10, 99, 100, 1e9, -1e9, 1 << 31, -1 << 31, 1<<53 + 1, 123456789012345678,
	math.MaxInt64, math.MinInt64, math.MaxInt64 - 1, math.MinInt64 + 1}

// filler puts values into report structs through reflection, so that a
// field added to a report type is set (and its JSON checked) without this
// test knowing it exists.
type filler struct {
	rng *rand.Rand
	// full sets every field non-zero, every slice non-empty and every
	// pointer non-nil; otherwise each is zero, empty, nil or set at random.
	full bool
	t    testing.TB
}

func (f *filler) int64() int64 {
	switch f.rng.IntN(3) {
	case 0:
		return boundaryInts[f.rng.IntN(len(boundaryInts))]
	case 1:
		return f.rng.Int64N(100000) - 1000
	}
	return int64(f.rng.Uint64())
}

func (f *filler) float() float64 {
	switch f.rng.IntN(4) {
	case 0:
		v := boundaryFloats[f.rng.IntN(len(boundaryFloats))]
		if f.rng.IntN(2) == 0 {
			v = -v
		}
		return v
	case 1:
		return float64(f.rng.Int64N(1e7)) / 1e6
	case 2:
		return math.Float64frombits(f.rng.Uint64() &^ (0x7ff << 52) >> uint(f.rng.IntN(3))) // finite
	}
	return f.rng.NormFloat64() * math.Pow(10, float64(f.rng.IntN(40)-15))
}

// fill sets v (settable) to a value of its type.
func (f *filler) fill(v reflect.Value) {
	zero := !f.full && f.rng.IntN(4) == 0
	switch v.Kind() {
	case reflect.Bool:
		v.SetBool(f.full || f.rng.IntN(2) == 0)
	case reflect.Int, reflect.Int64, reflect.Int32, reflect.Int16, reflect.Int8:
		x := f.int64()
		for x == 0 && f.full {
			x = f.int64()
		}
		if zero {
			x = 0
		}
		v.SetInt(x)
	case reflect.Uint, reflect.Uint64, reflect.Uint32, reflect.Uint16, reflect.Uint8:
		x := uint64(f.int64())
		for x == 0 && f.full {
			x = uint64(f.int64())
		}
		if zero {
			x = 0
		}
		v.SetUint(x)
	case reflect.Float64, reflect.Float32:
		x := f.float()
		for x == 0 && f.full {
			x = f.float()
		}
		if zero {
			x = 0
		}
		v.SetFloat(x)
	case reflect.String:
		s := hostileString(f.rng)
		for s == "" && f.full {
			s = hostileString(f.rng)
		}
		if zero {
			s = ""
		}
		v.SetString(s)
	case reflect.Pointer:
		if zero {
			v.SetZero()
			return
		}
		p := reflect.New(v.Type().Elem())
		f.fill(p.Elem())
		v.Set(p)
	case reflect.Slice:
		n := 1 + f.rng.IntN(4)
		if !f.full {
			switch f.rng.IntN(3) {
			case 0:
				v.SetZero() // nil
				return
			case 1:
				n = 0 // empty, not nil
			}
		}
		s := reflect.MakeSlice(v.Type(), n, n)
		for i := range n {
			f.fill(s.Index(i))
		}
		v.Set(s)
	case reflect.Struct:
		for i := range v.NumField() {
			sf := v.Type().Field(i)
			if !sf.IsExported() || sf.Tag.Get("json") == "-" {
				continue
			}
			f.fill(v.Field(i))
		}
	default:
		f.t.Fatalf("the test's filler does not know %s (%s): teach it, and the hand encoder", v.Type(), v.Kind())
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
			(&filler{rng: rng, full: true, t: t}).fill(p.Elem())
			// Every member is present (none is omitted as empty).
			var m map[string]any
			raw, _ := json.Marshal(p.Interface())
			if err := json.Unmarshal(raw, &m); err != nil {
				t.Fatal(err)
			}
			for i := range typ.NumField() {
				sf := typ.Field(i)
				name, _, _ := strings.Cut(sf.Tag.Get("json"), ",")
				if !sf.IsExported() || name == "-" {
					continue
				}
				if _, ok := m[name]; !ok {
					t.Fatalf("%s.%s (%q) is not in the JSON of a value with every field set: %s", typ.Name(), sf.Name, name, raw)
				}
			}
			checkFast(t, p.Interface().(jsonAppender))
		}
		// One field at a time, the others zero.
		for i := range typ.NumField() {
			sf := typ.Field(i)
			if !sf.IsExported() || sf.Tag.Get("json") == "-" {
				continue
			}
			for range 20 {
				p := reflect.New(typ)
				(&filler{rng: rng, full: true, t: t}).fill(p.Elem().Field(i))
				checkFast(t, p.Interface().(jsonAppender))
				(&filler{rng: rng, t: t}).fill(p.Elem().Field(i))
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
			(&filler{rng: rng, t: t}).fill(p.Elem())
			checkFast(t, p.Interface().(jsonAppender))
		}
	}
}

// TestFastStringsAndNumbers checks the pieces on their own: every string
// of up to two runes drawn from the hostile ones, every byte, every rune
// of the BMP; times over all of int64; Millis at the boundaries.
func TestFastStringsAndNumbers(t *testing.T) {
	str := func(s string) {
		t.Helper()
		want, _ := json.Marshal(s)
		if got := appendJSONString(nil, s); !bytes.Equal(got, want) {
			t.Fatalf("string %q: got %s, want %s", s, got, want)
		}
	}
	for _, a := range hostilePieces {
		for _, b := range hostilePieces {
			str(a + b)
		}
	}
	for c := range 256 {
		str(string([]byte{byte(c)}))
		str("a" + string([]byte{byte(c)}) + "b")
	}
	for r := rune(0); r < 0x10000; r++ {
		str(string(r))
	}
	for r := rune(0x10000); r <= utf8.MaxRune; r += 997 {
		str(string(r))
	}
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
	f := &filler{rng: rng, t: t}
	floats := append([]float64(nil), boundaryFloats...)
	for range 200000 {
		floats = append(floats, f.float())
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
		t.Fatalf("WriteJSON differs from the old WriteJSON %s", firstDiff(got.Bytes(), want.Bytes()))
	}
}

// TestWriteJSONEveryCapture analyses every capture of testdata/captures
// and of the shared public captures (when present), listing in memory and
// spilled, and writes each report both ways.
func TestWriteJSONEveryCapture(t *testing.T) {
	var paths []string
	for _, dir := range []string{"../testdata/captures", sharedpcaps.Dir()} {
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Logf("%s: %v; skipping it", dir, err)
			continue
		}
		for _, e := range entries {
			if e.IsDir() || strings.HasSuffix(e.Name(), ".md") {
				continue
			}
			paths = append(paths, filepath.Join(dir, e.Name()))
		}
	}
	if len(paths) < 10 {
		t.Fatalf("only %d captures found", len(paths))
	}
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
		(&filler{rng: rng, t: t}).fillReportElements(&r)
		r.Schema = hostileString(rng)
		checkBothWays(t, &r)
		checkWriteJSON(t, &r)
	}
}

// fillReportElements fills r's connections, transactions and findings,
// leaving the slices nil, empty, or with nil entries at random.
func (f *filler) fillReportElements(r *Report) {
	v := reflect.ValueOf(r).Elem()
	for _, name := range []string{"Connections", "Transactions", "Findings"} {
		s := v.FieldByName(name)
		switch f.rng.IntN(4) {
		case 0:
			continue // nil
		case 1:
			s.Set(reflect.MakeSlice(s.Type(), 0, 0))
			continue
		}
		n := f.rng.IntN(20)
		s.Set(reflect.MakeSlice(s.Type(), n, n))
		for i := range n {
			if f.rng.IntN(10) != 0 {
				f.fill(s.Index(i))
			}
		}
	}
	inputs := f.rng.IntN(3)
	for range inputs {
		r.Inputs = append(r.Inputs, &InputReport{Name: hostileString(f.rng), Skipped: map[string]int64{hostileString(f.rng): 1}})
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
// element through json.Marshal and json.Indent.
func oldWriteJSON(r *Report, w io.Writer) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	jw := &oldJSONWriter{w: bw}
	jw.raw("{\n")
	jw.field("schema", r.Schema, false)
	if r.Rules != nil {
		jw.field("rules", r.Rules, false)
	}
	oldWriteArrayField(jw, "inputs", r.Inputs, false)
	if r.listing != nil {
		if err := oldWriteEachField(jw, "connections", r.EachConnection); err != nil {
			return err
		}
		if err := oldWriteEachField(jw, "transactions", r.EachTransaction); err != nil {
			return err
		}
	} else {
		oldWriteArrayField(jw, "connections", r.Connections, false)
		oldWriteArrayField(jw, "transactions", r.Transactions, false)
	}
	oldWriteArrayField(jw, "findings", r.Findings, true)
	jw.raw("}\n")
	if jw.err != nil {
		return jw.err
	}
	return bw.Flush()
}

type oldJSONWriter struct {
	w   *bufio.Writer
	buf bytes.Buffer
	err error
}

func (jw *oldJSONWriter) raw(s string) {
	if jw.err == nil {
		_, jw.err = jw.w.WriteString(s)
	}
}

func (jw *oldJSONWriter) value(v any, depth int) {
	if jw.err != nil {
		return
	}
	b, err := json.Marshal(v)
	if err != nil {
		jw.err = err
		return
	}
	jw.buf.Reset()
	prefix := "  "
	for range depth - 1 {
		prefix += "  "
	}
	if err := json.Indent(&jw.buf, b, prefix, "  "); err != nil {
		jw.err = err
		return
	}
	_, jw.err = jw.w.Write(jw.buf.Bytes())
}

func (jw *oldJSONWriter) key(name string) {
	jw.raw("  ")
	jw.value(name, 1)
	jw.raw(": ")
}

func (jw *oldJSONWriter) field(name string, v any, last bool) {
	jw.key(name)
	jw.value(v, 1)
	jw.end(last)
}

func (jw *oldJSONWriter) end(last bool) {
	if last {
		jw.raw("\n")
	} else {
		jw.raw(",\n")
	}
}

func oldWriteEachField[T any](jw *oldJSONWriter, name string, each func(func(T) error) error) error {
	jw.key(name)
	n := 0
	err := each(func(x T) error {
		if n == 0 {
			jw.raw("[\n")
		} else {
			jw.raw(",\n")
		}
		n++
		jw.raw("    ")
		jw.value(x, 2)
		return jw.err
	})
	if err != nil && err != jw.err {
		return err
	}
	if n == 0 {
		jw.raw("[]")
	} else {
		jw.raw("\n  ]")
	}
	jw.end(false)
	return nil
}

func oldWriteArrayField[T any](jw *oldJSONWriter, name string, xs []T, last bool) {
	jw.key(name)
	switch {
	case xs == nil:
		jw.raw("null")
	case len(xs) == 0:
		jw.raw("[]")
	default:
		jw.raw("[\n")
		for i, x := range xs {
			jw.raw("    ")
			jw.value(x, 2)
			if i < len(xs)-1 {
				jw.raw(",\n")
			} else {
				jw.raw("\n")
			}
		}
		jw.raw("  ]")
	}
	jw.end(last)
}
