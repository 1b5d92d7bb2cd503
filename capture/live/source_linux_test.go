//go:build linux

package live

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/connscope/connscope/capture"
)

func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("live capture tests need root (CAP_NET_RAW); skipping")
	}
}

// tcpPorts returns the TCP ports of an Ethernet/IPv4 frame.
func tcpPorts(data []byte) (src, dst uint16, ok bool) {
	if len(data) < 14+20+4 || data[12] != 0x08 || data[13] != 0x00 || data[14+9] != 6 {
		return 0, 0, false
	}
	ihl := int(data[14]&0x0f) * 4
	if len(data) < 14+ihl+4 {
		return 0, 0, false
	}
	tcp := data[14+ihl:]
	return uint16(tcp[0])<<8 | uint16(tcp[1]), uint16(tcp[2])<<8 | uint16(tcp[3]), true
}

// TestLoopbackCapture captures a TCP exchange on lo with a port filter and
// checks what comes back: only that port, frames numbered from 1, capture
// times in order and close to now, loopback frames not duplicated.
func TestLoopbackCapture(t *testing.T) {
	requireRoot(t)
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := uint16(ln.Addr().(*net.TCPAddr).Port)
	other, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()

	src, err := Open("lo", Options{Filter: "tcp port " + strconv.Itoa(int(port))})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	if src.LinkType() != capture.LinkTypeEthernet {
		t.Errorf("lo link type %d, want Ethernet", src.LinkType())
	}
	before := time.Now().UnixNano()
	go func() {
		for _, l := range []net.Listener{other, ln} { // other first: its frames precede ours in the ring
			go func() {
				c, err := l.Accept()
				if err == nil {
					io.Copy(io.Discard, c)
					c.Close()
				}
			}()
			c, err := net.Dial("tcp4", l.Addr().String())
			if err != nil {
				return
			}
			c.Write([]byte("hello"))
			c.Close()
		}
	}()

	var frames []*capture.Packet
	var sawFIN bool
	deadline := time.AfterFunc(10*time.Second, src.Stop)
	defer deadline.Stop()
	for !sawFIN || len(frames) < 6 {
		p, err := src.Next()
		if err == io.EOF {
			t.Fatalf("stopped after %d frames without seeing the whole exchange", len(frames))
		}
		if err != nil {
			t.Fatal(err)
		}
		cp := *p
		cp.Data = append([]byte(nil), p.Data...)
		frames = append(frames, &cp)
		s, d, ok := tcpPorts(p.Data)
		if !ok || (s != port && d != port) {
			t.Fatalf("frame %d passed the filter but is not TCP port %d: % x", p.Frame, port, p.Data[:min(len(p.Data), 40)])
		}
		ihl := int(p.Data[14]&0x0f) * 4
		if p.Data[14+ihl+13]&0x01 != 0 && s != port {
			sawFIN = true // the client's FIN
		}
	}
	after := time.Now().UnixNano()
	seen := map[string]bool{}
	for i, p := range frames {
		if p.Frame != uint64(i+1) {
			t.Errorf("frame %d numbered %d", i+1, p.Frame)
		}
		if p.Time < before-int64(time.Second) || p.Time > after {
			t.Errorf("frame %d time %d outside the capture window [%d, %d]", p.Frame, p.Time, before, after)
		}
		if i > 0 && p.Time < frames[i-1].Time {
			t.Errorf("frame %d goes back in time", p.Frame)
		}
		if p.CaptureLength != len(p.Data) || p.OriginalLength < p.CaptureLength {
			t.Errorf("frame %d lengths: captured %d, data %d, original %d", p.Frame, p.CaptureLength, len(p.Data), p.OriginalLength)
		}
		if seen[string(p.Data)] {
			t.Errorf("frame %d is a duplicate (loopback frames must be kept once)", p.Frame)
		}
		seen[string(p.Data)] = true
	}
	if pk, drops := src.Stats(); pk < uint64(len(frames)) || drops != 0 {
		t.Errorf("stats: %d packets, %d drops; delivered %d", pk, drops, len(frames))
	}
	if !src.KernelFilter() {
		t.Error("the port filter was not attached to the kernel")
	}
	// The exchange with the other listener must have been dropped by the
	// kernel filter, never reaching the user-space check.
	if pureGo && src.Filtered() != 0 {
		t.Errorf("the user-space check rejected %d frames the kernel filter should have dropped", src.Filtered())
	}
}

