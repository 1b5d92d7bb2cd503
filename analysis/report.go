package analysis

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/connscope/connscope/httpflow"
	"github.com/connscope/connscope/reassembly"
)

// Schema names the version of the JSON report. It changes only when a field
// changes meaning or disappears; new fields may appear within a version.
const Schema = "connscope/report/v1"

// Report is the whole result of one run: every input, its connections,
// transactions and findings. It is what --format json prints.
//
// Read the connections and transactions with EachConnection and
// EachTransaction (iterate.go): a report built with Options.SpillListing
// keeps them out of the heap and leaves the two slices nil. Close a
// report when done with it.
type Report struct {
	Schema string `json:"schema"`
	// Rules says which rules ran and with which thresholds; nil (and left
	// out of the JSON) for a report not built by an Analyzer.
	Rules  *RulesReport   `json:"rules,omitempty"`
	Inputs []*InputReport `json:"inputs"`
	// Connections and Transactions are the listing of a report held in
	// memory (built without Options.SpillListing, or by hand); nil when
	// the Report keeps it (see EachConnection).
	Connections  []*ConnReport    `json:"connections"`
	Transactions []*TxnReport     `json:"transactions"`
	Findings     []*FindingReport `json:"findings"`

	// listing holds the connections and transactions of a spilled report.
	listing *listing
}

// InputReport summarises one capture source.
type InputReport struct {
	Index  int    `json:"index"`
	Name   string `json:"name"`
	Format string `json:"format"`
	// Packets counts every frame read; TCPPackets those that carried TCP.
	Packets    int64 `json:"packets"`
	TCPPackets int64 `json:"tcp_packets"`
	// Skipped counts frames that were not TCP (or could not be decoded), by
	// reason (udp, arp, ip_fragment, unknown_link_type, ...).
	Skipped       map[string]int64 `json:"skipped"`
	Start         Time             `json:"start"`
	End           Time             `json:"end"`
	DurationMS    Millis           `json:"duration_ms"`
	Connections   int              `json:"connections"`
	Transactions  int              `json:"transactions"`
	PayloadBytes  int64            `json:"payload_bytes"`
	PeakOpenConns int              `json:"peak_open_connections"`
	// Warnings are non-fatal oddities of the input (time going backwards,
	// frames longer than the snap length, limits reached).
	Warnings []string `json:"warnings"`
	// Error is set when the input was damaged: what was read before the
	// damage is still analysed and reported.
	Error string `json:"error,omitempty"`
}

// Directional holds a count for each direction of a connection.
type Directional struct {
	ClientToServer int64 `json:"client_to_server"`
	ServerToClient int64 `json:"server_to_client"`
}

// ConnReport is one TCP connection.
type ConnReport struct {
	ID            int         `json:"id"`
	Input         int         `json:"input"`
	Client        string      `json:"client"`
	Server        string      `json:"server"`
	RolesInferred bool        `json:"roles_inferred"`
	VLAN          int         `json:"vlan,omitempty"`
	FirstFrame    uint64      `json:"first_frame"`
	LastFrame     uint64      `json:"last_frame"`
	Start         Time        `json:"start"`
	End           Time        `json:"end"`
	DurationMS    Millis      `json:"duration_ms"`
	Packets       Directional `json:"packets"`
	Bytes         Directional `json:"bytes"`
	// IRTTMS is the handshake round trip seen from the capture point; null
	// when the handshake was not captured whole.
	IRTTMS             *Millis `json:"irtt_ms"`
	SYNRetransmissions int     `json:"syn_retransmissions"`
	State              string  `json:"state"`
	History            string  `json:"history"`
	Close              string  `json:"close"`
	ClosedFirstBy      string  `json:"closed_first_by"`
	RSTBy              string  `json:"rst_by"`
	IgnoredRSTs        int     `json:"ignored_rsts,omitempty"` // RSTs the connection outlived (reassembly.KindIgnoredRST), left out of the three above
	HalfClosed         bool    `json:"half_closed"`
	Retransmissions    int     `json:"retransmissions"`
	OutOfOrder         int     `json:"out_of_order"`
	LostSegments       int     `json:"lost_segments"`
	ZeroWindows        int     `json:"zero_windows"`
	ReusedTuple        bool    `json:"reused_tuple"`
	PreviousID         int     `json:"previous_id,omitempty"`
	App                string  `json:"app"`
	TransactionCount   int     `json:"transactions"`

	// Segments is every segment record of the connection, kept only when
	// Options.KeepSegments is set (for timelines and waterfalls); it is not
	// part of the JSON report.
	Segments []reassembly.SegmentRecord `json:"-"`
	// SegmentsDropped counts records released by the per-connection cap.
	SegmentsDropped int `json:"-"`
}

