//go:build linux

package live

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/connscope/connscope/capture"
	"github.com/connscope/connscope/capture/pcapngw"
)

const httpPort = 8080

// startHTTPServer serves in namespace ns: /size/N answers N bytes.
func startHTTPServer(t testing.TB, ns, ip string) {
	t.Helper()
	var ln net.Listener
	if err := inNetns(ns, func() error {
		var err error
		ln, err = net.Listen("tcp4", net.JoinHostPort(ip, fmt.Sprint(httpPort)))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		var n int
		fmt.Sscanf(r.URL.Path, "/size/%d", &n)
		w.Header().Set("Content-Length", fmt.Sprint(n))
		w.Write(bytes.Repeat([]byte("x"), n))
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
}

// runHTTPClient makes the two patterns of the issue from namespace ns: a
// keep-alive connection carrying several transactions, then requests with
// `Connection: close`, each on its own connection.
func runHTTPClient(t testing.TB, ns, serverIP string) {
	t.Helper()
	tr := &http.Transport{DialContext: dialer(ns), MaxIdleConnsPerHost: 1}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	base := fmt.Sprintf("http://%s:%d", serverIP, httpPort)
	do := func(method, path string, body string, close bool) {
		req, err := http.NewRequest(method, base+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Close = close
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	for _, size := range []int{10, 2000, 150000, 0} {
		do("GET", fmt.Sprintf("/size/%d", size), "", false)
	}
	do("POST", "/size/5", strings.Repeat("p", 3000), false)
	tr.CloseIdleConnections()
	for _, size := range []int{100, 70000, 1} {
		do("GET", fmt.Sprintf("/size/%d", size), "", true)
	}
}

// tcpdumpRun is a tcpdump process capturing into a file.
type tcpdumpRun struct {
	cmd    *exec.Cmd
	stderr chan string // the rest of tcpdump's stderr, once it exits
}

// startTcpdump captures on iface inside namespace ns into a pcap file and
// returns once tcpdump says it is listening. It gets a large buffer (-B)
// and immediate mode so that it neither drops nor holds back frames.
func startTcpdump(t testing.TB, ns, iface, filter, path string) *tcpdumpRun {
	t.Helper()
	cmd := exec.Command("ip", "netns", "exec", ns, "tcpdump", "-i", iface, "-n", "-U", "--immediate-mode",
		"-B", "65536", "-s", "0", "--time-stamp-precision=nano", "-w", path, filter)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	run := &tcpdumpRun{cmd: cmd, stderr: make(chan string, 1)}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		var seen strings.Builder
		for sc.Scan() {
			seen.WriteString(sc.Text() + "\n")
			if strings.Contains(sc.Text(), "listening on") {
				ready <- ""
				rest, _ := io.ReadAll(stderr)
				run.stderr <- string(rest)
				return
			}
		}
		ready <- seen.String()
		run.stderr <- ""
	}()
	select {
	case msg := <-ready:
		if msg != "" {
			t.Fatalf("tcpdump did not start:\n%s", msg)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("tcpdump did not start listening within 10 s")
	}
	return run
}

// stop ends the capture and returns how many frames tcpdump says the
// kernel dropped on it.
func (r *tcpdumpRun) stop(t testing.TB) (drops int) {
	r.cmd.Process.Signal(syscall.SIGINT)
	r.cmd.Wait()
	summary := <-r.stderr
	t.Logf("tcpdump: %s", strings.ReplaceAll(strings.TrimSpace(summary), "\n", "; "))
	for _, line := range strings.Split(summary, "\n") {
		fmt.Sscanf(line, "%d packets dropped by kernel", &drops)
	}
	return drops
}

// collect reads the source until it stops, copying every packet.
func collect(src *Source) <-chan []capture.Packet {
	out := make(chan []capture.Packet, 1)
	go func() {
		var pkts []capture.Packet
		for {
			p, err := src.Next()
			if err != nil {
				out <- pkts
				return
			}
			cp := *p
			cp.Data = append([]byte(nil), p.Data...)
			pkts = append(pkts, cp)
		}
	}()
	return out
}

func readAll(t testing.TB, path string) []capture.Packet {
	t.Helper()
	r, err := capture.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var pkts []capture.Packet
	for {
		p, err := r.Next()
		if err == io.EOF {
			return pkts
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		cp := *p
		cp.Data = append([]byte(nil), p.Data...)
		pkts = append(pkts, cp)
	}
}

// TestVethMatchesTcpdump runs a real HTTP server and client in two network
// namespaces, captures on the server's veth end with a Source and with
// tcpdump at the same time, and requires the same packets: same count,
// same bytes, the same order, capture times within a millisecond. The
// Source's packets are also written with pcapngw and read back.
//
// The "any" case captures on every interface of the server's namespace in
// Linux cooked form (SLL2), and adds a client inside that namespace whose
// traffic crosses loopback, where each frame is seen twice by the kernel
// and must be kept once.
func TestVethMatchesTcpdump(t *testing.T) {
	t.Run("veth", func(t *testing.T) { testVethMatchesTcpdump(t, false) })
	t.Run("any", func(t *testing.T) { testVethMatchesTcpdump(t, true) })
}

func testVethMatchesTcpdump(t *testing.T, any bool) {
	v := newVethPair(t)
	if _, err := exec.LookPath("tcpdump"); err != nil {
		t.Skip("tcpdump not installed: nothing to compare against")
	}
	iface := v.ifB
	if any {
		iface = "any"
	}
	dir := t.TempDir()
	filter := fmt.Sprintf("tcp port %d", httpPort)
	tcpdumpFile := filepath.Join(dir, "tcpdump.pcap")
	td := startTcpdump(t, v.nsB, iface, filter, tcpdumpFile)

	var src *Source
	if err := inNetns(v.nsB, func() error {
		var err error
		src, err = Open(iface, Options{Filter: filter})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	got := collect(src)

	startHTTPServer(t, v.nsB, v.ipB)
	runHTTPClient(t, v.nsA, v.ipB)
	if any {
		runHTTPClient(t, v.nsB, v.ipB) // over loopback
	}

	// Let the last FIN/ACK reach both captures (the ring hands a partly
	// filled block over after BlockTimeout, 10 ms), then stop both.
	time.Sleep(300 * time.Millisecond)
	src.Stop()
	tdDrops := td.stop(t)
	ours := <-got
	theirs := readAll(t, tcpdumpFile)

	if len(ours) == 0 {
		t.Fatal("the live source captured nothing")
	}
	if tdDrops > 0 {
		t.Skipf("tcpdump itself dropped %d frames (machine too busy?); the comparison would be meaningless", tdDrops)
	}
	if os.Getenv("CSLIVE_DEBUG_DIR") != "" {
		writePcapng(t, filepath.Join(os.Getenv("CSLIVE_DEBUG_DIR"), "ours.pcapng"), src, ours)
		b, _ := os.ReadFile(tcpdumpFile)
		os.WriteFile(filepath.Join(os.Getenv("CSLIVE_DEBUG_DIR"), "tcpdump.pcap"), b, 0o644)
	}
	if len(ours) != len(theirs) {
		t.Errorf("live source captured %d packets, tcpdump %d", len(ours), len(theirs))
	}
	// Times: the kernel stamps a received frame once for every socket, but
	// a frame this host sends is stamped by each packet socket as it gets
	// its copy, so the two captures differ by a microsecond or so there.
	const timeSlack = int64(time.Millisecond)
	var maxSkew int64
	for i := range min(len(ours), len(theirs)) {
		o, th := ours[i], theirs[i]
		if !bytes.Equal(o.Data, th.Data) || o.OriginalLength != th.OriginalLength {
			t.Errorf("packet %d differs: ours %d/%d bytes, tcpdump's %d/%d", i+1, o.CaptureLength, o.OriginalLength, th.CaptureLength, th.OriginalLength)
		}
		skew := max(o.Time-th.Time, th.Time-o.Time)
		maxSkew = max(maxSkew, skew)
		if skew > timeSlack {
			t.Errorf("packet %d: time %d, tcpdump's %d", i+1, o.Time, th.Time)
		}
		if o.Frame != uint64(i+1) {
			t.Errorf("packet %d numbered %d", i+1, o.Frame)
		}
	}
	t.Logf("largest time difference from tcpdump: %d ns", maxSkew)
	if _, drops := src.Stats(); drops != 0 {
		t.Errorf("%d kernel drops", drops)
	}
	t.Logf("%d packets captured by both", len(ours))

	// The same packets through the pcapng writer and back.
	ngFile := filepath.Join(dir, "live.pcapng")
	writePcapng(t, ngFile, src, ours)
	back := readAll(t, ngFile)
	if len(back) != len(ours) {
		t.Fatalf("pcapng round trip: %d packets, want %d", len(back), len(ours))
	}
	for i := range back {
		if !bytes.Equal(back[i].Data, ours[i].Data) || back[i].Time != ours[i].Time {
			t.Errorf("pcapng round trip: packet %d differs", i+1)
		}
	}
}

func writePcapng(t testing.TB, path string, src *Source, pkts []capture.Packet) {
	t.Helper()
	var buf bytes.Buffer
	w, err := pcapngw.NewWriter(&buf, "connscope test", pcapngw.Interface{Name: src.Interface(), LinkType: src.LinkType(), Snaplen: src.Snaplen()})
	if err != nil {
		t.Fatal(err)
	}
	for i := range pkts {
		if err := w.WritePacket(&pkts[i]); err != nil {
			t.Fatal(err)
		}
	}
	recv, drops := src.Stats()
	if err := w.WriteStats(pcapngw.Stats{Start: pkts[0].Time, End: pkts[len(pkts)-1].Time, Received: recv, Dropped: drops}); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := writeFile(path, buf.Bytes()); err != nil {
		t.Fatal(err)
	}
}
