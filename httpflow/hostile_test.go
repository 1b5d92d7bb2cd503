package httpflow

import (
	"slices"
	"strings"
	"testing"

	"github.com/connscope/connscope/reassembly"
)

// Hostile input (issue 7): bounded memory and linear work whatever the
// bytes say.

// feedSegments delivers data in segments of n bytes.
func feedSegments(p *Conn, d reassembly.Direction, data []byte, n int, frame *uint64) {
	for len(data) > 0 {
		k := min(n, len(data))
		*frame++
		p.Data(d, data[:k], reassembly.Span{Frame: *frame, Time: int64(*frame)})
		data = data[k:]
	}
}

func TestHugeHeaderLine(t *testing.T) {
	const size = 10 << 20
	p := NewConn(testConn(), Config{})
	var frame uint64
	feedSegments(p, c2s, []byte("GET /a HTTP/1.1\r\nX-Big: "), 1448, &frame)
	feedSegments(p, c2s, []byte(strings.Repeat("A", size)), 1448, &frame)
	feedSegments(p, c2s, []byte("\r\nContent-Length: 3\r\n\r\nabc"+getB), 1448, &frame)
	if c := cap(p.streams[c2s].line); c > DefaultMaxHeaderBytes*2 {
		t.Errorf("line buffer grew to %d bytes for a %d-byte line", c, size)
	}
	feedSegments(p, s2c, []byte(ok5+ok3), 1448, &frame)
	p.End(c2s, reassembly.EndFIN, reassembly.Span{})
	p.End(s2c, reassembly.EndFIN, reassembly.Span{})
	txns := p.Transactions()
	if len(txns) != 2 {
		t.Fatalf("%d transactions", len(txns))
	}
	m := txns[0].Request
	if !m.HeadersTruncated || !slices.Contains(m.Anomalies(), "header_line_too_long") || m.BodyBytes != 3 || m.HeaderBytes < size {
		t.Errorf("truncated %v, anomalies %q, body %d, header bytes %d", m.HeadersTruncated, m.Anomalies(), m.BodyBytes, m.HeaderBytes)
	}
	checkInvariants(t, p)
}

func TestHugeLengths(t *testing.T) {
	for _, c := range []struct {
		desc, resp string
		want       string
	}{
		{"chunk size 0xFFFFFFFFFFFF", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nFFFFFFFFFFFF\r\n" + strings.Repeat("x", 5000),
			"GET /a HTTP/1.1 ok => 200 chunked incomplete:fin body=5000 persistent"},
		{"chunk size beyond int64", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1FFFFFFFFFFFFFFFF\r\nxx",
			"GET /a HTTP/1.1 ok => 200 chunked incomplete:malformed !bad_chunk_size persistent"},
		{"Content-Length of 20 digits", "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\nbody",
			"GET /a HTTP/1.1 ok => 200 close_delimited ok body=4 !bad_content_length"},
		{"Content-Length 2200000000 cut short", "HTTP/1.1 200 OK\r\nContent-Length: 2200000000\r\n\r\nbody",
			"GET /a HTTP/1.1 ok => 200 content_length incomplete:fin body=4 persistent"},
	} {
		t.Run(c.desc, func(t *testing.T) {
			p := run(testConn(), Config{}, seq(cli(getA), srv(c.resp), fin(s2c), fin(c2s)), whole)
			if got := render(p.Transactions()); len(got) != 1 || got[0] != c.want {
				t.Errorf("got %q, want %q", got, c.want)
			}
			checkInvariants(t, p)
		})
	}
}

func TestManyPipelinedRequests(t *testing.T) {
	const n = 100_000
	req := []byte("GET / HTTP/1.1\r\n\r\n")
	all := []byte(strings.Repeat(string(req), n))
	p := NewConn(testConn(), Config{MaxTransactionsPerConn: 1000})
	var frame uint64
	feedSegments(p, c2s, all, 65000, &frame)
	resp := []byte(strings.Repeat("HTTP/1.1 204 No Content\r\n\r\n", n))
	feedSegments(p, s2c, resp, 65000, &frame)
	p.End(c2s, reassembly.EndFIN, reassembly.Span{})
	p.End(s2c, reassembly.EndFIN, reassembly.Span{})
	if len(p.Transactions()) != 1000 || p.TransactionsDropped() != n-1000 {
		t.Errorf("kept %d, dropped %d", len(p.Transactions()), p.TransactionsDropped())
	}
	if p.waiting() != 0 || cap(p.pending) > 2*n {
		t.Errorf("%d still waiting, queue capacity %d", p.waiting(), cap(p.pending))
	}
	if s := &p.streams[s2c]; s.skipped != 0 || !s.last.Complete {
		t.Errorf("responses past the bound not parsed in step: %d bytes skipped", s.skipped)
	}
}
