package diagnose

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/connscope/connscope/httpflow"
	"github.com/connscope/connscope/internal/english"
	"github.com/connscope/connscope/reassembly"
)

// Config selects rules and tunes their thresholds. The zero Config runs
// every rule with its default thresholds.
type Config struct {
	// Enabled reports whether a rule runs; nil runs all of them.
	Enabled func(*Rule) bool
	// Thresholds overrides defaults, keyed "ID.name" or "slug.name"
	// (e.g. "CH1009.max-connections" or "too-many-parallel.max-connections"),
	// in the threshold's unit.
	Thresholds map[string]float64
}

// ConnInfo is what the engine needs to know about one closed connection.
type ConnInfo struct {
	Conn         *reassembly.Connection
	App          httpflow.App
	Transactions []*httpflow.Transaction
}

// Engine runs the rules over a capture's connections. Feed it every
// connection as it closes, then call Finish once. An Engine is not safe for
// concurrent use.
type Engine struct {
	// thresholds holds each rule's values, aligned with Rule.Thresholds.
	thresholds map[*Rule][]float64
	// connRules and captureRules are the enabled rules of each scope, in
	// registry order, with their thresholds resolved once: running a rule
	// looks nothing up.
	connRules, captureRules []*ruleRun
	findings                []Finding
	// summaries keeps what the capture-scope rules need of each connection
	// (no segments, no headers), in the order connections closed; the
	// client→server groups they belong to are interned in groupOf.
	summaries summaryStore
	groupOf   map[serverKey]int32
	groupKeys []serverKey
	lastGroup int32 // the group of the last summary
	// groupSizes counts each group's summaries; minID and maxID bound
	// their connection IDs.
	groupSizes   []int32
	minID, maxID int
	// extras locates a summary's rows in the side tables: keepAlives,
	// retries, handshakes, and wides for the summaries whose values do not
	// fit the compact form (see connSummary).
	extras     []summaryExtra
	keepAlives []keepAliveCounts
	retries    []retryEvidence
	handshakes []handshakeShare
	wides      []wideSummary
	// handshakeLimits are CT1001's thresholds (nil when it is disabled):
	// a summary keeps its handshake only when CT1001 would count it.
	handshakeLimits *handshakeLimits
	// forceWide makes every summary wide, for tests that hold the compact
	// form to changing no finding.
	forceWide bool
	finished  bool
	// leftOut counts findings beyond MaxFindingsPerRuleInCapture, by rule
	// ID.
	leftOut map[string]int
	// rulesByFacts holds, by connFacts, the connection rules to call
	// (rulesFor); lastFacts and lastRules are the last list used.
	rulesByFacts map[connFacts][]*ruleRun
	lastFacts    connFacts
	lastRules    []*ruleRun
	// view and pass are reused from one connection to the next.
	view connView
	pass connPass
	// callEveryRule ignores Rule.onlyWith, for tests that hold the
	// shortcut to changing no finding.
	callEveryRule bool
	// records keeps the memory of released TxnLogs for later ones;
	// scratchLog is the log Connection fills from a ConnInfo.
	records    recordPool
	scratchLog TxnLog
}

// ruleRun is one enabled rule as an Engine runs it.
type ruleRun struct {
	rule *Rule
	// vals are the threshold values in their units and durs the same in
	// nanoseconds (for "ms" and "s" thresholds), aligned with
	// rule.Thresholds.
	vals []float64
	durs []int64
	// kept counts the rule's findings in the capture.
	kept int
	// ackWait caches ackWaitLimitsOf for the rules built on findAckWaits.
	ackWait *ackWaitLimits
	// slowStart caches slowStartLimitsOf for CT1004, CT1005 and CT1006.
	slowStart *slowStartLimits
}

