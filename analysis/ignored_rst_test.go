package analysis

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/connscope/connscope/capture"
	"github.com/connscope/connscope/internal/sharedpcaps"
)

// analyzeFile runs the analysis on one capture with opts.
func analyzeFile(t *testing.T, path string, opts Options) *Report {
	t.Helper()
	src, err := capture.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	a := New(opts)
	if err := a.AddSource(filepath.Base(path), src.Format(), src); err != nil {
		t.Fatalf("analysing %s: %v", path, err)
	}
	r := a.Report()
	t.Cleanup(func() { r.Close() })
	return r
}

// jsonConnections decodes the connection objects of a JSON report as
// generic maps, so a test sees which keys were written.
func jsonConnections(t *testing.T, r *Report) []map[string]any {
	t.Helper()
	var b bytes.Buffer
	if err := r.WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Connections []map[string]any `json:"connections"`
	}
	if err := json.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatalf("the report is not JSON: %v", err)
	}
	return doc.Connections
}

// TestJSONIgnoredRSTs: suricata-verify security-4710 has a client RST
// carrying a TCP-MD5 option (frame 4) that the server ignored, the
// exchange going on after it, and a real RST (frame 12) that ended the
// connection. Its one connection reports ignored_rsts 1 while its close
// still names the RST of frame 12; a capture whose RST did end its
// connection has no ignored_rsts key at all. Both hold for a report kept
// in memory and for one whose listing went through the spill codec.
func TestJSONIgnoredRSTs(t *testing.T) {
	t.Setenv("TMPDIR", t.TempDir())
	ignored := sharedpcaps.Path(t, "suricata-verify__security-4710-01__input.pcap")
	for _, opts := range []Options{{}, {SpillListing: true, SpillThreshold: -1}} {
		conns := jsonConnections(t, analyzeFile(t, ignored, opts))
		if len(conns) != 1 {
			t.Fatalf("spill %v: %d connections, want 1", opts.SpillListing, len(conns))
		}
		c := conns[0]
		if got, ok := c["ignored_rsts"].(float64); !ok || got != 1 {
			t.Errorf("spill %v: ignored_rsts = %v (present %v), want 1", opts.SpillListing, c["ignored_rsts"], ok)
		}
		if c["close"] != "rst" || c["closed_first_by"] != "server" || c["rst_by"] != "client" {
			t.Errorf("spill %v: close %v, closed_first_by %v, rst_by %v; want rst, server (its FIN), client (the RST of frame 12)",
				opts.SpillListing, c["close"], c["closed_first_by"], c["rst_by"])
		}

		reset := analyzeFile(t, "../testdata/captures/truncated-rst.pcap", opts)
		conns = jsonConnections(t, reset)
		sawRST := false
		for _, c := range conns {
			if v, ok := c["ignored_rsts"]; ok {
				t.Errorf("spill %v: truncated-rst.pcap connection %v has ignored_rsts %v; want the key omitted", opts.SpillListing, c["id"], v)
			}
			sawRST = sawRST || c["close"] == "rst"
		}
		if !sawRST {
			t.Errorf("spill %v: no connection of truncated-rst.pcap closed by RST: the check above shows nothing", opts.SpillListing)
		}
	}
}

// TestCloseSummaryNamesIgnoredRSTs: the close column says how the
// connection ended and, after it, how many RSTs it outlived, so an
// ignored RST is never read as the close.
func TestCloseSummaryNamesIgnoredRSTs(t *testing.T) {
	for _, tc := range []struct {
		desc string
		c    ConnReport
		want string
	}{
		{"no ignored RST", ConnReport{Close: "fin", ClosedFirstBy: "client"}, "fin by client"},
		{"ignored RST, FIN close", ConnReport{Close: "fin", ClosedFirstBy: "client", IgnoredRSTs: 1}, "fin by client (1 rst ignored)"},
		{"ignored RST, then a FIN answered by RST", ConnReport{Close: "rst", ClosedFirstBy: "server", RSTBy: "client", IgnoredRSTs: 1},
			"fin by server, rst by client (1 rst ignored)"},
		{"two ignored, still open", ConnReport{Close: "open", IgnoredRSTs: 2}, "open (2 rsts ignored)"},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			if got := tc.c.CloseSummary(); got != tc.want {
				t.Errorf("CloseSummary() = %q, want %q", got, tc.want)
			}
		})
	}
}
