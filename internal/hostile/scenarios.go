package hostile

import (
	"bytes"
	"fmt"
	"io"
	"strconv"

	"github.com/connscope/connscope/capture"
)

// Scenario is one adversarial capture, parameterised by its size N.
type Scenario struct {
	// Name is the scenario's stable name (a file name and a test name).
	Name string
	// Doc says what the capture holds and what it attacks.
	Doc string
	// FullN is the size issue 7 names; SmallN the size the default test
	// run uses (a few hundred milliseconds each).
	FullN, SmallN int
	// Unit names what N counts.
	Unit string
	// Write streams the capture of size n to w.
	Write func(w io.Writer, n int) error
}

// Scenarios lists every adversarial capture, in the order the tests and
// scripts/hostile-bench.sh run them.
func Scenarios() []Scenario {
	return []Scenario{
		{"syn-flood", "N SYNs from distinct client ports to one server, never answered", 1_000_000, 100_000, "SYNs", writeSYNFlood},
		{"open-conns", "N connections each with a handshake and one request, never answered or closed", 100_000, 10_000, "connections", writeOpenConns},
		{"huge-header", "one request whose header line is N bytes, then a normal response", 10 << 20, 2 << 20, "header bytes", writeHugeHeader},
		{"huge-chunk", "a chunked response announcing a 0xFFFFFFFFFFFF-byte chunk, then N body bytes and a FIN", 10 << 20, 2 << 20, "body bytes", writeHugeChunk},
		{"pipelined", "N requests pipelined on one connection, 64 to a segment, each batch answered in order", 1_000_000, 100_000, "requests", writePipelined},
		{"keepalive-hoard", "N transactions round-robin over 1000 keep-alive connections that stay open to the end (transactions kept by open connections)", 1_000_000, 20_000, "transactions", writeKeepAliveHoard},
		{"tuple-reuse", "one 4-tuple opened and closed N times, with FIN by either side and RST by either side in turn", 100_000, 10_000, "connections", writeTupleReuse},
		{"time-backwards", "N keep-alive transactions over 100 connections; every 7th frame is stamped 5 s before its predecessor", 100_000, 5_000, "transactions", writeTimeBackwards},
		{"capture-dups", "N transactions, every frame recorded twice 1 µs apart (same IP ID and bytes)", 100_000, 5_000, "transactions", writeCaptureDups},
		{"ip-fragments", "N transactions whose request segments travel as two IPv4 fragments", 100_000, 5_000, "transactions", writeIPFragments},
		{"overlap-retrans", "N transactions whose response is partly retransmitted with different bytes over an overlapping range", 100_000, 5_000, "transactions", writeOverlapRetrans},
		{"nested-tunnels", "N keep-alive transactions over 100 connections, every frame in 1 to 5 tunnels (VXLAN to 4789 and 8472, VXLAN-GPE, GENEVE, GRE, IP in IP, 6in4), some fragmented inside or outside; the 5-deep ones are skipped", 100_000, 5_000, "transactions", writeNestedTunnels},
	}
}

// ScenarioByName returns the named scenario.
func ScenarioByName(name string) (Scenario, error) {
	for _, s := range Scenarios() {
		if s.Name == name {
			return s, nil
		}
	}
	return Scenario{}, fmt.Errorf("hostile: no scenario named %q", name)
}

var (
	smallResponse = []byte("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello")
	noContent     = []byte("HTTP/1.1 204 No Content\r\n\r\n")
)

func request(i int) []byte {
	return []byte("GET /item/" + strconv.Itoa(i) + " HTTP/1.1\r\nHost: example.test\r\n\r\n")
}

func writeSYNFlood(out io.Writer, n int) error {
	w := newCapWriter(out)
	for i := range n {
		newFlow(w, clientAddr(i), server, uint32(i)*2654435761).syn()
	}
	return w.close()
}

func writeOpenConns(out io.Writer, n int) error {
	w := newCapWriter(out)
	for i := range n {
		f := newFlow(w, clientAddr(i), server, uint32(i)*2654435761)
		f.handshake()
		f.send(true, request(i))
	}
	return w.close()
}

func writeHugeHeader(out io.Writer, n int) error {
	w := newCapWriter(out)
	f := newFlow(w, clientAddr(0), server, 1000)
	f.handshake()
	f.send(true, []byte("GET /big HTTP/1.1\r\nHost: example.test\r\nX-Big: "))
	line := bytes.Repeat([]byte("A"), 64<<10)
	for left := n; left > 0; left -= len(line) {
		f.send(true, line[:min(len(line), left)])
	}
	f.send(true, []byte("\r\n\r\n"))
	f.send(false, smallResponse)
	f.send(true, request(1))
	f.send(false, smallResponse)
	f.closeBoth(true)
	return w.close()
}

