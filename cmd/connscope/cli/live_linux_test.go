//go:build linux

package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/connscope/connscope/analysis"
	"github.com/connscope/connscope/capture"
)

// TestLiveReportEqualsTcpdumpReport captures real HTTP traffic live with
// connscope while tcpdump records the same interface, then checks that
// connscope's live report agrees exactly with its report of the frames
// it wrote with -w, and with its report of tcpdump's file: the same
// connections, transactions and findings. Two packet sockets may see the
// frames of the two directions interleaved differently on a busy machine;
// when tcpdump's frame order differs from connscope's, frame numbers (and
// so connection order) cannot match, and the comparison with tcpdump's
// file falls back to what does not depend on order.
//
// Topology: a veth pair, one end (10.213.N.1) in this namespace where
// the client runs and connscope and tcpdump capture, the other
// (10.213.N.2) in a private namespace where the server runs. Nothing is
// sent to any other address. N comes from the process ID, as the
// interface names do: two runs at once (two checkouts, or a test run
// beside another) must not both route 10.213.N.0/24, or one's client
// talks through the other's interface and its captures stay empty.
func TestLiveReportEqualsTcpdumpReport(t *testing.T) {
	if testing.Short() {
		t.Skip("live capture integration test")
	}
	if os.Geteuid() != 0 {
		t.Skip("live capture needs root (CI runs as root)")
	}
	for _, tool := range []string{"ip", "tcpdump"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed", tool)
		}
	}
	dir := t.TempDir()
	loadgen := filepath.Join(dir, "loadgen")
	if out, err := exec.Command("go", "build", "-o", loadgen, "github.com/connscope/connscope/bench/loadgen").CombinedOutput(); err != nil {
		t.Fatalf("building loadgen: %v\n%s", err, out)
	}

	// Names unique to this process, so two test runs (e.g. two checkouts)
	// cannot delete each other's interfaces.
	ns := fmt.Sprintf("cslv-%d", os.Getpid())
	hostIf, peerIf := fmt.Sprintf("cslv%da", os.Getpid()%100000), fmt.Sprintf("cslv%db", os.Getpid()%100000)
	subnet := fmt.Sprintf("10.213.%d", os.Getpid()%250+1)
	hostAddr, serverAddr := subnet+".1", subnet+".2"
	if out, _ := exec.Command("ip", "-o", "addr", "show", "to", subnet+".0/24").Output(); len(bytes.TrimSpace(out)) > 0 {
		t.Skipf("%s.0/24 is already in use here: %s", subnet, out)
	}
	sh := func(args ...string) {
		t.Helper()
		if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, out)
		}
	}
	exec.Command("ip", "link", "del", hostIf).Run() // left over from an aborted run
	sh("ip", "netns", "add", ns)
	t.Cleanup(func() {
		exec.Command("ip", "link", "del", hostIf).Run()
		exec.Command("ip", "netns", "del", ns).Run()
	})
	sh("ip", "link", "add", hostIf, "type", "veth", "peer", "name", peerIf)
	sh("ip", "link", "set", peerIf, "netns", ns)
	sh("ip", "addr", "add", hostAddr+"/24", "dev", hostIf)
	sh("ip", "link", "set", hostIf, "up")
	sh("ip", "-n", ns, "addr", "add", serverAddr+"/24", "dev", peerIf)
	sh("ip", "-n", ns, "link", "set", peerIf, "up")
	sh("ip", "-n", ns, "link", "set", "lo", "up")

	server := exec.Command("ip", "netns", "exec", ns, loadgen, "-mode", "server", "-addr", serverAddr+":8080")
	if err := server.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { server.Process.Kill(); server.Wait() })

	pcap := filepath.Join(dir, "tcpdump.pcap")
	tcpdump := exec.Command("tcpdump", "-i", hostIf, "-s", "0", "-U", "--time-stamp-precision=nano", "-w", pcap, "tcp port 8080")
	// tcpdump says "listening on" once its socket is open; on a busy
	// machine that can take longer than any fixed pause.
	tcpdumpErr := &lockedBuffer{}
	listening := make(chan struct{})
	tcpdump.Stderr = &watchWriter{w: tcpdumpErr, want: []byte("listening on"), seen: listening}
	if err := tcpdump.Start(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-listening:
	case <-time.After(30 * time.Second):
		t.Fatalf("tcpdump not listening after 30 s: %s", tcpdumpErr.String())
	}

	liveJSON := filepath.Join(dir, "live.json")
	livePcapng := filepath.Join(dir, "live.pcapng")
	liveDone := make(chan int, 1)
	var liveErr bytes.Buffer
	go func() {
		var out bytes.Buffer
		liveDone <- Run([]string{"analyze", "-i", hostIf, "--duration", "6s", "-f", "json", "-o", liveJSON, "-w", livePcapng, "tcp", "port", "8080"},
			IO{Stdin: bytes.NewReader(nil), Stdout: &out, Stderr: &liveErr})
	}()
	time.Sleep(1500 * time.Millisecond) // both captures running, server listening

	// A keep-alive pattern and a Connection: close pattern.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	client := exec.CommandContext(ctx, loadgen, "-mode", "client", "-addr", serverAddr+":8080", "-short", "6", "-keepalive", "2", "-requests", "4", "-workers", "2")
	if out, err := client.CombinedOutput(); err != nil {
		t.Fatalf("client: %v\n%s", err, out)
	}

	select {
	case code := <-liveDone:
		if code != ExitOK {
			t.Fatalf("live analyze exit %d: %s", code, liveErr.String())
		}
	case <-time.After(time.Minute):
		t.Fatalf("live analyze with --duration 6s still running after a minute")
	}
	time.Sleep(300 * time.Millisecond)
	tcpdump.Process.Signal(os.Interrupt)
	tcpdump.Wait()

	fileJSON := filepath.Join(dir, "file.json")
	if code := Run([]string{"analyze", "-f", "json", "-o", fileJSON, pcap}, IO{Stdout: &bytes.Buffer{}, Stderr: &bytes.Buffer{}}); code != ExitOK {
		t.Fatalf("file analyze exit %d (tcpdump said: %s)", code, tcpdumpErr.String())
	}
	ownJSON := filepath.Join(dir, "own.json")
	if code := Run([]string{"analyze", "-f", "json", "-o", ownJSON, livePcapng}, IO{Stdout: &bytes.Buffer{}, Stderr: &bytes.Buffer{}}); code != ExitOK {
		t.Fatalf("analyze of connscope's own -w file: exit %d", code)
	}
	live, file, own := readReport(t, liveJSON), readReport(t, fileJSON), readReport(t, ownJSON)
	if len(file.Connections) < 8 || len(file.Transactions) < 14 {
		t.Fatalf("tcpdump's capture holds %d connections and %d transactions; the client made 8 and 14", len(file.Connections), len(file.Transactions))
	}
	// The live analysis and the analysis of the frames it wrote see the
	// same frames in the same order with the same time stamps.
	if diffs := reportDiffs(t, live, own, false); len(diffs) > 0 {
		t.Errorf("live report and report of its -w file differ:\n  %s", strings.Join(diffs, "\n  "))
	}
	if live.Inputs[0].Format != "live" || live.Inputs[0].Packets != file.Inputs[0].Packets {
		t.Errorf("live input %+v, file input %+v: packet counts should match", live.Inputs[0], file.Inputs[0])
	}
	if i := firstOrderDifference(t, livePcapng, pcap); i > 0 {
		// Frame numbers follow the order, so compare what does not.
		t.Logf("tcpdump saw frame %d in a different order from connscope's socket; comparing counts, endpoints and rules only", i)
		if a, b := orderFree(live), orderFree(file); !reflect.DeepEqual(a, b) {
			t.Errorf("live and tcpdump reports differ:\n  live    %v\n  tcpdump %v", a, b)
		}
		return
	}
	// Two packet sockets time-stamp the same frame a few hundred ns
	// apart, so times and durations may differ by a little; everything
	// else (frames, counts, states, pairing, findings) must be identical.
	// Transactions are numbered by start time, and two on different
	// connections may start within those nanoseconds of each other, so
	// they are compared by connection and index.
	byConnIndex(live)
	byConnIndex(file)
	if diffs := reportDiffs(t, live, file, true); len(diffs) > 0 {
		t.Errorf("live and tcpdump reports differ:\n  %s", strings.Join(diffs, "\n  "))
	}
}

