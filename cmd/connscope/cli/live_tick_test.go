package cli

import (
	"bytes"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/connscope/connscope/analysis"
	"github.com/connscope/connscope/capture"
	"github.com/connscope/connscope/capture/pcapngw"
)

// quietLiveSource gives a capture's packets, then ticks as a live source
// on a quiet interface does, then io.EOF; it notes how much had been
// printed to out when it ended.
type quietLiveSource struct {
	pkts      []*capture.Packet
	ticks     []int64
	out       *bytes.Buffer
	printedAt int // out.Len() when the source ended
}

func (s *quietLiveSource) Next() (*capture.Packet, error) {
	for {
		p, _, err := s.NextOrTick()
		if p != nil || err != nil {
			return p, err
		}
	}
}

func (s *quietLiveSource) NextOrTick() (*capture.Packet, int64, error) {
	switch {
	case len(s.pkts) > 0:
		p := s.pkts[0]
		s.pkts = s.pkts[1:]
		return p, 0, nil
	case len(s.ticks) > 0:
		t := s.ticks[0]
		s.ticks = s.ticks[1:]
		return nil, t, nil
	}
	s.printedAt = s.out.Len()
	return nil, 0, io.EOF
}

// With -w the packets pass through teeSource, which must pass the live
// source's ticks on: each connection's line is printed while the
// interface is quiet, before the capture stops, and the file holds the
// packets and nothing for the ticks.
func TestLiveWriteKeepsTicks(t *testing.T) {
	r, err := capture.Open("../../../testdata/captures/conn-per-request.pcap")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var pkts []*capture.Packet
	for {
		p, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		cp := *p
		cp.Data = append([]byte(nil), p.Data...)
		pkts = append(pkts, &cp)
	}
	last := pkts[len(pkts)-1].Time
	var out bytes.Buffer
	src := &quietLiveSource{pkts: pkts, out: &out,
		ticks: []int64{last + int64(time.Second), last + int64(6*time.Second)}}
	var file bytes.Buffer
	w, err := pcapngw.NewWriter(&file, "connscope test", pcapngw.Interface{Name: "test0", LinkType: pkts[0].LinkType, Snaplen: 262144})
	if err != nil {
		t.Fatal(err)
	}
	tee := &teeSource{src: src, w: w}
	a := analysis.New(analysis.Options{Events: &liveText{w: &out, p: newPalette("never", &out)}})
	if err := a.AddSource("test0", "live", tee); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	before := out.String()[:src.printedAt]
	if n := strings.Count(before, " transaction, "); n != 4 {
		t.Errorf("%d connection lines printed before the capture stopped, want conn-per-request's 4:\n%s", n, out.String())
	}
	back, err := capture.NewReader(&file, "written")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for {
		p, err := back.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if n < len(pkts) && (p.Time != pkts[n].Time || !bytes.Equal(p.Data, pkts[n].Data)) {
			t.Errorf("written packet %d differs from the one captured", n+1)
		}
		n++
	}
	if n != len(pkts) || tee.first != pkts[0].Time || tee.last != last {
		t.Errorf("-w wrote %d packets from %d to %d, want the %d captured, from %d to %d", n, tee.first, tee.last, len(pkts), pkts[0].Time, last)
	}
}
