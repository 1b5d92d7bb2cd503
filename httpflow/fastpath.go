package httpflow

// This file holds the fast paths for what a keep-alive connection carries
// thousands of times: well-formed header field lines lying whole in one
// delivered chunk. Each fast path takes only the usual form and leaves
// everything else (and everything that would need an anomaly or hit a cap)
// to the general code, unchanged: it changes the cost of a line, never its
// result. TestFastPathsMatchGeneralPaths holds the two to the same answer.

import (
	"bytes"
	"encoding/binary"
	"math"
	"math/bits"
	"sync"

	"github.com/connscope/connscope/reassembly"
)

// fastPaths switches the fast paths on (fieldLines here, and Conn.settle,
// which finalizes transactions as they end instead of all at the close);
// tests turn it off to compare the general code's results with theirs.
var fastPaths = true

// fieldLines handles the header field lines at the start of data that have
// the usual form, in one pass each, and returns how many bytes it
// consumed. The usual form is a token name right up to the colon, a value,
// and CRLF, with the line shorter than MaxHeaderBytes and the field within
// both caps. It stops before the first line that is anything else: the
// blank line that ends the block, an obs-fold continuation, a bare LF, a
// space before the colon, a name that is not a token, a line not whole in
// data, a field over a cap. headerLine handles that line as it handles
// every line, so anomalies, truncation and the obs-fold rules stay where
// they are.
//
// For an accepted line it does exactly what headerLine would: the name and
// value are the ones splitField returns (the value trimmed of SP and HTAB),
// and the field is stored (copied) or, with DropHeaderFields and a field
// interpret does not read, counted against the caps without being copied.
func (p *Conn) fieldLines(s *stream, data []byte) int {
	if !fastPaths {
		return 0
	}
	blk := &s.blk
	maxBytes, maxFields := p.cfg.MaxHeaderBytes, p.cfg.MaxHeaders
	drop := p.cfg.DropHeaderFields
	used := 0
	for {
		line := data[used:]
		// The name: the one the previous block had at this place, or token
		// bytes up to the colon (':' and the line end are not token bytes,
		// so the run cannot pass them).
		k := blk.fastLines
		if s.last == nil {
			// The direction's first message: nothing to recognise, and a
			// connection of one transaction never needs the memo.
			k = nameMemoSize
		}
		n, kind, known := s.names.match(k, line)
		if !known {
			for n < len(line) && tchar[line[n]] {
				n++
			}
			if n == 0 || n == len(line) || line[n] != ':' {
				return used
			}
			if drop {
				kind = interpretedKind(line[:n])
			}
			s.names.remember(k, line, n, kind)
		}
		lf := bytes.IndexByte(line[n+1:], '\n')
		if lf < 0 {
			return used
		}
		lf += n + 1
		// headerRun leaves lines that reach MaxHeaderBytes to lineBytes;
		// line[lf-1] is the colon or later, so a bare LF shows here.
		if lf >= maxBytes || line[lf-1] != '\r' {
			return used
		}
		// trimOWS, written out: the inlined call measured 5-10 % slower
		// on BenchmarkParseKeepAlive.
		name, value := line[:n], line[n+1:lf-1]
		for len(value) > 0 && (value[0] == ' ' || value[0] == '\t') {
			value = value[1:]
		}
		for len(value) > 0 && (value[len(value)-1] == ' ' || value[len(value)-1] == '\t') {
			value = value[:len(value)-1]
		}
		if !blk.fits(name, value, maxBytes, maxFields) {
			return used
		}
		blk.fastLines++
		if !drop {
			blk.addField(name, value, maxBytes, maxFields, true, fieldOther)
		} else if kind != fieldOther {
			blk.addValue(name, value, kind)
		} else {
			blk.countField(name, value)
		}
		used += lf + 1
	}
}

// interpretedKindFirst[len(name)] holds the lower-case first letters of the
// names of that length that fieldKindOf recognises: a name whose length
// and first letter match none is fieldOther without a call. Most of a
// browser's fields are ruled out here.
var interpretedKindFirst = func() (t [18][2]byte) {
	for _, name := range []string{"expect", "upgrade", "connection", "keep-alive", "content-length", "proxy-connection", "transfer-encoding"} {
		if t[len(name)][0] == 0 {
			t[len(name)][0] = name[0]
		} else {
			t[len(name)][1] = name[0]
		}
	}
	return t
}()

// interpretedKind is fieldKindOf for a token name, with the length and
// first-letter test done inline.
func interpretedKind(name []byte) fieldKind {
	if len(name) >= len(interpretedKindFirst) {
		return fieldOther
	}
	first := name[0] | 0x20
	if c := interpretedKindFirst[len(name)]; first != c[0] && first != c[1] {
		return fieldOther
	}
	return fieldKindOf(tempString(name))
}

