package report

import (
	"time"

	"github.com/connscope/connscope/analysis"
	"github.com/connscope/connscope/capture"
	"github.com/connscope/connscope/diagnose"
	"github.com/connscope/connscope/httpflow"
	"github.com/connscope/connscope/reassembly"
)

// Hostile strings a capture can carry: markup, attribute breakouts, script
// URLs, NUL and terminal escape sequences.
const (
	hostileScript   = "<script>alert(1)</script>"
	hostileAttr     = `"><img src=x onerror=alert(2)>`
	hostileJSURL    = "javascript:alert(3)"
	hostileControls = "a\x00b\x1b[31mred\x1b]0;title\x07\u202e"
)

var fixtureBase = time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC).UnixNano()

// at returns the capture time ms milliseconds after the fixture's start.
func at(ms float64) int64 { return fixtureBase + int64(ms*1e6) }

func ms(x float64) *analysis.Millis { m := analysis.Millis(x); return &m }

// segs builds segment records; each row is time(ms), frame, dir, seq, ack,
// len, window, flags, kind.
type segRow struct {
	ms     float64
	frame  uint64
	dir    reassembly.Direction
	seq    uint32
	ack    uint32
	len    uint32
	window uint32
	flags  capture.TCPFlags
	kind   reassembly.SegmentKind
}

const (
	c2s = reassembly.ClientToServer
	s2c = reassembly.ServerToClient
	fS  = capture.FlagSYN
	fA  = capture.FlagACK
	fP  = capture.FlagPSH | capture.FlagACK
	fF  = capture.FlagFIN | capture.FlagACK
	fR  = capture.FlagRST
	fSA = capture.FlagSYN | capture.FlagACK
)

func segs(rows ...segRow) []reassembly.SegmentRecord {
	out := make([]reassembly.SegmentRecord, len(rows))
	for i, r := range rows {
		out[i] = reassembly.SegmentRecord{
			Time: at(r.ms), Frame: r.frame, Seq: r.seq, Ack: r.ack, Len: r.len,
			Window: r.window, Flags: uint8(r.flags), Dir: r.dir, Kind: r.kind,
		}
	}
	return out
}

func msg(first, last uint64, start, end float64, hdr, body int64) *analysis.MessageReport {
	return &analysis.MessageReport{
		FirstFrame: first, LastFrame: last, Start: analysis.Time(at(start)), End: analysis.Time(at(end)),
		HeaderBytes: hdr, BodyBytes: body, Framing: "content_length", Complete: true,
	}
}

// fixtureRules stands in for the registry in golden tests, so they do not
// change each time a rule is added.
func fixtureRules() []*diagnose.Rule {
	return []*diagnose.Rule{
		{ID: "CT1001", Slug: "handshake-overhead", Title: "Handshake dominates a small transaction", Severity: diagnose.SeverityInfo, Scope: diagnose.ScopeConnection},
		{ID: "CT1002", Slug: "syn-retransmission", Title: "SYN retransmitted", Severity: diagnose.SeverityWarning, Scope: diagnose.ScopeConnection},
		{ID: "CC3001", Slug: "rst-truncated-response", Title: "RST cut a response short", Severity: diagnose.SeverityError, Scope: diagnose.ScopeConnection},
		{ID: "CH2009", Slug: "too-many-parallel", Title: "Too many parallel connections", Severity: diagnose.SeverityWarning, Scope: diagnose.ScopeCapture},
	}
}

// withDamagedAndCappedInputs gives fixtureReport's report the inputs that
// a damaged or capped run has: the first input reached a listing cap, a
// second was read whole within every limit, and a third was cut short.
func withDamagedAndCappedInputs(r *analysis.Report, capWarning string) *analysis.Report {
	r.Inputs[0].Warnings = []string{capWarning}
	r.Inputs = append(r.Inputs,
		&analysis.InputReport{Index: 1, Name: "clean.pcap", Warnings: []string{}},
		&analysis.InputReport{Index: 2, Name: "cut.pcap", Warnings: []string{}, Error: "cut.pcap: frame 16 at byte offset 4772: capture file cut short"})
	return r
}

