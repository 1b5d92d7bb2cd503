package analysis

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"time"

	"github.com/connscope/connscope/capture"
	"github.com/connscope/connscope/diagnose"
	"github.com/connscope/connscope/httpflow"
	"github.com/connscope/connscope/internal/english"
	"github.com/connscope/connscope/reassembly"
)

// Options configure every stage of the pipeline. The zero value means
// defaults everywhere.
type Options struct {
	Reassembly reassembly.Config
	HTTP       httpflow.Config
	Diagnose   diagnose.Config
	// KeepSegments keeps every connection's segment records in the report
	// (ConnReport.Segments) for timelines and waterfalls. Memory then grows
	// with the capture, so only renderers that draw segments set it.
	KeepSegments bool
	// KeepHeaders keeps the header fields of every message
	// (TxnReport.RequestHeaders/ResponseHeaders), for HAR output.
	KeepHeaders bool
	// Events, when set, is told about results as soon as they are known
	// (live capture prints them while it runs).
	Events Events
	// MaxListedConnections and MaxListedTransactions bound how many
	// connections and transactions the Report keeps, across all inputs
	// (defaults DefaultMaxListedConnections, DefaultMaxListedTransactions;
	// <= 0 means the default). Beyond them connections and transactions
	// are still counted in the input's totals and diagnosed, but not
	// listed, and the input's warnings say how many were left out. They
	// keep a capture of millions of connections (a SYN flood) inside a
	// fixed memory budget.
	MaxListedConnections  int
	MaxListedTransactions int
	// MaxOpenTransactions bounds the transactions kept by the connections
	// open at one time, all together (default DefaultMaxOpenTransactions;
	// <= 0 means the default); HTTP.Budget, when set, replaces it.
	// Transactions beyond it are parsed and counted, not kept, and the
	// input's warnings say how many.
	MaxOpenTransactions int
	// SpillListing keeps the listed connections and transactions out of
	// the heap: encoded in memory up to SpillThreshold bytes, then in a
	// temporary file (in os.TempDir, so TMPDIR chooses the disk), read
	// back one at a time by Report.EachConnection and EachTransaction.
	// The Report's Connections and Transactions slices are then nil, so
	// only renderers that use the iterators may be given it; Report.Close
	// releases the file. A full disk does not stop the analysis: the
	// iterators return the error, naming the file.
	SpillListing bool
	// SpillThreshold is how many bytes of encoded records SpillListing
	// keeps in memory before it writes them to disk (default
	// DefaultSpillThreshold; < 0 spills from the first record).
	SpillThreshold int
	// OmitTransactions lists no transactions: they are counted against
	// MaxListedTransactions, numbered and cited by findings exactly as
	// when they are listed (the IDs are the same), but not kept, and
	// Report.EachTransaction returns ErrNotListed. For outputs that show
	// no transactions (the text report without --show transactions). It
	// implies SpillListing's iterators: the Report's slices are nil.
	OmitTransactions bool
}

// Events receives results while the capture is still being read.
// Connection and transaction IDs are final; a transaction's ID in the
// finished Report may differ (the Report numbers them in request order).
type Events interface {
	// Connection is called when a connection has closed (or expired) and
	// been summarised, with its transactions.
	Connection(c *ConnReport, txns []*TxnReport)
	// Finding is called for each finding of a per-connection rule as
	// soon as its connection closes.
	Finding(f *FindingReport)
}

// TransactionEvents is Events that also wants each transaction as soon
// as it is over (its response ended and its request was sent whole), before
// its connection closes: live capture prints a keep-alive connection's
// requests as they are answered. Connection still receives all of the
// connection's transactions, those given to Transaction first with the
// same IDs. A transaction is given to Transaction at most once; those not
// over before the close (a request left unanswered, or a connection whose
// bytes could not be parsed in order) only come with their connection.
type TransactionEvents interface {
	Events
	Transaction(t *TxnReport)
}

// Source is anything that yields packets in capture order: a capture file
// (capture.Reader) or a live interface.
type Source interface {
	Next() (*capture.Packet, error)
}