// startLineRun handles a start line of the usual form lying whole at the
// start of data, on a connection already known to carry HTTP/1.x, and
// returns how many bytes it consumed (0 when it left the line to
// lineBytes). The usual form is "method SP target SP HTTP/1.x CRLF" for
// a request (usualRequestLine) and what parseStatusLine accepts for a
// response, shorter than MaxHeaderBytes. It does what lineBytes and
// startLine do for such a line, without their bookkeeping for lines that
// span segments, get cut, or are not start lines.
func (p *Conn) startLineRun(s *stream, data []byte, at reassembly.Span, off int64) int {
	if !fastPaths {
		return 0
	}
	lf := bytes.IndexByte(data, '\n')
	if lf < 1 || lf >= p.cfg.MaxHeaderBytes || data[lf-1] != '\r' {
		return 0
	}
	content := data[:lf-1]
	if s.dir == reassembly.ClientToServer {
		// usualRequestLine, its commonest case written into this frame's
		// r (through a pointer, its nine words cost a copy and write
		// barrier checks).
		var r requestLine
		if sp := commonRequestLine(content); sp > 0 {
			// Field by field: a struct value assigned whole is built on
			// the stack and copied 16 bytes at a time from its 8-byte
			// stores, a copy the CPU must wait for (perf: a third of
			// this function's time, see bench/README.md).
			n := len(content)
			r.method, r.target, r.version = content[:sp], content[sp+1:n-9], content[n-8:]
		} else if !usualRequestLine(content, &r) {
			return 0
		}
		if n := p.expressRequest(s, data, lf, &r, at, off); n > 0 {
			return n
		}
		s.pos = off + int64(lf+1)
		s.wholeLine(at, off, lf+1)
		lb := p.lastBox()
		s.prevDone = lb == nil || lb.responseDone
		p.beginRequest(s, r, false, at)
		return lf + 1
	}
	// The remembered status line (see newStatusLine), its parts built in
	// this frame: returned by a function, their eight words went through
	// the stack.
	var st statusLine
	if n := s.lastStatusLen; n != 0 && len(content) == n && s.sameStatus(content) {
		st.version, st.status, st.memo = content[:8], s.lastStatusCode, true // field by field, as r above
		if n > 12 {
			st.reason = content[13:]
		}
	} else if st = s.newStatusLine(content); st.version == nil {
		return 0
	}
	if n := p.expressResponse(s, data, lf, &st, at, off); n > 0 {
		return n
	}
	s.pos = off + int64(lf+1)
	s.wholeLine(at, off, lf+1)
	p.beginResponse(s, st, false, at)
	return lf + 1
}

// newStatusLine parses a response's content (its line without CRLF) that
// is not the direction's remembered status line, and remembers it: a
// keep-alive server answers "HTTP/1.1 200 OK" again and again, and equal
// bytes parse to equal parts, so startLineRun compares the next line with
// lastStatus (sameStatus) and takes the remembered code instead (its
// statusLine's memo says so). It returns parseStatusLine's parts, or a
// zero statusLine (no version) when parseStatusLine refuses the line.
func (s *stream) newStatusLine(content []byte) statusLine {
	st, ok := parseStatusLine(content)
	if !ok {
		return statusLine{}
	}
	if len(content) <= len(s.lastStatus) {
		s.lastStatusLen, s.lastStatusCode = copy(s.lastStatus[:], content), st.status
		s.lastStatusVersion, s.lastStatusReason = "", ""
	}
	return st
}

// sameStatus reports whether content, of lastStatusLen bytes, is the
// remembered status line. The usual line ("HTTP/1.1 200 OK") is 8 to 16
// bytes long, two words that overlap, compared without a call; a status
// line is at least 12 bytes ("HTTP/1.1 200"), and a longer one is
// compared as bytes.
func (s *stream) sameStatus(content []byte) bool {
	n := len(content)
	if n < 8 || n > 16 {
		return string(content) == string(s.lastStatus[:n])
	}
	return binary.LittleEndian.Uint64(content) == binary.LittleEndian.Uint64(s.lastStatus[:8]) &&
		binary.LittleEndian.Uint64(content[n-8:]) == binary.LittleEndian.Uint64(s.lastStatus[n-8:n])
}

// statusStrings returns the Version and Reason strings of a response
// whose status line is st: those of the direction's remembered status
// line when st is that line and a response already made them (equal bytes,
// and strings are never written again), else what closeBlock makes of
// the bytes, remembered for the next response with that line.
func (p *Conn) statusStrings(s *stream, st *statusLine) (version, reason string) {
	if st.memo && s.lastStatusVersion != "" {
		return s.lastStatusVersion, s.lastStatusReason
	}
	version = p.versionOf(st.version, s.last.Version)
	reason = p.sameOrKept(st.reason, s.last.Reason, internReason)
	if st.memo {
		s.lastStatusVersion, s.lastStatusReason = version, reason
	}
	return version, reason
}

// methodOf and versionOf are sameOrKept for a request's method and a
// message's version: the commonest values are constants, which a switch
// recognises in a few word compares instead of a call to compare bytes.
// They are small enough to be inlined; the rest goes to otherMethod and
// otherVersion.
func (p *Conn) methodOf(b []byte, last string) string {
	switch string(b) {
	case "GET":
		return "GET"
	case "POST":
		return "POST"
	case "HEAD":
		return "HEAD"
	}
	return p.otherMethod(b, last)
}