// NewEngine builds an engine. It fails for a threshold override that names
// no rule or no threshold of that rule, or whose value is not a finite,
// non-negative number.
func NewEngine(cfg Config) (*Engine, error) {
	e := &Engine{thresholds: make(map[*Rule][]float64), groupOf: make(map[serverKey]int32)}
	e.InitTxnLog(&e.scratchLog)
	var enabled []*Rule
	for _, r := range registry {
		if cfg.Enabled == nil || cfg.Enabled(r) {
			enabled = append(enabled, r)
		}
		vals := make([]float64, len(r.Thresholds))
		for i, t := range r.Thresholds {
			vals[i] = t.Default
		}
		e.thresholds[r] = vals
	}
	// The key that set each threshold, to refuse a second spelling of it
	// (ID and slug): map order would choose the winner at random.
	setBy := map[*Rule]map[int]string{}
	for key, v := range cfg.Thresholds {
		ruleName, name, ok := strings.Cut(key, ".")
		if !ok {
			return nil, fmt.Errorf("diagnose: threshold %q: want RULE.name (e.g. CH1009.max-connections)", key)
		}
		r := Lookup(ruleName)
		if r == nil {
			return nil, fmt.Errorf("diagnose: threshold %q: no rule %q", key, ruleName)
		}
		i := r.thresholdIndex(name)
		if i < 0 {
			return nil, fmt.Errorf("diagnose: threshold %q: rule %s has no threshold %q (has %s)", key, r.ID, name, thresholdNames(r))
		}
		if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
			return nil, fmt.Errorf("diagnose: threshold %q: value %v is not a finite non-negative number", key, v)
		}
		if err := checkThresholdValue(r.Thresholds[i], v); err != nil {
			return nil, fmt.Errorf("diagnose: threshold %q: %w", key, err)
		}
		if setBy[r] == nil {
			setBy[r] = map[int]string{}
		}
		if other, dup := setBy[r][i]; dup {
			a, b := min(key, other), max(key, other)
			return nil, fmt.Errorf("diagnose: threshold %s.%s given twice, as %q and %q: keep one", r.ID, r.Thresholds[i].Name, a, b)
		}
		setBy[r][i] = key
		e.thresholds[r][i] = v
	}
	for _, r := range registry { // registry order: the same error every run
		if err := checkThresholdBounds(r, e.thresholds[r]); err != nil {
			return nil, err
		}
	}
	for _, r := range enabled {
		run := &ruleRun{rule: r, vals: e.thresholds[r], durs: make([]int64, len(r.Thresholds))}
		for i, t := range r.Thresholds {
			run.durs[i] = durationNS(run.vals[i], t.Unit)
		}
		switch {
		case r.checkConnection != nil:
			e.connRules = append(e.connRules, run)
		case r.checkCapture != nil:
			e.captureRules = append(e.captureRules, run)
		}
		if r == ruleHandshakeOverhead {
			e.handshakeLimits = handshakeLimitsOf(run)
		}
	}
	e.view.ackDelayFloor = ackDelayFloorOf(e.connRules)
	return e, nil
}

// ackDelayFloorOf returns the shortest min-ack-delay, in nanoseconds, of the
// rules among runs that read one (the rules built on findAckWaits), 0 when
// none does: a connection whose segments span less than that has no
// delayed ACK for any of them (factLongSpan).
func ackDelayFloorOf(runs []*ruleRun) int64 {
	floor, found := int64(0), false
	for _, run := range runs {
		if i := run.rule.thresholdIndex("min-ack-delay"); i >= 0 && (!found || run.durs[i] < floor) {
			floor, found = run.durs[i], true
		}
	}
	return floor
}

// Ran returns the rules the engine runs, in ID order.
func (e *Engine) Ran() []*Rule {
	var ran []*Rule
	for _, r := range registry {
		if e.runs(r) {
			ran = append(ran, r)
		}
	}
	return ran
}

func (e *Engine) runs(r *Rule) bool {
	for _, run := range e.connRules {
		if run.rule == r {
			return true
		}
	}
	for _, run := range e.captureRules {
		if run.rule == r {
			return true
		}
	}
	return false
}

// ThresholdValues returns the values of r's thresholds in this engine
// (the defaults with Config.Thresholds applied), aligned with
// r.Thresholds. The slice is a copy.
func (e *Engine) ThresholdValues(r *Rule) []float64 {
	return slices.Clone(e.thresholds[r])
}

// durationNS converts a threshold in ms or s (any other unit counts as ms)
// to nanoseconds. Overrides are validated as finite and non-negative; huge
// ones are clamped so the conversion stays defined.
func durationNS(v float64, unit string) int64 {
	ns := v * 1e6
	if unit == "s" {
		ns *= 1e3
	}
	return int64(min(ns, math.MaxInt64/2))
}

func thresholdNames(r *Rule) string {
	if len(r.Thresholds) == 0 {
		return "none"
	}
	names := make([]string, len(r.Thresholds))
	for i, t := range r.Thresholds {
		names[i] = t.Name
	}
	return strings.Join(names, ", ")
}

