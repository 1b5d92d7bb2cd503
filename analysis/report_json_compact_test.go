package analysis

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/connscope/connscope/internal/jsontest"
)

// The hand encoders in their compact form (jsonCompact, and the exported
// AppendConnJSON, AppendTxnJSON and AppendFindingJSON that the NDJSON
// report writes with) against json.Marshal.

// checkCompact wants a's compact hand encoding to be json.Marshal's bytes,
// and, for the exported appenders, the bytes of a struct embedding it
// after a "type" field, as the NDJSON lines do.
func checkCompact(t testing.TB, a jsonAppender) {
	t.Helper()
	want, err := json.Marshal(a)
	got, ok := a.appendJSON([]byte("x"), jsonCompact)
	if ok != (err == nil) {
		t.Fatalf("%T compact: hand encoder ok %v, json.Marshal %v", a, ok, err)
	}
	if ok {
		if got[0] != 'x' {
			t.Fatalf("%T: appendJSON overwrote what b held", a)
		}
		if got = got[1:]; !bytes.Equal(got, want) {
			t.Fatalf("%T compact: hand encoder differs from json.Marshal %s", a, jsontest.Diff(got, want))
		}
	}
	const lead = `"type":"x\u003c"`
	var line any
	switch v := a.(type) {
	case *ConnReport:
		line = struct {
			Type string `json:"type"`
			*ConnReport
		}{"x<", v}
		got, ok = AppendConnJSON([]byte("x"), v, lead)
	case *TxnReport:
		line = struct {
			Type string `json:"type"`
			*TxnReport
		}{"x<", v}
		got, ok = AppendTxnJSON([]byte("x"), v, lead)
	case *FindingReport:
		line = struct {
			Type string `json:"type"`
			*FindingReport
		}{"x<", v}
		got, ok = AppendFindingJSON([]byte("x"), v, lead)
	default:
		return
	}
	want, err = json.Marshal(line)
	if ok != (err == nil) {
		t.Fatalf("%T with a lead: hand encoder ok %v, json.Marshal %v", a, ok, err)
	}
	if ok && !bytes.Equal(got[1:], want) {
		t.Fatalf("%T with a lead: hand encoder differs from json.Marshal %s", a, jsontest.Diff(got[1:], want))
	}
}

// TestCompactEncodersCoverEveryField is TestFastEncodersCoverEveryField
// for the compact form: every field set, then each field alone.
func TestCompactEncodersCoverEveryField(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	for _, typ := range fastTypes {
		for range 50 {
			p := reflect.New(typ)
			(&jsontest.Filler{Rand: rng, Full: true, T: t}).Fill(p.Elem())
			checkCompact(t, p.Interface().(jsonAppender))
		}
		for _, mb := range jsontest.Members(typ) {
			for range 20 {
				p := reflect.New(typ)
				(&jsontest.Filler{Rand: rng, Full: true, T: t}).Fill(p.Elem().Field(mb.Index))
				checkCompact(t, p.Interface().(jsonAppender))
				(&jsontest.Filler{Rand: rng, T: t}).Fill(p.Elem().Field(mb.Index))
				checkCompact(t, p.Interface().(jsonAppender))
			}
		}
		checkCompact(t, reflect.New(typ).Interface().(jsonAppender))
		checkCompact(t, reflect.Zero(reflect.PointerTo(typ)).Interface().(jsonAppender))
	}
}

// TestCompactEncodersRandom: random hostile values in compact form.
func TestCompactEncodersRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 16))
	n := 2000
	if testing.Short() {
		n = 200
	}
	for range n {
		for _, typ := range fastTypes {
			p := reflect.New(typ)
			(&jsontest.Filler{Rand: rng, T: t}).Fill(p.Elem())
			checkCompact(t, p.Interface().(jsonAppender))
		}
	}
}

// TestCompactRefusesNaN: the exported appenders decline what json.Marshal
// refuses.
func TestCompactRefusesNaN(t *testing.T) {
	nan, inf := Millis(math.NaN()), Millis(math.Inf(-1))
	if _, ok := AppendConnJSON(nil, &ConnReport{DurationMS: nan}, ""); ok {
		t.Error("AppendConnJSON wrote a NaN")
	}
	if _, ok := AppendConnJSON(nil, &ConnReport{IRTTMS: &inf}, `"type":"c"`); ok {
		t.Error("AppendConnJSON wrote an infinity")
	}
	if _, ok := AppendTxnJSON(nil, &TxnReport{Timings: Timings{ReceiveMS: &nan}}, ""); ok {
		t.Error("AppendTxnJSON wrote a NaN")
	}
	if _, ok := AppendFindingJSON(nil, &FindingReport{CostMS: &inf}, ""); ok {
		t.Error("AppendFindingJSON wrote an infinity")
	}
}

// FuzzCompactFindingJSON builds a finding from fuzzed fields and wants
// the hand encoder, compact and indented, to write what encoding/json
// writes. `go test` runs the seeds only; `go test -fuzz
// FuzzCompactFindingJSON ./analysis` explores.
func FuzzCompactFindingJSON(f *testing.F) {
	f.Add("CT1001", "slug", "warn", 3, []byte{1, 2}, int64(0), 1.5, "msg <&>", "\u2028\xff", uint8(0))
	f.Add("", "", "", -1, []byte(nil), int64(math.MinInt64), 1e21, "\x00\x1f\u009b", "", uint8(0xff))
	f.Fuzz(func(t *testing.T, rule, slug, sev string, conn int, frames []byte, at int64, cost float64, msg, vantage string, flags uint8) {
		fr := &FindingReport{Rule: rule, Slug: slug, Severity: sev, Connection: conn, Transaction: -conn, Time: Time(at), Message: msg, Vantage: vantage}
		if flags&1 != 0 {
			m := Millis(cost)
			fr.CostMS = &m
		}
		if frames != nil {
			fr.Frames = []uint64{}
			for _, c := range frames {
				fr.Frames = append(fr.Frames, uint64(c)*uint64(at))
				if flags&2 != 0 {
					fr.Connections = append(fr.Connections, int(c)-conn)
				}
				if flags&4 != 0 {
					fr.Related = append(fr.Related, RelatedReport{Frame: uint64(c), Time: Time(at - int64(c)), Message: msg + vantage})
				}
			}
		}
		checkCompact(t, fr)
		checkFast(t, fr)
	})
}
