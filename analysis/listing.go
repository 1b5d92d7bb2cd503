package analysis

import (
	"bufio"
	"cmp"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
)

// A listing keeps the listed connections and transactions of an Analyzer
// run with Options.SpillListing out of the heap: each is encoded (codec.go)
// as it is summarised, into a buffer while the records fit under
// Options.SpillThreshold and into a temporary file after that. In memory
// stays a compact index, one entry per record: where the record is, and
// what Report sorts by (connection ID; transaction start, connection and
// index). Report sorts the index; the iterators read the records back one
// at a time in that order.
//
// The temporary file is created with os.CreateTemp in os.TempDir (so
// TMPDIR chooses the disk) and unlinked at once where the system allows it
// (Linux and every Unix), so it disappears with the process however that
// ends; elsewhere Close removes it.
type listing struct {
	threshold int
	// omitTxns keeps an index entry per listed transaction (so they are
	// numbered as if listed) but no record.
	omitTxns bool

	mem  []byte // the records while they fit under threshold
	file *os.File
	path string
	w    *bufio.Writer
	size int64 // bytes of records written, in mem or file
	// err is the first error creating or writing the file; the run goes
	// on (its totals and findings are still right) and every read of the
	// listing returns it.
	err error
	// warning says the listing stayed in memory because no temporary
	// file could be made; taken once by takeWarning.
	warning       string
	removeOnClose bool
	closed        bool

	conns []connRef
	txns  []txnRef
	enc   recordEncoder

	cache  blockCache
	tokens tokenTable
}

// connRef locates one connection record.
type connRef struct {
	id  int
	off int64
	n   int
}

// txnRef locates one transaction record (n < 0: none kept) and holds the
// keys of the report's transaction order.
type txnRef struct {
	start       Time
	conn, index int
	provisional int
	off         int64
	n           int
}

// DefaultSpillThreshold is the default of Options.SpillThreshold: about
// 5000 connections and transactions stay in memory before the first write
// to disk.
const DefaultSpillThreshold = 1 << 20

// ErrNotListed is returned by Report.EachTransaction when the report was
// built with Options.OmitTransactions: its transactions were counted and
// numbered, not kept.
var ErrNotListed = errors.New("analysis: the report was built without its transaction listing (Options.OmitTransactions)")

func newListing(opts Options) *listing {
	t := opts.SpillThreshold
	if t == 0 {
		t = DefaultSpillThreshold
	}
	return &listing{threshold: max(t, 0), omitTxns: opts.OmitTransactions}
}

func (l *listing) addConn(c *ConnReport) {
	l.enc.b = l.enc.b[:0]
	l.enc.conn(c)
	off, n := l.write(l.enc.b)
	l.conns = append(l.conns, connRef{id: c.ID, off: off, n: n})
}

func (l *listing) addTxn(t *TxnReport) { l.addTxnRef(l.encodeTxn(t)) }

// encodeTxn writes t's record (but with OmitTransactions) and returns its
// index entry, for addTxnRef to list it. A record written and never
// listed is only space in the listing's store.
func (l *listing) encodeTxn(t *TxnReport) txnRef {
	ref := txnRef{start: txnStart(t), conn: t.Connection, index: t.Index, provisional: t.provisional, n: -1}
	if !l.omitTxns {
		l.enc.b = l.enc.b[:0]
		l.enc.txn(t)
		ref.off, ref.n = l.write(l.enc.b)
	}
	return ref
}

// addTxnRef lists a transaction by its index entry alone.
func (l *listing) addTxnRef(ref txnRef) { l.txns = append(l.txns, ref) }

// write appends one record and returns where it went.
func (l *listing) write(rec []byte) (int64, int) {
	if l.err != nil || l.closed {
		return 0, 0
	}
	off := l.size
	if l.file == nil && len(l.mem)+len(rec) > l.threshold {
		l.spill()
		if l.err != nil {
			return 0, 0
		}
	}
	if l.file == nil {
		l.mem = append(l.mem, rec...)
	} else if _, err := l.w.Write(rec); err != nil {
		l.writeFailed(err)
		return 0, 0
	}
	l.size += int64(len(rec))
	return off, len(rec)
}

