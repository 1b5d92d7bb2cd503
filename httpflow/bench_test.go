package httpflow

import (
	"bytes"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/connscope/connscope/capture"
	ct "github.com/connscope/connscope/capture/capturetest"
	"github.com/connscope/connscope/reassembly"
)

// Benchmarks run on a keep-alive-heavy stream: browser-like GETs with a
// dozen header fields, answered by small Content-Length responses, many
// transactions per connection.

const benchTxnsPerConn = 100

var (
	benchRequest = []byte("GET /static/img/logo-%04d.png HTTP/1.1\r\n" +
		"Host: www.example.com\r\n" +
		"User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0\r\n" +
		"Accept: image/avif,image/webp,*/*\r\n" +
		"Accept-Language: en-US,en;q=0.5\r\n" +
		"Accept-Encoding: gzip, deflate, br\r\n" +
		"Connection: keep-alive\r\n" +
		"Referer: https://www.example.com/\r\n" +
		"Cookie: session=8f2a9c1e77b04d3f; theme=dark\r\n" +
		"Sec-Fetch-Dest: image\r\n" +
		"Sec-Fetch-Mode: no-cors\r\n" +
		"If-None-Match: \"5f2a-61b0c\"\r\n\r\n")
	benchResponse = []byte("HTTP/1.1 200 OK\r\n" +
		"Date: Thu, 26 Nov 2026 01:00:00 GMT\r\n" +
		"Server: nginx/1.24.0\r\n" +
		"Content-Type: image/png\r\n" +
		"Content-Length: 512\r\n" +
		"Last-Modified: Mon, 02 Nov 2026 10:00:00 GMT\r\n" +
		"Connection: keep-alive\r\n" +
		"Keep-Alive: timeout=5, max=100\r\n" +
		"ETag: \"5f2a-61b0c\"\r\n" +
		"Cache-Control: max-age=3600\r\n" +
		"Accept-Ranges: bytes\r\n\r\n" + string(make([]byte, 512)))
)

// loadgenRequest and loadgenResponse are what bench/record.sh keepalive
// records (bench/loadgen's browser-like GET, Go net/http's answer): the
// transactions of keepalive.pcap, where issue 3's target is measured.
var (
	loadgenRequest = []byte("GET /img/%d.png?size=1600 HTTP/1.1\r\n" +
		"Host: bench\r\n" +
		"User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0\r\n" +
		"Accept: image/avif,image/webp,*/*\r\n" +
		"Accept-Language: en-US,en;q=0.5\r\n" +
		"Accept-Encoding: gzip, deflate, br\r\n" +
		"Connection: keep-alive\r\n" +
		"Referer: http://bench/\r\n" +
		"Cookie: session=8f2a9c1e77b04d3f; theme=dark\r\n" +
		"Sec-Fetch-Dest: image\r\n" +
		"Sec-Fetch-Mode: no-cors\r\n\r\n")
	loadgenResponse = []byte("HTTP/1.1 200 OK\r\n" +
		"Content-Length: 512\r\n" +
		"Date: Thu, 26 Nov 2026 03:15:56 GMT\r\n" +
		"Content-Type: text/plain; charset=utf-8\r\n\r\n" + string(make([]byte, 512)))
)

// BenchmarkParseKeepAlive measures the parser alone: one op is one
// connection of 100 transactions, each message delivered as one segment;
// "fields" keeps the header fields (the default), "nofields" sets
// Config.DropHeaderFields, "nofields-recycle" also
// Config.RecycleTransactions and releases each connection, as analysis
// does. "loadgen-nofields-recycle" is the last with keepalive.pcap's
// messages (fewer response fields, no Keep-Alive header).
func BenchmarkParseKeepAlive(b *testing.B) {
	for _, c := range []struct {
		name      string
		cfg       Config
		req, resp []byte
	}{
		{"fields", Config{}, benchRequest, benchResponse},
		{"nofields", Config{DropHeaderFields: true}, benchRequest, benchResponse},
		{"nofields-recycle", Config{DropHeaderFields: true, RecycleTransactions: true}, benchRequest, benchResponse},
		{"loadgen-nofields-recycle", Config{DropHeaderFields: true, RecycleTransactions: true}, loadgenRequest, loadgenResponse},
	} {
		b.Run(c.name, func(b *testing.B) { benchParseKeepAlive(b, c.cfg, c.req, [][]byte{c.resp}) })
	}
	// As on the wire, the answers differ from one transaction to the next
	// (Content-Length, Date): the block memo (replayBlock) can only take
	// the requests.
	b.Run("loadgen-varied-nofields-recycle", func(b *testing.B) {
		benchParseKeepAlive(b, Config{DropHeaderFields: true, RecycleTransactions: true}, loadgenRequest, loadgenResponses)
	})
}

