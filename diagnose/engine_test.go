package diagnose

import (
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/connscope/connscope/capture"
	"github.com/connscope/connscope/httpflow"
	"github.com/connscope/connscope/reassembly"
)

func TestVantage(t *testing.T) {
	for _, tc := range []struct {
		desc               string
		toServer, toClient float64
		want               string
	}{
		{desc: "near the client: SYN to SYN/ACK is the whole RTT", toServer: 50, toClient: 0.2, want: VantageClient},
		{desc: "near the server: SYN/ACK to ACK is the whole RTT", toServer: 0.2, toClient: 50, want: VantageServer},
		{desc: "in the middle", toServer: 20, toClient: 30, want: VantageMiddle},
		{desc: "handshake not seen", toServer: -1, want: VantageUnknown},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			if got := Vantage(newConn(tc.toServer, tc.toClient).c); got != tc.want {
				t.Errorf("Vantage = %q, want %q", got, tc.want)
			}
		})
	}
	if Vantage(nil) != VantageUnknown {
		t.Error("Vantage(nil) is not unknown")
	}
}

func TestEngineEnabledAndOrder(t *testing.T) {
	build := func() []*fx {
		cf := &captureFx{}
		conns := []*fx{oneShot(cf, 1, 0, false), oneShot(cf, 2, 10, false), oneShot(cf, 3, 20, false)}
		conns[1].txs[0].Request.HasProxyConnection = true
		return conns
	}
	all := runRules(t, Config{}, build()...)
	if len(only(all, "CH1001")) != 1 || len(only(all, "CH1002")) != 1 {
		t.Fatalf("expected CH1001 and CH1002:%s", describe(all))
	}
	sorted := slices.IsSortedFunc(all, func(a, b Finding) int {
		if a.Time != b.Time {
			return int(a.Time - b.Time)
		}
		return 0
	})
	if !sorted {
		t.Errorf("findings not sorted by time:%s", describe(all))
	}
	onlyCH1002 := runRules(t, Config{Enabled: func(r *Rule) bool { return r.ID == "CH1002" }}, build()...)
	for _, f := range onlyCH1002 {
		if f.Rule != "CH1002" {
			t.Errorf("disabled rule %s fired", f.Rule)
		}
	}
	if len(onlyCH1002) != 1 {
		t.Errorf("enabled rule did not fire:%s", describe(onlyCH1002))
	}
}

func TestEngineDeterministicAcrossCloseOrder(t *testing.T) {
	conns := churn(10, false)
	forward := runRules(t, Config{}, conns...)
	reversed := slices.Clone(conns)
	slices.Reverse(reversed)
	backward := runRules(t, Config{}, reversed...)
	if describe(forward) != describe(backward) {
		t.Errorf("findings depend on close order:\nforward:%s\nbackward:%s", describe(forward), describe(backward))
	}
}

func TestEngineIgnoresNilAndLateInput(t *testing.T) {
	e, err := NewEngine(Config{})
	if err != nil {
		t.Fatal(err)
	}
	e.Connection(nil)
	e.Connection(&ConnInfo{})
	first := e.Finish()
	e.Connection(oneShot(&captureFx{}, 1, 0, false).info())
	if again := e.Finish(); len(again) != len(first) {
		t.Errorf("Finish changed after a late Connection: %d then %d findings", len(first), len(again))
	}
}

