package diagnose

import (
	"math"
	"math/rand/v2"
	"net/netip"
	"reflect"
	"slices"
	"testing"

	"github.com/connscope/connscope/httpflow"
	"github.com/connscope/connscope/reassembly"
)

// TestSummaryPackEdges packs summaries whose values sit at the edges of
// the compact form (offsets of ±2^31 ns from opening, frames at 2^32,
// predecessors 2^32 IDs back) and just past them, and far from opening:
// each must come back exactly through the captureView's accessors, compact
// when every value fits and wide when one does not.
func TestSummaryPackEdges(t *testing.T) {
	const o = int64(1_700_000_000_000_000_000) // a capture time: opening
	const id = 5_000_000_000                   // past 2^32: IDs are not packed
	ok := wideSummary{start: o, end: o + 3e6, closeTime: o + 2e6, closeFrame: 9, synFrame: 1,
		irtt: 1e5, idleBeforeClose: 1e6, previousID: id - 7}
	with := func(change func(w *wideSummary)) wideSummary {
		w := ok
		change(&w)
		return w
	}
	for _, tc := range []struct {
		desc    string
		opening int64
		w       wideSummary
		wide    bool
	}{
		{"a short connection", o, ok, false},
		{"end 2^31-1 ns after opening", o, with(func(w *wideSummary) { w.end = o + math.MaxInt32 }), false},
		{"end 2^31 ns after opening", o, with(func(w *wideSummary) { w.end = o + math.MaxInt32 + 1 }), true},
		{"first frame 1 ns before the first SYN", o, with(func(w *wideSummary) { w.start = o - 1 }), true},
		{"first frame 1 ns after the first SYN", o, with(func(w *wideSummary) { w.start = o + 1 }), true},
		{"close 2^31-1 ns after opening", o, with(func(w *wideSummary) { w.closeTime = o + math.MaxInt32 }), false},
		{"close 2^31 ns after opening", o, with(func(w *wideSummary) { w.closeTime = o + math.MaxInt32 + 1 }), true},
		{"never closed", o, with(func(w *wideSummary) { w.closeFrame, w.closeTime = 0, 0 }), false},
		{"a close time without a frame", o, with(func(w *wideSummary) { w.closeFrame = 0 }), true},
		{"a close at opening", o, with(func(w *wideSummary) { w.closeTime = o }), false},
		{"SYN frame 2^32-1", o, with(func(w *wideSummary) { w.synFrame = math.MaxUint32 }), false},
		{"SYN frame 2^32", o, with(func(w *wideSummary) { w.synFrame = math.MaxUint32 + 1 }), true},
		{"close frame 2^32", o, with(func(w *wideSummary) { w.closeFrame = math.MaxUint32 + 1 }), true},
		{"irtt 2^31-1 ns", o, with(func(w *wideSummary) { w.irtt = math.MaxInt32 }), false},
		{"irtt 2^31 ns", o, with(func(w *wideSummary) { w.irtt = math.MaxInt32 + 1 }), true},
		{"no response: idle -1", o, with(func(w *wideSummary) { w.idleBeforeClose = -1 }), false},
		{"idle 2^31 ns", o, with(func(w *wideSummary) { w.idleBeforeClose = math.MaxInt32 + 1 }), true},
		{"no predecessor", o, with(func(w *wideSummary) { w.previousID = 0 }), false},
		{"predecessor 2^32-1 IDs back", o, with(func(w *wideSummary) { w.previousID = id - math.MaxUint32 }), false},
		{"predecessor 2^32 IDs back", o, with(func(w *wideSummary) { w.previousID = id - math.MaxUint32 - 1 }), true},
		{"predecessor with its own ID", o, with(func(w *wideSummary) { w.previousID = id }), true},
		{"predecessor with a later ID", o, with(func(w *wideSummary) { w.previousID = id + 1 }), true},
		{"opening at 0, times far from it", 0, ok, true},
		{"times at 0 (a capture from 1970)", 0, wideSummary{idleBeforeClose: -1}, false},
		{"offsets that wrap around int64", math.MaxInt64 - 5, with(func(w *wideSummary) {
			w.start, w.end, w.closeTime = math.MaxInt64-5, math.MinInt64+100, math.MinInt64+50
		}), false},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			e := &Engine{}
			// A summary among others, so indexes into the side tables are
			// not all zero.
			e.wides = append(e.wides, wideSummary{end: 1})
			e.extras = append(e.extras, summaryExtra{wide: 1})
			s := &connSummary{ID: id, opening: tc.opening}
			w := tc.w
			e.pack(s, &w)
			if s.wide() != tc.wide {
				t.Errorf("wide = %v, want %v", s.wide(), tc.wide)
			}
			checkSummaryValues(t, &captureView{e: e}, s, tc.w)
		})
	}
}

