package diagnose

import (
	"cmp"
	"net/netip"
	"slices"
	"sort"

	"github.com/connscope/connscope/httpflow"
	"github.com/connscope/connscope/reassembly"
)

// connSummary is what the engine keeps of a connection after it closed,
// for the capture-scope rules: 144 bytes, no segments, no headers and no
// pointers (so the collector need not scan them). Summaries are stored by
// value in chunks; the rare extras (CH1004's counts, CC1008's requests)
// sit in side tables the summary indexes.
type connSummary struct {
	ID, PreviousID int
	// group indexes the engine's client address → server address and
	// port groups; clientPort completes the 4-tuple.
	group int32
	// pos is the summary's index in its group once the capture view sorted
	// the group (for rules that keep per-connection state in a slice).
	pos        int32
	clientPort uint16

	Close         reassembly.CloseKind
	ClosedFirstBy reassembly.Role
	ReusedTuple   bool
	HTTP          bool // the connection carried HTTP/1.x
	// refusal says how persistence was refused on a single-transaction
	// connection (refusalNone when it was not refused by a header or
	// framing).
	refusal      refusalKind
	Transactions int32
	// keepAliveAt and retryAt are 1 + the index of the connection's entry
	// in the engine's keepAlives and retries, 0 when it has none.
	keepAliveAt, retryAt int32

	Start, End int64
	// FirstSYNTime is the first SYN's time (the first frame's when the
	// handshake was not seen); SYNFrame is the last SYN's frame (0 when
	// not seen); irtt is 0 when unknown.
	FirstSYNTime int64
	SYNFrame     uint64
	irtt         int64
	// CloseFrame/CloseTime are of the first FIN or RST (0 when open).
	CloseFrame uint64
	CloseTime  int64

	// idleBeforeClose is the time from the last response's end to the
	// first FIN or RST (-1 when the last request got no response).
	idleBeforeClose int64
	// handshake is CT1001's measure of the handshake's share.
	handshake handshakeShare
}

// retryEvidence keeps the transactions CC1008 compares across connections,
// detached from the parser's buffers.
type retryEvidence struct {
	// lastUnanswered is the last transaction when it got no response and is
	// not idempotent; firstNonIdempotent is the first transaction when it is
	// not idempotent (a candidate resend of an earlier one).
	lastUnanswered, firstNonIdempotent *httpflow.Transaction
}

// keepsSummary reports whether a connection matters to the capture-scope
// rules: it completed a handshake or carried payload. A SYN that was never
// answered (a scan, a flood) or refused holds no TIME_WAIT, carries no
// HTTP, and is not a parallel connection; per-connection rules still see it.
func keepsSummary(c *reassembly.Connection) bool {
	if c.Handshake.SYNACKFrame != 0 || c.RolesInferred {
		return true
	}
	return c.Dir[reassembly.ClientToServer].Bytes > 0 || c.Dir[reassembly.ServerToClient].Bytes > 0
}