// randomConn builds a connection from random segments and transactions:
// values the rules must survive without panicking, however inconsistent.
func randomConn(r *rand.Rand, id int) *ConnInfo {
	c := &reassembly.Connection{ID: id}
	c.Client, c.Server = newConn(1, 1).c.Client, newConn(1, 1).c.Server
	n := r.IntN(60)
	frame, now := uint64(r.IntN(3)), base+r.Int64N(1e9)
	for i := 0; i < n; i++ {
		frame += uint64(1 + r.IntN(2))
		now += r.Int64N(3e8) - 1e7
		c.Segments = append(c.Segments, reassembly.SegmentRecord{
			Time: now, Frame: frame, Seq: r.Uint32(), Ack: r.Uint32(), Len: uint32(r.IntN(3000)),
			Window: uint32(r.IntN(3)) * 1000, Flags: uint8(r.IntN(256)),
			Dir: reassembly.Direction(r.IntN(2)), Kind: reassembly.SegmentKind(r.IntN(1 << 12)),
		})
	}
	pick := func() (uint64, int64) {
		if len(c.Segments) == 0 || r.IntN(5) == 0 {
			return uint64(r.IntN(100)), r.Int64N(1e18)
		}
		s := c.Segments[r.IntN(len(c.Segments))]
		return s.Frame, s.Time
	}
	h := &c.Handshake
	h.SYNFrame, h.SYNTime = pick()
	h.SYNACKFrame, h.SYNACKTime = pick()
	h.ACKFrame, h.ACKTime = pick()
	h.FirstSYNTime = h.SYNTime - r.Int64N(1e9)
	h.SYNRetransmissions = r.IntN(3)
	h.ClientMSS, h.ServerMSS = uint16(r.IntN(1500)), uint16(r.IntN(1500))
	for d := range c.Dir {
		c.Dir[d].FINFrame, c.Dir[d].FINTime = pick()
		c.Dir[d].RSTFrame, c.Dir[d].RSTTime = pick()
	}
	c.Close, c.ClosedFirstBy, c.RSTBy = reassembly.CloseKind(r.IntN(4)), reassembly.Role(r.IntN(4)), reassembly.Role(r.IntN(4))
	c.RSTWithUnreadData, c.RolesInferred, c.ReusedTuple = r.IntN(2) == 0, r.IntN(4) == 0, r.IntN(2) == 0
	c.PreviousID = r.IntN(id + 2)
	_, c.Start = pick()
	_, c.End = pick()
	var txs []*httpflow.Transaction
	methods := []string{"GET", "POST", "", "\x1b[31mX", "PATCH"}
	framings := []httpflow.Framing{httpflow.FramingNone, httpflow.FramingChunked, httpflow.FramingContentLength, httpflow.FramingCloseDelimited, 0}
	incompletes := []httpflow.Incomplete{httpflow.IncompleteNone, httpflow.IncompleteFIN, httpflow.IncompleteRST, httpflow.IncompleteGap}
	randMsg := func() *httpflow.Message {
		if r.IntN(4) == 0 {
			return nil
		}
		m := &httpflow.Message{Method: methods[r.IntN(len(methods))], Version: []string{"HTTP/1.0", "HTTP/1.1", ""}[r.IntN(3)],
			Framing: framings[r.IntN(len(framings))], Complete: r.IntN(2) == 0, Incomplete: incompletes[r.IntN(len(incompletes))],
			BodyBytes: r.Int64N(10000), DeclaredLength: r.Int64N(10000) - 1, HasProxyConnection: r.IntN(2) == 0,
			ConnectionTokens: [][]string{nil, {"close"}, {"keep-alive"}, {"content-length", "close"}}[r.IntN(4)]}
		if keepAlive, anomalies := []string{"", "timeout=5"}[r.IntN(2)], [][]string{nil, {beyondLengthAnomaly}}[r.IntN(2)]; keepAlive != "" || anomalies != nil {
			m.Extra = &httpflow.MessageExtra{KeepAlive: keepAlive, Anomalies: anomalies}
		}
		m.FirstFrame, m.Start = pick()
		m.LastFrame, m.End = pick()
		return m
	}
	for i := r.IntN(6); i > 0; i-- {
		// Index usually matches the position, but need not (a parser that
		// dropped transactions past its cap).
		t := &httpflow.Transaction{ID: id*10 + i, Connection: id, Index: []int{len(txs), r.IntN(5)}[r.IntN(2)], Request: randMsg(), Response: randMsg(),
			Pipelined: r.IntN(2) == 0, PersistentAfter: r.IntN(2) == 0, GapBefore: r.Int64N(3e9) - 1e9}
		if r.IntN(3) == 0 {
			t.Interim = []*httpflow.Message{randMsg()}
		}
		txs = append(txs, t)
	}
	return &ConnInfo{Conn: c, App: httpflow.AppHTTP1, Transactions: txs}
}

