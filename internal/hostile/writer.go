package hostile

import (
	"bufio"
	"encoding/binary"
	"io"
	"net/netip"

	"github.com/connscope/connscope/capture"
	"github.com/connscope/connscope/capture/capturetest"
)

// mss is the payload carried by one full segment in every scenario.
const mss = 1448

// stepNS is how far the capture clock moves between two frames unless a
// scenario says otherwise: 10 µs, a busy but plausible link.
const stepNS = 10_000

// startNS is the capture time of the first frame of every scenario
// (2024-01-01T00:00:00Z), so runs are reproducible.
const startNS = int64(1704067200) * 1e9

// capWriter streams Ethernet frames into a classic pcap. It keeps no frame
// after writing it, so scenarios of millions of frames use constant memory.
type capWriter struct {
	buf  *bufio.Writer
	pcap *capturetest.Pcap
	now  int64  // capture time of the next frame, ns
	ipID uint16 // IPv4 ID of the next frame
	// dup, when set, writes every frame twice, 1 µs apart, as a capture
	// taken on a mirrored port does.
	dup bool
	// skewEvery, when set, stamps every skewEvery-th frame 5 s earlier
	// than its predecessor: time going backwards, as captures merged from
	// several interfaces or a clock step show.
	skewEvery int
	frames    int
}

func newCapWriter(w io.Writer) *capWriter {
	b := bufio.NewWriterSize(w, 1<<16)
	return &capWriter{buf: b, pcap: capturetest.NewPcap(b, capture.LinkTypeEthernet, capturetest.PcapOptions{Nanosecond: true}), now: startNS}
}

// frame writes one frame at the current time and advances the clock.
func (w *capWriter) frame(data []byte) {
	w.frames++
	t := w.now
	if w.skewEvery > 0 && w.frames%w.skewEvery == 0 {
		t -= 5e9
	}
	w.pcap.Write(t, data)
	if w.dup {
		w.pcap.Write(t+1000, data)
	}
	w.now += stepNS
}

// segment writes one TCP segment in an IPv4 or IPv6 packet over Ethernet.
func (w *capWriter) segment(t capturetest.TCP) {
	w.ipID++
	t.IPID = w.ipID
	w.frame(capturetest.Ethernet(t.IP()))
}

// fragmented writes one IPv4 TCP segment as two IP fragments, split after
// the first 8*k bytes of the IP payload (the TCP header and some data).
func (w *capWriter) fragmented(t capturetest.TCP) {
	w.ipID++
	t.IPID = w.ipID
	whole := t.IP()
	payload := whole[20:]
	cut := min(24, len(payload)) &^ 7
	if cut == 0 || cut == len(payload) {
		w.frame(capturetest.Ethernet(whole))
		return
	}
	first := ipv4Fragment(whole[:20], payload[:cut], 0, true)
	second := ipv4Fragment(whole[:20], payload[cut:], cut, false)
	w.frame(capturetest.Ethernet(first))
	w.frame(capturetest.Ethernet(second))
}

// ipv4Fragment copies header hdr (20 bytes, no options) around part, with
// the fragment offset and More Fragments flag set and the checksum redone.
func ipv4Fragment(hdr, part []byte, offset int, more bool) []byte {
	b := make([]byte, 20+len(part))
	copy(b, hdr)
	copy(b[20:], part)
	binary.BigEndian.PutUint16(b[2:], uint16(len(b)))
	ff := uint16(offset / 8)
	if more {
		ff |= 0x2000
	}
	binary.BigEndian.PutUint16(b[6:], ff)
	b[10], b[11] = 0, 0
	binary.BigEndian.PutUint16(b[10:], ipChecksum(b[:20]))
	return b
}

func ipChecksum(h []byte) uint16 {
	var s uint32
	for i := 0; i+1 < len(h); i += 2 {
		s += uint32(h[i])<<8 | uint32(h[i+1])
	}
	for s > 0xffff {
		s = s&0xffff + s>>16
	}
	return ^uint16(s)
}

// close flushes the buffered frames and reports the first write error.
func (w *capWriter) close() error {
	if err := w.buf.Flush(); err != nil {
		return err
	}
	return w.pcap.Err()
}

