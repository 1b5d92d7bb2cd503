package report

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/connscope/connscope/analysis"
	"github.com/connscope/connscope/diagnose"
)

// junitDoc is what a CI reader takes from the XML.
type junitDoc struct {
	Tests    int `xml:"tests,attr"`
	Failures int `xml:"failures,attr"`
	Errors   int `xml:"errors,attr"`
	Suites   []struct {
		Name       string `xml:"name,attr"`
		Tests      int    `xml:"tests,attr"`
		Failures   int    `xml:"failures,attr"`
		Properties []struct {
			Name  string `xml:"name,attr"`
			Value string `xml:"value,attr"`
		} `xml:"properties>property"`
		Cases []struct {
			Name      string `xml:"name,attr"`
			ClassName string `xml:"classname,attr"`
			Failure   *struct {
				Message string `xml:"message,attr"`
				Type    string `xml:"type,attr"`
				Text    string `xml:",chardata"`
			} `xml:"failure"`
			SystemOut string `xml:"system-out"`
		} `xml:"testcase"`
		SystemOut string `xml:"system-out"`
	} `xml:"testsuite"`
}

// parseJUnit checks data against the JUnit shape (validateJUnit) and
// decodes it.
func parseJUnit(t *testing.T, data []byte) junitDoc {
	t.Helper()
	if problems := validateJUnit(data); len(problems) > 0 {
		t.Fatalf("invalid JUnit XML:\n%s", strings.Join(problems, "\n"))
	}
	var doc junitDoc
	if err := xml.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	return doc
}

// junitShape is the part of the JUnit schema (Jenkins' junit-10.xsd) that
// CI readers rely on: which element may hold which, and the attributes
// each must carry. Integer attributes are marked "int", durations in
// seconds "seconds". The schema leaves time optional, but readers do not:
// GitHub's test-reporter action computes parseFloat(testcase.time) and
// shows NaN for a case without one, so every suite and case carries it.
var junitShape = map[string]struct {
	parents  []string
	required map[string]string
}{
	"testsuites": {nil, map[string]string{"name": "", "tests": "int", "failures": "int", "errors": "int", "time": "seconds"}},
	"testsuite":  {[]string{"testsuites"}, map[string]string{"name": "", "tests": "int", "failures": "int", "errors": "int", "skipped": "int", "time": "seconds"}},
	"properties": {[]string{"testsuite"}, nil},
	"property":   {[]string{"properties"}, map[string]string{"name": "", "value": ""}},
	"testcase":   {[]string{"testsuite"}, map[string]string{"name": "", "classname": "", "time": "seconds"}},
	"failure":    {[]string{"testcase"}, map[string]string{"message": "", "type": ""}},
	"error":      {[]string{"testcase"}, map[string]string{"message": "", "type": ""}},
	"system-out": {[]string{"testcase", "testsuite"}, nil},
}

