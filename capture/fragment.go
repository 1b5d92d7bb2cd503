package capture

import (
	"bytes"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/connscope/connscope/internal/english"
)

// IP fragment reassembly. A datagram too large for a link is cut into
// fragments: IPv4 by the sender or any router (unless Don't Fragment is
// set), IPv6 only by the sender (a Fragment extension header). Each
// fragment carries the datagram's identification, the offset of its bytes
// in the datagram (a multiple of 8) and a More Fragments flag, clear on the
// last one. The Decoder holds fragments until their datagram is whole, then
// decodes the datagram as one packet: the fragment that completed it (what
// Wireshark reports as "Reassembled in #N") gives the frame number, the time
// and the link-layer fields.
//
// The limits follow Linux: a datagram must be complete within
// FragmentTimeoutIPv4 or FragmentTimeoutIPv6 of capture time from its first
// fragment; all held fragments together are charged at most
// MaxFragmentBytes (the buffers that hold their bytes, plus
// fragmentOverhead each) and at most MaxFragmentDatagrams datagrams wait at
// once; past either cap the oldest datagram is dropped.

const (
	// FragmentTimeoutIPv4 and FragmentTimeoutIPv6 are how long, in capture
	// time (nanoseconds), a datagram may wait for its missing fragments
	// (Linux's ipfrag_time, 30 s, and ip6frag_time, 60 s).
	FragmentTimeoutIPv4 int64 = 30e9
	FragmentTimeoutIPv6 int64 = 60e9
	// MaxFragmentBytes caps the memory held by incomplete datagrams (Linux's
	// ipfrag_high_thresh, 4 MiB); MaxFragmentDatagrams caps their number.
	MaxFragmentBytes     = 4 << 20
	MaxFragmentDatagrams = 4096
	// MaxFragmentsPerDatagram caps the fragments one datagram may hold, so
	// that checking whether it is complete stays cheap; a datagram needs at
	// most 1366 fragments on the smallest IPv4 MTU (68).
	MaxFragmentsPerDatagram = 2048

	// fragmentOverhead is what a held fragment is charged besides its
	// bytes: its record, and a share of its datagram's.
	fragmentOverhead = 64
	// Datagrams that leave the table go to a free list for the next ones
	// (at most maxFreeDatagrams, and only with their buffers up to
	// maxFreeBuffer bytes and maxFreePieces pieces), so that steady
	// fragmented traffic allocates nothing per datagram.
	maxFreeDatagrams = 64
	maxFreeBuffer    = 16 << 10
	maxFreePieces    = 64
	// maxDatagramLength is the largest IPv4 total length and the largest
	// IPv6 payload length.
	maxDatagramLength = 65535
)

// FragmentDrop says why fragments were dropped instead of reassembled.
type FragmentDrop uint8

// Reasons for dropping fragments. Their String values are stable snake_case
// keys for reports.
const (
	// FragmentTimeout: the datagram was not complete within its timeout.
	FragmentTimeout FragmentDrop = iota
	// FragmentOverlap: an IPv6 fragment overlapped another of the same
	// datagram (other than as an exact copy); RFC 5722 drops the whole
	// datagram and any fragment of it that comes later.
	FragmentOverlap
	// FragmentOverCap: held fragments reached MaxFragmentBytes,
	// MaxFragmentDatagrams or MaxFragmentsPerDatagram; the oldest datagram
	// went.
	FragmentOverCap
	// FragmentTooLong: the fragment reaches past the largest datagram (65535
	// bytes of IPv4 total length or IPv6 payload length).
	FragmentTooLong
	// FragmentMalformed: a fragment with no bytes, a fragment with More
	// Fragments whose length is not a multiple of 8, two last fragments
	// that disagree on the datagram's end, or a fragment past that end.
	FragmentMalformed
	// FragmentTruncated: the snap length cut the fragment (or its IP length
	// claims more than the frame held), so its bytes are not all there.
	FragmentTruncated

	numFragmentDrops
)

var fragmentDropNames = [numFragmentDrops]string{
	FragmentTimeout:   "timeout",
	FragmentOverlap:   "overlap",
	FragmentOverCap:   "over_cap",
	FragmentTooLong:   "too_long",
	FragmentMalformed: "malformed",
	FragmentTruncated: "truncated",
}

