package hostile

import (
	"bufio"
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// harJUnitCases are the scenarios that list the most connections,
// transactions or findings: what once made HAR and JUnit build documents
// of hundreds of megabytes. The small sizes list at most 2000 connections
// and transactions, so findings on unlisted connections are rendered too.
var harJUnitCases = []struct {
	scenario string
	smallN   int
}{
	{"syn-flood", 10_000},
	{"open-conns", 3_000},
	{"keepalive-hoard", 10_000},
	{"tuple-reuse", 3_000},
	{"pipelined", 10_000},
}

// TestAdversarialHARJUnit renders those captures as NDJSON, HAR and JUnit
// through the built binary: each run must exit 0 under the RSS cap, the
// HAR must hold one entry per transaction the NDJSON lists, and the JUnit document
// must be well-formed with one case per finding plus one per rule that
// found nothing (its size follows the findings, not the connections), its
// counts matching its cases. CONNSCOPE_HOSTILE_FULL=1 runs the full sizes
// with the default limits.
func TestAdversarialHARJUnit(t *testing.T) {
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	full := fullSize()
	capMB := rssCapMB(t)
	dir := t.TempDir()

	var registry struct {
		Rules []struct {
			ID string `json:"id"`
		} `json:"rules"`
	}
	if err := json.Unmarshal(connscope(t, "rules", "--format", "json").stdout, &registry); err != nil || len(registry.Rules) == 0 {
		t.Fatalf("connscope rules --format json: %v (%d rules)", err, len(registry.Rules))
	}

	for _, c := range harJUnitCases {
		s, err := ScenarioByName(c.scenario)
		if err != nil {
			t.Fatal(err)
		}
		n, limits := c.smallN, []string{"--max-listed-conns", "2000", "--max-listed-txns", "2000"}
		if full {
			n, limits = s.FullN, nil
		}
		t.Run(s.Name, func(t *testing.T) {
			if !full {
				t.Parallel()
			}
			file := writeCapture(t, dir, s, n)
			// Every output goes to a file and is read back as a stream: the
			// test process stays small, so the children's peak RSS is theirs
			// (a child's ru_maxrss counts its parent's memory until exec).
			analyze := func(format string) *os.File {
				t.Helper()
				out := filepath.Join(dir, s.Name+"."+format)
				r := connscope(t, append(append([]string{"analyze", "--format", format, "-o", out}, limits...), file)...)
				if r.exitCode != 0 {
					t.Fatalf("-f %s: exit %d\nstderr: %s", format, r.exitCode, r.stderr)
				}
				if r.maxRSSKB > capMB<<10 {
					t.Errorf("-f %s: peak RSS %d MB, over the %d MB cap", format, r.maxRSSKB>>10, capMB)
				}
				f, err := os.Open(out)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { f.Close(); os.Remove(out) })
				size := int64(-1)
				if st, err := f.Stat(); err == nil {
					size = st.Size()
				}
				t.Logf("%s n=%d -f %s: %.2fs CPU, peak RSS %d MB, %d bytes", s.Name, n, format, r.cpu.Seconds(), r.maxRSSKB>>10, size)
				return f
			}

			// The NDJSON report says what was listed and found.
			listed, found, inputs, err := countNDJSON(analyze("ndjson"))
			if err != nil {
				t.Fatalf("ndjson: %v", err)
			}

			entries, err := countHAREntries(analyze("har"))
			if err != nil {
				t.Fatalf("har: %v", err)
			}
			if entries != listed {
				t.Errorf("har: %d entries, the report lists %d transactions", entries, listed)
			}

			doc, err := countJUnit(analyze("junit"))
			if err != nil {
				t.Fatalf("junit: %v", err)
			}
			findings, quiet := 0, 0
			for _, n := range found {
				findings += n
			}
			for _, r := range registry.Rules {
				if found[r.ID] == 0 {
					quiet++
				}
			}
			// An input that reached a limit is an NDJSON input record and a
			// passing JUnit case of the input suite.
			if want := findings + quiet + inputs; doc.cases != want || doc.failing != findings {
				t.Errorf("junit: %d cases, %d failing; want %d findings + %d quiet rules + %d inputs = %d cases", doc.cases, doc.failing, findings, quiet, inputs, want)
			}
			if doc.tests != doc.cases || doc.failures != doc.failing {
				t.Errorf("junit: <testsuites tests=%d failures=%d> but %d cases, %d failing", doc.tests, doc.failures, doc.cases, doc.failing)
			}
		})
	}
}

