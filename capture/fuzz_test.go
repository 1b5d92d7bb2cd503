package capture_test

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/connscope/connscope/capture"
)

// FuzzReader feeds arbitrary bytes to the Reader and Decoder. Whatever the
// input, they must not panic, must stop (every Next consumes input or ends),
// must report damage as a *capture.Error, and must keep packet fields
// consistent.
//
//	go test ./capture -run XXX -fuzz FuzzReader -fuzztime 1m
func FuzzReader(f *testing.F) {
	for _, seed := range readerSeeds(f) {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := capture.NewReader(bytes.NewReader(data), "fuzz")
		if err != nil {
			var ce *capture.Error
			if !errors.As(err, &ce) {
				t.Fatalf("Open error %v is not a *capture.Error", err)
			}
			return
		}
		d := capture.NewDecoder()
		var s capture.Segment
		var last uint64
		limit := inputBytes(data) // no more packets than bytes of capture
		for n := 0; ; n++ {
			p, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				var ce *capture.Error
				if !errors.As(err, &ce) || ce.Frame != last+1 && ce.Frame != 0 {
					t.Fatalf("error %v after frame %d", err, last)
				}
				if _, err := r.Next(); err != io.EOF {
					t.Fatalf("Next after an error returned %v", err)
				}
				break
			}
			if p.Frame <= last || len(p.Data) != p.CaptureLength || p.CaptureLength > capture.MaxPacketLength || p.OriginalLength < p.CaptureLength {
				t.Fatalf("inconsistent packet %+v (previous frame %d)", *p, last)
			}
			if n > limit {
				t.Fatalf("%d packets from %d bytes", n, limit)
			}
			last = p.Frame
			reassembled := d.Stats().Fragments.Datagrams
			if d.Decode(p, &s) == capture.SkipNone {
				checkSegment(t, p, &s, d.Stats().Fragments.Datagrams > reassembled)
			}
			checkFragmentCounts(t, d.Stats())
		}
	})
}

// inputBytes is how many bytes of capture data is: its length, or for a
// gzip stream what it decompresses to (a few bytes of deflate can stand for
// many records), read up to the first damage.
func inputBytes(data []byte) int {
	n := len(data)
	if zr, err := gzip.NewReader(bytes.NewReader(data)); err == nil {
		m, _ := io.Copy(io.Discard, io.LimitReader(zr, 1<<26))
		n = max(n, int(m))
	}
	return n
}

// FuzzDecode feeds arbitrary frames under every link type.
//
//	go test ./capture -run XXX -fuzz FuzzDecode -fuzztime 1m
func FuzzDecode(f *testing.F) {
	s4, s6 := seg4(), seg6()
	for _, lt := range []capture.LinkType{1, 0, 101, 108, 113, 228, 229, 276} {
		f.Add(uint16(lt), s4.IP(), 0)
		f.Add(uint16(lt), s6.IP(), 10)
	}
	for _, p := range mixedPackets(f) {
		f.Add(uint16(p.LinkType), p.Data, p.OriginalLength-p.CaptureLength)
	}
	// LLC/SNAP, MPLS and PPPoE, whole and cut inside their headers.
	for _, e := range encapsulatedFrames() {
		f.Add(uint16(e.lt), e.frame, 0)
		f.Add(uint16(e.lt), e.frame[:min(len(e.frame), 20)], 60)
	}
	// Tunnels, whole and cut inside their headers.
	for _, e := range tunnelledFrames() {
		f.Add(uint16(e.lt), e.frame, 0)
		f.Add(uint16(e.lt), e.frame[:min(len(e.frame), 50)], 60)
	}
	// An IPv4 total length 100 bytes beyond a frame captured whole.
	// Fragments: the decoder persists across inputs, so halves of a
	// datagram can meet.
	for _, v6 := range []bool{false, true} {
		fr := newFragmenter(v6, 1)
		f.Add(uint16(capture.LinkTypeRaw), fr.piece(0, 64), 0)
		f.Add(uint16(capture.LinkTypeRaw), fr.piece(64, 120), 0)
	}
	lying := s4.IP()
	lying[2], lying[3] = byte((len(lying)+100)>>8), byte(len(lying)+100)
	f.Add(uint16(capture.LinkTypeRaw), lying, 0)
	// One Decoder for all inputs, as in real use: state left by one packet
	// must not break the next. Inputs run one at a time per process.
	d := capture.NewDecoder()
	f.Fuzz(func(t *testing.T, lt uint16, frame []byte, cut int) {
		p := &capture.Packet{Frame: 1, LinkType: capture.LinkType(lt), Data: frame, CaptureLength: len(frame), OriginalLength: len(frame) + max(0, cut%65536)}
		var s capture.Segment
		before := d.Stats()
		r := d.Decode(p, &s)
		st := d.Stats()
		reassembled := st.Fragments.Datagrams - before.Fragments.Datagrams
		if r == capture.SkipNone {
			checkSegment(t, p, &s, reassembled > 0)
		}
		// A packet completes at most one datagram per IP level: the
		// outer packet and those in up to four tunnels.
		if st.Packets != before.Packets+1 || reassembled > 5 {
			t.Fatalf("stats %+v after %+v for reason %v", st, before, r)
		}
		checkFragmentCounts(t, st)
	})
}

