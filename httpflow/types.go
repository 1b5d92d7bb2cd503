package httpflow

import "strconv"

// App labels what a connection's bytes turned out to be.
type App string

const (
	AppUnknown App = "unknown"
	AppHTTP1   App = "http1"
	AppTLS     App = "tls"
	AppHTTP2   App = "http2"
)

// Framing is how a message body's length is determined (RFC 9112 section 6).
// It is a small number, not a string, so that a Message's hot fields fit
// fewer cache lines (see txnBox); String gives its name. The zero Framing
// is that of a message whose header block never ended: no framing known.
type Framing uint8

const (
	FramingNone           Framing = iota + 1 // no body by rule: HEAD response, 1xx, 204, 304, request without length
	FramingContentLength                     // Content-Length
	FramingChunked                           // Transfer-Encoding: chunked
	FramingCloseDelimited                    // response body ends when the server closes
	FramingTunnel                            // after CONNECT 2xx or 101: not HTTP any more
)

var framingNames = [...]string{"", "none", "content_length", "chunked", "close_delimited", "tunnel"}

// String returns the framing's name as the reports write it
// ("content_length"), or "" for the zero Framing.
func (f Framing) String() string {
	if int(f) < len(framingNames) {
		return framingNames[f]
	}
	return "framing(" + strconv.Itoa(int(f)) + ")"
}

// MarshalText writes the name, so that a Message encodes as it reads.
func (f Framing) MarshalText() ([]byte, error) { return []byte(f.String()), nil }

// Incomplete says why a message did not end normally. Like Framing it is
// a small number; String gives its name, "" for IncompleteNone.
type Incomplete uint8

const (
	IncompleteNone         Incomplete = iota // the message ended normally (or has not ended yet)
	IncompleteFIN                            // the sender closed before the message ended
	IncompleteRST                            // a RST ended the connection mid-message
	IncompleteGap                            // bytes of the message were not captured
	IncompleteEndOfCapture                   // the capture ended mid-message
	IncompleteMalformed                      // the message could not be parsed
	IncompleteNoResponse                     // (transaction) the request was never answered
)

var incompleteNames = [...]string{"", "fin", "rst", "gap", "end_of_capture", "malformed", "no_response"}

// String returns the reason as the reports write it ("end_of_capture"),
// or "" for IncompleteNone.
func (i Incomplete) String() string {
	if int(i) < len(incompleteNames) {
		return incompleteNames[i]
	}
	return "incomplete(" + strconv.Itoa(int(i)) + ")"
}

// MarshalText writes the name, so that a Message encodes as it reads.
func (i Incomplete) MarshalText() ([]byte, error) { return []byte(i.String()), nil }

// Header is one header field as received. Name keeps its original case;
// compare with strings.EqualFold or use Message.Get. Values are raw bytes
// from the capture as a string: hostile, unescaped, possibly not UTF-8.
type Header struct {
	Name, Value string
}

// Message is one HTTP request or response and the segments that carried it.
//
// A connection keeps a record of each transaction until it closes, so a
// Message is kept small: the fields most messages leave empty (header
// lists, the rarer hop-by-hop values, anomalies) are behind Extra, and the
// rest fits three cache lines (TestTxnBoxLayout): Framing and Incomplete
// are small numbers and the keep-alive parameters 32-bit.
type Message struct {
	FirstFrame, LastFrame uint64
	Start, End            int64 // capture times of the first and last byte's frames

	// Request line (requests) or status line (responses).
	Method  string // requests
	Target  string // requests
	Version string // "HTTP/1.1", "HTTP/1.0"
	Status  int    // responses
	Reason  string // responses

	HeaderBytes int64 // start line + headers + blank line
	BodyBytes   int64 // body bytes seen (chunk framing excluded for chunked)
	// WireBytes counts every captured byte of the message as sent: start
	// line, headers, body, chunk framing and trailers (added by httpflow;
	// bytes lost in capture gaps are not counted).
	WireBytes      int64
	DeclaredLength int64 // Content-Length value, -1 when absent
	Framing        Framing
	Incomplete     Incomplete // why not Complete
	Complete       bool
	// HeadersTruncated says the header cap was hit: Headers (or
	// Trailers) are not all of the message's fields.
	HeadersTruncated bool
	// HasProxyConnection says a Proxy-Connection header was present (its
	// value is ProxyConnection). The two small numbers and the three
	// flags share one word.
	HasProxyConnection bool

	// The hop-by-hop headers that connection management depends on (the
	// raw Keep-Alive and Proxy-Connection values are further down).
	ConnectionTokens []string // lower-cased tokens of all Connection headers
	KeepAliveMax     int32    // -1 when absent; a larger value than 2^31-1 reads as 2^31-1
	KeepAliveTimeout int32    // seconds, -1 when absent; saturates as KeepAliveMax

	// Extra holds what most messages leave empty: the header field lists,
	// the rarer hop-by-hop values and the anomalies. It is nil when every
	// one of them is empty, so that the record a connection keeps of each
	// message until it closes is three cache lines, not five (see txnBox).
	// Read its fields through the methods of the same names, which answer
	// for a nil Extra too.
	Extra *MessageExtra
}