// countNDJSON reads an NDJSON report a line at a time and counts its
// transaction records, its findings by rule and its input records.
func countNDJSON(r io.Reader) (transactions int, findings map[string]int, inputs int, err error) {
	findings = map[string]int{}
	sc := bufio.NewScanner(r)
	sc.Buffer(nil, 64<<20)
	for sc.Scan() {
		var rec struct {
			Type string `json:"type"`
			Rule string `json:"rule"`
		}
		line := sc.Bytes()
		// Of a connection or transaction only the type is decoded (it comes
		// first; the rest, headers and all, can be long); findings whole.
		if i := bytes.Index(line, []byte(`,"`)); i > 0 && !bytes.HasPrefix(line, []byte(`{"type":"finding"`)) {
			line = append(line[:i:i], '}')
		}
		if err := json.Unmarshal(line, &rec); err != nil {
			return 0, nil, 0, fmt.Errorf("line %.80q: %w", sc.Bytes(), err)
		}
		switch rec.Type {
		case "transaction":
			transactions++
		case "finding":
			findings[rec.Rule]++
		case "input":
			inputs++
		}
	}
	return transactions, findings, inputs, sc.Err()
}

// countHAREntries streams a HAR document and counts log.entries, holding
// one entry at a time.
func countHAREntries(r io.Reader) (int, error) {
	dec := json.NewDecoder(bufio.NewReader(r))
	// Walk to log.entries: every value before it is decoded and dropped.
	expect := func(want json.Delim) error {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		if tok != want {
			return fmt.Errorf("got %v, want %v", tok, want)
		}
		return nil
	}
	if err := expect('{'); err != nil {
		return 0, err
	}
	if tok, err := dec.Token(); err != nil || tok != "log" {
		return 0, fmt.Errorf("first key %v (%v), want log", tok, err)
	}
	if err := expect('{'); err != nil {
		return 0, err
	}
	for dec.More() {
		key, err := dec.Token()
		if err != nil {
			return 0, err
		}
		if key != "entries" {
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return 0, err
			}
			continue
		}
		if err := expect('['); err != nil {
			return 0, err
		}
		n := 0
		for dec.More() {
			var entry struct {
				Request struct {
					URL string `json:"url"`
				} `json:"request"`
			}
			if err := dec.Decode(&entry); err != nil {
				return n, err
			}
			if entry.Request.URL == "" {
				return n, fmt.Errorf("entry %d has no request URL", n)
			}
			n++
		}
		return n, nil
	}
	return 0, errors.New("no log.entries")
}

// junitCounts is what countJUnit read: the root's attributes and the
// cases it found.
type junitCounts struct {
	tests, failures int
	cases, failing  int
}

// countJUnit walks a JUnit document token by token and counts its cases,
// failing cases and the root's claims; it fails on XML that is not
// well-formed and on a case name used twice in one class.
func countJUnit(r io.Reader) (junitCounts, error) {
	var c junitCounts
	dec := xml.NewDecoder(bufio.NewReader(r))
	names := map[string]bool{}
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return c, nil
		}
		if err != nil {
			return c, err
		}
		x, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		attr := func(name string) string {
			for _, a := range x.Attr {
				if a.Name.Local == name {
					return a.Value
				}
			}
			return ""
		}
		switch x.Name.Local {
		case "testsuites":
			c.tests, _ = strconv.Atoi(attr("tests"))
			c.failures, _ = strconv.Atoi(attr("failures"))
		case "testcase":
			c.cases++
			id := attr("classname") + " " + attr("name")
			if names[id] {
				return c, errors.New("two cases named " + strconv.Quote(id))
			}
			names[id] = true
		case "failure":
			c.failing++
		}
	}
}
