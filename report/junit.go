package report

import (
	"bufio"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/connscope/connscope/analysis"
	"github.com/connscope/connscope/diagnose"
	"github.com/connscope/connscope/internal/textsafe"
)

// JUnitOptions tune WriteJUnitWith. The zero value is what WriteJUnit uses.
type JUnitOptions struct {
	// Rules are the rules that ran, in the order to list them; nil means
	// every registered rule (diagnose.Rules()). The CLI passes the rules
	// its --enable/--disable selection left on, so a disabled rule does
	// not show up as passing.
	Rules []*diagnose.Rule
	// MinSeverity is the least severity that fails a test case (info,
	// warning or error, like --fail-on); findings below it are listed in
	// the test case's system-out and the case passes. Empty: every
	// finding fails its test case.
	MinSeverity string
}

// JUnit XML, in the shape Jenkins, GitLab and GitHub test reporters read.
type (
	junitSuite struct {
		Name       string
		Tests      int
		Failures   int
		Properties [][2]string
		Cases      []junitCase
	}
	junitCase struct {
		Name, ClassName string
		Failure         *junitFailure
		SystemOut       string
	}
	junitFailure struct {
		Message, Type, Text string
	}
)

// WriteJUnit writes the report as JUnit XML for CI dashboards: one test
// suite per rule (every registered rule, in registry order), and in it one
// test case per connection for connection-scope rules, or one "capture"
// case for capture-scope rules. A case fails when its rule found something
// there; the failure message is the first finding's message and its text
// lists every finding with evidence frames, time and cost. Findings of a
// rule that is not registered get a suite of their own, so none is lost.
func WriteJUnit(w io.Writer, r *analysis.Report) error {
	return WriteJUnitWith(w, r, JUnitOptions{})
}

// WriteJUnitWith is WriteJUnit with a chosen rule list and failure
// threshold.
func WriteJUnitWith(w io.Writer, r *analysis.Report, opts JUnitOptions) error {
	if r == nil {
		return errNilReport
	}
	minRank := 1
	if opts.MinSeverity != "" {
		if minRank = severityRank(opts.MinSeverity); minRank == 0 {
			return fmt.Errorf("report: junit: unknown minimum severity %q (want info, warning or error)", opts.MinSeverity)
		}
	}
	rules := opts.Rules
	if rules == nil {
		rules = diagnose.Rules()
	}
	j := &junitBuilder{minRank: minRank, inputs: inputNames(r), byRule: map[string]map[int][]*analysis.FindingReport{}}
	j.conns = nonNil(r.Connections)
	sort.SliceStable(j.conns, func(a, b int) bool { return j.conns[a].ID < j.conns[b].ID })
	j.connByID = connsByID(r)
	for _, f := range sortedFindings(r.Findings) {
		if j.byRule[f.Rule] == nil {
			j.byRule[f.Rule] = map[int][]*analysis.FindingReport{}
		}
		j.byRule[f.Rule][f.Connection] = append(j.byRule[f.Rule][f.Connection], f)
	}
	var suites []junitSuite
	seen := map[string]bool{}
	for _, rule := range rules {
		if rule == nil || seen[rule.ID] {
			continue
		}
		seen[rule.ID] = true
		suites = append(suites, j.ruleSuite(rule))
	}
	// Rules the registry does not list (a newer report, a plugin): keep
	// their findings visible.
	var unknown []string
	for id := range j.byRule {
		if !seen[id] {
			unknown = append(unknown, id)
		}
	}
	sort.Strings(unknown)
	for _, id := range unknown {
		suites = append(suites, j.unknownRuleSuite(id))
	}

	bw := bufio.NewWriter(w)
	writeJUnitXML(bw, suites)
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("report: junit: %w", err)
	}
	return nil
}

