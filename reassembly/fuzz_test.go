package reassembly

import (
	"encoding/binary"
	"net/netip"
	"slices"
	"testing"

	"github.com/connscope/connscope/capture"
)

// fuzzSegments turns arbitrary bytes into a segment sequence on two 4-tuples
// that share a server: 8 bytes per segment (direction and tuple, flags,
// sequence and acknowledgment offsets around a base near the 2^32 wrap,
// payload length, time step). Payload byte values are a function of their
// absolute sequence number, so any correct delivery is self-checking.
func fuzzSegments(data []byte) []*capture.Segment {
	srv := netip.MustParseAddrPort("10.0.0.2:80")
	clients := [2]netip.AddrPort{netip.MustParseAddrPort("10.0.0.1:40000"), netip.MustParseAddrPort("10.0.0.1:40001")}
	const base = uint32(0xFFFFFF00)
	var segs []*capture.Segment
	now := t0
	for i := 0; i+8 <= len(data) && len(segs) < 512; i += 8 {
		b := data[i : i+8]
		s := &capture.Segment{Frame: uint64(len(segs) + 1), Window: 1024}
		s.Options.WindowScale = int8(b[0]>>4&7) - 1
		cli := clients[b[0]>>1&1]
		if b[0]&1 == 0 {
			s.Src, s.Dst = cli, srv
		} else {
			s.Src, s.Dst = srv, cli
		}
		s.Flags = capture.TCPFlags(b[1])
		s.Seq = base + uint32(int16(binary.BigEndian.Uint16(b[2:4])))
		s.Ack = base + uint32(int16(binary.BigEndian.Uint16(b[4:6])))
		if b[0]&0x80 != 0 {
			s.Window = 0
		}
		n := int(b[6] & 0x3F)
		s.PayloadLength = n
		captured := n
		if b[6]&0x40 != 0 {
			captured = n / 2 // snaplen cut
		}
		s.Payload = make([]byte, captured)
		start := s.Seq
		if s.Flags.Has(capture.FlagSYN) {
			start++
		}
		for j := range s.Payload {
			s.Payload[j] = byte(start + uint32(j))
		}
		s.IPID = uint16(i)
		if b[6]&0x80 != 0 && len(segs) > 0 {
			// Repeat the previous frame as a capture duplicate would.
			prev := *segs[len(segs)-1]
			prev.Frame = s.Frame
			s = &prev
		}
		now += int64(b[7]) * int64(b[7]) * 1e5 // up to ~6.5 s per step
		s.Time = now
		segs = append(segs, s)
	}
	return segs
}

// byteChecker verifies that delivered bytes sit at the right offsets: with
// payload bytes equal to their sequence number, the byte at offset o+k is
// the byte at o plus k.
type byteChecker struct {
	*streamLog
	have  [2]bool
	first [2]byte // value of the byte at offset 0
}

func (b *byteChecker) Data(d Direction, data []byte, at Span) {
	b.streamLog.Data(d, data, at)
	if !b.have[d] {
		b.have[d], b.first[d] = true, data[0]-byte(at.Offset)
	}
	for i, v := range data {
		if want := b.first[d] + byte(at.Offset+int64(i)); v != want {
			b.t.Fatalf("conn %d %s: byte at offset %d is %d, want %d (delivered out of place)", b.conn.ID, d, at.Offset+int64(i), v, want)
		}
	}
}

type fuzzRecorder struct{ *recorder }

func (r fuzzRecorder) Opened(c *Connection) StreamConsumer {
	l := r.recorder.Opened(c).(*streamLog)
	return &byteChecker{streamLog: l}
}

