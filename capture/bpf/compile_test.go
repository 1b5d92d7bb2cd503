package bpf

import (
	"errors"
	"os/exec"
	"sync"
	"testing"

	"github.com/connscope/connscope/capture"
)

// expressionCorpus are the filters the built-in compiler must compile
// exactly like libpcap (same accept/reject decision on every frame).
var expressionCorpus = []string{
	"",
	"tcp", "udp", "sctp", "icmp", "icmp6", "ip", "ip6", "arp",
	"host 10.0.0.1", "src host 10.0.0.1", "dst host 10.1.2.3", "ip host 10.0.0.1",
	"src and dst host 10.0.0.1", "src or dst host 192.168.1.20",
	"host 2001:db8::1", "src host 2001:db8::1", "dst host fe80::1", "ip6 host ::1",
	"net 10.0.0.0/8", "net 10.1.0.0/16", "src net 192.168.0.0/16", "dst net 10.0.0.0/24",
	"net 10", "net 192.168", "net 10.1.2", "net 10.0.0.0 mask 255.0.0.0",
	"net 2001:db8::/32", "net ::/0", "port domain", "port https", "tcp port http", "portrange ssh-http", "net 2001:db8:1::/48", "src net fe80::/10", "net 0.0.0.0/0",
	"port 80", "src port 80", "dst port 53", "tcp port 80", "udp port 53", "sctp port 80",
	"tcp dst port 8080", "udp src port 5353", "port http", "port 80 or 443", "port 0",
	"portrange 1-100", "tcp portrange 100-200", "src portrange 1000-1100", "portrange 200-100",
	"tcp and port 80", "tcp or udp", "not tcp", "! udp", "tcp && port 80", "udp || icmp",
	"host 10.0.0.1 and port 80", "host 10.0.0.1 or host 8.8.8.8 and tcp",
	"not (host 10.0.0.1 or host 10.1.2.3)", "(tcp or udp) and not port 53",
	"ip and tcp and not port 80", "ip6 and (udp or icmp6)",
	"tcp and (src port 80 or dst port 80)", "not not tcp", "host 10.0.0.1 and not port 22 and not arp",
	"tcp port 80 and (host 10.0.0.1 or host 2001:db8::1)",
	"vlan", "vlan 5", "vlan 7", "vlan and tcp", "vlan 5 and port 80", "vlan and vlan 7",
	"vlan 5 and vlan 7 and tcp", "not vlan", "tcp or vlan", "vlan and host 10.0.0.1",
	"less 60", "greater 70", "less 50 and tcp",
}

// otherLinkCorpus is the subset also checked on the non-Ethernet link
// types, where only the offsets differ: every kind of primitive once.
var otherLinkCorpus = []string{
	"", "tcp", "udp", "icmp", "icmp6", "ip", "ip6", "arp",
	"host 10.0.0.1", "src host 2001:db8::1", "net 10.0.0.0/8", "dst net 2001:db8:1::/48", "net 0.0.0.0/0",
	"port 80", "tcp dst port 8080", "port domain", "portrange 1-100", "src portrange 1000-1100",
	"host 10.0.0.1 or host 8.8.8.8 and tcp", "not (tcp or udp)", "less 60", "greater 70",
}

var linkTypes = []capture.LinkType{capture.LinkTypeEthernet, capture.LinkTypeLinuxSLL, capture.LinkTypeLinuxSLL2, capture.LinkTypeRaw}

// TestBuiltinMatchesTcpdump compiles every expression with both compilers
// and runs both programs over synthetic frames of each link type: the
// decisions must agree frame by frame.
func TestBuiltinMatchesTcpdump(t *testing.T) {
	if _, err := exec.LookPath("tcpdump"); err != nil {
		t.Skip("tcpdump not installed: nothing to compare the built-in compiler against")
	}
	theirs := compileAllWithTcpdump()
	for _, lt := range linkTypes {
		frames := syntheticFrames(lt)
		for _, expr := range corpusFor(lt) {
			ours, err := CompileBuiltin(expr, lt, 0)
			if errors.Is(err, ErrUnsupported) && lt != capture.LinkTypeEthernet {
				continue // vlan on a non-Ethernet link type
			}
			if err != nil {
				t.Errorf("link %d %q: built-in: %v", lt, expr, err)
				continue
			}
			res := theirs[tcpdumpKey{lt, expr}]
			if res.err != nil {
				// tcpdump refuses filters that reject everything
				// ("ip and ip6"); ours must then reject all.
				for _, f := range frames {
					if Run(ours, f.data) {
						t.Errorf("link %d %q: tcpdump says %v, but built-in accepts %s", lt, expr, res.err, f.desc)
					}
				}
				continue
			}
			for _, f := range frames {
				want, got := Run(res.prog, f.data), Run(ours, f.data)
				if want != got {
					t.Errorf("link %d %q on %s: tcpdump's program says %v, built-in says %v", lt, expr, f.desc, want, got)
				}
			}
		}
	}
}

