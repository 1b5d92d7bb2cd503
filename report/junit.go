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
	conns := nonNil(r.Connections)
	sort.SliceStable(conns, func(i, j int) bool { return conns[i].ID < conns[j].ID })
	inputs := inputNames(r)

	// Group findings by rule, then by connection (0 for capture scope).
	byRule := map[string]map[int][]*analysis.FindingReport{}
	for _, f := range sortedFindings(r.Findings) {
		if byRule[f.Rule] == nil {
			byRule[f.Rule] = map[int][]*analysis.FindingReport{}
		}
		byRule[f.Rule][f.Connection] = append(byRule[f.Rule][f.Connection], f)
	}

	var suites []junitSuite
	seen := map[string]bool{}
	addSuite := func(s junitSuite) { suites = append(suites, s) }
	for _, rule := range rules {
		if rule == nil || seen[rule.ID] {
			continue
		}
		seen[rule.ID] = true
		found := byRule[rule.ID]
		s := junitSuite{
			Name: rule.ID + " " + rule.Slug,
			Properties: [][2]string{
				{"title", clean(rule.Title)},
				{"severity", rule.Severity.String()},
				{"scope", rule.Scope.String()},
			},
		}
		if rule.Scope == diagnose.ScopeCapture {
			var all []*analysis.FindingReport
			for _, fs := range found {
				all = append(all, fs...)
			}
			s.add(junitCaseOf(rule.ID, "capture", sortedFindings(all), minRank, nil, inputs))
		} else {
			for _, c := range conns {
				s.add(junitCaseOf(rule.ID, connLabel(c), found[c.ID], minRank, c, inputs))
			}
			// Findings naming no connection, or one the report lacks.
			var stray []*analysis.FindingReport
			for id, fs := range found {
				if id == 0 || !hasConn(conns, id) {
					stray = append(stray, fs...)
				}
			}
			if len(stray) > 0 {
				s.add(junitCaseOf(rule.ID, "capture", sortedFindings(stray), minRank, nil, inputs))
			}
		}
		addSuite(s)
	}
	// Rules the registry does not list (a newer report, a plugin): keep
	// their findings visible.
	var unknown []string
	for id := range byRule {
		if !seen[id] {
			unknown = append(unknown, id)
		}
	}
	sort.Strings(unknown)
	for _, id := range unknown {
		s := junitSuite{Name: clean(id), Properties: [][2]string{{"note", "rule not in this build's registry"}}}
		for _, fs := range byRule[id] {
			s.Name = clean(id + " " + fs[0].Slug)
			break
		}
		ids := make([]int, 0, len(byRule[id]))
		for cid := range byRule[id] {
			ids = append(ids, cid)
		}
		sort.Ints(ids)
		for _, cid := range ids {
			name := "capture"
			var conn *analysis.ConnReport
			for _, c := range conns {
				if c.ID == cid {
					conn, name = c, connLabel(c)
				}
			}
			s.add(junitCaseOf(id, name, byRule[id][cid], minRank, conn, inputs))
		}
		addSuite(s)
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

func (s *junitSuite) add(c junitCase) {
	s.Cases = append(s.Cases, c)
	s.Tests++
	if c.Failure != nil {
		s.Failures++
	}
}

func hasConn(conns []*analysis.ConnReport, id int) bool {
	for _, c := range conns {
		if c.ID == id {
			return true
		}
	}
	return false
}

// connLabel names a connection in a test case: stable across runs of the
// same capture, readable on a dashboard.
func connLabel(c *analysis.ConnReport) string {
	return fmt.Sprintf("connection %d %s -> %s", c.ID, short(c.Client, 64), short(c.Server, 64))
}

// short cleans s and cuts it to n runes, for names and attributes that a
// dashboard shows on one line.
func short(s string, n int) string { return textsafe.Truncate(clean(s), n) }

// junitCaseOf builds one test case from the findings of one rule there.
func junitCaseOf(ruleID, name string, fs []*analysis.FindingReport, minRank int, c *analysis.ConnReport, inputs map[int]string) junitCase {
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
