package cli

import (
	"errors"
	"fmt"
	"io"

	"github.com/connscope/connscope/analysis"
	"github.com/connscope/connscope/diagnose"
	"github.com/connscope/connscope/internal/textsafe"
	"github.com/connscope/connscope/report"
)

// formats lists every --format value and what the analysis must keep for
// it. spill is set for the renderers that read the listing with the
// report's iterators only, so it may leave the heap
// (analysis.Options.SpillListing): the memory of a run then stays that of
// the pipeline whatever the listing holds. HTML embeds every listed
// connection's segments in its page, so it builds the page in memory
// anyway (bounded by its own caps) and gains nothing from spilling.
var formats = map[string]struct {
	keepSegments, keepHeaders, spill bool
}{
	"text":   {spill: true},
	"json":   {spill: true},
	"ndjson": {spill: true},
	"har":    {keepHeaders: true, spill: true},
	"html":   {keepSegments: true},
	"junit":  {spill: true},
}

const formatNames = "text, json, ndjson, har, html or junit"

// render writes the finished report in the chosen format.
func render(w io.Writer, f *analyzeFlags, r *analysis.Report, p *palette, rules []*diagnose.Rule) error {
	switch f.format {
	case "json", "ndjson", "har":
		// encoding/json leaves C1 and bidi controls from the capture raw;
		// the JSON often lands on a terminal, so they go out as \u escapes.
		jw := textsafe.NewJSONWriter(w)
		var err error
		switch f.format {
		case "json":
			err = writeJSON(jw, r)
		case "ndjson":
			err = report.WriteNDJSON(jw, r)
		default:
			err = report.WriteHAR(jw, r, report.HAROptions{CreatorVersion: version(), Indent: true})
		}
		if ferr := jw.Flush(); err == nil {
			err = ferr
		}
		return err
	case "html":
		opts := report.HTMLOptions{Version: version(), RulesTotal: len(diagnose.Rules()), RulesRun: len(rules)}
		if rules == nil {
			opts.RulesRun = opts.RulesTotal
		}
		return report.WriteHTML(w, r, opts)
	case "junit":
		return report.WriteJUnitWith(w, r, report.JUnitOptions{Rules: rules, MinSeverity: f.failOn, Known: f.knownFindings})
	case "text":
		if f.conn != 0 {
			found, err := hasConnection(r, f.conn)
			if err != nil {
				return err
			}
			if !found {
				// Connection IDs run from 1 over every input; those past
				// --max-listed-conns exist but were not listed.
				total := 0
				for _, in := range r.Inputs {
					total += in.Connections
				}
				if f.conn >= 1 && f.conn <= total {
					return usagef("analyze: --conn %d: connection %d is not listed: the report lists %d of its %d connections (raise --max-listed-conns)",
						f.conn, f.conn, r.ConnectionCount(), total)
				}
				return usagef("analyze: --conn %d: no such connection (the report has %d)", f.conn, total)
			}
			return report.WriteTimeline(w, r, f.conn, p)
		}
		opts := textOptions{show: f.show, allFindings: f.allFindings, rulesTotal: len(diagnose.Rules()), rulesRun: len(rules)}
		if rules == nil {
			opts.rulesRun = opts.rulesTotal
		}
		return writeText(w, r, p, opts)
	}
	return fmt.Errorf("unknown format %q", f.format)
}

// errFound stops an iteration that found what it looked for.
var errFound = errors.New("found")

func hasConnection(r *analysis.Report, id int) (bool, error) {
	err := r.EachConnection(func(c *analysis.ConnReport) error {
		if c.ID == id {
			return errFound
		}
		return nil
	})
	if errors.Is(err, errFound) {
		return true, nil
	}
	return false, err
}

// Style implements report.Styler for the terminal timeline.
func (p *palette) Style(kind, s string) string {
	if !p.on {
		return s
	}
	switch kind {
	case report.StyleHeader:
		return p.bold.Sprint(s)
	case report.StyleDim:
		return p.dim.Sprint(s)
	case report.StyleClientToServer:
		return p.info.Sprint(s)
	case report.StyleServerToClient:
		return p.good.Sprint(s)
	case report.StyleRetransmission, report.StyleLoss, report.StyleWindow, report.StyleWarning:
		return p.warn.Sprint(s)
	case report.StyleReset, report.StyleError:
		return p.err.Sprint(s)
	case report.StyleHandshake, report.StyleRequest, report.StyleResponse:
		return p.bold.Sprint(s)
	case report.StyleInfo:
		return p.info.Sprint(s)
	}
	return s
}

// liveNDJSON streams NDJSON lines while a live capture runs.
type liveNDJSON struct{ s *report.NDJSONStream }

func (l liveNDJSON) Connection(c *analysis.ConnReport, txns []*analysis.TxnReport) {
	_ = l.s.Connection(c)
	for _, t := range txns {
		_ = l.s.Transaction(t)
	}
}

func (l liveNDJSON) Finding(f *analysis.FindingReport) { _ = l.s.Finding(f) }

// finish ends the stream once the capture has stopped. Connections,
// transactions and their findings went out as connections closed; the
// findings across connections follow, then the inputs that were damaged
// or reached a limit, as WriteNDJSON ends. Those findings come from the
// report, which numbers transactions in request order; the stream's
// records carry the numbers they had as their connections closed
// (TxnReport.EventID), so a finding's transaction is mapped back to the
// record the stream wrote.
func (l liveNDJSON) finish(rep *analysis.Report) error {
	var across []*analysis.FindingReport
	eventIDs := map[int]int{} // report's transaction ID → the stream's
	for _, fr := range rep.Findings {
		if fr == nil {
			continue
		}
		if r := diagnose.Lookup(fr.Rule); r != nil && r.Scope == diagnose.ScopeConnection {
			continue
		}
		across = append(across, fr)
		if fr.Transaction != 0 {
			eventIDs[fr.Transaction] = 0
		}
	}
	if len(eventIDs) > 0 {
		err := rep.EachTransaction(func(t *analysis.TxnReport) error {
			if _, ok := eventIDs[t.ID]; ok {
				eventIDs[t.ID] = t.EventID()
			}
			return nil
		})
		if err != nil && !errors.Is(err, analysis.ErrNotListed) {
			return err
		}
	}
	for _, fr := range across {
		if id := eventIDs[fr.Transaction]; id != 0 && id != fr.Transaction {
			c := *fr
			c.Transaction = id
			fr = &c
		}
		if err := l.s.Finding(fr); err != nil {
			return err
		}
	}
	return report.WriteNDJSONInputs(l.s, rep)
}