// TickingSource is a Source whose capture clock goes on while no packet
// comes: a live capture. Reassembly releases a closed connection once
// capture time has passed its linger, and idle ones after the idle timeout;
// on a quiet interface no packet moves capture time on, so without ticks a
// finished connection would wait, unreported, for some unrelated packet.
// AddSource gives each tick to reassembly (Assembler.Advance), and Events
// hear of the connections it releases while the capture is still quiet.
//
// Capture files are never TickingSources: what they report depends only on
// their packets, so the same file always gives the same report.
type TickingSource interface {
	Source
	// NextOrTick returns the next packet, as Next does, or, when no packet
	// came for a while, a nil packet and a tick: a capture time (on the
	// clock the packets are stamped with) that no packet still to come is
	// stamped before. A tick earlier than a packet already given means
	// nothing and is ignored.
	NextOrTick() (p *capture.Packet, tick int64, err error)
}

// Analyzer runs inputs through capture decoding → reassembly → httpflow →
// diagnose and accumulates one Report. Inputs are analysed one after the
// other; connection and transaction IDs are unique across the whole report.
type Analyzer struct {
	opts   Options
	report Report
	// findings are kept with their transaction's provisional ID until
	// Report renumbers transactions in request order.
	findings []diagnose.Finding
	nextTxn  int
	connBase int
	// listed counts the connections and transactions kept in the report,
	// against Options.MaxListedConnections/MaxListedTransactions.
	listed listedCounts
	// listing keeps them when Options.SpillListing or OmitTransactions is
	// set; otherwise they are in report's slices.
	listing *listing
}

// New returns an Analyzer with the given options.
func New(opts Options) *Analyzer {
	a := &Analyzer{
		opts:   opts,
		report: Report{Schema: Schema},
	}
	// A Diagnose config the engine refuses leaves Rules nil: AddSource
	// returns the same error.
	if rules, err := NewRulesReport(opts.Diagnose); err == nil {
		a.report.Rules = rules
	}
	if opts.SpillListing || opts.OmitTransactions {
		a.listing = newListing(opts)
		a.report.listing = a.listing
	}
	return a
}