func writeHugeChunk(out io.Writer, n int) error {
	w := newCapWriter(out)
	f := newFlow(w, clientAddr(0), server, 1000)
	f.handshake()
	f.send(true, request(0))
	f.send(false, []byte("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nFFFFFFFFFFFF\r\n"))
	body := bytes.Repeat([]byte("x"), 64<<10)
	for left := n; left > 0; left -= len(body) {
		f.send(false, body[:min(len(body), left)])
	}
	f.closeBoth(false)
	return w.close()
}

func writePipelined(out io.Writer, n int) error {
	const batch = 64
	w := newCapWriter(out)
	f := newFlow(w, clientAddr(0), server, 1000)
	f.handshake()
	var reqs, resps []byte
	for i := 0; i < n; i += batch {
		reqs, resps = reqs[:0], resps[:0]
		for j := i; j < min(n, i+batch); j++ {
			reqs = append(reqs, request(j)...)
			resps = append(resps, noContent...)
		}
		f.send(true, reqs)
		f.send(false, resps)
	}
	f.closeBoth(true)
	return w.close()
}

func writeTupleReuse(out io.Writer, n int) error {
	w := newCapWriter(out)
	cli := clientAddr(0)
	for i := range n {
		f := newFlow(w, cli, server, uint32(i)*2654435761+1)
		f.handshake()
		f.send(true, request(i))
		f.send(false, smallResponse)
		switch i % 4 {
		case 0:
			f.closeBoth(true)
		case 1:
			f.closeBoth(false)
		case 2:
			f.rst(true)
		case 3:
			f.fin(false)
			f.rst(true)
		}
		w.now += 1e6 // 1 ms between connections
	}
	return w.close()
}

// keepAlive writes n transactions spread round-robin over conns keep-alive
// connections, each opened first and closed at the end.
func keepAlive(w *capWriter, n, conns int, tweak func(f *flow)) {
	flows := make([]*flow, conns)
	for i := range flows {
		flows[i] = newFlow(w, clientAddr(i), server, uint32(i)*2654435761+1)
		if tweak != nil {
			tweak(flows[i])
		}
		flows[i].handshake()
	}
	for i := range n {
		f := flows[i%conns]
		f.send(true, request(i))
		f.send(false, smallResponse)
		f.ack(true)
	}
	for _, f := range flows {
		f.closeBoth(true)
	}
}

func writeKeepAliveHoard(out io.Writer, n int) error {
	w := newCapWriter(out)
	keepAlive(w, n, 1000, nil)
	return w.close()
}

func writeTimeBackwards(out io.Writer, n int) error {
	w := newCapWriter(out)
	w.skewEvery = 7
	keepAlive(w, n, 100, nil)
	return w.close()
}

func writeCaptureDups(out io.Writer, n int) error {
	w := newCapWriter(out)
	w.dup = true
	keepAlive(w, n, 100, nil)
	return w.close()
}

func writeIPFragments(out io.Writer, n int) error {
	w := newCapWriter(out)
	keepAlive(w, n, 100, func(f *flow) { f.frag = true })
	return w.close()
}

func writeOverlapRetrans(out io.Writer, n int) error {
	w := newCapWriter(out)
	flows := make([]*flow, 100)
	for i := range flows {
		flows[i] = newFlow(w, clientAddr(i), server, uint32(i)*2654435761+1)
		flows[i].handshake()
	}
	body := bytes.Repeat([]byte("a"), 3000)
	head := []byte("HTTP/1.1 200 OK\r\nContent-Length: 3000\r\n\r\n")
	resp := append(append([]byte(nil), head...), body...)
	overlap := bytes.Repeat([]byte("Z"), mss)
	for i := range n {
		f := flows[i%len(flows)]
		f.send(true, request(i))
		start := f.sseq
		f.send(false, resp)
		// Retransmit an overlapping range (the middle 2000 bytes) with
		// different content, as a broken middlebox or an attack would.
		f.sseq = start + uint32(len(head)) + 500
		f.w.segment(f.tcp(false, capture.FlagACK|capture.FlagPSH, overlap))
		f.sseq = start + uint32(len(resp))
		f.ack(true)
	}
	for _, f := range flows {
		f.closeBoth(true)
	}
	return w.close()
}

// DefaultRSSCapMB is the documented peak-RSS cap of one connscope analyze
// run on any capture with the default limits.
const DefaultRSSCapMB = 256