// MessageReport is one request or response.
type MessageReport struct {
	FirstFrame     uint64 `json:"first_frame"`
	LastFrame      uint64 `json:"last_frame"`
	Start          Time   `json:"start"`
	End            Time   `json:"end"`
	HeaderBytes    int64  `json:"header_bytes"`
	BodyBytes      int64  `json:"body_bytes"`
	DeclaredLength *int64 `json:"declared_length,omitempty"`
	Framing        string `json:"framing,omitempty"`
	Complete       bool   `json:"complete"`
	// IncompleteReason says why the message did not end normally: fin,
	// rst, gap, end_of_capture, malformed.
	IncompleteReason string   `json:"incomplete_reason,omitempty"`
	Anomalies        []string `json:"anomalies,omitempty"`
}

// Timings of a transaction in milliseconds; null where not applicable.
type Timings struct {
	ConnectMS *Millis `json:"connect_ms"`
	SendMS    *Millis `json:"send_ms"`
	WaitMS    *Millis `json:"wait_ms"`
	ReceiveMS *Millis `json:"receive_ms"`
	TotalMS   *Millis `json:"total_ms"`
}

// TxnReport is one HTTP transaction.
type TxnReport struct {
	ID              int            `json:"id"`
	Connection      int            `json:"connection"`
	Index           int            `json:"index"`
	Method          string         `json:"method"`
	Target          string         `json:"target"`
	Version         string         `json:"version"`
	Status          int            `json:"status"`
	Request         *MessageReport `json:"request"`
	Response        *MessageReport `json:"response"`
	Interim         []int          `json:"interim_statuses,omitempty"`
	Pipelined       bool           `json:"pipelined"`
	PersistentAfter bool           `json:"persistent_after"`
	Tunnel          bool           `json:"tunnel"`
	Timings         Timings        `json:"timings"`
	GapBeforeMS     *Millis        `json:"gap_before_ms"`

	// Header fields as captured (hostile, unescaped), kept only when
	// Options.KeepHeaders is set (for HAR); not part of the JSON report.
	RequestHeaders  []httpflow.Header `json:"-"`
	ResponseHeaders []httpflow.Header `json:"-"`
	// Reason is the final response's reason phrase (captured text).
	Reason string `json:"-"`
	// ResponseVersion is the final response's HTTP version, which may
	// differ from the request's (Version): a server answers an HTTP/1.0
	// request in HTTP/1.1. Not part of the JSON report; HAR writes it.
	ResponseVersion string `json:"-"`

	// provisional is the ID the transaction had while the capture was
	// read; findings name it until Analyzer.Report renumbers.
	provisional int
}

// EventID is the ID the transaction carried when Options.Events was told
// of it, which the findings given to Events.Finding cite. The Report
// numbers transactions in request order, Events heard of them as they
// ended or their connections closed, so the two can differ: a stream
// written from Events and finished from the Report (live NDJSON) maps the
// Report's IDs back with it.
func (t *TxnReport) EventID() int { return t.provisional }

// FindingReport is one diagnosis.
type FindingReport struct {
	Rule        string          `json:"rule"`
	Slug        string          `json:"slug"`
	Severity    string          `json:"severity"`
	Connection  int             `json:"connection"`
	Connections []int           `json:"connections,omitempty"`
	Transaction int             `json:"transaction"`
	Frames      []uint64        `json:"frames"`
	Time        Time            `json:"time"`
	CostMS      *Millis         `json:"cost_ms"`
	Message     string          `json:"message"`
	Related     []RelatedReport `json:"related,omitempty"`
	Vantage     string          `json:"vantage,omitempty"`
}

// RelatedReport is secondary evidence of a finding.
type RelatedReport struct {
	Frame   uint64 `json:"frame"`
	Time    Time   `json:"time"`
	Message string `json:"message"`
}

// Time is a capture time in nanoseconds since the Unix epoch. It prints as
// RFC 3339 in UTC with all nine fractional digits, so output is stable.
type Time int64

// String formats t as RFC 3339 with nanoseconds.
func (t Time) String() string {
	return time.Unix(0, int64(t)).UTC().Format("2006-01-02T15:04:05.000000000Z07:00")
}

// MarshalJSON implements json.Marshaler.
func (t Time) MarshalJSON() ([]byte, error) {
	return strconv.AppendQuote(nil, t.String()), nil
}

// UnmarshalJSON implements json.Unmarshaler, so a report can be read back
// (as --baseline does).
func (t *Time) UnmarshalJSON(b []byte) error {
	s, err := strconv.Unquote(string(b))
	if err != nil {
		return fmt.Errorf("time %s: %w", b, err)
	}
	v, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return fmt.Errorf("time %s: %w", b, err)
	}
	*t = Time(v.UnixNano())
	return nil
}