// AddSource reads src to its end and analyses it as one input called name.
// It returns the error that stopped reading early (a damaged capture); the
// packets read before the damage are analysed and reported all the same,
// and the error is recorded in the input's report.
func (a *Analyzer) AddSource(name, format string, src Source) error {
	engine, err := diagnose.NewEngine(a.opts.Diagnose)
	if err != nil {
		return err
	}
	in := &InputReport{
		Index:    len(a.report.Inputs),
		Name:     name,
		Format:   format,
		Skipped:  map[string]int64{},
		Warnings: []string{},
	}
	a.report.Inputs = append(a.report.Inputs, in)

	h := &handler{a: a, in: in, engine: engine, open: make(map[*reassembly.Connection]*openConn), http: a.opts.HTTP}
	h.te, _ = a.opts.Events.(TransactionEvents)
	// Only KeepHeaders (HAR) reads the header field lists; nothing else needs them.
	// The handler takes what it keeps of each transaction as the parser
	// settles it (diagnose's record, the listing's TxnReport), so the parser
	// need not keep its records until the close (ForgetSettled), and
	// those it keeps can be recycled once the connection is released.
	h.http.DropHeaderFields = h.http.DropHeaderFields || !a.opts.KeepHeaders
	h.http.RecycleTransactions = true
	h.http.ForgetSettled = true
	if h.http.Budget == nil {
		h.http.Budget = httpflow.NewBudget(orDefault(a.opts.MaxOpenTransactions, DefaultMaxOpenTransactions))
	}
	// Closed copies the segments it keeps (KeepSegments), and diagnose
	// reads them only while it is called: their arrays can go to later
	// connections.
	reasm := a.opts.Reassembly
	reasm.RecycleSegments = true
	asm := reassembly.NewAssembler(reasm, h)
	dec := capture.NewDecoder()
	var seg capture.Segment
	var readErr error
	var latest int64 // latest segment time given to the Assembler
	// latestTick is the latest tick of a TickingSource, and beforeTick
	// counts the segments stamped before it, which broke its promise.
	var latestTick, beforeTick, maxBeforeTick int64
	ticking, _ := src.(TickingSource)
	first := true
	for {
		var p *capture.Packet
		var err error
		if ticking != nil {
			var tick int64
			p, tick, err = ticking.NextOrTick()
			if err == nil && p == nil {
				// Advance ignores a tick before the latest segment.
				asm.Advance(tick)
				latestTick = max(latestTick, tick)
				continue
			}
		} else {
			p, err = src.Next()
		}
		if err != nil {
			if !errors.Is(err, io.EOF) {
				readErr = err
			}
			break
		}
		if first {
			in.Start, first = Time(p.Time), false
		}
		if Time(p.Time) > in.End {
			in.End = Time(p.Time)
		}
		if dec.Decode(p, &seg) == capture.SkipNone {
			// Time never runs backwards in the analysis, as Zeek's
			// network time: a frame stamped before its predecessor
			// (the reader warns about each) takes the latest time seen,
			// so durations stay non-negative and a skewed FIN cannot
			// end a connection seconds before its last ACK.
			if seg.Time < latest {
				h.limits.maxStepBack = max(h.limits.maxStepBack, latest-seg.Time)
				seg.Time = latest
				h.limits.timeClamped++
			}
			latest = seg.Time
			if seg.Time < latestTick {
				// The source said no packet would come stamped this early.
				// Reassembly may have released this segment's connection
				// at the tick; a warning says so. The segment keeps its time.
				beforeTick++
				maxBeforeTick = max(maxBeforeTick, latestTick-seg.Time)
			}
			asm.Add(&seg)
		} else if ticking != nil {
			// A live capture's other frames (ARP, UDP) are stamped on the
			// same clock: they move reassembly's on as a tick would, so a
			// chatty interface without TCP cannot hold a closed connection
			// back. For a file they change nothing, as before.
			asm.Advance(p.Time)
		}
	}
	asm.Flush()

	st := dec.Stats()
	in.Packets = int64(st.Packets)
	in.TCPPackets = int64(st.TCPSegments)
	for _, reason := range capture.SkipReasons() {
		if n := st.Skipped[reason]; n > 0 {
			in.Skipped[reason.String()] = int64(n)
		}
	}
	if w := st.Fragments.Warning(); w != "" {
		in.Warnings = append(in.Warnings, w)
	}
	if n := int(st.CutSegments); n > 0 {
		in.Warnings = append(in.Warnings, fmt.Sprintf("%d TCP %s %s cut short by the capture's snap length: %s missing bytes count as gaps",
			n, english.Noun(n, "segment"), english.WasWere(n), english.ItsTheir(n)))
	}
	if in.End > in.Start {
		in.DurationMS = MillisOf(int64(in.End - in.Start))
	}
	in.PeakOpenConns = asm.Stats().PeakOpen
	in.Warnings = append(in.Warnings, limitWarnings(a.opts, asm.Stats(), h.limits)...)
	if beforeTick > 0 {
		in.Warnings = append(in.Warnings, fmt.Sprintf("%d TCP %s %s stamped up to %v before a time the capture clock had already reached while no packet came: connections that had closed or gone idle just before may have been reported early, and their late packets as new connections",
			beforeTick, english.Noun(int(beforeTick), "segment"), english.WasWere(int(beforeTick)), time.Duration(maxBeforeTick).Round(time.Microsecond)))
	}
	if a.listing != nil {
		if w := a.listing.takeWarning(); w != "" {
			in.Warnings = append(in.Warnings, w)
		}
	}
	if w, ok := src.(interface{ Warnings() []capture.Warning }); ok {
		for _, x := range w.Warnings() {
			in.Warnings = append(in.Warnings, x.String())
		}
	}
	if w, ok := src.(interface{ WarningCount() int }); ok {
		if n := w.WarningCount() - capture.MaxWarnings; n > 0 {
			in.Warnings = append(in.Warnings, fmt.Sprintf("%d more %s not listed", n, english.Noun(n, "warning")))
		}
	}
	if readErr != nil {
		in.Error = readErr.Error()
	}

	findings := engine.Finish()
	in.Warnings = append(in.Warnings, findingCapWarnings(engine.LeftOut())...)
	for _, f := range findings {
		f.Connection = a.globalConn(f.Connection)
		for i := range f.Connections {
			f.Connections[i] = a.globalConn(f.Connections[i])
		}
		a.findings = append(a.findings, f)
	}
	a.connBase += h.maxConnID
	return readErr
}

