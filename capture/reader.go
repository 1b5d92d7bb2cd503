package capture

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// Limits on what a Reader accepts. Lengths above them come from damaged or
// hostile files; the Reader refuses them with an *Error wrapping ErrTooLarge
// instead of allocating what they ask for.
const (
	// MaxPacketLength is the largest captured length of one packet:
	// 256 KiB, Wireshark's limit for ordinary link types
	// (WTAP_MAX_PACKET_SIZE_STANDARD) and libpcap's largest snap length.
	MaxPacketLength = 256 << 10
	// MaxBlockLength is the largest pcapng block: 16 MiB, as in Wireshark.
	MaxBlockLength = 16 << 20

	// readBufferSize holds any whole pcap record, so records are served
	// straight from the buffer (zero copy). pcapng blocks that do not fit are
	// copied into Reader.big. It is no larger than that needs: each refill
	// writes the whole buffer through the CPU's caches, and a buffer the
	// size of the L2 cache (1 MiB on the machines measured) pushed out the
	// parser's and reassembly's state at every refill. With 320 KiB the
	// parsing stage on keepalive.pcap took 0.64-0.66 CPU-s instead of 0.74,
	// and `connscope analyze -f json` 1.35 instead of 1.41 (bench/README.md,
	// ninth round).
	readBufferSize = MaxPacketLength + 64<<10
	// gzipBufferSize buffers the compressed input under the decompressor.
	gzipBufferSize = 64 << 10
	// minBufferSize is the smallest read buffer, for small in-memory inputs.
	minBufferSize = 4 << 10
)

var gzipMagic = []byte{0x1f, 0x8b}

// Reader reads packets from a pcap or pcapng capture, plain or
// gzip-compressed. It is not safe for concurrent use.
type Reader struct {
	name   string
	closer io.Closer // the file Open opened; nil otherwise
	raw    *countingReader
	gz     *gzip.Reader
	br     *bufio.Reader // decompressed input
	format string
	size   int64

	offset int64  // decompressed bytes consumed so far
	frame  uint64 // number of the last frame read (packet or not)
	// nonPacketFrames counts records Wireshark numbers as frames but that
	// carry no packet (pcapng custom and systemd journal blocks).
	nonPacketFrames uint64
	done            bool // EOF or damage seen: Next returns io.EOF from now on

	lastTime     int64
	haveLastTime bool

	warnings  []Warning
	warnCount int

	pkt Packet
	big []byte // holds blocks too large for br's buffer

	readPacket func() (*Packet, error) // readPcapRecord or readPcapngPacket
	pcap       pcapState
	ng         pcapngState
}

// Open opens a capture file ("-" means standard input) and detects its
// format from the magic number, never from the name.
func Open(name string) (*Reader, error) {
	if name == "-" {
		return newReader(os.Stdin, "standard input", nil)
	}
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	if fi, err := f.Stat(); err == nil && fi.IsDir() {
		f.Close()
		return nil, fmt.Errorf("%s: %w: it is a directory", name, ErrNotCapture)
	}
	r, err := newReader(f, name, f)
	if err != nil {
		f.Close()
		return nil, err
	}
	return r, nil
}

// NewReader reads a capture from r. name is used in errors and warnings.
// When r is an *os.File the Reader's Size is known; Close does not close r.
func NewReader(r io.Reader, name string) (*Reader, error) {
	return newReader(r, name, nil)
}

