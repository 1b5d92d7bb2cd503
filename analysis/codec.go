package analysis

import (
	"encoding/binary"
	"errors"
	"math"

	"github.com/connscope/connscope/httpflow"
	"github.com/connscope/connscope/reassembly"
)

// The listing codec: a small hand-written binary encoding of ConnReport
// and TxnReport, used to keep the listed connections and transactions out
// of the heap (see listing.go). It writes every field, including those the
// JSON report leaves out (segments, headers, reason phrase), so a record
// read back is equal to the one written: pointers that were nil stay nil,
// a pointer to zero stays a pointer to zero, and nil slices stay nil while
// empty ones stay empty.
//
// Integers are varints (zig-zag for signed ones), floats their eight IEEE
// bytes, strings and slices a length then their contents, and an optional
// value a presence byte first. The records are written and read by the
// same process, so the encoding has no version; the decoder still checks
// every length against what is left, so a damaged file gives an error,
// never a panic.

// errCorruptRecord is returned when a record cannot be decoded.
var errCorruptRecord = errors.New("corrupt record")

// recordEncoder appends encoded values to b.
type recordEncoder struct{ b []byte }

func (e *recordEncoder) uint(v uint64) { e.b = binary.AppendUvarint(e.b, v) }
func (e *recordEncoder) int(v int64)   { e.b = binary.AppendVarint(e.b, v) }

func (e *recordEncoder) bool(v bool) {
	if v {
		e.b = append(e.b, 1)
	} else {
		e.b = append(e.b, 0)
	}
}

func (e *recordEncoder) float(v float64) {
	e.b = binary.LittleEndian.AppendUint64(e.b, math.Float64bits(v))
}

func (e *recordEncoder) string(s string) {
	e.uint(uint64(len(s)))
	e.b = append(e.b, s...)
}

func (e *recordEncoder) optMillis(m *Millis) {
	e.bool(m != nil)
	if m != nil {
		e.float(float64(*m))
	}
}

// sliceLen writes the length of a slice as n+1, and nil as 0.
func (e *recordEncoder) sliceLen(n int, isNil bool) {
	if isNil {
		e.uint(0)
	} else {
		e.uint(uint64(n) + 1)
	}
}

func (e *recordEncoder) strings(ss []string) {
	e.sliceLen(len(ss), ss == nil)
	for _, s := range ss {
		e.string(s)
	}
}

func (e *recordEncoder) headers(hs []httpflow.Header) {
	e.sliceLen(len(hs), hs == nil)
	for _, h := range hs {
		e.string(h.Name)
		e.string(h.Value)
	}
}

func (e *recordEncoder) conn(c *ConnReport) {
	e.int(int64(c.ID))
	e.int(int64(c.Input))
	e.string(c.Client)
	e.string(c.Server)
	e.bool(c.RolesInferred)
	e.int(int64(c.VLAN))
	e.uint(c.FirstFrame)
	e.uint(c.LastFrame)
	e.int(int64(c.Start))
	e.int(int64(c.End))
	e.float(float64(c.DurationMS))
	e.int(c.Packets.ClientToServer)
	e.int(c.Packets.ServerToClient)
	e.int(c.Bytes.ClientToServer)
	e.int(c.Bytes.ServerToClient)
	e.optMillis(c.IRTTMS)
	e.int(int64(c.SYNRetransmissions))
	e.string(c.State)
	e.string(c.History)
	e.string(c.Close)
	e.string(c.ClosedFirstBy)
	e.string(c.RSTBy)
	e.int(int64(c.IgnoredRSTs))
	e.bool(c.HalfClosed)
	e.int(int64(c.Retransmissions))
	e.int(int64(c.OutOfOrder))
	e.int(int64(c.LostSegments))
	e.int(int64(c.ZeroWindows))
	e.bool(c.ReusedTuple)
	e.int(int64(c.PreviousID))
	e.string(c.App)
	e.int(int64(c.TransactionCount))
	e.sliceLen(len(c.Segments), c.Segments == nil)
	for i := range c.Segments {
		s := &c.Segments[i]
		e.int(s.Time)
		e.uint(s.Frame)
		e.uint(uint64(s.Seq))
		e.uint(uint64(s.Ack))
		e.uint(uint64(s.Len))
		e.uint(uint64(s.Window))
		e.uint(uint64(s.Flags))
		e.uint(uint64(s.Dir))
		e.uint(uint64(s.Kind))
	}
	e.int(int64(c.SegmentsDropped))
}

