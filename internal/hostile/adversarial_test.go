package hostile

import (
	"io"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/connscope/connscope/analysis"
)

// adversarialCase runs one scenario through connscope analyze and says
// what the summary must show. Small-size cases set tight limits by flag so
// every cap is reached and its warning checked; the full sizes (only with
// CONNSCOPE_HOSTILE_FULL=1) run with the defaults.
type adversarialCase struct {
	scenario string
	args     []string
	// want are regexps the text summary must match, after the {names}
	// of wantFor are replaced by numbers for the size run.
	want []string
	// wantNot are regexps the summary must not match.
	wantNot []string
}

var adversarialCases = []adversarialCase{
	{scenario: "syn-flood", args: []string{"--max-conns", "20000"}, want: []string{
		`{n} TCP packets in {n} connections`,
		`connection table full \(20000 connections, --max-conns\): {synEvicted} connections closed early`,
		`report lists at most {listed} connections \(--max-listed-conns\): {overListed} more`, // only at n > {listed}
	}},
	{scenario: "open-conns", args: []string{"--max-conns", "5000", "--max-listed-conns", "1000"}, want: []string{
		`in {n} connections, .* {n} HTTP transactions`,
		`connection table full \(5000 connections, --max-conns\): {openEvicted} connections closed early`,
		`report lists at most 1000 connections \(--max-listed-conns\): {unlisted} more`,
	}},
	{scenario: "huge-header", want: []string{
		`in 1 connection, .* 2 HTTP transactions`,
		`header block over 65536 bytes or 256 fields cut on 1 message \(`,
	}},
	{scenario: "huge-chunk", want: []string{`in 1 connection, .* 1 HTTP transaction\b`}},
	{scenario: "pipelined", args: []string{"--max-txns-per-conn", "1000", "--max-segments-per-conn", "1000"}, want: []string{
		`in 1 connection, .* 1000 HTTP transactions`,
		`segment records capped at 1000 per connection \(--max-segments-per-conn\): \d+ oldest records released`,
		`transactions per connection capped at 1000 \(--max-txns-per-conn\): {txnsDropped} more transactions on 1 connection were`,
	}},
	{scenario: "keepalive-hoard", args: []string{"--max-open-txns", "5000", "--max-segments", "20000"}, want: []string{
		`segment records kept by open connections capped at 20000 \(--max-segments\): \d+ oldest records released`,
		`in 1000 connections, .* 5000 HTTP transactions`, // the ones kept
		`transactions kept by open connections capped at 5000 \(--max-open-txns\): {overBudget} more transactions on 1000 connections`,
	}},
	{scenario: "tuple-reuse", want: []string{`in {n} connections, .* {n} HTTP transactions`}},
	{scenario: "time-backwards", want: []string{
		`in 100 connections, .* {n} HTTP transactions`,
		`frame 7 at byte offset \d+: time_backwards`,
		`\d+ more warnings not listed`,
		`\d+ TCP segments were stamped before an earlier frame`,
	}, wantNot: []string{`estimated time lost`}}, // no idle gaps that never happened
	{scenario: "capture-dups", want: []string{
		`in 100 connections, .* {n} HTTP transactions`,
		`frames were recorded twice by the capture`,
	}},
	// Every request segment travels as two IPv4 fragments, which capture
	// reassembles: every transaction is seen, nothing is skipped.
	{scenario: "ip-fragments", want: []string{`in 100 connections, .* {n} HTTP transactions`}, wantNot: []string{`ip_fragment`}},
	{scenario: "overlap-retrans", want: []string{`in 100 connections, .* {n} HTTP transactions`}},
	// Every frame is in 1 to 5 tunnels, by connection: the 80 connections
	// in at most 4 (capture's maxTunnelDepth) are seen whole, fragments
	// inside and outside the tunnels reassembled; every datagram of the 20
	// in 5 is skipped under the reason of its fifth tunnel, never as a
	// fragment, and nothing else is skipped. The counts are the writer's
	// (nestedTally; TestNestedTunnelsTally checks them by hand at the small
	// size).
	{scenario: "nested-tunnels", want: []string{
		`format pcap-ns, {ntFrames} packets over`,
		`\n  {ntTCP} TCP packets in {ntConns} connections, .* {ntTxns} HTTP transactions\n`,
		`\n  skipped: {ntOther} other_ip_proto, {ntUDP} udp\n`,
	}, wantNot: []string{`ip_fragment`, `warning:`}},
}

