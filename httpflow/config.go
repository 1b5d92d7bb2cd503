package httpflow

// Default limits. They bound what one connection can make the parser keep,
// so a hostile or broken capture cannot grow memory without bound.
const (
	DefaultMaxHeaderBytes         = 64 << 10
	DefaultMaxHeaders             = 256
	DefaultMaxTransactionsPerConn = 1 << 20
)

// Config bounds what the parser keeps per connection. The zero value means
// the defaults; a field <= 0 takes its default.
type Config struct {
	// MaxHeaderBytes bounds the header block kept for one message (start
	// line, field names and values). Fields beyond it are still interpreted
	// for framing and connection management but not stored, and the
	// message says so with HeadersTruncated. It also bounds one line: the
	// bytes of a longer line are dropped after the first MaxHeaderBytes.
	MaxHeaderBytes int
	// MaxHeaders bounds the number of header fields stored per message.
	MaxHeaders int
	// MaxTransactionsPerConn bounds the transactions kept per connection.
	// Later messages are still parsed (so framing and pairing stay right)
	// but not kept; Conn.TransactionsDropped counts them.
	MaxTransactionsPerConn int
	// Budget, when set, is shared by many Conns and bounds the
	// transactions they keep together (see Budget). Nil means no bound
	// beyond MaxTransactionsPerConn. Additive.
	Budget *Budget
	// DropHeaderFields leaves the header and trailer field lists out:
	// Message.Headers() and Message.Trailers() return nil.
	// Every field is still read for framing and connection management
	// (ConnectionTokens, KeepAlive, ProxyConnection, Expect, Upgrade and
	// the framing keep their values) and HeadersTruncated still says
	// whether the caps were hit; only the list of fields is not kept. For
	// a consumer that never shows header fields this saves most of what
	// a keep-alive connection allocates per message: the []Header and the
	// text of every name and value (about 1.7 kB of the 2.9 kB a
	// transaction with a dozen fields each way costs). Additive.
	DropHeaderFields bool
	// RecycleTransactions makes Release hand the connection's transaction
	// records on to later connections, for a consumer that is done with
	// a connection's transactions once it released it (it copied what it
	// keeps; strings may be kept, they are not recycled). A transaction
	// costs a record of 576 bytes (the Transaction, its request and
	// response; 832 when this was measured) that lives until its
	// connection closes; on a capture of long keep-alive connections
	// recycling them takes that out of what the collector has to
	// allocate, zero and trace (on keepalive.pcap, with DropHeaderFields:
	// 568 -> 256 MB allocated per pass, of which reassembly's 218, and
	// about a fifth of the pass's CPU time). The lists Transactions
	// returns are recycled too (see listCache). The records, and the
	// slice Transactions returned last, are zeroed by Release, so a
	// transaction used after it reads as empty rather than as another
	// connection's. Additive.
	RecycleTransactions bool
	// Settled, when set, is called with each kept transaction as soon as
	// it is over (its final response ended or was lost, and its request
	// is not still being sent), oldest first, from within Data or End: a
	// live display can show a keep-alive connection's requests as they
	// are answered instead of when the connection closes. Its fields are
	// final then, but for an anomaly that bytes after its response may
	// still add to it (body_beyond_content_length), the rare line that
	// goes on after its message ended (the parser then settles nothing
	// more, and Transactions finalizes every transaction again at the
	// close), and its ID, which the callback may set: Transactions keeps
	// it.
	// The *Transaction is the one Transactions returns, valid as long.
	// Transactions the parser could not settle before the close are not
	// given to it. Additive.
	Settled func(*Transaction)
	// ForgetSettled, with Settled, keeps few of the transactions it gave
	// to Settled: a record goes back to the parser for later ones as soon
	// as the parser no longer reads it. Kept are the last settled
	// transaction (the next one's finalize reads it), any whose messages
	// later bytes may still change (an anomaly such as
	// body_beyond_content_length, a line that goes on), the one before
	// each of those, and the connection's first (whose Connect and
	// GapBefore read the handshake). Transactions returns those and the
	// ones that had not settled, final as without ForgetSettled; a consumer
	// that keeps copies of what it was given replaces them, by Index, with
	// what Transactions returns. A transaction's unit of Config.Budget stays
	// taken until Release, as the consumer keeps the transaction. A
	// consumer that takes what it needs in Settled makes the parser's
	// memory for a keep-alive connection independent of how many
	// transactions it carried. Additive.
	ForgetSettled bool
}

func (c Config) withDefaults() Config {
	if c.MaxHeaderBytes <= 0 {
		c.MaxHeaderBytes = DefaultMaxHeaderBytes
	}
	if c.MaxHeaders <= 0 {
		c.MaxHeaders = DefaultMaxHeaders
	}
	if c.MaxTransactionsPerConn <= 0 {
		c.MaxTransactionsPerConn = DefaultMaxTransactionsPerConn
	}
	return c
}
