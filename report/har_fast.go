package report

import (
	"math"
	"strconv"

	"github.com/connscope/connscope/internal/jsonw"
)

// HAR entries, one per transaction, are nearly all of a HAR document, and
// encoding/json spent a large share of WriteHAR's time on them: reflection
// over harEntry, then json.Indent's pass over every byte. appendHAREntry
// writes an entry by hand, exactly what json.Encoder (escaping HTML, and
// with SetIndent(spaces(n), "  ") when n is not harCompact) writes for it
// without its final new line: the same members in the same order,
// omitempty left out as encoding/json leaves it out, strings escaped as
// json.Marshal escapes them, numbers as its float and int encoders write
// them. Members, elements, closing brackets, the indentation convention
// and the string escaping are internal/jsonw's, shared with analysis's
// report encoders. har_fast_test.go holds it to encoding/json field by
// field (a field added to an entry's types fails it until written here),
// on random hostile values and on every capture.

// harCompact, given as the indentation, writes compact JSON (jsonw's
// convention: it stays negative however deep the encoder adds to it).
const harCompact = jsonw.Compact

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
	b, done := jsonw.OpenArray(b, xs == nil, len(xs))
	if done {
		return b
	}
	m := n + 4
	for i := range xs {
		b = jsonw.Element(b, n, i == 0)
		b = append(b, '{')
		b = jsonw.Member(b, m, `"name": `)
		b = jsonw.AppendString(b, xs[i].Name)
		b = jsonw.Member(b, m, `"value": `)
		b = jsonw.AppendString(b, xs[i].Value)
		b = jsonw.Close(b, n+2, '}')
	}
	return jsonw.Close(b, n, ']')
}

func appendHARCookies(b []byte, n int, xs []harCookie) []byte {
	b, done := jsonw.OpenArray(b, xs == nil, len(xs))
	if done {
		return b
	}
	m := n + 4
	for i := range xs {
		c := &xs[i]
		b = jsonw.Element(b, n, i == 0)
		b = append(b, '{')
		b = jsonw.Member(b, m, `"name": `)
		b = jsonw.AppendString(b, c.Name)
		b = jsonw.Member(b, m, `"value": `)
		b = jsonw.AppendString(b, c.Value)
		if c.Path != "" {
			b = jsonw.Member(b, m, `"path": `)
			b = jsonw.AppendString(b, c.Path)
		}
		if c.Domain != "" {
			b = jsonw.Member(b, m, `"domain": `)
			b = jsonw.AppendString(b, c.Domain)
		}
		if c.Expires != "" {
			b = jsonw.Member(b, m, `"expires": `)
			b = jsonw.AppendString(b, c.Expires)
		}
		if c.HTTPOnly {
			b = append(jsonw.Member(b, m, `"httpOnly": `), "true"...)
		}
		if c.Secure {
			b = append(jsonw.Member(b, m, `"secure": `), "true"...)
		}
		b = jsonw.Close(b, n+2, '}')
	}
	return jsonw.Close(b, n, ']')
}

func appendHARRequest(b []byte, n int, q *harRequest) []byte {
	m := n + 2
	b = append(b, '{')
	b = jsonw.Member(b, m, `"method": `)
	b = jsonw.AppendString(b, q.Method)
	b = jsonw.Member(b, m, `"url": `)
	b = jsonw.AppendString(b, q.URL)
	b = jsonw.Member(b, m, `"httpVersion": `)
	b = jsonw.AppendString(b, q.HTTPVersion)
	b = jsonw.Member(b, m, `"cookies": `)
	b = appendHARCookies(b, m, q.Cookies)
	b = jsonw.Member(b, m, `"headers": `)
	b = appendHARNVs(b, m, q.Headers)
	b = jsonw.Member(b, m, `"queryString": `)
	b = appendHARNVs(b, m, q.QueryString)
	b = jsonw.Member(b, m, `"headersSize": `)
	b = strconv.AppendInt(b, q.HeadersSize, 10)
	b = jsonw.Member(b, m, `"bodySize": `)
	b = strconv.AppendInt(b, q.BodySize, 10)
	if q.Comment != "" {
		b = jsonw.Member(b, m, `"comment": `)
		b = jsonw.AppendString(b, q.Comment)
	}
	return jsonw.Close(b, n, '}')
}

func appendHARResponse(b []byte, n int, s *harResponse) []byte {
	m := n + 2
	b = append(b, '{')
	b = jsonw.Member(b, m, `"status": `)
	b = strconv.AppendInt(b, int64(s.Status), 10)
	b = jsonw.Member(b, m, `"statusText": `)
	b = jsonw.AppendString(b, s.StatusText)
	b = jsonw.Member(b, m, `"httpVersion": `)
	b = jsonw.AppendString(b, s.HTTPVersion)
	b = jsonw.Member(b, m, `"cookies": `)
	b = appendHARCookies(b, m, s.Cookies)
	b = jsonw.Member(b, m, `"headers": `)
	b = appendHARNVs(b, m, s.Headers)
	b = jsonw.Member(b, m, `"content": `)
	b = append(b, '{')
	b = jsonw.Member(b, m+2, `"size": `)
	b = strconv.AppendInt(b, s.Content.Size, 10)
	b = jsonw.Member(b, m+2, `"mimeType": `)
	b = jsonw.AppendString(b, s.Content.MimeType)
	if s.Content.Comment != "" {
		b = jsonw.Member(b, m+2, `"comment": `)
		b = jsonw.AppendString(b, s.Content.Comment)
	}
	b = jsonw.Close(b, m, '}')
	b = jsonw.Member(b, m, `"redirectURL": `)
	b = jsonw.AppendString(b, s.RedirectURL)
	b = jsonw.Member(b, m, `"headersSize": `)
	b = strconv.AppendInt(b, s.HeadersSize, 10)
	b = jsonw.Member(b, m, `"bodySize": `)
	b = strconv.AppendInt(b, s.BodySize, 10)
	if s.Comment != "" {
		b = jsonw.Member(b, m, `"comment": `)
		b = jsonw.AppendString(b, s.Comment)
	}
	return jsonw.Close(b, n, '}')
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
		b = jsonw.Member(b, m, `"pageref": `)
		b = jsonw.AppendString(b, e.PageRef)
	}
	b = jsonw.Member(b, m, `"startedDateTime": `)
	b = jsonw.AppendString(b, e.StartedDateTime)
	b = jsonw.Member(b, m, `"time": `)
	b, ok = appendHARFloat(b, e.Time)
	b = jsonw.Member(b, m, `"request": `)
	b = appendHARRequest(b, m, &e.Request)
	b = jsonw.Member(b, m, `"response": `)
	b = appendHARResponse(b, m, &e.Response)
	b = append(jsonw.Member(b, m, `"cache": `), "{}"...)
	b = jsonw.Member(b, m, `"timings": `)
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
		b = jsonw.Member(b, m+2, f.name)
		b, fine = appendHARFloat(b, f.v)
		ok = ok && fine
	}
	b = jsonw.Close(b, m, '}')
	if e.ServerIPAddress != "" {
		b = jsonw.Member(b, m, `"serverIPAddress": `)
		b = jsonw.AppendString(b, e.ServerIPAddress)
	}
	b = jsonw.Member(b, m, `"connection": `)
	b = jsonw.AppendString(b, e.Connection)
	if e.Comment != "" {
		b = jsonw.Member(b, m, `"comment": `)
		b = jsonw.AppendString(b, e.Comment)
	}
	return jsonw.Close(b, n, '}'), ok
}
