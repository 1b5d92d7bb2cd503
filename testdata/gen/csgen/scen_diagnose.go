package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
)

// Diagnose scenarios (issue 4): each problem, and a look-alike where the
// rule must stay silent.
func init() {
	scenarios["handshake-short-conns"] = func(addr string) error {
		for i := 1; i <= 5; i++ {
			if err := oneShot(addr, sockOpts{}, get(fmt.Sprintf("/short/%d?size=200", i), "Connection: close")); err != nil {
				return err
			}
		}
		return nil
	}
	scenarios["syn-retransmit"] = func(addr string) error { return sequential(addr, 0, "/syn-rtx/1?size=300", "/syn-rtx/2?size=300") }
	scenarios["handshake-reused-conn"] = func(addr string) error {
		return sequential(addr, 0, "/reused/1?size=200", "/reused/2?size=200", "/reused/3?size=200", "/reused/4?size=200", "/reused/5?size=200")
	}
	scenarios["delayed-ack-wait"] = func(addr string) error {
		return sequential(addr, 0, "/split/1?split=1&size=600", "/split/2?split=1&size=600", "/split/3?split=1&size=600", "/split/4?split=1&size=600")
	}
	// The server's route clamps its congestion window to one segment
	// (gen.sh), so each 5000-byte response leaves one segment per ACK: a
	// client that delays its ACKs holds the server up each time.
	scenarios["delayed-ack-cwnd"] = func(addr string) error {
		return sequential(addr, 0, "/cwnd/1?size=5000", "/cwnd/2?size=5000", "/cwnd/3?size=5000", "/cwnd/4?size=5000")
	}
	scenarios["delayed-ack-harmless"] = func(addr string) error {
		return sequential(addr, 0, "/think/1?delay=120&size=600", "/think/2?delay=120&size=600", "/think/3?delay=120&size=600")
	}
	scenarios["slow-start-fresh"] = func(addr string) error { return sequential(addr, 0, "/big/1?size=30000") }
	scenarios["slow-start-warm"] = func(addr string) error { return sequential(addr, 0, "/big/1?size=30000", "/big/2?size=30000") }
	scenarios["slow-start-idle"] = func(addr string) error {
		return sequential(addr, 1500*time.Millisecond, "/big/1?size=30000", "/big/2?size=30000")
	}
	scenarios["nagle-stall-client"] = func(addr string) error { return postsInTwoWrites(addr, false) }
	scenarios["nagle-nodelay-client"] = func(addr string) error { return postsInTwoWrites(addr, true) }
	scenarios["churn-no-keepalive"] = churnNoKeepalive
	scenarios["time-wait-reuse"] = func(addr string) error {
		for i := 1; i <= 16; i++ {
			if err := oneShot(addr, sockOpts{}, get(fmt.Sprintf("/tw/%d?size=100", i), "Connection: close")); err != nil {
				return err
			}
		}
		return nil
	}
	scenarios["hop-proxy-connection"] = func(addr string) error {
		return sequentialRaw(addr, 0,
			get("/hop/pc/1?size=300", "Proxy-Connection: keep-alive"),
			get("/hop/pc/2?size=300", "Proxy-Connection: keep-alive"))
	}
	scenarios["hop-keepalive-without-connection"] = func(addr string) error {
		return sequentialRaw(addr, 0,
			get("/hop/ka/1?size=300&rhdr=Keep-Alive:%20timeout=5,%20max=100", "Keep-Alive: timeout=30, max=10"),
			get("/hop/ka/2?size=300&rhdr=Keep-Alive:%20timeout=5,%20max=99", "Keep-Alive: timeout=30, max=10"))
	}
	scenarios["hop-connection-keepalive-http11"] = func(addr string) error {
		return sequentialRaw(addr, 0,
			get("/hop/ck/1?size=300&rhdr=Connection:%20keep-alive", "Connection: keep-alive"),
			get("/hop/ck/2?size=300&rhdr=Connection:%20keep-alive", "Connection: keep-alive"))
	}
	scenarios["hop-connection-e2e"] = func(addr string) error {
		return sequentialRaw(addr, 0,
			get("/hop/e2e/1?size=300", "Connection: Cache-Control, Accept-Encoding", "Cache-Control: no-cache", "Accept-Encoding: identity"),
			get("/hop/e2e/2?size=300"))
	}
	scenarios["dumb-proxy-hang"] = dumbProxyHang
	scenarios["slow-response-reused"] = func(addr string) error {
		return sequential(addr, 0, "/slow/1?size=500", "/slow/2?size=500&delay=1200")
	}
	scenarios["serial-idle-gaps"] = func(addr string) error {
		return sequential(addr, 300*time.Millisecond, "/serial/1?size=800", "/serial/2?size=800", "/serial/3?size=800", "/serial/4?size=800", "/serial/5?size=800")
	}
	scenarios["pipeline-hol-blocking"] = func(addr string) error {
		return pipelineOn(addr, get("/hol/1?size=800&delay=400"), get("/hol/2?size=300"), get("/hol/3?size=300"))
	}
	scenarios["parallel-12"] = func(addr string) error { return parallel(addr, 12) }
	scenarios["parallel-6"] = func(addr string) error { return parallel(addr, 6) }
	scenarios["pipeline-http10"] = func(addr string) error {
		r := func(t string) string {
			return request("GET", t, "HTTP/1.0", []string{"Connection: keep-alive"}, "")
		}
		return pipelineOn(addr, r("/p10/1?size=500&delay=30"), r("/p10/2?size=500"), r("/p10/3?size=500"))
	}
	scenarios["pipeline-unanswered-close"] = func(addr string) error { return pipelineCutShort(addr, "/pu", true) }
	scenarios["rst-unread-pipelined"] = func(addr string) error { return pipelineCutShort(addr, "/pr", false) }
	scenarios["body-exceeds-content-length"] = func(addr string) error {
		return singleThenWait(addr, get("/exceeds?size=100&extra=50"))
	}
	scenarios["rst-unread-body"] = rstUnreadBody
	scenarios["post-resent-new-conn"] = func(addr string) error { return resendAfterSilence(addr, "POST") }
	scenarios["get-retried-new-conn"] = func(addr string) error { return resendAfterSilence(addr, "GET") }
	scenarios["keepalive-race"] = func(addr string) error { return idleThenReuse(addr, 470*time.Millisecond) }
	scenarios["keepalive-idle-close-clean"] = func(addr string) error { return idleThenReuse(addr, 800*time.Millisecond) }
	scenarios["rto-delayed-transaction"] = func(addr string) error {
		return sequential(addr, 0, "/rto/1?size=300", "/rto/2?size=300&rhdr=X-Drop:%20once", "/rto/3?size=300", "/rto/4?size=300")
	}
	scenarios["http10-keepalive-ok"] = func(addr string) error {
		r := func(t string) string {
			return request("GET", t, "HTTP/1.0", []string{"Connection: keep-alive"}, "")
		}
		return sequentialRaw(addr, 0, r("/k10/1?size=500"), r("/k10/2?size=1500"), r("/k10/3?size=300"))
	}
	scenarios["healthy-page-load"] = healthyPageLoad
}

