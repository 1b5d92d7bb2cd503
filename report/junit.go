package report

import (
	"bufio"
	"cmp"
	"fmt"
	"io"
	"slices"
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
	// MinSeverity is the least severity whose findings fail (info,
	// warning or error, like --fail-on); findings below it get no case of
	// their own but are listed in the system-out of their rule's passing
	// case. Empty: every finding fails.
	MinSeverity string
	// Known holds findings already in a baseline (--baseline): they do
	// not fail whatever their severity, and are listed with the findings
	// below the threshold, so the report agrees with the exit code.
	Known map[*analysis.FindingReport]bool
}

// WriteJUnit writes the report as JUnit XML for CI dashboards, in the shape
// Jenkins, GitLab and GitHub test reporters read: one test suite per rule
// (every registered rule, in registry order), and in it one failing test
// case per finding, named after the rule, the connection's endpoints and
// the transaction, so the same capture always gives the same names. A
// rule that found nothing gets one passing case, so a clean run still
// shows every rule that looked. Each failure's message is the finding's
// message and its text the evidence: connection, frames, time, cost.
// Findings of a rule that is not registered get a suite of their own, so
// none is lost. An input that could not be read whole (Error set: the
// CLI exits 1) comes first, as a case in error of an "input" suite, so a
// dashboard never shows a damaged run as all passing; one that reached a
// limit (Warnings set) is a passing case there whose output lists them. A
// run whose inputs were all read within every limit has no such suite.
//
// Every testsuites, testsuite and testcase element carries time="0":
// readers such as GitHub's test-reporter action turn a missing time into
// NaN, and connscope measures no execution time of its own (analysis
// reads only capture time, so the same capture gives the same document).
//
// The document's size is O(rules + findings), whatever the number of
// connections, and it is streamed: the counts the suite attributes carry
// are taken in a first pass over the findings, then each case is written
// as it is built.
func WriteJUnit(w io.Writer, r *analysis.Report) error {
	return WriteJUnitWith(w, r, JUnitOptions{})
}

// WriteJUnitWith is WriteJUnit with a chosen rule list and failure
// threshold. Findings below opts.MinSeverity do not fail: they are listed
// in the system-out of their rule's passing case (or, when the rule also
// has failing findings, of its suite).
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
	suites := junitSuites(rules, r.Findings, minRank, opts.Known)
	conns, err := junitConnections(r, r.Findings)
	if err != nil {
		return fmt.Errorf("report: junit: %w", err)
	}
	jw := &junitWriter{w: bufio.NewWriter(w), conns: conns, inputs: inputNames(r)}
	if r.Rules != nil {
		jw.thresholds = r.Rules.Thresholds
	}
	jw.document(notableInputs(r), suites)
	if err := jw.w.Flush(); err != nil {
		return fmt.Errorf("report: junit: %w", err)
	}
	return nil
}

// junitSuite is one rule's test suite before it is written: its findings
// in case order, split at the threshold, which is all its counts need.
type junitSuite struct {
	id, slug string
	rule     *diagnose.Rule // nil for a rule the registry lacks
	failing  []*analysis.FindingReport
	passing  []*analysis.FindingReport // below the threshold, or known
	known    bool                      // some of passing are known (in the baseline)
}

// tests is the number of test cases the suite holds: one per failing
// finding, or the rule's single passing case.
func (s *junitSuite) tests() int { return max(len(s.failing), 1) }