func (e *Engine) summarize(ci *ConnInfo, v *connView) {
	c := ci.Conn
	k := serverKey{c.Client.Addr(), c.Server}
	// Consecutive connections mostly share a group: look the map up only
	// when the group changes.
	g := e.lastGroup
	if len(e.groupKeys) == 0 || e.groupKeys[g] != k {
		var ok bool
		if g, ok = e.groupOf[k]; !ok {
			g = int32(len(e.groupKeys))
			e.groupOf[k] = g
			e.groupKeys = append(e.groupKeys, k)
			e.groupSizes = append(e.groupSizes, 0)
		}
		e.lastGroup = g
	}
	e.groupSizes[g]++
	if e.summaries.n == 0 || c.ID < e.minID {
		e.minID = c.ID
	}
	if e.summaries.n == 0 || c.ID > e.maxID {
		e.maxID = c.ID
	}
	s := e.summaries.next()
	*s = connSummary{
		ID: c.ID, PreviousID: c.PreviousID, group: g, clientPort: c.Client.Port(),
		Close: c.Close, ClosedFirstBy: c.ClosedFirstBy, ReusedTuple: c.ReusedTuple,
		HTTP:         ci.App == httpflow.AppHTTP1 || len(ci.Transactions) > 0,
		Transactions: int32(min(len(ci.Transactions), 1<<30)),
		Start:        c.Start, End: c.End,
		FirstSYNTime: c.Handshake.FirstSYNTime, SYNFrame: c.Handshake.SYNFrame, irtt: v.irtt,
	}
	if s.FirstSYNTime == 0 {
		s.FirstSYNTime = c.Handshake.SYNTime
	}
	if s.FirstSYNTime == 0 {
		s.FirstSYNTime = c.Start
	}
	if c.SegmentsDropped == 0 {
		// Every segment was recorded, so the scan saw the first FIN or RST.
		s.CloseFrame, s.CloseTime = v.closeFrame, v.closeTime
	} else {
		s.CloseFrame, s.CloseTime = firstClose(c)
	}
	if ka := countKeepAlive(ci.Transactions); ka.frame != 0 {
		e.keepAlives = append(e.keepAlives, ka)
		s.keepAliveAt = int32(len(e.keepAlives))
	}
	s.handshake = measureHandshake(c, ci.Transactions)
	s.idleBeforeClose = -1
	if n := len(ci.Transactions); n > 0 {
		first, last := ci.Transactions[0], ci.Transactions[n-1]
		if last.Response != nil && last.Response.End != 0 && s.CloseFrame != 0 && s.CloseTime >= last.Response.End {
			s.idleBeforeClose = s.CloseTime - last.Response.End
		}
		if n == 1 {
			s.refusal = persistenceRefusal(first)
		}
		lastUnanswered := last.Response == nil && last.Request != nil && !idempotent(last.Request.Method) && !v.missed[reassembly.ServerToClient]
		firstNonIdempotent := first.Request != nil && !idempotent(first.Request.Method)
		if lastUnanswered || firstNonIdempotent {
			var r retryEvidence
			if lastUnanswered {
				r.lastUnanswered = detach(last)
			}
			if firstNonIdempotent {
				r.firstNonIdempotent = detach(first)
			}
			e.retries = append(e.retries, r)
			s.retryAt = int32(len(e.retries))
		}
	}
}

// summaryStore keeps summaries by value in fixed-size chunks: appending
// never copies earlier ones, and pointers to them stay valid.
type summaryStore struct {
	chunks [][]connSummary
	n      int
}

// summaryChunk is how many summaries a chunk holds: 128 × 144 bytes is
// 18 KiB, a size class of its own, small enough that the chunk the
// allocator just zeroed is still in cache when the next 128 connections
// fill it (with 1024 the writes missed the cache: about 20 ms of a 100 000
// connection capture against about 8 ms now, pprof).
const summaryChunk = 128

// next appends a zero summary and returns it to be filled in place.
func (st *summaryStore) next() *connSummary {
	if len(st.chunks) == 0 || len(st.chunks[len(st.chunks)-1]) == summaryChunk {
		st.chunks = append(st.chunks, make([]connSummary, 0, summaryChunk))
	}
	last := &st.chunks[len(st.chunks)-1]
	*last = (*last)[:len(*last)+1]
	st.n++
	return &(*last)[len(*last)-1]
}