func (a *Analyzer) globalConn(id int) int {
	if id == 0 {
		return 0
	}
	return a.connBase + id
}

// Report returns the report of every input added so far, with connections
// in order of first frame, transactions numbered in request order, and
// findings in the engine's deterministic order.
func (a *Analyzer) Report() *Report {
	if a.listing != nil {
		return a.listedReport()
	}
	r := a.report
	if r.Connections == nil {
		r.Connections = []*ConnReport{} // [] in the JSON, not null
	}
	sort.SliceStable(r.Connections, func(i, j int) bool { return r.Connections[i].ID < r.Connections[j].ID })
	txns := append(make([]*TxnReport, 0, len(r.Transactions)), r.Transactions...)
	sort.SliceStable(txns, func(i, j int) bool {
		x, y := txns[i], txns[j]
		if xs, ys := txnStart(x), txnStart(y); xs != ys {
			return xs < ys
		}
		if x.Connection != y.Connection {
			return x.Connection < y.Connection
		}
		return x.Index < y.Index
	})
	final := make(map[int]int, len(txns)) // provisional ID → final ID
	if a.opts.Events != nil {
		// Events were handed these TxnReports with their provisional
		// IDs: the Report numbers copies.
		for i, t := range txns {
			c := *t
			c.ID = i + 1
			txns[i] = &c
		}
	} else {
		// Nobody else holds them: number them in place rather than
		// copying every transaction of the report (a fifth of its
		// memory). Report can still be called again, as the order and
		// the provisional IDs do not change.
		for i, t := range txns {
			t.ID = i + 1
		}
	}
	for _, t := range txns {
		final[t.provisional] = t.ID
	}
	r.Transactions = txns
	r.Findings = a.findingReports(final)
	return &r
}

// listedReport is Report for a run whose listing is kept by a listing:
// the index is sorted, the records stay where they are.
func (a *Analyzer) listedReport() *Report {
	r := a.report
	a.listing.sort()
	final := map[int]int{} // provisional ID → final ID, for cited transactions
	for _, f := range a.findings {
		if f.Transaction != nil {
			final[f.Transaction.ID] = 0
		}
	}
	a.listing.finalIDs(final)
	r.Findings = a.findingReports(final)
	return &r
}

// findingReports converts the findings, citing transactions by the final
// IDs that final maps their provisional IDs to.
func (a *Analyzer) findingReports(final map[int]int) []*FindingReport {
	out := make([]*FindingReport, 0, len(a.findings))
	for _, f := range a.findings {
		fr := newFindingReport(f)
		if f.Transaction != nil {
			fr.Transaction = final[f.Transaction.ID]
		}
		out = append(out, fr)
	}
	return out
}

func txnStart(t *TxnReport) Time {
	if t.Request != nil {
		return t.Request.Start
	}
	if t.Response != nil {
		return t.Response.Start
	}
	return 0
}

func newFindingReport(f diagnose.Finding) *FindingReport {
	r := &FindingReport{
		Rule:        f.Rule,
		Slug:        f.Slug,
		Severity:    f.Severity.String(),
		Connection:  f.Connection,
		Connections: f.Connections,
		Frames:      f.Frames,
		Time:        Time(f.Time),
		CostMS:      optMillis(f.Cost),
		Message:     f.Message,
		Vantage:     f.Vantage,
	}
	if r.Frames == nil {
		r.Frames = []uint64{}
	}
	for _, x := range f.Related {
		r.Related = append(r.Related, RelatedReport{Frame: x.Frame, Time: Time(x.Time), Message: x.Message})
	}
	return r
}