// spill moves the records from memory to a new temporary file.
func (l *listing) spill() {
	f, err := os.CreateTemp("", "connscope-listing-*")
	if err != nil {
		// A report held in memory beats no report: keep the records in
		// memory from here on and say so.
		l.threshold = math.MaxInt
		l.warning = fmt.Sprintf("the report's listing is held in memory, so memory grows with the listed connections and transactions: no temporary file could be made in %s (set TMPDIR to choose another directory): %v", os.TempDir(), err)
		return
	}
	l.file, l.path = f, f.Name()
	// Unlinked now, the file lives as long as it is open.
	l.removeOnClose = os.Remove(l.path) != nil
	l.w = bufio.NewWriterSize(f, 64<<10)
	if _, err := l.w.Write(l.mem); err != nil {
		l.writeFailed(err)
		return
	}
	l.mem = nil
}

// takeWarning returns the warning about the listing not yet reported, if
// any, once.
func (l *listing) takeWarning() string {
	w := l.warning
	l.warning = ""
	return w
}

// writeFailed is fail for an error writing the temporary file: it names
// the file.
func (l *listing) writeFailed(err error) {
	l.fail(fmt.Errorf("analysis: writing the report's listing to temporary file %s: %w", l.path, err))
}

// fail records err and releases the file and the records: the listing is
// lost, the rest of the run is not.
func (l *listing) fail(err error) {
	if l.err == nil {
		l.err = err
	}
	l.release()
}

// release closes and removes the file and drops the records.
func (l *listing) release() {
	if l.file != nil {
		l.file.Close()
		if l.removeOnClose {
			os.Remove(l.path)
		}
		l.file, l.w = nil, nil
	}
	l.mem = nil
	l.cache = blockCache{}
}

func (l *listing) close() error {
	if !l.closed {
		l.closed = true
		l.release()
	}
	return nil
}

// sort puts the index in report order: connections by ID, transactions by
// start, connection and index, ties in the order they were listed (the
// order Analyzer.Report has always used). Sorting again after more inputs
// gives the order sorting once would have.
func (l *listing) sort() {
	slices.SortStableFunc(l.conns, func(a, b connRef) int { return cmp.Compare(a.id, b.id) })
	slices.SortStableFunc(l.txns, func(a, b txnRef) int {
		return cmp.Or(cmp.Compare(a.start, b.start), cmp.Compare(a.conn, b.conn), cmp.Compare(a.index, b.index))
	})
}

// finalIDs maps the provisional IDs in want to final ones (position in the
// sorted index, from 1); a provisional ID not listed maps to nothing.
func (l *listing) finalIDs(want map[int]int) {
	for i := range l.txns {
		if _, ok := want[l.txns[i].provisional]; ok {
			want[l.txns[i].provisional] = i + 1
		}
	}
}

// readable reports why the records cannot be read, if they cannot, and
// makes what was written readable.
func (l *listing) readable() error {
	if l.err != nil {
		return l.err
	}
	if l.closed {
		return errors.New("analysis: the report was closed")
	}
	if l.w != nil {
		if err := l.w.Flush(); err != nil {
			l.writeFailed(err)
			return l.err
		}
	}
	return nil
}

func (l *listing) conn(i int) (*ConnReport, error) {
	ref := l.conns[i]
	b, err := l.record(ref.off, ref.n)
	if err != nil {
		return nil, err
	}
	d := recordDecoder{b: b, tokens: &l.tokens}
	c := d.conn()
	if c == nil {
		return nil, l.corrupt("connection", ref.id, ref.off)
	}
	return c, nil
}

func (l *listing) txn(i int) (*TxnReport, error) {
	ref := l.txns[i]
	b, err := l.record(ref.off, ref.n)
	if err != nil {
		return nil, err
	}
	d := recordDecoder{b: b, tokens: &l.tokens}
	t := d.txn()
	if t == nil {
		return nil, l.corrupt("transaction", i+1, ref.off)
	}
	t.ID = i + 1
	return t, nil
}

