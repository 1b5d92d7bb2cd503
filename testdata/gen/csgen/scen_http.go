package main

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// HTTP scenarios (issue 3): message framing and pairing.
func init() {
	scenarios["pipeline-get"] = pipelineGET
	scenarios["pipeline-post"] = pipelinePOST
	scenarios["expect-100-continue"] = expect100
	scenarios["chunked-trailers"] = chunkedTrailers
	scenarios["head-content-length"] = headContentLength
	scenarios["not-modified-304"] = notModified
	scenarios["http10-close-delimited"] = http10CloseDelimited
	scenarios["truncated-fin"] = func(addr string) error {
		return singleThenWait(addr, get("/truncated?size=20000&send=8000&end=fin"))
	}
	scenarios["truncated-rst"] = func(addr string) error {
		return singleThenWait(addr, get("/truncated?size=20000&send=8000&end=rst"))
	}
	scenarios["chunked-no-last-chunk"] = func(addr string) error {
		return singleThenWait(addr, get("/chunked-cut?chunked=1&size=3000&chunk=1000&nolast=1"))
	}
	scenarios["gap-mid-response"] = gapMidResponse
	scenarios["upgrade-101"] = upgrade101
	scenarios["connect-tunnel"] = connectTunnel
}

// pipeline sends every request back to back (separate writes, TCP_NODELAY on,
// so usually one segment each) before reading any response, then reads the
// responses in order.
func pipeline(cl *client, reqs []string) error {
	for _, r := range reqs {
		logf("  -> %s (pipelined)", firstLine(r))
		if err := cl.send(r); err != nil {
			return err
		}
	}
	for _, r := range reqs {
		method, _, _ := strings.Cut(r, " ")
		if _, _, err := cl.read(method); err != nil {
			return err
		}
	}
	return nil
}

// pipelineGET: three GETs pipelined on one conn; the first response is
// delayed 30 ms so that all requests are on the wire before any response.
func pipelineGET(addr string) error {
	c, err := dial(addr, sockOpts{})
	if err != nil {
		return err
	}
	cl := newClient(c)
	if err := pipeline(cl, []string{
		get("/pipe/1?size=1000&delay=30"),
		get("/pipe/2?size=2000"),
		get("/pipe/3?size=300"),
	}); err != nil {
		return err
	}
	return c.Close()
}

// pipelinePOST: GET, POST with a 300-byte body, GET, pipelined.
func pipelinePOST(addr string) error {
	c, err := dial(addr, sockOpts{})
	if err != nil {
		return err
	}
	cl := newClient(c)
	form := strings.Repeat("field=value&", 25)
	if err := pipeline(cl, []string{
		get("/pipe-post/1?size=500&delay=30"),
		request("POST", "/pipe-post/2?size=200", "HTTP/1.1", []string{
			"Content-Type: application/x-www-form-urlencoded",
			fmt.Sprintf("Content-Length: %d", len(form)),
		}, form),
		get("/pipe-post/3?size=300"),
	}); err != nil {
		return err
	}
	return c.Close()
}

// expect100: POST with Expect: 100-continue; the client sends the headers,
// waits for "100 Continue", then sends the 2000-byte body and reads the final
// 200. A GET follows on the same connection.
func expect100(addr string) error {
	c, err := dial(addr, sockOpts{})
	if err != nil {
		return err
	}
	cl := newClient(c)
	payload := body(2000)
	head := request("POST", "/upload?size=100", "HTTP/1.1", []string{
		"Content-Type: text/plain",
		fmt.Sprintf("Content-Length: %d", len(payload)),
		"Expect: 100-continue",
	}, "")
	logf("  -> %s (headers only, Expect: 100-continue)", firstLine(head))
	if err := cl.send(head); err != nil {
		return err
	}
	interim, err := http.ReadResponse(cl.br, &http.Request{Method: "POST"})
	if err != nil {
		return err
	}
	if interim.StatusCode != 100 {
		return fmt.Errorf("want 100 Continue, got %d", interim.StatusCode)
	}
	logf("  <- 100, sending body")
	if err := cl.send(payload); err != nil {
		return err
	}
	if _, _, err := cl.read("POST"); err != nil {
		return err
	}
	if _, err := cl.roundTrip("GET", get("/after-upload?size=200")); err != nil {
		return err
	}
	return c.Close()
}

// chunkedTrailers: a chunked response of 3 chunks with chunk extensions and a
// trailer section (Trailer: X-Body-Lines), then a plain chunked response on
// the same connection.
func chunkedTrailers(addr string) error {
	c, err := dial(addr, sockOpts{})
	if err != nil {
		return err
	}
	cl := newClient(c)
	for _, t := range []string{
		"/chunked/1?chunked=1&trailer=1&ext=1&size=3000&chunk=1000",
		"/chunked/2?chunked=1&size=500&chunk=200",
	} {
		if _, err := cl.roundTrip("GET", get(t, "TE: trailers")); err != nil {
			return err
		}
	}
	return c.Close()
}

