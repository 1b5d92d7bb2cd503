package textsafe

import (
	"strings"
	"testing"
)

func TestTerminal(t *testing.T) {
	tests := []struct {
		desc, in, want string
	}{
		{"plain ascii passes through", "/index.html?q=1", "/index.html?q=1"},
		{"ANSI colour sequence is defused", "/\x1b[31mred", `/\x1b[31mred`},
		{"OSC title rewrite is defused", "\x1b]0;pwned\x07", `\x1b]0;pwned\x07`},
		{"NUL and DEL are visible", "a\x00b\x7f", `a\x00b\x7f`},
		{"C1 CSI is defused", "a\u009b31m", `a\x9b31m`},
		{"invalid UTF-8 bytes are escaped", "a\xff\xfeb", `a\xff\xfeb`},
		{"backslash cannot forge an escape", `\x1b`, `\\x1b`},
		{"printable unicode is kept", "café ☕", "café ☕"},
		{"bidi override is escaped", "abc\u202edef", `abc\u202edef`},
		{"newline and CR are escaped", "a\r\nb", `a\x0d\x0ab`},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			got := Terminal(tc.in)
			if got != tc.want {
				t.Errorf("Terminal(%q) = %q, want %q", tc.in, got, tc.want)
			}
			for _, c := range []byte(got) {
				if c < 0x20 || c == 0x7f {
					t.Errorf("output %q still holds control byte %#x", got, c)
				}
			}
		})
	}
}

func FuzzTerminal(f *testing.F) {
	for _, s := range []string{"", "abc", "\x1b[2J", "\xff", "\u009b", `\`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := Terminal(s)
		if strings.ContainsAny(got, "\x1b\x00\x07\r\n\u009b") {
			t.Fatalf("Terminal(%q) = %q keeps a control character", s, got)
		}
		for _, r := range got {
			if r == 0xfffd && !strings.ContainsRune(s, 0xfffd) {
				t.Fatalf("Terminal(%q) = %q replaced bytes instead of escaping them", s, got)
			}
		}
	})
}

func TestTruncate(t *testing.T) {
	if got := Truncate("abcdef", 4); got != "abc…" {
		t.Errorf("Truncate = %q", got)
	}
	if got := Truncate("abc", 4); got != "abc" {
		t.Errorf("Truncate = %q", got)
	}
}
