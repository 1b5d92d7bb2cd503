package httpflow

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"

	"github.com/connscope/connscope/capture"
	"github.com/connscope/connscope/capture/capturetest"
	"github.com/connscope/connscope/reassembly"
)

// The fast paths (fastpath.go) must change the cost of parsing, never its
// result. These tests parse the same input once with them and once with
// fastPaths off (every line through the general code) and compare
// everything the parser says, field by field.

// withoutFastPaths runs fn with the fast paths off. fastPaths is a package
// variable: tests that call this must not run in parallel with others (no
// test of this package calls t.Parallel).
func withoutFastPaths(fn func()) {
	fastPaths = false
	defer func() { fastPaths = true }()
	fn()
}

// dumpConn renders everything a parser says about its connection: every
// field of every transaction and message (frames, times, anomalies, field
// lists, connection tokens, timings), and each direction's byte accounts.
// messageString renders every field of m, those behind Extra included
// (a nil Extra renders as an empty one).
func messageString(m *Message) string {
	c := *m
	var x MessageExtra
	if c.Extra != nil {
		x = *c.Extra
	}
	c.Extra = nil
	return fmt.Sprintf("%+v %+v", c, x)
}

func dumpConn(p *Conn) string {
	var b strings.Builder
	fmt.Fprintf(&b, "app=%s dropped=%d overBudget=%d\n", p.App(), p.TransactionsDropped(), p.TransactionsOverBudget())
	for i := range p.streams {
		s := &p.streams[i]
		fmt.Fprintf(&b, "dir %d: total=%d skipped=%d pos=%d st=%d\n", i, s.total, s.skipped, s.pos, s.st)
	}
	msg := func(what string, m *Message) {
		if m == nil {
			fmt.Fprintf(&b, "  %s: nil\n", what)
			return
		}
		fmt.Fprintf(&b, "  %s: %s\n", what, messageString(m))
	}
	for _, t := range p.Transactions() {
		c := *t
		c.Request, c.Response, c.Interim = nil, nil, nil
		fmt.Fprintf(&b, "txn %+v\n", c)
		msg("request", t.Request)
		for _, m := range t.Interim {
			msg("interim", m)
		}
		msg("response", t.Response)
	}
	return b.String()
}

// fastPathConfigs are the configurations the comparison runs under: the
// default, analysis's, and caps small enough for the test inputs to hit
// them on the fast path's doorstep.
var fastPathConfigs = []Config{
	{},
	{DropHeaderFields: true, RecycleTransactions: true},
	{MaxHeaderBytes: 64, MaxHeaders: 4},
	{DropHeaderFields: true, MaxHeaderBytes: 120, MaxHeaders: 3},
	{DropHeaderFields: true, MaxHeaderBytes: 40, MaxHeaders: 8},
}

// compareFastPaths parses ops under every configuration, with and without
// the fast paths, and reports any difference.
func compareFastPaths(t *testing.T, what string, ops []op, split func() splitter) {
	t.Helper()
	for _, cfg := range fastPathConfigs {
		fast := run(testConn(), cfg, ops, split())
		want := dumpConn(fast)
		fast.Release()
		var general *Conn
		withoutFastPaths(func() { general = run(testConn(), cfg, ops, split()) })
		got := dumpConn(general)
		general.Release()
		if got != want {
			t.Fatalf("%s, %+v: the fast paths changed the result\nfast paths:\n%s\ngeneral code:\n%s", what, cfg, want, got)
		}
	}
}

// recordingConsumer keeps what the Assembler delivered as test ops.
type recordingConsumer struct{ ops *[]op }

func (r recordingConsumer) Data(d reassembly.Direction, b []byte, _ reassembly.Span) {
	*r.ops = append(*r.ops, op{kind: opData, dir: d, data: string(b)})
}

func (r recordingConsumer) Gap(d reassembly.Direction, n int64, _ reassembly.Span) {
	*r.ops = append(*r.ops, gapOp(d, n))
}

func (r recordingConsumer) End(d reassembly.Direction, why reassembly.EndReason, _ reassembly.Span) {
	*r.ops = append(*r.ops, op{kind: opEnd, dir: d, reason: why})
}

type recorder struct {
	open map[*reassembly.Connection]*[]op
	done [][]op
}

func (h *recorder) Opened(c *reassembly.Connection) reassembly.StreamConsumer {
	ops := new([]op)
	h.open[c] = ops
	return recordingConsumer{ops}
}

func (h *recorder) Closed(c *reassembly.Connection) {
	h.done = append(h.done, *h.open[c])
	delete(h.open, c)
}

// captureConnections returns every TCP connection of the test captures as
// the ops the Assembler delivered, segment by segment.
func captureConnections(t *testing.T) [][]op {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("..", "testdata", "captures", "*.pcap*"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no test captures: %v", err)
	}
	var conns [][]op
	for _, f := range files {
		if strings.HasSuffix(f, ".gz") {
			continue
		}
		r, err := capture.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		h := &recorder{open: map[*reassembly.Connection]*[]op{}}
		asm := reassembly.NewAssembler(reassembly.Config{}, h)
		if _, err := capturetest.EachSegment(r, asm.Add); err != nil {
			t.Logf("%s: %v (read up to the damage)", f, err)
		}
		asm.Flush()
		r.Close()
		conns = append(conns, h.done...)
	}
	return conns
}

