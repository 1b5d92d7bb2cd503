package bench

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"testing"

	"github.com/connscope/connscope/analysis"
	"github.com/connscope/connscope/capture"
	"github.com/connscope/connscope/diagnose"
	"github.com/connscope/connscope/httpflow"
	"github.com/connscope/connscope/reassembly"
)

// benchCapture returns the capture named by CONNSCOPE_BENCH_PCAP, or skips.
func benchCapture(b *testing.B) string {
	name := os.Getenv("CONNSCOPE_BENCH_PCAP")
	if name == "" {
		b.Skip("CONNSCOPE_BENCH_PCAP names no capture")
	}
	return name
}

// stage is one prefix of the pipeline: it reads the whole capture and
// returns how many packets it read.
type stage func(b *testing.B, name string) int64

// BenchmarkPipeline measures each prefix of the pipeline on the same
// capture. Run one sub-benchmark per process (see doc.go) to have the
// process's peak RSS belong to that stage alone.
func BenchmarkPipeline(b *testing.B) {
	name := benchCapture(b)
	for _, st := range []struct {
		name string
		run  stage
	}{
		{"decode", decodeOnly},
		{"reassembly", throughReassembly},
		{"httpflow", throughHTTP},
		// httpflow as analysis configures it for every format but HAR
		// (no header field lists: httpflow.Config.DropHeaderFields), each
		// transaction handed to diagnose's record (diagnose.TxnLog) as
		// it settles and the parser's own let go (Settled,
		// ForgetSettled): what analysis runs before the rules.
		{"httpflow-records", throughRecords},
		// The same, but with the parser keeping every transaction's
		// record until the connection closes (recycled after Release:
		// RecycleTransactions), which is how analysis ran before
		// diagnose kept records of its own (bench/README.md, eleventh
		// round).
		{"httpflow-nofields", throughHTTPWithoutFields},
		// httpflow handing each transaction on as it settles and keeping
		// almost none (Config.Settled, ForgetSettled): the parsing itself,
		// without the records a connection keeps until it closes. Not
		// what analysis runs (diagnose reads a connection's transactions
		// at its close; see bench/README.md, seventh and eighth rounds).
		{"httpflow-handoff", throughHTTPHandingOn},
		// Not what analysis runs either: httpflow-handoff with a
		// consumer that keeps a record of its own, of
		// CONNSCOPE_BENCH_KEEP_BYTES bytes (default 128), for each
		// transaction until the connection closes, as diagnose would
		// if its rules read a compact record of their own (see
		// keepingConsumer). It prices that record's size.
		{"httpflow-handoff-keep", throughHTTPHandingOnKeeping},
		// Not a parser: a plain scan for what any HTTP/1.x parser must
		// find (see floorConsumer), a reference for httpflow.
		{"httpflow-floor", throughHeaderScan},
		{"diagnose", throughDiagnose},
		{"analysis", fullAnalysis},
	} {
		b.Run(st.name, func(b *testing.B) {
			b.ReportAllocs()
			cpu0 := processCPUSeconds()
			var packets int64
			for b.Loop() {
				packets += st.run(b, name)
			}
			cpu := processCPUSeconds() - cpu0
			b.ReportMetric(float64(packets)/float64(b.N), "packets/op")
			b.ReportMetric(float64(packets)/b.Elapsed().Seconds(), "packets/s")
			if cpu > 0 {
				b.ReportMetric(float64(packets)/cpu, "packets/cpu-s")
			}
			if kb := peakRSSKB(); kb > 0 {
				b.ReportMetric(float64(kb)/1024, "peak-RSS-MB")
			}
		})
	}
}

// eachSegment reads and decodes the capture, giving every TCP segment to
// fn, as analysis.Analyzer does (including its clamp of backward time).
func eachSegment(b *testing.B, name string, fn func(*capture.Segment)) int64 {
	n, err := eachSegmentOf(name, fn)
	if err != nil {
		b.Fatal(err)
	}
	return n
}

