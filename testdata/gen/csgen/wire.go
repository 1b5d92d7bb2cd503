package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
)

// request builds the exact bytes of an HTTP/1.x request. Headers are written
// in the order given; Host comes first unless the caller passes its own.
func request(method, target, version string, headers []string, body string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s %s\r\n", method, target, version)
	hasHost := false
	for _, h := range headers {
		if strings.HasPrefix(strings.ToLower(h), "host:") {
			hasHost = true
		}
	}
	if !hasHost {
		b.WriteString("Host: " + hostHeader + "\r\n")
	}
	for _, h := range headers {
		b.WriteString(h + "\r\n")
	}
	b.WriteString("\r\n")
	b.WriteString(body)
	return b.String()
}

// hostHeader is the Host every scenario sends; set from the server address.
var hostHeader = "csgen.test"

// get is request("GET", target, "HTTP/1.1", headers, "").
func get(target string, headers ...string) string {
	return request("GET", target, "HTTP/1.1", headers, "")
}

// client is one client connection with a buffered reader for responses.
type client struct {
	c  *net.TCPConn
	br *bufio.Reader
}

func newClient(c *net.TCPConn) *client { return &client{c: c, br: bufio.NewReader(c)} }

func (cl *client) send(raw string) error {
	_, err := io.WriteString(cl.c, raw)
	return err
}

// read reads one final response (skipping 1xx interim responses) to a request
// with the given method and drains its body. It returns the status code and
// body length.
func (cl *client) read(method string) (int, int64, error) {
	for {
		resp, err := http.ReadResponse(cl.br, &http.Request{Method: method})
		if err != nil {
			return 0, 0, fmt.Errorf("read response to %s: %w", method, err)
		}
		n, err := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if err != nil {
			return resp.StatusCode, n, fmt.Errorf("read body of %d response to %s: %w", resp.StatusCode, method, err)
		}
		if resp.StatusCode >= 100 && resp.StatusCode < 200 && resp.StatusCode != 101 {
			continue
		}
		logf("  <- %d (%d body bytes)", resp.StatusCode, n)
		return resp.StatusCode, n, nil
	}
}

// roundTrip sends one request and reads its response.
func (cl *client) roundTrip(method, raw string) (int, error) {
	logf("  -> %s", firstLine(raw))
	if err := cl.send(raw); err != nil {
		return 0, err
	}
	code, _, err := cl.read(method)
	return code, err
}

// waitClose reads until the peer closes, discarding anything that arrives.
func (cl *client) waitClose() {
	io.Copy(io.Discard, cl.br)
}

func firstLine(raw string) string {
	line, _, _ := strings.Cut(raw, "\r\n")
	return line
}