// The segments of every connection of the test captures, as captured.
func TestFastPathsMatchGeneralPathsOnCaptures(t *testing.T) {
	conns := captureConnections(t)
	lines := 0
	for _, ops := range conns {
		for _, o := range ops {
			lines += strings.Count(o.data, "\r\n")
		}
	}
	if lines < 1000 {
		t.Fatalf("only %d lines in the test captures' connections: the comparison would prove little", lines)
	}
	for i, ops := range conns {
		compareFastPaths(t, fmt.Sprintf("connection %d", i), ops, func() splitter { return whole })
	}
}

// fieldMutations damage a header line (the text from a line start to the
// next LF, LF included, or to the end): every form the fast path must
// leave to the general code, and forms it takes that sit next to them.
var fieldMutations = []struct {
	name string
	fn   func(r *rand.Rand, line string) string
}{
	{"space before colon", func(r *rand.Rand, l string) string {
		if i := strings.IndexByte(l, ':'); i >= 0 {
			return l[:i] + []string{" ", "\t", "  "}[r.IntN(3)] + l[i:]
		}
		return l
	}},
	{"bare LF", func(r *rand.Rand, l string) string { return strings.Replace(l, "\r\n", "\n", 1) }},
	{"obs-fold after", func(r *rand.Rand, l string) string {
		return l + []string{" folded, close\r\n", "\t x=1\r\n", " \r\n", "  more\n"}[r.IntN(4)]
	}},
	{"non-token byte in the name", func(r *rand.Rand, l string) string {
		i := strings.IndexByte(l, ':')
		if i <= 0 {
			return l
		}
		j := r.IntN(i)
		const bad = "(\"@\x00\x80 \x7f/"
		return l[:j] + bad[r.IntN(len(bad)):][:1] + l[j+1:]
	}},
	{"long value", func(r *rand.Rand, l string) string {
		if i := strings.Index(l, "\r\n"); i >= 0 {
			return l[:i] + strings.Repeat("v", 10+r.IntN(300)) + l[i:]
		}
		return l
	}},
	{"padded value", func(r *rand.Rand, l string) string {
		if i := strings.IndexByte(l, ':'); i >= 0 {
			pad := strings.Repeat(" \t", 1+r.IntN(40))
			return l[:i+1] + pad + l[i+1:]
		}
		return l
	}},
	{"repeated line", func(r *rand.Rand, l string) string { return l + l }},
	{"interpreted field", func(r *rand.Rand, l string) string {
		return []string{
			"content-length: 5\r\n", "Content-Length: 7, 7\r\n", "CONTENT-LENGTH:x\r\n",
			"Connection: close, Keep-Alive\r\n", "connection:upgrade\r\n",
			"Transfer-Encoding: gzip, chunked\r\n", "TRANSFER-ENCODING:identity \r\n",
			"Keep-Alive: timeout=3, max=4\r\n", "Proxy-Connection: keep-alive\r\n",
			"Expect: 100-continue\r\n", "Upgrade: websocket\r\n", "Upgrade:\r\n",
		}[r.IntN(12)] + l
	}},
	{"empty or blank value", func(r *rand.Rand, l string) string {
		return []string{"X-Empty:\r\n", "X-Blank: \t \r\n", "Y:\t\r\n", "Z:z\r\n"}[r.IntN(4)] + l
	}},
	{"no name", func(r *rand.Rand, l string) string { return ": value\r\n" + l }},
	{"no colon", func(r *rand.Rand, l string) string { return strings.Replace(l, ":", "", 1) }},
	{"CR inside the value", func(r *rand.Rand, l string) string {
		if i := strings.IndexByte(l, ':'); i >= 0 && i+2 < len(l) {
			return l[:i+2] + "\r" + l[i+2:]
		}
		return l
	}},
	{"lone CR line end", func(r *rand.Rand, l string) string { return strings.Replace(l, "\r\n", "\r\r\n", 1) }},
	{"line cut", func(r *rand.Rand, l string) string { return l[:r.IntN(len(l)+1)] }},
	{"start line variant", func(r *rand.Rand, l string) string {
		return []string{
			"GET / HTTP/1.1\r\n", "GET /a b HTTP/1.1\r\n", "GET  /two-spaces HTTP/1.1\r\n", "GET /x  HTTP/1.1\r\n",
			"GET /tab\there HTTP/1.1\r\n", "GET /ctl\x01 HTTP/1.1\r\n", "GET /del\x7f HTTP/1.1\r\n", "GET /\x80\xff HTTP/1.0\r\n",
			"GET /v2 HTTP/2.0\r\n", "GET /v09\r\n", "GET HTTP/1.1\r\n", "get /lower HTTP/1.1\r\n", "G(T / HTTP/1.1\r\n",
			"HEAD /h HTTP/1.1\n", "POST /p HTTP/1.1 \r\n", "CONNECT a:443 HTTP/1.1\r\n", "PRI * HTTP/2.0\r\n",
			"HTTP/1.1 200 OK\r\n", "HTTP/1.1 204\r\n", "HTTP/1.0 304 Not Modified\r\n", "HTTP/1.1 100 Continue\r\n",
			"HTTP/1.1 20 OK\r\n", "HTTP/1.1 200OK\r\n", "HTTP/2.0 200 OK\r\n", "HTTP/1.1 200 OK\n", "HTTP/1.1 101 Switching\r\n",
		}[r.IntN(26)] + l
	}},
	{"start line at a cap", func(r *rand.Rand, l string) string {
		// 39 to 41, 63 to 65 and 119 to 121 bytes: the line caps of
		// fastPathConfigs, and one byte either side.
		total := []int{40, 64, 120}[r.IntN(3)] - 1 + r.IntN(3)
		if strings.HasPrefix(l, "HTTP/") {
			return "HTTP/1.1 200 " + strings.Repeat("r", total-len("HTTP/1.1 200 \r\n")) + "\r\n" + l
		}
		return "GET /" + strings.Repeat("a", total-len("GET / HTTP/1.1\r\n")) + " HTTP/1.1\r\n" + l
	}},
}

