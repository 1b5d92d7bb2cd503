package cli

import (
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/fatih/color"
	"github.com/mattn/go-isatty"

	"github.com/connscope/connscope/analysis"
	"github.com/connscope/connscope/diagnose"
	"github.com/connscope/connscope/internal/textsafe"
)

// palette colours parts of the text report. Colour is decided per printer
// from the stream actually written to, never globally.
type palette struct {
	on                         bool
	bold, dim, err, warn, info *color.Color
	good                       *color.Color
}

// newPalette decides colour for a report written to w: "always", "never",
// or "auto" (autoColor).
func newPalette(mode string, w io.Writer) *palette {
	on := false
	switch mode {
	case "always":
		on = true
	case "auto":
		f, ok := w.(*os.File)
		on = ok && autoColor(isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd()))
	}
	p := &palette{
		on:   on,
		bold: color.New(color.Bold),
		dim:  color.New(color.Faint),
		err:  color.New(color.FgRed, color.Bold),
		warn: color.New(color.FgYellow, color.Bold),
		info: color.New(color.FgCyan),
		good: color.New(color.FgGreen),
	}
	for _, c := range []*color.Color{p.bold, p.dim, p.err, p.warn, p.info, p.good} {
		if on {
			c.EnableColor()
		} else {
			c.DisableColor()
		}
	}
	return p
}

// autoColor is --color auto's answer for a stream that is (or is not) a
// terminal: colour only on a terminal that is not TERM=dumb, and not when
// NO_COLOR is set to a non-empty value (https://no-color.org: an empty
// NO_COLOR is the same as none).
func autoColor(terminal bool) bool {
	return terminal && os.Getenv("NO_COLOR") == "" && os.Getenv("TERM") != "dumb"
}

func (p *palette) severity(s string) string {
	switch s {
	case "error":
		return p.err.Sprint(s)
	case "warning":
		return p.warn.Sprint(s)
	}
	return p.info.Sprint(s)
}

// textOptions choose what the text report shows.
type textOptions struct {
	// show lists the sections: summary, findings, connections, transactions.
	show map[string]bool
	// allFindings lists every finding; otherwise each rule shows its
	// first few and counts the rest.
	allFindings bool
	// rulesRun of rulesTotal rules ran; the findings line says so when it
	// is not all of them, so that "none" does not pass for a clean capture.
	rulesRun, rulesTotal int
}

// findingsPerRule is how many findings of one rule the text report lists
// before it only counts the rest (--all-findings lists them all).
const findingsPerRule = 5

// writeText renders the report for a person: per input, a summary, the
// findings grouped by rule, then the tables asked for.
//
// The listing is read with the report's iterators, never held: one pass
// over the connections learns which are listed for each input (the
// findings shown are those of listed connections) and measures the
// connection table, and each table is then printed row by row in a second
// pass, aligned as text/tabwriter would align it (table.go).
func writeText(w io.Writer, r *analysis.Report, p *palette, opts textOptions) error {
	ew := &errWriter{w: w}
	listed, err := listedByInput(r, opts.show["connections"])
	if err != nil {
		return err
	}
	base := 0 // input i's connections have the IDs after those of the inputs before it
	for i, in := range r.Inputs {
		if i > 0 {
			ew.printf("\n")
		}
		if err := writeInput(ew, r, in, base, listed[in.Index], p, opts); err != nil {
			return err
		}
		base += in.Connections
	}
	return ew.err
}

// inputListing is what the text report knows of one input's listed
// connections before it prints them.
type inputListing struct {
	ids      []int // sorted
	table    table // the connection table's column widths
	inferred bool  // some connection's roles were inferred
}

func (l *inputListing) has(id int) bool {
	if l == nil {
		return false
	}
	_, ok := slices.BinarySearch(l.ids, id)
	return ok
}

// listedByInput reads the listed connections once, by input index;
// measure also sizes each input's connection table.
func listedByInput(r *analysis.Report, measure bool) (map[int]*inputListing, error) {
	inputs := make(map[int]*analysis.InputReport, len(r.Inputs))
	for _, in := range r.Inputs {
		inputs[in.Index] = in
	}
	out := map[int]*inputListing{}
	err := r.EachConnection(func(c *analysis.ConnReport) error {
		in := inputs[c.Input]
		if in == nil {
			return nil
		}
		l := out[c.Input]
		if l == nil {
			l = &inputListing{}
			l.table.measure(connHeader)
			out[c.Input] = l
		}
		l.ids = append(l.ids, c.ID)
		l.inferred = l.inferred || c.RolesInferred
		if measure {
			l.table.measure(connRow(c, in))
		}
		return nil
	})
	for _, l := range out {
		slices.Sort(l.ids)
	}
	return out, err
}

