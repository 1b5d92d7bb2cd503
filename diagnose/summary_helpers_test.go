package diagnose

import (
	"cmp"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"sort"
	"testing"
)

// The capture-scope rules' helpers are checked against the plain way of
// computing the same thing (sort everything, then scan) on random input.

func TestNearlySortedSortsMatchSort(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := range 300 {
		n := rng.IntN(200)
		xs := make([]int, n)
		for i := range xs {
			xs[i] = i
		}
		// Nearly sorted for the first trials (local swaps), shuffled for
		// the rest, so both the insertion path and the fallback run.
		if trial < 150 {
			for range rng.IntN(n + 1) {
				if n > 1 {
					i := rng.IntN(n - 1)
					xs[i], xs[i+1] = xs[i+1], xs[i]
				}
			}
		} else {
			rng.Shuffle(n, func(i, j int) { xs[i], xs[j] = xs[j], xs[i] })
		}
		want := slices.Sorted(slices.Values(xs))
		times := make([]int64, n)
		for i, x := range xs {
			times[i] = int64(x)
		}
		sortNearlySorted(xs, cmp.Compare[int])
		if !slices.Equal(xs, want) {
			t.Fatalf("trial %d: got %v, want %v", trial, xs, want)
		}
		sortTimes(times)
		for i := range times {
			if times[i] != int64(want[i]) {
				t.Fatalf("trial %d: sortTimes gave %v, want %v", trial, times, want)
			}
		}
	}
}

// naivePeak is how the parallelism and port rules swept before
// peakOverlap: one event per start (+1) and end (-1), sorted by time with
// the tie order given, then counted.
func naivePeak(starts, ends []int64, endsFirst bool) (int, int64) {
	type event struct {
		at    int64
		delta int
	}
	var events []event
	for _, s := range starts {
		events = append(events, event{s, +1})
	}
	for _, e := range ends {
		events = append(events, event{e, -1})
	}
	slices.SortFunc(events, func(a, b event) int {
		if endsFirst {
			return cmp.Or(cmp.Compare(a.at, b.at), cmp.Compare(a.delta, b.delta))
		}
		return cmp.Or(cmp.Compare(a.at, b.at), -cmp.Compare(a.delta, b.delta))
	})
	open, peak, at := 0, 0, int64(0)
	for _, e := range events {
		open += e.delta
		if open > peak {
			peak, at = open, e.at
		}
	}
	return peak, at
}

func TestPeakOverlapMatchesEventSweep(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for trial := range 2000 {
		n := rng.IntN(30)
		starts, ends := make([]int64, n), make([]int64, n)
		for i := range starts {
			// Few distinct times, so ties between starts and ends are
			// common; an end may even come before its start.
			starts[i] = rng.Int64N(20)
			ends[i] = starts[i] + rng.Int64N(10) - 2
		}
		slices.Sort(starts)
		slices.Sort(ends)
		g := make([]*connSummary, n) // the same starts as a group's openings
		for i := range g {
			g[i] = &connSummary{ID: i + 1, opening: starts[i]}
		}
		for _, endsFirst := range []bool{false, true} {
			gotPeak, gotAt := peakOverlap(starts, ends, endsFirst)
			wantPeak, wantAt := naivePeak(starts, ends, endsFirst)
			if gotPeak != wantPeak || gotAt != wantAt {
				t.Fatalf("trial %d endsFirst=%v: starts %v ends %v: got peak %d at %d, want %d at %d",
					trial, endsFirst, starts, ends, gotPeak, gotAt, wantPeak, wantAt)
			}
			if p, at := peakOverlapOpenings(g, ends, endsFirst); p != wantPeak || at != wantAt {
				t.Fatalf("trial %d endsFirst=%v: openings %v ends %v: got peak %d at %d, want %d at %d",
					trial, endsFirst, starts, ends, p, at, wantPeak, wantAt)
			}
		}
	}
}

func TestSmallestIntsMatchesSortCompactCut(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for trial := range 500 {
		limit := rng.IntN(12)
		var all []int
		s := smallestInts{max: limit}
		for range rng.IntN(60) {
			x := rng.IntN(40)
			all = append(all, x)
			s.add(x)
		}
		slices.Sort(all)
		all = slices.Compact(all)
		want := all[:min(len(all), limit)]
		if !slices.Equal(s.xs, want) {
			t.Fatalf("trial %d (max %d): got %v, want %v", trial, limit, s.xs, want)
		}
	}
}