// mutateStream applies a few mutations at random line starts of a
// direction's bytes.
func mutateStream(r *rand.Rand, s string, n int) (string, []string) {
	var applied []string
	for range n {
		var starts []int
		for i := 0; i < len(s); i++ {
			if i == 0 || s[i-1] == '\n' {
				starts = append(starts, i)
			}
		}
		if len(starts) == 0 {
			break
		}
		at := starts[r.IntN(len(starts))]
		end := strings.IndexByte(s[at:], '\n')
		if end < 0 {
			end = len(s)
		} else {
			end += at + 1
		}
		m := fieldMutations[r.IntN(len(fieldMutations))]
		s = s[:at] + m.fn(r, s[at:end]) + s[end:]
		applied = append(applied, m.name)
	}
	return s, applied
}

// Header blocks of the test captures and of a browser-like keep-alive
// exchange, damaged at random (spaces before colons, bare LF, obs-fold,
// non-token bytes, long values that hit the caps, repeated and
// interpreted fields), delivered whole and in random segments.
func TestFastPathsMatchGeneralPathsOnMutations(t *testing.T) {
	var streams [][2]string
	for _, ops := range captureConnections(t) {
		var dirs [2]strings.Builder
		for _, o := range ops {
			if o.kind == opData {
				dirs[o.dir].WriteString(o.data)
			}
		}
		if dirs[0].Len()+dirs[1].Len() > 0 && dirs[0].Len() < 8<<10 && dirs[1].Len() < 8<<10 {
			streams = append(streams, [2]string{dirs[0].String(), dirs[1].String()})
		}
	}
	// Keep-alive exchanges, where each block repeats the last one's field
	// names (nameMemo), are a third of the rounds.
	var keepAlive [][2]string
	for _, x := range [][2][]byte{{benchRequest, benchResponse}, {loadgenRequest, loadgenResponse}} {
		var req, resp strings.Builder
		for i := range 4 {
			fmt.Fprintf(&req, string(x[0]), i)
			resp.Write(x[1])
		}
		keepAlive = append(keepAlive, [2]string{req.String(), resp.String()})
	}
	rounds := 3000
	if testing.Short() {
		rounds = 600
	}
	r := rand.New(rand.NewPCG(26, 11))
	for round := range rounds {
		base := streams[r.IntN(len(streams))]
		if round%3 == 0 {
			base = keepAlive[r.IntN(len(keepAlive))]
		}
		c, cm := mutateStream(r, base[0], r.IntN(4))
		s, sm := mutateStream(r, base[1], r.IntN(4))
		ops := []op{}
		// Requests and responses alternate message-sized pieces, as on
		// the wire, so each response finds its request.
		for len(c)+len(s) > 0 {
			if len(c) > 0 {
				n := min(len(c), 1+r.IntN(600))
				ops = append(ops, cli(c[:n]))
				c = c[n:]
			}
			if len(s) > 0 {
				n := min(len(s), 1+r.IntN(900))
				ops = append(ops, srv(s[:n]))
				s = s[n:]
			}
		}
		ops = append(ops, fin(c2s), fin(s2c))
		what := fmt.Sprintf("round %d, client %q, server %q", round, cm, sm)
		seed := r.Uint64()
		compareFastPaths(t, what, ops, func() splitter {
			if seed%3 == 0 {
				return whole
			}
			return randomSplit(newRand(seed))
		})
	}
}

