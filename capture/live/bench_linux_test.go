//go:build linux

package live

import (
	"fmt"
	"io"
	"net"
	"os/exec"
	"sync"
	"testing"
	"time"
)

// BenchmarkVethCapture measures how many packets per second the Source
// keeps up with, and whether the kernel dropped any, while a bulk transfer
// runs between two network namespaces over veth; the capture runs on the
// receiving end. Each iteration moves transferBytes over TCP (or sends
// udpPackets small UDP datagrams). Metrics:
//
//	pkts/s   captured packets per second of capture
//	drops    frames the kernel dropped because the ring was full
//	MB/s     captured bytes per second
//
// Run it with capture/live/measure_veth.sh, or
//
//	go test -run '^$' -bench VethCapture -benchtime 1x ./capture/live
//
// "mtu" variants turn segmentation offloads off with ethtool, so frames are
// MTU-sized as on a physical link instead of 64 KiB GSO super-packets.
func BenchmarkVethCapture(b *testing.B) {
	b.Run("tcp-bulk", func(b *testing.B) { benchVeth(b, "tcp", false) })
	b.Run("tcp-bulk-mtu", func(b *testing.B) { benchVeth(b, "tcp", true) })
	b.Run("udp-small", func(b *testing.B) { benchVeth(b, "udp", false) })
	b.Run("drain", benchDrain)
}

// benchDrain measures the reader alone: small datagrams are queued in the
// ring while nobody reads, then the clock runs while Next drains them.
// This is the ceiling of the user-space side (ring walk, VLAN check, filter
// re-check), independent of how fast this machine can generate traffic.
func benchDrain(b *testing.B) {
	v := newVethPair(b)
	var src *Source
	if err := inNetns(v.nsB, func() error {
		var err error
		// A long block timeout packs blocks full, so the ring holds the
		// whole burst while nobody reads.
		src, err = Open(v.ifB, Options{Filter: fmt.Sprintf("udp port %d", benchPort), BufferSize: 128 << 20, BlockTimeout: 2 * time.Second})
		return err
	}); err != nil {
		b.Fatal(err)
	}
	defer src.Close()
	var total time.Duration
	var read uint64
	for range b.N {
		udpBlastN(b, v, drainPackets)
		time.Sleep(2500 * time.Millisecond) // let the last block retire
		watchdog := time.AfterFunc(30*time.Second, src.Stop)
		start := time.Now()
		for n := 0; n < drainPackets; n++ {
			if _, err := src.Next(); err != nil {
				_, drops := src.Stats()
				b.Fatalf("after %d of %d packets (%d drops): %v", n, drainPackets, drops, err)
			}
		}
		watchdog.Stop()
		total += time.Since(start)
		read += drainPackets
	}
	_, drops := src.Stats()
	b.ReportMetric(float64(read)/total.Seconds(), "pkts/s")
	b.ReportMetric(float64(total.Nanoseconds())/float64(read), "ns/pkt")
	b.ReportMetric(float64(drops), "drops")
}

const (
	transferBytes = 1 << 30
	udpPackets    = 1_000_000
	udpSenders    = 2
	drainPackets  = 200_000
	benchPort     = 5001
)

func benchVeth(b *testing.B, proto string, mtu bool) {
	v := newVethPair(b)
	if mtu {
		if _, err := exec.LookPath("ethtool"); err != nil {
			b.Skip("ethtool not installed: cannot turn offloads off")
		}
		for _, side := range [][2]string{{v.nsA, v.ifA}, {v.nsB, v.ifB}} {
			out, err := exec.Command("ip", "netns", "exec", side[0], "ethtool", "-K", side[1], "tso", "off", "gso", "off", "gro", "off").CombinedOutput()
			if err != nil {
				b.Fatalf("ethtool: %v\n%s", err, out)
			}
		}
	}
	var src *Source
	if err := inNetns(v.nsB, func() error {
		var err error
		src, err = Open(v.ifB, Options{Filter: fmt.Sprintf("%s port %d", proto, benchPort)})
		return err
	}); err != nil {
		b.Fatal(err)
	}
	defer src.Close()

	var captured, capturedBytes uint64
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			p, err := src.Next()
			if err != nil {
				return
			}
			captured++
			capturedBytes += uint64(p.CaptureLength)
		}
	}()

	b.ResetTimer()
	start := time.Now()
	for range b.N {
		switch proto {
		case "tcp":
			tcpTransfer(b, v)
		case "udp":
			udpBlast(b, v)
		}
	}
	time.Sleep(100 * time.Millisecond) // let the last blocks retire
	src.Stop()
	wg.Wait()
	elapsed := time.Since(start).Seconds()
	b.StopTimer()
	_, drops := src.Stats()
	b.ReportMetric(float64(captured)/elapsed, "pkts/s")
	b.ReportMetric(float64(capturedBytes)/elapsed/1e6, "MB/s")
	b.ReportMetric(float64(drops), "drops")
	b.ReportMetric(float64(captured)/float64(b.N), "pkts/op")
}

func tcpTransfer(b *testing.B, v *vethPair) {
	var ln net.Listener
	if err := inNetns(v.nsB, func() error {
		var err error
		ln, err = net.Listen("tcp4", net.JoinHostPort(v.ipB, fmt.Sprint(benchPort)))
		return err
	}); err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	done := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			done <- err
			return
		}
		_, err = io.Copy(io.Discard, c)
		c.Close()
		done <- err
	}()
	var c net.Conn
	if err := inNetns(v.nsA, func() error {
		var err error
		c, err = net.Dial("tcp4", net.JoinHostPort(v.ipB, fmt.Sprint(benchPort)))
		return err
	}); err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, 1<<20)
	for sent := 0; sent < transferBytes; sent += len(buf) {
		if _, err := c.Write(buf); err != nil {
			b.Fatal(err)
		}
	}
	c.Close()
	if err := <-done; err != nil {
		b.Fatal(err)
	}
}

// udpBlast sends udpPackets small datagrams from namespace A with
// udpSenders goroutines to a socket bound (but never read) in B, so no ICMP
// errors slow the senders down.
func udpBlast(b *testing.B, v *vethPair) { udpBlastN(b, v, udpPackets) }

func udpBlastN(b *testing.B, v *vethPair, packets int) {
	var sink net.PacketConn
	if err := inNetns(v.nsB, func() error {
		var err error
		sink, err = net.ListenPacket("udp4", net.JoinHostPort(v.ipB, fmt.Sprint(benchPort)))
		return err
	}); err != nil {
		b.Fatal(err)
	}
	defer sink.Close()
	var wg sync.WaitGroup
	for range udpSenders {
		var c net.Conn
		if err := inNetns(v.nsA, func() error {
			var err error
			c, err = net.Dial("udp4", net.JoinHostPort(v.ipB, fmt.Sprint(benchPort)))
			return err
		}); err != nil {
			b.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer c.Close()
			payload := make([]byte, 18) // 64-byte Ethernet frames
			for range packets / udpSenders {
				c.Write(payload)
			}
		}()
	}
	wg.Wait()
}
