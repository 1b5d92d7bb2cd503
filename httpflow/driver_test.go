package httpflow

import (
	"fmt"
	"math/rand/v2"
	"strings"

	"github.com/connscope/connscope/capture"
	"github.com/connscope/connscope/reassembly"
)

// Until the Assembler is available, and to control every byte boundary,
// tests drive a Conn through the reassembly.StreamConsumer interface with
// a script of operations: each Data call is one "segment" with its own
// frame number and capture time.

const (
	c2s = reassembly.ClientToServer
	s2c = reassembly.ServerToClient
)

type opKind uint8

const (
	opData opKind = iota
	opGap
	opEnd
)

// op is one call on the StreamConsumer.
type op struct {
	kind   opKind
	dir    reassembly.Direction
	data   string
	size   int64
	reason reassembly.EndReason
	// after is the capture time step before this op, in ms (default 1).
	after int64
	// With hasAck, the op's segments get a SegmentRecord whose
	// acknowledgment covers acked bytes of the other direction.
	hasAck bool
	acked  int64
}

// ackedUpTo makes a data op carry an acknowledgment of n peer bytes.
func ackedUpTo(n int, o op) op { o.hasAck, o.acked = true, int64(n); return o }

func cli(s string) op                          { return op{kind: opData, dir: c2s, data: s} }
func srv(s string) op                          { return op{kind: opData, dir: s2c, data: s} }
func gapOp(d reassembly.Direction, n int64) op { return op{kind: opGap, dir: d, size: n} }
func fin(d reassembly.Direction) op            { return op{kind: opEnd, dir: d, reason: reassembly.EndFIN} }
func rst(d reassembly.Direction) op            { return op{kind: opEnd, dir: d, reason: reassembly.EndRST} }
func eoc(d reassembly.Direction) op            { return op{kind: opEnd, dir: d, reason: reassembly.EndOfCapture} }
func wait(ms int64, o op) op                   { o.after = ms; return o }

// closeBoth ends both directions with FIN, the client first.
func closeBoth() []op { return []op{fin(c2s), fin(s2c)} }

// splitter decides how one Data op is cut into calls.
type splitter func(n int) []int

func whole(n int) []int { return []int{n} }

func bytewise(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = 1
	}
	return out
}

func newRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, seed)) }

func randomSplit(r *rand.Rand) splitter {
	return func(n int) []int {
		var out []int
		for n > 0 {
			k := 1 + r.IntN(min(n, 40))
			out = append(out, k)
			n -= k
		}
		return out
	}
}

// testConn is a Connection whose handshake was seen: SYN at 0, ACK at 1 ms.
func testConn() *reassembly.Connection {
	c := &reassembly.Connection{ID: 7}
	c.Handshake.SYNFrame, c.Handshake.SYNACKFrame, c.Handshake.ACKFrame = 1, 2, 3
	c.Handshake.SYNTime, c.Handshake.FirstSYNTime = ms(0), ms(0)
	c.Handshake.SYNACKTime, c.Handshake.ACKTime = ms(0), ms(1)
	return c
}

const base = int64(1_700_000_000) * 1e9

func ms(n int64) int64 { return base + n*1e6 }

// run feeds ops to a new Conn. Frames start at 4 (after the handshake) and
// each Data call is a new frame; time advances 1 ms per op unless the op
// says otherwise.
func run(c *reassembly.Connection, cfg Config, ops []op, split splitter) *Conn {
	p := NewConn(c, cfg)
	frame := uint64(3)
	now := int64(1)
	var off [2]int64
	for _, o := range ops {
		step := o.after
		if step == 0 {
			step = 1
		}
		now += step
		switch o.kind {
		case opData:
			data := []byte(o.data)
			for _, n := range split(len(data)) {
				frame++
				if o.hasAck {
					c.Segments = append(c.Segments, reassembly.SegmentRecord{Frame: frame, Dir: o.dir,
						Ack: uint32(o.acked) + 1, Flags: uint8(capture.FlagACK | capture.FlagPSH), Len: uint32(n)})
				}
				buf := append([]byte(nil), data[:n]...)
				p.Data(o.dir, buf, reassembly.Span{Frame: frame, Time: ms(now), Offset: off[o.dir]})
				// The Assembler reuses its buffer: so does the test.
				for i := range buf {
					buf[i] = 0xAA
				}
				off[o.dir] += int64(n)
				data = data[n:]
			}
		case opGap:
			p.Gap(o.dir, o.size, reassembly.Span{Frame: frame + 1, Time: ms(now), Offset: off[o.dir]})
			off[o.dir] += o.size
		case opEnd:
			frame++
			p.End(o.dir, o.reason, reassembly.Span{Frame: frame, Time: ms(now), Offset: off[o.dir]})
		}
	}
	return p
}

// render describes transactions in one line each, leaving out frames and
// times so that differently split deliveries compare equal.
func render(txns []*Transaction) []string {
	out := make([]string, 0, len(txns))
	for _, t := range txns {
		var b strings.Builder
		if r := t.Request; r != nil {
			fmt.Fprintf(&b, "%s %s %s %s", r.Method, r.Target, r.Version, msgState(r))
		} else {
			b.WriteString("(no request)")
		}
		b.WriteString(" =>")
		for _, m := range t.Interim {
			fmt.Fprintf(&b, " %d %s", m.Status, msgState(m))
		}
		if r := t.Response; r != nil {
			fmt.Fprintf(&b, " %d %s %s", r.Status, r.Framing, msgState(r))
		} else {
			b.WriteString(" (no response)")
		}
		if t.Pipelined {
			b.WriteString(" pipelined")
		}
		if t.PersistentAfter {
			b.WriteString(" persistent")
		}
		if t.Tunnel {
			b.WriteString(" tunnel")
		}
		out = append(out, b.String())
	}
	return out
}

func msgState(m *Message) string {
	s := "ok"
	if !m.Complete {
		s = "incomplete:" + m.Incomplete.String()
	}
	if m.BodyBytes > 0 {
		s += fmt.Sprintf(" body=%d", m.BodyBytes)
	}
	for _, a := range m.Anomalies() {
		s += " !" + a
	}
	return s
}