// eachSegmentOf is eachSegment's loop, returning the packets read.
func eachSegmentOf(name string, fn func(*capture.Segment)) (int64, error) {
	r, err := capture.Open(name)
	if err != nil {
		return 0, err
	}
	defer r.Close()
	dec := capture.NewDecoder()
	var seg capture.Segment
	var latest int64
	for {
		p, err := r.Next()
		if err != nil {
			if !errors.Is(err, io.EOF) {
				return 0, err
			}
			break
		}
		if dec.Decode(p, &seg) == capture.SkipNone && fn != nil {
			if seg.Time < latest {
				seg.Time = latest
			}
			latest = seg.Time
			fn(&seg)
		}
	}
	return int64(dec.Stats().Packets), nil
}

func decodeOnly(b *testing.B, name string) int64 { return eachSegment(b, name, nil) }

// nopConsumer takes every byte range and drops it: reassembly's cost with
// a consumer attached, without any parsing.
type nopConsumer struct{}

func (nopConsumer) Data(reassembly.Direction, []byte, reassembly.Span)              {}
func (nopConsumer) Gap(reassembly.Direction, int64, reassembly.Span)                {}
func (nopConsumer) End(reassembly.Direction, reassembly.EndReason, reassembly.Span) {}
func (nopConsumer) Opened(*reassembly.Connection) reassembly.StreamConsumer         { return nopConsumer{} }
func (nopConsumer) Closed(*reassembly.Connection)                                   {}

// floorConsumer is not a parser: it finds, in the plainest way, what any
// HTTP/1.x parser has to find on a keep-alive connection, as a reference
// to compare httpflow with. It looks at every header byte (bytes.Index
// for the blank line that ends a block), reads the response's
// Content-Length and skips that many body bytes, and counts the header
// blocks it saw. It is not the fastest such scan (bytes.Index stops at
// every CR; httpflow compares a repeated request block with the last one
// in one call), but it is the cost of reading HTTP at all, a floor the
// parser's cost is best read against. It keeps no record, pairs nothing, times nothing, and
// handles neither chunked bodies, nor header blocks split across
// segments, nor anything malformed: on keepalive.pcap (one request per
// segment, Content-Length responses) it counts every transaction, which
// its txns/op shows. What httpflow-nofields costs over httpflow-floor is
// the cost of being a parser: the records, the pairing, the timings and
// the rules of RFC 9112.
type floorConsumer struct {
	remaining [2]int64 // body bytes still to skip, per direction
	txns      *int
}

var (
	blankLine     = []byte("\r\n\r\n")
	contentLength = []byte("Content-Length: ")
)

func (f *floorConsumer) Data(d reassembly.Direction, data []byte, _ reassembly.Span) {
	if d > reassembly.ServerToClient {
		return
	}
	for len(data) > 0 {
		if n := min(int64(len(data)), f.remaining[d]); n > 0 {
			f.remaining[d] -= n
			data = data[n:]
			continue
		}
		end := bytes.Index(data, blankLine)
		if end < 0 {
			return
		}
		if d == reassembly.ServerToClient {
			*f.txns++
			if i := bytes.Index(data[:end], contentLength); i >= 0 {
				var n int64
				for _, c := range data[i+len(contentLength) : end] {
					if c < '0' || c > '9' {
						break
					}
					n = n*10 + int64(c-'0')
				}
				f.remaining[d] = n
			}
		}
		data = data[end+len(blankLine):]
	}
}
func (*floorConsumer) Gap(reassembly.Direction, int64, reassembly.Span)                {}
func (*floorConsumer) End(reassembly.Direction, reassembly.EndReason, reassembly.Span) {}

// floorHandler gives every connection its own floorConsumer.
type floorHandler struct{ txns int }

func (h *floorHandler) Opened(*reassembly.Connection) reassembly.StreamConsumer {
	return &floorConsumer{txns: &h.txns}
}
func (*floorHandler) Closed(*reassembly.Connection) {}

func throughHeaderScan(b *testing.B, name string) int64 {
	h := &floorHandler{}
	asm := reassembly.NewAssembler(analysisReassemblyConfig, h)
	n := eachSegment(b, name, asm.Add)
	asm.Flush()
	b.ReportMetric(float64(h.txns), "txns/op")
	return n
}