// writeInput writes one input's section. Its connections are the IDs
// base+1 to base+in.Connections; those listed are in listed.
func writeInput(w *errWriter, r *analysis.Report, in *analysis.InputReport, base int, listed *inputListing, p *palette, opts textOptions) error {
	w.printf("%s %s\n", p.bold.Sprint("Capture"), textsafe.Terminal(in.Name))
	if in.Format == "" {
		w.printf("  %s %s\n", p.err.Sprint("error:"), textsafe.Terminal(in.Error))
		return nil
	}
	w.printf("  format %s, %d %s over %s, starting %s\n", in.Format, in.Packets, plural(int(in.Packets), "packet", "packets"),
		seconds(float64(in.DurationMS)), in.Start)
	w.printf("  %d TCP %s in %d %s, %s of TCP payload, %d HTTP %s\n",
		in.TCPPackets, plural(int(in.TCPPackets), "packet", "packets"), in.Connections, plural(in.Connections, "connection", "connections"),
		byteSize(in.PayloadBytes), in.Transactions, plural(in.Transactions, "transaction", "transactions"))
	if skipped := skippedSummary(in.Skipped); skipped != "" {
		w.printf("  skipped: %s\n", skipped)
	}
	for _, warning := range in.Warnings {
		w.printf("  %s %s\n", p.warn.Sprint("warning:"), textsafe.Terminal(warning))
	}
	if in.Error != "" {
		w.printf("  %s %s\n  (everything before the damage is analysed below)\n", p.err.Sprint("error:"), textsafe.Terminal(in.Error))
	}

	// The findings shown are those of listed connections; the others of
	// this input (past --max-listed-conns) are counted, so that the line
	// agrees with --fail-on and the JSON report.
	var findings []*analysis.FindingReport
	unlisted := 0
	ofInput := func(id int) bool { return id > base && id <= base+in.Connections }
	for _, f := range r.Findings {
		switch {
		case listed.has(f.Connection) || (f.Connection == 0 && slices.ContainsFunc(f.Connections, listed.has)):
			findings = append(findings, f)
		case ofInput(f.Connection) || (f.Connection == 0 && slices.ContainsFunc(f.Connections, ofInput)):
			unlisted++
		}
	}
	ran := ""
	if unlisted > 0 {
		ran = fmt.Sprintf("; %d more on connections not listed (-f json lists every finding)", unlisted)
	}
	if opts.rulesRun < opts.rulesTotal {
		ran += fmt.Sprintf(" (%d of %d rules ran)", opts.rulesRun, opts.rulesTotal)
	}
	writeFindingSummary(w, findings, p, ran)
	if opts.show["findings"] {
		writeFindings(w, findings, p, opts.allFindings)
	}
	if opts.show["connections"] {
		if err := writeConnections(w, r, in, listed, p); err != nil {
			return err
		}
	}
	if opts.show["transactions"] {
		if err := writeTransactions(w, r, in, listed, p); err != nil {
			return err
		}
	}
	return nil
}

// writeFindingSummary counts findings by severity and adds up their cost;
// ran, when not empty, says how many rules ran.
func writeFindingSummary(w *errWriter, fs []*analysis.FindingReport, p *palette, ran string) {
	bySeverity := map[string]int{}
	var cost float64
	for _, f := range fs {
		bySeverity[f.Severity]++
		if f.CostMS != nil {
			cost += float64(*f.CostMS)
		}
	}
	if len(fs) == 0 {
		w.printf("  findings: %s%s\n", p.good.Sprint("none"), ran)
		return
	}
	var parts []string
	for _, s := range []string{"error", "warning", "info"} {
		if n := bySeverity[s]; n > 0 {
			label := p.severity(s)
			if n > 1 && s != "info" { // "info" is uncountable: 3 info
				label = strings.Replace(label, s, s+"s", 1) // inside any colour codes
			}
			parts = append(parts, fmt.Sprintf("%d %s", n, label))
		}
	}
	line := "  findings: " + strings.Join(parts, ", ")
	if cost > 0 {
		line += fmt.Sprintf("; estimated time lost %s", p.bold.Sprint(millis(cost)))
	}
	w.printf("%s%s\n", line, ran)
}

