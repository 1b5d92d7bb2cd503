package report

import (
	"math"
	"strconv"

	"github.com/connscope/connscope/analysis"
)

// HAR entries, one per transaction, are nearly all of a HAR document, and
// encoding/json spent a large share of WriteHAR's time on them: reflection
// over harEntry, then json.Indent's pass over every byte. appendHAREntry
// writes an entry by hand, exactly what json.Encoder (escaping HTML, and
// with SetIndent(spaces(n), "  ") when n is not harCompact) writes for it
// without its final new line: the same members in the same order,
// omitempty left out as encoding/json leaves it out, strings escaped as
// json.Marshal escapes them (analysis.AppendJSONString), numbers as its
// float and int encoders write them. har_fast_test.go holds it to
// encoding/json field by field (a field added to an entry's types fails
// it until written here), on random hostile values and on every capture.

// harCompact, given as the indentation, writes compact JSON. It stays
// negative however deep the encoder adds to it.
const harCompact = -1 << 30

// harSpaces holds the indentation of any depth an entry reaches.
const harSpaces = "                                "

// harMember starts a member of an object whose members are indented by n
// spaces (or compact): the comma that ends the member before it (none
// after the "{"), a new line, the indentation and name, the quoted name
// and ": " (its final space left out when compact).
func harMember(b []byte, n int, name string) []byte {
	if b[len(b)-1] != '{' {
		b = append(b, ',')
	}
	if n < 0 {
		return append(b, name[:len(name)-1]...)
	}
	b = append(b, '\n')
	b = append(b, harSpaces[:n]...)
	return append(b, name...)
}

// harClose ends an object or array whose closing bracket is indented by n
// spaces (or compact).
func harClose(b []byte, n int, c byte) []byte {
	if n >= 0 {
		b = append(b, '\n')
		b = append(b, harSpaces[:n]...)
	}
	return append(b, c)
}

// harElement starts an element of an array whose brackets are indented by
// n spaces (or compact).
func harElement(b []byte, n int, first bool) []byte {
	if !first {
		b = append(b, ',')
	}
	if n < 0 {
		return b
	}
	b = append(b, '\n')
	return append(b, harSpaces[:n+2]...)
}

// appendHARFloat writes f as encoding/json writes a float64: the shortest
// decimal that reads back as f, in exponent form below 1e-6 and from 1e21
// (exponent without a leading zero). false for NaN and the infinities,
// which encoding/json refuses.
func appendHARFloat(b []byte, f float64) ([]byte, bool) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return b, false
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		// clean up e-09 to e-9
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b, true
}

func appendHARNVs(b []byte, n int, xs []harNV) []byte {
	if xs == nil {
		return append(b, "null"...)
	}
	if len(xs) == 0 {
		return append(b, "[]"...)
	}
	b = append(b, '[')
	m := n + 4
	for i := range xs {
		b = harElement(b, n, i == 0)
		b = append(b, '{')
		b = harMember(b, m, `"name": `)
		b = analysis.AppendJSONString(b, xs[i].Name)
		b = harMember(b, m, `"value": `)
		b = analysis.AppendJSONString(b, xs[i].Value)
		b = harClose(b, n+2, '}')
	}
	return harClose(b, n, ']')
}

func appendHARCookies(b []byte, n int, xs []harCookie) []byte {
	if xs == nil {
		return append(b, "null"...)
	}
	if len(xs) == 0 {
		return append(b, "[]"...)
	}
	b = append(b, '[')
	m := n + 4
	for i := range xs {
		c := &xs[i]
		b = harElement(b, n, i == 0)
		b = append(b, '{')
		b = harMember(b, m, `"name": `)
		b = analysis.AppendJSONString(b, c.Name)
		b = harMember(b, m, `"value": `)
		b = analysis.AppendJSONString(b, c.Value)
		if c.Path != "" {
			b = harMember(b, m, `"path": `)
			b = analysis.AppendJSONString(b, c.Path)
		}
		if c.Domain != "" {
			b = harMember(b, m, `"domain": `)
			b = analysis.AppendJSONString(b, c.Domain)
		}
		if c.Expires != "" {
			b = harMember(b, m, `"expires": `)
			b = analysis.AppendJSONString(b, c.Expires)
		}
		if c.HTTPOnly {
			b = append(harMember(b, m, `"httpOnly": `), "true"...)
		}
		if c.Secure {
			b = append(harMember(b, m, `"secure": `), "true"...)
		}
		b = harClose(b, n+2, '}')
	}
	return harClose(b, n, ']')
}