func newReader(src io.Reader, name string, closer io.Closer) (*Reader, error) {
	r := &Reader{name: name, closer: closer, size: -1, raw: &countingReader{r: src}}
	if f, ok := src.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() {
			r.size = fi.Size()
		}
	}

	// Read the first bytes ourselves, so that the decompressed stream can get
	// a buffer of the right size once we know whether it is compressed.
	var head [4]byte
	n, err := io.ReadFull(r.raw, head[:])
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
		return nil, r.errAt(0, 0, err)
	}
	if n == 0 {
		return nil, r.errAt(0, 0, fmt.Errorf("%w: the input is empty", ErrNotCapture))
	}
	input := io.MultiReader(bytes.NewReader(head[:n]), r.raw)

	compressed := n >= 2 && bytes.Equal(head[:2], gzipMagic)
	if compressed {
		gz, err := gzip.NewReader(bufio.NewReaderSize(input, gzipBufferSize))
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			// Only the start of a gzip header (it takes 10 bytes).
			return nil, r.errAt(0, 0, fmt.Errorf("%w: the input ends inside its gzip header", ErrTruncated))
		}
		if err != nil {
			return nil, r.errAt(0, 0, fmt.Errorf("%w: gzip header: %w", ErrCorrupt, err))
		}
		r.gz = gz
		input = gz
	}
	r.br = bufio.NewReaderSize(input, bufferSizeFor(src, compressed))

	magic, err := r.br.Peek(4)
	if len(magic) < 4 {
		if len(magic) == 0 && compressed && (err == nil || errors.Is(err, io.EOF)) {
			return nil, r.errAt(0, 0, fmt.Errorf("%w: the decompressed input is empty", ErrNotCapture))
		}
		if !isMagicPrefix(magic) {
			return nil, r.errAt(0, 0, fmt.Errorf("%w: unknown magic number % x", ErrNotCapture, magic))
		}
		return nil, r.peekErr(0, "the magic number", 4, magic, err)
	}
	switch {
	case isPcapMagic(magic):
		err = r.readPcapHeader()
	case bytes.Equal(magic, pcapngSHBMagic):
		err = r.readPcapngStart()
	default:
		err = r.errAt(0, 0, fmt.Errorf("%w: unknown magic number % x", ErrNotCapture, magic))
	}
	if err != nil {
		return nil, err
	}
	if compressed {
		r.format += "+gzip"
	}
	return r, nil
}

// isMagicPrefix reports whether b, shorter than a magic number, could be
// the start of one: then the input is a capture cut short, not something
// else.
func isMagicPrefix(b []byte) bool {
	for _, m := range [][]byte{
		{0xa1, 0xb2, 0xc3, 0xd4}, {0xd4, 0xc3, 0xb2, 0xa1}, // pcap, µs
		{0xa1, 0xb2, 0x3c, 0x4d}, {0x4d, 0x3c, 0xb2, 0xa1}, // pcap, ns
		{0xa1, 0xb2, 0xcd, 0x34}, {0x34, 0xcd, 0xb2, 0xa1}, // modified pcap
		pcapngSHBMagic,
	} {
		if bytes.HasPrefix(m, b) {
			return true
		}
	}
	return false
}

// Next returns the next packet. It returns io.EOF at a clean end of input and
// an *Error when the input is damaged; after a damage error it returns
// io.EOF. The Packet and its Data are reused by the next call.
func (r *Reader) Next() (*Packet, error) {
	if r.done {
		return nil, io.EOF
	}
	p, err := r.readPacket()
	if err != nil {
		r.done = true
		return nil, err
	}
	if r.haveLastTime && p.Time < r.lastTime {
		r.warn(p.Frame, p.Offset, WarnTimeBackwards, func() string {
			return fmt.Sprintf("stamped %s, %v before the previous packet",
				time.Unix(0, p.Time).UTC().Format("2006-01-02T15:04:05.000000000Z07:00"), time.Duration(r.lastTime-p.Time))
		})
	}
	r.lastTime, r.haveLastTime = p.Time, true
	return p, nil
}

// Close releases the input; it closes the file when Open opened one.
func (r *Reader) Close() error {
	r.done = true
	var err error
	if r.gz != nil {
		err = r.gz.Close()
	}
	if r.closer != nil {
		if cerr := r.closer.Close(); err == nil {
			err = cerr
		}
		r.closer = nil
	}
	return err
}

// Format returns "pcap" (microsecond), "pcap-ns" (nanosecond),
// "pcap-modified" (Kuznetsov's patched libpcap, magic a1b2cd34) or "pcapng",
// with "+gzip" appended when the input is gzip-compressed.
func (r *Reader) Format() string { return r.format }

// Name returns the name errors and warnings use for the input.
func (r *Reader) Name() string { return r.name }

// BytesRead returns how many bytes of the underlying input have been read,
// for progress reports against Size. For compressed input it counts
// compressed bytes, which run ahead of the packets returned by at most the
// decompressor's buffer.
func (r *Reader) BytesRead() int64 {
	if r.gz != nil {
		return r.raw.n
	}
	return r.offset
}

// Size returns the size of the input when it is a regular file, else -1.
func (r *Reader) Size() int64 { return r.size }

// Frames returns the number of the last frame read: the packets Next
// returned plus the records Wireshark also numbers as frames but that carry
// no packet (see NonPacketFrames).
func (r *Reader) Frames() uint64 { return r.frame }