// BenchmarkParseInterleaved is loadgen-varied-nofields-recycle
// with 300 connections open at once, each given one transaction in turn,
// as a busy proxy's connections are: each connection's parser state,
// header buffers and records have left the cache when its next message
// comes, which a one-connection benchmark does not show. (keepalive.pcap
// is not like this: its client keeps two connections open at a time.
// What the pipeline pays there beyond the one-connection benchmarks is
// the parser's code, fetched again for each message after reassembly and
// the reader ran; see "httpflow, fifth round" in bench/README.md.) One op
// is 300 connections of 100 transactions.
func BenchmarkParseInterleaved(b *testing.B) {
	const conns = 300
	cfg := Config{DropHeaderFields: true, RecycleTransactions: true}
	b.ReportAllocs()
	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	cpu0 := processCPU()
	parsers := make([]*Conn, conns)
	for b.Loop() {
		for c := range parsers {
			parsers[c] = NewConn(nil, cfg)
		}
		var t int64
		for i := range benchTxnsPerConn {
			for c, p := range parsers {
				t += 1000
				p.Data(c2s, loadgenRequest, reassembly.Span{Frame: uint64(2*(i*conns+c) + 1), Time: t})
				t += 1000
				p.Data(s2c, loadgenResponses[(i+c)%len(loadgenResponses)], reassembly.Span{Frame: uint64(2*(i*conns+c) + 2), Time: t})
			}
		}
		for _, p := range parsers {
			p.End(c2s, reassembly.EndFIN, reassembly.Span{Time: t})
			p.End(s2c, reassembly.EndFIN, reassembly.Span{Time: t})
			if n := len(p.Transactions()); n != benchTxnsPerConn {
				b.Fatalf("%d transactions", n)
			}
			p.Release()
		}
	}
	cpu := processCPU() - cpu0
	runtime.ReadMemStats(&ms1)
	txns := float64(b.N * conns * benchTxnsPerConn)
	if cpu > 0 {
		b.ReportMetric(float64(cpu)/txns, "cpu-ns/txn")
	}
	b.ReportMetric(float64(ms1.Mallocs-ms0.Mallocs)/txns, "allocs/txn")
}

// loadgenResponses are loadgenResponse with other body lengths and dates,
// to be cycled through.
var loadgenResponses = func() (out [][]byte) {
	for i, size := range []int{512, 1733, 104, 4590, 2201, 977, 3318} {
		out = append(out, fmt.Appendf(nil, "HTTP/1.1 200 OK\r\n"+
			"Content-Length: %d\r\n"+
			"Date: Thu, 26 Nov 2026 03:15:%02d GMT\r\n"+
			"Content-Type: text/plain; charset=utf-8\r\n\r\n%s", size, 50+i, make([]byte, size)))
	}
	return out
}()

func benchParseKeepAlive(b *testing.B, cfg Config, request []byte, responses [][]byte) {
	perConn := int64(0)
	for i := range benchTxnsPerConn {
		perConn += int64(len(request) + len(responses[i%len(responses)]))
	}
	b.SetBytes(perConn)
	b.ReportAllocs()
	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	cpu0 := processCPU()
	for b.Loop() {
		p := NewConn(nil, cfg)
		benchConn = p
		var t int64
		for i := range benchTxnsPerConn {
			t += 1000
			p.Data(c2s, request, reassembly.Span{Frame: uint64(2*i + 1), Time: t})
			t += 1000
			p.Data(s2c, responses[i%len(responses)], reassembly.Span{Frame: uint64(2*i + 2), Time: t})
		}
		p.End(c2s, reassembly.EndFIN, reassembly.Span{Time: t})
		p.End(s2c, reassembly.EndFIN, reassembly.Span{Time: t})
		if n := len(p.Transactions()); n != benchTxnsPerConn {
			b.Fatalf("%d transactions", n)
		}
		if cfg.RecycleTransactions {
			p.Release()
		}
	}
	cpu := processCPU() - cpu0
	runtime.ReadMemStats(&ms1)
	if cpu > 0 {
		// Process CPU time: steadier than ns/op on a shared machine.
		b.ReportMetric(float64(cpu)/float64(b.N*benchTxnsPerConn), "cpu-ns/txn")
	}
	b.ReportMetric(float64(ms1.Mallocs-ms0.Mallocs)/float64(b.N*benchTxnsPerConn), "allocs/txn")
	b.ReportMetric(float64(ms1.TotalAlloc-ms0.TotalAlloc)/float64(b.N*benchTxnsPerConn), "B/txn")
}

