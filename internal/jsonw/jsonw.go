// Package jsonw holds the JSON writing primitives of connscope's hand
// encoders (analysis's connections, transactions and findings, for the
// JSON report and the NDJSON lines; report's HAR entries), which must
// write byte for byte what encoding/json writes for the same values. Each
// primitive appends to a []byte and returns it, as strconv's Append
// functions do; integers and booleans need nothing beyond
// strconv.AppendInt, AppendUint and AppendBool, which write what
// encoding/json writes.
//
// # Strings
//
// AppendString quotes a string as json.Marshal (and a json.Encoder left
// escaping HTML) does, encoding/json's appendString with escapeHTML:
// '"' and '\\' as \" and \\; \b, \f, \n, \r and \t so; the other C0
// controls as \u00xx (lower-case hex); '<', '>' and '&' as \u003c, \u003e
// and \u0026; U+2028 and U+2029 as \u2028 and \u2029; each byte of
// invalid UTF-8 as \ufffd; everything else (DEL, C1 controls, any other
// valid rune) as it is.
//
// # Indentation
//
// One integer n says how a value is laid out. n >= 0 writes what
// json.Indent(dst, src, prefix, "  ") writes after json.Marshal, where
// the value starts on a line indented by n spaces (prefix is those
// spaces, or the value is nested that deep): each member or element on a
// line of its own, two spaces deeper than its brackets, a space after a
// member's colon. n < 0 writes compact JSON, as json.Marshal writes it:
// no new lines, no space after the colon. Compact is the negative n
// callers pass for that; it stays negative however deep the encoders go,
// adding 2 to n at each level. Every place that indents tests n < 0.
//
// An encoder writes an object as '{', then Member and the value for each
// member, then Close; an array as '[', then Element and the value for
// each element, then Close. An empty object or array is written "{}" or
// "[]", with nothing between, as json.Indent leaves it: a caller that may
// write no member or element writes those itself.
//
// The helpers are kept small enough for the compiler to inline them into
// the encoders' long runs of members (go build -gcflags=-m reports "can
// inline" for each).
package jsonw

import "unicode/utf8"

// Compact, given as the indentation, has the helpers write compact JSON.
// It is negative, and stays so however deep an encoder adds to it (n+2
// for each level).
const Compact = -1 << 30

// spaces holds the indentation of any depth the encoders reach.
const spaces = "                                                                "

// Member starts a member of an object whose members are indented by n
// spaces (or compact): the comma that ends the member before it (none
// right after the '{'), a new line, the indentation and name. name is the
// member's quoted name followed by ": ", as `"id": `; its final space is
// left out when compact.
func Member(b []byte, n int, name string) []byte {
	if b[len(b)-1] != '{' {
		b = append(b, ',')
	}
	if n < 0 {
		return append(b, name[:len(name)-1]...)
	}
	b = append(b, '\n')
	b = append(b, spaces[:n]...)
	return append(b, name...)
}

// Element starts an element of an array whose brackets are indented by n
// spaces (or compact): the comma that ends the element before it (none
// for the first), a new line and the elements' indentation, n+2.
func Element(b []byte, n int, first bool) []byte {
	if !first {
		b = append(b, ',')
	}
	if n < 0 {
		return b
	}
	b = append(b, '\n')
	return append(b, spaces[:n+2]...)
}

// Close ends an object or array, c being '}' or ']', whose closing
// bracket is indented by n spaces (or compact): a new line, the
// indentation and c.
func Close(b []byte, n int, c byte) []byte {
	if n < 0 {
		return append(b, c)
	}
	b = append(b, '\n')
	b = append(b, spaces[:n]...)
	return append(b, c)
}

// OpenArray starts the value of a slice as encoding/json writes it:
// "null" for a nil slice (isNil), "[]" for an empty one (length 0), else
// '[' for the caller's Elements and Close. done says the value is already
// whole.
func OpenArray(b []byte, isNil bool, length int) (_ []byte, done bool) {
	switch {
	case isNil:
		return append(b, "null"...), true
	case length == 0:
		return append(b, "[]"...), true
	}
	return append(b, '['), false
}

// safe marks the ASCII bytes json.Marshal copies into a string as they
// are: not the C0 controls, '"', '\\', nor (as it escapes HTML) '<', '>'
// and '&'.
var safe = func() (t [utf8.RuneSelf]bool) {
	for c := range utf8.RuneSelf {
		t[c] = c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&'
	}
	return t
}()

const hex = "0123456789abcdef"

// AppendString appends s quoted as json.Marshal writes it (encoding/json's
// appendString with escapeHTML): HTML characters, U+2028 and U+2029
// escaped, invalid UTF-8 as \ufffd. The package documentation lists every
// escape.
func AppendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if safe[c] {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i++
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