// analysisReassemblyConfig is reassembly as analysis configures it: every
// stage reassembles this way, so that each measures what it adds.
var analysisReassemblyConfig = reassembly.Config{RecycleSegments: true}

func throughReassembly(b *testing.B, name string) int64 {
	asm := reassembly.NewAssembler(analysisReassemblyConfig, nopConsumer{})
	n := eachSegment(b, name, asm.Add)
	asm.Flush()
	return n
}

// httpHandler parses every connection's HTTP and, when diagnose is set,
// diagnoses it. With records it hands each transaction to the engine's
// TxnLog as it settles (analysis's way); without, the parser keeps every
// transaction until the close (httpflow-nofields).
type httpHandler struct {
	parsers  map[*reassembly.Connection]*httpflow.Conn
	logs     map[*reassembly.Connection]*diagnose.TxnLog
	engine   *diagnose.Engine
	records  bool // keep diagnose's records (engine set)
	diagnose bool // run the rules at each close (engine set)
	cfg      httpflow.Config
	nextTxn  int
	txns     int
}

func (h *httpHandler) Opened(c *reassembly.Connection) reassembly.StreamConsumer {
	cfg := h.cfg
	if h.records {
		l := h.engine.NewTxnLog()
		h.logs[c] = l
		// As analysis does: each transaction is recorded when the next
		// one settles (the parser holds it until then) or at the close
		// (the parser gives it again then).
		var held *httpflow.Transaction
		cfg.Settled = func(t *httpflow.Transaction) {
			h.nextTxn++
			t.ID = h.nextTxn
			if held != nil {
				l.Add(held)
			}
			held = t
		}
		cfg.ForgetSettled = true
	}
	p := httpflow.NewConn(c, cfg)
	h.parsers[c] = p
	return p
}

func (h *httpHandler) Closed(c *reassembly.Connection) {
	p := h.parsers[c]
	delete(h.parsers, c)
	txns := p.Transactions()
	for _, t := range txns {
		if t.ID == 0 {
			h.nextTxn++
			t.ID = h.nextTxn
		}
	}
	if n := len(txns); h.cfg.ForgetSettled && n > 0 {
		// The settled ones were handed on; the last is among those
		// returned here.
		h.txns += txns[n-1].Index + 1
	} else if !h.records {
		h.txns += len(txns)
	}
	switch {
	case h.records:
		l := h.logs[c]
		delete(h.logs, c)
		for _, t := range txns {
			l.Add(t)
		}
		h.txns += l.Len()
		if h.diagnose {
			h.engine.ConnectionLog(c, p.App(), l)
		} else {
			l.Release()
		}
	case h.diagnose:
		h.engine.Connection(&diagnose.ConnInfo{Conn: c, App: p.App(), Transactions: txns})
	}
	p.Release() // as analysis does once the transactions are handed on
}

func throughHTTP(b *testing.B, name string) int64 {
	return parseHTTP(b, name, httpflow.Config{})
}

// analysisHTTPConfig is httpflow as analysis configures it for every
// format but HAR: the httpflow-nofields and diagnose stages both parse
// this way, so that the second measures the rules and nothing else.
var analysisHTTPConfig = httpflow.Config{DropHeaderFields: true, RecycleTransactions: true}

func throughHTTPWithoutFields(b *testing.B, name string) int64 {
	return parseHTTP(b, name, analysisHTTPConfig)
}

func throughHTTPHandingOn(b *testing.B, name string) int64 {
	cfg := analysisHTTPConfig
	settled := 0
	cfg.Settled = func(*httpflow.Transaction) { settled++ }
	cfg.ForgetSettled = true
	n := parseHTTP(b, name, cfg)
	b.ReportMetric(float64(settled), "settled/op")
	return n
}

// keepingConsumer stands for a consumer of httpflow-handoff that keeps a
// record of keepBytes bytes per transaction until its connection closes
// (a compact copy of what rules read): each settled transaction is copied
// into the connection's chunks of records, those Transactions returns at
// the close replace theirs by Index, and every record is read once then,
// as rules would. The records hold no pointers, so the collector never
// scans them, and chunks go from closed connections to later ones, as
// httpflow's own records do.
type keepingConsumer struct {
	parsers   map[*reassembly.Connection]*httpflow.Conn
	records   map[*reassembly.Connection]*keptRecords
	keepBytes int
	free      [][]byte // chunks of closed connections
	txns      int
	sum       int64
}

