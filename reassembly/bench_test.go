package reassembly

import (
	"net/netip"
	"testing"

	"github.com/connscope/connscope/capture"
)

// syntheticCapture builds a realistic stream of many short HTTP
// connections: conns connections, 32 in flight at once, each a handshake,
// a 300-byte request, a 4 KB response in three segments with ACKs, and a
// FIN exchange (13 segments), with client ports and ISNs varying and
// timestamps advancing by 20 µs per segment.
func syntheticCapture(conns int) []capture.Segment {
	srv := netip.MustParseAddrPort("192.0.2.80:80")
	payload := make([]byte, 1448)
	for i := range payload {
		payload[i] = byte('a' + i%26)
	}
	type step struct {
		fromClient bool
		flags      capture.TCPFlags
		seq, ack   uint32 // relative
		n          int
	}
	const S, A, F, P = capture.FlagSYN, capture.FlagACK, capture.FlagFIN, capture.FlagPSH
	script := []step{
		{true, S, 0, 0, 0}, {false, S | A, 0, 1, 0}, {true, A, 1, 1, 0},
		{true, P | A, 1, 1, 300}, {false, A, 1, 301, 0},
		{false, A, 1, 301, 1448}, {false, A, 1449, 301, 1448}, {true, A, 301, 2897, 0},
		{false, P | A, 2897, 301, 1200}, {true, A, 301, 4097, 0},
		{true, F | A, 301, 4097, 0}, {false, F | A, 4097, 302, 0}, {true, A, 302, 4098, 0},
	}
	const inFlight = 32
	segs := make([]capture.Segment, 0, conns*len(script))
	frame := uint64(0)
	now := t0
	for base := 0; base < conns; base += inFlight {
		n := min(inFlight, conns-base)
		for _, st := range script {
			for k := range n {
				id := base + k
				cli := netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, byte(id >> 16), byte(id >> 8), 1}), uint16(32768+id%28000))
				cISN, sISN := uint32(id)*2654435761, uint32(id)*40503+7
				frame++
				now += 20e3
				s := capture.Segment{Frame: frame, Time: now, Flags: st.flags, Window: 502, IPID: uint16(frame), TCPChecksum: uint16(frame * 7)}
				s.Options.WindowScale = -1
				if st.fromClient {
					s.Src, s.Dst = cli, srv
					s.Seq, s.Ack = cISN+st.seq, sISN+st.ack
				} else {
					s.Src, s.Dst = srv, cli
					s.Seq, s.Ack = sISN+st.seq, cISN+st.ack
				}
				if st.flags&S != 0 {
					s.Options = capture.TCPOptions{MSS: 1460, WindowScale: 7, SACKPermitted: true, HasTimestamps: true}
				}
				s.PayloadLength = st.n
				s.Payload = payload[:st.n]
				segs = append(segs, s)
			}
		}
	}
	return segs
}

// countingConsumer stands in for httpflow: it looks at every byte range.
type countingConsumer struct{ bytes, gaps int64 }

func (c *countingConsumer) Data(_ Direction, data []byte, _ Span) { c.bytes += int64(len(data)) }
func (c *countingConsumer) Gap(_ Direction, n int64, _ Span)      { c.gaps += n }
func (c *countingConsumer) End(Direction, EndReason, Span)        {}
func (c *countingConsumer) Opened(*Connection) StreamConsumer     { return c }
func (c *countingConsumer) Closed(*Connection)                    {}

func BenchmarkAssembler(b *testing.B) {
	segs := syntheticCapture(20000)
	for _, bc := range []struct {
		name    string
		handler func() Handler
	}{
		{"with-consumer", func() Handler { return &countingConsumer{} }},
		{"no-consumer", func() Handler { return nil }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			cpu0 := processCPUSeconds()
			for b.Loop() {
				a := NewAssembler(Config{}, bc.handler())
				for i := range segs {
					a.Add(&segs[i])
				}
				a.Flush()
			}
			b.ReportMetric(float64(len(segs))*float64(b.N)/b.Elapsed().Seconds(), "segments/s")
			if cpu := processCPUSeconds() - cpu0; cpu > 0 {
				b.ReportMetric(float64(len(segs))*float64(b.N)/cpu, "segments/cpu-s")
			}
			b.ReportMetric(float64(len(segs)), "segments/op")
		})
	}
}

// TestSyntheticCaptureIsClean keeps the benchmark honest: its traffic must
// assemble into whole, unflagged connections, or it measures error paths.
func TestSyntheticCaptureIsClean(t *testing.T) {
	segs := syntheticCapture(100)
	r, _ := run(t, Config{}, ptrs(segs))
	if len(r.closed) != 100 {
		t.Fatalf("%d connections, want 100", len(r.closed))
	}
	for _, conn := range r.closed {
		if conn.State != "SF" || conn.Dir[0].UniqueBytes != 300 || conn.Dir[1].UniqueBytes != 4096 || conn.Handshake.IRTT == 0 {
			t.Fatalf("conn %d: state %s bytes %d/%d irtt %d", conn.ID, conn.State, conn.Dir[0].UniqueBytes, conn.Dir[1].UniqueBytes, conn.Handshake.IRTT)
		}
		for _, s := range conn.Segments {
			if s.Kind != 0 {
				t.Fatalf("conn %d frame %d flagged %s", conn.ID, s.Frame, s.Kind)
			}
		}
	}
}

func ptrs(segs []capture.Segment) []*capture.Segment {
	out := make([]*capture.Segment, len(segs))
	for i := range segs {
		out[i] = &segs[i]
	}
	return out
}
