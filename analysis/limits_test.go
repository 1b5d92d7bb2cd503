package analysis

import (
	"bytes"
	"net/netip"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/connscope/connscope/capture"
	"github.com/connscope/connscope/capture/capturetest"
	"github.com/connscope/connscope/httpflow"
	"github.com/connscope/connscope/reassembly"
)

// limitCapture writes conns connections to one server; each sends reqs
// pipelined requests with a 300-byte header field and gets no answer.
func limitCapture(t *testing.T, conns, reqs int) *capture.Reader {
	t.Helper()
	return padCapture(t, conns, reqs, 300)
}

// padCapture is limitCapture with a header field of pad bytes.
func padCapture(t *testing.T, conns, reqs, pad int) *capture.Reader {
	t.Helper()
	var buf bytes.Buffer
	w := capturetest.NewPcap(&buf, capture.LinkTypeEthernet, capturetest.PcapOptions{})
	srv := netip.MustParseAddrPort("192.0.2.1:80")
	now := int64(1e18)
	req := "GET / HTTP/1.1\r\nX-Pad: " + strings.Repeat("p", pad) + "\r\n\r\n"
	for i := range conns {
		cli := netip.AddrPortFrom(netip.MustParseAddr("10.0.0.1"), uint16(40000+i))
		seg := func(src, dst netip.AddrPort, seq, ack uint32, fl capture.TCPFlags, payload string) {
			w.Write(now, capturetest.Ethernet(capturetest.TCP{Src: src, Dst: dst, Seq: seq, Ack: ack, Flags: fl, Window: 65535, Payload: []byte(payload)}.IP()))
			now += 1e6
		}
		seg(cli, srv, 100, 0, capture.FlagSYN, "")
		seg(srv, cli, 500, 101, capture.FlagSYN|capture.FlagACK, "")
		seg(cli, srv, 101, 501, capture.FlagACK, "")
		seg(cli, srv, 101, 501, capture.FlagACK|capture.FlagPSH, strings.Repeat(req, reqs))
	}
	r, err := capture.NewReader(&buf, "limits.pcap")
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestLimitsAreReported(t *testing.T) {
	for _, c := range []struct {
		desc  string
		opts  Options
		conns int
		reqs  int
		want  []string // substrings of the input's warnings, in order
	}{
		{"no limit reached", Options{}, 3, 2, nil},
		{"connection table", Options{Reassembly: reassembly.Config{MaxConnections: 2}}, 5, 1,
			[]string{"connection table full (2 connections, --max-conns): 3 connections closed early"}},
		{"segment records", Options{Reassembly: reassembly.Config{MaxSegmentsPerConn: 3}}, 2, 1,
			[]string{"segment records capped at 3 per connection (--max-segments-per-conn): 2 oldest records released"}},
		{"segment records of all open connections", Options{Reassembly: reassembly.Config{MaxSegmentsTotal: 6}}, 3, 1,
			[]string{"segment records kept by open connections capped at 6 (--max-segments): "}},
		{"header block", Options{HTTP: httpflow.Config{MaxHeaderBytes: 100}}, 2, 2,
			[]string{"header block over 100 bytes or 256 fields cut on 4 messages"}},
		{"transactions", Options{HTTP: httpflow.Config{MaxTransactionsPerConn: 2}}, 3, 5,
			[]string{"transactions per connection capped at 2 (--max-txns-per-conn): 9 more transactions on 3 connections"}},
		{"transactions kept by open connections", Options{MaxOpenTransactions: 4}, 3, 5,
			[]string{"transactions kept by open connections capped at 4 (--max-open-txns): 11 more transactions on 3 connections"}},
		{"both transaction bounds", Options{MaxOpenTransactions: 4, HTTP: httpflow.Config{MaxTransactionsPerConn: 3}}, 2, 5,
			[]string{"transactions per connection capped at 3 (--max-txns-per-conn): 2 more transactions on 1 connection were",
				"transactions kept by open connections capped at 4 (--max-open-txns): 4 more transactions on 1 connection were"}},
	} {
		t.Run(c.desc, func(t *testing.T) {
			a := New(c.opts)
			if err := a.AddSource("limits.pcap", "pcap", limitCapture(t, c.conns, c.reqs)); err != nil {
				t.Fatal(err)
			}
			got := a.Report().Inputs[0].Warnings
			if len(got) != len(c.want) {
				t.Fatalf("warnings %q, want %d matching %q", got, len(c.want), c.want)
			}
			for i, w := range c.want {
				if !strings.Contains(got[i], w) {
					t.Errorf("warning %d = %q, want it to contain %q", i, got[i], w)
				}
			}
		})
	}
}

func TestListingCaps(t *testing.T) {
	a := New(Options{MaxListedConnections: 2, MaxListedTransactions: 3})
	if err := a.AddSource("limits.pcap", "pcap", limitCapture(t, 5, 2)); err != nil {
		t.Fatal(err)
	}
	// A second input shares the budget: nothing more is listed.
	if err := a.AddSource("more.pcap", "pcap", limitCapture(t, 1, 1)); err != nil {
		t.Fatal(err)
	}
	r := a.Report()
	if len(r.Connections) != 2 || len(r.Transactions) != 3 {
		t.Errorf("listed %d connections and %d transactions, want 2 and 3", len(r.Connections), len(r.Transactions))
	}
	in := r.Inputs[0]
	if in.Connections != 5 || in.Transactions != 10 {
		t.Errorf("input totals %d connections, %d transactions; want all 5 and 10 counted", in.Connections, in.Transactions)
	}
	// The transactions of unlisted connections are left out by
	// --max-listed-conns, not --max-listed-txns: each warning names the
	// flag that left out what it counts.
	for i, want := range [][]string{
		{"report lists at most 2 connections (--max-listed-conns): 3 more, with their 6 transactions, were counted",
			"report lists at most 3 transactions (--max-listed-txns): 1 more was counted"},
		{"report lists at most 2 connections (--max-listed-conns): 1 more, with its 1 transaction, was counted"},
	} {
		got := r.Inputs[i].Warnings
		if len(got) != len(want) {
			t.Fatalf("input %d warnings %q, want %q", i, got, want)
		}
		for j := range want {
			if !strings.Contains(got[j], want[j]) {
				t.Errorf("input %d warning %d = %q, want %q", i, j, got[j], want[j])
			}
		}
	}
	for _, tr := range r.Transactions {
		if tr.ID < 1 || tr.ID > 3 {
			t.Errorf("listed transaction numbered %d, want 1..3", tr.ID)
		}
	}
}

// A response stamped seconds before the request it answers must not give
// negative timings (nor, on later transactions, idle gaps of seconds that
// never happened).
func TestTimeNeverRunsBackwards(t *testing.T) {
	var buf bytes.Buffer
	w := capturetest.NewPcap(&buf, capture.LinkTypeEthernet, capturetest.PcapOptions{Nanosecond: true})
	cli, srv := netip.MustParseAddrPort("10.0.0.1:40000"), netip.MustParseAddrPort("192.0.2.1:80")
	now := int64(1e18)
	seg := func(skew int64, src, dst netip.AddrPort, seq, ack uint32, fl capture.TCPFlags, payload string) {
		w.Write(now+skew, capturetest.Ethernet(capturetest.TCP{Src: src, Dst: dst, Seq: seq, Ack: ack, Flags: fl, Window: 65535, Payload: []byte(payload)}.IP()))
		now += 1e6
	}
	req, resp := "GET / HTTP/1.1\r\n\r\n", "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
	seg(0, cli, srv, 100, 0, capture.FlagSYN, "")
	seg(0, srv, cli, 500, 101, capture.FlagSYN|capture.FlagACK, "")
	seg(0, cli, srv, 101, 501, capture.FlagACK, "")
	seg(0, cli, srv, 101, 501, capture.FlagACK|capture.FlagPSH, req)
	seg(-10e9, srv, cli, 501, 101+uint32(len(req)), capture.FlagACK|capture.FlagPSH, resp) // 10 s early
	c, s := 101+uint32(len(req)), 501+uint32(len(resp))
	now += 1e9 // the client closes after a second of keep-alive
	seg(0, cli, srv, c, s, capture.FlagACK|capture.FlagFIN, "")
	seg(0, srv, cli, s, c+1, capture.FlagACK|capture.FlagFIN, "")
	seg(0, cli, srv, c+1, s+1, capture.FlagACK, "")
	r, err := capture.NewReader(&buf, "skewed.pcap")
	if err != nil {
		t.Fatal(err)
	}
	a := New(Options{})
	if err := a.AddSource("skewed.pcap", "pcap", r); err != nil {
		t.Fatal(err)
	}
	rep := a.Report()
	if len(rep.Connections) != 1 {
		t.Fatalf("%d connections, want 1", len(rep.Connections))
	}
	if c := rep.Connections[0]; c.DurationMS < 0 || c.End < c.Start || c.State != "SF" {
		t.Errorf("connection %s → %s (%v ms), state %s; want SF, forward in time", c.Start, c.End, c.DurationMS, c.State)
	}
	if len(rep.Transactions) != 1 {
		t.Fatalf("%d transactions, want 1", len(rep.Transactions))
	}
	for name, v := range map[string]*Millis{"wait": rep.Transactions[0].Timings.WaitMS, "total": rep.Transactions[0].Timings.TotalMS} {
		if v == nil || *v < 0 {
			t.Errorf("%s time %v, want a non-negative time", name, v)
		}
	}
	want := "1 TCP segment was stamped before an earlier frame (9.999s before it): the analysis used the latest earlier time for it,"
	found := false
	for _, w := range rep.Inputs[0].Warnings {
		found = found || strings.Contains(w, want)
	}
	if !found {
		t.Errorf("warnings %q lack %q", rep.Inputs[0].Warnings, want)
	}
}

// The report must not keep the parser's buffers alive: listed
// transactions used to alias their connection's slab (several KB here, for
// a few bytes of method and target), so memory grew with every connection
// far beyond what the report itself holds.
func TestReportDoesNotPinParserBuffers(t *testing.T) {
	for _, keepHeaders := range []bool{false, true} {
		// A first analysis of the same capture fills httpflow's cache of
		// transaction record chunks, which it keeps across collections on
		// purpose (bounded, 4 MiB): what is measured is then what the
		// report keeps, not the cache.
		if err := New(Options{KeepHeaders: keepHeaders}).AddSource("warm.pcap", "pcap", padCapture(t, 1000, 1, 1200)); err != nil {
			t.Fatal(err)
		}
		r := padCapture(t, 1000, 1, 1200) // one request, 1200 header bytes
		a := New(Options{KeepHeaders: keepHeaders})
		var before runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		if err := a.AddSource("pin.pcap", "pcap", r); err != nil {
			t.Fatal(err)
		}
		rep := a.Report()
		var after runtime.MemStats
		runtime.GC()
		runtime.GC() // the parser's sync.Pool of scratch buffers empties in two
		runtime.ReadMemStats(&after)
		perTxn := (int64(after.HeapAlloc) - int64(before.HeapAlloc)) / int64(len(rep.Transactions))
		// A listed connection and its transaction take about 800 bytes,
		// the headers (HAR) 1.3 KB more; the parser's buffers of the
		// connection, pinned by aliasing strings, took 1.3 KB more.
		limit := int64(1300)
		if keepHeaders {
			limit = 2400
		}
		t.Logf("keepHeaders=%v: %d bytes per listed transaction", keepHeaders, perTxn)
		if perTxn > limit {
			t.Errorf("keepHeaders=%v: %d bytes kept per listed transaction (%d transactions), want at most %d", keepHeaders, perTxn, len(rep.Transactions), limit)
		}
		runtime.KeepAlive(rep)
		runtime.KeepAlive(r)
	}
}

func TestFindingCapWarnings(t *testing.T) {
	got := findingCapWarnings(map[string]int{"CT1011": 7, "CC1005": 40000})
	want := []string{
		"rule CC1005 kept its first 10000 findings: 40000 more were counted but not listed",
		"rule CT1011 kept its first 10000 findings: 7 more were counted but not listed",
	}
	if !slices.Equal(got, want) {
		t.Errorf("got %q\nwant %q", got, want)
	}
	if got := findingCapWarnings(nil); len(got) != 0 {
		t.Errorf("no finding left out gave %q", got)
	}
}

// TestLimitWarningsCountInWords: a count of one reads in the singular.
func TestLimitWarningsCountInWords(t *testing.T) {
	for _, tc := range []struct {
		dups, clamped, maxStepBack int64
		want                       []string
	}{
		{1, 1, 1000, []string{
			"1 TCP segment was stamped before an earlier frame (1µs before it): the analysis used the latest earlier time for it, so time never runs backwards",
			"1 frame was recorded twice by the capture (same IP ID and bytes): counted once, not as a retransmission",
		}},
		// A step back of seconds (a second pcapng section recorded
		// earlier, say) collapses the timings that follow: the warning
		// says how far back time went, so the user can tell.
		{3, 53, 5_041_000_000, []string{
			"53 TCP segments were stamped before an earlier frame (up to 5.041s before it): the analysis used the latest earlier time for them, so time never runs backwards and the timings measured across them are shortened",
			"3 frames were recorded twice by the capture (same IP ID and bytes): counted once, not as retransmissions",
		}},
	} {
		got := limitWarnings(Options{}, reassembly.Stats{CaptureDuplicates: tc.dups}, limitCounts{timeClamped: tc.clamped, maxStepBack: tc.maxStepBack})
		if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
			t.Errorf("limitWarnings(%d duplicates, %d clamped) =\n%q\nwant\n%q", tc.dups, tc.clamped, got, tc.want)
		}
	}
}