// checkSummaryValues compares every accessor of s with want.
func checkSummaryValues(t *testing.T, v *captureView, s *connSummary, want wideSummary) {
	t.Helper()
	got := wideSummary{
		start: v.start(s), end: v.end(s), closeTime: v.closeTime(s), irtt: v.irtt(s),
		idleBeforeClose: v.idleBeforeClose(s), synFrame: v.synFrame(s), closeFrame: v.closeFrame(s),
		previousID: v.previousID(s),
	}
	if got != want {
		t.Errorf("accessors give %+v, want %+v", got, want)
	}
	if u := v.e.unpack(s); u != want {
		t.Errorf("unpack gives %+v, want %+v", u, want)
	}
}

// unpack returns s's values in full, whichever way they are kept: a
// decoding of its own, written apart from the captureView's accessors,
// that checkSummaryValues holds them to.
func (e *Engine) unpack(s *connSummary) wideSummary {
	if s.wide() {
		return *e.wideOf(s)
	}
	w := wideSummary{
		start: s.opening, end: s.opening + int64(s.endOff),
		irtt: int64(s.irtt), idleBeforeClose: int64(s.idleBeforeClose),
		synFrame: uint64(s.synFrame), closeFrame: uint64(s.closeFrame),
	}
	if s.closeFrame != 0 {
		w.closeTime = s.opening + int64(s.closeOff)
	}
	if s.previousBack != 0 {
		w.previousID = int(uint64(s.ID) - uint64(s.previousBack))
	}
	return w
}

// TestSummaryPackRandom packs random values near and far from the edges
// of the compact form and reads them back.
func TestSummaryPackRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	near := func(edge int64) int64 { return edge + r.Int64N(7) - 3 }
	pick := func() int64 {
		switch r.IntN(4) {
		case 0:
			return near(math.MaxInt32)
		case 1:
			return near(math.MinInt32)
		case 2:
			return r.Int64()
		}
		return r.Int64N(1e9)
	}
	e := &Engine{}
	v := &captureView{e: e}
	forms := [2]int{}
	for range 20000 {
		o := r.Int64N(2e18)
		s := &connSummary{ID: int(r.Int64N(1e10)) + 1, opening: o}
		w := wideSummary{start: o, end: o + pick(), closeTime: o + pick(), irtt: pick(),
			idleBeforeClose: pick(), synFrame: uint64(near(math.MaxUint32)), closeFrame: uint64(r.Int64N(1 << 33)),
			previousID: s.ID - int(near(math.MaxUint32))}
		if r.IntN(3) == 0 {
			w.closeFrame, w.closeTime = 0, 0
		}
		if r.IntN(3) == 0 {
			w.previousID = 0
		}
		if r.IntN(4) == 0 {
			w.start += pick() // a first frame that is not the first SYN
		}
		want := w
		e.pack(s, &w)
		if s.wide() {
			forms[1]++
		} else {
			forms[0]++
		}
		checkSummaryValues(t, v, s, want)
		if t.Failed() {
			t.Fatalf("opening %d, ID %d", o, s.ID)
		}
	}
	if forms[0] == 0 || forms[1] == 0 {
		t.Fatalf("%d compact and %d wide summaries: the test needs both", forms[0], forms[1])
	}
}

// TestWideSummariesChangeNoFinding runs random connections (times spread
// over decades, so many summaries are wide; half of them squeezed within a
// second of their first SYN, so many are compact) through an engine that
// keeps every summary wide and one that packs them: the findings must be
// the same.
func TestWideSummariesChangeNoFinding(t *testing.T) {
	iterations := 1000
	if testing.Short() {
		iterations = 200
	}
	forms := [2]int{}
	for seed := range iterations {
		var got [2][]Finding
		for i, forceWide := range []bool{true, false} {
			r := rand.New(rand.NewPCG(uint64(seed), 13))
			e, err := NewEngine(Config{})
			if err != nil {
				t.Fatal(err)
			}
			e.forceWide = forceWide
			for id := 1; id <= 1+r.IntN(8); id++ {
				ci := randomConn(r, id)
				if r.IntN(2) == 0 {
					squeezeTimes(ci)
				}
				e.Connection(ci)
			}
			if !forceWide {
				compact, wide := SummaryForms(e)
				forms[0], forms[1] = forms[0]+compact, forms[1]+wide
			}
			got[i] = e.Finish()
		}
		if !reflect.DeepEqual(got[0], got[1]) {
			t.Fatalf("seed %d: every summary wide:\n%+v\npacked:\n%+v", seed, got[0], got[1])
		}
	}
	if forms[0] == 0 || forms[1] == 0 {
		t.Fatalf("%d compact and %d wide summaries: the test needs both", forms[0], forms[1])
	}
}

