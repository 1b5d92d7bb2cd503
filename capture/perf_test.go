package capture_test

import (
	"bytes"
	"io"
	"testing"
	"time"

	"github.com/connscope/connscope/capture"
	ct "github.com/connscope/connscope/capture/capturetest"
)

// mixedPcapng writes n packets cycling through interfaces of different link
// types and through TCP, UDP, ARP and IPv6-with-extensions traffic.
func mixedPcapng(n int) []byte {
	var buf bytes.Buffer
	w := ct.NewPcapng(&buf)
	w.Section(false)
	w.Interface(ct.Interface{LinkType: capture.LinkTypeEthernet})
	w.Interface(ct.Interface{LinkType: capture.LinkTypeLinuxSLL2, TSResol: 9})
	w.Interface(ct.Interface{LinkType: capture.LinkTypeNull})
	w.Interface(ct.Interface{LinkType: capture.LinkTypeRaw, TSResol: 0x80 | 24})
	s4, s6 := seg4(), seg6()
	s4.Options = append(ct.OptSACK(2), ct.OptTimestamps(5, 6)...)
	frames := []struct {
		iface uint32
		data  []byte
	}{
		{0, ct.Ethernet(s4.IP(), ct.VLANTag{TPID: ct.EtherQinQ, ID: 1}, ct.VLANTag{TPID: ct.EtherVLAN, ID: 2})},
		{0, ct.Ethernet(ct.UDP(cli4, srv4, []byte("x")))},
		{0, ct.EthernetType(ct.EtherARP, make([]byte, 28))},
		{1, ct.LinuxSLL2(ct.EtherIPv6, s6.IP())},
		{2, ct.Null(30, false, ct.IPv6(cli6.Addr(), srv6.Addr(), 60, ct.IPv6Ext(ct.ProtoTCP, s6.Segment())))},
		{3, s4.IP()},
	}
	for i := range n {
		f := frames[i%len(frames)]
		w.EPB(f.iface, uint64(i), f.data, len(f.data)+100)
	}
	return buf.Bytes()
}

// TestSteadyStateAllocations proves that reading and decoding allocate
// nothing per packet once the Reader and Decoder are warm.
func TestSteadyStateAllocations(t *testing.T) {
	for _, tc := range []struct {
		desc string
		data []byte
	}{
		{"pcapng mixed", mixedPcapng(3000)},
		{"pcap gzip", gzipped(t, httpPcap(3000))},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			r, err := capture.NewReader(bytes.NewReader(tc.data), "mem")
			if err != nil {
				t.Fatal(err)
			}
			d := capture.NewDecoder()
			var s capture.Segment
			segs := 0
			step := func() {
				p, err := r.Next()
				if err != nil {
					t.Fatal(err)
				}
				if d.Decode(p, &s) == capture.SkipNone {
					segs++
				}
			}
			for range 100 {
				step()
			}
			if a := testing.AllocsPerRun(2000, step); a != 0 {
				t.Errorf("%.2f allocations per packet, want 0", a)
			}
			if segs == 0 {
				t.Error("no TCP segments decoded")
			}
		})
	}
}

// httpPcap writes n Ethernet/IPv4/TCP packets shaped like HTTP traffic:
// one full-size data segment for every two small ones.
func httpPcap(n int) []byte {
	var buf bytes.Buffer
	w := ct.NewPcap(&buf, capture.LinkTypeEthernet, ct.PcapOptions{})
	big := seg4()
	big.Payload = make([]byte, 1448)
	big.Options = ct.OptTimestamps(1, 2)
	small := seg4()
	small.Payload = nil
	small.Options = ct.OptTimestamps(1, 2)
	frames := [][]byte{ct.Ethernet(big.IP()), ct.Ethernet(small.IP()), ct.Ethernet(seg4().IP())}
	for i := range n {
		w.Write(int64(i)*1000, frames[i%3])
	}
	return buf.Bytes()
}

// BenchmarkReadDecode reads and decodes an in-memory pcap; one iteration is
// one packet. The packets/s metric is what to compare with the 4 M/s target.
func BenchmarkReadDecode(b *testing.B) {
	for _, bc := range []struct {
		name string
		data []byte
	}{
		{"pcap", httpPcap(100_000)},
		{"pcapng-mixed", mixedPcapng(100_000)},
	} {
		b.Run(bc.name, func(b *testing.B) {
			benchReadDecode(b, bc.data)
		})
	}
}

func benchReadDecode(b *testing.B, data []byte) {
	d := capture.NewDecoder()
	var s capture.Segment
	var r *capture.Reader
	b.SetBytes(int64(len(data)) / 100_000)
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := processCPUTime()
	for range b.N {
		var p *capture.Packet
		var err error
		if r != nil {
			p, err = r.Next()
		}
		if r == nil || err == io.EOF {
			if r, err = capture.NewReader(bytes.NewReader(data), "mem"); err != nil {
				b.Fatal(err)
			}
			p, err = r.Next()
		}
		if err != nil {
			b.Fatal(err)
		}
		d.Decode(p, &s)
	}
	reportRates(b, cpu0)
}

// reportRates reports packets per wall-clock second and per CPU second
// (the latter only where the process CPU time is known).
func reportRates(b *testing.B, cpu0 time.Duration) {
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "packets/s")
	if cpu := processCPUTime() - cpu0; cpu > 0 && cpu0 > 0 {
		b.ReportMetric(float64(b.N)/cpu.Seconds(), "packets/cpu-s")
	}
}

// BenchmarkDecode isolates the decoder on one Ethernet/IPv4/TCP frame.
func BenchmarkDecode(b *testing.B) {
	d := capture.NewDecoder()
	var s capture.Segment
	f := ct.Ethernet(seg4().IP())
	p := &capture.Packet{LinkType: capture.LinkTypeEthernet, Data: f, CaptureLength: len(f), OriginalLength: len(f)}
	b.ReportAllocs()
	cpu0 := processCPUTime()
	for range b.N {
		d.Decode(p, &s)
	}
	reportRates(b, cpu0)
}

// BenchmarkDecodeTunnel decodes one frame of each tunnel kind, taking the
// general path through two levels of layers; nothing is allocated.
func BenchmarkDecodeTunnel(b *testing.B) {
	ip4 := seg4().IP()
	for _, bc := range []struct {
		name  string
		frame []byte
	}{
		{"ipip", ct.Ethernet(ct.IPv4(tun4a, tun4b, ct.ProtoIPIP, 1, ip4))},
		{"gre", ct.Ethernet(grePacket(ct.GREOptions{Key: true}, ct.EtherIPv4, ip4))},
		{"vxlan", ct.Ethernet(vxlanPacket(false, ct.Ethernet(ip4)))},
	} {
		b.Run(bc.name, func(b *testing.B) {
			d := capture.NewDecoder()
			var s capture.Segment
			p := &capture.Packet{LinkType: capture.LinkTypeEthernet, Data: bc.frame, CaptureLength: len(bc.frame), OriginalLength: len(bc.frame)}
			b.ReportAllocs()
			cpu0 := processCPUTime()
			for range b.N {
				if d.Decode(p, &s) != capture.SkipNone {
					b.Fatal("no segment")
				}
			}
			reportRates(b, cpu0)
		})
	}
}