// validateJUnit is a schema check in Go: the document must be well-formed
// XML 1.0 (strict tokenizer, no character XML forbids), use only the
// elements above in their places with their attributes, put properties
// before cases and suite output after them, and its counts must add up:
// each suite's tests and failures are its cases and failing cases, the
// root's are the suites' sums, and no two cases share classname and name.
// It returns every problem found.
func validateJUnit(data []byte) []string {
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	if !utf8.Valid(data) {
		bad("not UTF-8")
	}
	for i, r := range string(data) {
		if r < 0x20 && r != '\t' && r != '\n' && r != '\r' || r == 0xFFFE || r == 0xFFFF {
			bad("character %U at byte %d is not allowed in XML 1.0", r, i)
			break
		}
	}
	dec := xml.NewDecoder(bytes.NewReader(data))
	dec.Strict = true
	type suiteCount struct {
		tests, failures   int
		errors, errored   int
		cases, failed     int
		sawCase, sawOut   bool
		currentCaseFailed bool
	}
	var (
		stack                    []string
		rootTests, rootFailures  = -1, -1
		rootErrors, sumErrors    = -1, 0
		sumTests, sumFailures    int
		suite                    *suiteCount
		caseIDs                  = map[string]bool{}
		roots                    int
		className, caseName, err = "", "", error(nil)
	)
	for {
		var tok xml.Token
		tok, err = dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			bad("not well-formed: %v", err)
			return problems
		}
		switch x := tok.(type) {
		case xml.StartElement:
			name := x.Name.Local
			shape, known := junitShape[name]
			parent := ""
			if len(stack) > 0 {
				parent = stack[len(stack)-1]
			}
			switch {
			case !known:
				bad("unknown element <%s> in <%s>", name, parent)
			case shape.parents == nil && parent != "":
				bad("<%s> inside <%s>", name, parent)
			case shape.parents != nil && !slices.Contains(shape.parents, parent):
				bad("<%s> inside <%s>, want it in %v", name, parent, shape.parents)
			}
			attrs := map[string]string{}
			for _, a := range x.Attr {
				attrs[a.Name.Local] = a.Value
			}
			ints := map[string]int{}
			for attr, kind := range shape.required {
				v, ok := attrs[attr]
				if !ok {
					bad("<%s> without %s", name, attr)
					continue
				}
				switch kind {
				case "int":
					n, err := strconv.Atoi(v)
					if err != nil || n < 0 {
						bad("<%s %s=%q> is not a count", name, attr, v)
					}
					ints[attr] = n
				case "seconds":
					// xs:decimal: digits with an optional fraction, no
					// exponent, no NaN or Inf.
					if f, err := strconv.ParseFloat(v, 64); err != nil || f < 0 || strings.ContainsAny(v, "eEnNiI+") {
						bad("<%s %s=%q> is not a duration in seconds", name, attr, v)
					}
				}
			}
			switch name {
			case "testsuites":
				roots++
				rootTests, rootFailures, rootErrors = ints["tests"], ints["failures"], ints["errors"]
			case "testsuite":
				suite = &suiteCount{tests: ints["tests"], failures: ints["failures"], errors: ints["errors"]}
				sumTests += suite.tests
				sumFailures += suite.failures
				sumErrors += suite.errors
			case "properties":
				if suite != nil && (suite.sawCase || suite.sawOut) {
					bad("properties after the cases of a suite")
				}
			case "testcase":
				if suite != nil {
					if suite.sawOut {
						bad("testcase after the suite's system-out")
					}
					suite.sawCase = true
					suite.cases++
					suite.currentCaseFailed = false
				}
				className, caseName = attrs["classname"], attrs["name"]
				if id := className + "\x00" + caseName; caseIDs[id] {
					bad("two cases named %q in class %q", caseName, className)
				} else {
					caseIDs[id] = true
				}
			case "failure":
				if suite != nil && !suite.currentCaseFailed {
					suite.failed++
					suite.currentCaseFailed = true
				}
			case "error":
				if suite != nil {
					suite.errored++
				}
			case "system-out":
				if parent == "testsuite" && suite != nil {
					suite.sawOut = true
				}
			}
			stack = append(stack, name)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
			if x.Name.Local == "testsuite" && suite != nil {
				if suite.cases != suite.tests || suite.failed != suite.failures || suite.errored != suite.errors {
					bad("suite says %d tests, %d failures, %d errors; holds %d cases, %d failing, %d in error",
						suite.tests, suite.failures, suite.errors, suite.cases, suite.failed, suite.errored)
				}
				if suite.cases == 0 {
					bad("a suite without cases")
				}
				suite = nil
			}
		case xml.CharData:
			if len(stack) > 0 && !slices.Contains([]string{"failure", "error", "system-out"}, stack[len(stack)-1]) && len(bytes.TrimSpace(x)) > 0 {
				bad("text %q in <%s>", x, stack[len(stack)-1])
			}
		case xml.Directive, xml.Comment:
			bad("unexpected %T", x)
		}
	}
	if roots != 1 {
		bad("%d <testsuites> roots, want 1", roots)
	}
	if rootTests != sumTests || rootFailures != sumFailures || rootErrors != sumErrors {
		bad("testsuites says %d tests, %d failures, %d errors; suites sum to %d, %d, %d",
			rootTests, rootFailures, rootErrors, sumTests, sumFailures, sumErrors)
	}
	return problems
}

