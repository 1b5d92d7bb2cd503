package capture

import (
	"encoding/binary"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// fastAgrees checks one packet: when the fast path takes it, the general
// path must give the same reason and, for a segment, the same segment.
// It reports whether the fast path took the packet.
func fastAgrees(t *testing.T, d *Decoder, p *Packet) bool {
	t.Helper()
	var fast, slow Segment
	r, ok := decodePlainIPv4TCP(p, &fast)
	if !ok {
		return false
	}
	want := d.decodeLayers(p, &slow)
	if r != want {
		t.Fatalf("frame %d (% x): fast path says %v, layers say %v", p.Frame, p.Data[:min(len(p.Data), 64)], r, want)
	}
	if r == SkipNone && !reflect.DeepEqual(fast, slow) {
		t.Fatalf("frame %d (% x): fast path\n%+v\nlayers\n%+v", p.Frame, p.Data[:min(len(p.Data), 64)], fast, slow)
	}
	return true
}

// packetsOf returns copies of every packet of the named captures.
func packetsOf(t *testing.T, names []string) []Packet {
	var out []Packet
	for _, name := range names {
		r, err := Open(name)
		if err != nil {
			continue // the bad corpus has unreadable files on purpose
		}
		for {
			p, err := r.Next()
			if err != nil {
				if !errors.Is(err, io.EOF) {
					t.Logf("%s: %v", name, err)
				}
				break
			}
			c := *p
			c.Data = append([]byte(nil), p.Data...)
			out = append(out, c)
		}
		r.Close()
	}
	return out
}

// TestFastPathMatchesLayers holds the fast path to the general one on
// every frame of the test captures, and on frames mutated where the fast
// path looks: each header byte set to 0, 0xff and random values, the IP
// length moved around the captured length, and the frame cut short.
func TestFastPathMatchesLayers(t *testing.T) {
	var names []string
	for _, glob := range []string{"../testdata/captures/*", "../testdata/bad/*", "testdata/*.pcap*"} {
		m, _ := filepath.Glob(glob)
		names = append(names, m...)
	}
	if dir := os.Getenv("CONNSCOPE_SHARED_PCAPS"); dir != "" {
		m, _ := filepath.Glob(filepath.Join(dir, "*.pcap*"))
		names = append(names, m...)
	}
	packets := packetsOf(t, names)
	d := NewDecoder()
	taken, segments := 0, 0
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range packets {
		p := &packets[i]
		if !fastAgrees(t, d, p) {
			continue
		}
		taken++
		var s Segment
		if r, _ := decodePlainIPv4TCP(p, &s); r == SkipNone {
			segments++
		}
		if taken%7 != 1 { // mutate a sample: the common frames are alike
			continue
		}
		ipAt := 0
		if p.LinkType == LinkTypeEthernet {
			ipAt = ethernetHeaderLen
		}
		for at := range min(len(p.Data), ipAt+ipv4MinHeaderLen+tcpMinHeaderLen) {
			for _, v := range []byte{0, 0xff, byte(rng.Uint32()), p.Data[at] ^ 0x40} {
				m := *p
				m.Data = append([]byte(nil), p.Data...)
				m.Data[at] = v
				fastAgrees(t, d, &m)
			}
		}
		ipLen := int(binary.BigEndian.Uint16(p.Data[ipAt+2:]))
		for _, l := range []int{0, 19, 20, 39, 40, ipLen - 1, ipLen + 1, len(p.Data) - ipAt, len(p.Data) - ipAt + 1} {
			m := *p
			m.Data = append([]byte(nil), p.Data...)
			binary.BigEndian.PutUint16(m.Data[ipAt+2:], uint16(max(l, 0)))
			fastAgrees(t, d, &m)
		}
		for _, cut := range []int{ipAt + 19, ipAt + 20, ipAt + 39, ipAt + 40, len(p.Data) - 1} {
			if cut < 0 || cut > len(p.Data) {
				continue
			}
			for _, snapCut := range []bool{false, true} {
				m := *p
				m.Data = p.Data[:cut:cut]
				m.CaptureLength = cut
				if !snapCut {
					m.OriginalLength = cut
				}
				fastAgrees(t, d, &m)
			}
		}
	}
	if taken < 1000 || segments == 0 {
		t.Fatalf("the fast path took %d of %d frames (%d segments): the test compares too little", taken, len(packets), segments)
	}
	t.Logf("fast path took %d of %d frames", taken, len(packets))
}