// fixtureReport is a hand-made report with three connections: a clean
// keep-alive connection with two transactions, an IPv6 connection whose
// response a RST cut short after loss, retransmission and a zero window
// (its request carries hostile text everywhere), and a connection whose
// SYN was retransmitted and whose request got no answer. Built fresh on
// each call, so tests may modify it.
func fixtureReport() *analysis.Report {
	c1 := &analysis.ConnReport{
		ID: 1, Client: "10.0.0.1:40000", Server: "10.0.0.2:80", FirstFrame: 1, LastFrame: 16,
		Start: analysis.Time(at(0)), End: analysis.Time(at(60.5)), DurationMS: 60.5,
		Packets: analysis.Directional{ClientToServer: 8, ServerToClient: 8}, Bytes: analysis.Directional{ClientToServer: 160, ServerToClient: 3100},
		IRTTMS: ms(1), State: "SF", History: "ShADadFf", Close: "fin", ClosedFirstBy: "client", App: "http1", TransactionCount: 2,
		Segments: segs(
			segRow{0, 1, c2s, 0, 0, 0, 64240, fS, 0},
			segRow{0.5, 2, s2c, 0, 1, 0, 65160, fSA, 0},
			segRow{1, 3, c2s, 1, 1, 0, 502, fA, 0},
			segRow{1.2, 4, c2s, 1, 1, 80, 502, fP, 0},
			segRow{1.7, 5, s2c, 1, 81, 0, 509, fA, 0},
			segRow{11.7, 6, s2c, 1, 81, 1448, 509, fA, 0},
			segRow{11.8, 7, s2c, 1449, 81, 552, 509, fP, 0},
			segRow{12.3, 8, c2s, 81, 2001, 0, 501, fA, 0},
			segRow{40, 9, c2s, 81, 2001, 80, 501, fP, 0},
			segRow{40.5, 10, s2c, 2001, 161, 0, 509, fA, 0},
			segRow{50, 11, s2c, 2001, 161, 1100, 509, fP, 0},
			segRow{50.5, 12, c2s, 161, 3101, 0, 501, fA, 0},
			segRow{60, 13, c2s, 161, 3101, 0, 501, fF, 0},
			segRow{60.4, 14, s2c, 3101, 162, 0, 509, fF, 0},
			segRow{60.5, 15, c2s, 162, 3102, 0, 501, fA, 0},
			segRow{60.5, 16, c2s, 162, 3102, 0, 501, fA, reassembly.KindDuplicateAck},
		),
	}
	c2 := &analysis.ConnReport{
		ID: 2, Client: "[2001:db8::1]:40001", Server: "[2001:db8::2]:8080", FirstFrame: 17, LastFrame: 27,
		Start: analysis.Time(at(5)), End: analysis.Time(at(320)), DurationMS: 315,
		Packets: analysis.Directional{ClientToServer: 5, ServerToClient: 6}, Bytes: analysis.Directional{ClientToServer: 200, ServerToClient: 4344},
		IRTTMS: ms(20), State: "RSTO", History: "ShADadTgWR", Close: "rst", ClosedFirstBy: "client", RSTBy: "client",
		Retransmissions: 1, LostSegments: 1, ZeroWindows: 1, App: "http1", TransactionCount: 1,
		Segments: segs(
			segRow{5, 17, c2s, 0, 0, 0, 64800, fS, 0},
			segRow{15, 18, s2c, 0, 1, 0, 65535, fSA, 0},
			segRow{25, 19, c2s, 1, 1, 0, 502, fA, 0},
			segRow{25.1, 20, c2s, 1, 1, 200, 502, fP, 0},
			segRow{45, 21, s2c, 1, 201, 1448, 509, fA, 0},
			segRow{45.2, 22, s2c, 2897, 201, 1448, 509, fA, reassembly.KindPreviousNotCaptured},
			segRow{46, 23, c2s, 201, 1449, 0, 0, fA, reassembly.KindZeroWindow},
			segRow{250, 24, s2c, 1449, 201, 1448, 509, fA, reassembly.KindRetransmission},
			segRow{270, 25, c2s, 201, 4345, 0, 8000, fA, reassembly.KindWindowUpdate},
			segRow{300, 26, c2s, 201, 4345, 0, 8000, fA, reassembly.KindDuplicateAck},
			segRow{320, 27, c2s, 201, 0, 0, 0, fR, 0},
		),
	}
	c3 := &analysis.ConnReport{
		ID: 3, Client: "10.0.0.1:40002", Server: "10.0.0.3:80", FirstFrame: 28, LastFrame: 33,
		Start: analysis.Time(at(8)), End: analysis.Time(at(1500)), DurationMS: 1492,
		Packets: analysis.Directional{ClientToServer: 4, ServerToClient: 2}, Bytes: analysis.Directional{ClientToServer: 90},
		IRTTMS: ms(1001), SYNRetransmissions: 1, State: "S1", History: "ShAD", Close: "open", App: "http1", TransactionCount: 1,
		Segments: segs(
			segRow{8, 28, c2s, 0, 0, 0, 64240, fS, 0},
			segRow{1008, 29, c2s, 0, 0, 0, 64240, fS, reassembly.KindRetransmission},
			segRow{1008.5, 30, s2c, 0, 1, 0, 65160, fSA, 0},
			segRow{1009, 31, c2s, 1, 1, 0, 502, fA, 0},
			segRow{1009.2, 32, c2s, 1, 1, 90, 502, fP, 0},
			segRow{1010, 33, s2c, 1, 91, 0, 509, fA, 0},
		),
	}
	hostileTarget := "/" + hostileScript + "?q=" + hostileAttr + "&u=" + hostileJSURL + "&c=" + hostileControls
	t1 := &analysis.TxnReport{
		ID: 1, Connection: 1, Index: 0, Method: "GET", Target: "/index.html?lang=en&x=%20y", Version: "HTTP/1.1", Status: 200,
		Request: msg(4, 4, 1.2, 1.2, 80, 0), Response: msg(6, 7, 11.7, 11.8, 200, 1800),
		PersistentAfter: true,
		Timings:         analysis.Timings{ConnectMS: ms(1), SendMS: ms(0), WaitMS: ms(10.5), ReceiveMS: ms(0.1), TotalMS: ms(11.6)},
		GapBeforeMS:     ms(0.2),
		RequestHeaders:  []httpflow.Header{{Name: "Host", Value: "example.test"}, {Name: "User-Agent", Value: "curl/8.5"}},
		ResponseHeaders: []httpflow.Header{{Name: "Content-Type", Value: "text/html; charset=utf-8"}, {Name: "Content-Length", Value: "1800"}},
		Reason:          "OK",
	}
	t2 := &analysis.TxnReport{
		ID: 2, Connection: 2, Index: 0, Method: "POST", Target: hostileTarget, Version: "HTTP/1.1", Status: 302,
		Request: msg(20, 20, 25.1, 25.1, 150, 50), Response: msg(21, 24, 45, 250, 300, 4044),
		Timings:         analysis.Timings{ConnectMS: ms(20), SendMS: ms(0), WaitMS: ms(19.9), ReceiveMS: ms(205), TotalMS: ms(244.9)},
		GapBeforeMS:     ms(0.1),
		RequestHeaders:  []httpflow.Header{{Name: "Host", Value: "evil.test" + hostileAttr}, {Name: "X-Evil", Value: hostileScript + hostileControls}, {Name: hostileAttr, Value: hostileJSURL}},
		ResponseHeaders: []httpflow.Header{{Name: "Location", Value: hostileJSURL}, {Name: "Content-Type", Value: hostileScript}, {Name: "Content-Length", Value: "9000"}},
		Reason:          "Found " + hostileScript + hostileControls,
	}
	t2.Response.Complete, t2.Response.IncompleteReason = false, "rst"
	d := int64(9000)
	t2.Response.DeclaredLength = &d
	t3 := &analysis.TxnReport{
		ID: 3, Connection: 1, Index: 1, Method: "GET", Target: "/style.css", Version: "HTTP/1.1", Status: 200,
		Request: msg(9, 9, 40, 40, 80, 0), Response: msg(11, 11, 50, 50, 180, 920),
		PersistentAfter: true,
		Timings:         analysis.Timings{SendMS: ms(0), WaitMS: ms(10), ReceiveMS: ms(0), TotalMS: ms(10)},
		GapBeforeMS:     ms(28.2),
		RequestHeaders:  []httpflow.Header{{Name: "Host", Value: "example.test"}},
		ResponseHeaders: []httpflow.Header{{Name: "Content-Type", Value: "text/css"}},
		Reason:          "OK",
	}
	t4 := &analysis.TxnReport{
		ID: 4, Connection: 3, Index: 0, Method: "GET", Target: "/slow", Version: "HTTP/1.0",
		Request: msg(32, 32, 1009.2, 1009.2, 90, 0),
		Timings: analysis.Timings{ConnectMS: ms(1001), SendMS: ms(0)}, GapBeforeMS: ms(0.2),
	}
	findings := []*analysis.FindingReport{
		{Rule: "CT1001", Slug: "handshake-overhead", Severity: "info", Connection: 1, Transaction: 1, Frames: []uint64{1, 2, 3, 4},
			Time: analysis.Time(at(1)), CostMS: ms(1), Message: "the handshake took 1.000 ms of an 11.600 ms transaction"},
		{Rule: "CT1002", Slug: "syn-retransmission", Severity: "warning", Connection: 3, Transaction: 4, Frames: []uint64{28, 29},
			Time: analysis.Time(at(1008)), CostMS: ms(1000), Message: "the SYN was sent again after 1000.000 ms"},
		{Rule: "CC3001", Slug: "rst-truncated-response", Severity: "error", Connection: 2, Transaction: 2, Frames: []uint64{21, 24, 27},
			Time: analysis.Time(at(320)), Message: "RST from the client cut the response to POST " + hostileScript + " after 4044 of 9000 body bytes " + hostileControls,
			Related: []analysis.RelatedReport{{Frame: 20, Time: analysis.Time(at(25.1)), Message: "request " + hostileAttr}}, Vantage: "capture taken near the client"},
		{Rule: "CH2009", Slug: "too-many-parallel", Severity: "warning", Connections: []int{1, 3}, Frames: []uint64{1, 28},
			Time: analysis.Time(at(8)), Message: "2 connections to one server were open at once"},
		{Rule: "ZZ9999", Slug: "from-the-future", Severity: "info", Connection: 2, Frames: []uint64{22},
			Time: analysis.Time(at(45.2)), CostMS: ms(2.5), Message: "a rule this build does not know"},
	}
	return &analysis.Report{
		Schema: analysis.Schema,
		Inputs: []*analysis.InputReport{{
			Index: 0, Name: "handmade " + hostileScript + ".pcap", Format: "pcapng", Packets: 35, TCPPackets: 33,
			Skipped: map[string]int64{"udp": 2}, Start: analysis.Time(at(0)), End: analysis.Time(at(1500)), DurationMS: 1500,
			Connections: 3, Transactions: 4, PayloadBytes: 7934, PeakOpenConns: 3, Warnings: []string{},
		}},
		Connections:  []*analysis.ConnReport{c1, c2, c3},
		Transactions: []*analysis.TxnReport{t1, t2, t3, t4},
		Findings:     findings,
	}
}
