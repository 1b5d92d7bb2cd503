package diagnose

import (
	"cmp"
	"math"
	"net/netip"
	"slices"
	"sort"

	"github.com/connscope/connscope/httpflow"
	"github.com/connscope/connscope/reassembly"
)

// connSummary is what the engine keeps of a connection after it closed,
// for the capture-scope rules: 64 bytes, no segments, no headers and no
// pointers (so the collector need not scan them). Summaries are stored by
// value in chunks; the rare extras (CH1004's counts, CC1008's requests,
// CT1001's handshakes, the full values of a wide summary) sit in side
// tables the summary indexes.
//
// Most of a connection's times and frame numbers take 64 bits in general
// but 32 for nearly every connection: a capture of short connections has
// 100 000 of them, and the capture-scope rules sweep every summary several
// times, so fewer bytes are less memory those sweeps and the writes that
// fill the summaries miss the cache on. Above all they are fewer pages of
// fresh memory: in a process that reads one capture every page the heap
// grows by is a page fault (about 13 µs each on the virtual machine the
// benchmarks ran on, 3.5 ms per MB), and the collector lets the heap grow
// by about twice the live summaries. A compact summary keeps its times as
// int32 nanosecond offsets from opening (±2.1 s: a connection shorter than
// that), its first frame at opening (the first SYN is the first frame),
// its frame numbers in a uint32 and its predecessor as a distance back
// from ID. A connection for which any of them does not fit (a long
// connection, a first frame before the first SYN, a capture past frame
// 2^32) is wide: its full values
// are in the engine's wides table and every accessor reads them from
// there. Rules read these values only through the captureView's accessors
// (start, end, closeTime, closeFrame, synFrame, irtt, idleBeforeClose,
// previousID), which decode either form.
type connSummary struct {
	ID int
	// opening is when the connection was first tried: its first SYN's
	// time, else its first frame's (see the function opening). The time
	// offsets below count from it.
	opening int64
	// endOff and closeOff are the last frame's and the first FIN or
	// RST's times less opening (closeOff is 0 when the connection never
	// closed: closeFrame is 0 then). The first frame is the first SYN
	// (opening) in a compact summary.
	endOff, closeOff int32
	// irtt is the initial round trip (0 when unknown); idleBeforeClose is
	// the time from the last response's end to the first FIN or RST (-1
	// when the last request got no response).
	irtt, idleBeforeClose int32
	// synFrame is the last SYN's frame (0 when not seen) and closeFrame
	// the first FIN or RST's (0 when the connection never closed).
	synFrame, closeFrame uint32
	// previousBack is ID less the ID of the connection that used the same
	// 4-tuple before (0 when none).
	previousBack uint32
	// group indexes the engine's client address → server address and
	// port groups; clientPort completes the 4-tuple.
	group int32
	// pos is the summary's index in its group once the capture view sorted
	// the group (for rules that keep per-connection state in a slice).
	pos int32
	// extraAt is 1 + the index of the connection's entry in the engine's
	// extras (which locates its rows in the side tables), 0 when it has
	// none.
	extraAt    int32
	clientPort uint16

	Close         reassembly.CloseKind
	ClosedFirstBy reassembly.Role
	// refusal says how persistence was refused on a single-transaction
	// connection (refusalNone when it was not refused by a header or
	// framing).
	refusal refusalKind
	flags   summaryFlags
}

// summaryFlags are a summary's yes-or-no facts.
type summaryFlags uint8

const (
	summaryReusedTuple    summaryFlags = 1 << iota // reassembly saw the 4-tuple used before
	summaryHTTP                                    // the connection carried HTTP/1.x
	summaryOneTransaction                          // the connection carried exactly one transaction
	summaryAborted                                 // a RST came before any FIN (resetBeforeFIN)
	summaryWide                                    // the values are in the engine's wides, not the offsets
)

// ReusedTuple reports whether the connection reused an earlier one's
// 4-tuple.
func (s *connSummary) ReusedTuple() bool { return s.flags&summaryReusedTuple != 0 }

