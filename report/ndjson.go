package report

import (
	"bufio"
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"sync"

	"github.com/connscope/connscope/analysis"
)

// NDJSON record types, the value of every line's "type" field.
const (
	NDJSONConnection  = "connection"
	NDJSONTransaction = "transaction"
	NDJSONFinding     = "finding"
	// NDJSONInput is an input that was damaged or reached a limit; inputs
	// read whole within every limit get no record.
	NDJSONInput = "input"
	// NDJSONRules is the first line: which rules ran and with which
	// thresholds (the JSON report's "rules" object).
	NDJSONRules = "rules"
)

// The records: the JSON report's objects with "type" first. Embedding the
// report struct promotes its fields, so a line carries exactly the fields
// of the JSON report (docs/report-schema.md) plus "type".
type (
	connLine struct {
		Type string `json:"type"`
		*analysis.ConnReport
	}
	txnLine struct {
		Type string `json:"type"`
		*analysis.TxnReport
	}
	findingLine struct {
		Type string `json:"type"`
		*analysis.FindingReport
	}
	inputLine struct {
		Type string `json:"type"`
		*analysis.InputReport
	}
	rulesLine struct {
		Type string `json:"type"`
		*analysis.RulesReport
	}
)

// WriteNDJSON writes the report as newline-delimited JSON: one object per
// line. The first is a "rules" record (the JSON report's rules object:
// which rules ran, with which thresholds), when the report has one; then
// each connection, transaction and finding of the JSON report with a
// "type" field added, in capture-time order. A connection is placed at its
// first frame, a transaction at its request's first byte (its response's
// when no request was seen), a finding at its time. At equal times
// connections come before transactions and transactions before findings;
// within a type the report's own order holds (connections by ID,
// transactions by ID, findings by rule, connection, transaction).
// Inputs read whole within every limit are not written (their times order
// the records across inputs); one that was damaged or reached a limit (its
// Error or Warnings are set) gets an "input" record, the JSON report's
// input object, after all the others, so that a capped or damaged report
// never passes for a whole one.
func WriteNDJSON(w io.Writer, r *analysis.Report) error { return writeNDJSON(w, r, false) }

// writeNDJSON is WriteNDJSON; with reflective, the stream writes every
// line with json.Marshal (see NDJSONStream.reflective).
func writeNDJSON(w io.Writer, r *analysis.Report, reflective bool) error {
	if r == nil {
		return errNilReport
	}
	keys, findings, err := ndjsonOrder(r)
	if err != nil {
		return fmt.Errorf("report: ndjson: %w", err)
	}
	// A report held in memory is read from its slices: its ConnectionAt
	// and TransactionAt scan them for nil entries at every call, which
	// made this loop quadratic. A report that keeps its listing leaves
	// the slices nil (analysis.Report) and is read through them.
	connAt, txnAt := r.ConnectionAt, r.TransactionAt
	if r.Connections != nil {
		conns := nonNil(r.Connections)
		connAt = func(i int) (*analysis.ConnReport, error) { return conns[i], nil }
	}
	if r.Transactions != nil {
		txns := nonNil(r.Transactions)
		txnAt = func(i int) (*analysis.TxnReport, error) { return txns[i], nil }
	}
	bw := bufio.NewWriter(w)
	s := NewNDJSONStream(bw)
	s.reflective = reflective
	if r.Rules != nil {
		if err := s.Rules(r.Rules); err != nil {
			return err
		}
	}
	for _, k := range keys {
		switch k.rank {
		case 0:
			var c *analysis.ConnReport
			if c, err = connAt(k.at); err == nil {
				err = s.Connection(c)
			}
		case 1:
			var t *analysis.TxnReport
			if t, err = txnAt(k.at); err == nil {
				err = s.Transaction(t)
			}
		default:
			err = s.Finding(findings[k.at])
		}
		if err != nil {
			return err
		}
	}
	if err := WriteNDJSONInputs(s, r); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("report: ndjson: %w", err)
	}
	return nil
}

// ndjsonKey places one line: the keys it is sorted by, and where its
// record is (a position in the report's iteration order, or in the
// sorted findings).
type ndjsonKey struct {
	time analysis.Time
	rank int // 0 connection, 1 transaction, 2 finding
	seq  int // position in the report's order within its type
	at   int
}

