//go:build linux && !libpcap

package live

import (
	"encoding/binary"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/connscope/connscope/capture"
)

// fakeBlock lays out one TPACKET_V3 block in memory the way the kernel
// does, so the ring walk can be tested without a socket.
type fakePacket struct {
	data    []byte
	wireLen uint32
	status  uint32
	tci     uint16
	tpid    uint16
	pkttype uint8
}

func fakeRing(blocks int, perBlock [][]fakePacket) *ring {
	r := &ring{mem: make([]byte, blocks*blockSize), blockSize: blockSize, blocks: blocks}
	ne := binary.NativeEndian
	for b, pkts := range perBlock {
		base := b * blockSize
		ne.PutUint32(r.mem[base+blockStatusOff:], unix.TP_STATUS_USER)
		ne.PutUint32(r.mem[base+blockNumPkts:], uint32(len(pkts)))
		off := 64
		ne.PutUint32(r.mem[base+blockFirstPkt:], uint32(off))
		for i, p := range pkts {
			h := base + off
			mac := 82 // as the kernel puts it for Ethernet: aligned so the IP header is
			ne.PutUint32(r.mem[h+pktSecOff:], 1_700_000_000)
			ne.PutUint32(r.mem[h+pktNsecOff:], uint32(i))
			ne.PutUint32(r.mem[h+pktSnaplenOff:], uint32(len(p.data)))
			ne.PutUint32(r.mem[h+pktLenOff:], p.wireLen)
			ne.PutUint32(r.mem[h+pktStatusOff:], p.status)
			ne.PutUint16(r.mem[h+pktMacOff:], uint16(mac))
			ne.PutUint32(r.mem[h+pktVlanTCI:], uint32(p.tci))
			ne.PutUint16(r.mem[h+pktVlanTPID:], p.tpid)
			r.mem[h+sllPkttypeOff] = p.pkttype
			copy(r.mem[h+mac:], p.data)
			next := (mac + len(p.data) + 15) &^ 15
			if i < len(pkts)-1 {
				ne.PutUint32(r.mem[h+pktNextOff:], uint32(next))
			}
			off += next
		}
	}
	return r
}

func TestRingWalk(t *testing.T) {
	eth := func(n int) []byte {
		b := make([]byte, n)
		b[12], b[13] = 0x08, 0x00
		for i := 14; i < n; i++ {
			b[i] = byte(i)
		}
		return b
	}
	r := fakeRing(3, [][]fakePacket{
		{{data: eth(60), wireLen: 60}, {data: eth(1514), wireLen: 1514}},
		{{data: eth(100), wireLen: 3000}},
	})
	var got []int
	for {
		p, ok := r.nextPacket()
		if !ok {
			r.release()
			if !r.acquire() {
				break
			}
			continue
		}
		got = append(got, len(p.data))
		if p.wireLen < uint32(len(p.data)) {
			t.Errorf("wire length %d below captured %d", p.wireLen, len(p.data))
		}
	}
	if want := []int{60, 1514, 100}; len(got) != len(want) || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Fatalf("walked frames of lengths %v, want %v", got, want)
	}
	// Blocks given back are the kernel's again.
	for b := 0; b < 2; b++ {
		if s := *r.statusWord(b); s != unix.TP_STATUS_KERNEL {
			t.Errorf("block %d status %#x after release, want TP_STATUS_KERNEL", b, s)
		}
	}
	if r.block != 2 {
		t.Errorf("waiting on block %d, want 2", r.block)
	}
}