// TestRulesSurviveRandomInput feeds every rule inconsistent connections and
// transactions: rules must never panic, and findings must stay well formed.
func TestRulesSurviveRandomInput(t *testing.T) {
	iterations := 300
	if testing.Short() {
		iterations = 50
	}
	for seed := 0; seed < iterations; seed++ {
		r := rand.New(rand.NewPCG(uint64(seed), 7))
		e, err := NewEngine(Config{})
		if err != nil {
			t.Fatal(err)
		}
		for id := 1; id <= 1+r.IntN(8); id++ {
			e.Connection(randomConn(r, id))
		}
		for _, f := range e.Finish() {
			if f.Rule == "" || f.Cost < -1 || !slices.IsSorted(f.Frames) {
				t.Fatalf("seed %d: malformed finding %+v", seed, f)
			}
		}
	}
}

// TestOnlyWithChangesNoFinding holds Rule.onlyWith to what it promises:
// skipping a rule on a connection without any of its facts loses no
// finding. The same random connections go through an engine that calls
// every rule on every connection and one that takes the shortcut.
func TestOnlyWithChangesNoFinding(t *testing.T) {
	iterations := 1000
	if testing.Short() {
		iterations = 200
	}
	skipped := 0
	// Each rule with onlyWith must be both skipped and called on some
	// connection, or the comparison says nothing about its facts.
	ruleSkipped, ruleCalled := map[string]bool{}, map[string]bool{}
	for seed := 0; seed < iterations; seed++ {
		var got [2][]Finding
		for i, callEvery := range []bool{true, false} {
			r := rand.New(rand.NewPCG(uint64(seed), 11))
			e, err := NewEngine(Config{})
			if err != nil {
				t.Fatal(err)
			}
			e.callEveryRule = callEvery
			for id := 1; id <= 1+r.IntN(8); id++ {
				ci := randomConn(r, id)
				if !callEvery {
					v := newConnView(ci) // the facts as the Engine sees them
					v.ackDelayFloor = e.view.ackDelayFloor
					v.facts = connFactsOf(v)
					for _, run := range e.connRules {
						if run.rule.onlyWith == 0 {
							continue
						}
						if run.rule.onlyWith&v.facts == 0 {
							skipped++
							ruleSkipped[run.rule.ID] = true
						} else {
							ruleCalled[run.rule.ID] = true
						}
					}
				}
				e.Connection(ci)
			}
			got[i] = e.Finish()
		}
		if !reflect.DeepEqual(got[0], got[1]) {
			t.Fatalf("seed %d: every rule called:\n%+v\nonly those whose facts are present:\n%+v", seed, got[0], got[1])
		}
	}
	if skipped == 0 {
		t.Fatal("no rule was ever skipped: the test compares nothing")
	}
	for _, r := range registry {
		if r.onlyWith != 0 && (!ruleSkipped[r.ID] || !ruleCalled[r.ID]) {
			t.Errorf("%s: skipped on some connection %v, called on some %v: want both", r.ID, ruleSkipped[r.ID], ruleCalled[r.ID])
		}
	}
}

// FuzzRules drives the same random construction from fuzzer-chosen seeds.
func FuzzRules(f *testing.F) {
	f.Add(uint64(1), uint64(2))
	f.Fuzz(func(t *testing.T, a, b uint64) {
		r := rand.New(rand.NewPCG(a, b))
		e, err := NewEngine(Config{})
		if err != nil {
			t.Fatal(err)
		}
		for id := 1; id <= 1+r.IntN(4); id++ {
			e.Connection(randomConn(r, id))
		}
		e.Finish()
	})
}

// TestSummariesSkipUnopened checks that SYNs nobody answered (a scan or a
// flood) cost the capture-scope rules no memory, while opened connections
// are kept.
func TestSummariesSkipUnopened(t *testing.T) {
	e, err := NewEngine(Config{})
	if err != nil {
		t.Fatal(err)
	}
	cf := &captureFx{}
	for i := 0; i < 100; i++ {
		f := cf.conn(i+1, uint16(50000+i), float64(i), -1, 0)
		f.c.RolesInferred = false
		f.seg(float64(i), c2s, 0, capture.FlagSYN, 0, true)
		e.Connection(f.info())
	}
	opened := oneShot(cf, 101, 200, false)
	e.Connection(opened.info())
	if e.summaries.n != 1 || e.summaries.chunks[0][0].ID != 101 {
		t.Fatalf("kept %d summaries, want only connection 101's", e.summaries.n)
	}
	e.Finish()
}

