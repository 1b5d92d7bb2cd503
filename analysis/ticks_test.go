package analysis

import (
	"io"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/connscope/connscope/capture"
)

// tickStep is one thing a tickingSource yields: a packet, or (packet nil)
// a tick.
type tickStep struct {
	packet *capture.Packet
	tick   int64
}

// tickingSource plays a script of packets and ticks, as a live capture on
// an interface that goes quiet would, and notes how far it got.
type tickingSource struct {
	steps []tickStep
	given int // steps given so far
}

func (s *tickingSource) Next() (*capture.Packet, error) {
	for {
		p, _, err := s.NextOrTick()
		if p != nil || err != nil {
			return p, err
		}
	}
}

// NextOrTick counts the io.EOF at the end as a step too: an event that
// comes after len(steps) came when the source had ended.
func (s *tickingSource) NextOrTick() (*capture.Packet, int64, error) {
	if s.given >= len(s.steps) {
		s.given = len(s.steps) + 1
		return nil, 0, io.EOF
	}
	st := s.steps[s.given]
	s.given++
	return st.packet, st.tick, nil
}

func readPackets(t *testing.T, path string) []*capture.Packet {
	t.Helper()
	r, err := capture.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var out []*capture.Packet
	for {
		p, err := r.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		cp := *p
		cp.Data = append([]byte(nil), p.Data...)
		out = append(out, &cp)
	}
}

// closeEvents notes, for each connection event, how many steps the
// source had given when it came.
type closeEvents struct {
	src    *tickingSource
	atStep map[int]int // connection ID → steps given
}

func (e *closeEvents) Connection(c *ConnReport, _ []*TxnReport) { e.atStep[c.ID] = e.src.given }
func (*closeEvents) Finding(*FindingReport)                     {}

// A live source that goes quiet after the last packet and only ticks:
// the connections closed by FIN/FIN reach Events once a tick passes their
// linger (250 ms after the last ACK), not at the first tick, and before
// the source ends. The report is the one the same packets give from a
// file, without ticks.
func TestTicksReleaseClosedConnectionsBeforeTheSourceEnds(t *testing.T) {
	const path = "../testdata/captures/conn-per-request.pcap"
	pkts := readPackets(t, path)
	last := pkts[len(pkts)-1].Time
	var steps []tickStep
	steps = append(steps, tickStep{tick: pkts[0].Time - int64(time.Hour)}) // before any packet: ignored
	for _, p := range pkts {
		steps = append(steps, tickStep{packet: p})
	}
	const packetsEnd = 1 // index of the first step after the packets, less len(pkts)
	ticks := []time.Duration{-time.Second, 100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond, 6 * time.Second}
	for _, d := range ticks {
		steps = append(steps, tickStep{tick: last + int64(d)})
	}
	src := &tickingSource{steps: steps}
	ev := &closeEvents{src: src, atStep: map[int]int{}}
	a := New(Options{Events: ev})
	if err := a.AddSource("live", "live", src); err != nil {
		t.Fatal(err)
	}
	rep := a.Report()
	if len(rep.Connections) != 4 {
		t.Fatalf("%d connections, want conn-per-request's 4", len(rep.Connections))
	}
	afterPackets := packetsEnd + len(pkts) // steps given once every packet was
	for _, c := range rep.Connections {
		at, ok := ev.atStep[c.ID]
		switch {
		case !ok:
			t.Errorf("connection %d never reached Events", c.ID)
		case at > len(steps):
			t.Errorf("connection %d reached Events only when the source ended, not at a tick", c.ID)
		case at > afterPackets && last+int64(ticks[at-afterPackets-1]) <= int64(c.End)+int64(250*time.Millisecond):
			t.Errorf("connection %d (ended %v) reached Events at the tick %v after the last packet, inside its linger", c.ID, c.End, ticks[at-afterPackets-1])
		}
	}
	// The last connection ends with the capture, by a complete FIN/FIN
	// teardown: only a tick can release it, the first one 250 ms past it.
	if c := rep.Connections[3]; c.State != "SF" {
		t.Fatalf("the last connection's state is %s; the test needs a FIN/FIN teardown", c.State)
	}
	if at := ev.atStep[4]; at != afterPackets+4 {
		t.Errorf("the last connection reached Events after step %d; want at the tick 400 ms after the last packet (step %d)", at, afterPackets+4)
	}
	if w := strings.Join(rep.Inputs[0].Warnings, "; "); strings.Contains(w, "capture clock") {
		t.Errorf("warned about ticks the source kept to: %s", w)
	}

	r, err := capture.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if _, ticks := Source(r).(TickingSource); ticks {
		t.Fatal("a capture file is a TickingSource: its reports would depend on the wall clock")
	}
	b := New(Options{})
	if err := b.AddSource("live", "live", r); err != nil {
		t.Fatal(err)
	}
	plain := b.Report()
	for i, c := range rep.Connections {
		x, y := *c, *plain.Connections[i]
		if !reflect.DeepEqual(x, y) {
			t.Errorf("connection %d with ticks:\n  %+v\nfrom the file:\n  %+v", c.ID, x, y)
		}
	}
	if len(rep.Transactions) != len(plain.Transactions) || len(rep.Findings) != len(plain.Findings) {
		t.Errorf("with ticks %d transactions and %d findings, from the file %d and %d",
			len(rep.Transactions), len(rep.Findings), len(plain.Transactions), len(plain.Findings))
	}
	for i := range min(len(rep.Findings), len(plain.Findings)) {
		if !reflect.DeepEqual(rep.Findings[i], plain.Findings[i]) {
			t.Errorf("finding %d with ticks %+v, from the file %+v", i, rep.Findings[i], plain.Findings[i])
		}
	}
	if !reflect.DeepEqual(rep.Inputs[0], plain.Inputs[0]) {
		t.Errorf("input with ticks %+v, from the file %+v", rep.Inputs[0], plain.Inputs[0])
	}
}

