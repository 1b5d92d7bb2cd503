package diagnose

import (
	"path/filepath"
	"testing"

	"github.com/connscope/connscope/capture"
	"github.com/connscope/connscope/capture/capturetest"
	"github.com/connscope/connscope/reassembly"
)

// closeChecker compares, for every connection reassembly closes, the first
// FIN or RST the connView finds in its segment scan with firstClose's
// reading of the direction stats, which summarize uses when segments were
// dropped.
type closeChecker struct {
	t      *testing.T
	file   string
	closes int // connections that closed with a FIN or RST
}

func (cc *closeChecker) Opened(*reassembly.Connection) reassembly.StreamConsumer { return nil }

func (cc *closeChecker) Closed(c *reassembly.Connection) {
	if c.SegmentsDropped != 0 {
		return // summarize falls back on firstClose
	}
	v := newConnView(&ConnInfo{Conn: c})
	frame, at := firstClose(c)
	if v.closeFrame != frame || v.closeTime != at {
		cc.t.Errorf("%s connection %d: scan found the first FIN or RST at frame %d time %d, direction stats say frame %d time %d",
			cc.file, c.ID, v.closeFrame, v.closeTime, frame, at)
	}
	if frame != 0 {
		cc.closes++
	}
}

// TestCloseScanMatchesDirectionStats holds the connView's close to
// reassembly's FINFrame and RSTFrame on every test capture.
func TestCloseScanMatchesDirectionStats(t *testing.T) {
	files, err := filepath.Glob("../testdata/captures/*.pcap*")
	if err != nil {
		t.Fatal(err)
	}
	closes := 0
	for _, path := range files {
		if filepath.Ext(path) == ".gz" {
			continue
		}
		r, err := capture.Open(path)
		if err != nil {
			continue // damaged on purpose: other tests cover it
		}
		cc := &closeChecker{t: t, file: filepath.Base(path)}
		asm := reassembly.NewAssembler(reassembly.Config{}, cc)
		if _, err := capturetest.EachSegment(r, asm.Add); err != nil {
			t.Logf("%s: %v", cc.file, err)
		}
		asm.Flush()
		r.Close()
		closes += cc.closes
	}
	if closes == 0 {
		t.Fatal("no connection of the test captures closed: the test compares nothing")
	}
	t.Logf("%d closed connections compared", closes)
}
