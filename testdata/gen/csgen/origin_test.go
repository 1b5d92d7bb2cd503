package main

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// startOrigin runs the origin server on a loopback port for one test.
func startOrigin(t *testing.T, cfg serverConfig) string {
	t.Helper()
	congestionControl = "" // unprivileged test runs may not pick CUBIC
	ln, err := listen("127.0.0.1:0", sockOpts{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go acceptLoop(ln, func(c *net.TCPConn) { serveOrigin(c, cfg) })
	return ln.Addr().String()
}

// exchange sends raw on a new connection and returns everything the server
// sends until it closes or goes quiet for 300 ms.
func exchange(t *testing.T, addr, raw string) string {
	t.Helper()
	c, err := dial(addr, sockOpts{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, raw); err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	got, _ := io.ReadAll(c)
	return string(got)
}

// TestOriginFraming checks that each query parameter the scenarios rely on
// produces the response framing MANIFEST.md describes.
func TestOriginFraming(t *testing.T) {
	addr := startOrigin(t, serverConfig{})
	for _, tc := range []struct {
		desc     string
		raw      string
		contains []string // substrings the raw response must have
		absent   []string // and must not have
		bodyLen  int      // bytes after the header block; -1 skips the check
	}{
		{"content-length", get("/x?size=300&close=1"), []string{"HTTP/1.1 200 OK", "Content-Length: 300", "Connection: close"}, nil, 300},
		{"HEAD declares but sends no body", request("HEAD", "/x?size=5000&close=1", "HTTP/1.1", nil, ""), []string{"Content-Length: 5000"}, nil, 0},
		{"304 has no body or length", get("/x?size=4000&close=1", `If-None-Match: "csgen-etag"`), []string{"304 Not Modified"}, []string{"Content-Length"}, 0},
		{"chunked with trailer and extension", get("/x?chunked=1&trailer=1&ext=1&size=2500&chunk=1000&close=1"),
			[]string{"Transfer-Encoding: chunked", "Trailer: X-Body-Lines", "3e8;csgen-ext=1\r\n", "1f4;csgen-ext=1\r\n", "0\r\nX-Body-Lines: "}, []string{"Content-Length"}, -1},
		{"chunked without last chunk", get("/x?chunked=1&size=2000&chunk=1000&nolast=1"), []string{"3e8\r\n"}, []string{"0\r\n\r\n"}, -1},
		{"close-delimited HTTP/1.0", request("GET", "/x?nolength=1&size=3000", "HTTP/1.0", nil, ""), []string{"HTTP/1.0 200 OK"}, []string{"Content-Length", "Connection:"}, 3000},
		{"truncated by FIN", get("/x?size=20000&send=8000&end=fin"), []string{"Content-Length: 20000"}, nil, 8000},
		{"body beyond Content-Length", get("/x?size=100&extra=50"), []string{"Content-Length: 100"}, nil, 150},
		{"HTTP/1.0 keep-alive answered in kind", request("GET", "/x?size=10", "HTTP/1.0", []string{"Connection: keep-alive"}, ""),
			[]string{"HTTP/1.0 200 OK", "Connection: keep-alive", "Keep-Alive: timeout=5, max=100"}, nil, 10},
		{"extra response header", get("/x?size=1&close=1&rhdr=Keep-Alive:%20timeout=5"), []string{"\r\nKeep-Alive: timeout=5\r\n"}, []string{"Connection: keep-alive"}, 1},
		{"params from the X-Csgen-Params header", get("/x", "X-Csgen-Params: size=7&close=1"), []string{"Content-Length: 7"}, nil, 7},
		{"101 then echo", get("/up", "Upgrade: csgen-echo", "Connection: Upgrade") + "raw bytes", []string{"101 Switching Protocols", "\r\n\r\nraw bytes"}, nil, -1},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			got := exchange(t, addr, tc.raw)
			for _, want := range tc.contains {
				if !strings.Contains(got, want) {
					t.Errorf("response lacks %q:\n%s", want, got)
				}
			}
			for _, bad := range tc.absent {
				if strings.Contains(got, bad) {
					t.Errorf("response has %q:\n%s", bad, got)
				}
			}
			if tc.bodyLen >= 0 {
				_, after, ok := strings.Cut(got, "\r\n\r\n")
				if !ok {
					t.Fatalf("no header block end in %q", got)
				}
				if len(after) != tc.bodyLen {
					t.Errorf("body is %d bytes, want %d", len(after), tc.bodyLen)
				}
			}
		})
	}
}

// TestOriginKeepAliveAndPipelining: responses to pipelined requests come back
// in order on one connection, and the idle timeout closes it afterwards.
func TestOriginKeepAliveAndPipelining(t *testing.T) {
	addr := startOrigin(t, serverConfig{idle: 100 * time.Millisecond})
	c, err := dial(addr, sockOpts{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, get("/a?size=10&delay=20")+get("/b?size=20")+get("/c?size=30"))
	br := bufio.NewReader(c)
	for _, want := range []int64{10, 20, 30} {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		n, _ := io.Copy(io.Discard, resp.Body)
		if n != want {
			t.Errorf("body %d bytes, want %d (responses out of order?)", n, want)
		}
	}
	c.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := br.ReadByte(); err != io.EOF {
		t.Errorf("after the idle timeout: %v, want EOF", err)
	}
}

// TestOriginExpectContinue: the interim 100 comes before the body is read.
func TestOriginExpectContinue(t *testing.T) {
	addr := startOrigin(t, serverConfig{})
	c, err := dial(addr, sockOpts{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, request("POST", "/u?size=5&close=1", "HTTP/1.1", []string{"Content-Length: 4", "Expect: 100-continue"}, ""))
	br := bufio.NewReader(c)
	interim, err := http.ReadResponse(br, nil)
	if err != nil || interim.StatusCode != 100 {
		t.Fatalf("want 100 Continue before the body, got %v, %v", interim, err)
	}
	io.WriteString(c, "body")
	final, err := http.ReadResponse(br, nil)
	if err != nil || final.StatusCode != 200 {
		t.Fatalf("want final 200, got %v, %v", final, err)
	}
}

func TestBodyIsDeterministicText(t *testing.T) {
	for _, n := range []int{0, 1, 63, 64, 65, 30000} {
		b := body(n)
		if len(b) != n {
			t.Errorf("body(%d) has %d bytes", n, len(b))
		}
		if b != body(n) {
			t.Errorf("body(%d) differs between calls", n)
		}
	}
	if !strings.Contains(body(7000), "csgen body line 000100 ") {
		t.Error("line 100 marker (used by the gap scenario) missing from a 7000-byte body")
	}
}
