package capture_test

import (
	"bytes"
	"fmt"
	"io"
	"net/netip"

	"github.com/connscope/connscope/capture"
	ct "github.com/connscope/connscope/capture/capturetest"
)

// Read a capture and decode its TCP segments. (A real program calls
// capture.Open(name); this example builds a small capture in memory.)
func Example() {
	var file bytes.Buffer
	w := ct.NewPcap(&file, capture.LinkTypeEthernet, ct.PcapOptions{})
	c, s := netip.MustParseAddrPort("10.0.0.1:50000"), netip.MustParseAddrPort("10.0.0.2:80")
	w.Write(1e9, ct.Ethernet(ct.TCP{Src: c, Dst: s, Seq: 100, Flags: capture.FlagSYN}.IP()))
	w.Write(2e9, ct.Ethernet(ct.UDP(c, s, []byte("not tcp"))))
	w.Write(3e9, ct.Ethernet(ct.TCP{Src: c, Dst: s, Seq: 101, Flags: capture.FlagACK | capture.FlagPSH, Payload: []byte("GET /")}.IP()))

	r, err := capture.NewReader(&file, "example.pcap")
	if err != nil {
		fmt.Println(err)
		return
	}
	d := capture.NewDecoder()
	var seg capture.Segment
	for {
		p, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			fmt.Println(err) // damage: the packets before it were returned
			break
		}
		if reason := d.Decode(p, &seg); reason != capture.SkipNone {
			fmt.Printf("frame %d: skipped (%v)\n", p.Frame, reason)
			continue
		}
		fmt.Printf("frame %d: %v -> %v [%v] seq %d, %d bytes\n", seg.Frame, seg.Src, seg.Dst, seg.Flags, seg.Seq, seg.PayloadLength)
	}
	st := d.Stats()
	fmt.Printf("%s: %d packets, %d TCP segments, %d skipped\n", r.Format(), st.Packets, st.TCPSegments, st.SkippedTotal())
	// Output:
	// frame 1: 10.0.0.1:50000 -> 10.0.0.2:80 [S] seq 100, 0 bytes
	// frame 2: skipped (udp)
	// frame 3: 10.0.0.1:50000 -> 10.0.0.2:80 [P.] seq 101, 5 bytes
	// pcap: 3 packets, 2 TCP segments, 1 skipped
}
