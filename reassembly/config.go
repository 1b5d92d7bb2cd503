package reassembly

// Config bounds the Assembler's memory and sets its timeouts. The zero value
// means every default; a zero or negative field means that field's default.
type Config struct {
	// MaxSegmentsPerConn is how many compact SegmentRecords are kept per
	// connection (default 65536). Beyond it the oldest are released and
	// Connection.SegmentsDropped counts them.
	MaxSegmentsPerConn int
	// IdleTimeout is how long, in nanoseconds of capture time, an open
	// connection may go without a packet before it is closed with
	// EndIdleExpired (default 10 minutes).
	IdleTimeout int64
	// MaxConnections is how many connections are tracked at once (default
	// 1<<20). Beyond it the idlest is closed early with EndEvicted and
	// counted in Stats.Evicted.
	MaxConnections int
	// MaxBufferedBytes is how many out-of-order bytes one direction may
	// buffer while it waits for a hole to fill (default 4 MiB). Past it the
	// hole is reported as a Gap and delivery continues.
	MaxBufferedBytes int

	// CloseLinger is how long, in nanoseconds of capture time, a connection
	// that has finished (FIN both ways, or RST) stays in the table before
	// Handler.Closed is called (default 5 s). Late packets of the teardown
	// (the last ACK, a RST after FIN, retransmitted FINs) land in it instead
	// of starting a phantom connection. A SYN that reuses the 4-tuple closes
	// it at once. Added to the API; additive.
	CloseLinger int64
	// ReuseMemory is how long, in nanoseconds of capture time, the Assembler
	// remembers a released connection's 4-tuple so that a later SYN on it
	// can be marked ReusedTuple (default 4 minutes, 2*MSL on most stacks).
	// At most MaxRemembered tuples are kept (default 32768). Additive.
	ReuseMemory   int64
	MaxRemembered int
	// MaxSegmentsTotal bounds the SegmentRecords kept by all open
	// connections together (default 1<<19, 20 MB of 40-byte records): thousands of
	// long-lived connections, each under MaxSegmentsPerConn, could
	// otherwise keep hundreds of millions. When it is reached, the
	// connection adding a record releases its own oldest eighth first
	// (counted in SegmentsDropped and Stats.SegmentsDroppedTotal). Additive.
	MaxSegmentsTotal int
	// RecycleSegments lets the Assembler reuse a connection's
	// Connection.Segments array once Handler.Closed has returned, and
	// the arrays a connection outgrows, for later connections (see
	// segmentCache). A long connection's array is otherwise allocated
	// again, larger, every time it fills: on keepalive.pcap that was 206
	// of the 208 MB reassembly allocated per pass, and with the copying
	// and the collector's work about a sixth of its CPU time. The handler
	// must not keep Connection.Segments, or a slice of it, past Closed
	// (it copies what it keeps); the Connection's other fields stay its
	// own. Additive.
	RecycleSegments bool
}

// Defaults.
const (
	DefaultMaxSegmentsPerConn = 65536
	DefaultIdleTimeout        = int64(10 * 60 * 1e9)
	DefaultMaxConnections     = 1 << 20
	DefaultMaxBufferedBytes   = 4 << 20
	DefaultCloseLinger        = int64(5 * 1e9)
	DefaultReuseMemory        = int64(4 * 60 * 1e9)
	DefaultMaxRemembered      = 32768
	DefaultMaxSegmentsTotal   = 1 << 19
)

// withDefaults returns c with every unset field set to its default.
func (c Config) withDefaults() Config {
	if c.MaxSegmentsPerConn <= 0 {
		c.MaxSegmentsPerConn = DefaultMaxSegmentsPerConn
	}
	if c.IdleTimeout <= 0 {
		c.IdleTimeout = DefaultIdleTimeout
	}
	if c.MaxConnections <= 0 {
		c.MaxConnections = DefaultMaxConnections
	}
	if c.MaxBufferedBytes <= 0 {
		c.MaxBufferedBytes = DefaultMaxBufferedBytes
	}
	if c.CloseLinger <= 0 {
		c.CloseLinger = DefaultCloseLinger
	}
	if c.ReuseMemory <= 0 {
		c.ReuseMemory = DefaultReuseMemory
	}
	if c.MaxRemembered <= 0 {
		c.MaxRemembered = DefaultMaxRemembered
	}
	if c.MaxSegmentsTotal <= 0 {
		c.MaxSegmentsTotal = DefaultMaxSegmentsTotal
	}
	return c
}

// Stats counts what the Assembler has done so far. Everything is a count of
// the whole run except OpenNow and BufferedBytes, which are current values.
type Stats struct {
	Segments          int64 // segments passed to Add
	CaptureDuplicates int64 // segments recognised as frames the capture recorded twice

	Connections int64 // connections opened (== Handler.Opened calls)
	Closed      int64 // Handler.Closed calls
	OpenNow     int   // connections in the table now (lingering ones included)
	PeakOpen    int   // most connections in the table at once

	Expired      int64 // closed for lack of packets (IdleTimeout)
	Evicted      int64 // closed early because MaxConnections was reached
	ReusedTuples int64 // connections whose 4-tuple an earlier connection used

	Gaps              int64 // Gap calls (holes never filled, snaplen cuts)
	GapBytes          int64 // bytes those gaps covered
	BufferOverflows   int64 // holes given up on because MaxBufferedBytes was hit
	BufferedBytes     int   // out-of-order bytes buffered now, all connections
	PeakBufferedBytes int   // most out-of-order bytes buffered at once

	SegmentsDropped int64 // SegmentRecords released because of MaxSegmentsPerConn or MaxSegmentsTotal
	// SegmentsDroppedTotal counts the part of SegmentsDropped released
	// because MaxSegmentsTotal was reached; SegmentsKept is the records
	// open connections keep now.
	SegmentsDroppedTotal int64
	SegmentsKept         int
}