// NonPacketFrames returns how many frame numbers went to records that carry
// no packet: pcapng custom blocks and systemd journal export blocks, which
// Wireshark lists as frames. Next skips them, leaving a gap in Frame.
func (r *Reader) NonPacketFrames() uint64 { return r.nonPacketFrames }

// Warnings returns the first MaxWarnings non-fatal oddities found so far.
func (r *Reader) Warnings() []Warning { return r.warnings }

// WarningCount returns how many warnings were found, including those beyond
// MaxWarnings that were counted but not kept.
func (r *Reader) WarningCount() int { return r.warnCount }

// warn records a warning; detail is only formatted while under the cap, so
// a hostile file with a warning per packet costs no allocations.
func (r *Reader) warn(frame uint64, offset int64, kind WarningKind, detail func() string) {
	r.warnCount++
	if len(r.warnings) < MaxWarnings {
		r.warnings = append(r.warnings, Warning{File: r.name, Frame: frame, Offset: offset, Compressed: r.gz != nil, Kind: kind, Detail: detail()})
	}
}

func (r *Reader) errAt(frame uint64, offset int64, err error) *Error {
	return &Error{File: r.name, Frame: frame, Offset: offset, Compressed: r.gz != nil, Err: err}
}

// bufferSizeFor returns readBufferSize, or less for an in-memory input that
// is smaller: its whole content fits, so any Peek the buffer cannot hold
// asks for more than there is (see peekErr). Files keep the full size, as
// a file may grow while it is read (tcpdump still writing it).
func bufferSizeFor(src io.Reader, compressed bool) int {
	if m, ok := src.(interface{ Len() int }); ok && !compressed {
		switch src.(type) {
		case *bytes.Reader, *strings.Reader:
			return max(minBufferSize, min(readBufferSize, m.Len()+16))
		}
	}
	return readBufferSize
}

// peekErr explains a Peek that returned fewer bytes than wanted: the input
// ended (ErrTruncated) or the read failed (an I/O or decompression error).
func (r *Reader) peekErr(frame uint64, what string, want int, got []byte, err error) *Error {
	if errors.Is(err, bufio.ErrBufferFull) {
		// Only for a buffer sized to the whole input: there is not enough
		// left. Peek returned what was buffered; count everything left.
		got, err = r.br.Peek(r.br.Size())
		if len(got) >= want {
			err = fmt.Errorf("internal error: %d bytes buffered, %d wanted", len(got), want)
		}
	}
	if r.gz != nil && frame > 1 && len(got) == 0 && errors.Is(err, io.ErrUnexpectedEOF) {
		// The decompressed data ended between two frames, the gzip stream
		// did not end properly (its checksum and length are missing, or a
		// compressed block was cut): there is no frame `frame` to name.
		return r.errAt(0, r.offset, fmt.Errorf("%w: the gzip stream stops after frame %d without its proper end (its checksum and length, or the rest of a compressed block, are missing)", ErrTruncated, frame-1))
	}
	if r.gz != nil && frame > 1 && len(got) == 0 && errors.Is(err, gzip.ErrChecksum) {
		// Every byte decompressed, but the stream's trailer (the CRC-32 and
		// length of the decompressed data) does not match them: the damage
		// is in the trailer or somewhere in the frames already read, and
		// there is no frame `frame` to name.
		return r.errAt(0, r.offset, fmt.Errorf("%w: after frame %d the gzip stream's checksum or length does not match the data decompressed, so the trailer or some byte before it is damaged: %w", ErrCorrupt, frame-1, err))
	}
	if err == nil || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return r.errAt(frame, r.offset, fmt.Errorf("%w: %s needs %d bytes, only %d remain", ErrTruncated, what, want, len(got)))
	}
	return r.errAt(frame, r.offset, fmt.Errorf("reading %s: %w", what, err))
}

// atCleanEOF reports whether a Peek that returned nothing hit the plain end
// of the input (as opposed to a read error).
func atCleanEOF(got []byte, err error) bool {
	return len(got) == 0 && errors.Is(err, io.EOF)
}

// consume discards n bytes that were peeked.
func (r *Reader) consume(n int) {
	d, _ := r.br.Discard(n)
	r.offset += int64(d)
}

// countingReader counts the bytes read from the underlying input.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}