// benchConn keeps the benchmarks' parsers on the heap.
var benchConn *Conn

// BenchmarkParseOneShot measures the parser on the commonest connection of
// a capture of short connections: one request, one response, then the
// close (bench/record.sh short). One op is one connection, so allocs/op is
// what setting up and tearing down a parser costs along with its one
// transaction.
// "default" is Config{}; "nofields-recycle" is what analysis uses.
func BenchmarkParseOneShot(b *testing.B) {
	b.Run("default", func(b *testing.B) { benchParseOneShot(b, Config{}) })
	b.Run("nofields-recycle", func(b *testing.B) {
		benchParseOneShot(b, Config{DropHeaderFields: true, RecycleTransactions: true})
	})
}

func benchParseOneShot(b *testing.B, cfg Config) {
	req := []byte("GET /close?size=800 HTTP/1.1\r\nHost: bench\r\nUser-Agent: connscope-loadgen\r\n\r\n")
	resp := []byte("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 800\r\n" +
		"Date: Thu, 26 Nov 2026 01:00:00 GMT\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + string(make([]byte, 800)))
	b.SetBytes(int64(len(req) + len(resp)))
	b.ReportAllocs()
	for b.Loop() {
		p := NewConn(nil, cfg)
		benchConn = p // as under the Assembler, the parser lives on the heap
		p.Data(c2s, req, reassembly.Span{Frame: 4, Time: 1000})
		p.Data(s2c, resp, reassembly.Span{Frame: 6, Time: 2000})
		p.End(s2c, reassembly.EndFIN, reassembly.Span{Frame: 7, Time: 3000})
		p.End(c2s, reassembly.EndFIN, reassembly.Span{Frame: 8, Time: 3000})
		if n := len(p.Transactions()); n != 1 {
			b.Fatalf("%d transactions", n)
		}
		p.Release()
	}
}

// BenchmarkPipeline compares reassembly alone with reassembly feeding
// httpflow over the same synthetic segments (no capture decoding): the
// difference is what HTTP parsing adds to the foundation pass. One op is
// one connection: handshake, 100 keep-alive transactions with their ACKs,
// and the close.
func BenchmarkPipeline(b *testing.B) {
	segs := keepAliveSegments(benchTxnsPerConn)
	for _, withHTTP := range []bool{false, true} {
		name := "reassembly"
		if withHTTP {
			name = "reassembly+httpflow"
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			h := &benchHandler{http: withHTTP}
			asm := reassembly.NewAssembler(reassembly.Config{}, h)
			var conn int
			for b.Loop() {
				conn++
				port := uint16(1024 + conn%60000)
				base := int64(conn) * 10e9
				for i := range segs {
					s := segs[i]
					s.Src = netip.AddrPortFrom(s.Src.Addr(), rewritePort(s.Src.Port(), port))
					s.Dst = netip.AddrPortFrom(s.Dst.Addr(), rewritePort(s.Dst.Port(), port))
					s.Time += base
					s.Frame += uint64(conn) * uint64(len(segs))
					asm.Add(&s)
				}
			}
			asm.Flush()
			b.ReportMetric(float64(b.N*len(segs))/b.Elapsed().Seconds(), "segments/s")
			if withHTTP && h.txns != b.N*benchTxnsPerConn {
				b.Fatalf("%d transactions for %d connections", h.txns, b.N)
			}
		})
	}
}

func rewritePort(p, client uint16) uint16 {
	if p == 80 {
		return 80
	}
	return client
}

type benchHandler struct {
	http bool
	txns int
	open map[*reassembly.Connection]*Conn
}