// wantFor fills a case's regexps for size n: {n} is the size; the other
// names are what the case's limits leave out at that size.
func (c adversarialCase) wantFor(n int) []*regexp.Regexp {
	num := func(v int) string { return strconv.Itoa(max(v, 0)) }
	nt := &nestedTally{}
	if c.scenario == "nested-tunnels" {
		var err error
		if nt, err = nestedTunnels(io.Discard, n); err != nil {
			panic(err)
		}
	}
	r := strings.NewReplacer(
		"{n}", num(n),
		"{synEvicted}", num(n-20000), // SYNs beyond a 20000 table
		"{openEvicted}", num(n-5000), // open connections beyond a 5000 table
		"{unlisted}", num(n-1000), // connections beyond 1000 listed
		"{txnsDropped}", num(n-1000), // requests beyond 1000 kept
		"{overBudget}", num(n-5000), // transactions beyond 5000 kept by open connections
		"{listed}", num(analysis.DefaultMaxListedConnections),
		"{overListed}", num(n-analysis.DefaultMaxListedConnections),
		"{ntFrames}", num(nt.Frames), // nested-tunnels: what its writer wrote
		"{ntTCP}", num(nt.TCP),
		"{ntConns}", num(nt.Conns),
		"{ntTxns}", num(nt.Txns),
		"{ntOther}", num(nt.Beyond["other_ip_proto"]),
		"{ntUDP}", num(nt.Beyond["udp"]),
	)
	var out []*regexp.Regexp
	for _, w := range c.want {
		if strings.Contains(w, "{overListed}") && n <= analysis.DefaultMaxListedConnections {
			continue
		}
		out = append(out, regexp.MustCompile(r.Replace(w)))
	}
	return out
}

// TestAdversarialCaptures runs every adversarial capture through the built
// binary: it must finish with exit 0, stay under the RSS cap, and say in
// its warnings which limits it reached.
func TestAdversarialCaptures(t *testing.T) {
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	full := fullSize()
	capMB := rssCapMB(t)
	dir := t.TempDir()
	for _, c := range adversarialCases {
		s, err := ScenarioByName(c.scenario)
		if err != nil {
			t.Fatal(err)
		}
		n := s.SmallN
		args := []string{"analyze", "--show", "summary", "--color", "never"}
		if full {
			n = s.FullN
		} else {
			args = append(args, c.args...)
		}
		t.Run(s.Name, func(t *testing.T) {
			if !full {
				t.Parallel() // each run is its own process; full runs go one by one so RSS is theirs alone
			}
			file := writeCapture(t, dir, s, n)
			r := connscope(t, append(args, file)...)
			if r.exitCode != 0 {
				t.Fatalf("exit %d\nstderr: %s", r.exitCode, r.stderr)
			}
			if r.maxRSSKB > capMB<<10 {
				t.Errorf("peak RSS %d MB, over the %d MB cap", r.maxRSSKB>>10, capMB)
			}
			t.Logf("%s n=%d: %.2fs CPU, peak RSS %d MB", s.Name, n, r.cpu.Seconds(), r.maxRSSKB>>10)
			if full {
				return // the defaults differ from the small cases' limits
			}
			for _, re := range c.wantFor(n) {
				if !re.Match(r.stdout) {
					t.Errorf("summary does not match %q:\n%s", re, r.stdout)
				}
			}
			for _, w := range c.wantNot {
				if re := regexp.MustCompile(w); re.Match(r.stdout) {
					t.Errorf("summary matches %q:\n%s", re, r.stdout)
				}
			}
		})
	}
}

// TestEveryScenarioHasACase keeps the case table and Scenarios in step.
func TestEveryScenarioHasACase(t *testing.T) {
	seen := map[string]bool{}
	for _, c := range adversarialCases {
		seen[c.scenario] = true
	}
	for _, s := range Scenarios() {
		if !seen[s.Name] {
			t.Errorf("scenario %s has no adversarialCase", s.Name)
		}
	}
}

// TestLimitFlagsRejectNonsense: a limit of zero or below is a usage error.
func TestLimitFlagsRejectNonsense(t *testing.T) {
	for _, flag := range []string{"--max-conns", "--max-segments-per-conn", "--max-segments", "--max-header-bytes", "--max-txns-per-conn", "--max-open-txns", "--max-listed-conns", "--max-listed-txns"} {
		for _, v := range []int{0, -1} {
			r := connscope(t, "analyze", flag, strconv.Itoa(v), "/nonexistent.pcap")
			if r.exitCode != 2 {
				t.Errorf("%s %d: exit %d, want 2 (usage)\nstderr: %s", flag, v, r.exitCode, r.stderr)
			}
		}
	}
}
