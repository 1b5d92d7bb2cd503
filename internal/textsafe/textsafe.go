// Package textsafe makes captured bytes safe to show a person.
//
// Everything connscope prints from a capture (request targets, header
// values, reason phrases) was chosen by whoever sent the packets. Printed
// raw, an escape sequence in a URL can recolour, move the cursor, rewrite
// the terminal title or worse; a NUL or invalid UTF-8 corrupts logs. Terminal
// returns a string that shows every byte but can do nothing: printable
// runes pass through, everything else becomes a visible Go-style escape.
package textsafe

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Terminal escapes s for a terminal or a plain-text log: control characters
// (C0, DEL, C1, which includes the escape that starts ANSI sequences),
// invalid UTF-8 and non-printable runes become \xNN or \uNNNN escapes, and
// a backslash becomes \\ so escapes cannot be forged.
func Terminal(s string) string {
	if isPlain(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			b.WriteString(`\x`)
			b.WriteString(hex2(s[i]))
		case r == '\\':
			b.WriteString(`\\`)
		case r < utf8.RuneSelf && r >= 0x20 && r != 0x7f:
			b.WriteByte(byte(r))
		case r >= utf8.RuneSelf && unicode.IsPrint(r):
			b.WriteRune(r)
		case r < 0x100:
			b.WriteString(`\x`)
			b.WriteString(hex2(byte(r)))
		default:
			q := strconv.QuoteRuneToASCII(r) // '\u202e'
			b.WriteString(q[1 : len(q)-1])
		}
		i += size
	}
	return b.String()
}

// isPlain reports whether s is printable ASCII without backslashes, the
// common case, which needs no copy.
func isPlain(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c >= 0x7f || c == '\\' {
			return false
		}
	}
	return true
}

func hex2(c byte) string {
	const digits = "0123456789abcdef"
	return string([]byte{digits[c>>4], digits[c&0xf]})
}

// Truncate shortens s to at most n runes, marking the cut with "…".
func Truncate(s string, n int) string {
	if n <= 0 || utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}
