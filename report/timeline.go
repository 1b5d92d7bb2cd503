package report

import (
	"bufio"
	"cmp"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/connscope/connscope/analysis"
	"github.com/connscope/connscope/capture"
	"github.com/connscope/connscope/reassembly"
)

// Styler colours a piece of terminal text by what it shows. The CLI
// implements it with its colour library; the library only names kinds.
// Style must return s unchanged in meaning (only add escape sequences
// around it), since s is already made safe for the terminal.
type Styler interface {
	Style(kind, s string) string
}

// The kinds WriteTimeline asks a Styler for.
const (
	StyleHeader         = "header"           // connection heading
	StyleDim            = "dim"              // column titles, pure ACKs
	StyleClientToServer = "client_to_server" // data sent by the client
	StyleServerToClient = "server_to_client" // data sent by the server
	StyleHandshake      = "handshake"        // SYN, FIN
	StyleRetransmission = "retransmission"   // retransmissions of any kind
	StyleLoss           = "loss"             // previous segment not captured, out of order
	StyleWindow         = "window"           // zero window, window full, probes
	StyleReset          = "reset"            // RST
	StyleRequest        = "request"          // request start/end markers
	StyleResponse       = "response"         // response start/end markers
	StyleInfo           = "info"             // finding of severity info
	StyleWarning        = "warning"          // finding of severity warning
	StyleError          = "error"            // finding of severity error
)

// PlainStyler styles nothing: plain text for files, pipes and NO_COLOR.
type PlainStyler struct{}

// Style returns s as it is.
func (PlainStyler) Style(_, s string) string { return s }

// WriteTimeline draws one connection on a time axis in the terminal: one
// line per TCP segment (time since the connection's first frame,
// frame, direction, flags, relative seq/len/ack, window, and
// classification), with the start and end of every request and response
// marked between the segments that carried them, and every finding about
// the connection marked at its evidence frames and printed in full after
// the last of them. Segment lines need analysis.Options.KeepSegments;
// without them the transactions and findings are still listed in time
// order. Captured text is escaped with textsafe.Terminal. A nil styler
// means PlainStyler.
func WriteTimeline(w io.Writer, r *analysis.Report, connID int, styler Styler) error {
	if r == nil {
		return errNilReport
	}
	if styler == nil {
		styler = PlainStyler{}
	}
	c, err := findConnection(r, connID)
	if err != nil {
		return fmt.Errorf("report: timeline: %w", err)
	}
	if c == nil {
		return fmt.Errorf("report: timeline: no connection %d in the report (it has %s)", connID, plural(r.ConnectionCount(), "connection"))
	}
	tl, err := buildTimeline(r, c)
	if err != nil {
		return fmt.Errorf("report: timeline of connection %d: %w", connID, err)
	}
	bw := bufio.NewWriter(w)
	tl.write(bw, styler, inputNames(r)[c.Input])
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("report: timeline of connection %d: %w", connID, err)
	}
	return nil
}

// timelineItem is one line of the timeline: a segment or a marker.
type timelineItem struct {
	time  analysis.Time
	frame uint64
	// order places markers around the segment of the same frame: 0 before
	// it (a message starts), 1 the segment, 2 after it (a message ends, a
	// finding becomes evident).
	order int
	seq   int // insertion order, the last tie-break
	seg   *reassembly.SegmentRecord
	text  string // marker text, already escaped
	kind  string // marker style kind
	// tags are short finding marks shown on a segment line.
	tags []string
}

type timeline struct {
	conn     *analysis.ConnReport
	items    []*timelineItem
	txns     int
	findings int
}

