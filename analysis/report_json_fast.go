package analysis

import (
	"math"
	"strconv"

	"github.com/connscope/connscope/internal/jsonw"
)

// The elements a report has by the thousand (connections, transactions
// with their two messages, findings) are written by the hand encoders of
// this file, straight in their indented form for WriteJSON and compact for
// the NDJSON report (report.WriteNDJSON, through AppendConnJSON,
// AppendTxnJSON and AppendFindingJSON): json.Marshal and json.Indent
// spent most of the writers' time on them, in reflection and in scanning
// every byte twice more. Each appendJSON(b, n) writes exactly what
// json.Marshal and then json.Indent(dst, b, spaces(n), "  ") write for its
// value, and appendJSON(b, jsonCompact) exactly what json.Marshal writes:
// the same members in the same order, omitempty left out as encoding/json
// leaves it out, null for a nil pointer or a nil slice without omitempty,
// [] for an empty one, strings escaped as json.Marshal escapes them (HTML
// characters too), Time and Millis as their MarshalJSON methods write
// them. The layout (members, elements, closing brackets, the indentation
// convention) and the string escaping are internal/jsonw's, shared with
// report's HAR encoder. report_json_fast_test.go holds them to
// encoding/json, field by field (a field added to one of these types
// fails it until its encoder writes it), on every capture under testdata
// and on random hostile values.
//
// The rarer parts of a report (rules, inputs) stay with encoding/json.

// jsonAppender is a report type with a hand encoder.
type jsonAppender interface {
	// appendJSON appends the value indented as if it started on a line
	// indented by n spaces, or compact when n is jsonCompact. It returns
	// false, with b unspecified, when the value has something json.Marshal
	// refuses (a NaN or infinite Millis): the caller then takes the
	// reflective way, which returns encoding/json's error.
	appendJSON(b []byte, n int) ([]byte, bool)
}

var (
	_ jsonAppender = (*ConnReport)(nil)
	_ jsonAppender = (*TxnReport)(nil)
	_ jsonAppender = (*FindingReport)(nil)
	_ jsonAppender = (*MessageReport)(nil)
)

// jsonCompact, given to the appenders as the indentation, has them write
// compact JSON, as json.Marshal writes it (jsonw's convention: every place
// that indents tests n < 0).
const jsonCompact = jsonw.Compact

// appendJSONMillis writes m as Millis.MarshalJSON does; false for NaN and
// the infinities, which json.Marshal rejects.
func appendJSONMillis(b []byte, m Millis) ([]byte, bool) {
	f := float64(m)
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return b, false
	}
	return strconv.AppendFloat(b, f, 'f', 3, 64), true
}

func appendJSONMillisPtr(b []byte, m *Millis) ([]byte, bool) {
	if m == nil {
		return append(b, "null"...), true
	}
	return appendJSONMillis(b, *m)
}

// appendJSONTime writes t as Time.MarshalJSON does: "2006-01-02T15:04:05.000000000Z".
func appendJSONTime(b []byte, t Time) []byte {
	ns := int64(t)
	sec, frac := ns/1e9, ns%1e9
	if frac < 0 {
		sec, frac = sec-1, frac+1e9
	}
	days, sod := sec/86400, sec%86400
	if sod < 0 {
		days, sod = days-1, sod+86400
	}
	y, m, d := civilFromDays(days)
	if y < 0 || y > 9999 {
		// Not within an int64 of nanoseconds; as Time does it anyway.
		return strconv.AppendQuote(b, t.String())
	}
	b = append(b, '"')
	b = append4(b, int(y))
	b = append(b, '-')
	b = append2(b, m)
	b = append(b, '-')
	b = append2(b, d)
	b = append(b, 'T')
	b = append2(b, int(sod/3600))
	b = append(b, ':')
	b = append2(b, int(sod/60%60))
	b = append(b, ':')
	b = append2(b, int(sod%60))
	b = append(b, '.')
	f := int(frac)
	b = append(b, byte('0'+f/1e8), byte('0'+f/1e7%10), byte('0'+f/1e6%10),
		byte('0'+f/1e5%10), byte('0'+f/1e4%10), byte('0'+f/1e3%10),
		byte('0'+f/100%10), byte('0'+f/10%10), byte('0'+f%10))
	return append(b, 'Z', '"')
}