// HTTP reports whether the connection carried HTTP/1.x.
func (s *connSummary) HTTP() bool { return s.flags&summaryHTTP != 0 }

// oneTransaction reports whether the connection carried exactly one
// transaction (the only count the capture-scope rules read of every
// connection; CT1001 keeps its own in its side table).
func (s *connSummary) oneTransaction() bool { return s.flags&summaryOneTransaction != 0 }

// aborted reports whether the connection was reset before either side
// sent a FIN (resetBeforeFIN).
func (s *connSummary) aborted() bool { return s.flags&summaryAborted != 0 }

// resetBeforeFIN reports whether a RST ended c before either side had
// sent a FIN: an abort. Reassembly's Close is CloseRST for any RST, also
// one that came after a graceful close (late data drawing a RST after
// both FINs, or a peer that answers the other's FIN with a RST instead of
// its own FIN); those connections were closed, not aborted.
func resetBeforeFIN(c *reassembly.Connection) bool {
	if c.Close != reassembly.CloseRST {
		return false
	}
	var fin, rst uint64 // the first of each, 0 when none
	for d := range c.Dir {
		st := &c.Dir[d]
		if st.FINFrame != 0 && (fin == 0 || st.FINFrame < fin) {
			fin = st.FINFrame
		}
		if st.RSTFrame != 0 && (rst == 0 || st.RSTFrame < rst) {
			rst = st.RSTFrame
		}
	}
	return rst != 0 && (fin == 0 || rst < fin)
}

// wide reports whether the summary's times and frames are in the engine's
// wides table.
func (s *connSummary) wide() bool { return s.flags&summaryWide != 0 }

// wideSummary holds a summary's values in full: for a wide summary, and as
// what summarize computes before packing it.
type wideSummary struct {
	start, end, closeTime, irtt, idleBeforeClose int64
	synFrame, closeFrame                         uint64
	previousID                                   int
}

// summaryExtra locates a connection's rows in the side tables: each is 1 +
// the row's index, 0 when it has none.
type summaryExtra struct {
	keepAlive, retry, handshake, wide int32
}

// fitsInt32 reports whether x survives a round trip through int32.
func fitsInt32(x int64) bool { return x == int64(int32(x)) }

// pack stores w's values in s, compact when every one fits, else in the
// engine's wides table. s.ID and s.opening must be set. Offsets are
// computed and decoded with wrapping arithmetic, so a value far from
// opening whose difference wraps into range still decodes exactly.
func (e *Engine) pack(s *connSummary, w *wideSummary) {
	end := w.end - s.opening
	closeAt := int64(0) // an open connection's close time is 0
	if w.closeFrame != 0 || w.closeTime != 0 {
		closeAt = w.closeTime - s.opening
	}
	back := uint64(0)
	if w.previousID != 0 {
		back = uint64(s.ID) - uint64(w.previousID)
	}
	if !e.forceWide && w.start == s.opening && fitsInt32(end) && fitsInt32(closeAt) &&
		(w.closeFrame != 0 || w.closeTime == 0) && fitsInt32(w.irtt) && fitsInt32(w.idleBeforeClose) &&
		w.synFrame <= math.MaxUint32 && w.closeFrame <= math.MaxUint32 &&
		(w.previousID == 0 || back != 0 && back <= math.MaxUint32) {
		s.endOff, s.closeOff = int32(end), int32(closeAt)
		s.irtt, s.idleBeforeClose = int32(w.irtt), int32(w.idleBeforeClose)
		s.synFrame, s.closeFrame, s.previousBack = uint32(w.synFrame), uint32(w.closeFrame), uint32(back)
		return
	}
	s.flags |= summaryWide
	e.wides = append(e.wides, *w)
	e.extra(s).wide = int32(len(e.wides))
}

// extra returns s's entry in the engine's extras, adding one.
func (e *Engine) extra(s *connSummary) *summaryExtra {
	if s.extraAt == 0 {
		e.extras = append(e.extras, summaryExtra{})
		s.extraAt = int32(len(e.extras))
	}
	return &e.extras[s.extraAt-1]
}

