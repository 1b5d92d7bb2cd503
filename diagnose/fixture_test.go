package diagnose

import (
	"fmt"
	"net/netip"
	"testing"

	"github.com/connscope/connscope/capture"
	"github.com/connscope/connscope/httpflow"
	"github.com/connscope/connscope/reassembly"
)

// Hand-built connections for rule tests. Times are in milliseconds from
// base; sequence numbers advance by themselves, so a test only says who
// sent what when.

const base = int64(1_700_000_000_000_000_000)

func at(ms float64) int64 { return base + int64(ms*1e6) }

const (
	c2s = reassembly.ClientToServer
	s2c = reassembly.ServerToClient
)

type fx struct {
	c     *reassembly.Connection
	txs   []*httpflow.Transaction
	next  [2]uint32
	app   httpflow.App
	frame *uint64 // shared by connections of one capture
}

// capture numbers frames across several fixtures.
type captureFx struct{ frame uint64 }

// conn opens a connection with a handshake: SYN at startMs, SYN/ACK
// toServer ms later, ACK toClient ms after that. A negative toServer builds
// a connection whose handshake was not seen.
func (cf *captureFx) conn(id int, clientPort uint16, startMs, toServer, toClient float64) *fx {
	f := &fx{
		c: &reassembly.Connection{
			ID:     id,
			Client: netip.AddrPortFrom(netip.MustParseAddr("10.0.0.1"), clientPort),
			Server: netip.AddrPortFrom(netip.MustParseAddr("10.0.0.2"), 80),
			State:  "SF",
		},
		next:  [2]uint32{1, 1},
		app:   httpflow.AppHTTP1,
		frame: &cf.frame,
	}
	f.c.Handshake.ClientWindowScale, f.c.Handshake.ServerWindowScale = -1, -1
	if toServer < 0 {
		f.c.RolesInferred = true
		return f
	}
	h := &f.c.Handshake
	syn := f.seg(startMs, c2s, 0, capture.FlagSYN, 0, true)
	synack := f.seg(startMs+toServer, s2c, 0, capture.FlagSYN|capture.FlagACK, 0, true)
	ack := f.seg(startMs+toServer+toClient, c2s, 0, capture.FlagACK, 0, true)
	h.SYNFrame, h.SYNACKFrame, h.ACKFrame = syn.Frame, synack.Frame, ack.Frame
	h.SYNTime, h.SYNACKTime, h.ACKTime = syn.Time, synack.Time, ack.Time
	h.FirstSYNTime = syn.Time
	h.IRTT = ack.Time - syn.Time
	h.ClientMSS, h.ServerMSS = 1460, 1460
	return f
}

// newConn is conn for tests with a single connection.
func newConn(toServer, toClient float64) *fx {
	return (&captureFx{}).conn(1, 40000, 0, toServer, toClient)
}

// seg appends a segment. advance moves the sender's sequence number.
func (f *fx) seg(ms float64, d reassembly.Direction, n uint32, flags capture.TCPFlags, kind reassembly.SegmentKind, advance bool) *reassembly.SegmentRecord {
	*f.frame++
	s := reassembly.SegmentRecord{
		Time: at(ms), Frame: *f.frame, Seq: f.next[d], Len: n, Flags: uint8(flags), Dir: d, Kind: kind, Window: 65535,
	}
	if flags.Has(capture.FlagSYN) {
		s.Seq = 0
	}
	if flags.Has(capture.FlagACK) {
		s.Ack = f.next[d.Reverse()]
	}
	if advance && !flags.Has(capture.FlagSYN) {
		f.next[d] += n
		if flags.Has(capture.FlagFIN) {
			f.next[d]++
		}
	}
	c := f.c
	if c.FirstFrame == 0 {
		c.FirstFrame, c.Start = s.Frame, s.Time
	}
	c.LastFrame, c.End = s.Frame, s.Time
	st := &c.Dir[d]
	st.Packets++
	st.Bytes += int64(n)
	if flags.Has(capture.FlagFIN) && st.FINFrame == 0 {
		st.FINFrame, st.FINTime = s.Frame, s.Time
		if c.Close == reassembly.CloseOpen {
			c.Close = reassembly.CloseFIN
		}
		if c.ClosedFirstBy == reassembly.RoleNone {
			c.ClosedFirstBy = d.Sender()
		}
	}
	if flags.Has(capture.FlagRST) && st.RSTFrame == 0 {
		st.RSTFrame, st.RSTTime = s.Frame, s.Time
		c.Close = reassembly.CloseRST
		if c.RSTBy == reassembly.RoleNone {
			c.RSTBy = d.Sender()
		}
		if c.ClosedFirstBy == reassembly.RoleNone {
			c.ClosedFirstBy = d.Sender()
		}
	}
	c.Segments = append(c.Segments, s)
	return &c.Segments[len(c.Segments)-1]
}