func append2(b []byte, v int) []byte { return append(b, byte('0'+v/10), byte('0'+v%10)) }

func append4(b []byte, v int) []byte {
	return append(b, byte('0'+v/1000), byte('0'+v/100%10), byte('0'+v/10%10), byte('0'+v%10))
}

// civilFromDays converts days since 1970-01-01 to a proleptic Gregorian
// date (Howard Hinnant's algorithm).
func civilFromDays(z int64) (year int64, month, day int) {
	z += 719468
	era := z / 146097
	if z < 0 && z%146097 != 0 {
		era--
	}
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	day = int(doy - (153*mp+2)/5 + 1)
	if mp < 10 {
		month = int(mp + 3)
	} else {
		month = int(mp - 9)
	}
	year = yoe + era*400
	if month <= 2 {
		year++
	}
	return year, month, day
}

// appendJSONInts writes an []int or []uint64 member's array, its
// brackets indented by n spaces (or compact).
func appendJSONInts[T int | uint64](b []byte, n int, xs []T) []byte {
	b, done := jsonw.OpenArray(b, xs == nil, len(xs))
	if done {
		return b
	}
	var zero T
	_, signed := any(zero).(int)
	for i, x := range xs {
		b = jsonw.Element(b, n, i == 0)
		if signed {
			b = strconv.AppendInt(b, int64(x), 10)
		} else {
			b = strconv.AppendUint(b, uint64(x), 10)
		}
	}
	return jsonw.Close(b, n, ']')
}

func appendJSONStrings(b []byte, n int, xs []string) []byte {
	b, done := jsonw.OpenArray(b, xs == nil, len(xs))
	if done {
		return b
	}
	for i, x := range xs {
		b = jsonw.Element(b, n, i == 0)
		b = jsonw.AppendString(b, x)
	}
	return jsonw.Close(b, n, ']')
}

func appendJSONDirectional(b []byte, n int, d Directional) []byte {
	b = append(b, '{')
	b = jsonw.Member(b, n+2, `"client_to_server": `)
	b = strconv.AppendInt(b, d.ClientToServer, 10)
	b = jsonw.Member(b, n+2, `"server_to_client": `)
	b = strconv.AppendInt(b, d.ServerToClient, 10)
	return jsonw.Close(b, n, '}')
}

func (c *ConnReport) appendJSON(b []byte, n int) ([]byte, bool) {
	return c.appendJSONLead(b, n, "")
}