// sequential sends GETs for targets one after another on one connection,
// pausing think between a response and the next request, then closes.
func sequential(addr string, think time.Duration, targets ...string) error {
	raws := make([]string, len(targets))
	for i, t := range targets {
		raws[i] = get(t)
	}
	return sequentialRaw(addr, think, raws...)
}

func sequentialRaw(addr string, think time.Duration, raws ...string) error {
	c, err := dial(addr, sockOpts{})
	if err != nil {
		return err
	}
	cl := newClient(c)
	for i, raw := range raws {
		if i > 0 && think > 0 {
			time.Sleep(think)
		}
		method, _, _ := strings.Cut(raw, " ")
		if _, err := cl.roundTrip(method, raw); err != nil {
			return err
		}
	}
	return c.Close()
}

func pipelineOn(addr string, raws ...string) error {
	c, err := dial(addr, sockOpts{})
	if err != nil {
		return err
	}
	if err := pipeline(newClient(c), raws); err != nil {
		return err
	}
	return c.Close()
}

// postsInTwoWrites sends four POSTs on one connection, each as two write
// calls: the header block, then the 400-byte body ("write-write-read").
// With Nagle on (noDelay false) the body waits for the ACK of the headers,
// which the server delays (about 40 ms on Linux).
func postsInTwoWrites(addr string, noDelay bool) error {
	c, err := dial(addr, sockOpts{})
	if err != nil {
		return err
	}
	if err := c.SetNoDelay(noDelay); err != nil {
		return err
	}
	cl := newClient(c)
	payload := body(400)
	for i := 1; i <= 4; i++ {
		head := request("POST", fmt.Sprintf("/form/%d?size=200", i), "HTTP/1.1", []string{
			"Content-Type: text/plain",
			fmt.Sprintf("Content-Length: %d", len(payload)),
		}, "")
		logf("  -> %s (headers, then body in a second write; nodelay=%v)", firstLine(head), noDelay)
		if err := cl.send(head); err != nil {
			return err
		}
		if err := cl.send(payload); err != nil {
			return err
		}
		if _, _, err := cl.read("POST"); err != nil {
			return err
		}
	}
	return c.Close()
}