// TestListingCapOfOneIsSingular: "lists at most 1 connection", not
// "1 connections" (nor "1 transactions").
func TestListingCapOfOneIsSingular(t *testing.T) {
	a := New(Options{MaxListedConnections: 1, MaxListedTransactions: 1})
	if err := a.AddSource("limits.pcap", "pcap", limitCapture(t, 3, 2)); err != nil {
		t.Fatal(err)
	}
	got := strings.Join(a.Report().Inputs[0].Warnings, "\n")
	for _, want := range []string{"report lists at most 1 connection (--max-listed-conns)", "report lists at most 1 transaction (--max-listed-txns)"} {
		if !strings.Contains(got, want) {
			t.Errorf("warnings %q lack %q", got, want)
		}
	}
}

// TestLimitWarningsWithCountsOfOne: every limit warning reads right when
// what it counts is one: "1 connection closed early", "1 hole", "1 more
// transaction on 1 connection was parsed", never "1 connections".
func TestLimitWarningsWithCountsOfOne(t *testing.T) {
	st := reassembly.Stats{Evicted: 1, SegmentsDropped: 2, SegmentsDroppedTotal: 1, BufferOverflows: 1, CaptureDuplicates: 1}
	l := limitCounts{txnsDropped: 1, connsDropping: 1, overBudget: 1, connsOverBudget: 1, headersCut: 1,
		connsUnlisted: 1, txnsOfUnlistedConns: 1, txnsUnlisted: 1, timeClamped: 1}
	got := append(limitWarnings(Options{MaxListedConnections: 1, MaxListedTransactions: 1}, st, l),
		findingCapWarnings(map[string]int{"CT1008": 1})...)
	if len(got) < 12 {
		t.Fatalf("%d warnings, want one per limit (12): %q", len(got), got)
	}
	wrong := regexp.MustCompile(`\b1 (more |oldest )?(connections|records|holes|messages|transactions|findings|frames|segments)\b|\b1 [a-z ]*were\b`)
	for _, w := range got {
		if m := wrong.FindString(w); m != "" {
			t.Errorf("%q: %q is not singular", w, m)
		}
	}
}