func appendHARRequest(b []byte, n int, q *harRequest) []byte {
	m := n + 2
	b = append(b, '{')
	b = harMember(b, m, `"method": `)
	b = analysis.AppendJSONString(b, q.Method)
	b = harMember(b, m, `"url": `)
	b = analysis.AppendJSONString(b, q.URL)
	b = harMember(b, m, `"httpVersion": `)
	b = analysis.AppendJSONString(b, q.HTTPVersion)
	b = harMember(b, m, `"cookies": `)
	b = appendHARCookies(b, m, q.Cookies)
	b = harMember(b, m, `"headers": `)
	b = appendHARNVs(b, m, q.Headers)
	b = harMember(b, m, `"queryString": `)
	b = appendHARNVs(b, m, q.QueryString)
	b = harMember(b, m, `"headersSize": `)
	b = strconv.AppendInt(b, q.HeadersSize, 10)
	b = harMember(b, m, `"bodySize": `)
	b = strconv.AppendInt(b, q.BodySize, 10)
	if q.Comment != "" {
		b = harMember(b, m, `"comment": `)
		b = analysis.AppendJSONString(b, q.Comment)
	}
	return harClose(b, n, '}')
}

func appendHARResponse(b []byte, n int, s *harResponse) []byte {
	m := n + 2
	b = append(b, '{')
	b = harMember(b, m, `"status": `)
	b = strconv.AppendInt(b, int64(s.Status), 10)
	b = harMember(b, m, `"statusText": `)
	b = analysis.AppendJSONString(b, s.StatusText)
	b = harMember(b, m, `"httpVersion": `)
	b = analysis.AppendJSONString(b, s.HTTPVersion)
	b = harMember(b, m, `"cookies": `)
	b = appendHARCookies(b, m, s.Cookies)
	b = harMember(b, m, `"headers": `)
	b = appendHARNVs(b, m, s.Headers)
	b = harMember(b, m, `"content": `)
	b = append(b, '{')
	b = harMember(b, m+2, `"size": `)
	b = strconv.AppendInt(b, s.Content.Size, 10)
	b = harMember(b, m+2, `"mimeType": `)
	b = analysis.AppendJSONString(b, s.Content.MimeType)
	if s.Content.Comment != "" {
		b = harMember(b, m+2, `"comment": `)
		b = analysis.AppendJSONString(b, s.Content.Comment)
	}
	b = harClose(b, m, '}')
	b = harMember(b, m, `"redirectURL": `)
	b = analysis.AppendJSONString(b, s.RedirectURL)
	b = harMember(b, m, `"headersSize": `)
	b = strconv.AppendInt(b, s.HeadersSize, 10)
	b = harMember(b, m, `"bodySize": `)
	b = strconv.AppendInt(b, s.BodySize, 10)
	if s.Comment != "" {
		b = harMember(b, m, `"comment": `)
		b = analysis.AppendJSONString(b, s.Comment)
	}
	return harClose(b, n, '}')
}

// appendHAREntry appends e indented as if it started on a line indented
// by n spaces, or compact when n is harCompact. It returns false, with b
// unspecified, when e holds a float encoding/json refuses (NaN or
// infinite): the caller then encodes it with encoding/json for its error.
func appendHAREntry(b []byte, e *harEntry, n int) ([]byte, bool) {
	ok := true
	m := n + 2
	b = append(b, '{')
	if e.PageRef != "" {
		b = harMember(b, m, `"pageref": `)
		b = analysis.AppendJSONString(b, e.PageRef)
	}
	b = harMember(b, m, `"startedDateTime": `)
	b = analysis.AppendJSONString(b, e.StartedDateTime)
	b = harMember(b, m, `"time": `)
	b, ok = appendHARFloat(b, e.Time)
	b = harMember(b, m, `"request": `)
	b = appendHARRequest(b, m, &e.Request)
	b = harMember(b, m, `"response": `)
	b = appendHARResponse(b, m, &e.Response)
	b = append(harMember(b, m, `"cache": `), "{}"...)
	b = harMember(b, m, `"timings": `)
	b = append(b, '{')
	for _, f := range [...]struct {
		name string
		v    float64
	}{
		{`"blocked": `, e.Timings.Blocked},
		{`"dns": `, e.Timings.DNS},
		{`"connect": `, e.Timings.Connect},
		{`"send": `, e.Timings.Send},
		{`"wait": `, e.Timings.Wait},
		{`"receive": `, e.Timings.Receive},
		{`"ssl": `, e.Timings.SSL},
	} {
		var fine bool
		b = harMember(b, m+2, f.name)
		b, fine = appendHARFloat(b, f.v)
		ok = ok && fine
	}
	b = harClose(b, m, '}')
	if e.ServerIPAddress != "" {
		b = harMember(b, m, `"serverIPAddress": `)
		b = analysis.AppendJSONString(b, e.ServerIPAddress)
	}
	b = harMember(b, m, `"connection": `)
	b = analysis.AppendJSONString(b, e.Connection)
	if e.Comment != "" {
		b = harMember(b, m, `"comment": `)
		b = analysis.AppendJSONString(b, e.Comment)
	}
	return harClose(b, n, '}'), ok
}