// usualRequestLine agrees with parseRequestLine on every line it accepts,
// and accepts the usual ones.
func TestUsualRequestLineMatchesParseRequestLine(t *testing.T) {
	lines := []string{
		"GET / HTTP/1.1", "GET /img/1.png?size=100 HTTP/1.0", "OPTIONS * HTTP/1.1", "X-Y /\x80 HTTP/1.1",
		"GET /a\tb HTTP/1.1", "GET /a b HTTP/1.1", "GET  / HTTP/1.1", "GET / HTTP/1.1 ", "GET / HTTP/2.0", "GET /",
		"GET HTTP/1.1", " GET / HTTP/1.1", "GET / HTTP/1.12", "GET / HTTP/1.x", "GET /\x00 HTTP/1.1", "",
	}
	r := rand.New(rand.NewPCG(5, 9))
	alphabet := []byte("GET /HTP1.0 \t\x01\x7f\x80:")
	for range 20000 {
		b := []byte("GET /x HTTP/1.1")
		for range 1 + r.IntN(3) {
			b[r.IntN(len(b))] = alphabet[r.IntN(len(alphabet))]
		}
		lines = append(lines, string(b))
	}
	// Targets long enough for targetRun's words, with a byte at every
	// place of them set to each value.
	for _, target := range []string{"/img/733.png?size=1600", "/" + strings.Repeat("abcdefg", 9)} {
		for i := 1; i < len(target); i++ {
			for c := range 256 {
				b := []byte("GET " + target + " HTTP/1.1")
				b[4+i] = byte(c)
				lines = append(lines, string(b))
			}
		}
	}
	accepted := 0
	for _, l := range lines {
		var got requestLine
		ok := usualRequestLine([]byte(l), &got)
		want, wok := usualRequestLineBy([]byte(l), false)
		if ok != wok || string(got.target) != string(want.target) {
			t.Errorf("usualRequestLine(%q) = %q, %v; the byte loop alone says %q, %v", l, got.target, ok, want.target, wok)
		}
		if sp := commonRequestLine([]byte(l)); sp > 0 {
			c := commonParts([]byte(l), sp)
			if !wok || string(c.method) != string(want.method) || string(c.target) != string(want.target) ||
				string(c.version) != string(want.version) {
				t.Errorf("commonRequestLine(%q) = %q %q %q; the byte loop alone says %q %q %q, %v",
					l, c.method, c.target, c.version, want.method, want.target, want.version, wok)
			}
		}
		if !ok {
			continue
		}
		accepted++
		p, pok := parseRequestLine([]byte(l), false)
		if !pok || string(got.method) != string(p.method) || string(got.target) != string(p.target) || string(got.version) != string(p.version) {
			t.Errorf("usualRequestLine(%q) = %q %q %q; parseRequestLine says %q %q %q, %v",
				l, got.method, got.target, got.version, p.method, p.target, p.version, pok)
		}
	}
	for _, l := range lines[:4] {
		if ok := usualRequestLine([]byte(l), new(requestLine)); !ok {
			t.Errorf("usualRequestLine(%q) refused a usual line", l)
		}
	}
	if accepted < 1000 {
		t.Errorf("only %d of the random lines accepted: the comparison proves little", accepted)
	}
}

// nameMemo.match answers as the token loop would: a name it recognises is
// the remembered one, all token bytes, followed by a colon; and it
// recognises the remembered name whenever it is there.
func TestNameMemoMatchesTheTokenLoop(t *testing.T) {
	r := rand.New(rand.NewPCG(8, 1))
	names := []string{"Host", "Accept", "Sec-Fetch-Dest", "Sec-Fetch-Mode", "Content-Length", "Connection",
		"Accept-Encoding", "Accept-Language", "X-Sixteen-Bytes!", "X-Seventeen-Bytes", "Date", "ETag"}
	alphabet := []byte("aZ-:( \x00\x80\t!~")
	var memo nameMemo
	recognised := 0
	for range 50000 {
		k := r.IntN(nameMemoSize)
		name := names[r.IntN(len(names))]
		memo.remember(k, []byte(name+": remembered value\r\n"), len(name), fieldKind(r.IntN(8)))
		line := []byte(names[r.IntN(len(names))] + ": value of the line\r\n")
		for range r.IntN(3) {
			line[r.IntN(20)] = alphabet[r.IntN(len(alphabet))]
		}
		n, kind, ok := memo.match(k, line)
		want := len(name) <= 16 && strings.HasPrefix(string(line), name+":")
		if ok != want {
			t.Fatalf("memo of %q at %d, line %q: match says %v, want %v", name, k, line, ok, want)
		}
		if !ok {
			continue
		}
		recognised++
		if n != len(name) || !isToken(line[:n]) || line[n] != ':' || kind != memo.kind[k] {
			t.Fatalf("memo of %q, line %q: match gave %d, %d", name, line, n, kind)
		}
	}
	if recognised < 1000 {
		t.Fatalf("only %d lines recognised: the test proves little", recognised)
	}
}

// memoBlock is a request header block of the usual form (an interpreted
// field among others, a padded value), for the block memo's tests.
const memoBlock = "Host: example.com\r\nUser-Agent: memo-test/1.0\r\nAccept: */*\r\n" +
	"Connection: keep-alive\r\nX-Pad:  padded \t\r\nCookie: a=1; b=2\r\n\r\n"