// checkFragmentCounts checks that every packet is counted once: as a
// segment, as skipped, or as a fragment that went into a reassembled
// datagram other than the one that completed it; and that the fragments
// counted as skipped are the duplicates, the dropped and the held ones.
func checkFragmentCounts(t *testing.T, st capture.Stats) {
	t.Helper()
	fs := st.Fragments
	if st.Packets != st.TCPSegments+st.SkippedTotal()+fs.Fragments-fs.Datagrams {
		t.Fatalf("packets %d != %d segments + %d skipped + %d fragments - %d datagrams", st.Packets, st.TCPSegments, st.SkippedTotal(), fs.Fragments, fs.Datagrams)
	}
	if got := st.Skipped[capture.SkipIPFragment]; got != fs.Duplicates+fs.DroppedTotal()+fs.Held {
		t.Fatalf("ip_fragment skips %d != %d duplicates + %d dropped + %d held (%+v)", got, fs.Duplicates, fs.DroppedTotal(), fs.Held, fs)
	}
	if fs.Held > capture.MaxFragmentBytes/8 || fs.HeldDatagrams > capture.MaxFragmentDatagrams {
		t.Fatalf("held %d fragments of %d datagrams", fs.Held, fs.HeldDatagrams)
	}
}

// checkSegment checks what holds for every decoded segment. The payload of
// a segment from a reassembled datagram lies in the Decoder's buffer, not
// in the packet's data.
func checkSegment(t *testing.T, p *capture.Packet, s *capture.Segment, reassembled bool) {
	t.Helper()
	if s.Frame != p.Frame || s.Time != p.Time || !s.Src.IsValid() || !s.Dst.IsValid() {
		t.Fatalf("segment %+v from packet %d", s, p.Frame)
	}
	if len(s.Payload) > s.PayloadLength || s.PayloadLength < 0 || s.PayloadLength > 1<<20 {
		t.Fatalf("payload %d of %d", len(s.Payload), s.PayloadLength)
	}
	// The payload on the wire is at most what was captured of it plus what
	// the snap length cut off the frame: an IP length claiming more is a
	// damaged header, not bytes that existed.
	if missing := p.OriginalLength - p.CaptureLength; s.PayloadLength > len(s.Payload)+max(0, missing) {
		t.Fatalf("payload length %d, but %d bytes captured and only %d missing from the frame", s.PayloadLength, len(s.Payload), missing)
	}
	if len(s.Payload) > 0 && !reassembled && !aliases(p.Data, s.Payload) {
		t.Fatal("payload does not alias the packet data")
	}
	if s.Options.WindowScale > 14 || s.Options.SACKBlocks > 4 {
		t.Fatalf("options %+v", s.Options)
	}
}

// aliases reports whether inner is a subslice of outer: slicing keeps the
// end of the backing array, so both reach the same last element.
func aliases(outer, inner []byte) bool {
	if cap(inner) == 0 || cap(outer) == 0 {
		return false
	}
	return &outer[:cap(outer)][cap(outer)-1] == &inner[:cap(inner)][cap(inner)-1]
}

// readerSeeds returns small captures of every format and the corrupt corpus.
func readerSeeds(t testing.TB) [][]byte {
	seeds := [][]byte{httpPcap(5), mixedPcapng(7), gzipped(t, httpPcap(3)), modifiedPcap(false), modifiedPcap(true)}
	files, _ := filepath.Glob(filepath.Join(badDir, "*"))
	for _, f := range files {
		if b, err := os.ReadFile(f); err == nil && len(b) < 64<<10 {
			seeds = append(seeds, b)
		}
	}
	return seeds
}

