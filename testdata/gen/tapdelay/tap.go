package main

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"
)

// openTAPIn attaches to the persistent TAP device "NETNS/IFNAME". A TAP is
// looked up in the network namespace of the calling thread, so the attach runs
// on a locked OS thread that first enters the namespace. That thread is never
// unlocked: when its goroutine ends, the Go runtime retires it, so no other
// goroutine ever runs in the wrong namespace. The returned file keeps working
// from any thread.
func openTAPIn(spec string) (*os.File, error) {
	netns, ifname, ok := strings.Cut(spec, "/")
	if !ok || netns == "" || ifname == "" {
		return nil, fmt.Errorf("tap %q: want NETNS/IFNAME", spec)
	}
	type result struct {
		f   *os.File
		err error
	}
	done := make(chan result, 1)
	go func() {
		runtime.LockOSThread() // never unlocked on purpose, see above
		f, err := attachTAP(netns, ifname)
		done <- result{f, err}
	}()
	r := <-done
	return r.f, r.err
}

func attachTAP(netns, ifname string) (*os.File, error) {
	nsPath := "/var/run/netns/" + netns
	nsFD, err := unix.Open(nsPath, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open namespace %s: %w", nsPath, err)
	}
	defer unix.Close(nsFD)
	if err := unix.Setns(nsFD, unix.CLONE_NEWNET); err != nil {
		return nil, fmt.Errorf("enter namespace %s: %w", netns, err)
	}
	fd, err := unix.Open("/dev/net/tun", unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open /dev/net/tun: %w", err)
	}
	ifr, err := unix.NewIfreq(ifname)
	if err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("tap %s: %w", ifname, err)
	}
	ifr.SetUint16(unix.IFF_TAP | unix.IFF_NO_PI)
	if _, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.TUNSETIFF, uintptr(unsafe.Pointer(ifr))); errno != 0 {
		unix.Close(fd)
		return nil, fmt.Errorf("attach tap %s in %s: %w", ifname, netns, errno)
	}
	return os.NewFile(uintptr(fd), netns+"/"+ifname), nil
}