func writeFindings(w *errWriter, fs []*analysis.FindingReport, p *palette, all bool) {
	if len(fs) == 0 {
		return
	}
	// Group by rule, rules in order of first appearance.
	var order []string
	byRule := map[string][]*analysis.FindingReport{}
	for _, f := range fs {
		if _, ok := byRule[f.Rule]; !ok {
			order = append(order, f.Rule)
		}
		byRule[f.Rule] = append(byRule[f.Rule], f)
	}
	w.printf("\n%s %d\n", p.bold.Sprint("Findings:"), len(fs))
	for _, rule := range order {
		group := byRule[rule]
		var cost float64
		for _, f := range group {
			if f.CostMS != nil {
				cost += float64(*f.CostMS)
			}
		}
		head := fmt.Sprintf("%s %s %s", p.severity(group[0].Severity), p.bold.Sprint(rule), group[0].Slug)
		if cost > 0 {
			head += fmt.Sprintf(" (%d, cost %s)", len(group), millis(cost))
		} else {
			head += fmt.Sprintf(" (%d)", len(group))
		}
		w.printf("  %s\n", head)
		if r := diagnose.Lookup(rule); r != nil {
			w.printf("    %s %s\n", p.dim.Sprint(r.Title+"."), p.dim.Sprint("Fix: "+firstSentence(r.Doc.Fix)))
		}
		for i, f := range group {
			if !all && i == findingsPerRule {
				w.printf("    %s\n", p.dim.Sprintf("… and %d more (--all-findings lists them)", len(group)-i))
				break
			}
			where := fmt.Sprintf("conn %d", f.Connection)
			if f.Connection == 0 {
				where = fmt.Sprintf("conns %s", joinInts(f.Connections))
			}
			if f.Transaction != 0 {
				where += fmt.Sprintf(" txn %d", f.Transaction)
			}
			w.printf("    %s %s: %s\n", p.dim.Sprint("•"), where, textsafe.Terminal(f.Message))
			ev := "frames " + joinFrames(f.Frames)
			if f.CostMS != nil {
				ev += ", cost " + millis(float64(*f.CostMS))
			}
			w.printf("      %s\n", p.dim.Sprint(ev))
			for _, rel := range f.Related {
				w.printf("      %s\n", p.dim.Sprintf("related frame %d: %s", rel.Frame, textsafe.Terminal(rel.Message)))
			}
			if f.Vantage != "" {
				w.printf("      %s\n", p.dim.Sprint("note: "+textsafe.Terminal(f.Vantage)))
			}
		}
	}
}

// firstSentence returns text up to its first full stop.
func firstSentence(text string) string {
	text = strings.Join(strings.Fields(text), " ")
	for i := 0; i+1 < len(text); i++ {
		if text[i] == '.' && text[i+1] == ' ' {
			return text[:i+1]
		}
	}
	return text
}

// connHeader and connRow are the cells of the connection table.
var connHeader = []string{"  ID", "CLIENT", "SERVER", "START", "DURATION", "PKTS c>s/s>c", "BYTES c>s/s>c", "iRTT", "STATE", "CLOSE", "RETX", "LOST", "APP", "TXNS"}

func connRow(c *analysis.ConnReport, in *analysis.InputReport) []string {
	irtt := "-"
	if c.IRTTMS != nil {
		irtt = millis(float64(*c.IRTTMS))
	}
	client := c.Client
	if c.RolesInferred {
		client += "?"
	}
	return []string{
		"  " + strconv.Itoa(c.ID), client, c.Server, "+" + seconds(float64(c.Start-in.Start)/1e6), millis(float64(c.DurationMS)),
		fmt.Sprintf("%d/%d", c.Packets.ClientToServer, c.Packets.ServerToClient),
		byteSize(c.Bytes.ClientToServer) + "/" + byteSize(c.Bytes.ServerToClient),
		irtt, c.State, c.CloseSummary(), strconv.Itoa(c.Retransmissions), strconv.Itoa(c.LostSegments), c.App, strconv.Itoa(c.TransactionCount),
	}
}

// writeConnections prints the input's listed connections, measured by
// listedByInput.
func writeConnections(w *errWriter, r *analysis.Report, in *analysis.InputReport, listed *inputListing, p *palette) error {
	n := 0
	if listed != nil {
		n = len(listed.ids)
	}
	w.printf("\n%s %d\n", p.bold.Sprint("Connections:"), n)
	if n == 0 {
		return nil
	}
	listed.table.write(w, connHeader)
	err := r.EachConnection(func(c *analysis.ConnReport) error {
		if c.Input == in.Index {
			listed.table.write(w, connRow(c, in))
		}
		return w.err
	})
	if err != nil && err != w.err {
		return err
	}
	if listed.inferred {
		w.printf("  %s\n", p.dim.Sprint("? roles inferred: the capture missed the handshake"))
	}
	return nil
}

// txnHeader and txnRow are the cells of the transaction table.
var txnHeader = []string{"  ID", "CONN#", "REQUEST", "STATUS", "FRAMES", "CONNECT", "SEND", "WAIT", "RECEIVE", "TOTAL", "FLAGS"}