// String returns the reason's stable snake_case key.
func (r FragmentDrop) String() string {
	if r < numFragmentDrops {
		return fragmentDropNames[r]
	}
	return "fragment_drop_" + strconv.Itoa(int(r))
}

// FragmentDrops lists every drop reason, in order.
func FragmentDrops() []FragmentDrop {
	out := make([]FragmentDrop, 0, numFragmentDrops)
	for r := FragmentTimeout; r < numFragmentDrops; r++ {
		out = append(out, r)
	}
	return out
}

// FragmentStats counts what IP fragment reassembly did. Every fragment
// frame ends up in exactly one of: Fragments (part of a reassembled
// datagram), Duplicates, Dropped, or Held (still waiting).
type FragmentStats struct {
	// Datagrams is the datagrams reassembled; each was decoded as one
	// packet, in the frame of the fragment that completed it.
	Datagrams uint64
	// Fragments is the fragments that went into them, the completing ones
	// included. Fragments - Datagrams frames yielded nothing of their own
	// and are not counted as skipped.
	Fragments uint64
	// Duplicates is the fragments ignored as exact copies (same offset,
	// length and bytes) of one already held: capture duplicates.
	Duplicates uint64
	// Overlaps is the IPv4 fragments whose bytes overlapped a held
	// fragment's with different content. They are kept; where fragments
	// overlap, the bytes of the one with the lower offset win (on equal
	// offsets the one that came first), as in tshark and BSD.
	Overlaps uint64
	// Dropped counts fragments dropped, by reason (the fragments already
	// held by a dropped datagram, and the one that caused it).
	Dropped [numFragmentDrops]uint64
	// Held and HeldDatagrams are the fragments, and their datagrams, still
	// waiting for missing pieces when Stats was called (at the end of a
	// capture: datagrams that never completed).
	Held, HeldDatagrams uint64
}

// DroppedTotal is the number of fragments dropped for any reason.
func (s *FragmentStats) DroppedTotal() uint64 {
	var n uint64
	for _, c := range s.Dropped {
		n += c
	}
	return n
}

// fragmentDropWords say each drop reason in a warning.
var fragmentDropWords = [numFragmentDrops]string{
	FragmentTimeout:   "timed out",
	FragmentOverlap:   "overlapped in IPv6 (RFC 5722)",
	FragmentOverCap:   fmt.Sprintf("over the cap (%d MiB, %d datagrams)", MaxFragmentBytes>>20, MaxFragmentDatagrams),
	FragmentTooLong:   "past 65535 bytes",
	FragmentMalformed: "malformed",
	FragmentTruncated: "cut by the snap length",
}

// Warning says in one line, for a report's warnings, which fragments could
// not be reassembled and why, and how many IPv4 fragments overlapped with
// different bytes; "" when there is nothing to say. Duplicates are not
// worth a warning.
func (s *FragmentStats) Warning() string {
	var parts []string
	for r, n := range s.Dropped {
		if n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, fragmentDropWords[r]))
		}
	}
	if s.Held > 0 {
		parts = append(parts, fmt.Sprintf("%d still incomplete at the end", s.Held))
	}
	var out string
	if lost := s.DroppedTotal() + s.Held; lost > 0 {
		out = fmt.Sprintf("%d IP %s could not be reassembled (%s): any TCP segment they carried is missing",
			lost, english.Noun(int(lost), "fragment"), strings.Join(parts, ", "))
	}
	if s.Overlaps > 0 {
		if out != "" {
			out += "; "
		}
		out += fmt.Sprintf("%d IPv4 %s overlapped held ones with different bytes (the lower offset's bytes were kept, as tshark keeps them)",
			s.Overlaps, english.Noun(int(s.Overlaps), "fragment"))
	}
	return out
}

// fragmentKey identifies a datagram: IPv4 by source, destination, protocol
// and identification; IPv6 by source, destination and identification
// (protocol 0: the next header is not part of the key).
type fragmentKey struct {
	src, dst netip.Addr
	id       uint32
	proto    uint8
}

