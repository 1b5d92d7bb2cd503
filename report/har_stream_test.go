package report

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/connscope/connscope/analysis"
)

// The whole HAR document, as WriteHAR wrote it before it streamed: the
// reference its stream must match byte for byte, and the shape tests
// decode it into.
type (
	harDoc struct {
		Log harLog `json:"log"`
	}
	harLog struct {
		Version string     `json:"version"`
		Creator harCreator `json:"creator"`
		Pages   []harPage  `json:"pages,omitempty"`
		Entries []harEntry `json:"entries"`
		Comment string     `json:"comment,omitempty"`
	}
)

// wholeHAR builds the document in memory from the report's slices and
// encodes it in one call: the earlier WriteHAR, kept as the oracle.
func wholeHAR(r *analysis.Report, opts HAROptions) []byte {
	version := opts.CreatorVersion
	if version == "" {
		version = "dev"
	}
	conns := map[int]harConn{}
	for _, c := range nonNil(r.Connections) {
		conns[c.ID] = harConn{input: c.Input, server: c.Server}
	}
	doc := harDoc{Log: harLog{
		Version: "1.2",
		Creator: harCreator{Name: "connscope", Version: version},
		Entries: []harEntry{},
	}}
	pages := map[int]bool{}
	for _, in := range nonNil(r.Inputs) {
		doc.Log.Pages = append(doc.Log.Pages, harPage{
			StartedDateTime: harTime(int64(in.Start)),
			ID:              harPageID(in.Index),
			Title:           in.Name,
			PageTimings:     harPageTimings{OnContentLoad: -1, OnLoad: -1},
		})
		pages[in.Index] = true
	}
	for _, t := range nonNil(r.Transactions) {
		c, ok := conns[t.Connection]
		e := harEntryOf(t, c, ok)
		if ok && pages[c.input] {
			e.PageRef = harPageID(c.input)
		}
		doc.Log.Entries = append(doc.Log.Entries, e)
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	if opts.Indent {
		enc.SetIndent("", "  ")
	}
	if err := enc.Encode(doc); err != nil {
		panic(err)
	}
	return b.Bytes()
}

// checkHARMatchesWhole renders r both ways, compact and indented, and wants
// the same bytes.
func checkHARMatchesWhole(t *testing.T, name string, r *analysis.Report) {
	t.Helper()
	for _, opts := range []HAROptions{{}, {Indent: true, CreatorVersion: "v1 <&>"}} {
		var b bytes.Buffer
		if err := WriteHAR(&b, r, opts); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if want := wholeHAR(r, opts); !bytes.Equal(b.Bytes(), want) {
			t.Errorf("%s (indent %v): the stream differs from the whole document\n%s", name, opts.Indent, firstDiff(want, b.Bytes()))
		}
	}
}

// TestHARStreamMatchesWholeDocument: streaming changes no byte, on the
// hand-made report, on its edge cases (no inputs, no transactions, nil
// entries, a transaction whose connection is not listed, an input without
// transactions) and on every capture in testdata/captures.
func TestHARStreamMatchesWholeDocument(t *testing.T) {
	variants := map[string]func(r *analysis.Report){
		"as made":       func(*analysis.Report) {},
		"no inputs":     func(r *analysis.Report) { r.Inputs = nil },
		"nil input":     func(r *analysis.Report) { r.Inputs = []*analysis.InputReport{nil} },
		"no txns":       func(r *analysis.Report) { r.Transactions = nil },
		"nothing":       func(r *analysis.Report) { r.Inputs, r.Connections, r.Transactions = nil, nil, nil },
		"nil entries":   func(r *analysis.Report) { r.Transactions = append([]*analysis.TxnReport{nil}, r.Transactions...) },
		"conn unlisted": func(r *analysis.Report) { r.Connections = r.Connections[1:] },
		"extra input": func(r *analysis.Report) {
			r.Inputs = append(r.Inputs, &analysis.InputReport{Index: 7, Name: "second\x00.pcap"})
			r.Connections[2].Input = 7
		},
	}
	for name, change := range variants {
		r := fixtureReport()
		change(r)
		checkHARMatchesWhole(t, name, r)
	}
	entries, err := os.ReadDir("../testdata/captures")
	if err != nil {
		t.Skipf("no captures: %v", err)
	}
	n := 0
	for _, e := range entries {
		if e.IsDir() || strings.HasSuffix(e.Name(), ".md") {
			continue
		}
		r, ok := analyzeLenient(filepath.Join("../testdata/captures", e.Name()))
		if !ok {
			continue
		}
		checkHARMatchesWhole(t, e.Name(), r)
		n++
	}
	if n == 0 {
		t.Errorf("no capture in testdata/captures was read")
	}
}

// cutOffWriter accepts limit bytes, then fails every write.
type cutOffWriter struct{ limit int }

var errWriteFailed = errors.New("disk full")

func (w *cutOffWriter) Write(p []byte) (int, error) {
	if len(p) > w.limit {
		n := w.limit
		w.limit = 0
		return n, errWriteFailed
	}
	w.limit -= len(p)
	return len(p), nil
}

// TestHARWriteError: a writer that fails is reported, wrapped, whether it
// fails at the header, between entries or at the end.
func TestHARWriteError(t *testing.T) {
	r := fixtureReport()
	var whole bytes.Buffer
	if err := WriteHAR(&whole, r, HAROptions{Indent: true}); err != nil {
		t.Fatal(err)
	}
	for _, limit := range []int{0, 10, whole.Len() / 2, whole.Len() - 1} {
		err := WriteHAR(&cutOffWriter{limit: limit}, r, HAROptions{Indent: true})
		if !errors.Is(err, errWriteFailed) {
			t.Errorf("failing after %d of %d bytes: error %v, want it to wrap %v", limit, whole.Len(), err, errWriteFailed)
		}
	}
}
