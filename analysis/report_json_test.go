package analysis

import (
	"bytes"
	"encoding/json"
	"errors"
	"path/filepath"
	"testing"

	"github.com/connscope/connscope/capture"
)

// encoderJSON is what WriteJSON must reproduce byte for byte.
func encoderJSON(t *testing.T, r *Report) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func checkWriteJSON(t *testing.T, r *Report) {
	t.Helper()
	var got bytes.Buffer
	if err := r.WriteJSON(&got); err != nil {
		t.Fatal(err)
	}
	want := encoderJSON(t, r)
	if !bytes.Equal(got.Bytes(), want) {
		i := 0
		for i < min(got.Len(), len(want)) && got.Bytes()[i] == want[i] {
			i++
		}
		t.Fatalf("WriteJSON differs from json.Encoder at byte %d of %d/%d:\n got …%q\nwant …%q",
			i, got.Len(), len(want), got.Bytes()[max(i-40, 0):min(i+40, got.Len())], want[max(i-40, 0):min(i+40, len(want))])
	}
}

// TestWriteJSONMatchesEncoder runs real captures through the analysis and
// checks the streamed JSON against the Encoder's for each.
func TestWriteJSONMatchesEncoder(t *testing.T) {
	files, err := filepath.Glob("../testdata/captures/*.pcap*")
	if err != nil || len(files) == 0 {
		t.Fatalf("no captures in ../testdata/captures: %v", err)
	}
	a := New(Options{KeepHeaders: true})
	for _, name := range files {
		r, err := capture.Open(name)
		if err != nil {
			t.Fatal(err)
		}
		_ = a.AddSource(name, r.Format(), r)
		r.Close()
		// Each input alone, and all of them together at the end.
		one := New(Options{KeepSegments: true})
		r, _ = capture.Open(name)
		_ = one.AddSource(name, r.Format(), r)
		r.Close()
		checkWriteJSON(t, one.Report())
	}
	all := a.Report()
	if len(all.Connections) == 0 || len(all.Transactions) == 0 || len(all.Findings) == 0 {
		t.Fatalf("captures gave %d connections, %d transactions, %d findings: the test checks little",
			len(all.Connections), len(all.Transactions), len(all.Findings))
	}
	checkWriteJSON(t, all)
}

// TestWriteJSONEmptyAndNil covers arrays the Encoder writes as null or [].
func TestWriteJSONEmptyAndNil(t *testing.T) {
	checkWriteJSON(t, &Report{})
	checkWriteJSON(t, &Report{Schema: "<&>", Inputs: []*InputReport{}, Connections: []*ConnReport{}, Transactions: []*TxnReport{}, Findings: []*FindingReport{}})
	checkWriteJSON(t, &Report{Connections: []*ConnReport{nil, {ID: 1}}, Findings: []*FindingReport{{Message: "a\u2028<b>\"c\"\n"}}})
}

type failingWriter struct{ after int }

func (w *failingWriter) Write(p []byte) (int, error) {
	if w.after < len(p) {
		return 0, errors.New("disk full")
	}
	w.after -= len(p)
	return len(p), nil
}

// TestWriteJSONReportsWriteErrors: a failing writer's error comes back.
func TestWriteJSONReportsWriteErrors(t *testing.T) {
	r := &Report{Schema: "x", Connections: make([]*ConnReport, 5000)}
	for i := range r.Connections {
		r.Connections[i] = &ConnReport{ID: i + 1}
	}
	if err := r.WriteJSON(&failingWriter{after: 100}); err == nil {
		t.Fatal("WriteJSON to a failing writer returned nil")
	}
}

// TestNothingListedIsEmptyArrays: a report that lists no connection or
// transaction (a capture without TCP, or without HTTP) has [] for them in
// the JSON, as for findings, whether its listing is in memory or spilled:
// null made `.connections[]` in jq and `for c in r["connections"]` in
// Python fail on exactly the reports that have nothing to list.
func TestNothingListedIsEmptyArrays(t *testing.T) {
	for _, opts := range []Options{{}, {SpillListing: true, SpillThreshold: -1}} {
		a := New(opts)
		if err := a.AddSource("empty.pcap", "pcap", limitCapture(t, 0, 0)); err != nil {
			t.Fatal(err)
		}
		r := a.Report()
		var b bytes.Buffer
		if err := r.WriteJSON(&b); err != nil {
			t.Fatal(err)
		}
		r.Close()
		var doc map[string]json.RawMessage
		if err := json.Unmarshal(b.Bytes(), &doc); err != nil {
			t.Fatal(err)
		}
		for _, field := range []string{"connections", "transactions", "findings"} {
			if got := string(doc[field]); got != "[]" {
				t.Errorf("spill %v: %q is %s, want []", opts.SpillListing, field, got)
			}
		}
		if !opts.SpillListing {
			checkWriteJSON(t, r) // and still what the Encoder writes
		}
	}
}