// fragmentPiece is one held fragment: bytes [offset, end) of the datagram
// (of its fragmentable part, for IPv6), kept in its datagram's buf from
// index at.
type fragmentPiece struct {
	offset, end, at int
}

// fragmentDatagram is a datagram waiting for fragments.
type fragmentDatagram struct {
	key      fragmentKey
	ipv6     bool
	deadline int64 // capture time past which it is dropped
	// pieces are sorted by offset; pieces of equal offset in arrival order.
	pieces []fragmentPiece
	// buf holds the pieces' bytes, in arrival order.
	buf []byte
	// length is the datagram's length once its last fragment came; -1
	// before.
	length int
	// nextHeader is the IPv6 next header of the fragment at offset 0.
	nextHeader uint8
	// headerBytes is what precedes the fragmentable part (the IPv4 header,
	// or IPv6's unfragmentable extension headers and the fragment header):
	// with it the datagram may not pass maxDatagramLength.
	headerBytes int
	// poisoned: an IPv6 overlap dropped the datagram; fragments of it that
	// come before the deadline are dropped too.
	poisoned bool
	charge   int // bytes charged against MaxFragmentBytes: cap(buf) and fragmentOverhead per piece
	// older and newer link the datagrams of one IP version in order of
	// creation, so expiry and eviction start from the oldest.
	older, newer *fragmentDatagram
}

// fragmentList is a list of datagrams in order of creation.
type fragmentList struct{ oldest, newest *fragmentDatagram }

func (l *fragmentList) push(g *fragmentDatagram) {
	g.older, g.newer = l.newest, nil
	if l.newest != nil {
		l.newest.newer = g
	} else {
		l.oldest = g
	}
	l.newest = g
}

func (l *fragmentList) remove(g *fragmentDatagram) {
	if g.older != nil {
		g.older.newer = g.newer
	} else {
		l.oldest = g.newer
	}
	if g.newer != nil {
		g.newer.older = g.older
	} else {
		l.newest = g.older
	}
	g.older, g.newer = nil, nil
}

// fragmentTable holds the datagrams being reassembled. A Decoder makes one
// at its first fragment.
type fragmentTable struct {
	datagrams map[fragmentKey]*fragmentDatagram
	lists     [2]fragmentList // [0] IPv4, [1] IPv6
	bytes     int             // charged by all held datagrams
	held      int             // fragments held
	stats     FragmentStats
	// assembled holds the last datagram put together; it is reused, so a
	// Segment decoded from it is valid until the next Decode. nextHeader
	// is its IPv6 next header (from the fragment at offset 0).
	assembled  []byte
	nextHeader uint8
	free       []*fragmentDatagram
}

func newFragmentTable() *fragmentTable {
	return &fragmentTable{datagrams: map[fragmentKey]*fragmentDatagram{}}
}

// fragment is one fragment as the decoder read it.
type fragment struct {
	key         fragmentKey
	ipv6        bool
	offset      int  // in bytes
	more        bool // More Fragments
	nextHeader  uint8
	headerBytes int
	data        []byte // the fragment's bytes, all of them (cut fragments never get here)
	time        int64
}