// flow is one TCP connection being written: it tracks both sides' next
// sequence numbers so every segment acknowledges what the peer sent.
type flow struct {
	w        *capWriter
	cli, srv netip.AddrPort
	cseq     uint32 // client's next sequence number
	sseq     uint32 // server's next sequence number
	// frag, when set, sends every client data segment as IP fragments.
	frag bool
	// tun, when set, wraps every segment in tunnels (nested-tunnels).
	tun *tunnelPlan
}

func newFlow(w *capWriter, cli, srv netip.AddrPort, isn uint32) *flow {
	return &flow{w: w, cli: cli, srv: srv, cseq: isn, sseq: isn*7 + 12345}
}

// tcp returns a segment from the client (fromClient) or the server, with
// the sequence number of that side and the other side's as the ACK.
func (f *flow) tcp(fromClient bool, flags capture.TCPFlags, payload []byte) capturetest.TCP {
	t := capturetest.TCP{Src: f.cli, Dst: f.srv, Seq: f.cseq, Ack: f.sseq, Flags: flags, Window: 65535, Payload: payload}
	if !fromClient {
		t.Src, t.Dst, t.Seq, t.Ack = f.srv, f.cli, f.sseq, f.cseq
	}
	if flags&capture.FlagACK == 0 {
		t.Ack = 0
	}
	return t
}

// advance moves a side's sequence number past n bytes (SYN and FIN count
// one).
func (f *flow) advance(fromClient bool, n int) {
	if fromClient {
		f.cseq += uint32(n)
	} else {
		f.sseq += uint32(n)
	}
}

// segment writes one segment of the flow, in its tunnels if it has any.
func (f *flow) segment(t capturetest.TCP) {
	if f.tun != nil {
		f.tun.write(f.w, t)
		return
	}
	f.w.segment(t)
}

// syn writes only the client's SYN.
func (f *flow) syn() {
	f.segment(f.tcp(true, capture.FlagSYN, nil))
	f.advance(true, 1)
}

// handshake writes SYN, SYN/ACK, ACK.
func (f *flow) handshake() {
	f.syn()
	f.segment(f.tcp(false, capture.FlagSYN|capture.FlagACK, nil))
	f.advance(false, 1)
	f.segment(f.tcp(true, capture.FlagACK, nil))
}

// send writes data from one side in full-sized segments, PSH on the last.
func (f *flow) send(fromClient bool, data []byte) {
	for len(data) > 0 {
		n := min(mss, len(data))
		flags := capture.FlagACK
		if n == len(data) {
			flags |= capture.FlagPSH
		}
		t := f.tcp(fromClient, flags, data[:n])
		if fromClient && f.frag {
			f.w.fragmented(t)
		} else {
			f.segment(t)
		}
		f.advance(fromClient, n)
		data = data[n:]
	}
}

// ack writes a pure ACK from one side.
func (f *flow) ack(fromClient bool) { f.segment(f.tcp(fromClient, capture.FlagACK, nil)) }

// fin writes a FIN from one side.
func (f *flow) fin(fromClient bool) {
	f.segment(f.tcp(fromClient, capture.FlagFIN|capture.FlagACK, nil))
	f.advance(fromClient, 1)
}

// rst writes a RST from one side.
func (f *flow) rst(fromClient bool) {
	f.segment(f.tcp(fromClient, capture.FlagRST|capture.FlagACK, nil))
}

// closeBoth writes the usual four-way close, started by one side.
func (f *flow) closeBoth(clientFirst bool) {
	f.fin(clientFirst)
	f.fin(!clientFirst)
	f.ack(clientFirst)
}

// clientAddr numbers client endpoints: i picks an address in 10.0.0.0/8
// and a port in the ephemeral range, so i → endpoint is one to one for
// i below 2^24 * 28000.
func clientAddr(i int) netip.AddrPort {
	const ports = 28000 // Linux's ephemeral range holds about this many
	host := i / ports
	a := netip.AddrFrom4([4]byte{10, byte(host >> 16), byte(host >> 8), byte(host)})
	return netip.AddrPortFrom(a, uint16(32768+i%ports))
}

// server is the one server every scenario talks to.
var server = netip.AddrPortFrom(netip.AddrFrom4([4]byte{192, 0, 2, 80}), 80)
