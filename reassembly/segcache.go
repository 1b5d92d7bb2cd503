package reassembly

import "unsafe"

// segmentCache keeps SegmentRecord arrays for later connections, with
// Config.RecycleSegments: the array of a connection the handler has
// closed, and each array a connection outgrew. A connection whose array
// is full takes the next size up from here, and allocates it only when the
// cache has none of that size.
//
// The sizes follow one sequence from a connection's initialSegments, as
// append's would: doubling up to 256 records, then a quarter more each
// time (so an array is at most a quarter larger than it needs to be, and
// 40-byte records cost at most 50 bytes each), capped at the connection's
// MaxSegmentsPerConn. Every connection that grows passes through the same
// sizes, so an array given back fits the next connection that reaches its
// size exactly. An outgrown array is kept only once the cache has served
// a connection: a capture of one long connection (or of many growing side
// by side, none closing) would only fill it with arrays nobody takes. The
// cache holds at most segmentCacheBytes; an array that does not fit is
// left to the collector. The records are not cleared: nothing reads an
// array beyond its length, and a SegmentRecord holds no pointer to keep
// alive.
type segmentCache struct {
	arrays map[int][][]SegmentRecord // by capacity
	bytes  int
	served bool // an array was taken from the cache
}

const (
	// segmentCacheBytes bounds the cache: 8 MiB is about 200 000 records,
	// the arrays of a few dozen long connections.
	segmentCacheBytes  = 8 << 20
	segmentRecordBytes = int(unsafe.Sizeof(SegmentRecord{}))
)

// nextSegmentsCap returns the capacity that follows c, at most limit (and
// at least c+1).
func nextSegmentsCap(c, limit int) int {
	next := 2 * c
	if c >= 256 {
		next = c + c/4
	}
	return max(min(next, limit), c+1)
}

// grow returns an array of the next size holding s's records, limit being
// the connection's MaxSegmentsPerConn, and keeps s's array for another
// connection once the cache has served one.
func (sc *segmentCache) grow(s []SegmentRecord, limit int) []SegmentRecord {
	want := nextSegmentsCap(cap(s), limit)
	next := sc.take(want)
	if next == nil {
		next = make([]SegmentRecord, 0, want)
	}
	next = append(next, s...)
	if sc.served {
		sc.give(s)
	}
	return next
}

// take returns an empty array of capacity n from the cache, or nil.
func (sc *segmentCache) take(n int) []SegmentRecord {
	stack := sc.arrays[n]
	if len(stack) == 0 {
		return nil
	}
	a := stack[len(stack)-1]
	stack[len(stack)-1] = nil
	sc.arrays[n] = stack[:len(stack)-1]
	sc.bytes -= n * segmentRecordBytes
	sc.served = true
	return a[:0]
}

// give keeps s's array when there is room. A connection's first array,
// inside its connectionRecord, is never kept.
func (sc *segmentCache) give(s []SegmentRecord) {
	c := cap(s)
	if c <= initialSegments || sc.bytes+c*segmentRecordBytes > segmentCacheBytes {
		return
	}
	if sc.arrays == nil {
		sc.arrays = make(map[int][][]SegmentRecord)
	}
	sc.arrays[c] = append(sc.arrays[c], s[:0])
	sc.bytes += c * segmentRecordBytes
}