// junitSuites groups the findings by rule into one suite per rule: the
// listed rules first, in their order (nil and repeated entries skipped),
// then rules the list lacks, by ID. Within a suite findings are in case
// order: by connection (capture-wide findings, connection 0, last), then
// transaction, time and message.
func junitSuites(rules []*diagnose.Rule, findings []*analysis.FindingReport, minRank int, known map[*analysis.FindingReport]bool) []*junitSuite {
	var suites []*junitSuite
	byID := map[string]*junitSuite{}
	for _, rule := range rules {
		if rule == nil || byID[rule.ID] != nil {
			continue
		}
		s := &junitSuite{id: rule.ID, slug: rule.Slug, rule: rule}
		byID[rule.ID] = s
		suites = append(suites, s)
	}
	var unknown []*junitSuite
	for _, f := range findings {
		if f == nil {
			continue
		}
		s := byID[f.Rule]
		if s == nil {
			s = &junitSuite{id: f.Rule, slug: f.Slug}
			byID[f.Rule] = s
			unknown = append(unknown, s)
		}
		switch {
		case known[f]:
			s.passing = append(s.passing, f)
			s.known = true
		case severityRank(f.Severity) >= minRank:
			s.failing = append(s.failing, f)
		default:
			s.passing = append(s.passing, f)
		}
	}
	slices.SortFunc(unknown, func(a, b *junitSuite) int { return cmp.Compare(a.id, b.id) })
	suites = append(suites, unknown...)
	for _, s := range suites {
		slices.SortStableFunc(s.failing, compareJUnitCases)
		slices.SortStableFunc(s.passing, compareJUnitCases)
	}
	return suites
}

func compareJUnitCases(a, b *analysis.FindingReport) int {
	// Connection IDs start at 1; 0, a finding that names none, sorts last.
	last := func(f *analysis.FindingReport) int {
		if f.Connection == 0 {
			return 1
		}
		return 0
	}
	return cmp.Or(
		cmp.Compare(last(a), last(b)),
		cmp.Compare(a.Connection, b.Connection),
		cmp.Compare(a.Transaction, b.Transaction),
		cmp.Compare(a.Time, b.Time),
		cmp.Compare(a.Message, b.Message),
	)
}

// junitConn is what a case needs of its connection: the endpoints for its
// name and the input and frame range for its evidence.
type junitConn struct {
	client, server        string
	input                 int
	firstFrame, lastFrame uint64
}

// junitConnections reads the report's connections once and keeps those a
// finding names, so memory follows the findings, not the connections.
func junitConnections(r *analysis.Report, findings []*analysis.FindingReport) (map[int]junitConn, error) {
	named := map[int]junitConn{}
	for _, f := range findings {
		if f != nil && f.Connection != 0 {
			named[f.Connection] = junitConn{}
		}
	}
	found := make(map[int]junitConn, len(named))
	if len(named) == 0 {
		return found, nil
	}
	err := r.EachConnection(func(c *analysis.ConnReport) error {
		if _, ok := named[c.ID]; ok {
			// Copies, so the index never pins the record they came from.
			found[c.ID] = junitConn{
				client: strings.Clone(c.Client), server: strings.Clone(c.Server),
				input: c.Input, firstFrame: c.FirstFrame, lastFrame: c.LastFrame,
			}
		}
		return nil
	})
	return found, err
}

// junitWriter prints the document. It is written by hand rather than with
// encoding/xml so that failure texts keep their line breaks readable
// (encoding/xml writes every newline as &#xA;); every string in it has
// been through clean, so escaping the five markup characters suffices.
// Write errors stick in the bufio.Writer and come out of its Flush.
type junitWriter struct {
	w      *bufio.Writer
	conns  map[int]junitConn
	inputs map[int]string
	// thresholds are the values the rules ran with ("ID.name"), from the
	// report's rules object; nil when it has none.
	thresholds map[string]float64
}

func (j *junitWriter) document(inputs []*analysis.InputReport, suites []*junitSuite) {
	damaged := 0
	for _, in := range inputs {
		if in.Error != "" {
			damaged++
		}
	}
	tests, failures := len(inputs), 0
	for _, s := range suites {
		tests += s.tests()
		failures += len(s.failing)
	}
	j.w.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	fmt.Fprintf(j.w, "<testsuites name=\"connscope\" tests=\"%d\" failures=\"%d\" errors=\"%d\" time=\"0\">\n", tests, failures, damaged)
	j.inputSuite(inputs, damaged)
	for _, s := range suites {
		j.suite(s)
	}
	j.w.WriteString("</testsuites>\n")
}