// TestTupleHoldsMatchesThreeSweeps holds CT1012's one-sweep hold ends to
// the three sweeps it replaced (ends, then every successor applied in
// group order, then starts), on random groups whose successors come
// before and after their predecessors, name themselves, another group's
// connection or no summary at all, and open before 0.
func TestTupleHoldsMatchesThreeSweeps(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	const tw = int64(60e9)
	later, startsAtOpenings, startsElsewhere := 0, 0, 0
	for trial := range 500 {
		e := &Engine{}
		n := 1 + r.IntN(60)
		for i := range n {
			s := e.summaries.next()
			*s = connSummary{ID: i + 1, group: int32(r.IntN(2)), opening: r.Int64N(200) - 20}
			if r.IntN(3) > 0 {
				s.flags |= summaryReusedTuple
			}
			if r.IntN(2) == 0 {
				s.Close = reassembly.CloseFIN
			}
			w := wideSummary{start: s.opening, end: s.opening + r.Int64N(300), previousID: r.IntN(n + 3)}
			if trial%2 == 0 && r.IntN(20) == 0 {
				w.start -= 1 + r.Int64N(3) // a first frame before the first SYN
			}
			if r.IntN(10) == 0 {
				w.end += 1 << 40 // a wide one now and then
			}
			e.pack(s, &w)
		}
		// Groups as summarize would have counted them.
		e.groupKeys = []serverKey{{}, {server: netip.MustParseAddrPort("10.0.0.2:80")}}
		e.groupSizes = make([]int32, 2)
		for _, c := range e.summaries.chunks {
			for i := range c {
				e.groupSizes[c[i].group]++
			}
		}
		e.minID, e.maxID = 1, n
		v := newCaptureView(e)
		for _, k := range v.keys {
			g := v.groups[k]
			want := make([]int64, len(g))
			for i, s := range g {
				want[i] = v.end(s)
				if s.Close == reassembly.CloseFIN {
					want[i] += tw
				}
			}
			for i, s := range g {
				if !s.ReusedTuple() {
					continue
				}
				if prev := v.find(v.previousID(s)); prev != nil && prev.group == s.group {
					if int(prev.pos) > i {
						later++
					}
					if opening(s) < want[prev.pos] {
						want[prev.pos] = max(opening(s), 0)
					}
				}
			}
			holdEnd := v.scratchBuf(0, len(g))
			starts := v.tupleHolds(g, tw, holdEnd)
			if !slices.Equal(holdEnd, want) {
				t.Fatalf("trial %d: hold ends\n%v, want\n%v", trial, holdEnd, want)
			}
			allOpenings := true
			for i, s := range g {
				allOpenings = allOpenings && v.start(s) == opening(s)
				if starts != nil && starts[i] != v.start(s) {
					t.Fatalf("trial %d: starts[%d] = %d, want %d", trial, i, starts[i], v.start(s))
				}
			}
			if (starts == nil) != allOpenings {
				t.Fatalf("trial %d: starts returned: %v, every first frame at the opening: %v", trial, starts != nil, allOpenings)
			}
			if starts == nil {
				startsAtOpenings++
			} else {
				startsElsewhere++
			}
		}
	}
	if later == 0 {
		t.Fatal("no successor came before its predecessor: the deferred path went untested")
	}
	if startsAtOpenings == 0 || startsElsewhere == 0 {
		t.Fatalf("%d groups with every first frame at the opening, %d with one elsewhere: the test needs both", startsAtOpenings, startsElsewhere)
	}
}