// churnNoKeepalive: four single-request connections to the same server in a
// row, each refusing persistence a different way.
func churnNoKeepalive(addr string) error {
	for _, raw := range []string{
		get("/churn/1?size=400", "Connection: close"),            // client asks to close
		get("/churn/2?size=400&close=1"),                         // server answers Connection: close
		request("GET", "/churn/3?size=400", "HTTP/1.0", nil, ""), // HTTP/1.0 without keep-alive
		get("/churn/4?size=400&nolength=1"),                      // close-delimited body
	} {
		if err := oneShot(addr, sockOpts{}, raw); err != nil {
			return err
		}
	}
	return nil
}

// dumbProxyHang: through a dumb proxy (port 3128) the client sends an
// HTTP/1.0 request with Connection: Keep-Alive. The proxy forwards the header
// blindly; the origin answers keep-alive, so the client believes the
// connection persists and sends a second request on it 50 ms later. The proxy
// never reads it; after the origin's 1.5 s idle timeout the proxy closes
// (RST, since the second request is unread). The client then retries the
// second request on a new connection with Connection: close.
func dumbProxyHang(addr string) error {
	origin := "http://127.0.0.1:8080"
	ka := []string{"Host: 127.0.0.1:8080", "Connection: Keep-Alive"}
	c, err := dial(addr, sockOpts{})
	if err != nil {
		return err
	}
	cl := newClient(c)
	if _, err := cl.roundTrip("GET", request("GET", origin+"/dumb/1?size=1500", "HTTP/1.0", ka, "")); err != nil {
		return err
	}
	time.Sleep(50 * time.Millisecond)
	second := request("GET", origin+"/dumb/2?size=700", "HTTP/1.0", ka, "")
	logf("  -> %s (reusing the connection)", firstLine(second))
	if err := cl.send(second); err != nil {
		return err
	}
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, _, err := cl.read("GET"); err == nil {
		return fmt.Errorf("dumb proxy answered the second request")
	} else {
		logf("  <- no answer: %v", err)
	}
	c.Close()
	retry := request("GET", origin+"/dumb/2?size=700", "HTTP/1.0", []string{"Host: 127.0.0.1:8080"}, "")
	return oneShot(addr, sockOpts{}, retry)
}