// handler connects reassembly to httpflow and diagnose for one input.
type handler struct {
	a         *Analyzer
	in        *InputReport
	engine    *diagnose.Engine
	open      map[*reassembly.Connection]*openConn
	maxConnID int
	limits    limitCounts // what the httpflow limits left out, for warnings
	// http is Options.HTTP with the input's transaction Budget.
	http httpflow.Config
	// te is Options.Events when it wants transactions as they settle.
	te TransactionEvents
	// scratch is the TxnReport a SpillListing run encodes each
	// transaction from.
	scratch txnReportBlock
	// spare are openConns of closed connections, for later ones.
	spare []*openConn
}

// openConn is what the handler keeps of a connection while it is open:
// its parser, and what it took from each transaction as the parser settled
// it, so that the parser can let its own record go (Config.ForgetSettled).
type openConn struct {
	// The fields every connection reads at its close come first, in one
	// cache line: a capture of a million connections without HTTP (a SYN
	// flood) closes each long after it last touched its openConn.
	p *httpflow.Conn
	// id is the connection's ID in the report.
	id int
	// held is the transaction settled last, which goes to log (and to
	// entries, but with TransactionEvents, which get each transaction as
	// it settles) when the next one settles (the parser keeps it until
	// then) or at the close (the parser gives it again then, final).
	held *httpflow.Transaction
	// entries are the transactions' listing entries in order of Index, as
	// far as they were built (see entryOf); unbuilt counts the ones after
	// them, which the listing had no room for when they settled.
	entries []txnEntry
	unbuilt int
	// settle is the parser's Config.Settled for this openConn, made once:
	// an openConn goes from a closed connection to a later one (see
	// handler.spare), so that a capture of a million connections (a SYN
	// flood) allocates neither again for each.
	settle func(*httpflow.Transaction)
	// log is diagnose's record of the transactions, for the rules at the
	// close.
	log diagnose.TxnLog
	// entryBuf holds entries for a connection of one transaction, the
	// commonest kind, without an allocation.
	entryBuf [1]txnEntry
}

// txnEntry is what the listing and Events need of one transaction at its
// connection's close.
type txnEntry struct {
	// tr is the transaction's report, for the Report's slices and for
	// Events; nil when ref says all the listing needs.
	tr *TxnReport
	// ref is the listing's index entry (its index is always set): its
	// record already written to the listing's store (ref.n >= 0:
	// SpillListing, which so encodes each transaction while the parser's
	// record is still in cache, with no TxnReport of its own), or none kept
	// (ref.n < 0: OmitTransactions).
	ref txnRef
}

func (h *handler) Opened(c *reassembly.Connection) reassembly.StreamConsumer {
	oc := h.newOpenConn(c)
	cfg := h.http
	cfg.Settled = oc.settle
	oc.p = httpflow.NewConn(c, cfg)
	h.open[c] = oc
	return oc.p
}

// newOpenConn returns the empty state of connection c.
func (h *handler) newOpenConn(c *reassembly.Connection) *openConn {
	var oc *openConn
	if n := len(h.spare); n > 0 {
		oc, h.spare = h.spare[n-1], h.spare[:n-1]
	} else {
		oc = new(openConn)
		h.engine.InitTxnLog(&oc.log)
		oc.entries = oc.entryBuf[:0]
		oc.settle = func(t *httpflow.Transaction) { h.settled(oc, t) }
	}
	oc.id = h.a.globalConn(c.ID)
	return oc
}

// Bounds on what handler.spare keeps.
const (
	// maxSpare is how many openConns wait for a later connection: more
	// than are open at once in most captures.
	maxSpare = 4096
	// maxSpareEntries is the largest entries array a spare keeps; a
	// longer one (a keep-alive connection's, listed) goes to the collector.
	maxSpareEntries = 64
)

// recycle empties oc, whose connection was handed on and its parser
// released (its log was released by ConnectionLog), for a later
// connection.
func (h *handler) recycle(oc *openConn) {
	clear(oc.entries) // the TxnReports belong to the report now
	if cap(oc.entries) > maxSpareEntries {
		oc.entries = oc.entryBuf[:0]
	} else {
		oc.entries = oc.entries[:0]
	}
	oc.p, oc.held, oc.unbuilt, oc.id = nil, nil, 0, 0
	if len(h.spare) < maxSpare {
		h.spare = append(h.spare, oc)
	}
}

