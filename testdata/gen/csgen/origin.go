package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// serverConfig is what applies to every connection a server accepts.
type serverConfig struct {
	nagle bool          // turn Nagle back on (Go sets TCP_NODELAY by default)
	idle  time.Duration // close a keep-alive connection idle this long; 0 waits forever
}

// serveOrigin answers HTTP/1.x requests on one connection until a response
// ends it or the client goes away. The client steers every response with the
// query string of its request target, so one server covers every scenario:
//
//	size=N       body length (default 64)
//	delay=MS     think time before answering
//	status=N     status code (default 200; a request with If-None-Match gets 304)
//	close=1      answer with Connection: close and close afterwards
//	chunked=1    chunked body, chunk=N bytes per chunk (default 1000), one write each
//	trailer=1    chunked body ends with a trailer section
//	nolast=1     chunked body without its final zero-size chunk, then FIN
//	nolength=1   no Content-Length, no chunking: the body ends at close
//	send=N       send only N body bytes of the declared size, then end=fin|rst
//	extra=N      send N bytes more than Content-Length says, then close
//	rstafter=1   after a complete response, close with RST (SO_LINGER 0)
//	split=1      write the header block and the body with two write calls
//	hang=MS      never answer; close the connection MS later
//	unread=1     do not read the request body: answer 413 and close
//	rhdr=H       add response header line H (repeatable)
//	no100=1      ignore Expect: 100-continue
//	drain=1      before closing, read and discard what the client already sent
//	             (so the close is a FIN, not a RST for unread data)
//
// The same parameters may come in an X-Csgen-Params header instead, so that a
// retried request can carry the same request line without them.
//
// HTTP/1.0 requests get an HTTP/1.0 answer that keeps the connection only if
// the request asked with Connection: keep-alive.
func serveOrigin(c *net.TCPConn, cfg serverConfig) {
	if cfg.nagle {
		c.SetNoDelay(false)
	}
	br := bufio.NewReader(c)
	for {
		if cfg.idle > 0 {
			c.SetReadDeadline(time.Now().Add(cfg.idle))
		}
		req, err := http.ReadRequest(br)
		if err != nil {
			if err != io.EOF {
				logf("server %s: %v: closing", c.RemoteAddr(), err)
			}
			c.Close()
			return
		}
		c.SetReadDeadline(time.Time{})
		keep, err := answer(c, br, req)
		if err != nil {
			logf("server %s: %v", c.RemoteAddr(), err)
			c.Close()
			return
		}
		if !keep {
			return
		}
	}
}

