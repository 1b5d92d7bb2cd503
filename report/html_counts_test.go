package report

import (
	"bytes"
	"regexp"
	"strconv"
	"testing"
)

// summaryCard reads the number on the HTML summary card whose label
// starts with label, and the label's whole text.
func summaryCard(t *testing.T, page, label string) (int, string) {
	t.Helper()
	m := regexp.MustCompile(`<div class="num">(\d+)</div><div class="lbl">(` + regexp.QuoteMeta(label) + `[^<]*)</div>`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no summary card labelled %q", label)
	}
	n, err := strconv.Atoi(m[1])
	if err != nil {
		t.Fatal(err)
	}
	return n, m[2]
}

// TestHTMLSummaryCountsEveryConnection: the summary cards count the
// connections and transactions the inputs had, as the JSON inputs and the
// text report do, not only those the listing kept under
// --max-listed-conns and --max-listed-txns; the label says how many are
// listed when that is fewer. A hand-made report whose inputs carry no
// counts still shows what it lists.
func TestHTMLSummaryCountsEveryConnection(t *testing.T) {
	for _, tc := range []struct {
		desc                   string
		inputConns, inputTxns  int
		wantConns, wantTxns    int
		wantConnLbl, wantTxLbl string
	}{
		{"listing whole", 3, 4, 3, 4, "TCP connections", "HTTP transactions"},
		{"listing capped", 40, 90, 40, 90, "TCP connections (3 listed)", "HTTP transactions (4 listed)"},
		{"inputs without counts", 0, 0, 3, 4, "TCP connections", "HTTP transactions"},
	} {
		r := fixtureReport()
		r.Inputs[0].Connections, r.Inputs[0].Transactions = tc.inputConns, tc.inputTxns
		var b bytes.Buffer
		if err := WriteHTML(&b, r, HTMLOptions{}); err != nil {
			t.Fatal(err)
		}
		conns, connLbl := summaryCard(t, b.String(), "TCP connections")
		txns, txLbl := summaryCard(t, b.String(), "HTTP transactions")
		if conns != tc.wantConns || txns != tc.wantTxns || connLbl != tc.wantConnLbl || txLbl != tc.wantTxLbl {
			t.Errorf("%s: cards say %d %q and %d %q; want %d %q and %d %q", tc.desc,
				conns, connLbl, txns, txLbl, tc.wantConns, tc.wantConnLbl, tc.wantTxns, tc.wantTxLbl)
		}
	}
}