// keptRecords are one connection's records, keepChunk to a chunk.
type keptRecords struct {
	chunks [][]byte
	n      int
}

const keepChunk = 64

func (k *keepingConsumer) record(r *keptRecords, t *httpflow.Transaction) {
	for t.Index >= len(r.chunks)*keepChunk {
		var c []byte
		if n := len(k.free); n > 0 {
			c, k.free = k.free[n-1], k.free[:n-1]
		} else {
			c = make([]byte, keepChunk*k.keepBytes)
		}
		r.chunks = append(r.chunks, c)
	}
	rec := r.chunks[t.Index/keepChunk][t.Index%keepChunk*k.keepBytes:][:k.keepBytes]
	// The fields rules read most, then what the record's size leaves
	// room for, written as a copy of its messages would be.
	var fields [8]int64
	fields[0], fields[1] = int64(t.Index), t.GapBefore
	if m := t.Request; m != nil {
		fields[2], fields[3], fields[4] = int64(m.FirstFrame), m.Start, m.End
	}
	if m := t.Response; m != nil {
		fields[5], fields[6], fields[7] = int64(m.FirstFrame), m.End, m.BodyBytes
	}
	for i := 0; i < len(rec); i += 8 {
		binary.LittleEndian.PutUint64(rec[i:], uint64(fields[i/8%len(fields)]))
	}
	r.n = max(r.n, t.Index+1)
}

func (k *keepingConsumer) Opened(c *reassembly.Connection) reassembly.StreamConsumer {
	r := &keptRecords{}
	k.records[c] = r
	cfg := analysisHTTPConfig
	cfg.Settled = func(t *httpflow.Transaction) { k.record(r, t) }
	cfg.ForgetSettled = true
	p := httpflow.NewConn(c, cfg)
	k.parsers[c] = p
	return p
}

func (k *keepingConsumer) Closed(c *reassembly.Connection) {
	p, r := k.parsers[c], k.records[c]
	delete(k.parsers, c)
	delete(k.records, c)
	for _, t := range p.Transactions() {
		k.record(r, t)
	}
	for i := range r.n {
		k.sum += int64(binary.LittleEndian.Uint64(r.chunks[i/keepChunk][i%keepChunk*k.keepBytes+8:]))
	}
	k.txns += r.n
	k.free = append(k.free, r.chunks...)
	p.Release()
}

func throughHTTPHandingOnKeeping(b *testing.B, name string) int64 {
	keep := 128
	if v := os.Getenv("CONNSCOPE_BENCH_KEEP_BYTES"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 16 || n%8 != 0 {
			b.Fatalf("CONNSCOPE_BENCH_KEEP_BYTES=%q: want a multiple of 8, at least 16", v)
		}
		keep = n
	}
	k := &keepingConsumer{parsers: map[*reassembly.Connection]*httpflow.Conn{}, records: map[*reassembly.Connection]*keptRecords{}, keepBytes: keep}
	asm := reassembly.NewAssembler(analysisReassemblyConfig, k)
	n := eachSegment(b, name, asm.Add)
	asm.Flush()
	b.ReportMetric(float64(k.txns), "txns/op")
	b.ReportMetric(float64(keep), "kept-bytes/txn")
	return n
}

func parseHTTP(b *testing.B, name string, cfg httpflow.Config) int64 {
	h := &httpHandler{parsers: map[*reassembly.Connection]*httpflow.Conn{}, cfg: cfg}
	asm := reassembly.NewAssembler(analysisReassemblyConfig, h)
	n := eachSegment(b, name, asm.Add)
	asm.Flush()
	b.ReportMetric(float64(h.txns), "txns/op")
	return n
}