func TestStopUnblocksNext(t *testing.T) {
	requireRoot(t)
	src, err := Open("lo", Options{Filter: "udp port 9 and host 127.0.0.253"})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	done := make(chan error, 1)
	go func() {
		_, err := src.Next()
		done <- err
	}()
	time.Sleep(50 * time.Millisecond)
	src.Stop()
	select {
	case err := <-done:
		if err != io.EOF {
			t.Fatalf("Next after Stop: %v, want io.EOF", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Next still blocked 10 s after Stop")
	}
	if _, err := src.Next(); err != io.EOF {
		t.Errorf("second Next after Stop: %v, want io.EOF", err)
	}
}

func TestDurationAndCount(t *testing.T) {
	requireRoot(t)
	src, err := Open("lo", Options{Filter: "udp port 9 and host 127.0.0.253", Duration: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := src.Next(); err != io.EOF {
		t.Errorf("Next after Duration: %v, want io.EOF", err)
	}
	src.Close()

	src, err = Open("lo", Options{Filter: "udp and dst host 127.0.0.1 and dst port 9", Count: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	c, err := net.Dial("udp4", "127.0.0.1:9")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for range 5 {
		c.Write([]byte("x"))
	}
	for i := range 2 {
		if _, err := src.Next(); err != nil {
			t.Fatalf("packet %d: %v", i+1, err)
		}
	}
	if _, err := src.Next(); err != io.EOF {
		t.Errorf("Next after Count: %v, want io.EOF", err)
	}
}

func TestUnknownInterface(t *testing.T) {
	_, err := Open("cslive-nonexistent0", Options{})
	if !errors.Is(err, ErrNoSuchInterface) {
		t.Fatalf("got %v, want ErrNoSuchInterface", err)
	}
	if !strings.Contains(err.Error(), "lo") {
		t.Errorf("error does not list the available interfaces: %v", err)
	}
}

func TestBadFilter(t *testing.T) {
	requireRoot(t)
	_, err := Open("lo", Options{Filter: "tcp port"})
	if err == nil || !strings.Contains(err.Error(), "lo") {
		t.Fatalf("got %v, want a filter error naming the interface", err)
	}
}

// TestPermissionError opens a capture without CAP_NET_RAW: directly when
// the test runs unprivileged, otherwise in a child process running as
// nobody.
func TestPermissionError(t *testing.T) {
	if os.Getenv("CSLIVE_UNPRIVILEGED_CHILD") == "1" || os.Geteuid() != 0 {
		_, err := Open("lo", Options{})
		if !errors.Is(err, ErrPermission) {
			t.Fatalf("got %v, want ErrPermission", err)
		}
		if !strings.Contains(err.Error(), "setcap cap_net_raw,cap_net_admin=eip") {
			t.Errorf("error does not say how to fix it: %v", err)
		}
		return
	}
	// The test binary lives in a directory only root can enter: copy it
	// where nobody can run it.
	dir, err := os.MkdirTemp("", "cslive-perm-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	bin, err := os.ReadFile(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	exe := filepath.Join(dir, "live.test")
	if err := os.WriteFile(exe, bin, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^TestPermissionError$", "-test.v")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CSLIVE_UNPRIVILEGED_CHILD=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	if err != nil {
		if strings.Contains(err.Error(), "permission denied") {
			t.Skipf("cannot run the test binary as nobody: %v", err)
		}
		t.Fatalf("unprivileged child failed: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "--- PASS: TestPermissionError") {
		t.Fatalf("unprivileged child did not run the check:\n%s", out)
	}
}

func TestStopWhenDone(t *testing.T) {
	requireRoot(t)
	src, err := Open("lo", Options{Filter: "udp port 9 and host 127.0.0.253"})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	ctx, cancel := context.WithCancel(context.Background())
	src.StopWhenDone(ctx)
	done := make(chan error, 1)
	go func() {
		_, err := src.Next()
		done <- err
	}()
	cancel()
	select {
	case err := <-done:
		if err != io.EOF {
			t.Fatalf("Next after cancel: %v, want io.EOF", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Next still blocked 10 s after the context was cancelled")
	}
}

// TestInterfaceRemoved deletes the interface under a running capture:
// Next must return an error naming the interface instead of blocking.
func TestInterfaceRemoved(t *testing.T) {
	v := newVethPair(t)
	var src *Source
	if err := inNetns(v.nsB, func() error {
		var err error
		src, err = Open(v.ifB, Options{})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	done := make(chan error, 1)
	go func() {
		for {
			if _, err := src.Next(); err != nil {
				done <- err
				return
			}
		}
	}()
	if out, err := exec.Command("ip", "-n", v.nsA, "link", "del", v.ifA).CombinedOutput(); err != nil {
		t.Fatalf("deleting the veth: %v\n%s", err, out)
	}
	select {
	case err := <-done:
		if err == io.EOF || !strings.Contains(err.Error(), v.ifB) {
			t.Errorf("Next after the interface went away: %v, want an error naming %s", err, v.ifB)
		}
		t.Logf("Next: %v", err)
	case <-time.After(10 * time.Second):
		src.Stop()
		t.Fatal("Next still blocked 10 s after the interface was deleted")
	}
}

func TestInterfaceDown(t *testing.T) {
	v := newVethPair(t)
	if out, err := exec.Command("ip", "-n", v.nsB, "link", "set", v.ifB, "down").CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	err := inNetns(v.nsB, func() error {
		src, err := Open(v.ifB, Options{})
		if err == nil {
			src.Close()
		}
		return err
	})
	if !errors.Is(err, ErrInterfaceDown) || !strings.Contains(err.Error(), "ip link set "+v.ifB+" up") {
		t.Fatalf("got %v, want ErrInterfaceDown saying how to bring it up", err)
	}
}