// TestRingDistrust checks that offsets pointing outside the block end the
// walk of that block instead of reading out of bounds.
func TestRingDistrust(t *testing.T) {
	r := fakeRing(2, [][]fakePacket{{{data: make([]byte, 60), wireLen: 60}, {data: make([]byte, 60), wireLen: 60}}})
	ne := binary.NativeEndian
	// First packet claims a snap length running past the block.
	ne.PutUint32(r.mem[64+pktSnaplenOff:], blockSize)
	if !r.acquire() {
		t.Fatal("block not acquired")
	}
	if _, ok := r.nextPacket(); ok {
		t.Error("a frame running past its block was returned")
	}
	// A next-offset past the block.
	r = fakeRing(2, [][]fakePacket{{{data: make([]byte, 60), wireLen: 60}, {data: make([]byte, 60), wireLen: 60}}})
	ne.PutUint32(r.mem[64+pktNextOff:], blockSize)
	r.acquire()
	if _, ok := r.nextPacket(); !ok {
		t.Fatal("first frame lost")
	}
	if _, ok := r.nextPacket(); ok {
		t.Error("a frame beyond the block was returned")
	}
	// A first-packet offset past the block.
	r = fakeRing(2, [][]fakePacket{{{data: make([]byte, 60), wireLen: 60}}})
	ne.PutUint32(r.mem[blockFirstPkt:], blockSize-10)
	r.acquire()
	if _, ok := r.nextPacket(); ok {
		t.Error("a frame at a bad first offset was returned")
	}
}

func TestInsertVLAN(t *testing.T) {
	frame := []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 0x08, 0x00, 0x45}
	s := &Source{}
	got := s.insertVLAN(rawPacket{data: frame, status: unix.TP_STATUS_VLAN_VALID, vlanTCI: 0x2005})
	want := []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 0x81, 0x00, 0x20, 0x05, 0x08, 0x00, 0x45}
	if string(got) != string(want) {
		t.Errorf("got % x, want % x", got, want)
	}
	got = s.insertVLAN(rawPacket{data: frame, status: unix.TP_STATUS_VLAN_VALID | unix.TP_STATUS_VLAN_TPID_VALID, vlanTCI: 7, vlanTPID: 0x88a8})
	if got[12] != 0x88 || got[13] != 0xa8 || got[15] != 7 {
		t.Errorf("802.1ad TPID not kept: % x", got)
	}
	if got := s.insertVLAN(rawPacket{data: frame[:5], status: unix.TP_STATUS_VLAN_VALID}); len(got) != 5 {
		t.Errorf("a runt frame grew to %d bytes", len(got))
	}
}

func TestLinkTypeFor(t *testing.T) {
	cases := []struct {
		hatype uint16
		want   capture.LinkType
		ok     bool
	}{
		{unix.ARPHRD_ETHER, capture.LinkTypeEthernet, true},
		{unix.ARPHRD_LOOPBACK, capture.LinkTypeEthernet, true},
		{unix.ARPHRD_NONE, capture.LinkTypeRaw, true},
		{unix.ARPHRD_IEEE80211_RADIOTAP, 0, false},
	}
	for _, c := range cases {
		got, err := linkTypeFor(c.hatype)
		if (err == nil) != c.ok || got != c.want {
			t.Errorf("ARPHRD %d: %d %v, want %d ok=%v", c.hatype, got, err, c.want, c.ok)
		}
	}
}

func TestMentionsVLAN(t *testing.T) {
	for expr, want := range map[string]bool{
		"vlan": true, "tcp and vlan 5": true, "(vlan)": true, "VLAN 3": true,
		"tcp port 80": false, "host vlanhost": false, "": false,
	} {
		if got := mentionsVLAN(expr); got != want {
			t.Errorf("%q: %v, want %v", expr, got, want)
		}
	}
}

// FuzzRingWalk fills a block with arbitrary bytes, marks it ready, and
// walks it: whatever the headers say, the walk must stay inside the block
// and end.
func FuzzRingWalk(f *testing.F) {
	r := fakeRing(1, [][]fakePacket{{{data: make([]byte, 60), wireLen: 60}, {data: make([]byte, 70), wireLen: 70}}})
	f.Add(r.mem[:512])
	f.Fuzz(func(t *testing.T, head []byte) {
		r := &ring{mem: make([]byte, 2*blockSize), blockSize: blockSize, blocks: 2}
		copy(r.mem, head)
		binary.NativeEndian.PutUint32(r.mem[blockStatusOff:], unix.TP_STATUS_USER)
		if !r.acquire() {
			t.Fatal("ready block not acquired")
		}
		for n := 0; ; n++ {
			p, ok := r.nextPacket()
			if !ok {
				break
			}
			if n > blockSize/16 {
				t.Fatal("walk does not end")
			}
			if len(p.data) > blockSize {
				t.Fatalf("a %d-byte frame in a %d-byte block", len(p.data), blockSize)
			}
		}
		r.release()
	})
}