// TestJUnitValidatorCatchesViolations makes sure validateJUnit is not a
// rubber stamp: each broken document must be reported.
func TestJUnitValidatorCatchesViolations(t *testing.T) {
	var b bytes.Buffer
	if err := WriteJUnitWith(&b, fixtureReport(), JUnitOptions{Rules: fixtureRules()}); err != nil {
		t.Fatal(err)
	}
	good := b.String()
	if problems := validateJUnit(b.Bytes()); len(problems) > 0 {
		t.Fatalf("the fixture's document is invalid: %v", problems)
	}
	for desc, broken := range map[string]string{
		"root count":       strings.Replace(good, `<testsuites name="connscope" tests="5"`, `<testsuites name="connscope" tests="6"`, 1),
		"suite count":      strings.Replace(good, `tests="1" failures="1"`, `tests="2" failures="1"`, 1),
		"failure count":    strings.Replace(good, `tests="1" failures="1"`, `tests="1" failures="0"`, 1),
		"raw control byte": strings.Replace(good, `\x1b[31m`, "\x1b[31m", 1),
		"raw markup":       strings.Replace(good, "&lt;script&gt;", "<script>", 1),
		"invalid UTF-8":    strings.Replace(good, "alert", "\xffalert", 1),
		"duplicate case": strings.Replace(good,
			`CT1002 connection 3 10.0.0.1:40002 -&gt; 10.0.0.3:80, transaction 4" classname="connscope.CT1002"`,
			`CT1001 connection 1 10.0.0.1:40000 -&gt; 10.0.0.2:80, transaction 1" classname="connscope.CT1001"`, 1),
		"missing name": strings.Replace(good, `<testcase name=`, `<testcase nom=`, 1),
		"missing time": strings.Replace(good, `classname="connscope.CT1001" time="0"`, `classname="connscope.CT1001"`, 1),
		"NaN time":     strings.Replace(good, `skipped="0" time="0"`, `skipped="0" time="NaN"`, 1),
		"case in root": strings.Replace(good, "  </testsuite>\n</testsuites>", "  </testsuite>\n<testcase name=\"x\" classname=\"y\"/></testsuites>", 1),
		"unclosed":     strings.TrimSuffix(good, "</testsuites>\n"),
	} {
		if broken == good {
			t.Fatalf("%s: the replacement did not apply; the output changed", desc)
		}
		if problems := validateJUnit([]byte(broken)); len(problems) == 0 {
			t.Errorf("%s: validator found nothing wrong", desc)
		}
	}
}

// caseNames lists "classname name" of every case, with "FAIL " before
// failing ones, in document order.
func caseNames(doc junitDoc) []string {
	var out []string
	for _, s := range doc.Suites {
		for _, c := range s.Cases {
			prefix := "pass "
			if c.Failure != nil {
				prefix = "FAIL "
			}
			out = append(out, prefix+c.ClassName+" "+c.Name)
		}
	}
	return out
}