// extraOf returns s's entry in the engine's extras, nil when it has none.
func (e *Engine) extraOf(s *connSummary) *summaryExtra {
	if s.extraAt == 0 {
		return nil
	}
	return &e.extras[s.extraAt-1]
}

// wideOf returns the full values of a wide summary.
func (e *Engine) wideOf(s *connSummary) *wideSummary {
	return &e.wides[e.extras[s.extraAt-1].wide-1]
}

// retryEvidence keeps the transactions CC1008 compares across connections,
// detached from the parser's buffers.
type retryEvidence struct {
	// lastUnanswered is the last transaction when it got no response and is
	// not idempotent; firstNonIdempotent is the first transaction when it is
	// not idempotent (a candidate resend of an earlier one).
	lastUnanswered, firstNonIdempotent *txnRec
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

func (e *Engine) summarize(c *reassembly.Connection, app httpflow.App, v *connView) {
	if e.summaries.n >= math.MaxInt32-1 {
		return // the capture view indexes summaries with int32s
	}
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
	txs := v.txs
	*s = connSummary{
		ID: c.ID, group: g, clientPort: c.Client.Port(),
		Close: c.Close, ClosedFirstBy: c.ClosedFirstBy,
		opening: c.Handshake.FirstSYNTime,
	}
	if len(txs) == 1 {
		s.flags |= summaryOneTransaction
	}
	if c.Close == reassembly.CloseRST && resetBeforeFIN(c) {
		s.flags |= summaryAborted
	}
	if c.ReusedTuple {
		s.flags |= summaryReusedTuple
	}
	if app == httpflow.AppHTTP1 || len(txs) > 0 {
		s.flags |= summaryHTTP
	}
	if s.opening == 0 {
		s.opening = c.Handshake.SYNTime
	}
	if s.opening == 0 {
		s.opening = c.Start
	}
	w := wideSummary{start: c.Start, end: c.End, synFrame: c.Handshake.SYNFrame, irtt: v.irtt,
		previousID: c.PreviousID, idleBeforeClose: -1}
	if c.SegmentsDropped == 0 {
		// Every segment was recorded, so the scan saw the first FIN or RST.
		w.closeFrame, w.closeTime = v.closeFrame, v.closeTime
	} else {
		w.closeFrame, w.closeTime = firstClose(c)
	}
	// CH1004 counts only connections where a message said keep-alive.
	if v.msgs.keepAliveToken {
		if ka := countKeepAlive(txs); ka.frame != 0 {
			e.keepAlives = append(e.keepAlives, ka)
			e.extra(s).keepAlive = int32(len(e.keepAlives))
		}
	}
	if e.handshakeLimits != nil {
		if hs := measureHandshake(c, txs); e.handshakeLimits.counts(&hs) {
			e.handshakes = append(e.handshakes, hs)
			e.extra(s).handshake = int32(len(e.handshakes))
		}
	}
	if n := len(txs); n > 0 {
		first, last := txs[0], txs[n-1]
		if last.Response() != nil && last.Response().End != 0 && w.closeFrame != 0 && w.closeTime >= last.Response().End {
			w.idleBeforeClose = w.closeTime - last.Response().End
		}
		if n == 1 {
			s.refusal = persistenceRefusal(first)
		}
		lastUnanswered := last.Response() == nil && last.Request() != nil && !idempotent(last.Request().Method()) && !v.missedIn(reassembly.ServerToClient)
		firstNonIdempotent := first.Request() != nil && !idempotent(first.Request().Method())
		if lastUnanswered || firstNonIdempotent {
			var r retryEvidence
			if lastUnanswered {
				r.lastUnanswered = last.detached()
			}
			if firstNonIdempotent {
				r.firstNonIdempotent = first.detached()
			}
			e.retries = append(e.retries, r)
			e.extra(s).retry = int32(len(e.retries))
		}
	}
	e.pack(s, &w)
}

// summaryStore keeps summaries by value in fixed-size chunks: appending
// never copies earlier ones, and pointers to them stay valid.
type summaryStore struct {
	chunks [][]connSummary
	n      int
}

// summaryChunk is how many summaries a chunk holds: 256 × 64 bytes is 16
// KiB (a size class of its own), small enough that the chunk the allocator
// just zeroed is still in cache when the next 256 connections fill it
// (with 1024 summaries of 144 bytes the writes missed the cache: about
// 20 ms of a 100 000 connection capture against about 8 ms with 18 KiB
// chunks, pprof).
const summaryChunk = 256

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
	// byID finds a summary by connection ID. It holds 1 + the summary's
	// index in the engine's store (summaryAt; 0 for none): at
	// byID[id-firstID] when dense (IDs are handed out in order, so a
	// capture's kept connections usually span few more IDs than there are
	// summaries), else sorted by ID and searched. Indexes take half the
	// fresh memory pointers would.
	byID    []int32
	firstID int
	dense   bool
	// groups holds each client→server group's connections by opening
	// time; keys lists the groups in a deterministic order.
	groups map[serverKey][]*connSummary
	keys   []serverKey
	// withExtra holds, per group, the summaries that have an entry in
	// the engine's extras (a side-table row: CH1004's counts, CC1008's
	// requests, CT1001's handshake, wide values), in group order: the
	// rules that need a side-table row go through these few instead of
	// sweeping the whole group.
	withExtra map[serverKey][]*connSummary
	// scratch holds int64 buffers the sweeps of CT1012 and CH1009 reuse
	// from one group and one rule to the next (scratchBuf): 0 for their
	// end times, 1 for CT1012's start times (when they are not the
	// openings), 2 for radixSortTimes.
	scratch [3][]int64
	e       *Engine
}

