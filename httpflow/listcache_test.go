package httpflow

import (
	"testing"
	"unsafe"
)

// listCache hands out empty lists of a power-of-two capacity, gives back
// the arrays it was given (cleared, so that they keep no record alive) and
// keeps no more than listCacheBytes of them.
func TestListCache(t *testing.T) {
	var c listCache[*txnBox]
	for _, n := range []int{0, 1, 16, 17, 1000, 1 << listCacheMaxLog2} {
		l := c.take(n)
		if len(l) != 0 || cap(l) < max(n, 1) || cap(l)&(cap(l)-1) != 0 || cap(l) < 1<<listCacheMinLog2 {
			t.Errorf("take(%d): len %d cap %d, want an empty list of a power-of-two capacity of at least %d", n, len(l), cap(l), max(n, 1<<listCacheMinLog2))
		}
	}
	if l := c.take(1<<listCacheMaxLog2 + 1); cap(l) != 1<<listCacheMaxLog2+1 {
		t.Errorf("a list longer than the cache's largest: cap %d, want exactly what was asked", cap(l))
	}

	// Given back, an array is cleared, the next take of its size returns
	// it, and the cache's byte count goes back to where it was.
	l := c.take(100)
	b := new(txnBox)
	l = append(l, b, b, b)
	l2 := l[:1] // a list resliced shorter keeps pointers past its length
	c.give(l2)
	if c.bytes != cap(l)*ptrBytes {
		t.Errorf("cache holds %d bytes, want %d", c.bytes, cap(l)*ptrBytes)
	}
	for i, x := range l[:cap(l)] {
		if x != nil {
			t.Fatalf("element %d of a list given back still points to a record", i)
		}
	}
	again := c.take(cap(l))
	if unsafe.SliceData(again) != unsafe.SliceData(l) || len(again) != 0 {
		t.Errorf("take after give: a different array (or not empty): len %d", len(again))
	}
	if c.bytes != 0 {
		t.Errorf("cache holds %d bytes after its only list was taken, want 0", c.bytes)
	}

	// Arrays it would not hand out are not kept: too short, not a power
	// of two.
	c.give(make([]*txnBox, 0, 8))
	c.give(make([]*txnBox, 0, 48))
	if c.bytes != 0 {
		t.Errorf("cache kept %d bytes of arrays it never hands out", c.bytes)
	}

	// The bound: arrays past listCacheBytes are left to the collector.
	const n = 1 << 12
	for range listCacheBytes/(n*ptrBytes) + 3 {
		c.give(make([]*txnBox, 0, n))
	}
	if c.bytes > listCacheBytes || c.bytes != listCacheBytes/(n*ptrBytes)*n*ptrBytes {
		t.Errorf("cache holds %d bytes, want %d (its bound)", c.bytes, listCacheBytes)
	}
}