// Connection runs the connection-scope rules on a closed connection (its
// segments still present) and keeps a small summary of it for the
// capture-scope rules. A nil ci or ci.Conn is ignored. It returns the
// findings of this connection's rules, so a live capture can show them at
// once; Finish returns them again with the capture-scope ones. The rules
// see ci.Transactions in the order given. ConnectionLog does the same from
// a TxnLog filled while the connection was open.
func (e *Engine) Connection(ci *ConnInfo) []Finding {
	if ci == nil || ci.Conn == nil || e.finished {
		return nil
	}
	l := &e.scratchLog
	for _, t := range ci.Transactions {
		l.appendRec(t)
	}
	return e.ConnectionLog(ci.Conn, ci.App, l)
}

// ConnectionLog is Connection for a connection whose transactions were
// given to l (see TxnLog). It releases l.
func (e *Engine) ConnectionLog(c *reassembly.Connection, app httpflow.App, l *TxnLog) []Finding {
	defer l.Release()
	if c == nil || e.finished {
		return nil
	}
	start := len(e.findings)
	v := &e.view
	v.resetConnView(c, l)
	p := &e.pass
	*p = connPass{pass: pass{e: e}, c: c, v: v}
	for _, run := range e.rulesFor(v.facts) {
		p.run, p.rule, p.reported, p.leftOut = run, run.rule, 0, 0
		run.rule.checkConnection(p)
		if p.leftOut > 0 {
			last := &e.findings[len(e.findings)-1]
			last.Message += fmt.Sprintf(" (%s on this connection %s left out)",
				plural(p.leftOut, "more "+run.rule.ID+" finding", "more "+run.rule.ID+" findings"), english.WasWere(p.leftOut))
		}
	}
	if keepsSummary(c) {
		e.summarize(c, app, v)
	}
	// Hold on to no connection until the next one.
	*p = connPass{}
	clear(v.txs)
	v.c, v.txs, v.reset = nil, v.txs[:0], nil
	if len(e.findings) == start {
		return nil // most connections: nothing to copy
	}
	// A copy: Finish reorders the engine's own list.
	return slices.Clone(e.findings[start:])
}

// rulesFor returns the connection-scope rules to call on a connection
// with the facts f: those whose Rule.onlyWith is zero or shares a fact
// with f, in registry order. Connections of one capture mostly have the
// same few facts, so the lists are kept by facts, the last one at hand.
func (e *Engine) rulesFor(f connFacts) []*ruleRun {
	if e.callEveryRule {
		return e.connRules
	}
	if e.lastRules != nil && f == e.lastFacts {
		return e.lastRules
	}
	rules, ok := e.rulesByFacts[f]
	if !ok {
		rules = make([]*ruleRun, 0, len(e.connRules))
		for _, run := range e.connRules {
			if run.rule.onlyWith == 0 || run.rule.onlyWith&f != 0 {
				rules = append(rules, run)
			}
		}
		if e.rulesByFacts == nil {
			e.rulesByFacts = make(map[connFacts][]*ruleRun)
		}
		e.rulesByFacts[f] = rules // at most one list per value of connFacts
	}
	e.lastFacts, e.lastRules = f, rules
	return rules
}

// Finish runs the capture-scope rules and returns every finding, sorted by
// time, rule and connection. Call it once, after the last Connection.
func (e *Engine) Finish() []Finding {
	if !e.finished {
		e.finished = true
		view := newCaptureView(e)
		for _, run := range e.captureRules {
			run.rule.checkCapture(&capturePass{pass: pass{e: e, run: run, rule: run.rule}, v: view})
		}
		sortFindings(e.findings)
	}
	return e.findings
}

// pass is what every check function gets: its rule, thresholds and a way
// to report.
type pass struct {
	e    *Engine
	run  *ruleRun
	rule *Rule // run.rule
}

// threshold returns the index of the rule's threshold called name.
func (p *pass) threshold(name string) int {
	i := p.rule.thresholdIndex(name)
	if i < 0 {
		// A rule reading a threshold it did not declare is a programming
		// error; TestRulesSurviveRandomInput runs every rule and would panic.
		panic(fmt.Sprintf("diagnose: rule %s reads undeclared threshold %q", p.rule.ID, name))
	}
	return i
}

// num returns a threshold's value in its unit.
func (p *pass) num(name string) float64 { return p.run.vals[p.threshold(name)] }

// dur returns a threshold in ms or s as nanoseconds.
func (p *pass) dur(name string) int64 { return p.run.durs[p.threshold(name)] }