func mixedPackets(t testing.TB) []capture.Packet {
	r, err := capture.NewReader(bytes.NewReader(mixedPcapng(6)), "seed")
	if err != nil {
		t.Fatal(err)
	}
	pkts, _ := readAll(t, r)
	return pkts
}

// FuzzFragments decodes a script of IP fragments of one TCP segment (120
// bytes: header and 100 bytes of payload), IPv4 or IPv6, in any order, with
// any offsets, lengths, flags, identifications and times, some of them
// forged (bytes that are not the segment's). Six bytes per fragment:
//
//	flags: bit 0 IPv6, bit 1 More Fragments, bit 2 forged, bit 3 cut by the snap length
//	offset: 2 bytes, in bytes (rounded down to a multiple of 8)
//	length: 1 byte
//	identification: 1 byte (of 4 datagrams, so they interleave)
//	time step: 1 byte, in seconds (so datagrams time out)
//
// Besides no panic: every packet is counted once, what is held stays under
// the caps, and a segment reassembled from fragments none of which was
// forged is the segment itself.
func FuzzFragments(f *testing.F) {
	f.Add([]byte{2, 0, 0, 48, 0, 0, 2, 0, 48, 48, 0, 0, 0, 0, 96, 24, 0, 0})
	f.Add([]byte{3, 0, 0, 48, 1, 0, 1, 0, 96, 24, 1, 0, 3, 0, 48, 48, 1, 0})
	f.Add([]byte{2, 0, 0, 64, 2, 0, 6, 0, 48, 16, 2, 0, 0, 0, 64, 56, 2, 31})
	f.Add([]byte{3, 0, 0, 64, 3, 0, 3, 0, 48, 64, 3, 0, 1, 0, 64, 56, 3, 61, 3, 0, 0, 64, 3, 0, 1, 0, 64, 56, 3, 0})
	f.Add([]byte{2, 0, 0, 8, 0, 0, 2, 255, 248, 16, 0, 0, 0, 0, 0, 0, 0, 0, 10, 0, 0, 48, 0, 0})
	f.Fuzz(runFragmentScript)
}

func runFragmentScript(t *testing.T, script []byte) {
	{
		whole := fragSegment(false).Segment()
		d := capture.NewDecoder()
		var now int64
		forged := map[[2]uint32]bool{} // (family, id) -> a forged fragment is held
		for i := 0; i+6 <= len(script) && i < 6*4000; i += 6 {
			flags, offset, length := script[i], int(binary.BigEndian.Uint16(script[i+1:])), int(script[i+3])
			v6, more, forge, cut := flags&1 != 0, flags&2 != 0, flags&4 != 0, flags&8 != 0
			id := uint32(script[i+4] % 4)
			now += int64(script[i+5]) * 1e9
			fr := newFragmenter(v6, id)
			offset &^= 7 // the header holds it in units of 8 bytes
			data := make([]byte, length)
			for j := range data {
				if k := offset + j; k < len(whole) && !forge {
					data[j] = whole[k]
				} else {
					data[j] = 'X'
				}
			}
			frame := fr.pieceData(offset, data, more)
			orig := len(frame)
			if cut && len(frame) > 30 {
				frame = frame[:len(frame)-5]
			}
			key := [2]uint32{uint32(flags & 1), id}
			// Any fragment with bytes not from the segment may end up in
			// the datagram, and so may a fragment past its end, or a last
			// fragment that ends it somewhere else.
			if forge || offset+length > len(whole) || !more && offset+length != len(whole) {
				forged[key] = true
			}
			p := &capture.Packet{Frame: uint64(i/6 + 1), Time: now, LinkType: capture.LinkTypeRaw, Data: frame, CaptureLength: len(frame), OriginalLength: orig}
			var s capture.Segment
			before := d.Stats().Fragments.Datagrams
			r := d.Decode(p, &s)
			st := d.Stats()
			checkFragmentCounts(t, st)
			if st.Fragments.Datagrams > before {
				if r == capture.SkipNone && !forged[key] {
					if !bytes.Equal(s.Payload, whole[20:]) || s.Seq != 1000 {
						t.Fatalf("frame %d: reassembled %q seq %d, want the segment's payload", p.Frame, s.Payload, s.Seq)
					}
				}
				delete(forged, key)
			}
			if r == capture.SkipNone {
				checkSegment(t, p, &s, st.Fragments.Datagrams > before)
			}
		}
	}
}