// scratchBuf returns the i-th int64 buffer of the capture view with
// length n, reused: valid until the next call with the same i. Each is
// about 0.8 MB for a group of 100 000 connections, fresh memory the first
// time (about 200 page faults), so the rules use as few as they can.
func (v *captureView) scratchBuf(i, n int) []int64 {
	if cap(v.scratch[i]) < n {
		v.scratch[i] = make([]int64, n)
	}
	v.scratch[i] = v.scratch[i][:n]
	return v.scratch[i]
}

// sortAnyTimes sorts times that need not be nearly in order, with
// radixSortTimes: xs must not be a buffer scratchBuf(2, ...) returned.
func (v *captureView) sortAnyTimes(xs []int64) {
	radixSortTimes(xs, v.scratchBuf(2, len(xs)))
}

// denseIDFactor bounds the ID table: it is used when the IDs span at most
// this many times as many IDs as there are summaries.
const denseIDFactor = 4

func newCaptureView(e *Engine) *captureView {
	v := &captureView{groups: make(map[serverKey][]*connSummary, len(e.groupKeys)),
		withExtra: make(map[serverKey][]*connSummary), e: e}
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
		v.byID = make([]int32, maxID-minID+1)
	} else {
		v.byID = make([]int32, 0, n)
	}
	at = 0
	var shadowed []int32 // summaries of an ID given again to a later connection (an Engine fed the same one twice)
	for _, chunk := range e.summaries.chunks {
		for i := range chunk {
			at++ // 1 + the index of chunk[i]
			if v.dense {
				slot := &v.byID[chunk[i].ID-minID]
				if *slot != 0 {
					shadowed = append(shadowed, *slot) // find returns the later one
				}
				*slot = int32(at)
			} else {
				v.byID = append(v.byID, int32(at))
			}
		}
	}
	if !v.dense {
		sortNearlySorted(v.byID, func(a, b int32) int { return cmp.Compare(e.summaryAt(a).ID, e.summaryAt(b).ID) })
	}
	// The groups are filled in ID order: reassembly numbers connections
	// by their first frame, so that is about the order they opened, while
	// the order they closed (the summaries' order) is not: on a capture of
	// short connections two thirds of them close out of opening order,
	// and sorting those cost more than the rest of this function.
	for _, ats := range [...][]int32{v.byID, shadowed} {
		for _, at := range ats {
			if at != 0 {
				s := e.summaryAt(at)
				groups[s.group] = append(groups[s.group], s)
			}
		}
	}
	v.keys = slices.Clone(e.groupKeys)
	extras := make([]*connSummary, 0, len(e.extras)) // every group's withExtra, one after the other
	for gi, k := range e.groupKeys {
		g := groups[gi]
		// In ID order the groups are nearly sorted by opening already.
		sortByOpening(g)
		from := len(extras)
		for i, s := range g {
			s.pos = int32(i)
			if s.extraAt != 0 {
				extras = append(extras, s)
			}
		}
		v.groups[k] = g
		if len(extras) > from {
			v.withExtra[k] = extras[from:len(extras):len(extras)]
		}
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

// sortByOpening sorts g by compareOpening. The capture view hands it
// summaries in ID order, which is about the order they opened, but not
// always nearly enough for an insertion sort (a connection whose first
// frames were not a SYN, a SYN retransmitted long after). So it keeps, in place, the run of summaries each opened after the last one
// kept (sorted by construction), sets the others aside (few, unless the
// order is far from sorted), sorts those, and merges the two: linear when
// few are out of place, n log n at worst.
func sortByOpening(g []*connSummary) {
	if len(g) < 2 {
		return
	}
	// Grown by append: in ID order few summaries go aside (when groups
	// came in closing order, two thirds did, and a buffer the size of
	// the group paid).
	var aside []*connSummary
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
		if i := id - v.firstID; i >= 0 && i < len(v.byID) && v.byID[i] != 0 {
			return v.e.summaryAt(v.byID[i])
		}
		return nil
	}
	i := sort.Search(len(v.byID), func(i int) bool { return v.e.summaryAt(v.byID[i]).ID >= id })
	if i < len(v.byID) && v.e.summaryAt(v.byID[i]).ID == id {
		return v.e.summaryAt(v.byID[i])
	}
	return nil
}

