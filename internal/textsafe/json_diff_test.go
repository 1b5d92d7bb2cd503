package textsafe

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"testing"
	"unicode/utf8"
)

// oldJSONWriter is JSONWriter as it was before Write copied runs of bytes
// in bulk (one append per byte): the reference the differential tests hold
// the new one to.
type oldJSONWriter struct {
	w    io.Writer
	pend []byte
	out  []byte
}

func (j *oldJSONWriter) Write(p []byte) (int, error) {
	data := p
	if len(j.pend) > 0 {
		data = append(j.pend, p...)
	}
	j.out = j.out[:0]
	i := 0
	for i < len(data) {
		c := data[i]
		if c != 0xc2 && c != 0xe2 {
			j.out = append(j.out, c)
			i++
			continue
		}
		if !utf8.FullRune(data[i:]) {
			break
		}
		r, size := utf8.DecodeRune(data[i:])
		if escapeInJSON(r) {
			j.out = fmt.Appendf(j.out, `\u%04x`, r)
		} else {
			j.out = append(j.out, data[i:i+size]...)
		}
		i += size
	}
	j.pend = append(j.pend[:0], data[i:]...)
	if _, err := j.w.Write(j.out); err != nil {
		return 0, err
	}
	return len(p), nil
}

func (j *oldJSONWriter) Flush() error {
	if len(j.pend) == 0 {
		return nil
	}
	_, err := j.w.Write(j.pend)
	j.pend = j.pend[:0]
	return err
}

// recorder keeps every Write it is given separately, so the two writers'
// calls can be compared and not only their concatenation; it fails the
// Write numbered failAt (from 1).
type recorder struct {
	writes [][]byte
	failAt int
}

func (r *recorder) Write(p []byte) (int, error) {
	r.writes = append(r.writes, bytes.Clone(p))
	if len(r.writes) == r.failAt {
		return 0, errors.New("disk full")
	}
	return len(p), nil
}

// hostileBytes is a random stream of ASCII, lead bytes of the escaped
// runes, their continuation bytes, whole escaped and unescaped runes, and
// invalid UTF-8.
func hostileBytes(rng *rand.Rand, n int) []byte {
	pieces := []string{
		"\xc2", "\xe2", "\x80", "\x81", "\x9b", "\x9f", "\xa0", "\xbf", "\xff", "\xc3", "\xf0", "\xe2\x80", "\xe2\x81",
		"\u0080", "\u009b", "\u009f", "\u00a0", "\u00e9", "\u200d", "\u200e", "\u200f", "\u2028", "\u202a", "\u202e",
		"\u202f", "\u2065", "\u2066", "\u2069", "\u206a", "€", "😀", "\ufffd",
		"a", "bc", `"`, `\`, "\n", "0123456789abcdef0123",
	}
	var b []byte
	for len(b) < n {
		if rng.IntN(4) == 0 {
			b = append(b, byte(rng.IntN(256)))
		} else {
			b = append(b, pieces[rng.IntN(len(pieces))]...)
		}
	}
	return b
}

// splits cuts b into random pieces, empty ones included.
func splits(rng *rand.Rand, b []byte) [][]byte {
	var out [][]byte
	for len(b) > 0 {
		n := 0
		switch rng.IntN(4) {
		case 0:
			n = rng.IntN(4) // 0 to 3 bytes: cuts inside sequences
		case 1:
			n = rng.IntN(40)
		default:
			n = rng.IntN(len(b) + 1)
		}
		n = min(n, len(b))
		out = append(out, b[:n])
		b = b[n:]
	}
	return out
}

// TestJSONWriterMatchesOld feeds the old and the new JSONWriter the same
// random byte streams in the same random Writes and wants the same calls
// to the underlying writer, the same results and the same bytes.
func TestJSONWriterMatchesOld(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for iter := range 20000 {
		in := hostileBytes(rng, rng.IntN(300))
		parts := splits(rng, in)
		failAt := 0
		if rng.IntN(10) == 0 {
			failAt = 1 + rng.IntN(len(parts)+2)
		}
		oldRec, newRec := &recorder{failAt: failAt}, &recorder{failAt: failAt}
		oldW, newW := &oldJSONWriter{w: oldRec}, NewJSONWriter(newRec)
		for k, p := range parts {
			// The writers must not depend on p staying unchanged
			// after Write returns: each gets its own copy, scribbled
			// over afterwards.
			po, pn := bytes.Clone(p), bytes.Clone(p)
			no, eo := oldW.Write(po)
			nn, en := newW.Write(pn)
			if no != nn || (eo == nil) != (en == nil) {
				t.Fatalf("iter %d: Write %d of %q in %q: old %d, %v; new %d, %v", iter, k, p, parts, no, eo, nn, en)
			}
			for i := range po {
				po[i], pn[i] = 'X', 'X'
			}
		}
		eo, en := oldW.Flush(), newW.Flush()
		if (eo == nil) != (en == nil) {
			t.Fatalf("iter %d: Flush: old %v, new %v", iter, eo, en)
		}
		if len(oldRec.writes) != len(newRec.writes) {
			t.Fatalf("iter %d: %q in %q: old made %d Writes, new %d", iter, in, parts, len(oldRec.writes), len(newRec.writes))
		}
		for k := range oldRec.writes {
			if !bytes.Equal(oldRec.writes[k], newRec.writes[k]) {
				t.Fatalf("iter %d: %q in %q: Write %d: old %q, new %q", iter, in, parts, k, oldRec.writes[k], newRec.writes[k])
			}
		}
	}
}

// TestJSONWriterLongRuns: runs longer than a word, lead bytes at every
// offset of a word, and an escape at the very start and end.
func TestJSONWriterLongRuns(t *testing.T) {
	ascii := bytes.Repeat([]byte("abcdefgh"), 9)
	for _, mid := range []string{"\u009b", "\u202e", "é", "\xc2", "\xe2\x80", "\xe2\x80\xae", "\u2028"} {
		for off := 0; off <= len(ascii); off++ {
			in := append(append(append([]byte(mid), ascii[:off]...), mid...), ascii[off:]...)
			in = append(in, mid...)
			var o, n bytes.Buffer
			ow, nw := &oldJSONWriter{w: &o}, NewJSONWriter(&n)
			ow.Write(in)
			nw.Write(in)
			ow.Flush()
			nw.Flush()
			if !bytes.Equal(o.Bytes(), n.Bytes()) {
				t.Fatalf("%q: old %q, new %q", in, o.Bytes(), n.Bytes())
			}
		}
	}
}

func benchJSONWriter(b *testing.B, w io.Writer, chunk []byte) {
	b.SetBytes(int64(len(chunk)))
	for b.Loop() {
		w.Write(chunk)
	}
}

// BenchmarkJSONWriter writes 64 KiB chunks of report-like JSON (ASCII with
// an occasional é) through the old and the new writer.
func BenchmarkJSONWriter(b *testing.B) {
	line := []byte("      \"target\": \"/api/v1/items/123?q=caf\u00e9\",\n" + `      "start": "2024-01-02T03:04:05.123456789Z",` + "\n")
	chunk := bytes.Repeat(line, 64<<10/len(line))
	b.Run("old", func(b *testing.B) { benchJSONWriter(b, &oldJSONWriter{w: io.Discard}, chunk) })
	b.Run("new", func(b *testing.B) { benchJSONWriter(b, NewJSONWriter(io.Discard), chunk) })
}