func (c *ConnReport) appendJSONLead(b []byte, n int, lead string) ([]byte, bool) {
	if c == nil {
		return appendJSONNil(b, lead), true
	}
	var ok1, ok2 bool
	m := n + 2
	b = append(append(b, '{'), lead...)
	b = jsonw.Member(b, m, `"id": `)
	b = strconv.AppendInt(b, int64(c.ID), 10)
	b = jsonw.Member(b, m, `"input": `)
	b = strconv.AppendInt(b, int64(c.Input), 10)
	b = jsonw.Member(b, m, `"client": `)
	b = jsonw.AppendString(b, c.Client)
	b = jsonw.Member(b, m, `"server": `)
	b = jsonw.AppendString(b, c.Server)
	b = jsonw.Member(b, m, `"roles_inferred": `)
	b = strconv.AppendBool(b, c.RolesInferred)
	if c.VLAN != 0 {
		b = jsonw.Member(b, m, `"vlan": `)
		b = strconv.AppendInt(b, int64(c.VLAN), 10)
	}
	b = jsonw.Member(b, m, `"first_frame": `)
	b = strconv.AppendUint(b, c.FirstFrame, 10)
	b = jsonw.Member(b, m, `"last_frame": `)
	b = strconv.AppendUint(b, c.LastFrame, 10)
	b = jsonw.Member(b, m, `"start": `)
	b = appendJSONTime(b, c.Start)
	b = jsonw.Member(b, m, `"end": `)
	b = appendJSONTime(b, c.End)
	b = jsonw.Member(b, m, `"duration_ms": `)
	b, ok1 = appendJSONMillis(b, c.DurationMS)
	b = jsonw.Member(b, m, `"packets": `)
	b = appendJSONDirectional(b, m, c.Packets)
	b = jsonw.Member(b, m, `"bytes": `)
	b = appendJSONDirectional(b, m, c.Bytes)
	b = jsonw.Member(b, m, `"irtt_ms": `)
	b, ok2 = appendJSONMillisPtr(b, c.IRTTMS)
	b = jsonw.Member(b, m, `"syn_retransmissions": `)
	b = strconv.AppendInt(b, int64(c.SYNRetransmissions), 10)
	b = jsonw.Member(b, m, `"state": `)
	b = jsonw.AppendString(b, c.State)
	b = jsonw.Member(b, m, `"history": `)
	b = jsonw.AppendString(b, c.History)
	b = jsonw.Member(b, m, `"close": `)
	b = jsonw.AppendString(b, c.Close)
	b = jsonw.Member(b, m, `"closed_first_by": `)
	b = jsonw.AppendString(b, c.ClosedFirstBy)
	b = jsonw.Member(b, m, `"rst_by": `)
	b = jsonw.AppendString(b, c.RSTBy)
	if c.IgnoredRSTs != 0 {
		b = jsonw.Member(b, m, `"ignored_rsts": `)
		b = strconv.AppendInt(b, int64(c.IgnoredRSTs), 10)
	}
	b = jsonw.Member(b, m, `"half_closed": `)
	b = strconv.AppendBool(b, c.HalfClosed)
	b = jsonw.Member(b, m, `"retransmissions": `)
	b = strconv.AppendInt(b, int64(c.Retransmissions), 10)
	b = jsonw.Member(b, m, `"out_of_order": `)
	b = strconv.AppendInt(b, int64(c.OutOfOrder), 10)
	b = jsonw.Member(b, m, `"lost_segments": `)
	b = strconv.AppendInt(b, int64(c.LostSegments), 10)
	b = jsonw.Member(b, m, `"zero_windows": `)
	b = strconv.AppendInt(b, int64(c.ZeroWindows), 10)
	b = jsonw.Member(b, m, `"reused_tuple": `)
	b = strconv.AppendBool(b, c.ReusedTuple)
	if c.PreviousID != 0 {
		b = jsonw.Member(b, m, `"previous_id": `)
		b = strconv.AppendInt(b, int64(c.PreviousID), 10)
	}
	b = jsonw.Member(b, m, `"app": `)
	b = jsonw.AppendString(b, c.App)
	b = jsonw.Member(b, m, `"transactions": `)
	b = strconv.AppendInt(b, int64(c.TransactionCount), 10)
	return jsonw.Close(b, n, '}'), ok1 && ok2
}

func (r *MessageReport) appendJSON(b []byte, n int) ([]byte, bool) {
	if r == nil {
		return append(b, "null"...), true
	}
	m := n + 2
	b = append(b, '{')
	b = jsonw.Member(b, m, `"first_frame": `)
	b = strconv.AppendUint(b, r.FirstFrame, 10)
	b = jsonw.Member(b, m, `"last_frame": `)
	b = strconv.AppendUint(b, r.LastFrame, 10)
	b = jsonw.Member(b, m, `"start": `)
	b = appendJSONTime(b, r.Start)
	b = jsonw.Member(b, m, `"end": `)
	b = appendJSONTime(b, r.End)
	b = jsonw.Member(b, m, `"header_bytes": `)
	b = strconv.AppendInt(b, r.HeaderBytes, 10)
	b = jsonw.Member(b, m, `"body_bytes": `)
	b = strconv.AppendInt(b, r.BodyBytes, 10)
	if r.DeclaredLength != nil {
		b = jsonw.Member(b, m, `"declared_length": `)
		b = strconv.AppendInt(b, *r.DeclaredLength, 10)
	}
	if r.Framing != "" {
		b = jsonw.Member(b, m, `"framing": `)
		b = jsonw.AppendString(b, r.Framing)
	}
	b = jsonw.Member(b, m, `"complete": `)
	b = strconv.AppendBool(b, r.Complete)
	if r.IncompleteReason != "" {
		b = jsonw.Member(b, m, `"incomplete_reason": `)
		b = jsonw.AppendString(b, r.IncompleteReason)
	}
	if len(r.Anomalies) != 0 {
		b = jsonw.Member(b, m, `"anomalies": `)
		b = appendJSONStrings(b, m, r.Anomalies)
	}
	return jsonw.Close(b, n, '}'), true
}