// lockedBuffer is a bytes.Buffer safe to write from one goroutine while
// another reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// watchWriter passes writes on to w and closes seen the first time the
// text written so far contains want.
type watchWriter struct {
	w    io.Writer
	want []byte
	seen chan struct{}
	text []byte
	done bool
}

func (x *watchWriter) Write(p []byte) (int, error) {
	if !x.done {
		x.text = append(x.text, p...)
		if bytes.Contains(x.text, x.want) {
			x.done = true
			x.text = nil
			close(x.seen)
		}
	}
	return x.w.Write(p)
}

// byConnIndex orders a report's transactions by connection and index
// instead of by start time, and renumbers them (and the findings that name
// them) in that order.
func byConnIndex(r *analysis.Report) {
	sort.SliceStable(r.Transactions, func(i, j int) bool {
		a, b := r.Transactions[i], r.Transactions[j]
		if a.Connection != b.Connection {
			return a.Connection < b.Connection
		}
		return a.Index < b.Index
	})
	renumber := map[int]int{}
	for i, t := range r.Transactions {
		renumber[t.ID] = i + 1
		t.ID = i + 1
	}
	for _, f := range r.Findings {
		f.Transaction = renumber[f.Transaction]
	}
	sort.SliceStable(r.Findings, func(i, j int) bool {
		a, b := r.Findings[i], r.Findings[j]
		if a.Rule != b.Rule {
			return a.Rule < b.Rule
		}
		if a.Connection != b.Connection {
			return a.Connection < b.Connection
		}
		return a.Transaction < b.Transaction
	})
}