func (l *listing) corrupt(what string, id int, off int64) error {
	where := "memory"
	if l.path != "" {
		where = "temporary file " + l.path
	}
	return fmt.Errorf("analysis: reading %s %d of the report's listing at offset %d in %s: %w", what, id, off, where, errCorruptRecord)
}

func (l *listing) eachConn(fn func(*ConnReport) error) error {
	if err := l.readable(); err != nil {
		return err
	}
	for i := range l.conns {
		c, err := l.conn(i)
		if err != nil {
			return err
		}
		if err := fn(c); err != nil {
			return err
		}
	}
	return nil
}

func (l *listing) eachTxn(fn func(*TxnReport) error) error {
	if l.omitTxns {
		return ErrNotListed
	}
	if err := l.readable(); err != nil {
		return err
	}
	for i := range l.txns {
		t, err := l.txn(i)
		if err != nil {
			return err
		}
		if err := fn(t); err != nil {
			return err
		}
	}
	return nil
}

// record returns the n bytes at off, valid until the next call.
func (l *listing) record(off int64, n int) ([]byte, error) {
	if l.file == nil {
		if off < 0 || n < 0 || off+int64(n) > int64(len(l.mem)) {
			return nil, l.corrupt("record", 0, off)
		}
		return l.mem[off : off+int64(n)], nil
	}
	b, err := l.cache.read(l.file, off, n)
	if err != nil {
		return nil, fmt.Errorf("analysis: reading the report's listing from temporary file %s: %w", l.path, err)
	}
	return b, nil
}

// blockCache reads a file through a few aligned blocks: records are read
// back nearly in the order they were written (connections close roughly
// in the order they open), so most reads are served from a block already
// read, with one system call per block rather than per record.
type blockCache struct {
	slots   [cacheSlots]cacheSlot
	scratch []byte
}

type cacheSlot struct {
	block int64 // block number + 1; 0 when empty
	buf   []byte
}

const (
	cacheBlockSize = 16 << 10
	cacheSlots     = 32
)

func (bc *blockCache) read(f *os.File, off int64, n int) ([]byte, error) {
	if n > cacheBlockSize {
		bc.scratch = slices.Grow(bc.scratch[:0], n)[:n]
		if _, err := f.ReadAt(bc.scratch, off); err != nil {
			return nil, err
		}
		return bc.scratch, nil
	}
	first, last := off/cacheBlockSize, (off+int64(n)-1)/cacheBlockSize
	if first == last {
		blk, err := bc.block(f, first)
		if err != nil {
			return nil, err
		}
		from := int(off - first*cacheBlockSize)
		if from+n > len(blk) {
			return nil, io.ErrUnexpectedEOF
		}
		return blk[from : from+n], nil
	}
	// Across two blocks: copied together.
	bc.scratch = bc.scratch[:0]
	for b := first; b <= last; b++ {
		blk, err := bc.block(f, b)
		if err != nil {
			return nil, err
		}
		from, to := int64(0), int64(len(blk))
		if b == first {
			from = off - b*cacheBlockSize
		}
		if b == last {
			to = off + int64(n) - b*cacheBlockSize
		}
		if from > to || to > int64(len(blk)) {
			return nil, io.ErrUnexpectedEOF
		}
		bc.scratch = append(bc.scratch, blk[from:to]...)
	}
	return bc.scratch, nil
}

// block returns block b of f (shorter at the end of the file).
func (bc *blockCache) block(f *os.File, b int64) ([]byte, error) {
	s := &bc.slots[b%cacheSlots]
	if s.block == b+1 {
		return s.buf, nil
	}
	if s.buf == nil {
		s.buf = make([]byte, cacheBlockSize)
	}
	s.buf = s.buf[:cacheBlockSize]
	k, err := f.ReadAt(s.buf, b*cacheBlockSize)
	if err != nil && !(errors.Is(err, io.EOF) && k > 0) {
		s.block = 0
		return nil, err
	}
	s.buf, s.block = s.buf[:k], b+1
	return s.buf, nil
}
