package reassembly

import (
	"slices"
	"testing"

	"github.com/connscope/connscope/capture"
)

func TestSegmentCap(t *testing.T) {
	f := newFlow("10.0.0.1:40000", "10.0.0.2:80").handshake()
	for i := range 100 {
		f.seg("c", 30+float64(i), "PA", uint32(1+i), 1, "x")
	}
	c, log := only(t, Config{MaxSegmentsPerConn: 16}, f.segs)
	if len(c.Segments) > 16 || len(c.Segments)+c.SegmentsDropped != 103 {
		t.Errorf("%d records kept, %d dropped, want <= 16 and 103 in all", len(c.Segments), c.SegmentsDropped)
	}
	if last := c.Segments[len(c.Segments)-1].Frame; last != 103 {
		t.Errorf("newest record is frame %d, the oldest must go first", last)
	}
	if log.text[ClientToServer].Len() != 100 {
		t.Errorf("delivery must not depend on the record cap: %d bytes", log.text[ClientToServer].Len())
	}
}

func TestEviction(t *testing.T) {
	var segs []*capture.Segment
	var frame uint64
	for _, cli := range []string{"10.0.0.1:40001", "10.0.0.1:40002", "10.0.0.1:40003"} {
		f := newFlow(cli, "10.0.0.2:80")
		f.frame = frame
		f.seg("c", float64(frame), "S", 0, 0, "")
		frame = f.frame
		segs = append(segs, f.segs...)
	}
	r, a := run(t, Config{MaxConnections: 2}, segs)
	if len(r.closed) != 3 || r.closed[0].ID != 1 || r.streams[r.closed[0]].reasons != [2]EndReason{EndEvicted, EndEvicted} {
		t.Fatalf("first closed %d with %v", r.closed[0].ID, r.streams[r.closed[0]].reasons)
	}
	if st := a.Stats(); st.Evicted != 1 || st.PeakOpen != 2 {
		t.Errorf("stats %+v", st)
	}
}

// TestNoAllocationPerSegment: an established connection's segments are
// processed without allocating, apart from the amortised growth of its
// record slice.
func TestNoAllocationPerSegment(t *testing.T) {
	f := newFlow("10.0.0.1:40000", "10.0.0.2:80").handshake()
	a := NewAssembler(Config{}, &countingConsumer{})
	for _, s := range f.segs {
		a.Add(s)
	}
	seg := *f.seg("c", 30, "PA", 1, 1, "0123456789")
	ack := *f.seg("s", 31, "A", 1, 11, "")
	seq := uint32(1)
	allocs := testing.AllocsPerRun(5000, func() {
		seg.Seq, seg.Frame, seg.IPID = f.cliISN+seq, seg.Frame+2, seg.IPID+2
		seq += 10
		ack.Ack, ack.Frame, ack.IPID = f.cliISN+seq, ack.Frame+2, ack.IPID+2
		a.Add(&seg)
		a.Add(&ack)
	})
	if allocs > 0.05 {
		t.Errorf("%.3f allocations per pair of segments, want none but record growth", allocs)
	}
}

// TestIdleExpiryKeepsTouchedConnections: expiry looks at the list's front
// lazily; a connection touched since it was listed must survive and the
// idle one behind it must still go.
func TestIdleExpiryKeepsTouchedConnections(t *testing.T) {
	a1 := newFlow("10.0.0.1:40001", "10.0.0.2:80")
	a1.seg("c", 0, "S", 0, 0, "")
	b := newFlow("10.0.0.1:40002", "10.0.0.2:80")
	b.frame = 1
	b.seg("c", 1, "S", 0, 0, "")
	a1.frame = 2
	a1.seg("c", 8000, "S", 0, 0, "") // a retransmitted SYN touches the first connection
	c := newFlow("10.0.0.1:40003", "10.0.0.2:80")
	c.frame = 3
	c.seg("c", 15000, "S", 0, 0, "")
	c.seg("c", 30000, "S", 0, 0, "")
	segs := []*capture.Segment{a1.segs[0], b.segs[0], a1.segs[1], c.segs[0], c.segs[1]}
	r, _ := run(t, Config{IdleTimeout: 10e9}, segs)
	var order []int
	for _, x := range r.closed {
		order = append(order, x.ID)
	}
	// b (ID 2) expires at 15 s; at 30 s the first connection (ID 1, idle
	// since 8 s) and the third (idle since 15 s) expire, and the SYN at 30 s
	// opens a fourth on the third's tuple, flushed at the end.
	if !slices.Equal(order, []int{2, 1, 3, 4}) {
		t.Errorf("closed in order %v, want [2 1 3 4]", order)
	}
	if !r.closed[3].ReusedTuple || r.closed[3].PreviousID != 3 {
		t.Errorf("fourth connection must reuse the third's tuple: %+v", r.closed[3].ReusedTuple)
	}
	if got := r.streams[r.closed[1]].reasons; got != [2]EndReason{EndIdleExpired, EndIdleExpired} {
		t.Errorf("first connection ended %v", got)
	}
}
