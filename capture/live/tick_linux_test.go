//go:build linux

package live

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/connscope/connscope/analysis"
)

// The Source is an analysis.TickingSource: a live capture's report may
// release connections on ticks.
var _ analysis.TickingSource = (*Source)(nil)

// quietPort is a UDP port no other test (nor another run of this one) sends to.
func quietPort() int { return 20000 + os.Getpid()%20000 }

// nextOrTick calls NextOrTick, failing the test if it blocks for long.
func nextOrTick(t *testing.T, src *Source) (tick int64, packetTime int64, err error, took time.Duration) {
	t.Helper()
	type result struct {
		tick, time int64
		err        error
	}
	done := make(chan result, 1)
	start := time.Now()
	go func() {
		p, tick, err := src.NextOrTick()
		r := result{tick: tick, err: err}
		if p != nil {
			r.time = p.Time
		}
		done <- r
	}()
	select {
	case r := <-done:
		return r.tick, r.time, r.err, time.Since(start)
	case <-time.After(10 * time.Second):
		t.Fatal("NextOrTick still blocked after 10 s")
	}
	return 0, 0, nil, 0
}

// On a quiet interface NextOrTick gives a tick every QuietTick, each later
// than the one before and behind the real-time clock by its margin; a
// frame that comes later is stamped after the ticks; after Stop it gives
// io.EOF, not a tick. Next itself never ticks.
func TestNextOrTickWhileQuiet(t *testing.T) {
	requireRoot(t)
	port := quietPort()
	src, err := Open("lo", Options{Filter: fmt.Sprintf("udp and dst host 127.0.0.1 and dst port %d", port)})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	var last int64
	for i := range 3 {
		tick, pt, err, took := nextOrTick(t, src)
		if err != nil || pt != 0 {
			t.Fatalf("quiet NextOrTick %d: packet at %d, err %v; want a tick", i+1, pt, err)
		}
		if took < QuietTick-10*time.Millisecond || took > QuietTick+2*time.Second {
			t.Errorf("tick %d came after %v, want about QuietTick (%v)", i+1, took, QuietTick)
		}
		behind := time.Since(time.Unix(0, tick))
		if behind < clockSlack || behind > clockSlack+3*time.Second {
			t.Errorf("tick %d is %v behind the real-time clock, want its margin (%v and twice the block timeout)", i+1, behind, clockSlack)
		}
		if tick <= last {
			t.Errorf("tick %d at %d, not after the one before (%d)", i+1, tick, last)
		}
		last = tick
	}

	c, err := net.Dial("udp4", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte("x"))
	_, pt, err, _ := nextOrTick(t, src)
	if err != nil || pt == 0 {
		t.Fatalf("NextOrTick after a frame was sent: packet at %d, err %v; want the packet", pt, err)
	}
	if pt <= last {
		t.Errorf("a frame sent after the tick %d is stamped %d, before it", last, pt)
	}

	src.Stop()
	if _, pt, err, took := nextOrTick(t, src); err != io.EOF || pt != 0 || took > 2*time.Second {
		t.Errorf("NextOrTick after Stop: packet %d, err %v after %v; want io.EOF at once", pt, err, took)
	}
}

// Frames the kernel hands over but the filter rejects in user space (a
// VLAN filter is not attached to the kernel) keep the ring busy: poll
// never times out, yet NextOrTick still ticks every QuietTick once it has
// read every frame handed over.
func TestNextOrTickWhileRejectedFramesFlow(t *testing.T) {
	requireRoot(t)
	if !pureGo {
		t.Skip("libpcap filters in the kernel: rejected frames never reach the reader")
	}
	port := quietPort()
	src, err := Open("lo", Options{Filter: fmt.Sprintf("vlan and udp port %d", port)})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	if src.KernelFilter() {
		t.Fatal("a VLAN filter was attached to the kernel; the test needs it in user space")
	}
	c, err := net.Dial("udp4", fmt.Sprintf("127.0.0.1:%d", port+1))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // a frame every millisecond, all rejected
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			case <-time.After(time.Millisecond):
				c.Write([]byte("x"))
			}
		}
	}()
	defer func() { close(stop); wg.Wait() }()
	for i := range 2 {
		tick, pt, err, took := nextOrTick(t, src)
		if err != nil || pt != 0 || tick == 0 {
			t.Fatalf("NextOrTick %d: packet %d, tick %d, err %v; want a tick", i+1, pt, tick, err)
		}
		if took > QuietTick+2*time.Second {
			t.Errorf("tick %d came after %v while rejected frames flowed, want about QuietTick", i+1, took)
		}
	}
	if src.Filtered() == 0 {
		t.Error("no frame was rejected in user space: the test exercised nothing")
	}
}

// closeWatch is analysis.Events that signals each connection as it is
// reported.
type closeWatch struct {
	mu    sync.Mutex
	conns []*analysis.ConnReport
	seen  chan struct{}
}

func (w *closeWatch) Connection(c *analysis.ConnReport, _ []*analysis.TxnReport) {
	w.mu.Lock()
	w.conns = append(w.conns, c)
	w.mu.Unlock()
	select {
	case w.seen <- struct{}{}:
	default:
	}
}

func (*closeWatch) Finding(*analysis.FindingReport) {}

// A real HTTP connection with `Connection: close` between two network
// namespaces, captured live and analysed as it goes: once it has closed
// and no more packets flow, its Connection event arrives within a second
// or two (its 250 ms linger, QuietTick, the tick's margin), while the
// capture is still running, not at Stop.
func TestClosedConnectionReportedWhileQuiet(t *testing.T) {
	v := newVethPair(t)
	filter := fmt.Sprintf("tcp port %d", httpPort)
	var src *Source
	if err := inNetns(v.nsB, func() error {
		var err error
		src, err = Open(v.ifB, Options{Filter: filter})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	watch := &closeWatch{seen: make(chan struct{}, 1)}
	a := analysis.New(analysis.Options{Events: watch})
	done := make(chan error, 1)
	go func() { done <- a.AddSource(v.ifB, "live", src) }()

	startHTTPServer(t, v.nsB, v.ipB)
	tr := &http.Transport{DialContext: dialer(v.nsA)}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	req, err := http.NewRequest("GET", fmt.Sprintf("http://%s:%d/size/100", v.ipB, httpPort), nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Close = true
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	closed := time.Now()

	select {
	case <-watch.seen:
		t.Logf("connection reported %v after the client had read the response", time.Since(closed).Round(time.Millisecond))
	case <-time.After(5 * time.Second):
		t.Error("no connection reported 5 s after it closed, with no packet since")
	}
	src.Stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	rep := a.Report()
	watch.mu.Lock()
	defer watch.mu.Unlock()
	if len(watch.conns) != 1 || len(rep.Connections) != 1 {
		t.Fatalf("%d connections reported, %d in the report; want the one", len(watch.conns), len(rep.Connections))
	}
	if c := watch.conns[0]; c.State != "SF" || rep.Inputs[0].Transactions != 1 {
		t.Errorf("connection %s → %s state %s with %d transactions, want SF with 1", c.Client, c.Server, c.State, rep.Inputs[0].Transactions)
	}
	if w := strings.Join(rep.Inputs[0].Warnings, "; "); w != "" {
		t.Errorf("warnings: %s", w)
	}
}
