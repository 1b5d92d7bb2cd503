package report

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/connscope/connscope/analysis"
)

// TestNDJSONLines checks every line: valid JSON, a known type, the same
// fields as the JSON report's object plus "type", and capture-time order
// with the documented tie-break.
func TestNDJSONLines(t *testing.T) {
	r := fixtureReport()
	var b bytes.Buffer
	if err := WriteNDJSON(&b, r); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	if want := len(r.Connections) + len(r.Transactions) + len(r.Findings); len(lines) != want {
		t.Fatalf("%d lines, want %d", len(lines), want)
	}
	// The JSON report's object for each record, by type and identity.
	want := map[string]map[string]any{}
	key := func(typ string, obj map[string]any) string {
		b, _ := json.Marshal([]any{typ, obj["id"], obj["rule"], obj["connection"], obj["time"]})
		return string(b)
	}
	asMap := func(v any) map[string]any {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	for _, c := range r.Connections {
		m := asMap(c)
		want[key("connection", m)] = m
	}
	for _, x := range r.Transactions {
		m := asMap(x)
		want[key("transaction", m)] = m
	}
	for _, f := range r.Findings {
		m := asMap(f)
		want[key("finding", m)] = m
	}
	rank := map[string]int{"connection": 0, "transaction": 1, "finding": 2}
	var lastTime time.Time
	lastRank := -1
	for i, line := range lines {
		var got map[string]any
		if err := json.Unmarshal([]byte(line), &got); err != nil {
			t.Fatalf("line %d is not JSON: %v", i+1, err)
		}
		typ, _ := got["type"].(string)
		delete(got, "type")
		w, ok := want[key(typ, got)]
		if !ok {
			t.Errorf("line %d: %s record not in the report: %s", i+1, typ, line)
			continue
		}
		if !reflect.DeepEqual(got, w) {
			t.Errorf("line %d: fields differ from the JSON report's\n got %v\nwant %v", i+1, got, w)
		}
		var at string
		switch typ {
		case "connection":
			at, _ = got["start"].(string)
		case "transaction":
			at, _ = got["request"].(map[string]any)["start"].(string)
		case "finding":
			at, _ = got["time"].(string)
		}
		ts, err := time.Parse(time.RFC3339Nano, at)
		if err != nil {
			t.Fatalf("line %d: time %q: %v", i+1, at, err)
		}
		if ts.Before(lastTime) || ts.Equal(lastTime) && rank[typ] < lastRank {
			t.Errorf("line %d (%s at %s) is out of order", i+1, typ, at)
		}
		lastTime, lastRank = ts, rank[typ]
	}
	if strings.Contains(b.String(), "<script>") {
		t.Errorf("NDJSON carries a raw <script>; < must be \\u003c as in the JSON report")
	}
}

type failingWriter struct{ n int }

func (w *failingWriter) Write(p []byte) (int, error) {
	if w.n == 0 {
		return 0, errors.New("disk full")
	}
	w.n--
	return len(p), nil
}

// TestNDJSONNamesDamagedAndCappedInputs: NDJSON carries no input records
// for inputs read whole within every limit, but one that was damaged or
// reached a limit (an error or warnings) gets an "input" record after all
// others, the JSON report's input object, so that a capped or damaged
// NDJSON report never passes for a whole one.
func TestNDJSONNamesDamagedAndCappedInputs(t *testing.T) {
	r := withDamagedAndCappedInputs(fixtureReport(), "report lists at most 2 connections (--max-listed-conns): 1 more were counted")
	var b bytes.Buffer
	if err := WriteNDJSON(&b, r); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	records := len(r.Connections) + len(r.Transactions) + len(r.Findings)
	if len(lines) != records+2 {
		t.Fatalf("%d lines, want %d records and 2 input records", len(lines), records)
	}
	for i, want := range []struct {
		index int
		field string
	}{{0, "--max-listed-conns"}, {2, "frame 16 at byte offset 4772"}} {
		var got struct {
			Type     string   `json:"type"`
			Index    int      `json:"index"`
			Warnings []string `json:"warnings"`
			Error    string   `json:"error"`
		}
		if err := json.Unmarshal([]byte(lines[records+i]), &got); err != nil {
			t.Fatal(err)
		}
		if got.Type != "input" || got.Index != want.index || !strings.Contains(strings.Join(got.Warnings, " ")+got.Error, want.field) {
			t.Errorf("line %d = %s, want input %d naming %q", records+i+1, lines[records+i], want.index, want.field)
		}
	}

	// Clean inputs: no input record.
	b.Reset()
	if err := WriteNDJSON(&b, fixtureReport()); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b.String(), `"type":"input"`) {
		t.Errorf("a clean report has an input record")
	}
}

func TestNDJSONStreamErrorsStick(t *testing.T) {
	r := fixtureReport()
	s := NewNDJSONStream(&failingWriter{n: 1})
	if err := s.Connection(r.Connections[0]); err != nil {
		t.Fatalf("first write: %v", err)
	}
	err := s.Transaction(r.Transactions[0])
	if err == nil || !strings.Contains(err.Error(), "disk full") || !strings.Contains(err.Error(), "transaction 1") {
		t.Fatalf("second write: %v, want the writer's error naming the record", err)
	}
	if err2 := s.Finding(r.Findings[0]); err2 != err {
		t.Errorf("after an error: %v, want the same error again", err2)
	}
	if err := s.Connection(nil); err == nil {
		t.Errorf("nil connection accepted")
	}
}

// TestNDJSONStreamConcurrent writes from several goroutines and wants
// every line whole.
func TestNDJSONStreamConcurrent(t *testing.T) {
	r := fixtureReport()
	var b bytes.Buffer
	s := NewNDJSONStream(&b)
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				for _, c := range r.Connections {
					if err := s.Connection(c); err != nil {
						t.Error(err)
					}
				}
				for _, f := range r.Findings {
					if err := s.Finding(f); err != nil {
						t.Error(err)
					}
				}
			}
		}()
	}
	wg.Wait()
	sc := bufio.NewScanner(&b)
	sc.Buffer(nil, 1<<20)
	n := 0
	for sc.Scan() {
		var v map[string]any
		if err := json.Unmarshal(sc.Bytes(), &v); err != nil {
			t.Fatalf("line %d torn: %v", n+1, err)
		}
		n++
	}
	if want := 8 * 50 * (len(r.Connections) + len(r.Findings)); n != want {
		t.Errorf("%d lines, want %d", n, want)
	}
}

// TestNDJSONTieOrder: a connection, its transaction and a finding at the
// same instant come out in that order whatever the report's order.
func TestNDJSONTieOrder(t *testing.T) {
	r := fixtureReport()
	at := r.Connections[0].Start
	r.Transactions[0].Request.Start = at
	r.Findings[0].Time = at
	r.Findings = append([]*analysis.FindingReport{r.Findings[0]}, r.Findings[1:]...)
	var b bytes.Buffer
	if err := WriteNDJSON(&b, r); err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, line := range strings.SplitN(b.String(), "\n", 4)[:3] {
		var v struct{ Type string }
		if err := json.Unmarshal([]byte(line), &v); err != nil {
			t.Fatal(err)
		}
		types = append(types, v.Type)
	}
	if got := strings.Join(types, ","); got != "connection,transaction,finding" {
		t.Errorf("first three lines are %s", got)
	}
}
