package report

import (
	"bytes"
	"encoding/xml"
	"io"
	"strings"
	"testing"

	"github.com/connscope/connscope/diagnose"
)

// junitDoc is what a CI reader takes from the XML.
type junitDoc struct {
	Tests    int `xml:"tests,attr"`
	Failures int `xml:"failures,attr"`
	Suites   []struct {
		Name     string `xml:"name,attr"`
		Tests    int    `xml:"tests,attr"`
		Failures int    `xml:"failures,attr"`
		Cases    []struct {
			Name      string `xml:"name,attr"`
			ClassName string `xml:"classname,attr"`
			Failure   *struct {
				Message string `xml:"message,attr"`
				Type    string `xml:"type,attr"`
				Text    string `xml:",chardata"`
			} `xml:"failure"`
			SystemOut string `xml:"system-out"`
		} `xml:"testcase"`
	} `xml:"testsuite"`
}

func parseJUnit(t *testing.T, data []byte) junitDoc {
	t.Helper()
	// Walk every token first: a strict parse of the whole document.
	dec := xml.NewDecoder(bytes.NewReader(data))
	for {
		_, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("not well-formed XML: %v", err)
		}
	}
	var doc junitDoc
	if err := xml.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	return doc
}

// TestJUnitCases checks the counts against the report: one case per rule
// and connection (one "capture" case for capture-scope rules), failures
// exactly where a rule found something, hostile text well-formed.
func TestJUnitCases(t *testing.T) {
	r := fixtureReport()
	rules := fixtureRules()
	var b bytes.Buffer
	if err := WriteJUnitWith(&b, r, JUnitOptions{Rules: rules}); err != nil {
		t.Fatal(err)
	}
	if bytes.IndexByte(b.Bytes(), 0) >= 0 || bytes.IndexByte(b.Bytes(), 0x1b) >= 0 {
		t.Fatalf("raw NUL or ESC in the XML")
	}
	doc := parseJUnit(t, b.Bytes())
	// 3 connection rules x 3 connections + 1 capture case + 1 unknown rule.
	if doc.Tests != 3*3+1+1 || len(doc.Suites) != 5 {
		t.Errorf("%d tests in %d suites, want 11 in 5", doc.Tests, len(doc.Suites))
	}
	failed := map[string]bool{}
	total := 0
	for _, s := range doc.Suites {
		n := 0
		for _, c := range s.Cases {
			if c.Failure != nil {
				failed[c.ClassName+" "+c.Name] = true
				n++
			}
		}
		if n != s.Failures {
			t.Errorf("suite %s says %d failures, has %d", s.Name, s.Failures, n)
		}
		total += n
	}
	if total != doc.Failures {
		t.Errorf("testsuites says %d failures, suites hold %d", doc.Failures, total)
	}
	for _, want := range []string{
		"connscope.CT1001 connection 1 10.0.0.1:40000 -> 10.0.0.2:80",
		"connscope.CT1002 connection 3 10.0.0.1:40002 -> 10.0.0.3:80",
		"connscope.CC3001 connection 2 [2001:db8::1]:40001 -> [2001:db8::2]:8080",
		"connscope.CH2009 capture",
		"connscope.ZZ9999 connection 2 [2001:db8::1]:40001 -> [2001:db8::2]:8080",
	} {
		if !failed[want] {
			t.Errorf("no failure for %q", want)
		}
	}
	if len(failed) != 5 {
		t.Errorf("%d failing cases, want 5: %v", len(failed), failed)
	}
	for _, s := range doc.Suites {
		for _, c := range s.Cases {
			if c.Failure != nil && strings.Contains(c.Failure.Message, "RST") {
				if !strings.Contains(c.Failure.Message, "<script>alert(1)</script>") || !strings.Contains(c.Failure.Message, `\x1b[31m`) {
					t.Errorf("hostile message not carried as visible text: %q", c.Failure.Message)
				}
				if !strings.Contains(c.Failure.Text, "frames 21, 24, 27") {
					t.Errorf("failure text lacks the evidence frames: %q", c.Failure.Text)
				}
			}
		}
	}
}

func TestJUnitMinSeverity(t *testing.T) {
	var b bytes.Buffer
	if err := WriteJUnitWith(&b, fixtureReport(), JUnitOptions{Rules: fixtureRules(), MinSeverity: "error"}); err != nil {
		t.Fatal(err)
	}
	doc := parseJUnit(t, b.Bytes())
	if doc.Failures != 1 {
		t.Errorf("%d failures at --fail-on error, want 1 (CC3001)", doc.Failures)
	}
	if !strings.Contains(b.String(), "below the failure threshold") {
		t.Errorf("findings below the threshold are not listed")
	}
	if err := WriteJUnitWith(&b, fixtureReport(), JUnitOptions{MinSeverity: "fatal"}); err == nil {
		t.Errorf("unknown severity accepted")
	}
}

// TestJUnitRegistry: by default every registered rule gets a suite, in
// registry order, so a rule that passes still shows.
func TestJUnitRegistry(t *testing.T) {
	rules := diagnose.Rules()
	if len(rules) == 0 {
		t.Skip("the registry is empty")
	}
	var b bytes.Buffer
	if err := WriteJUnit(&b, fixtureReport()); err != nil {
		t.Fatal(err)
	}
	doc := parseJUnit(t, b.Bytes())
	for i, rule := range rules {
		if i >= len(doc.Suites) || !strings.HasPrefix(doc.Suites[i].Name, rule.ID+" ") {
			t.Fatalf("suite %d is not rule %s", i, rule.ID)
		}
		want := len(fixtureReport().Connections)
		if rule.Scope == diagnose.ScopeCapture {
			want = 1
		}
		if got := doc.Suites[i].Tests; got < want {
			t.Errorf("rule %s: %d cases, want at least %d", rule.ID, got, want)
		}
	}
}

func TestXMLEscapeDropsForbidden(t *testing.T) {
	got := xmlEscape("a\x00b\x1bc\uFFFEd\xffe<&>\"'\n\t")
	if want := "a\uFFFDb\uFFFDc\uFFFDd\uFFFDe&lt;&amp;&gt;&quot;&apos;\n\t"; got != want {
		t.Errorf("xmlEscape = %q, want %q", got, want)
	}
}