// throughRecords is httpflow as analysis runs it, up to the rules: each
// transaction handed to diagnose's record (diagnose.TxnLog) as it settles,
// and the parser's own let go (httpflow.Config.ForgetSettled).
func throughRecords(b *testing.B, name string) int64 {
	engine, err := diagnose.NewEngine(diagnose.Config{})
	if err != nil {
		b.Fatal(err)
	}
	h := &httpHandler{parsers: map[*reassembly.Connection]*httpflow.Conn{}, logs: map[*reassembly.Connection]*diagnose.TxnLog{},
		engine: engine, records: true, cfg: analysisHTTPConfig}
	asm := reassembly.NewAssembler(analysisReassemblyConfig, h)
	n := eachSegment(b, name, asm.Add)
	asm.Flush()
	b.ReportMetric(float64(h.txns), "txns/op")
	return n
}

func throughDiagnose(b *testing.B, name string) int64 {
	engine, err := diagnose.NewEngine(diagnose.Config{})
	if err != nil {
		b.Fatal(err)
	}
	h := &httpHandler{parsers: map[*reassembly.Connection]*httpflow.Conn{}, logs: map[*reassembly.Connection]*diagnose.TxnLog{},
		engine: engine, records: true, diagnose: true, cfg: analysisHTTPConfig}
	asm := reassembly.NewAssembler(analysisReassemblyConfig, h)
	n := eachSegment(b, name, asm.Add)
	asm.Flush()
	b.ReportMetric(float64(len(engine.Finish())), "findings/op")
	return n
}

// fullAnalysis is what `connscope analyze` does before rendering.
func fullAnalysis(b *testing.B, name string) int64 {
	r, err := capture.Open(name)
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	a := analysis.New(analysis.Options{})
	if err := a.AddSource(name, r.Format(), r); err != nil {
		b.Fatal(err)
	}
	rep := a.Report()
	var n int64
	for _, in := range rep.Inputs {
		n += in.Packets
	}
	// What the finished report holds: the live heap once the pipeline's
	// own buffers are garbage.
	runtime.GC()
	if name := os.Getenv("CONNSCOPE_BENCH_HEAPPROFILE"); name != "" {
		writeHeapProfile(b, name) // what the report is made of
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	b.ReportMetric(float64(ms.HeapAlloc)/(1<<20), "report-heap-MB")
	b.ReportMetric(float64(len(rep.Connections)), "listed-conns")
	b.ReportMetric(float64(len(rep.Transactions)), "listed-txns")
	runtime.KeepAlive(a)
	runtime.KeepAlive(rep)
	return n
}

// writeHeapProfile writes the live heap's profile to name.
func writeHeapProfile(b *testing.B, name string) {
	f, err := os.Create(name)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		b.Fatal(err)
	}
}

// peakRSSKB returns the process's peak resident set (VmHWM) in kB, or 0
// where /proc does not say.
func peakRSSKB() int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := bytes.CutPrefix(sc.Bytes(), []byte("VmHWM:")); ok {
			kb, _ := strconv.ParseInt(string(bytes.TrimSuffix(bytes.TrimSpace(v), []byte(" kB"))), 10, 64)
			return kb
		}
	}
	return 0
}

// TestFloorCountsTransactions holds httpflow-floor to what it claims: on
// keep-alive captures of Content-Length responses it sees every
// transaction httpflow sees, so its cost is that of reading them all.
func TestFloorCountsTransactions(t *testing.T) {
	for _, name := range []string{"keepalive-reuse.pcap", "healthy-page-load.pcap", "serial-idle-gaps.pcap", "pipeline-get.pcap"} {
		t.Run(name, func(t *testing.T) {
			path := "../testdata/captures/" + name
			floor := &floorHandler{}
			parsed := &httpHandler{parsers: map[*reassembly.Connection]*httpflow.Conn{}, cfg: analysisHTTPConfig}
			for _, h := range []reassembly.Handler{floor, parsed} {
				asm := reassembly.NewAssembler(analysisReassemblyConfig, h)
				if _, err := eachSegmentOf(path, asm.Add); err != nil {
					t.Fatal(err)
				}
				asm.Flush()
			}
			if parsed.txns == 0 || floor.txns != parsed.txns {
				t.Errorf("httpflow-floor saw %d transactions, httpflow %d", floor.txns, parsed.txns)
			}
		})
	}
}