// TestJUnitCases checks the shape against the hand-made report: a suite
// per rule in the given order (then a rule the list lacks), a failing case
// per finding named after rule, connection and transaction, and one
// passing case for a rule that found nothing.
func TestJUnitCases(t *testing.T) {
	r := fixtureReport()
	rules := append(fixtureRules(), &diagnose.Rule{ID: "CT1099", Slug: "quiet", Title: "Finds nothing", Severity: diagnose.SeverityWarning, Scope: diagnose.ScopeConnection})
	var b bytes.Buffer
	if err := WriteJUnitWith(&b, r, JUnitOptions{Rules: rules}); err != nil {
		t.Fatal(err)
	}
	doc := parseJUnit(t, b.Bytes())
	want := []string{
		"FAIL connscope.CT1001 CT1001 connection 1 10.0.0.1:40000 -> 10.0.0.2:80, transaction 1",
		"FAIL connscope.CT1002 CT1002 connection 3 10.0.0.1:40002 -> 10.0.0.3:80, transaction 4",
		"FAIL connscope.CC3001 CC3001 connection 2 [2001:db8::1]:40001 -> [2001:db8::2]:8080, transaction 2",
		"FAIL connscope.CH2009 CH2009 capture, connections 1, 3",
		"pass connscope.CT1099 CT1099 quiet",
		"FAIL connscope.ZZ9999 ZZ9999 connection 2 [2001:db8::1]:40001 -> [2001:db8::2]:8080",
	}
	if got := caseNames(doc); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("cases:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if doc.Tests != 6 || doc.Failures != 5 || len(doc.Suites) != 6 {
		t.Errorf("%d tests, %d failures in %d suites; want 6, 5 in 6", doc.Tests, doc.Failures, len(doc.Suites))
	}
	if s := doc.Suites[5]; s.Name != "ZZ9999 from-the-future" || len(s.Properties) != 1 || s.Properties[0].Name != "note" {
		t.Errorf("unknown rule's suite: %+v", s)
	}
	if s := doc.Suites[0]; len(s.Properties) != 3 || s.Properties[1].Value != "info" || s.Properties[2].Value != "connection" {
		t.Errorf("rule suite properties: %+v", s.Properties)
	}
	rst := doc.Suites[2].Cases[0].Failure
	if rst == nil || rst.Type != "error" {
		t.Fatalf("CC3001's case: %+v", rst)
	}
	if !strings.Contains(rst.Message, "<script>alert(1)</script>") || !strings.Contains(rst.Message, `\x1b[31m`) {
		t.Errorf("hostile message not carried as visible text: %q", rst.Message)
	}
	for _, part := range []string{
		"connection 2: [2001:db8::1]:40001 -> [2001:db8::2]:8080, input handmade <script>alert(1)</script>.pcap, frames 17-27",
		"[error] CC3001 rst-truncated-response at 2026-11-26T00:00:00.320000000Z",
		"transaction 2\n", "frames 21, 24, 27\n", "related: frame 20 at", "vantage: capture taken near the client",
	} {
		if !strings.Contains(rst.Text, part) {
			t.Errorf("failure text lacks %q:\n%s", part, rst.Text)
		}
	}
	if text := doc.Suites[3].Cases[0].Failure.Text; !strings.Contains(text, "connections 1, 3") || strings.Contains(text, "connection 1:") {
		t.Errorf("a capture-wide finding's text: %q", text)
	}
}