// notableInputs are the inputs that could not be read whole or reached a
// limit, in input order.
func notableInputs(r *analysis.Report) []*analysis.InputReport {
	var out []*analysis.InputReport
	for _, in := range r.Inputs {
		if in != nil && (in.Error != "" || len(in.Warnings) > 0) {
			out = append(out, in)
		}
	}
	return out
}

// inputSuite writes one case per notable input (nothing when there is
// none): in error for a damaged input, its message the reader's error,
// which names the file, frame and byte offset; passing otherwise. The
// input's warnings (limits reached) are the case's output.
func (j *junitWriter) inputSuite(inputs []*analysis.InputReport, damaged int) {
	if len(inputs) == 0 {
		return
	}
	fmt.Fprintf(j.w, "  <testsuite name=\"input\" tests=\"%d\" failures=\"0\" errors=\"%d\" skipped=\"0\" time=\"0\">\n", len(inputs), damaged)
	seen := map[string]int{}
	for _, in := range inputs {
		name := "input " + clean(in.Name)
		if seen[name]++; seen[name] > 1 {
			name += " #" + strconv.Itoa(seen[name])
		}
		fmt.Fprintf(j.w, "    <testcase name=\"%s\" classname=\"connscope.input\" time=\"0\">\n", xmlEscape(name))
		if in.Error != "" {
			msg := clean(in.Error)
			what := "\nnothing could be read: no findings come from this input"
			if in.Packets > 0 {
				what = "\neverything before the damage was analysed (" + strconv.FormatInt(in.Packets, 10) +
					" packets); whatever came after it is missing from the findings"
			}
			fmt.Fprintf(j.w, "      <error message=\"%s\" type=\"damaged_input\">", xmlEscape(short(msg, 500)))
			j.w.WriteString(xmlEscape(msg + what))
			j.w.WriteString("</error>\n")
		}
		if len(in.Warnings) > 0 {
			j.w.WriteString("      <system-out>")
			for _, w := range in.Warnings {
				j.w.WriteString(xmlEscape("warning: " + clean(w) + "\n"))
			}
			j.w.WriteString("</system-out>\n")
		}
		j.w.WriteString("    </testcase>\n")
	}
	j.w.WriteString("  </testsuite>\n")
}

func (j *junitWriter) suite(s *junitSuite) {
	fmt.Fprintf(j.w, "  <testsuite name=\"%s\" tests=\"%d\" failures=\"%d\" errors=\"0\" skipped=\"0\" time=\"0\">\n",
		xmlEscape(clean(s.id+" "+s.slug)), s.tests(), len(s.failing))
	j.w.WriteString("    <properties>\n")
	if rule := s.rule; rule != nil {
		j.property("title", clean(rule.Title))
		j.property("severity", rule.Severity.String())
		j.property("scope", rule.Scope.String())
		// The values the rule judged with, as the JSON's rules object has
		// them: a dashboard shows what a pass or a failure was measured
		// against.
		for _, t := range rule.Thresholds {
			if v, ok := j.thresholds[rule.ID+"."+t.Name]; ok {
				value := strconv.FormatFloat(v, 'g', -1, 64)
				if t.Unit != "" && t.Unit != "count" && t.Unit != "ratio" {
					value += " " + t.Unit
				}
				j.property("threshold."+t.Name, value)
			}
		}
	} else {
		j.property("note", "rule not in this build's registry")
	}
	j.w.WriteString("    </properties>\n")
	class := "connscope." + clean(s.id)
	if len(s.failing) == 0 {
		// The rule's one passing case; what it found below the threshold
		// goes in its output.
		fmt.Fprintf(j.w, "    <testcase name=\"%s\" classname=\"%s\" time=\"0\"", xmlEscape(clean(s.id+" "+s.slug)), xmlEscape(class))
		if len(s.passing) == 0 {
			j.w.WriteString("/>\n")
		} else {
			j.w.WriteString(">\n")
			j.systemOut("      ", s)
			j.w.WriteString("    </testcase>\n")
		}
	}
	// A name can repeat (two findings of one rule on one transaction):
	// later ones are numbered, in case order, so names stay unique.
	seen := map[string]int{}
	for _, f := range s.failing {
		name := j.caseName(f)
		if seen[name]++; seen[name] > 1 {
			name += " #" + strconv.Itoa(seen[name])
		}
		fmt.Fprintf(j.w, "    <testcase name=\"%s\" classname=\"%s\" time=\"0\">\n", xmlEscape(name), xmlEscape(class))
		fmt.Fprintf(j.w, "      <failure message=\"%s\" type=\"%s\">", xmlEscape(short(f.Message, 500)), xmlEscape(clean(f.Severity)))
		j.w.WriteString(xmlEscape(j.findingText(f)))
		j.w.WriteString("</failure>\n    </testcase>\n")
	}
	if len(s.failing) > 0 && len(s.passing) > 0 {
		// Findings below the threshold next to failing ones (a rule's
		// findings share its severity, so only a hand-made or merged
		// report has these): the suite's own output.
		j.systemOut("    ", s)
	}
	j.w.WriteString("  </testsuite>\n")
}