func buildTimeline(r *analysis.Report, c *analysis.ConnReport) (*timeline, error) {
	tl := &timeline{conn: c}
	frameTime := map[uint64]analysis.Time{}
	segByFrame := map[uint64]*timelineItem{}
	for i := range c.Segments {
		s := &c.Segments[i]
		it := &timelineItem{time: analysis.Time(s.Time), frame: s.Frame, order: 1, seg: s}
		tl.items = append(tl.items, it)
		frameTime[s.Frame] = it.time
		if _, dup := segByFrame[s.Frame]; !dup {
			segByFrame[s.Frame] = it
		}
	}
	// at places a marker at frame (falling back to t when the frame has no
	// segment record).
	at := func(frame uint64, t analysis.Time, order int, kind, text string) {
		if ft, ok := frameTime[frame]; ok {
			t = ft
		}
		tl.items = append(tl.items, &timelineItem{time: t, frame: frame, order: order, kind: kind, text: text})
	}
	err := r.EachTransaction(func(t *analysis.TxnReport) error {
		if t.Connection != c.ID {
			return nil
		}
		tl.txns++
		name := fmt.Sprintf("T%d", t.ID)
		if q := t.Request; q != nil {
			line := clean(t.Method + " " + t.Target + " " + t.Version)
			if t.Pipelined {
				line += "  (pipelined)"
			}
			at(q.FirstFrame, q.Start, 0, StyleRequest, fmt.Sprintf("┌ %s request  %s", name, line))
			end := fmt.Sprintf("└ %s request sent  %s  send %s", name, sizeOf(q), fmtMS(millis(t.Timings.SendMS, 0)))
			at(q.LastFrame, q.End, 2, StyleRequest, end+incomplete(q))
		}
		if s := t.Response; s != nil {
			at(s.FirstFrame, s.Start, 0, StyleResponse, fmt.Sprintf("┌ %s response  %d %s  wait %s", name, t.Status, clean(t.Reason), fmtMS(millis(t.Timings.WaitMS, 0))))
			end := fmt.Sprintf("└ %s response received  %s  receive %s", name, sizeOf(s), fmtMS(millis(t.Timings.ReceiveMS, 0)))
			at(s.LastFrame, s.End, 2, StyleResponse, end+incomplete(s))
		} else if q := t.Request; q != nil {
			at(q.LastFrame, q.End, 2, StyleResponse, fmt.Sprintf("  %s no response captured", name))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, f := range sortedFindings(r.Findings) {
		if f.Connection != c.ID && !slices.Contains(f.Connections, c.ID) {
			continue
		}
		tl.findings++
		tag := "◆" + clean(f.Rule)
		last, lastTime := uint64(0), f.Time
		for _, fr := range f.Frames {
			if it, ok := segByFrame[fr]; ok {
				it.tags = append(it.tags, tag)
				if fr >= last {
					last, lastTime = fr, it.time
				}
			}
		}
		text := fmt.Sprintf("◆ %s %s [%s]  %s  frames %s", clean(f.Rule), clean(f.Slug), clean(f.Severity), clean(f.Message), joinFrames(f.Frames))
		if f.CostMS != nil {
			text += "  cost " + fmtMS(float64(*f.CostMS))
		}
		for _, x := range f.Related {
			text += fmt.Sprintf("\n%s    related: frame %d: %s", markerIndent, x.Frame, clean(x.Message))
		}
		if last == 0 {
			// No evidence frame among the segments: place it at its time,
			// after any segment at that instant.
			tl.items = append(tl.items, &timelineItem{time: lastTime, frame: ^uint64(0), order: 2, kind: findingStyle(f.Severity), text: text})
			continue
		}
		tl.items = append(tl.items, &timelineItem{time: lastTime, frame: last, order: 2, kind: findingStyle(f.Severity), text: text})
	}
	for i, it := range tl.items {
		it.seq = i
	}
	slices.SortStableFunc(tl.items, func(a, b *timelineItem) int {
		return cmp.Or(cmp.Compare(a.time, b.time), cmp.Compare(a.frame, b.frame), cmp.Compare(a.order, b.order), cmp.Compare(a.seq, b.seq))
	})
	return tl, nil
}

func sizeOf(m *analysis.MessageReport) string {
	return fmt.Sprintf("%d+%d bytes", m.HeaderBytes, m.BodyBytes)
}

func incomplete(m *analysis.MessageReport) string {
	if m.Complete {
		return ""
	}
	reason := m.IncompleteReason
	if reason == "" {
		reason = "unknown"
	}
	return "  INCOMPLETE (" + clean(reason) + ")"
}

func findingStyle(sev string) string {
	switch sev {
	case sevError:
		return StyleError
	case sevWarning:
		return StyleWarning
	}
	return StyleInfo
}

// The segment line layout; timelineColumns heads it with the same widths.
const segmentFormat = "%14.3f %8d  %s  %-5s  %-10d %5d  %-10s %8d  %s"

var timelineColumns = strings.TrimRight(fmt.Sprintf("%14s %8s  %-7s  %-5s  %-10s %5s  %-10s %8s  %s",
	"time (ms)", "frame", "dir", "flags", "seq", "len", "ack", "window", "notes"), " ")

// markerIndent lines markers up with the direction column.
const markerIndent = "                          "

func (tl *timeline) write(w *bufio.Writer, st Styler, input string) {
	c := tl.conn
	fmt.Fprintln(w, st.Style(StyleHeader, fmt.Sprintf("connection %d  %s -> %s", c.ID, clean(c.Client), clean(c.Server))))
	var facts []string
	facts = append(facts, fmt.Sprintf("input %d %s", c.Input, clean(input)))
	facts = append(facts, fmt.Sprintf("frames %d-%d", c.FirstFrame, c.LastFrame))
	facts = append(facts, "start "+c.Start.String())
	facts = append(facts, "duration "+fmtMS(float64(c.DurationMS)))
	fmt.Fprintln(w, "  "+strings.Join(facts, "  "))
	facts = facts[:0]
	facts = append(facts, "state "+clean(c.State), "history "+clean(c.History))
	if c.IRTTMS != nil {
		facts = append(facts, "iRTT "+fmtMS(float64(*c.IRTTMS)))
	}
	switch {
	case c.Close == "rst" && c.RSTBy != "" && c.ClosedFirstBy != "" && c.RSTBy != c.ClosedFirstBy:
		// The first closer sent a FIN; the peer then reset.
		facts = append(facts, "closed first by "+clean(c.ClosedFirstBy)+" (fin), reset by "+clean(c.RSTBy))
	case c.ClosedFirstBy != "":
		facts = append(facts, "closed first by "+clean(c.ClosedFirstBy)+" ("+clean(c.Close)+")")
	default:
		facts = append(facts, "close "+clean(c.Close))
	}
	if c.IgnoredRSTs > 0 {
		facts = append(facts, ignoredRSTFact(c))
	}
	if c.RolesInferred {
		facts = append(facts, "roles inferred")
	}
	fmt.Fprintln(w, "  "+strings.Join(facts, "  "))
	fmt.Fprintf(w, "  %s, %s, %s; C is the client, S the server\n",
		plural(len(c.Segments), "segment"), plural(tl.txns, "transaction"), plural(tl.findings, "finding"))
	if c.SegmentsDropped > 0 {
		were := "were"
		if c.SegmentsDropped == 1 {
			were = "was"
		}
		fmt.Fprintf(w, "  %s %s released by the per-connection cap\n", plural(c.SegmentsDropped, "earlier segment record"), were)
	}
	if len(c.Segments) == 0 {
		fmt.Fprintln(w, "  no segment records (the analysis ran without keeping segments)")
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, st.Style(StyleDim, timelineColumns))
	for _, it := range tl.items {
		if it.seg == nil {
			fmt.Fprintf(w, "%s%s\n", markerIndent, st.Style(it.kind, it.text))
			continue
		}
		fmt.Fprintln(w, segmentLine(it, c.Start, st))
	}
}

// ignoredRSTFact says how many RSTs the connection outlived, and at
// which frames when their segment records were kept: "1 rst ignored
// (frame 4)". It stands apart from the close, which those RSTs were not.
func ignoredRSTFact(c *analysis.ConnReport) string {
	fact := "1 rst ignored"
	if c.IgnoredRSTs != 1 {
		fact = fmt.Sprintf("%d rsts ignored", c.IgnoredRSTs)
	}
	var frames []uint64
	for i := range c.Segments {
		if c.Segments[i].Kind&reassembly.KindIgnoredRST != 0 {
			frames = append(frames, c.Segments[i].Frame)
		}
	}
	switch len(frames) {
	case 0:
		return fact
	case 1:
		return fact + " (frame " + joinFrames(frames) + ")"
	}
	return fact + " (frames " + joinFrames(frames) + ")"
}

// segmentLine formats one segment. Relative times are from the
// connection's first frame.
func segmentLine(it *timelineItem, start analysis.Time, st Styler) string {
	s := it.seg
	flags := capture.TCPFlags(s.Flags)
	arrow := "C --> S"
	if s.Dir == reassembly.ServerToClient {
		arrow = "C <-- S"
	}
	ack := "-"
	if flags.Has(capture.FlagACK) {
		ack = fmt.Sprint(s.Ack)
	}
	notes := kindNames(s.Kind)
	notes = append(notes, it.tags...)
	line := fmt.Sprintf(segmentFormat,
		float64(it.time-start)/1e6, s.Frame, arrow, flags, s.Seq, s.Len, ack, s.Window, strings.Join(notes, " "))
	return st.Style(segmentStyle(s), strings.TrimRight(line, " "))
}

// segmentStyle picks the most telling style for a segment.
func segmentStyle(s *reassembly.SegmentRecord) string {
	flags := capture.TCPFlags(s.Flags)
	switch {
	case flags.Has(capture.FlagRST):
		return StyleReset
	case s.Kind&(reassembly.KindRetransmission|reassembly.KindFastRetransmission|reassembly.KindSpuriousRetrans) != 0:
		return StyleRetransmission
	case s.Kind&(reassembly.KindPreviousNotCaptured|reassembly.KindOutOfOrder) != 0:
		return StyleLoss
	case s.Kind&(reassembly.KindZeroWindow|reassembly.KindZeroWindowProbe|reassembly.KindWindowFull) != 0:
		return StyleWindow
	case flags.Has(capture.FlagSYN) || flags.Has(capture.FlagFIN):
		return StyleHandshake
	case s.Len == 0:
		return StyleDim
	case s.Dir == reassembly.ServerToClient:
		return StyleServerToClient
	}
	return StyleClientToServer
}

// segmentKindNames spells each classification bit in the vocabulary of
// Wireshark's tcp.analysis flags.
var segmentKindNames = []struct {
	kind reassembly.SegmentKind
	name string
}{
	{reassembly.KindRetransmission, "retransmission"},
	{reassembly.KindFastRetransmission, "fast-retransmission"},
	{reassembly.KindSpuriousRetrans, "spurious-retransmission"},
	{reassembly.KindOutOfOrder, "out-of-order"},
	{reassembly.KindPreviousNotCaptured, "previous-segment-not-captured"},
	{reassembly.KindDuplicateAck, "dup-ack"},
	{reassembly.KindZeroWindow, "zero-window"},
	{reassembly.KindZeroWindowProbe, "zero-window-probe"},
	{reassembly.KindWindowFull, "window-full"},
	{reassembly.KindKeepAlive, "keep-alive"},
	{reassembly.KindCaptureDuplicate, "capture-duplicate"},
	{reassembly.KindWindowUpdate, "window-update"},
	// connscope's own: a RST whose sender went on after it, so the peer
	// dropped it and it did not end the connection.
	{reassembly.KindIgnoredRST, "ignored-rst"},
}

// kindNames lists the classification of a segment.
func kindNames(k reassembly.SegmentKind) []string {
	var out []string
	for _, x := range segmentKindNames {
		if k&x.kind != 0 {
			out = append(out, x.name)
		}
	}
	return out
}

// plural spells a count with its noun: "1 finding", "2 findings".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
