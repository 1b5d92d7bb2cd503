package diagnose

import (
	"strings"
	"testing"
)

// TestByteCount: messages count bytes as "1 byte" and "N bytes".
func TestByteCount(t *testing.T) {
	for n, want := range map[int64]string{0: "0 bytes", 1: "1 byte", 2: "2 bytes", 1460: "1460 bytes"} {
		if got := byteCount(n); got != want {
			t.Errorf("byteCount(%d) = %q, want %q", n, got, want)
		}
	}
	// A message that can count one byte uses it: a client that writes a
	// single byte after the server's FIN.
	f := newConn(1, 0.1)
	f.exchange(2, 100, 5, 300)
	f.fin(10, s2c)
	f.ack(10.1, c2s)
	f.data(2010, c2s, 1)
	f.rst(2011, s2c)
	fs := only(runRules(t, Config{}, f), "CC1007")
	if len(fs) != 1 || !strings.Contains(fs[0].Message, "sent 1 byte ") {
		t.Errorf("CC1007 on one byte after the FIN: %v, want one finding saying \"sent 1 byte\"", fs)
	}
}
