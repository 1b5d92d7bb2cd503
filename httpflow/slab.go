package httpflow

import (
	"math/bits"
	"sync"
	"unsafe"
)

// slab hands out the strings, header slices and transaction records of one
// connection from a few larger allocations, so that a keep-alive
// connection does not pay several allocations per message. Chunks grow
// from small to slabMax, so a short connection wastes little.
//
// Strings are made with unsafe.String over slab bytes that are written
// once, when the string is made, and never again: that is what makes them
// safe to share.
type slab struct {
	bytes   []byte
	headers []Header
	boxes   []txnBox
	extras  []MessageExtra
	// recycle is Config.RecycleTransactions: every chunk of records comes
	// from boxCache and is listed in boxChunks, for recycleBoxes to give
	// back, and the first text chunks are allocated on their own when
	// first needed (not in a slabFirst with the first record).
	recycle   bool
	boxChunks [][]txnBox
	// firstChunks backs boxChunks for a connection of up to 191
	// transactions (chunks of 1, 2, ... 64 and 64) without allocating.
	firstChunks [8][]txnBox

	nextBytes, nextHeaders, nextBoxes, nextExtras int
	// freed are records Config.ForgetSettled let go, for box to hand out
	// again.
	freed []*txnBox
}

// boxCache holds zeroed chunks of transaction records given back by
// connections released with Config.RecycleTransactions, by size (chunks
// of 1<<k records in chunks[k]), up to boxCacheBytes in all; a chunk
// given back to a full cache is left to the collector. Unlike a
// sync.Pool, which the collector empties every other cycle, it keeps the
// chunks of closed connections for the next ones across collections: a
// keep-alive capture then allocates, clears and faults in no new record
// memory (about 3 % of the parsing stage's CPU on keepalive.pcap). It is
// shared by every parser in the process, hence the lock (taken once per
// chunk of up to 64 records).
var boxCache struct {
	sync.Mutex
	chunks [slabMaxBoxesLog2 + 1][][]txnBox
	bytes  int
}

// boxCacheBytes bounds boxCache: 4 MiB is the records of about 4 700
// transactions, more than the connections open at one time hold in the
// keep-alive captures measured, and far below the peak RSS bound.
const boxCacheBytes = 4 << 20

// takeBoxes returns a zeroed chunk of n records, n a power of two up to
// slabMaxBoxes, recycled when one is at hand.
func takeBoxes(n int) []txnBox {
	k := bits.TrailingZeros(uint(n))
	boxCache.Lock()
	if l := len(boxCache.chunks[k]); l > 0 {
		c := boxCache.chunks[k][l-1]
		boxCache.chunks[k][l-1] = nil
		boxCache.chunks[k] = boxCache.chunks[k][:l-1]
		boxCache.bytes -= n * int(unsafe.Sizeof(txnBox{}))
		boxCache.Unlock()
		return c
	}
	boxCache.Unlock()
	return make([]txnBox, n)
}

// giveBoxes zeroes chunk c and keeps it in boxCache, when there is room.
// Zeroing here, not when a chunk is taken again, keeps a cached chunk from
// holding the old connection's strings alive (and a released transaction
// from reading as it was, cached or not).
func giveBoxes(c []txnBox) {
	clear(c)
	size := len(c) * int(unsafe.Sizeof(txnBox{}))
	boxCache.Lock()
	if boxCache.bytes+size <= boxCacheBytes {
		k := bits.TrailingZeros(uint(len(c)))
		boxCache.chunks[k] = append(boxCache.chunks[k], c)
		boxCache.bytes += size
	}
	boxCache.Unlock()
}

// recycleBoxes gives the slab's chunks of records to boxCache.
func (a *slab) recycleBoxes() {
	for i, c := range a.boxChunks {
		giveBoxes(c)
		a.boxChunks[i] = nil
	}
	a.boxChunks = a.boxChunks[:0]
}

// The first chunks fit a one-transaction connection (a request and a
// response of a few short headers: about 200 bytes of header text and 6
// fields), the commonest connection in captures of short connections, where
// larger first chunks were a fifth of everything httpflow allocated.
// Keep-alive connections grow past them in a few doublings.
const (
	slabFirstBytes   = 256
	slabFirstHeaders = 8
	slabMaxBytes     = 32 << 10
	slabMaxHeaders   = 1 << 10
	slabFirstExtras  = 2 // the header lists of a request and its response
	// slabMaxExtras is small: with header fields kept every message has
	// a MessageExtra, and each connection's last chunk is half empty on
	// average. At 256 (35 KB chunks), -f har on the keepalive-hoard
	// capture (internal/hostile: 1 000 connections that stay open)
	// peaked at 268 MB against 206 before the MessageExtras, and the
	// collector, working near the CLI's memory limit, took it from 5.9
	// to 15.8 CPU-s; at 16, 215 MB and 6.8 CPU-s.
	slabMaxExtras    = 16
	slabMaxBoxesLog2 = 6
	slabMaxBoxes     = 1 << slabMaxBoxesLog2
)