// add files f. When f completes its datagram, add returns the datagram's
// bytes (valid until the next add) and how many fragments it held before
// f; otherwise nil.
func (t *fragmentTable) add(f *fragment) (datagram []byte, before int) {
	t.expire(f.time)
	end := f.offset + len(f.data)
	g := t.datagrams[f.key]
	switch {
	case g != nil && g.poisoned:
		t.drop(FragmentOverlap, 1)
		return nil, 0
	case len(f.data) == 0 || f.more && len(f.data)%8 != 0:
		t.drop(FragmentMalformed, 1)
		return nil, 0
	case f.headerBytes+end > maxDatagramLength:
		t.drop(FragmentTooLong, 1)
		return nil, 0
	}
	if g == nil {
		timeout := FragmentTimeoutIPv4
		if f.ipv6 {
			timeout = FragmentTimeoutIPv6
		}
		g = t.newDatagram()
		g.key, g.ipv6, g.deadline, g.length = f.key, f.ipv6, f.time+timeout, -1
		t.recharge(g)
		t.datagrams[f.key] = g
		t.list(g).push(g)
		for len(t.datagrams) > MaxFragmentDatagrams {
			t.dropDatagram(t.oldest(), FragmentOverCap, 0)
		}
	}

	// Where the datagram ends: the last fragment says, and every
	// fragment must agree with it.
	if !f.more {
		if g.length >= 0 && g.length != end || g.maxEnd() > end {
			t.dropDatagram(g, FragmentMalformed, 1)
			return nil, 0
		}
		g.length = end
	} else if g.length >= 0 && end > g.length {
		t.dropDatagram(g, FragmentMalformed, 1)
		return nil, 0
	}

	keep, dup, overlap, conflict := g.compare(f.offset, end, f.data)
	switch {
	case dup:
		t.stats.Duplicates++
		return nil, 0
	case overlap && g.ipv6:
		t.dropDatagram(g, FragmentOverlap, 1)
		g.poisoned = true // dropDatagram keeps it in the table, empty, till its deadline
		return nil, 0
	case conflict:
		t.stats.Overlaps++
	}
	// A fragment whose every byte is already held, by pieces that win
	// over it, is part of the datagram without its bytes being stored.
	piece := fragmentPiece{offset: f.offset, end: f.offset}
	if keep {
		piece.end, piece.at = end, len(g.buf)
		g.buf = append(g.buf, f.data...)
	}
	g.insert(piece)
	t.held++
	t.recharge(g)
	if f.offset == 0 {
		g.nextHeader = f.nextHeader
		g.headerBytes = f.headerBytes
	}
	if len(g.pieces) > MaxFragmentsPerDatagram {
		t.dropDatagram(g, FragmentOverCap, 0)
		return nil, 0
	}
	for t.bytes > MaxFragmentBytes {
		victim := t.oldest()
		t.dropDatagram(victim, FragmentOverCap, 0)
		if victim == g {
			return nil, 0
		}
	}

	if g.length < 0 || !g.complete() {
		return nil, 0
	}
	t.assembled = g.assemble(t.assembled[:0])
	t.nextHeader = g.nextHeader
	before = len(g.pieces) - 1
	t.stats.Datagrams++
	t.stats.Fragments += uint64(len(g.pieces))
	t.remove(g)
	return t.assembled, before
}

// newDatagram takes a datagram from the free list, or makes one.
func (t *fragmentTable) newDatagram() *fragmentDatagram {
	if n := len(t.free); n > 0 {
		g := t.free[n-1]
		t.free[n-1] = nil
		t.free = t.free[:n-1]
		return g
	}
	return &fragmentDatagram{}
}

// recharge brings g's charge, and the table's, up to date.
func (t *fragmentTable) recharge(g *fragmentDatagram) {
	c := cap(g.buf) + fragmentOverhead*len(g.pieces)
	t.bytes += c - g.charge
	g.charge = c
}

// empty lets go of g's fragments and its charge.
func (t *fragmentTable) empty(g *fragmentDatagram) {
	t.held -= len(g.pieces)
	t.bytes -= g.charge
	g.pieces, g.buf, g.charge = g.pieces[:0], g.buf[:0], 0
}

// data is the bytes of piece p of g.
func (g *fragmentDatagram) data(p fragmentPiece) []byte {
	return g.buf[p.at : p.at+p.end-p.offset]
}

// maxEnd is the end of the datagram's furthest held piece (0 when none).
func (g *fragmentDatagram) maxEnd() int {
	n := 0
	for _, p := range g.pieces {
		n = max(n, p.end)
	}
	return n
}

// compare looks at [offset, end) against the held pieces: dup when a piece
// has exactly that range and those bytes; overlap when a held piece
// overlaps it otherwise; conflict when the overlapping bytes differ; keep
// when some of its bytes are not already decided by a piece that wins over
// it (one with a lower offset, or the same offset and held before).
func (g *fragmentDatagram) compare(offset, end int, data []byte) (keep, dup, overlap, conflict bool) {
	covered := offset // bytes [offset, covered) are won by held pieces
	for _, p := range g.pieces {
		lo, hi := max(offset, p.offset), min(end, p.end)
		if lo >= hi {
			continue
		}
		same := bytes.Equal(data[lo-offset:hi-offset], g.data(p)[lo-p.offset:hi-p.offset])
		if p.offset == offset && p.end == end && same {
			return false, true, false, false
		}
		overlap = true
		conflict = conflict || !same
		if p.offset <= offset && p.end > covered {
			covered = p.end
		}
	}
	return covered < end, false, overlap, conflict
}