func (p *Conn) versionOf(b []byte, last string) string {
	switch string(b) {
	case "HTTP/1.1":
		return "HTTP/1.1"
	case "HTTP/1.0":
		return "HTTP/1.0"
	}
	return p.otherVersion(b, last)
}

//go:noinline
func (p *Conn) otherMethod(b []byte, last string) string {
	return p.sameOrKept(b, last, internMethod)
}

//go:noinline
func (p *Conn) otherVersion(b []byte, last string) string {
	return p.sameOrKept(b, last, internVersion)
}

// wholeLine is lineBytes' bookkeeping for a start line of n bytes (LF
// included) at stream offset off that arrived whole in one chunk, which
// the fast paths take without assembling it.
func (s *stream) wholeLine(at reassembly.Span, off int64, n int) {
	s.lineStart, s.lineOff, s.lineLen = at, off, int64(n)
	s.lineTrunc, s.lineSkip, s.lineMsg = false, false, nil
	s.line = s.line[:0]
}

// sameOrKept is internedOrKept for a start line's part that a keep-alive
// peer usually repeats: last, the direction's last message's string for
// that part, when the bytes are equal (it is an interned string or the
// slab's, and strings are never written again).
func (p *Conn) sameOrKept(b []byte, last string, intern func([]byte) (string, bool)) string {
	if string(b) == last {
		return last
	}
	return p.internedOrKept(b, intern)
}

// usualRequestLine parses "method SP target SP HTTP/1.x" in one pass: a
// token, a space, a target without the bytes parseRequestLine refuses in
// one (controls but HTAB, DEL, SP), a space, and the version ending the
// line. Whatever it accepts parseRequestLine accepts with the same parts;
// anything else (an HTTP/0.9 line, spaces in the target, another version,
// a line cut short) it leaves to parseRequestLine. It writes the parts
// into r: returned by value, nine words, they cost 50 instructions per
// request under cachegrind.
func usualRequestLine(line []byte, r *requestLine) bool {
	if sp := commonRequestLine(line); sp > 0 {
		*r = commonParts(line, sp)
		return true
	}
	var ok bool
	*r, ok = usualRequestLineBy(line, true)
	return ok
}

// commonRequestLine accepts the commonest request line, "token SP target
// SP HTTP/1.1" (or HTTP/1.0) with a target of at least eight bytes,
// finding the target's end from the line's end instead of scanning for
// it: the version is the line's last eight bytes, and the target, between
// the two spaces, is tested a word at a time (targetFlags, the last word
// overlapping the one before). It returns the method's length, or 0 when
// it refuses the line (an HTAB in the target, another version, a short
// target) for usualRequestLineBy to decide: what it accepts,
// usualRequestLineBy accepts with the same parts (commonParts; the target
// holds no byte it stops at, so its scan ends at the space before the
// version).
func commonRequestLine(line []byte) int {
	n := len(line)
	if n < 19 || line[n-9] != ' ' {
		return 0
	}
	if v := binary.LittleEndian.Uint64(line[n-8:]); v != http11Word && v != http10Word {
		return 0
	}
	sp := 0
	if binary.LittleEndian.Uint32(line) == getWord {
		sp = 3 // "GET ", most requests: no loop
	} else {
		for tchar[line[sp]] { // stops at line[n-9] at the latest
			sp++
		}
	}
	if sp == 0 || line[sp] != ' ' || sp+1+8 > n-9 {
		return 0
	}
	target := line[sp+1 : n-9]
	flags := targetFlags(binary.LittleEndian.Uint64(target[len(target)-8:]))
	for t := target; len(t) >= 8; t = t[8:] {
		flags |= targetFlags(binary.LittleEndian.Uint64(t))
	}
	if flags != 0 {
		return 0
	}
	return sp
}

// commonParts returns the parts of a line commonRequestLine accepted with
// a method of sp bytes.
func commonParts(line []byte, sp int) requestLine {
	n := len(line)
	return requestLine{method: line[:sp], target: line[sp+1 : n-9], version: line[n-8:]}
}

// lfSep is an LF, for bytes.Count.
var lfSep = []byte{'\n'}

// http11Word, http10Word and getWord are "HTTP/1.1", "HTTP/1.0" and
// "GET " as little-endian words.
var (
	http11Word = binary.LittleEndian.Uint64([]byte("HTTP/1.1"))
	http10Word = binary.LittleEndian.Uint64([]byte("HTTP/1.0"))
	getWord    = binary.LittleEndian.Uint32([]byte("GET "))
)

// usualRequestLineBy is usualRequestLine, with the target scanned a word
// at a time (words) or only a byte at a time (tests compare the two).
func usualRequestLineBy(line []byte, words bool) (r requestLine, ok bool) {
	sp := 0
	for sp < len(line) && tchar[line[sp]] {
		sp++
	}
	if sp == 0 || sp == len(line) || line[sp] != ' ' {
		return r, false
	}
	end := sp + 1
	if words {
		end += targetRun(line[end:])
		if end+8 <= len(line) {
			// targetRun stopped at this word: go straight to its first
			// control, SP or DEL (see targetFlags); an HTAB there is
			// taken by the byte loop, which goes on from it.
			end += bits.TrailingZeros64(targetFlags(binary.LittleEndian.Uint64(line[end:]))) / 8
		}
	}
	for end < len(line) && !badTargetByte[line[end]] {
		end++
	}
	if end == sp+1 || len(line)-end != len(" HTTP/1.1") || line[end] != ' ' {
		return r, false
	}
	version := line[end+1:]
	if major, _, ok := httpVersion(version); !ok || major != 1 {
		return r, false
	}
	return requestLine{method: line[:sp], target: line[sp+1 : end], version: version}, true
}