// TestEngineBoundsHostileInput checks the caps: a connection with 1000
// pipelined POSTs and one with 1000 unanswered requests give at most
// maxFindingsPerRule findings per rule, each citing at most maxFrames
// frames, and say what was left out.
func TestEngineBoundsHostileInput(t *testing.T) {
	methods := make([]string, 1000)
	for i := range methods {
		methods[i] = "POST"
	}
	posts := pipelined(methods, 1)
	posts.finish(5000, s2c)
	all := runRules(t, Config{}, posts)
	ch1010 := only(all, "CH1010")
	if len(ch1010) != maxFindingsPerRule {
		t.Fatalf("CH1010 fired %d times, want the cap %d", len(ch1010), maxFindingsPerRule)
	}
	if !strings.Contains(ch1010[len(ch1010)-1].Message, "899 more CH1010 findings on this connection were left out") {
		t.Errorf("last finding does not say what was left out: %q", ch1010[len(ch1010)-1].Message)
	}
	for _, f := range all {
		if len(f.Frames) > maxFrames {
			t.Errorf("%s cites %d frames", f.Rule, len(f.Frames))
		}
	}
	ch1012 := only(all, "CH1012")
	if len(ch1012) != 1 || !strings.Contains(ch1012[0].Message, "and 979 more") {
		t.Errorf("CH1012 should list 20 of 999 unanswered requests:%s", describe(ch1012))
	}
}

// TestConnectionAllocatesNothing holds Engine.Connection to no allocation
// on a clean keep-alive connection, the ConnInfo literal included: the
// pipeline builds one per connection (100 000 on a capture of short
// connections), and the Engine must not keep it, or every one escapes to
// the heap.
func TestConnectionAllocatesNothing(t *testing.T) {
	f := newConn(1, 0.1)
	ms := 2.0
	for range 5 {
		f.exchange(ms, 150, 1, 1400)
		ms += 3
	}
	f.finish(ms, c2s)
	e, err := NewEngine(Config{})
	if err != nil {
		t.Fatal(err)
	}
	c, app, txs := f.c, f.app, f.txs
	var found int
	// Fewer runs than a summary chunk holds: the only chunk is allocated
	// by the warm-up call.
	allocs := testing.AllocsPerRun(summaryChunk/2, func() {
		found += len(e.Connection(&ConnInfo{Conn: c, App: app, Transactions: txs}))
	})
	if found != 0 {
		t.Fatalf("the clean connection raised %d findings", found)
	}
	if allocs != 0 {
		t.Errorf("Connection allocated %.1f times per call, want 0", allocs)
	}
}

// TestKeepAliveTokenFactLosesNoCount holds summarize's shortcut to what
// it promises: a connection where no message lists the keep-alive token
// has nothing for CH1004 to count.
func TestKeepAliveTokenFactLosesNoCount(t *testing.T) {
	withToken, counted := 0, 0
	for seed := 0; seed < 2000; seed++ {
		r := rand.New(rand.NewPCG(uint64(seed), 13))
		ci := randomConn(r, 1)
		v := newConnView(ci)
		ka := countKeepAlive(v.txs)
		if ka.frame != 0 && !v.msgs.keepAliveToken {
			t.Fatalf("seed %d: CH1004 counts the connection, but messageFacts saw no keep-alive token", seed)
		}
		if v.msgs.keepAliveToken {
			withToken++
		}
		if ka.frame != 0 {
			counted++
		}
	}
	if withToken == 0 || counted == 0 || withToken == 2000 {
		t.Fatalf("%d of 2000 random connections list keep-alive, %d counted: the test compares nothing", withToken, counted)
	}
}

// TestCleanConnectionCallsNoRule: on a connection with none of the facts
// (a short, clean one: most of a capture of short connections) the Engine
// calls no connection-scope rule. A new rule without onlyWith would run
// on every connection of such a capture; give it one, or change this test
// knowing what it costs (bench/README.md, issue 4's target).
func TestCleanConnectionCallsNoRule(t *testing.T) {
	e, err := NewEngine(Config{})
	if err != nil {
		t.Fatal(err)
	}
	for _, run := range e.rulesFor(0) {
		t.Errorf("%s runs on a connection with no facts (onlyWith is zero)", run.rule.ID)
	}
}