func (j *junitWriter) property(name, value string) {
	fmt.Fprintf(j.w, "      <property name=\"%s\" value=\"%s\"/>\n", xmlEscape(name), xmlEscape(value))
}

// systemOut lists the suite's findings that do not fail (below the failure
// threshold, or already in the baseline), one block each.
func (j *junitWriter) systemOut(indent string, s *junitSuite) {
	if s.known {
		j.w.WriteString(indent + "<system-out>below the failure threshold or already in the baseline:\n")
	} else {
		j.w.WriteString(indent + "<system-out>below the failure threshold:\n")
	}
	for _, f := range s.passing {
		j.w.WriteString(xmlEscape(j.findingText(f)))
	}
	j.w.WriteString("</system-out>\n")
}

// caseName names a finding's test case: rule, then where it was found
// (connection ID and endpoints, or "capture" for a finding that names no
// connection, with the connections it names), then the transaction. The
// same capture always gives the same name, and a dashboard shows it on
// one line: every captured part is cleaned and cut short.
func (j *junitWriter) caseName(f *analysis.FindingReport) string {
	var b strings.Builder
	b.WriteString(clean(f.Rule))
	switch c, ok := j.conns[f.Connection]; {
	case ok:
		b.WriteByte(' ')
		b.WriteString(connLabel(f.Connection, c))
	case f.Connection != 0:
		fmt.Fprintf(&b, " connection %d", f.Connection)
	default:
		b.WriteString(" capture")
		if len(f.Connections) > 0 {
			b.WriteString(", connections ")
			b.WriteString(textsafe.Truncate(joinInts(f.Connections), 80))
		}
	}
	if f.Transaction != 0 {
		fmt.Fprintf(&b, ", transaction %d", f.Transaction)
	}
	return b.String()
}

// connLabel names a connection in a test case: stable across runs of the
// same capture, readable on a dashboard.
func connLabel(id int, c junitConn) string {
	return fmt.Sprintf("connection %d %s -> %s", id, short(c.client, 64), short(c.server, 64))
}

// short cleans s and cuts it to n runes, for names and attributes that a
// dashboard shows on one line.
func short(s string, n int) string { return textsafe.Truncate(clean(s), n) }

// findingText is one finding's evidence block: its connection (when the
// report lists it), then severity, rule, time, message, transaction,
// connections, frames, cost, related evidence and vantage point.
func (j *junitWriter) findingText(f *analysis.FindingReport) string {
	var b strings.Builder
	b.WriteByte('\n')
	if c, ok := j.conns[f.Connection]; ok {
		fmt.Fprintf(&b, "connection %d: %s -> %s, input %s, frames %d-%d\n",
			f.Connection, short(c.client, 64), short(c.server, 64), short(j.inputs[c.input], 200), c.firstFrame, c.lastFrame)
	}
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
	return b.String()
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