// targetRun returns how many leading bytes of b, a multiple of 8, hold
// no byte that badTargetByte marks, testing eight bytes at a time: a
// browser's target is tens of bytes, and the byte loop after it finishes
// the run from the first word that may hold a bad byte. It is
// conservative: a word with an HTAB (allowed) stops it too.
func targetRun(b []byte) int {
	n := 0
	for ; n+8 <= len(b); n += 8 {
		if targetFlags(binary.LittleEndian.Uint64(b[n:])) != 0 {
			break
		}
	}
	return n
}

// targetFlags returns, for the eight bytes of w (little-endian), the high
// bit of each byte below 0x21 (controls and SP) or equal to 0x7f (DEL), or
// 0 when there is none: the classic "has a byte less than" and "has a zero
// byte" tests, which never flag a byte at or above 0x80. Bytes above a
// flagged one may be flagged wrongly (a borrow carries upwards), never the
// lowest: its index is the first such byte's.
func targetFlags(w uint64) uint64 {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	del := w ^ 0x7f7f7f7f7f7f7f7f
	return ((w-ones*0x21)&^w | (del-ones)&^del) & highs
}

// nameMemo remembers the field names of a direction's last header block,
// by their place in it: a keep-alive client or server sends the same
// fields in the same order message after message, so fieldLines usually
// recognises a name by comparing two words with the one at the same place,
// instead of a byte loop whose length the branch predictor has to guess
// (in the capture pipeline, between two other stages' work, it mostly
// guesses wrong). Only token names of at most 16 bytes are remembered,
// from the direction's second message on; the kind is what
// interpretedKind said of them (with DropHeaderFields).
type nameMemo struct {
	words [nameMemoSize][2]uint64 // the name's bytes, little-endian, zero past its end
	masks [nameMemoSize][2]uint64 // nameMask of the name's length
	size  [nameMemoSize]uint8     // the name's length, 0 for none
	kind  [nameMemoSize]fieldKind
	// lineEnd is where expressResponse last found the LF of the line at
	// each place, from the line's start: where it looks first.
	lineEnd [nameMemoSize]uint16
}

// nameMemoSize is how many field lines of a block are remembered: a
// browser's request has about a dozen.
const nameMemoSize = 12

// nameMask returns the masks that keep the first n (1 to 16) bytes of two
// little-endian words.
func nameMask(n int) (lo, hi uint64) {
	if n >= 8 {
		return ^uint64(0), 1<<(8*uint(n-8)) - 1
	}
	return 1<<(8*uint(n)) - 1, 0
}

// match reports whether line (at least the rest of a chunk) opens with the
// name remembered at place k followed by a colon, with its length and
// kind; a line of fewer than 17 bytes is not compared. Bytes equal to a
// remembered token are a token: the answer is the one the token loop
// would give.
func (m *nameMemo) match(k int, line []byte) (n int, kind fieldKind, ok bool) {
	// Small enough to be inlined in fieldLines and expressResponse: a line
	// of at least 17 bytes holds the two words and the byte after a name
	// of up to 16.
	if uint(k) >= nameMemoSize || len(line) < 17 {
		return 0, fieldOther, false
	}
	n = int(m.size[k])
	if n == 0 || line[n] != ':' ||
		binary.LittleEndian.Uint64(line)&m.masks[k][0] != m.words[k][0] || binary.LittleEndian.Uint64(line[8:])&m.masks[k][1] != m.words[k][1] {
		return 0, fieldOther, false
	}
	return n, m.kind[k], true
}

// remember keeps the token name line[:n] at place k, when it fits.
func (m *nameMemo) remember(k int, line []byte, n int, kind fieldKind) {
	if k >= nameMemoSize {
		return
	}
	if n > 16 || len(line) < 16 {
		m.size[k] = 0
		return
	}
	lo, hi := nameMask(n)
	m.words[k] = [2]uint64{binary.LittleEndian.Uint64(line) & lo, binary.LittleEndian.Uint64(line[8:]) & hi}
	m.masks[k] = [2]uint64{lo, hi}
	m.size[k], m.kind[k] = uint8(n), kind
}