func (f *fx) data(ms float64, d reassembly.Direction, n uint32) *reassembly.SegmentRecord {
	return f.seg(ms, d, n, capture.FlagPSH|capture.FlagACK, 0, true)
}

func (f *fx) ack(ms float64, d reassembly.Direction) *reassembly.SegmentRecord {
	return f.seg(ms, d, 0, capture.FlagACK, 0, true)
}

func (f *fx) fin(ms float64, d reassembly.Direction) *reassembly.SegmentRecord {
	return f.seg(ms, d, 0, capture.FlagFIN|capture.FlagACK, 0, true)
}

func (f *fx) rst(ms float64, d reassembly.Direction) *reassembly.SegmentRecord {
	return f.seg(ms, d, 0, capture.FlagRST|capture.FlagACK, 0, true)
}

// resend sends n bytes again from relative sequence seq.
func (f *fx) resend(ms float64, d reassembly.Direction, seq, n uint32, kind reassembly.SegmentKind) *reassembly.SegmentRecord {
	s := f.seg(ms, d, n, capture.FlagPSH|capture.FlagACK, kind, false)
	s.Seq = seq
	f.c.Dir[d].Retransmissions++
	return s
}

// finish closes the connection gracefully: FIN from first, then the other.
func (f *fx) finish(ms float64, first reassembly.Direction) {
	f.fin(ms, first)
	f.fin(ms+0.1, first.Reverse())
	f.ack(ms+0.2, first)
}

// msg builds a complete message carried by the segments (first and last).
func msg(first, last *reassembly.SegmentRecord) *httpflow.Message {
	return &httpflow.Message{
		FirstFrame: first.Frame, LastFrame: last.Frame, Start: first.Time, End: last.Time,
		Version: "HTTP/1.1", Framing: httpflow.FramingNone, DeclaredLength: -1, Complete: true,
		KeepAliveMax: -1, KeepAliveTimeout: -1,
	}
}

// tx adds a transaction: GET / answered by 200 with a Content-Length body.
// resp may be nil (no response). The timings httpflow derives (GapBefore,
// Pipelined) are computed the way httpflow defines them.
func (f *fx) tx(req, resp *httpflow.Message) *httpflow.Transaction {
	req.Method, req.Target = "GET", "/"
	t := &httpflow.Transaction{
		ID: f.c.ID*100 + len(f.txs) + 1, Connection: f.c.ID, Index: len(f.txs),
		Request: req, Response: resp, PersistentAfter: true,
		Connect: -1, Send: req.End - req.Start, Wait: -1, Receive: -1, Total: -1,
	}
	if resp != nil {
		resp.Status, resp.Reason = 200, "OK"
		resp.Framing, resp.DeclaredLength = httpflow.FramingContentLength, 0
		t.Wait, t.Receive = resp.Start-req.End, resp.End-resp.Start
		t.Total = resp.End - req.Start
	}
	if n := len(f.txs); n > 0 {
		prev := f.txs[n-1]
		if prev.Response != nil {
			t.GapBefore = req.Start - prev.Response.End
			t.Pipelined = req.Start < prev.Response.End
		} else {
			t.Pipelined = true
		}
	} else if f.c.Handshake.ACKFrame != 0 {
		t.GapBefore = req.Start - f.c.Handshake.ACKTime
		t.Connect = f.c.Handshake.IRTT
	}
	f.txs = append(f.txs, t)
	return t
}

// exchange adds a simple request/response: request of reqBytes at ms, the
// response of respBytes waitMs later, each in one segment.
func (f *fx) exchange(ms float64, reqBytes uint32, waitMs float64, respBytes uint32) *httpflow.Transaction {
	q := f.data(ms, c2s, reqBytes)
	r := f.data(ms+waitMs, s2c, respBytes)
	resp := msg(r, r)
	t := f.tx(msg(q, q), resp)
	resp.BodyBytes, resp.DeclaredLength = int64(respBytes)-100, int64(respBytes)-100
	return t
}

func (f *fx) info() *ConnInfo { return &ConnInfo{Conn: f.c, App: f.app, Transactions: f.txs} }

// runRules runs the engine with cfg over the connections, in order.
func runRules(t *testing.T, cfg Config, conns ...*fx) []Finding {
	t.Helper()
	e, err := NewEngine(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range conns {
		e.Connection(f.info())
	}
	return e.Finish()
}

// only returns the findings of one rule.
func only(fs []Finding, id string) []Finding {
	var out []Finding
	for _, f := range fs {
		if f.Rule == id {
			out = append(out, f)
		}
	}
	return out
}

func describe(fs []Finding) string {
	s := ""
	for _, f := range fs {
		s += fmt.Sprintf("\n  %s conn=%d frames=%v cost=%d %s", f.Rule, f.Connection, f.Frames, f.Cost, f.Message)
	}
	return s
}
