// Package jsontest holds what the differential tests of the hand-written
// JSON encoders (analysis's reports, report's NDJSON lines and HAR
// entries) share when they compare them with encoding/json: hostile
// strings, numbers at the formatting boundaries, a filler that sets the
// fields of a report struct through reflection, the JSON members of a
// struct type, and a description of where two outputs part.
//
// It is imported only by tests, and imports neither analysis nor report,
// so that both can use it.
package jsontest

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// Pieces returns the hostile pieces of the strings a capture puts into a
// report (HTML and JSON specials, line and paragraph separators,
// bidirectional controls, invalid and truncated UTF-8), then extra, then
// every C0 control, DEL and every C1 control.
func Pieces(extra ...string) []string {
	p := []string{
		`<`, `>`, `&`, `"`, `\`, `/`, "\u2028", "\u2029", "\u2027", "\u202a", "\u202e", "\u200e", "\u200f",
		"\u2066", "\u2069", "\u0085", "\u009b", "\u00a0", "\u00e9", "€", "😀", "\ufffd", "\ufeff",
		"\xff", "\xfe", "\x80", "\xbf", "\xc0\xaf", "\xc2", "\xe2\x80", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xf0\x9f\x98",
		"GET", "HTTP/1.1", "/index.html?a=1&b=<2>", " ", "abc", "0",
	}
	p = append(p, extra...)
	for c := range 0x20 {
		p = append(p, string(rune(c)))
	}
	p = append(p, "\x7f")
	for r := rune(0x80); r < 0xa0; r++ {
		p = append(p, string(r))
	}
	return p
}

// HTTPPieces are pieces of header fields, cookies and URLs, for the
// encoders whose input is parsed from them (HAR).
var HTTPPieces = []string{
	"Set-Cookie", "a=b; Path=/; HttpOnly",
	"%", "%zz", "%41", "?", "#", "=", ";", "http://", "Host", "Content-Type", "Location", "Expires=Wed, 21 Oct 2015 07:28:00 GMT",
}

// Strings makes hostile strings out of pieces.
type Strings struct {
	Pieces []string
	// A long string, made one time in 128, grows by pieces while it is
	// shorter than LongMin+rng.IntN(LongSpan), drawn afresh each time:
	// LongMin bytes or more, about LongMin+LongSpan at the most.
	LongMin, LongSpan int
}

// Hostile is Strings of Pieces() with long strings of 5000 to about
// 25000 bytes.
var Hostile = &Strings{Pieces: Pieces(), LongMin: 5000, LongSpan: 20000}

// String returns a string drawn from rng: empty one time in 8, random
// bytes one in 8, long now and then, else 1 to 12 pieces.
func (s *Strings) String(rng *rand.Rand) string {
	var b strings.Builder
	switch rng.IntN(8) {
	case 0:
		return ""
	case 1: // long, now and then
		if rng.IntN(16) != 0 {
			break
		}
		for b.Len() < s.LongMin+rng.IntN(s.LongSpan) {
			b.WriteString(s.Pieces[rng.IntN(len(s.Pieces))])
		}
		return b.String()
	case 2: // random bytes
		for range rng.IntN(40) {
			b.WriteByte(byte(rng.IntN(256)))
		}
		return b.String()
	}
	for range 1 + rng.IntN(12) {
		b.WriteString(s.Pieces[rng.IntN(len(s.Pieces))])
	}
	return b.String()
}

// BoundaryFloats are floats at encoding/json's and strconv's boundaries
// ('e' notation below 1e-6 and from 1e21 for float64, rounding at the
// third decimal).
var BoundaryFloats = []float64{
	1e-7, 1e-6, 0.000001, 9.99999e-7, 1e20, 1e21, 1e21 - 65536, 123456789012345678, 0.0005, 0.0015, 0.0025,
	0.001, 0.0004999, 2.5e-4, 1.0005, 999.9995, 1e-300, 1e300, math.MaxFloat64, math.SmallestNonzeroFloat64,
	math.Copysign(0, -1), 0.1, 0.7, 1.5, 12.345, 40.0, 1 << 53, 1<<53 + 1, math.MaxInt64, math.MinInt64,
}

// BoundaryInts are integers at the boundaries of the digit counts, of
// int32, of float64's exact integers and of int64.
var BoundaryInts = []int64{0, 1, -1, 9, 10, 99, 100, 1e9, -1e9, 1 << 31, -1 << 31, 1<<53 + 1, 123456789012345678,
	math.MaxInt64, math.MinInt64, math.MaxInt64 - 1, math.MinInt64 + 1}

// Filler puts values into report structs through reflection, so that a
// field added to a report type is set (and its JSON checked) without the
// tests knowing it exists.
type Filler struct {
	Rand *rand.Rand
	// Full sets every field non-zero, every slice non-empty and every
	// pointer non-nil; otherwise each is zero, empty, nil or set at random.
	Full bool
	// Hidden fills the fields tagged json:"-" too (HAR reads some).
	Hidden bool
	// Strings makes the strings; nil is Hostile.
	Strings *Strings
	T       testing.TB
}

// Int64 returns a boundary integer, a small one or any int64.
func (f *Filler) Int64() int64 {
	switch f.Rand.IntN(3) {
	case 0:
		return BoundaryInts[f.Rand.IntN(len(BoundaryInts))]
	case 1:
		return f.Rand.Int64N(100000) - 1000
	}
	return int64(f.Rand.Uint64())
}

// Float returns a finite float64: a boundary one (either sign), one with
// few decimals, random bits, or a normal deviate at a random scale.
func (f *Filler) Float() float64 {
	switch f.Rand.IntN(4) {
	case 0:
		v := BoundaryFloats[f.Rand.IntN(len(BoundaryFloats))]
		if f.Rand.IntN(2) == 0 {
			v = -v
		}
		return v
	case 1:
		return float64(f.Rand.Int64N(1e7)) / 1e6
	case 2:
		return math.Float64frombits(f.Rand.Uint64() &^ (0x7ff << 52) >> uint(f.Rand.IntN(3))) // finite
	}
	return f.Rand.NormFloat64() * math.Pow(10, float64(f.Rand.IntN(40)-15))
}

// String returns a string of f.Strings (or Hostile).
func (f *Filler) String() string {
	if f.Strings == nil {
		return Hostile.String(f.Rand)
	}
	return f.Strings.String(f.Rand)
}

// Fill sets v (settable) to a value of its type: booleans, integers
// (within the kind's range), floats and strings, and pointers to, slices
// of and structs of them. Any other kind fails the test, so that a field
// of a new kind is taught here and to the hand encoders together.
func (f *Filler) Fill(v reflect.Value) {
	zero := !f.Full && f.Rand.IntN(4) == 0
	switch v.Kind() {
	case reflect.Bool:
		v.SetBool(f.Full || f.Rand.IntN(2) == 0)
	case reflect.Int, reflect.Int64, reflect.Int32, reflect.Int16, reflect.Int8:
		x := f.Int64()
		for (x == 0 && f.Full) || v.OverflowInt(x) {
			x = f.Int64()
		}
		if zero {
			x = 0
		}
		v.SetInt(x)
	case reflect.Uint, reflect.Uint64, reflect.Uint32, reflect.Uint16, reflect.Uint8:
		x := uint64(f.Int64())
		for (x == 0 && f.Full) || v.OverflowUint(x) {
			x = uint64(f.Int64())
		}
		if zero {
			x = 0
		}
		v.SetUint(x)
	case reflect.Float64, reflect.Float32:
		x := f.Float()
		for x == 0 && f.Full {
			x = f.Float()
		}
		if zero {
			x = 0
		}
		v.SetFloat(x)
	case reflect.String:
		s := f.String()
		for s == "" && f.Full {
			s = f.String()
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
		f.Fill(p.Elem())
		v.Set(p)
	case reflect.Slice:
		n := 1 + f.Rand.IntN(4)
		if !f.Full {
			switch f.Rand.IntN(3) {
			case 0:
				v.SetZero() // nil
				return
			case 1:
				n = 0 // empty, not nil
			}
		}
		s := reflect.MakeSlice(v.Type(), n, n)
		for i := range n {
			f.Fill(s.Index(i))
		}
		v.Set(s)
	case reflect.Struct:
		for i := range v.NumField() {
			sf := v.Type().Field(i)
			if !sf.IsExported() || (sf.Tag.Get("json") == "-" && !f.Hidden) {
				continue
			}
			f.Fill(v.Field(i))
		}
	default:
		f.T.Fatalf("the test's filler does not know %s (%s): teach it, and the hand encoder", v.Type(), v.Kind())
	}
}

// Member is a field of a struct type that encoding/json writes.
type Member struct {
	Index int    // in the struct type
	Field string // the Go name
	Name  string // the JSON member name
}

// Members lists, in order, the fields of the struct type typ that
// encoding/json writes as members: exported, not tagged json:"-"; Name is
// the tag's name, or else the field's.
func Members(typ reflect.Type) []Member {
	var ms []Member
	for i := range typ.NumField() {
		sf := typ.Field(i)
		if !sf.IsExported() || sf.Tag.Get("json") == "-" {
			continue
		}
		name, _, _ := strings.Cut(sf.Tag.Get("json"), ",")
		if name == "" {
			name = sf.Name
		}
		ms = append(ms, Member{Index: i, Field: sf.Name, Name: name})
	}
	return ms
}

// Names lists the JSON member names of the struct type typ.
func Names(typ reflect.Type) []string {
	var names []string
	for _, m := range Members(typ) {
		names = append(names, m.Name)
	}
	return names
}

// Diff describes where got and want part, with up to 60 bytes of each
// either side.
func Diff(got, want []byte) string {
	i := 0
	for i < min(len(got), len(want)) && got[i] == want[i] {
		i++
	}
	return fmt.Sprintf("at byte %d of %d/%d:\n got …%q\nwant …%q", i, len(got), len(want),
		got[max(i-60, 0):min(i+60, len(got))], want[max(i-60, 0):min(i+60, len(want))])
}

// Captures lists the files of dirs, but for directories and *.md files,
// logging each directory it cannot read; it fails the test when it finds
// fewer than 10.
func Captures(t testing.TB, dirs ...string) []string {
	t.Helper()
	var paths []string
	for _, dir := range dirs {
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
	return paths
}