// blockMemo remembers a direction's last header block that fieldLines took
// whole, from its first field line to the blank line, and what taking it
// did to the headerBlock: a keep-alive client sends the same block message
// after message (a browser's dozen fields, ~400 bytes), and comparing the
// bytes costs a fraction of parsing them again. What fieldLines does to a
// block is a function of the lines' bytes, the Config and the block's
// state before them; the memo is used only from the same state (no field
// yet, nothing counted against the caps), with the byte cap checked for
// the start line the new block follows (see replayBlock).
type blockMemo struct {
	// wire is the block as it arrived: its field lines, each ending in
	// CRLF, and the CRLF that ends it.
	wire []byte
	// buf is what fieldLines appended to headerBlock.buf, and fields the
	// fields it stored, their refs relative to buf (a zero name ref, an
	// interpreted field's under DropHeaderFields, stays zero).
	buf    []byte
	fields []fieldRef
	store  []byte // wire's and buf's memory
	// The block's counters after the lines: fastLines, and the fields and
	// bytes counted against the caps without being copied.
	fastLines, uncopiedBytes, uncopiedFields int
	lastStored, lastCopied                   bool
	// bodiless says that, with DropHeaderFields, the block's stored
	// fields are all of kinds that decide nothing about a request's body
	// or a tunnel (Connection, Keep-Alive, Proxy-Connection): a request
	// with this block ends with it, which expressRequest relies on.
	bodiless bool
	// interp is what interpreting the block's fields gave a message, for
	// expressRequest (see blockMemo.interpret).
	interp blockInterp
	// credit is how many more misses the direction may have: a server's
	// blocks usually differ (Date, Content-Length), and after a few misses
	// without hits its memo is neither compared nor recorded any more. A
	// hit earns some back.
	credit int
}

// blockMemos switches replayBlock on; tests turn it off to compare the
// header block it leaves with the one fieldLines leaves.
var blockMemos = true

// expressPaths switches expressRequest and expressResponse on. They leave
// the headerBlock as the previous message left it (nothing reads a block
// between messages, and the next one resets it); tests that compare
// blocks turn them off.
var expressPaths = true

// blockMemoMaxWire bounds the blocks remembered: a browser's request is
// well under it, and a larger block is rarely sent twice.
const blockMemoMaxWire = 2 << 10

// blockMemoMaxFields bounds the fields of a remembered block (a
// browser's request has about a dozen).
const blockMemoMaxFields = 64

// memoPool holds the memos of released connections, with the buffers they
// grew: keep-alive connections after the first few allocate none. A memo
// holds copies, nothing of the connection's.
var memoPool = sync.Pool{New: func() any { return new(blockMemo) }}

// releaseMemo gives the stream's memo back to memoPool.
func (s *stream) releaseMemo() {
	if m := s.memo; m != nil {
		m.wire, m.buf, m.fields = nil, nil, m.fields[:0]
		m.credit = 0
		m.interp = blockInterp{tokens: m.interp.tokens[:0]}
		memoPool.Put(m)
		s.memo = nil
	}
}

// blockMemoCredit is the misses a direction starts with; blockMemoHitCredit
// what a hit gives back, up to blockMemoMaxCredit.
const (
	blockMemoCredit    = 4
	blockMemoHitCredit = 4
	blockMemoMaxCredit = 64
)

// freshBlock reports whether the block holds nothing but its start line:
// no field stored or counted, no line taken by fieldLines. That is the
// state blocks are remembered from and replayed into.
func (b *headerBlock) freshBlock() bool {
	return len(b.fields) == 0 && b.uncopiedFields == 0 && b.uncopiedBytes == 0 && b.fastLines == 0
}

// replayBlock handles a header block at the start of data that is equal,
// byte for byte, to the direction's remembered one, up to and including
// its blank line, and returns how many bytes it consumed (0 when it left
// data to fieldLines). The block must be fresh (freshBlock). It leaves the
// headerBlock as fieldLines would have: the same bytes appended to buf,
// the same fields, counters and last-field flags; the caller then ends the
// block as headerLine does at the blank line.
//
// Equal bytes give fieldLines the same lines and the same stopping place
// (the blank line). The one input that can differ is the room the start
// line left under MaxHeaderBytes: the remembered block fitted after its
// own start line, and fits after this one when the start line plus the
// block's cost stays within the cap (the byte check of each line is on a
// running total, so the last line's is the strictest). The field cap does
// not depend on the start line.
func (p *Conn) replayBlock(s *stream, data []byte) int {
	memo := s.memo
	if !fastPaths || !blockMemos || memo == nil || memo.credit <= 0 || len(memo.wire) == 0 {
		return 0
	}
	b := &s.blk
	n := len(memo.wire)
	if len(data) < n || !bytes.Equal(data[:n], memo.wire) ||
		len(b.buf)+len(memo.buf)+memo.uncopiedBytes > p.cfg.MaxHeaderBytes {
		memo.credit--
		return 0
	}
	memo.credit = min(memo.credit+blockMemoHitCredit, blockMemoMaxCredit)
	base := len(b.buf)
	b.buf = append(b.buf, memo.buf...)
	for _, f := range memo.fields {
		if f.name != (ref{}) {
			f.name.lo += base
			f.name.hi += base
		}
		f.value.lo += base
		f.value.hi += base
		b.fields = append(b.fields, f)
	}
	b.anyField = true
	b.fastLines = memo.fastLines
	b.uncopiedBytes, b.uncopiedFields = memo.uncopiedBytes, memo.uncopiedFields
	b.lastStored, b.lastCopied = memo.lastStored, memo.lastCopied
	return n
}