// A packet stamped before a tick already given breaks the source's
// promise: the input's warnings say so, and the packet keeps its time.
func TestPacketBeforeATickIsWarnedAbout(t *testing.T) {
	pkts := readPackets(t, "../testdata/captures/conn-per-request.pcap")
	half := len(pkts) / 2
	var steps []tickStep
	for i, p := range pkts {
		if i == half {
			steps = append(steps, tickStep{tick: p.Time + int64(2*time.Millisecond)})
		}
		steps = append(steps, tickStep{packet: p})
	}
	a := New(Options{})
	if err := a.AddSource("live", "live", &tickingSource{steps: steps}); err != nil {
		t.Fatal(err)
	}
	rep := a.Report()
	w := strings.Join(rep.Inputs[0].Warnings, "; ")
	if !strings.Contains(w, "before a time the capture clock had already reached") {
		t.Errorf("warnings %q do not name the packets stamped before the tick", w)
	}
	if rep.Inputs[0].End != Time(pkts[len(pkts)-1].Time) {
		t.Errorf("input ends at %v, want its last packet's time: a tick is not a packet", rep.Inputs[0].End)
	}
}

// On a live capture a frame that carries no TCP (ARP here) moves
// reassembly's clock on as a tick does: an interface busy with other
// traffic never ticks, and must not hold a closed connection back.
func TestLiveNonTCPFramesReleaseClosedConnections(t *testing.T) {
	pkts := readPackets(t, "../testdata/captures/conn-per-request.pcap")
	var arp *capture.Packet
	dec := capture.NewDecoder()
	var seg capture.Segment
	for _, p := range pkts {
		if dec.Decode(p, &seg) != capture.SkipNone {
			cp := *p
			arp = &cp
			break
		}
	}
	if arp == nil {
		t.Fatal("conn-per-request.pcap has no frame without TCP; the test needs one")
	}
	arp.Time = pkts[len(pkts)-1].Time + int64(time.Second)
	var steps []tickStep
	for _, p := range pkts {
		steps = append(steps, tickStep{packet: p})
	}
	steps = append(steps, tickStep{packet: arp})
	src := &tickingSource{steps: steps}
	ev := &closeEvents{src: src, atStep: map[int]int{}}
	if err := New(Options{Events: ev}).AddSource("live", "live", src); err != nil {
		t.Fatal(err)
	}
	if len(ev.atStep) != 4 {
		t.Fatalf("%d connections reached Events, want 4", len(ev.atStep))
	}
	if at := ev.atStep[4]; at != len(steps) {
		t.Errorf("the last connection reached Events after step %d, want at the ARP frame a second after it closed (step %d)", at, len(steps))
	}
}
