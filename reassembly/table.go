package reassembly

// connTable maps 4-tuples to open connections. It is keyed by the key's
// 64-bit symmetric hash (a map with a 64-bit key is the fastest Go map), and
// connections whose keys share a hash are chained through conn.hashNext, so
// a collision costs a comparison, never a wrong match.
type connTable struct {
	byHash map[uint64]*conn
	n      int                  // connections in the table
	hash   func(connKey) uint64 // connKey.hash; tests force collisions
}

func newConnTable() connTable {
	return connTable{byHash: make(map[uint64]*conn, 1024), hash: connKey.hash}
}

// get returns the connection on key, or nil.
func (t *connTable) get(key connKey) *conn {
	c := t.byHash[t.hash(key)]
	for c != nil && c.key != key {
		c = c.hashNext
	}
	return c
}

// put adds c, which must not be in the table.
func (t *connTable) put(c *conn) {
	h := t.hash(c.key)
	c.hashNext = t.byHash[h]
	t.byHash[h] = c
	t.n++
}

// remove takes c out of the table; it does nothing if c is not in it.
func (t *connTable) remove(c *conn) {
	h := t.hash(c.key)
	head := t.byHash[h]
	if head == c {
		if c.hashNext == nil {
			delete(t.byHash, h)
		} else {
			t.byHash[h] = c.hashNext
		}
		c.hashNext = nil
		t.n--
		return
	}
	for p := head; p != nil; p = p.hashNext {
		if p.hashNext == c {
			p.hashNext = c.hashNext
			c.hashNext = nil
			t.n--
			return
		}
	}
}

// all returns every connection in the table, in no particular order.
func (t *connTable) all() []*conn {
	out := make([]*conn, 0, t.n)
	for _, c := range t.byHash {
		for ; c != nil; c = c.hashNext {
			out = append(out, c)
		}
	}
	return out
}
