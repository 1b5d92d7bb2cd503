package reassembly

import (
	"os"
	"testing"
)

// TestDumpCapture prints connscope's segment records for the capture named
// by CONNSCOPE_DUMP, one line per segment, to compare by eye with
// `tshark -r FILE -Y tcp.analysis.flags`. It is a debugging aid and skips
// unless the variable is set.
func TestDumpCapture(t *testing.T) {
	path := os.Getenv("CONNSCOPE_DUMP")
	if path == "" {
		t.Skip("set CONNSCOPE_DUMP=capture to print its segment records")
	}
	col := &collector{}
	if _, err := assembleFile(path, Config{}, col); err != nil {
		t.Log(err)
	}
	for _, c := range col.conns {
		t.Logf("conn %d %v -> %v state %s history %s irtt %.3fms reused %v", c.ID, c.Client, c.Server, c.State, c.History, float64(c.Handshake.IRTT)/1e6, c.ReusedTuple)
		for _, r := range c.Segments {
			if r.Kind != 0 {
				t.Logf("  frame %d %s seq %d ack %d len %d win %d: %s", r.Frame, r.Dir, r.Seq, r.Ack, r.Len, r.Window, r.Kind)
			}
		}
	}
}