// Millis is a duration in milliseconds printed with microsecond precision.
type Millis float64

// MillisOf converts nanoseconds.
func MillisOf(ns int64) Millis { return Millis(float64(ns) / 1e6) }

// optMillis converts nanoseconds, with negative values meaning "not
// applicable" (nil).
func optMillis(ns int64) *Millis {
	if ns < 0 {
		return nil
	}
	m := MillisOf(ns)
	return &m
}

// MarshalJSON implements json.Marshaler.
func (m Millis) MarshalJSON() ([]byte, error) {
	return strconv.AppendFloat(nil, float64(m), 'f', 3, 64), nil
}

// endpoint formats an address as ip:port, with IPv6 in brackets.
func endpoint(a netip.AddrPort) string { return a.String() }

// newConnReport summarises a connection for the report.
func newConnReport(c *reassembly.Connection, input int, p *httpflow.Conn, txns int) *ConnReport {
	cs, sc := &c.Dir[reassembly.ClientToServer], &c.Dir[reassembly.ServerToClient]
	r := &ConnReport{
		ID:                 c.ID,
		Input:              input,
		Client:             endpoint(c.Client),
		Server:             endpoint(c.Server),
		RolesInferred:      c.RolesInferred,
		VLAN:               int(c.VLAN),
		FirstFrame:         c.FirstFrame,
		LastFrame:          c.LastFrame,
		Start:              Time(c.Start),
		End:                Time(c.End),
		DurationMS:         MillisOf(c.End - c.Start),
		Packets:            Directional{cs.Packets, sc.Packets},
		Bytes:              Directional{cs.Bytes, sc.Bytes},
		SYNRetransmissions: c.Handshake.SYNRetransmissions,
		State:              c.State,
		History:            c.History,
		Close:              c.Close.String(),
		ClosedFirstBy:      c.ClosedFirstBy.String(),
		RSTBy:              c.RSTBy.String(),
		IgnoredRSTs:        c.IgnoredRSTs,
		HalfClosed:         c.HalfClosed,
		Retransmissions:    cs.Retransmissions + sc.Retransmissions,
		OutOfOrder:         cs.OutOfOrder + sc.OutOfOrder,
		LostSegments:       cs.LostSegments + sc.LostSegments,
		ZeroWindows:        cs.ZeroWindows + sc.ZeroWindows,
		ReusedTuple:        c.ReusedTuple,
		PreviousID:         c.PreviousID,
		App:                string(httpflow.AppUnknown),
		TransactionCount:   txns,
	}
	if c.Handshake.IRTT > 0 {
		r.IRTTMS = optMillis(c.Handshake.IRTT)
	}
	if p != nil {
		r.App = string(p.App())
	}
	return r
}

// fillMessageReport makes r the report of m, with declared as the memory
// its DeclaredLength points to when m has one.
func fillMessageReport(r *MessageReport, declared *int64, m *httpflow.Message) {
	*r = MessageReport{
		FirstFrame:       m.FirstFrame,
		LastFrame:        m.LastFrame,
		Start:            Time(m.Start),
		End:              Time(m.End),
		HeaderBytes:      m.HeaderBytes,
		BodyBytes:        m.BodyBytes,
		Framing:          m.Framing.String(),
		Complete:         m.Complete,
		IncompleteReason: m.Incomplete.String(),
		Anomalies:        m.Anomalies(),
	}
	if m.DeclaredLength >= 0 {
		*declared = m.DeclaredLength
		r.DeclaredLength = declared
	}
}

// httpTxnStart is txnStart of newTxnReport(t), without building it.
func httpTxnStart(t *httpflow.Transaction) Time {
	if t.Request != nil {
		return Time(t.Request.Start)
	}
	if t.Response != nil {
		return Time(t.Response.Start)
	}
	return 0
}

func newTxnReport(t *httpflow.Transaction) *TxnReport {
	// One allocation for the report and everything its pointers point to,
	// instead of up to eleven: a keep-alive capture makes one per
	// transaction.
	return new(txnReportBlock).fill(t)
}