func (t *TxnReport) appendJSON(b []byte, n int) ([]byte, bool) {
	return t.appendJSONLead(b, n, "")
}

func (t *TxnReport) appendJSONLead(b []byte, n int, lead string) ([]byte, bool) {
	if t == nil {
		return appendJSONNil(b, lead), true
	}
	ok := true
	m := n + 2
	b = append(append(b, '{'), lead...)
	b = jsonw.Member(b, m, `"id": `)
	b = strconv.AppendInt(b, int64(t.ID), 10)
	b = jsonw.Member(b, m, `"connection": `)
	b = strconv.AppendInt(b, int64(t.Connection), 10)
	b = jsonw.Member(b, m, `"index": `)
	b = strconv.AppendInt(b, int64(t.Index), 10)
	b = jsonw.Member(b, m, `"method": `)
	b = jsonw.AppendString(b, t.Method)
	b = jsonw.Member(b, m, `"target": `)
	b = jsonw.AppendString(b, t.Target)
	b = jsonw.Member(b, m, `"version": `)
	b = jsonw.AppendString(b, t.Version)
	b = jsonw.Member(b, m, `"status": `)
	b = strconv.AppendInt(b, int64(t.Status), 10)
	b = jsonw.Member(b, m, `"request": `)
	b, _ = t.Request.appendJSON(b, m)
	b = jsonw.Member(b, m, `"response": `)
	b, _ = t.Response.appendJSON(b, m)
	if len(t.Interim) != 0 {
		b = jsonw.Member(b, m, `"interim_statuses": `)
		b = appendJSONInts(b, m, t.Interim)
	}
	b = jsonw.Member(b, m, `"pipelined": `)
	b = strconv.AppendBool(b, t.Pipelined)
	b = jsonw.Member(b, m, `"persistent_after": `)
	b = strconv.AppendBool(b, t.PersistentAfter)
	b = jsonw.Member(b, m, `"tunnel": `)
	b = strconv.AppendBool(b, t.Tunnel)
	b = jsonw.Member(b, m, `"timings": `)
	b = append(b, '{')
	for _, f := range [...]struct {
		name string
		v    *Millis
	}{
		{`"connect_ms": `, t.Timings.ConnectMS},
		{`"send_ms": `, t.Timings.SendMS},
		{`"wait_ms": `, t.Timings.WaitMS},
		{`"receive_ms": `, t.Timings.ReceiveMS},
		{`"total_ms": `, t.Timings.TotalMS},
	} {
		var fine bool
		b = jsonw.Member(b, m+2, f.name)
		b, fine = appendJSONMillisPtr(b, f.v)
		ok = ok && fine
	}
	b = jsonw.Close(b, m, '}')
	b = jsonw.Member(b, m, `"gap_before_ms": `)
	b, fine := appendJSONMillisPtr(b, t.GapBeforeMS)
	return jsonw.Close(b, n, '}'), ok && fine
}

func (f *FindingReport) appendJSON(b []byte, n int) ([]byte, bool) {
	return f.appendJSONLead(b, n, "")
}