// summaryAt returns the summary whose index in the store is at-1.
func (e *Engine) summaryAt(at int32) *connSummary {
	i := int(at) - 1
	return &e.summaries.chunks[i/summaryChunk][i%summaryChunk]
}

// keepAlive returns CH1004's counts for s, nil when none of its messages
// said Connection: keep-alive on HTTP/1.1.
func (v *captureView) keepAlive(s *connSummary) *keepAliveCounts {
	if x := v.e.extraOf(s); x != nil && x.keepAlive != 0 {
		return &v.e.keepAlives[x.keepAlive-1]
	}
	return nil
}

// retry returns CC1008's evidence for s, nil when it has none.
func (v *captureView) retry(s *connSummary) *retryEvidence {
	if x := v.e.extraOf(s); x != nil && x.retry != 0 {
		return &v.e.retries[x.retry-1]
	}
	return nil
}

// handshake returns CT1001's measure of s's handshake, nil unless CT1001
// counts the connection (handshakeLimits.counts).
func (v *captureView) handshake(s *connSummary) *handshakeShare {
	if x := v.e.extraOf(s); x != nil && x.handshake != 0 {
		return &v.e.handshakes[x.handshake-1]
	}
	return nil
}

// The accessors of a summary's times and frames (see connSummary).

// start returns the connection's first frame's time.
func (v *captureView) start(s *connSummary) int64 {
	if s.wide() {
		return v.e.wideOf(s).start
	}
	return s.opening
}

// end returns the connection's last frame's time.
func (v *captureView) end(s *connSummary) int64 {
	if s.wide() {
		return v.e.wideOf(s).end
	}
	return s.opening + int64(s.endOff)
}

// closeTime returns the time of the connection's first FIN or RST (0 when
// it never closed).
func (v *captureView) closeTime(s *connSummary) int64 {
	if s.wide() {
		return v.e.wideOf(s).closeTime
	}
	if s.closeFrame == 0 {
		return 0
	}
	return s.opening + int64(s.closeOff)
}

// closeFrame returns the frame of the connection's first FIN or RST (0
// when it never closed).
func (v *captureView) closeFrame(s *connSummary) uint64 {
	if s.wide() {
		return v.e.wideOf(s).closeFrame
	}
	return uint64(s.closeFrame)
}

