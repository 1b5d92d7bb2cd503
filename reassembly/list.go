package reassembly

// connList is an intrusive doubly linked list of connections, roughly in
// the order they were last touched: the front is the idlest candidate.
// Insertion and removal are O(1) and allocate nothing, and expiry only ever
// looks at the front (see Assembler.expireList).
type connList struct {
	head, tail *conn
	n          int
}

func (l *connList) pushBack(c *conn) {
	c.list = l
	c.prev, c.next = l.tail, nil
	if l.tail != nil {
		l.tail.next = c
	} else {
		l.head = c
	}
	l.tail = c
	l.n++
}

func (l *connList) remove(c *conn) {
	if c.prev != nil {
		c.prev.next = c.next
	} else {
		l.head = c.next
	}
	if c.next != nil {
		c.next.prev = c.prev
	} else {
		l.tail = c.prev
	}
	c.prev, c.next, c.list = nil, nil, nil
	l.n--
}