// fill makes b's TxnReport that of t, as newTxnReport does, overwriting
// all of b, and returns it.
func (b *txnReportBlock) fill(t *httpflow.Transaction) *TxnReport {
	r := &b.txn
	*r = TxnReport{
		ID:              t.ID,
		Connection:      t.Connection,
		Index:           t.Index,
		Pipelined:       t.Pipelined,
		PersistentAfter: t.PersistentAfter,
		Tunnel:          t.Tunnel,
		Timings: Timings{
			ConnectMS: b.millis(0, t.Connect),
			SendMS:    b.millis(1, t.Send),
			WaitMS:    b.millis(2, t.Wait),
			ReceiveMS: b.millis(3, t.Receive),
			TotalMS:   b.millis(4, t.Total),
		},
		GapBeforeMS: b.millis(5, t.GapBefore),
	}
	if t.Request != nil {
		fillMessageReport(&b.req, &b.declared[0], t.Request)
		r.Request = &b.req
	}
	if t.Response != nil {
		fillMessageReport(&b.resp, &b.declared[1], t.Response)
		r.Response = &b.resp
	}
	// The parser's strings share its per-connection slabs: copy them, so
	// a listed transaction does not keep its connection's buffers alive.
	if q := t.Request; q != nil {
		r.Method, r.Target, r.Version = detach(q.Method), strings.Clone(q.Target), detach(q.Version)
	}
	if s := t.Response; s != nil {
		r.Status = s.Status
		r.Reason = detach(s.Reason)
		r.ResponseVersion = detach(s.Version)
		if r.Version == "" {
			r.Version = detach(s.Version)
		}
	}
	for _, m := range t.Interim {
		r.Interim = append(r.Interim, m.Status)
	}
	return r
}

// txnReportBlock is what newTxnReport allocates: the TxnReport, its two
// MessageReports, its timings and declared lengths.
type txnReportBlock struct {
	txn       TxnReport
	req, resp MessageReport
	ms        [6]Millis
	declared  [2]int64
}

// millis is optMillis with the value kept in the block's i-th Millis.
func (b *txnReportBlock) millis(i int, ns int64) *Millis {
	if ns < 0 {
		return nil
	}
	b.ms[i] = MillisOf(ns)
	return &b.ms[i]
}

// commonTokens are methods, versions and reason phrases seen in most
// messages, shared instead of copied.
var commonTokens = func() map[string]string {
	m := map[string]string{}
	for _, s := range []string{"GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "CONNECT", "TRACE",
		"HTTP/1.0", "HTTP/1.1", "OK", "Created", "No Content", "Not Modified", "Found", "Moved Permanently",
		"Bad Request", "Unauthorized", "Forbidden", "Not Found", "Internal Server Error", "Bad Gateway",
		"Service Unavailable", "Gateway Timeout", "Continue", "Switching Protocols", "Partial Content"} {
		m[s] = s
	}
	return m
}()

// detach returns s in memory of its own (a shared constant when it is a
// common token), not aliasing the parser's buffers.
func detach(s string) string {
	if c, ok := commonTokens[s]; ok {
		return c
	}
	return strings.Clone(s)
}

// detachHeaders copies header fields out of the parser's buffers, in one
// allocation for all their bytes.
func detachHeaders(hs []httpflow.Header) []httpflow.Header {
	if hs == nil {
		return nil
	}
	n := 0
	for _, h := range hs {
		n += len(h.Name) + len(h.Value)
	}
	var b strings.Builder
	b.Grow(n)
	for _, h := range hs {
		b.WriteString(h.Name)
		b.WriteString(h.Value)
	}
	all := b.String()
	out := make([]httpflow.Header, len(hs))
	for i, h := range hs {
		out[i] = h
		out[i].Name, all = all[:len(h.Name)], all[len(h.Name):]
		out[i].Value, all = all[:len(h.Value)], all[len(h.Value):]
	}
	return out
}

// HowClosed says in a few words how the connection ended and which side
// acted: "open", "fin by client", "rst by server", or, when one side
// closed with a FIN and the other then reset (a client answering a
// server's FIN with a RST, say), both: "fin by server, rst by client".
// Close, ClosedFirstBy and RSTBy hold the same facts field by field.
func (c *ConnReport) HowClosed() string {
	if c.Close == "rst" && c.RSTBy != "" && c.ClosedFirstBy != "" && c.RSTBy != c.ClosedFirstBy {
		return "fin by " + c.ClosedFirstBy + ", rst by " + c.RSTBy
	}
	by := c.ClosedFirstBy
	if c.Close == "rst" && c.RSTBy != "" {
		by = c.RSTBy
	}
	if by == "" {
		return c.Close
	}
	return c.Close + " by " + by
}

// CloseSummary is HowClosed followed by the RSTs the connection outlived,
// so that a table's close column does not let an ignored RST pass for the
// close: "fin by server, rst by client (1 rst ignored)". It is HowClosed
// when there were none.
func (c *ConnReport) CloseSummary() string {
	switch {
	case c.IgnoredRSTs <= 0:
		return c.HowClosed()
	case c.IgnoredRSTs == 1:
		return c.HowClosed() + " (1 rst ignored)"
	}
	return c.HowClosed() + " (" + strconv.Itoa(c.IgnoredRSTs) + " rsts ignored)"
}
