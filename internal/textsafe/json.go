package textsafe

import (
	"fmt"
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
func (j *JSONWriter) Write(p []byte) (int, error) {
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
			break // the rest comes with the next Write
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