// answer writes the response to req and reports whether the connection stays
// open. When it returns false it has already closed (or aborted) c.
func answer(c *net.TCPConn, br *bufio.Reader, req *http.Request) (bool, error) {
	q := req.URL.Query()
	if extra, err := url.ParseQuery(req.Header.Get("X-Csgen-Params")); err == nil {
		for k, v := range extra {
			q[k] = append(q[k], v...)
		}
	}
	logf("server %s: %s %s %s", c.RemoteAddr(), req.Method, req.URL.RequestURI(), req.Proto)
	if req.Method == http.MethodConnect {
		return false, fmt.Errorf("CONNECT needs the connect proxy server")
	}
	if strings.EqualFold(req.Header.Get("Expect"), "100-continue") && q.Get("no100") == "" {
		if _, err := io.WriteString(c, req.Proto+" 100 Continue\r\n\r\n"); err != nil {
			return false, err
		}
	}
	if ms := intParam(q, "hang", 0); ms > 0 {
		io.Copy(io.Discard, req.Body)
		time.Sleep(time.Duration(ms) * time.Millisecond)
		return false, c.Close()
	}
	if q.Get("unread") != "" {
		sleepMS(q, "delay")
		_, err := io.WriteString(c, req.Proto+" 413 Content Too Large\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
		c.Close() // unread request bytes in the receive queue make this a RST
		return false, err
	}
	if _, err := io.Copy(io.Discard, req.Body); err != nil {
		return false, fmt.Errorf("read request body: %w", err)
	}
	sleepMS(q, "delay")

	if strings.EqualFold(req.Header.Get("Upgrade"), "csgen-echo") {
		return false, upgradeEcho(c, br, req)
	}

	version := req.Proto
	keep := true
	if req.ProtoMajor == 1 && req.ProtoMinor == 0 {
		keep = hasToken(req.Header, "Connection", "keep-alive")
	} else if hasToken(req.Header, "Connection", "close") {
		keep = false
	}
	if q.Get("close") != "" || q.Get("nolength") != "" {
		keep = false
	}

	status := intParam(q, "status", 200)
	if req.Header.Get("If-None-Match") != "" {
		status = 304
	}
	size := intParam(q, "size", 64)
	noBody := status == 304 || status == 204 || (status >= 100 && status < 200)

	var h strings.Builder
	fmt.Fprintf(&h, "%s %d %s\r\n", version, status, http.StatusText(status))
	h.WriteString("Server: csgen\r\n")
	if status == 304 {
		h.WriteString("ETag: \"csgen-etag\"\r\n")
	} else {
		h.WriteString("Content-Type: text/plain\r\nETag: \"csgen-etag\"\r\n")
	}
	chunked := q.Get("chunked") != "" && !noBody
	switch {
	case noBody:
	case chunked:
		h.WriteString("Transfer-Encoding: chunked\r\n")
		if q.Get("trailer") != "" {
			h.WriteString("Trailer: X-Body-Lines\r\n")
		}
	case q.Get("nolength") != "":
	default:
		fmt.Fprintf(&h, "Content-Length: %d\r\n", size)
	}
	if version == "HTTP/1.0" && keep {
		h.WriteString("Connection: keep-alive\r\nKeep-Alive: timeout=5, max=100\r\n")
	} else if !keep && version != "HTTP/1.0" {
		h.WriteString("Connection: close\r\n")
	}
	for _, line := range q["rhdr"] {
		h.WriteString(line + "\r\n")
	}
	h.WriteString("\r\n")
	head := h.String()

	if noBody || req.Method == http.MethodHead {
		_, err := io.WriteString(c, head)
		return finish(c, q, keep, err)
	}
	payload := body(size)
	switch {
	case chunked:
		return writeChunked(c, head, payload, q, keep)
	case q.Get("send") != "":
		n := min(intParam(q, "send", 0), size)
		if _, err := io.WriteString(c, head+payload[:n]); err != nil {
			return false, err
		}
		time.Sleep(100 * time.Millisecond) // let it leave and be acknowledged first
		if q.Get("end") == "rst" {
			return false, abort(c)
		}
		return false, c.Close()
	case q.Get("extra") != "":
		_, err := io.WriteString(c, head+payload+body(intParam(q, "extra", 0)))
		time.Sleep(20 * time.Millisecond)
		c.Close()
		return false, err
	case q.Get("split") != "":
		if _, err := io.WriteString(c, head); err != nil {
			return false, err
		}
		_, err := io.WriteString(c, payload)
		return finish(c, q, keep, err)
	default:
		_, err := io.WriteString(c, head+payload)
		return finish(c, q, keep, err)
	}
}

func writeChunked(c *net.TCPConn, head, payload string, q url.Values, keep bool) (bool, error) {
	if _, err := io.WriteString(c, head); err != nil {
		return false, err
	}
	chunk := max(intParam(q, "chunk", 1000), 1)
	lines := strings.Count(payload, "\n")
	for len(payload) > 0 {
		n := min(chunk, len(payload))
		ext := ""
		if q.Get("ext") != "" {
			ext = ";csgen-ext=1"
		}
		if _, err := fmt.Fprintf(c, "%x%s\r\n%s\r\n", n, ext, payload[:n]); err != nil {
			return false, err
		}
		payload = payload[n:]
		sleepMS(q, "chunkgap")
	}
	if q.Get("nolast") != "" {
		time.Sleep(50 * time.Millisecond)
		return false, c.Close()
	}
	last := "0\r\n"
	if q.Get("trailer") != "" {
		last += fmt.Sprintf("X-Body-Lines: %d\r\n", lines)
	}
	_, err := io.WriteString(c, last+"\r\n")
	return finish(c, q, keep, err)
}

// finish ends a complete response: keep the connection, close it, or abort it.
func finish(c *net.TCPConn, q url.Values, keep bool, err error) (bool, error) {
	if err != nil {
		return false, err
	}
	if q.Get("rstafter") != "" {
		time.Sleep(50 * time.Millisecond)
		return false, abort(c)
	}
	if !keep {
		if q.Get("drain") != "" {
			c.SetReadDeadline(time.Now().Add(30 * time.Millisecond))
			io.Copy(io.Discard, c)
		}
		return false, c.Close()
	}
	return true, nil
}

// upgradeEcho answers 101 and then echoes raw bytes until the client closes.
func upgradeEcho(c *net.TCPConn, br *bufio.Reader, req *http.Request) error {
	if _, err := io.WriteString(c, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: csgen-echo\r\nConnection: Upgrade\r\n\r\n"); err != nil {
		return err
	}
	buf := make([]byte, 4096)
	for {
		n, err := br.Read(buf)
		if n > 0 {
			if _, werr := c.Write(buf[:n]); werr != nil {
				return werr
			}
		}
		if err != nil {
			return c.Close()
		}
	}
}

// body returns n bytes of readable, deterministic text: numbered 64-byte lines.
func body(n int) string {
	var b strings.Builder
	b.Grow(n + 64)
	for i := 0; b.Len() < n; i++ {
		fmt.Fprintf(&b, "csgen body line %06d abcdefghijklmnopqrstuvwxyz0123456789ABCD\n", i)
	}
	return b.String()[:n]
}

func hasToken(h http.Header, name, token string) bool {
	for _, v := range h.Values(name) {
		for _, t := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

func intParam(q url.Values, name string, def int) int {
	v, err := strconv.Atoi(q.Get(name))
	if err != nil {
		return def
	}
	return v
}

func sleepMS(q url.Values, name string) {
	if ms := intParam(q, name, 0); ms > 0 {
		time.Sleep(time.Duration(ms) * time.Millisecond)
	}
}