func txnRow(t *analysis.TxnReport) []string {
	status := "-"
	if t.Status != 0 {
		status = strconv.Itoa(t.Status)
	}
	frames := ""
	if t.Request != nil {
		frames = fmt.Sprintf("%d-%d", t.Request.FirstFrame, t.Request.LastFrame)
	}
	if t.Response != nil {
		frames += fmt.Sprintf(" → %d-%d", t.Response.FirstFrame, t.Response.LastFrame)
	}
	return []string{
		"  " + strconv.Itoa(t.ID), fmt.Sprintf("%d#%d", t.Connection, t.Index), txnRequestCell(t.Method, t.Target), status, frames,
		optMillis(t.Timings.ConnectMS), optMillis(t.Timings.SendMS), optMillis(t.Timings.WaitMS),
		optMillis(t.Timings.ReceiveMS), optMillis(t.Timings.TotalMS), txnFlags(t),
	}
}

// writeTransactions prints the transactions of the input's listed
// connections: one pass to count and measure them, one to print.
func writeTransactions(w *errWriter, r *analysis.Report, in *analysis.InputReport, listed *inputListing, p *palette) error {
	var tbl table
	tbl.measure(txnHeader)
	n := 0
	err := r.EachTransaction(func(t *analysis.TxnReport) error {
		if listed.has(t.Connection) {
			n++
			tbl.measure(txnRow(t))
		}
		return nil
	})
	if err != nil {
		return err
	}
	w.printf("\n%s %d\n", p.bold.Sprint("Transactions:"), n)
	if n == 0 {
		return nil
	}
	tbl.write(w, txnHeader)
	err = r.EachTransaction(func(t *analysis.TxnReport) error {
		if listed.has(t.Connection) {
			tbl.write(w, txnRow(t))
		}
		return w.err
	})
	if err != nil && err != w.err {
		return err
	}
	return nil
}

// txnRequestCell is the request column: method and target, escaped, then
// cut to fit (escaping first keeps invalid bytes visible as \xNN).
func txnRequestCell(method, target string) string {
	return textsafe.Truncate(textsafe.Terminal(method+" "+target), 48)
}

func txnFlags(t *analysis.TxnReport) string {
	var flags []string
	if t.Pipelined {
		flags = append(flags, "pipelined")
	}
	if t.Tunnel {
		flags = append(flags, "tunnel")
	}
	if t.Response == nil {
		flags = append(flags, "no-response")
	} else if !t.Response.Complete {
		flags = append(flags, "incomplete:"+t.Response.IncompleteReason)
	}
	if t.Request != nil && !t.Request.Complete {
		flags = append(flags, "request-incomplete:"+t.Request.IncompleteReason)
	}
	if !t.PersistentAfter && !t.Tunnel {
		flags = append(flags, "close")
	}
	return strings.Join(flags, ",")
}

func skippedSummary(m map[string]int64) string {
	keys := make([]string, 0, len(m))
	for k, n := range m {
		if n > 0 {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%d %s", m[k], k)
	}
	return strings.Join(parts, ", ")
}

func optMillis(m *analysis.Millis) string {
	if m == nil {
		return "-"
	}
	return millis(float64(*m))
}

func millis(ms float64) string {
	switch {
	case ms >= 10000:
		return fmt.Sprintf("%.1fs", ms/1000)
	case ms >= 1000:
		return fmt.Sprintf("%.2fs", ms/1000)
	case ms >= 10:
		return fmt.Sprintf("%.0fms", ms)
	}
	return fmt.Sprintf("%.2fms", ms)
}

func seconds(ms float64) string { return fmt.Sprintf("%.3fs", ms/1000) }

func byteSize(n int64) string {
	switch {
	case n >= 10<<20:
		return fmt.Sprintf("%.0fMB", float64(n)/(1<<20))
	case n >= 10<<10:
		return fmt.Sprintf("%.0fkB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%dB", n)
}

func joinInts(xs []int) string {
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = fmt.Sprint(x)
	}
	return strings.Join(parts, ",")
}

// joinFrames lists frames, shortening long lists.
func joinFrames(fs []uint64) string {
	const max = 12
	parts := make([]string, 0, len(fs))
	for i, f := range fs {
		if i == max {
			parts = append(parts, fmt.Sprintf("… (%d more)", len(fs)-max))
			break
		}
		parts = append(parts, fmt.Sprint(f))
	}
	return strings.Join(parts, ",")
}

// errWriter remembers the first write error so rendering code stays flat.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(b []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(b)
	e.err = err
	return n, err
}

func (e *errWriter) printf(format string, args ...any) { fmt.Fprintf(e, format, args...) }

func (e *errWriter) setErr(err error) {
	if e.err == nil {
		e.err = err
	}
}
