package bpf

import (
	"fmt"
	"strings"
)

// token is one word or operator of a filter expression.
type token struct {
	text string
	pos  int // byte offset in the expression, for error messages
}

// lex splits a filter expression into words and the operators ( ) ! && ||.
// Words are runs of anything else that is not white space: addresses
// (10.0.0.1, fe80::1, 10.0.0.0/8), numbers, ranges (1-1024) and keywords.
func lex(expr string) ([]token, error) {
	var toks []token
	for i := 0; i < len(expr); {
		c := expr[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '(' || c == ')' || c == '!':
			toks = append(toks, token{string(c), i})
			i++
		case strings.HasPrefix(expr[i:], "&&") || strings.HasPrefix(expr[i:], "||"):
			toks = append(toks, token{expr[i : i+2], i})
			i += 2
		case isWordByte(c):
			start := i
			for i < len(expr) && isWordByte(expr[i]) {
				i++
			}
			toks = append(toks, token{expr[start:i], start})
		default:
			return nil, fmt.Errorf("unexpected character %q at offset %d", c, i)
		}
	}
	return toks, nil
}

func isWordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		c == '.' || c == ':' || c == '/' || c == '-' || c == '_'
}