// settled takes what the report and the rules need of a transaction that
// is over, numbers it, and gives it to TransactionEvents.
func (h *handler) settled(oc *openConn, t *httpflow.Transaction) {
	h.number(t)
	if h.te != nil {
		e, _ := h.entryOf(oc, t) // always built with Events
		oc.entries = append(oc.entries, e)
		h.te.Transaction(e.tr)
	}
	// The rest is taken from the transaction settled before, which the
	// parser still holds (it lets a settled one go only once a later one
	// settled); this one waits for the next, or for the close, where the
	// parser gives it again. A connection of one transaction, the
	// commonest kind, is so taken once, not twice.
	t, oc.held = oc.held, t
	if t == nil {
		return
	}
	oc.log.Add(t)
	if h.te != nil {
		return // its entry was built when it settled
	}
	e, built := h.entryOf(oc, t)
	if !built {
		oc.unbuilt++
		return
	}
	oc.entries = append(oc.entries, e)
}

// number gives t its provisional ID, unique across inputs (Report
// renumbers them), and counts what the header caps cut from it.
func (h *handler) number(t *httpflow.Transaction) {
	h.a.nextTxn++
	t.ID = h.a.nextTxn
	h.limits.addTxn(t)
}

// entryOf builds t's listing entry. built is false when the report has
// listed as many connections or transactions as it may and no Events want
// them: then none of this connection's transactions still to come will be
// listed either (listing happens at the close, in order, and the counts
// only grow), so nothing needs to be built for them.
func (h *handler) entryOf(oc *openConn, t *httpflow.Transaction) (e txnEntry, built bool) {
	events := h.a.opts.Events != nil
	if !events && h.a.listed.full(h.a.opts.MaxListedConnections, h.a.opts.MaxListedTransactions) {
		return e, false
	}
	e.ref = txnRef{start: httpTxnStart(t), conn: oc.id, index: t.Index, provisional: t.ID, n: -1}
	l := h.a.listing
	if !events && l != nil && l.omitTxns {
		return e, true
	}
	// A spilled listing without Events keeps no TxnReport: it encodes the
	// transaction at once, from one scratch report that the next fill
	// overwrites whole.
	spill := !events && l != nil
	var tr *TxnReport
	if spill {
		tr = h.scratch.fill(t)
	} else {
		tr = newTxnReport(t)
	}
	tr.provisional = tr.ID
	tr.Connection = oc.id
	if h.a.opts.KeepHeaders {
		if t.Request != nil {
			tr.RequestHeaders = detachHeaders(t.Request.Headers())
		}
		if t.Response != nil {
			tr.ResponseHeaders = detachHeaders(t.Response.Headers())
		}
	}
	if spill {
		e.ref = l.encodeTxn(tr)
	} else {
		e.tr = tr
	}
	return e, true
}

// closing takes the transactions the parser still held at the close (the
// few it kept after settling them, now final, and those it never settled)
// into oc, each in place of what was taken from it before.
func (h *handler) closing(oc *openConn, txns []*httpflow.Transaction) {
	// The one held was settled last: the parser still has it, and gives
	// it again now.
	heldIndex := -1
	if oc.held != nil {
		heldIndex, oc.held = oc.held.Index, nil
	}
	for _, t := range txns {
		settledBefore := t.ID != 0
		if !settledBefore {
			h.number(t)
		}
		oc.log.Add(t)
		i, found := slices.BinarySearchFunc(oc.entries, t.Index, func(e txnEntry, index int) int { return cmp.Compare(e.ref.index, index) })
		if settledBefore && !found && t.Index != heldIndex {
			continue // its entry was never built, and it is counted in unbuilt
		}
		e, built := h.entryOf(oc, t)
		switch {
		case found && built:
			oc.entries[i] = e
		case found:
			// The listing filled up since its entry was built: the entry
			// is counted as not listed, never read.
		case built:
			oc.entries = slices.Insert(oc.entries, i, e)
		default:
			oc.unbuilt++
		}
	}
}