func corpusFor(lt capture.LinkType) []string {
	if lt == capture.LinkTypeEthernet {
		return expressionCorpus
	}
	return otherLinkCorpus
}

type tcpdumpKey struct {
	lt   capture.LinkType
	expr string
}

type tcpdumpResult struct {
	prog []RawInstruction
	err  error
}

// compileAllWithTcpdump runs tcpdump for every pair, several at a time:
// each run costs a process start, and there are hundreds.
func compileAllWithTcpdump() map[tcpdumpKey]tcpdumpResult {
	keys := make(chan tcpdumpKey)
	var mu sync.Mutex
	out := map[tcpdumpKey]tcpdumpResult{}
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range keys {
				prog, err := CompileTcpdump(k.expr, k.lt, 0)
				mu.Lock()
				out[k] = tcpdumpResult{prog, err}
				mu.Unlock()
			}
		}()
	}
	for _, lt := range linkTypes {
		for _, e := range corpusFor(lt) {
			keys <- tcpdumpKey{lt, e}
		}
	}
	close(keys)
	wg.Wait()
	return out
}

// TestBuiltinKnownAnswers checks decisions that do not depend on tcpdump
// being installed.
func TestBuiltinKnownAnswers(t *testing.T) {
	frames := map[string][]byte{}
	for _, f := range syntheticFrames(capture.LinkTypeEthernet) {
		frames[f.desc] = f.data
	}
	cases := []struct {
		desc, expr, frame string
		want              bool
	}{
		{"tcp port 80 matches", "tcp port 80", "ipv4 10.0.0.1>10.1.2.3 {6 40000 80} vlan[]", true},
		{"udp is not tcp", "tcp", "ipv4 10.0.0.1>10.1.2.3 {17 5353 53} vlan[]", false},
		{"dst port is directional", "dst port 80", "ipv4 10.0.0.1>10.1.2.3 {6 80 40000} vlan[]", false},
		{"src port is directional", "src port 80", "ipv4 10.0.0.1>10.1.2.3 {6 80 40000} vlan[]", true},
		{"later fragments carry no ports", "port 80", "ipv4 later fragment 10.0.0.1>10.1.2.3 vlan[]", false},
		{"ip options move the ports", "dst port 80", "ipv4 options 10.0.0.1>10.1.2.3 vlan[]", true},
		{"host matches arp", "host 10.1.2.3", "arp 10.0.0.1>10.1.2.3 vlan[]", true},
		{"ip host does not match arp", "ip host 10.1.2.3", "arp 10.0.0.1>10.1.2.3 vlan[]", false},
		{"ipv6 host", "host 2001:db8:1::53", "ipv6 2001:db8::1>2001:db8:1::53 {17 5353 53} vlan[]", true},
		{"ipv6 tcp behind a fragment header", "tcp", "ipv6 frag 2001:db8::1>2001:db8:1::53 {6 40000 80} vlan[]", true},
		{"tagged frame is not plain tcp", "tcp", "ipv4 10.0.0.1>10.1.2.3 {6 40000 80} vlan[5]", false},
		{"vlan and tcp", "vlan and tcp", "ipv4 10.0.0.1>10.1.2.3 {6 40000 80} vlan[5]", true},
		{"vlan id", "vlan 7", "ipv4 10.0.0.1>10.1.2.3 {6 40000 80} vlan[5]", false},
		{"qinq", "vlan 5 and vlan 7 and port 80", "ipv4 10.0.0.1>10.1.2.3 {6 40000 80} vlan[5 7]", true},
		{"net", "net 10.0.0.0/8 and not net 192.168.0.0/16", "ipv4 10.0.0.1>10.1.2.3 {6 40000 80} vlan[]", true},
		{"portrange", "portrange 100-200", "ipv4 10.0.0.1>10.1.2.3 {6 101 65535} vlan[]", true},
		{"truncated before the port", "port 80", "ipv4 tcp truncated to 36", false},
	}
	for _, c := range cases {
		data, ok := frames[c.frame]
		if !ok {
			t.Fatalf("%s: no synthetic frame %q", c.desc, c.frame)
		}
		prog, err := CompileBuiltin(c.expr, capture.LinkTypeEthernet, 0)
		if err != nil {
			t.Fatalf("%s: %v", c.desc, err)
		}
		if got := Run(prog, data); got != c.want {
			t.Errorf("%s: %q on %s = %v, want %v", c.desc, c.expr, c.frame, got, c.want)
		}
	}
}