// parallel opens n connections at once; each sends two GETs that the server
// answers after 200 ms, so all n are open together, then closes.
func parallel(addr string, n int) error {
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := 1; i <= n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- sequential(addr, 0,
				fmt.Sprintf("/par/%d/a?size=1000&delay=200", i),
				fmt.Sprintf("/par/%d/b?size=1000&delay=200", i))
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// pipelineCutShort pipelines three GETs; the server answers the first with
// Connection: close and closes. With drain the server first reads the two
// unanswered requests (its close is a FIN); without, they are unread in its
// receive queue and the close becomes a RST. Requests 2 and 3 leave 100 ms
// after request 1 (long after the server read it, even on a loaded machine),
// still 200 ms before its response. The client then sends the two
// unanswered GETs again, one after the other, on a new connection.
func pipelineCutShort(addr, prefix string, drain bool) error {
	first := prefix + "/1?size=600&delay=300&close=1"
	if drain {
		first += "&drain=1"
	}
	c, err := dial(addr, sockOpts{})
	if err != nil {
		return err
	}
	cl := newClient(c)
	reqs := []string{get(first), get(prefix + "/2?size=300"), get(prefix + "/3?size=300")}
	for i, r := range reqs {
		if i == 1 {
			// Let the server's first read take only the first request, so
			// the others wait in its kernel receive queue, unread.
			time.Sleep(100 * time.Millisecond)
		}
		logf("  -> %s (pipelined)", firstLine(r))
		if err := cl.send(r); err != nil {
			return err
		}
	}
	if _, _, err := cl.read("GET"); err != nil {
		logf("  <- first response lost: %v", err)
	}
	_, _, err = cl.read("GET")
	logf("  <- second response: %v", err)
	c.Close()
	return sequential(addr, 0, prefix+"/2?size=300", prefix+"/3?size=300")
}

// rstUnreadBody: a POST with a 30000-byte body to a server that answers 413
// after reading only the headers and closes: the unread body turns its close
// into a RST, which may destroy the 413 before the client reads it.
func rstUnreadBody(addr string) error {
	c, err := dial(addr, sockOpts{})
	if err != nil {
		return err
	}
	payload := body(30000)
	raw := request("POST", "/upload-too-big?unread=1&delay=20", "HTTP/1.1", []string{
		"Content-Type: application/octet-stream",
		fmt.Sprintf("Content-Length: %d", len(payload)),
	}, payload)
	logf("  -> %s (30000-byte body)", firstLine(raw))
	if _, err := io.WriteString(c, raw); err != nil {
		logf("  write: %v", err)
	}
	n, err := io.Copy(io.Discard, c)
	logf("  <- %d bytes, then %v", n, err)
	return c.Close()
}

// resendAfterSilence sends one request whose X-Csgen-Params header tells the
// server to read it and then close 800 ms later without answering. The client
// sees the close and sends the same request line and body again (without
// that header) on a new connection, which is answered. For POST that resend
// is the mistake; for GET it is allowed.
func resendAfterSilence(addr, method string) error {
	payload := ""
	headers := []string{}
	if method == "POST" {
		payload = "order=42&item=book&quantity=1"
		headers = append(headers, "Content-Type: application/x-www-form-urlencoded", fmt.Sprintf("Content-Length: %d", len(payload)))
	}
	target := "/checkout?size=300"
	if method == "GET" {
		target = "/report?size=300"
	}
	first := request(method, target, "HTTP/1.1", append(headers, "X-Csgen-Params: hang=800"), payload)
	c, err := dial(addr, sockOpts{})
	if err != nil {
		return err
	}
	cl := newClient(c)
	logf("  -> %s (server will close without answering)", firstLine(first))
	if err := cl.send(first); err != nil {
		return err
	}
	if _, _, err := cl.read(method); err == nil {
		return fmt.Errorf("server answered the first %s", method)
	}
	c.Close()
	c, err = dial(addr, sockOpts{})
	if err != nil {
		return err
	}
	cl = newClient(c)
	if _, err := cl.roundTrip(method, request(method, target, "HTTP/1.1", headers, payload)); err != nil {
		return err
	}
	return c.Close()
}

// idleThenReuse: one GET, then idle, then a second GET. The server (-idle
// 500ms) closes an idle connection. If the connection still looks open the
// client reuses it; a request that crosses the server's FIN draws a RST and
// is retried (GET is idempotent) on a new connection. If the client has
// already seen the FIN it closes and opens a new connection cleanly.
func idleThenReuse(addr string, idle time.Duration) error {
	c, err := dial(addr, sockOpts{})
	if err != nil {
		return err
	}
	cl := newClient(c)
	if _, err := cl.roundTrip("GET", get("/idle/1?size=500")); err != nil {
		return err
	}
	time.Sleep(idle)
	// Like Go's Transport: a connection whose peer already closed is not reused.
	c.SetReadDeadline(time.Now().Add(time.Millisecond))
	if _, err := cl.br.Peek(1); err == io.EOF {
		logf("  server already closed the idle connection; opening a new one")
		c.Close()
		return sequential(addr, 0, "/idle/2?size=500")
	} else if err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
		logf("  idle connection: %v", err)
	}
	c.SetReadDeadline(time.Time{})
	if _, err := cl.roundTrip("GET", get("/idle/2?size=500")); err != nil {
		logf("  reused connection failed (%v); retrying the GET on a new connection", err)
		c.Close()
		return sequential(addr, 0, "/idle/2?size=500")
	}
	return c.Close()
}

// healthyPageLoad is a well-behaved browser-like page load: one connection
// fetches the HTML, then five more open and the 23 sub-resources are spread
// over all six keep-alive connections (some answered 304), no idle gaps, no
// Nagle, every connection closed by the client at the end.
func healthyPageLoad(addr string) error {
	c, err := dial(addr, sockOpts{})
	if err != nil {
		return err
	}
	first := newClient(c)
	if _, err := first.roundTrip("GET", get("/page/index.html?size=5000", "Accept: text/html")); err != nil {
		return err
	}
	work := make(chan string, 32)
	for i := 1; i <= 23; i++ {
		switch {
		case i%5 == 0:
			work <- get(fmt.Sprintf("/page/img%02d.png?size=700", i), `If-None-Match: "csgen-etag"`)
		case i%3 == 0:
			work <- get(fmt.Sprintf("/page/script%02d.js?size=%d", i, 1500+i*50))
		default:
			work <- get(fmt.Sprintf("/page/img%02d.png?size=%d", i, 600+i*40))
		}
	}
	close(work)
	conns := []*client{first}
	for i := 0; i < 5; i++ {
		c, err := dial(addr, sockOpts{})
		if err != nil {
			return err
		}
		conns = append(conns, newClient(c))
	}
	var wg sync.WaitGroup
	errs := make(chan error, len(conns))
	for _, cl := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for raw := range work {
				if _, err := cl.roundTrip("GET", raw); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for _, cl := range conns {
		cl.c.Close()
	}
	for err := range errs {
		return err
	}
	return nil
}