// synFrame returns the frame of the connection's last SYN (0 when not
// seen).
func (v *captureView) synFrame(s *connSummary) uint64 {
	if s.wide() {
		return v.e.wideOf(s).synFrame
	}
	return uint64(s.synFrame)
}

// irtt returns the connection's initial round trip (0 when unknown).
func (v *captureView) irtt(s *connSummary) int64 {
	if s.wide() {
		return v.e.wideOf(s).irtt
	}
	return int64(s.irtt)
}

// idleBeforeClose returns the time from the last response's end to the
// first FIN or RST (-1 when the last request got no response).
func (v *captureView) idleBeforeClose(s *connSummary) int64 {
	if s.wide() {
		return v.e.wideOf(s).idleBeforeClose
	}
	return int64(s.idleBeforeClose)
}

// previousID returns the ID of the connection that used s's 4-tuple
// before (0 when none).
func (v *captureView) previousID(s *connSummary) int {
	if s.wide() {
		return v.e.wideOf(s).previousID
	}
	if s.previousBack == 0 {
		return 0
	}
	return int(uint64(s.ID) - uint64(s.previousBack))
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

// radixSortTimes sorts xs in ascending order, using buf (at least as long
// as xs) as scratch: a least-significant-digit radix sort by bytes, which
// skips the bytes all the times share (the high bytes of nanosecond times
// less than a few hours apart). For 100 000 times spread over a minute it
// is 5 linear passes, about a third of slices.Sort's time; it does not
// care how far from sorted they are.
func radixSortTimes(xs, buf []int64) {
	const flip = -1 << 63 // the sign bit: xor with it orders int64s as uint64s
	if len(xs) < 2 {
		return
	}
	var counts [8][256]int
	for _, x := range xs {
		// Unrolled: as a loop over d this took four times the
		// instructions, most of the sort's.
		u := uint64(x ^ flip)
		counts[0][byte(u)]++
		counts[1][byte(u>>8)]++
		counts[2][byte(u>>16)]++
		counts[3][byte(u>>24)]++
		counts[4][byte(u>>32)]++
		counts[5][byte(u>>40)]++
		counts[6][byte(u>>48)]++
		counts[7][byte(u>>56)]++
	}
	src, dst := xs, buf[:len(xs)]
	for d := range counts {
		c := &counts[d]
		if c[byte(uint64(src[0]^flip)>>(8*d))] == len(xs) {
			continue // every time has this byte: the order stands
		}
		at := 0
		for b := range c {
			c[b], at = at, at+c[b]
		}
		for _, x := range src {
			b := byte(uint64(x^flip) >> (8 * d))
			dst[c[b]] = x
			c[b]++
		}
		src, dst = dst, src
	}
	if &src[0] != &xs[0] {
		copy(xs, src)
	}
}

// peakOverlap sweeps intervals given as their sorted starts and sorted
// ends, and returns the most open at once and the first time that many
// were. At an instant where one interval ends and another starts, the end
// counts first when endsFirst is set (the two never overlapped), else the
// start does (they touched). It allocates nothing and is linear.
func peakOverlap(starts, ends []int64, endsFirst bool) (peak int, at int64) {
	open, j := 0, 0
	for _, start := range starts {
		for j < len(ends) && (ends[j] < start || endsFirst && ends[j] == start) {
			open--
			j++
		}
		open++
		if open > peak {
			peak, at = open, start
		}
	}
	return peak, at
}

// peakOverlapOpenings is peakOverlap with the starts at the openings of g
// (sorted by opening): a capture-scope rule whose intervals start there
// needs no array of them. The same loop, written out again: taking the
// start through a function value (one generic loop for both) cost an
// indirect call per start and per end, about 150 instructions per
// connection on a capture of short ones.
func peakOverlapOpenings(g []*connSummary, ends []int64, endsFirst bool) (peak int, at int64) {
	open, j := 0, 0
	for _, s := range g {
		start := opening(s)
		for j < len(ends) && (ends[j] < start || endsFirst && ends[j] == start) {
			open--
			j++
		}
		open++
		if open > peak {
			peak, at = open, start
		}
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