func TestBuiltinErrors(t *testing.T) {
	cases := []struct{ desc, expr string }{
		{"unbalanced", "(tcp"},
		{"trailing operator", "tcp and"},
		{"bad port", "port 70000"},
		{"host name", "host example.com"},
		{"byte offsets", "tcp[13] & 2 != 0"},
		{"tcp host", "tcp host 10.0.0.1"},
		{"host with prefix", "host 10.0.0.0/8"},
		{"non-network bits", "net 10.0.0.1/8"},
		{"stray paren", "tcp )"},
		{"bad character", "tcp $ udp"},
		{"bare number first", "80"},
		{"vlan id range", "vlan 4096"},
	}
	for _, c := range cases {
		if _, err := CompileBuiltin(c.expr, capture.LinkTypeEthernet, 0); err == nil {
			t.Errorf("%s: %q compiled, want an error", c.desc, c.expr)
		}
	}
	if _, err := CompileBuiltin("vlan", capture.LinkTypeLinuxSLL, 0); !errors.Is(err, ErrUnsupported) {
		t.Errorf("vlan on SLL: %v, want ErrUnsupported", err)
	}
}

// TestFarJumps builds a filter long enough that conditional jumps must go
// through trampolines, and checks both the decision and validity.
func TestFarJumps(t *testing.T) {
	expr := "port 1"
	for p := 2; p <= 60; p++ {
		expr += " or port " + itoa(p)
	}
	expr = "(" + expr + ") and tcp"
	prog, err := CompileBuiltin(expr, capture.LinkTypeEthernet, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(prog) < 300 {
		t.Fatalf("program has %d instructions; the test needs one with far jumps", len(prog))
	}
	frames := map[string][]byte{}
	for _, f := range syntheticFrames(capture.LinkTypeEthernet) {
		frames[f.desc] = f.data
	}
	if !Run(prog, frames["ipv4 10.0.0.1>10.1.2.3 {6 1 100} vlan[]"]) {
		t.Error("port 1 over TCP rejected")
	}
	if Run(prog, frames["ipv4 10.0.0.1>10.1.2.3 {6 40000 80} vlan[]"]) {
		t.Error("port 80 accepted")
	}
}

func itoa(n int) string {
	if n < 10 {
		return string(rune('0' + n))
	}
	return itoa(n/10) + string(rune('0'+n%10))
}

// TestCompileWithoutTcpdump checks that Compile falls back to the built-in
// compiler when tcpdump is not on the PATH.
func TestCompileWithoutTcpdump(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	got, err := Compile("tcp port 80", capture.LinkTypeEthernet, 0)
	if err != nil {
		t.Fatal(err)
	}
	want, err := CompileBuiltin("tcp port 80", capture.LinkTypeEthernet, 0)
	if err != nil {
		t.Fatal(err)
	}
	if FormatDDD(got) != FormatDDD(want) {
		t.Errorf("Compile without tcpdump:\n%s\nwant the built-in program:\n%s", FormatDDD(got), FormatDDD(want))
	}
	if _, err := CompileTcpdump("tcp", capture.LinkTypeEthernet, 0); err == nil {
		t.Error("CompileTcpdump succeeded without tcpdump")
	}
}
