// Command gen is the client and the server for diagnose/testdata/gen.sh:
// real Linux TCP stacks behaving in ways testdata/captures does not cover
// yet. Each scenario is a pair of small, explicit socket programs.
//
//	gen -mode server -scenario NAME -addr IP:PORT
//	gen -mode client -scenario NAME -addr IP:PORT
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"strings"
	"syscall"
	"time"
)

func main() {
	mode := flag.String("mode", "", "server or client")
	scenario := flag.String("scenario", "", "scenario name")
	addr := flag.String("addr", "10.78.0.2:80", "server address")
	flag.Parse()
	s, ok := scenarios[*scenario]
	if !ok {
		log.Fatalf("unknown scenario %q", *scenario)
	}
	var err error
	switch *mode {
	case "server":
		err = serve(*addr, s.server)
	case "client":
		err = s.client(*addr)
	default:
		err = fmt.Errorf("unknown mode %q", *mode)
	}
	if err != nil {
		log.Fatal(err)
	}
}

type scenario struct {
	server func(c *net.TCPConn) error // handles one connection
	client func(addr string) error
}

var scenarios = map[string]scenario{
	// The server answers and closes (a full close: FIN, and the socket can
	// no longer receive). The client, ignoring the FIN, sends a second
	// request 200 ms later on the same connection; the server's kernel
	// answers it with a RST.
	"data-after-close": {
		server: func(c *net.TCPConn) error {
			if err := readRequest(c); err != nil {
				return err
			}
			if _, err := io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 300\r\n\r\n"+strings.Repeat("a", 300)); err != nil {
				return err
			}
			return c.Close()
		},
		client: func(addr string) error { return twoRequests(addr, 200*time.Millisecond) },
	},
	// Look-alike: the server only shuts down its sending side and keeps
	// reading until the client closes, so the late request is read and
	// ignored, and no RST follows.
	"data-after-half-close": {
		server: func(c *net.TCPConn) error {
			if err := readRequest(c); err != nil {
				return err
			}
			if _, err := io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 300\r\n\r\n"+strings.Repeat("a", 300)); err != nil {
				return err
			}
			if err := c.CloseWrite(); err != nil {
				return err
			}
			_, err := io.Copy(io.Discard, c)
			c.Close()
			return err
		},
		client: func(addr string) error { return twoRequests(addr, 200*time.Millisecond) },
	},
	// An HTTP/1.0 response without Content-Length (close-delimited), whose
	// server then aborts with SO_LINGER 0: the body ends in a RST, so its
	// completeness cannot be verified.
	"close-delimited-reset": {
		server: func(c *net.TCPConn) error {
			if err := readRequest(c); err != nil {
				return err
			}
			if _, err := io.WriteString(c, "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\n"+strings.Repeat("b", 3000)); err != nil {
				return err
			}
			time.Sleep(20 * time.Millisecond)
			if err := c.SetLinger(0); err != nil {
				return err
			}
			return c.Close()
		},
		client: func(addr string) error {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				return err
			}
			defer c.Close()
			if _, err := io.WriteString(c, "GET /close-delimited HTTP/1.0\r\nHost: dgen\r\n\r\n"); err != nil {
				return err
			}
			_, _ = io.Copy(io.Discard, c) // ends with "connection reset by peer"
			return nil
		},
	},
}

func init() {
	// A 30000-byte response on a fresh connection, recorded with the
	// server's route set to initcwnd 4 (gen.sh): the first flight holds 4
	// segments, where current stacks send 10.
	scenarios["small-initial-window"] = scenario{
		server: func(c *net.TCPConn) error {
			if err := readRequest(c); err != nil {
				return err
			}
			_, err := io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 30000\r\n\r\n"+strings.Repeat("c", 30000))
			_, _ = io.Copy(io.Discard, c) // until the client closes
			c.Close()
			return err
		},
		client: func(addr string) error {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				return err
			}
			defer c.Close()
			if _, err := io.WriteString(c, "GET /big HTTP/1.1\r\nHost: dgen\r\n\r\n"); err != nil {
				return err
			}
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				return err
			}
			_, err = io.Copy(io.Discard, resp.Body)
			return err
		},
	}
}

// serve accepts connections until the process is killed.
func serve(addr string, handle func(*net.TCPConn) error) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	for {
		c, err := ln.Accept()
		if err != nil {
			return err
		}
		tc := c.(*net.TCPConn)
		if err := useCubic(tc); err != nil {
			log.Printf("server: %v", err)
		}
		go func() {
			if err := handle(tc); err != nil {
				log.Printf("server: %v", err)
			}
		}()
	}
}

// useCubic selects CUBIC congestion control on the socket: this kernel
// defaults to BBR, which paces its sending and never shows classic
// slow-start flights.
func useCubic(c *net.TCPConn) error {
	raw, err := c.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := raw.Control(func(fd uintptr) {
		serr = syscall.SetsockoptString(int(fd), syscall.IPPROTO_TCP, syscall.TCP_CONGESTION, "cubic")
	}); err != nil {
		return err
	}
	return serr
}

// readRequest reads one request's header block.
func readRequest(c net.Conn) error {
	_, err := http.ReadRequest(bufio.NewReader(c))
	return err
}

// twoRequests sends a GET, reads its 300-byte response, waits, and sends a
// second GET on the same connection, then reads until the connection ends.
func twoRequests(addr string, wait time.Duration) error {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	br := bufio.NewReader(c)
	if _, err := io.WriteString(c, "GET /first HTTP/1.1\r\nHost: dgen\r\n\r\n"); err != nil {
		return err
	}
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	time.Sleep(wait)
	if _, err := io.WriteString(c, "GET /second HTTP/1.1\r\nHost: dgen\r\n\r\n"); err != nil {
		return err
	}
	time.Sleep(100 * time.Millisecond)
	_, _ = io.Copy(io.Discard, br) // EOF or "connection reset by peer"
	return nil
}