func (f *FindingReport) appendJSONLead(b []byte, n int, lead string) ([]byte, bool) {
	if f == nil {
		return appendJSONNil(b, lead), true
	}
	m := n + 2
	b = append(append(b, '{'), lead...)
	b = jsonw.Member(b, m, `"rule": `)
	b = jsonw.AppendString(b, f.Rule)
	b = jsonw.Member(b, m, `"slug": `)
	b = jsonw.AppendString(b, f.Slug)
	b = jsonw.Member(b, m, `"severity": `)
	b = jsonw.AppendString(b, f.Severity)
	b = jsonw.Member(b, m, `"connection": `)
	b = strconv.AppendInt(b, int64(f.Connection), 10)
	if len(f.Connections) != 0 {
		b = jsonw.Member(b, m, `"connections": `)
		b = appendJSONInts(b, m, f.Connections)
	}
	b = jsonw.Member(b, m, `"transaction": `)
	b = strconv.AppendInt(b, int64(f.Transaction), 10)
	b = jsonw.Member(b, m, `"frames": `)
	b = appendJSONInts(b, m, f.Frames)
	b = jsonw.Member(b, m, `"time": `)
	b = appendJSONTime(b, f.Time)
	b = jsonw.Member(b, m, `"cost_ms": `)
	b, ok := appendJSONMillisPtr(b, f.CostMS)
	b = jsonw.Member(b, m, `"message": `)
	b = jsonw.AppendString(b, f.Message)
	if len(f.Related) != 0 {
		b = jsonw.Member(b, m, `"related": `)
		b = append(b, '[')
		for i := range f.Related {
			b = jsonw.Element(b, m, i == 0)
			b = f.Related[i].appendJSON(b, m+2)
		}
		b = jsonw.Close(b, m, ']')
	}
	if f.Vantage != "" {
		b = jsonw.Member(b, m, `"vantage": `)
		b = jsonw.AppendString(b, f.Vantage)
	}
	return jsonw.Close(b, n, '}'), ok
}

func (r *RelatedReport) appendJSON(b []byte, n int) []byte {
	m := n + 2
	b = append(b, '{')
	b = jsonw.Member(b, m, `"frame": `)
	b = strconv.AppendUint(b, r.Frame, 10)
	b = jsonw.Member(b, m, `"time": `)
	b = appendJSONTime(b, r.Time)
	b = jsonw.Member(b, m, `"message": `)
	b = jsonw.AppendString(b, r.Message)
	return jsonw.Close(b, n, '}')
}

// appendJSONNil writes a nil element: null, or, with a lead, the object
// json.Marshal writes for a struct whose only other field is a nil
// embedded pointer (its promoted fields are left out).
func appendJSONNil(b []byte, lead string) []byte {
	if lead == "" {
		return append(b, "null"...)
	}
	b = append(append(b, '{'), lead...)
	return append(b, '}')
}

// AppendConnJSON appends c as compact JSON, byte for byte what json.Marshal
// writes for it (HTML characters, U+2028 and U+2029 escaped, invalid UTF-8
// as \ufffd). A lead that is not empty is written verbatim as the first
// members of the object, before c's own: `"type":"connection"` makes it
// what json.Marshal writes for struct{Type string `json:"type"`;
// *ConnReport}, which is how the NDJSON report wraps a connection. lead
// must be compact JSON members (name:value pairs joined by commas) whose
// names are not c's. ok is false, with b unspecified, when json.Marshal
// would refuse c (a NaN or infinite Millis); the caller then calls
// json.Marshal for its error.
func AppendConnJSON(b []byte, c *ConnReport, lead string) (_ []byte, ok bool) {
	return c.appendJSONLead(b, jsonCompact, lead)
}

// AppendTxnJSON is AppendConnJSON for a transaction (its two messages
// included).
func AppendTxnJSON(b []byte, t *TxnReport, lead string) (_ []byte, ok bool) {
	return t.appendJSONLead(b, jsonCompact, lead)
}

// AppendFindingJSON is AppendConnJSON for a finding.
func AppendFindingJSON(b []byte, f *FindingReport, lead string) (_ []byte, ok bool) {
	return f.appendJSONLead(b, jsonCompact, lead)
}
