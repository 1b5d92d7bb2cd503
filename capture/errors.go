package capture

import (
	"errors"
	"fmt"
)

// Sentinel errors wrapped by *Error. Test with errors.Is.
var (
	// ErrNotCapture: the input does not start with a pcap, pcapng or gzip
	// magic number.
	ErrNotCapture = errors.New("not a pcap or pcapng capture")
	// ErrUnsupportedVersion: a known magic number with a version this reader
	// (and Wireshark) does not read.
	ErrUnsupportedVersion = errors.New("unsupported capture format version")
	// ErrTruncated: the input ended in the middle of a header, record or block.
	ErrTruncated = errors.New("capture file cut short")
	// ErrTooLarge: a length field exceeds the reader's limits (a packet over
	// MaxPacketLength, a block over MaxBlockLength). Such lengths come from
	// damaged or hostile files; refusing them bounds memory.
	ErrTooLarge = errors.New("length exceeds limit")
	// ErrCorrupt: a header or block is inconsistent (bad byte-order mark,
	// lengths that do not add up, an unknown interface).
	ErrCorrupt = errors.New("corrupt capture")
)

// Error reports damaged input: where it is and what is wrong.
//
// Frame is the number the damaged packet would have had (0 when the damage is
// in a file or section header, before any packet); Offset is the byte offset
// in the decompressed input of the header, record or block that is damaged.
// Compressed is set for a gzip-compressed input, whose offsets count
// decompressed bytes and so can lie beyond the size of the file itself.
type Error struct {
	File       string
	Frame      uint64
	Offset     int64
	Compressed bool
	Err        error
}

// Error formats as "FILE: frame N at byte offset X: what", or
// "FILE: at byte offset X: what" when no frame is involved; for a
// compressed input the offset reads "byte offset X of the decompressed
// data".
func (e *Error) Error() string {
	return where(e.File, e.Frame, e.Offset, e.Compressed) + fmt.Sprint(e.Err)
}

// where formats the place an error or warning concerns, up to and
// including the colon that precedes what is wrong.
func where(file string, frame uint64, offset int64, compressed bool) string {
	of := ""
	if compressed {
		of = " of the decompressed data"
	}
	if frame == 0 {
		return fmt.Sprintf("%s: at byte offset %d%s: ", file, offset, of)
	}
	return fmt.Sprintf("%s: frame %d at byte offset %d%s: ", file, frame, offset, of)
}

// Unwrap returns the underlying cause, so errors.Is(err, ErrTruncated) works.
func (e *Error) Unwrap() error { return e.Err }

// WarningKind names a non-fatal oddity with a stable snake_case key.
type WarningKind string

// The warnings a Reader can report.
const (
	// WarnTimeBackwards: a packet's timestamp is earlier than the packet
	// before it. Analysis still uses the packet's own time.
	WarnTimeBackwards WarningKind = "time_backwards"
	// WarnCaplenOverSnaplen: a packet captured more bytes than the snap length
	// declared in the file or interface header. The packet is read whole, as
	// Wireshark does.
	WarnCaplenOverSnaplen WarningKind = "caplen_over_snaplen"
	// WarnCaplenOverOrigLen: a packet claims to have captured more bytes than
	// it had on the wire. Its original length is raised to its captured length.
	WarnCaplenOverOrigLen WarningKind = "caplen_over_original_length"
	// WarnSnaplenZero: the file or interface header declares snap length 0
	// (meaning "unknown" to some writers); packets are read up to the limit.
	WarnSnaplenZero WarningKind = "snaplen_zero"
	// WarnBadTimestamp: a classic pcap fraction of a second is out of range
	// (≥ 1 s); the time is still computed from it.
	WarnBadTimestamp WarningKind = "bad_timestamp_fraction"
	// WarnTimestampOutOfRange: a pcapng timestamp, in its interface's unit
	// and with its offset, falls outside what nanoseconds since 1970 in 64
	// bits can hold (1677-09-21 to 2262-04-11): a damaged stamp or offset. The
	// packet gets the previous packet's time instead of one that wrapped
	// round.
	WarnTimestampOutOfRange WarningKind = "timestamp_out_of_range"
	// WarnDamagedOptions: a pcapng interface description's option list runs
	// past the end of its block. The interface is still used, but the
	// options from the damaged one on are lost: if_tsresol and if_tsoffset
	// among them, so its packets' times may be in the wrong unit.
	// (Wireshark refuses the whole file.)
	WarnDamagedOptions WarningKind = "damaged_options"
)

// Warning is a non-fatal oddity found while reading: where it is and what.
type Warning struct {
	File       string
	Frame      uint64 // 0 when it concerns a header rather than a packet
	Offset     int64
	Compressed bool // Offset counts decompressed bytes (see Error)
	Kind       WarningKind
	Detail     string
}

// String formats like Error: "FILE: frame N at byte offset X: kind: detail".
func (w Warning) String() string {
	return where(w.File, w.Frame, w.Offset, w.Compressed) + string(w.Kind) + ": " + w.Detail
}

// MaxWarnings is how many warnings a Reader keeps; later ones are only
// counted (see Reader.WarningCount).
const MaxWarnings = 100