func (h *handler) Closed(c *reassembly.Connection) {
	oc := h.open[c]
	delete(h.open, c)
	var p *httpflow.Conn
	app := httpflow.AppUnknown
	if oc == nil {
		oc = h.newOpenConn(c)
	}
	defer h.recycle(oc) // after p.Release, deferred below
	if oc.p != nil {
		p = oc.p
		h.closing(oc, p.Transactions())
		app = p.App()
		// Its transactions are handed on below: they no longer count
		// against the transactions open connections may keep.
		defer p.Release()
	}
	h.limits.addConn(p)
	count := oc.log.Len()
	found := h.engine.ConnectionLog(c, app, &oc.log)

	cr := newConnReport(c, h.in.Index, p, count)
	cr.ID = oc.id
	if h.a.opts.KeepSegments {
		cr.Segments = append([]reassembly.SegmentRecord(nil), c.Segments...)
		cr.SegmentsDropped = c.SegmentsDropped
	}
	if cr.PreviousID != 0 {
		cr.PreviousID = h.a.globalConn(cr.PreviousID)
	}
	if c.ID > h.maxConnID {
		h.maxConnID = c.ID
	}
	h.in.Connections++
	h.in.PayloadBytes += cr.Bytes.ClientToServer + cr.Bytes.ServerToClient
	h.in.Transactions += count
	listConn := h.a.listed.conn(h.a.opts.MaxListedConnections)
	if !listConn {
		h.limits.connsUnlisted++
	}
	var trs []*TxnReport // every transaction, for Events
	l := h.a.listing
	for _, e := range oc.entries {
		listTxn := listConn && h.a.listed.txn(h.a.opts.MaxListedTransactions)
		if !listTxn {
			if listConn {
				h.limits.txnsUnlisted++
			} else {
				h.limits.txnsOfUnlistedConns++
			}
			if h.a.opts.Events == nil {
				continue
			}
		}
		if e.tr == nil {
			// Encoded already, or numbered and not kept: the index entry
			// is enough.
			l.addTxnRef(e.ref)
			continue
		}
		trs = append(trs, e.tr)
		switch {
		case !listTxn:
		case l != nil:
			l.addTxn(e.tr)
		default:
			h.a.report.Transactions = append(h.a.report.Transactions, e.tr)
		}
	}
	// The listing was full when these settled; it still is.
	if listConn {
		h.limits.txnsUnlisted += int64(oc.unbuilt)
	} else {
		h.limits.txnsOfUnlistedConns += int64(oc.unbuilt)
	}
	switch {
	case !listConn:
	case l != nil:
		l.addConn(cr)
	default:
		h.a.report.Connections = append(h.a.report.Connections, cr)
	}
	if ev := h.a.opts.Events; ev != nil {
		ev.Connection(cr, trs)
		for _, f := range found {
			f.Connection = h.a.globalConn(f.Connection)
			fr := newFindingReport(f)
			if f.Transaction != nil {
				fr.Transaction = f.Transaction.ID // provisional: the Report renumbers
			}
			ev.Finding(fr)
		}
	}
}

// String gives a one-line description of an input for error messages.
func (in *InputReport) String() string {
	return fmt.Sprintf("%s (%s, %d %s)", in.Name, in.Format, in.Packets, english.Noun(int(in.Packets), "packet"))
}

// Warn adds a warning to the input added last (e.g. kernel drops seen by a
// live capture once it stopped).
func (a *Analyzer) Warn(msg string) {
	if n := len(a.report.Inputs); n > 0 {
		in := a.report.Inputs[n-1]
		in.Warnings = append(in.Warnings, msg)
	}
}

// AddUnreadable records an input that could not be opened at all, so the
// report still names it.
func (a *Analyzer) AddUnreadable(name string, err error) {
	a.report.Inputs = append(a.report.Inputs, &InputReport{
		Index:    len(a.report.Inputs),
		Name:     name,
		Skipped:  map[string]int64{},
		Warnings: []string{},
		Error:    err.Error(),
	})
}