// squeezeTimes moves every time of a random connection to within a second
// of its first SYN, and its first frame to that SYN, so that its summary
// can be compact (unless its frames or predecessor do not fit).
func squeezeTimes(ci *ConnInfo) {
	c := ci.Conn
	t0 := c.Handshake.FirstSYNTime
	squeeze := func(t *int64) {
		if *t != 0 {
			*t = t0 + (*t-t0)%1e9
		}
	}
	c.Start = t0
	squeeze(&c.End)
	h := &c.Handshake
	for _, t := range []*int64{&h.SYNTime, &h.SYNACKTime, &h.ACKTime} {
		squeeze(t)
	}
	for d := range c.Dir {
		squeeze(&c.Dir[d].FINTime)
		squeeze(&c.Dir[d].RSTTime)
	}
	for i := range c.Segments {
		squeeze(&c.Segments[i].Time)
	}
	for _, t := range ci.Transactions {
		for _, m := range append([]*httpflow.Message{t.Request, t.Response}, t.Interim...) {
			if m != nil {
				squeeze(&m.Start)
				squeeze(&m.End)
			}
		}
	}
}

// TestCaptureViewFindsAndGroups builds capture views over summaries whose
// IDs are dense (a capture of answered connections) and sparse (IDs of
// unanswered SYNs in between, which keep no summary), stored in an order
// unlike ID order: find must return each summary by its ID and nothing for
// the others, and every group must hold its summaries once, sorted by
// opening.
func TestCaptureViewFindsAndGroups(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 22))
	for trial := range 200 {
		n := 1 + r.IntN(600) // more than one chunk now and then
		gap := []int{1, 1, 2, 50}[trial%4]
		ids := make([]int, n)
		for i := range ids {
			ids[i] = 1000 + i*gap
		}
		// Stored in about closing order: ID order shuffled locally.
		for i := range ids {
			if j := i + r.IntN(8); j < n {
				ids[i], ids[j] = ids[j], ids[i]
			}
		}
		e := &Engine{groupKeys: []serverKey{{}, {server: netip.MustParseAddrPort("10.0.0.2:80")}}, groupSizes: make([]int32, 2)}
		for i, id := range ids {
			s := e.summaries.next()
			*s = connSummary{ID: id, group: int32(r.IntN(2)), opening: int64(id) + r.Int64N(5)}
			e.groupSizes[s.group]++
			if i == 0 || id < e.minID {
				e.minID = id
			}
			if i == 0 || id > e.maxID {
				e.maxID = id
			}
		}
		if trial%5 == 0 {
			// The same connection fed twice: both summaries are kept in
			// the groups (find returns one of them, the later when
			// dense).
			s := e.summaries.next()
			*s = *e.summaryAt(1)
			s.opening++
			e.groupSizes[s.group]++
			n++
			ids = append(ids, s.ID)
		}
		v := newCaptureView(e)
		if trial%5 == 0 {
			if s := v.find(ids[0]); v.dense && s != e.summaryAt(int32(n)) {
				t.Fatalf("trial %d (dense %v): find(%d) returned the earlier of two summaries with that ID", trial, v.dense, ids[0])
			}
			n-- // the span of IDs is as before
		}
		if v.dense != ((n-1)*gap < denseIDFactor*n) {
			t.Fatalf("trial %d: IDs every %d: dense = %v", trial, gap, v.dense)
		}
		for _, id := range ids {
			if s := v.find(id); s == nil || s.ID != id {
				t.Fatalf("trial %d (dense %v): find(%d) = %v", trial, v.dense, id, s)
			}
			if gap > 1 && v.find(id+1) != nil {
				t.Fatalf("trial %d (dense %v): find(%d) found a summary no connection has", trial, v.dense, id+1)
			}
		}
		for _, id := range []int{0, 999, 1000 + n*gap, -5} {
			if v.find(id) != nil {
				t.Fatalf("trial %d (dense %v): find(%d) found a summary no connection has", trial, v.dense, id)
			}
		}
		seen := 0
		for _, k := range v.keys {
			g := v.groups[k]
			seen += len(g)
			if !slices.IsSortedFunc(g, compareOpening) {
				t.Fatalf("trial %d: a group is not sorted by opening", trial)
			}
			for i, s := range g {
				if int(s.pos) != i {
					t.Fatalf("trial %d: summary %d at %d says pos %d", trial, s.ID, i, s.pos)
				}
			}
		}
		if want := e.summaries.n; seen != want {
			t.Fatalf("trial %d (dense %v): the groups hold %d summaries, want %d", trial, v.dense, seen, want)
		}
	}
}