// ndjsonOrder merges the report's three lists into capture-time order. It
// holds a small key per record, not the records: the listing is read once
// here for its keys, then once more record by record, in this order.
func ndjsonOrder(r *analysis.Report) ([]ndjsonKey, []*analysis.FindingReport, error) {
	var keys []ndjsonKey
	// byID gives a listing's records their seq: their rank by ID, ties
	// in iteration order. A report's listing is in ID order already;
	// one built by hand need not be.
	byID := func(first int, ids []int) {
		order := make([]int, len(ids))
		for i := range order {
			order[i] = i
		}
		slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(ids[a], ids[b]) })
		for seq, i := range order {
			keys[first+i].seq = seq
		}
	}
	var ids []int
	err := r.EachConnection(func(c *analysis.ConnReport) error {
		keys = append(keys, ndjsonKey{time: c.Start, rank: 0, at: len(ids)})
		ids = append(ids, c.ID)
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	byID(0, ids)
	first := len(keys)
	ids = ids[:0]
	err = r.EachTransaction(func(t *analysis.TxnReport) error {
		keys = append(keys, ndjsonKey{time: txnStart(t), rank: 1, at: len(ids)})
		ids = append(ids, t.ID)
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	byID(first, ids)
	findings := sortedFindings(r.Findings)
	for i, f := range findings {
		keys = append(keys, ndjsonKey{time: f.Time, rank: 2, seq: i, at: i})
	}
	slices.SortStableFunc(keys, func(a, b ndjsonKey) int {
		return cmp.Or(cmp.Compare(a.time, b.time), cmp.Compare(a.rank, b.rank), cmp.Compare(a.seq, b.seq))
	})
	return keys, findings, nil
}

// NDJSONStream writes NDJSON records one at a time, as they become known:
// the incremental form of WriteNDJSON for live capture, where a connection
// is reported when it closes and findings when their rule has run. Lines
// come out in call order, each written whole with one Write call, so a
// reader tailing the output never sees half a record. It is safe for
// concurrent use. After a write error every later call returns that error.
type NDJSONStream struct {
	mu  sync.Mutex
	w   io.Writer
	buf []byte
	err error
	// reflective writes every line with json.Marshal, as before the hand
	// encoders: what the tests hold them to.
	reflective bool
}

// NewNDJSONStream returns a stream writing to w.
func NewNDJSONStream(w io.Writer) *NDJSONStream { return &NDJSONStream{w: w} }

// The "type" members that start the lines the hand encoders write.
const (
	connLead    = `"type":"` + NDJSONConnection + `"`
	txnLead     = `"type":"` + NDJSONTransaction + `"`
	findingLead = `"type":"` + NDJSONFinding + `"`
)

// Connection, transaction and finding lines, nearly all of a report, are
// written by analysis's hand encoders (AppendConnJSON and the others):
// byte for byte what json.Marshal writes for connLine, txnLine and
// findingLine, which it spent most of the writer's time on, in
// reflection. When a hand encoder declines (a NaN or infinite Millis),
// json.Marshal writes the line, or rather returns its error.
// ndjson_fast_test.go holds them to json.Marshal of the line types.

// Connection writes a {"type":"connection",...} line.
func (s *NDJSONStream) Connection(c *analysis.ConnReport) error {
	if c == nil {
		return fmt.Errorf("report: ndjson: nil connection")
	}
	return s.write(func(b []byte) ([]byte, error) {
		if !s.reflective {
			if out, ok := analysis.AppendConnJSON(b, c, connLead); ok {
				return out, nil
			}
		}
		return appendMarshal(b, connLine{NDJSONConnection, c})
	}, "connection", c.ID)
}

// Transaction writes a {"type":"transaction",...} line.
func (s *NDJSONStream) Transaction(t *analysis.TxnReport) error {
	if t == nil {
		return fmt.Errorf("report: ndjson: nil transaction")
	}
	return s.write(func(b []byte) ([]byte, error) {
		if !s.reflective {
			if out, ok := analysis.AppendTxnJSON(b, t, txnLead); ok {
				return out, nil
			}
		}
		return appendMarshal(b, txnLine{NDJSONTransaction, t})
	}, "transaction", t.ID)
}

// Finding writes a {"type":"finding",...} line.
func (s *NDJSONStream) Finding(f *analysis.FindingReport) error {
	if f == nil {
		return fmt.Errorf("report: ndjson: nil finding")
	}
	return s.write(func(b []byte) ([]byte, error) {
		if !s.reflective {
			if out, ok := analysis.AppendFindingJSON(b, f, findingLead); ok {
				return out, nil
			}
		}
		return appendMarshal(b, findingLine{NDJSONFinding, f})
	}, "finding "+f.Rule+" on connection", f.Connection)
}

// Rules writes a {"type":"rules",...} line: the first line of a report,
// so that a reader knows which rules ran before it reads their findings.
func (s *NDJSONStream) Rules(rr *analysis.RulesReport) error {
	if rr == nil {
		return fmt.Errorf("report: ndjson: nil rules")
	}
	return s.write(func(b []byte) ([]byte, error) {
		return appendMarshal(b, rulesLine{NDJSONRules, rr})
	}, "rules of", len(rr.Ran))
}

// Input writes a {"type":"input",...} line.
func (s *NDJSONStream) Input(in *analysis.InputReport) error {
	if in == nil {
		return fmt.Errorf("report: ndjson: nil input")
	}
	return s.write(func(b []byte) ([]byte, error) {
		return appendMarshal(b, inputLine{NDJSONInput, in})
	}, "input", in.Index)
}

// appendMarshal appends what json.Marshal writes for v. json.Marshal
// escapes <, > and & like the JSON report does, and turns invalid UTF-8
// in captured text into U+FFFD.
func appendMarshal(b []byte, v any) ([]byte, error) {
	raw, err := json.Marshal(v)
	return append(b, raw...), err
}

// WriteNDJSONInputs writes an input record for each of r's inputs that was
// damaged or reached a limit, in input order: the last records of
// WriteNDJSON, and of a live capture's stream once it stops.
func WriteNDJSONInputs(s *NDJSONStream, r *analysis.Report) error {
	for _, in := range r.Inputs {
		if in != nil && (in.Error != "" || len(in.Warnings) > 0) {
			if err := s.Input(in); err != nil {
				return err
			}
		}
	}
	return nil
}

// write writes the line enc appends (to the buffer it is given), and a
// new line.
func (s *NDJSONStream) write(enc func([]byte) ([]byte, error), what string, id int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return s.err
	}
	b, err := enc(s.buf[:0])
	if err != nil {
		return fmt.Errorf("report: ndjson: encoding %s %d: %w", what, id, err)
	}
	s.buf = append(b, '\n')
	if _, err := s.w.Write(s.buf); err != nil {
		s.err = fmt.Errorf("report: ndjson: writing %s %d: %w", what, id, err)
		return s.err
	}
	return nil
}
