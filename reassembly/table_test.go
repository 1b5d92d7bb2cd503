package reassembly

import (
	"net/netip"
	"slices"
	"testing"
)

// TestConnTableCollisions forces every key onto one hash: lookups must
// still find exactly the right connection, and removal from the front,
// middle and back of a chain must keep the others.
func TestConnTableCollisions(t *testing.T) {
	tbl := newConnTable()
	tbl.hash = func(connKey) uint64 { return 42 }
	var conns []*conn
	for i := range 4 {
		k := makeKey(netip.MustParseAddrPort("10.0.0.1:80"), netip.AddrPortFrom(netip.MustParseAddr("10.0.0.2"), uint16(40000+i)))
		c := &conn{key: k}
		conns = append(conns, c)
		tbl.put(c)
	}
	for _, c := range conns {
		if tbl.get(c.key) != c {
			t.Fatalf("get(%v) did not find its connection", c.key)
		}
	}
	for _, i := range []int{1, 3, 0} { // middle, front (last put is the head), back
		tbl.remove(conns[i])
		if tbl.get(conns[i].key) != nil {
			t.Errorf("connection %d still found after remove", i)
		}
	}
	if tbl.n != 1 || tbl.get(conns[2].key) != conns[2] || !slices.Equal(tbl.all(), []*conn{conns[2]}) {
		t.Errorf("left %d connections, want only connection 2", tbl.n)
	}
	tbl.remove(conns[2])
	if tbl.n != 0 || len(tbl.byHash) != 0 {
		t.Errorf("table not empty: n %d buckets %d", tbl.n, len(tbl.byHash))
	}
	tbl.remove(conns[2]) // absent: nothing happens
	if tbl.n != 0 {
		t.Errorf("removing an absent connection changed the count to %d", tbl.n)
	}
}

func TestKeyIsSymmetric(t *testing.T) {
	a, b := netip.MustParseAddrPort("192.0.2.1:40000"), netip.MustParseAddrPort("[2001:db8::1]:80")
	if makeKey(a, b) != makeKey(b, a) || makeKey(a, b).hash() != makeKey(b, a).hash() {
		t.Error("key or hash depends on direction")
	}
	if makeKey(a, b) == makeKey(a, netip.MustParseAddrPort("[2001:db8::1]:81")) {
		t.Error("different tuples share a key")
	}
}