// TestLimitsOfOneAreSingular: a limit set to one reads "1 connection",
// "1 byte", not "1 connections" or "1 bytes"; so does an input of one
// packet.
func TestLimitsOfOneAreSingular(t *testing.T) {
	opts := Options{
		Reassembly: reassembly.Config{MaxConnections: 1, MaxBufferedBytes: 1},
		HTTP:       httpflow.Config{MaxHeaderBytes: 1, MaxHeaders: 1},
	}
	st := reassembly.Stats{Evicted: 2, BufferOverflows: 2}
	got := limitWarnings(opts, st, limitCounts{headersCut: 2})
	got = append(got, (&InputReport{Name: "one.pcap", Format: "pcap", Packets: 1}).String())
	if len(got) != 4 {
		t.Fatalf("%d lines, want 4: %q", len(got), got)
	}
	wrong := regexp.MustCompile(`\b1 (connections|bytes|fields|packets)\b`)
	for _, w := range got {
		if m := wrong.FindString(w); m != "" {
			t.Errorf("%q: %q is not singular", w, m)
		}
	}
}

// TestFragmentsNotReassembledAreReported: a fragment whose datagram never
// completes is counted as skipped (ip_fragment) and the input's warnings
// say why its bytes are missing.
func TestFragmentsNotReassembledAreReported(t *testing.T) {
	var buf bytes.Buffer
	w := capturetest.NewPcap(&buf, capture.LinkTypeEthernet, capturetest.PcapOptions{})
	cli, srv := netip.MustParseAddrPort("10.0.0.1:40000"), netip.MustParseAddrPort("192.0.2.1:80")
	ip := capturetest.TCP{Src: cli, Dst: srv, Seq: 1, Ack: 1, Flags: capture.FlagACK | capture.FlagPSH, Window: 65535,
		Payload: []byte("GET /xy HTTP/1.1\r\n\r\n")}.IP() // 40 bytes after the IP header: a multiple of 8
	ip[6] |= 0x20 // More Fragments: the rest never comes
	w.Write(1e18, capturetest.Ethernet(ip))
	r, err := capture.NewReader(&buf, "fragment.pcap")
	if err != nil {
		t.Fatal(err)
	}
	a := New(Options{})
	if err := a.AddSource("fragment.pcap", "pcap", r); err != nil {
		t.Fatal(err)
	}
	in := a.Report().Inputs[0]
	if in.Skipped["ip_fragment"] != 1 {
		t.Errorf("skipped %v, want 1 ip_fragment", in.Skipped)
	}
	want := "1 IP fragment could not be reassembled (1 still incomplete at the end)"
	if !slices.ContainsFunc(in.Warnings, func(w string) bool { return strings.HasPrefix(w, want) }) {
		t.Errorf("warnings %q lack %q", in.Warnings, want)
	}
}

