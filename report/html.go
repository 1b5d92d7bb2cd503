package report

import (
	"bufio"
	"cmp"
	_ "embed"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/connscope/connscope/analysis"
	"github.com/connscope/connscope/diagnose"
	"github.com/connscope/connscope/internal/textsafe"
)

// HTMLOptions tune WriteHTML. The zero value gives the defaults.
type HTMLOptions struct {
	// Title heads the page; by default it names the inputs.
	Title string
	// Version is printed in the footer (the connscope version).
	Version string
	// MaxConnections caps how many connections get a waterfall, in
	// connection order (default 200; the summary, findings and connection
	// table always cover every connection). Negative means no cap.
	MaxConnections int
	// MaxSegments caps the segments drawn per connection (default 20000);
	// the page says when a connection was cut. Negative means no cap.
	MaxSegments int
	// MaxTotalSegments caps the segments embedded in the whole page
	// (default 250000, about 10 MB of page), so a large capture still
	// gives a page a browser opens; connections past the budget are drawn
	// with their transactions only. Negative means no cap.
	MaxTotalSegments int
	// RulesRun of RulesTotal diagnostic rules ran. When fewer than all
	// ran, the summary says so beside the finding counts, so that a page
	// with rules turned off does not read as a clean capture. Zero
	// RulesTotal says nothing.
	RulesRun, RulesTotal int
}

const (
	defaultHTMLMaxConnections   = 200
	defaultHTMLMaxSegments      = 20000
	defaultHTMLMaxTotalSegments = 250000
)

//go:embed assets/report.css
var reportCSS string

//go:embed assets/report.js
var reportJS string

//go:embed assets/report.html.tmpl
var reportTemplateText string

var reportTemplate = template.Must(template.New("report").Funcs(template.FuncMap{
	"ms": func(x float64) string { return fmt.Sprintf("%.3f", x) },
}).Parse(reportTemplateText))