func (e *recordEncoder) message(m *MessageReport) {
	e.bool(m != nil)
	if m == nil {
		return
	}
	e.uint(m.FirstFrame)
	e.uint(m.LastFrame)
	e.int(int64(m.Start))
	e.int(int64(m.End))
	e.int(m.HeaderBytes)
	e.int(m.BodyBytes)
	e.bool(m.DeclaredLength != nil)
	if m.DeclaredLength != nil {
		e.int(*m.DeclaredLength)
	}
	e.string(m.Framing)
	e.bool(m.Complete)
	e.string(m.IncompleteReason)
	e.strings(m.Anomalies)
}

func (e *recordEncoder) txn(t *TxnReport) {
	e.int(int64(t.ID))
	e.int(int64(t.Connection))
	e.int(int64(t.Index))
	e.string(t.Method)
	e.string(t.Target)
	e.string(t.Version)
	e.int(int64(t.Status))
	e.message(t.Request)
	e.message(t.Response)
	e.sliceLen(len(t.Interim), t.Interim == nil)
	for _, s := range t.Interim {
		e.int(int64(s))
	}
	e.bool(t.Pipelined)
	e.bool(t.PersistentAfter)
	e.bool(t.Tunnel)
	e.optMillis(t.Timings.ConnectMS)
	e.optMillis(t.Timings.SendMS)
	e.optMillis(t.Timings.WaitMS)
	e.optMillis(t.Timings.ReceiveMS)
	e.optMillis(t.Timings.TotalMS)
	e.optMillis(t.GapBeforeMS)
	e.headers(t.RequestHeaders)
	e.headers(t.ResponseHeaders)
	e.string(t.Reason)
	e.string(t.ResponseVersion)
	e.int(int64(t.provisional))
}

// recordDecoder reads values from b. The first failure is kept in err and
// every later read returns zero values, so decoding code stays flat.
type recordDecoder struct {
	b   []byte
	err error
	// tokens shares the strings that repeat across records (states,
	// methods, versions, reason phrases), so decoding them allocates once.
	tokens *tokenTable
}

func (d *recordDecoder) fail() {
	if d.err == nil {
		d.err = errCorruptRecord
	}
	d.b = nil
}

func (d *recordDecoder) uint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *recordDecoder) int() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *recordDecoder) bool() bool {
	if len(d.b) == 0 || d.b[0] > 1 {
		d.fail()
		return false
	}
	v := d.b[0] == 1
	d.b = d.b[1:]
	return v
}

func (d *recordDecoder) float() float64 {
	if len(d.b) < 8 {
		d.fail()
		return 0
	}
	v := math.Float64frombits(binary.LittleEndian.Uint64(d.b))
	d.b = d.b[8:]
	return v
}

// bytes returns the next n bytes, aliasing the record.
func (d *recordDecoder) bytes() []byte {
	n := d.uint()
	if n > uint64(len(d.b)) {
		d.fail()
		return nil
	}
	v := d.b[:n]
	d.b = d.b[n:]
	return v
}

// string returns a string of its own (the record's buffer is reused).
func (d *recordDecoder) string() string { return string(d.bytes()) }

// token is string for values that repeat across records: they are shared.
func (d *recordDecoder) token() string { return d.tokens.get(d.bytes()) }

func (d *recordDecoder) optMillis() *Millis {
	if !d.bool() {
		return nil
	}
	m := Millis(d.float())
	return &m
}

// sliceLen reads a length written by recordEncoder.sliceLen: -1 for nil.
// Each element takes at least one byte, so a length beyond what is left
// is damage, not a reason to allocate.
func (d *recordDecoder) sliceLen() int {
	n := d.uint()
	if n == 0 {
		return -1
	}
	if n-1 > uint64(len(d.b)) {
		d.fail()
		return -1
	}
	return int(n - 1)
}

func (d *recordDecoder) tokenList() []string {
	n := d.sliceLen()
	if n < 0 {
		return nil
	}
	out := make([]string, n)
	for i := range out {
		out[i] = d.token()
	}
	return out
}

func (d *recordDecoder) headers() []httpflow.Header {
	n := d.sliceLen()
	if n < 0 {
		return nil
	}
	out := make([]httpflow.Header, n)
	for i := range out {
		out[i].Name = d.token()
		out[i].Value = d.token()
	}
	return out
}

