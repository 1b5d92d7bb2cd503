package cli

import (
	"encoding/json"
	"encoding/xml"
	"slices"
	"strings"
	"testing"

	"github.com/connscope/connscope/analysis"
)

func TestEveryFormatRenders(t *testing.T) {
	for name := range formats {
		t.Run(name, func(t *testing.T) {
			out, stderr, code := runCLI(t, nil, "analyze", "--format", name, rstDown)
			if code != ExitOK {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			switch name {
			case "json", "har":
				var v map[string]any
				if err := json.Unmarshal([]byte(out), &v); err != nil {
					t.Fatalf("invalid JSON: %v", err)
				}
			case "ndjson":
				lines := strings.Split(strings.TrimSpace(out), "\n")
				types := map[string]int{}
				for _, l := range lines {
					var v struct{ Type string }
					if err := json.Unmarshal([]byte(l), &v); err != nil {
						t.Fatalf("line %q: %v", l, err)
					}
					types[v.Type]++
				}
				if types["connection"] != 2 || types["transaction"] != 2 || types["finding"] == 0 {
					t.Errorf("ndjson record counts %v, want 2 connections, 2 transactions and findings", types)
				}
			case "junit":
				d := xml.NewDecoder(strings.NewReader(out))
				for {
					if _, err := d.Token(); err != nil {
						if err.Error() != "EOF" {
							t.Fatalf("invalid XML: %v", err)
						}
						break
					}
				}
			case "html":
				if !strings.HasPrefix(strings.TrimSpace(out), "<!DOCTYPE html>") {
					t.Errorf("HTML report does not start with a doctype: %.80q", out)
				}
			case "text":
				if !strings.Contains(out, "Findings:") {
					t.Errorf("text report without findings section:\n%s", out)
				}
			}
		})
	}
}

func TestTextSections(t *testing.T) {
	def, _, _ := runCLI(t, nil, "analyze", rstDown)
	if strings.Contains(def, "Transactions:") || !strings.Contains(def, "Connections:") {
		t.Errorf("default text report should show connections but not transactions:\n%s", def)
	}
	all, _, _ := runCLI(t, nil, "analyze", "--show", "all", rstDown)
	if !strings.Contains(all, "Transactions:") {
		t.Errorf("--show all lacks the transactions table:\n%s", all)
	}
	if _, _, code := runCLI(t, nil, "analyze", "--show", "everything", rstDown); code != ExitUsage {
		t.Errorf("--show everything: exit %d, want %d", code, ExitUsage)
	}
}

func TestConnTimeline(t *testing.T) {
	out, _, code := runCLI(t, nil, "analyze", "--conn", "2", rstDown)
	if code != ExitOK || !strings.Contains(out, "connection 2") || !strings.Contains(out, "frame") {
		t.Errorf("--conn 2: exit %d\n%s", code, out)
	}
	if _, _, code := runCLI(t, nil, "analyze", "--conn", "99", rstDown); code != ExitUsage {
		t.Errorf("--conn 99: exit %d, want %d", code, ExitUsage)
	}
	if _, _, code := runCLI(t, nil, "analyze", "--conn", "1", "--format", "json", rstDown); code != ExitUsage {
		t.Errorf("--conn with --format json: exit %d, want %d", code, ExitUsage)
	}
}

func TestLiveFlagsNeedInterface(t *testing.T) {
	if _, _, code := runCLI(t, nil, "analyze", "-c", "10", rstDown); code != ExitUsage {
		t.Errorf("-c without -i: exit %d, want %d", code, ExitUsage)
	}
	if _, _, code := runCLI(t, nil, "analyze", "-i", "lo", "-r", rstDown); code != ExitUsage {
		t.Errorf("-i with -r: exit %d, want %d", code, ExitUsage)
	}
}

// TestCloseColumnNamesTheResetter: when the server closes with a FIN and
// the client answers with a RST, the CLOSE column must not say "rst by
// server" (the server sent no RST).
func TestCloseColumnNamesTheResetter(t *testing.T) {
	in := &analysis.InputReport{}
	c := &analysis.ConnReport{State: "RSTO", Close: "rst", ClosedFirstBy: "server", RSTBy: "client"}
	row := connRow(c, in)
	closeCell := row[slices.Index(connHeader, "CLOSE")]
	if closeCell != "fin by server, rst by client" {
		t.Errorf("CLOSE cell = %q, want %q", closeCell, "fin by server, rst by client")
	}
}

// TestEmptySectionsAreShown: a section asked for with --show is printed
// with its count even when it is empty, as "Connections: 0" always was, so
// "--show transactions" on a capture without HTTP says so instead of
// printing nothing after the summary.
func TestEmptySectionsAreShown(t *testing.T) {
	// One TCP connection, no HTTP: a fragmented segment (reassembled, as
	// tshark does) and the same segment again whole.
	noHTTP := "../../../testdata/bad/ip-fragments.pcap"
	out, stderr, code := runCLI(t, nil, "analyze", "--show", "all", noHTTP)
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{"\nConnections: 1\n", "\nTransactions: 0\n", "  2 TCP packets in 1 connection, "} {
		if !strings.Contains(out, want) {
			t.Errorf("--show all output lacks %q:\n%s", want, out)
		}
	}
}