func (h *benchHandler) Opened(c *reassembly.Connection) reassembly.StreamConsumer {
	if !h.http {
		return nil
	}
	if h.open == nil {
		h.open = map[*reassembly.Connection]*Conn{}
	}
	p := NewConn(c, Config{})
	h.open[c] = p
	return p
}

func (h *benchHandler) Closed(c *reassembly.Connection) {
	if p := h.open[c]; p != nil {
		h.txns += len(p.Transactions())
		delete(h.open, c)
		p.Release()
	}
}

// keepAliveSegments builds one connection's segments: handshake, n
// transactions (request, response, ACK) and a FIN exchange, 1 ms apart.
func keepAliveSegments(n int) []capture.Segment {
	exchanges := make([][2][]byte, n)
	for i := range exchanges {
		exchanges[i] = [2][]byte{fmt.Appendf(nil, string(benchRequest), i), benchResponse}
	}
	return connSegments(40000, exchanges)
}

// connSegments builds one connection from client port port: handshake,
// each request and response cut into 1448-byte segments with an ACK
// every second segment, and a FIN exchange, 1 ms apart.
func connSegments(port uint16, exchanges [][2][]byte) []capture.Segment {
	c := ct.NewConversation(netip.AddrPortFrom(netip.MustParseAddr("10.0.0.1"), port), netip.MustParseAddrPort("10.0.0.2:80"))
	c.Open()
	const mss = 1448
	for _, x := range exchanges {
		for req := x[0]; len(req) > 0; {
			n := min(len(req), mss)
			c.Send(true, capture.FlagPSH, req[:n])
			req = req[n:]
		}
		for i, resp := 0, x[1]; len(resp) > 0; i++ {
			n := min(len(resp), mss)
			c.Send(false, capture.FlagPSH, resp[:n])
			resp = resp[n:]
			if i%2 == 1 || len(resp) == 0 {
				c.Ack(true)
			}
		}
	}
	c.Close()
	return c.Segments
}

// BenchmarkFoundationPass measures the whole pass over a capture file held
// in memory: read, decode and reassembly ("foundation"), then the same with
// httpflow parsing every connection. The difference is what issue 3
// bounds at 30%. Two workloads:
//   - keepalive-small: 50 connections of 100 browser-like transactions with
//     512-byte responses (about 15 000 packets): the worst case, nearly
//     every packet carries a header block.
//   - loadgen-mix: the mix of bench/record.sh, scaled down: 600 short
//     connections (one GET, 200 to 2000 bytes, server closes) and 3
//     keep-alive connections of 200 GETs with responses of 1 to 181 kB.
func BenchmarkFoundationPass(b *testing.B) {
	for _, w := range []struct {
		name string
		pcap []byte
	}{
		{"keepalive-small", writePcap(b, keepAliveConns(50))},
		{"loadgen-mix", writePcap(b, loadgenConns(600, 3, 200))},
	} {
		for _, withHTTP := range []bool{false, true} {
			name := w.name + "/foundation"
			if withHTTP {
				name += "+httpflow"
			}
			b.Run(name, func(b *testing.B) { benchPass(b, w.pcap, withHTTP) })
		}
	}
}

func benchPass(b *testing.B, pcap []byte, withHTTP bool) {
	b.SetBytes(int64(len(pcap)))
	b.ReportAllocs()
	var packets int64
	cpu0 := processCPU()
	for b.Loop() {
		r, err := capture.NewReader(bytes.NewReader(pcap), "bench")
		if err != nil {
			b.Fatal(err)
		}
		h := &benchHandler{http: withHTTP}
		asm := reassembly.NewAssembler(reassembly.Config{}, h)
		n, _ := ct.EachSegment(r, asm.Add) // an in-memory capture written just above
		packets += n
		asm.Flush()
		if withHTTP && h.txns == 0 {
			b.Fatal("no transactions")
		}
	}
	if cpu := processCPU() - cpu0; cpu > 0 {
		b.ReportMetric(float64(cpu)/float64(b.N), "cpu-ns/op")
	}
	b.ReportMetric(float64(packets)/b.Elapsed().Seconds(), "packets/s")
}

