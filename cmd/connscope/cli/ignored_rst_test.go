package cli

import (
	"strings"
	"testing"

	"github.com/connscope/connscope/internal/sharedpcaps"
)

// TestConnectionTableNotesIgnoredRSTs: in suricata-verify security-4710
// the client's RST of frame 4 was ignored and its RST of frame 12, after
// both FINs, ended the connection. The connection table's close column
// names the real close and, apart from it, the ignored RST; a capture
// without ignored RSTs shows no such note.
func TestConnectionTableNotesIgnoredRSTs(t *testing.T) {
	path := sharedpcaps.Path(t, "suricata-verify__security-4710-01__input.pcap")
	out, stderr, code := runCLI(t, nil, "analyze", "--color", "never", "--show", "connections", path)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if want := "fin by server, rst by client (1 rst ignored)"; !strings.Contains(out, want) {
		t.Errorf("connection table lacks %q:\n%s", want, out)
	}
	out, stderr, code = runCLI(t, nil, "analyze", "--color", "never", "--show", "connections", "../../../testdata/captures/truncated-rst.pcap")
	if code != 0 {
		t.Fatalf("truncated-rst.pcap: exit %d: %s", code, stderr)
	}
	if !strings.Contains(out, "rst by") || strings.Contains(out, "ignored") {
		t.Errorf("truncated-rst.pcap: want a RST close and no ignored RST:\n%s", out)
	}
}
