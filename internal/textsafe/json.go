package textsafe

import (
	"encoding/binary"
	"io"
	"unicode/utf8"
)

// JSONWriter passes JSON through to w with the characters encoding/json
// leaves raw but a terminal may act on written as \u escapes: C1 controls
// (U+0080-U+009F; U+009B is CSI, which starts an escape sequence on
// terminals that honour 8-bit controls) and the bidirectional controls
// that reorder what a reader sees (U+200E, U+200F, U+202A-U+202E,
// U+2066-U+2069). encoding/json already escapes C0 controls and invalid
// UTF-8. The result is the same JSON value: those characters can only
// occur inside strings. Call Flush at the end.
type JSONWriter struct {
	w    io.Writer
	pend []byte // the start of a multi-byte sequence cut by a Write
	out  []byte
}

// NewJSONWriter returns a JSONWriter writing to w.
func NewJSONWriter(w io.Writer) *JSONWriter { return &JSONWriter{w: w} }

// Write implements io.Writer.
//
// Almost all of a report is ASCII, and only a 0xC2 or 0xE2 byte can start
// a rune that is escaped, so Write looks for those bytes eight at a time
// and passes everything between them on as it is: straight from p when
// nothing in it is escaped (and no sequence was held back), else in one
// copy.
func (j *JSONWriter) Write(p []byte) (int, error) {
	data := p
	if len(j.pend) > 0 {
		data = append(j.pend, p...)
	}
	j.out = j.out[:0]
	start := 0 // data[start:i] is still to be copied
	i := 0
	for {
		i = nextLead(data, i)
		if i == len(data) {
			break
		}
		if !utf8.FullRune(data[i:]) {
			break // the rest comes with the next Write
		}
		r, size := utf8.DecodeRune(data[i:])
		if escapeInJSON(r) {
			j.out = append(j.out, data[start:i]...)
			j.out = append(j.out, '\\', 'u', hexDigits[r>>12&0xf], hexDigits[r>>8&0xf], hexDigits[r>>4&0xf], hexDigits[r&0xf])
			start = i + size
		}
		i += size
	}
	out := data[:i]
	if len(j.out) > 0 || start > 0 {
		j.out = append(j.out, data[start:i]...)
		out = j.out
	}
	_, err := j.w.Write(out)
	// After the Write: data may share j.pend's memory.
	j.pend = append(j.pend[:0], data[i:]...)
	if err != nil {
		return 0, err
	}
	return len(p), nil
}

const hexDigits = "0123456789abcdef"

// nextLead returns the index of the first 0xC2 or 0xE2 byte of b at or
// after i, or len(b). Eight bytes below 0x80 are skipped at once.
func nextLead(b []byte, i int) int {
	for i < len(b) {
		if i+8 <= len(b) && binary.LittleEndian.Uint64(b[i:])&0x8080808080808080 == 0 {
			i += 8
			continue
		}
		if c := b[i]; c == 0xc2 || c == 0xe2 {
			return i
		}
		i++
	}
	return i
}

// Flush writes a sequence held back at the end of the last Write (only
// possible when the input was not valid UTF-8).
func (j *JSONWriter) Flush() error {
	if len(j.pend) == 0 {
		return nil
	}
	_, err := j.w.Write(j.pend)
	j.pend = j.pend[:0]
	return err
}

func escapeInJSON(r rune) bool {
	return (r >= 0x80 && r <= 0x9f) || r == 0x200e || r == 0x200f ||
		(r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069)
}