// writeJUnitXML prints the document. It is written by hand rather than
// with encoding/xml so that failure texts keep their line breaks readable
// (encoding/xml writes every newline as &#xA;); every string in it has
// been through clean, so escaping the five markup characters suffices.
func writeJUnitXML(w *bufio.Writer, suites []junitSuite) {
	tests, failures := 0, 0
	for _, s := range suites {
		tests += s.Tests
		failures += s.Failures
	}
	w.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	fmt.Fprintf(w, "<testsuites name=\"connscope\" tests=\"%d\" failures=\"%d\" errors=\"0\">\n", tests, failures)
	for _, s := range suites {
		fmt.Fprintf(w, "  <testsuite name=\"%s\" tests=\"%d\" failures=\"%d\" errors=\"0\" skipped=\"0\">\n", xmlEscape(s.Name), s.Tests, s.Failures)
		if len(s.Properties) > 0 {
			w.WriteString("    <properties>\n")
			for _, p := range s.Properties {
				fmt.Fprintf(w, "      <property name=\"%s\" value=\"%s\"/>\n", xmlEscape(p[0]), xmlEscape(p[1]))
			}
			w.WriteString("    </properties>\n")
		}
		for _, c := range s.Cases {
			fmt.Fprintf(w, "    <testcase name=\"%s\" classname=\"%s\"", xmlEscape(c.Name), xmlEscape(c.ClassName))
			if c.Failure == nil && c.SystemOut == "" {
				w.WriteString("/>\n")
				continue
			}
			w.WriteString(">\n")
			if f := c.Failure; f != nil {
				fmt.Fprintf(w, "      <failure message=\"%s\" type=\"%s\">%s</failure>\n", xmlEscape(f.Message), xmlEscape(f.Type), xmlEscape(f.Text))
			}
			if c.SystemOut != "" {
				fmt.Fprintf(w, "      <system-out>%s</system-out>\n", xmlEscape(c.SystemOut))
			}
			w.WriteString("    </testcase>\n")
		}
		w.WriteString("  </testsuite>\n")
	}
	w.WriteString("</testsuites>\n")
}