// memoExchange is a keep-alive exchange of the requests given (each one
// Data call, or several where a request is given as pieces), each answered
// by the same response.
func memoExchange(requests ...[]string) []op {
	const response = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\nok"
	var ops []op
	for _, pieces := range requests {
		for _, piece := range pieces {
			ops = append(ops, cli(piece))
		}
		ops = append(ops, srv(response))
	}
	return append(ops, fin(c2s), fin(s2c))
}

// memoRequest is a GET of target with memoBlock's header block, or blk.
func memoRequest(target, blk string) []string {
	return []string{"GET " + target + " HTTP/1.1\r\n" + blk}
}

// compareFastPathsUnder is compareFastPaths under the given
// configurations only, with every message whole.
func compareFastPathsUnder(t *testing.T, what string, ops []op, cfgs ...Config) {
	t.Helper()
	saved := fastPathConfigs
	fastPathConfigs = cfgs
	defer func() { fastPathConfigs = saved }()
	compareFastPaths(t, what, ops, func() splitter { return whole })
}

// The header-block memo (replayBlock) gives what parsing the block gives:
// for repeated blocks, blocks equal but for one byte, blocks whose first
// copy had an anomaly or hit a cap, blocks split across Data calls, and a
// block that fits after one start line and not after a longer one.
func TestFastPathsMatchGeneralPathsOnRepeatedBlocks(t *testing.T) {
	short := memoRequest("/s", memoBlock)
	var repeated [][]string
	for range 6 {
		repeated = append(repeated, short)
	}
	ops := memoExchange(repeated...)
	compareFastPaths(t, "identical blocks", ops, func() splitter { return whole })
	// The memo must have been used, or the comparison proves nothing.
	for _, cfg := range fastPathConfigs[:2] {
		p := run(testConn(), cfg, ops, whole)
		memo := p.streams[c2s].memo
		if memo == nil || memo.credit <= blockMemoCredit {
			t.Fatalf("%+v: six identical blocks did not replay the memo (%+v)", cfg, memo)
		}
		if n := p.streams[c2s].expressed; cfg.DropHeaderFields && n == 0 {
			t.Fatalf("%+v: no request was taken by expressRequest", cfg)
		}
		p.Release()
	}

	// One byte changed, or dropped, at each place of the block, after the
	// block was remembered and replayed, and the block again after it.
	replacements := []byte{' ', ':', '\n', '\r', 'A', '\t', 0, 0x80, '('}
	for i := range len(memoBlock) {
		changed := []byte(memoBlock)
		changed[i] = replacements[i%len(replacements)]
		if changed[i] == memoBlock[i] {
			changed[i] = 'z'
		}
		dropped := memoBlock[:i] + memoBlock[i+1:]
		for _, other := range []string{string(changed), dropped} {
			ops := memoExchange(short, short, short, memoRequest("/s", other), short, memoRequest("/s", other), memoRequest("/s", other))
			compareFastPaths(t, fmt.Sprintf("block changed at byte %d: %q", i, other), ops, func() splitter { return whole })
		}
	}

	// Equal blocks whose first copies had an anomaly (general code) or hit
	// a cap under the small configurations of fastPathConfigs.
	for _, blk := range []string{
		"Host : example.com\r\n" + memoBlock,
		memoBlock[:len(memoBlock)-2] + " folded\r\n\r\n",
		"Bad Name: x\r\n" + memoBlock,
		memoBlock[:len(memoBlock)-2] + "\n",
		memoBlock[:len(memoBlock)-2] + "X-Long: " + strings.Repeat("v", 130) + "\r\n\r\n",
		"A: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n",
		"A: 1\r\nB: 2\r\nC: 3\r\n\r\n",
	} {
		r := memoRequest("/s", blk)
		ops := memoExchange(r, r, r, r, short, r)
		compareFastPaths(t, fmt.Sprintf("repeated block %q", blk), ops, func() splitter { return whole })
	}

	// A block split across Data calls, at each place, between whole ones.
	for cut := 1; cut < len(memoBlock); cut++ {
		split := []string{"GET /s HTTP/1.1\r\n" + memoBlock[:cut], memoBlock[cut:]}
		ops := memoExchange(short, short, short, split, short, split)
		compareFastPaths(t, fmt.Sprintf("block split at byte %d", cut), ops, func() splitter { return whole })
	}

	// The byte cap counts the start line: under a cap the block fits after
	// a short target, exactly or with a byte to spare, and not after a
	// target one byte longer. The block is remembered and replayed after
	// the short one, then meets the longer one.
	startLine := func(target string) int { return len("GET") + len(target) + len("HTTP/1.1") }
	var cost int // name and value bytes of memoBlock's fields, as the cap counts them
	for _, line := range strings.Split(strings.TrimSuffix(memoBlock, "\r\n\r\n"), "\r\n") {
		name, value, _ := strings.Cut(line, ":")
		cost += len(name) + len(strings.Trim(value, " \t"))
	}
	for _, spare := range []int{0, 1} {
		fits := "/" + strings.Repeat("a", 10)
		maxBytes := startLine(fits) + cost + spare
		over := fits + strings.Repeat("b", spare+1)
		ops := memoExchange(memoRequest(fits, memoBlock), memoRequest(fits, memoBlock), memoRequest(fits, memoBlock),
			memoRequest(over, memoBlock), memoRequest(fits, memoBlock), memoRequest(over, memoBlock))
		cfgs := []Config{
			{MaxHeaderBytes: maxBytes},
			{MaxHeaderBytes: maxBytes, DropHeaderFields: true},
			{MaxHeaderBytes: maxBytes, DropHeaderFields: true, RecycleTransactions: true},
		}
		compareFastPathsUnder(t, fmt.Sprintf("block at the byte cap, %d to spare", spare), ops, cfgs...)
		// The longer target must have found the block over the cap, and the
		// short one within it, or the case tests nothing.
		p := run(testConn(), cfgs[0], ops, whole)
		txns := p.Transactions()
		for i, want := range []bool{false, false, false, true, false, true} {
			if got := txns[i].Request.HeadersTruncated; got != want {
				t.Errorf("%d to spare: request %d HeadersTruncated=%v, want %v", spare, i, got, want)
			}
		}
		p.Release()
	}
}

