package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"strconv"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// sockOpts are the socket options a scenario sets before connect or listen.
// They are applied in the dialer's or listener's Control hook, so they are in
// force before the SYN leaves: SO_RCVBUF set later would not shrink the window
// scale the handshake advertised.
type sockOpts struct {
	localPort int  // bind this source port (client)
	reuseAddr bool // SO_REUSEADDR, needed to rebind a port whose last connection just closed
	rcvBuf    int  // SO_RCVBUF in bytes (the kernel doubles it); 0 keeps the default
}

// congestionControl is set on every socket with TCP_CONGESTION. This machine's
// kernel defaults to BBR, which paces and probes instead of the slow start
// and slow-start restart most servers show; CUBIC is the Linux default
// elsewhere. Root may pick any available algorithm per socket. Override with
// CSGEN_CC (empty keeps the namespace default).
var congestionControl = envOr("CSGEN_CC", "cubic")

func envOr(name, def string) string {
	if v, ok := os.LookupEnv(name); ok {
		return v
	}
	return def
}

func (o sockOpts) control(network, address string, rc syscall.RawConn) error {
	var serr error
	err := rc.Control(func(fd uintptr) {
		if congestionControl != "" {
			if serr = unix.SetsockoptString(int(fd), unix.IPPROTO_TCP, unix.TCP_CONGESTION, congestionControl); serr != nil {
				serr = fmt.Errorf("TCP_CONGESTION %s: %w", congestionControl, serr)
				return
			}
		}
		if o.reuseAddr {
			if serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEADDR, 1); serr != nil {
				return
			}
		}
		if o.rcvBuf > 0 {
			serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF, o.rcvBuf)
		}
	})
	if err != nil {
		return err
	}
	return serr
}

// dial opens a TCP connection to addr with the given options. Go enables
// TCP_NODELAY on every new connection; callers that want Nagle call
// SetNoDelay(false) themselves.
func dial(addr string, o sockOpts) (*net.TCPConn, error) {
	d := net.Dialer{Control: o.control, Timeout: 10 * time.Second}
	if o.localPort != 0 {
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, err
		}
		local := "0.0.0.0"
		if ip := net.ParseIP(host); ip != nil && ip.To4() == nil {
			local = "::"
		}
		d.LocalAddr, err = net.ResolveTCPAddr("tcp", net.JoinHostPort(local, strconv.Itoa(o.localPort)))
		if err != nil {
			return nil, err
		}
	}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", addr, err)
	}
	return c.(*net.TCPConn), nil
}

// listen opens a listening socket with the given options; accepted
// connections inherit SO_RCVBUF from it.
func listen(addr string, o sockOpts) (*net.TCPListener, error) {
	o.reuseAddr = true
	lc := net.ListenConfig{Control: o.control}
	ln, err := lc.Listen(context.Background(), "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen %s: %w", addr, err)
	}
	return ln.(*net.TCPListener), nil
}

// abort closes c with SO_LINGER 0, which makes the kernel send RST instead of
// FIN and discard anything still queued.
func abort(c *net.TCPConn) error {
	if err := c.SetLinger(0); err != nil {
		return err
	}
	return c.Close()
}
