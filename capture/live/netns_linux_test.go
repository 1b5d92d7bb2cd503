//go:build linux

package live

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// vethPair is two network namespaces joined by a veth pair:
//
//	namespace A (client)  ifA 10.251.N.1  <-veth->  ifB 10.251.N.2  namespace B (server)
//
// Names start with "cslive-" and carry the test process id so concurrent
// runs do not collide. Traffic stays between the two addresses.
type vethPair struct {
	nsA, nsB string
	ifA, ifB string
	ipA, ipB string
}

// newVethPair creates the namespaces, or skips the test when that is not
// possible (not root, no `ip`). They are deleted when the test ends, even
// when it fails.
func newVethPair(t testing.TB) *vethPair {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("the veth integration test needs root to create network namespaces; skipping")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("iproute2 (`ip`) not installed; skipping")
	}
	id := os.Getpid() % 10000
	v := &vethPair{
		nsA: fmt.Sprintf("cslive-a%d", id), nsB: fmt.Sprintf("cslive-b%d", id),
		ifA: fmt.Sprintf("cslive-va%d", id), ifB: fmt.Sprintf("cslive-vb%d", id),
		ipA: fmt.Sprintf("10.251.%d.1", id%250), ipB: fmt.Sprintf("10.251.%d.2", id%250),
	}
	v.cleanup()
	t.Cleanup(v.cleanup)
	cmds := [][]string{
		{"netns", "add", v.nsA},
		{"netns", "add", v.nsB},
		{"link", "add", v.ifA, "netns", v.nsA, "type", "veth", "peer", "name", v.ifB, "netns", v.nsB},
		{"-n", v.nsA, "addr", "add", v.ipA + "/24", "dev", v.ifA},
		{"-n", v.nsB, "addr", "add", v.ipB + "/24", "dev", v.ifB},
		{"-n", v.nsA, "link", "set", v.ifA, "up"},
		{"-n", v.nsB, "link", "set", v.ifB, "up"},
		{"-n", v.nsA, "link", "set", "lo", "up"},
		{"-n", v.nsB, "link", "set", "lo", "up"},
	}
	for _, args := range cmds {
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	return v
}

func (v *vethPair) cleanup() {
	for _, ns := range []string{v.nsA, v.nsB} {
		exec.Command("ip", "netns", "del", ns).Run()
	}
}

// inNetns runs fn on an OS thread moved into the named namespace. Sockets
// created inside fn belong to that namespace for good, whichever thread
// uses them later. The thread is never given back to the Go scheduler (the
// goroutine exits locked), so no other goroutine runs in the namespace.
func inNetns(ns string, fn func() error) error {
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		f, err := os.Open("/run/netns/" + ns)
		if err != nil {
			done <- err
			return
		}
		defer f.Close()
		if err := unix.Setns(int(f.Fd()), unix.CLONE_NEWNET); err != nil {
			done <- fmt.Errorf("setns %s: %w", ns, err)
			return
		}
		done <- fn()
	}()
	return <-done
}

// dialer returns a DialContext that opens connections from namespace ns.
func dialer(ns string) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		var c net.Conn
		err := inNetns(ns, func() error {
			var err error
			c, err = (&net.Dialer{}).DialContext(ctx, network, addr)
			return err
		})
		return c, err
	}
}

func writeFile(path string, b []byte) error { return os.WriteFile(path, b, 0o644) }
