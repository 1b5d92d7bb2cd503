package reassembly

import (
	"testing"
)

// A connection closed by FIN/FIN is released once Advance passes its
// linger (completeTeardownLinger after the last ACK), not before, with no
// segment after it: a quiet live capture still sees it closed.
func TestAdvanceReleasesAClosedConnection(t *testing.T) {
	f := newFlow("10.0.0.1:40000", "10.0.0.2:80").handshake()
	f.seg("c", 30, "PA", 1, 1, "req")
	f.seg("s", 40, "PA", 1, 4, "resp")
	f.seg("c", 50, "FA", 4, 5, "")
	f.seg("s", 60, "FA", 5, 5, "")
	last := f.seg("c", 70, "A", 5, 6, "")
	r := newRecorder(t)
	a := NewAssembler(Config{}, r)
	for _, s := range f.segs {
		a.Add(s)
	}

	a.Advance(last.Time + completeTeardownLinger) // at the linger: not past it
	if len(r.closed) != 0 {
		t.Fatalf("released %d connections at the end of the linger, want none until it has passed", len(r.closed))
	}
	a.Advance(last.Time + completeTeardownLinger + 1)
	if len(r.closed) != 1 {
		t.Fatalf("released %d connections once Advance passed the linger, want 1", len(r.closed))
	}
	c := r.closed[0]
	if got := r.streams[c].reasons; got != [2]EndReason{EndFIN, EndFIN} {
		t.Errorf("ends %v, want FIN both ways", got)
	}
	if c.End != last.Time || c.LastFrame != last.Frame {
		t.Errorf("connection ends at frame %d time %d, want its last ACK (frame %d, %d): Advance is not a packet",
			c.LastFrame, c.End, last.Frame, last.Time)
	}
	if st := a.Stats(); st.Segments != int64(len(f.segs)) || st.OpenNow != 0 || st.Closed != 1 || st.Expired != 0 {
		t.Errorf("stats %+v", st)
	}
	a.Flush()
	if len(r.closed) != 1 {
		t.Errorf("Flush closed it again: %d Closed calls", len(r.closed))
	}
}

// Advance never moves time backwards: an Advance earlier than the latest
// segment (or the latest Advance) changes nothing, and a later one still
// measures the linger and the idle timeout from the segments' times.
func TestAdvanceNeverGoesBackwards(t *testing.T) {
	closed := newFlow("10.0.0.1:40000", "10.0.0.2:80").handshake()
	closed.seg("c", 30, "FA", 1, 1, "")
	closed.seg("s", 40, "FA", 1, 2, "")
	closed.seg("c", 50, "A", 2, 2, "")
	open := newFlow("10.0.0.3:40000", "10.0.0.2:80")
	open.frame = closed.frame
	last := open.seg("c", 60, "S", 0, 0, "")
	r := newRecorder(t)
	a := NewAssembler(Config{IdleTimeout: 2e9}, r)
	for _, s := range append(closed.segs, open.segs...) {
		a.Add(s)
	}

	a.Advance(last.Time - 10e9) // before the latest segment
	if a.now != last.Time {
		t.Fatalf("Advance to 10 s before the latest segment moved the clock to %d, want it kept at %d", a.now, last.Time)
	}
	a.Advance(last.Time + 1e9) // past the teardown linger, inside the idle timeout
	if len(r.closed) != 1 || r.closed[0].ID != 1 {
		t.Fatalf("closed %d connections, want the torn-down one only", len(r.closed))
	}
	a.Advance(last.Time) // backwards again
	if a.now != last.Time+1e9 {
		t.Fatalf("Advance backwards moved the clock from %d to %d", last.Time+1e9, a.now)
	}
	if len(r.closed) != 1 {
		t.Fatalf("Advance backwards released a connection: %d closed", len(r.closed))
	}
	a.Advance(last.Time + 2e9 + 1) // the open one is idle past IdleTimeout
	if len(r.closed) != 2 || r.streams[r.closed[1]].reasons != [2]EndReason{EndIdleExpired, EndIdleExpired} {
		t.Fatalf("the idle connection was not expired by Advance: %d closed", len(r.closed))
	}
	if st := a.Stats(); st.Expired != 1 || st.OpenNow != 0 {
		t.Errorf("stats %+v", st)
	}
}