// TestSummaryHoldsNoPointers keeps connSummary pointer-free: the engine
// keeps one per connection until Finish (100 000 on a capture of short
// connections), and chunks without pointers are never scanned by the
// garbage collector. Anything with a pointer goes in a side table.
func TestSummaryHoldsNoPointers(t *testing.T) {
	var walk func(reflect.Type, string)
	walk = func(typ reflect.Type, path string) {
		switch typ.Kind() {
		case reflect.Pointer, reflect.String, reflect.Slice, reflect.Map, reflect.Interface, reflect.Func, reflect.Chan, reflect.UnsafePointer:
			t.Errorf("connSummary%s is a %s", path, typ.Kind())
		case reflect.Struct:
			for i := range typ.NumField() {
				walk(typ.Field(i).Type, path+"."+typ.Field(i).Name)
			}
		case reflect.Array:
			walk(typ.Elem(), path+"[]")
		}
	}
	walk(reflect.TypeFor[connSummary](), "")
	if size := reflect.TypeFor[connSummary]().Size(); size > 64 {
		t.Errorf("connSummary takes %d bytes, more than the 64 its documentation promises", size)
	}
}

func TestFirstOpenedFromMatchesSearch(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for trial := range 2000 {
		g := make([]*connSummary, rng.IntN(40))
		at := int64(0)
		for i := range g {
			at += rng.Int64N(3) // repeated opening times too
			g[i] = &connSummary{ID: i + 1, opening: at}
		}
		target := rng.Int64N(at+3) - 1
		hint := rng.IntN(len(g)+3) - 1 // out of range sometimes
		want := sort.Search(len(g), func(i int) bool { return opening(g[i]) >= target })
		if got := firstOpenedFrom(g, target, hint); got != want {
			t.Fatalf("trial %d: openings %v, t=%d, hint %d: got %d, want %d", trial, openings(g), target, hint, got, want)
		}
	}
}

func openings(g []*connSummary) []int64 {
	out := make([]int64, len(g))
	for i, s := range g {
		out[i] = opening(s)
	}
	return out
}

// TestSortByOpeningMatchesSortFunc holds the capture view's group sort to
// slices.SortFunc with compareOpening, on nearly sorted groups, shuffled
// ones and ones with equal opening times.
func TestSortByOpeningMatchesSortFunc(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for trial := range 300 {
		n := rng.IntN(200)
		g := make([]*connSummary, n)
		for i := range g {
			s := &connSummary{ID: i + 1, opening: int64(i)*10 + rng.Int64N(40)}
			if rng.IntN(2) == 0 {
				s.opening -= rng.Int64N(5)
			}
			if trial%3 == 0 {
				s.opening = rng.Int64N(20)
			}
			g[i] = s
		}
		if trial%5 == 0 {
			rng.Shuffle(n, func(i, j int) { g[i], g[j] = g[j], g[i] })
		}
		if trial%7 == 1 && n > 0 {
			// A long connection: opened early, closed (and listed) last.
			i := rng.IntN(n)
			long := g[i]
			g = append(slices.Delete(g, i, i+1), long)
		}
		want := slices.Clone(g)
		slices.SortFunc(want, compareOpening)
		sortByOpening(g)
		if !slices.Equal(g, want) {
			t.Fatalf("trial %d: sortByOpening differs from slices.SortFunc", trial)
		}
	}
}

// TestRadixSortTimesMatchesSort holds radixSortTimes to slices.Sort on
// times of every spread: all equal, a few nanoseconds apart, a minute of
// nanosecond times since the epoch, negative ones, the int64 extremes,
// and with an odd and an even number of bytes that differ (the result
// then ends in the buffer or in xs).
func TestRadixSortTimesMatchesSort(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	spreads := []int64{0, 3, 255, 256, 1 << 16, 60e9, 1 << 40, math.MaxInt64}
	for trial := range 400 {
		n := rng.IntN(300)
		spread := spreads[trial%len(spreads)]
		base := []int64{1_700_000_000_000_000_000, 0, -5e9, math.MinInt64}[rng.IntN(4)]
		xs := make([]int64, n)
		for i := range xs {
			if spread > 0 {
				xs[i] = base + rng.Int64N(spread)
			} else {
				xs[i] = base
			}
			if rng.IntN(50) == 0 {
				xs[i] = []int64{math.MinInt64, math.MaxInt64, -1, 0}[rng.IntN(4)]
			}
		}
		want := slices.Sorted(slices.Values(xs))
		buf := make([]int64, n+rng.IntN(3))
		radixSortTimes(xs, buf)
		if !slices.Equal(xs, want) {
			t.Fatalf("trial %d (spread %d, base %d): got %v, want %v", trial, spread, base, xs, want)
		}
	}
}

func TestListOrdinals(t *testing.T) {
	for _, tc := range []struct {
		xs   []int
		n    int
		want string
	}{
		{[]int{4}, 20, "4th"},
		{[]int{2, 3}, 20, "2nd and 3rd"},
		{[]int{1, 2, 3}, 20, "1st, 2nd and 3rd"},
		{[]int{1, 2, 3, 4}, 2, "1st, 2nd and 2 more"},
	} {
		if got := listOrdinals(tc.xs, tc.n); got != tc.want {
			t.Errorf("listOrdinals(%v, %d) = %q, want %q", tc.xs, tc.n, got, tc.want)
		}
	}
}
