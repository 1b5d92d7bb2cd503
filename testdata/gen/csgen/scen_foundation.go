package main

import (
	"fmt"
	"time"
)

// Foundation scenarios (issue 2): connection life cycles and capture formats.
func init() {
	scenarios["keepalive-reuse"] = keepaliveReuse
	scenarios["conn-per-request"] = connPerRequest
	scenarios["tuple-reuse-fin"] = tupleReuseFIN
	scenarios["tuple-reuse-rst"] = tupleReuseRST
	scenarios["rst-teardown"] = rstTeardown
	scenarios["loss-retransmit"] = lossRetransmit
	scenarios["zero-window"] = zeroWindow
	scenarios["basic"] = basic
}

// keepaliveReuse: five GETs of different sizes on one HTTP/1.1 connection,
// each sent after the previous response; the client closes first.
func keepaliveReuse(addr string) error {
	c, err := dial(addr, sockOpts{})
	if err != nil {
		return err
	}
	cl := newClient(c)
	for i, size := range []int{200, 3000, 10000, 500, 64} {
		if _, err := cl.roundTrip("GET", get(fmt.Sprintf("/ka/%d?size=%d", i+1, size))); err != nil {
			return err
		}
	}
	return c.Close()
}

// connPerRequest: four GETs, each on its own connection with Connection:
// close; the server closes first, the client reads to EOF and closes.
func connPerRequest(addr string) error {
	for i := 1; i <= 4; i++ {
		if err := oneShot(addr, sockOpts{}, get(fmt.Sprintf("/cpr/%d?size=%d", i, 500*i), "Connection: close")); err != nil {
			return err
		}
	}
	return nil
}

// oneShot opens a connection, sends raw, reads the response, waits for the
// server to close and then closes.
func oneShot(addr string, o sockOpts, raw string) error {
	c, err := dial(addr, o)
	if err != nil {
		return err
	}
	cl := newClient(c)
	if _, err := cl.roundTrip("GET", raw); err != nil {
		c.Close()
		return err
	}
	cl.waitClose()
	return c.Close()
}

// tupleReuseFIN: three connections from the same source port 40000. The
// server closes first (Connection: close), so the server holds TIME_WAIT and
// the client's socket is fully closed; SO_REUSEADDR lets the client bind the
// port again and the server's TIME_WAIT accepts the new SYN (higher ISN and
// timestamp). One 4-tuple, three connections.
func tupleReuseFIN(addr string) error {
	o := sockOpts{localPort: 40000, reuseAddr: true}
	for i := 1; i <= 3; i++ {
		if err := oneShot(addr, o, get(fmt.Sprintf("/reuse-fin/%d", i), "Connection: close")); err != nil {
			return err
		}
		time.Sleep(100 * time.Millisecond)
	}
	return nil
}

// tupleReuseRST: the client aborts each connection with RST after its
// response (SO_LINGER 0, so no TIME_WAIT anywhere) and reconnects from the
// same source port 40001 100 ms later. The last connection ends with FIN.
func tupleReuseRST(addr string) error {
	o := sockOpts{localPort: 40001, reuseAddr: true}
	for i := 1; i <= 3; i++ {
		c, err := dial(addr, o)
		if err != nil {
			return err
		}
		cl := newClient(c)
		if _, err := cl.roundTrip("GET", get(fmt.Sprintf("/reuse-rst/%d", i))); err != nil {
			return err
		}
		if i < 3 {
			abort(c)
		} else {
			c.Close()
		}
		time.Sleep(100 * time.Millisecond)
	}
	return nil
}

// rstTeardown: connection 1, the server sends a complete response and then
// aborts (RST). Connection 2, the client aborts after a complete response.
func rstTeardown(addr string) error {
	c, err := dial(addr, sockOpts{})
	if err != nil {
		return err
	}
	cl := newClient(c)
	if _, err := cl.roundTrip("GET", get("/rst/server-aborts?size=1200&rstafter=1")); err != nil {
		return err
	}
	cl.waitClose()
	c.Close()
	time.Sleep(50 * time.Millisecond)
	c, err = dial(addr, sockOpts{})
	if err != nil {
		return err
	}
	cl = newClient(c)
	if _, err := cl.roundTrip("GET", get("/rst/client-aborts?size=1200")); err != nil {
		return err
	}
	time.Sleep(20 * time.Millisecond)
	return abort(c)
}

// lossRetransmit runs over the delay relay, which drops: the 5th data segment
// server->client (inside a 40 kB response: recovered by fast retransmit /
// SACK), the segment carrying the response marked "X-Drop: once" (a lone
// segment: recovered by the tail-loss probe or the retransmission timer),
// and the first request segment containing "/loss/3" (the client
// retransmits its request).
func lossRetransmit(addr string) error {
	c, err := dial(addr, sockOpts{})
	if err != nil {
		return err
	}
	cl := newClient(c)
	for _, t := range []string{
		"/loss/1?size=40000",
		"/loss/2?size=300&rhdr=X-Drop:%20once",
		"/loss/3?size=300",
	} {
		if _, err := cl.roundTrip("GET", get(t)); err != nil {
			return err
		}
	}
	return c.Close()
}

// zeroWindow: the client shrinks its receive buffer (SO_RCVBUF 4096 before
// connect), asks for 40 kB and does not read for 700 ms. The server's kernel
// fills the window, the client advertises a zero window, the server probes,
// and when the client reads again it opens the window (window update).
func zeroWindow(addr string) error {
	c, err := dial(addr, sockOpts{rcvBuf: 4096})
	if err != nil {
		return err
	}
	cl := newClient(c)
	logf("  -> GET /zero-window?size=40000, then not reading for 700ms")
	if err := cl.send(get("/zero-window?size=40000")); err != nil {
		return err
	}
	time.Sleep(700 * time.Millisecond)
	if _, _, err := cl.read("GET"); err != nil {
		return err
	}
	if _, err := cl.roundTrip("GET", get("/after-zero-window?size=200")); err != nil {
		return err
	}
	return c.Close()
}

// basic is the small, healthy exchange used for the format and link-type
// captures: two GETs on one keep-alive connection that the client closes,
// then one GET with Connection: close on a second connection.
func basic(addr string) error {
	c, err := dial(addr, sockOpts{})
	if err != nil {
		return err
	}
	cl := newClient(c)
	for _, t := range []string{"/basic/1?size=700", "/basic/2?size=2500"} {
		if _, err := cl.roundTrip("GET", get(t)); err != nil {
			return err
		}
	}
	c.Close()
	time.Sleep(20 * time.Millisecond)
	return oneShot(addr, sockOpts{}, get("/basic/3?size=300", "Connection: close"))
}