// TestCutSegmentsAreReported: segments the snap length cut are named in the
// input's warnings, in the singular for one.
func TestCutSegmentsAreReported(t *testing.T) {
	for _, tc := range []struct {
		cut  int
		want string
	}{
		{1, "1 TCP segment was cut short by the capture's snap length: its missing bytes count as gaps"},
		{2, "2 TCP segments were cut short by the capture's snap length: their missing bytes count as gaps"},
	} {
		var buf bytes.Buffer
		w := capturetest.NewPcap(&buf, capture.LinkTypeEthernet, capturetest.PcapOptions{})
		cli, srv := netip.MustParseAddrPort("10.0.0.1:40000"), netip.MustParseAddrPort("192.0.2.1:80")
		for i := range tc.cut {
			frame := capturetest.Ethernet(capturetest.TCP{Src: cli, Dst: srv, Seq: uint32(1 + 100*i), Ack: 1,
				Flags: capture.FlagACK, Window: 65535, Payload: bytes.Repeat([]byte("x"), 100)}.IP())
			w.WriteRecord(1e18+int64(i)*1e6, frame[:len(frame)-40], len(frame))
		}
		r, err := capture.NewReader(&buf, "cut.pcap")
		if err != nil {
			t.Fatal(err)
		}
		a := New(Options{})
		if err := a.AddSource("cut.pcap", "pcap", r); err != nil {
			t.Fatal(err)
		}
		if ws := a.Report().Inputs[0].Warnings; !slices.Contains(ws, tc.want) {
			t.Errorf("%d cut: warnings %q lack %q", tc.cut, ws, tc.want)
		}
	}
}
