package diagnose

import (
	"net/netip"
	"testing"

	"github.com/connscope/connscope/capture"
	"github.com/connscope/connscope/reassembly"
)

// keptCloses is a closeChecker that also keeps the connections it checked.
type keptCloses struct {
	*closeChecker
	conns []*reassembly.Connection
}

func (k *keptCloses) Closed(c *reassembly.Connection) {
	k.closeChecker.Closed(c)
	k.conns = append(k.conns, c)
}

// TestCloseScanSkipsIgnoredRST: a RST the connection outlived (suricata's
// security-4710 capture: a RST with a TCP-MD5 option the server dropped,
// then the request, the response and both FINs) is no close; the segment
// scan must find the first FIN, as the direction stats do.
func TestCloseScanSkipsIgnoredRST(t *testing.T) {
	cli, srv := netip.MustParseAddrPort("10.0.0.1:40000"), netip.MustParseAddrPort("10.0.0.2:80")
	const cliISN, srvISN = 1000, 5000
	var segs []*capture.Segment
	add := func(fromClient bool, ms int64, flags capture.TCPFlags, seq, ack uint32, payload string) {
		s := &capture.Segment{Frame: uint64(len(segs) + 1), Time: 1_700_000_000e9 + ms*1e6, Flags: flags,
			Window: 65535, Payload: []byte(payload), PayloadLength: len(payload), IPID: uint16(len(segs) + 1)}
		s.Options.WindowScale = -1
		s.Src, s.Dst, s.Seq, s.Ack = cli, srv, cliISN+seq, srvISN+ack
		if !fromClient {
			s.Src, s.Dst, s.Seq, s.Ack = srv, cli, srvISN+seq, cliISN+ack
		}
		if flags&capture.FlagACK == 0 {
			s.Ack = 0
		}
		segs = append(segs, s)
	}
	const req, resp = "GET / HTTP/1.1\r\n\r\n", "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
	a, pa := capture.FlagACK, capture.FlagPSH|capture.FlagACK
	add(true, 0, capture.FlagSYN, 0, 0, "")
	add(false, 10, capture.FlagSYN|a, 0, 1, "")
	add(true, 20, a, 1, 1, "")
	add(true, 30, capture.FlagRST|a, 1, 1, "") // 4: ignored
	add(true, 40, pa, 1, 1, req)
	add(false, 41, pa, 1, 19, resp)
	add(false, 42, capture.FlagFIN|a, 39, 19, "") // 7: the first close
	add(true, 50, capture.FlagFIN|a, 19, 40, "")
	add(false, 51, a, 40, 20, "")

	k := &keptCloses{closeChecker: &closeChecker{t: t, file: "hand-built"}}
	asm := reassembly.NewAssembler(reassembly.Config{}, k)
	for _, s := range segs {
		asm.Add(s)
	}
	asm.Flush()
	if len(k.conns) != 1 || k.conns[0].IgnoredRSTs != 1 {
		t.Fatalf("want one connection that outlived one RST, got %d connections", len(k.conns))
	}
	v := newConnView(&ConnInfo{Conn: k.conns[0]})
	if v.closeFrame != 7 {
		t.Errorf("first close at frame %d, want the server's FIN, frame 7", v.closeFrame)
	}
	if f, _ := v.closeAfter(0); f != 7 {
		t.Errorf("closeAfter found frame %d, want 7", f)
	}
}
