//go:build linux

package live

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// taggedFrame builds an Ethernet frame carrying IPv4/TCP from port 40000 to
// dstPort, with an 802.1Q tag when vlan >= 0.
func taggedFrame(vlan int, dstPort uint16, seq uint32, payload []byte) []byte {
	b := []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0, 0, 0, 0, 1}
	if vlan >= 0 {
		b = binary.BigEndian.AppendUint16(b, 0x8100)
		b = binary.BigEndian.AppendUint16(b, uint16(vlan))
	}
	b = binary.BigEndian.AppendUint16(b, 0x0800)
	ip := make([]byte, 20)
	ip[0], ip[8], ip[9] = 0x45, 64, 6
	binary.BigEndian.PutUint16(ip[2:], uint16(20+20+len(payload)))
	copy(ip[12:], []byte{10, 252, 0, 1})
	copy(ip[16:], []byte{10, 252, 0, 2})
	tcp := make([]byte, 20)
	binary.BigEndian.PutUint16(tcp[0:], 40000)
	binary.BigEndian.PutUint16(tcp[2:], dstPort)
	binary.BigEndian.PutUint32(tcp[4:], seq)
	tcp[12], tcp[13] = 5<<4, 0x18
	b = append(b, ip...)
	b = append(b, tcp...)
	return append(b, payload...)
}

// TestVLANTagRestored injects 802.1Q-tagged frames into one veth end with
// a packet socket. The receiving kernel strips the tag before any capture
// sees the frame and passes it as metadata; the Source must put it back so
// that what it returns is byte for byte what was sent, and what tcpdump
// records. The filter tests the tag, so it must not run in the kernel
// (which sees the frame untagged) and must select the right frames in user
// space.
func TestVLANTagRestored(t *testing.T) {
	v := newVethPair(t)
	var sent [][]byte
	var want [][]byte
	for i := range 12 {
		payload := bytes.Repeat([]byte{byte(i)}, 10+i*37)
		var f []byte
		switch i % 3 {
		case 0, 1:
			f = taggedFrame(42, 8080, uint32(i), payload)
			want = append(want, f)
		case 2:
			f = taggedFrame(7, 8080, uint32(i), payload)
		}
		sent = append(sent, f)
		sent = append(sent, taggedFrame(-1, 8080, uint32(i), payload)) // untagged: not "vlan 42"
	}
	const filter = "vlan 42 and tcp port 8080"
	tcpdumpFile := filepath.Join(t.TempDir(), "vlan.pcap")
	var stopTcpdump func()
	if _, err := exec.LookPath("tcpdump"); err == nil {
		td := startTcpdump(t, v.nsB, v.ifB, filter, tcpdumpFile)
		stopTcpdump = func() { td.stop(t) }
	} else {
		t.Log("tcpdump not installed: checking against the frames sent only")
	}

	var src *Source
	if err := inNetns(v.nsB, func() error {
		var err error
		src, err = Open(v.ifB, Options{Filter: filter})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	if pureGo && src.KernelFilter() {
		t.Error("a VLAN filter was attached to the kernel, which sees frames without their tag")
	}
	got := collect(src)

	if err := inNetns(v.nsA, func() error { return sendFrames(v.ifA, sent) }); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	src.Stop()
	ours := <-got
	if len(ours) != len(want) {
		t.Fatalf("captured %d frames, want the %d tagged with VLAN 42", len(ours), len(want))
	}
	for i := range want {
		if !bytes.Equal(ours[i].Data, want[i]) {
			t.Errorf("frame %d differs from the frame sent:\n got % x\nwant % x", i+1, ours[i].Data[:18], want[i][:18])
		}
		if ours[i].OriginalLength != len(want[i]) {
			t.Errorf("frame %d: original length %d, want %d", i+1, ours[i].OriginalLength, len(want[i]))
		}
	}
	if pureGo && src.Filtered() == 0 {
		t.Error("the user-space check rejected nothing, but the kernel let every frame through")
	}
	if stopTcpdump != nil {
		stopTcpdump()
		theirs := readAll(t, tcpdumpFile)
		if len(theirs) != len(ours) {
			t.Fatalf("tcpdump recorded %d frames, the Source %d", len(theirs), len(ours))
		}
		for i := range theirs {
			if !bytes.Equal(theirs[i].Data, ours[i].Data) {
				t.Errorf("frame %d differs from tcpdump's", i+1)
			}
		}
	}
}

// sendFrames writes raw frames out of iface through a packet socket.
func sendFrames(iface string, frames [][]byte) error {
	ifi, err := net.InterfaceByName(iface)
	if err != nil {
		return err
	}
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	to := &unix.SockaddrLinklayer{Ifindex: ifi.Index, Halen: 6}
	for i, f := range frames {
		if err := unix.Sendto(fd, f, 0, to); err != nil {
			return fmt.Errorf("frame %d: %w", i+1, err)
		}
	}
	return nil
}
