package cli

import (
	"bytes"
	"strings"
	"testing"

	"github.com/connscope/connscope/analysis"
	"github.com/connscope/connscope/capture"
)

// Live text prints a keep-alive connection's transactions as they are
// answered, each once, and the connection's line when it closes, without
// them again.
func TestLiveTextPrintsTransactionsAsTheyEnd(t *testing.T) {
	r, err := capture.Open("../../../testdata/captures/keepalive-reuse.pcap")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var out bytes.Buffer
	a := analysis.New(analysis.Options{Events: &liveText{w: &out, p: newPalette("never", &out)}})
	if err := a.AddSource("keepalive", r.Format(), r); err != nil {
		t.Fatal(err)
	}
	rep := a.Report()
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	txnLines, connLines, indented := 0, 0, 0
	firstConn := -1
	for i, line := range lines {
		switch {
		case strings.HasPrefix(line, "    "):
			indented++
		case strings.Contains(line, " → ") && strings.Contains(line, " transaction"):
			connLines++
			if firstConn < 0 {
				firstConn = i
			}
		case strings.Contains(line, "  total "):
			txnLines++
			if !strings.Contains(line, "] conn ") || !strings.Contains(line, "GET /") {
				t.Errorf("transaction line %q lacks its connection or request", line)
			}
		}
	}
	if connLines != len(rep.Connections) {
		t.Errorf("%d connection lines for %d connections:\n%s", connLines, len(rep.Connections), out.String())
	}
	if txnLines+indented != len(rep.Transactions) {
		t.Errorf("%d transaction lines and %d under their connection for %d transactions:\n%s", txnLines, indented, len(rep.Transactions), out.String())
	}
	if txnLines < 2 || firstConn < txnLines {
		t.Errorf("%d transactions printed as they ended, the first connection line at line %d: want the keep-alive connection's requests before it closed:\n%s",
			txnLines, firstConn+1, out.String())
	}
}
