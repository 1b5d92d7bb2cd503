package reassembly

import (
	"fmt"
	"slices"
	"testing"
	"unsafe"

	"github.com/connscope/connscope/capture"
)

// segmentCopier is a Handler that copies each connection's Segments when
// it closes, as Config.RecycleSegments asks, and notes the array they
// were in.
type segmentCopier struct {
	segments [][]SegmentRecord
	arrays   []*SegmentRecord
}

func (*segmentCopier) Opened(*Connection) StreamConsumer { return nil }
func (h *segmentCopier) Closed(c *Connection) {
	h.segments = append(h.segments, slices.Clone(c.Segments))
	var first *SegmentRecord
	if cap(c.Segments) > 0 {
		first = &c.Segments[:1][0]
	}
	h.arrays = append(h.arrays, first)
}

// longConnections returns n connections one after the other, each with
// segments data segments from the client and the server's ACKs.
func longConnections(n, segments int) []*capture.Segment {
	var all []*capture.Segment
	for i := range n {
		f := newFlow(fmt.Sprintf("10.0.0.1:%d", 40000+i), "10.0.0.2:80")
		f.frame = uint64(len(all))
		base := float64(i * 100_000)
		f.seg("c", base, "S", 0, 0, "")
		f.seg("s", base+1, "SA", 0, 1, "")
		f.seg("c", base+2, "A", 1, 1, "")
		for j := range segments {
			f.seg("c", base+3+float64(2*j), "PA", 1+uint32(10*j), 1, "0123456789")
			f.seg("s", base+4+float64(2*j), "A", 1, 1+uint32(10*(j+1)), "")
		}
		f.seg("c", base+5000, "FA", 1+uint32(10*segments), 1, "")
		f.seg("s", base+5001, "FA", 1, 2+uint32(10*segments), "")
		f.seg("c", base+5002, "A", 2+uint32(10*segments), 2, "")
		all = append(all, f.segs...)
	}
	return all
}

// With RecycleSegments every connection's records are what they are
// without it, and a later connection's records live in an array an earlier
// one gave back.
func TestRecycleSegmentsKeepsRecordsAndReusesArrays(t *testing.T) {
	segs := longConnections(6, 100) // 206 records each: arrays of 16 ... 256
	plain, recycled := &segmentCopier{}, &segmentCopier{}
	for _, run := range []struct {
		h   *segmentCopier
		cfg Config
	}{{plain, Config{}}, {recycled, Config{RecycleSegments: true}}} {
		asm := NewAssembler(run.cfg, run.h)
		for _, s := range segs {
			asm.Add(s)
		}
		asm.Flush()
	}
	if len(plain.segments) != 6 || len(recycled.segments) != 6 {
		t.Fatalf("%d and %d connections closed, want 6", len(plain.segments), len(recycled.segments))
	}
	for i := range plain.segments {
		if len(plain.segments[i]) != 206 || !slices.Equal(plain.segments[i], recycled.segments[i]) {
			t.Errorf("connection %d: %d records plain, %d recycled, or not the same", i+1, len(plain.segments[i]), len(recycled.segments[i]))
		}
	}
	// The first connection's final array (256 records) is given back when
	// it closes, and the second takes it when it outgrows 128.
	if recycled.arrays[1] != recycled.arrays[0] {
		t.Errorf("the second connection's records are at %p, not in the first's array at %p", recycled.arrays[1], recycled.arrays[0])
	}
	for i := 1; i < len(plain.arrays); i++ {
		if plain.arrays[i] == plain.arrays[0] {
			t.Errorf("without RecycleSegments connection %d reused the first one's array", i+1)
		}
	}
}

// Without RecycleSegments a closed Connection keeps its Segments: the
// handler may read them after Closed.
func TestSegmentsStayWithoutRecycling(t *testing.T) {
	r, _ := run(t, Config{}, longConnections(2, 40))
	for _, c := range r.closed {
		if len(c.Segments) != 86 {
			t.Errorf("connection %d has %d segments after Closed, want 86", c.ID, len(c.Segments))
		}
	}
}

// The cache takes back no connection's first array and no more than
// segmentCacheBytes; grow follows append's sizes (doubling to 256, then a
// quarter more, never past the connection's cap), copies every record, and
// hands a given-back array of the size it needs to the next connection.
func TestSegmentCacheBound(t *testing.T) {
	var sc segmentCache
	sc.give(make([]SegmentRecord, 0, initialSegments)) // a connection's first array
	if sc.bytes != 0 {
		t.Fatalf("cache holds %d bytes after a connection's first array", sc.bytes)
	}
	const n = 1 << 16
	for range segmentCacheBytes/(n*segmentRecordBytes) + 2 {
		sc.give(make([]SegmentRecord, 0, n))
	}
	if want := segmentCacheBytes / (n * segmentRecordBytes) * n * segmentRecordBytes; sc.bytes != want || sc.bytes > segmentCacheBytes {
		t.Errorf("cache holds %d bytes, want %d (bound %d)", sc.bytes, want, segmentCacheBytes)
	}

	sc = segmentCache{}
	s := make([]SegmentRecord, 0, initialSegments)
	for i := range initialSegments {
		s = append(s, SegmentRecord{Frame: uint64(i + 1)})
	}
	var sizes []int
	const limit = 1000
	for cap(s) < limit {
		s = sc.grow(s, limit)
		sizes = append(sizes, cap(s))
		if len(s) != initialSegments || s[initialSegments-1].Frame != initialSegments {
			t.Fatalf("grow kept %d records (last frame %d), want %d", len(s), s[len(s)-1].Frame, initialSegments)
		}
	}
	if want := []int{32, 64, 128, 256, 320, 400, 500, 625, 781, 976, 1000}; !slices.Equal(sizes, want) {
		t.Errorf("sizes %v, want %v", sizes, want)
	}
	// Nobody took from the cache yet: the arrays one connection outgrew
	// are left to the collector, not kept for nobody.
	if sc.bytes != 0 {
		t.Errorf("one growing connection left %d bytes in the cache", sc.bytes)
	}
	// Its array at the close is kept, and the next connection that grows
	// to its size takes it; from then on outgrown arrays are kept too.
	first := &s[:1][0]
	sc.give(s)
	next := make([]SegmentRecord, 0, initialSegments)
	for cap(next) < limit {
		next = sc.grow(next, limit)
	}
	if &next[:1][0] != first {
		t.Errorf("the next connection's %d-record array is not the one given back", cap(next))
	}
	if len(sc.arrays[976]) != 1 || sc.bytes != 976*segmentRecordBytes {
		t.Errorf("after the cache served a connection it holds %d bytes (%d arrays of 976 records), want the one that connection outgrew",
			sc.bytes, len(sc.arrays[976]))
	}
	if segmentRecordBytes != int(unsafe.Sizeof(SegmentRecord{})) || segmentRecordBytes > 40 {
		t.Errorf("a SegmentRecord is %d bytes", segmentRecordBytes)
	}
}