// WriteHTML writes the report as one self-contained HTML page: inline CSS
// and script, no fetches, no external fonts. It shows the summary, the
// findings grouped by rule with their evidence, a table of connections,
// and for each connection a waterfall of its transactions (connect, send,
// wait, receive, as browser developer tools draw them) with its TCP
// segments and its findings on the same time axis, and a time-sequence
// (Stevens) graph. The static parts render without script; the script
// draws the graphs from data embedded as JSON.
//
// Captured text is inert: it is first made printable (textsafe.Terminal:
// control characters and escape sequences become visible escapes), then
// escaped for its context by html/template; in the embedded JSON, <, > and
// & are \u escapes, so no captured byte can close the script element.
// Segment records come from analysis.Options.KeepSegments; without them
// the waterfall shows transactions only.
func WriteHTML(w io.Writer, r *analysis.Report, opts HTMLOptions) error {
	if r == nil {
		return errNilReport
	}
	if opts.MaxConnections == 0 {
		opts.MaxConnections = defaultHTMLMaxConnections
	}
	if opts.MaxSegments == 0 {
		opts.MaxSegments = defaultHTMLMaxSegments
	}
	if opts.MaxTotalSegments == 0 {
		opts.MaxTotalSegments = defaultHTMLMaxTotalSegments
	}
	l, err := readHTMLListing(r)
	if err != nil {
		return fmt.Errorf("report: html: %w", err)
	}
	page := buildPage(r, l, opts)
	data, err := json.Marshal(buildChartData(r, l, opts, page.origin))
	if err != nil {
		return fmt.Errorf("report: html: encoding chart data: %w", err)
	}
	page.Data = template.JS(data) // json.Marshal escaped <, >, & and U+2028/9
	page.CSS = template.CSS(reportCSS)
	page.Script = template.JS(reportJS)
	bw := bufio.NewWriter(w)
	if err := reportTemplate.Execute(bw, page); err != nil {
		return fmt.Errorf("report: html: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("report: html: %w", err)
	}
	return nil
}

// htmlPage is what the template shows. Every string in it from the
// capture has been through clean; html/template escapes it again for its
// context.
type htmlPage struct {
	Title, Version   string
	Start, End       string
	DurationMS       float64
	Inputs           []htmlInput
	Connections      int // every connection the inputs had, listed or not
	Transactions     int // likewise every transaction
	ListedConns      int // those the listing kept (--max-listed-conns)
	ListedTxns       int // likewise (--max-listed-txns)
	FindingsTotal    int
	RulesNote        string // "3 of 34 rules ran" when some were left out
	ThresholdsNote   string // the thresholds not at their defaults, when any
	Errors, Warnings int
	Infos            int
	CostMS           float64
	Rules            []htmlRuleGroup
	Conns            []htmlConn
	Txns             []htmlTxn
	Drawn, NotDrawn  int
	KeptSegments     bool
	CSS              template.CSS
	Script           template.JS
	Data             template.JS
	origin           analysis.Time
}

type htmlInput struct {
	Index                      int
	Name, Format, Start, Error string
	Packets, TCPPackets        int64
	Skipped                    string
	DurationMS                 float64
	Connections, Transactions  int
	Warnings                   []string
}

type htmlRuleGroup struct {
	Rule, Slug, Severity string
	// Title, What, Why and Fix explain the rule (diagnose's registry; empty
	// for a rule this build does not know), so that the page says what a
	// finding means and what to do without 'connscope explain'.
	Title, What, Why, Fix string
	CostMS                float64
	HasCost               bool
	Findings              []htmlFinding
}

type htmlFinding struct {
	Severity    string
	AtMS        float64
	Time        string
	Connection  int
	Connections []int
	Transaction int
	Frames      string
	CostMS      float64
	HasCost     bool
	Message     string
	Related     []string
	Vantage     string
}

type htmlTxn struct {
	ID, Connection               int
	StartMS                      float64
	Request, Status              string
	Connect, Send, Wait, Receive string
	Total                        string
	RequestBytes, ResponseBytes  string
	Notes                        string
	Failed                       bool
}

type htmlConn struct {
	ID                                 int
	Input                              int
	Client, Server, State, History     string
	HowClosed, App                     string
	StartMS, DurationMS                float64
	IRTT                               string
	PacketsCS, PacketsSC               int64
	BytesCS, BytesSC                   int64
	Retransmissions, Lost, ZeroWindows int
	Transactions                       int
	Findings                           int
	WorstSeverity                      string
	Drawn                              bool
}

// htmlListing is the report's listing as the page needs it: all of it.
// The page embeds every listed connection (with its segments, up to the
// HTMLOptions caps) and transaction, so it is built in memory whether or
// not the report kept its listing out of the heap.
type htmlListing struct {
	conns []*analysis.ConnReport // by ID
	txns  []*analysis.TxnReport  // in the report's order
}

func readHTMLListing(r *analysis.Report) (*htmlListing, error) {
	l := &htmlListing{}
	err := r.EachConnection(func(c *analysis.ConnReport) error {
		l.conns = append(l.conns, c)
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.SortStableFunc(l.conns, func(a, b *analysis.ConnReport) int { return cmp.Compare(a.ID, b.ID) })
	err = r.EachTransaction(func(t *analysis.TxnReport) error {
		l.txns = append(l.txns, t)
		return nil
	})
	return l, err
}

func buildPage(r *analysis.Report, l *htmlListing, opts HTMLOptions) *htmlPage {
	start, end, _ := reportSpan(r.Inputs, l.conns)
	p := &htmlPage{
		Version: clean(opts.Version),
		Start:   start.String(),
		End:     end.String(),
		origin:  start,
	}
	if end > start {
		p.DurationMS = float64(end-start) / 1e6
	}
	var names []string
	for _, in := range nonNil(r.Inputs) {
		hi := htmlInput{
			Index: in.Index, Name: clean(in.Name), Format: clean(in.Format), Start: in.Start.String(),
			Error: clean(in.Error), Packets: in.Packets, TCPPackets: in.TCPPackets,
			DurationMS: float64(in.DurationMS), Connections: in.Connections, Transactions: in.Transactions,
			Skipped: skippedText(in.Skipped),
		}
		for _, w := range in.Warnings {
			hi.Warnings = append(hi.Warnings, clean(w))
		}
		p.Inputs = append(p.Inputs, hi)
		names = append(names, hi.Name)
	}
	p.Title = clean(opts.Title)
	if p.Title == "" {
		p.Title = strings.Join(names, ", ")
	}
	conns, txns := l.conns, l.txns
	findings := sortedFindings(r.Findings)
	// The cards count what the inputs had, as the JSON inputs and the text
	// report do: past --max-listed-conns or --max-listed-txns the listing
	// holds fewer, and the card says how many it lists. A hand-made report
	// whose inputs carry no counts shows what it lists.
	p.ListedConns, p.ListedTxns, p.FindingsTotal = len(conns), len(txns), len(findings)
	inputConns, inputTxns := 0, 0
	for _, in := range nonNil(r.Inputs) {
		inputConns += in.Connections
		inputTxns += in.Transactions
	}
	p.Connections, p.Transactions = max(p.ListedConns, inputConns), max(p.ListedTxns, inputTxns)
	if opts.RulesRun < opts.RulesTotal {
		p.RulesNote = fmt.Sprintf("%d of %d rules ran", max(opts.RulesRun, 0), opts.RulesTotal)
	}
	if rr := r.Rules; rr != nil && len(rr.ChangedThresholds) > 0 {
		// As the JSON's rules object does: findings judged with other
		// thresholds than the defaults say so.
		changed := make([]string, len(rr.ChangedThresholds))
		for i, k := range rr.ChangedThresholds {
			changed[i] = fmt.Sprintf("%s = %s", k, strconv.FormatFloat(rr.Thresholds[k], 'g', -1, 64))
		}
		p.ThresholdsNote = clean("thresholds changed from their defaults: " + strings.Join(changed, ", "))
	}
	counts := severityCounts(findings)
	p.Errors, p.Warnings, p.Infos = counts[sevError], counts[sevWarning], counts[sevInfo]
	p.CostMS = totalCostMS(findings)
	p.Rules = ruleGroups(findings, start)

	perConn, worst := map[int]int{}, map[int]string{}
	count := func(id int, sev string) {
		perConn[id]++
		if severityRank(sev) > severityRank(worst[id]) {
			worst[id] = clean(sev)
		}
	}
	for _, f := range findings {
		if f.Connection != 0 {
			count(f.Connection, f.Severity)
		}
		for _, id := range f.Connections {
			if id != f.Connection {
				count(id, f.Severity)
			}
		}
	}
	for i, c := range conns {
		hc := htmlConn{
			ID: c.ID, Input: c.Input, Client: clean(c.Client), Server: clean(c.Server), State: clean(c.State),
			History: clean(c.History), HowClosed: clean(c.CloseSummary()), App: clean(c.App),
			StartMS: relMS(c.Start, start), DurationMS: float64(c.DurationMS), IRTT: "–",
			PacketsCS: c.Packets.ClientToServer, PacketsSC: c.Packets.ServerToClient,
			BytesCS: c.Bytes.ClientToServer, BytesSC: c.Bytes.ServerToClient,
			Retransmissions: c.Retransmissions, Lost: c.LostSegments, ZeroWindows: c.ZeroWindows,
			Transactions: c.TransactionCount, Findings: perConn[c.ID], WorstSeverity: worst[c.ID],
			Drawn: opts.MaxConnections < 0 || i < opts.MaxConnections,
		}
		if c.IRTTMS != nil {
			hc.IRTT = fmt.Sprintf("%.3f ms", float64(*c.IRTTMS))
		}
		if hc.Drawn {
			p.Drawn++
		} else {
			p.NotDrawn++
		}
		if len(c.Segments) > 0 {
			p.KeptSegments = true
		}
		p.Conns = append(p.Conns, hc)
	}
	for _, t := range txns {
		p.Txns = append(p.Txns, htmlTxnOf(t, start))
	}
	return p
}

func htmlTxnOf(t *analysis.TxnReport, origin analysis.Time) htmlTxn {
	opt := func(m *analysis.Millis) string {
		if v := millis(m, -1); v >= 0 {
			return fmt.Sprintf("%.3f", v)
		}
		return "–"
	}
	size := func(m *analysis.MessageReport) string {
		if m == nil {
			return "–"
		}
		return fmt.Sprintf("%d + %d", m.HeaderBytes, m.BodyBytes)
	}
	h := htmlTxn{
		ID: t.ID, Connection: t.Connection, StartMS: relMS(txnStart(t), origin),
		Request: textsafe.Truncate(clean(t.Method+" "+t.Target+" "+t.Version), 300),
		Connect: opt(t.Timings.ConnectMS), Send: opt(t.Timings.SendMS), Wait: opt(t.Timings.WaitMS),
		Receive: opt(t.Timings.ReceiveMS), Total: opt(t.Timings.TotalMS),
		RequestBytes: size(t.Request), ResponseBytes: size(t.Response),
	}
	if t.Request == nil {
		h.Request = "(no request captured)"
	}
	var notes []string
	if t.Response != nil {
		h.Status = textsafe.Truncate(clean(fmt.Sprintf("%d %s", t.Status, t.Reason)), 120)
		if !t.Response.Complete {
			notes = append(notes, "response incomplete ("+clean(t.Response.IncompleteReason)+")")
			h.Failed = true
		}
	} else {
		h.Status = "no response"
		h.Failed = true
	}
	if t.Pipelined {
		notes = append(notes, "pipelined")
	}
	if t.Tunnel {
		notes = append(notes, "tunnel")
	}
	for _, m := range []*analysis.MessageReport{t.Request, t.Response} {
		if m != nil {
			for _, a := range m.Anomalies {
				notes = append(notes, clean(a))
			}
		}
	}
	h.Notes = strings.Join(notes, ", ")
	return h
}

// ruleGroups groups findings by rule: most severe rules first, then by
// rule ID; within a rule, in time order.
func ruleGroups(findings []*analysis.FindingReport, origin analysis.Time) []htmlRuleGroup {
	idx := map[string]int{}
	var groups []htmlRuleGroup
	for _, f := range findings {
		i, ok := idx[f.Rule]
		if !ok {
			i = len(groups)
			idx[f.Rule] = i
			g := htmlRuleGroup{Rule: clean(f.Rule), Slug: clean(f.Slug), Severity: clean(f.Severity)}
			if r := diagnose.Lookup(f.Rule); r != nil {
				g.Title, g.What, g.Why, g.Fix = r.Title, r.Doc.What, r.Doc.Why, r.Doc.Fix
			}
			groups = append(groups, g)
		}
		g := &groups[i]
		if severityRank(f.Severity) > severityRank(g.Severity) {
			g.Severity = clean(f.Severity)
		}
		hf := htmlFinding{
			Severity: clean(f.Severity), AtMS: relMS(f.Time, origin), Time: f.Time.String(),
			Connection: f.Connection, Connections: f.Connections, Transaction: f.Transaction,
			Frames: joinFrames(f.Frames), Message: clean(f.Message), Vantage: clean(f.Vantage),
		}
		if f.CostMS != nil {
			hf.CostMS, hf.HasCost = float64(*f.CostMS), true
			g.CostMS += hf.CostMS
			g.HasCost = true
		}
		for _, x := range f.Related {
			hf.Related = append(hf.Related, fmt.Sprintf("frame %d (%.3f ms): %s", x.Frame, relMS(x.Time, origin), clean(x.Message)))
		}
		g.Findings = append(g.Findings, hf)
	}
	sort.SliceStable(groups, func(i, j int) bool {
		a, b := groups[i], groups[j]
		if ra, rb := severityRank(a.Severity), severityRank(b.Severity); ra != rb {
			return ra > rb
		}
		return a.Rule < b.Rule
	})
	return groups
}

func skippedText(m map[string]int64) string {
	if len(m) == 0 {
		return "none"
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", clean(k), m[k])
	}
	return strings.Join(parts, ", ")
}

// relMS is t in milliseconds since origin (0 for a zero time).
func relMS(t, origin analysis.Time) float64 {
	if t == 0 {
		return 0
	}
	return float64(t-origin) / 1e6
}