// TestJUnitDamagedInputIsAnError: an input that could not be read whole
// (the run exits 1) must not leave a JUnit document that a CI dashboard
// shows as all passing: it gets an "input" suite with one case in error
// per damaged input, carrying the reader's error; a clean run has no such
// suite.
func TestJUnitDamagedInputIsAnError(t *testing.T) {
	r := fixtureReport()
	r.Inputs = append(r.Inputs, &analysis.InputReport{Index: 1, Name: "cut.pcap", Warnings: []string{}, Packets: 15,
		Error: "cut.pcap: frame 16 at byte offset 4772: capture file cut short"})
	var b bytes.Buffer
	if err := WriteJUnitWith(&b, r, JUnitOptions{Rules: fixtureRules()}); err != nil {
		t.Fatal(err)
	}
	if root := parseJUnit(t, b.Bytes()); root.Tests != 6 || root.Failures != 5 || root.Errors != 1 {
		t.Errorf("root element says %d tests, %d failures, %d errors; want 6, 5 and the damaged input as 1 error:\n%s",
			root.Tests, root.Failures, root.Errors, b.String())
	}
	var doc struct {
		Suites []struct {
			Name   string `xml:"name,attr"`
			Errors int    `xml:"errors,attr"`
			Cases  []struct {
				Name  string `xml:"name,attr"`
				Error *struct {
					Message string `xml:"message,attr"`
					Text    string `xml:",chardata"`
				} `xml:"error"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	data := b.Bytes()
	if problems := validateJUnit(data); len(problems) > 0 {
		t.Fatalf("invalid JUnit XML:\n%s", strings.Join(problems, "\n"))
	}
	if err := xml.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	s := doc.Suites[0]
	if s.Name != "input" || s.Errors != 1 || len(s.Cases) != 1 || s.Cases[0].Error == nil ||
		s.Cases[0].Name != "input cut.pcap" || !strings.Contains(s.Cases[0].Error.Message, "frame 16 at byte offset 4772") {
		t.Fatalf("first suite %+v, want an input suite with cut.pcap's case in error", s)
	}
	if !strings.Contains(s.Cases[0].Error.Text, "everything before the damage was analysed (15 packets)") {
		t.Errorf("error text %q should say what was still analysed", s.Cases[0].Error.Text)
	}

	// An input that could not be opened at all says nothing was read.
	r = fixtureReport()
	r.Inputs = append(r.Inputs, &analysis.InputReport{Index: 1, Name: "notes.txt", Warnings: []string{},
		Error: "notes.txt: at byte offset 0: not a pcap or pcapng capture: unknown magic number 47 45 54 20"})
	b.Reset()
	if err := WriteJUnitWith(&b, r, JUnitOptions{Rules: fixtureRules()}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "nothing could be read: no findings come from this input") {
		t.Errorf("unreadable input's case should say nothing was read:\n%.600s", b.String())
	}

	// A clean run: no input suite, no errors.
	b.Reset()
	if err := WriteJUnitWith(&b, fixtureReport(), JUnitOptions{Rules: fixtureRules()}); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b.String(), `name="input"`) || parseJUnit(t, b.Bytes()).Errors != 0 {
		t.Errorf("a clean run shows an input suite or errors:\n%.300s", b.String())
	}
}

// TestJUnitCappedInputIsNamed: an input that reached a limit (warnings,
// no error) gets a passing case in the input suite whose output lists the
// limits, so a capped run is visible on the dashboard without failing it.
func TestJUnitCappedInputIsNamed(t *testing.T) {
	r := fixtureReport()
	r.Inputs[0].Warnings = []string{"report lists at most 2 connections (--max-listed-conns): 1 more were counted"}
	var b bytes.Buffer
	if err := WriteJUnitWith(&b, r, JUnitOptions{Rules: fixtureRules()}); err != nil {
		t.Fatal(err)
	}
	doc := parseJUnit(t, b.Bytes())
	if doc.Tests != 6 || doc.Failures != 5 || doc.Errors != 0 {
		t.Errorf("%d tests, %d failures; want 6 (5 findings and the input's case), 5 and no error", doc.Tests, doc.Failures)
	}
	s := doc.Suites[0]
	if s.Name != "input" || len(s.Cases) != 1 || s.Cases[0].Failure != nil ||
		!strings.Contains(s.Cases[0].SystemOut, "--max-listed-conns") {
		t.Errorf("first suite %+v, want the input suite with a passing case listing the limit", s)
	}
}

// TestJUnitMinSeverity: findings below the threshold pass, listed in their
// rule's passing case; a rule holding findings on both sides lists the
// ones below in the suite's output.
func TestJUnitMinSeverity(t *testing.T) {
	var b bytes.Buffer
	if err := WriteJUnitWith(&b, fixtureReport(), JUnitOptions{Rules: fixtureRules(), MinSeverity: "error"}); err != nil {
		t.Fatal(err)
	}
	doc := parseJUnit(t, b.Bytes())
	want := []string{
		"pass connscope.CT1001 CT1001 handshake-overhead",
		"pass connscope.CT1002 CT1002 syn-retransmission",
		"FAIL connscope.CC3001 CC3001 connection 2 [2001:db8::1]:40001 -> [2001:db8::2]:8080, transaction 2",
		"pass connscope.CH2009 CH2009 too-many-parallel",
		"pass connscope.ZZ9999 ZZ9999 from-the-future",
	}
	if got := caseNames(doc); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("cases at --fail-on error:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if out := doc.Suites[1].Cases[0].SystemOut; !strings.HasPrefix(out, "below the failure threshold:") || !strings.Contains(out, "the SYN was sent again") || !strings.Contains(out, "connection 3: 10.0.0.1:40002") {
		t.Errorf("CT1002's passing case does not list its finding: %q", out)
	}

	r := fixtureReport()
	r.Findings = append(r.Findings, &analysis.FindingReport{Rule: "CC3001", Slug: "rst-truncated-response", Severity: "info", Connection: 1, Time: 5, Message: "a milder one"})
	b.Reset()
	if err := WriteJUnitWith(&b, r, JUnitOptions{Rules: fixtureRules(), MinSeverity: "warning"}); err != nil {
		t.Fatal(err)
	}
	doc = parseJUnit(t, b.Bytes())
	s := doc.Suites[2]
	if s.Tests != 1 || s.Failures != 1 || !strings.Contains(s.SystemOut, "a milder one") || strings.Contains(s.Cases[0].Failure.Text, "a milder one") {
		t.Errorf("mixed suite: %d tests, %d failures, output %q", s.Tests, s.Failures, s.SystemOut)
	}
	if err := WriteJUnitWith(&b, fixtureReport(), JUnitOptions{MinSeverity: "fatal"}); err == nil {
		t.Errorf("unknown severity accepted")
	}
}

// TestJUnitSizeFollowsFindings: connections no finding names change
// nothing in the document, so its size is O(rules + findings) whatever the
// number of connections.
func TestJUnitSizeFollowsFindings(t *testing.T) {
	render := func(r *analysis.Report) []byte {
		var b bytes.Buffer
		if err := WriteJUnitWith(&b, r, JUnitOptions{Rules: fixtureRules()}); err != nil {
			t.Fatal(err)
		}
		return b.Bytes()
	}
	small := fixtureReport()
	big := fixtureReport()
	for id := 100; id < 20100; id++ {
		big.Connections = append(big.Connections, &analysis.ConnReport{ID: id, Client: "10.1.0.1:1", Server: "10.1.0.2:80"})
	}
	a, b := render(small), render(big)
	if !bytes.Equal(a, b) {
		t.Errorf("20 000 connections without findings changed the document\n%s", firstDiff(a, b))
	}
	// A finding adds one case, with its connection.
	big.Findings = append(big.Findings, &analysis.FindingReport{Rule: "CT1002", Slug: "syn-retransmission", Severity: "warning", Connection: 12345, Time: 9, Message: "again"})
	doc := parseJUnit(t, render(big))
	if doc.Tests != 6 || doc.Suites[1].Tests != 2 || doc.Suites[1].Cases[1].Name != "CT1002 connection 12345 10.1.0.1:1 -> 10.1.0.2:80" {
		t.Errorf("%d tests; CT1002 suite %+v", doc.Tests, doc.Suites[1])
	}
}

// TestJUnitNamesUnique: findings that would share a name (one rule, one
// transaction, twice) are numbered in case order; a connection the report
// does not list is named by its ID alone.
func TestJUnitNamesUnique(t *testing.T) {
	r := fixtureReport()
	dup := *r.Findings[0]
	dup.Time++
	dup.Message = "the second"
	unlisted := *r.Findings[0]
	unlisted.Connection, unlisted.Transaction = 77, 0
	r.Findings = append(r.Findings, &dup, &unlisted)
	var b bytes.Buffer
	if err := WriteJUnitWith(&b, r, JUnitOptions{Rules: fixtureRules()}); err != nil {
		t.Fatal(err)
	}
	doc := parseJUnit(t, b.Bytes())
	var got []string
	for _, c := range doc.Suites[0].Cases {
		got = append(got, c.Name+" | "+c.Failure.Message)
	}
	want := []string{
		"CT1001 connection 1 10.0.0.1:40000 -> 10.0.0.2:80, transaction 1 | the handshake took 1.000 ms of an 11.600 ms transaction",
		"CT1001 connection 1 10.0.0.1:40000 -> 10.0.0.2:80, transaction 1 #2 | the second",
		"CT1001 connection 77 | the handshake took 1.000 ms of an 11.600 ms transaction",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("CT1001 cases:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestJUnitHostileText puts what XML and terminals fear into every string
// a finding or connection carries: the document stays valid, the text
// stays inert and visible.
func TestJUnitHostileText(t *testing.T) {
	hostile := "a]]>b<![CDATA[c\x00d\x1b[2Je\xff\xfef\uFFFEg</failure></testcase><testcase name=\"x\">&amp;\r\n\u2028"
	r := fixtureReport()
	for _, f := range r.Findings {
		f.Message, f.Slug, f.Vantage = hostile, hostile, hostile
		f.Related = append(f.Related, analysis.RelatedReport{Frame: 1, Message: hostile})
	}
	r.Findings[4].Rule = "ZZ" + hostile
	r.Connections[0].Client, r.Connections[1].Server = hostile, hostile
	r.Inputs[0].Name = hostile
	for _, min := range []string{"", "error"} {
		var b bytes.Buffer
		if err := WriteJUnitWith(&b, r, JUnitOptions{Rules: fixtureRules(), MinSeverity: min}); err != nil {
			t.Fatal(err)
		}
		doc := parseJUnit(t, b.Bytes())
		if strings.Contains(b.String(), "]]>") || strings.Contains(b.String(), "<![CDATA[") || strings.Contains(b.String(), `<testcase name="x"`) {
			t.Errorf("captured markup reached the document as markup")
		}
		decoded := fmt.Sprint(doc)
		for _, visible := range []string{"a]]>b<![CDATA[c", `\x00d`, `\x1b[2Je`, `\xff\xfef`, "</failure></testcase>"} {
			if !strings.Contains(decoded, visible) {
				t.Errorf("fail-on %q: %q is not shown as text", min, visible)
			}
		}
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
	found := map[string]int{}
	for _, f := range fixtureReport().Findings {
		found[f.Rule]++
	}
	for i, rule := range rules {
		if i >= len(doc.Suites) || doc.Suites[i].Name != rule.ID+" "+rule.Slug {
			t.Fatalf("suite %d is not rule %s", i, rule.ID)
		}
		s := doc.Suites[i]
		if n := found[rule.ID]; n > 0 && (s.Tests != n || s.Failures != n) {
			t.Errorf("rule %s: %d cases, %d failing; want %d failing", rule.ID, s.Tests, s.Failures, n)
		}
		if n := found[rule.ID]; n == 0 && (s.Tests != 1 || s.Failures != 0 || s.Cases[0].Name != rule.ID+" "+rule.Slug) {
			t.Errorf("rule %s found nothing: want its one passing case, got %+v", rule.ID, s.Cases)
		}
	}
}

// TestJUnitWriteError: a writer that fails is reported, wrapped.
func TestJUnitWriteError(t *testing.T) {
	r := fixtureReport()
	var whole bytes.Buffer
	if err := WriteJUnit(&whole, r); err != nil {
		t.Fatal(err)
	}
	for _, limit := range []int{0, whole.Len() / 2, whole.Len() - 1} {
		err := WriteJUnit(&cutOffWriter{limit: limit}, r)
		if !errors.Is(err, errWriteFailed) {
			t.Errorf("failing after %d of %d bytes: error %v, want it to wrap %v", limit, whole.Len(), err, errWriteFailed)
		}
	}
}

func TestXMLEscapeDropsForbidden(t *testing.T) {
	got := xmlEscape("a\x00b\x1bc\uFFFEd\xffe<&>\"'\n\t")
	if want := "a\uFFFDb\uFFFDc\uFFFDd\uFFFDe&lt;&amp;&gt;&quot;&apos;\n\t"; got != want {
		t.Errorf("xmlEscape = %q, want %q", got, want)
	}
}

// TestJUnitCarriesThresholds: each rule's suite lists the thresholds it ran
// with (the report's rules object), so a dashboard shows what a pass or a
// failure was measured against.
func TestJUnitCarriesThresholds(t *testing.T) {
	rep := fixtureReport()
	rules, err := analysis.NewRulesReport(diagnose.Config{Thresholds: map[string]float64{"CH1007.min-gap": 250}})
	if err != nil {
		t.Fatal(err)
	}
	rep.Rules = rules
	var b bytes.Buffer
	if err := WriteJUnit(&b, rep); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`<property name="threshold.min-gap" value="250 ms"/>`,
		`<property name="threshold.max-connections" value="6"/>`,
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("the document lacks %s", want)
		}
	}
}