// blockState renders a header block's whole state: its text, fields,
// counters and flags.
func blockState(b *headerBlock) string {
	return fmt.Sprintf("buf=%q fields=%v start=%v truncated=%v lastStored=%v lastCopied=%v anyField=%v fastLines=%d uncopied=%d/%d",
		b.buf, b.fields, b.start, b.truncated, b.lastStored, b.lastCopied, b.anyField, b.fastLines, b.uncopiedBytes, b.uncopiedFields)
}

// A replayed block leaves the headerBlock exactly as parsing it does, the
// counters no output reads included: two parsers, one with the memo and
// one without, are fed the same exchanges and their blocks compared after
// every Data call (a block stays as it ended until the next message).
func TestBlockMemoLeavesTheBlockAsParsingDoes(t *testing.T) {
	// expressRequest takes repeated requests without touching the block
	// at all; this test is about the block replayBlock leaves.
	expressPaths = false
	defer func() { expressPaths = true }()
	short := memoRequest("/s", memoBlock)
	long := memoRequest("/"+strings.Repeat("t", 40), memoBlock)
	interpreted := memoRequest("/i", "Content-Length: 0\r\nConnection: close, Keep-Alive\r\nKeep-Alive: timeout=3\r\nX: y\r\n\r\n")
	exchanges := [][]op{
		memoExchange(short, short, short, short),
		memoExchange(short, short, long, short, long, long),
		memoExchange(interpreted, interpreted, interpreted, short, interpreted),
	}
	replays := 0
	for _, cfg := range []Config{{}, {DropHeaderFields: true}, {DropHeaderFields: true, RecycleTransactions: true}, {MaxHeaderBytes: 170}, {DropHeaderFields: true, MaxHeaderBytes: 170}} {
		for x, ops := range exchanges {
			with, without := NewConn(testConn(), cfg), NewConn(testConn(), cfg)
			for i, o := range ops {
				at := reassembly.Span{Frame: uint64(i + 4), Time: ms(int64(i + 1))}
				switch o.kind {
				case opData:
					with.Data(o.dir, []byte(o.data), at)
					blockMemos = false
					without.Data(o.dir, []byte(o.data), at)
					blockMemos = true
				case opEnd:
					continue // End releases the blocks
				}
				if memo := with.streams[o.dir].memo; memo != nil && memo.credit > blockMemoCredit {
					replays++
				}
				if got, want := blockState(&with.streams[o.dir].blk), blockState(&without.streams[o.dir].blk); got != want {
					t.Fatalf("%+v, exchange %d, op %d: the replayed block differs\nreplayed: %s\nparsed:   %s", cfg, x, i, got, want)
				}
			}
			with.Release()
			without.Release()
		}
	}
	if replays == 0 {
		t.Fatal("no block was replayed: the comparison proves nothing")
	}
}

