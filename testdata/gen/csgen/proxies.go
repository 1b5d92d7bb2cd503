package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
)

// serveDumbProxy is the "dumb proxy" of HTTP: The Definitive Guide §4.5.6. It
// forwards one request, headers and all (Connection: Keep-Alive included),
// to the origin and then copies the origin's answer back until the origin
// closes. It never reads a second request: a client that believed the
// connection was persistent sends its next request and hears nothing until
// the origin's idle timeout closes everything.
func serveDumbProxy(c *net.TCPConn, origin string) {
	defer c.Close() // the client's unread second request makes this a RST
	br := bufio.NewReader(c)
	head, bodyLen, err := readRawHead(br)
	if err != nil {
		return
	}
	logf("dumbproxy %s: forwarding %q", c.RemoteAddr(), firstLine(head))
	up, err := dial(origin, sockOpts{})
	if err != nil {
		logf("dumbproxy: %v", err)
		return
	}
	defer up.Close()
	// Forward the bytes exactly as received, hop-by-hop headers included.
	if _, err := io.WriteString(up, head); err != nil {
		return
	}
	if _, err := io.CopyN(up, br, bodyLen); err != nil {
		return
	}
	n, _ := io.Copy(c, up) // until the origin closes
	logf("dumbproxy %s: origin closed after %d bytes", c.RemoteAddr(), n)
}

// readRawHead reads a request's header block verbatim and returns it with the
// Content-Length it declares (0 without one).
func readRawHead(br *bufio.Reader) (string, int64, error) {
	var b strings.Builder
	var n int64
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return "", 0, err
		}
		b.WriteString(line)
		if name, value, ok := strings.Cut(line, ":"); ok && strings.EqualFold(strings.TrimSpace(name), "Content-Length") {
			n, _ = strconv.ParseInt(strings.TrimSpace(value), 10, 64)
		}
		if line == "\r\n" || line == "\n" {
			return b.String(), n, nil
		}
	}
}

// serveConnectProxy answers CONNECT host:port with 200 and then relays bytes
// both ways until both sides are done. Only addresses inside the generator's
// own namespaces are ever named by the scenarios.
func serveConnectProxy(c *net.TCPConn) {
	br := bufio.NewReader(c)
	req, err := http.ReadRequest(br)
	if err != nil {
		c.Close()
		return
	}
	logf("connectproxy %s: %s %s", c.RemoteAddr(), req.Method, req.Host)
	if req.Method != http.MethodConnect {
		io.WriteString(c, "HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
		c.Close()
		return
	}
	up, err := dial(req.Host, sockOpts{})
	if err != nil {
		io.WriteString(c, "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
		c.Close()
		return
	}
	if _, err := io.WriteString(c, "HTTP/1.1 200 Connection Established\r\n\r\n"); err != nil {
		c.Close()
		up.Close()
		return
	}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { // client to origin; br may already hold tunnelled bytes
		defer wg.Done()
		io.Copy(up, br)
		up.CloseWrite()
	}()
	go func() {
		defer wg.Done()
		io.Copy(c, up)
		c.CloseWrite()
	}()
	wg.Wait()
	c.Close()
	up.Close()
}

// acceptLoop serves every accepted connection in its own goroutine.
func acceptLoop(ln *net.TCPListener, serve func(*net.TCPConn)) error {
	for {
		c, err := ln.AcceptTCP()
		if err != nil {
			return fmt.Errorf("accept on %s: %w", ln.Addr(), err)
		}
		go serve(c)
	}
}