// recordBlock remembers the header block fieldLines just took whole:
// used bytes of data from a fresh block whose buf held bufStart bytes,
// when the blank line follows them. Only from a direction's second message
// on (a connection of one transaction never replays), and only while the
// direction's memo has credit.
func (p *Conn) recordBlock(s *stream, data []byte, used, bufStart int) {
	if s.last == nil || used+2 > min(len(data), blockMemoMaxWire) || data[used] != '\r' || data[used+1] != '\n' {
		return
	}
	b := &s.blk
	if len(b.fields) > blockMemoMaxFields {
		return
	}
	memo := s.memo
	if memo == nil {
		memo = memoPool.Get().(*blockMemo)
		memo.credit = blockMemoCredit
		s.memo = memo
	} else if memo.credit <= 0 {
		return
	}
	// wire and buf share one buffer, and fields gets room for a few more:
	// a connection's memo allocates once or twice, not at every doubling.
	wire, buf := data[:used+2], b.buf[bufStart:]
	if need := len(wire) + len(buf); cap(memo.store) < need {
		memo.store = make([]byte, need+need/4)
	}
	memo.wire = memo.store[:copy(memo.store, wire)]
	memo.buf = memo.store[len(wire) : len(wire)+copy(memo.store[len(wire):], buf)]
	if cap(memo.fields) < len(b.fields) {
		memo.fields = make([]fieldRef, 0, len(b.fields)+4)
	}
	memo.fields = memo.fields[:0]
	for _, f := range b.fields {
		if f.name != (ref{}) {
			f.name.lo -= bufStart
			f.name.hi -= bufStart
		}
		f.value.lo -= bufStart
		f.value.hi -= bufStart
		memo.fields = append(memo.fields, f)
	}
	memo.fastLines = b.fastLines
	memo.uncopiedBytes, memo.uncopiedFields = b.uncopiedBytes, b.uncopiedFields
	memo.lastStored, memo.lastCopied = b.lastStored, b.lastCopied
	memo.interp.valid = false
	memo.bodiless = p.cfg.DropHeaderFields
	for _, f := range memo.fields {
		switch f.kind {
		case fieldConnection, fieldKeepAlive, fieldProxyConnection:
		default:
			memo.bodiless = false
		}
	}
}

// blockInterp is what interpretKind wrote into a message for a bodiless
// block's fields (Connection, Keep-Alive and Proxy-Connection, which touch
// neither the framing info nor anything but these Message fields).
type blockInterp struct {
	valid            bool
	tokens           []string
	keepAlive        string
	keepAliveMax     int32
	keepAliveTimeout int32
	proxyConnection  string
	hasProxy         bool
}

// interpret gives m (a new message, see newMessage) what closeBlock's
// interpretKind calls give it for the memo's bodiless block: the first
// time by making those calls and keeping the outcome, later by copying
// it. The fields are the same bytes every time, and what interpretKind
// writes for these kinds depends on nothing else; the strings it keeps
// are the connection's (the memo is cleared when the connection is
// released).
func (memo *blockMemo) interpret(m *Message, fi *framingInfo, mem *slab) {
	in := &memo.interp
	if !in.valid {
		memo.interpretFirst(m, fi, mem)
		return
	}
	if len(in.tokens) == 1 {
		// The usual "keep-alive" or "close": no copy call for one.
		m.ConnectionTokens = append(m.ConnectionTokens, in.tokens[0])
	} else {
		m.ConnectionTokens = append(m.ConnectionTokens, in.tokens...)
	}
	m.KeepAliveMax, m.KeepAliveTimeout, m.HasProxyConnection = in.keepAliveMax, in.keepAliveTimeout, in.hasProxy
	if in.keepAlive != "" || in.proxyConnection != "" {
		x := mem.extra(m)
		x.KeepAlive, x.ProxyConnection = in.keepAlive, in.proxyConnection
	}
}

// interpretFirst is interpret the first time, when it makes the calls
// and keeps their outcome.
func (memo *blockMemo) interpretFirst(m *Message, fi *framingInfo, mem *slab) {
	in := &memo.interp
	for _, f := range memo.fields {
		interpretKind(m, fi, f.kind, tempString(memo.buf[f.value.lo:f.value.hi]), mem)
	}
	in.tokens = append(in.tokens[:0], m.ConnectionTokens...)
	in.keepAlive, in.keepAliveMax, in.keepAliveTimeout = m.KeepAlive(), m.KeepAliveMax, m.KeepAliveTimeout
	in.proxyConnection, in.hasProxy = m.ProxyConnection(), m.HasProxyConnection
	in.valid = true
}