// firstClose returns the frame and time of the first FIN or RST of the
// connection, from either side (0, 0 when it never closed).
func firstClose(c *reassembly.Connection) (uint64, int64) {
	var frame uint64
	var at int64
	for d := range c.Dir {
		st := &c.Dir[d]
		if st.FINFrame != 0 && (frame == 0 || st.FINFrame < frame) {
			frame, at = st.FINFrame, st.FINTime
		}
		if st.RSTFrame != 0 && (frame == 0 || st.RSTFrame < frame) {
			frame, at = st.RSTFrame, st.RSTTime
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
	// byID finds a summary by connection ID: byID[id-firstID] when dense
	// (IDs are handed out in order, so a capture's kept connections
	// usually span few more IDs than there are summaries), else sorted by
	// ID and searched.
	byID    []*connSummary
	firstID int
	dense   bool
	// groups holds each client→server group's connections by opening
	// time; keys lists the groups in a deterministic order.
	groups map[serverKey][]*connSummary
	keys   []serverKey
	e      *Engine
}

// denseIDFactor bounds the ID table: it is used when the IDs span at most
// this many times as many IDs as there are summaries.
const denseIDFactor = 4

func newCaptureView(e *Engine) *captureView {
	v := &captureView{groups: make(map[serverKey][]*connSummary, len(e.groupKeys)), e: e}
	n := e.summaries.n
	// summarize counted each group's members and bounded the IDs, so
	// every group's slice is allocated once, at its size, out of one
	// backing array, without a pass to count them.
	sizes, minID, maxID := e.groupSizes, e.minID, e.maxID
	members := make([]*connSummary, n)
	groups := make([][]*connSummary, len(e.groupKeys))
	at := 0
	for g, size := range sizes {
		groups[g] = members[at : at : at+int(size)]
		at += int(size)
	}
	v.dense = n > 0 && uint64(maxID-minID) < uint64(denseIDFactor*n)
	if v.dense {
		v.firstID = minID
		v.byID = make([]*connSummary, maxID-minID+1)
	} else {
		v.byID = make([]*connSummary, 0, n)
	}
	for _, chunk := range e.summaries.chunks {
		for i := range chunk {
			s := &chunk[i]
			groups[s.group] = append(groups[s.group], s)
			if v.dense {
				v.byID[s.ID-minID] = s
			} else {
				v.byID = append(v.byID, s)
			}
		}
	}
	if !v.dense {
		sortNearlySorted(v.byID, func(a, b *connSummary) int { return cmp.Compare(a.ID, b.ID) })
	}
	v.keys = slices.Clone(e.groupKeys)
	for gi, k := range e.groupKeys {
		g := groups[gi]
		// Connections close in about the order they opened: the groups
		// are nearly sorted already.
		sortByOpening(g)
		for i, s := range g {
			s.pos = int32(i)
		}
		v.groups[k] = g
	}
	slices.SortFunc(v.keys, func(a, b serverKey) int {
		return cmp.Or(a.client.Compare(b.client), a.server.Compare(b.server))
	})
	return v
}

// compareOpening orders summaries by opening time, then ID: a strict
// total order, since IDs are unique.
func compareOpening(a, b *connSummary) int {
	return cmp.Or(cmp.Compare(opening(a), opening(b)), cmp.Compare(a.ID, b.ID))
}

// openedBefore is compareOpening(a, b) < 0.
func openedBefore(a, b *connSummary) bool {
	oa, ob := opening(a), opening(b)
	return oa < ob || oa == ob && a.ID < b.ID
}

// sortByOpening sorts g by compareOpening. Summaries come in the order
// connections closed, which is about the order they opened, but not
// nearly enough for an insertion sort: one long connection among 100 000
// short ones arrives a long way after the ones that opened next to it. So
// it keeps, in place, the run of summaries each opened after the last one
// kept (sorted by construction), sets the others aside (few, unless the
// order is far from sorted), sorts those, and merges the two: linear when
// few are out of place, n log n at worst.
func sortByOpening(g []*connSummary) {
	if len(g) < 2 {
		return
	}
	aside := make([]*connSummary, 0, len(g)) // grown by append, it cost more than the sort
	kept := 1
	for _, s := range g[1:] {
		if openedBefore(s, g[kept-1]) {
			aside = append(aside, s)
			continue
		}
		g[kept] = s
		kept++
	}
	if len(aside) == 0 {
		return
	}
	sortNearlySorted(aside, compareOpening)
	// Merge from the back: the kept run is g[:kept], and g[w] for w at or
	// past kept-1 is free once its element has moved.
	i, j := kept-1, len(aside)-1
	for w := len(g) - 1; j >= 0; w-- {
		if i >= 0 && openedBefore(aside[j], g[i]) {
			g[w] = g[i]
			i--
		} else {
			g[w] = aside[j]
			j--
		}
	}
}

// find returns the summary of connection id, or nil.
func (v *captureView) find(id int) *connSummary {
	if v.dense {
		if i := id - v.firstID; i >= 0 && i < len(v.byID) {
			return v.byID[i]
		}
		return nil
	}
	i := sort.Search(len(v.byID), func(i int) bool { return v.byID[i].ID >= id })
	if i < len(v.byID) && v.byID[i].ID == id {
		return v.byID[i]
	}
	return nil
}

// keepAlive returns CH1004's counts for s, nil when none of its messages
// said Connection: keep-alive on HTTP/1.1.
func (v *captureView) keepAlive(s *connSummary) *keepAliveCounts {
	if s.keepAliveAt == 0 {
		return nil
	}
	return &v.e.keepAlives[s.keepAliveAt-1]
}

// retry returns CC1008's evidence for s, nil when it has none.
func (v *captureView) retry(s *connSummary) *retryEvidence {
	if s.retryAt == 0 {
		return nil
	}
	return &v.e.retries[s.retryAt-1]
}

// client and server rebuild a summary's endpoints.
func (v *captureView) client(s *connSummary) netip.AddrPort {
	return netip.AddrPortFrom(v.e.groupKeys[s.group].client, s.clientPort)
}

// sortNearlySorted sorts xs by cmp, which must be a strict total order
// (no two elements compare equal, so the result does not depend on the
// algorithm). It is an insertion sort while the elements it moves stay few
// (connections close in about the order they opened, so summaries arrive
// nearly sorted), and hands the rest to slices.SortFunc when they do not:
// linear on nearly sorted input, n log n on any other.
func sortNearlySorted[E any](xs []E, cmp func(a, b E) int) {
	budget := 2*len(xs) + 16 // element moves before giving up
	for i := 1; i < len(xs); i++ {
		if cmp(xs[i-1], xs[i]) <= 0 {
			continue
		}
		x, j := xs[i], i
		for ; j > 0 && cmp(xs[j-1], x) > 0; j-- {
			xs[j] = xs[j-1]
			budget--
		}
		xs[j] = x
		if budget < 0 {
			slices.SortFunc(xs, cmp)
			return
		}
	}
}

// sortTimes sorts times that are nearly in order already (connections'
// starts and ends, taken in the order the connections opened): by
// insertion while that stays linear, else with slices.Sort.
func sortTimes(xs []int64) {
	budget := 2*len(xs) + 16
	for i := 1; i < len(xs); i++ {
		if xs[i-1] <= xs[i] {
			continue
		}
		x, j := xs[i], i
		for ; j > 0 && xs[j-1] > x; j-- {
			xs[j] = xs[j-1]
			budget--
		}
		xs[j] = x
		if budget < 0 {
			slices.Sort(xs)
			return
		}
	}
}

// peakOverlap sweeps intervals given as their sorted starts and sorted
// ends, and returns the most open at once and the first time that many
// were. At an instant where one interval ends and another starts, the end
// counts first when endsFirst is set (the two never overlapped), else the
// start does (they touched). It allocates nothing and is linear.
func peakOverlap(starts, ends []int64, endsFirst bool) (peak int, at int64) {
	open, i, j := 0, 0, 0
	for i < len(starts) {
		if j < len(ends) && (ends[j] < starts[i] || endsFirst && ends[j] == starts[i]) {
			open--
			j++
			continue
		}
		open++
		if open > peak {
			peak, at = open, starts[i]
		}
		i++
	}
	return peak, at
}

// smallestInts keeps the max smallest distinct numbers added, ascending:
// what sorting, de-duplicating and cutting a list of all of them gives,
// in O(max) memory.
type smallestInts struct {
	xs  []int
	max int
}

func (s *smallestInts) add(x int) {
	if len(s.xs) == s.max && (s.max == 0 || x > s.xs[len(s.xs)-1]) {
		return
	}
	i, found := slices.BinarySearch(s.xs, x)
	if found {
		return
	}
	if len(s.xs) == s.max {
		s.xs = s.xs[:len(s.xs)-1]
	}
	s.xs = slices.Insert(s.xs, i, x)
}

// firstOpenedFrom returns the index of the first connection in g (sorted
// by opening time) opened at or after t: what sort.Search gives, found by
// galloping out from hint, the answer to a nearby earlier question. A rule
// that asks in about opening order pays a few steps instead of log n.
func firstOpenedFrom(g []*connSummary, t int64, hint int) int {
	hint = max(0, min(hint, len(g)))
	lo, hi := hint, hint // the answer is in [lo, hi]
	if hint < len(g) && opening(g[hint]) < t {
		for step := 1; ; step *= 2 {
			lo, hi = hi+1, min(hi+step, len(g))
			if hi == len(g) || opening(g[hi]) >= t {
				break
			}
		}
	} else {
		for step := 1; ; step *= 2 {
			hi, lo = lo, max(lo-step, 0)
			if lo == 0 || opening(g[lo-1]) < t {
				break
			}
		}
	}
	return lo + sort.Search(hi-lo, func(i int) bool { return opening(g[lo+i]) >= t })
}