// Bounds on what hostile input can make the engine keep.
const (
	// maxFrames is how many evidence frames one finding cites: the first
	// maxFrames-1 and the last.
	maxFrames = 100
	// maxFindingsPerRule is how many findings one rule reports about one
	// connection; the last one kept says how many more were left out.
	maxFindingsPerRule = 100
	// MaxFindingsPerRuleInCapture is how many findings one rule keeps over
	// a whole capture (an attack can make every connection raise one, and
	// a finding keeps its transaction alive). Beyond it findings are
	// counted in LeftOut, not kept.
	MaxFindingsPerRuleInCapture = 10000
)

// roomFor reports whether the rule may keep one more finding under
// MaxFindingsPerRuleInCapture, and counts the finding in LeftOut when it
// may not.
func (e *Engine) roomFor(run *ruleRun) bool {
	if run.kept < MaxFindingsPerRuleInCapture {
		return true
	}
	if e.leftOut == nil {
		e.leftOut = make(map[string]int)
	}
	e.leftOut[run.rule.ID]++
	return false
}

// LeftOut returns, by rule ID, how many findings were not kept because the
// rule had reached MaxFindingsPerRuleInCapture (nil when none were).
func (e *Engine) LeftOut() map[string]int { return e.leftOut }

// report records a finding, filling in the rule's identity and tidying the
// evidence.
func (p *pass) report(f Finding) {
	if !p.e.roomFor(p.run) {
		return
	}
	p.run.kept++
	f.Rule, f.Slug, f.Severity = p.rule.ID, p.rule.Slug, p.rule.Severity
	if f.Connection == 0 && len(f.Connections) == 1 {
		f.Connection = f.Connections[0] // about one connection after all
	}
	f.Frames = normalizeFrames(f.Frames)
	if n := len(f.Frames); n > maxFrames {
		f.Frames = append(f.Frames[:maxFrames-1], f.Frames[n-1])
	}
	if f.Cost < 0 {
		f.Cost = -1
	}
	if f.txn != nil {
		// Rules cite a transaction on the connection the finding is about.
		f.Transaction = &TxnRef{ID: f.txn.ID, Connection: f.Connection, Index: int(f.txn.Index)}
	}
	f.txn = nil // keep no parser strings alive
	p.e.findings = append(p.e.findings, f)
}

// connPass runs one connection-scope rule on one connection.
type connPass struct {
	pass
	// c is the connection (v.txs its transactions' records). The
	// ConnInfo itself is not kept: kept in the Engine, it would escape,
	// and every caller would allocate one per connection.
	c *reassembly.Connection
	v *connView
	// reported and leftOut count the rule's findings on this connection.
	reported, leftOut int
}

// report records a finding about this connection, up to
// maxFindingsPerRule of them per rule.
func (p *connPass) report(f Finding) {
	if p.reported >= maxFindingsPerRule {
		p.leftOut++
		return
	}
	if !p.e.roomFor(p.run) {
		return // counted capture-wide; the per-connection note stays right
	}
	p.reported++
	if f.Connection == 0 && len(f.Connections) == 0 {
		f.Connection = p.c.ID
	}
	p.pass.report(f)
}

// capturePass runs one capture-scope rule over the kept summaries.
type capturePass struct {
	pass
	v *captureView
}

// checkThresholdValue reports a value that makes no sense for t: a count
// that is not whole, a ratio above 1, a value below t.Min.
func checkThresholdValue(t Threshold, v float64) error {
	switch {
	case t.Unit == "count" && v != math.Trunc(v):
		return fmt.Errorf("value %v is a count: want a whole number", v)
	case t.Unit == "ratio" && v > 1:
		return fmt.Errorf("value %v is a share: want a number between 0 and 1", v)
	case v < t.Min:
		return fmt.Errorf("value %v: want at least %g %s", v, t.Min, t.Unit)
	}
	return nil
}

// checkThresholdBounds reports a rule whose "min-X" threshold is above its
// "max-X" one: nothing could fall between them, so the rule would never
// fire (or fire on nonsense) without saying why.
func checkThresholdBounds(r *Rule, vals []float64) error {
	for i, lo := range r.Thresholds {
		x, ok := strings.CutPrefix(lo.Name, "min-")
		if !ok {
			continue
		}
		if j := r.thresholdIndex("max-" + x); j >= 0 && vals[i] > vals[j] {
			return fmt.Errorf("diagnose: thresholds of %s: %s.min-%s (%g %s) is above %s.max-%s (%g %s); raise max-%s too",
				r.ID, r.ID, x, vals[i], lo.Unit, r.ID, x, vals[j], r.Thresholds[j].Unit, x)
		}
	}
	return nil
}
