package diagnose

import (
	"cmp"
	"net/netip"
	"slices"

	"github.com/connscope/connscope/httpflow"
	"github.com/connscope/connscope/reassembly"
)

// connSummary is what the engine keeps of a connection after it closed,
// for the capture-scope rules: a few numbers, no segments and no headers.
type connSummary struct {
	ID             int
	Client, Server netip.AddrPort
	Start, End     int64
	// SYN evidence: the first SYN's time and the last SYN's frame (0
	// when the handshake was not seen); irtt is 0 when unknown.
	FirstSYNTime int64
	SYNFrame     uint64
	irtt         int64

	Close         reassembly.CloseKind
	ClosedFirstBy reassembly.Role
	// CloseFrame/CloseTime are of the first FIN or RST (0 when open).
	CloseFrame uint64
	CloseTime  int64

	ReusedTuple bool
	PreviousID  int

	HTTP         bool // the connection carried HTTP/1.x
	Transactions int
	// refusal says how persistence was refused on a single-transaction
	// connection ("" when it was not refused by a header or framing).
	refusal string
	// lastUnanswered is the last transaction when it got no response and
	// is not idempotent (a candidate for a retry elsewhere);
	// firstNonIdempotent is the first transaction when it is not
	// idempotent (a candidate retry of an earlier one).
	lastUnanswered     *httpflow.Transaction
	firstNonIdempotent *httpflow.Transaction
}

func summarize(ci *ConnInfo, v *connView) *connSummary {
	c := ci.Conn
	s := &connSummary{
		ID: c.ID, Client: c.Client, Server: c.Server, Start: c.Start, End: c.End,
		FirstSYNTime: c.Handshake.FirstSYNTime, SYNFrame: c.Handshake.SYNFrame, irtt: v.irtt,
		Close: c.Close, ClosedFirstBy: c.ClosedFirstBy,
		ReusedTuple: c.ReusedTuple, PreviousID: c.PreviousID,
		HTTP:         ci.App == httpflow.AppHTTP1 || len(ci.Transactions) > 0,
		Transactions: len(ci.Transactions),
	}
	if s.FirstSYNTime == 0 {
		s.FirstSYNTime = c.Handshake.SYNTime
	}
	s.CloseFrame, s.CloseTime = firstClose(c)
	if n := len(ci.Transactions); n > 0 {
		first, last := ci.Transactions[0], ci.Transactions[n-1]
		if n == 1 {
			s.refusal = persistenceRefusal(first)
		}
		if last.Response == nil && last.Request != nil && !idempotent(last.Request.Method) && !v.missed[reassembly.ServerToClient] {
			s.lastUnanswered = last
		}
		if first.Request != nil && !idempotent(first.Request.Method) {
			s.firstNonIdempotent = first
		}
	}
	return s
}

// firstClose returns the frame and time of the first FIN or RST of the
// connection, from either side (0, 0 when it never closed).
func firstClose(c *reassembly.Connection) (uint64, int64) {
	var frame uint64
	var at int64
	for d := range c.Dir {
		st := &c.Dir[d]
		for _, x := range [...]struct {
			f uint64
			t int64
		}{{st.FINFrame, st.FINTime}, {st.RSTFrame, st.RSTTime}} {
			if x.f != 0 && (frame == 0 || x.f < frame) {
				frame, at = x.f, x.t
			}
		}
	}
	return frame, at
}

// serverKey groups connections by client address and server address and
// port: the unit for churn, parallelism and port pressure.
type serverKey struct {
	client netip.Addr
	server netip.AddrPort
}

// captureView indexes the summaries for the capture-scope rules.
type captureView struct {
	byID map[int]*connSummary
	// groups holds each client→server group's connections by opening time.
	groups map[serverKey][]*connSummary
	keys   []serverKey // groups' keys in a deterministic order
}

func newCaptureView(sums []*connSummary) *captureView {
	v := &captureView{byID: make(map[int]*connSummary, len(sums)), groups: make(map[serverKey][]*connSummary)}
	for _, s := range sums {
		v.byID[s.ID] = s
		k := serverKey{s.Client.Addr(), s.Server}
		if _, ok := v.groups[k]; !ok {
			v.keys = append(v.keys, k)
		}
		v.groups[k] = append(v.groups[k], s)
	}
	for _, g := range v.groups {
		slices.SortFunc(g, func(a, b *connSummary) int {
			return cmp.Or(cmp.Compare(opening(a), opening(b)), cmp.Compare(a.ID, b.ID))
		})
	}
	slices.SortFunc(v.keys, func(a, b serverKey) int {
		return cmp.Or(a.client.Compare(b.client), a.server.Compare(b.server))
	})
	return v
}