// slabFirst is a connection's first chunk of each kind in one allocation
// (1360 bytes, the 1408-byte size class): a connection of one transaction
// then costs one allocation for its record, header slices and strings
// instead of three.
type slabFirst struct {
	box     [1]txnBox
	extras  [slabFirstExtras]MessageExtra
	headers [slabFirstHeaders]Header
	bytes   [slabFirstBytes]byte
}

// begin installs the first chunks, the first time the slab is asked for
// anything: a connection that never carries HTTP allocates nothing.
func (a *slab) begin() {
	f := new(slabFirst)
	a.boxes, a.headers, a.bytes, a.extras = f.box[:0], f.headers[:0], f.bytes[:0], f.extras[:0]
	a.nextBoxes, a.nextHeaders, a.nextBytes, a.nextExtras = len(f.box), len(f.headers), len(f.bytes), len(f.extras)
}

// string returns a string holding a copy of b: in the slab, or from the
// heap when a is nil.
func (a *slab) string(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	if a == nil {
		return string(b)
	}
	if a.nextBytes == 0 && !a.recycle {
		a.begin()
	}
	if len(b) > cap(a.bytes)-len(a.bytes) {
		a.nextBytes = min(max(a.nextBytes*2, slabFirstBytes), slabMaxBytes)
		a.bytes = make([]byte, 0, max(len(b), a.nextBytes))
	}
	start := len(a.bytes)
	a.bytes = append(a.bytes, b...)
	return unsafe.String(&a.bytes[start], len(b))
}

// keep returns s, copied into the slab when there is one (s then aliases
// memory that is about to be reused); a nil slab returns s itself.
func (a *slab) keep(s string) string {
	if a == nil || s == "" {
		return s
	}
	return a.string(unsafe.Slice(unsafe.StringData(s), len(s)))
}

// tempString returns a string over b without copying: it must not be
// kept past the next change to b.
func tempString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

// headerSlice returns n zeroed Headers, capped so that appending to them
// cannot reach another message's; from the heap when a is nil.
func (a *slab) headerSlice(n int) []Header {
	if a == nil {
		return make([]Header, n)
	}
	if a.nextHeaders == 0 && !a.recycle {
		a.begin()
	}
	if n > cap(a.headers)-len(a.headers) {
		a.nextHeaders = min(max(a.nextHeaders*2, slabFirstHeaders), slabMaxHeaders)
		a.headers = make([]Header, 0, max(n, a.nextHeaders))
	}
	start := len(a.headers)
	a.headers = a.headers[:start+n]
	return a.headers[start : start+n : start+n]
}

// extra returns m.Extra, made first when m has none: from the slab, or
// from the heap when a is nil (for what is rare enough, such as
// anomalies, or has no slab at hand).
func (a *slab) extra(m *Message) *MessageExtra {
	if m.Extra != nil {
		return m.Extra
	}
	if a == nil {
		m.Extra = new(MessageExtra)
		return m.Extra
	}
	if a.nextExtras == 0 && !a.recycle {
		a.begin()
	}
	if len(a.extras) == cap(a.extras) {
		a.nextExtras = min(max(a.nextExtras*2, slabFirstExtras), slabMaxExtras)
		a.extras = make([]MessageExtra, 0, a.nextExtras)
	}
	a.extras = a.extras[:len(a.extras)+1]
	m.Extra = &a.extras[len(a.extras)-1]
	return m.Extra
}

// free takes back a record nothing reads any more.
func (a *slab) free(b *txnBox) { a.freed = append(a.freed, b) }

// box returns a zeroed transaction record.
func (a *slab) box() *txnBox {
	if n := len(a.freed); n > 0 {
		b := a.freed[n-1]
		a.freed[n-1] = nil
		a.freed = a.freed[:n-1]
		*b = txnBox{}
		return b
	}
	if a.nextBoxes == 0 && !a.recycle {
		a.begin()
	}
	if len(a.boxes) == cap(a.boxes) {
		a.nextBoxes = min(max(a.nextBoxes*2, 1), slabMaxBoxes)
		if a.recycle {
			c := takeBoxes(a.nextBoxes)
			if a.boxChunks == nil {
				a.boxChunks = a.firstChunks[:0]
			}
			a.boxChunks = append(a.boxChunks, c)
			a.boxes = c[:0]
		} else {
			a.boxes = make([]txnBox, 0, a.nextBoxes)
		}
	}
	a.boxes = a.boxes[:len(a.boxes)+1]
	return &a.boxes[len(a.boxes)-1]
}