// headContentLength: HEAD whose response declares Content-Length: 5000 and
// carries no body, then a GET on the same connection (whose status line must
// not be mistaken for HEAD's body).
func headContentLength(addr string) error {
	c, err := dial(addr, sockOpts{})
	if err != nil {
		return err
	}
	cl := newClient(c)
	if _, err := cl.roundTrip("HEAD", request("HEAD", "/head?size=5000", "HTTP/1.1", nil, "")); err != nil {
		return err
	}
	if _, err := cl.roundTrip("GET", get("/after-head?size=300")); err != nil {
		return err
	}
	return c.Close()
}

// notModified: a conditional GET answered 304 (no body, no Content-Length),
// then a GET answered 200 with a body on the same connection.
func notModified(addr string) error {
	c, err := dial(addr, sockOpts{})
	if err != nil {
		return err
	}
	cl := newClient(c)
	if _, err := cl.roundTrip("GET", get("/cached?size=4000", `If-None-Match: "csgen-etag"`)); err != nil {
		return err
	}
	if _, err := cl.roundTrip("GET", get("/fresh?size=700")); err != nil {
		return err
	}
	return c.Close()
}

// http10CloseDelimited: an HTTP/1.0 GET without keep-alive; the HTTP/1.0
// response has no Content-Length and its 3000-byte body ends when the server
// closes.
func http10CloseDelimited(addr string) error {
	return singleThenWait(addr, request("GET", "/close-delimited?nolength=1&size=3000", "HTTP/1.0", nil, ""))
}

// singleThenWait sends one request on a new connection, reads whatever comes
// back until the server closes or resets, and closes.
func singleThenWait(addr, raw string) error {
	c, err := dial(addr, sockOpts{})
	if err != nil {
		return err
	}
	logf("  -> %s", firstLine(raw))
	if _, err := io.WriteString(c, raw); err != nil {
		return err
	}
	n, err := io.Copy(io.Discard, c)
	logf("  <- %d bytes until close (%v)", n, err)
	return c.Close()
}

// gapMidResponse: three GETs on one keep-alive connection; the second
// response is 12000 bytes. gen.sh then deletes, with editcap, the one frame
// that carries "csgen body line 000100" (inside /gap/2's body) to make a
// capture gap followed by more transactions.
func gapMidResponse(addr string) error {
	c, err := dial(addr, sockOpts{})
	if err != nil {
		return err
	}
	cl := newClient(c)
	for _, t := range []string{"/gap/1?size=300", "/gap/2?size=12000", "/gap/3?size=400", "/gap/4?size=500"} {
		if _, err := cl.roundTrip("GET", get(t)); err != nil {
			return err
		}
	}
	return c.Close()
}

// upgrade101: GET with Upgrade: csgen-echo; the server answers 101 Switching
// Protocols and echoes raw bytes from then on. The client sends a binary frame
// and then bytes that look like an HTTP request; neither is HTTP any more.
func upgrade101(addr string) error {
	c, err := dial(addr, sockOpts{})
	if err != nil {
		return err
	}
	cl := newClient(c)
	if _, err := cl.roundTrip("GET", get("/upgrade", "Upgrade: csgen-echo", "Connection: Upgrade")); err != nil {
		return err
	}
	for _, msg := range []string{
		"\x00\x01\x02\x03csgen binary frame\xff\xfe",
		"GET /not-http-after-upgrade HTTP/1.1\r\nHost: x\r\n\r\n",
	} {
		if err := cl.send(msg); err != nil {
			return err
		}
		buf := make([]byte, len(msg))
		if _, err := io.ReadFull(cl.br, buf); err != nil {
			return fmt.Errorf("read echo: %w", err)
		}
		logf("  <- echoed %d bytes", len(buf))
		time.Sleep(10 * time.Millisecond)
	}
	return c.Close()
}

// connectTunnel: CONNECT to the proxy on port 3128, which answers 200 and
// relays to the origin on 127.0.0.1:8080 inside the server namespace. Through
// the tunnel the client speaks plain HTTP (one GET), which must not be parsed
// as part of the proxy connection's HTTP.
func connectTunnel(addr string) error {
	c, err := dial(addr, sockOpts{})
	if err != nil {
		return err
	}
	connect := request("CONNECT", "127.0.0.1:8080", "HTTP/1.1", []string{"Host: 127.0.0.1:8080"}, "")
	logf("  -> %s", firstLine(connect))
	if _, err := io.WriteString(c, connect); err != nil {
		return err
	}
	br := bufio.NewReader(c)
	for { // status line and headers of the 200, no body
		line, err := br.ReadString('\n')
		if err != nil {
			return fmt.Errorf("read CONNECT response: %w", err)
		}
		if line == "\r\n" {
			break
		}
		logf("  <- %s", strings.TrimSpace(line))
	}
	cl := &client{c: c, br: br}
	if _, err := cl.roundTrip("GET", request("GET", "/inside-tunnel?size=600", "HTTP/1.1", []string{"Host: 127.0.0.1:8080"}, "")); err != nil {
		return err
	}
	time.Sleep(10 * time.Millisecond)
	return c.Close()
}