// expressResponse handles, in one step, the header block of a response
// that a keep-alive server sends again and again: a final status line of
// the usual form (lf is its LF in data, st its parts) answering the one
// request waiting, header fields whose names the direction's nameMemo
// knows at their places, among them one plain Content-Length, a few
// Connection, Keep-Alive or Proxy-Connection fields and none of the other
// fields interpret reads, and the blank line, all in data. It
// returns the bytes of the block it consumed, leaving the body to feed,
// or 0 when it left the response to the general code; it changes nothing
// before it knows it takes the response.
//
// The result is what startLineRun, beginResponse, headerRun, fieldLines,
// headerLine, endHeaders and closeBlock would have made of the same bytes
// (see expressRequest for why fewer steps matter). Each field line passes
// the tests fieldLines makes of it (a name it recognises, CRLF, the
// caps), so the general code would have taken the same lines the same
// way.
func (p *Conn) expressResponse(s *stream, data []byte, lf int, st *statusLine, at reassembly.Span, off int64) int {
	if !expressPaths || !p.cfg.DropHeaderFields || s.last == nil || st.status < 200 || st.status == 204 || st.status == 304 ||
		p.waiting() != 1 {
		return 0
	}
	b := p.oldest()
	if b.head || b.connect || !startedBefore(b, at.Frame) || !p.serverHadRequest(b, at.Frame) {
		return 0
	}
	maxBytes := p.cfg.MaxHeaderBytes
	// The block's field lines: the loop reads no value but Content-Length's,
	// and notes which lines are Connection, Keep-Alive or Proxy-Connection
	// fields (interpreted once the response is taken; more than a few is
	// unusual enough for the general code). k counts the lines, and only
	// lines the name memo knows at their place are taken, so k stays
	// under nameMemoSize.
	block := data[lf+1:]
	rest := block
	var interpreted uint16 // bit k: line k is interpreted
	clSeen := false
	var cl int64
	k := 0
	for ; ; k++ {
		if len(rest) >= 2 && rest[0] == '\r' && rest[1] == '\n' {
			break
		}
		n, kind, known := s.names.match(k, rest)
		if !known {
			return 0
		}
		// fieldLines' tests, written out as there (a shared function is
		// not inlined, and its call per line measured 110 more
		// instructions per transaction under cachegrind). The line's LF
		// is looked for where the direction's last block had it (a
		// server's Date and Content-Type lines keep their length), and
		// searched for only when it is not there; the count after the
		// loop makes sure that no LF came before one found in place.
		end := int(s.names.lineEnd[k])
		if end <= n || end >= len(rest) || rest[end] != '\n' {
			i := bytes.IndexByte(rest[n+1:], '\n')
			if i < 0 {
				return 0
			}
			end = n + 1 + i
			s.names.lineEnd[k] = uint16(min(end, math.MaxUint16))
		}
		if end >= maxBytes || rest[end-1] != '\r' {
			return 0
		}
		switch kind {
		case fieldOther:
		case fieldContentLength:
			v, ok := parseDecimal(tempString(trimOWS(rest[n+1 : end-1])))
			if !ok || clSeen {
				return 0 // a list, a bad value, or a second field: anomalies
			}
			cl, clSeen = v, true // what contentLength makes of it
		case fieldConnection, fieldKeepAlive, fieldProxyConnection:
			interpreted |= 1 << k
		default:
			return 0 // framing or tunnel fields: the general code decides
		}
		rest = rest[end+1:]
	}
	fieldBytes := len(block) - len(rest)
	// Each line ends at an LF, and the blank line at the one after the
	// block: when the block holds no other LF, no line had one before the
	// end the loop took for it (one count for the block, where searching
	// every line cost a call per line).
	if bytes.Count(block[:fieldBytes+2], lfSep) != k+1 {
		return 0
	}
	// The caps count the start line's version and reason, then every
	// field's name and value trimmed of SP and HTAB (see
	// headerBlock.fits). Each line's name and untrimmed value (colon to
	// CR) are its bytes but the colon and CRLF, at least that: the block
	// is counted exactly (countBlock) only when that bound is over the
	// cap.
	if !clSeen || k > p.cfg.MaxHeaders || interpreted != 0 && bits.OnesCount16(interpreted) > 4 ||
		len(st.version)+len(st.reason)+fieldBytes-3*k > maxBytes && countBlock(st, block[:fieldBytes]) > maxBytes {
		return 0
	}
	size := lf + 1 + fieldBytes + 2

	s.lineMsg = nil // of wholeLine's line state, the one part read between lines (see expressRequest)

	// beginResponse for the final response of the oldest request, and
	// beginMessage.
	m := &b.resp
	newMessage(m, b.respTok[:])
	b.t.Response = m
	p.popPending()
	s.final = true
	m.Status = st.status
	s.msg, s.box = m, b
	m.FirstFrame, m.Start = at.Frame, at.Time
	touch(m, at)
	m.HeaderBytes, m.WireBytes = int64(size), int64(size)

	// closeBlock, with DropHeaderFields.
	m.Version, m.Reason = p.statusStrings(s, st)
	// A single plain Content-Length is what contentLength would have
	// made of it; the fields before or after it read other state.
	s.fi = framingInfo{clSeen: true, cl: cl}
	if interpreted != 0 {
		p.interpretLines(s, m, block[:fieldBytes], interpreted)
	}
	m.DeclaredLength = cl
	s.blkOpen = false

	// endHeaders: a Content-Length body.
	m.Framing = FramingContentLength
	b.respHeaders = true
	s.pos = off + int64(size)
	if cl == 0 {
		p.finish(s)
	} else {
		s.remaining = cl
		s.st = stBodyLength
	}
	s.expressed++
	return size
}