func (d *recordDecoder) conn() *ConnReport {
	c := &ConnReport{}
	c.ID = int(d.int())
	c.Input = int(d.int())
	c.Client = d.string()
	c.Server = d.string()
	c.RolesInferred = d.bool()
	c.VLAN = int(d.int())
	c.FirstFrame = d.uint()
	c.LastFrame = d.uint()
	c.Start = Time(d.int())
	c.End = Time(d.int())
	c.DurationMS = Millis(d.float())
	c.Packets.ClientToServer = d.int()
	c.Packets.ServerToClient = d.int()
	c.Bytes.ClientToServer = d.int()
	c.Bytes.ServerToClient = d.int()
	c.IRTTMS = d.optMillis()
	c.SYNRetransmissions = int(d.int())
	c.State = d.token()
	c.History = d.token()
	c.Close = d.token()
	c.ClosedFirstBy = d.token()
	c.RSTBy = d.token()
	c.IgnoredRSTs = int(d.int())
	c.HalfClosed = d.bool()
	c.Retransmissions = int(d.int())
	c.OutOfOrder = int(d.int())
	c.LostSegments = int(d.int())
	c.ZeroWindows = int(d.int())
	c.ReusedTuple = d.bool()
	c.PreviousID = int(d.int())
	c.App = d.token()
	c.TransactionCount = int(d.int())
	if n := d.sliceLen(); n >= 0 {
		c.Segments = make([]reassembly.SegmentRecord, n)
		for i := range c.Segments {
			s := &c.Segments[i]
			s.Time = d.int()
			s.Frame = d.uint()
			s.Seq = uint32(d.uint())
			s.Ack = uint32(d.uint())
			s.Len = uint32(d.uint())
			s.Window = uint32(d.uint())
			s.Flags = uint8(d.uint())
			s.Dir = reassembly.Direction(d.uint())
			s.Kind = reassembly.SegmentKind(d.uint())
		}
	}
	c.SegmentsDropped = int(d.int())
	if d.err != nil {
		return nil
	}
	return c
}

func (d *recordDecoder) message() *MessageReport {
	if !d.bool() {
		return nil
	}
	m := &MessageReport{}
	m.FirstFrame = d.uint()
	m.LastFrame = d.uint()
	m.Start = Time(d.int())
	m.End = Time(d.int())
	m.HeaderBytes = d.int()
	m.BodyBytes = d.int()
	if d.bool() {
		v := d.int()
		m.DeclaredLength = &v
	}
	m.Framing = d.token()
	m.Complete = d.bool()
	m.IncompleteReason = d.token()
	m.Anomalies = d.tokenList()
	return m
}

func (d *recordDecoder) txn() *TxnReport {
	t := &TxnReport{}
	t.ID = int(d.int())
	t.Connection = int(d.int())
	t.Index = int(d.int())
	t.Method = d.token()
	t.Target = d.string()
	t.Version = d.token()
	t.Status = int(d.int())
	t.Request = d.message()
	t.Response = d.message()
	if n := d.sliceLen(); n >= 0 {
		t.Interim = make([]int, n)
		for i := range t.Interim {
			t.Interim[i] = int(d.int())
		}
	}
	t.Pipelined = d.bool()
	t.PersistentAfter = d.bool()
	t.Tunnel = d.bool()
	t.Timings.ConnectMS = d.optMillis()
	t.Timings.SendMS = d.optMillis()
	t.Timings.WaitMS = d.optMillis()
	t.Timings.ReceiveMS = d.optMillis()
	t.Timings.TotalMS = d.optMillis()
	t.GapBeforeMS = d.optMillis()
	t.RequestHeaders = d.headers()
	t.ResponseHeaders = d.headers()
	t.Reason = d.token()
	t.ResponseVersion = d.token()
	t.provisional = int(d.int())
	if d.err != nil {
		return nil
	}
	return t
}

// tokenTable shares short strings that repeat across decoded records. It
// holds at most maxTokens strings of at most maxTokenLen bytes, so a
// capture of hostile, never-repeating values cannot grow it without bound.
type tokenTable struct{ m map[string]string }

const (
	maxTokens   = 4096
	maxTokenLen = 64
)

func (t *tokenTable) get(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	if len(b) > maxTokenLen {
		return string(b)
	}
	if s, ok := t.m[string(b)]; ok { // no allocation for the lookup
		return s
	}
	s := string(b)
	if t.m == nil {
		t.m = make(map[string]string)
	}
	if len(t.m) < maxTokens {
		t.m[s] = s
	}
	return s
}
