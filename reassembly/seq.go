package reassembly

// Seq is a TCP sequence number. Sequence space is a circle of 2^32 numbers:
// comparisons are only meaningful between numbers less than 2^31 apart, and
// "a before b" means the signed distance from a to b is positive (RFC 9293
// section 3.4, the same rule as gVisor's seqnum). Never compare two Seq
// values with < or > directly: a connection that carries more than 4 GiB, or
// simply starts near 2^32, wraps.
type Seq uint32

// LessThan reports whether s comes strictly before t in sequence space.
func (s Seq) LessThan(t Seq) bool { return int32(s-t) < 0 }

// LessThanEq reports whether s comes before t or equals it.
func (s Seq) LessThanEq(t Seq) bool { return int32(s-t) <= 0 }

// GreaterThan reports whether s comes strictly after t.
func (s Seq) GreaterThan(t Seq) bool { return int32(s-t) > 0 }

// Add returns s advanced by n bytes (n may be negative).
func (s Seq) Add(n int) Seq { return s + Seq(uint32(int64(n))) }

// Diff returns the signed distance from t to s (s - t): positive when s is
// after t.
func (s Seq) Diff(t Seq) int64 { return int64(int32(s - t)) }

// InWindow reports whether s lies in [start, start+size).
func (s Seq) InWindow(start Seq, size uint32) bool {
	return uint32(s-start) < size
}

// minSeq returns whichever of a and b comes earlier in sequence space.
func minSeq(a, b Seq) Seq {
	if a.LessThan(b) {
		return a
	}
	return b
}
