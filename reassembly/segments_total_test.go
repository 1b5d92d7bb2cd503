package reassembly

import "testing"

// Open connections together keep at most about MaxSegmentsTotal records:
// the connection adding records releases its own oldest first, and the
// count goes back to zero once every connection is closed.
func TestMaxSegmentsTotal(t *testing.T) {
	a, b := newFlow("10.0.0.1:40000", "10.0.0.2:80").handshake(), newFlow("10.0.0.1:40001", "10.0.0.2:80").handshake()
	for i := range 40 {
		a.seg("c", float64(30+i), "PA", 1+uint32(i), 1, "x")
	}
	for i := range 40 {
		b.seg("c", float64(100+i), "PA", 1+uint32(i), 1, "y")
	}
	r := newRecorder(t)
	asm := NewAssembler(Config{MaxSegmentsTotal: 50}, r)
	for _, s := range append(a.segs, b.segs...) {
		asm.Add(s)
	}
	st := asm.Stats()
	// a keeps its 43 records (under the bound when it added them); b, over
	// it, releases its own oldest: together they stay near the bound.
	if st.SegmentsKept > 50+8 || st.SegmentsDroppedTotal == 0 || st.SegmentsDropped != st.SegmentsDroppedTotal {
		t.Errorf("kept %d, dropped %d (%d for the total bound); want at most 58 kept and every drop for the total bound",
			st.SegmentsKept, st.SegmentsDropped, st.SegmentsDroppedTotal)
	}
	asm.Flush()
	if len(r.closed) != 2 {
		t.Fatalf("%d connections closed, want 2", len(r.closed))
	}
	first, second := r.closed[0], r.closed[1]
	if first.Client.Port() != 40000 {
		first, second = second, first
	}
	if len(first.Segments) != 43 || first.SegmentsDropped != 0 {
		t.Errorf("first connection kept %d records and dropped %d, want 43 and 0", len(first.Segments), first.SegmentsDropped)
	}
	if second.SegmentsDropped == 0 || len(second.Segments)+second.SegmentsDropped != 43 {
		t.Errorf("second connection kept %d records and dropped %d, want some dropped of 43", len(second.Segments), second.SegmentsDropped)
	}
	if got := asm.Stats().SegmentsKept; got != 0 {
		t.Errorf("after Flush %d records still counted as kept", got)
	}
}
