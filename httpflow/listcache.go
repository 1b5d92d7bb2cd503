package httpflow

import (
	"math/bits"
	"sync"
	"unsafe"
)

// listCache keeps the backing arrays of pointer lists that a connection
// grows to its transaction count (Conn.boxes, the slice Transactions
// returns) for the connections after it, by capacity (1<<k elements in
// lists[k]), up to listCacheBytes in all. With Config.RecycleTransactions
// a keep-alive connection of a thousand transactions otherwise leaves
// about 40 KB of such arrays to the collector when it is released, each of
// them zeroed, faulted in and scanned once more for the next connection.
// Shared by every parser in the process, hence the lock (taken once per
// doubling of a list, and twice per connection that grew one).
type listCache[T any] struct {
	sync.Mutex
	lists [listCacheMaxLog2 + 1][][]T
	bytes int
}

const (
	// listCacheMinLog2 is the smallest capacity cached (1<<4): shorter
	// lists cost the collector little, and most connections never grow
	// one that far.
	listCacheMinLog2 = 4
	// listCacheMaxLog2 is the largest (1<<20, MaxTransactionsPerConn's
	// default); larger lists are left to the collector.
	listCacheMaxLog2 = 20
	// listCacheBytes bounds each cache: the lists of a few dozen
	// connections of a thousand transactions.
	listCacheBytes = 1 << 20
)

var (
	boxLists listCache[*txnBox]
	txnLists listCache[*Transaction]
	ptrBytes = int(unsafe.Sizeof(uintptr(0)))
)

// take returns an empty list with room for at least n elements: a cached
// one, or a new one, of a power-of-two capacity.
func (c *listCache[T]) take(n int) []T {
	k := max(bits.Len(uint(max(n, 1)-1)), listCacheMinLog2)
	if k > listCacheMaxLog2 {
		return make([]T, 0, n)
	}
	c.Lock()
	if l := len(c.lists[k]); l > 0 {
		list := c.lists[k][l-1]
		c.lists[k][l-1] = nil
		c.lists[k] = c.lists[k][:l-1]
		c.bytes -= cap(list) * ptrBytes
		c.Unlock()
		return list
	}
	c.Unlock()
	return make([]T, 0, 1<<k)
}

// give clears list and keeps its array for take, when its capacity is a
// cached one and there is room. Clearing here keeps a cached array from
// holding the old connection's records alive.
func (c *listCache[T]) give(list []T) {
	n := cap(list)
	if n < 1<<listCacheMinLog2 || n > 1<<listCacheMaxLog2 || n&(n-1) != 0 {
		return
	}
	clear(list[:n])
	size := n * ptrBytes
	c.Lock()
	if c.bytes+size <= listCacheBytes {
		k := bits.TrailingZeros(uint(n))
		c.lists[k] = append(c.lists[k], list[:0])
		c.bytes += size
	}
	c.Unlock()
}