// interpretLines gives m what closeBlock's interpretKind calls give it
// for the Connection, Keep-Alive and Proxy-Connection fields of a block
// expressResponse took: the lines of block (its field lines, each a name
// the direction's name memo knows at its place) whose bit is set in
// lines, in block order.
func (p *Conn) interpretLines(s *stream, m *Message, block []byte, lines uint16) {
	for k := 0; lines != 0; k++ {
		lf := bytes.IndexByte(block, '\n')
		if lines&(1<<k) != 0 {
			n := int(s.names.size[k])
			interpretKind(m, &s.fi, s.names.kind[k], tempString(trimOWS(block[n+1:lf-1])), &p.mem)
			lines &^= 1 << k
		}
		block = block[lf+1:]
	}
}

// countBlock is what a response's header block counts against
// MaxHeaderBytes (see headerBlock.fits): its status line's version and
// reason, then every field's name and value trimmed of SP and HTAB. block
// holds field lines that expressResponse accepted (a token name, a colon,
// the value, CRLF), without the blank line.
func countBlock(st *statusLine, block []byte) int {
	counted := len(st.version) + len(st.reason)
	for len(block) > 0 {
		lf := bytes.IndexByte(block, '\n')
		colon := bytes.IndexByte(block[:lf], ':')
		counted += colon + len(trimOWS(block[colon+1:lf-1]))
		block = block[lf+1:]
	}
	return counted
}

// expressRequest handles, in one step, a request that a keep-alive client
// sends again and again: a start line of the usual form (lf is its LF in
// data, r its parts) followed in the same chunk by the direction's
// remembered header block (replayBlock's memo), when that block gives the
// request no body (blockMemo.bodiless). It returns the bytes it consumed,
// 0 when it left the request to the general code.
//
// The result is what startLineRun, headerRun, replayBlock, endHeaders,
// closeBlock and finish would have made of the same bytes, with fewer
// steps: the block is not copied into the headerBlock only to be read
// back, and the message starts and ends in one place. That matters more
// in the capture pipeline than its share of the work suggests: there the
// parser's code runs cold between reassembly's calls, and every step
// skipped is code not fetched (measured on keepalive.pcap: this path took
// the parsing overhead over reassembly from +53 % to +46 %).
// TestFastPathsMatchGeneralPaths* hold it to the general code's results.
func (p *Conn) expressRequest(s *stream, data []byte, lf int, r *requestLine, at reassembly.Span, off int64) int {
	memo := s.memo
	if !expressPaths || !blockMemos || memo == nil || !memo.bodiless || memo.credit <= 0 || len(memo.wire) == 0 ||
		s.tunnelAfter || s.trailersOpen || string(r.method) == "CONNECT" {
		return 0
	}
	n := len(memo.wire)
	block := data[lf+1:]
	// replayBlock's tests, the cap with this start line in the buffer.
	if len(block) < n || !bytes.Equal(block[:n], memo.wire) ||
		len(r.method)+len(r.target)+len(r.version)+len(memo.buf)+memo.uncopiedBytes > p.cfg.MaxHeaderBytes {
		return 0
	}
	memo.credit = min(memo.credit+blockMemoHitCredit, blockMemoMaxCredit)
	s.expressed++
	size := lf + 1 + n

	// Of the line state wholeLine sets, only lineMsg is read between
	// lines (by lineBytes and inUse), and it must not point to an older
	// message. The rest (lineStart, lineOff, lineLen, lineTrunc, lineSkip,
	// line) is read only while a line is open, by lineBytes and what it
	// calls for the line it assembled, and by beginMessage for the start
	// line just taken, which the express paths do not call: lineBytes sets
	// it afresh for the next line, and headerRun resets lineTrunc.
	s.lineMsg = nil
	lb := p.lastBox()
	s.prevDone = lb == nil || lb.responseDone

	// beginRequest and beginMessage.
	b := p.newBox()
	m := &b.req
	newMessage(m, b.reqTok[:])
	b.t.Request = m
	b.head = string(r.method) == "HEAD"
	b.t.Pipelined = !s.prevDone
	b.reqOff = off
	b.cliAck = p.ackedAt(reassembly.ClientToServer, at.Frame)
	p.pending = append(p.pending, b)
	m.FirstFrame, m.Start = at.Frame, at.Time
	touch(m, at)
	m.HeaderBytes, m.WireBytes = int64(size), int64(size)

	// closeBlock, with DropHeaderFields, reading the fields from the memo
	// (what interpreting the block gave last time).
	m.Method = p.methodOf(r.method, s.last.Method)
	m.Target = p.mem.string(r.target)
	m.Version = p.versionOf(r.version, s.last.Version)
	// s.fi is left as it is: the block's fields are none that read or
	// write it, and the next message starts it afresh.
	memo.interpret(m, &s.fi, &p.mem)

	// endHeaders finds no body; finish and done.
	m.Complete = true
	s.pos = off + int64(size)
	s.last = m
	s.msg, s.box, s.final, s.blkOpen = nil, nil, false, false
	s.st = stStart
	// done calls settle, which settles transactions in order from the
	// first not settled; when that is this one, whose response has not
	// begun, it settles nothing.
	if !b.kept || p.settled != b.t.Index {
		p.settle()
	}
	return size
}
