//go:build linux

package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/connscope/connscope/analysis"
)

// TestLiveReportEqualsTcpdumpReport captures real HTTP traffic live with
// connscope while tcpdump records the same interface, then checks that
// connscope's live report and its report of tcpdump's file agree:
// the same connections, transactions and findings.
//
// Topology: a veth pair, one end (cslv0, 10.213.7.1) in this namespace
// where the client runs and connscope and tcpdump capture, the other
// (10.213.7.2) in a private namespace where the server runs. Nothing is
// sent to any other address.
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

	ns := fmt.Sprintf("cslv-%d", os.Getpid())
	const hostIf, peerIf = "cslv0", "cslv1"
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
	sh("ip", "addr", "add", "10.213.7.1/24", "dev", hostIf)
	sh("ip", "link", "set", hostIf, "up")
	sh("ip", "-n", ns, "addr", "add", "10.213.7.2/24", "dev", peerIf)
	sh("ip", "-n", ns, "link", "set", peerIf, "up")
	sh("ip", "-n", ns, "link", "set", "lo", "up")

	server := exec.Command("ip", "netns", "exec", ns, loadgen, "-mode", "server", "-addr", "10.213.7.2:8080")
	if err := server.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { server.Process.Kill(); server.Wait() })

	pcap := filepath.Join(dir, "tcpdump.pcap")
	tcpdump := exec.Command("tcpdump", "-i", hostIf, "-s", "0", "-U", "--time-stamp-precision=nano", "-w", pcap, "tcp port 8080")
	var tcpdumpErr bytes.Buffer
	tcpdump.Stderr = &tcpdumpErr
	if err := tcpdump.Start(); err != nil {
		t.Fatal(err)
	}

	liveJSON := filepath.Join(dir, "live.json")
	liveDone := make(chan int, 1)
	var liveErr bytes.Buffer
	go func() {
		var out bytes.Buffer
		liveDone <- Run([]string{"analyze", "-i", hostIf, "--duration", "6s", "-f", "json", "-o", liveJSON, "tcp", "port", "8080"},
			IO{Stdin: bytes.NewReader(nil), Stdout: &out, Stderr: &liveErr})
	}()
	time.Sleep(1500 * time.Millisecond) // both captures running, server listening

	// A keep-alive pattern and a Connection: close pattern.
	client := exec.Command(loadgen, "-mode", "client", "-addr", "10.213.7.2:8080", "-short", "6", "-keepalive", "2", "-requests", "4", "-workers", "2")
	if out, err := client.CombinedOutput(); err != nil {
		t.Fatalf("client: %v\n%s", err, out)
	}

	if code := <-liveDone; code != ExitOK {
		t.Fatalf("live analyze exit %d: %s", code, liveErr.String())
	}
	time.Sleep(300 * time.Millisecond)
	tcpdump.Process.Signal(os.Interrupt)
	tcpdump.Wait()

	fileJSON := filepath.Join(dir, "file.json")
	if code := Run([]string{"analyze", "-f", "json", "-o", fileJSON, pcap}, IO{Stdout: &bytes.Buffer{}, Stderr: &bytes.Buffer{}}); code != ExitOK {
		t.Fatalf("file analyze exit %d (tcpdump said: %s)", code, tcpdumpErr.String())
	}
	live, file := readReport(t, liveJSON), readReport(t, fileJSON)
	if len(file.Connections) < 8 || len(file.Transactions) < 14 {
		t.Fatalf("tcpdump's capture holds %d connections and %d transactions; the client made 8 and 14", len(file.Connections), len(file.Transactions))
	}
	// Two packet sockets time-stamp the same frame a few hundred ns
	// apart, so times and durations may differ by a little; everything
	// else (frames, counts, states, pairing, findings) must be identical.
	for _, x := range []struct {
		name       string
		live, file any
	}{
		{"connections", live.Connections, file.Connections},
		{"transactions", live.Transactions, file.Transactions},
		{"findings", live.Findings, file.Findings},
	} {
		l, f := generic(t, x.live), generic(t, x.file)
		if diffs := compareJSON(x.name, l, f); len(diffs) > 0 {
			t.Errorf("live and tcpdump reports differ in %s:\n  %s", x.name, strings.Join(diffs, "\n  "))
		}
	}
	if live.Inputs[0].Format != "live" || live.Inputs[0].Packets != file.Inputs[0].Packets {
		t.Errorf("live input %+v, file input %+v: packet counts should match", live.Inputs[0], file.Inputs[0])
	}
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