// expressRequest gives what the general code gives for the requests it
// takes, and leaves it the ones it must not take: other methods and
// versions, HEAD, CONNECT, pipelined requests, blocks with the fields that
// express leaves alone (Connection, Keep-Alive, Proxy-Connection) and with
// those that make it step aside (Content-Length, Transfer-Encoding,
// Expect, Upgrade), and start lines that leave the block no room under
// the byte cap.
func TestFastPathsMatchGeneralPathsOnExpressRequests(t *testing.T) {
	kinds := "Connection: Keep-Alive, X-Opt\r\nKeep-Alive: timeout=5, max=7\r\nProxy-Connection: keep-alive\r\n" + memoBlock
	req := func(line, blk string) []string { return []string{line + "\r\n" + blk} }
	cases := map[string][][]string{
		"methods": {req("GET /a HTTP/1.1", memoBlock), req("GET /b HTTP/1.1", memoBlock), req("PURGE /c HTTP/1.1", memoBlock),
			req("HEAD /d HTTP/1.1", memoBlock), req("GET /e HTTP/1.0", memoBlock), req("CONNECT h:443 HTTP/1.1", memoBlock), req("GET /f HTTP/1.1", memoBlock)},
		"interpreted kinds": {req("GET /a HTTP/1.1", kinds), req("GET /b HTTP/1.1", kinds), req("GET /c HTTP/1.1", kinds), req("GET /d HTTP/1.1", kinds)},
		"bodies and tunnels": {req("POST /a HTTP/1.1", "Content-Length: 0\r\n"+memoBlock), req("POST /b HTTP/1.1", "Content-Length: 0\r\n"+memoBlock),
			req("POST /c HTTP/1.1", "Content-Length: 0\r\n"+memoBlock), req("GET /d HTTP/1.1", "Expect: 100-continue\r\n"+memoBlock),
			req("GET /e HTTP/1.1", "Expect: 100-continue\r\n"+memoBlock), req("GET /f HTTP/1.1", "Upgrade: websocket\r\nConnection: Upgrade\r\n\r\n"),
			req("GET /g HTTP/1.1", "Upgrade: websocket\r\nConnection: Upgrade\r\n\r\n")},
		"long start line": {req("GET /a HTTP/1.1", memoBlock), req("GET /b HTTP/1.1", memoBlock), req("GET /"+strings.Repeat("t", 200)+" HTTP/1.1", memoBlock), req("GET /c HTTP/1.1", memoBlock)},
	}
	// A one-field block leaves room for start lines near the smallest byte
	// cap of fastPathConfigs (40): lines of 37 to 44 bytes, LF included,
	// each after a request that remembered the block.
	var nearCap [][]string
	for range 4 {
		nearCap = append(nearCap, req("GET /a HTTP/1.1", "A: b\r\n\r\n"))
	}
	for n := 37; n <= 44; n++ {
		target := "/" + strings.Repeat("t", n-len("GET  HTTP/1.1\r\n")-1)
		nearCap = append(nearCap, req("GET "+target+" HTTP/1.1", "A: b\r\n\r\n"), req("GET /a HTTP/1.1", "A: b\r\n\r\n"))
	}
	cases["start lines at the byte cap"] = nearCap
	for name, requests := range cases {
		compareFastPaths(t, name, memoExchange(requests...), func() splitter { return whole })
	}
	// Pipelined: every request before the first response.
	var ops []op
	for i := range 5 {
		ops = append(ops, cli(fmt.Sprintf("GET /%d HTTP/1.1\r\n%s", i, memoBlock)))
	}
	for range 5 {
		ops = append(ops, srv("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"))
	}
	ops = append(ops, fin(c2s), fin(s2c))
	compareFastPaths(t, "pipelined", ops, func() splitter { return whole })
	p := run(testConn(), Config{DropHeaderFields: true}, ops, whole)
	defer p.Release()
	if p.streams[c2s].expressed == 0 {
		t.Fatal("no pipelined request was taken by expressRequest: the comparison proves little")
	}
}