func FuzzAssembler(f *testing.F) {
	// Seeds: a clean exchange, reordering, a RST, a reuse, a wrap.
	f.Add([]byte{
		0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, // SYN
		0x01, 0x12, 0x00, 0x10, 0x00, 0x01, 0x00, 0x01, // SYN/ACK
		0x00, 0x10, 0x00, 0x01, 0x00, 0x11, 0x00, 0x01, // ACK
		0x00, 0x18, 0x00, 0x01, 0x00, 0x11, 0x10, 0x01, // 16 bytes
		0x01, 0x18, 0x00, 0x11, 0x00, 0x11, 0x20, 0x01, // 32 bytes back
		0x00, 0x11, 0x00, 0x11, 0x00, 0x31, 0x00, 0x01, // FIN
		0x01, 0x11, 0x00, 0x31, 0x00, 0x12, 0x00, 0x01, // FIN
	})
	f.Add([]byte{
		0x00, 0x18, 0x00, 0x20, 0x00, 0x00, 0x10, 0x00,
		0x00, 0x18, 0x00, 0x00, 0x00, 0x00, 0x10, 0x00,
		0x00, 0x18, 0x00, 0x10, 0x00, 0x00, 0x10, 0x00,
		0x01, 0x14, 0x00, 0x00, 0x00, 0x08, 0x00, 0x00,
		0x02, 0x02, 0x01, 0x00, 0x00, 0x00, 0x00, 0xFF,
		0x00, 0x02, 0x09, 0x00, 0x00, 0x00, 0x00, 0x01,
		0x00, 0x18, 0x7F, 0xF0, 0x00, 0x00, 0x3F, 0x01,
		0x00, 0x18, 0x80, 0x10, 0x00, 0x00, 0x7F, 0x01,
	})
	f.Fuzz(func(t *testing.T, data []byte) {
		segs := fuzzSegments(data)
		rec := newRecorder(t)
		a := NewAssembler(Config{MaxSegmentsPerConn: 16, MaxBufferedBytes: 96, MaxConnections: 2, IdleTimeout: 5e9, CloseLinger: 1e9}, fuzzRecorder{rec})
		for _, s := range segs {
			a.Add(s)
		}
		a.Flush()
		if len(rec.closed) != len(rec.opened) {
			t.Fatalf("%d opened, %d closed", len(rec.opened), len(rec.closed))
		}
		st := a.Stats()
		if st.OpenNow != 0 || st.BufferedBytes != 0 || st.Connections != int64(len(rec.opened)) || st.Segments != int64(len(segs)) {
			t.Fatalf("stats after Flush: %+v", st)
		}
		var packets int64
		for _, c := range rec.closed {
			packets += c.Dir[0].Packets + c.Dir[1].Packets
			if len(c.Segments) > 16 {
				t.Fatalf("conn %d keeps %d segment records, cap 16", c.ID, len(c.Segments))
			}
			if int64(len(c.Segments)+c.SegmentsDropped) != c.Dir[0].Packets+c.Dir[1].Packets {
				t.Fatalf("conn %d: %d records + %d dropped != %d packets", c.ID, len(c.Segments), c.SegmentsDropped, c.Dir[0].Packets+c.Dir[1].Packets)
			}
			for d := range 2 {
				l := rec.streams[c]
				if got := l.next[d]; got != c.Dir[d].UniqueBytes+c.Dir[d].LostBytes {
					t.Fatalf("conn %d %s: delivered up to %d, unique %d + lost %d", c.ID, Direction(d), got, c.Dir[d].UniqueBytes, c.Dir[d].LostBytes)
				}
			}
		}
		if packets != int64(len(segs)) {
			t.Fatalf("%d packets counted over connections, %d segments added", packets, len(segs))
		}
		// Recycling arrays never changes a record: the same segments with
		// and without RecycleSegments, with room to grow (a cap of 64
		// crosses the cache's sizes 32 and 64).
		var kept [2]segmentCopier
		for i, recycle := range []bool{false, true} {
			a := NewAssembler(Config{MaxSegmentsPerConn: 64, MaxConnections: 2, IdleTimeout: 5e9, CloseLinger: 1e9, RecycleSegments: recycle}, &kept[i])
			for _, s := range segs {
				a.Add(s)
			}
			a.Flush()
		}
		if len(kept[0].segments) != len(kept[1].segments) {
			t.Fatalf("%d connections without RecycleSegments, %d with it", len(kept[0].segments), len(kept[1].segments))
		}
		for i := range kept[0].segments {
			if !slices.Equal(kept[0].segments[i], kept[1].segments[i]) {
				t.Fatalf("connection %d: RecycleSegments changed its records:\n%v\n%v", i+1, kept[0].segments[i], kept[1].segments[i])
			}
		}
	})
}
