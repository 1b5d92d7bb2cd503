package hostile

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
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

// TestAdversarialHARJUnit renders those captures as HAR and as JUnit
// through the built binary: each run must exit 0 under the RSS cap, the
// HAR must hold one entry per listed transaction, and the JUnit document
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
			analyze := func(format string) run {
				t.Helper()
				r := connscope(t, append(append([]string{"analyze", "--format", format}, limits...), file)...)
				if r.exitCode != 0 {
					t.Fatalf("-f %s: exit %d\nstderr: %s", format, r.exitCode, r.stderr)
				}
				if r.maxRSSKB > capMB<<10 {
					t.Errorf("-f %s: peak RSS %d MB, over the %d MB cap", format, r.maxRSSKB>>10, capMB)
				}
				t.Logf("%s n=%d -f %s: %.2fs CPU, peak RSS %d MB, %d bytes", s.Name, n, format, r.cpu.Seconds(), r.maxRSSKB>>10, len(r.stdout))
				return r
			}

			// The JSON report says what was listed and found.
			var report struct {
				Transactions []struct{} `json:"transactions"`
				Findings     []struct {
					Rule string `json:"rule"`
				} `json:"findings"`
			}
			if err := json.Unmarshal(analyze("json").stdout, &report); err != nil {
				t.Fatalf("json: %v", err)
			}

			var har struct {
				Log struct {
					Entries []struct{} `json:"entries"`
				} `json:"log"`
			}
			if err := json.Unmarshal(analyze("har").stdout, &har); err != nil {
				t.Fatalf("har: %v", err)
			}
			if got, want := len(har.Log.Entries), len(report.Transactions); got != want {
				t.Errorf("har: %d entries, the report lists %d transactions", got, want)
			}

			doc, err := countJUnit(analyze("junit").stdout)
			if err != nil {
				t.Fatalf("junit: %v", err)
			}
			ruleFound := map[string]bool{}
			for _, f := range report.Findings {
				ruleFound[f.Rule] = true
			}
			quiet := 0
			for _, r := range registry.Rules {
				if !ruleFound[r.ID] {
					quiet++
				}
			}
			want := len(report.Findings) + quiet
			if doc.cases != want || doc.failing != len(report.Findings) {
				t.Errorf("junit: %d cases, %d failing; want %d findings + %d quiet rules = %d cases", doc.cases, doc.failing, len(report.Findings), quiet, want)
			}
			if doc.tests != doc.cases || doc.failures != doc.failing {
				t.Errorf("junit: <testsuites tests=%d failures=%d> but %d cases, %d failing", doc.tests, doc.failures, doc.cases, doc.failing)
			}
		})
	}
}

// junitCounts is what countJUnit read: the root's attributes and the
// cases it found.
type junitCounts struct {
	tests, failures int
	cases, failing  int
}

// countJUnit walks a JUnit document token by token (it may be large) and
// counts its cases, failing cases and the root's claims; it fails on XML
// that is not well-formed and on a case name used twice in one class.
func countJUnit(data []byte) (junitCounts, error) {
	var c junitCounts
	dec := xml.NewDecoder(bytes.NewReader(data))
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