// expressResponse gives what the general code gives for the responses it
// takes, and leaves it the ones it must not take: interim and final
// answers of every kind that frames its body otherwise (HEAD, 204, 304,
// 101, CONNECT, chunked, close-delimited), pipelined answers, answers with
// no request, Content-Length lists, repeats and bad values, fields in
// another order or that the name memo does not know, and the caps.
func TestFastPathsMatchGeneralPathsOnExpressResponses(t *testing.T) {
	const usual = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nDate: Thu, 26 Nov 2026 03:15:50 GMT\r\nContent-Type: text/plain\r\n\r\nok"
	get := func(target string) op { return cli("GET " + target + " HTTP/1.1\r\n" + memoBlock) }
	exchange := func(responses ...string) []op {
		var ops []op
		for i, r := range responses {
			ops = append(ops, get(fmt.Sprintf("/%d", i)), srv(r))
		}
		return append(ops, fin(c2s), fin(s2c))
	}
	others := map[string]string{
		"other reason":        "HTTP/1.1 200 Fine\r\nContent-Length: 2\r\nDate: x\r\nContent-Type: text/plain\r\n\r\nok",
		"HTTP/1.0":            "HTTP/1.0 200 OK\r\nContent-Length: 2\r\nDate: x\r\nContent-Type: text/plain\r\n\r\nok",
		"404":                 "HTTP/1.1 404 Not Found\r\nContent-Length: 2\r\nDate: x\r\nContent-Type: text/plain\r\n\r\nno",
		"no reason":           "HTTP/1.1 200\r\nContent-Length: 2\r\nDate: x\r\nContent-Type: text/plain\r\n\r\nok",
		"empty body":          "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nDate: x\r\nContent-Type: text/plain\r\n\r\n",
		"connection options":  "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: Keep-Alive, X-A\r\nKeep-Alive: timeout=5, max=9\r\n\r\nok",
		"close":               "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nDate: x\r\nConnection: close\r\n\r\nok",
		"proxy-connection":    "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nProxy-Connection: keep-alive\r\nContent-Type: text/plain\r\n\r\nok",
		"204":                 "HTTP/1.1 204 No Content\r\nContent-Length: 2\r\nDate: x\r\nContent-Type: text/plain\r\n\r\n",
		"304":                 "HTTP/1.1 304 Not Modified\r\nContent-Length: 2\r\nDate: x\r\nContent-Type: text/plain\r\n\r\n",
		"interim then final":  "HTTP/1.1 100 Continue\r\n\r\n" + usual,
		"chunked":             "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nDate: x\r\nContent-Type: text/plain\r\n\r\n2\r\nok\r\n0\r\n\r\n",
		"chunked and length":  "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\nContent-Type: text/plain\r\n\r\n2\r\nok\r\n0\r\n\r\n",
		"no length":           "HTTP/1.1 200 OK\r\nDate: x\r\nContent-Type: text/plain\r\nX: y\r\n\r\nok",
		"length list":         "HTTP/1.1 200 OK\r\nContent-Length: 2, 2\r\nDate: x\r\nContent-Type: text/plain\r\n\r\nok",
		"bad length":          "HTTP/1.1 200 OK\r\nContent-Length: +2\r\nDate: x\r\nContent-Type: text/plain\r\n\r\nok",
		"two lengths":         "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nok",
		"fields reordered":    "HTTP/1.1 200 OK\r\nDate: x\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nok",
		"one more field":      "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nDate: x\r\nContent-Type: text/plain\r\nX-More: 1\r\n\r\nok",
		"bare LF":             "HTTP/1.1 200 OK\r\nContent-Length: 2\nDate: x\r\nContent-Type: text/plain\r\n\r\nok",
		"obs-fold":            "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nDate: x\r\n  folded\r\nContent-Type: text/plain\r\n\r\nok",
		"padded values":       "HTTP/1.1 200 OK\r\nContent-Length: \t 2 \r\nDate:x\r\nContent-Type:  text/plain\t\r\n\r\nok",
		"long value":          "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nDate: " + strings.Repeat("d", 150) + "\r\nContent-Type: text/plain\r\n\r\nok",
		"body in two pieces":  "HTTP/1.1 200 OK\r\nContent-Length: 4\r\nDate: x\r\nContent-Type: text/plain\r\n\r\nok",
		"upgrade":             "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
		"many interpreted":    "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: a\r\nConnection: b\r\nConnection: c\r\nConnection: d\r\n\r\nok",
		"block without blank": "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nDate: x\r\nContent-Type: text/plain\r\n",
		// The usual Date line's length, with an LF inside it: its end
		// is where the usual one's was, but the line ends earlier.
		"bare LF inside the usual line": strings.Replace(usual, "Date: Thu, 26 Nov 2026", "Date: Thu, 26 Nov\n2026", 1),
		"CRLF inside the usual line":    strings.Replace(usual, "Date: Thu, 26 Nov 2026 03:15:50 GMT", "Date: Thu\r\nX: 26 Nov 2026 03:15 GMT", 1),
	}
	for name, other := range others {
		ops := exchange(usual, usual, usual, other, usual, other, other, usual)
		if name == "body in two pieces" {
			ops = append(ops[:len(ops)-2], srv("ok"), fin(c2s), fin(s2c))
		}
		compareFastPaths(t, name, ops, func() splitter { return whole })
	}
	// HEAD and CONNECT requests, a pipelined pair, and a response that
	// answers no request.
	ops := exchange(usual, usual, usual)
	ops = ops[:len(ops)-2]
	ops = append(ops, cli("HEAD /h HTTP/1.1\r\n"+memoBlock), srv(strings.TrimSuffix(usual, "ok")),
		get("/p1"), get("/p2"), srv(usual), srv(usual), srv(usual),
		cli("CONNECT h:443 HTTP/1.1\r\n"+memoBlock), srv(usual), fin(c2s), fin(s2c))
	compareFastPaths(t, "head, pipelined, unanswered, connect", ops, func() splitter { return whole })

	p := run(testConn(), Config{DropHeaderFields: true}, exchange(usual, usual, usual, usual), whole)
	defer p.Release()
	if p.streams[s2c].expressed == 0 {
		t.Fatal("no response was taken by expressResponse: the comparisons prove little")
	}

	// The caps at the usual response's exact counts: 80 bytes (the status
	// line's version and reason, then every field's name and value) and
	// 3 fields, and one under and over each.
	for _, caps := range [][2]int{{79, 3}, {80, 3}, {81, 3}, {80, 2}, {80, 4}} {
		cfg := Config{DropHeaderFields: true, MaxHeaderBytes: caps[0], MaxHeaders: caps[1]}
		ops := exchange(usual, usual, usual, usual)
		compareFastPathsUnder(t, fmt.Sprintf("caps %d bytes, %d fields", caps[0], caps[1]), ops, cfg)
		if caps == [2]int{80, 3} {
			p := run(testConn(), cfg, ops, whole)
			if p.streams[s2c].expressed == 0 {
				t.Error("at exactly the caps no response was taken by expressResponse: the boundary is not tested")
			}
			p.Release()
		}
	}
}