// xmlEscape escapes the markup characters. Its input has been through
// clean (no control characters but the newlines this file writes); as a
// second line of defence it also replaces anything XML 1.0 forbids (C0
// controls other than tab, newline and carriage return, U+FFFE, U+FFFF,
// invalid UTF-8) with U+FFFD, so the document stays well-formed whatever
// it is given.
func xmlEscape(s string) string {
	var b strings.Builder
	for i, r := range s {
		switch {
		case r == '&':
			b.WriteString("&amp;")
		case r == '<':
			b.WriteString("&lt;")
		case r == '>':
			b.WriteString("&gt;")
		case r == '"':
			b.WriteString("&quot;")
		case r == '\'':
			b.WriteString("&apos;")
		case r == utf8.RuneError && !strings.HasPrefix(s[i:], "\uFFFD"),
			r < 0x20 && r != '\t' && r != '\n' && r != '\r',
			r == 0xFFFE, r == 0xFFFF:
			b.WriteRune(utf8.RuneError)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// junitBuilder holds what every suite is built from: the findings grouped
// by rule and then by connection (0 for findings that name none).
type junitBuilder struct {
	minRank  int
	inputs   map[int]string
	conns    []*analysis.ConnReport // by ID
	connByID map[int]*analysis.ConnReport
	byRule   map[string]map[int][]*analysis.FindingReport
}

// ruleSuite is one registered rule's suite: a case per connection, or one
// "capture" case for a capture-scope rule. Findings of a connection-scope
// rule that name no connection of the report get a "capture" case too.
func (j *junitBuilder) ruleSuite(rule *diagnose.Rule) junitSuite {
	found := j.byRule[rule.ID]
	s := junitSuite{
		Name: clean(rule.ID + " " + rule.Slug),
		Properties: [][2]string{
			{"title", clean(rule.Title)},
			{"severity", rule.Severity.String()},
			{"scope", rule.Scope.String()},
		},
	}
	var capture []*analysis.FindingReport
	for id, fs := range found {
		if rule.Scope == diagnose.ScopeCapture || j.connByID[id] == nil {
			capture = append(capture, fs...)
		}
	}
	if rule.Scope != diagnose.ScopeCapture {
		for _, c := range j.conns {
			s.add(j.caseOf(rule.ID, connLabel(c), found[c.ID], c))
		}
	}
	if rule.Scope == diagnose.ScopeCapture || len(capture) > 0 {
		s.add(j.caseOf(rule.ID, "capture", sortedFindings(capture), nil))
	}
	return s
}

// unknownRuleSuite is the suite of a rule the registry lacks: a case for
// each connection it named.
func (j *junitBuilder) unknownRuleSuite(id string) junitSuite {
	ids := make([]int, 0, len(j.byRule[id]))
	for cid := range j.byRule[id] {
		ids = append(ids, cid)
	}
	sort.Ints(ids)
	first := j.byRule[id][ids[0]][0]
	s := junitSuite{Name: clean(id + " " + first.Slug), Properties: [][2]string{{"note", "rule not in this build's registry"}}}
	for _, cid := range ids {
		if c := j.connByID[cid]; c != nil {
			s.add(j.caseOf(id, connLabel(c), j.byRule[id][cid], c))
		} else {
			s.add(j.caseOf(id, "capture", j.byRule[id][cid], nil))
		}
	}
	return s
}

func (s *junitSuite) add(c junitCase) {
	s.Cases = append(s.Cases, c)
	s.Tests++
	if c.Failure != nil {
		s.Failures++
	}
}

// connLabel names a connection in a test case: stable across runs of the
// same capture, readable on a dashboard.
func connLabel(c *analysis.ConnReport) string {
	return fmt.Sprintf("connection %d %s -> %s", c.ID, short(c.Client, 64), short(c.Server, 64))
}

// short cleans s and cuts it to n runes, for names and attributes that a
// dashboard shows on one line.
func short(s string, n int) string { return textsafe.Truncate(clean(s), n) }

// caseOf builds one test case from the findings of one rule there.
func (j *junitBuilder) caseOf(ruleID, name string, fs []*analysis.FindingReport, c *analysis.ConnReport) junitCase {
	minRank, inputs := j.minRank, j.inputs
	tc := junitCase{Name: name, ClassName: "connscope." + clean(ruleID)}
	var failing, passing []*analysis.FindingReport
	for _, f := range fs {
		if severityRank(f.Severity) >= minRank {
			failing = append(failing, f)
		} else {
			passing = append(passing, f)
		}
	}
	if len(failing) > 0 {
		msg := short(failing[0].Message, 500)
		if len(failing) > 1 {
			msg += fmt.Sprintf(" (and %d more)", len(failing)-1)
		}
		worst := failing[0].Severity
		for _, f := range failing {
			if severityRank(f.Severity) > severityRank(worst) {
				worst = f.Severity
			}
		}
		tc.Failure = &junitFailure{Message: msg, Type: clean(worst), Text: findingsText(failing, c, inputs)}
	}
	if len(passing) > 0 {
		tc.SystemOut = "below the failure threshold:\n" + findingsText(passing, c, inputs)
	}
	return tc
}

// findingsText lists findings with their evidence, one block each.
func findingsText(fs []*analysis.FindingReport, c *analysis.ConnReport, inputs map[int]string) string {
	var b strings.Builder
	b.WriteByte('\n')
	if c != nil {
		fmt.Fprintf(&b, "connection %d: %s -> %s, input %s, frames %d-%d\n",
			c.ID, short(c.Client, 64), short(c.Server, 64), short(inputs[c.Input], 200), c.FirstFrame, c.LastFrame)
	}
	for _, f := range fs {
		fmt.Fprintf(&b, "\n[%s] %s %s at %s\n", clean(f.Severity), clean(f.Rule), clean(f.Slug), f.Time)
		fmt.Fprintf(&b, "  %s\n", clean(f.Message))
		if f.Transaction != 0 {
			fmt.Fprintf(&b, "  transaction %d\n", f.Transaction)
		}
		if len(f.Connections) > 0 {
			fmt.Fprintf(&b, "  connections %s\n", joinInts(f.Connections))
		}
		fmt.Fprintf(&b, "  frames %s\n", joinFrames(f.Frames))
		if f.CostMS != nil {
			fmt.Fprintf(&b, "  estimated cost %s\n", fmtMS(float64(*f.CostMS)))
		}
		for _, x := range f.Related {
			fmt.Fprintf(&b, "  related: frame %d at %s: %s\n", x.Frame, x.Time, clean(x.Message))
		}
		if f.Vantage != "" {
			fmt.Fprintf(&b, "  vantage: %s\n", clean(f.Vantage))
		}
	}
	return b.String()
}

// inputNames maps input index to name.
func inputNames(r *analysis.Report) map[int]string {
	m := map[int]string{}
	for _, in := range r.Inputs {
		if in != nil {
			m[in.Index] = in.Name
		}
	}
	return m
}

// clean makes captured (or any report) text printable and single-line:
// control characters, escape sequences and invalid UTF-8 become visible
// escapes (textsafe.Terminal), so no character XML 1.0 forbids, such as
// NUL, can reach the document.
func clean(s string) string { return textsafe.Terminal(s) }

func joinFrames(fs []uint64) string {
	if len(fs) == 0 {
		return "none"
	}
	parts := make([]string, len(fs))
	for i, f := range fs {
		parts[i] = strconv.FormatUint(f, 10)
	}
	return strings.Join(parts, ", ")
}

func joinInts(xs []int) string {
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = strconv.Itoa(x)
	}
	return strings.Join(parts, ", ")
}

// fmtMS prints milliseconds with microsecond precision.
func fmtMS(ms float64) string { return strconv.FormatFloat(ms, 'f', 3, 64) + " ms" }