// firstOrderDifference returns the number of the first frame at which the
// two capture files hold different bytes (0 when they hold the same frames
// in the same order).
func firstOrderDifference(t *testing.T, a, b string) uint64 {
	t.Helper()
	ra, err := capture.Open(a)
	if err != nil {
		t.Fatal(err)
	}
	defer ra.Close()
	rb, err := capture.Open(b)
	if err != nil {
		t.Fatal(err)
	}
	defer rb.Close()
	for n := uint64(1); ; n++ {
		pa, errA := ra.Next()
		var da []byte
		if errA == nil {
			da = append(da, pa.Data...) // valid only until the next call
		}
		pb, errB := rb.Next()
		if errA != nil || errB != nil {
			if errA != nil && errB != nil {
				return 0
			}
			return n
		}
		if !bytes.Equal(da, pb.Data) {
			return n
		}
	}
}

// orderFree is what a report says that does not depend on the order two
// capture points saw the frames in: counts, endpoint pairs, transactions
// by target and status, and rule IDs.
func orderFree(r *analysis.Report) []string {
	var out []string
	for _, c := range r.Connections {
		out = append(out, fmt.Sprintf("conn %s -> %s %s %d/%d packets %d/%d bytes %d txns",
			c.Client, c.Server, c.State, c.Packets.ClientToServer, c.Packets.ServerToClient,
			c.Bytes.ClientToServer, c.Bytes.ServerToClient, c.TransactionCount))
	}
	for _, x := range r.Transactions {
		out = append(out, fmt.Sprintf("txn %s %s %d", x.Method, x.Target, x.Status))
	}
	for _, f := range r.Findings {
		out = append(out, "finding "+f.Rule)
	}
	sort.Strings(out)
	return out
}

// reportDiffs lists where two reports' connections, transactions and
// findings differ: exactly, or with times within timeTolerance.
func reportDiffs(t *testing.T, a, b *analysis.Report, tolerateTimes bool) []string {
	var out []string
	for _, x := range []struct {
		name string
		a, b any
	}{
		{"connections", a.Connections, b.Connections},
		{"transactions", a.Transactions, b.Transactions},
		{"findings", a.Findings, b.Findings},
	} {
		ga, gb := generic(t, x.a), generic(t, x.b)
		if tolerateTimes || !reflect.DeepEqual(ga, gb) {
			diffs := compareJSON(x.name, ga, gb)
			if len(diffs) == 0 && !tolerateTimes {
				diffs = []string{x.name + ": times differ"}
			}
			out = append(out, diffs...)
		}
	}
	return out
}

// generic turns a report part into plain JSON values.
func generic(t *testing.T, v any) any {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// timeTolerance is how far two packet sockets' timestamps of one frame
// may drift apart.
const timeTolerance = time.Millisecond

// compareJSON lists the differences between a and b, allowing time fields
// (start, end, time, *_ms) to differ by timeTolerance.
func compareJSON(path string, a, b any) []string {
	switch x := a.(type) {
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return []string{fmt.Sprintf("%s: %v vs %v", path, a, b)}
		}
		var out []string
		for k, av := range x {
			bv := y[k]
			p := path + "." + k
			if isTimeKey(k) && closeEnough(av, bv) {
				continue
			}
			if k == "message" {
				// Messages quote durations; compare their words.
				av, bv = digits.ReplaceAllString(fmt.Sprint(av), "#"), digits.ReplaceAllString(fmt.Sprint(bv), "#")
			}
			out = append(out, compareJSON(p, av, bv)...)
		}
		return out
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return []string{fmt.Sprintf("%s: %d vs %d elements", path, len(x), lenOf(b))}
		}
		var out []string
		for i := range x {
			out = append(out, compareJSON(fmt.Sprintf("%s[%d]", path, i), x[i], y[i])...)
		}
		return out
	}
	if !reflect.DeepEqual(a, b) {
		return []string{fmt.Sprintf("%s: %v vs %v", path, a, b)}
	}
	return nil
}

var digits = regexp.MustCompile(`[0-9]+(\.[0-9]+)?`)

func lenOf(v any) int {
	if s, ok := v.([]any); ok {
		return len(s)
	}
	return -1
}

func isTimeKey(k string) bool {
	return k == "start" || k == "end" || k == "time" || strings.HasSuffix(k, "_ms")
}

func closeEnough(a, b any) bool {
	switch x := a.(type) {
	case string:
		y, ok := b.(string)
		if !ok {
			return false
		}
		ta, e1 := time.Parse(time.RFC3339Nano, x)
		tb, e2 := time.Parse(time.RFC3339Nano, y)
		d := ta.Sub(tb)
		return e1 == nil && e2 == nil && d < timeTolerance && d > -timeTolerance
	case float64:
		y, ok := b.(float64)
		d := (x - y) * 1e6 // ms → ns
		return ok && d < float64(timeTolerance) && d > -float64(timeTolerance)
	}
	return a == nil && b == nil
}

func readReport(t *testing.T, name string) *analysis.Report {
	t.Helper()
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	var r analysis.Report
	if err := json.Unmarshal(data, &r); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return &r
}
