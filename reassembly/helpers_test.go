package reassembly

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/connscope/connscope/capture"
)

// flow builds hand-written segment sequences between a client and a server.
// Sequence numbers are given relative to each side's ISN (the SYN is 0), as
// Wireshark shows them, and converted to absolute numbers here.
type flow struct {
	cli, srv       netip.AddrPort
	cliISN, srvISN uint32
	frame          uint64
	ipid           uint16
	segs           []*capture.Segment
}

const t0 = int64(1_700_000_000_000_000_000)

func newFlow(cli, srv string) *flow {
	return &flow{
		cli: netip.MustParseAddrPort(cli), srv: netip.MustParseAddrPort(srv),
		cliISN: 1000, srvISN: 5000, ipid: 100,
	}
}

// seg appends a segment. dir is "c" (client to server) or "s"; at is in
// milliseconds from t0; flags in tcpdump letters (S, A, F, R, P); seq and
// ack are relative; payload is the data.
func (f *flow) seg(dir string, at float64, flags string, seq, ack uint32, payload string, mods ...func(*capture.Segment)) *capture.Segment {
	f.frame++
	f.ipid++
	s := &capture.Segment{Frame: f.frame, Time: t0 + int64(at*1e6), IPID: f.ipid, Window: 65535}
	s.Options.WindowScale = -1
	isn, peerISN := f.cliISN, f.srvISN
	s.Src, s.Dst = f.cli, f.srv
	if dir == "s" {
		isn, peerISN = f.srvISN, f.cliISN
		s.Src, s.Dst = f.srv, f.cli
	}
	for _, c := range flags {
		switch c {
		case 'S':
			s.Flags |= capture.FlagSYN
		case 'A', '.':
			s.Flags |= capture.FlagACK
		case 'F':
			s.Flags |= capture.FlagFIN
		case 'R':
			s.Flags |= capture.FlagRST
		case 'P':
			s.Flags |= capture.FlagPSH
		default:
			panic("bad flag " + string(c))
		}
	}
	s.Seq = isn + seq
	if s.Flags.Has(capture.FlagACK) {
		s.Ack = peerISN + ack
	}
	s.Payload = []byte(payload)
	s.PayloadLength = len(payload)
	s.TCPChecksum = uint16(s.Seq) ^ uint16(s.Ack) ^ uint16(len(payload)) ^ f.ipid
	for _, m := range mods {
		m(s)
	}
	f.segs = append(f.segs, s)
	return s
}

// handshake appends SYN, SYN/ACK, ACK at 0, 10 and 20 ms.
func (f *flow) handshake() *flow {
	f.seg("c", 0, "S", 0, 0, "")
	f.seg("s", 10, "SA", 0, 1, "")
	f.seg("c", 20, "A", 1, 1, "")
	return f
}

func window(w uint16) func(*capture.Segment) { return func(s *capture.Segment) { s.Window = w } }
func wireLen(n int) func(*capture.Segment) {
	return func(s *capture.Segment) { s.PayloadLength = n }
}
func sameIPID(other *capture.Segment) func(*capture.Segment) {
	return func(s *capture.Segment) { s.IPID, s.TCPChecksum = other.IPID, other.TCPChecksum }
}

// recorder is a Handler that checks the Assembler's contract as it goes:
// offsets contiguous per direction, nothing after End, End once per
// direction, Closed once per Opened and only after both Ends.
type recorder struct {
	t       testing.TB
	opened  []*Connection
	closed  []*Connection
	streams map[*Connection]*streamLog
}

type streamLog struct {
	t        testing.TB
	conn     *Connection
	text     [2]strings.Builder // data, with gaps written as <gap N>
	next     [2]int64           // expected next offset
	ended    [2]bool
	reasons  [2]EndReason
	endAt    [2]Span     // where each End was reported
	frames   [2][]uint64 // frame of each Data call
	closed   int
	sequence []string // "c:data", "s:gap", ... in call order
}

func newRecorder(t testing.TB) *recorder {
	return &recorder{t: t, streams: map[*Connection]*streamLog{}}
}

func (r *recorder) Opened(c *Connection) StreamConsumer {
	r.opened = append(r.opened, c)
	l := &streamLog{t: r.t, conn: c}
	r.streams[c] = l
	return l
}

func (r *recorder) Closed(c *Connection) {
	l := r.streams[c]
	if l == nil {
		r.t.Fatalf("Closed for a connection never opened: %d", c.ID)
		return
	}
	l.closed++
	if l.closed > 1 {
		r.t.Errorf("conn %d closed %d times", c.ID, l.closed)
	}
	if !l.ended[0] || !l.ended[1] {
		r.t.Errorf("conn %d closed before End on both directions (%v)", c.ID, l.ended)
	}
	r.closed = append(r.closed, c)
}

func dirLetter(d Direction) string {
	if d == ClientToServer {
		return "c"
	}
	return "s"
}

func (l *streamLog) check(d Direction, what string, at Span) {
	if l.ended[d] {
		l.t.Errorf("conn %d %s: %s after End", l.conn.ID, d, what)
	}
	if at.Offset != l.next[d] {
		l.t.Errorf("conn %d %s: %s at offset %d, want %d (not contiguous)", l.conn.ID, d, what, at.Offset, l.next[d])
	}
}

func (l *streamLog) Data(d Direction, data []byte, at Span) {
	l.check(d, "Data", at)
	if len(data) == 0 {
		l.t.Errorf("conn %d %s: empty Data", l.conn.ID, d)
	}
	l.text[d].Write(data)
	l.next[d] += int64(len(data))
	l.frames[d] = append(l.frames[d], at.Frame)
	l.sequence = append(l.sequence, dirLetter(d)+":data")
}

func (l *streamLog) Gap(d Direction, size int64, at Span) {
	l.check(d, "Gap", at)
	if size <= 0 {
		l.t.Errorf("conn %d %s: Gap of %d", l.conn.ID, d, size)
	}
	fmt.Fprintf(&l.text[d], "<gap %d>", size)
	l.next[d] += size
	l.sequence = append(l.sequence, dirLetter(d)+":gap")
}

func (l *streamLog) End(d Direction, reason EndReason, at Span) {
	if l.ended[d] {
		l.t.Errorf("conn %d %s: End twice", l.conn.ID, d)
	}
	if at.Offset != l.next[d] {
		l.t.Errorf("conn %d %s: End at offset %d, want %d", l.conn.ID, d, at.Offset, l.next[d])
	}
	l.ended[d] = true
	l.reasons[d] = reason
	l.endAt[d] = at
	l.sequence = append(l.sequence, dirLetter(d)+":end")
}

// run feeds segs to a new Assembler, flushes it and returns the recorder.
func run(t testing.TB, cfg Config, segs []*capture.Segment) (*recorder, *Assembler) {
	t.Helper()
	r := newRecorder(t)
	a := NewAssembler(cfg, r)
	for _, s := range segs {
		a.Add(s)
	}
	a.Flush()
	if len(r.closed) != len(r.opened) {
		t.Errorf("%d connections opened, %d closed", len(r.opened), len(r.closed))
	}
	return r, a
}

// only runs segs and returns the single connection they must make.
func only(t *testing.T, cfg Config, segs []*capture.Segment) (*Connection, *streamLog) {
	t.Helper()
	r, _ := run(t, cfg, segs)
	if len(r.closed) != 1 {
		t.Fatalf("got %d connections, want 1", len(r.closed))
	}
	c := r.closed[0]
	return c, r.streams[c]
}