// insert adds p after every piece whose offset is not greater.
func (g *fragmentDatagram) insert(p fragmentPiece) {
	i := len(g.pieces)
	for i > 0 && g.pieces[i-1].offset > p.offset {
		i--
	}
	g.pieces = append(g.pieces, fragmentPiece{})
	copy(g.pieces[i+1:], g.pieces[i:])
	g.pieces[i] = p
}

// complete reports whether the held pieces cover [0, length).
func (g *fragmentDatagram) complete() bool {
	covered := 0
	for _, p := range g.pieces {
		if p.offset > covered {
			return false
		}
		covered = max(covered, p.end)
	}
	return covered >= g.length
}

// assemble appends the datagram's bytes to out: in offset order, each piece
// giving only the bytes no piece before it gave.
func (g *fragmentDatagram) assemble(out []byte) []byte {
	for _, p := range g.pieces {
		if have := len(out); p.end > have {
			out = append(out, g.data(p)[have-p.offset:]...)
		}
	}
	return out
}

func (t *fragmentTable) list(g *fragmentDatagram) *fragmentList {
	if g.ipv6 {
		return &t.lists[1]
	}
	return &t.lists[0]
}

// oldest is the datagram created first, of either version.
func (t *fragmentTable) oldest() *fragmentDatagram {
	a, b := t.lists[0].oldest, t.lists[1].oldest
	if a == nil || b != nil && b.deadline-FragmentTimeoutIPv6 < a.deadline-FragmentTimeoutIPv4 {
		return b
	}
	return a
}

// expire drops the datagrams whose deadline now has passed. Capture time
// may step backwards; a datagram then simply waits longer.
func (t *fragmentTable) expire(now int64) {
	for i := range t.lists {
		for g := t.lists[i].oldest; g != nil && now > g.deadline; g = t.lists[i].oldest {
			if g.poisoned {
				t.remove(g)
			} else {
				t.dropDatagram(g, FragmentTimeout, 0)
			}
		}
	}
}

// drop counts n fragments dropped for reason r.
func (t *fragmentTable) drop(r FragmentDrop, n int) { t.stats.Dropped[r] += uint64(n) }

// dropDatagram drops g's fragments, and extra more (those that caused it),
// for reason r. A dropped datagram leaves the table, but for a poisoned one
// the caller keeps it as a marker, empty, until its deadline.
func (t *fragmentTable) dropDatagram(g *fragmentDatagram, r FragmentDrop, extra int) {
	if g == nil {
		t.drop(r, extra)
		return
	}
	t.drop(r, len(g.pieces)+extra)
	if r == FragmentOverlap && g.ipv6 {
		t.empty(g)
		g.pieces, g.buf = nil, nil // a marker holds no memory
		return
	}
	t.remove(g)
}

// remove takes g out of the table (its fragments must be counted already).
func (t *fragmentTable) remove(g *fragmentDatagram) {
	if t.datagrams[g.key] != g {
		return
	}
	t.empty(g)
	delete(t.datagrams, g.key)
	t.list(g).remove(g)
	if len(t.free) < maxFreeDatagrams {
		if cap(g.buf) > maxFreeBuffer {
			g.buf = nil
		}
		if cap(g.pieces) > maxFreePieces {
			g.pieces = nil
		}
		*g = fragmentDatagram{pieces: g.pieces, buf: g.buf}
		t.free = append(t.free, g)
	}
}

// snapshot is the table's stats with the held counts filled in.
func (t *fragmentTable) snapshot() FragmentStats {
	st := t.stats
	st.Held = uint64(t.held)
	for _, g := range t.datagrams {
		if !g.poisoned {
			st.HeldDatagrams++
		}
	}
	return st
}
