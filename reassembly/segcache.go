package reassembly

import (
	"math/bits"
	"unsafe"
)

// segmentCache keeps SegmentRecord arrays for later connections, with
// Config.RecycleSegments: the array of a connection the handler has
// closed, and each array a connection outgrew. A connection whose array
// is full takes one twice as large from here, and allocates it only when
// the cache has none. Capacities are powers of two from 32 records (the
// first size after a connection's own initialSegments) to 65536 (the
// default MaxSegmentsPerConn), and the cache holds at most
// segmentCacheBytes of them; an array that does not fit is left to the
// collector. The records are not cleared: nothing reads an array beyond
// its length, and a SegmentRecord holds no pointer to keep alive.
type segmentCache struct {
	arrays [segmentClasses][][]SegmentRecord // by capacity 1<<(minCachedLog2+k)
	bytes  int
}

const (
	minCachedLog2  = 5  // 32 records
	segmentClasses = 12 // 32 to 65536 records
	// segmentCacheBytes bounds the cache: 8 MiB is about 200 000 records,
	// the arrays of a few dozen long connections.
	segmentCacheBytes  = 8 << 20
	segmentRecordBytes = int(unsafe.Sizeof(SegmentRecord{}))
)

// grow returns an array of twice s's capacity (at least 32 records)
// holding s's records, and keeps s's array for another connection.
func (sc *segmentCache) grow(s []SegmentRecord) []SegmentRecord {
	want := max(2*cap(s), 1<<minCachedLog2)
	var next []SegmentRecord
	if k := bits.Len(uint(want-1)) - minCachedLog2; k < segmentClasses {
		want = 1 << (minCachedLog2 + k) // a power of two, so it can come back
		if l := len(sc.arrays[k]); l > 0 {
			next = sc.arrays[k][l-1]
			sc.arrays[k][l-1] = nil
			sc.arrays[k] = sc.arrays[k][:l-1]
			sc.bytes -= cap(next) * segmentRecordBytes
		}
	}
	if next == nil {
		next = make([]SegmentRecord, 0, want)
	}
	next = append(next[:0], s...)
	sc.give(s)
	return next
}

// give keeps s's array when its capacity is one the cache holds and there
// is room. A connection's first array, inside its connectionRecord, has
// initialSegments records: it is never kept.
func (sc *segmentCache) give(s []SegmentRecord) {
	c := cap(s)
	if c == 0 || c&(c-1) != 0 {
		return
	}
	k := bits.TrailingZeros(uint(c)) - minCachedLog2
	if k < 0 || k >= segmentClasses || sc.bytes+c*segmentRecordBytes > segmentCacheBytes {
		return
	}
	sc.arrays[k] = append(sc.arrays[k], s[:0])
	sc.bytes += c * segmentRecordBytes
}