// MessageExtra is the part of a Message that most messages leave empty
// (see Message.Extra).
type MessageExtra struct {
	// Headers kept up to the parser's header cap (Message.HeadersTruncated
	// set when hit); nil with Config.DropHeaderFields.
	Headers []Header
	// Trailers holds the trailer fields after a chunked body, within the
	// same caps.
	Trailers []Header

	KeepAlive       string // raw Keep-Alive header value ("" when absent)
	ProxyConnection string // raw Proxy-Connection value ("" when absent)
	Expect          string // Expect header value (requests)
	Upgrade         string // Upgrade header value

	// Anomalies found while parsing, as stable snake_case keys
	// (e.g. "conflicting_content_length", "te_and_cl", "obs_fold",
	// "body_beyond_content_length", "bad_chunk_size"), in the order found.
	Anomalies []string
}

// Headers returns the header fields kept (nil with Config.DropHeaderFields).
func (m *Message) Headers() []Header {
	if m.Extra == nil {
		return nil
	}
	return m.Extra.Headers
}

// Trailers returns the trailer fields kept after a chunked body.
func (m *Message) Trailers() []Header {
	if m.Extra == nil {
		return nil
	}
	return m.Extra.Trailers
}

// KeepAlive returns the raw Keep-Alive header value, "" when absent.
func (m *Message) KeepAlive() string {
	if m.Extra == nil {
		return ""
	}
	return m.Extra.KeepAlive
}

// ProxyConnection returns the raw Proxy-Connection value, "" when absent
// (HasProxyConnection tells an empty one from none).
func (m *Message) ProxyConnection() string {
	if m.Extra == nil {
		return ""
	}
	return m.Extra.ProxyConnection
}

// Expect returns the Expect header value, "" when absent.
func (m *Message) Expect() string {
	if m.Extra == nil {
		return ""
	}
	return m.Extra.Expect
}

// Upgrade returns the Upgrade header value, "" when absent.
func (m *Message) Upgrade() string {
	if m.Extra == nil {
		return ""
	}
	return m.Extra.Upgrade
}

// Anomalies returns the anomalies found while parsing, in the order found.
func (m *Message) Anomalies() []string {
	if m.Extra == nil {
		return nil
	}
	return m.Extra.Anomalies
}

// Transaction is a request and its response on one connection.
type Transaction struct {
	// ID numbers transactions across the whole capture, in request order.
	ID int
	// Connection is the reassembly.Connection ID; Index is the 0-based
	// position of the transaction on its connection.
	Connection int
	Index      int

	// Request is nil when a response was captured but its request was not
	// (the capture started after it, or it was lost in a capture gap).
	Request *Message
	// Interim holds 1xx responses (100 Continue, 103 Early Hints) that came
	// before the final response.
	Interim  []*Message
	Response *Message // nil when no response was seen

	// Pipelined is set when the request's first byte was sent before the
	// previous transaction's response had been completely received.
	Pipelined bool
	// PersistentAfter says whether the connection may carry another
	// transaction after this one under HTTP/1.0 and HTTP/1.1 rules.
	PersistentAfter bool
	// Tunnel is set for CONNECT 2xx and 101 Switching Protocols: the
	// connection stopped carrying HTTP/1.x after this transaction.
	Tunnel bool

	// Timings, in nanoseconds (-1 when not applicable).
	Connect int64 // handshake, for the first transaction of a fresh connection
	Send    int64 // first to last request byte
	Wait    int64 // last request byte to first response byte
	Receive int64 // first to last response byte
	Total   int64 // connect + send + wait + receive
	// GapBefore is the idle time on the connection before the request's first
	// byte: since the previous response's last byte (or, for the first
	// transaction, since the handshake completed).
	GapBefore int64
}