func keepAliveConns(conns int) [][]capture.Segment {
	segs := keepAliveSegments(benchTxnsPerConn)
	out := make([][]capture.Segment, conns)
	for c := range out {
		out[c] = segs
	}
	return out
}

func loadgenConns(short, keepalive, perConn int) [][]capture.Segment {
	var out [][]capture.Segment
	body := make([]byte, 181000)
	for i := range short {
		size := 200 + (i%7)*300
		req := fmt.Appendf(nil, "GET /close?size=%d HTTP/1.1\r\nHost: bench\r\nUser-Agent: connscope-loadgen\r\n\r\n", size)
		resp := fmt.Appendf(nil, "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: %d\r\nDate: Thu, 26 Nov 2026 01:00:00 GMT\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n%s", size, body[:size])
		out = append(out, connSegments(uint16(10000+i), [][2][]byte{{req, resp}}))
	}
	for k := range keepalive {
		var ex [][2][]byte
		for i := range perConn {
			size := 1000 + (i%10)*20000
			req := fmt.Appendf(nil, "GET /?size=%d HTTP/1.1\r\nHost: bench\r\n\r\n", size)
			resp := fmt.Appendf(nil, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\nDate: Thu, 26 Nov 2026 01:00:00 GMT\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n%s", size, body[:size])
			ex = append(ex, [2][]byte{req, resp})
		}
		out = append(out, connSegments(uint16(30000+k), ex))
	}
	return out
}

// writePcap writes connections one after the other as an Ethernet pcap,
// each on its own client port.
func writePcap(b *testing.B, conns [][]capture.Segment) []byte {
	var buf bytes.Buffer
	w := ct.NewPcap(&buf, capture.LinkTypeEthernet, ct.PcapOptions{Nanosecond: true})
	for c, segs := range conns {
		for _, s := range segs {
			src, dst := s.Src, s.Dst
			if src.Port() != 80 {
				src = netip.AddrPortFrom(src.Addr(), uint16(20000+c))
			} else {
				dst = netip.AddrPortFrom(dst.Addr(), uint16(20000+c))
			}
			frame := ct.Ethernet(ct.TCP{Src: src, Dst: dst, Seq: s.Seq, Ack: s.Ack, Flags: s.Flags,
				Window: s.Window, Payload: s.Payload}.IP())
			w.Write(int64(c)*1e8+s.Time, frame)
		}
	}
	if err := w.Err(); err != nil {
		b.Fatal(err)
	}
	return buf.Bytes()
}

// BenchmarkRealCaptures runs the same comparison over the public captures
// with the most HTTP (skipped when ../shared/pcaps is absent): real page
// loads and downloads, where responses span many packets.
func BenchmarkRealCaptures(b *testing.B) {
	dir := sharedPcaps()
	if dir == "" {
		b.Skip("shared captures not found")
	}
	var files [][]byte
	for _, name := range []string{
		"chrissanders-packets__http_espn.pcapng",
		"suricata-verify__http-mime-truncated__input.pcap",
		"suricata-verify__http-range-file__input.pcap",
		"nDPI__http_ua_splitted_in_two_pkts.pcapng",
		"zeek__workshop_2011_browse.pcap",
		"suricata-verify__http-protocol-nodup__input.pcap",
	} {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			b.Fatal(err)
		}
		files = append(files, data)
	}
	for _, withHTTP := range []bool{false, true} {
		name := "foundation"
		if withHTTP {
			name = "foundation+httpflow"
		}
		b.Run(name, func(b *testing.B) {
			var size int64
			for _, f := range files {
				size += int64(len(f))
			}
			b.SetBytes(size)
			var packets int64
			cpu0 := processCPU()
			for b.Loop() {
				for _, f := range files {
					r, err := capture.NewReader(bytes.NewReader(f), "bench")
					if err != nil {
						b.Fatal(err)
					}
					h := &benchHandler{http: withHTTP}
					asm := reassembly.NewAssembler(reassembly.Config{}, h)
					n, _ := ct.EachSegment(r, asm.Add) // committed test captures, read whole
					packets += n
					asm.Flush()
				}
			}
			if cpu := processCPU() - cpu0; cpu > 0 {
				b.ReportMetric(float64(cpu)/float64(b.N), "cpu-ns/op")
			}
			b.ReportMetric(float64(packets)/b.Elapsed().Seconds(), "packets/s")
		})
	}
}
